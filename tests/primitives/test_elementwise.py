"""Elementwise primitives (primitives.elementwise, primitives.elementwise_math) vs jax.lax.

One table row per primitive/case: (name, ours, theirs, dtypes, operand domains).
Each row is checked on scalar, (3,) and (2, 3) operands (every accepted dtype on
(2, 3)), then under jvp, vmap and linear_transpose against jax's transforms.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import jax
import jax.numpy as jnp
from jax import lax

import fx
import primitives as P
from fx.errors import FxTypeError, ShapeError
from transforms import grad, hessian, jvp, vmap
from oracle import (Case, assert_cases_jvp_matches, assert_cases_same_as_jax,
                    assert_cases_transpose_matches, assert_cases_vmap_matches, assert_jvp_matches,
                    assert_same_as_jax, assert_trees_close, assert_vmap_matches)

# the jvp / vmap / transpose tables: ours eagerly for every fourth case, the others
# in one transforms.jit (JAX's in one jax.jit)
EAGER_EVERY = 4

F32, BF16 = np.dtype(np.float32), np.dtype(jnp.bfloat16)
I32, BOOL = np.dtype(np.int32), np.dtype(bool)
FLOATS = (F32, BF16)
NUMS = (F32, BF16, I32)
ALL = (F32, BF16, I32, BOOL)
INT_OR_BOOL = (I32, BOOL)


# --- operand generators --------------------------------------------------------
def _floats(rng, shape, domain):
    lo_hi = {"any": (-2.0, 2.0), "pos": (0.5, 3.0), "unit": (-0.9, 0.9), "ge1": (1.1, 3.0)}
    if domain == "nonzero":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 3.0, shape)
    if domain == "halves":
        return rng.integers(-6, 7, shape) / 2.0
    if domain == "lo":
        return rng.uniform(-1.5, -0.5, shape)
    if domain == "hi":
        return rng.uniform(0.5, 1.5, shape)
    return rng.uniform(*lo_hi[domain], shape)


def _ints(rng, shape, domain):
    if domain in ("pos", "shift"):
        return rng.integers(1 if domain == "pos" else 0, 6, shape)
    if domain == "nonzero":
        return rng.choice([-1, 1], shape) * rng.integers(1, 6, shape)
    if domain == "lo":
        return rng.integers(-3, -1, shape)
    if domain == "hi":
        return rng.integers(1, 3, shape)
    return rng.integers(-5, 6, shape)


def make_arg(rng, shape, dtype, domain):
    """An operand of ``shape``/``dtype`` in ``domain``. Domains that fix the dtype:
    'bool' (a select_n which), 'which3' (int32 in [0, 3)), 'int' (int32 exponent)."""
    if domain == "bool":
        return rng.random(shape) < 0.5
    if domain == "which3":
        return rng.integers(0, 3, shape).astype(np.int32)
    if domain == "int":
        return rng.integers(-2, 4, shape).astype(np.int32)
    if dtype == BOOL:
        return rng.random(shape) < 0.5
    if dtype == I32:
        return _ints(rng, shape, domain).astype(np.int32)
    return np.asarray(_floats(rng, shape, domain), np.float32).astype(dtype)


# --- the table -----------------------------------------------------------------
def op(name, dtypes, *domains, ours=None, theirs=None):
    """A table row; ``ours``/``theirs`` default to P.<name> / lax.<name>."""
    return pytest.param(name, ours or getattr(P, name), theirs or getattr(lax, name), dtypes,
                        domains, id=name)


def unary(name, dtypes, domain="any"):
    return op(name, dtypes, domain)


def with_params(name, fn_name, dtypes, domains, *args, **kwargs):
    return op(name, dtypes, *domains,
              ours=lambda *xs: getattr(P, fn_name)(*xs, *args, **kwargs),
              theirs=lambda *xs: getattr(lax, fn_name)(*xs, *args, **kwargs))


# lax.log2 / lax.one_minus_square are jax >= 0.11 primitives; on jax 0.10 the oracle
# is the formula they lower to
LAX_LOG2 = getattr(lax, "log2", None) or (
    lambda x: lax.mul(lax.log(x), lax.full_like(x, 1.4426950408889634)))
LAX_ONE_MINUS_SQUARE = getattr(lax, "one_minus_square", None) or (
    lambda x: lax.mul(lax.add(lax.full_like(x, 1), x), lax.sub(lax.full_like(x, 1), x)))

OPS = [
    # arithmetic
    op("add", NUMS, "any", "any"), op("sub", NUMS, "any", "any"), op("mul", NUMS, "any", "any"),
    op("div", NUMS, "any", "nonzero"), op("rem", NUMS, "any", "nonzero"),
    unary("neg", NUMS), unary("abs", NUMS), unary("sign", NUMS),
    op("max", ALL, "any", "any"), op("min", ALL, "any", "any"),
    op("pow", FLOATS, "pos", "any"),
    op("pow_int_exponent", FLOATS, "any", "int", ours=P.pow, theirs=lax.pow),
    with_params("integer_pow", "integer_pow", NUMS, ("any",), 3),
    with_params("integer_pow_neg", "integer_pow", FLOATS, ("nonzero",), -2),
    unary("square", NUMS), unary("reciprocal", FLOATS, "nonzero"),
    op("one_minus_square", NUMS, "any", theirs=LAX_ONE_MINUS_SQUARE),
    # transcendental
    unary("exp", FLOATS), unary("exp2", FLOATS), unary("log", FLOATS, "pos"),
    op("log2", FLOATS, "pos", theirs=LAX_LOG2),
    unary("log1p", FLOATS, "pos"), unary("expm1", FLOATS),
    unary("sin", FLOATS), unary("cos", FLOATS), unary("tan", FLOATS, "unit"),
    unary("tanh", FLOATS), unary("asin", FLOATS, "unit"), unary("acos", FLOATS, "unit"),
    unary("atan", FLOATS), op("atan2", FLOATS, "any", "nonzero"),
    unary("sinh", FLOATS), unary("cosh", FLOATS), unary("asinh", FLOATS),
    unary("acosh", FLOATS, "ge1"), unary("atanh", FLOATS, "unit"), unary("logistic", FLOATS),
    unary("erf", FLOATS), unary("erfc", FLOATS), unary("erf_inv", FLOATS, "unit"),
    unary("sqrt", FLOATS, "pos"), unary("rsqrt", FLOATS, "pos"), unary("cbrt", FLOATS, "nonzero"),
    # rounding and classification
    unary("floor", FLOATS), unary("ceil", FLOATS), unary("round", FLOATS, "halves"),
    with_params("round_to_nearest_even", "round", FLOATS, ("halves",),
                lax.RoundingMethod.TO_NEAREST_EVEN),
    unary("is_finite", FLOATS), op("nextafter", FLOATS, "any", "any"),
    # comparisons
    op("eq", ALL, "halves", "halves"), op("ne", ALL, "halves", "halves"),
    op("lt", ALL, "halves", "halves"), op("le", ALL, "halves", "halves"),
    op("gt", ALL, "halves", "halves"), op("ge", ALL, "halves", "halves"),
    # selection
    op("select_n", ALL, "bool", "any", "any"),
    op("select_n_int_which", ALL, "which3", "any", "any", "any", ours=P.select_n,
       theirs=lax.select_n),
    op("clamp", (F32, BF16, I32), "lo", "any", "hi"),
    # bitwise
    op("bitwise_and", INT_OR_BOOL, "any", "any"), op("bitwise_or", INT_OR_BOOL, "any", "any"),
    op("bitwise_xor", INT_OR_BOOL, "any", "any"), unary("bitwise_not", INT_OR_BOOL),
    op("shift_left", (I32,), "any", "shift"), op("shift_right_logical", (I32,), "any", "shift"),
    op("shift_right_arithmetic", (I32,), "any", "shift"),
    unary("population_count", (I32,)), unary("clz", (I32,)),
    # conversions
    with_params("convert_to_f32", "convert_element_type", ALL, ("any",), np.float32),
    with_params("convert_to_bf16", "convert_element_type", ALL, ("any",), jnp.bfloat16),
    with_params("convert_to_i32", "convert_element_type", ALL, ("any",), np.int32),
    with_params("convert_to_bool", "convert_element_type", ALL, ("any",), np.bool_),
    with_params("bitcast_f32_to_i32", "bitcast_convert_type", (F32,), ("any",), np.int32),
    with_params("bitcast_i32_to_f32", "bitcast_convert_type", (I32,), ("any",), np.float32),
    with_params("bitcast_f32_to_bf16", "bitcast_convert_type", (F32,), ("any",), jnp.bfloat16),
    with_params("reduce_precision", "reduce_precision", FLOATS, ("any",), 5, 10),
    unary("stop_gradient", ALL),
]


def _cases(name, ours, theirs, dtypes, domains):
    """The row's first dtype on (), (3,), and every dtype on (2, 3)."""
    out = []
    for shape, dts in (((), dtypes[:1]), ((3,), dtypes[:1]), ((2, 3), dtypes)):
        for dt in dts:
            rng = np.random.default_rng(0)
            args = [make_arg(rng, shape, dt, d) for d in domains]
            out.append(Case(f"{name}-{dt.name}{list(shape)}", ours, theirs, args))
    return out


