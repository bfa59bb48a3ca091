"""fnp.fft (as jax.numpy.fft): the discrete Fourier transforms, built on the
lax-level ``fft`` primitive (primitives/fft.py), and the frequency helpers.

As jnp: the transformed axes are moved to the end (XLA transforms the
innermost axes), cropped or zero-padded to ``s`` / ``n``, transformed at most
three at a time, scaled by ``norm`` ("backward" / None: no scaling of the
forward transform, "ortho": 1/sqrt(N) both ways, "forward": 1/N on the
forward one) and moved back. ``hfft`` / ``ihfft`` are irfft / rfft of the
conjugate.

Example::

    >>> fnp.fft.rfft(fnp.array([1.0, 2.0, 3.0, 4.0]))
    Array([10.+0.j, -2.+2.j, -2.+0.j], dtype=complex64)

References:
    jax/_src/numpy/fft.py; numpy.fft.
"""
from __future__ import annotations

import operator
from typing import Sequence

import numpy as np

import primitives as P
from fx.core import canonical_dtype, get_aval
from fx.dtypes import to_inexact_dtype
from primitives.fft import FftType
from primitives.numpy.complex_ops import conj
from primitives.numpy.creation import arange, asarray
from primitives.numpy.manipulation import moveaxis, pad, roll
from primitives.numpy.math import true_divide

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
           "fftn", "ifftn", "rfftn", "irfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def _norm_factor(s, dtype, func_name: str, norm: str):
    """jnp's ``_fft_norm``: the scale of the result (None: none), computed in the
    result's real dtype as jnp does."""
    if norm == "backward":
        return None
    rdt = np.finfo(dtype).dtype if np.dtype(dtype).kind == "c" else np.dtype(dtype)
    n = np.prod(np.asarray(s, rdt), dtype=rdt)
    inverse = func_name.startswith("i")
    if norm == "ortho":
        return np.sqrt(n) if inverse else rdt.type(1) / np.sqrt(n)
    if norm == "forward":
        return n if inverse else rdt.type(1) / n
    raise ValueError(f'Invalid norm value {norm}; should be "backward","ortho" or "forward".')


def _fft_core_nd(arr, fft_type, s):
    """XLA transforms at most 3 axes: larger ranks go 3 (or 2 + 2) at a time."""
    if len(s) <= 3:
        return P.fft(arr, fft_type, tuple(s))
    n = 2 if len(s) == 4 else 3
    ndim = get_aval(arr).ndim
    src = tuple(range(ndim - len(s), ndim - n))
    dst = tuple(range(ndim - len(s) + n, ndim))
    if fft_type in (FftType.RFFT, FftType.FFT):
        arr = P.fft(arr, fft_type, tuple(s)[-n:])
        arr = moveaxis(arr, src, dst)
        arr = _fft_core_nd(arr, FftType.FFT, s[:-n])
        return moveaxis(arr, dst, src)
    arr = moveaxis(arr, src, dst)
    arr = _fft_core_nd(arr, FftType.IFFT, s[:-n])
    arr = moveaxis(arr, dst, src)
    return P.fft(arr, fft_type, tuple(s)[-n:])


