"""The von Mises distribution (as jax.scipy.stats.vonmises)."""
from __future__ import annotations

from primitives.scipy.stats._common import P, fnp, nan_like, np, promote_args_inexact

__all__ = ["logpdf", "pdf"]


def logpdf(x, kappa):
    """kappa (cos x - 1) - log(2 pi i0e(kappa)); nan for kappa <= 0."""
    x, kappa = promote_args_inexact("vonmises.logpdf", x, kappa)
    val = kappa * (fnp.cos(x) - 1) - fnp.log(2 * np.pi * P.bessel_i0e(kappa))
    return fnp.where(kappa > 0, val, nan_like(val))


def pdf(x, kappa):
    """The von Mises density."""
    return fnp.exp(logpdf(x, kappa))
