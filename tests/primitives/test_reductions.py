"""Reductions family vs jax.lax: values, dtypes, errors, jvp, vmap, transpose, vjp."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp
from jax import lax

import fx
import primitives as P
import transforms as T
from fx.errors import FxTypeError, ShapeError
from oracle import (assert_cases_jvp_matches, assert_cases_same_as_jax,
                    assert_cases_transpose_matches, assert_cases_vmap_matches, assert_jvp_matches,
                    assert_trees_close, assert_vmap_matches, groups_by_prefix)

# the jvp / vmap / transpose tables: ours eagerly for every fourth case, the others
# in one transforms.jit (JAX's in one jax.jit)
EAGER_EVERY = 4

F32, BF16, I32, BOOL = np.float32, jnp.bfloat16, np.int32, np.bool_
REDUCE = ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod"]
LOGICAL = ["reduce_and", "reduce_or", "reduce_xor"]
ARG = ["argmax", "argmin"]
CUM = ["cumsum", "cumprod", "cummax", "cummin"]


def _rand(shape, dtype=F32, seed=0):
    rng = np.random.default_rng(seed + 31 * len(shape) + int(np.prod(shape)))
    kind = np.dtype(dtype).kind
    if kind == "b":
        return rng.random(shape) < 0.5
    if kind in "iu":
        return rng.integers(-5, 6, size=shape).astype(dtype)
    return jnp.asarray(rng.standard_normal(shape).astype(np.float32), dtype)


def _ops(name, *params, theirs_params=None, seq=False, **kw):
    """(ours, theirs): the same call on primitives and jax.lax. ``theirs_params``
    replaces the params on the jax side (jax.lax rejects negative axes);
    ``seq`` passes the arrays as one tuple operand (sort)."""
    tp = params if theirs_params is None else theirs_params
    if seq:
        return (lambda *xs: getattr(P, name)(xs, *params, **kw),
                lambda *xs: getattr(lax, name)(xs, *tp, **kw))
    return (lambda *xs: getattr(P, name)(*xs, *params, **kw),
            lambda *xs: getattr(lax, name)(*xs, *tp, **kw))


def _with_nan(shape):
    x = np.array(_rand(shape))
    x.flat[1] = np.nan
    x.flat[-1] = np.inf
    return x


def _ties(shape, dtype=F32):
    """Few distinct values: ties along every axis."""
    return np.asarray(_rand(shape, I32) % 3, dtype)


# (id, ours, theirs, args): one row per op and case
CASES = [
    *[(f"{op}-{tag}", *_ops(op, axes), _rand(shape, dt)) for op in REDUCE
      for tag, shape, dt, axes in [
          ("f32_two_axes", (2, 3, 4), F32, (0, 2)), ("bf16", (3, 4), BF16, (1,)),
          ("i32_all_axes", (3, 4), I32, (0, 1)), ("f32_0d", (), F32, ()),
          ("f32_no_axes", (2, 3), F32, ()), ("f32_empty_axis", (0, 3), F32, (0,))]],
    *[(f"{op}-bool", *_ops(op, (0,)), _rand((3, 4), BOOL)) for op in ("reduce_max", "reduce_min")],
    *[(f"{op}-negative_axis", *_ops(op, (-1,), theirs_params=((2,),)), _rand((2, 3, 4)))
      for op in REDUCE],
    ("reduce_max-nan", *_ops("reduce_max", (1,)), _with_nan((2, 3))),
    *[(f"{op}-{tag}", *_ops(op, axes), _rand(shape, dt)) for op in LOGICAL
      for tag, shape, dt, axes in [("bool", (3, 4), BOOL, (1,)), ("i32", (2, 3), I32, (0,)),
                                   ("bool_0d", (), BOOL, ()), ("i32_all", (2, 3), I32, (1, 0))]],
    *[(f"{op}-{tag}", *_ops(op, *params, theirs_params=tp), x) for op in ARG
      for tag, x, params, tp in [
          ("f32", _rand((3, 4)), (1, I32), None), ("i32_ties", _rand((3, 4), I32), (0, I32), None),
          ("bf16", _rand((5,), BF16), (0, I32), None), ("bool", _rand((2, 5), BOOL), (1, I32), None),
          ("nan", _with_nan((2, 3)), (1, I32), None), ("int16_index", _rand((4, 2)), (0, np.int16), None),
          ("negative_axis", _rand((2, 3, 4)), (-2, I32), (1, I32))]],
    *[(f"{op}-{tag}", *_ops(op, *params, theirs_params=tp), x) for op in CUM
      for tag, x, params, tp in [
          ("f32_axis1", _rand((3, 4)), (1,), None), ("f32_reverse", _rand((3, 4)), (0, True), None),
          ("i32", _rand((3, 4), I32), (0,), None), ("bf16", _rand((5,), BF16), (), None),
          ("negative_axis", _rand((2, 3, 4)), (-1, True), (2, True)),
          ("empty_axis", _rand((0, 2)), (0,), None)]],
    *[(f"cumlogsumexp-{tag}", *_ops("cumlogsumexp", *params, theirs_params=tp), x)
      for tag, x, params, tp in [
          ("f32", _rand((3, 4)), (1,), None), ("bf16_reverse", _rand((6,), BF16), (0, True), None),
          ("large_values", np.array([100., 0., 90., -1e4], F32), (), None),
          ("negative_axis", _rand((2, 3)), (-1,), (1,))]],
    ("sort-f32", *_ops("sort"), _rand((7,))),
    ("sort-dimension0", *_ops("sort", 0), _rand((3, 4))),
    ("sort-i32_ties", *_ops("sort"), _rand((3, 4), I32)),
    ("sort-bool", *_ops("sort"), _rand((6,), BOOL)),
    ("sort-bf16", *_ops("sort"), _rand((7,), BF16)),
    ("sort-nan_inf", *_ops("sort", 1), _with_nan((2, 4))),
    ("sort-unstable", *_ops("sort", is_stable=False), _rand((5,))),
    ("sort-single_in_tuple", *_ops("sort", seq=True), _rand((5,))),
    ("sort-tuple_one_key", *_ops("sort", 0, True, 1, seq=True), _ties((4, 3)), _rand((4, 3), I32)),
    ("sort-tuple_two_keys", *_ops("sort", -1, True, 2, theirs_params=(1, True, 2), seq=True),
     _ties((2, 6), I32), _ties((2, 6)), _rand((2, 6))),
    ("top_k-f32", *_ops("top_k", 2), _rand((3, 5))),
    ("top_k-axis0", *_ops("top_k", 2, axis=0), _rand((3, 5))),
    ("top_k-i32_ties", *_ops("top_k", 3), _rand((2, 6), I32)),
    ("top_k-bool", *_ops("top_k", 1), _rand((4,), BOOL)),
    ("top_k-k0", *_ops("top_k", 0), _rand((2, 3))),
    ("top_k-bf16_full", *_ops("top_k", 6), _rand((6,), BF16)),
]


@pytest.mark.parametrize("cases", groups_by_prefix(CASES, "-"))  # by op
def test_matches_lax(cases):
    """Each case eagerly (values, dtypes), then the op's cases in one jit and Graph."""
    assert_cases_same_as_jax([(c[0], c[1], c[2], c[3:]) for c in cases], jax_eager=False)