def _fft_core(func_name: str, fft_type, a, s, axes, norm):
    full_name = f"jax.numpy.fft.{func_name}"
    arr = asarray(a)
    ndim = get_aval(arr).ndim
    if s is not None:
        s = tuple(map(operator.index, s))
        if any(x <= 0 for x in s):
            raise ValueError("Shape should be positive.")
    if s is not None and axes is not None and len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    orig_axes = axes
    if axes is None:
        axes = range(ndim) if s is None else range(ndim - len(s), ndim)
    if len(axes) != len(set(axes)):
        raise ValueError(f"{full_name} does not support repeated axes. Got axes {axes}.")
    if orig_axes is not None:
        axes = tuple(range(ndim - len(axes), ndim))
        arr = moveaxis(arr, tuple(orig_axes), axes)
    shape = get_aval(arr).shape
    if s is not None:
        in_s = list(shape)
        for axis, x in zip(axes, s):
            in_s[axis] = x
        if fft_type == FftType.IRFFT:
            in_s[-1] = in_s[-1] // 2 + 1
        crop = tuple(min(i, d) for i, d in zip(in_s, shape))
        if crop != shape:
            arr = P.slice(arr, (0,) * ndim, crop)
        if tuple(in_s) != crop:
            arr = pad(arr, [(0, i - c) for i, c in zip(in_s, crop)])
    else:
        if fft_type == FftType.IRFFT:
            s = [shape[axis] for axis in axes[:-1]]
            if axes:
                s += [max(0, 2 * (shape[axes[-1]] - 1))]
        else:
            s = [shape[axis] for axis in axes]
    out = _fft_core_nd(arr, fft_type, s)
    if norm is not None:
        factor = _norm_factor(s, get_aval(out).dtype, func_name, norm)
        if factor is not None:
            out = P.mul(out, float(factor))
    if orig_axes is not None:
        out = moveaxis(out, axes, tuple(orig_axes))
    return out


def _axis_check_1d(func_name: str, axis):
    if isinstance(axis, (list, tuple)):
        name = f"jax.numpy.fft.{func_name}"
        raise ValueError(f"{name} does not support multiple axes. Please use {name}n. "
                         f"Got axis = {axis!r}.")


def _fft_core_1d(func_name, fft_type, a, n, axis, norm):
    _axis_check_1d(func_name, axis)
    return _fft_core(func_name, fft_type, a, None if n is None else [n],
                     None if axis is None else [axis], norm)


def _fft_core_2d(func_name, fft_type, a, s, axes, norm):
    if len(axes) != 2:
        raise ValueError(f"jax.numpy.fft.{func_name} only supports 2 axes. Got axes = {axes!r}.")
    return _fft_core(func_name, fft_type, a, s, axes, norm)


def fft(a, n: int | None = None, axis: int = -1, norm: str | None = None):
    """One-dimensional discrete Fourier transform (as jnp.fft.fft).

    Args:
      a: input array (cast to complex).
      n: length of the transformed axis (the input is cropped or zero-padded).
      axis: the axis to transform.
      norm: None / "backward", "ortho" or "forward".

    Returns:
      The complex transform.

    References:
      ``jax.numpy.fft.fft``.
    """
    return _fft_core_1d("fft", FftType.FFT, a, n, axis, norm)


def ifft(a, n: int | None = None, axis: int = -1, norm: str | None = None):
    """One-dimensional inverse discrete Fourier transform (as jnp.fft.ifft).

    Args:
      a, n, axis, norm: as :func:`fft`.

    Returns:
      The complex inverse transform.

    References:
      ``jax.numpy.fft.ifft``.
    """
    return _fft_core_1d("ifft", FftType.IFFT, a, n, axis, norm)


def rfft(a, n: int | None = None, axis: int = -1, norm: str | None = None):
    """One-dimensional transform of a real input: the ``n // 2 + 1`` non-negative
    frequencies (as jnp.fft.rfft).

    Args:
      a: real input array (complex raises ValueError).
      n, axis, norm: as :func:`fft`.

    Returns:
      The complex half spectrum.

    References:
      ``jax.numpy.fft.rfft``.
    """
    return _fft_core_1d("rfft", FftType.RFFT, a, n, axis, norm)


def irfft(a, n: int | None = None, axis: int = -1, norm: str | None = None):
    """Inverse of :func:`rfft`: a real signal of length ``n`` (default
    ``2 * (m - 1)``) from ``m`` non-negative frequencies (as jnp.fft.irfft).

    Args:
      a: the half spectrum.
      n, axis, norm: as :func:`fft`.

    Returns:
      The real signal.

    References:
      ``jax.numpy.fft.irfft``.
    """
    return _fft_core_1d("irfft", FftType.IRFFT, a, n, axis, norm)