@pytest.mark.parametrize("name, ours, theirs, dtypes, domains", OPS)
def test_matches_lax(name, ours, theirs, dtypes, domains):
    """Every shape/dtype case of the row: eager values and dtypes each, then all
    cases in one jit and one typechecked Graph (one compile per side for the row)."""
    assert_cases_same_as_jax(_cases(name, ours, theirs, dtypes, domains), jax_eager=False)


def test_bitcast_consumes_trailing_axis():
    x = np.ones((3, 2), jnp.bfloat16)
    assert_same_as_jax(lambda x: P.bitcast_convert_type(x, np.float32),
                       lambda x: lax.bitcast_convert_type(x, np.float32), x)


def test_stop_gradient_maps_over_pytrees():
    tree = {"a": np.ones(3, np.float32), "b": np.arange(3, dtype=np.int32)}
    assert_same_as_jax(P.stop_gradient, lax.stop_gradient, tree)


def test_scalar_which_and_bounds():
    rng = np.random.default_rng(1)
    x, y = make_arg(rng, (2, 3), F32, "any"), make_arg(rng, (2, 3), F32, "any")
    assert_same_as_jax(P.select_n, lax.select_n, np.bool_(True), x, y)
    assert_same_as_jax(P.select_n, lax.select_n, np.int32(1), x, y)
    assert_same_as_jax(P.clamp, lax.clamp, np.float32(-0.5), x, np.float32(0.5))


