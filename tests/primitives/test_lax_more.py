"""jax.lax's remaining public names in ``primitives`` (lax_helpers, associative_scan,
generic_reduce, lax_misc_ops) against jax.lax: values and dtypes (eager, jit, Graph),
grads, vmap vs a loop, typed errors."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest

import primitives as P
from fx.errors import FxTypeError, ShapeError
from oracle import (Case, assert_cases_same_as_jax, assert_trees_close, assert_vmap_matches_loop,
                    check_grads_numerically)
from transforms import grad, jit, vmap

L = jax.lax
X = np.arange(12.0, dtype=np.float32).reshape(3, 4) - 5.0
V = np.array([0.5, -1.0, 2.0, 3.0, -0.25, 1.5, 0.75], np.float32)
I3 = np.array([3, 1, 2], np.int32)


def _amax(a, b, lax_mod):
    (av, ai), (bv, bi) = a, b
    pick = lax_mod.gt(bv, av)
    return (lax_mod.select_n(pick, av, bv), lax_mod.select_n(pick, ai, bi))


def test_helpers_match_jax():
    idx = np.broadcast_to(np.arange(4, dtype=np.int32), (3, 4))
    cases = []

    def both(name, fn, *args):
        cases.append(Case(name, lambda *a: fn(P, *a), lambda *a: fn(L, *a), args))

    both("full", lambda m, x: m.full((2, 3), x, np.int32), np.float32(2.5))
    both("full_like", lambda m, x: m.full_like(x, 3, np.int32), X)
    both("broadcast", lambda m, x: m.broadcast(x, (2,)), X)
    both("broadcast_like", lambda m, x, y: m.broadcast_like(x, y), V[:4], X)
    both("broadcast_to_rank", lambda m, x: m.broadcast_to_rank(x, 3), X)
    both("collapse", lambda m, x: m.collapse(x[None], 1), X)
    both("split", lambda m, x: m.split(x, (1, 3), 1), X)
    both("stack", lambda m, x: m.stack([x, x * 2], axis=-1), X)
    both("unstack", lambda m, x: m.unstack(x, 1), X)
    both("tile", lambda m, x: m.tile(x, (2, 1)), X)
    both("slice_in_dim", lambda m, x: m.slice_in_dim(x, -3, None, 2, axis=1), X)
    both("index_in_dim", lambda m, x: m.index_in_dim(x, -1, 1, keepdims=False), X)
    both("dynamic_slice_in_dim", lambda m, x, i: m.dynamic_slice_in_dim(x, i, 2, 1), X, np.int32(3))
    both("dynamic_index_in_dim", lambda m, x, i: m.dynamic_index_in_dim(x, i, 0, False), X,
         np.int32(-1))
    both("dynamic_update_slice_in_dim", lambda m, x, i: m.dynamic_update_slice_in_dim(
        x, x[:1] * 0, i, 0), X, np.int32(1))
    both("dynamic_update_index_in_dim", lambda m, x, i: m.dynamic_update_index_in_dim(
        x, x[:, 0] * 0, i, 1), X, np.int32(2))
    both("index_take", lambda m, x: m.index_take(x, [np.array([0, 5]), np.array([1, 2])], [0, 1]), X)
    both("select", lambda m, x: m.select(x > 0, x, -x), X)
    both("sort_key_val", lambda m, k, v: m.sort_key_val(k, v), I3, V[:3])
    both("batch_matmul", lambda m, x: m.batch_matmul(x[None], x.T[None], precision=m.Precision.HIGHEST), X)
    both("associative_scan", lambda m, v: m.associative_scan(m.add, v), V)
    both("associative_scan_rev", lambda m, x: m.associative_scan(m.max, x, reverse=True, axis=1), X)
    both("associative_scan_tree", lambda m, v: m.associative_scan(
        lambda a, b: (a[0] * b[0], a[1] * b[0] + b[1]), (v, v * 2)), V)
    both("reduce_sum", lambda m, x: m.reduce(x, 0.0, m.add, (0,)), X)
    both("reduce_max", lambda m, x: m.reduce(x, np.float32(-np.inf), m.max, (1,)), X)
    both("reduce_generic", lambda m, x: m.reduce(x, np.float32(1), lambda a, b: a * 0.5 + b, (0,)), X)
    both("reduce_variadic", lambda m, x: m.reduce((x, idx), (np.float32(-np.inf), np.int32(0)),
                                                  lambda a, b: _amax(a, b, m), (1,)), X)
    both("mulhi", lambda m, a: m.mulhi(a, np.uint32(3000000000)), np.array([4000000000, 7], np.uint32))
    both("approx_max_k", lambda m, x: m.approx_max_k(x, 2), X)
    both("approx_min_k", lambda m, x: m.approx_min_k(x, 2, reduction_dimension=0), X)
    both("rng_bit_generator", lambda m, k: m.rng_bit_generator(k, (2, 3))[1], np.arange(4, dtype=np.uint32))
    both("round_enum", lambda m, x: m.round(x / 2, m.RoundingMethod.TO_NEAREST_EVEN), X)
    assert_cases_same_as_jax(cases, eager={"full", "split", "associative_scan_tree",
                                           "reduce_variadic", "approx_min_k", "mulhi"})


def test_plain_values():
    assert P.broadcast_shapes((3, 1), (4,)) == (3, 4)
    assert P.dtype(np.float32(1)) == np.float32
    np.testing.assert_array_equal(P.shape_as_value((2, 3)), np.array([2, 3], np.int32))
    assert P.full((2,), 1.0).weak_type
    assert P.empty((2, 2), np.int32).dtype == np.int32
    assert P.platform_dependent(2.0, cpu=lambda x: x + 1, default=lambda x: x) == 3.0
    assert float(P.composite(lambda x, *, c: x * c, "scale")(2.0, c=3.0)) == 6.0
    assert float(P.stage(1.0)) == 1.0
    assert P.rng_uniform(np.float32(0), np.float32(1), (5,)).shape == (5,)
    for name in ("Precision", "DotAlgorithmPreset", "RandomAlgorithm", "Tolerance", "AccuracyMode",
                 "DotDimensionNumbers", "PrecisionLike", "DotAlgorithm", "RaggedDotDimensionNumbers"):
        assert getattr(P, name) is getattr(L, name)


def test_grads_and_vmap():
    def scan_loss(v):
        return P.reduce_sum(P.associative_scan(lambda a, b: P.add(P.mul(a, 0.5), b), v), (0,))

    def scan_loss_j(v):
        return jnp.sum(L.associative_scan(lambda a, b: a * 0.5 + b, v))
    assert_trees_close(jit(grad(scan_loss))(V), jax.grad(scan_loss_j)(V))
    helpers = lambda x: P.reduce_sum(P.mul(P.tile(P.slice_in_dim(x, 1, None, axis=1), (1, 2)),
                                           P.stack(P.split(x, (1, 3), 1)[1:] * 2, 1).reshape(3, 6)),
                                     (0, 1))
    with jax.enable_x64(True):
        check_grads_numerically(jit(scan_loss), [V[:5].astype(np.float64)], order=1, eps=1e-5,
                                rtol=1e-4)
        check_grads_numerically(jit(helpers), [X.astype(np.float64)], order=1, eps=1e-5, rtol=1e-4)
    assert_vmap_matches_loop(lambda v: P.associative_scan(P.mul, v, axis=0), 0,
                             np.stack([V, V[::-1]]), jit=True)
    assert_vmap_matches_loop(lambda x, i: (P.dynamic_index_in_dim(x, i, 1, False),
                                           P.reduce((x, x), (np.float32(0), np.float32(1)),
                                                    lambda a, b: (P.add(a[0], b[0]), P.mul(a[1], b[1])), (0,))),
                             (0, 0), np.stack([X, X + 1]), np.array([1, 3], np.int32), jit=True)
    x = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    assert_trees_close(vmap(lambda v: P.pshuffle(v, "i", [2, 0, 1]), axis_name="i")(x),
                       jax.vmap(lambda v: L.pshuffle(v, "i", [2, 0, 1]), axis_name="i")(x))
    y = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    assert_trees_close(vmap(lambda v: P.pswapaxes(v, "i", 0), axis_name="i")(y),
                       jax.vmap(lambda v: L.pswapaxes(v, "i", 0), axis_name="i")(y))


def test_errors():
    with pytest.raises(ShapeError, match="split: sizes"):
        P.split(X, (1, 1), 1)
    with pytest.raises(IndexError, match="out of bounds"):
        P.index_in_dim(X, 5, 1)
    with pytest.raises(ShapeError, match="batch_matmul"):
        P.batch_matmul(X, X[None])
    with pytest.raises(FxTypeError, match="same tree structure"):
        P.reduce((X, X), 0.0, P.add, (0,))
    with pytest.raises(FxTypeError, match="callable"):
        P.associative_scan(None, V)
    with pytest.raises(NotImplementedError, match="not differentiable"):
        grad(lambda x: P.reduce_sum(P.reduce(x, np.float32(1), lambda a, b: a * b + a, (0,)), (0,)))(X)
    with pytest.raises(FxTypeError, match="full must be called with scalar"):
        P.full((2,), X)
