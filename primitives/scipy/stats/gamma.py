"""The gamma distribution (as jax.scipy.stats.gamma)."""
from __future__ import annotations

from primitives.scipy.stats._common import const, fnp, inf_like, promote_args_inexact, special

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def logpdf(x, a, loc=0, scale=1):
    """log Gamma(x; a) of ``(x - loc) / scale``; -inf below loc."""
    x, a, loc, scale = promote_args_inexact("gamma.logpdf", x, a, loc, scale)
    ok = x >= loc
    one = const(x, 1)
    y = fnp.where(ok, (x - loc) / scale, one)
    log_probs = special.xlogy(a - one, y) - y - (special.gammaln(a) + fnp.log(scale))
    return fnp.where(ok, log_probs, inf_like(x, -1))


def pdf(x, a, loc=0, scale=1):
    """The gamma density."""
    return fnp.exp(logpdf(x, a, loc, scale))


def cdf(x, a, loc=0, scale=1):
    """The CDF, ``gammainc(a, max((x - loc) / scale, 0))``."""
    x, a, loc, scale = promote_args_inexact("gamma.cdf", x, a, loc, scale)
    return special.gammainc(a, fnp.clip((x - loc) / scale, const(x, 0), const(x, fnp.inf)))


def logcdf(x, a, loc=0, scale=1):
    """log CDF."""
    return fnp.log(cdf(x, a, loc, scale))


def sf(x, a, loc=0, scale=1):
    """The survival function ``gammaincc(a, y)``, 1 below loc."""
    x, a, loc, scale = promote_args_inexact("gamma.sf", x, a, loc, scale)
    y = (x - loc) / scale
    return fnp.where(y < 0, const(y, 1), special.gammaincc(a, y))


def logsf(x, a, loc=0, scale=1):
    """log survival function."""
    return fnp.log(sf(x, a, loc, scale))
