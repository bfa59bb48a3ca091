"""fnp elementwise math against jax.numpy: values, dtypes and weak types (eager,
under jit, via the Graph) over f32/bf16/i32/bool arrays, broadcasting, 0-d
arrays and Python scalars; one row per function; plus errors."""
import numpy as np
import jax.numpy as jnp
import pytest

import fx
from oracle import chunks
import primitives.numpy as fnp
from fx.errors import ConcretizationError, FxTypeError, ShapeError
from transforms import jit
from fnp_check import BF16, arr, check_cases, check_variants

# --- unary: (name, input kind) ------------------------------------------------------------
UNARY = [
    ("negative", "any"), ("positive", "any"), ("abs", "any"), ("absolute", "any"),
    ("fabs", "any"), ("sign", "any"), ("exp", "any"), ("exp2", "any"), ("log", "pos"),
    ("log2", "pos"), ("log10", "pos"), ("log1p", "pos"), ("expm1", "any"), ("sqrt", "pos"),
    ("cbrt", "any"), ("square", "any"), ("reciprocal", "nz"), ("sin", "any"), ("cos", "any"),
    ("tan", "unit"), ("tanh", "any"), ("arcsin", "unit"), ("arccos", "unit"),
    ("arctan", "any"), ("sinh", "any"), ("cosh", "any"), ("arcsinh", "any"),
    ("arccosh", "gt1"), ("arctanh", "unit"), ("floor", "any"), ("ceil", "any"),
    ("round", "any"), ("rint", "any"), ("trunc", "any"), ("isfinite", "any"),
    ("isnan", "any"), ("isinf", "any"), ("isposinf", "any"), ("isneginf", "any"),
    ("signbit", "any"), ("logical_not", "any"), ("invert", "int"), ("bitwise_not", "int"),
    ("sinc", "any"), ("deg2rad", "any"), ("rad2deg", "any"), ("nan_to_num", "any"),
    ("real", "any"), ("imag", "any"), ("conj", "any"),
]
_PY = {"any": -1.25, "pos": 1.5, "unit": 0.5, "gt1": 2.0, "nz": -1.25, "int": 3}


def _unary_inputs(kind):
    k = "any" if kind == "int" else kind
    return [arr((2, 3), kind=k), arr((4,), BF16, k, seed=1), arr((3,), np.int32, k, seed=2),
            arr((2, 2), np.bool_, seed=3), arr((), kind=k, seed=4), _PY[kind], 2]


@pytest.mark.parametrize("name,kind", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, kind):
    check_variants(lambda m, x: getattr(m, name)(x), [(x,) for x in _unary_inputs(kind)])


# --- binary: (name, kind of x1, kind of x2) ---------------------------------------------------
BINARY = [
    ("add", "any", "any"), ("subtract", "any", "any"), ("multiply", "any", "any"),
    ("divide", "any", "nz"), ("true_divide", "any", "nz"), ("floor_divide", "any", "nz"),
    ("remainder", "any", "nz"), ("mod", "any", "nz"), ("fmod", "any", "nz"),
    ("power", "pos", "any"), ("maximum", "any", "any"), ("minimum", "any", "any"),
    ("arctan2", "any", "any"), ("hypot", "any", "any"), ("heaviside", "any", "any"),
    ("logaddexp", "any", "any"), ("equal", "any", "any"), ("not_equal", "any", "any"),
    ("less", "any", "any"), ("less_equal", "any", "any"), ("greater", "any", "any"),
    ("greater_equal", "any", "any"), ("logical_and", "any", "any"),
    ("logical_or", "any", "any"), ("logical_xor", "any", "any"),
    ("bitwise_and", "any", "any"), ("bitwise_or", "any", "any"),
    ("bitwise_xor", "any", "any"),
]


