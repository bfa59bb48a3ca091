"""Elementwise primitives (as jax.lax): arithmetic, comparisons, bitwise ops,
selection and conversions. Transcendental functions and float rounding live in
``elementwise_math``.

One block per primitive, all its rules right below it; the rule helpers at the
top build every jvp/transpose/batch rule of the family (JAX's ``defjvp``).

Example::

    >>> import primitives as P
    >>> P.add(1.0, 2.0)   # eager: runs at once, returns a jax.Array
    >>> print(fx.make_graph(lambda x: P.max(x, 0.0))(np.ones(3, np.float32)))
    { lambda ; a:f32[3]. let
        b:f32[3] = max a 0.0:f32[]
      in (b,) }
"""
from __future__ import annotations

import builtins
from functools import partial

import numpy as np
import jax.numpy as jnp
from jax import lax, tree_util

from fx.ad import (UndefinedPrimal, Zero, defjvp, defjvp_zero, deflinear, deftranspose, fit,
                   instantiate_zero, tangent_aval, zeros)
from fx.batching import broadcasting_batch, defbroadcasting, moveaxis
from fx.core import Primitive, canonical_dtype, get_aval, is_eager, python_scalar_dtype
from fx.dtypes import is_float, kind
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives.complex import conj, real
from primitives._rules import (ANY, FLOAT, INT, INT_OR_BOOL, NUMBER, check_kind, coerce_lowering,
                               compare_aval, fmt_avals, is_weak, nary_aval,
                               same_dtype_and_shape)

__all__ = [
    "add", "sub", "mul", "div", "rem", "neg", "abs", "sign", "max", "min", "integer_pow",
    "square", "reciprocal",
    "eq", "ne", "lt", "le", "gt", "ge", "select_n", "clamp",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "shift_left",
    "shift_right_logical", "shift_right_arithmetic", "population_count", "clz",
    "convert_element_type", "bitcast_convert_type", "reduce_precision", "stop_gradient",
    "add_p", "sub_p", "mul_p", "div_p", "rem_p", "neg_p", "abs_p", "sign_p", "max_p", "min_p",
    "integer_pow_p", "square_p", "reciprocal_p", "eq_p", "ne_p", "lt_p", "le_p", "gt_p", "ge_p",
    "select_n_p", "clamp_p", "and_p", "or_p", "xor_p", "not_p", "shift_left_p",
    "shift_right_logical_p", "shift_right_arithmetic_p", "population_count_p", "clz_p",
    "convert_element_type_p", "bitcast_convert_type_p", "reduce_precision_p",
    "stop_gradient_p"]

REAL = "f"          # real floating point only (floor, erf, atan2, ...)
SIGNED = "ifc"      # abs: no unsigned, no bool
ORDERED = "iufb"    # lt/le/gt/ge, clamp: everything but complex


# ============================ rule helpers =====================================
def _nary_aval(op, kinds, *avals, **params):
    check_kind(op, avals, kinds)
    return nary_aval(op, ANY, *avals)


def _compare_aval(op, kinds, *avals, **params):
    check_kind(op, avals, kinds)
    return compare_aval(op, ANY, *avals)


def _unop_aval(op, kinds, x, **params):
    check_kind(op, (x,), kinds)
    return x


def unop(name: str, kinds: str, lax_fn) -> Primitive:
    """An elementwise unary Primitive: the output aval is the operand's (params
    such as ``accuracy`` pass through to ``lax_fn``)."""
    p = Primitive(name)
    p.def_abstract_eval(partial(_unop_aval, name, kinds))
    p.def_lowering(lax_fn)
    return p


def strict_coerce_lowering(lax_fn, *args, **params):
    """``coerce_lowering`` for weak operands only: strong operands of different
    dtypes reach lax unchanged, which rejects them, so an eager call raises the
    same FxTypeError (from the abstract eval) as a traced one."""
    if same_dtype_and_shape(args) or len({np.dtype(a.dtype) for a in args if not is_weak(a)}) > 1:
        return lax_fn(*args, **params)
    return coerce_lowering(lax_fn, *args, **params)


def naryop(name: str, kinds: str, lax_fn, compare: bool = False) -> Primitive:
    """An elementwise n-ary Primitive (equal shapes or scalars; equal dtypes
    except weak operands, which the lowering casts); ``compare`` gives bool outputs."""
    p = Primitive(name)
    p.def_abstract_eval(partial(_compare_aval if compare else _nary_aval, name, kinds))
    p.def_lowering(partial(strict_coerce_lowering, lax_fn))
    return p


