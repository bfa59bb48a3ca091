"""scipy.signal as ``jax.scipy.signal``, built from our primitives: N-d
convolution and correlation (``method='direct'`` on ``conv_general_dilated``,
as JAX; ``'fft'`` through ``fftconvolve``), detrending (least squares per
breakpoint segment) and the spectral estimates of Welch's method (``csd``,
``welch``) and the short-time Fourier transform (``stft``, ``istft``).

Example::

    >>> from primitives.scipy import signal
    >>> signal.convolve(fnp.array([1., 2., 3., 2., 1.]), fnp.array([1., 1., 1.]))
    Array([1., 3., 6., 7., 6., 3., 1.], dtype=float32)

References:
    jax/_src/scipy/signal.py (algorithms, modes, padding and scaling
    conventions); scipy.signal's documentation.
"""
from __future__ import annotations

import math
import operator
import warnings
import numpy as np

import primitives as P
import primitives.numpy as fnp
from fx.core import get_aval
from fx.dtypes import kind
from primitives.numpy._util import canonicalize_axis
from primitives.numpy.complex_ops import _to_complex_dtype
from primitives.numpy.math import promote_inexact

__all__ = ["fftconvolve", "convolve", "convolve2d", "correlate", "correlate2d", "detrend",
           "stft", "csd", "welch", "istft"]

_MODES = ("full", "same", "valid")


def _shape(x):
    return get_aval(x).shape


def _dtype(x):
    return get_aval(x).dtype


def _inexact(*xs):
    return [fnp.asarray(x) for x in promote_inexact(*[fnp.asarray(x) for x in xs])]


def _is_complex(x):
    return kind(_dtype(x)) == "c"


# --- FFT convolution ---
def fftconvolve(in1, in2, mode="full", axes=None):
    """The convolution of two N-d arrays through the FFT (as jax.scipy.signal.fftconvolve).

    Args:
      in1, in2: arrays of equal rank.
      mode: ``'full'``, ``'same'`` (the size of in1) or ``'valid'``.
      axes: the axes convolved (default all); the others are mapped and must match.

    Returns:
      The convolution, in the promoted inexact dtype.

    References:
      jax.scipy.signal.fftconvolve.
    """
    in1, in2 = _inexact(in1, in2)
    if len(_shape(in1)) != len(_shape(in2)):
        raise ValueError("in1 and in2 should have the same dimensionality")
    if mode not in _MODES:
        raise ValueError("mode must be one of ['same', 'full', 'valid']")
    ndim = len(_shape(in1))
    if axes is None:
        return _fftconvolve_axes(in1, in2, mode, tuple(range(ndim)))
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    axes = tuple(canonicalize_axis(ax, ndim, "fftconvolve") for ax in axes)
    mapped = set(range(ndim)) - set(axes)
    if any(_shape(in1)[i] != _shape(in2)[i] for i in mapped):
        raise ValueError(f"mapped axes must have same shape; got in1.shape={_shape(in1)} "
                         f"in2.shape={_shape(in2)} axes={axes}")
    return _fftconvolve_axes(in1, in2, mode, tuple(sorted(axes)))


def _fftconvolve_axes(in1, in2, mode, axes):
    """JAX's ``_fftconvolve_unbatched`` over ``axes`` (the other axes mapped: the
    N-d FFTs over ``axes`` only are the same computation as its vmap)."""
    s1 = [_shape(in1)[a] for a in axes]
    s2 = [_shape(in2)[a] for a in axes]
    full = [a + b - 1 for a, b in zip(s1, s2)]
    if mode == "valid":
        no_swap = all(a >= b for a, b in zip(s1, s2))
        swap = all(a <= b for a, b in zip(s1, s2))
        if not (no_swap or swap):
            raise ValueError("For 'valid' mode, One input must be at least as "
                             "large as the other in every dimension.")
        if swap:
            in1, in2, s1, s2 = in2, in1, s2, s1
    if all(a == 1 or b == 1 for a, b in zip(s1, s2)):
        conv = in1 * in2
    else:
        if _is_complex(in1):
            fft, ifft = fnp.fft.fftn, fnp.fft.ifftn
        else:
            fft, ifft = fnp.fft.rfftn, fnp.fft.irfftn
        conv = ifft(fft(in1, full, axes) * fft(in2, full, axes), full, axes)
    out = {"full": full, "same": s1, "valid": [a - b + 1 for a, b in zip(s1, s2)]}[mode]
    idx = [slice(None)] * len(_shape(conv))
    for a, f, o in zip(axes, full, out):
        start = (f - o) // 2
        idx[a] = slice(start, start + o)
    return conv[tuple(idx)]


