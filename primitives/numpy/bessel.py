"""The modified Bessel functions I0 and I1 of real arguments, with derivatives of
every order (``jnp.i0``, ``jax.scipy.special.i0`` / ``i1``).

``I0(x) = exp(|x|) i0e(x)`` and ``I1(x) = exp(|x|) i1e(x)``. Their derivatives
are rules of their own: ``I0' = I1`` and ``I1' = I0 - I1 / x``, which is 0 / 0 at
``x = 0``; for ``|x| <= sqrt(eps)`` the k-th derivative of I1 is the leading term
of its Maclaurin series (the next term is below eps there), itself a function
whose derivative is the (k+1)-th. So ``grad(grad(i0))(0.)`` is ``I0''(0) = 1/2``
(jax 0.11's values; jax <= 0.10's ``jnp.i0`` gives 0 there, a plain error we do
not copy).

References:
    Abramowitz & Stegun 9.6.10 (the series ``I1(x) = sum_j (x/2)^(2j+1) / (j! (j+1)!)``),
    9.6.27 (``I0' = I1``, ``I1' = I0 - I1 / x``); jax 0.11's ``jnp.i0``.
"""
from __future__ import annotations

import math

import numpy as np

from fx.core import get_aval
from primitives.custom_derivatives import custom_jvp
from primitives.numpy import math as _m
from primitives.numpy.creation import full_like
from primitives.special import bessel_i0e, bessel_i1e

__all__ = ["i0", "i1"]


@custom_jvp
def i0(x):
    """I0 of a float array (no promotion: the callers promote)."""
    abs_x = _m.abs(x)
    return _m.multiply(_m.exp(abs_x), bessel_i0e(abs_x))


@i0.defjvp
def _i0_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return i0(x), _m.multiply(t, i1(x))


@custom_jvp
def i1(x):
    """I1 of a float array (no promotion: the callers promote)."""
    return _m.multiply(_m.exp(_m.abs(x)), bessel_i1e(x))


@i1.defjvp
def _i1_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    eps = np.finfo(get_aval(x).dtype).eps
    near = _m.less_equal(_m.abs(x), math.sqrt(eps))
    x_far = _m.where(near, 1.0, x)        # no 0 / 0 in the branch not taken (nor its grads)
    far = _m.subtract(i0(x_far), _m.divide(i1(x_far), x_far))
    return i1(x), _m.multiply(t, _m.where(near, _i1_near_zero(1)(x), far))


_NEAR_ZERO: dict = {}


def _i1_near_zero(k: int):
    """The k-th derivative of I1 for ``|x| <= sqrt(eps)``: the lowest term of the
    series that survives k derivatives, ``c x**(n - k)`` with ``n = 2 (k // 2) + 1``
    (a constant for odd k, linear for even k); its derivative is the (k+1)-th."""
    if k not in _NEAR_ZERO:
        j = k // 2
        n = 2 * j + 1
        coef = (math.factorial(n) / (2 ** n * math.factorial(j) * math.factorial(j + 1))
                / math.factorial(n - k))

        @custom_jvp
        def term(x):
            return _m.multiply(coef, x) if n - k == 1 else full_like(x, coef)

        @term.defjvp
        def _term_jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            return term(x), _m.multiply(t, _i1_near_zero(k + 1)(x))

        _NEAR_ZERO[k] = term
    return _NEAR_ZERO[k]
