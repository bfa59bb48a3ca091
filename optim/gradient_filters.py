"""Simple update filters: ``centralize``, ``apply_every``, ``normalize_by_update_norm``,
as optax's.

References:
    Yong et al., 2020: Gradient Centralization (``centralize``).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import GradientTransformation, check_state, init_empty_state

__all__ = ["centralize", "ApplyEvery", "apply_every", "normalize_by_update_norm"]


# --- centralize ---
def _subtract_mean(g):
    if g.ndim > 1:
        return g - fnp.mean(g, axis=tuple(range(1, g.ndim)), keepdims=True)
    return g


def centralize() -> GradientTransformation:
    """Subtract from each leaf of rank > 1 its mean over all axes but the first."""
    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(_subtract_mean, updates), state
    return GradientTransformation(init_empty_state, update_fn)


# --- apply_every ---
class ApplyEvery(NamedTuple):
    """Steps since the last emission (mod k) and the accumulated updates."""
    count: Any  # int32[]
    grad_acc: Any


def apply_every(k=1) -> GradientTransformation:
    """Accumulate updates and emit their sum every ``k`` steps (zeros in between).

    Args:
      k: emit every k-th step.
    """
    def init_fn(params):
        return ApplyEvery(count=fnp.zeros([], fnp.int32), grad_acc=otree.zeros_like(params))

    def update_fn(updates, state, params=None):
        check_state(state, ApplyEvery, "apply_every")
        del params
        c = state.count % k
        keep = c != 0
        grad_acc = otree.tree_map(lambda g, ga: keep * ga + g, updates, state.grad_acc,
                                  names=("updates", "optimizer state"))
        emit = c == (k - 1)
        updates = tree_util.tree_map(lambda ga: emit * ga, grad_acc)
        return updates, ApplyEvery(count=otree.safe_increment(state.count) % k, grad_acc=grad_acc)
    return GradientTransformation(init_fn, update_fn)


# --- normalize_by_update_norm ---
def normalize_by_update_norm(scale_factor=1.0, eps=1e-6) -> GradientTransformation:
    """Divide all updates by ``(global_norm + eps) / scale_factor``."""
    def update_fn(updates, state, params=None):
        del params
        g_norm = (otree.norm(updates) + eps) / scale_factor
        return tree_util.tree_map(lambda g: g / g_norm, updates), state
    return GradientTransformation(init_empty_state, update_fn)
