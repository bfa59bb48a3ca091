"""Ecosystem code through fx.jax_function: flax and equinox models under our
transforms and DP clipping, optax transformations under our jit."""
import numpy as np
import jax
import jax.numpy as jnp
import optax
import pytest

import fx
from optim import dp
from transforms import grad, jit
from tests.oracle import assert_trees_close

nn = pytest.importorskip("flax.linen")
eqx = pytest.importorskip("equinox")

B = 6
_rng = np.random.default_rng(0)


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.LayerNorm()(nn.relu(nn.Dense(16)(x)))
        return nn.Dense(10)(x)


class CNN(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(4, (3, 3))(x))
        x = nn.max_pool(nn.avg_pool(x, (2, 2), (2, 2)), (2, 2))
        return nn.Dense(10)(x.reshape(x.shape[0], -1))


class Block(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = x + nn.MultiHeadDotProductAttention(num_heads=2)(nn.LayerNorm()(x))
        x = x + nn.Dense(x.shape[-1])(nn.gelu(nn.Dense(16)(nn.LayerNorm()(x))))
        return nn.Dense(10)(x.mean(1))


def _flax(module, shape):
    x = jnp.asarray(_rng.normal(size=(B, *shape)), jnp.float32)
    return module.apply, module.init(jax.random.PRNGKey(0), x[:1]), x


def _equinox():
    model = eqx.nn.MLP(8, 10, 16, 2, key=jax.random.PRNGKey(0))
    params, static = eqx.partition(model, eqx.is_array)
    x = jnp.asarray(_rng.normal(size=(B, 8)), jnp.float32)
    return (lambda p, xb: jax.vmap(eqx.combine(p, static))(xb)), params, x


MODELS = {
    "flax_mlp": lambda: _flax(MLP(), (8,)),
    "flax_cnn": lambda: _flax(CNN(), (8, 8, 1)),
    "flax_block": lambda: _flax(Block(), (5, 8)),
    "equinox_mlp": _equinox,
}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_dp_per_example_norms_equal_jax(name):
    apply, params, x = MODELS[name]()
    y = jnp.asarray(_rng.integers(0, 10, B))

    def jax_loss(p, example):
        xi, yi = example
        return optax.softmax_cross_entropy_with_integer_labels(apply(p, xi[None])[0], yi)
    loss = fx.jax_function(jax_loss)
    plan = dp.clipping_plan(loss, params, (x[0], y[0]))
    kernels = [r for r in str(plan).splitlines() if "kernel" in r or "weight" in r]
    assert kernels and all("ghost" in r or "conv rows" in r for r in kernels), str(plan)

    def ours(p, xb, yb):   # the DP step's per-example norms (auto: ghost / book-keeping)
        _, stats = dp.clipped_gradient_sum(loss, p, (xb, yb), l2_norm_clip=1.0)
        return stats["per_example_norms"], grad(loss)(p, (xb[0], yb[0]))

    def theirs(p, xb, yb):
        per_example = jax.vmap(jax.grad(jax_loss), in_axes=(None, 0))(p, (xb, yb))
        norms = jnp.sqrt(sum(jnp.sum(g.reshape(B, -1) ** 2, 1)
                             for g in jax.tree_util.tree_leaves(per_example)))
        return norms, jax.grad(jax_loss)(p, (xb[0], yb[0]))
    assert_trees_close(jit(ours)(params, x, y), jax.jit(theirs)(params, x, y),
                       rtol=1e-4, atol=1e-6)


def test_optax_under_our_jit_equals_optax_under_jax_jit():
    params = {"w": jnp.asarray(_rng.normal(size=(3, 4)), jnp.float32), "b": jnp.zeros(4)}
    g = jax.tree_util.tree_map(lambda p: p * 0.1 + 0.01, params)
    for opt in (optax.adam(1e-2), optax.adamw(1e-2, weight_decay=0.1),
                optax.chain(optax.clip_by_global_norm(1.0), optax.scale_by_adam(),
                            optax.scale(-1e-2))):
        ours, theirs = jit(fx.jax_function(opt.update)), jax.jit(opt.update)
        s_ours = s_theirs = opt.init(params)
        for _ in range(3):
            u_ours, s_ours = ours(g, s_ours, params)
            u_theirs, s_theirs = theirs(g, s_theirs, params)
        assert_trees_close((u_ours, s_ours), (u_theirs, s_theirs), rtol=1e-6, atol=1e-7)
