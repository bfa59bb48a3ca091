"""Adan (adaptive Nesterov momentum), as ``optax.scale_by_adan`` / ``optax.adan``.

References:
    Xie et al., 2022: Adan: Adaptive Nesterov Momentum Algorithm for Faster
    Optimizing Deep Models (Algorithm 1).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim import tree_utils as otu
from optim.adding import add_decayed_weights
from optim.base import GradientTransformation, check_state
from optim.combine import chain
from optim.scale import scale_by_learning_rate

__all__ = ["ScaleByAdanState", "scale_by_adan", "adan"]


class ScaleByAdanState(NamedTuple):
    """EMAs of the gradients (m), of their differences (v) and of the squared
    corrected gradients (n); the last gradient (g); the step count (t)."""
    m: Any
    v: Any
    n: Any
    g: Any
    t: Any  # int32[]


def scale_by_adan(b1=0.98, b2=0.92, b3=0.99, eps=1e-8, eps_root=0.0) -> GradientTransformation:
    """Rescale updates with Adan's three moments.

    Args:
      b1: decay of the gradients' EMA.
      b2: decay of the EMA of the gradient differences.
      b3: decay of the EMA of the squared term.
      eps: added to the denominator.
      eps_root: added inside the square root.
    """
    def init_fn(params):
        zeros = lambda: otree.zeros_like(params)  # noqa: E731
        return ScaleByAdanState(m=zeros(), v=zeros(), n=zeros(), g=zeros(),
                                t=fnp.zeros([], fnp.int32))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByAdanState, "scale_by_adan")
        del params
        g = updates
        diff = otree.where(state.t == 0, otree.zeros_like(g), otu.tree_sub(g, state.g))
        m = otree.update_moment(g, state.m, b1, 1)
        v = otree.update_moment(diff, state.v, b2, 1)
        n = otree.update_moment_per_elem_norm(otu.tree_add_scale(g, 1 - b2, diff), state.n, b3, 2)
        t = otree.safe_increment(state.t)
        m_hat = otree.bias_correction(m, b1, t)
        v_hat = otree.bias_correction(v, b2, t)
        n_hat = otree.bias_correction(n, b3, t)
        denom = tree_util.tree_map(lambda x: fnp.sqrt(x + eps_root) + eps, n_hat)
        u = otu.tree_div(otu.tree_add_scale(m_hat, 1 - b2, v_hat), denom)
        return u, ScaleByAdanState(m=m, v=v, n=n, g=g, t=t)
    return GradientTransformation(init_fn, update_fn)


def adan(learning_rate, b1=0.98, b2=0.92, b3=0.99, eps=1e-8, eps_root=1e-8,
         weight_decay=0.0, mask=None):
    """The Adan optimizer: :func:`scale_by_adan`, decoupled weight decay
    (``mask`` as in adamw), then the learning rate."""
    return chain(scale_by_adan(b1=b1, b2=b2, b3=b3, eps=eps, eps_root=eps_root),
                 add_decayed_weights(weight_decay, mask),
                 scale_by_learning_rate(learning_rate))