def bind_accuracy(prim: Primitive, x, accuracy):
    """Bind a unary op that takes lax's ``accuracy`` param (left out when None,
    so the printed IR stays ``sin a``)."""
    return prim.bind(x) if accuracy is None else prim.bind(x, accuracy=accuracy)


def defjvp_unop(prim: Primitive, derivative) -> None:
    """jvp of a unary op: ``t * derivative(ans, x, **params)``."""
    defjvp(prim, lambda t, ans, x, **params: mul(t, derivative(ans, x, **params)))


def _dtype_param(dtype) -> np.dtype:
    return canonical_dtype(np.dtype(dtype))


# ============================ arithmetic =======================================
# --- add ---
add_p = naryop("add", NUMBER, lax.add)
defjvp(add_p, lambda t, ans, x, y: t, lambda t, ans, x, y: t)
deftranspose(add_p, lambda ct, x, y: ct, lambda ct, x, y: ct)
defbroadcasting(add_p)


def add(x, y):
    """Elementwise x + y (lax.add: equal dtypes; weak Python scalars adopt the other's)."""
    return add_p.bind(x, y)


# --- sub ---
sub_p = naryop("sub", NUMBER, lax.sub)
defjvp(sub_p, lambda t, ans, x, y: t, lambda t, ans, x, y: neg(t))
deftranspose(sub_p, lambda ct, x, y: ct, lambda ct, x, y: neg(ct))
defbroadcasting(sub_p)


def sub(x, y):
    """Elementwise x - y (lax.sub)."""
    return sub_p.bind(x, y)


# --- mul ---
mul_p = naryop("mul", NUMBER, lax.mul)
defjvp(mul_p, lambda t, ans, x, y: mul(t, y), lambda t, ans, x, y: mul(x, t))
deftranspose(mul_p, lambda ct, x, y: mul(ct, y), lambda ct, x, y: mul(x, ct))
defbroadcasting(mul_p)


def mul(x, y):
    """Elementwise x * y (lax.mul)."""
    return mul_p.bind(x, y)


# --- div ---
div_p = naryop("div", NUMBER, lax.div)
defjvp(div_p, lambda t, ans, x, y: div(t, y),
       lambda t, ans, x, y: mul(mul(neg(t), x), integer_pow(y, -2)))
deftranspose(div_p, lambda ct, x, y: div(ct, y), None)
defbroadcasting(div_p)


def div(x, y):
    """Elementwise x / y (lax.div); integer division rounds toward zero."""
    return div_p.bind(x, y)


# --- rem ---
rem_p = naryop("rem", "iuf", lax.rem)


def _trunc(q):
    """q rounded toward zero (q - fmod(q, 1))."""
    return sub(q, rem(q, 1.0))


defjvp(rem_p, lambda t, ans, x, y: t, lambda t, ans, x, y: mul(neg(t), _trunc(div(x, y))))
defbroadcasting(rem_p)


def rem(x, y):
    """Elementwise remainder of x / y, with the sign of x (lax.rem, C's fmod)."""
    return rem_p.bind(x, y)


# --- neg ---
neg_p = unop("neg", NUMBER, lax.neg)
deflinear(neg_p)
deftranspose(neg_p, lambda ct, x: neg(ct))
defbroadcasting(neg_p)


def neg(x):
    """Elementwise -x (lax.neg)."""
    return neg_p.bind(x)


# --- abs ---
abs_p = Primitive("abs")


@abs_p.def_abstract_eval
def _abs_aval(x):
    check_kind("abs", (x,), SIGNED)
    if kind(x.dtype) == "c":
        return x.update(dtype=np.finfo(x.dtype).dtype)
    return x


abs_p.def_lowering(lax.abs)


def _abs_jvp(t, ans, x):
    """As JAX's: real(t * conj(x) / |x|) for complex x (|x| = 0 replaced by 1);
    for real x the tangent is t where x >= 0 (so also at -0.0), -t elsewhere."""
    x_aval = get_aval(x)
    if kind(x_aval.dtype) == "c":
        mag = convert_element_type(ans, x_aval.dtype)
        mag = add(mag, convert_element_type(eq(mag, 0.0), x_aval.dtype))
        return real(mul(t, div(conj(x), mag)))
    return select_n(ge(x, np.zeros((), x_aval.dtype)), neg(t), t)


defjvp(abs_p, _abs_jvp)
defbroadcasting(abs_p)


