"""Parameters used inside ``scan`` (stacked layers): the plan unrolls the scan and
plans each layer's slice ``W[i]`` like an ordinary parameter (a ghost norm), and
every method gives JAX's clipped gradient and per-example norms."""
from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import primitives.nn as fnn
import primitives.numpy as fnp
from optim import dp
from primitives.control_flow import scan
from transforms import jit
from dp_cases import clip_reference
from oracle import assert_trees_close

L, D, B = 4, 8, 6
RNG = np.random.default_rng(0)
PARAMS = {"W": jnp.asarray(RNG.normal(size=(L, D, D)) / 3, jnp.float32),
          "b": jnp.asarray(RNG.normal(size=(L, D)) / 3, jnp.float32),
          "out": jnp.asarray(RNG.normal(size=(D, 3)), jnp.float32)}
BATCH = {"x": jnp.asarray(RNG.normal(size=(B, D)), jnp.float32),
         "y": jnp.asarray(RNG.integers(0, 3, B), jnp.int32)}


def stacked_mlp(ns, nn, scan_, reverse=False):
    """Layers stacked along W's leading axis, applied by scan (as flax's nn.scan)."""
    def loss(p, ex):
        def layer(h, wb):
            return nn.tanh(h @ wb[0] + wb[1]), None
        h, _ = scan_(layer, ex["x"], (p["W"], p["b"]), reverse=reverse)
        return -nn.log_softmax(h @ p["out"])[ex["y"]]
    return loss


def shared_rnn(ns, nn, scan_):
    """One weight used by every iteration (a scan const) and a stacked one."""
    def loss(p, ex):
        def step(h, b):
            return nn.tanh(h @ p["W"][0] + b), None
        h, _ = scan_(step, ex["x"], p["b"])
        return ns.sum((h @ p["out"]) ** 2) + ns.sum(p["W"][1:] ** 2)
    return loss


def _reference(make, clip):
    theirs = make(jnp, jax.nn, lax.scan)
    per_ex = jax.vmap(jax.grad(theirs), in_axes=(None, 0))(PARAMS, BATCH)
    return clip_reference(per_ex, clip)


def test_plan_gives_each_layer_a_ghost_norm():
    ex = jax.tree.map(lambda x: x[0], BATCH)
    plan = dp.clipping_plan(stacked_mlp(fnp, fnn, scan), PARAMS, ex)
    rows = {p.path: (p.kind, p.rule) for p in plan.params}
    for i in range(L):
        assert rows[f"['W'][{i}]"] == ("ghost", "ghost dense")
        assert rows[f"['b'][{i}]"][0] == "materialized"
    assert rows["['out']"] == ("ghost", "ghost dense")


@pytest.mark.parametrize("method", ["auto", "bookkeeping", "ghost", "vmap"])
@pytest.mark.parametrize("reverse", [False, True])
def test_stacked_layers_match_jax(method, reverse):
    ours = stacked_mlp(fnp, fnn, scan, reverse)
    want, norms, _ = _reference(lambda *a: stacked_mlp(*a, reverse=reverse), 1.0)
    got, stats = jit(lambda p, b: dp.clipped_gradient_sum(ours, p, b, l2_norm_clip=1.0,
                                                          method=method))(PARAMS, BATCH)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-6)
    assert_trees_close(stats["per_example_norms"], norms.astype(np.float32), rtol=1e-5)


def test_per_layer_clipping_sums_the_layers_norms():
    clip = {"W": 0.5, "b": 0.2, "out": 1.0}
    want, _, _ = _reference(stacked_mlp, clip)
    got, _ = dp.clipped_gradient_sum(stacked_mlp(fnp, fnn, scan), PARAMS, BATCH,
                                     l2_norm_clip=clip)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-6)


