"""The Dirichlet distribution (as jax.scipy.stats.dirichlet): ``x`` of shape
(K, ...) or (K - 1, ...) (the last coordinate then being 1 - sum)."""
from __future__ import annotations

from fx.errors import ShapeError
from primitives.scipy.stats._common import const, fnp, inf_like, promote_inexact, special

__all__ = ["logpdf", "pdf"]


def _is_simplex(x):
    return fnp.all(x > 0, axis=0) & (fnp.abs(fnp.sum(x, axis=0) - 1) < 1e-6)


def logpdf(x, alpha):
    """log Dir(x; alpha); -inf off the simplex.

    Raises:
      ShapeError: ``alpha`` not 1-d, or ``x.shape[0]`` neither K nor K - 1.
    """
    x, alpha = (fnp.asarray(a) for a in promote_inexact(x, alpha))
    if alpha.ndim != 1:
        raise ShapeError(f"dirichlet.logpdf: `alpha` must be one-dimensional; got "
                         f"alpha.shape={alpha.shape}")
    if x.shape[0] not in (alpha.shape[0], alpha.shape[0] - 1):
        raise ShapeError(f"dirichlet.logpdf: `x` must have either the same number of entries "
                         f"as `alpha` or one entry fewer; got x.shape={x.shape}, "
                         f"alpha.shape={alpha.shape}")
    one = const(x, 1)
    if x.shape[0] != alpha.shape[0]:
        x = fnp.concatenate([x, one - x.sum(0, keepdims=True)], axis=0)
    normalize = fnp.sum(special.gammaln(alpha)) - special.gammaln(fnp.sum(alpha))
    if x.ndim > 1:
        alpha = fnp.reshape(alpha, alpha.shape + (1,) * (x.ndim - 1))
    log_probs = fnp.sum(special.xlogy(alpha - one, x), axis=0) - normalize
    return fnp.where(_is_simplex(x), log_probs, inf_like(log_probs, -1))


def pdf(x, alpha):
    """The Dirichlet density."""
    return fnp.exp(logpdf(x, alpha))
