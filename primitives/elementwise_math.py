"""Transcendental elementwise primitives (as jax.lax): exp/log, trigonometric,
hyperbolic, error functions, roots, ``pow``, and rounding/classification of floats
(floor, ceil, round, is_finite, nextafter).

One block per primitive, its rules right below it, built with the helpers of
``primitives.elementwise`` (``defjvp_unop(prim, derivative)``). Ops that take
lax's ``accuracy`` keyword accept it too; it is a param only when given.

Example::

    >>> import primitives as P
    >>> print(fx.make_graph(lambda x: P.exp(P.sin(x)))(np.ones(3, np.float32)))
    { lambda ; a:f32[3]. let
        b:f32[3] = sin a
        c:f32[3] = exp b
      in (c,) }
"""
from __future__ import annotations

import math

import numpy as np
from jax import lax

from fx.ad import defjvp, defjvp_zero, zeros
from fx.batching import defbroadcasting
from fx.dtypes import kind
from fx.core import Primitive, get_aval
from fx.ir import ShapedArray
from primitives._rules import ANY, FLOAT, NUMBER, coerce_lowering, nary_aval
from primitives.elementwise import (REAL, add, bind_accuracy, check_kind, convert_element_type,
                                    defjvp_unop, div, eq, integer_pow, mul, naryop, ne, neg,
                                    reciprocal, select_n, square, sub, unop)

__all__ = [
    "pow", "exp", "exp2", "log", "log2", "log1p", "expm1",
    "one_minus_square", "sin", "cos", "tan", "tanh", "asin",
    "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh", "logistic", "erf",
    "erfc", "erf_inv", "sqrt", "rsqrt", "cbrt", "floor", "ceil", "round", "is_finite",
    "nextafter",
    "pow_p", "exp_p", "exp2_p", "log_p", "log2_p", "log1p_p", "expm1_p",
    "one_minus_square_p", "sin_p", "cos_p", "tan_p",
    "tanh_p", "asin_p", "acos_p", "atan_p", "atan2_p", "sinh_p", "cosh_p", "asinh_p",
    "acosh_p", "atanh_p", "logistic_p", "erf_p", "erfc_p", "erf_inv_p", "sqrt_p", "rsqrt_p",
    "cbrt_p", "floor_p", "ceil_p", "round_p", "is_finite_p", "nextafter_p"]


def _unary(name, kinds, lax_fn, derivative):
    """A unary op with its jvp ``t * derivative(ans, x)`` and the elementwise batch rule."""
    p = unop(name, kinds, lax_fn)
    defjvp_unop(p, lambda ans, x, **params: derivative(ans, x))
    defbroadcasting(p)
    return p


# --- exp ---
exp_p = _unary("exp", FLOAT, lax.exp, lambda ans, x: ans)


def exp(x, accuracy=None):
    """Elementwise e ** x (lax.exp)."""
    return bind_accuracy(exp_p, x, accuracy)


# --- exp2 ---
exp2_p = _unary("exp2", FLOAT, lax.exp2, lambda ans, x: mul(math.log(2.0), ans))


def exp2(x, accuracy=None):
    """Elementwise 2 ** x (lax.exp2)."""
    return bind_accuracy(exp2_p, x, accuracy)


# --- log ---
log_p = _unary("log", FLOAT, lax.log, lambda ans, x: reciprocal(x))


def log(x, accuracy=None):
    """Elementwise natural logarithm (lax.log)."""
    return bind_accuracy(log_p, x, accuracy)


# --- log2 ---
def _log2_lowering(x, accuracy=None):
    """jax >= 0.11's ``lax.log2``; before it, log(x) / ln 2 with each part of a
    complex log scaled (jax 0.11's lowering)."""
    if hasattr(lax, "log2"):
        return lax.log2(x, accuracy=accuracy)
    r = lax.log(x, accuracy=accuracy)
    inv_ln2 = 1.4426950408889634
    if np.issubdtype(r.dtype, np.complexfloating):
        return lax.complex(lax.real(r) * inv_ln2, lax.imag(r) * inv_ln2)
    return r * inv_ln2


log2_p = _unary("log2", FLOAT, _log2_lowering,
                lambda ans, x: reciprocal(mul(x, math.log(2.0))))