# --- Python scalar operands (weak types) ---------------------------------------
SCALAR_OPS = [("add", 2.0), ("sub", 2.0), ("mul", 2.0), ("div", 2.0), ("rem", 1.5), ("max", 0.5),
              ("min", 0.5), ("pow", 2.0), ("pow", 2), ("atan2", 1.5), ("nextafter", 1.0),
              ("eq", 1.0), ("lt", 0.5), ("ge", 0.5)]
INT_SCALAR_OPS = [("add", 2), ("mul", 3), ("div", 2), ("max", 1), ("shift_left", 2),
                  ("bitwise_and", 6), ("shift_right_arithmetic", 1)]


@pytest.mark.parametrize("dtype", [F32, BF16], ids=["f32", "bf16"])
@pytest.mark.parametrize("name, s", SCALAR_OPS, ids=[f"{n}-{s!r}" for n, s in SCALAR_OPS])
def test_python_scalar_operand(name, s, dtype):
    x = make_arg(np.random.default_rng(2), (2, 3), dtype, "pos")
    ours, theirs = getattr(P, name), getattr(lax, name)
    t = np.asarray(s, dtype) if isinstance(s, float) else s  # lax rejects bf16 with a weak f32
    assert_same_as_jax(lambda x: ours(x, s), lambda x: theirs(x, t), x, jit=dtype == F32)
    if name != "pow" or isinstance(s, float):
        assert_same_as_jax(lambda x: ours(s, x), lambda x: theirs(t, x), x, jit=dtype == F32)


