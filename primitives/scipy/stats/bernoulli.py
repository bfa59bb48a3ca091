"""The Bernoulli distribution (as jax.scipy.stats.bernoulli)."""
from __future__ import annotations

from primitives.scipy.stats._common import (const, fnp, inf_like, nan_like,
                                            promote_args_inexact, special)

__all__ = ["logpmf", "pmf", "cdf", "ppf"]


def logpmf(k, p, loc=0):
    """log P(k; p) for k - loc in {0, 1}; -inf outside."""
    k, p, loc = promote_args_inexact("bernoulli.logpmf", k, p, loc)
    x = k - loc
    log_probs = special.xlogy(x, p) + special.xlog1py(const(k, 1) - x, -p)
    return fnp.where((x < 0) | (x > 1), inf_like(k, -1), log_probs)


def pmf(k, p, loc=0):
    """The probability mass function."""
    return fnp.exp(logpmf(k, p, loc))


def cdf(k, p):
    """The CDF: 0 below 0, 1 - p on [0, 1), 1 from 1; nan for p outside [0, 1]."""
    k, p = promote_args_inexact("bernoulli.cdf", k, p)
    zero, one = const(k, 0), const(k, 1)
    conds = [fnp.isnan(k) | fnp.isnan(p) | (p < zero) | (p > one), k < zero,
             (k >= zero) & (k < one), k >= one]
    return fnp.select(conds, [nan_like(k), zero, one - p, one])


def ppf(q, p):
    """The quantile function: 0 for q <= 1 - p, else 1; nan outside the domain."""
    q, p = promote_args_inexact("bernoulli.ppf", q, p)
    zero, one = const(q, 0), const(q, 1)
    bad = fnp.isnan(q) | fnp.isnan(p) | (p < zero) | (p > one) | (q < zero) | (q > one)
    return fnp.where(bad, nan_like(q), fnp.where(q <= one - p, zero, one))