def log2(x, accuracy=None):
    """Elementwise base-2 logarithm (lax.log2, jax >= 0.11; ours on every jax).

    References:
        jax 0.11's ``lax.log2`` (the jvp ``t / (x ln 2)``).
    """
    return bind_accuracy(log2_p, x, accuracy)


# --- log1p ---
log1p_p = _unary("log1p", FLOAT, lax.log1p, lambda ans, x: reciprocal(add(x, 1.0)))


def log1p(x, accuracy=None):
    """Elementwise log(1 + x), accurate near 0 (lax.log1p)."""
    return bind_accuracy(log1p_p, x, accuracy)


# --- expm1 ---
expm1_p = _unary("expm1", FLOAT, lax.expm1, lambda ans, x: add(ans, 1.0))


def expm1(x, accuracy=None):
    """Elementwise e ** x - 1, accurate near 0 (lax.expm1)."""
    return bind_accuracy(expm1_p, x, accuracy)


# --- sin ---
sin_p = _unary("sin", FLOAT, lax.sin, lambda ans, x: cos(x))


def sin(x, accuracy=None):
    """Elementwise sine (lax.sin)."""
    return bind_accuracy(sin_p, x, accuracy)


# --- cos ---
cos_p = _unary("cos", FLOAT, lax.cos, lambda ans, x: neg(sin(x)))


def cos(x, accuracy=None):
    """Elementwise cosine (lax.cos)."""
    return bind_accuracy(cos_p, x, accuracy)


# --- tan ---
tan_p = _unary("tan", FLOAT, lax.tan, lambda ans, x: add(1.0, square(ans)))


def tan(x, accuracy=None):
    """Elementwise tangent (lax.tan)."""
    return bind_accuracy(tan_p, x, accuracy)


# --- tanh ---
tanh_p = _unary("tanh", FLOAT, lax.tanh, lambda ans, x: sub(1.0, square(ans)))


def tanh(x, accuracy=None):
    """Elementwise hyperbolic tangent (lax.tanh)."""
    return bind_accuracy(tanh_p, x, accuracy)


# --- one_minus_square ---
def _one_minus_square_lowering(x):
    """(1 + x) * (1 - x): accurate near |x| = 1, where 1 - x**2 loses bits."""
    if hasattr(lax, "one_minus_square"):
        return lax.one_minus_square(x)
    return lax.mul(lax.add(lax.full_like(x, 1), x), lax.sub(lax.full_like(x, 1), x))


one_minus_square_p = _unary("one_minus_square", NUMBER, _one_minus_square_lowering,
                            lambda ans, x: mul(-2, x))


def one_minus_square(x):
    """Elementwise 1 - x**2, computed as (1 + x) * (1 - x) (lax.one_minus_square,
    jax >= 0.11; ours on every jax). Its own jvp ``-2 x t`` keeps tiny x exact
    (the product rule of (1 + x)(1 - x) cancels to 0 there).

    References:
        jax 0.11's ``lax.one_minus_square`` (the derivatives of asin / acos / atanh).
    """
    return one_minus_square_p.bind(x)


# --- asin ---
asin_p = _unary("asin", FLOAT, lax.asin, lambda ans, x: rsqrt(one_minus_square(x)))


def asin(x):
    """Elementwise arcsine (lax.asin)."""
    return asin_p.bind(x)


# --- acos ---
acos_p = _unary("acos", FLOAT, lax.acos, lambda ans, x: neg(rsqrt(one_minus_square(x))))


def acos(x):
    """Elementwise arccosine (lax.acos)."""
    return acos_p.bind(x)


# --- atan ---
atan_p = _unary("atan", FLOAT, lax.atan, lambda ans, x: reciprocal(add(1.0, square(x))))


def atan(x):
    """Elementwise arctangent (lax.atan)."""
    return atan_p.bind(x)


# --- atan2 ---
atan2_p = naryop("atan2", REAL, lax.atan2)


def _atan2_denominator(x, y):
    return add(square(x), square(y))


defjvp(atan2_p, lambda t, ans, x, y: mul(t, div(y, _atan2_denominator(x, y))),
       lambda t, ans, x, y: mul(t, div(neg(x), _atan2_denominator(x, y))))
