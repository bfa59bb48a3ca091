"""Three small models for the DP clipping tests, each written ONCE against a
namespace of numpy-like modules so the same code runs with our API and with JAX.

- ``mlp``: the tanh MLP of ``dp_cases`` (squared loss).
- ``conv``: two convolutions with bias (``conv_general_dilated``), relu,
  flatten, dense, softmax cross-entropy with an int label.
- ``transformer``: token embedding lookup, learned positional embedding,
  layernorm, 2-head causal self-attention (Wq/Wk/Wv/Wo dense layers), an MLP
  block, mean pooling, dense classifier, cross-entropy.

Each ``Model`` has ``init(seed)`` (numpy RNG -> float32 params), ``batch(n,
seed)`` and the per-example loss ``loss(params, example) -> scalar`` as
``fx_loss`` (ours) and ``jax_loss`` (the JAX twin).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import primitives
import primitives.nn as fnn
import primitives.numpy as fnp
from dp_cases import make_loss as mlp_loss, mlp_batch, mlp_params


class Namespace(NamedTuple):
    """The modules a model is written against: numpy, nn and lax."""
    np: Any
    nn: Any
    lax: Any


FX = Namespace(fnp, fnn, primitives)
JAX = Namespace(jnp, jax.nn, jax.lax)


@dataclass(frozen=True)
class Model:
    """A per-example loss written once, with its params and data."""
    name: str
    make_loss: Callable[[Namespace], Callable]
    init: Callable[..., dict]
    batch: Callable[..., dict]
    fx_loss: Callable = field(init=False)
    jax_loss: Callable = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "fx_loss", self.make_loss(FX))
        object.__setattr__(self, "jax_loss", self.make_loss(JAX))


def _init(shapes: dict, seed: int, scale: float = 0.5) -> dict:
    """Nested dict of float32 normals (std ``scale``) with the given shapes; a
    leaf ``("ones", shape)`` is a layernorm gain (normals around 1)."""
    rng = np.random.default_rng(seed)

    def one(spec):
        if isinstance(spec, dict):
            return {k: one(v) for k, v in spec.items()}
        if spec[0] == "ones":
            return jnp.asarray(1.0 + 0.1 * rng.normal(size=spec[1]), jnp.float32)
        return jnp.asarray(scale * rng.normal(size=spec), jnp.float32)
    return one(shapes)


def _cross_entropy(ns: Namespace, logits, label, n_classes: int):
    return -ns.np.sum(ns.nn.one_hot(label, n_classes) * ns.nn.log_softmax(logits))


def _dense(x, p):
    return x @ p["w"] + p["b"]


# --- (a) MLP -----------------------------------------------------------------
MLP = Model("mlp", lambda ns: mlp_loss(ns.np), lambda seed=0: mlp_params(seed),
            lambda n, seed=1: mlp_batch(n, seed))


# --- (b) conv net --------------------------------------------------------------
C_IN, HW, C_MID, N_CLASSES = 2, 6, 4, 3


def conv_loss(ns: Namespace):
    """Per-example loss of conv(3x3, SAME) -> relu -> conv(3x3, stride 2, VALID)
    -> relu -> flatten -> dense -> cross-entropy; example: x f32[C,H,W], y i32[]."""
    def conv(x, p, stride, padding):
        y = ns.lax.conv_general_dilated(x[None], p["w"], (stride, stride), padding)[0]
        return y + p["b"][:, None, None]

    def loss(p, ex):
        h = ns.nn.relu(conv(ex["x"], p["conv1"], 1, "SAME"))
        h = ns.nn.relu(conv(h, p["conv2"], 2, "VALID"))
        return _cross_entropy(ns, _dense(h.reshape(-1), p["out"]), ex["y"], N_CLASSES)
    return loss


def conv_params(seed=0):
    out_hw = (HW - 3) // 2 + 1
    return _init({"conv1": {"w": (C_MID, C_IN, 3, 3), "b": (C_MID,)},
                  "conv2": {"w": (C_MID, C_MID, 3, 3), "b": (C_MID,)},
                  "out": {"w": (C_MID * out_hw * out_hw, N_CLASSES), "b": (N_CLASSES,)}}, seed)


def conv_batch(n, seed=1):
    rng = np.random.default_rng(seed)
    return {"x": jnp.asarray(rng.normal(size=(n, C_IN, HW, HW)), jnp.float32),
            "y": jnp.asarray(rng.integers(0, N_CLASSES, size=n), jnp.int32)}


CONV = Model("conv", conv_loss, conv_params, conv_batch)


# --- (c) transformer -------------------------------------------------------------
VOCAB, T, D, HEADS, D_MLP = 11, 5, 8, 2, 16
CAUSAL = np.tril(np.ones((T, T), bool))


def transformer_loss(ns: Namespace):
    """Per-example loss of a one-block pre-LN transformer classifier;
    example: tokens i32[T], y i32[]."""
    def layernorm(x, p, eps=1e-5):
        mu = ns.np.mean(x, axis=-1, keepdims=True)
        var = ns.np.mean(ns.np.square(x - mu), axis=-1, keepdims=True)
        return (x - mu) / ns.np.sqrt(var + eps) * p["g"] + p["b"]

    def heads(x):                                   # (T, D) -> (HEADS, T, D/HEADS)
        return x.reshape(T, HEADS, D // HEADS).transpose(1, 0, 2)

    def attention(x, p):
        q, k, v = (heads(_dense(x, p[n])) for n in ("q", "k", "v"))
        scores = q @ k.transpose(0, 2, 1) / (D // HEADS) ** 0.5
        att = ns.nn.softmax(ns.np.where(CAUSAL, scores, -1e9), axis=-1)
        return _dense((att @ v).transpose(1, 0, 2).reshape(T, D), p["o"])

    def loss(p, ex):
        x = p["embed"][ex["tokens"]] + p["pos"]
        x = x + attention(layernorm(x, p["ln1"]), p["attn"])
        x = x + _dense(ns.nn.gelu(_dense(layernorm(x, p["ln2"]), p["mlp1"])), p["mlp2"])
        return _cross_entropy(ns, _dense(ns.np.mean(x, axis=0), p["head"]), ex["y"], N_CLASSES)
    return loss


def transformer_params(seed=0):
    dense = lambda i, o: {"w": (i, o), "b": (o,)}         # noqa: E731
    ln = {"g": ("ones", (D,)), "b": (D,)}
    return _init({"embed": (VOCAB, D), "pos": (T, D), "ln1": ln,
                  "attn": {n: dense(D, D) for n in "qkvo"}, "ln2": dict(ln),
                  "mlp1": dense(D, D_MLP), "mlp2": dense(D_MLP, D),
                  "head": dense(D, N_CLASSES)}, seed)


def transformer_batch(n, seed=1):
    rng = np.random.default_rng(seed)
    return {"tokens": jnp.asarray(rng.integers(0, VOCAB, size=(n, T)), jnp.int32),
            "y": jnp.asarray(rng.integers(0, N_CLASSES, size=n), jnp.int32)}


TRANSFORMER = Model("transformer", transformer_loss, transformer_params, transformer_batch)

MODELS = (MLP, CONV, TRANSFORMER)

__all__ = ["Namespace", "FX", "JAX", "Model", "MLP", "CONV", "TRANSFORMER", "MODELS"]