def abs(x):
    """Elementwise |x| (lax.abs); complex input gives the real magnitude."""
    return abs_p.bind(x)


# --- sign ---
sign_p = unop("sign", NUMBER, lax.sign)
defjvp_zero(sign_p)
defbroadcasting(sign_p)


def sign(x):
    """Elementwise sign: -1, 0 or 1 (lax.sign)."""
    return sign_p.bind(x)


# --- max ---
def _balanced_eq(x, z, y):
    """1 where x == z != y, 0.5 where x == y == z, else 0: ties split the tangent (as JAX)."""
    dtype = get_aval(z).dtype
    x_is = convert_element_type(eq(x, z), dtype)
    y_is = convert_element_type(eq(y, z), dtype)
    return mul(x_is, sub(1.0, mul(0.5, y_is)))


max_p = naryop("max", ORDERED + "c", lax.max)  # complex too: lexicographic, as lax.max
defjvp(max_p, lambda t, ans, x, y: mul(t, _balanced_eq(x, ans, y)),
       lambda t, ans, x, y: mul(t, _balanced_eq(y, ans, x)))
defbroadcasting(max_p)


def max(x, y):
    """Elementwise maximum (lax.max); jvp splits ties 0.5/0.5 as JAX does."""
    return max_p.bind(x, y)


# --- min ---
min_p = naryop("min", ORDERED + "c", lax.min)
defjvp(min_p, lambda t, ans, x, y: mul(t, _balanced_eq(x, ans, y)),
       lambda t, ans, x, y: mul(t, _balanced_eq(y, ans, x)))
defbroadcasting(min_p)


def min(x, y):
    """Elementwise minimum (lax.min); jvp splits ties 0.5/0.5 as JAX does."""
    return min_p.bind(x, y)


# --- integer_pow ---
integer_pow_p = Primitive("integer_pow")


@integer_pow_p.def_abstract_eval
def _integer_pow_aval(x, *, y):
    check_kind("integer_pow", (x,), NUMBER)
    if y < 0 and kind(x.dtype) in INT:
        raise FxTypeError(f"integer_pow: integers cannot be raised to negative powers, got "
                          f"integer_pow({x.str_short()}, {y}). Fix: convert x to a float dtype.")
    return x


integer_pow_p.def_lowering(lambda x, *, y: lax.integer_pow(x, y))
defjvp_unop(integer_pow_p,
            lambda ans, x, *, y: 0.0 if y == 0 else mul(float(y), integer_pow(x, y - 1)))
defbroadcasting(integer_pow_p)


def integer_pow(x, y):
    """Elementwise x ** y for a static Python int ``y`` (lax.integer_pow)."""
    return integer_pow_p.bind(x, y=int(y))


# --- square ---
square_p = unop("square", NUMBER, lax.square)
defjvp_unop(square_p, lambda ans, x: mul(2.0, x))
defbroadcasting(square_p)


def square(x):
    """Elementwise x * x (lax.square)."""
    return square_p.bind(x)


# --- reciprocal ---
reciprocal_p = unop("reciprocal", FLOAT, lax.reciprocal)
defjvp_unop(reciprocal_p, lambda ans, x: neg(integer_pow(x, -2)))
defbroadcasting(reciprocal_p)


def reciprocal(x):
    """Elementwise 1 / x (lax.reciprocal)."""
    return reciprocal_p.bind(x)


# ============================ comparisons ======================================
def _comparison(name, kinds, lax_fn):
    p = naryop(name, kinds, lax_fn, compare=True)
    defjvp_zero(p)
    defbroadcasting(p)
    return p


# --- eq ---
eq_p = _comparison("eq", ANY, lax.eq)


def eq(x, y):
    """Elementwise x == y, boolean result (lax.eq)."""
    return eq_p.bind(x, y)


# --- ne ---
ne_p = _comparison("ne", ANY, lax.ne)


def ne(x, y):
    """Elementwise x != y, boolean result (lax.ne)."""
    return ne_p.bind(x, y)


# --- lt ---
lt_p = _comparison("lt", ORDERED, lax.lt)


def lt(x, y):
    """Elementwise x < y, boolean result (lax.lt)."""
    return lt_p.bind(x, y)


# --- le ---
le_p = _comparison("le", ORDERED, lax.le)


def le(x, y):
    """Elementwise x <= y, boolean result (lax.le)."""
    return le_p.bind(x, y)


# --- gt ---
gt_p = _comparison("gt", ORDERED, lax.gt)


