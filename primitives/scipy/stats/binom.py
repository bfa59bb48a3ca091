"""The binomial distribution (as jax.scipy.stats.binom)."""
from __future__ import annotations

from primitives.scipy.stats._common import const, fnp, inf_like, promote_args_inexact, special

__all__ = ["logpmf", "pmf"]


def logpmf(k, n, p, loc=0):
    """log P(k; n, p); -inf outside loc <= k < loc + n + 1."""
    k, n, p, loc = promote_args_inexact("binom.logpmf", k, n, p, loc)
    y = k - loc
    zero = const(y, 0)
    comb_term = special.gammaln(n + 1) - (special.gammaln(y + 1) + special.gammaln(n - y + 1))
    log_linear = special.xlogy(y, p) + special.xlog1py(n - y, -p)
    log_probs = comb_term + log_linear
    log_probs = fnp.where(((y == zero) & (n == zero)) | (log_linear == zero), zero, log_probs)
    return fnp.where((k >= loc) & (k < loc + n + 1), log_probs, inf_like(k, -1))


def pmf(k, n, p, loc=0):
    """The probability mass function."""
    return fnp.exp(logpmf(k, n, p, loc))
