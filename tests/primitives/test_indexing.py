"""gather and the scatters against jax.lax: values, jvp, vmap, transpose, errors.

The configurations are the ones jax.numpy indexing produces (x[i], x[:, idx],
x[idx_array], take_along_axis, x.at[idx].add/set/mul/min/max with repeated
indices), plus window gathers, out-of-bounds modes and empty/0-d edge cases.
"""

import numpy as np
import jax
import jax.numpy as jnp
import pytest
from jax import lax

import fx
import primitives as P
from fx.errors import FxTypeError, ShapeError
from oracle import (assert_cases_jvp_matches, assert_cases_same_as_jax,
                    assert_cases_transpose_matches, assert_cases_vmap_matches,
                    assert_transpose_matches, assert_trees_close, assert_jvp_matches,
                    assert_transform_matches)

# the jvp / vmap / transpose tables: ours eagerly for every fourth case, the others
# in one transforms.jit (JAX's in one jax.jit)
EAGER_EVERY = 4

GD, SD = lax.GatherDimensionNumbers, lax.ScatterDimensionNumbers
BF16 = jnp.bfloat16


def _i(a):
    return np.asarray(a, np.int32)


def _arr(shape, dtype, seed=0):
    """Small integer-valued arrays, exact in every dtype we test."""
    vals = np.random.RandomState(seed).randint(-5, 6, size=shape)
    return np.asarray(vals, dtype) if dtype != np.bool_ else vals > 0


_ALONG = np.random.RandomState(1).randint(0, 5, size=(3, 4, 1)).astype(np.int32)

# --- gather: (name, operand shape, indices, dimension_numbers, slice_sizes, kwargs) ---
GATHER_CASES = [
    ("x[i]", (5, 3), _i([2]), GD((0,), (0,), (0,)), (1, 3), {}),
    ("x[idx]", (5, 3), _i([[0], [4], [0], [2]]), GD((1,), (0,), (0,)), (1, 3), {}),
    ("x[:,idx]", (3, 5), _i([[1], [4], [1]]), GD((0,), (1,), (1,)), (3, 1), {}),
    ("x[idx2d]", (6,), _i([[[0], [5], [1]], [[2], [2], [3]]]), GD((), (0,), (0,)), (1,), {}),
    ("x[i,j]", (4, 5), _i([[0, 1], [3, 4], [0, 1]]), GD((), (0, 1), (0, 1)), (1, 1), {}),
    ("take_along_axis", (3, 5), _ALONG, GD((), (1,), (1,), (0,), (0,)), (1, 1), {}),
    ("windows", (6, 4), _i([[0], [3]]), GD((1, 2), (), (0,)), (2, 4), {}),
    ("0-d operand", (), np.zeros((3, 0), np.int32), GD((), (), ()), (), {}),
    ("empty indices", (5, 3), np.zeros((0, 1), np.int32), GD((1,), (0,), (0,)), (1, 3), {}),
    ("clip oob", (5, 3), _i([[7], [-2]]), GD((1,), (0,), (0,)), (1, 3), {"mode": "clip"}),
    ("fill oob", (5, 3), _i([[7], [1], [-1]]), GD((1,), (0,), (0,)), (1, 3), {"mode": "fill"}),
    ("fill value", (5, 3), _i([[7], [1]]), GD((1,), (0,), (0,)), (1, 3),
     {"mode": "fill", "fill_value": -3}),
    ("sorted unique", (5, 3), _i([[0], [2], [4]]), GD((1,), (0,), (0,)), (1, 3),
     {"indices_are_sorted": True, "unique_indices": True}),
]
GATHER_IDS = [c[0] for c in GATHER_CASES]
DTYPE_CASES = ("x[idx]", "take_along_axis", "fill oob")


def _gather_fns(case):
    _, shape, idx, dn, sizes, kw = case
    ours = lambda x, i: P.gather(x, i, dn, sizes, **kw)
    theirs = lambda x, i: lax.gather(x, i, dn, sizes, **kw)
    return ours, theirs, shape, idx


