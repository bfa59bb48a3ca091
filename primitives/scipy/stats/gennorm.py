"""The generalized normal distribution (as jax.scipy.stats.gennorm)."""
from __future__ import annotations

from primitives.scipy.stats._common import P, fnp, promote_args_inexact

__all__ = ["logpdf", "pdf", "cdf"]


def logpdf(x, beta):
    """log(beta / 2) - lgamma(1 / beta) - |x| ** beta."""
    x, beta = promote_args_inexact("gennorm.logpdf", x, beta)
    return fnp.log(0.5 * beta) - P.lgamma(1 / beta) - fnp.abs(x) ** beta


def cdf(x, beta):
    """The CDF ``(1 + sign(x) igamma(1 / beta, |x| ** beta)) / 2``."""
    x, beta = promote_args_inexact("gennorm.cdf", x, beta)
    return 0.5 * (1 + fnp.sign(x) * P.igamma(1 / beta, fnp.abs(x) ** beta))


def pdf(x, beta):
    """The density."""
    return fnp.exp(logpdf(x, beta))
