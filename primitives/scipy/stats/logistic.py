"""The logistic distribution (as jax.scipy.stats.logistic)."""
from __future__ import annotations

from primitives.scipy.stats._common import const, fnp, promote_args_inexact, special

__all__ = ["logpdf", "pdf", "cdf", "ppf", "sf", "isf"]


def logpdf(x, loc=0, scale=1):
    """-2 logaddexp(z / 2, -z / 2) - log(scale) for z = (x - loc) / scale."""
    x, loc, scale = promote_args_inexact("logistic.logpdf", x, loc, scale)
    x = (x - loc) / scale
    two = const(x, 2)
    half_x = x / two
    return -two * fnp.logaddexp(half_x, -half_x) - fnp.log(scale)


def pdf(x, loc=0, scale=1):
    """The logistic density."""
    return fnp.exp(logpdf(x, loc, scale))


def ppf(x, loc=0, scale=1):
    """The quantile function ``logit(q) * scale + loc``."""
    x, loc, scale = promote_args_inexact("logistic.ppf", x, loc, scale)
    return special.logit(x) * scale + loc


def sf(x, loc=0, scale=1):
    """The survival function ``expit(-(x - loc) / scale)``."""
    x, loc, scale = promote_args_inexact("logistic.sf", x, loc, scale)
    return special.expit(-((x - loc) / scale))


def isf(x, loc=0, scale=1):
    """The inverse survival function ``-logit(q) * scale + loc``."""
    x, loc, scale = promote_args_inexact("logistic.isf", x, loc, scale)
    return -special.logit(x) * scale + loc


def cdf(x, loc=0, scale=1):
    """The CDF ``expit((x - loc) / scale)``."""
    x, loc, scale = promote_args_inexact("logistic.cdf", x, loc, scale)
    return special.expit((x - loc) / scale)
