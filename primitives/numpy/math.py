"""Elementwise math (as jax.numpy): arithmetic, transcendentals, rounding,
comparisons, logical and bitwise ops, ``where``, ``clip``.

Every function promotes dtypes as jax.numpy does (weak-typed Python scalars
included), broadcasts as numpy does, and calls lax-level primitives. Functions
that jax.numpy computes in floating point (``true_divide``, ``sqrt``, ``sin``,
...) cast integer and boolean inputs to the default float dtype first.
"""
from __future__ import annotations

import builtins
import operator

import numpy as np
from fx import core as _fx_core
import jax
from jax import lax as _lax_enums  # the RoundingMethod enum; whether lax has log2

import primitives as P
from fx.dtypes import kind, to_inexact_dtype, to_numeric_dtype
from fx.core import Tracer, canonical_dtype, get_aval, python_scalar_dtype
from primitives.numpy._promote import promote, result_type_of, dtype_of
from primitives.numpy._util import broadcast_arrays, broadcast_shapes, broadcast_to, shape_of
from primitives.numpy.creation import asarray
from primitives.numpy.creation import full_like
from primitives.numpy.complex_ops import conj, conjugate, imag, real  # noqa: F401  (re-exported)

__all__ = [
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder", "mod",
    "fmod", "divmod", "power", "pow", "negative", "positive", "abs", "absolute", "fabs", "sign",
    "maximum", "minimum", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sqrt",
    "cbrt", "square", "reciprocal", "sin", "cos", "tan", "tanh", "arcsin", "arccos", "arctan",
    "arctan2", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "asin", "acos", "atan", "atan2",
    "asinh", "acosh", "atanh", "floor", "ceil", "round", "around", "rint", "trunc",
    "clip", "where", "isfinite", "isnan", "isinf", "isposinf", "isneginf", "signbit", "equal",
    "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_not", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "bitwise_invert", "invert", "sinc", "hypot", "deg2rad", "rad2deg",
    "degrees", "radians", "heaviside", "nan_to_num", "real", "imag", "conj", "conjugate",
    "logaddexp",
]

_PY_SCALARS = (builtins.bool, int, float, complex)
_PY_TYPE_OF_KIND = {"b": builtins.bool, "i": int, "u": int, "f": float, "c": complex}
_NEAREST_EVEN = _lax_enums.RoundingMethod.TO_NEAREST_EVEN


# --- dtype helpers -------------------------------------------------------------------
def _default_float() -> np.dtype:
    return canonical_dtype(np.float64)


def _cast(args, dtype: np.dtype, weak: builtins.bool) -> list:
    """Cast ``args`` to ``dtype``: Python scalars stay weak Python scalars when the
    result is weak (else become numpy scalars); arrays get a convert_element_type."""
    out = []
    for a in args:
        if type(a) in _PY_SCALARS:
            if weak:
                out.append(_PY_TYPE_OF_KIND[kind(dtype)](a))
            else:
                out.append(np.asarray(a, dtype))
        else:
            aval = get_aval(a)
            if aval.dtype != dtype or aval.weak_type != weak:
                a = P.convert_element_type(a, dtype, weak_type=weak)
            out.append(a)
    return out


def _promote_to(kinds_ok: str, convert, *args) -> list:
    """jax.numpy promotion, then a cast to ``convert(dtype)`` if the result kind is
    not in ``kinds_ok`` (promote_args_inexact / promote_args_numeric)."""
    dtype, weak = result_type_of(*args)
    if kind(dtype) not in kinds_ok:
        dtype = canonical_dtype(convert(dtype))
    elif len(args) > 1:
        return promote(*args)
    return _cast(args, dtype, weak)


def promote_inexact(*args) -> list:
    """Promote as jax.numpy, casting integer/bool results to their inexact dtype
    (float32 up to 32 bits, as jax.numpy also under x64)."""
    return _promote_to("fc", to_inexact_dtype, *args)


