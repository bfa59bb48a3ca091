"""The clipping graph pass: how each parameter is classified, and that every kind
of use (ghost, materialized, vmap fallback, unused) gives JAX's clipped gradient."""
from __future__ import annotations

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import primitives.control_flow as fcf
import primitives.numpy as fnp
import primitives.random as frandom
from transforms import jit
from optim import dp
from dp_cases import clip_reference, fx_loss, mlp_batch, mlp_params
from oracle import assert_trees_close

OURS = SimpleNamespace(np=fnp, cond=fcf.cond, scan=fcf.scan)
JAX = SimpleNamespace(np=jnp, cond=jax.lax.cond, scan=jax.lax.scan)
B = 6


def _params(seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"w": (5, 4), "u": (4, 4), "log_s": (4,), "b": (4,), "unused": (3,)}
    return {k: jnp.asarray(0.7 * rng.normal(size=s), jnp.float32) for k, s in shapes.items()}


def _batch(n=B, seed=1):
    rng = np.random.default_rng(seed)
    return {"x": jnp.asarray(rng.normal(size=(n, 2, 5)), jnp.float32),
            "y": jnp.asarray(rng.normal(size=(n, 4)), jnp.float32)}


def odd_uses(ns):
    """A loss whose parameters enter in every way the pass distinguishes: w by a
    dense layer over a sequence (ghost), u by two dense layers (one shared ghost
    norm over both uses' rows), log_s
    through exp (a param-only prefix: materialized), b inside a cond and a scan
    (vmap fallback), and ``unused`` not at all."""
    def loss(p, ex):
        h = ns.np.tanh(ex["x"] @ p["w"])                       # (2, 4): ghost (T^2 (K+N) < T K N)
        h = h @ p["u"] + ns.np.tanh(h @ p["u"])                # u used twice
        h = h * ns.np.exp(p["log_s"])
        h = ns.cond(ns.np.sum(ex["x"]) > 0, lambda v: v + p["b"], lambda v: v - p["b"], h)
        h, _ = ns.scan(lambda c, r: (c + r * p["b"], None), h[0], h)
        return ns.np.sum((h - ex["y"]) ** 2)
    return loss


LOSS, JAX_LOSS = odd_uses(OURS), odd_uses(JAX)


def test_plan_classifies_every_kind_of_use():
    plan = dp.clipping_plan(LOSS, _params(), jax.tree.map(lambda x: x[0], _batch()))
    kinds = dict(zip(["b", "log_s", "u", "unused", "w"], plan.kinds()))
    assert kinds == {"w": "ghost", "u": "ghost", "log_s": "materialized", "b": "vmap",
                     "unused": "unused"}
    text = str(plan)
    assert "ghost dense" in text and "vmap(grad)" in text and "used inside" in text
    assert "ghost dense, 2 uses" in text
    assert len(plan.params[2].uses) == 2     # u: two equations


def test_checkpointed_layers_are_analysed_inside():
    """checkpoint (remat) bodies are inlined by the pass: no vmap fallback, JAX's values."""
    from transforms import checkpoint

    def make(np_mod, ckpt):
        def loss(p, ex):
            h = ckpt(lambda x: np_mod.tanh(x @ p["w1"] + p["b1"]))(ex["x"])
            return np_mod.sum((ckpt(lambda h: h @ p["w2"])(h) + p["b2"] - ex["y"]) ** 2)
        return loss
    ours, theirs = make(fnp, checkpoint), make(jnp, jax.checkpoint)
    params, batch = mlp_params(), mlp_batch(B)
    plan = dp.clipping_plan(ours, params, jax.tree.map(lambda x: x[0], batch))
    assert "vmap" not in plan.kinds() and "remat" not in str(plan)
    per_ex = jax.vmap(jax.grad(theirs), in_axes=(None, 0))(params, batch)
    want, norms, _ = clip_reference(per_ex, 1.0)
    got, stats = dp.privatize_gradients(ours, params, batch, l2_norm_clip=1.0,
                                        noise_multiplier=0.0, expected_batch_size=1.0)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-5)
    assert_trees_close(stats["per_example_norms"], norms.astype(np.float32), rtol=1e-5)


def test_mlp_plan():
    plan = dp.clipping_plan(fx_loss, mlp_params(), jax.tree.map(lambda x: x[0], mlp_batch(2)))
    assert plan.kinds() == ["materialized", "materialized", "ghost", "ghost"]   # b1 b2 w1 w2


def _reference(params, batch, clip, mask=None):
    per_ex = jax.vmap(jax.grad(JAX_LOSS), in_axes=(None, 0))(params, batch)
    return clip_reference(per_ex, clip, mask)