def hfft(a, n: int | None = None, axis: int = -1, norm: str | None = None):
    """Transform of a Hermitian-symmetric signal given by its first half: a
    real spectrum (as jnp.fft.hfft).

    Args:
      a: the half signal.
      n, axis, norm: as :func:`irfft`.

    Returns:
      The real spectrum.

    References:
      ``jax.numpy.fft.hfft``.
    """
    conj_a = conj(a)
    _axis_check_1d("hfft", axis)
    nn = (get_aval(conj_a).shape[axis] - 1) * 2 if n is None else n
    return P.mul(_fft_core_1d("hfft", FftType.IRFFT, conj_a, n, axis, norm), float(nn))


def ihfft(a, n: int | None = None, axis: int = -1, norm: str | None = None):
    """Inverse of :func:`hfft` for a real input (as jnp.fft.ihfft).

    Args:
      a: real input.
      n, axis, norm: as :func:`rfft`.

    Returns:
      The complex half signal.

    References:
      ``jax.numpy.fft.ihfft``.
    """
    _axis_check_1d("ihfft", axis)
    arr = asarray(a)
    nn = get_aval(arr).shape[axis] if n is None else n
    out = _fft_core_1d("ihfft", FftType.RFFT, arr, n, axis, norm)
    return P.mul(conj(out), 1 / nn)


def fft2(a, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
         norm: str | None = None):
    """Two-dimensional transform (as jnp.fft.fft2).

    Args:
      a: input array.
      s: lengths of the two transformed axes (crop / zero-pad).
      axes: the two axes.
      norm: as :func:`fft`.

    Returns:
      The complex transform.

    References:
      ``jax.numpy.fft.fft2``.
    """
    return _fft_core_2d("fft2", FftType.FFT, a, s, axes, norm)


def ifft2(a, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None):
    """Two-dimensional inverse transform (as jnp.fft.ifft2).

    Args:
      a, s, axes, norm: as :func:`fft2`.

    Returns:
      The complex inverse transform.

    References:
      ``jax.numpy.fft.ifft2``.
    """
    return _fft_core_2d("ifft2", FftType.IFFT, a, s, axes, norm)


def rfft2(a, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None):
    """Two-dimensional transform of a real input (as jnp.fft.rfft2).

    Args:
      a, s, axes, norm: as :func:`fft2`.

    Returns:
      The complex transform, the last axis halved.

    References:
      ``jax.numpy.fft.rfft2``.
    """
    return _fft_core_2d("rfft2", FftType.RFFT, a, s, axes, norm)


def irfft2(a, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
           norm: str | None = None):
    """Inverse of :func:`rfft2` (as jnp.fft.irfft2).

    Args:
      a, s, axes, norm: as :func:`fft2`.

    Returns:
      The real signal.

    References:
      ``jax.numpy.fft.irfft2``.
    """
    return _fft_core_2d("irfft2", FftType.IRFFT, a, s, axes, norm)


def fftn(a, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str | None = None):
    """N-dimensional transform (as jnp.fft.fftn).

    Args:
      a: input array.
      s: lengths of the transformed axes (default: their sizes).
      axes: the axes (default: the last ``len(s)``, or all).
      norm: as :func:`fft`.

    Returns:
      The complex transform.

    References:
      ``jax.numpy.fft.fftn``.
    """
    return _fft_core("fftn", FftType.FFT, a, s, axes, norm)


def ifftn(a, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None):
    """N-dimensional inverse transform (as jnp.fft.ifftn).

    Args:
      a, s, axes, norm: as :func:`fftn`.

    Returns:
      The complex inverse transform.

    References:
      ``jax.numpy.fft.ifftn``.
    """
    return _fft_core("ifftn", FftType.IFFT, a, s, axes, norm)