def test_graph_params_and_printing():
    g = fx.make_graph(lambda x: P.cumsum(P.reduce_max(x, (-1,)), reverse=True))(_rand((2, 3)))
    text = str(g)
    assert "reduce_max[axes=(1,)]" in text and "cumsum[axis=0, reverse=True]" in text


def test_weak_type_propagates():
    g = fx.make_graph(lambda: (P.reduce_sum(2.0, ()), P.argmax(P.broadcast_in_dim(2.0, (3,), ()),
                                                                  0, I32)))()
    assert [a.weak_type for a in g.out_avals] == [True, False]


# --- errors: (id, fn, args, error, match) ---
_X = _rand((2, 3))
ERRORS = [
    ("reduce_axis_out_of_range", lambda x: P.reduce_sum(x, (2,)), _X, ShapeError,
     r"reduce_sum: axes \(2,\) out of range .*f32\[2,3\]"),
    ("reduce_negative_out_of_range", lambda x: P.reduce_max(x, (-3,)), _X, ShapeError,
     r"reduce_max: .*\(-3,\).*f32\[2,3\]"),
    ("reduce_repeated_axes", lambda x: P.reduce_sum(x, (1, -1)), _X, ShapeError,
     r"reduce_sum: repeated axis .*\(1, 1\).*f32\[2,3\]"),
    ("reduce_and_float", lambda x: P.reduce_and(x, (0,)), _X, FxTypeError,
     r"reduce_and requires integer or boolean .*f32\[2,3\]"),
    ("reduce_sum_bool", lambda x: P.reduce_sum(x, (0,)), _rand((2, 3), BOOL), FxTypeError,
     r"reduce_sum requires numeric .*bool\[2,3\]"),
    ("argmax_float_index", lambda x: P.argmax(x, 0, np.float32), _X, FxTypeError,
     r"argmax: index_dtype must be an integer .*float32"),
    ("argmin_empty_axis", lambda x: P.argmin(x, 0, I32), np.zeros((0, 3), F32), ShapeError,
     r"argmin: axis 0 of f32\[0,3\] is empty"),
    ("argmax_0d", lambda x: P.argmax(x, 0, I32), np.float32(1), ShapeError,
     r"argmax: axis 0 out of range .*f32\[\]"),
    ("cumsum_bool", lambda x: P.cumsum(x), _rand((3,), BOOL), FxTypeError,
     r"cumsum requires numeric .*bool\[3\]"),
    ("cumlogsumexp_int", lambda x: P.cumlogsumexp(x), _rand((3,), I32), FxTypeError,
     r"cumlogsumexp requires floating-point .*i32\[3\]"),
    ("cummax_0d", lambda x: P.cummax(x), np.float32(1), ShapeError, r"cummax: axis 0 .*f32\[\]"),
    ("sort_shape_mismatch", lambda x: P.sort((x, P.reduce_sum(x, (0,)))), _X, ShapeError,
     r"sort: all operands must have the same shape, got f32\[2,3\], f32\[3\]"),
    ("sort_num_keys", lambda x: P.sort((x, x), num_keys=3), _X, ShapeError,
     r"sort: num_keys=3 .*f32\[2,3\]"),
    ("sort_0d", lambda x: P.sort(x), np.float32(1), ShapeError, r"sort: dimension -1 .*f32\[\]"),
    ("top_k_too_large", lambda x: P.top_k(x, 4), _X, ShapeError,
     r"top_k: k=4 must be in 0..3.*f32\[2,3\]"),
    ("top_k_negative", lambda x: P.top_k(x, -1), _X, ShapeError, r"top_k: k=-1"),
]


