"""More elementwise functions (as jax.numpy): sign copying, NaN-ignoring
max/min, float decomposition (``frexp``/``ldexp``/``modf``), ``gcd``/``lcm``,
shifts, ``logaddexp2``, ``float_power``, ``nextafter``.

Example::

    >>> import primitives.numpy as fnp
    >>> fnp.copysign(2.0, -1.0)
    Array(-2., dtype=float32, weak_type=True)
"""
from __future__ import annotations

import numpy as np
from jax import lax

import primitives as P
from fx.ad import Zero, zero_tangent
from fx.core import Primitive, get_aval
from fx.dtypes import kind
from fx.ir import ShapedArray
from primitives._rules import check_kind
from primitives.custom_derivatives import custom_jvp
from primitives.numpy import math as _m, reductions as _red
from primitives.numpy._promote import promote
from primitives.numpy._util import broadcast_arrays
from primitives.numpy.dtypes import finfo
from primitives.numpy.creation import asarray, full_like, zeros_like

__all__ = ["copysign", "fmax", "fmin", "ldexp", "frexp", "gcd", "lcm", "logaddexp2",
           "float_power", "modf", "left_shift", "right_shift", "bitwise_left_shift",
           "bitwise_right_shift", "nextafter"]

_INT_OF_BITS = {16: np.int16, 32: np.int32, 64: np.int64}


def _dtype(x):
    return get_aval(x).dtype


def copysign(x1, x2, /):
    """As jnp.copysign: ``|x1|`` with the sign of ``x2``."""
    x1, x2 = _m.promote_inexact(x1, x2)
    if kind(_dtype(asarray(x1))) == "c":
        raise TypeError("copysign does not support complex-valued inputs")
    mag = _m.abs(x1)
    return _m.where(_m.signbit(x2), _m.negative(mag), mag)


def fmax(x1, x2):
    """As jnp.fmax: elementwise maximum ignoring NaNs."""
    return _m.where(_m.logical_or(_m.greater(x1, x2), _m.isnan(x2)), x1, x2)


def fmin(x1, x2):
    """As jnp.fmin: elementwise minimum ignoring NaNs."""
    return _m.where(_m.logical_or(_m.less(x1, x2), _m.isnan(x2)), x1, x2)


# --- frexp ---
# One primitive, lowered as jax.numpy's _frexp is: XLA compiles the whole bit
# manipulation as one program, so subnormals (which XLA:CPU flushes in some ops and
# not in others) come out as JAX's, eagerly as under jit.
frexp_p = Primitive("frexp", multiple_results=True)


@frexp_p.def_abstract_eval
def _frexp_aval(x):
    check_kind("frexp", [x], "f")
    return [x, ShapedArray(x.shape, np.dtype(np.int32))]


@frexp_p.def_lowering
def _frexp_lowering(x):
    dtype = x.dtype
    info = finfo(dtype)
    int_type = np.dtype(_INT_OF_BITS[info.bits])
    mask = (1 << info.nexp) - 1
    bias = 1 - info.minexp
    tiny = lax.abs(x) < np.asarray(info.tiny, dtype)
    x1 = lax.select(tiny, x * np.asarray(1 << info.nmant, dtype), x)
    x2 = lax.select(tiny, lax.full_like(x, -info.nmant, int_type),
                    lax.full_like(x, 0, int_type))
    x1 = lax.bitcast_convert_type(x1, int_type)
    x2 = x2 + ((lax.shift_right_logical(x1, np.asarray(info.nmant, int_type))
                & np.asarray(mask, int_type)) - np.asarray(bias - 1, int_type))
    x1 = (x1 & np.asarray(~(mask << info.nmant), int_type)) | np.asarray(
        (bias - 1) << info.nmant, int_type)
    x1 = lax.bitcast_convert_type(x1, dtype)
    inf = np.asarray(np.inf, dtype)
    special = (lax.abs(x) == inf) | (x != x) | (x == np.asarray(0, dtype))
    x2 = lax.select(special, lax.full_like(x2, 0), x2)
    return [lax.select(special, x, x1), lax.convert_element_type(x2, np.int32)]


@frexp_p.def_jvp
def _frexp_jvp(primals, tangents):
    x, = primals
    x_dot, = tangents
    mant, exp = frexp_p.bind(x)
    if isinstance(x_dot, Zero):
        return [mant, exp], [zero_tangent(mant), zero_tangent(exp)]
    scale = _m.exp2(_m.negative(P.convert_element_type(exp, _dtype(x))))
    return [mant, exp], [_m.multiply(x_dot, scale), zero_tangent(exp)]


frexp_p.def_batch(lambda args, bdims: (frexp_p.bind(*args), [bdims[0], bdims[0]]))


def frexp(x, /):
    """Split floats into mantissa and exponent, ``x = m * 2**e`` (as jnp.frexp).

    Args:
      x: a real array (integers are promoted to the default float).

    Returns:
      ``(mantissa, exponent)``: ``0.5 <= |m| < 1`` of ``x``'s dtype and int32 ``e``;
      zeros, infinities and NaNs give ``(x, 0)``. Subnormals as JAX's (on XLA:CPU,
      float32/float64 subnormals give ``(+-0.5, minexp - nmant)``, bfloat16 ones ``(x, 0)``).

    References:
      jax.numpy.frexp; numpy.frexp.
    """
    x, = _m.promote_inexact(asarray(x))
    if kind(_dtype(x)) == "c":
        raise TypeError("frexp does not support complex-valued inputs")
    mant, exp = frexp_p.bind(x)
    return mant, exp