def _binary_inputs(k1, k2):
    return [
        (arr((2, 3), kind=k1), arr((2, 3), kind=k2, seed=1)),               # same shape
        (arr((3, 1), kind=k1), arr((4,), kind=k2, seed=1)),                 # broadcasting
        (arr((2, 3), np.int32, k1), arr((3,), np.int32, k2, seed=1)),       # ints
        (arr((3,), BF16, k1), 2.0),                                         # bf16, weak float
        (arr((3,), np.int32, k1), 2.5),                                     # int, weak float
        (arr((2,), np.bool_), arr((2,), np.bool_, seed=1)),                 # bools
        (arr((), kind=k1), arr((2,), np.int32, k2, seed=1)),                # 0-d f32, i32
        (arr((3,), BF16, k1), arr((3,), np.int32, k2, seed=1)),             # bf16 + i32
        (3, 2.0),                                                           # Python scalars
    ]


@pytest.mark.parametrize("name,k1,k2", BINARY, ids=[b[0] for b in BINARY])
def test_binary(name, k1, k2):
    check_variants(lambda m, x, y: getattr(m, name)(x, y), _binary_inputs(k1, k2))


# --- special cases: (id, f(m, *args), args) ---------------------------------------------------
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.5], np.float32)
HALVES = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.25], np.float32)
SIGNS = np.array([-7, -6, -1, 0, 1, 6, 7], np.int32)
DIVS = np.array([2, -2, 3, -3, 5, -4, 1], np.int32)

