"""Clipping transformations: element-wise, per-block RMS, and global norm.

References:
    Pascanu et al., 2012: On the difficulty of training Recurrent Neural Networks.
"""
from __future__ import annotations

from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import GradientTransformation, init_empty_state
from optim.scale import check_scalar_or_schedule

__all__ = ["clip", "clip_by_block_rms", "clip_by_global_norm", "global_norm"]


def global_norm(updates):
    """The L2 norm of all leaves together."""
    return otree.norm(updates)


# --- clip ---
def clip(max_delta) -> GradientTransformation:
    """Clip every element of the updates to ``[-max_delta, max_delta]``."""
    check_scalar_or_schedule(max_delta, "clip(max_delta)")

    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(lambda g: fnp.clip(g, -max_delta, max_delta), updates), state
    return GradientTransformation(init_empty_state, update_fn)


# --- clip_by_block_rms ---
def clip_by_block_rms(threshold) -> GradientTransformation:
    """Divide each leaf by ``max(1, rms(leaf) / threshold)`` (Adafactor's update clipping)."""
    check_scalar_or_schedule(threshold, "clip_by_block_rms(threshold)")

    def clip_leaf(u):
        return u / fnp.maximum(1.0, fnp.sqrt(fnp.mean(otree.abs_sq(u))) / threshold)

    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(clip_leaf, updates), state
    return GradientTransformation(init_empty_state, update_fn)


# --- clip_by_global_norm ---
def clip_by_global_norm(max_norm) -> GradientTransformation:
    """Scale all updates by ``max_norm / global_norm`` when the global norm exceeds it."""
    check_scalar_or_schedule(max_norm, "clip_by_global_norm(max_norm)")

    def update_fn(updates, state, params=None):
        del params
        g_norm = otree.norm(updates)
        keep = g_norm < max_norm
        return tree_util.tree_map(
            lambda t: fnp.where(keep, t, (t / g_norm.astype(t.dtype)) * max_norm), updates), state
    return GradientTransformation(init_empty_state, update_fn)
