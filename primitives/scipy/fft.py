"""scipy.fft as ``jax.scipy.fft``: the type-2 discrete cosine transform and its
inverse, 1-d and N-d, through one complex FFT of the interleaved input
(Makhoul's algorithm, as JAX).

Example::

    >>> from primitives.scipy import fft
    >>> fft.dct(fnp.array([1., 2., 3., 4.]))
    >>> fft.idctn(fft.dctn(x))     # x again

References:
    jax/_src/scipy/fft.py; J. Makhoul, "A fast cosine transform in one and two
    dimensions", IEEE Trans. ASSP 28 (1980); scipy.fft.dct's documentation.
"""
from __future__ import annotations

import math
import operator
from typing import Sequence

import numpy as np

import primitives as P
import primitives.numpy as fnp
from fx.core import get_aval
from fx.dtypes import kind
from primitives.numpy._util import canonicalize_axis
from primitives.numpy.complex_ops import _to_complex_dtype
from primitives.numpy.math import promote_inexact

__all__ = ["dct", "dctn", "idct", "idctn"]


def _shape(x):
    return get_aval(x).shape


def _W4(N: int, k):
    k = k.astype(_to_complex_dtype(get_aval(k).dtype))
    return fnp.exp(-.5j * np.pi * k / N)


def _other_axes(x, axis):
    return [a for a in range(len(_shape(x))) if a != axis]


def _dct_interleave(x, axis: int):
    v0 = P.slice_in_dim(x, None, None, 2, axis)
    v1 = P.rev(P.slice_in_dim(x, 1, None, 2, axis), (axis,))
    return P.concatenate([v0, v1], axis)


def _dct_deinterleave(x, axis: int):
    half = math.ceil(_shape(x)[axis] / 2)
    at = lambda s: tuple(s if i == axis else slice(None) for i in range(len(_shape(x))))  # noqa: E731
    v0, v1 = x[at(slice(None, half))], P.rev(x[at(slice(half, None))], (axis,))
    out = fnp.zeros(_shape(x), dtype=get_aval(x).dtype)
    return out.at[at(slice(None, None, 2))].set(v0).at[at(slice(1, None, 2))].set(v1)


def _dct_ortho_norm(out, axis: int):
    dt = get_aval(out).dtype
    n = _shape(out)[axis]
    factor = P.concatenate([P.full((1,), 4, dt), P.full((n - 1,), 2, dt)], 0)
    factor = P.expand_dims(factor, _other_axes(out, axis))
    return out / P.sqrt(factor * n)


def _check(name, type, norm):
    if type != 2:
        raise NotImplementedError("Only DCT type 2 is implemented.")
    if norm is not None and norm not in ("backward", "ortho"):
        raise ValueError(f"jax.scipy.fft.{name}: norm={norm!r} is not implemented")


def _pad_to(x, sizes: dict):
    """lax.pad with zeros (negative: crop) to ``sizes[axis]`` on those axes."""
    dt = get_aval(x).dtype
    return P.pad(x, np.zeros((), dt), [(0, sizes[a] - _shape(x)[a] if a in sizes else 0, 0)
                                       for a in range(len(_shape(x)))])


def _complex_parts(fn, x, **kw):
    return P.complex(fn(fnp.real(x), **kw), fn(fnp.imag(x), **kw))


def dct(x, type=2, n=None, axis=-1, norm=None):
    """The type-2 DCT along ``axis`` (as jax.scipy.fft.dct).

    Args:
      x: the array (complex: real and imaginary parts transformed separately).
      type: must be 2.
      n: the transform length (x zero-padded or cropped to it).
      axis: the axis transformed.
      norm: None / ``'backward'`` or ``'ortho'``.

    Returns:
      The DCT-II of x.

    References:
      jax.scipy.fft.dct; scipy.fft.dct.
    """
    x = fnp.asarray(x)
    _check("dct", type, norm)
    if kind(get_aval(x).dtype) == "c":
        return _complex_parts(dct, x, type=type, n=n, norm=norm, axis=axis)
    axis = canonicalize_axis(axis, len(_shape(x)), "dct")
    if n is not None:
        x = _pad_to(x, {axis: n})
    N = _shape(x)[axis]
    V = fnp.fft.fft(_dct_interleave(x, axis), axis=axis)
    k = P.expand_dims(fnp.arange(N, dtype=get_aval(fnp.real(V)).dtype), _other_axes(x, axis))
    out = 2 * fnp.real(V * _W4(N, k))
    return _dct_ortho_norm(out, axis) if norm == "ortho" else out


