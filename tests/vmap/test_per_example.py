"""Per-example gradients ``vmap(grad(loss), in_axes=(None, 0, 0))`` equal
``jax.vmap(jax.grad(loss))`` on an MLP, a conv net and a transformer block,
for B in {1, 7, 256}; the traced graph does not grow with B."""
from __future__ import annotations

import numpy as np
import pytest
import jax

import fx
from corpus import _tp, conv_net, f32, jax_ns, mlp, mlp_params, ours_ns, transformer_block
from oracle import assert_trees_close
from transforms import grad, jit, vmap

OURS, THEIRS = ours_ns(), jax_ns()


def mlp_loss(ns, params, x, label):
    logp = ns.nn.log_softmax(mlp(ns, params, x))
    return -ns.np.sum(logp * ns.nn.one_hot(label, 4))


def conv_loss(ns, params, x, y):
    return (conv_net(ns, params[0], params[1], x[None]) - y) ** 2


def block_loss(ns, params, x, y):
    return (transformer_block(ns, params, x) - y) ** 2


def mlp_data(rng, b):
    return mlp_params(rng), f32(rng, b, 6), rng.integers(0, 4, size=b).astype(np.int32)


def conv_data(rng, b):
    params = (f32(rng, 3, 3, 2, 4, scale=0.5), f32(rng, 2, 2, 4, 3, scale=0.5))
    return params, f32(rng, b, 6, 6, 2), f32(rng, b)


def block_data(rng, b):
    return _tp(rng), f32(rng, b, 3, 4), f32(rng, b)


MODELS = {"mlp": (mlp_loss, mlp_data), "conv": (conv_loss, conv_data),
          "transformer": (block_loss, block_data)}


def _per_example(loss, ns, transform_vmap, transform_grad):
    return transform_vmap(transform_grad(lambda p, x, y: loss(ns, p, x, y)), in_axes=(None, 0, 0))


@pytest.mark.parametrize("b", [1, 7, 256])
@pytest.mark.parametrize("model", list(MODELS))
def test_per_example_gradients_match_jax(model, b):
    loss, data = MODELS[model]
    args = data(np.random.default_rng(b), b)
    got = jit(_per_example(loss, OURS, vmap, grad))(*args)
    exp = jax.jit(_per_example(loss, THEIRS, jax.vmap, jax.grad))(*args)
    assert_trees_close(got, exp, 1e-4, 1e-5, what=f"{model} B={b}")


def test_per_example_gradients_eager():
    loss, data = MODELS["mlp"]
    args = data(np.random.default_rng(0), 7)
    assert_trees_close(_per_example(loss, OURS, vmap, grad)(*args),  # ours eagerly, JAX's jitted
                       jax.jit(_per_example(loss, THEIRS, jax.vmap, jax.grad))(*args), 1e-4, 1e-5)


@pytest.mark.parametrize("model", list(MODELS))
def test_graph_size_independent_of_batch(model):
    """JAX issue #4447's failure: the traced graph must not grow with B."""
    loss, data = MODELS[model]
    fn = _per_example(loss, OURS, vmap, grad)
    sizes = {}
    for b in (8, 2048):
        g = fx.make_graph(fn)(*data(np.random.default_rng(0), b))
        sizes[b] = len(g.graph.equations)
    assert sizes[8] == sizes[2048], sizes