def promote_numeric(*args) -> list:
    """Promote as jax.numpy, casting a bool result to int32 (as jax.numpy)."""
    return _promote_to("iufc", to_numeric_dtype, *args)


def _np_const(x, value):
    """A (strong) numpy scalar ``value`` of ``x``'s dtype (a literal under tracing)."""
    return np.asarray(value, dtype_of(x))


def _const(x, value):
    """``value`` like ``x`` as jax's ``lax._const``: a weak Python scalar when ``x``
    is a weak 0-d value whose dtype Python scalars default to, else a numpy scalar
    (so results keep exactly jax.numpy's weak types)."""
    aval = get_aval(x)
    if aval.weak_type and aval.ndim == 0:
        py = _PY_TYPE_OF_KIND[kind(aval.dtype)]
        if python_scalar_dtype(py(0)) == aval.dtype:
            return py(value)
    return np.asarray(value, aval.dtype)


def _ones_like(x):
    """``lax._ones``: ones of ``x``'s shape, dtype and weak type."""
    return full_like(x, 1)


def _is_int_or_bool(x) -> builtins.bool:
    return kind(dtype_of(x)) in "biu"


def _as_array(x):
    return asarray(x)


# --- ufunc factories ------------------------------------------------------------------
def _unary(name: str, fn, promote_fn=None, doc: str = ""):
    def ufunc(x, /):
        if promote_fn is not None:
            dt = getattr(x, "dtype", None)
            if dt is None or kind(dt) not in "fc":  # fast path: inexact arrays pass as is
                x, = promote_fn(x)
        return fn(x)
    ufunc.__name__ = ufunc.__qualname__ = name
    ufunc.__doc__ = f"As jnp.{name}.{(' ' + doc) if doc else ''}"
    return ufunc


def _broadcast2(x1, x2, name: str, inline_scalars: builtins.bool = True):
    """numpy broadcasting of two operands. With ``inline_scalars`` a constant 0-d
    operand is left as is (lax-level elementwise ops take scalars; it stays an
    inline literal in the graph)."""
    try:  # fast path: arrays/tracers carry .shape
        s1, s2 = x1.shape, x2.shape
    except AttributeError:
        s1, s2 = shape_of(x1), shape_of(x2)
    if s1 == s2 or inline_scalars and ((s1 == () and not isinstance(x1, Tracer))
                                       or (s2 == () and not isinstance(x2, Tracer))):
        return x1, x2
    return broadcast_arrays(x1, x2, op=name)


_ArrayImpl = type(jax.numpy.zeros(()))
_no_dynamic_trace = _fx_core.no_dynamic_trace


def _binary(name: str, fn, promote_fn=promote, doc: str = "", inline_scalars=True, prim=None):
    """A numpy binary ufunc. With ``prim`` (the primitive ``fn`` binds for
    non-bool operands) eager calls on two jax Arrays of one dtype and shape go
    straight to the primitive's cached executable (the dispatch fast path)."""
    impl = prim.impl if prim is not None else None

    def ufunc(x1, x2, /):
        if (impl is not None and type(x1) is _ArrayImpl and type(x2) is _ArrayImpl
                and _no_dynamic_trace()):
            d = x1.dtype
            if d == x2.dtype and d != _BOOL and x1.shape == x2.shape:
                return impl(x1, x2)
        x1, x2 = _broadcast2(*promote_fn(x1, x2), name, inline_scalars)
        return fn(x1, x2)
    ufunc.__name__ = ufunc.__qualname__ = name
    ufunc.__doc__ = f"As jnp.{name}.{(' ' + doc) if doc else ''}"
    return ufunc


_BOOL = np.dtype(bool)


def _bool_or(lax_fn, bool_fn):
    """``lax_fn``, or ``bool_fn`` for boolean operands (jnp's add/multiply on bools)."""
    def fn(x, y):
        dt = getattr(x, "dtype", None)
        if dt is None:
            dt = dtype_of(x)
        return bool_fn(x, y) if dt == _BOOL else lax_fn(x, y)
    return fn