def test_scan_const_and_overlapping_reads_stay_exact():
    """W[0] read by every iteration (a const of the scan) and W[1:] read again
    outside: the reads overlap, so W is planned as a whole."""
    ex = jax.tree.map(lambda x: x[0], BATCH)
    plan = dp.clipping_plan(shared_rnn(fnp, fnn, scan), PARAMS, ex)
    assert "['W']" in {p.path for p in plan.params}
    want, norms, _ = _reference(shared_rnn, 1.0)
    got, stats = dp.clipped_gradient_sum(shared_rnn(fnp, fnn, scan), PARAMS, BATCH,
                                         l2_norm_clip=1.0)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-6)
    assert_trees_close(stats["per_example_norms"], norms.astype(np.float32), rtol=1e-5)


def test_long_scans_fall_back_to_vmap(monkeypatch):
    # (optim.dp.clipping_plan the attribute is the function; the module by name)
    monkeypatch.setattr(importlib.import_module("optim.dp.clipping_plan"), "MAX_UNROLL", L - 1)
    ex = jax.tree.map(lambda x: x[0], BATCH)
    plan = dp.clipping_plan(stacked_mlp(fnp, fnn, scan), PARAMS, ex)
    assert {p.path: p.kind for p in plan.params}["['W']"] == "vmap"
    want, _, _ = _reference(stacked_mlp, 1.0)
    got, _ = dp.clipped_gradient_sum(stacked_mlp(fnp, fnn, scan), PARAMS, BATCH, l2_norm_clip=1.0)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-6)


def python_loop_mlp(ns, nn, scan_):
    """The same stacked layers indexed in a Python loop (W[i]: slice + reshape)."""
    def loss(p, ex):
        h = ex["x"]
        for i in range(L):
            h = nn.tanh(h @ p["W"][i] + p["b"][i])
        return -nn.log_softmax(h @ p["out"])[ex["y"]]
    return loss


def test_python_loop_over_stacked_layers_uses_views():
    ex = jax.tree.map(lambda x: x[0], BATCH)
    plan = dp.clipping_plan(python_loop_mlp(fnp, fnn, scan), PARAMS, ex)
    assert {p.path: p.kind for p in plan.params}["['W'][2]"] == "ghost"
    want, norms, _ = _reference(python_loop_mlp, 1.0)
    got, stats = dp.clipped_gradient_sum(python_loop_mlp(fnp, fnn, scan), PARAMS, BATCH,
                                         l2_norm_clip=1.0)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-6)
    assert_trees_close(stats["per_example_norms"], norms.astype(np.float32), rtol=1e-5)


def rnn(ns, nn, scan_):
    """An RNN: the recurrent weight U is a const of the scan, read at every step."""
    def loss(p, ex):
        def step(h, xi):
            return nn.tanh(h @ p["U"] + xi * p["b"][0]), None
        h, _ = scan_(step, ns.zeros((D,), np.float32), ex["x"])
        return -nn.log_softmax(h @ p["out"])[ex["y"]]
    return loss


def test_rnn_weight_gets_one_ghost_norm_over_all_steps():
    params = dict(PARAMS, U=PARAMS["W"][0])
    ex = jax.tree.map(lambda x: x[0], BATCH)
    plan = dp.clipping_plan(rnn(fnp, fnn, scan), params, ex)
    row = {p.path: p for p in plan.params}["['U']"]
    assert row.kind == "ghost" and row.rule == f"ghost dense, {D} uses"
    theirs = rnn(jnp, jax.nn, lax.scan)
    per_ex = jax.vmap(jax.grad(theirs), in_axes=(None, 0))(params, BATCH)
    want, norms, _ = clip_reference(per_ex, 1.0)
    for method in ("auto", "ghost"):
        got, stats = dp.clipped_gradient_sum(rnn(fnp, fnn, scan), params, BATCH,
                                             l2_norm_clip=1.0, method=method)
        assert_trees_close(got, want, rtol=1e-5, atol=1e-6)
        assert_trees_close(stats["per_example_norms"], norms.astype(np.float32), rtol=1e-5)
