"""Complex parts and predicates (as jax.numpy): real, imag, conjugate / conj,
angle, iscomplex, isreal, sort_complex.

Built on the lax-level ``real`` / ``imag`` / ``conj`` primitives
(``primitives/complex.py``); real inputs take jnp's shortcuts (``real`` returns
the array, ``imag`` zeros of its dtype, ``conj`` the array). ``math.py``
re-exports ``real``/``imag``/``conj``/``conjugate`` from here, so ``x.real``,
``x.conj()`` and ``fnp.real`` are one function.

Example::

    >>> fnp.angle(fnp.array([1j, -1.0 + 0j]))
    Array([1.5707964, 3.1415927], dtype=float32)

References:
    jax/_src/numpy/ufuncs.py (real, imag, conjugate), lax_numpy.py (angle,
    iscomplex, isreal), sorting.py (sort_complex).
"""
from __future__ import annotations

import numpy as np

import primitives as P
from fx.core import canonical_dtype, get_aval
from fx.dtypes import is_complex, is_float, kind
from primitives.numpy._promote import dtype_of
from primitives.numpy.creation import asarray, full_like

__all__ = ["real", "imag", "conjugate", "conj", "angle", "iscomplex", "isreal", "sort_complex"]


def real(val, /):
    """Elementwise real part (as jnp.real).

    Args:
      val: array-like; complex gives its real dtype, others are returned as arrays.

    Returns:
      The real part.

    References:
      ``jax.numpy.real``.
    """
    val = asarray(val)
    return P.real(val) if is_complex(dtype_of(val)) else val


def imag(val, /):
    """Elementwise imaginary part (as jnp.imag).

    Args:
      val: array-like; a non-complex one gives zeros of its dtype.

    Returns:
      The imaginary part.

    References:
      ``jax.numpy.imag``.
    """
    val = asarray(val)
    return P.imag(val) if is_complex(dtype_of(val)) else full_like(val, 0)


def conjugate(x, /):
    """Elementwise complex conjugate (as jnp.conjugate).

    Args:
      x: array-like; a non-complex one is returned as an array.

    Returns:
      The conjugate, of x's dtype.

    References:
      ``jax.numpy.conjugate``.
    """
    x = asarray(x)
    return P.conj(x) if is_complex(dtype_of(x)) else x


conj = conjugate


def angle(z, deg: bool = False):
    """Elementwise argument of ``z``: ``atan2(imag(z), real(z))`` (as jnp.angle).

    Args:
      z: array-like (integers and real scalars give the default float dtype).
      deg: return degrees instead of radians.

    Returns:
      The angle, of z's real dtype.

    References:
      ``jax.numpy.angle``.
    """
    z = asarray(z)
    re, im = real(z), imag(z)
    dtype = dtype_of(re)
    if not is_float(dtype) or (kind(dtype_of(z)) == "f" and get_aval(z).ndim == 0):
        dtype = canonical_dtype(np.float64)
        re, im = P.convert_element_type(re, dtype), P.convert_element_type(im, dtype)
    result = P.atan2(im, re)
    return P.mul(result, 180 / np.pi) if deg else result


def iscomplex(x):
    """Elementwise: True where the imaginary part is non-zero (as jnp.iscomplex).

    Args:
      x: array-like.

    Returns:
      Boolean array of x's shape.

    References:
      ``jax.numpy.iscomplex``.
    """
    i = imag(x)
    return P.ne(i, np.zeros((), dtype_of(i)))


def isreal(x):
    """Elementwise: True where the imaginary part is zero (as jnp.isreal).

    Args:
      x: array-like.

    Returns:
      Boolean array of x's shape.

    References:
      ``jax.numpy.isreal``.
    """
    i = imag(x)
    return P.eq(i, np.zeros((), dtype_of(i)))


def _to_complex_dtype(dtype) -> np.dtype:
    """jax's ``to_complex_dtype``: complex128 for 64-bit inputs, else complex64."""
    dt = np.dtype(dtype)
    wide = dt in (np.dtype(np.float64), np.dtype(np.complex128), np.dtype(np.int64),
                  np.dtype(np.uint64))
    return canonical_dtype(np.complex128 if wide else np.complex64)


def sort_complex(a):
    """Sort along the last axis, lexicographically by real then imaginary part,
    and return a complex array (as jnp.sort_complex).

    Args:
      a: array-like of rank >= 1.

    Returns:
      The sorted array, complex64 (complex128 for 64-bit inputs under x64).

    References:
      ``jax.numpy.sort_complex``.
    """
    a = asarray(a)
    a = P.sort(a, dimension=get_aval(a).ndim - 1)
    return P.convert_element_type(a, _to_complex_dtype(dtype_of(a)))
