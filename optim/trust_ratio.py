"""Layer-wise trust ratios: ``scale_by_trust_ratio`` and the optimizers built on
it, LAMB, LARS and Fromage.

Each leaf's update is multiplied by ``trust_coefficient * ||param|| / (||update|| + eps)``
(1 where either norm is 0), so every layer moves by a set fraction of its size.

References:
    You et al., 2017: Large Batch Training of Convolutional Networks (LARS).
    You et al., 2020: Large Batch Optimization for Deep Learning (LAMB).
    Bernstein et al., 2020: On the Distance between two Neural Networks and the
    Stability of Learning (Fromage).
"""
from __future__ import annotations

import primitives.numpy as fnp
from optim import tree as otree
from optim.accumulation import trace
from optim.adding import add_decayed_weights
from optim.alias import MaskOrFn
from optim.base import (GradientTransformation, GradientTransformationExtraArgs,
                        init_empty_state, is_schedule, require_params)
from optim.combine import chain, masked
from optim.scale import scale_by_adam, scale_by_learning_rate

__all__ = ["safe_norm", "scale_by_trust_ratio", "lamb", "lars", "fromage"]


def safe_norm(x, min_norm):
    """``max(||x||, min_norm)`` (Frobenius norm of the whole leaf) with a finite
    gradient at 0, as ``optax.safe_norm`` with ``ord=None, axis=None``."""
    norm = fnp.linalg.norm(x, keepdims=True)
    x = fnp.where(norm <= min_norm, fnp.ones_like(x), x)
    norm = fnp.squeeze(norm)
    return fnp.where(norm <= min_norm, min_norm, fnp.linalg.norm(x))


# --- scale_by_trust_ratio ---
def scale_by_trust_ratio(min_norm=0.0, trust_coefficient=1.0, eps=0.0) -> GradientTransformation:
    """Multiply each leaf's update by its trust ratio (needs params).

    Args:
      min_norm: lower bound of both norms (0: no clipping).
      trust_coefficient: the ratio's multiplier.
      eps: added to the update's norm.
    """
    def scale_leaf(update, param):
        param_norm = safe_norm(param, min_norm)
        update_norm = safe_norm(update, min_norm)
        ratio = trust_coefficient * param_norm / (update_norm + eps)
        zero_norm = fnp.logical_or(param_norm == 0.0, update_norm == 0.0)
        return update * fnp.where(zero_norm, fnp.array(1.0, dtype=param.dtype), ratio)

    def update_fn(updates, state, params):
        require_params(params, "scale_by_trust_ratio")
        return otree.tree_map(scale_leaf, updates, params, names=("updates", "params")), state
    return GradientTransformation(init_empty_state, update_fn)


def lamb(learning_rate, b1=0.9, b2=0.999, eps=1e-6, eps_root=0.0, weight_decay=0.0,
         mask: MaskOrFn = None) -> GradientTransformationExtraArgs:
    """LAMB: Adam plus decoupled weight decay, scaled by the trust ratio."""
    return chain(scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root),
                 add_decayed_weights(weight_decay, mask),
                 scale_by_trust_ratio(),
                 scale_by_learning_rate(learning_rate))


def lars(learning_rate, weight_decay=0.0, weight_decay_mask: MaskOrFn = True,
         trust_coefficient=0.001, eps=0.0, trust_ratio_mask: MaskOrFn = True, momentum=0.9,
         nesterov: bool = False) -> GradientTransformationExtraArgs:
    """LARS: weight decay, trust ratio (on ``trust_ratio_mask``), learning rate, then momentum."""
    return chain(add_decayed_weights(weight_decay, mask=weight_decay_mask),
                 masked(scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps),
                        mask=trust_ratio_mask),
                 scale_by_learning_rate(learning_rate),
                 trace(decay=momentum, nesterov=nesterov))


def fromage(learning_rate, min_norm=1e-6) -> GradientTransformationExtraArgs:
    """Fromage: trust-ratio steps of size ``lr / sqrt(1 + lr**2)``, and params shrunk
    by ``1 / sqrt(1 + lr**2)``."""
    if is_schedule(learning_rate):
        mult = lambda count: 1 / (1 + learning_rate(count) ** 2) ** 0.5  # noqa: E731
        return chain(scale_by_trust_ratio(min_norm),
                     scale_by_learning_rate(lambda c: mult(c) * learning_rate(c)),
                     add_decayed_weights(lambda c: mult(c) - 1))
    mult = 1 / (1 + learning_rate ** 2) ** 0.5
    return chain(scale_by_trust_ratio(min_norm),
                 scale_by_learning_rate(learning_rate * mult),
                 add_decayed_weights(mult - 1))

