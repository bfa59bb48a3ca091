"""Annealed gradient noise: ``add_noise`` and ``noisy_sgd``.

The noise has the bits of optax's (``jax.random.split`` then ``jax.random.normal``
per leaf), drawn with ``primitives.random``. Difference: the state holds the raw
``u32[2]`` threefry key (as ``jax.random.PRNGKey``) where optax holds a typed key.

References:
    Neelakantan et al., 2015: Adding Gradient Noise Improves Learning for Very
    Deep Networks.
"""
from __future__ import annotations

import warnings
from typing import Any, NamedTuple

from jax import tree_util

import primitives.numpy as fnp
import primitives.random as frandom
from optim import tree as otree
from optim.base import check_state, GradientTransformation, GradientTransformationExtraArgs
from optim.combine import chain
from optim.scale import scale_by_learning_rate

__all__ = ["AddNoiseState", "add_noise", "noisy_sgd"]


# --- add_noise ---
class AddNoiseState(NamedTuple):
    """Step count (for the annealing) and the random key."""
    count: Any  # int32[]
    rng_key: Any  # u32[2]


def _canonical_key(key):
    if key is None:
        warnings.warn("add_noise: no key given; using key 0 (pass key= to choose).")
        key = 0
    if str(getattr(key, "dtype", "")).startswith("key<"):
        raise ValueError("add_noise keeps a raw u32[2] key in its state; got a typed key. "
                         "Fix: pass jax.random.key_data(key), a jax.random.PRNGKey, or an "
                         "integer seed.")
    if isinstance(key, int) or tuple(getattr(key, "shape", (2,))) == ():
        return frandom.PRNGKey(key)
    return key


def add_noise(eta, gamma, key=None, *, seed=None) -> GradientTransformation:
    """Add Gaussian noise of variance ``eta / t**gamma`` at step ``t`` (from 1).

    Args:
      eta: base variance.
      gamma: annealing exponent.
      key: a key (raw or typed) or an integer seed.
      seed: deprecated alias of ``key``.
    """
    if seed is not None:
        warnings.warn('"seed" is deprecated, use "key".', DeprecationWarning)
        if key is not None:
            raise ValueError("add_noise: give only one of seed and key.")
        key = seed
    key = _canonical_key(key)

    def init_fn(params):
        del params
        return AddNoiseState(count=fnp.zeros([], fnp.int32), rng_key=key)

    def update_fn(updates, state, params=None):
        check_state(state, AddNoiseState, "add_noise")
        del params
        count_inc = otree.safe_increment(state.count)
        std = fnp.sqrt(eta / count_inc ** gamma)
        keys = frandom.split(state.rng_key)
        rng_key, sample_key = keys[0], keys[1]
        leaves, treedef = tree_util.tree_flatten(updates)
        leaf_keys = frandom.split(sample_key, len(leaves))
        noise = [frandom.normal(leaf_keys[i], g.shape, g.dtype) for i, g in enumerate(leaves)]
        updates = tree_util.tree_map(lambda g, n: g + std * n, updates,
                                     tree_util.tree_unflatten(treedef, noise))
        return updates, AddNoiseState(count=count_inc, rng_key=rng_key)
    return GradientTransformation(init_fn, update_fn)


def noisy_sgd(learning_rate, eta=0.01, gamma=0.55, key=None, *,
              seed=None) -> GradientTransformationExtraArgs:
    """SGD with annealed Gaussian gradient noise (``add_noise``, then the learning rate)."""
    return chain(add_noise(eta, gamma, key, seed=seed), scale_by_learning_rate(learning_rate))
