"""The beta distribution (as jax.scipy.stats.beta)."""
from __future__ import annotations

from primitives.scipy.stats._common import (const, fnp, inf_like, nan_like,
                                            promote_args_inexact, special)

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def logpdf(x, a, b, loc=0, scale=1):
    """log Beta(x; a, b) on [loc, loc + scale]; -inf outside, nan for a, b or scale <= 0."""
    x, a, b, loc, scale = promote_args_inexact("beta.logpdf", x, a, b, loc, scale)
    one = const(x, 1)
    y = (x - loc) / scale
    log_linear = special.xlogy(a - one, y) + special.xlog1py(b - one, -y)
    log_probs = -special.betaln(a, b) + log_linear - fnp.log(scale)
    out = fnp.where((x > loc + scale) | (x < loc), inf_like(x, -1), log_probs)
    return fnp.where((a <= 0) | (b <= 0) | (scale <= 0), nan_like(x), out)


def pdf(x, a, b, loc=0, scale=1):
    """The beta density."""
    return fnp.exp(logpdf(x, a, b, loc, scale))


def _clamped(x, loc, scale):
    return fnp.clip((x - loc) / scale, const(x, 0), const(x, 1))


def cdf(x, a, b, loc=0, scale=1):
    """The CDF, ``betainc(a, b, clip((x - loc) / scale, 0, 1))``."""
    x, a, b, loc, scale = promote_args_inexact("beta.cdf", x, a, b, loc, scale)
    return special.betainc(a, b, _clamped(x, loc, scale))


def logcdf(x, a, b, loc=0, scale=1):
    """log CDF."""
    return fnp.log(cdf(x, a, b, loc, scale))


def sf(x, a, b, loc=0, scale=1):
    """The survival function ``betainc(b, a, 1 - y)``."""
    x, a, b, loc, scale = promote_args_inexact("beta.sf", x, a, b, loc, scale)
    return special.betainc(b, a, 1 - _clamped(x, loc, scale))


def logsf(x, a, b, loc=0, scale=1):
    """log survival function."""
    return fnp.log(sf(x, a, b, loc, scale))