@pytest.mark.parametrize("name, s", INT_SCALAR_OPS, ids=[f"{n}-{s!r}" for n, s in INT_SCALAR_OPS])
def test_python_int_scalar_operand(name, s):
    x = make_arg(np.random.default_rng(3), (3,), I32, "pos")
    ours, theirs = getattr(P, name), getattr(lax, name)
    assert_same_as_jax(lambda x: ours(x, s), lambda x: theirs(x, s), x)


@pytest.mark.parametrize("name, args", [("add", (1.5, 2.0)), ("mul", (3, 4)), ("sin", (0.5,)),
                                        ("integer_pow", (1.5, 3)), ("lt", (1.0, 2.0)),
                                        ("select_n", (True, 1.0, 2.0))])
def test_all_python_scalars_are_weak(name, args):
    fn = getattr(P, name)
    if name == "integer_pow":
        got, exp = fn(*args), lax.integer_pow(*args)
    else:
        got, exp = fn(*args), getattr(lax, name)(*args)
    assert_trees_close(got, exp)
    if name not in ("lt", "select_n"):
        assert got.weak_type == exp.weak_type


def test_graph_prints_without_accuracy_param():
    g = fx.make_graph(lambda x: P.exp(P.max(x, 0.0)))(np.ones(3, np.float32))
    assert "b:f32[3] = max a 0.0:f32[]" in str(g)
    assert "c:f32[3] = exp b" in str(g)


def test_accuracy_param_passes_through():
    x = np.linspace(0.1, 1.0, 4, dtype=np.float32)
    acc = lax.Tolerance(rtol=1e-4)
    assert_same_as_jax(lambda x: P.exp(x, accuracy=acc), lambda x: lax.exp(x, accuracy=acc), x)


# --- errors --------------------------------------------------------------------
def _make(fn, *args):
    return lambda: fx.make_graph(fn)(*args)


F3, F4, I3 = np.ones(3, np.float32), np.ones(4, np.float32), np.ones(3, np.int32)
B3 = np.ones(3, bool)
_SAME_DTYPE = r"add requires operands of the same dtype.*f32\[3\], i32\[3\]"
ERRORS = [
    ("add_shapes", lambda: P.add(F3, F4), ShapeError, r"add .*f32\[3\], f32\[4\]"),
    ("add_shapes_traced", _make(P.add, F3, F4), ShapeError, r"add .*f32\[3\], f32\[4\].*\n.*at "),
    ("add_dtypes", lambda: P.add(F3, I3), FxTypeError, _SAME_DTYPE),
    ("add_dtypes_traced", _make(P.add, F3, I3), FxTypeError, _SAME_DTYPE),
    ("sin_int", lambda: P.sin(I3), FxTypeError, r"sin requires floating-point .*i32\[3\]"),
    ("sin_int_traced", _make(P.sin, I3), FxTypeError, r"sin requires floating-point .*i32\[3\]"),
    ("floor_int", _make(P.floor, I3), FxTypeError, r"floor requires floating-point .*i32\[3\]"),
    ("neg_bool", _make(P.neg, B3), FxTypeError, r"neg requires .*bool\[3\]"),
    ("shift_float", _make(P.shift_left, F3, F3), FxTypeError, r"shift_left requires .*integer"),
    ("pow_int_base", _make(P.pow, I3, I3), FxTypeError, r"pow requires floating-point .*i32\[3\]"),
    ("integer_pow_neg_int", lambda: P.integer_pow(I3, -2), FxTypeError,
     r"integer_pow.*negative.*i32\[3\]"),
    ("select_n_bool_3", _make(P.select_n, B3, F3, F3, F3), FxTypeError,
     r"select_n .*boolean .*2 cases"),
    ("select_n_shapes", lambda: P.select_n(B3, F3, F4), ShapeError,
     r"select_n .*f32\[3\], f32\[4\]"),
    ("select_n_float_which", _make(P.select_n, F3, F3, F3), FxTypeError, r"select_n `which`"),
    ("clamp_shapes", lambda: P.clamp(F4, F3, 1.0), ShapeError,
     r"clamp .*min f32\[4\] and operand f32\[3\]"),
    ("bitcast_shape", _make(lambda x: P.bitcast_convert_type(x, np.float32),
                            np.ones((3, 3), jnp.bfloat16)),
     ShapeError, r"bitcast_convert_type .*bf16\[3,3\]"),
]


