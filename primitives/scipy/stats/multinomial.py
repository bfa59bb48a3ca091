"""The multinomial distribution (as jax.scipy.stats.multinomial)."""
from __future__ import annotations

from fx.dtypes import kind
from fx.errors import FxTypeError
from primitives.scipy.stats._common import fnp, inf_like, promote_args_inexact, special

__all__ = ["logpmf", "pmf"]


def logpmf(x, n, p):
    """log P(x; n, p) for integer counts ``x`` (last axis) summing to ``n``; -inf otherwise.

    Raises:
      FxTypeError (a TypeError; JAX raises ValueError): ``x`` or ``n`` not integers.
    """
    p, = promote_args_inexact("multinomial.logpmf", p)
    x, n = fnp.asarray(x), fnp.asarray(n)
    if kind(fnp.result_type(x, n)) not in "iu":
        raise FxTypeError(f"multinomial.logpmf: x and n must be of integer type; got "
                          f"x.dtype={x.dtype}, n.dtype={n.dtype}.")
    x, n = x.astype(p.dtype), n.astype(p.dtype)
    logprobs = special.gammaln(n + 1) + fnp.sum(special.xlogy(x, p) - special.gammaln(x + 1),
                                                axis=-1)
    return fnp.where(fnp.equal(fnp.sum(x), n), logprobs, inf_like(logprobs, -1))


def pmf(x, n, p):
    """The probability mass function."""
    return fnp.exp(logpmf(x, n, p))