# --- direct convolution and correlation ---
def _convolve_nd(in1, in2, mode, *, precision):
    if mode not in _MODES:
        raise ValueError("mode must be one of ['full', 'same', 'valid']")
    in1, in2 = fnp.asarray(in1), fnp.asarray(in2)
    if len(_shape(in1)) != len(_shape(in2)):
        raise ValueError("in1 and in2 must have the same number of dimensions")
    if math.prod(_shape(in1)) == 0 or math.prod(_shape(in2)) == 0:
        raise ValueError(f"zero-size arrays not supported in convolutions, got shapes "
                         f"{_shape(in1)} and {_shape(in2)}.")
    in1, in2 = _inexact(in1, in2)
    no_swap = all(a >= b for a, b in zip(_shape(in1), _shape(in2)))
    swap = all(a <= b for a, b in zip(_shape(in1), _shape(in2)))
    if not (no_swap or swap):
        raise ValueError("One input must be smaller than the other in every dimension.")
    shape_o = _shape(in2)
    if swap:
        in1, in2 = in2, in1
    shape = _shape(in2)
    in2 = fnp.flip(in2)
    if mode == "valid":
        padding = [(0, 0) for _ in shape]
    elif mode == "same":
        padding = [(s - 1 - (so - 1) // 2, s - so + (so - 1) // 2)
                   for s, so in zip(shape, shape_o)]
    else:
        padding = [(s - 1, s - 1) for s in shape]
    result = P.conv_general_dilated(in1[None, None], in2[None, None], (1,) * len(shape),
                                    padding, precision=precision)
    return result[0, 0]


def convolve(in1, in2, mode="full", method="auto", precision=None):
    """The convolution of two N-d arrays (as jax.scipy.signal.convolve).

    Args:
      in1, in2: arrays of equal rank; one no smaller than the other in every axis.
      mode: ``'full'``, ``'same'`` (the size of in1) or ``'valid'``.
      method: ``'auto'`` / ``'direct'`` (conv_general_dilated) or ``'fft'``.
      precision: the convolution's precision (as lax).

    Returns:
      The convolution, in the promoted inexact dtype.

    References:
      jax.scipy.signal.convolve.
    """
    if method == "fft":
        return fftconvolve(in1, in2, mode=mode)
    if method in ("direct", "auto"):
        return _convolve_nd(in1, in2, mode, precision=precision)
    raise ValueError(f"Got method={method!r}; expected 'auto', 'fft', or 'direct'.")


def _check_2d(name, in1, in2, boundary, fillvalue):
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"{name}() only supports boundary='fill', fillvalue=0")
    if np.ndim(in1) != 2 or np.ndim(in2) != 2:
        raise ValueError(f"{name}() only supports 2-dimensional inputs.")


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    """The convolution of two 2-d arrays (as jax.scipy.signal.convolve2d; only
    boundary='fill' with fillvalue=0).

    Args:
      in1, in2: 2-d arrays.
      mode: ``'full'``, ``'same'`` or ``'valid'``.
      boundary: must be ``'fill'``.
      fillvalue: must be 0.
      precision: the convolution's precision.

    Returns:
      The 2-d convolution.

    References:
      jax.scipy.signal.convolve2d.
    """
    _check_2d("convolve2d", in1, in2, boundary, fillvalue)
    return _convolve_nd(in1, in2, mode, precision=precision)


