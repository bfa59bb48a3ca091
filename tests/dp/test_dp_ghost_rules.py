"""Ghost-norm rules: each rule's per-example squared norm equals the squared norm of
JAX's gradient of the same equation (jax.vjp w.r.t. the parameter)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import fx
import primitives as P
from optim.dp.ghost_norms import ghost_rule, materialized_cost, materialized_grad, shared_ghost_rule
from oracle import assert_trees_close

RNG = np.random.default_rng(0)


def _f32(*shape):
    return jnp.asarray(RNG.normal(size=shape), jnp.float32)


def _eqn_and_invals(fn, *args):
    """The one equation of ``fn``'s graph (its inputs are the graph's inputs)."""
    g = fx.make_graph(fn)(*args)
    (eqn,) = g.equations
    assert [id(x) for x in eqn.inputs] == [id(v) for v in g.in_vars]
    return eqn


def _jax_sq_norm(jax_fn, args, pos, ct):
    _, f_vjp = jax.vjp(lambda w: jax_fn(*[w if j == pos else a for j, a in enumerate(args)]),
                       args[pos])
    (gw,) = f_vjp(ct)
    return jnp.sum(gw ** 2)


# (name, lhs shape, rhs shape, dimension numbers, param position)
DENSE = [
    ("vector @ W", (6,), (6, 5), (((0,), (0,)), ((), ())), 1),
    ("seq @ W, A^T G branch", (10, 16), (16, 16), (((1,), (0,)), ((), ())), 1),
    ("seq @ W, gram branch", (4, 32), (32, 32), (((1,), (0,)), ((), ())), 1),
    ("W @ vector (W lhs)", (5, 6), (6,), (((1,), (0,)), ((), ())), 0),
    ("W^T-contracted seq (W lhs)", (6, 5), (3, 6), (((0,), (1,)), ((), ())), 0),
    ("two free dims, two contracted", (3, 2, 4, 5), (4, 5, 7), (((2, 3), (0, 1)), ((), ())), 1),
]


@pytest.mark.parametrize("name, ls, rs, dn, pos", DENSE, ids=[d[0] for d in DENSE])
def test_dense_ghost_norm_matches_jax(name, ls, rs, dn, pos):
    lhs, rhs = _f32(*ls), _f32(*rs)
    eqn = _eqn_and_invals(lambda a, b: P.dot_general(a, b, dn), lhs, rhs)
    rule = ghost_rule(eqn, (pos,))
    assert rule is not None and rule.name == "ghost dense"
    assert rule.cost < materialized_cost(eqn, (pos,)) or len(ls) > 1
    out = lax.dot_general(lhs, rhs, dn)
    ct = _f32(*out.shape)
    want = _jax_sq_norm(lambda a, b: lax.dot_general(a, b, dn), [lhs, rhs], pos, ct)
    assert_trees_close(rule.sq_norm([lhs, rhs], [ct]), want, rtol=1e-5)
    local = materialized_grad(eqn, [lhs, rhs], (pos,), [ct])
    assert_trees_close(jnp.sum(local ** 2), want, rtol=1e-5)


def test_dense_with_batch_dims_has_no_ghost_rule():
    dn = (((2,), (1,)), ((0,), (0,)))
    eqn = _eqn_and_invals(lambda a, b: P.dot_general(a, b, dn), _f32(2, 3, 4), _f32(2, 4, 5))
    assert ghost_rule(eqn, (1,)) is None


def _take_rows(mode):
    dn = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
                                    start_index_map=(0,))

    def ours(table, idx):
        return P.gather(table, idx[:, None], dn, (1, table.shape[1]), mode=mode)

    def theirs(table, idx):
        return lax.gather(table, idx[:, None], dn, (1, table.shape[1]), mode=mode)
    return ours, theirs


@pytest.mark.parametrize("mode, tokens", [
    ("promise_in_bounds", [3, 1, 3, 0, 3, 7]),
    ("clip", [3, 9, 12, 0, 3, 7]),           # 9 and 12 clamp to row 8: they add up
    ("fill", [3, 1, 12, 0, 3, -2]),          # out-of-range rows get no gradient
])
def test_embedding_ghost_norm_matches_jax(mode, tokens):
    table, idx = _f32(9, 4), jnp.asarray(tokens, jnp.int32)
    ours, theirs = _take_rows(mode)
    g = fx.make_graph(ours)(table, idx)
    (eqn,) = [e for e in g.equations if e.primitive.name == "gather"]
    rule = ghost_rule(eqn, (0,))
    assert rule is not None and rule.name == "ghost embedding"
    ct = _f32(len(tokens), 4)
    want = _jax_sq_norm(theirs, [table, idx], 0, ct)
    assert_trees_close(rule.sq_norm([table, idx[:, None]], [ct]), want, rtol=1e-5)


def test_gather_of_partial_rows_has_no_ghost_rule():
    dn = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
                                    start_index_map=(0,))
    g = fx.make_graph(lambda t, i: P.gather(t, i, dn, (1, 2)))(_f32(9, 4),
                                                               jnp.zeros((3, 1), jnp.int32))
    (eqn,) = g.equations
    assert ghost_rule(eqn, (0,)) is None


# (name, lhs shape, rhs shape, strides, padding, rhs dilation, dimension numbers)
CONV = [
    ("2d NHWC SAME", (1, 8, 8, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1), ("NHWC", "HWIO", "NHWC")),
    ("2d NCHW VALID, 2 images", (2, 3, 7, 6), (5, 3, 3, 2), (1, 1), "VALID", (1, 1), None),
    ("2d strided, odd padding", (1, 9, 8, 2), (3, 2, 2, 3), (2, 3), ((1, 2), (0, 1)), (1, 1),
     ("NHWC", "HWIO", "NHWC")),
    ("2d dilated kernel", (1, 10, 9, 2), (3, 3, 2, 4), (1, 2), "SAME", (2, 3),
     ("NHWC", "HWIO", "NHWC")),
    ("2d negative padding", (1, 8, 8, 2), (2, 2, 2, 3), (1, 1), ((-1, 0), (1, -2)), (1, 1),
     ("NHWC", "HWIO", "NHWC")),
    ("1d NWC", (3, 12, 4), (5, 4, 6), (2,), "SAME", (1,), ("NWC", "WIO", "NWC")),
    ("3d NDHWC", (1, 5, 4, 6, 2), (2, 3, 2, 2, 3), (1, 1, 2), "VALID", (1, 1, 1),
     ("NDHWC", "DHWIO", "NDHWC")),
    ("2d odd layouts", (4, 2, 7, 1), (2, 3, 4, 2), (1, 1), "SAME", (1, 1), ("HCWN", "IHOW", "WHNC")),
]


@pytest.mark.parametrize("name, ls, rs, strides, pad, rdil, dn", CONV, ids=[c[0] for c in CONV])
def test_conv_rows_norm_matches_jax(name, ls, rs, strides, pad, rdil, dn):
    """The kernel's per-example squared norm (offset rows of X^T G) equals the squared
    norm of jax's kernel gradient; the plan picks it over the materialized vjp."""
    x, w = _f32(*ls), _f32(*rs)

    def conv(conv_fn):
        return lambda a, b: conv_fn(a, b, strides, pad, rhs_dilation=rdil, dimension_numbers=dn)
    eqn = _eqn_and_invals(conv(P.conv_general_dilated), x, w)
    rule = ghost_rule(eqn, (1,))
    assert rule is not None and rule.name == "conv rows"
    assert rule.cost <= materialized_cost(eqn, (1,))
    out = conv(lax.conv_general_dilated)(x, w)
    ct = _f32(*out.shape)
    want = _jax_sq_norm(conv(lax.conv_general_dilated), [x, w], 1, ct)
    assert_trees_close(rule.sq_norm([x, w], [ct]), want, rtol=1e-5)
    local = materialized_grad(eqn, [x, w], (1,), [ct])
    assert_trees_close(jnp.sum(local ** 2), want, rtol=1e-5)