# --- arithmetic --------------------------------------------------------------------------
add = _binary("add", _bool_or(P.add, P.bitwise_or), doc="Booleans: logical or.", prim=P.add_p)
subtract = _binary("subtract", P.sub, prim=P.sub_p)
multiply = _binary("multiply", _bool_or(P.mul, P.bitwise_and), doc="Booleans: logical and.",
                   prim=P.mul_p)
true_divide = _binary("true_divide", P.div, promote_inexact)
divide = _binary("divide", P.div, promote_inexact)
maximum = _binary("maximum", P.max)
minimum = _binary("minimum", P.min)
arctan2 = _binary("arctan2", P.atan2, promote_inexact)
atan2 = arctan2


def _float_divmod(x1, x2):
    """(floor quotient, modulo) of floats, as CPython's float_divmod / jnp."""
    mod = P.rem(x1, x2)
    x1_fixed = P.select_n(P.eq(x2, _np_const(x2, 0)), P.sub(x1, mod), x1)
    div = P.div(x1_fixed, x2)
    fix = P.bitwise_and(P.ne(mod, _np_const(mod, 0)), P.ne(P.sign(x2), P.sign(mod)))
    mod = P.select_n(fix, mod, P.add(mod, x2))
    div = P.select_n(fix, div, P.sub(div, 1.0))
    return P.round(div, _NEAREST_EVEN), mod


def _floor_divide(x1, x2):
    k = kind(dtype_of(x1))
    if k == "u":
        return P.div(x1, x2)
    if k == "i":
        q = P.div(x1, x2)
        fix = P.bitwise_and(P.ne(P.sign(x1), P.sign(x2)), P.ne(P.rem(x1, x2), _np_const(x1, 0)))
        return P.select_n(fix, q, P.sub(q, 1))
    if k == "c":
        raise TypeError("floor_divide does not support complex-valued inputs (as jnp).")
    return _float_divmod(x1, x2)[0]


def _nonzero_divisor(x2):
    """Integer divisors with 0 replaced by 1 (jnp's guard against a division trap)."""
    if kind(dtype_of(x2)) in "iu":
        x2 = P.select_n(P.eq(x2, _np_const(x2, 0)), x2, _ones_like(x2))
    return x2


def _remainder(x1, x2):
    zero = _np_const(x1, 0)
    x2 = _nonzero_divisor(x2)
    trunc_mod = P.rem(x1, x2)
    do_plus = P.bitwise_and(P.ne(P.lt(trunc_mod, zero), P.lt(x2, zero)), P.ne(trunc_mod, zero))
    return P.select_n(do_plus, trunc_mod, P.add(trunc_mod, x2))


floor_divide = _binary("floor_divide", _floor_divide, promote_numeric,
                       doc="Rounds toward -inf; integer division by zero is unspecified.",
                       inline_scalars=False)
remainder = _binary("remainder", _remainder, promote_numeric,
                    doc="The result has the sign of the divisor, as numpy.", inline_scalars=False)
mod = _binary("mod", _remainder, promote_numeric, doc="Alias of remainder.",
              inline_scalars=False)


def fmod(x1, x2, /):
    """As jnp.fmod: the remainder with the sign of the dividend (C's fmod)."""
    guard = kind(result_type_of(x1, x2)[0]) in "iu"   # (not for bools, as jnp)
    x1, x2 = _broadcast2(*promote_numeric(x1, x2), "fmod")
    return P.rem(x1, _nonzero_divisor(x2) if guard else x2)


def divmod(x1, x2, /):
    """As jnp.divmod: ``(floor_divide(x1, x2), remainder(x1, x2))``."""
    x1, x2 = promote_numeric(x1, x2)
    if kind(dtype_of(x1)) in "iu":
        return floor_divide(x1, x2), remainder(x1, x2)
    if shape_of(x1) != shape_of(x2):
        x1, x2 = broadcast_arrays(x1, x2, op="divmod")
    return _float_divmod(x1, x2)