def ldexp(x1, x2, /):
    """As jnp.ldexp: ``x1 * 2**x2`` (``x2`` integer)."""
    x1, x2 = asarray(x1), asarray(x2)
    d1, d2 = _dtype(x1), _dtype(x2)
    if kind(d1) == "c" or kind(d2) in "fc":
        raise ValueError(f"ldexp not supported for input types {(d1, d2)}")
    x1, = _m.promote_inexact(x1)
    x2 = P.convert_element_type(x2, _dtype(x1), weak_type=get_aval(x2).weak_type)
    return _ldexp(x1, x2)


@custom_jvp
def _ldexp(x1, x2):
    """``x1 * 2**x2`` exactly (no intermediate overflow), via frexp."""
    m, e = frexp(x1)
    e = P.convert_element_type(_m.add(P.convert_element_type(e, _dtype(x2)), x2), _dtype(x1))
    pos = _m.greater(e, 0)
    m = _m.where(pos, _m.multiply(m, 2), m)
    e = _m.where(pos, _m.subtract(e, 1), e)
    x = _m.multiply(m, _m.power(2, e))
    return _m.where(_m.logical_or(_m.isinf(x1), _m.equal(x1, 0)), x1, x)


@_ldexp.defjvp
def _ldexp_jvp(primals, tangents):
    (x1, x2), (x1_dot, _) = primals, tangents
    return _ldexp(x1, x2), _m.multiply(x1_dot, _m.exp2(x2))  # x2 has x1's dtype


def _integer_args(name, x1, x2):
    x1, x2 = promote(asarray(x1), asarray(x2))
    if kind(_dtype(x1)) not in "iu":
        raise ValueError(f"Arguments to jax.numpy.{name} must be integers.")
    return broadcast_arrays(x1, x2, op=name)


def gcd(x1, x2):
    """As jnp.gcd: the greatest common divisor of ``|x1|`` and ``|x2|`` (a while loop)."""
    x1, x2 = _integer_args("gcd", x1, x2)

    def cond(xs):
        return _red.any(_m.not_equal(xs[1], 0))

    def body(xs):
        a, b = xs
        nz = _m.not_equal(b, 0)
        a, b = _m.where(nz, b, a), _m.where(nz, P.rem(a, _m.where(nz, b, 1)), zeros_like(b))
        lt = _m.less(a, b)
        return _m.where(lt, b, a), _m.where(lt, a, b)

    return P.while_loop(cond, body, (_m.abs(x1), _m.abs(x2)))[0]


def lcm(x1, x2):
    """As jnp.lcm: the least common multiple of ``|x1|`` and ``|x2|``."""
    x1, x2 = _integer_args("lcm", x1, x2)
    x1, x2 = _m.abs(x1), _m.abs(x2)
    d = gcd(x1, x2)
    nz = _m.not_equal(d, 0)
    return _m.where(nz, _m.multiply(x1, _m.floor_divide(x2, _m.where(nz, d, 1))), zeros_like(d))


def logaddexp2(x1, x2, /):
    """As jnp.logaddexp2: ``log2(2**x1 + 2**x2)``."""
    x1, x2 = _m.promote_inexact(x1, x2)
    if kind(_dtype(x1)) == "c":  # JAX's complex branch (jax/_src/lax/other.py)
        x1, x2 = broadcast_arrays(asarray(x1), asarray(x2), op="logaddexp2")
        amax = P.max(x1, x2)
        delta = P.sub(P.add(x1, x2), P.mul(amax, np.asarray(2, _dtype(x1))))
        out = P.add(amax, P.mul(np.asarray(1 / np.log(2), _dtype(x1)), P.log1p(P.exp2(delta))))
        return P.complex(P.real(out), _m.wrap_between(P.imag(out), np.pi / np.log(2)))
    ln2 = np.log(2)
    return _m.divide(_m.logaddexp(_m.multiply(x1, ln2), _m.multiply(x2, ln2)), ln2)


def float_power(x, y, /):
    """As jnp.float_power: ``x ** y`` in an inexact dtype."""
    x, y = _m.promote_inexact(x, y)
    x, y = broadcast_arrays(asarray(x), asarray(y), op="float_power")
    return P.pow(x, y)


def modf(x, /, out=None):
    """As jnp.modf: ``(fractional part, integral part)``, both with ``x``'s sign."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.modf is not supported.")
    x, = _m.promote_inexact(asarray(x))
    whole = _m.where(_m.greater_equal(x, 0), _m.floor(x), _m.ceil(x))
    return _m.subtract(x, whole), whole


def _shift(name, x, y, left):
    x, y = _m.promote_numeric(x, y)
    x, y = broadcast_arrays(asarray(x), asarray(y), op=name)
    if left:
        return P.shift_left(x, y)
    if kind(_dtype(x)) == "u":
        return P.shift_right_logical(x, y)
    return P.shift_right_arithmetic(x, y)


def left_shift(x, y, /):
    """As jnp.left_shift: ``x << y``."""
    return _shift("left_shift", x, y, True)


def bitwise_left_shift(x, y, /):
    """As jnp.bitwise_left_shift: ``x << y``."""
    return _shift("bitwise_left_shift", x, y, True)


def right_shift(x1, x2, /):
    """As jnp.right_shift: ``x1 >> x2`` (arithmetic for signed, logical for unsigned)."""
    return _shift("right_shift", x1, x2, False)


def bitwise_right_shift(x1, x2, /):
    """As jnp.bitwise_right_shift: ``x1 >> x2``."""
    return _shift("bitwise_right_shift", x1, x2, False)


def nextafter(x, y, /):
    """As jnp.nextafter: the next float after ``x`` towards ``y``."""
    x, y = _m.promote_inexact(x, y)
    x, y = broadcast_arrays(asarray(x), asarray(y), op="nextafter")
    return P.nextafter(x, y)


del full_like
