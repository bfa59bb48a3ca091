"""Polynomials, convolution and integration (as jax.numpy): ``polyval``,
``polyadd``/``polysub``/``polymul``, ``polyder``/``polyint``, ``convolve``,
``correlate``, ``trapezoid``.

Coefficients are highest power first (numpy's ``poly1d`` order). Convolution
is a sum of shifted products (one scatter-add of the outer product), which is
linear in each operand and so differentiates and batches with its primitives.

Example::

    >>> import primitives.numpy as fnp
    >>> fnp.polyval(fnp.array([1.0, 0.0, -1.0]), 3.0)
    Array(8., dtype=float32)
"""
from __future__ import annotations

import operator

import numpy as np

import primitives as P
from fx.core import Tracer, canonical_dtype, get_aval
from fx.errors import ConcretizationError
from primitives.numpy import (indexing as _ix, manipulation as _man, math as _m,
                              reductions as _red)
from primitives.numpy._util import shape_of
from primitives.numpy.creation import arange, asarray, zeros_like
from primitives.numpy.complex_ops import _to_complex_dtype

__all__ = ["polyval", "polyadd", "polysub", "polymul", "polyder", "polyint", "convolve",
           "correlate", "trapezoid", "roots"]


def _check_1d(name, *xs):
    for x in xs:
        if len(shape_of(x)) != 1:
            raise ValueError(f"{name}() only support 1-dimensional inputs, got shape "
                             f"{shape_of(x)}")


def polyval(p, x, *, unroll: int = 16):
    """As jnp.polyval: ``p[0] * x**(n-1) + ... + p[n-1]`` by Horner's rule."""
    del unroll
    p, x = _m.promote_inexact(asarray(p), asarray(x))
    if len(shape_of(p)) != 1:
        raise ValueError(f"polyval: p must be 1-dimensional, got shape {shape_of(p)}")
    y = zeros_like(x)
    for i in range(shape_of(p)[0]):
        y = _m.add(_m.multiply(y, x), _ix.getitem(p, i))
    return y


def _pad_front(a, n):
    return a if n == 0 else _man.concatenate([zeros_like(a, shape=(n,)), a], 0)


def polyadd(a1, a2):
    """As jnp.polyadd: the sum of two polynomials."""
    a1, a2 = _m.promote_numeric(asarray(a1), asarray(a2))
    _check_1d("polyadd", a1, a2)
    n1, n2 = shape_of(a1)[0], shape_of(a2)[0]
    return _m.add(_pad_front(a1, max(n2 - n1, 0)), _pad_front(a2, max(n1 - n2, 0)))


def polysub(a1, a2):
    """As jnp.polysub: the difference of two polynomials."""
    a1, a2 = _m.promote_numeric(asarray(a1), asarray(a2))
    _check_1d("polysub", a1, a2)
    n1, n2 = shape_of(a1)[0], shape_of(a2)[0]
    return _m.subtract(_pad_front(a1, max(n2 - n1, 0)), _pad_front(a2, max(n1 - n2, 0)))


def _conv_full(a, v):
    """Full 1-d convolution: ``out[k] = sum_j a[k - j] v[j]`` (a scatter-add)."""
    n, m = shape_of(a)[0], shape_of(v)[0]
    prod = _m.multiply(_man.expand_dims(a, 1), _man.expand_dims(v, 0))
    target = (np.arange(n)[:, None] + np.arange(m)[None, :]).astype(np.int32)
    out = zeros_like(prod, shape=(n + m - 1,))
    return _ix.at(out)[asarray(target)].add(prod)


def _conv(name, a, v, mode, precision, preferred_element_type, flip):
    del precision
    a, v = _m.promote_inexact(asarray(a), asarray(v))
    _check_1d(name, a, v)
    n, m = shape_of(a)[0], shape_of(v)[0]
    if n == 0 or m == 0:
        raise ValueError(f"{name}: inputs cannot be empty, got shapes {shape_of(a)} and "
                         f"{shape_of(v)}.")
    if flip:
        v = _man.flip(_m.conj(v), 0)
    out = _conv_full(a, v)
    lo, hi = min(n, m), max(n, m)
    if mode == "full":
        pass
    elif mode == "same":
        start = (lo - 1) // 2 if not flip or n >= m else lo // 2
        out = _ix.getitem(out, slice(start, start + hi))
    elif mode == "valid":
        out = _ix.getitem(out, slice(lo - 1, hi))
    else:
        raise ValueError("mode must be one of ['full', 'same', 'valid']")
    if preferred_element_type is not None:
        out = P.convert_element_type(out, canonical_dtype(np.dtype(preferred_element_type)))
    return out


def convolve(a, v, mode: str = "full", *, precision=None, preferred_element_type=None):
    """As jnp.convolve: the discrete linear convolution of two 1-d arrays."""
    return _conv("convolve", a, v, mode, precision, preferred_element_type, flip=False)


def correlate(a, v, mode: str = "valid", *, precision=None, preferred_element_type=None):
    """As jnp.correlate: the cross-correlation ``sum_n a[n + k] conj(v[n])``."""
    return _conv("correlate", a, v, mode, precision, preferred_element_type, flip=True)


def polymul(a1, a2, *, trim_leading_zeros: bool = False):
    """As jnp.polymul: the product of two polynomials (a full convolution)."""
    a1, a2 = _m.promote_inexact(asarray(a1), asarray(a2))
    if trim_leading_zeros:
        a1, a2 = (asarray(np.trim_zeros(np.asarray(x), "f")) for x in (a1, a2))
    if shape_of(a1)[0] == 0:
        a1 = asarray(np.zeros(1, get_aval(a1).dtype))
    if shape_of(a2)[0] == 0:
        a2 = asarray(np.zeros(1, get_aval(a2).dtype))
    return _conv("polymul", a1, a2, "full", None, None, flip=False)