def _dct2(x, axes, norm):
    axis1, axis2 = (canonicalize_axis(a, len(_shape(x)), "dctn") for a in axes)
    N1, N2 = _shape(x)[axis1], _shape(x)[axis2]
    V = fnp.fft.fftn(_dct_interleave(_dct_interleave(x, axis1), axis2), axes=axes)
    vdt = get_aval(V).dtype
    k1 = P.expand_dims(fnp.arange(N1, dtype=vdt), _other_axes(x, axis1))
    k2 = P.expand_dims(fnp.arange(N2, dtype=vdt), _other_axes(x, axis2))
    out = _W4(N1, k1) * (_W4(N2, k2) * V + _W4(N2, -k2) *
                         fnp.roll(fnp.flip(V, axis=axis2), shift=1, axis=axis2))
    out = 2 * fnp.real(out)
    if norm == "ortho":
        return _dct_ortho_norm(_dct_ortho_norm(out, axis1), axis2)
    return out


def _nd_args(x, s, axes):
    ndim = len(_shape(x))
    if s is not None:
        try:
            s = list(s)
        except TypeError:
            s = [operator.index(s)]
        if len(s) > ndim:
            raise ValueError(f"s must have at most x.ndim ({ndim}) elements, got {len(s)}")
    if axes is None:
        axes = tuple(range(ndim - len(s), ndim)) if s is not None else tuple(range(ndim))
    else:
        axes = (axes,) if isinstance(axes, int) else tuple(axes)
        axes = tuple(canonicalize_axis(a, ndim, "dctn") for a in axes)
    return s, axes


def dctn(x, type=2, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm=None):
    """The N-d type-2 DCT over ``axes`` (as jax.scipy.fft.dctn: 2 axes at a time).

    Args:
      x: the array.
      type: must be 2.
      s: the transform shape (x zero-padded or cropped to it).
      axes: the axes (default: the last len(s), or all).
      norm: None / ``'backward'`` or ``'ortho'``.

    Returns:
      The N-d DCT-II of x.

    References:
      jax.scipy.fft.dctn; scipy.fft.dctn.
    """
    x = fnp.asarray(x)
    _check("dctn", type, norm)
    if kind(get_aval(x).dtype) == "c":
        return _complex_parts(dctn, x, type=type, s=s, norm=norm, axes=axes)
    s, axes = _nd_args(x, s, axes)
    if len(axes) == 1:
        return dct(x, n=s[0] if s is not None else None, axis=axes[0], norm=norm)
    if s is not None:
        x = _pad_to(x, dict(zip(axes, s)))
    if len(axes) == 2:
        return _dct2(x, axes=axes, norm=norm)
    for block in [axes[i:i + 2] for i in range(0, len(axes), 2)]:
        x = dctn(x, axes=block, norm=norm)
    return x


def idct(x, type=2, n=None, axis=-1, norm=None):
    """The inverse of the type-2 DCT along ``axis`` (as jax.scipy.fft.idct).

    Args:
      x: the array.
      type: must be 2.
      n: the transform length (x zero-padded or cropped to it).
      axis: the axis transformed.
      norm: None / ``'backward'`` or ``'ortho'``.

    Returns:
      The inverse DCT-II of x.

    References:
      jax.scipy.fft.idct; scipy.fft.idct.
    """
    x = fnp.asarray(x)
    _check("idct", type, norm)
    if kind(get_aval(x).dtype) == "c":
        return _complex_parts(idct, x, type=type, n=n, norm=norm, axis=axis)
    axis = canonicalize_axis(axis, len(_shape(x)), "idct")
    if n is not None:
        x = _pad_to(x, {axis: n})
    N = _shape(x)[axis]
    x, = promote_inexact(x)
    if norm is None or norm == "backward":
        x = _dct_ortho_norm(x, axis)
    x = _dct_ortho_norm(x, axis)
    k = P.expand_dims(fnp.arange(N, dtype=get_aval(x).dtype), _other_axes(x, axis))
    w4 = _W4(N, k)
    x = x.astype(get_aval(w4).dtype) / w4 * 2 * N
    return _dct_deinterleave(fnp.real(fnp.fft.ifft(x, axis=axis)), axis)


def idctn(x, type=2, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm=None):
    """The N-d inverse type-2 DCT over ``axes``, one axis at a time (as
    jax.scipy.fft.idctn).

    Args:
      x: the array.
      type: must be 2.
      s: the transform shape (x zero-padded or cropped to it).
      axes: the axes (default: the last len(s), or all).
      norm: None / ``'backward'`` or ``'ortho'``.

    Returns:
      The N-d inverse DCT-II of x.

    References:
      jax.scipy.fft.idctn; scipy.fft.idctn.
    """
    x = fnp.asarray(x)
    _check("idctn", type, norm)
    if kind(get_aval(x).dtype) == "c":
        return _complex_parts(idctn, x, type=type, s=s, norm=norm, axes=axes)
    s, axes = _nd_args(x, s, axes)
    if len(axes) == 1:
        return idct(x, n=s[0] if s is not None else None, axis=axes[0], norm=norm)
    if s is not None:
        x = _pad_to(x, dict(zip(axes, s)))
    for axis in axes:
        x = idct(x, axis=axis, norm=norm)
    return x
