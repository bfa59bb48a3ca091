"""Constraints on updates: ``keep_params_nonnegative`` and ``zero_nans``, as optax's."""
from __future__ import annotations

from typing import Any, NamedTuple

from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import EmptyState, GradientTransformation, check_state, require_params

__all__ = ["NonNegativeParamsState", "keep_params_nonnegative", "ZeroNansState", "zero_nans"]

NonNegativeParamsState = EmptyState


def keep_params_nonnegative() -> GradientTransformation:
    """Change each update that would make its parameter negative into ``-param``
    (so the parameter lands on 0). Needs params; put it last in a chain."""
    def init_fn(params):
        del params
        return NonNegativeParamsState()

    def update_fn(updates, state, params=None):
        require_params(params, "keep_params_nonnegative")
        updates = tree_util.tree_map(
            lambda p, u: None if p is None else fnp.where((p + u) < 0.0, -p, u),
            params, updates, is_leaf=otree.is_none)
        return updates, state
    return GradientTransformation(init_fn, update_fn)


class ZeroNansState(NamedTuple):
    """Per leaf, whether the last updates held a NaN."""
    found_nan: Any


def zero_nans() -> GradientTransformation:
    """Replace NaNs in the updates by 0, recording per leaf whether there were any."""
    def init_fn(params):
        return ZeroNansState(found_nan=tree_util.tree_map(lambda p: fnp.array(False, fnp.bool_),
                                                          params))

    def update_fn(updates, state, params=None):
        check_state(state, ZeroNansState, "zero_nans")
        del params
        found = tree_util.tree_map(lambda g: fnp.any(fnp.isnan(g)), updates)
        updates = tree_util.tree_map(lambda g: fnp.where(fnp.isnan(g), fnp.zeros_like(g), g),
                                     updates)
        return updates, ZeroNansState(found_nan=found)
    return GradientTransformation(init_fn, update_fn)