def polyder(p, m: int = 1):
    """As jnp.polyder: the ``m``-th derivative's coefficients."""
    p, = _m.promote_inexact(asarray(p))
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive")
    if m == 0:
        return p
    n = shape_of(p)[0]
    dt = get_aval(p).dtype
    coeff = (np.arange(m, n)[None, :] - np.arange(m)[:, None]).prod(0)[::-1].astype(dt)
    return _m.multiply(_ix.getitem(p, slice(None, -m)), asarray(coeff.copy()))


def polyint(p, m: int = 1, k=None):
    """As jnp.polyint: the ``m``-th antiderivative, with integration constants ``k``."""
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder for negative order)")
    k = 0 if k is None else k
    p, = _m.promote_inexact(asarray(p))
    dt = get_aval(p).dtype
    k = _man.atleast_1d(asarray(k))
    if shape_of(k)[0] == 1:
        k = _man.broadcast_to(k, (m,))
    if shape_of(k) != (m,):
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or m.")
    k = P.convert_element_type(k, dt) if get_aval(k).dtype != dt or get_aval(k).weak_type else k
    if m == 0:
        return p
    n = shape_of(p)[0]
    grid = np.arange(n + m)[None, :] - np.arange(m)[:, None]
    coeff = np.maximum(1, grid).prod(0)[::-1].astype(dt)
    return _m.true_divide(_man.concatenate([p, k], 0), asarray(coeff.copy()))


def trapezoid(y, x=None, dx=1.0, axis: int = -1):
    """As jnp.trapezoid: the integral of ``y`` by the composite trapezoidal rule."""
    if x is None:
        y, = _m.promote_inexact(asarray(y))
        dx_arr = asarray(dx)
    else:
        y, x = _m.promote_inexact(asarray(y), asarray(x))
        if len(shape_of(x)) == 1:
            dx_arr = _m.subtract(_ix.getitem(x, slice(1, None)), _ix.getitem(x, slice(None, -1)))
        else:
            xm = _man.moveaxis(x, axis, -1)
            dx_arr = _m.subtract(_ix.getitem(xm, (Ellipsis, slice(1, None))),
                                 _ix.getitem(xm, (Ellipsis, slice(None, -1))))
    y = _man.moveaxis(y, axis, -1)
    s = _m.add(_ix.getitem(y, (Ellipsis, slice(1, None))),
               _ix.getitem(y, (Ellipsis, slice(None, -1))))
    return _m.multiply(0.5, _red.sum(_m.multiply(dx_arr, s), axis=-1))


# --- roots (the eigenvalues of the companion matrix, as jnp) ---
def _roots_no_zeros(p):
    n = shape_of(p)[0]
    if n < 2:
        return _empty_complex(p)
    sub = asarray(np.eye(n - 1, n - 1, -1, dtype=get_aval(p).dtype)[1:])  # rows 1.. of A
    first = _m.negative(_m.divide(_ix.getitem(p, slice(1, None)), _ix.getitem(p, 0)))
    a = _man.concatenate([_man.reshape(first, (1, n - 1)), sub], 0)
    return P.eig(a, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]


def _empty_complex(p):
    return asarray(np.zeros((0,), _to_complex_dtype(get_aval(p).dtype)))


def _roots_with_zeros(p, num_leading_zeros):
    n = shape_of(p)[0]
    p = _m.where(_m.equal(num_leading_zeros, n), 1.0, p)   # no LAPACK error on all zeros
    roots = _roots_no_zeros(_man.roll(p, _m.negative(num_leading_zeros)))
    roots = P.sort((_m.equal(roots, 0), roots), dimension=0, num_keys=1)[1]
    keep = _m.less(arange(shape_of(roots)[0]), _m.subtract(shape_of(roots)[0], num_leading_zeros))
    return _m.where(keep, roots, complex(np.nan, np.nan))


def roots(p, *, strip_zeros: bool = True):
    """The roots of the polynomial with coefficients ``p`` (highest power first):
    the eigenvalues of its companion matrix (as jnp.roots).

    Args:
      p: 1-D coefficients.
      strip_zeros: drop leading zero coefficients (needs a concrete ``p``);
        with False (jittable) the roots they would remove are NaN.

    Returns:
      The complex roots.

    References:
      ``jax.numpy.roots``; numpy.roots.
    """
    p, = _m.promote_inexact(asarray(p))
    if len(shape_of(p)) == 0:
        p = _man.reshape(p, (1,))
    if len(shape_of(p)) != 1:
        raise ValueError("Input must be a rank-1 array.")
    n = shape_of(p)[0]
    if n < 2:
        return _empty_complex(p)
    is_zero = _m.equal(p, 0)
    num_leading_zeros = _m.where(_red.all(is_zero), n, _red.argmin(is_zero))
    if strip_zeros:
        value = (num_leading_zeros.concrete_value() if isinstance(num_leading_zeros, Tracer)
                 else num_leading_zeros)
        if value is None:
            raise ConcretizationError(
                "The error occurred in the jnp.roots() function. To use this within a "
                "JIT-compiled context, pass strip_zeros=False, but be aware that leading zeros "
                "will result in some returned roots being set to NaN.")
        return _roots_no_zeros(_ix.getitem(p, slice(int(value), None)))
    return _roots_with_zeros(p, num_leading_zeros)

