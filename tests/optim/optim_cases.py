"""Shared problems and comparisons for the optim tests (not a test module).

The reference trajectory is optax's under ``jax.jit``; ours runs under
``transforms.jit``. Both steps compute the same gradient function, written
with fnp (which also runs on jax's tracers), so the two trajectories see the
same problem and any divergence comes from the optimizers.
"""
from __future__ import annotations

import numpy as np
import jax.numpy as jnp
from jax import tree_util

import optim
import primitives.numpy as fnp

# the leaf kinds of the acceptance table
LEAF_SHAPES = {"dense": (160, 130), "conv": (3, 3, 16, 8), "vector": (7,), "scalar": ()}
# relative error ||ours - ref|| / ||ref|| per leaf: 1e-10 in f64, 1e-6 in f32, two ulps in bf16
RTOL = {"float64": 1e-10, "float32": 1e-6, "bfloat16": 8e-3}


def make_params(dtype, seed: int = 0, shapes=LEAF_SHAPES):
    rng = np.random.default_rng(seed)
    return {k: jnp.asarray(rng.normal(size=s), dtype) for k, s in shapes.items()}


def make_mixed_params(seed: int = 0, shapes=LEAF_SHAPES):
    """Every leaf kind in f32 and in bf16, in one tree (one compile per optimizer)."""
    return {"f32": make_params(jnp.float32, seed, shapes),
            "bf16": make_params(jnp.bfloat16, seed + 1, shapes)}


def grad_fn(params):
    """A fixed nonlinear 'gradient field': tanh(p - 0.5) + 0.1 sin(3p)."""
    return tree_util.tree_map(lambda p: fnp.tanh(p - 0.5) + 0.1 * fnp.sin(3.0 * p), params)


def _step(tx):
    def step(params, state):
        updates, state = tx.update(grad_fn(params), state, params)
        return optim.apply_updates(params, updates), state, updates
    return step


def trajectory(tx, jit_, params, steps: int):
    """``(params, state, last updates)`` after ``steps`` steps of ``tx`` compiled by ``jit_``
    (ours or jax.jit)."""
    step = jit_(_step(tx))
    state = tx.init(params)
    for _ in range(steps):
        params, state, updates = step(params, state)
    return params, state, updates


def rel_err(o, t) -> float:
    """``||o - t|| / ||t||`` (Frobenius), NaNs required at the same places."""
    o64, t64 = np.asarray(o, np.float64), np.asarray(t, np.float64)
    nan_o, nan_t = np.isnan(o64), np.isnan(t64)
    if not np.array_equal(nan_o, nan_t):
        return float("inf")
    o64, t64 = np.where(nan_o, 0.0, o64), np.where(nan_t, 0.0, t64)
    scale = max(float(np.linalg.norm(t64.ravel())), 1e-30)
    return float(np.linalg.norm((o64 - t64).ravel())) / scale


def comparable_optax_state(state):
    """optax's inject_hyperparams state also holds the schedules' own counters
    (hyperparams_states); ours reads the step count instead. Drop them."""
    import optax
    return tree_util.tree_map(
        lambda s: optax.InjectHyperparamsState(s.count, s.hyperparams, s.inner_state)
        if isinstance(s, optax.InjectStatefulHyperparamsState) else s, state,
        is_leaf=lambda s: isinstance(s, optax.InjectStatefulHyperparamsState))


def _leaves(tree):
    return tree_util.tree_flatten_with_path(tree)[0]


def assert_close_to_reference(ours, theirs, what: str, rtol: float | dict | None = None) -> None:
    """Leaf-by-leaf relative error (see rel_err) within ``rtol`` (a number, a dict by
    dtype name over RTOL's defaults, or None: RTOL).

    Placeholders are skipped: our empty (0,)-shaped adafactor slots stand for
    optax's (1,)-shaped zeros. Everything else must line up one to one.
    """
    o_leaves, t_leaves = _leaves(ours), _leaves(comparable_optax_state(theirs))
    pairs, i, j = [], 0, 0
    while i < len(o_leaves) and j < len(t_leaves):
        (po, o), (_, t) = o_leaves[i], t_leaves[j]
        if np.size(o) == 0 and np.shape(t) == (1,):
            i, j = i + 1, j + 1
            continue
        pairs.append((tree_util.keystr(po), o, t))
        i, j = i + 1, j + 1
    assert (i, j) == (len(o_leaves), len(t_leaves)), \
        f"{what}: {len(o_leaves)} leaves vs optax's {len(t_leaves)}"
    for path, o, t in pairs:
        assert np.shape(o) == np.shape(t), f"{what}{path}: shape {np.shape(o)} vs {np.shape(t)}"
        assert np.asarray(o).dtype == np.asarray(t).dtype, \
            f"{what}{path}: dtype {np.asarray(o).dtype} vs {np.asarray(t).dtype}"
        dtype = np.asarray(t).dtype
        if dtype.kind in "iub":
            np.testing.assert_array_equal(np.asarray(o), np.asarray(t), err_msg=f"{what}{path}")
        else:
            if rtol is None or isinstance(rtol, dict):
                tol = {**RTOL, **(rtol or {})}[dtype.name]
            else:
                tol = rtol
            err = rel_err(o, t)
            assert err <= tol, f"{what}{path}: relative error {err:.2e} > {tol:.0e}"