def _concrete_int(x):
    """``x`` as a Python int if it is a concrete integer scalar, else None."""
    if isinstance(x, Tracer):
        if x.concrete_value() is None:
            return None
    elif type(x) is float or (hasattr(x, "dtype") and kind(x.dtype) not in "biu"):
        return None
    try:
        return operator.index(x)
    except TypeError:
        return None


def _pow_int_int(x1, x2):
    """Integer power by unrolled binary exponentiation (as jnp; 6 steps suffice)."""
    zero, one = _np_const(x2, 0), _np_const(x2, 1)
    acc = P.select_n(P.bitwise_and(P.eq(x1, _np_const(x1, 0)), P.ne(x2, zero)),
                     P.broadcast_in_dim(_np_const(x1, 1), shape_of(x1), ()),
                     P.broadcast_in_dim(_np_const(x1, 0), shape_of(x1), ()))
    for _ in range(6):
        acc = P.select_n(P.ne(P.bitwise_and(x2, one), zero), acc, P.mul(acc, x1))
        x1 = P.mul(x1, x1)
        x2 = P.shift_right_logical(x2, one)
    return acc


def power(x1, x2, /):
    """As jnp.power: a concrete integer exponent uses integer_pow (exact, and
    differentiable at 0); integer bases with integer exponents use binary
    exponentiation."""
    y = _concrete_int(x2)
    if y is not None:
        x1, = promote_numeric(x1)
        return P.integer_pow(x1, y)
    x1, x2 = (_as_array(a) if type(a) in _PY_SCALARS else a for a in (x1, x2))
    d1, d2 = dtype_of(x1), dtype_of(x2)
    if shape_of(x1) != shape_of(x2):
        shape = broadcast_shapes(shape_of(x1), shape_of(x2), op="power")
        x1, x2 = (broadcast_to(a, shape, op="power") for a in (x1, x2))
    p1, p2 = promote_numeric(x1, x2)
    if kind(dtype_of(p1)) in "iub":
        return _pow_int_int(p1, p2)
    if kind(d1) in "fc" and kind(d2) in "iu":
        return P.pow(x1, x2)
    return P.pow(p1, p2)


pow = power


# --- sign / abs / negation ----------------------------------------------------------------
negative = _unary("negative", P.neg)


def positive(x, /):
    """As jnp.positive (returns ``x`` as an array)."""
    return _as_array(x)


def absolute(x, /):
    """As jnp.absolute (booleans and unsigned integers are returned unchanged)."""
    if dtype_of(x) == np.bool_ or kind(dtype_of(x)) == "u":
        return _as_array(x)
    return P.abs(x)


abs = absolute
def fabs(x, /):
    """As jnp.fabs: ``|x|`` in an inexact dtype.

    Args:
      x: real array (complex input raises TypeError, as jnp.fabs).

    Returns:
      ``|x|``, integers and booleans promoted to the default float dtype.

    References:
      ``jax.numpy.fabs``.
    """
    x, = promote_inexact(x)
    if _is_complex(x):
        raise TypeError("ufunc 'fabs' does not support complex dtypes")
    return P.abs(x)


def _is_complex(x) -> builtins.bool:
    return kind(dtype_of(x)) == "c"


def _complex_parts(fn, x):
    """``complex(fn(real(x)), fn(imag(x)))``: a real function applied to each part."""
    return P.complex(fn(P.real(x)), fn(P.imag(x)))
sign = _unary("sign", P.sign)


