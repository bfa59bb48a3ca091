"""optax's utilities and wrappers that need special inputs, compared with optax by value:
``optim.tree_utils`` (as ``optax.tree_utils``), ``optim.projections`` (as
``optax.projections``), the numerics helpers, ``apply_if_finite`` on NaN
gradients, per-example clipping with a batch axis, ``lookahead`` on
``LookaheadParams``, DoG, ``scale_gradient`` under ``grad``. Tiny arrays, run
eagerly or in one jitted function per group (few compiles).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.microbatching as omb
import optax.projections as oproj
import optax.tree_utils as otu_ref
import pytest

import optim
import optim.projections as proj
import optim.tree_utils as otu
import primitives.numpy as fnp
from oracle import assert_trees_close
from transforms import grad, jit

_rng = np.random.default_rng(0)


def _same(ours, ref):
    """Equal leaves and the same structure up to the NamedTuple classes (ours vs optax's)."""
    assert str(jax.tree.structure(ours)) == str(jax.tree.structure(ref))
    assert_trees_close(jax.tree.leaves(ours), jax.tree.leaves(ref))


def _tree(dtype=jnp.float32, seed=0):
    rng = np.random.default_rng(seed)
    return {"a": jnp.asarray(rng.normal(size=(3, 4)), dtype),
            "b": (jnp.asarray(rng.normal(size=(5,)), dtype), jnp.asarray(rng.normal(), dtype))}


X, Y = _tree(seed=1), _tree(seed=2)
MIXED = {"f32": _tree(jnp.float32, 3), "bf16": _tree(jnp.bfloat16, 4)}


# --- tree_utils ---
def _tree_cases(lib):
    t = lib
    return {
        "add": t.tree_add(X, Y, X), "sub": t.tree_sub(X, Y), "mul": t.tree_mul(X, Y),
        "div": t.tree_div(X, Y), "scale": t.tree_scale(0.3, X),
        "add_scale": t.tree_add_scale(X, 0.3, Y), "vdot": t.tree_vdot(X, Y),
        "sum": t.tree_sum(MIXED), "max": t.tree_max(X), "min": t.tree_min(X),
        "norm": t.tree_norm(MIXED), "norm_sq": t.tree_norm(X, squared=True),
        "norm1": t.tree_norm(X, ord=1), "norm_inf": t.tree_norm(X, ord="inf"),
        "norm1_sq": t.tree_norm(X, ord=1, squared=True),
        "zeros": t.tree_zeros_like(MIXED), "ones": t.tree_ones_like(X, dtype=jnp.bfloat16),
        "full": t.tree_full_like(MIXED, 2.5), "clip": t.tree_clip(X, -0.5, 0.2),
        "clip_lo": t.tree_clip(X, min_value=0.0), "where": t.tree_where(True, X, Y),
        "cast": t.tree_cast(X, jnp.bfloat16), "cast_like": t.tree_cast_like(X, MIXED["bf16"]),
        "batch": t.tree_batch_shape(X, (2,)), "conj": t.tree_conj(X), "real": t.tree_real(X),
        "moment": t.tree_update_moment(X, Y, 0.9, 2),
        "moment_norm": t.tree_update_moment_per_elem_norm(X, Y, 0.9, 2),
        "inf_moment": t.tree_update_infinity_moment(X, Y, 0.9, 1e-3),
        "bias": t.tree_bias_correction(X, 0.9, jnp.asarray(3, jnp.int32)),
        "random": t.tree_random_like(jax.random.PRNGKey(7), MIXED),
        "random_u": t.tree_random_like(jax.random.PRNGKey(8), X, jax.random.uniform),
        "keys": t.tree_split_key_like(jax.random.PRNGKey(9), X),
    }


def test_tree_utils_match_optax():
    ours, ref = _tree_cases(otu), _tree_cases(otu_ref)
    ours["keys"] = jax.tree.map(np.asarray, ours["keys"])
    assert_trees_close(ours, ref, what="tree_utils")
    assert otu.tree_size(MIXED) == otu_ref.tree_size(MIXED)
    assert bool(otu.tree_allclose(X, X)) and not bool(otu.tree_allclose(X, Y))
    for handler in (None, "promote", "highest", "lowest"):
        tree = X if handler is None else MIXED
        assert otu.tree_dtype(tree, handler) == otu_ref.tree_dtype(tree, handler)
    with pytest.raises(ValueError):
        otu.tree_dtype(MIXED)
    # the deprecated names
    assert_trees_close([otu.tree_l1_norm(X), otu.tree_l2_norm(X), otu.tree_linf_norm(X),
                        otu.tree_scalar_mul(2.0, X)],
                       [otu_ref.tree_norm(X, ord=1), otu_ref.tree_norm(X), otu_ref.tree_norm(
                           X, ord="inf"), otu_ref.tree_scale(2.0, X)])


def test_tree_utils_trace_under_our_jit():
    f = jit(lambda x, y: (otu.tree_vdot(x, y), otu.tree_norm(x, ord=1), otu.tree_max(x),
                          otu.tree_add_scale(x, 0.5, y)))
    g = jax.jit(lambda x, y: (otu_ref.tree_vdot(x, y), otu_ref.tree_norm(x, ord=1),
                              otu_ref.tree_max(x), otu_ref.tree_add_scale(x, 0.5, y)))
    assert_trees_close(f(X, Y), g(X, Y))


def test_tree_get_set_and_map_params():
    params = {"w": jnp.ones((2, 3)), "b": jnp.zeros((3,))}
    def state_of(lib):
        tx = lib.chain(lib.add_decayed_weights(1e-3), lib.adam(1e-2))
        return tx.update(params, tx.init(params), params)[1]
    ours_state, ref_state = state_of(optim), state_of(optax)
    assert_trees_close(otu.tree_get(ours_state, "count"), otu_ref.tree_get(ref_state, "count"))
    assert otu.tree_get(ours_state, "missing", default=3) == 3
    ours_all = otu.tree_get_all_with_path(ours_state, "mu")
    ref_all = otu_ref.tree_get_all_with_path(ref_state, "mu")
    assert [str(k) for k in ours_all[0][0]] == [str(k) for k in ref_all[0][0]]
    assert_trees_close(ours_all[0][1], ref_all[0][1])
    new = otu.tree_set(ours_state, count=jnp.asarray(7, jnp.int32))
    assert int(otu.tree_get(new, "count")) == 7
    ref_new = otu_ref.tree_set(ref_state, count=jnp.asarray(7, jnp.int32))
    assert_trees_close(jax.tree.leaves(new), jax.tree.leaves(ref_new))
    with pytest.raises(KeyError):
        otu.tree_set(ours_state, nothing=1)
    filt = lambda path, v: isinstance(v, optim.ScaleByAdamState)  # noqa: E731
    assert otu.tree_get(ours_state, "ScaleByAdamState", filtering=filt).count == 1
    tx = optim.adam(1e-2)
    state = tx.init(params)
    doubled = otu.tree_map_params(tx, lambda p: p + 2.0, state,
                                  transform_non_params=lambda v: v * 0)
    ref = otu_ref.tree_map_params(optax.adam(1e-2), lambda p: p + 2.0,
                                  optax.adam(1e-2).init(params),
                                  transform_non_params=lambda v: v * 0)
    assert_trees_close(jax.tree.leaves(doubled), jax.tree.leaves(ref))
    assert optim.tree_map_params is otu.tree_map_params


# --- projections ---
POS = {"a": jnp.asarray(_rng.normal(size=(3, 4)), jnp.float32),
       "b": jnp.asarray(_rng.normal(size=(5,)), jnp.float32)}
A = jax.tree.map(lambda x: x + 0.3, POS)


def _projection_cases(lib):
    return {
        "non_negative": lib.projection_non_negative(POS),
        "box": lib.projection_box(POS, jax.tree.map(lambda x: x * 0 - 0.2, POS),
                                  jax.tree.map(lambda x: x * 0 + 0.4, POS)),
        "hypercube": lib.projection_hypercube(POS["a"], 0.5),
        "simplex": lib.projection_simplex(POS), "simplex_2": lib.projection_simplex(POS, 2.0),
        "simplex_mixed": lib.projection_simplex(MIXED["bf16"]),
        "l1_sphere": lib.projection_l1_sphere(POS, 1.5),
        "l1_ball_in": lib.projection_l1_ball(POS, 100.0),
        "l1_ball_out": lib.projection_l1_ball(POS, 1.5),
        "l2_sphere": lib.projection_l2_sphere(POS, 2.0),
        "l2_ball_in": lib.projection_l2_ball(POS, 100.0),
        "l2_ball_out": lib.projection_l2_ball(POS, 0.5),
        "linf_ball": lib.projection_linf_ball(POS, 0.3),
        "vector": lib.projection_vector(POS, A),
        "hyperplane": lib.projection_hyperplane(POS, A, 0.7),
        "halfspace_out": lib.projection_halfspace(POS, A, -3.0),
        "halfspace_in": lib.projection_halfspace(POS, A, 100.0),
    }


def test_projections_match_optax():
    ref = _projection_cases(oproj)
    assert_trees_close(_projection_cases(proj), ref, what="projections")
    ours = jit(lambda t: _projection_cases(proj))(POS)
    assert_trees_close(ours, ref, what="projections under jit")


def test_projection_simplex_gradient():
    w = jnp.asarray(_rng.normal(size=(6,)), jnp.float32)
    x = {"v": jnp.asarray(_rng.normal(size=(6,)), jnp.float32)}
    ours = grad(lambda t: fnp.sum(proj.projection_simplex(t)["v"] * w))(x)
    # jax's jit: eagerly it compiles each op of its gradient on its own, same values
    ref = jax.jit(jax.grad(lambda t: jnp.sum(oproj.projection_simplex(t)["v"] * w)))(x)
    assert_trees_close(ours, ref)


# --- numerics ---
def test_numerics_helpers():
    i32max = jnp.asarray(np.iinfo(np.int32).max, jnp.int32)
    for ours, ref in [
        (optim.safe_increment(jnp.asarray(1, jnp.int32)), optax.safe_increment(
            jnp.asarray(1, jnp.int32))),
        (optim.safe_int32_increment(i32max), optax.safe_int32_increment(i32max)),
        (optim.safe_increment(jnp.asarray(2.0, jnp.float32)), optax.safe_increment(
            jnp.asarray(2.0, jnp.float32))),
        (optim.safe_root_mean_squares(POS["a"], 0.1), optax.safe_root_mean_squares(
            POS["a"], 0.1)),
        (optim.safe_root_mean_squares(POS["a"] * 0, 0.1), optax.safe_root_mean_squares(
            POS["a"] * 0, 0.1)),
        (optim.incremental_update(X, Y, 0.1), optax.incremental_update(X, Y, 0.1)),
        (optim.periodic_update(X, Y, 4, 2), optax.periodic_update(X, Y, 4, 2)),
        (optim.periodic_update(X, Y, jnp.asarray(5), 2), optax.periodic_update(X, Y, 5, 2)),
        (optim.update_infinity_moment(X, Y, 0.9, 1e-3),
         optax.update_infinity_moment(X, Y, 0.9, 1e-3)),
        (optim.update_moment(X, Y, 0.9, 1), optax.update_moment(X, Y, 0.9, 1)),
        (optim.bias_correction(X, 0.9, jnp.asarray(2)), optax.bias_correction(X, 0.9, 2)),
    ]:
        assert_trees_close(ours, ref)
    g = grad(lambda x: optim.safe_root_mean_squares(x, 0.1))(POS["a"] * 0)
    assert np.all(np.isfinite(np.asarray(g)))


# --- wrappers needing special inputs ---
def _nan_grads():
    seq = []
    for i in range(9):
        g = jax.tree.map(lambda x: x * (0.1 * i + 1), X)
        if i in (1, 3, 4, 5, 6):  # one, then four in a row (more than max_consecutive_errors)
            g = {**g, "a": g["a"].at[0, 1].set(jnp.nan if i % 2 else jnp.inf)}
        seq.append(g)
    return seq


def _run_both(build, grads_seq, params):
    ours, ref = build(optim), build(optax)
    step_o = jit(lambda g, s, p: ours.update(g, s, p))
    step_r = jax.jit(lambda g, s, p: ref.update(g, s, p))
    so, sr, po, pr = ours.init(params), ref.init(params), params, params
    outs = []
    for g in grads_seq:
        uo, so = step_o(g, so, po)
        ur, sr = step_r(g, sr, pr)
        po, pr = optim.apply_updates(po, uo), optax.apply_updates(pr, ur)
        outs.append((uo, ur))
    return outs, (so, sr), (po, pr)


def test_apply_if_finite_nan_grads():
    outs, (so, sr), (po, pr) = _run_both(lambda o: o.apply_if_finite(o.adam(1e-2), 3),
                                         _nan_grads(), X)
    for uo, ur in outs:
        _same(uo, ur)
    _same(so, sr)
    _same(po, pr)
    assert int(so.total_notfinite) == 5 and bool(so.last_finite)


def test_zero_nans_and_conditionals_with_extra_args():
    outs, (so, sr), _ = _run_both(lambda o: o.chain(o.zero_nans(), o.sgd(0.1)), _nan_grads()[:3],
                                  X)
    _same([u for u, _ in outs], [u for _, u in outs])
    _same(so, sr)

    def build(o):
        cond = lambda step, value: value > 1.0  # noqa: E731
        return o.conditionally_transform(o.sgd(0.1), cond, forward_extra_args=True)
    for value in (0.5, 2.0):
        ours, ref = build(optim), build(optax)
        uo, so = ours.update(X, ours.init(X), X, value=value)
        ur, sr = ref.update(X, ref.init(X), X, value=value)
        _same((uo, so), (ur, sr))


def test_per_example_clipping():
    batch = {"w": jnp.asarray(_rng.normal(size=(6, 3, 2)), jnp.float32),
             "b": jnp.asarray(_rng.normal(size=(6, 2)) * 3, jnp.float32)}
    f_ours = jit(lambda g: (optim.per_example_global_norm_clip(g, 1.5),
                            optim.per_example_layer_norm_clip(g, 1.5),
                            optim.per_example_layer_norm_clip(g, 1.5, uniform=False)))
    ref = (optax.per_example_global_norm_clip(batch, 1.5),
           optax.per_example_layer_norm_clip(batch, 1.5),
           optax.per_example_layer_norm_clip(batch, 1.5, uniform=False))
    _same(f_ours(batch), ref)
    with pytest.raises(ValueError, match="batch dimension"):
        optim.per_example_global_norm_clip({"a": jnp.ones((3,)), "b": jnp.ones((2,))}, 1.0)


def test_lookahead():
    def build(o):
        return o.lookahead(o.adam(1e-2), sync_period=3, slow_step_size=0.5, reset_state=True)
    ours, ref = build(optim), build(optax)
    po = optim.LookaheadParams.init_synced(X)
    pr = optax.LookaheadParams.init_synced(X)
    so, sr = ours.init(po), ref.init(pr)
    step_o = jit(lambda g, s, p: ours.update(g, s, p))
    for i in range(7):
        g = jax.tree.map(lambda x: jnp.tanh(x) + 0.1 * i, po.fast)
        uo, so = step_o(g, so, po)
        ur, sr = ref.update(g, sr, pr)
        po, pr = optim.apply_updates(po, uo), optax.apply_updates(pr, ur)
        _same((uo, so, po), (ur, sr, pr))


def test_distance_over_gradients_and_block_norm():
    params = {"w": jnp.asarray(_rng.normal(size=(4, 3)), jnp.float32),
              "v": jnp.asarray(_rng.normal(size=(5,)), jnp.bfloat16)}
    seq = [jax.tree.map(lambda x: jnp.sin(x * (i + 1)), params) for i in range(5)]
    for build in (lambda o: o.chain(o.scale_by_distance_over_gradients(), o.scale(-0.5)),
                  lambda o: o.chain(o.scale_by_param_block_norm(0.5), o.scale(-0.5))):
        outs, (so, sr), (po, pr) = _run_both(build, seq, params)
        _same(outs[-1][0], outs[-1][1])
        _same((so, po), (sr, pr))


def test_scale_gradient_under_grad():
    x = jnp.asarray([1.0, -2.0, 3.0])
    for scale in (0.0, 0.5, 1.0):
        ours = grad(lambda v: fnp.sum(optim.scale_gradient({"v": v * v}, scale)["v"]))(x)
        ref = jax.grad(lambda v: jnp.sum(optax.scale_gradient({"v": v * v}, scale)["v"]))(x)
        _same(ours, ref)
        _same(optim.scale_gradient(x, scale), x)


def test_new_states_and_names():
    assert optim.MultiTransformState is optim.PartitionState
    for name in ("AddDecayedWeightsState", "ScaleState", "ScaleByTrustRatioState", "ClipState",
                 "ClipByGlobalNormState", "AdaptiveGradClipState", "NonNegativeParamsState"):
        assert getattr(optim, name) is optim.EmptyState
    for name in ("ApplyIfFiniteState", "ApplyEvery", "ZeroNansState", "ConditionallyMaskState",
                 "ConditionallyTransformState", "SnapshotState", "MonitorState", "LookaheadState",
                 "LookaheadParams", "ScaleByAdanState"):
        assert getattr(optim, name)._fields == getattr(optax, name)._fields, name
    assert optim.schedules.cosine_decay_schedule is optim.cosine_decay_schedule
    for name in ("Params", "Updates", "OptState", "TransformUpdateExtraArgsFn", "MaskOrFn"):
        assert hasattr(optim, name)
    tx = optim.apply_if_finite(optim.sgd(0.1), 2)
    with pytest.raises(optim.TreeMismatchError):
        tx.update(X, optim.adam(0.1).init(X), X)
    # optax's own state of the same transformation is accepted
    u, _ = optim.adan(1e-2).update(X, optax.adan(1e-2).init(X), X)
    _same(u, optax.adan(1e-2).update(X, optax.adan(1e-2).init(X), X)[0])


def test_microbatching():
    x = jnp.asarray(_rng.normal(size=(12, 3)), jnp.float32)
    y = jnp.asarray(_rng.normal(size=(12,)), jnp.float32)
    w = jnp.asarray(_rng.normal(size=(3,)), jnp.float32)

    def outputs(lib, np_):
        f = lambda w, x, y: {"s": np_.sum((x @ w - y) ** 2), "v": x @ w}  # noqa: E731
        loss = lambda w, x, y: np_.mean((x @ w - y) ** 2)  # noqa: E731
        m = optim.microbatching if lib is optim else omb
        out = {k: m.microbatch(f, (1, 2), 4, getattr(m.AccumulationType, k))
               for k in ("SUM", "MEAN", "RUNNING_MEAN", "CONCAT")}
        out["tree"] = m.microbatch(f, (1, 2), 3, {"s": m.AccumulationType.MEAN,
                                                  "v": m.AccumulationType.CONCAT})
        out["early"] = m.microbatch(f, (1, 2), 3, num_real_microbatches=2)
        out["grad"] = m.micro_grad(loss, batch_argnums=(1, 2), microbatch_size=3)
        out["vmap"] = m.micro_vmap(lambda w, a: np_.sin(a) * w, in_axes=(None, 0),
                                   microbatch_size=4)
        return lambda w, x, y: {k: (g(w, x) if k == "vmap" else g(w, x, y))
                                for k, g in out.items()}
    ours = jit(outputs(optim, fnp))(w, x, y)
    ref = jax.jit(outputs(optax, jnp))(w, x, y)
    _same(ours, ref)
    assert optim.microbatch is optim.microbatching.microbatch
    with pytest.raises(ValueError, match="divisible"):
        optim.microbatch(lambda x: x, 0, 5)(x)
