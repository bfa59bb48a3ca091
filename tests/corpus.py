"""A corpus of composite functions, each written once against a namespace so the
same code runs on fxjax (fnp/fnn/P) and on JAX (jnp/jax.nn/lax).

Each entry: ``Case(name, fn(ns, *args), make_args(rng))``. Outputs are real
scalars for the gradient tests (``scalar=True``) or arrays.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Callable, NamedTuple

import numpy as np


def ours_ns():
    import primitives as P
    import primitives.nn as fnn
    import primitives.numpy as fnp
    return SimpleNamespace(np=fnp, nn=fnn, lax=P)


def jax_ns():
    import jax
    import jax.numpy as jnp
    from jax import lax
    return SimpleNamespace(np=jnp, nn=jax.nn, lax=lax)


class Case(NamedTuple):
    name: str
    fn: Callable
    make_args: Callable
    scalar: bool = True


def f32(rng, *shape, scale=1.0, positive=False):
    x = rng.normal(size=shape) * scale
    if positive:
        x = np.abs(x) + 0.5
    return x.astype(np.float32)


def mlp_params(rng, sizes=(6, 8, 4)):
    return [(f32(rng, m, n, scale=0.5), f32(rng, n, scale=0.1)) for m, n in zip(sizes[:-1], sizes[1:])]


def mlp(ns, params, x):
    for w, b in params[:-1]:
        x = ns.nn.relu(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def softmax_xent(ns, params, x, labels):
    logits = mlp(ns, params, x)
    logp = ns.nn.log_softmax(logits)
    return -ns.np.mean(ns.np.sum(logp * ns.nn.one_hot(labels, logits.shape[-1]), axis=-1))


def attention(ns, q, k, v):
    s = q @ ns.np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    return ns.np.sum(ns.nn.softmax(s, axis=-1) @ v)


def layernorm(ns, x, g, b):
    mu = ns.np.mean(x, axis=-1, keepdims=True)
    var = ns.np.var(x, axis=-1, keepdims=True)
    return ns.np.sum(((x - mu) / ns.np.sqrt(var + 1e-5) * g + b) ** 2)


def conv_net(ns, w1, w2, x):
    y = ns.lax.conv_general_dilated(x, w1, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    y = ns.nn.relu(y)
    y = ns.lax.conv_general_dilated(y, w2, (2, 2), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return ns.np.mean(ns.np.tanh(y))


def transformer_block(ns, p, x):
    h = x @ p["wq"], x @ p["wk"], x @ p["wv"]
    s = h[0] @ h[1].T / np.sqrt(x.shape[-1])
    a = ns.nn.softmax(s, axis=-1) @ h[2]
    y = x + a @ p["wo"]
    mu = ns.np.mean(y, -1, keepdims=True)
    y = (y - mu) / ns.np.sqrt(ns.np.var(y, -1, keepdims=True) + 1e-5)
    return ns.np.sum(ns.nn.gelu(y @ p["w1"]) @ p["w2"])


def _tp(rng, d=4, f=8):
    return {"wq": f32(rng, d, d, scale=0.5), "wk": f32(rng, d, d, scale=0.5),
            "wv": f32(rng, d, d, scale=0.5), "wo": f32(rng, d, d, scale=0.5),
            "w1": f32(rng, d, f, scale=0.5), "w2": f32(rng, f, d, scale=0.5)}


CORPUS = [
    Case("sum_sin", lambda ns, x: ns.np.sum(ns.np.sin(x)), lambda r: (f32(r, 5),)),
    Case("poly", lambda ns, x: ns.np.sum(x ** 3 - 2 * x ** 2 + x), lambda r: (f32(r, 4),)),
    Case("exp_log", lambda ns, x: ns.np.sum(ns.np.log(ns.np.exp(x) + 1.0)), lambda r: (f32(r, 3, 2),)),
    Case("tanh_chain", lambda ns, x: ns.np.sum(ns.np.tanh(ns.np.tanh(x) * 2.0)), lambda r: (f32(r, 6),)),
    Case("sqrt_pos", lambda ns, x: ns.np.sum(ns.np.sqrt(x)), lambda r: (f32(r, 5, positive=True),)),
    Case("div", lambda ns, x, y: ns.np.sum(x / y), lambda r: (f32(r, 4), f32(r, 4, positive=True))),
    Case("max_min", lambda ns, x, y: ns.np.sum(ns.np.maximum(x, y) - ns.np.minimum(x, 0.3)), lambda r: (f32(r, 5), f32(r, 5))),
    Case("abs_sign", lambda ns, x: ns.np.sum(ns.np.abs(x) * 2.0 + x * ns.np.sign(x)), lambda r: (f32(r, 5),)),
    Case("broadcast_add", lambda ns, x, b: ns.np.sum((x + b) ** 2), lambda r: (f32(r, 3, 4), f32(r, 4))),
    Case("broadcast_mul_col", lambda ns, x, b: ns.np.sum(x * b[:, None]), lambda r: (f32(r, 3, 4), f32(r, 3))),
    Case("mean_axis", lambda ns, x: ns.np.sum(ns.np.mean(x, axis=0) ** 2), lambda r: (f32(r, 3, 4),)),
    Case("max_reduce", lambda ns, x: ns.np.max(x) + ns.np.sum(ns.np.max(x, axis=1)), lambda r: (f32(r, 3, 4),)),
    Case("prod_reduce", lambda ns, x: ns.np.prod(x), lambda r: (f32(r, 4, positive=True),)),
    Case("var_std", lambda ns, x: ns.np.var(x) + ns.np.std(x, axis=0).sum(), lambda r: (f32(r, 4, 3),)),
    Case("logsumexp", lambda ns, x: ns.nn.logsumexp(x), lambda r: (f32(r, 6),)),
    Case("softmax_dot", lambda ns, x, w: ns.np.sum(ns.nn.softmax(x, axis=-1) * w), lambda r: (f32(r, 2, 5), f32(r, 2, 5))),
    Case("log_softmax", lambda ns, x: ns.np.sum(ns.nn.log_softmax(x) * ns.np.arange(5.0)), lambda r: (f32(r, 3, 5),)),
    Case("matmul", lambda ns, a, b: ns.np.sum(ns.np.tanh(a @ b)), lambda r: (f32(r, 3, 4), f32(r, 4, 2))),
    Case("batched_matmul", lambda ns, a, b: ns.np.sum(ns.np.matmul(a, b) ** 2), lambda r: (f32(r, 2, 3, 4), f32(r, 2, 4, 2))),
    Case("einsum", lambda ns, a, b: ns.np.sum(ns.np.einsum("ij,jk->ik", a, b) ** 2), lambda r: (f32(r, 3, 4), f32(r, 4, 2))),
    Case("outer", lambda ns, a, b: ns.np.sum(ns.np.sin(ns.np.outer(a, b))), lambda r: (f32(r, 3), f32(r, 4))),
    Case("mlp", lambda ns, p, x: ns.np.sum(mlp(ns, p, x) ** 2), lambda r: (mlp_params(r), f32(r, 5, 6))),
    Case("softmax_xent", lambda ns, p, x: softmax_xent(ns, p, x, np.array([0, 1, 3, 2, 1])), lambda r: (mlp_params(r), f32(r, 5, 6))),
    Case("attention", attention, lambda r: (f32(r, 4, 3), f32(r, 5, 3), f32(r, 5, 2))),
    Case("layernorm", layernorm, lambda r: (f32(r, 3, 6), f32(r, 6), f32(r, 6))),
    Case("conv_net", conv_net, lambda r: (f32(r, 3, 3, 2, 4, scale=0.5), f32(r, 2, 2, 4, 3, scale=0.5), f32(r, 2, 6, 6, 2))),
    Case("transformer_block", transformer_block, lambda r: (_tp(r), f32(r, 3, 4))),
    Case("index_int", lambda ns, x: ns.np.sum(x[1] * x[2]), lambda r: (f32(r, 4, 3),)),
    Case("index_slices", lambda ns, x: ns.np.sum(x[1:, ::2] ** 2) + x[-1, -1], lambda r: (f32(r, 4, 5),)),
    Case("index_none_ellipsis", lambda ns, x: ns.np.sum(x[..., None, 1] * x[None, 0]), lambda r: (f32(r, 3, 4),)),
    Case("index_int_array", lambda ns, x: ns.np.sum(x[np.array([0, 2, 2])] ** 2), lambda r: (f32(r, 4, 3),)),
    Case("at_set", lambda ns, x: ns.np.sum(x.at[1].set(3.0) * x), lambda r: (f32(r, 4),)),
    Case("at_add_repeated", lambda ns, x, u: ns.np.sum(ns.np.sin(x.at[np.array([0, 0, 2])].add(u))), lambda r: (f32(r, 4), f32(r, 3))),
    Case("at_mul", lambda ns, x: ns.np.sum(x.at[::2].mul(x[1::2])), lambda r: (f32(r, 6),)),
    Case("concat_stack", lambda ns, x, y: ns.np.sum(ns.np.concatenate([x, y]) * ns.np.stack([x, y]).ravel()), lambda r: (f32(r, 4), f32(r, 4))),
    Case("reshape_transpose", lambda ns, x: ns.np.sum(ns.np.transpose(x.reshape(3, 2, 2), (2, 0, 1)) * ns.np.arange(12.0).reshape(2, 3, 2)), lambda r: (f32(r, 12),)),
    Case("where", lambda ns, x: ns.np.sum(ns.np.where(x > 0, x ** 2, -x)), lambda r: (f32(r, 6),)),
    Case("clip", lambda ns, x: ns.np.sum(ns.np.clip(x, -0.5, 0.5) * x), lambda r: (f32(r, 6),)),
    Case("cumsum", lambda ns, x: ns.np.sum(ns.np.cumsum(x) ** 2), lambda r: (f32(r, 5),)),
    Case("sort", lambda ns, x: ns.np.sum(ns.np.sort(x) * ns.np.arange(5.0)), lambda r: (f32(r, 5),)),
    Case("pad_flip_roll", lambda ns, x: ns.np.sum(ns.np.pad(x, (1, 2)) * ns.np.arange(8.0)) + ns.np.sum(ns.np.flip(x) * ns.np.roll(x, 2)), lambda r: (f32(r, 5),)),
    Case("norm", lambda ns, x: ns.np.linalg.norm(x), lambda r: (f32(r, 3, 4),)),
    Case("activations", lambda ns, x: ns.np.sum(ns.nn.gelu(x) + ns.nn.silu(x) + ns.nn.softplus(x) + ns.nn.elu(x) + ns.nn.sigmoid(x)), lambda r: (f32(r, 6),)),
    Case("pytree_dict", lambda ns, d: ns.np.sum(d["a"] * d["b"][0] + d["b"][1]), lambda r: ({"a": f32(r, 3), "b": (f32(r, 3), f32(r, 3))},)),
    Case("trace_diag", lambda ns, x: ns.np.trace(x @ x) + ns.np.sum(ns.np.diag(x) ** 2), lambda r: (f32(r, 4, 4),)),
    Case("tril_triu", lambda ns, x: ns.np.sum(ns.np.tril(x) * ns.np.triu(x.T)), lambda r: (f32(r, 4, 4),)),
    Case("take_along_axis", lambda ns, x: ns.np.sum(ns.np.take_along_axis(x, np.array([[0], [2], [1]]), axis=1) ** 2), lambda r: (f32(r, 3, 4),)),
    Case("dynamic_slice", lambda ns, x: ns.np.sum(ns.lax.dynamic_slice(x, (1, 0), (2, 2)) ** 2), lambda r: (f32(r, 4, 3),)),
]
