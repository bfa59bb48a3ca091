"""The Cauchy distribution (as jax.scipy.stats.cauchy)."""
from __future__ import annotations

from primitives.scipy.stats._common import const, fnp, np, promote_args_inexact

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "isf", "ppf"]


def logpdf(x, loc=0, scale=1):
    """-log(pi scale) - log1p(z ** 2) for z = (x - loc) / scale."""
    x, loc, scale = promote_args_inexact("cauchy.logpdf", x, loc, scale)
    z = (x - loc) / scale
    return -(fnp.log(const(x, np.pi) * scale) + fnp.log1p(z * z))


def pdf(x, loc=0, scale=1):
    """The Cauchy density."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """The CDF ``1/2 + arctan(z) / pi``."""
    x, loc, scale = promote_args_inexact("cauchy.cdf", x, loc, scale)
    return const(x, 0.5) + const(x, 1 / np.pi) * fnp.arctan((x - loc) / scale)


def logcdf(x, loc=0, scale=1):
    """log CDF."""
    return fnp.log(cdf(x, loc, scale))


def sf(x, loc=0, scale=1):
    """The survival function, ``cdf(-x, -loc, scale)``."""
    x, loc, scale = promote_args_inexact("cauchy.sf", x, loc, scale)
    return cdf(-x, -loc, scale)


def logsf(x, loc=0, scale=1):
    """log survival function."""
    x, loc, scale = promote_args_inexact("cauchy.logsf", x, loc, scale)
    return logcdf(-x, -loc, scale)


def isf(q, loc=0, scale=1):
    """The inverse survival function ``tan(pi / 2 - pi q) * scale + loc``."""
    q, loc, scale = promote_args_inexact("cauchy.isf", q, loc, scale)
    return fnp.tan(const(q, np.pi / 2) - const(q, np.pi) * q) * scale + loc


def ppf(q, loc=0, scale=1):
    """The quantile function ``tan(pi q - pi / 2) * scale + loc``."""
    q, loc, scale = promote_args_inexact("cauchy.ppf", q, loc, scale)
    return fnp.tan(const(q, np.pi) * q - const(q, np.pi / 2)) * scale + loc