def gt(x, y):
    """Elementwise x > y, boolean result (lax.gt)."""
    return gt_p.bind(x, y)


# --- ge ---
ge_p = _comparison("ge", ORDERED, lax.ge)


def ge(x, y):
    """Elementwise x >= y, boolean result (lax.ge)."""
    return ge_p.bind(x, y)


# ============================ selection ========================================
# --- select_n ---
select_n_p = Primitive("select_n")


@select_n_p.def_abstract_eval
def _select_n_aval(which, *cases):
    if not cases:
        raise FxTypeError("select_n needs at least one case, got none.")
    check_kind("select_n `which`", (which,), "biu")
    if kind(which.dtype) == "b" and len(cases) > 2:
        raise FxTypeError(f"select_n with a boolean `which` ({which.str_short()}) takes at most "
                          f"2 cases, got {len(cases)}. Fix: use an int32 `which`.")
    if len({c.shape for c in cases}) > 1 or which.shape not in ((), cases[0].shape):
        raise ShapeError(f"select_n got `which` {which.str_short()} and cases "
                         f"{fmt_avals(cases)}: the cases need equal shapes and `which` must be "
                         f"a scalar or have their shape. Fix: broadcast first (or use fnp.where).")
    return nary_aval("select_n", ANY, *cases)


select_n_p.def_lowering(lambda which, *cases:
                        strict_coerce_lowering(partial(lax.select_n, which), *cases))


@select_n_p.def_jvp
def _select_n_jvp(primals, tangents):
    which, *cases = primals
    ans = select_n(which, *cases)
    t_aval = tangent_aval(get_aval(ans))
    if not is_float(t_aval) or all(isinstance(t, Zero) for t in tangents[1:]):
        return ans, Zero(t_aval)
    return ans, select_n(which, *[fit(instantiate_zero(t), t_aval) for t in tangents[1:]])


@select_n_p.def_transpose
def _select_n_transpose(ct, which, *cases):
    if isinstance(which, UndefinedPrimal):
        raise NotImplementedError("select_n is not linear in `which`")
    zero = zeros(get_aval(ct))
    return [None] + [select_n(which, *[ct if j == i else zero for j in range(len(cases))])
                     if isinstance(c, UndefinedPrimal) else None for i, c in enumerate(cases)]


select_n_p.def_batch(lambda args, bdims: broadcasting_batch(  # every case is `full`
    select_n_p, frozenset(range(1, len(args))), args, bdims))


def select_n(which, *cases):
    """Elementwise ``cases[which]`` (lax.select_n).

    Args:
      which: bool (at most two cases: False picks ``cases[0]``) or integer
        array, a scalar or of the cases' shape.
      *cases: arrays of one shape and dtype.
    """
    return select_n_p.bind(which, *cases)


# --- clamp ---
clamp_p = Primitive("clamp")


@clamp_p.def_abstract_eval
def _clamp_aval(lo, x, hi):
    check_kind("clamp", (lo, x, hi), ORDERED)
    for name, b in (("min", lo), ("max", hi)):
        if b.shape not in ((), x.shape):
            raise ShapeError(f"clamp requires {name}.shape == operand.shape or {name}.shape "
                             f"== (), got {name} {b.str_short()} and operand {x.str_short()}.")
    out = nary_aval("clamp", ANY, lo, x, hi)
    return out.update(shape=x.shape)


clamp_p.def_lowering(partial(strict_coerce_lowering, lax.clamp))


def _where(pred, t, aval):
    """``t`` where ``pred``, else 0 (tangent masking; ``t`` broadcast to ``aval``)."""
    return select_n(pred, zeros(aval), fit(t, aval))


defjvp(clamp_p,
       lambda t, ans, lo, x, hi: _where(bitwise_and(gt(lo, x), lt(lo, hi)), t, get_aval(ans)),
       lambda t, ans, lo, x, hi: _where(bitwise_and(gt(x, lo), lt(x, hi)), t, get_aval(ans)),
       lambda t, ans, lo, x, hi: _where(lt(hi, x), t, get_aval(ans)))
defbroadcasting(clamp_p, full=(1,))


def clamp(min, x, max):
    """Elementwise ``minimum(maximum(x, min), max)`` (lax.clamp); min/max are
    scalars or of x's shape."""
    return clamp_p.bind(min, x, max)


# ============================ bitwise ==========================================
def _bitwise(name, kinds, lax_fn, arity=2):
    p = naryop(name, kinds, lax_fn) if arity == 2 else unop(name, kinds, lax_fn)
    defjvp_zero(p)
    defbroadcasting(p)
    return p