def test_gather():
    """Every case in f32, and DTYPE_CASES in i32, bf16 and bool: each eagerly, then
    all in one jit and one typechecked Graph."""
    cases = []
    for case in GATHER_CASES:
        ours, theirs, shape, idx = _gather_fns(case)
        dtypes = [("f32", np.float32)] + ([("i32", np.int32), ("bf16", BF16), ("bool", np.bool_)]
                                          if case[0] in DTYPE_CASES else [])
        cases += [(f"{case[0]}-{dt}", ours, theirs, (_arr(shape, dtype), idx))
                  for dt, dtype in dtypes]
    assert_cases_same_as_jax(cases, jax_eager=False)


# --- scatters: (name, operand shape, indices, updates shape, dimension_numbers, kwargs) ---
SCATTER_CASES = [
    ("at[i]", (5, 3), _i([2]), (3,), SD((0,), (0,), (0,)), {}),
    ("at[idx] repeated", (5, 3), _i([[0], [4], [0], [2]]), (4, 3), SD((1,), (0,), (0,)), {}),
    ("at[:,idx] repeated", (3, 5), _i([[1], [4], [1]]), (3, 3), SD((0,), (1,), (1,)), {}),
    ("at[i,j] points", (4, 5), _i([[0, 1], [3, 4], [0, 1]]), (3,), SD((), (0, 1), (0, 1)), {}),
    ("along axis", (3, 5), _ALONG, (3, 4), SD((), (1,), (1,), (0,), (0,)), {}),
    ("overlapping windows", (6, 4), _i([[0], [1]]), (2, 2, 4), SD((1, 2), (), (0,)), {}),
    ("oob dropped", (5, 3), _i([[7], [1], [-1]]), (3, 3), SD((1,), (0,), (0,)), {}),
    ("oob clip", (5, 3), _i([[7], [1], [-1]]), (3, 3), SD((1,), (0,), (0,)), {"mode": "clip"}),
    ("unique sorted", (5, 3), _i([[0], [2], [4]]), (3, 3), SD((1,), (0,), (0,)),
     {"unique_indices": True, "indices_are_sorted": True}),
]
SCATTER_IDS = [c[0] for c in SCATTER_CASES]
SCATTERS = ["scatter_add", "scatter_sub", "scatter_mul", "scatter_min", "scatter_max", "scatter"]


def _scatter_fns(op, case):
    _, shape, idx, ushape, dn, kw = case
    ours = lambda x, i, u: getattr(P, op)(x, i, u, dn, **kw)
    theirs = lambda x, i, u: getattr(lax, op)(x, i, u, dn, **kw)
    return ours, theirs, shape, idx, ushape


@pytest.mark.parametrize("op", SCATTERS)
def test_scatter(op):
    """Every case in f32, SCATTER_CASES[1] also in i32 and bf16 (and bool for
    scatter/min/max): each eagerly, then all in one jit and one typechecked Graph."""
    cases = []
    for case in SCATTER_CASES:
        ours, theirs, shape, idx, ushape = _scatter_fns(op, case)
        dtypes = [("f32", np.float32)]
        if case is SCATTER_CASES[1]:
            dtypes += [("i32", np.int32), ("bf16", BF16)]
            if op in ("scatter", "scatter_min", "scatter_max"):
                dtypes.append(("bool", np.bool_))
        cases += [(f"{case[0]}-{dt}", ours, theirs, (_arr(shape, dtype), idx,
                                                      _arr(ushape, dtype, 2)))
                  for dt, dtype in dtypes]
    assert_cases_same_as_jax(cases, jax_eager=False)


