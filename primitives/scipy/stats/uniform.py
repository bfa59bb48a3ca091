"""The uniform distribution on [loc, loc + scale] (as jax.scipy.stats.uniform)."""
from __future__ import annotations

from primitives.scipy.stats._common import fnp, inf_like, nan_like, promote_args_inexact

__all__ = ["logpdf", "pdf", "cdf", "ppf"]


def logpdf(x, loc=0, scale=1):
    """-log(scale) inside the support, -inf outside."""
    x, loc, scale = promote_args_inexact("uniform.logpdf", x, loc, scale)
    return fnp.where((x > loc + scale) | (x < loc), inf_like(x, -1), -fnp.log(scale))


def pdf(x, loc=0, scale=1):
    """The uniform density."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """The CDF: 0 below, (x - loc) / scale inside, 1 above."""
    x, loc, scale = promote_args_inexact("uniform.cdf", x, loc, scale)
    dt = fnp.result_type(x)
    zero, one = fnp.array(0, dt), fnp.array(1, dt)
    conds = [x < loc, x > loc + scale, (x >= loc) & (x <= loc + scale)]
    return fnp.select(conds, [zero, one, (x - loc) / scale])


def ppf(q, loc=0, scale=1):
    """The quantile function ``loc + scale * q``; nan outside [0, 1]."""
    q, loc, scale = promote_args_inexact("uniform.ppf", q, loc, scale)
    return fnp.where(fnp.isnan(q) | (q < 0) | (q > 1), nan_like(q), loc + scale * q)
