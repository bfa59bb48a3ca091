"""The Gaussian noise of DP-SGD: jax.random.normal's bits, a faster inverse CDF.

Like ``jax.random.normal``, a sample is ``sqrt(2) * erfinv(u)`` for ``u``
uniform in ``(-1, 1)``, from the same threefry bits (``frandom.uniform``) of the
same key. The inverse error function is Giles' single-precision approximation
(the one XLA's ``erf_inv`` uses, same coefficients) written with
``w = -log((1 - u)(1 + u))``, as Giles writes it, where XLA uses
``-log1p(-u * u)``: XLA:CPU's ``log1p`` expansion costs more than ``log``, so
this is ~15% faster on the 85k-parameter benchmark MLP (0.19 vs 0.23 ms). Samples
differ from ``jax.random.normal``'s by at most ~2e-5 (in the far tails, where
``(1 - u)(1 + u)`` is the more accurate of the two forms); in the central
region they agree to a few ulps. Non-float32 dtypes use ``frandom.normal``.

References:
  M. Giles, "Approximating the erfinv function", GPU Computing Gems Jade
  Edition, 2011.
"""
from __future__ import annotations

import numpy as np

import primitives.numpy as fnp
import primitives.random as frandom

__all__ = ["gaussian"]

# Giles (2011), single precision: p(w - 2.5) for w < 5, q(sqrt(w) - 3) beyond
_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
            -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
         -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
_F32 = np.float32


def _erf_inv(x):
    """erfinv of float32 ``x`` in (-1, 1) (Giles' approximation)."""
    w = -fnp.log((_F32(1) - x) * (_F32(1) + x))
    central = w < _F32(5)
    t = fnp.where(central, w - _F32(2.5), fnp.sqrt(w) - _F32(3))
    p = fnp.where(central, _F32(_CENTRAL[0]), _F32(_TAIL[0]))
    for c, q in zip(_CENTRAL[1:], _TAIL[1:]):
        p = fnp.where(central, _F32(c), _F32(q)) + p * t
    return p * x


def gaussian(key, shape: tuple, dtype=np.float32):
    """Standard normal samples for DP noise (``jax.random.normal``'s bits).

    Args:
      key: a raw PRNG key ``u32[2]``.
      shape: the sample shape.
      dtype: the float dtype (float32 takes the fast path).

    Returns:
      ``N(0, 1)`` samples of ``shape`` and ``dtype``.
    """
    if np.dtype(dtype) != np.float32:
        return frandom.normal(key, shape, dtype)
    lo = np.nextafter(_F32(-1), _F32(0))            # jax's (-1, 1) open interval
    u = frandom.uniform(key, shape, np.float32, minval=lo, maxval=_F32(1))
    return _F32(np.sqrt(2)) * _erf_inv(u)