@pytest.mark.parametrize("method", ["auto", "bookkeeping", "ghost", "vmap"])
def test_every_kind_of_use_matches_jax(method):
    params, batch = _params(), _batch()
    want, norms, _ = _reference(params, batch, 150.0)
    assert 0 < np.mean(norms > 150.0) < 1
    got, stats = dp.privatize_gradients(LOSS, params, batch, l2_norm_clip=150.0,
                                        noise_multiplier=0.0, expected_batch_size=1.0,
                                        method=method)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-5)
    assert_trees_close(stats["per_example_norms"], norms.astype(np.float32), rtol=1e-5)
    assert_trees_close(stats["per_example_loss"], jax.vmap(JAX_LOSS, (None, 0))(params, batch),
                       rtol=1e-5)


def test_per_layer_clipping_with_fallback_params():
    params, batch = _params(), _batch()
    clip = {k: 30.0 for k in params}
    want, _, _ = _reference(params, batch, clip)
    got, _ = dp.privatize_gradients(LOSS, params, batch, l2_norm_clip=clip, noise_multiplier=0.0,
                                    expected_batch_size=1.0, method="bookkeeping")
    assert_trees_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", ["bookkeeping", "ghost", "vmap"])
def test_microbatches_give_the_same_result(method):
    params, batch = mlp_params(), mlp_batch(12)
    mask = np.arange(12) % 5 != 0
    run = lambda m: dp.privatize_gradients(   # noqa: E731
        fx_loss, params, batch, l2_norm_clip=1.0, noise_multiplier=0.0, mask=mask,
        method=method, microbatch_size=m)
    whole, st_whole = run(None)
    parts, st_parts = jit(lambda: run(4))()
    assert_trees_close(parts, whole, rtol=1e-5, atol=1e-6)
    assert_trees_close(st_parts, st_whole, rtol=1e-5, atol=1e-6)


def test_microbatches_without_mask_under_jit_on_traced_batches():
    # no mask and traced params / batch (the default all-true mask was float: a traced
    # float mask is refused, so this failed under jit and pmap)
    params, batch = mlp_params(), mlp_batch(8)
    cgs = lambda p, b, m: dp.clipped_gradient_sum(fx_loss, p, b, l2_norm_clip=1.0,  # noqa: E731
                                                  microbatch_size=m)[0]
    assert_trees_close(jit(lambda p, b: cgs(p, b, 4))(params, batch), cgs(params, batch, None),
                       rtol=1e-5, atol=1e-6)


def test_microbatch_size_must_divide_the_batch():
    with pytest.raises(dp.DPArgumentError, match="dividing the batch size 8"):
        dp.privatize_gradients(fx_loss, mlp_params(), mlp_batch(8), l2_norm_clip=1.0,
                               noise_multiplier=0.0, microbatch_size=3)


def test_virtual_batch_accumulates_clipped_sums_then_adds_noise_once():
    """Two physical batches summed with clipped_gradient_sum, then noisy_mean, equal
    privatize_gradients on the concatenated logical batch with the same key."""
    params, batch = mlp_params(), mlp_batch(8)
    halves = [jax.tree.map(lambda x: x[:4], batch), jax.tree.map(lambda x: x[4:], batch)]
    sums = [dp.clipped_gradient_sum(fx_loss, params, h, l2_norm_clip=1.0)[0] for h in halves]
    total = jax.tree.map(lambda a, b: a + b, *sums)
    key = frandom.PRNGKey(5)
    got = dp.noisy_mean(total, l2_norm_clip=1.0, noise_multiplier=1.1, key=key, divisor=8.0)
    want, _ = dp.privatize_gradients(fx_loss, params, batch, l2_norm_clip=1.0,
                                     noise_multiplier=1.1, key=key)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-6)


def test_fast_methods_materialize_no_per_example_weight_gradient():
    """Book-keeping on the MLP: no value of the compiled graph has shape
    (B, *w.shape) -- the per-example weight gradients are never formed."""
    import fx
    params, batch = mlp_params(), mlp_batch(8)
    graph = fx.make_graph(lambda p, b: dp.privatize_gradients(
        fx_loss, p, b, l2_norm_clip=1.0, noise_multiplier=0.0, method="bookkeeping")[0])(
        params, batch)
    shapes = {tuple(v.aval.shape) for e in graph.equations for v in e.outputs}
    for k in ("w1", "w2"):
        assert (8,) + params[k].shape not in shapes
    vgraph = fx.make_graph(lambda p, b: dp.privatize_gradients(
        fx_loss, p, b, l2_norm_clip=1.0, noise_multiplier=0.0, method="vmap")[0])(params, batch)
    assert (8,) + params["w1"].shape in {tuple(v.aval.shape) for e in vgraph.equations
                                         for v in e.outputs}
