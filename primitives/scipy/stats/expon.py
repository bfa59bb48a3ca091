"""The exponential distribution (as jax.scipy.stats.expon)."""
from __future__ import annotations

from primitives.scipy.stats._common import const, fnp, inf_like, nan_like, promote_args_inexact

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "logsf", "sf", "ppf"]


def logpdf(x, loc=0, scale=1):
    """-(x - loc) / scale - log(scale); -inf below loc."""
    x, loc, scale = promote_args_inexact("expon.logpdf", x, loc, scale)
    log_probs = -((x - loc) / scale + fnp.log(scale))
    return fnp.where(x < loc, inf_like(x, -1), log_probs)


def pdf(x, loc=0, scale=1):
    """The exponential density."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """The CDF ``-expm1(-(x - loc) / scale)``, 0 below loc."""
    x, loc, scale = promote_args_inexact("expon.cdf", x, loc, scale)
    neg_scaled_x = (loc - x) / scale
    return fnp.where(x < loc, const(neg_scaled_x, 0), -fnp.expm1(neg_scaled_x))


def logcdf(x, loc=0, scale=1):
    """log CDF, as ``log1p(-sf)``."""
    return fnp.log1p(-sf(x, loc, scale))


def logsf(x, loc=0, scale=1):
    """log survival function ``-(x - loc) / scale``, 0 below loc."""
    x, loc, scale = promote_args_inexact("expon.sf", x, loc, scale)
    neg_scaled_x = (loc - x) / scale
    return fnp.where(x < loc, const(neg_scaled_x, 0), neg_scaled_x)


def sf(x, loc=0, scale=1):
    """The survival function."""
    return fnp.exp(logsf(x, loc, scale))


def ppf(q, loc=0, scale=1):
    """The quantile function ``loc - scale * log1p(-q)``; nan outside [0, 1]."""
    q, loc, scale = promote_args_inexact("expon.ppf", q, loc, scale)
    return fnp.where(fnp.isnan(q) | (q < 0) | (q > 1), nan_like(q),
                     loc - scale * fnp.log1p(-q))