CASES = [
    ("round halves to even", lambda m, x: m.round(x), (HALVES,)),
    ("round decimals", lambda m, x: m.round(x, 2), (arr((5,)),)),
    ("round decimals bf16", lambda m, x: m.round(x, 1), (arr((5,), BF16),)),
    ("round int decimals", lambda m, x: m.round(x, 3), (SIGNS,)),
    ("around", lambda m, x: m.around(x, 1), (arr((5,)),)),
    ("rint halves", lambda m, x: m.rint(x), (HALVES,)),
    ("trunc halves", lambda m, x: m.trunc(x), (HALVES,)),
    ("floor_divide int signs", lambda m, x, y: m.floor_divide(x, y), (SIGNS, DIVS)),
    ("remainder int signs", lambda m, x, y: m.remainder(x, y), (SIGNS, DIVS)),
    ("fmod int signs", lambda m, x, y: m.fmod(x, y), (SIGNS, DIVS)),
    ("floor_divide float signs", lambda m, x, y: m.floor_divide(x, y),
     (SIGNS.astype(np.float32), DIVS.astype(np.float32))),
    ("remainder float signs", lambda m, x, y: m.remainder(x, y),
     (SIGNS.astype(np.float32) + 0.5, DIVS.astype(np.float32))),
    ("floor_divide uint", lambda m, x, y: m.floor_divide(x, y),
     (np.array([7, 8, 9], np.uint32), np.array([2, 3, 4], np.uint32))),
    ("divmod", lambda m, x, y: m.divmod(x, y), (SIGNS, DIVS)),
    ("divmod float", lambda m, x, y: m.divmod(x, y),
     ((SIGNS * 1.5).astype(np.float32), DIVS.astype(np.float32))),
    ("floor_divide by zero float", lambda m, x: m.floor_divide(x, 0.0), (HALVES,)),
    ("power int exponent", lambda m, x: m.power(x, 3), (arr((2, 3)),)),
    ("power negative int exponent", lambda m, x: m.power(x, -2), (arr((2, 3), kind="pos"),)),
    ("power int base int exponent", lambda m, x: m.power(x, 2), (SIGNS,)),
    ("power int arrays", lambda m, x, y: m.power(x, y),
     (SIGNS, np.array([0, 1, 2, 3, 4, 5, 6], np.int32))),
    ("power float base int array", lambda m, x, y: m.power(x, y),
     (arr((3,)), np.array([0, 1, 3], np.int32))),
    ("power bool exponent", lambda m, x: m.power(x, True), (arr((3,)),)),
    ("power numpy int exponent", lambda m, x: m.power(x, np.int32(2)), (arr((3,)),)),
    ("power scalar base", lambda m, x: m.power(2.0, x), (arr((3,)),)),
    ("power bf16", lambda m, x: m.power(x, 0.5), (arr((3,), BF16, "pos"),)),
    ("pow alias", lambda m, x: m.pow(x, 2), (arr((3,)),)),
    ("add bool is or", lambda m, x, y: m.add(x, y), (np.array([1, 0, 1], bool),
                                                     np.array([1, 1, 0], bool))),
    ("multiply bool is and", lambda m, x, y: m.multiply(x, y), (np.array([1, 0, 1], bool),
                                                               np.array([1, 1, 0], bool))),
    ("maximum nan", lambda m, x, y: m.maximum(x, y), (SPECIAL, SPECIAL[::-1].copy())),
    ("clip min", lambda m, x: m.clip(x, 0.5), (arr((2, 3)),)),
    ("clip max", lambda m, x: m.clip(x, max=1), (arr((2, 3)),)),
    ("clip both", lambda m, x: m.clip(x, -1, 1), (arr((2, 3)),)),
    ("clip arrays", lambda m, x, lo, hi: m.clip(x, lo, hi),
     (arr((2, 3)), arr((3,), seed=1), arr((2, 1), kind="pos", seed=2))),
    ("clip int by float", lambda m, x: m.clip(x, 1.5, 3), (SIGNS,)),
    ("clip bf16", lambda m, x: m.clip(x, -1.0, 1.0), (arr((4,), BF16),)),
    ("clip none", lambda m, x: m.clip(x), (arr((3,)),)),
    ("where", lambda m, c, x, y: m.where(c, x, y),
     (arr((2, 3), np.bool_), arr((2, 3)), arr((2, 3), seed=1))),
    ("where broadcast", lambda m, c, x, y: m.where(c, x, y),
     (arr((3, 1), np.bool_), arr((4,)), arr((3, 4), seed=1))),
    ("where scalars", lambda m, c: m.where(c, 1.0, 0), (arr((2, 3), np.bool_),)),
    ("where scalar cond", lambda m, x, y: m.where(True, x, y), (arr((3,)), arr((3,), seed=1))),
    ("where int cond", lambda m, c, x: m.where(c, x, -x), (SIGNS, SIGNS)),
    ("where promote", lambda m, c, x, y: m.where(c, x, y),
     (arr((3,), np.bool_), arr((3,), np.int32), arr((3,), BF16))),
    ("where traced scalar cond", lambda m, c, x: m.where(c, x, 0.0),
     (np.bool_(False), arr((2, 2)))),
    ("isnan specials", lambda m, x: m.isnan(x), (SPECIAL,)),
    ("isinf specials", lambda m, x: m.isinf(x), (SPECIAL,)),
    ("isfinite specials", lambda m, x: m.isfinite(x), (SPECIAL,)),
    ("isposinf specials", lambda m, x: m.isposinf(x), (SPECIAL,)),
    ("signbit specials", lambda m, x: m.signbit(x), (SPECIAL,)),
    ("nan_to_num specials", lambda m, x: m.nan_to_num(x), (SPECIAL,)),
    ("nan_to_num values", lambda m, x: m.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0),
     (SPECIAL,)),
    ("nan_to_num bf16", lambda m, x: m.nan_to_num(x), (SPECIAL.astype(BF16),)),
    ("hypot specials", lambda m, x, y: m.hypot(x, y), (SPECIAL, SPECIAL[::-1].copy())),
    ("heaviside specials", lambda m, x: m.heaviside(x, 0.5), (SPECIAL,)),
    ("logaddexp infs", lambda m, x, y: m.logaddexp(x, y), (SPECIAL, SPECIAL)),
    ("sinc zero", lambda m, x: m.sinc(x), (np.array([0.0, 0.5, -1.0], np.float32),)),
    ("log specials", lambda m, x: m.log(x), (SPECIAL,)),
    ("logical ops on floats", lambda m, x, y: m.logical_xor(x, y), (SPECIAL, HALVES)),
    ("bitwise ints", lambda m, x, y: m.bitwise_xor(x, y), (SIGNS, DIVS)),
    ("invert bool", lambda m, x: m.invert(x), (np.array([True, False]),)),
    ("comparison mixed", lambda m, x, y: m.less(x, y), (SIGNS, HALVES)),
    ("equal weak int", lambda m, x: m.equal(x, 2), (arr((3,), BF16),)),
    ("degrees radians", lambda m, x: m.radians(m.degrees(x)), (arr((3,)),)),
    ("ops compose weak", lambda m, x: m.sqrt(m.add(m.multiply(x, 2), 1.0)), (1.5,)),
    ("uint8 add", lambda m, x, y: m.add(x, y),
     (np.array([250, 3], np.uint8), np.array([10, 4], np.uint8))),
    ("int8 weak", lambda m, x: m.multiply(x, 3), (np.array([40, -3], np.int8),)),
]
IDS = [c[0] for c in CASES]
assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("cases", chunks(CASES))
def test_special_cases(cases):
    """Each case eagerly, then the group in one jit and one typechecked Graph."""
    assert check_cases([(f, args) for _, f, args in cases], eager="all",
                       names=[name for name, _, _ in cases]) == len(cases), \
        "jax.numpy rejected a case"


