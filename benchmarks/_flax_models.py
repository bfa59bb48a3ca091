"""The dp.py workloads written as flax.linen models (brought in with fx.jax_function)."""
from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp
import flax.linen as nn


class MLP(nn.Module):
    sizes: tuple = (256, 256, 10)

    @nn.compact
    def __call__(self, x):
        for n in self.sizes[:-1]:
            x = nn.relu(nn.Dense(n)(x))
        return nn.Dense(self.sizes[-1])(x)


class ConvNet(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(16, (3, 3))(x))
        x = nn.relu(nn.Conv(32, (3, 3))(x))
        return nn.Dense(10)(x.reshape(x.shape[0], -1))


class Block(nn.Module):
    vocab: int = 100
    d: int = 64
    heads: int = 4

    @nn.compact
    def __call__(self, tokens):
        x = nn.Embed(self.vocab, self.d)(tokens)
        x = x + self.param("pos", nn.initializers.normal(0.1), (tokens.shape[-1], self.d))
        x = x + nn.MultiHeadDotProductAttention(num_heads=self.heads)(nn.LayerNorm()(x))
        h = nn.LayerNorm()(x)
        x = x + nn.Dense(self.d)(nn.gelu(nn.Dense(4 * self.d)(h)))
        return nn.Dense(10)(jnp.mean(nn.LayerNorm()(x), axis=1))


def workloads():
    """(title, apply, params, batch) for the MLP, the conv net and the transformer block."""
    rng = np.random.default_rng(0)
    y = lambda b: jnp.asarray(rng.integers(0, 10, size=b), jnp.int32)  # noqa: E731
    out = []
    for title, module, x in [
            ("flax MLP 64-256-256-10, B=256", MLP(),
             jnp.asarray(rng.normal(size=(256, 64)), jnp.float32)),
            ("flax conv net 8x8x1 -> conv 16 -> conv 32 -> dense 10, B=256", ConvNet(),
             jnp.asarray(rng.uniform(size=(256, 8, 8, 1)), jnp.float32)),
            ("flax transformer block T=16 d=64 heads=4, B=64", Block(),
             jnp.asarray(rng.integers(0, 100, size=(64, 16)), jnp.int32))]:
        params = module.init(jax.random.PRNGKey(0), x[:1])
        out.append((title, module.apply, params, {"x": x, "y": y(x.shape[0])}))
    return out
