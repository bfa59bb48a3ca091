"""Adaptive gradient clipping (AGC), as ``optax.adaptive_grad_clip``, and the
EmptyState aliases optax exports for its stateless clipping transformations.

References:
    Brock et al., 2021: High-Performance Large-Scale Image Recognition Without
    Normalization (AGC).
"""
from __future__ import annotations

from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import EmptyState, GradientTransformation, init_empty_state, require_params

__all__ = ["AdaptiveGradClipState", "ClipState", "ClipByGlobalNormState", "unitwise_norm",
           "unitwise_clip", "adaptive_grad_clip"]

AdaptiveGradClipState = EmptyState
ClipState = EmptyState
ClipByGlobalNormState = EmptyState

_UNIT_AXES = {2: (0,), 3: (0,), 4: (0, 1, 2), 5: (0, 1, 2, 3)}


def unitwise_norm(x, axis=None):
    """The L2 norm of each output unit, broadcast to ``x``'s shape: over the
    whole leaf for scalars and vectors, axis 0 for (multi-head) dense kernels,
    the spatial and input axes for HWIO / DHWIO convolution kernels."""
    if axis is not None:
        sq = fnp.sum(otree.abs_sq(x), axis=axis, keepdims=True)
    elif fnp.squeeze(x).ndim <= 1:
        sq = fnp.sum(otree.abs_sq(x), keepdims=True)
    elif x.ndim in _UNIT_AXES:
        sq = fnp.sum(otree.abs_sq(x), axis=_UNIT_AXES[x.ndim], keepdims=True)
    else:
        raise ValueError(f"Expected parameter with shape in {{1, 2, 3, 4, 5}}, got {x.shape}. "
                         "Use axis parameter to specify reduction axes for other shapes.")
    return fnp.broadcast_to(fnp.sqrt(sq), x.shape)


def unitwise_clip(g_norm, max_norm, grad, div_eps=1e-6):
    """``grad`` where its unit norm is below ``max_norm``, else rescaled to it."""
    clipped = grad * (max_norm / fnp.maximum(g_norm, div_eps))
    return fnp.where(g_norm < max_norm, grad, clipped)


def adaptive_grad_clip(clipping, eps=1e-3, axis=None) -> GradientTransformation:
    """Clip each unit's gradient to ``clipping * max(||param unit||, eps)``. Needs params.

    Args:
      clipping: the largest allowed ratio of gradient to parameter norm.
      eps: lower bound of the parameter norm (so zero-initialized units move).
      axis: reduction axes of :func:`unitwise_norm` (default: by rank).
    """
    def update_fn(updates, state, params=None):
        require_params(params, "adaptive_grad_clip")
        g_norm, p_norm = tree_util.tree_map(lambda x: unitwise_norm(x, axis=axis),
                                            (updates, params))
        max_norm = tree_util.tree_map(lambda x: clipping * fnp.maximum(x, eps), p_norm)
        return tree_util.tree_map(unitwise_clip, g_norm, max_norm, updates), state
    return GradientTransformation(init_empty_state, update_fn)