defbroadcasting(atan2_p)


def atan2(x, y):
    """Elementwise arctangent of x / y using the signs of both (lax.atan2)."""
    return atan2_p.bind(x, y)


# --- sinh ---
sinh_p = _unary("sinh", FLOAT, lax.sinh, lambda ans, x: cosh(x))


def sinh(x):
    """Elementwise hyperbolic sine (lax.sinh)."""
    return sinh_p.bind(x)


# --- cosh ---
cosh_p = _unary("cosh", FLOAT, lax.cosh, lambda ans, x: sinh(x))


def cosh(x):
    """Elementwise hyperbolic cosine (lax.cosh)."""
    return cosh_p.bind(x)


# --- asinh ---
asinh_p = _unary("asinh", FLOAT, lax.asinh, lambda ans, x: rsqrt(add(square(x), 1.0)))


def asinh(x):
    """Elementwise inverse hyperbolic sine (lax.asinh)."""
    return asinh_p.bind(x)


# --- acosh ---
acosh_p = _unary("acosh", FLOAT, lax.acosh,
                 lambda ans, x: mul(rsqrt(sub(x, 1.0)), rsqrt(add(x, 1.0))))


def acosh(x):
    """Elementwise inverse hyperbolic cosine (lax.acosh).

    Its derivative is 1 / (sqrt(x - 1) sqrt(x + 1)), the principal branch's (as
    jax >= 0.11). jax <= 0.10 used 1 / sqrt(x**2 - 1), which has the wrong sign
    for complex x with a negative real part: we deviate from jax 0.10 there.
    """
    return acosh_p.bind(x)


# --- atanh ---
atanh_p = _unary("atanh", FLOAT, lax.atanh, lambda ans, x: reciprocal(one_minus_square(x)))


def atanh(x):
    """Elementwise inverse hyperbolic tangent (lax.atanh)."""
    return atanh_p.bind(x)


# --- logistic ---
logistic_p = _unary("logistic", FLOAT, lax.logistic, lambda ans, x: mul(ans, sub(1.0, ans)))


def logistic(x, accuracy=None):
    """Elementwise sigmoid 1 / (1 + e ** -x) (lax.logistic)."""
    return bind_accuracy(logistic_p, x, accuracy)


# --- erf ---
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
erf_p = _unary("erf", REAL, lax.erf,
               lambda ans, x: mul(_TWO_OVER_SQRT_PI, exp(neg(square(x)))))


def erf(x):
    """Elementwise error function (lax.erf)."""
    return erf_p.bind(x)


# --- erfc ---
erfc_p = _unary("erfc", REAL, lax.erfc,
                lambda ans, x: mul(-_TWO_OVER_SQRT_PI, exp(neg(square(x)))))


def erfc(x):
    """Elementwise complementary error function 1 - erf(x) (lax.erfc)."""
    return erfc_p.bind(x)


# --- erf_inv ---
erf_inv_p = _unary("erf_inv", REAL, lax.erf_inv,
                   lambda ans, x: mul(1.0 / _TWO_OVER_SQRT_PI, exp(square(ans))))


def erf_inv(x):
    """Elementwise inverse error function (lax.erf_inv)."""
    return erf_inv_p.bind(x)


# --- sqrt ---
# d sqrt(x) = 0.5 / sqrt(x): inf at 0, as JAX (so grad of a norm at 0 is NaN there too)
sqrt_p = _unary("sqrt", FLOAT, lax.sqrt, lambda ans, x: div(0.5, ans))


def sqrt(x, accuracy=None):
    """Elementwise square root (lax.sqrt). Its derivative at 0 is inf, as JAX's,
    so ``sqrt(sum(x**2))`` (a norm) has a NaN gradient at x = 0, as in JAX."""
    return bind_accuracy(sqrt_p, x, accuracy)


# --- rsqrt ---
rsqrt_p = _unary("rsqrt", FLOAT, lax.rsqrt, lambda ans, x: mul(-0.5, div(ans, x)))


def rsqrt(x, accuracy=None):
    """Elementwise 1 / sqrt(x) (lax.rsqrt)."""
    return bind_accuracy(rsqrt_p, x, accuracy)


