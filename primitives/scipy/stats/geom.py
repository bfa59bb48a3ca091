"""The geometric distribution on k = 1, 2, ... (as jax.scipy.stats.geom)."""
from __future__ import annotations

from primitives.scipy.stats._common import const, fnp, inf_like, promote_args_inexact, special

__all__ = ["logpmf", "pmf"]


def logpmf(k, p, loc=0):
    """(k - loc - 1) log(1 - p) + log p; -inf for k - loc <= 0."""
    k, p, loc = promote_args_inexact("geom.logpmf", k, p, loc)
    x = k - loc
    log_probs = special.xlog1py(x - const(k, 1), -p) + fnp.log(p)
    return fnp.where(x <= 0, inf_like(k, -1), log_probs)


def pmf(k, p, loc=0):
    """The probability mass function."""
    return fnp.exp(logpmf(k, p, loc))