@pytest.mark.parametrize("kw", [dict(feature_group_count=2), dict(lhs_dilation=(2, 1))])
def test_grouped_or_transposed_conv_has_no_rule(kw):
    rhs = (3, 3, 2, 4) if kw.get("feature_group_count") else (3, 3, 4, 4)
    eqn = _eqn_and_invals(
        lambda a, b: P.conv_general_dilated(a, b, (1, 1), ((1, 1), (1, 1)),
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"), **kw),
        _f32(1, 6, 6, 4), _f32(*rhs))
    assert ghost_rule(eqn, (1,)) is None
    assert ghost_rule(eqn, (0,)) is None


def test_shared_dense_ghost_norm_matches_jax():
    """One weight read by two dense layers (a vector and a sequence): the shared
    rule's norm over both uses' stacked rows equals JAX's gradient norm."""
    dn = (((1,), (0,)), ((), ()))
    a1, a2, w = _f32(1, 6), _f32(4, 6), _f32(6, 5)
    g = fx.make_graph(lambda x, y, v: (P.dot_general(x, v, dn), P.dot_general(y, v, dn)))(a1, a2, w)
    eqns = list(g.equations)
    rule = shared_ghost_rule(eqns, [(1,), (1,)])
    assert rule is not None and rule.name == "ghost dense, 2 uses"
    c1, c2 = _f32(1, 5), _f32(4, 5)
    _, f_vjp = jax.vjp(lambda v: (a1 @ v, a2 @ v), w)
    (gw,) = f_vjp((c1, c2))
    got = rule.sq_norm([([a1, w], [c1]), ([a2, w], [c2])])
    assert_trees_close(got, jnp.sum(gw ** 2), rtol=1e-5)
    other = (((0,), (0,)), ((), ()))
    g2 = fx.make_graph(lambda x, y, v: (P.dot_general(x, v, dn), P.dot_general(y, v, other)))(
        a1, _f32(6, 2), w)
    assert shared_ghost_rule(list(g2.equations), [(1,), (1,)]) is None
