"""The left-skewed Gumbel distribution (as jax.scipy.stats.gumbel_l)."""
from __future__ import annotations

from primitives.scipy.stats._common import fnp, nan_like, promote_args_inexact, special

__all__ = ["logpdf", "pdf", "logcdf", "cdf", "ppf", "sf", "logsf"]


def logpdf(x, loc=0, scale=1):
    """-log(scale) + z - exp(z); nan for scale <= 0."""
    x, loc, scale = promote_args_inexact("gumbel_l.logpdf", x, loc, scale)
    z = (x - loc) / scale
    out = special.xlogy(-1, scale) + (z - fnp.exp(z))
    return fnp.where(scale > 0, out, nan_like(out))


def pdf(x, loc=0, scale=1):
    """The density."""
    return fnp.exp(logpdf(x, loc, scale))


def logcdf(x, loc=0, scale=1):
    """log CDF ``log(-expm1(-exp(z)))``."""
    x, loc, scale = promote_args_inexact("gumbel_l.logcdf", x, loc, scale)
    out = fnp.log(-fnp.expm1(-fnp.exp((x - loc) / scale)))
    return fnp.where(scale > 0, out, nan_like(out))


def cdf(x, loc=0, scale=1):
    """The CDF."""
    return fnp.exp(logcdf(x, loc, scale))


def ppf(p, loc=0, scale=1):
    """The quantile function ``loc + scale log(-log1p(-p))``; nan outside (0, 1)."""
    p, loc, scale = promote_args_inexact("gumbel_l.ppf", p, loc, scale)
    out = loc + scale * fnp.log(special.xlog1py(-1, -p))
    return fnp.where((p > 0) & (p < 1), out, nan_like(out))


def sf(x, loc=0, scale=1):
    """The survival function."""
    return fnp.exp(logsf(x, loc, scale))


def logsf(x, loc=0, scale=1):
    """log survival function ``-exp(z)``."""
    x, loc, scale = promote_args_inexact("gumbel_l.logsf", x, loc, scale)
    out = -fnp.exp((x - loc) / scale)
    return fnp.where(scale > 0, out, nan_like(out))