# --- and ---
and_p = _bitwise("and", INT_OR_BOOL, lax.bitwise_and)


def bitwise_and(x, y):
    """Elementwise AND of integers or booleans (lax.bitwise_and)."""
    return and_p.bind(x, y)


# --- or ---
or_p = _bitwise("or", INT_OR_BOOL, lax.bitwise_or)


def bitwise_or(x, y):
    """Elementwise OR of integers or booleans (lax.bitwise_or)."""
    return or_p.bind(x, y)


# --- xor ---
xor_p = _bitwise("xor", INT_OR_BOOL, lax.bitwise_xor)


def bitwise_xor(x, y):
    """Elementwise XOR of integers or booleans (lax.bitwise_xor)."""
    return xor_p.bind(x, y)


# --- not ---
not_p = _bitwise("not", INT_OR_BOOL, lax.bitwise_not, arity=1)


def bitwise_not(x):
    """Elementwise NOT of integers or booleans (lax.bitwise_not)."""
    return not_p.bind(x)


# --- shift_left ---
shift_left_p = _bitwise("shift_left", INT, lax.shift_left)


def shift_left(x, y):
    """Elementwise x << y (lax.shift_left)."""
    return shift_left_p.bind(x, y)


# --- shift_right_logical ---
shift_right_logical_p = _bitwise("shift_right_logical", INT, lax.shift_right_logical)


def shift_right_logical(x, y):
    """Elementwise logical (zero-filling) x >> y (lax.shift_right_logical)."""
    return shift_right_logical_p.bind(x, y)


# --- shift_right_arithmetic ---
shift_right_arithmetic_p = _bitwise("shift_right_arithmetic", INT, lax.shift_right_arithmetic)


def shift_right_arithmetic(x, y):
    """Elementwise sign-extending x >> y (lax.shift_right_arithmetic)."""
    return shift_right_arithmetic_p.bind(x, y)


# --- population_count ---
population_count_p = _bitwise("population_count", INT, lax.population_count, arity=1)


def population_count(x):
    """Elementwise number of set bits (lax.population_count)."""
    return population_count_p.bind(x)


# --- clz ---
clz_p = _bitwise("clz", INT, lax.clz, arity=1)


def clz(x):
    """Elementwise count of leading zero bits (lax.clz)."""
    return clz_p.bind(x)


# ============================ conversions ======================================
# --- convert_element_type ---
convert_element_type_p = Primitive("convert_element_type")


@convert_element_type_p.def_abstract_eval
def _convert_aval(x, *, new_dtype, weak_type=False):
    return x.update(dtype=new_dtype, weak_type=weak_type)


@convert_element_type_p.def_lowering
def _convert_lowering(x, *, new_dtype, weak_type=False):
    py = _weak_scalar_type(x, new_dtype) if weak_type else None
    if py is not None:  # jax's public ops make weak arrays from Python scalars (lax.full)
        return lax.full((), py(np.asarray(x).item()))
    x_dtype = np.dtype(x.dtype) if hasattr(x, "dtype") else np.result_type(x)
    if weak_type and kind(new_dtype) in "ifc" and kind(x_dtype) in "biu":
        # or from one of a lower kind combined with a Python scalar: x + 0.0 (x + 0j, bool
        # + 0) is the weak cast, as jnp's promotion of x with a Python scalar gives it
        zero = {"i": 0, "f": 0.0, "c": 0j}[kind(new_dtype)]
        if kind(new_dtype) != "i" or kind(x_dtype) == "b":
            out = jnp.add(x, zero)
            if out.dtype == new_dtype:
                return out
    if kind(x_dtype) == "c" and kind(new_dtype) != "c":
        x = lax.real(x)  # the real part, as lax's, without numpy's ComplexWarning
    return lax.convert_element_type(x, new_dtype)


def _weak_scalar_type(x, new_dtype):
    """The Python type whose scalars jax makes weak ``new_dtype`` arrays of, when ``x``
    is a concrete scalar (not a jax tracer) that converts to it exactly (else None)."""
    if not isinstance(x, (np.ndarray, np.generic, int, float, complex)) or np.ndim(x):
        return None
    py = {"i": int, "f": float, "c": complex}.get(kind(new_dtype))
    if py is None or python_scalar_dtype(py(0)) != np.dtype(new_dtype):
        return None
    if py is int and not np.iinfo(new_dtype).min <= np.asarray(x).item() <= np.iinfo(new_dtype).max:
        return None
    if py is not complex and kind(np.result_type(x)) == "c":
        return None  # the real part: the general path
    return py