@pytest.mark.parametrize("dtype", [np.float32, BF16], ids=["f32", "bf16"])
def test_scatter_weak_scalar_update(dtype):
    x, idx = _arr((4, 5), dtype), _i([3, 4])
    dn = SD((), (0, 1), (0, 1))
    out = P.scatter_add(x, idx, 2.0, dn)
    assert out.dtype == np.dtype(dtype)
    assert_trees_close(out, lax.scatter_add(x, idx, jnp.asarray(2.0, dtype), dn))
    g = fx.make_graph(lambda x: P.scatter(x, idx, 1.5, dn))(x)
    assert g.graph.out_vars[0].aval.dtype == np.dtype(dtype)


def test_gather_params_are_normalized():
    x, idx = _arr((5, 3), np.float32), _i([[1]])
    dn = GD([1], [0], [0])  # lists: unhashable as given
    g = fx.make_graph(lambda x: P.gather(x, idx, dn, [1, 3], mode="fill"))(x)
    params = g.graph.equations[0].params
    assert params["dimension_numbers"] == GD((1,), (0,), (0,), (), ())
    assert params["mode"] == lax.GatherScatterMode.FILL_OR_DROP and np.isnan(params["fill_value"])
    hash(tuple(params.items()))
    # lax.gather's default mode is PROMISE_IN_BOUNDS, the scatters' FILL_OR_DROP
    assert fx.make_graph(lambda x: P.gather(x, idx, dn, (1, 3)))(x).graph.equations[0] \
        .params["mode"] == lax.GatherScatterMode.PROMISE_IN_BOUNDS
    sg = fx.make_graph(lambda x: P.scatter_add(x, idx, _arr((1, 3), np.float32), SD([1], [0], [0])))(x)
    assert sg.graph.equations[-1].params["mode"] == lax.GatherScatterMode.FILL_OR_DROP


# --- jvp -------------------------------------------------------------------------
def _gather_jvp_case(case):
    ours, theirs, shape, idx = _gather_fns(case)
    x, x_dot = _arr(shape, np.float32), _arr(shape, np.float32, 3)
    return case[0], lambda x: ours(x, idx), lambda x: theirs(x, idx), (x,), (x_dot,)


def test_gather_jvp():
    assert_cases_jvp_matches([_gather_jvp_case(c) for c in GATHER_CASES], eager_every=EAGER_EVERY)


# scatter_mul's jvp w.r.t. the updates needs unique indices (as JAX), tested below
def _scatter_jvp_case(op, case):
    ours, theirs, shape, idx, ushape = _scatter_fns(op, case)
    # distinct values: min/max ties are averaged (as JAX; tested below) but keep this exact
    x = np.random.RandomState(0).permutation(np.prod(shape)).reshape(shape).astype(np.float32)
    u = np.random.RandomState(1).randn(*ushape).astype(np.float32) * 10
    x_dot, u_dot = _arr(shape, np.float32, 3), _arr(ushape, np.float32, 4)
    if op == "scatter_mul" and not case[5].get("unique_indices"):
        # as JAX: the updates' jvp needs unique indices (error test below); the operand's not
        return (case[0], lambda x: ours(x, idx, u), lambda x: theirs(x, idx, u), (x,), (x_dot,))
    return (case[0], lambda x, u: ours(x, idx, u), lambda x, u: theirs(x, idx, u), (x, u),
            (x_dot, u_dot))


@pytest.mark.parametrize("op", SCATTERS)
def test_scatter_jvp(op):
    assert_cases_jvp_matches([_scatter_jvp_case(op, c) for c in SCATTER_CASES],
                             eager_every=EAGER_EVERY)


def test_scatter_extremal_jvp_ties():
    x = np.zeros((5, 3), np.float32)
    u = np.zeros((4, 3), np.float32)  # every update ties with the operand and each other
    idx, dn = _i([[0], [4], [0], [2]]), SD((1,), (0,), (0,))
    tangents = (_arr((5, 3), np.float32, 3), _arr((4, 3), np.float32, 4))
    for op in ("scatter_min", "scatter_max"):
        assert_jvp_matches(lambda x, u: getattr(P, op)(x, idx, u, dn),
                    lambda x, u: getattr(lax, op)(x, idx, u, dn), (x, u), tangents)