def correlate(in1, in2, mode="full", method="auto", precision=None):
    """The cross-correlation of two N-d arrays, convolve(in1, flip(conj(in2)))
    (as jax.scipy.signal.correlate).

    Args:
      in1, in2: arrays of equal rank.
      mode: ``'full'``, ``'same'`` or ``'valid'``.
      method: ``'auto'`` / ``'direct'`` or ``'fft'``.
      precision: the convolution's precision.

    Returns:
      The cross-correlation.

    References:
      jax.scipy.signal.correlate.
    """
    return convolve(in1, fnp.flip(fnp.conjugate(fnp.asarray(in2))), mode, precision=precision,
                    method=method)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    """The cross-correlation of two 2-d arrays (as jax.scipy.signal.correlate2d,
    including its flips and conjugations per mode).

    Args:
      in1, in2: 2-d arrays.
      mode: ``'full'``, ``'same'`` or ``'valid'``.
      boundary: must be ``'fill'``.
      fillvalue: must be 0.
      precision: the convolution's precision.

    Returns:
      The 2-d cross-correlation.

    References:
      jax.scipy.signal.correlate2d.
    """
    _check_2d("correlate2d", in1, in2, boundary, fillvalue)
    in1, in2 = fnp.asarray(in1), fnp.asarray(in2)
    swap = all(a <= b for a, b in zip(_shape(in1), _shape(in2)))
    same_shape = all(a == b for a, b in zip(_shape(in1), _shape(in2)))
    conv = lambda a, b: _convolve_nd(a, b, mode, precision=precision)  # noqa: E731
    if mode == "same":
        return fnp.flip(conv(fnp.flip(in1), fnp.conjugate(in2)))
    if mode == "valid":
        if swap and not same_shape:
            return conv(fnp.flip(in2), fnp.conjugate(in1))
        return fnp.flip(conv(fnp.flip(in1), fnp.conjugate(in2)))
    if swap:
        return fnp.conjugate(conv(fnp.flip(in2), fnp.conjugate(in1)))
    return fnp.flip(conv(fnp.flip(in1), fnp.conjugate(in2)))


# --- detrend ---
def detrend(data, axis=-1, type="linear", bp=0, overwrite_data=None):
    """Remove the least-squares linear trend (per segment between the breakpoints
    ``bp``) or the mean (``type='constant'``) along ``axis`` (as
    jax.scipy.signal.detrend).

    Args:
      data: the array.
      axis: the axis detrended.
      type: ``'linear'`` or ``'constant'``.
      bp: static breakpoints of the piecewise-linear trend.
      overwrite_data: unsupported (must be None), as in JAX.

    Returns:
      The detrended data (inexact dtype).

    References:
      jax.scipy.signal.detrend.
    """
    if overwrite_data is not None:
        raise NotImplementedError("overwrite_data argument not implemented.")
    if type not in ("constant", "linear"):
        raise ValueError("Trend type must be 'linear' or 'constant'.")
    data, = _inexact(data)
    if type == "constant":
        return data - fnp.mean(data, axis, keepdims=True)
    n = _shape(data)[axis]
    bp_arr = np.sort(np.unique(np.r_[0, bp, n]))
    if bp_arr[0] < 0 or bp_arr[-1] > n:
        raise ValueError("Breakpoints must be non-negative and less than length of data "
                         "along given axis.")
    dt = _dtype(data)
    data = fnp.moveaxis(data, axis, 0)
    shape = _shape(data)
    data = data.reshape(n, -1)
    for m in range(len(bp_arr) - 1):
        npts = bp_arr[m + 1] - bp_arr[m]
        a = fnp.vstack([fnp.ones(npts, dtype=dt),
                        fnp.arange(1, npts + 1, dtype=dt) / npts.astype(dt)]).T
        sl = slice(bp_arr[m], bp_arr[m + 1])
        coef, *_ = fnp.linalg.lstsq(a, data[sl])
        data = data.at[sl].add(-fnp.matmul(a, coef, precision=P.Precision.HIGHEST))
    return fnp.moveaxis(data.reshape(shape), 0, axis)


# --- windowed FFTs: stft, csd, welch, istft ---
def _hann(n, dtype):
    win = fnp.array([1.0]) if n == 1 else \
        fnp.sin(fnp.linspace(0, np.pi, n, endpoint=False)) ** 2
    return win.astype(dtype)


def _triage_segments(window, nperseg, input_length, dtype):
    """JAX's ``signal_helper._triage_segments``: the window array and nperseg."""
    if isinstance(window, (str, tuple)):
        n = input_length if nperseg is None else int(nperseg)
        if n > input_length:
            warnings.warn(f"nperseg={n} is greater than input_length={input_length},"
                          f" using nperseg={input_length}")
            n = input_length
        if window == "hann":
            return _hann(n, dtype), n
        from scipy.signal import get_window  # optional, as in JAX
        return fnp.array(get_window(window, n), dtype=dtype), n
    win = fnp.asarray(window, dtype=dtype)
    n = math.prod(_shape(win)) if nperseg is None else int(nperseg)
    if len(_shape(win)) != 1:
        raise ValueError("window must be 1-D")
    if input_length < _shape(win)[0]:
        raise ValueError("window is longer than input signal")
    if n != _shape(win)[0]:
        raise ValueError("value specified for nperseg is different from length of window")
    return win, n


