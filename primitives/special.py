"""Special-function primitives (as jax.lax): log-gamma and its derivatives,
incomplete gamma and beta functions, exponentially scaled Bessel functions
and the Hurwitz zeta function.

One block per primitive, its rules right below it: abstract eval and lowering
(``unop`` / ``naryop`` of ``primitives.elementwise``: real floating point,
equal dtypes, scalars broadcast), the jvp as JAX's (jax/_src/lax/special.py)
and the elementwise batch rule. ``erf``, ``erfc`` and ``erf_inv`` live in
``elementwise_math``.

Example::

    >>> import primitives as P
    >>> P.igamma(2.0, np.array([0.5, 1.0], np.float32))   # regularized P(a, x)

References:
    jax/_src/lax/special.py (the rules); Abramowitz & Stegun ch. 6 (gamma and
    incomplete gamma/beta functions), ch. 9 (Bessel functions).
"""
from __future__ import annotations

import numpy as np
from jax import lax

from fx.ad import defjvp, zeros
from fx.batching import defbroadcasting
from fx.core import get_aval
from primitives.elementwise import (REAL, abs, add, gt, mul, naryop, neg, reciprocal, select_n,
                                    sign, sub, unop)
from primitives.elementwise_math import exp, log, log1p

__all__ = [
    "lgamma", "digamma", "polygamma", "igamma", "igammac", "igamma_grad_a",
    "random_gamma_grad", "betainc", "bessel_i0e", "bessel_i1e", "zeta",
    "lgamma_p", "digamma_p", "polygamma_p", "igamma_p", "igammac_p", "igamma_grad_a_p",
    "random_gamma_grad_p", "regularized_incomplete_beta_p", "bessel_i0e_p", "bessel_i1e_p",
    "zeta_p"]


def _not_differentiable(op: str, operand: str):
    """A jvp rule for an operand JAX does not differentiate: raises as JAX does."""
    def rule(t, ans, *args, **params):
        raise ValueError(f"{op}: the gradient with respect to {operand} is not supported "
                         f"(as in JAX). Fix: wrap {operand} in stop_gradient, or "
                         f"differentiate with respect to the other operands only.")
    return rule


def _elementwise(p, *jvps):
    if jvps:
        defjvp(p, *jvps)
    defbroadcasting(p)
    return p


# --- lgamma ---
lgamma_p = _elementwise(unop("lgamma", REAL, lax.lgamma),
                        lambda t, ans, x: mul(t, digamma(x)))


def lgamma(x):
    """Elementwise log of the absolute value of the gamma function (lax.lgamma)."""
    return lgamma_p.bind(x)


# --- digamma ---
digamma_p = _elementwise(unop("digamma", REAL, lax.digamma),
                         lambda t, ans, x: mul(t, polygamma(1.0, x)))


def digamma(x):
    """Elementwise digamma psi(x), the derivative of lgamma (lax.digamma)."""
    return digamma_p.bind(x)


# --- polygamma ---
polygamma_p = _elementwise(naryop("polygamma", REAL, lax.polygamma),
                           _not_differentiable("polygamma", "m"),
                           lambda t, ans, m, x: mul(t, polygamma(add(m, 1.0), x)))


def polygamma(m, x):
    """Elementwise polygamma psi^(m)(x), the m-th derivative of digamma
    (lax.polygamma; ``m`` a float array of whole numbers)."""
    return polygamma_p.bind(m, x)


# --- igamma_grad_a ---
igamma_grad_a_p = _elementwise(naryop("igamma_grad_a", REAL, lax.igamma_grad_a))


def igamma_grad_a(a, x):
    """Elementwise derivative of the regularized incomplete gamma P(a, x) in ``a``
    (lax.igamma_grad_a; not itself differentiable, as in JAX)."""
    return igamma_grad_a_p.bind(a, x)


