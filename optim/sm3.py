"""SM3: memory-efficient adaptive scaling with one accumulator per axis of each leaf.

An n-D leaf keeps n vectors (one per axis); the second moment of an element is
the minimum over its axes' accumulators plus ``g**2``. Real parameters only.

References:
    Anil et al., 2019: Memory-Efficient Adaptive Optimization (SM3).
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple

from jax import tree_util

import primitives.numpy as fnp
from primitives import rsqrt
from optim import tree as otree
from optim.base import check_state, GradientTransformation, GradientTransformationExtraArgs
from optim.combine import chain
from optim.scale import scale

__all__ = ["ScaleBySM3State", "scale_by_sm3", "sm3"]


# --- scale_by_sm3 ---
class ScaleBySM3State(NamedTuple):
    """Per leaf, one accumulator vector per axis (``mu``), and the momentum (``nu``)."""
    mu: Any
    nu: Any


def _axis_shape(shape, axis):
    """``[1, .., shape[axis], .., 1]``: the accumulator of ``axis`` broadcast to the leaf."""
    return [1] * axis + [shape[axis]] + [1] * (len(shape) - axis - 1)


def _other_axes(axis, ndim):
    return tuple(i for i in range(ndim) if i != axis)


def scale_by_sm3(b1=0.9, b2=1.0, eps=1e-8) -> GradientTransformation:
    """SM3's scaling, then momentum ``b1`` (an EMA) of the scaled updates.

    Args:
      b1: momentum of the scaled updates.
      b2: decay of the accumulators (1.0: plain sums, as in the paper).
      eps: added inside the square root.
    """
    coeffs = ((1.0 - b2) if b2 != 1.0 else 1.0, b2)

    def init_fn(params):
        if any(fnp.issubdtype(x.dtype, fnp.complexfloating) for x in tree_util.tree_leaves(params)):
            raise ValueError("scale_by_sm3 does not support complex parameters.")
        mu = tree_util.tree_map(
            lambda p: [fnp.zeros((p.shape[i],), p.dtype) for i in range(p.ndim)],
            params)
        return ScaleBySM3State(mu=mu, nu=otree.zeros_like(params))

    def new_accum(g, v):
        prev = v[0] if g.ndim < 2 else functools.reduce(fnp.minimum, v)
        return coeffs[0] * g ** 2 + coeffs[1] * prev

    def new_mu(a):
        if a.ndim < 2:
            return [a for _ in range(a.ndim)]
        return [fnp.max(a, axis=_other_axes(i, a.ndim)) for i in range(a.ndim)]

    def update_fn(updates, state, params=None):
        check_state(state, ScaleBySM3State, "scale_by_sm3")
        del params
        expanded = otree.tree_map(
            lambda g, v: [fnp.reshape(v[i], _axis_shape(g.shape, i)) for i in range(g.ndim)],
            updates, state.mu, names=("updates", "optimizer state"))
        accum = tree_util.tree_map(new_accum, updates, expanded)
        scaled = tree_util.tree_map(
            lambda g, t: g * fnp.where(t > 0, rsqrt(t + eps), 0.0), updates, accum)
        nu = otree.update_moment(scaled, state.nu, b1, 1)
        mu = tree_util.tree_map(new_mu, accum)
        return nu, ScaleBySM3State(mu=mu, nu=nu)
    return GradientTransformation(init_fn, update_fn)


def sm3(learning_rate, momentum=0.9) -> GradientTransformationExtraArgs:
    """SM3 with momentum (``learning_rate`` is a number, as optax's)."""
    return chain(scale_by_sm3(momentum), scale(-learning_rate))

