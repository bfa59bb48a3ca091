"""Numerically safe helpers and parameter-averaging updates, as optax's top level.

``safe_increment`` / ``safe_int32_increment`` (counters that saturate instead
of overflowing), ``safe_root_mean_squares`` (finite gradient at 0), the moment
helpers (``update_moment``, ``update_moment_per_elem_norm``,
``update_infinity_moment``, ``bias_correction``) and the target-network
updates ``incremental_update`` (Polyak averaging) and ``periodic_update``.
"""
from __future__ import annotations

from jax import tree_util

import primitives
import primitives.numpy as fnp
from optim import tree as otree
from optim import tree_utils as otu

__all__ = ["safe_increment", "safe_int32_increment", "safe_root_mean_squares",
           "bias_correction", "update_moment", "update_moment_per_elem_norm",
           "update_infinity_moment", "incremental_update", "periodic_update"]

safe_increment = otree.safe_increment
safe_int32_increment = otree.safe_increment   # optax's older name: the same saturating ``+ 1``
bias_correction = otree.bias_correction
update_moment = otree.update_moment
update_moment_per_elem_norm = otree.update_moment_per_elem_norm
update_infinity_moment = otu.tree_update_infinity_moment


def safe_root_mean_squares(x, min_rms):
    """``max(sqrt(mean(|x|**2)), min_rms)`` with a finite gradient where the RMS is small."""
    rms = fnp.sqrt(fnp.mean(otree.abs_sq(x)))
    x = fnp.where(rms <= min_rms, fnp.ones_like(x), x)
    return fnp.where(rms <= min_rms, min_rms, fnp.sqrt(fnp.mean(otree.abs_sq(x))))


def incremental_update(new_tensors, old_tensors, step_size):
    """Polyak averaging: ``step_size * new + (1 - step_size) * old`` leaf-wise."""
    return tree_util.tree_map(
        lambda new, old: None if new is None else step_size * new + (1.0 - step_size) * old,
        new_tensors, old_tensors, is_leaf=otree.is_none)


def periodic_update(new_tensors, old_tensors, steps, update_period):
    """``new_tensors`` when ``steps % update_period == 0``, else ``old_tensors``."""
    return primitives.cond(fnp.mod(steps, update_period) == 0, lambda new, old: new,
                           lambda new, old: old, new_tensors, old_tensors)