# --- transcendental ---------------------------------------------------------------------
exp = _unary("exp", P.exp, promote_inexact)
exp2 = _unary("exp2", P.exp2, promote_inexact)
log = _unary("log", P.log, promote_inexact)
log1p = _unary("log1p", P.log1p, promote_inexact)
expm1 = _unary("expm1", P.expm1, promote_inexact)
sqrt = _unary("sqrt", P.sqrt, promote_inexact)
cbrt = _unary("cbrt", P.cbrt, promote_inexact)
sin = _unary("sin", P.sin, promote_inexact)
cos = _unary("cos", P.cos, promote_inexact)
tan = _unary("tan", P.tan, promote_inexact)
tanh = _unary("tanh", P.tanh, promote_inexact)
arcsin = asin = _unary("arcsin", P.asin, promote_inexact)
arccos = acos = _unary("arccos", P.acos, promote_inexact)
arctan = atan = _unary("arctan", P.atan, promote_inexact)
sinh = _unary("sinh", P.sinh, promote_inexact)
cosh = _unary("cosh", P.cosh, promote_inexact)
arcsinh = asinh = _unary("arcsinh", P.asinh, promote_inexact)
arccosh = acosh = _unary("arccosh", P.acosh, promote_inexact)
arctanh = atanh = _unary("arctanh", P.atanh, promote_inexact)
square = _unary("square", P.square, promote_numeric)
reciprocal = _unary("reciprocal", lambda x: P.integer_pow(x, -1), promote_inexact)


def _log_base(x, scale):
    """``log(x) * scale``; complex x scales each part of log(x) (as JAX: ``inf+0j`` stays
    ``inf+0j``, where a complex product would give ``inf+nanj``)."""
    r = P.log(x)
    if _is_complex(r):
        return _complex_parts(lambda p: P.mul(p, _np_const(p, scale)), r)
    return P.mul(r, _np_const(r, scale))


# jax >= 0.11's jnp.log2 is its log2 primitive (weak types kept); before, log(x) / log(2)
log2 = _unary("log2", P.log2 if hasattr(_lax_enums, "log2") else (
    lambda x: (_log_base(x, 1 / np.log(2)) if _is_complex(x) else
               P.div(P.log(x), P.log(_np_const(x, 2))))), promote_inexact)
log10 = _unary("log10", lambda x: _log_base(x, 0.4342944819032518), promote_inexact)
deg2rad = radians = _unary("deg2rad", lambda x: P.mul(x, _const(x, np.pi / 180)),
                           promote_inexact)
rad2deg = degrees = _unary("rad2deg", lambda x: P.mul(x, _const(x, 180 / np.pi)),
                           promote_inexact)


def logaddexp(x1, x2, /):
    """As jnp.logaddexp: log(exp(x1) + exp(x2)) without overflow."""
    x1, x2 = _broadcast2(*promote_inexact(x1, x2), "logaddexp")
    amax = P.max(x1, x2)
    if _is_complex(x1):  # JAX's complex branch (jax/_src/lax/other.py)
        delta = P.sub(P.add(x1, x2), P.mul(amax, _np_const(amax, 2)))
        out = P.add(amax, P.log1p(P.exp(delta)))
        return P.complex(P.real(out), wrap_between(P.imag(out), np.pi))
    delta = P.sub(x1, x2)
    out = P.add(amax, P.log1p(P.exp(P.neg(P.abs(delta)))))
    # delta is nan where x1 == x2 == +-inf (or a nan is involved): x1 + x2 is the answer
    return P.select_n(P.ne(delta, delta), out, P.add(x1, x2))


def wrap_between(x, a: float):
    """``x`` wrapped into ``[-a, a)`` (used by the complex logaddexp / logaddexp2).

    Args:
      x: real floating array.
      a: the half-width of the interval (a Python float).

    Returns:
      ``x`` shifted by a multiple of ``2a`` into ``[-a, a)``.

    References:
      ``_wrap_between`` in jax/_src/lax/other.py.
    """
    two_a = _np_const(x, 2 * a)
    rem = P.rem(P.add(x, _np_const(x, a)), two_a)
    rem = P.select_n(P.lt(rem, _np_const(rem, 0)), rem, P.add(rem, two_a))
    return P.sub(rem, _np_const(rem, a))