# --- igamma ---
def _igamma_gradx(t, ans, a, x):
    return mul(t, exp(sub(sub(mul(sub(a, 1.0), log(x)), x), lgamma(a))))


igamma_p = _elementwise(naryop("igamma", REAL, lax.igamma),
                        lambda t, ans, a, x: mul(t, igamma_grad_a(a, x)), _igamma_gradx)


def igamma(a, x):
    """Elementwise regularized lower incomplete gamma function P(a, x) (lax.igamma)."""
    return igamma_p.bind(a, x)


# --- igammac ---
igammac_p = _elementwise(naryop("igammac", REAL, lax.igammac),
                         lambda t, ans, a, x: neg(mul(t, igamma_grad_a(a, x))),
                         lambda t, ans, a, x: neg(_igamma_gradx(t, ans, a, x)))


def igammac(a, x):
    """Elementwise regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)
    (lax.igammac)."""
    return igammac_p.bind(a, x)


# --- random_gamma_grad ---
random_gamma_grad_p = _elementwise(naryop("random_gamma_grad", REAL, lax.random_gamma_grad))


def random_gamma_grad(a, x):
    """Elementwise derivative d x / d a of a sample ``x`` of Gamma(a, 1) at fixed
    uniform noise (the implicit reparameterization; lax.random_gamma_grad)."""
    return random_gamma_grad_p.bind(a, x)


# --- regularized_incomplete_beta (betainc) ---
def _betainc_gradx(t, ans, a, b, x):
    lbeta = sub(add(lgamma(a), lgamma(b)), lgamma(add(a, b)))
    partial_x = exp(sub(add(mul(sub(b, 1.0), log1p(neg(x))), mul(sub(a, 1.0), log(x))), lbeta))
    return mul(partial_x, t)


regularized_incomplete_beta_p = _elementwise(
    naryop("regularized_incomplete_beta", REAL, lax.betainc),
    _not_differentiable("betainc", "a"), _not_differentiable("betainc", "b"), _betainc_gradx)


def betainc(a, b, x):
    """Elementwise regularized incomplete beta function I_x(a, b) (lax.betainc;
    differentiable in ``x`` only, as in JAX)."""
    return regularized_incomplete_beta_p.bind(a, b, x)


# --- bessel_i0e ---
bessel_i0e_p = _elementwise(unop("bessel_i0e", REAL, lax.bessel_i0e),
                            lambda t, ans, x: mul(t, sub(bessel_i1e(x), mul(sign(x), ans))))


def bessel_i0e(x):
    """Elementwise exponentially scaled modified Bessel function of order 0,
    exp(-|x|) I0(x) (lax.bessel_i0e)."""
    return bessel_i0e_p.bind(x)


# --- bessel_i1e ---
def _bessel_i1e_jvp(t, ans, x):
    aval = get_aval(x)
    eps = float(np.finfo(aval.dtype).eps)
    not_tiny = gt(abs(x), eps)
    safe_x = select_n(not_tiny, add(zeros(aval), eps), x)
    dy_dx = sub(bessel_i0e(safe_x), mul(ans, add(sign(safe_x), reciprocal(safe_x))))
    return mul(t, select_n(not_tiny, add(zeros(aval), 0.5), dy_dx))


bessel_i1e_p = _elementwise(unop("bessel_i1e", REAL, lax.bessel_i1e), _bessel_i1e_jvp)


def bessel_i1e(x):
    """Elementwise exponentially scaled modified Bessel function of order 1,
    exp(-|x|) I1(x) (lax.bessel_i1e)."""
    return bessel_i1e_p.bind(x)


# --- zeta ---
zeta_p = _elementwise(naryop("zeta", REAL, lax.zeta))  # no jvp in lax (jax.scipy's has one)


def zeta(x, q):
    """Elementwise Hurwitz zeta function sum_n (n + q) ** -x (lax.zeta; not
    differentiable at the lax level, as in JAX: ``scipy.special.zeta`` is)."""
    return zeta_p.bind(x, q)