@convert_element_type_p.def_jvp
def _convert_jvp(primals, tangents, *, new_dtype, weak_type=False):
    (x,), (t,) = primals, tangents
    ans = convert_element_type(x, new_dtype, weak_type)
    t_aval = tangent_aval(get_aval(ans))
    if isinstance(t, Zero) or not is_float(t_aval) or not is_float(get_aval(x)):
        return ans, Zero(t_aval)
    return ans, convert_element_type(t, new_dtype)


deftranspose(convert_element_type_p, lambda ct, x, **params: ct)  # unbroadcast casts back
defbroadcasting(convert_element_type_p)


def convert_element_type(x, new_dtype, weak_type=False):
    """Cast ``x`` to ``new_dtype`` (lax.convert_element_type); float->int truncates."""
    new_dtype = _dtype_param(new_dtype)
    if weak_type and is_eager() and _weak_scalar_type(x, new_dtype) is not None:
        return _convert_lowering(x, new_dtype=new_dtype, weak_type=True)  # weak, as jax's
    return convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=bool(weak_type))


# --- bitcast_convert_type ---
bitcast_convert_type_p = Primitive("bitcast_convert_type")


@bitcast_convert_type_p.def_abstract_eval
def _bitcast_aval(x, *, new_dtype):
    old, new = x.dtype.itemsize, new_dtype.itemsize
    if old == new:
        shape = x.shape
    elif old > new and old % new == 0:
        shape = x.shape + (old // new,)
    elif new % old == 0 and x.shape and x.shape[-1] == new // old:
        shape = x.shape[:-1]
    else:
        raise ShapeError(f"bitcast_convert_type cannot reinterpret {x.str_short()} as "
                         f"{new_dtype.name}: a narrower input needs a last axis of size "
                         f"{builtins.max(new, old) // builtins.min(new, old)}.")
    return ShapedArray(shape, new_dtype, False)


bitcast_convert_type_p.def_lowering(lambda x, *, new_dtype: lax.bitcast_convert_type(x, new_dtype))
defjvp_zero(bitcast_convert_type_p)


@bitcast_convert_type_p.def_batch
def _bitcast_batch(args, bdims, *, new_dtype):
    (x,), (d,) = args, bdims
    return bitcast_convert_type(moveaxis(x, d, 0), new_dtype), 0


def bitcast_convert_type(operand, new_dtype):
    """Reinterpret the bits of ``operand`` as ``new_dtype`` (lax.bitcast_convert_type):
    a narrower type adds a trailing axis, a wider one consumes it."""
    return bitcast_convert_type_p.bind(operand, new_dtype=_dtype_param(new_dtype))


# --- reduce_precision ---
reduce_precision_p = Primitive("reduce_precision")


@reduce_precision_p.def_abstract_eval
def _reduce_precision_aval(x, *, exponent_bits, mantissa_bits):
    check_kind("reduce_precision", (x,), REAL)
    if exponent_bits < 1 or mantissa_bits < 0:
        raise FxTypeError(f"reduce_precision needs exponent_bits >= 1 and mantissa_bits >= 0, "
                          f"got {exponent_bits} and {mantissa_bits}.")
    return x


reduce_precision_p.def_lowering(lambda x, **params: lax.reduce_precision(x, **params))
deflinear(reduce_precision_p)
deftranspose(reduce_precision_p, lambda ct, x, **params: reduce_precision_p.bind(ct, **params))
defbroadcasting(reduce_precision_p)


def reduce_precision(operand, exponent_bits, mantissa_bits):
    """Round ``operand`` to a float format with the given bit counts (lax.reduce_precision)."""
    return reduce_precision_p.bind(operand, exponent_bits=int(exponent_bits),
                                   mantissa_bits=int(mantissa_bits))


# --- stop_gradient ---
stop_gradient_p = unop("stop_gradient", ANY, lambda x: x)
defjvp_zero(stop_gradient_p)
defbroadcasting(stop_gradient_p)


def _stop(x):
    return stop_gradient_p.bind(x) if is_float(get_aval(x)) else x


def stop_gradient(x):
    """The identity, with a zero derivative (lax.stop_gradient); maps over pytrees,
    leaving integer and boolean leaves unchanged."""
    return tree_util.tree_map(_stop, x)