def _fft_helper(x, win, detrend_func, nperseg, noverlap, nfft, sides):
    """The windowed FFT of the strided segments of ``x`` (last axis)."""
    if kind(_dtype(x)) == "i":
        x = x.astype(_dtype(win))
    *batch, length = _shape(x)
    if nperseg == 1 and noverlap == 0:
        result = x[..., None]
    else:
        starts = np.arange(length - nperseg + 1, step=nperseg - noverlap)
        result = x[..., starts[:, None] + np.arange(nperseg)[None, :]]
    result = detrend_func(result)
    if _is_complex(win):
        result = result.astype(_to_complex_dtype(_dtype(result)))
    result = win.reshape((1,) * len(batch) + (1, nperseg)) * result
    if sides == "twosided":
        return fnp.fft.fft(result, n=nfft)
    return fnp.fft.rfft(fnp.real(result), n=nfft)


def _odd_ext(x, n, axis=-1):
    if n < 1:
        return x
    if n > _shape(x)[axis] - 1:
        raise ValueError(f"The extension length n ({n}) is too big. It must not exceed "
                         f"x.shape[axis]-1, which is {_shape(x)[axis] - 1}.")
    take = lambda lo, hi: fnp.take(x, fnp.arange(lo, hi), axis=axis)  # noqa: E731
    size = _shape(x)[axis]
    left_end, right_end = take(0, 1), take(size - 1, size)
    left_ext = fnp.flip(take(1, n + 1), axis=axis)
    right_ext = fnp.flip(take(size - n - 1, size - 1), axis=axis)
    return fnp.concatenate((2 * left_end - left_ext, x, 2 * right_end - right_ext), axis=axis)


def _pad_fn(mode, **kwargs):
    def pad(x, n, axis=-1):
        width = [(0, 0)] * len(_shape(x))
        width[axis] = (n, n)
        return fnp.pad(x, width, mode, **kwargs)
    return pad


_BOUNDARY = {"even": _pad_fn("reflect"), "odd": _odd_ext, "constant": _pad_fn("edge"),
             "zeros": _pad_fn("constant", constant_values=0.0), None: lambda x, *a, **k: x}


def _zeros_pad_last(x, n):
    return fnp.concatenate((x, fnp.zeros((*_shape(x)[:-1], n), _dtype(x))), axis=-1)


