"""The Laplace distribution (as jax.scipy.stats.laplace)."""
from __future__ import annotations

from primitives.scipy.stats._common import const, fnp, promote_args_inexact

__all__ = ["logpdf", "pdf", "cdf"]


def logpdf(x, loc=0, scale=1):
    """-|x - loc| / scale - log(2 scale)."""
    x, loc, scale = promote_args_inexact("laplace.logpdf", x, loc, scale)
    return -(fnp.abs(x - loc) / scale + fnp.log(const(x, 2) * scale))


def pdf(x, loc=0, scale=1):
    """The Laplace density."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """The CDF, exp(d) / 2 for d = (x - loc) / scale <= 0, else 1 - exp(-d) / 2."""
    x, loc, scale = promote_args_inexact("laplace.cdf", x, loc, scale)
    half, one = const(x, 0.5), const(x, 1)
    diff = (x - loc) / scale
    return fnp.where(diff <= 0, half * fnp.exp(diff), one - half * fnp.exp(-diff))
