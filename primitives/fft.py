"""The ``fft`` primitive (as ``jax.lax.fft``): FFT / IFFT over the trailing
``len(fft_lengths)`` axes of a complex array, RFFT (real -> complex, the last
axis shrinks to ``n // 2 + 1``) and IRFFT (its inverse).

One block: abstract eval (JAX's shape and dtype rules), lowering to
``jax.lax.fft``, jvp (the op is linear), JAX's transpose
(``_fft_transpose_rule``: FFT and IFFT are symmetric matrices, so each is its
own transpose; RFFT's and IRFFT's transposes weigh the Hermitian-redundant
bins by a 1/2/1 mask and scale by ``prod(fft_lengths)``, with JAX's conjugations)
and the batch rule (the batch axis to the front: the transform acts on the
trailing axes). ``FftType`` is ``jax.lax.FftType`` itself.

Example::

    >>> import primitives as P
    >>> print(fx.make_graph(lambda x: P.fft(x, "rfft", (4,)))(np.ones((2, 4), np.float32)))
    { lambda ; a:f32[2,4]. let
        b:c64[2,3] = fft[fft_lengths=(4,) fft_type=FftType.RFFT] a
      in (b,) }

References:
    jax/_src/lax/fft.py; JAX issue 6223 (the conjugation convention of complex
    cotangents).
"""
from __future__ import annotations

import math

import numpy as np
from jax import lax

from fx.ad import UndefinedPrimal, deflinear
from fx.batching import moveaxis
from fx.core import Primitive, canonical_dtype, get_aval
from fx.dtypes import kind, to_inexact_dtype
from fx.errors import FxTypeError, ShapeError
from primitives.complex import complex_dtype, conj, real_dtype
from primitives.elementwise import convert_element_type, mul
from primitives.shape import broadcast_in_dim

__all__ = ["fft", "fft_p", "FftType"]

FftType = lax.FftType
_PARTS = (np.dtype(np.float32), np.dtype(np.float64))


def _fft_type(fft_type) -> FftType:
    """An FftType from the enum or its name ("fft", "IRFFT", ...), as JAX's."""
    if isinstance(fft_type, str):
        names = {"fft": FftType.FFT, "ifft": FftType.IFFT, "rfft": FftType.RFFT,
                 "irfft": FftType.IRFFT}
        if fft_type.lower() not in names or fft_type not in (fft_type.lower(),
                                                             fft_type.upper()):
            raise ValueError(f"Unknown FFT type '{fft_type}'")
        return names[fft_type.lower()]
    if isinstance(fft_type, FftType):
        return fft_type
    raise TypeError(f"Unknown FFT type value '{fft_type}'")


# --- fft ---
fft_p = Primitive("fft")


