"""Per-example gradient clipping (DP-SGD style), as optax's
``per_example_global_norm_clip`` and ``per_example_layer_norm_clip``.

Both take gradients with a batch axis first (one gradient per example, e.g.
from ``vmap(grad(loss))``) and return the sum over the batch of the clipped
gradients.

References:
    Abadi et al., 2016: Deep Learning with Differential Privacy.
    McMahan et al., 2018: A General Approach to Adding Differential Privacy to
    Iterative Training Procedures (per-layer clipping).
"""
from __future__ import annotations

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree

__all__ = ["per_example_global_norm_clip", "per_example_layer_norm_clip"]


def _check_batch_axis(grads, who: str):
    leaves = tree_util.tree_leaves(grads)
    n = np.shape(leaves[0])[0] if leaves and np.ndim(leaves[0]) else None
    if n is None or not all(np.ndim(g) >= 1 and np.shape(g)[0] == n for g in leaves):
        raise ValueError(f"Unlike other transforms, `{who}` expects `grads` to have a batch "
                         f"dimension in the 0th axis; got shapes: "
                         f"{tree_util.tree_map(np.shape, grads)}.")


def _per_example_norms(grads):
    """The L2 norm of each example's gradient (all leaves together): shape [batch]."""
    sq = [fnp.sum(otree.abs_sq(g), axis=tuple(range(1, g.ndim)))
          for g in tree_util.tree_leaves(grads)]
    total = sq[0]
    for s in sq[1:]:
        total = total + s
    return fnp.sqrt(total)


def per_example_global_norm_clip(grads, l2_norm_clip):
    """Clip each example's gradient to global L2 norm ``l2_norm_clip`` and sum over the batch.

    Returns:
      ``(clipped_sum, num_clipped)``: the tree of summed clipped gradients (no
      batch axis) and how many examples were clipped.
    """
    _check_batch_axis(grads, "per_example_global_norm_clip")
    norms = _per_example_norms(grads)
    multipliers = fnp.nan_to_num(fnp.minimum(l2_norm_clip / norms, 1.0), nan=1.0)
    num_clipped = fnp.sum(multipliers < 1.0)
    clipped_sum = tree_util.tree_map(lambda g: fnp.tensordot(multipliers, g, axes=1), grads)
    return clipped_sum, num_clipped


def per_example_layer_norm_clip(grads, global_l2_norm_clip, uniform: bool = True):
    """Clip each example's gradient leaf by leaf, with per-leaf bounds whose
    squares sum to ``global_l2_norm_clip**2`` (equal, or ``uniform=False``:
    proportional to the leaf's size), and sum over the batch.

    Returns:
      ``(clipped_sum, num_clipped)``: both trees shaped like ``grads``' structure
      (per leaf: the summed clipped gradients, and how many examples were clipped).
    """
    _check_batch_axis(grads, "per_example_layer_norm_clip")
    leaves = tree_util.tree_leaves(grads)
    if uniform:
        clip_of = lambda g: global_l2_norm_clip * (1.0 / len(leaves)) ** 0.5  # noqa: E731
    else:
        size = lambda g: int(np.prod(np.shape(g)[1:]))  # noqa: E731
        total = sum(size(g) for g in leaves)
        clip_of = lambda g: global_l2_norm_clip * (size(g) / total) ** 0.5  # noqa: E731
    result = tree_util.tree_map(lambda g: per_example_global_norm_clip(g, clip_of(g)), grads)
    return tree_util.tree_transpose(tree_util.tree_structure(grads),
                                    tree_util.tree_structure((0, 0)), result)
