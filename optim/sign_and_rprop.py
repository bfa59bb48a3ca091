"""Sign-based steps: ``sign_sgd`` and Rprop (``scale_by_rprop``, ``rprop``).

References:
    Bernstein et al., 2018: signSGD: Compressed Optimisation for Non-Convex Problems.
    Riedmiller & Braun, 1993: A Direct Adaptive Method for Faster Backpropagation
    Learning: The RPROP Algorithm.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import check_state, GradientTransformation, GradientTransformationExtraArgs
from optim.combine import chain
from optim.scale import scale, scale_by_learning_rate, scale_by_sign

__all__ = ["sign_sgd", "ScaleByRpropState", "scale_by_rprop", "rprop"]


def sign_sgd(learning_rate) -> GradientTransformationExtraArgs:
    """signSGD: ``-learning_rate * sign(g)``."""
    return chain(scale_by_sign(), scale_by_learning_rate(learning_rate))


# --- scale_by_rprop ---
class ScaleByRpropState(NamedTuple):
    """Per-element step sizes and the previous (signed, scaled) updates."""
    step_sizes: Any
    prev_updates: Any


def scale_by_rprop(learning_rate, eta_minus=0.5, eta_plus=1.2, min_step_size=1e-6,
                   max_step_size=50.0) -> GradientTransformation:
    """Rprop: each element's step size grows by ``eta_plus`` while its gradient keeps
    its sign and shrinks by ``eta_minus`` when it flips (then that step is skipped);
    the update is the previous step's ``step_size * sign(g)`` (as optax 0.2.8: one
    step behind, zero on the first step; descent needs a ``scale(-1)`` after).

    Args:
      learning_rate: the initial step size (a number: it fills the state).
      eta_minus, eta_plus: the shrink and growth factors.
      min_step_size, max_step_size: bounds of the step sizes.
    """
    def init_fn(params):
        return ScaleByRpropState(step_sizes=otree.full_like(params, learning_rate),
                                 prev_updates=otree.zeros_like(params))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByRpropState, "scale_by_rprop")
        del params
        sign = otree.tree_map(lambda g, prev: g * prev, updates, state.prev_updates,
                              names=("updates", "optimizer state"))
        step_sizes = tree_util.tree_map(
            lambda s, size: fnp.where(
                s == 0, size,
                fnp.clip(size * fnp.where(s > 0, eta_plus, eta_minus),
                         min=min_step_size, max=max_step_size)),
            sign, state.step_sizes)
        prev_updates = tree_util.tree_map(
            lambda s, g, size: fnp.where(s < 0, fnp.zeros_like(g), size * fnp.sign(g)),
            sign, updates, step_sizes)
        # as optax 0.2.8: the update is the *previous* step's signed step (0 on the
        # first step, and where the sign flipped), one step behind prev_updates
        updates = tree_util.tree_map(
            lambda s, old: fnp.where(s < 0, fnp.zeros_like(old), old), sign, state.prev_updates)
        return updates, ScaleByRpropState(step_sizes=step_sizes, prev_updates=prev_updates)
    return GradientTransformation(init_fn, update_fn)


def rprop(learning_rate, eta_minus=0.5, eta_plus=1.2, min_step_size=1e-6,
          max_step_size=50.0) -> GradientTransformationExtraArgs:
    """Rprop (the step sizes replace the learning rate, which is their initial value)."""
    return chain(scale_by_rprop(learning_rate=learning_rate, eta_minus=eta_minus,
                                eta_plus=eta_plus, min_step_size=min_step_size,
                                max_step_size=max_step_size),
                 scale(-1.0))