def test_integer_jvp_is_zero():
    """Integer outputs get Zero tangents, from symbolic zeros or float0 tangents."""
    from fx.ad import Zero
    from fx.core import get_aval
    from transforms import jvp
    x, idx, u = _arr((5, 3), np.int32), _i([[1], [2]]), _arr((2, 3), np.int32)
    zeros = lambda *vals: [Zero(get_aval(v)) for v in vals]
    float0 = lambda v: np.zeros(np.shape(v), jax.dtypes.float0)
    params = dict(dimension_numbers=_SDN, indices_are_sorted=False, unique_indices=False,
                  mode=lax.GatherScatterMode.FILL_OR_DROP)
    for prim in (P.scatter_add_p, P.scatter_mul_p, P.scatter_max_p, P.scatter_p):
        out, t = prim.jvp((x, idx, u), zeros(x, idx, u), **params)
        assert isinstance(t, Zero) and t.aval.shape == (5, 3), prim
        assert_trees_close(out, getattr(lax, prim.name)(x, idx, u, _SDN))
        out, t = jvp(lambda x, u: prim.bind(x, idx, u, **params), (x, u), (float0(x), float0(u)))
        assert np.shape(t) == (5, 3) and t.dtype == jax.dtypes.float0, prim
    out, t = P.gather_p.jvp((x, idx), zeros(x, idx), dimension_numbers=_GDN, slice_sizes=(1, 3),
                            indices_are_sorted=False, unique_indices=False,
                            mode=lax.GatherScatterMode.CLIP, fill_value=None)
    assert isinstance(t, Zero) and t.aval.shape == (2, 3) and t.aval.dtype == np.int32


# --- vmap ------------------------------------------------------------------------
def _batched(x, axis, n=3, seed=5):
    """``n`` distinct copies of ``x`` stacked along ``axis`` (indices stay in range)."""
    x = np.asarray(x)
    if x.dtype.kind in "iu":
        hi = max(int(x.max(initial=0)), 0)
        xs = [np.clip(x + k, None, hi) if x.size else x for k in range(n)]
    else:
        xs = [_arr(x.shape, x.dtype, seed + k) for k in range(n)]
    return np.stack(xs, axis)


GATHER_AXES = [(0, None), (None, 0), (0, 0), (1, 0)]


@pytest.mark.parametrize("in_axes", GATHER_AXES, ids=str)
def test_gather_vmap(in_axes):
    cases = []
    for case in GATHER_CASES:
        ours, theirs, shape, idx = _gather_fns(case)
        x = _arr(shape, np.float32)
        if in_axes[0] == 1 and x.ndim == 0:
            continue  # a 0-d operand has no axis 1
        args = [v if a is None else _batched(v, a) for v, a in zip((x, idx), in_axes)]
        cases.append((case[0], ours, theirs, in_axes, args))
    assert_cases_vmap_matches(cases, eager_every=EAGER_EVERY)


SCATTER_AXES = [(0, None, None), (None, 0, None), (None, None, 0), (0, 0, 0), (1, 0, None),
                (None, 0, 0)]
VMAP_SCATTER_CASES = [SCATTER_CASES[i] for i in (0, 1, 2, 4, 5)]
# one batch rule serves every scatter: all in_axes for scatter_add, one for the others
SCATTER_VMAP_ROWS = [(c, "scatter_add", ax) for c in VMAP_SCATTER_CASES for ax in SCATTER_AXES] + \
    [(c, op, (0, 0, 0)) for c in VMAP_SCATTER_CASES for op in SCATTERS if op != "scatter_add"]


