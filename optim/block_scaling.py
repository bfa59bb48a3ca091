"""Per-leaf step sizes from parameter magnitudes: ``scale_by_param_block_norm``
and ``scale_by_distance_over_gradients`` (DoG), as optax's.

References:
    Ivgi et al., 2023: DoG is SGD's Best Friend: A Parameter-Free Dynamic Step
    Size Schedule (layer-wise DoG).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import (GradientTransformation, check_state, init_empty_state,
                        require_params)
from optim.trust_ratio import safe_norm

__all__ = ["scale_by_param_block_norm", "ScaleByDistanceOverGradientsState",
           "scale_by_distance_over_gradients"]


def scale_by_param_block_norm(min_scale=1e-3) -> GradientTransformation:
    """Multiply each leaf's update by ``max(||param||, min_scale)`` (Frobenius norm)."""
    def update_fn(updates, state, params=None):
        require_params(params, "scale_by_param_block_norm")
        return otree.tree_map(lambda u, p: u * safe_norm(p, min_scale), updates, params,
                              names=("updates", "params")), state
    return GradientTransformation(init_empty_state, update_fn)


class ScaleByDistanceOverGradientsState(NamedTuple):
    """Per leaf: the largest distance from the initial params, the running sum
    of squared gradient norms, and the initial params."""
    max_dist: Any
    grad_sum_of_squares: Any
    init_params: Any


def _l2(x, y=0.0):
    return fnp.sqrt(fnp.sum(fnp.square(x - y)))


def scale_by_distance_over_gradients(reps_rel=1e-6, eps=1e-8, param_dtype=np.float32,
                                     global_scale=1.0) -> GradientTransformation:
    """Layer-wise DoG: each leaf's step is ``global_scale * max_dist /
    sqrt(sum of squared gradient norms + eps)``. Needs params.

    Args:
      reps_rel: initial distance, relative to ``1 + ||param||``.
      eps: added under the square root.
      param_dtype: dtype of the stored initial params.
      global_scale: multiplier of all steps (a learning rate; keep it 1.0 normally).
    """
    def init_fn(params):
        return ScaleByDistanceOverGradientsState(
            tree_util.tree_map(lambda x: reps_rel * (1 + _l2(x)), params),
            tree_util.tree_map(lambda x: fnp.zeros(1), params),
            otree.cast(params, param_dtype))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByDistanceOverGradientsState, "scale_by_distance_over_gradients")
        require_params(params, "scale_by_distance_over_gradients")
        max_dist = tree_util.tree_map(lambda d, x, y: fnp.maximum(d, _l2(x, y)),
                                      state.max_dist, params, state.init_params)
        g_sos = tree_util.tree_map(lambda s, g: s + fnp.sum(fnp.square(g)),
                                   state.grad_sum_of_squares, updates)
        updates = tree_util.tree_map(
            lambda g, d, s: global_scale * (d / fnp.sqrt(s + eps)) * g, updates, max_dist, g_sos)
        return updates, ScaleByDistanceOverGradientsState(max_dist, g_sos, state.init_params)
    return GradientTransformation(init_fn, update_fn)