def sinc(x, /):
    """As jnp.sinc: sin(pi x) / (pi x), 1 at 0 (derivatives at 0 of first order only)."""
    x, = promote_inexact(x)
    eq_zero = P.eq(x, _np_const(x, 0))
    pi_x = P.mul(_const(x, np.pi), x)
    one = P.broadcast_in_dim(_const(x, 1), shape_of(x), ())
    safe_pi_x = P.select_n(eq_zero, pi_x, one)
    at_zero = P.add(P.mul(pi_x, 0), _const(x, 1.0))  # jnp's _sinc_maclaurin(0, pi_x)
    return P.select_n(eq_zero, P.div(P.sin(safe_pi_x), safe_pi_x), at_zero)


def hypot(x1, x2, /):
    """As jnp.hypot: sqrt(x1**2 + x2**2) without overflow."""
    x1, x2 = promote_inexact(x1, x2)
    if _is_complex(x1):
        raise ValueError("jnp.hypot is not well defined for complex-valued inputs. Please "
                         "convert to real values first, such as by using jnp.real or "
                         "jnp.imag to take the real or imaginary components respectively.")
    if shape_of(x1) != shape_of(x2):
        x1, x2 = broadcast_arrays(*(_as_array(a) for a in (x1, x2)), op="hypot")
    x1, x2 = P.abs(x1), P.abs(x2)
    inf = _np_const(x1, np.inf)
    idx_inf = P.bitwise_or(P.eq(x1, inf), P.eq(x2, inf))
    x1, x2 = P.max(x1, x2), P.min(x1, x2)
    is_zero = P.eq(x1, _np_const(x1, 0))
    safe = P.select_n(is_zero, x1, _ones_like(x1))
    ratio = P.div(x2, safe)
    x = P.select_n(is_zero, P.mul(x1, P.sqrt(P.add(1, P.square(ratio)))), x1)
    return P.select_n(idx_inf, x, P.broadcast_in_dim(_const(x, np.inf), shape_of(x), ()))


def heaviside(x1, x2, /):
    """As jnp.heaviside: 0 for x1 < 0, x2 for x1 == 0, 1 for x1 > 0 (nan stays nan)."""
    x1, x2 = promote_inexact(x1, x2)
    x1, x2 = (_as_array(a) for a in (x1, x2))
    if shape_of(x1) != shape_of(x2):
        x1, x2 = broadcast_arrays(x1, x2, op="heaviside")
    shape = shape_of(x1)
    zero = P.broadcast_in_dim(_const(x1, 0), shape, ())
    one = P.broadcast_in_dim(_const(x1, 1), shape, ())
    inner = P.select_n(P.ne(x1, x1), x2, x1)
    inner = P.select_n(P.gt(x1, _np_const(x1, 0)), inner, one)
    return P.select_n(P.lt(x1, _np_const(x1, 0)), inner, zero)


# --- rounding ----------------------------------------------------------------------------
def _int_identity_or(fn):
    def ufunc(x, /):
        if _is_int_or_bool(x):
            return _as_array(x)
        x, = promote_inexact(x)
        return fn(x)
    return ufunc


floor = _int_identity_or(P.floor)
floor.__name__ = floor.__qualname__ = "floor"
floor.__doc__ = "As jnp.floor (integers are returned unchanged)."
ceil = _int_identity_or(P.ceil)
ceil.__name__ = ceil.__qualname__ = "ceil"
ceil.__doc__ = "As jnp.ceil (integers are returned unchanged)."


def _trunc(x):
    return P.select_n(P.lt(x, _np_const(x, 0)), P.floor(x), P.ceil(x))


trunc = _int_identity_or(_trunc)
trunc.__name__ = trunc.__qualname__ = "trunc"
trunc.__doc__ = "As jnp.trunc: round toward zero (integers are returned unchanged)."


