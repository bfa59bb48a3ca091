"""The multivariate normal distribution (as jax.scipy.stats.multivariate_normal):
a Cholesky factor and one triangular solve."""
from __future__ import annotations

from fx.errors import ShapeError
from primitives.numpy._util import broadcast_to
from primitives.scipy.stats._common import P, fnp, np, promote_inexact

__all__ = ["logpdf", "pdf"]

_LOG_2PI = float(np.log(2 * np.pi))  # a Python float: weak, as jnp.log(2 * np.pi) in JAX


def logpdf(x, mean, cov, allow_singular=None):
    """log N(x; mean, cov); ``cov`` a scalar (isotropic), or an (n, n) matrix
    (batched: (..., n, n)); ``mean`` of shape (..., n), or a scalar for 1-d.

    Raises:
      ShapeError: ``cov`` is not (..., n, n) for mean's n.
      NotImplementedError: ``allow_singular`` (as in JAX).
    """
    if allow_singular is not None:
        raise NotImplementedError("allow_singular argument of multivariate_normal.logpdf "
                                  "(as in JAX).")
    x, mean, cov = (fnp.asarray(a) for a in promote_inexact(x, mean, cov))
    if not mean.shape:
        return (-1 / 2 * fnp.square(x - mean) / cov
                - 1 / 2 * (_LOG_2PI + fnp.log(cov)))
    n = mean.shape[-1]
    y = x - mean
    if not np.shape(cov):
        return (-1 / 2 * fnp.einsum("...i,...i->...", y, y) / cov
                - n / 2 * (_LOG_2PI + fnp.log(cov)))
    if cov.ndim < 2 or cov.shape[-2:] != (n, n):
        raise ShapeError(f"multivariate_normal.logpdf got incompatible shapes: mean "
                         f"{mean.shape} needs cov of shape (..., {n}, {n}), got {cov.shape}.")
    L = P.cholesky(cov)
    batch = np.broadcast_shapes(y.shape[:-1], L.shape[:-2])
    z = P.triangular_solve(broadcast_to(L, batch + (n, n)),
                           broadcast_to(y, batch + (n,))[..., None],
                           left_side=True, lower=True)[..., 0]
    return (-1 / 2 * fnp.einsum("...i,...i->...", z, z) - n / 2 * _LOG_2PI
            - fnp.log(fnp.diagonal(L, axis1=-1, axis2=-2)).sum(-1))


def pdf(x, mean, cov):
    """The multivariate normal density."""
    return fnp.exp(logpdf(x, mean, cov))