def _scatter_vmap_case(case, op, in_axes):
    ours, theirs, shape, idx, ushape = _scatter_fns(op, case)
    vals = (_arr(shape, np.float32), idx, _arr(ushape, np.float32, 2))
    args = [v if a is None else _batched(v, a) for v, a in zip(vals, in_axes)]
    return f"{op}-{case[0]}-{in_axes}", ours, theirs, in_axes, args


@pytest.mark.parametrize("op", SCATTERS)
def test_scatter_vmap(op):
    assert_cases_vmap_matches([_scatter_vmap_case(*row) for row in SCATTER_VMAP_ROWS
                               if row[1] == op], eager_every=EAGER_EVERY)


# --- transpose ---------------------------------------------------------------------
def _gather_transpose_case(case):
    ours, theirs, shape, idx = _gather_fns(case)
    x = _arr(shape, np.float32)
    ct = _arr(jax.eval_shape(theirs, x, idx).shape, np.float32, 7)
    return case[0], lambda x: ours(x, idx), lambda x: theirs(x, idx), (x,), ct


def test_gather_transpose():
    # a 0-d operand: XLA's scatter_simplifier rejects a scatter into a 0-d operand (JAX too)
    assert_cases_transpose_matches([_gather_transpose_case(c) for c in GATHER_CASES
                                    if c[0] != "0-d operand"], eager_every=EAGER_EVERY)


def _scatter_add_transpose_case(op, case):
    ours, theirs, shape, idx, ushape = _scatter_fns(op, case)
    primals, ct = (_arr(shape, np.float32), _arr(ushape, np.float32, 2)), _arr(shape, np.float32, 7)
    return (case[0], lambda x, u: ours(x, idx, u), lambda x, u: theirs(x, idx, u), primals, ct)


@pytest.mark.parametrize("op", ["scatter_add", "scatter_sub"])
def test_scatter_add_transpose(op):
    assert_cases_transpose_matches([_scatter_add_transpose_case(op, c) for c in SCATTER_CASES],
                                   eager_every=EAGER_EVERY)


def test_scatter_transpose_unique():
    ours, theirs, shape, idx, ushape = _scatter_fns("scatter", SCATTER_CASES[-1])
    primals, ct = (_arr(shape, np.float32), _arr(ushape, np.float32, 2)), _arr(shape, np.float32, 7)
    assert_transpose_matches(lambda x, u: ours(x, idx, u), lambda x, u: theirs(x, idx, u), primals, ct)


@pytest.mark.parametrize("case", [SCATTER_CASES[1], SCATTER_CASES[-1]],
                         ids=[SCATTER_IDS[1], SCATTER_IDS[-1]])
def test_scatter_mul_transpose(case):
    ours, theirs, shape, idx, ushape = _scatter_fns("scatter_mul", case)
    x, u, ct = _arr(shape, np.float32), _arr(ushape, np.float32, 2), _arr(shape, np.float32, 7)
    assert_transpose_matches(lambda x: ours(x, idx, u), lambda x: theirs(x, idx, u), (x,), ct)
    if case[5].get("unique_indices"):
        assert_transpose_matches(lambda u: ours(x, idx, u), lambda u: theirs(x, idx, u), (u,), ct)


@pytest.mark.parametrize("op", ["scatter", "scatter_add", "scatter_mul", "scatter_max"])
def test_grad_of_at_updates_repeated(op):
    """Reverse mode end to end: x.at[idx].<op>(u) with repeated indices."""
    from transforms import grad
    ours, theirs, shape, idx, ushape = _scatter_fns(op, SCATTER_CASES[1])
    x = np.random.RandomState(0).permutation(15).reshape(shape).astype(np.float32)
    u = np.random.RandomState(1).randn(*ushape).astype(np.float32) * 10
    w = _arr(shape, np.float32, 7)
    ours_loss = lambda x: P.reduce_sum(P.mul(ours(x, idx, u), w), (0, 1))
    theirs_loss = lambda x: jnp.sum(theirs(x, idx, u) * w)
    assert_transform_matches(grad, jax.grad, ours_loss, theirs_loss, x)


