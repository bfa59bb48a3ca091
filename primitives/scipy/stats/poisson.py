"""The Poisson distribution (as jax.scipy.stats.poisson)."""
from __future__ import annotations

from primitives.scipy.stats._common import (const, fnp, inf_like, np, promote_args_inexact,
                                            promote_inexact, special)

__all__ = ["logpmf", "pmf", "cdf", "entropy"]


def logpmf(k, mu, loc=0):
    """log P(k; mu); -inf below loc and at non-integer k."""
    k, mu, loc = promote_args_inexact("poisson.logpmf", k, mu, loc)
    x = k - loc
    log_probs = special.xlogy(x, mu) - special.gammaln(x + 1) - mu
    return fnp.where((x < 0) | (fnp.round(k) != k), inf_like(k, -1), log_probs)


def pmf(k, mu, loc=0):
    """The probability mass function."""
    return fnp.exp(logpmf(k, mu, loc))


def cdf(k, mu, loc=0):
    """The CDF, ``gammaincc(floor(1 + k - loc), mu)``; 0 below loc."""
    k, mu, loc = promote_args_inexact("poisson.logpmf", k, mu, loc)
    zero = const(k, 0)
    x = k - loc
    return fnp.where(x < zero, zero, special.gammaincc(fnp.floor(1 + x), mu))


def entropy(mu, loc=0):
    """The entropy of Poisson(mu): a truncated sum for mu < 100, the asymptotic
    expansion above (as jax.scipy.stats.poisson.entropy)."""
    mu, loc = promote_inexact(fnp.asarray(mu), fnp.asarray(loc))
    shape = np.broadcast_shapes(mu.shape, loc.shape)
    flat = fnp.ravel(mu)
    result = fnp.where(flat == 0, fnp.zeros_like(flat),
                       fnp.where(flat < 10, _entropy_sum(flat, 35, lambda m: m + 20),
                                 fnp.where(flat < 100,
                                           _entropy_sum(flat, 250,
                                                        lambda m: m + 10 * fnp.sqrt(m) + 20),
                                           _entropy_large(flat))))
    return fnp.broadcast_to(fnp.reshape(result, mu.shape), shape)


def _entropy_sum(mu, max_k, upper):
    k = fnp.arange(max_k, dtype=mu.dtype)[:, None]
    probs = pmf(k, mu, 0)
    mask = k < fnp.ceil(upper(mu)).astype(k.dtype)[None, :]
    return fnp.sum(special.entr(fnp.where(mask, probs, 0.0)), axis=0)


def _entropy_large(mu):
    return 0.5 * fnp.log(2 * np.pi * np.e * mu) - 1.0 / (12 * mu)
