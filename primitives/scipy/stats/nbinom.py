"""The negative binomial distribution (as jax.scipy.stats.nbinom)."""
from __future__ import annotations

from primitives.scipy.stats._common import const, fnp, inf_like, promote_args_inexact, special

__all__ = ["logpmf", "pmf"]


def logpmf(k, n, p, loc=0):
    """log P(k; n, p) (k failures before the n-th success); -inf below loc."""
    k, n, p, loc = promote_args_inexact("nbinom.logpmf", k, n, p, loc)
    one = const(k, 1)
    y = k - loc
    comb_term = special.gammaln(y + n) - special.gammaln(n) - special.gammaln(y + one)
    log_linear = special.xlogy(n, p) + special.xlogy(y, one - p)
    return fnp.where(k < loc, inf_like(k, -1), comb_term + log_linear)


def pmf(k, n, p, loc=0):
    """The probability mass function."""
    return fnp.exp(logpmf(k, n, p, loc))
