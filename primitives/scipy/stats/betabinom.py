"""The beta-binomial distribution (as jax.scipy.stats.betabinom)."""
from __future__ import annotations

from primitives.scipy.stats._common import (const, fnp, inf_like, nan_like,
                                            promote_args_inexact, special)

__all__ = ["logpmf", "pmf"]


def logpmf(k, n, a, b, loc=0):
    """log P(k; n, a, b); -inf outside the support, nan for n < 0 or a, b <= 0."""
    k, n, a, b, loc = promote_args_inexact("betabinom.logpmf", k, n, a, b, loc)
    y = fnp.floor(k) - loc
    one, zero = const(y, 1), const(y, 0)
    combiln = -(fnp.log1p(n) + special.betaln(n - y + one, y + one))
    beta_lns = special.betaln(y + a, n - y + b) - special.betaln(a, b)
    log_probs = combiln + beta_lns
    log_probs = fnp.where((y == zero) & (n == zero), zero, log_probs)
    log_probs = fnp.where((y < -loc) | (y > n) | (y + a <= zero), inf_like(y, -1), log_probs)
    return fnp.where((n < zero) | (a <= zero) | (b <= zero), nan_like(y), log_probs)


def pmf(k, n, a, b, loc=0):
    """The probability mass function."""
    return fnp.exp(logpmf(k, n, a, b, loc))