@pytest.mark.parametrize("name, thunk, err, match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, thunk, err, match):
    with pytest.raises(err, match=match):
        thunk()


# --- transforms ----------------------------------------------------------------
NO_JVP = {"nextafter"}  # as in JAX: no differentiation rule


def _float_rows():
    return [r for r in OPS if F32 in r.values[3]]


def _jvp_case(name, ours, theirs, domains, scalar_y):
    """(primals, tangents, float_in, standard): standard when every input and the
    output are floating (the plain oracle comparison)."""
    rng = np.random.default_rng(4)
    shapes = [(3,)] * len(domains)
    if scalar_y:
        shapes[-1] = ()
    primals = [make_arg(rng, s, F32, d) for s, d in zip(shapes, domains)]
    float_in = [np.dtype(p.dtype).kind == "f" for p in primals]
    tangents = [make_arg(rng, s, F32, "any") if f else np.zeros(s, jax.dtypes.float0)
                for s, f in zip(shapes, float_in)]
    standard = (name not in NO_JVP and all(float_in)
                and np.dtype(jax.eval_shape(theirs, *primals).dtype).kind == "f")
    return primals, tangents, float_in, standard


def _jvp_rows():
    """(id, name, ours, theirs, domains, scalar_y), a binary op also with a broadcast
    rank-0 second operand."""
    out = []
    for row in _float_rows():
        name, ours, theirs, dtypes, domains = row.values
        out.append((name, name, ours, theirs, domains, False))
        if len(domains) == 2:
            out.append((f"{name}-scalar_y", name, ours, theirs, domains, True))
    return out


JVP_ROWS = _jvp_rows()
JVP_SPECIAL = [r for r in JVP_ROWS if not _jvp_case(*r[1:])[3]]


def test_jvp():
    """Float inputs and outputs: ours eagerly row by row, JAX's in one jax.jit."""
    cases = []
    for case, name, ours, theirs, domains, scalar_y in JVP_ROWS:
        primals, tangents, _, standard = _jvp_case(name, ours, theirs, domains, scalar_y)
        if standard:
            cases.append((case, ours, theirs, primals, tangents))
    assert_cases_jvp_matches(cases, rtol=2e-5, atol=2e-6, eager_every=EAGER_EVERY)


@pytest.mark.parametrize("name, ours, theirs, domains, scalar_y", [r[1:] for r in JVP_SPECIAL],
                         ids=[r[0] for r in JVP_SPECIAL])
def test_jvp_special(name, ours, theirs, domains, scalar_y):
    """No jvp rule (as JAX), integer-valued outputs (zero tangents) and non-float inputs."""
    primals, tangents, float_in, _ = _jvp_case(name, ours, theirs, domains, scalar_y)
    if name in NO_JVP:
        with pytest.raises(NotImplementedError, match=f"no jvp rule for {name}"):
            jvp(ours, primals, tangents)
        return
    expected = jax.jvp(theirs, primals, tangents)
    ours_t = [t if f else np.zeros(t.shape, p.dtype)
              for p, t, f in zip(primals, tangents, float_in)]
    got = jvp(ours, primals, ours_t)
    assert_trees_close(got[0], expected[0], what="primal")
    if expected[1].dtype == jax.dtypes.float0:
        assert not np.any(np.asarray(got[1])), "integer-valued output needs a zero tangent"
    else:
        assert_trees_close(got[1], expected[1], what="tangent")


@pytest.mark.parametrize("fn", [P.max, P.min], ids=["max", "min"])
def test_max_min_jvp_splits_ties(fn):
    x = np.array([1.0, 2.0, 3.0], np.float32)
    y = np.array([1.0, 5.0, 0.0], np.float32)
    theirs = lax.max if fn is P.max else lax.min
    t = np.ones(3, np.float32)
    got = assert_jvp_matches(fn, theirs, (x, y), (t, 3 * t))
    assert float(got[1][0]) == 2.0  # 0.5 * 1 + 0.5 * 3


def test_abs_jvp_at_the_kink_is_one():
    """JAX's abs derivative is 1 at 0 and -0 (x >= 0), -1 at NaN (found by the fuzz test)."""
    x = np.array([-1.0, 0.0, -0.0, 1.0, np.inf, -np.inf, np.nan], np.float32)
    got = assert_jvp_matches(P.abs, lax.abs, (x,), (np.ones_like(x),))
    assert float(got[1][1]) == 1.0


def _vmap_cases():
    out = []
    for row in OPS:
        name, ours, theirs, dtypes, domains = row.values
        if name.startswith("bitcast_f32_to_bf16"):
            continue  # covered by test_vmap_bitcast_adds_axis
        modes = ("all0", "first1") + (("scalar_first", "scalar_rest") if len(domains) >= 2 else ())
        out += [pytest.param(name, ours, theirs, dtypes[0], domains, mode, id=f"{name}-{mode}")
                for mode in modes]
    return out


def _vmap_case(name, ours, theirs, dtype, domains, mode):
    rng = np.random.default_rng(5)
    n = len(domains)
    if mode == "all0":
        shapes, in_axes = [(2, 3)] * n, (0,) * n
    elif mode == "first1":
        shapes, in_axes = [(3, 2)] + [(3,)] * (n - 1), (1,) + (None,) * (n - 1)
    else:
        rest = (3,) if mode == "scalar_first" else ()
        shapes, in_axes = [(2,)] + [rest] * (n - 1), (0,) + (None,) * (n - 1)
    args = [make_arg(rng, s, dtype, d) for s, d in zip(shapes, domains)]
    return f"{name}-{mode}", ours, theirs, in_axes, args


def _vmap_groups():
    """The cases grouped by the first letter of the op (a few dozen ops each)."""
    groups = {}
    for case in _vmap_cases():
        groups.setdefault(case.values[0][0], []).append(case.values)
    return [pytest.param(g, id=k) for k, g in sorted(groups.items())]


@pytest.mark.parametrize("cases", _vmap_groups())
def test_vmap(cases):
    """all0: every operand batched at axis 0; first1: the first batched at axis 1,
    the others unbatched; scalar_first: the first a batched per-example scalar,
    the others unbatched (3,) arrays (the per-example output is (3,)); scalar_rest:
    the first batched, the others unbatched scalars. Ours eagerly case by case,
    JAX's in one jax.jit per group."""
    assert_cases_vmap_matches([_vmap_case(*c) for c in cases], eager_every=EAGER_EVERY)


def test_vmap_bitcast_adds_axis():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    f = lambda x: P.bitcast_convert_type(x, jnp.bfloat16)
    assert_vmap_matches(f, lambda x: lax.bitcast_convert_type(x, jnp.bfloat16), 1, x)


def test_vmap_unbatched_scalar_stays_scalar():
    x = np.ones((4, 3), np.float32)
    g = fx.make_graph(lambda x: vmap(lambda v: P.mul(v, 2.0))(x))(x)
    assert "broadcast_in_dim" not in str(g)


_X3 = np.array([1.0, -2.0, 0.5], np.float32)
_Y3 = np.array([2.0, 4.0, -1.0], np.float32)
_W3 = np.array([True, False, True])
TRANSPOSE = [
    ("add", lambda a, b: P.add(a, b), lambda a, b: lax.add(a, b), (_X3, _Y3)),
    ("add_scalar_linear", lambda a: P.add(a, _Y3), lambda a: lax.add(a, _Y3), (np.float32(1),)),
    ("sub", lambda a, b: P.sub(a, b), lambda a, b: lax.sub(a, b), (_X3, _Y3)),
    ("sub_scalar_linear", lambda a: P.sub(_Y3, a), lambda a: lax.sub(_Y3, a), (np.float32(1),)),
    ("neg", P.neg, lax.neg, (_X3,)),
    ("mul_x", lambda a: P.mul(a, _Y3), lambda a: lax.mul(a, _Y3), (_X3,)),
    ("mul_y", lambda a: P.mul(_Y3, a), lambda a: lax.mul(_Y3, a), (_X3,)),
    ("mul_scalar_linear", lambda a: P.mul(a, _Y3), lambda a: lax.mul(a, _Y3), (np.float32(1),)),
    ("mul_python_scalar", lambda a: P.mul(a, 3.0), lambda a: lax.mul(a, 3.0), (_X3,)),
    ("div", lambda a: P.div(a, _Y3), lambda a: lax.div(a, _Y3), (_X3,)),
    ("convert_to_bf16", lambda a: P.convert_element_type(a, jnp.bfloat16),
     lambda a: lax.convert_element_type(a, jnp.bfloat16), (_X3,)),
    ("reduce_precision", lambda a: P.reduce_precision(a, 5, 10),
     lambda a: lax.reduce_precision(a, 5, 10), (_X3,)),
    ("select_n_both", lambda a, b: P.select_n(_W3, a, b), lambda a, b: lax.select_n(_W3, a, b),
     (_X3, _Y3)),
    ("select_n_one", lambda a: P.select_n(_W3, _Y3, a), lambda a: lax.select_n(_W3, _Y3, a),
     (_X3,)),
]


def test_transpose():
    ct = np.array([1.0, 2.0, -3.0], np.float32)
    assert_cases_transpose_matches([
        (name, ours, theirs, primals, ct.astype(jnp.bfloat16) if name == "convert_to_bf16" else ct)
        for name, ours, theirs, primals in TRANSPOSE], eager_every=EAGER_EVERY)


def _composite(m, x):
    """A scalar function of x using many of the family's rules; ``m`` is P or lax."""
    y = m.mul(m.sin(x), m.exp(x))
    y = m.add(y, m.div(m.atan2(x, 1.5), m.add(1.0, m.square(x))))
    y = m.add(y, m.pow(m.add(m.abs(x), 1.0), x))
    y = m.add(y, m.logistic(m.erf(x)))
    y = m.add(y, m.integer_pow(m.tanh(x), 3))
    y = m.add(y, m.rem(m.mul(x, 3.0), 1.1))
    y = m.add(y, m.clamp(-0.5, m.sqrt(m.add(m.square(x), 1.0)), 1.1))
    y = m.add(y, m.select_n(m.lt(x, 0.0), m.cbrt(m.add(x, 2.0)), m.max(x, 0.25)))
    return P.reduce_sum(y, (0,)) if m is P else jnp.sum(y)


def test_higher_order_through_family():
    """hessian and vmap(grad) of a composition: the jvp rules are themselves differentiable
    and batchable."""
    x = np.array([0.3, -0.7, 1.2], np.float32)
    ours, theirs = partial(_composite, P), partial(_composite, lax)
    xs = np.stack([x, 2 * x])
    # JAX's in one jax.jit (eagerly, each of its many small ops would compile on its own)
    exp_hessian, exp_vmap_grad = jax.jit(
        lambda x, xs: (jax.hessian(theirs)(x), jax.vmap(jax.grad(theirs))(xs)))(x, xs)
    assert_trees_close(hessian(ours)(x), exp_hessian, rtol=1e-5, atol=1e-5)
    assert_trees_close(vmap(grad(ours))(xs), exp_vmap_grad, rtol=1e-5, atol=1e-6)