def round(a, decimals: int = 0, out=None):
    """As jnp.round: half to even; ``decimals`` must be a concrete int."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to round is not supported.")
    decimals = operator.index(decimals)
    dtype = dtype_of(a)
    if kind(dtype) in "iu":
        if decimals < 0:
            raise NotImplementedError("integer round is not implemented for decimals < 0.")
        return _as_array(a)
    if decimals > 0 and decimals > np.log10(jax.numpy.finfo(dtype).max):
        return _as_array(a)
    if kind(dtype) == "c":  # each part on its own, as JAX
        return _complex_parts(lambda p: round(p, decimals), a)
    if decimals == 0:
        return P.round(a, _NEAREST_EVEN)
    x = P.convert_element_type(a, np.float32) if dtype == np.float16 else a
    factor = _const(x, 10 ** decimals)
    out = P.div(P.round(P.mul(x, factor), _NEAREST_EVEN), factor)
    return P.convert_element_type(out, dtype) if dtype == np.float16 else out


around = round


def rint(x, /):
    """As jnp.rint: round half to even; integers become the default float (as jnp.rint,
    also under x64)."""
    if _is_int_or_bool(x):
        return P.convert_element_type(x, _default_float())
    if _is_complex(x):
        return _complex_parts(rint, x)
    return P.round(x, _NEAREST_EVEN)


def clip(arr=None, /, min=None, max=None):
    """As jnp.clip (jax 0.10 signature): ``minimum(max, maximum(min, arr))``."""
    if arr is None:
        raise ValueError("No input was provided to the clip function.")
    if any(t is not None and kind(dtype_of(t)) == "c" for t in (arr, min, max)):
        raise ValueError("Clip received a complex value either through the input or the "
                         "min/max keywords. Complex values have no ordering and cannot be "
                         "clipped. Please convert to a real value or array by taking the real "
                         "or imaginary components via jax.numpy.real/imag respectively.")
    if min is not None:
        arr = maximum(min, arr)
    if max is not None:
        arr = minimum(max, arr)
    return _as_array(arr)


# --- where / predicates ---------------------------------------------------------------------
def _to_bool(x):
    """``x != 0`` unless ``x`` is already boolean."""
    if dtype_of(x) == np.bool_:
        return np.asarray(x) if type(x) is builtins.bool else x
    return P.ne(x, _np_const(x, 0))


def where(condition, x=None, y=None, /, *, size=None, fill_value=None):
    """As jnp.where(condition, x, y). The one-argument form (indices of nonzero
    elements) has a data-dependent shape: use ``fnp.nonzero(condition, size=...)``."""
    if x is None and y is None:
        raise ValueError(
            "where(condition) with one argument returns indices whose number depends on the "
            "data, which cannot be traced. Fix: use fnp.nonzero(condition, size=N, "
            "fill_value=...) with a static size N, or the three-argument form "
            "where(condition, x, y).")
    if x is None or y is None:
        raise ValueError(f"Either both or neither of the x and y arguments should be provided "
                         f"to where, got {x} and {y}.")
    if size is not None or fill_value is not None:
        raise ValueError("where: size/fill_value apply only to the one-argument form; use "
                         "fnp.nonzero(condition, size=...).")
    condition = _to_bool(condition)
    x, y = promote(x, y)
    shapes = [shape_of(x), shape_of(y)]
    if shape_of(condition):
        shapes.append(shape_of(condition))
    shape = broadcast_shapes(*shapes, op="where")
    x, y = (P.broadcast_in_dim(a, shape, ()) if type(a) in _PY_SCALARS else
            broadcast_to(a, shape, op="where") for a in (x, y))
    if shape_of(condition):
        condition = broadcast_to(condition, shape, op="where")
    return P.select_n(condition, y, x)


def _full_bool(x, value: builtins.bool):
    return P.broadcast_in_dim(np.asarray(value), shape_of(x), ())


def isfinite(x, /):
    """As jnp.isfinite (always True for integers and booleans; complex: both parts)."""
    if _is_int_or_bool(x):
        return _full_bool(x, True)
    if _is_complex(x):
        return P.bitwise_and(P.is_finite(P.real(x)), P.is_finite(P.imag(x)))
    return P.is_finite(x)


def isnan(x, /):
    """As jnp.isnan: ``x != x``."""
    return P.ne(x, x)


def isinf(x, /):
    """As jnp.isinf (always False for integers and booleans)."""
    if _is_int_or_bool(x):
        return _full_bool(x, False)
    if _is_complex(x):  # either part infinite
        return P.bitwise_or(isinf(P.real(x)), isinf(P.imag(x)))
    return P.eq(P.abs(x), _np_const(x, np.inf))


def _isposneginf(value, x):
    if _is_int_or_bool(x):
        return _full_bool(x, False)
    if _is_complex(x):
        raise ValueError("isposinf/isneginf are not well defined for complex types")
    return P.eq(x, _np_const(x, value))


def isposinf(x, /):
    """As jnp.isposinf."""
    return _isposneginf(np.inf, x)


def isneginf(x, /):
    """As jnp.isneginf."""
    return _isposneginf(-np.inf, x)


def signbit(x, /):
    """As jnp.signbit (x < 0 for integers; the sign bit for floats, so -0.0 is True)."""
    k = kind(dtype_of(x))
    if k == "b" or k == "u":
        return _full_bool(x, False)
    if k == "i":
        return P.lt(x, _np_const(x, 0))
    dtype = dtype_of(x)
    if k != "f":
        raise ValueError(f"jax.numpy.signbit is not well defined for {np.dtype(dtype)}")
    bits = np.dtype(f"int{8 * np.dtype(dtype).itemsize}")
    return P.lt(P.bitcast_convert_type(x, bits), np.asarray(0, bits))


equal = _binary("equal", P.eq)
not_equal = _binary("not_equal", P.ne)


def _ordered(op):
    """An order comparison; complex operands compare lexicographically (real part,
    then imaginary part), as jax.numpy's _complex_comparison."""
    def compare(x, y):
        if _is_complex(x):
            rx, ry = P.real(x), P.real(y)
            return P.select_n(P.eq(rx, ry), op(rx, ry), op(P.imag(x), P.imag(y)))
        return op(x, y)
    return compare


