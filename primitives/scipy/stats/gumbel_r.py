"""The right-skewed Gumbel distribution (as jax.scipy.stats.gumbel_r)."""
from __future__ import annotations

from primitives.nn import log1mexp
from primitives.scipy.stats._common import (const, fnp, nan_like, promote_args_inexact,
                                            special)

__all__ = ["logpdf", "pdf", "logcdf", "cdf", "ppf", "sf", "logsf"]


def logpdf(x, loc=0, scale=1):
    """-log(scale) - (z + exp(-z)); nan for scale <= 0."""
    x, loc, scale = promote_args_inexact("gumbel_r.logpdf", x, loc, scale)
    z = (x - loc) / scale
    out = special.xlogy(-1, scale) - (z + fnp.exp(-z))
    return fnp.where(scale > 0, out, nan_like(out))


def pdf(x, loc=0, scale=1):
    """The density."""
    return fnp.exp(logpdf(x, loc, scale))


def logcdf(x, loc=0, scale=1):
    """log CDF ``-exp(-z)``."""
    x, loc, scale = promote_args_inexact("gumbel_r.logcdf", x, loc, scale)
    out = -fnp.exp(-((x - loc) / scale))
    return fnp.where(scale > 0, out, nan_like(out))


def cdf(x, loc=0, scale=1):
    """The CDF."""
    return fnp.exp(logcdf(x, loc, scale))


def ppf(p, loc=0, scale=1):
    """The quantile function ``loc - scale log(-log p)``; nan outside (0, 1)."""
    p, loc, scale = promote_args_inexact("gumbel_r.ppf", p, loc, scale)
    out = loc - scale * fnp.log(special.xlogy(-1, p))
    return fnp.where((p > 0) & (p < 1), out, nan_like(out))


def sf(x, loc=0, scale=1):
    """The survival function ``1 - exp(-exp(-z))``."""
    x, loc, scale = promote_args_inexact("gumbel_r.sf", x, loc, scale)
    out = const(x, 1) - fnp.exp(-fnp.exp((loc - x) / scale))
    return fnp.where(scale > 0, out, nan_like(out))


def logsf(x, loc=0, scale=1):
    """log survival function ``log1mexp(exp(-z))``."""
    x, loc, scale = promote_args_inexact("gumbel_r.logsf", x, loc, scale)
    out = log1mexp(fnp.exp((loc - x) / scale))
    return fnp.where(scale > 0, out, nan_like(out))
