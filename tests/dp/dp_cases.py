"""Shared fixtures of the DP tests: a small MLP written once for fnp and jnp,
and the JAX reference of the clipped per-example gradient sum."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import primitives.numpy as fnp

D_IN, D_HID, D_OUT = 5, 16, 3


def make_loss(np_mod):
    """Per-example squared loss of a tanh MLP, using ``np_mod`` (fnp or jnp)."""
    def loss(p, ex):
        h = np_mod.tanh(ex["x"] @ p["w1"] + p["b1"])
        return np_mod.sum((h @ p["w2"] + p["b2"] - ex["y"]) ** 2)
    return loss


fx_loss, jax_loss = make_loss(fnp), make_loss(jnp)


def mlp_params(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    shapes = {"w1": (D_IN, D_HID), "b1": (D_HID,), "w2": (D_HID, D_OUT), "b2": (D_OUT,)}
    return {k: jnp.asarray(scale * rng.normal(size=s), jnp.float32) for k, s in shapes.items()}


def mlp_batch(n, seed=1):
    rng = np.random.default_rng(seed)
    return {"x": jnp.asarray(rng.normal(size=(n, D_IN)), jnp.float32),
            "y": jnp.asarray(rng.normal(size=(n, D_OUT)), jnp.float32)}


def jax_per_example_grads(params, batch):
    return jax.vmap(jax.grad(jax_loss), in_axes=(None, 0))(params, batch)


def jax_clipped_sum(params, batch, clip, mask=None):
    """JAX reference: vmap(grad) + flat (scalar clip) or per-layer (dict clip) clipping + sum."""
    g = jax_per_example_grads(params, batch)
    sq = {k: jnp.sum(v.reshape(v.shape[0], -1) ** 2, axis=1) for k, v in g.items()}
    if isinstance(clip, dict):
        factors = {k: jnp.minimum(1.0, clip[k] / jnp.sqrt(sq[k])) for k in g}
    else:
        f = jnp.minimum(1.0, clip / jnp.sqrt(sum(sq.values())))
        factors = {k: f for k in g}
    m = jnp.ones(len(batch["x"])) if mask is None else jnp.asarray(mask, jnp.float32)
    return {k: jnp.einsum("b,b...->...", factors[k] * m, v) for k, v in g.items()}


def clip_reference(per_ex_grads, clip, mask=None):
    """Flat (scalar ``clip``) or per-layer (``clip`` a tree of the gradients'
    structure) clipping and masked sum of per-example gradients, in float64 numpy.

    Returns:
      ``(clipped_sum, per_example_norms, per_leaf_norms)``: the summed clipped
      gradients (float32, the gradients' structure), the unclipped global norms
      ``(B,)`` and the unclipped per-leaf norms (the gradients' structure, each ``(B,)``).
    """
    leaves, tree = jax.tree.flatten(per_ex_grads)
    leaves = [np.asarray(v, np.float64) for v in leaves]
    sq = [np.sum(v.reshape(v.shape[0], -1) ** 2, axis=1) for v in leaves]
    norms = np.sqrt(sum(sq))
    if jax.tree_util.treedef_is_leaf(jax.tree.structure(clip)):
        factors = [clip / np.maximum(norms, clip)] * len(leaves)   # min(1, C/n), 0-safe
    else:
        factors = [c / np.maximum(np.sqrt(s), c) for c, s in zip(tree.flatten_up_to(clip), sq)]
    m = np.ones_like(norms) if mask is None else np.asarray(mask, np.float64)
    summed = [np.tensordot(f * m, v, axes=1).astype(np.float32) for f, v in zip(factors, leaves)]
    return tree.unflatten(summed), norms, tree.unflatten([np.sqrt(s) for s in sq])