less = _binary("less", _ordered(P.lt))
less_equal = _binary("less_equal", _ordered(P.le))
greater = _binary("greater", _ordered(P.gt))
greater_equal = _binary("greater_equal", _ordered(P.ge))


def _logical(fn):
    return lambda x, y: fn(_to_bool(x), _to_bool(y))


logical_and = _binary("logical_and", _logical(P.bitwise_and))
logical_or = _binary("logical_or", _logical(P.bitwise_or))
logical_xor = _binary("logical_xor", _logical(P.bitwise_xor))
logical_not = _unary("logical_not", lambda x: P.bitwise_not(_to_bool(x)))
bitwise_and = _binary("bitwise_and", P.bitwise_and)
bitwise_or = _binary("bitwise_or", P.bitwise_or)
bitwise_xor = _binary("bitwise_xor", P.bitwise_xor)
invert = _unary("invert", P.bitwise_not)
bitwise_not = _unary("bitwise_not", P.bitwise_not)
bitwise_invert = _unary("bitwise_invert", P.bitwise_not)


def nan_to_num(x, copy: builtins.bool = True, nan=0.0, posinf=None, neginf=None):
    """As jnp.nan_to_num: nan -> ``nan``, +-inf -> ``posinf``/``neginf`` (default: the
    dtype's largest finite values). Non-float inputs are returned unchanged."""
    del copy
    dtype = dtype_of(x)
    if kind(dtype) not in "fc":
        return _as_array(x)
    if kind(dtype) == "c":  # each part on its own, as JAX
        parts = [nan_to_num(f(x), True, nan, posinf, neginf) for f in (P.real, P.imag)]
        return P.complex(*parts)
    info = jax.numpy.finfo(dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    shape = shape_of(x)

    def fill(v):
        return P.broadcast_in_dim(np.asarray(v, dtype), shape, ())
    out = P.select_n(P.ne(x, x), x, fill(nan))
    out = P.select_n(P.eq(out, _np_const(out, np.inf)), out, fill(posinf))
    return P.select_n(P.eq(out, _np_const(out, -np.inf)), out, fill(neginf))

