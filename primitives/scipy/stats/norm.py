"""The normal distribution (as jax.scipy.stats.norm)."""
from __future__ import annotations

from primitives.scipy.stats._common import const, fnp, np, promote_args_inexact, special

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "ppf", "logsf", "sf", "isf"]


def logpdf(x, loc=0, scale=1):
    """log N(x; loc, scale ** 2)."""
    x, loc, scale = promote_args_inexact("norm.logpdf", x, loc, scale)
    scale_sqrd = scale * scale
    log_normalizer = fnp.log(const(x, 2 * np.pi) * scale_sqrd)
    quadratic = (x - loc) * (x - loc) / scale_sqrd
    return (log_normalizer + quadratic) / const(x, -2)


def pdf(x, loc=0, scale=1):
    """The normal density."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """The normal CDF through ``special.ndtr``."""
    x, loc, scale = promote_args_inexact("norm.cdf", x, loc, scale)
    return special.ndtr((x - loc) / scale)


def logcdf(x, loc=0, scale=1):
    """log CDF through ``special.log_ndtr`` (accurate in the tails)."""
    x, loc, scale = promote_args_inexact("norm.logcdf", x, loc, scale)
    return special.log_ndtr((x - loc) / scale)


def ppf(q, loc=0, scale=1):
    """The quantile function, ``ndtri(q) * scale + loc`` (as JAX: in the default float)."""
    return fnp.asarray(special.ndtri(q) * scale + loc, float)


def logsf(x, loc=0, scale=1):
    """log(1 - CDF), as ``logcdf(-x, -loc, scale)``."""
    x, loc, scale = promote_args_inexact("norm.logsf", x, loc, scale)
    return logcdf(-x, -loc, scale)


def sf(x, loc=0, scale=1):
    """1 - CDF, as ``cdf(-x, -loc, scale)``."""
    x, loc, scale = promote_args_inexact("norm.sf", x, loc, scale)
    return cdf(-x, -loc, scale)


def isf(q, loc=0, scale=1):
    """The inverse survival function, ``ppf(1 - q)``."""
    return ppf(1 - q, loc, scale)