# --- graph structure --------------------------------------------------------------------------
def test_power_concrete_int_uses_integer_pow():
    g = fx.make_graph(lambda x: fnp.power(x, 3))(arr((3,)))
    assert [e.primitive.name for e in g.equations] == ["integer_pow"]


def test_same_dtype_binop_is_one_equation():
    g = fx.make_graph(lambda x, y: fnp.add(x, y))(arr((3,)), arr((3,)))
    assert [e.primitive.name for e in g.equations] == ["add"]


def test_scalar_types_are_dtypes():
    assert np.dtype(fnp.float32) == np.float32 and fnp.bfloat16.dtype == jnp.bfloat16
    assert fnp.float32 == np.float32 and isinstance(np.float32(1), fnp.float32)
    out = fnp.int32(3.7)
    assert out.dtype == np.int32 and int(out) == 3


# --- errors -----------------------------------------------------------------------------------
def test_error_broadcast_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"add.*\(3,\).*\(4,\)"):
        fnp.add(np.ones(3, np.float32), np.ones(4, np.float32))
    with pytest.raises(ShapeError, match=r"where"):
        fnp.where(np.ones((2,), bool), np.ones(3), np.ones(3))


def test_error_under_tracing_names_op():
    with pytest.raises(ShapeError, match=r"multiply.*\(2, 3\).*\(2,\)"):
        fx.make_graph(lambda x, y: fnp.multiply(x, y))(arr((2, 3)), arr((2,)))


def test_error_bitwise_on_float():
    with pytest.raises(FxTypeError, match=r"f32\[3\]"):
        fnp.bitwise_and(arr((3,)), arr((3,)))


def test_error_where_one_argument():
    # one argument: nonzero (tests/numpy/test_nonzero.py); under jit it needs size=
    with pytest.raises(ConcretizationError, match="size=N"):
        jit(lambda c: fnp.where(c))(np.ones(3, bool))
    with pytest.raises(ValueError, match="both or neither"):
        fnp.where(np.ones(3, bool), 1.0)


def test_error_clip_no_input():
    with pytest.raises(ValueError, match="No input"):
        fnp.clip()


def test_error_subtract_bool():
    with pytest.raises(FxTypeError, match=r"sub.*bool"):
        fnp.subtract(np.ones(2, bool), np.ones(2, bool))