# --- errors --------------------------------------------------------------------------
_X, _IDX = np.ones((5, 3), np.float32), _i([[0], [4]])
_GDN, _SDN = GD((1,), (0,), (0,)), SD((1,), (0,), (0,))

ERROR_CASES = [
    ("float indices", FxTypeError, r"gather: start_indices must have an integer dtype.*f32\[2,1\]",
     lambda: P.gather(_X, _IDX.astype(np.float32), _GDN, (1, 3))),
    ("0-d indices", ShapeError, r"gather: start_indices i32\[\] must have rank >= 1",
     lambda: P.gather(_X, np.int32(1), _GDN, (1, 3))),
    ("slice too big", ShapeError, r"gather: invalid operands f32\[5,3\], i32\[2,1\].*slice_sizes=\(1, 4\)",
     lambda: P.gather(_X, _IDX, _GDN, (1, 4))),
    ("index vector length", ShapeError, r"gather: invalid operands f32\[5,3\], i32\[2,2\]",
     lambda: P.gather(_X, _i([[0, 1], [1, 2]]), _GDN, (1, 3))),
    ("dnums type", FxTypeError, r"gather: dimension_numbers must be a jax.lax.GatherDimensionNumbers",
     lambda: P.gather(_X, _IDX, ((1,), (0,), (0,)), (1, 3))),
    ("bad mode", FxTypeError, r"gather: unknown mode 'wrap'",
     lambda: P.gather(_X, _IDX, _GDN, (1, 3), mode="wrap")),
    ("scatter dtypes", FxTypeError, r"scatter_add requires operand and updates of the same dtype, "
     r"got f32\[5,3\] and i32\[2,3\]",
     lambda: P.scatter_add(_X, _IDX, np.ones((2, 3), np.int32), _SDN)),
    ("scatter updates shape", ShapeError, r"scatter: invalid operands f32\[5,3\], i32\[2,1\], f32\[2,4\]",
     lambda: P.scatter(_X, _IDX, np.ones((2, 4), np.float32), _SDN)),
    ("scatter float indices", FxTypeError, r"scatter_max: scatter_indices must have an integer",
     lambda: P.scatter_max(_X, _IDX.astype(np.float32), np.ones((2, 3), np.float32), _SDN)),
    ("scatter_add bool", FxTypeError, r"scatter_add requires numeric operands.*bool\[5,3\]",
     lambda: P.scatter_add(_X > 0, _IDX, np.ones((2, 3), bool), _SDN)),
    ("scatter dnums type", FxTypeError, r"scatter_mul: dimension_numbers must be a jax.lax.ScatterDimensionNumbers",
     lambda: P.scatter_mul(_X, _IDX, np.ones((2, 3), np.float32), _GDN)),
]


@pytest.mark.parametrize("name,err,match,fn", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors(name, err, match, fn):
    with pytest.raises(err, match=match):
        fn()


def test_error_under_tracing_names_the_line():
    with pytest.raises(ShapeError, match=r"gather: invalid operands(.|\n)*test_indexing.py"):
        fx.make_graph(lambda x: P.gather(x, _IDX, _GDN, (1, 4)))(_X)


def test_scatter_mul_updates_jvp_needs_unique():
    from transforms import jvp
    u = np.ones((2, 3), np.float32)
    with pytest.raises(NotImplementedError, match="scatter_mul.*unique_indices=True"):
        jvp(lambda u: P.scatter_mul(_X, _IDX, u, _SDN), (u,), (u,))


def test_scatter_transpose_needs_unique():
    from transforms import linear_transpose
    u = np.ones((2, 3), np.float32)
    with pytest.raises(NotImplementedError, match="scatter: transpose is only implemented for "
                                                  "unique_indices=True"):
        linear_transpose(lambda x, u: P.scatter(x, _IDX, u, _SDN), _X, u)(_X)