# --- cbrt ---
cbrt_p = _unary("cbrt", REAL, lax.cbrt, lambda ans, x: mul(1.0 / 3.0, integer_pow(ans, -2)))


def cbrt(x, accuracy=None):
    """Elementwise cube root (lax.cbrt)."""
    return bind_accuracy(cbrt_p, x, accuracy)


# --- pow ---
pow_p = Primitive("pow")


@pow_p.def_abstract_eval
def _pow_aval(x, y):
    check_kind("pow", (x,), FLOAT)
    check_kind("pow", (y,), NUMBER)
    if kind(y.dtype) in "fc":
        return nary_aval("pow", ANY, x, y)  # inexact exponent: dtypes must match
    return nary_aval("pow", ANY, x, y.update(dtype=x.dtype))  # integer exponent: any int dtype


@pow_p.def_lowering
def _pow_lowering(x, y):
    if _is_int(y):
        return lax.pow(x, y)
    return coerce_lowering(lax.pow, x, y)


def _is_int(y) -> bool:
    return kind(get_aval(y).dtype) in "iu"


def _replace_zero(x):
    """x with its zeros replaced by ones (log stays finite where the factor is 0 anyway)."""
    return add(x, convert_element_type(eq(x, 0.0), get_aval(x).dtype))


def _pow_jvp_x(t, ans, x, y):
    if _is_int(y):  # y * x ** (y - 1), and 0 where y == 0 (even at x == 0)
        y = convert_element_type(y, get_aval(ans).dtype)
        jac = mul(y, pow(x, sub(y, 1.0)))
        jac = select_n(ne(y, 0.0), zeros(get_aval(jac)), jac)
    else:
        jac = mul(y, pow(x, sub(y, 1.0)))
    return mul(t, jac)


defjvp(pow_p, _pow_jvp_x, lambda t, ans, x, y: mul(t, mul(log(_replace_zero(x)), ans)))
defbroadcasting(pow_p)


def pow(x, y):
    """Elementwise x ** y (lax.pow): x floating point; y of x's dtype or any integer dtype."""
    return pow_p.bind(x, y)


# ============================ rounding and classification ======================
# --- floor ---
floor_p = unop("floor", REAL, lax.floor)
defjvp_zero(floor_p)
defbroadcasting(floor_p)


def floor(x):
    """Elementwise floor (lax.floor)."""
    return floor_p.bind(x)


# --- ceil ---
ceil_p = unop("ceil", REAL, lax.ceil)
defjvp_zero(ceil_p)
defbroadcasting(ceil_p)


def ceil(x):
    """Elementwise ceiling (lax.ceil)."""
    return ceil_p.bind(x)


# --- round ---
round_p = unop("round", REAL, lambda x, *, rounding_method: lax.round(x, rounding_method))
defjvp_zero(round_p)
defbroadcasting(round_p)


def round(x, rounding_method=lax.RoundingMethod.AWAY_FROM_ZERO):
    """Elementwise rounding to an integral value (lax.round).

    Args:
      x: a floating-point array.
      rounding_method: ``lax.RoundingMethod.AWAY_FROM_ZERO`` (0, default) or
        ``TO_NEAREST_EVEN`` (1).
    """
    return round_p.bind(x, rounding_method=lax.RoundingMethod(int(rounding_method)))


# --- is_finite ---
is_finite_p = Primitive("is_finite")


@is_finite_p.def_abstract_eval
def _is_finite_aval(x):
    check_kind("is_finite", (x,), REAL)
    return ShapedArray(x.shape, np.dtype(bool), False)


is_finite_p.def_lowering(lax.is_finite)
defjvp_zero(is_finite_p)
defbroadcasting(is_finite_p)


def is_finite(x):
    """Elementwise: True where x is neither inf nor nan (lax.is_finite)."""
    return is_finite_p.bind(x)


# --- nextafter ---
nextafter_p = naryop("nextafter", REAL, lax.nextafter)
defbroadcasting(nextafter_p)  # no jvp, as in JAX


def nextafter(x1, x2):
    """The next representable value after x1 in the direction of x2 (lax.nextafter)."""
    return nextafter_p.bind(x1, x2)