@fft_p.def_abstract_eval
def _fft_aval(x, *, fft_type, fft_lengths):
    k = len(fft_lengths)
    where = f"fft[{fft_type.name}, fft_lengths={fft_lengths}] of {x.str_short()}"
    if k > x.ndim:
        raise ShapeError(f"{where}: the input must have at least {k} axes (one per fft length).")
    minor = x.shape[x.ndim - k:]
    if fft_type == FftType.RFFT:
        if x.dtype not in _PARTS:
            raise FxTypeError(f"{where}: RFFT input must be float32 or float64.")
        if minor != fft_lengths:
            raise ShapeError(f"{where}: the trailing axes must equal fft_lengths.")
        shape = x.shape[:x.ndim - k] + fft_lengths[:-1] + (fft_lengths[-1] // 2 + 1,)
        return x.update(shape=shape, dtype=complex_dtype(x.dtype), weak_type=False)
    if kind(x.dtype) != "c":
        raise FxTypeError(f"{where}: {fft_type.name} input must be complex64 or complex128.")
    if fft_type == FftType.IRFFT:
        if minor[:-1] != fft_lengths[:-1]:
            raise ShapeError(f"{where}: the trailing axes but the last must equal "
                             f"fft_lengths[:-1].")
        shape = x.shape[:x.ndim - k] + fft_lengths
        return x.update(shape=shape, dtype=real_dtype(x.dtype), weak_type=False)
    if minor != fft_lengths:
        raise ShapeError(f"{where}: the trailing axes must equal fft_lengths.")
    return x.update(weak_type=False)


fft_p.def_lowering(lambda x, *, fft_type, fft_lengths: lax.fft(x, fft_type, fft_lengths))
deflinear(fft_p)


def _hermitian_mask(m: int, n: int) -> np.ndarray:
    """The weights 1, 2, ..., 2, 1 of the m = n // 2 + 1 RFFT bins (no trailing
    1 for odd n): 2 for the bins that stand for two of the full FFT's."""
    mask = np.full((m,), 2.0)
    mask[0] = 1.0
    if n % 2 == 0:
        mask[-1] = 1.0
    return mask


def _rfft_transpose(ct, fft_lengths):
    """JAX's: ``N * irfft(conj(ct) / mask)``."""
    aval = get_aval(ct)
    inv = 1.0 / _hermitian_mask(aval.shape[-1], fft_lengths[-1])
    inv = broadcast_in_dim(inv.astype(aval.dtype), aval.shape, (aval.ndim - 1,))
    out = fft(mul(conj(ct), inv), FftType.IRFFT, fft_lengths)
    return mul(out, float(math.prod(fft_lengths)))


def _irfft_transpose(ct, fft_lengths):
    """JAX's: ``conj(mask / N * rfft(ct))``."""
    x = fft(ct, FftType.RFFT, fft_lengths)
    aval = get_aval(x)
    w = _hermitian_mask(aval.shape[-1], fft_lengths[-1])
    w = (w / math.prod(fft_lengths)).astype(aval.dtype)
    return conj(mul(x, broadcast_in_dim(w, aval.shape, (aval.ndim - 1,))))


@fft_p.def_transpose
def _fft_transpose(ct, x, *, fft_type, fft_lengths):
    assert isinstance(x, UndefinedPrimal)
    if fft_type == FftType.RFFT:
        return [_rfft_transpose(ct, fft_lengths)]
    if fft_type == FftType.IRFFT:
        return [_irfft_transpose(ct, fft_lengths)]
    return [fft(ct, fft_type, fft_lengths)]


@fft_p.def_batch
def _fft_batch(args, bdims, *, fft_type, fft_lengths):
    (x,), (d,) = args, bdims
    return fft_p.bind(moveaxis(x, d, 0), fft_type=fft_type, fft_lengths=fft_lengths), 0


def fft(x, fft_type, fft_lengths):
    """A discrete Fourier transform over the trailing axes (lax.fft).

    Args:
      x: the array: cast to complex (float32 -> complex64) for FFT / IFFT /
        IRFFT, to its inexact dtype for RFFT (which rejects complex input).
      fft_type: ``FftType`` (FFT, IFFT, RFFT, IRFFT) or its name ("fft", ...).
      fft_lengths: the transform's lengths, one per trailing axis (at most 3);
        empty returns the converted ``x``.

    Returns:
      The transform: complex (real for IRFFT, whose last axis is
      ``fft_lengths[-1]``; RFFT's last axis is ``fft_lengths[-1] // 2 + 1``).

    References:
      ``jax.lax.fft``.
    """
    typ = _fft_type(fft_type)
    dtype = get_aval(x).dtype
    if typ == FftType.RFFT:
        if kind(dtype) == "c":
            raise ValueError("only real valued inputs supported for rfft")
        new = canonical_dtype(to_inexact_dtype(dtype))
    else:
        new = complex_dtype(canonical_dtype(to_inexact_dtype(dtype)))
    if new != dtype or get_aval(x).weak_type:
        x = convert_element_type(x, new)
    fft_lengths = tuple(int(n) for n in fft_lengths)
    if not fft_lengths:
        return x
    return fft_p.bind(x, fft_type=typ, fft_lengths=fft_lengths)