@pytest.mark.parametrize("mode", ["eager", "traced"])
@pytest.mark.parametrize("name,fn,x,error,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, fn, x, error, match, mode):
    with pytest.raises(error, match=match):
        fn(x) if mode == "eager" else fx.make_graph(fn)(x)


# --- jvp: (id, ours, theirs, primals); tangents are random ---
def _zeros_in(shape, where):
    x = np.array(_rand(shape))
    x.flat[list(where)] = 0.0
    return x


_TIED = np.array([[1., 3., 3.], [2., 2., 0.]], F32)
JVP_CASES = [
    *[(f"{op}-{tag}", *_ops(op, axes), (x,)) for op in REDUCE for tag, x, axes in [
        ("two_axes", _rand((2, 3, 4)), (0, 2)), ("all", _rand((3, 2)), (0, 1)),
        ("no_axes", _rand((2,)), ())]],
    ("reduce_max-ties", *_ops("reduce_max", (1,)), (_TIED,)),
    ("reduce_min-ties", *_ops("reduce_min", (0, 1)), (_TIED,)),
    ("reduce_prod-one_zero", *_ops("reduce_prod", (1,)), (_zeros_in((2, 4), [1]),)),
    ("reduce_prod-two_zeros", *_ops("reduce_prod", (0, 1)), (_zeros_in((2, 3), [1, 4]),)),
    ("reduce_prod-bf16", *_ops("reduce_prod", (0,)), (_rand((4,), BF16),)),
    *[(f"{op}-{tag}", *_ops(op, *params), (x,)) for op in CUM for tag, x, params in [
        ("axis1", _rand((2, 5)), (1,)), ("reverse", _rand((3, 2)), (0, True)),
        ("single", _rand((1,)), ())]],
    ("cumprod-zeros", *_ops("cumprod", 1), (_zeros_in((2, 4), [2, 5, 6]),)),
    ("cumprod-zeros_reverse", *_ops("cumprod", 0, True), (_zeros_in((4,), [1]),)),
    *[(f"cumlogsumexp-{tag}", *_ops("cumlogsumexp", *params), (x,)) for tag, x, params in [
        ("axis1", _rand((2, 5)), (1,)), ("reverse", _rand((3,)), (0, True)),
        ("large_values", np.array([100., 0., 90., -1e4], F32), ())]],
    ("sort-1d", *_ops("sort"), (_rand((6,)),)),
    ("sort-dimension0", *_ops("sort", 0), (_rand((4, 3)),)),
    ("sort-tuple", *_ops("sort", 1, True, 1, seq=True), (_ties((2, 5)), _rand((2, 5)))),
    ("top_k-values", *[lambda x, f=f: f(x)[0] for f in _ops("top_k", 2)], (_rand((3, 5)),)),
    ("top_k-axis0", *[lambda x, f=f: f(x)[0] for f in _ops("top_k", 3, axis=0)],
     (_rand((4, 2)),)),
]


def _tangents(primals):
    return tuple(_rand(np.shape(p), np.asarray(p).dtype, seed=7) for p in primals)


def _tol(primals):
    """f32: tighter than the oracle's default allows for reassociation; bf16: its default."""
    return None if any(np.asarray(p).dtype == BF16 for p in primals) else 2e-5


@pytest.mark.parametrize("cases", groups_by_prefix(JVP_CASES, "-"))
def test_jvp_matches_jax(cases):
    for tol in {_tol(primals) for _, _, _, primals in cases}:
        assert_cases_jvp_matches([(name, ours, theirs, primals, _tangents(primals))
                                  for name, ours, theirs, primals in cases
                                  if _tol(primals) == tol],
                                 rtol=tol, atol=tol, eager_every=EAGER_EVERY)


@pytest.mark.parametrize("op,ours,theirs", [("argmax", *_ops("argmax", 1, I32)),
                                            ("top_k", *_ops("top_k", 2))])
def test_jvp_integer_outputs_have_zero_tangents(op, ours, theirs):
    """Integer outputs get zero tangents (jax.jvp returns float0 for them)."""
    x = _rand((3, 4))
    (out, t_out), (exp_out, exp_t) = T.jvp(ours, (x,), (x,)), jax.jvp(theirs, (x,), (x,))
    assert_trees_close(out, exp_out, what="primal out")
    for o, e in zip(jax.tree.leaves(t_out), jax.tree.leaves(exp_t)):
        if e.dtype == jax.dtypes.float0:
            assert not np.any(np.asarray(o))
        else:
            assert_trees_close(o, e, what="tangent out")


@pytest.mark.parametrize("cases", groups_by_prefix(JVP_CASES, "-"))
def test_vjp_matches_jax(cases):
    """Reverse mode transposes the jvp rules' tangent computations. JAX's vjps of
    the op's cases run in one jax.jit; ours eagerly, case by case."""
    cts = {name: jax.tree.map(lambda o: _rand(o.shape, o.dtype, seed=3),
                              jax.eval_shape(theirs, *primals))
           for name, _, theirs, primals in cases}

    def jax_vjps(args):
        out = {}
        for name, _, theirs, _ in cases:
            primals, ct = args[name]
            exp_out, exp_pullback = jax.vjp(theirs, *primals)
            out[name] = exp_out, exp_pullback(ct)
        return out
    expected = jax.jit(jax_vjps)({name: (primals, cts[name]) for name, _, _, primals in cases})
    failures = []
    for name, ours, _, primals in cases:
        try:
            out, pullback = T.vjp(ours, *primals)
            assert_trees_close(out, expected[name][0], what="vjp out")
            assert_trees_close(pullback(cts[name]), expected[name][1], rtol=_tol(primals),
                               atol=_tol(primals), what="vjp ct")
        except Exception as e:
            failures.append(f"[{name}] {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)


def test_second_order_jvp():
    """jvp of jvp: the rules are built from differentiable primitives."""
    x, t = _zeros_in((2, 3), [1]), _rand((2, 3), seed=9)
    for op, params in [("reduce_prod", ((1,),)), ("cumprod", (1,)), ("cumlogsumexp", (1,))]:
        ours, theirs = _ops(op, *params)
        assert_jvp_matches(lambda x: T.jvp(ours, (x,), (t,))[1],
                           lambda x: jax.jvp(theirs, (x,), (t,))[1], (x,), (t,),
                           rtol=2e-5, atol=2e-5)


# --- vmap: (id, ours, theirs, in_axes, args) ---
VMAP_CASES = [
    *[(f"{op}-axis{b}", *_ops(op, (0, 2)), b, (_rand((2, 3, 4, 5), dt),))
      for op, dt in [*[(op, F32) for op in REDUCE], ("reduce_or", BOOL)] for b in (0, 2)],
    ("reduce_and-last", *_ops("reduce_and", (0,)), 2, (_rand((2, 3, 4), BOOL),)),
    *[(f"{op}-axis{b}", *_ops(op, 1, I32), b, (_rand((2, 3, 4)),)) for op in ARG for b in (0, 1, 2)],
    *[(f"{op}-axis{b}", *_ops(op, 1, True), b, (_rand((2, 3, 4)),))
      for op in CUM + ["cumlogsumexp"] for b in (0, 1, 2)],
    ("sort-axis1", *_ops("sort", 0), 1, (_rand((3, 4)),)),
    ("sort-tuple_same_axes", *_ops("sort", 1, True, 1, seq=True), (2, 2),
     (_ties((2, 3, 4)), _rand((2, 3, 4)))),
    ("sort-tuple_mixed_axes", *_ops("sort", 0, True, 1, seq=True), (1, None),
     (_ties((3, 4)), _rand((3,)))),
    ("sort-tuple_unbatched_key", *_ops("sort", 0, True, 1, seq=True), (None, 0),
     (_rand((3,)), _rand((4, 3)))),
    *[(f"top_k-axis{b}", *_ops("top_k", 2, axis=0), b, (_rand((3, 4, 5)),)) for b in (0, 1)],
    ("top_k-last", *_ops("top_k", 2), 1, (_rand((3, 4)),)),
]


@pytest.mark.parametrize("cases", groups_by_prefix(VMAP_CASES, "-"))
def test_vmap_matches_jax(cases):
    assert_cases_vmap_matches(cases, eager_every=EAGER_EVERY)


def test_vmap_of_jvp():
    """vmap of the jvp rules (batching their pads, gathers and recurrences)."""
    for op, params, x in [("cumprod", (1,), _zeros_in((2, 3, 3), [2, 9])),
                          ("sort", (), _rand((2, 3)))]:
        ours, theirs = _ops(op, *params)
        t = np.moveaxis(np.asarray(_rand(x.shape, seed=5)), 1, 0)
        assert_vmap_matches(lambda x, t: T.jvp(ours, (x,), (t,))[1],
                            lambda x, t: jax.jvp(theirs, (x,), (t,))[1], (1, 0), x, t,
                            rtol=2e-5, atol=2e-5)


# --- linear_transpose: (id, ours, theirs, primal) ---
TRANSPOSE_CASES = [
    ("reduce_sum-two_axes", *_ops("reduce_sum", (0, 2)), _rand((2, 3, 4))),
    ("reduce_sum-all", *_ops("reduce_sum", (0, 1)), _rand((2, 3))),
    ("reduce_sum-none", *_ops("reduce_sum", ()), _rand((3,))),
    ("cumsum-axis1", *_ops("cumsum", 1), _rand((2, 5))),
    ("cumsum-reverse", *_ops("cumsum", 0, True), _rand((6, 2))),
]


def test_transpose_matches_jax():
    assert_cases_transpose_matches([(name, ours, theirs, (x,),
                                     _rand(jax.eval_shape(theirs, x).shape, seed=4))
                                    for name, ours, theirs, x in TRANSPOSE_CASES],
                                   eager_every=EAGER_EVERY)
