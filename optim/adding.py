"""Adding to the updates: decoupled weight decay.

References:
    Loshchilov & Hutter, 2019: Decoupled Weight Decay Regularization (AdamW).
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Union

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import EmptyState, GradientTransformation, is_schedule, require_params
from optim.combine import masked
from optim.scale import check_scalar_or_schedule

__all__ = ["WeightDecayScheduleState", "add_decayed_weights"]


class WeightDecayScheduleState(NamedTuple):
    """The step count a scheduled weight decay is evaluated at."""
    count: Any  # int32[]


# --- add_decayed_weights ---
def add_decayed_weights(weight_decay=0.0, mask: Optional[Union[Any, Callable]] = None
                        ) -> GradientTransformation:
    """Add ``weight_decay * params`` to the updates (before the learning rate: decoupled).

    Args:
      weight_decay: a number, an array, or a schedule.
      mask: a bool tree (or function of params) selecting the leaves to decay,
        e.g. to skip biases and norm scales. See :func:`optim.masked`.
    """
    check_scalar_or_schedule(weight_decay, "weight_decay")
    scheduled = is_schedule(weight_decay)

    def init_fn(params):
        del params
        if scheduled:
            return WeightDecayScheduleState(count=fnp.zeros([], fnp.int32))
        return EmptyState()

    def update_fn(updates, state, params):
        require_params(params, "add_decayed_weights")
        new_state = (WeightDecayScheduleState(otree.safe_increment(state.count)) if scheduled
                     else state)
        if isinstance(weight_decay, (int, float)) and weight_decay == 0.0:
            return updates, new_state
        s = weight_decay(state.count) if scheduled else weight_decay
        updates = otree.tree_map(lambda g, p: None if g is None else g + s * p, updates, params,
                                 is_leaf=otree.is_none, names=("updates", "params"))
        return updates, new_state

    tx = GradientTransformation(init_fn, update_fn)
    return masked(tx, mask) if mask is not None else tx
