"""Optimistic gradients: ``(alpha + beta) * g_t - beta * g_{t-1}``, and the
optimizers built on them (optimistic gradient descent, optimistic Adam).

References:
    Daskalakis et al., 2018: Training GANs with Optimism.
    Mokhtari et al., 2020: A Unified Analysis of Extra-gradient and Optimistic
    Gradient Methods for Saddle Point Problems.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import (check_state, GradientTransformation, GradientTransformationExtraArgs,
                        is_schedule)
from optim.combine import chain
from optim.scale import scale_by_adam, scale_by_learning_rate

__all__ = ["ScaleByOptimisticGradientState", "scale_by_optimistic_gradient",
           "optimistic_gradient_descent", "optimistic_adam"]


# --- scale_by_optimistic_gradient ---
class ScaleByOptimisticGradientState(NamedTuple):
    """Whether no update was seen yet, and the previous gradient."""
    is_initial_step: Any  # bool[]
    previous_gradient: Any


def scale_by_optimistic_gradient(alpha=1.0, beta=1.0) -> GradientTransformation:
    """``(alpha + beta) * g - beta * g_prev``; on the first step ``g_prev = g``."""
    def init_fn(params):
        return ScaleByOptimisticGradientState(is_initial_step=fnp.array(True),
                                              previous_gradient=otree.zeros_like(params))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByOptimisticGradientState, "scale_by_optimistic_gradient")
        del params

        def f(g, prev):
            prev = fnp.where(state.is_initial_step, g, prev)
            return (alpha + beta) * g - beta * prev
        new_updates = otree.tree_map(f, updates, state.previous_gradient,
                                     names=("updates", "optimizer state"))
        return new_updates, ScaleByOptimisticGradientState(is_initial_step=fnp.array(False),
                                                           previous_gradient=updates)
    return GradientTransformation(init_fn, update_fn)


def optimistic_gradient_descent(learning_rate, alpha=1.0,
                                beta=1.0) -> GradientTransformationExtraArgs:
    """Optimistic gradient descent (for min-max games)."""
    return chain(scale_by_optimistic_gradient(alpha=alpha, beta=beta),
                 scale_by_learning_rate(learning_rate))


def optimistic_adam(learning_rate, optimism=None, b1=0.9, b2=0.999, eps=1e-08, eps_root=0.0,
                    mu_dtype=None, *, nesterov: bool = True) -> GradientTransformationExtraArgs:
    """Optimistic Adam: Adam's direction ``d``, then ``-(lr + optimism) d + optimism d_prev``.

    Args:
      learning_rate: a number (no schedules, as optax's).
      optimism: the weight of the correction (default: ``learning_rate``).
    """
    if is_schedule(learning_rate):
        raise ValueError("optimistic_adam does not support learning rate schedules (as "
                         "optax's): pass a number.")
    if optimism is None:
        optimism = learning_rate
    return chain(scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype,
                               nesterov=nesterov),
                 scale_by_optimistic_gradient(alpha=learning_rate, beta=optimism),
                 scale_by_learning_rate(1.0))
