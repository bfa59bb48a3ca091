"""Window functions and the Bessel function they need (as jax.numpy):
``bartlett``, ``blackman``, ``hamming``, ``hanning``, ``kaiser``, ``i0``.

The windows take a concrete length ``M`` and return default-float arrays
(float32 unless x64), computed with the same formulas as JAX.

Example::

    >>> fnp.hanning(4)
    Array([0.  , 0.75, 0.75, 0.  ], dtype=float32)
"""
from __future__ import annotations

import operator

import numpy as np

import primitives as P
from fx.core import Tracer, canonical_dtype, get_aval
from fx.dtypes import kind
from fx.errors import ConcretizationError
from primitives.numpy import bessel as _bessel, math as _m
from primitives.numpy.creation import asarray, full

__all__ = ["bartlett", "blackman", "hamming", "hanning", "kaiser", "i0"]


def _length(M, op: str) -> int:
    if isinstance(M, Tracer) and M.concrete_value() is None:
        raise ConcretizationError(f"{op}: the window length M must be concrete (a Python int); "
                                  f"got a traced {get_aval(M).str_short()}.")
    return int(operator.index(M) if not isinstance(M, float) else int(M))


def _window(M, op, formula):
    M = _length(M, op)
    dtype = canonical_dtype(np.float64)
    if M <= 1:
        return full((max(M, 0),), 1, dtype=dtype)
    return formula(P.iota(dtype, M), M)


def bartlett(M):
    """The Bartlett (triangular) window (as jnp.bartlett).

    Args:
      M: the window length (a concrete int).

    Returns:
      A float array of shape ``(M,)``.

    References:
      jax.numpy.bartlett; numpy.bartlett.
    """
    return _window(M, "bartlett", lambda n, M: 1 - _m.abs(2 * n + 1 - M) / (M - 1))


def blackman(M):
    """The Blackman window (as jnp.blackman).

    Args:
      M: the window length (a concrete int).

    Returns:
      A float array of shape ``(M,)``.

    References:
      jax.numpy.blackman; numpy.blackman.
    """
    return _window(M, "blackman", lambda n, M: 0.42 - 0.5 * _m.cos(2 * np.pi * n / (M - 1))
                   + 0.08 * _m.cos(4 * np.pi * n / (M - 1)))


def hamming(M):
    """The Hamming window (as jnp.hamming).

    Args:
      M: the window length (a concrete int).

    Returns:
      A float array of shape ``(M,)``.

    References:
      jax.numpy.hamming; numpy.hamming.
    """
    return _window(M, "hamming", lambda n, M: 0.54 - 0.46 * _m.cos(2 * np.pi * n / (M - 1)))


def hanning(M):
    """The Hann window (as jnp.hanning).

    Args:
      M: the window length (a concrete int).

    Returns:
      A float array of shape ``(M,)``.

    References:
      jax.numpy.hanning; numpy.hanning.
    """
    return _window(M, "hanning", lambda n, M: 0.5 * (1 - _m.cos(2 * np.pi * n / (M - 1))))


def kaiser(M, beta):
    """The Kaiser window (as jnp.kaiser).

    Args:
      M: the window length (a concrete int).
      beta: the shape parameter (may be traced).

    Returns:
      A float array of shape ``(M,)``.

    References:
      jax.numpy.kaiser; numpy.kaiser.
    """
    def formula(n, M):
        alpha = 0.5 * (M - 1)
        return i0(beta * _m.sqrt(1 - ((n - alpha) / alpha) ** 2)) / i0(beta)
    return _window(M, "kaiser", formula)


def i0(x):
    """The modified Bessel function of the first kind, order 0 (as jnp.i0).

    Args:
      x: a real array (integers are promoted to float).

    Returns:
      ``I0(x)``, with derivatives of every order (``I0' = I1``; at 0 the series:
      ``I0''(0) = 1/2`` as jax >= 0.11, where jax <= 0.10 gives 0).

    References:
      jax.numpy.i0; numpy.i0; ``primitives.numpy.bessel``.
    """
    x, = _m.promote_inexact(asarray(x))
    if kind(get_aval(x).dtype) != "f":
        raise ValueError(f"Unsupported input type to jax.numpy.i0: {get_aval(x).dtype}")
    return _bessel.i0(x)