def rfftn(a, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None):
    """N-dimensional transform of a real input (as jnp.fft.rfftn).

    Args:
      a, s, axes, norm: as :func:`fftn`.

    Returns:
      The complex transform, the last axis halved.

    References:
      ``jax.numpy.fft.rfftn``.
    """
    return _fft_core("rfftn", FftType.RFFT, a, s, axes, norm)


def irfftn(a, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
           norm: str | None = None):
    """Inverse of :func:`rfftn` (as jnp.fft.irfftn).

    Args:
      a, s, axes, norm: as :func:`fftn`.

    Returns:
      The real signal.

    References:
      ``jax.numpy.fft.irfftn``.
    """
    return _fft_core("irfftn", FftType.IRFFT, a, s, axes, norm)


def _check_freq_args(name, n, d):
    if isinstance(n, (list, tuple)):
        raise ValueError(f"The n argument of jax.numpy.fft.{name} only takes an int. "
                         f"Got n = {list(n)}.")
    if isinstance(d, (list, tuple)):
        raise ValueError(f"The d argument of jax.numpy.fft.{name} only takes a single value. "
                         f"Got d = {list(d)}.")


def fftfreq(n: int, d=1.0, *, dtype=None, device=None):
    """The sample frequencies of :func:`fft`: ``[0, 1, ..., -2, -1] / (d * n)``
    (as jnp.fft.fftfreq).

    Args:
      n: window length.
      d: sample spacing.
      dtype: result dtype (default: the default float).
      device: ignored (one device).

    Returns:
      Array of ``n`` frequencies.

    References:
      ``jax.numpy.fft.fftfreq``.
    """
    del device
    _check_freq_args("fftfreq", n, d)
    out_dtype = canonical_dtype(dtype or np.float64)
    dtype = np.finfo(canonical_dtype(to_inexact_dtype(out_dtype))).dtype
    i = np.arange(n, dtype=dtype)
    k = (i + n // 2) % n - n // 2
    result = P.div(asarray(k), asarray(d * n, dtype=dtype))
    return result if get_aval(result).dtype == out_dtype else P.convert_element_type(result, out_dtype)


def rfftfreq(n: int, d=1.0, *, dtype=None, device=None):
    """The sample frequencies of :func:`rfft`: ``[0, 1, ..., n // 2] / (d * n)``
    (as jnp.fft.rfftfreq).

    Args:
      n, d, dtype, device: as :func:`fftfreq`.

    Returns:
      Array of ``n // 2 + 1`` frequencies.

    References:
      ``jax.numpy.fft.rfftfreq``.
    """
    del device
    _check_freq_args("rfftfreq", n, d)
    dtype = dtype or canonical_dtype(np.float64)
    k = arange(0, n // 2 + 1, dtype=dtype)
    return true_divide(k, asarray(d * n, dtype=dtype))


def _shift(x, axes, sign):
    x = asarray(x)
    shape = get_aval(x).shape
    if axes is None:
        axes = tuple(range(len(shape)))
        shift = [sign * (dim // 2) for dim in shape]
    elif isinstance(axes, int):
        shift = sign * (shape[axes] // 2)
    else:
        shift = [sign * (shape[ax] // 2) for ax in axes]
    return roll(x, shift, axes)


def fftshift(x, axes: None | int | Sequence[int] = None):
    """Move the zero frequency to the center (as jnp.fft.fftshift).

    Args:
      x: the spectrum.
      axes: axes to shift (default: all).

    Returns:
      The rolled array.

    References:
      ``jax.numpy.fft.fftshift``.
    """
    return _shift(x, axes, 1)


def ifftshift(x, axes: None | int | Sequence[int] = None):
    """Inverse of :func:`fftshift` (as jnp.fft.ifftshift).

    Args:
      x, axes: as :func:`fftshift`.

    Returns:
      The rolled array.

    References:
      ``jax.numpy.fft.ifftshift``.
    """
    return _shift(x, axes, -1)
