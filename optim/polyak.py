"""Polyak step sizes: ``scale_by_polyak`` and ``polyak_sgd``.

The step is ``min((f(x) - f_min) / (||g||**2 + eps), max_learning_rate)``, so
``update`` needs the loss: ``tx.update(grads, state, params, value=loss)``.

References:
    Loizou et al., 2021: Stochastic Polyak Step-size for SGD: An Adaptive
    Learning Rate for Fast Convergence (SPS; ``sps+`` clips the gap at 0).
"""
from __future__ import annotations

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.alias import sgd
from optim.base import GradientTransformationExtraArgs, init_empty_state
from optim.combine import chain

__all__ = ["scale_by_polyak", "polyak_sgd"]

_VARIANTS = ("sps", "sps+")


def scale_by_polyak(f_min=0.0, max_learning_rate=1.0, eps=0.0,
                    variant: str = "sps") -> GradientTransformationExtraArgs:
    """Multiply updates by Polyak's step size (``update`` takes ``value=``, the loss).

    Args:
      f_min: a lower bound of the loss.
      max_learning_rate: upper bound of the step.
      eps: added to the squared gradient norm.
      variant: ``"sps"`` or ``"sps+"`` (the gap ``value - f_min`` clipped at 0).
    """
    if variant not in _VARIANTS:
        raise ValueError(f"scale_by_polyak: variant must be one of {_VARIANTS}, got {variant!r}.")

    def update_fn(updates, state, params=None, *, value, **extra_args):
        del params, extra_args
        grad_sq_norm = otree.norm(updates, squared=True)
        gap = fnp.array(value - f_min).astype(grad_sq_norm.dtype)
        if variant == "sps+":
            gap = fnp.maximum(gap, 0)
        step = fnp.where(grad_sq_norm + eps <= np.finfo(float).eps, fnp.array(0.0),
                         fnp.minimum(gap / (grad_sq_norm + eps), max_learning_rate))
        return tree_util.tree_map(lambda u: step * u, updates), state
    return GradientTransformationExtraArgs(init_empty_state, update_fn)


def polyak_sgd(max_learning_rate=1.0, scaling=1.0, f_min=0.0, eps=0.0,
               variant: str = "sps") -> GradientTransformationExtraArgs:
    """SGD with Polyak's step size, times ``scaling`` (a number or a schedule);
    ``update`` takes ``value=``, the loss."""
    return chain(sgd(learning_rate=scaling),
                 scale_by_polyak(max_learning_rate=max_learning_rate, f_min=f_min, eps=eps,
                                 variant=variant))
