"""The Pareto distribution (as jax.scipy.stats.pareto)."""
from __future__ import annotations

from primitives.scipy.stats._common import (const, fnp, inf_like, nan_like,
                                            promote_args_inexact)

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "logsf", "sf", "ppf"]


def logpdf(x, b, loc=0, scale=1):
    """-log(scale / b) - (b + 1) log(y) for y = (x - loc) / scale >= 1; -inf below."""
    x, b, loc, scale = promote_args_inexact("pareto.logpdf", x, b, loc, scale)
    y = (x - loc) / scale
    log_probs = -(fnp.log(scale / b) + (b + const(x, 1)) * fnp.log(y))
    return fnp.where(x < loc + scale, inf_like(x, -1), log_probs)


def pdf(x, b, loc=0, scale=1):
    """The Pareto density."""
    return fnp.exp(logpdf(x, b, loc, scale))


def cdf(x, b, loc=0, scale=1):
    """The CDF ``1 - y ** -b``; 0 below loc + scale."""
    x, b, loc, scale = promote_args_inexact("pareto.cdf", x, b, loc, scale)
    y = (x - loc) / scale
    return fnp.where(x < loc + scale, const(x, 0), const(x, 1) - fnp.power(y, -b))


def logcdf(x, b, loc=0, scale=1):
    """log CDF ``log1p(-y ** -b)``; -inf below loc + scale."""
    x, b, loc, scale = promote_args_inexact("pareto.logcdf", x, b, loc, scale)
    y = (x - loc) / scale
    return fnp.where(x < loc + scale, inf_like(x, -1), fnp.log1p(-fnp.power(y, -b)))


def logsf(x, b, loc=0, scale=1):
    """log survival function ``-b log(y)``; 0 below loc + scale."""
    x, b, loc, scale = promote_args_inexact("pareto.logsf", x, b, loc, scale)
    y = (x - loc) / scale
    return fnp.where(x < loc + scale, const(x, 0), -(b * fnp.log(y)))


def sf(x, b, loc=0, scale=1):
    """The survival function."""
    return fnp.exp(logsf(x, b, loc, scale))


def ppf(q, b, loc=0, scale=1):
    """The quantile function ``loc + scale (1 - q) ** (-1 / b)``; nan outside [0, 1]."""
    q, b, loc, scale = promote_args_inexact("pareto.ppf", q, b, loc, scale)
    one = const(q, 1)
    val = loc + scale * fnp.power(one - q, -(one / b))
    return fnp.where(fnp.isnan(q) | (q < 0) | (q > 1), nan_like(q), val)
