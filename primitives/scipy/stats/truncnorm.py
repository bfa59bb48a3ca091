"""The truncated normal distribution on [a, b] (standardized bounds), as
jax.scipy.stats.truncnorm."""
from __future__ import annotations

from primitives.nn import logsumexp
from primitives.scipy.stats import norm
from primitives.scipy.stats._common import (const, fnp, inf_like, nan_like, promote_args_inexact,
                                            special)

__all__ = ["logpdf", "pdf", "logcdf", "cdf", "logsf", "sf"]


def _log_diff(x, y):
    """log(exp(x) - exp(y))."""
    return logsumexp(fnp.stack([x, y]), b=fnp.stack([fnp.ones_like(x), -fnp.ones_like(y)]),
                     axis=0)


def _log_gauss_mass(a, b):
    """log of the standard normal mass of [a, b], stable in both tails."""
    a, b = fnp.broadcast_arrays(fnp.asarray(a), fnp.asarray(b))
    left, right = b <= 0, a > 0
    central = ~(left | right)
    a_tail = fnp.where(right, -b, a)
    b_tail = fnp.where(right, -a, b)
    mass_tail = _log_diff(special.log_ndtr(b_tail), special.log_ndtr(a_tail))
    mass_central = fnp.log1p(-special.ndtr(a) - special.ndtr(-b))
    return fnp.where(central, mass_central, mass_tail)


def logpdf(x, a, b, loc=0, scale=1):
    """log density; -inf outside [a, b] (standardized), nan where a >= b."""
    x, a, b, loc, scale = promote_args_inexact("truncnorm.logpdf", x, a, b, loc, scale)
    val = norm.logpdf(x, loc, scale) - _log_gauss_mass(a, b)
    x_scaled = (x - loc) / scale
    val = fnp.where((x_scaled < a) | (x_scaled > b), inf_like(val, -1), val)
    return fnp.where(a >= b, nan_like(val), val)


def pdf(x, a, b, loc=0, scale=1):
    """The truncated normal density."""
    return fnp.exp(logpdf(x, a, b, loc, scale))


def logsf(x, a, b, loc=0, scale=1):
    """log survival function, ``logcdf(-x, -b, -a, -loc, scale)``."""
    x, a, b, loc, scale = promote_args_inexact("truncnorm.logsf", x, a, b, loc, scale)
    return logcdf(-x, -b, -a, -loc, scale)


def sf(x, a, b, loc=0, scale=1):
    """The survival function."""
    return fnp.exp(logsf(x, a, b, loc, scale))


def logcdf(x, a, b, loc=0, scale=1):
    """log CDF: 0 above b, -inf below a, nan where a >= b."""
    x, a, b, loc, scale = promote_args_inexact("truncnorm.logcdf", x, a, b, loc, scale)
    x = (x - loc) / scale
    lgm_ab = _log_gauss_mass(a, b)
    log_cdf = _log_gauss_mass(a, x) - lgm_ab
    log_sf = _log_gauss_mass(x, b) - lgm_ab
    log_cdf = fnp.select([x >= b, x <= a, log_cdf > -0.1, x > a],
                         [const(x, 0), inf_like(x, -1), fnp.log1p(-fnp.exp(log_sf)),
                          log_cdf])
    return fnp.where(a >= b, nan_like(log_cdf), log_cdf)


def cdf(x, a, b, loc=0, scale=1):
    """The CDF."""
    return fnp.exp(logcdf(x, a, b, loc, scale))
