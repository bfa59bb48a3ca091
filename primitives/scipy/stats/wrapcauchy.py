"""The wrapped Cauchy distribution (as jax.scipy.stats.wrapcauchy)."""
from __future__ import annotations

from primitives.scipy.stats._common import fnp, inf_like, nan_like, np, promote_args_inexact

__all__ = ["logpdf", "pdf"]


def logpdf(x, c):
    """log density on [0, 2 pi] for 0 < c < 1 (-inf outside, nan for other c)."""
    x, c = promote_args_inexact("wrapcauchy.logpdf", x, c)
    val = fnp.log(1 - c * c) - float(np.log(2 * np.pi)) - fnp.log(1 + c * c - 2 * c * fnp.cos(x))
    val = fnp.where((x >= 0) & (x <= np.pi * 2), val, inf_like(val, -1))
    return fnp.where((c > 0) & (c < 1), val, nan_like(val))


def pdf(x, c):
    """The density."""
    return fnp.exp(logpdf(x, c))