def _spectral_helper(x, y, fs=1.0, window="hann", nperseg=None, noverlap=None, nfft=None,
                     detrend_type="constant", return_onesided=True, scaling="density",
                     axis=-1, mode="psd", boundary=None, padded=False):
    """JAX's ``_spectral_helper`` (scipy's, with ``y=None`` for auto-spectra)."""
    if mode not in ("psd", "stft"):
        raise ValueError(f"Unknown value for mode {mode}, must be one of: ('psd', 'stft')")
    if boundary not in _BOUNDARY:
        raise ValueError(f"Unknown boundary option '{boundary}', must be one of: "
                         f"{list(_BOUNDARY.keys())}")
    axis = canonicalize_axis(operator.index(axis), len(np.shape(x)), "spectral_helper")
    if y is None:
        x, = _inexact(x)
        y_arr = x
        outershape = tuple(s for i, s in enumerate(_shape(x)) if i != axis)
    else:
        if mode != "psd":
            raise ValueError("two-argument mode is available only when mode=='psd'")
        x, y_arr = _inexact(x, y)
        if len(_shape(x)) != len(_shape(y_arr)):
            raise ValueError(f"two-arguments must have the same rank ({len(_shape(x))} vs "
                             f"{len(_shape(y_arr))}).")
        try:
            outershape = np.broadcast_shapes(
                tuple(s for i, s in enumerate(_shape(x)) if i != axis),
                tuple(s for i, s in enumerate(_shape(y_arr)) if i != axis))
        except ValueError as err:
            raise ValueError("x and y cannot be broadcast together.") from err
    result_dtype = _to_complex_dtype(_dtype(x))
    freq_dtype = np.finfo(result_dtype).dtype
    if nperseg is not None:
        nperseg = int(nperseg)
        if nperseg < 1:
            raise ValueError("nperseg must be a positive integer")
    win, nperseg = _triage_segments(window, nperseg, _shape(x)[axis], _dtype(x))
    noverlap = nperseg // 2 if noverlap is None else int(noverlap)
    nfft = nperseg if nfft is None else int(nfft)
    if y is None and math.prod(_shape(x)) == 0:
        return (fnp.zeros(_shape(x), freq_dtype), fnp.zeros(_shape(x), freq_dtype),
                fnp.zeros(_shape(x), result_dtype))
    if y is not None and (math.prod(_shape(x)) == 0 or math.prod(_shape(y_arr)) == 0):
        shape = list(outershape)
        shape.insert(axis, min(_shape(x)[axis], _shape(y_arr)[axis]))
        return (fnp.zeros(shape, freq_dtype), fnp.zeros(shape, freq_dtype),
                fnp.zeros(shape, result_dtype))
    x = fnp.moveaxis(x, axis, -1)
    if y is not None and len(_shape(y_arr)) > 1:
        y_arr = fnp.moveaxis(y_arr, axis, -1)
    if y is not None and _shape(x)[-1] != _shape(y_arr)[-1]:
        if _shape(x)[-1] < _shape(y_arr)[-1]:
            x = _zeros_pad_last(x, _shape(y_arr)[-1] - _shape(x)[-1])
        else:
            y_arr = _zeros_pad_last(y_arr, _shape(x)[-1] - _shape(y_arr)[-1])
    if nfft < nperseg:
        raise ValueError("nfft must be greater than or equal to nperseg.")
    if noverlap >= nperseg:
        raise ValueError("noverlap must be less than nperseg.")
    nstep = nperseg - noverlap
    if boundary is not None:
        x = _BOUNDARY[boundary](x, nperseg // 2, axis=-1)
        if y is not None:
            y_arr = _BOUNDARY[boundary](y_arr, nperseg // 2, axis=-1)
    if padded:
        nadd = (-(_shape(x)[-1] - nperseg) % nstep) % nperseg
        x = _zeros_pad_last(x, nadd)
        if y is not None:
            y_arr = _zeros_pad_last(y_arr, nadd)
    if isinstance(detrend_type, str):
        detrend_func = lambda d: detrend(d, type=detrend_type, axis=-1)  # noqa: E731
    elif callable(detrend_type):
        detrend_func = detrend_type if axis == -1 else (
            lambda d: fnp.moveaxis(detrend_type(fnp.moveaxis(d, axis, -1)), -1, axis))
    elif not detrend_type:
        detrend_func = lambda d: d  # noqa: E731
    else:
        raise ValueError(f"Unsupported detrend type: {detrend_type}")
    if scaling == "density":
        scale = 1.0 / (fs * (win * win).sum())
    elif scaling == "spectrum":
        scale = 1.0 / win.sum() ** 2
    else:
        raise ValueError(f"Unknown scaling: {scaling}")
    if mode == "stft":
        scale = fnp.sqrt(scale)
    scale = fnp.asarray(scale)
    scale = scale.astype(_to_complex_dtype(_dtype(scale)))
    if return_onesided:
        sides = "onesided"
        if _is_complex(x) or (y is not None and _is_complex(y_arr)):
            sides = "twosided"
            warnings.warn("Input data is complex, switching to return_onesided=False")
    else:
        sides = "twosided"
    freq_fn = fnp.fft.fftfreq if sides == "twosided" else fnp.fft.rfftfreq
    freqs = freq_fn(nfft, 1 / fs, dtype=freq_dtype)
    result = _fft_helper(x, win, detrend_func, nperseg, noverlap, nfft, sides)
    if y is not None:
        result = fnp.conjugate(result) * _fft_helper(y_arr, win, detrend_func, nperseg,
                                                     noverlap, nfft, sides)
    elif mode == "psd":
        result = fnp.conjugate(result) * result
    result = result * scale
    if sides == "onesided" and mode == "psd":
        end = None if nfft % 2 else -1
        result = result.at[..., 1:end].mul(2)
    time = fnp.arange(nperseg / 2, _shape(x)[-1] - nperseg / 2 + 1, nperseg - noverlap,
                      dtype=freq_dtype) / fs
    if boundary is not None:
        time = time - (nperseg / 2) / fs
    result = result.astype(result_dtype)
    if y is None and mode != "stft":
        result = fnp.real(result)
    return freqs, time, fnp.moveaxis(result, -1, axis)


def stft(x, fs=1.0, window="hann", nperseg=256, noverlap=None, nfft=None, detrend=False,
         return_onesided=True, boundary="zeros", padded=True, axis=-1):
    """The short-time Fourier transform (as jax.scipy.signal.stft).

    Args:
      x: the time series.
      fs: the sampling frequency.
      window: ``'hann'``, a scipy window name (needs scipy) or a 1-d array.
      nperseg: segment length; noverlap: overlap (default nperseg // 2).
      nfft: FFT length (default nperseg).
      detrend: False, ``'constant'``, ``'linear'`` or a callable.
      return_onesided: one-sided spectrum for real input.
      boundary: extension at both ends (``'zeros'``, ``'even'``, ``'odd'``,
        ``'constant'`` or None); padded: zero-pad to whole segments.
      axis: the time axis.

    Returns:
      ``(f, t, Zxx)``: frequencies, segment times and the STFT.

    References:
      jax.scipy.signal.stft; scipy.signal.stft.
    """
    return _spectral_helper(x, None, fs, window, nperseg, noverlap, nfft, detrend,
                            return_onesided, scaling="spectrum", axis=axis, mode="stft",
                            boundary=boundary, padded=padded)


def csd(x, y, fs=1.0, window="hann", nperseg=None, noverlap=None, nfft=None,
        detrend="constant", return_onesided=True, scaling="density", axis=-1, average="mean"):
    """The cross power spectral density by Welch's method (as jax.scipy.signal.csd;
    ``y=None`` for the auto-spectrum).

    Args:
      x, y: the time series (y may be None).
      fs, window, nperseg, noverlap, nfft, detrend, return_onesided, axis: as ``stft``.
      scaling: ``'density'`` (V**2/Hz) or ``'spectrum'`` (V**2).
      average: ``'mean'`` or ``'median'`` over segments.

    Returns:
      ``(f, Pxy)``.

    References:
      jax.scipy.signal.csd; scipy.signal.csd.
    """
    freqs, _, pxy = _spectral_helper(x, y, fs, window, nperseg, noverlap, nfft, detrend,
                                     return_onesided, scaling, axis, mode="psd")
    if y is not None:
        pxy = pxy + 0j
    if len(_shape(pxy)) >= 2 and math.prod(_shape(pxy)) > 0:
        if _shape(pxy)[-1] > 1:
            if average == "median":
                nseg = _shape(pxy)[-1]
                ii_2 = fnp.arange(2., nseg, 2)
                bias = (1 + fnp.sum(1. / (ii_2 + 1) - 1. / ii_2)).astype(_dtype(pxy))
                if _is_complex(pxy):
                    pxy = (fnp.median(fnp.real(pxy), axis=-1)
                           + 1j * fnp.median(fnp.imag(pxy), axis=-1))
                else:
                    pxy = fnp.median(pxy, axis=-1)
                pxy = pxy / bias
            elif average == "mean":
                pxy = pxy.mean(axis=-1)
            else:
                raise ValueError(f'average must be "median" or "mean", got {average}')
        else:
            pxy = fnp.reshape(pxy, _shape(pxy)[:-1])
    return freqs, pxy


def welch(x, fs=1.0, window="hann", nperseg=None, noverlap=None, nfft=None,
          detrend="constant", return_onesided=True, scaling="density", axis=-1,
          average="mean"):
    """The power spectral density by Welch's method, the real part of csd(x, None)
    (as jax.scipy.signal.welch).

    Args:
      x: the time series; the others as ``csd``.

    Returns:
      ``(f, Pxx)``.

    References:
      jax.scipy.signal.welch; scipy.signal.welch.
    """
    freqs, pxx = csd(x, None, fs=fs, window=window, nperseg=nperseg, noverlap=noverlap,
                     nfft=nfft, detrend=detrend, return_onesided=return_onesided,
                     scaling=scaling, axis=axis, average=average)
    return freqs, fnp.real(pxx)


def _overlap_and_add(x, step_size: int):
    """Sum the frames ``x[..., frames, frame_length]`` shifted by ``step_size``."""
    *batch, nframes, seg_len = _shape(x)
    flat = math.prod(batch)
    x = x.reshape((flat, nframes, seg_len))
    output_size = step_size * (nframes - 1) + seg_len
    nstep = 1 + (seg_len - 1) // step_size
    x = fnp.pad(x, ((0, 0), (0, 0), (0, nstep * step_size - seg_len)))
    x = x.reshape((flat, nframes, nstep, step_size)).transpose((0, 2, 1, 3))
    x = fnp.pad(x, ((0, 0), (0, 0), (0, nframes), (0, 0)))
    shrunken = _shape(x)[2] - 1
    x = x.reshape((flat, -1))[:, :nstep * shrunken * step_size]
    x = x.reshape((flat, nstep, shrunken * step_size))
    return x.sum(axis=1)[:, :output_size].reshape(tuple(batch) + (-1,))


def istft(Zxx, fs=1.0, window="hann", nperseg=None, noverlap=None, nfft=None,
          input_onesided=True, boundary=True, time_axis=-1, freq_axis=-2):
    """The inverse short-time Fourier transform by overlap-add (as
    jax.scipy.signal.istft).

    Args:
      Zxx: the STFT (at least 2-d).
      fs, window, nperseg, noverlap, nfft: as ``stft``.
      input_onesided: Zxx is a one-sided spectrum.
      boundary: the input was extended at both ends (the extension is removed).
      time_axis, freq_axis: the segment and frequency axes of Zxx.

    Returns:
      ``(t, x)``: times and the reconstructed series.

    References:
      jax.scipy.signal.istft; scipy.signal.istft.
    """
    Zxx = fnp.asarray(Zxx)
    ndim = len(_shape(Zxx))
    if ndim < 2:
        raise ValueError("Input stft must be at least 2d!")
    freq_axis = canonicalize_axis(freq_axis, ndim, "istft")
    time_axis = canonicalize_axis(time_axis, ndim, "istft")
    if freq_axis == time_axis:
        raise ValueError("Must specify differing time and frequency axes!")
    Zxx = Zxx.astype(_to_complex_dtype(_dtype(Zxx)))
    n_default = 2 * (_shape(Zxx)[freq_axis] - 1) if input_onesided else _shape(Zxx)[freq_axis]
    nperseg = int(nperseg or n_default)
    if nperseg < 1:
        raise ValueError("nperseg must be a positive integer")
    if nfft is None:
        nfft_int = n_default + (1 if input_onesided and nperseg == n_default + 1 else 0)
    else:
        nfft_int = int(nfft)
    if nfft_int < nperseg:
        raise ValueError(f"FFT length ({nfft_int}) must be longer than nperseg ({nperseg}).")
    noverlap = int(noverlap or nperseg // 2)
    if noverlap >= nperseg:
        raise ValueError("noverlap must be less than nperseg.")
    nstep = nperseg - noverlap
    if time_axis != ndim - 1 or freq_axis != ndim - 2:
        outer = tuple(i for i in range(ndim) if i not in {time_axis, freq_axis})
        Zxx = fnp.transpose(Zxx, outer + (freq_axis, time_axis))
    ifunc = fnp.fft.irfft if input_onesided else fnp.fft.ifft
    xsubs = ifunc(Zxx, axis=-2, n=nfft)[..., :nperseg, :]
    xdt = _dtype(xsubs)
    if isinstance(window, str) and window == "hann":
        win = _hann(nperseg, xdt)
    elif isinstance(window, (str, tuple)):
        from scipy.signal import get_window  # optional, as in JAX
        win = fnp.array(get_window(window, nperseg), dtype=xdt)
    else:
        win = fnp.asarray(window)
        if len(_shape(win)) != 1:
            raise ValueError("window must be 1-D")
        if _shape(win)[0] != nperseg:
            raise ValueError(f"window must have length of {nperseg}")
    xsubs = xsubs * win.sum()
    win = fnp.expand_dims(win, (*range(len(_shape(xsubs)) - 2), -1))
    x = _overlap_and_add(fnp.swapaxes(xsubs * win, -2, -1), nstep)
    win_sq = fnp.repeat(win * win, _shape(xsubs)[-1], axis=-1)
    norm = _overlap_and_add(fnp.swapaxes(win_sq, -2, -1), nstep)
    if boundary:
        x = x[..., nperseg // 2:-(nperseg // 2)]
        norm = norm[..., nperseg // 2:-(nperseg // 2)]
    x = x / fnp.where(norm > 1e-10, norm, 1.0)
    if len(_shape(x)) > 1 and time_axis != ndim - 1:
        if freq_axis < time_axis:
            time_axis -= 1
        x = fnp.moveaxis(x, -1, time_axis)
    time = fnp.arange(_shape(x)[0], dtype=np.finfo(_dtype(x)).dtype) / fs
    return time, x

