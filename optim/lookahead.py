"""Lookahead, as ``optax.lookahead``: a fast optimizer explores, and every
``sync_period`` steps the slow weights move ``slow_step_size`` of the way to
the fast ones, which then restart from there.

The params are a :class:`LookaheadParams` (``fast``, ``slow``); the gradients
are those of the fast params::

    >>> tx = optim.lookahead(optim.adam(1e-3), sync_period=5, slow_step_size=0.5)
    >>> params = optim.LookaheadParams.init_synced(params)
    >>> state = tx.init(params)
    >>> updates, state = tx.update(grad(loss)(params.fast), state, params)
    >>> params = optim.apply_updates(params, updates)   # evaluate with params.slow

References:
    Zhang et al., 2019: Lookahead Optimizer: k steps forward, 1 step back.
"""
from __future__ import annotations

import warnings
from typing import Any, NamedTuple

from jax import tree_util

import primitives.numpy as fnp
from optim.base import GradientTransformation, check_state, check_transformation

__all__ = ["LookaheadState", "LookaheadParams", "lookahead"]


class LookaheadState(NamedTuple):
    """The fast optimizer's state and the steps since the last synchronization."""
    fast_state: Any
    steps_since_sync: Any  # int32[]


class LookaheadParams(NamedTuple):
    """The fast and slow copies of the parameters."""
    fast: Any
    slow: Any

    @classmethod
    def init_synced(cls, params) -> "LookaheadParams":
        """Both copies equal to ``params``."""
        return cls(slow=params, fast=params)


def lookahead(fast_optimizer, sync_period: int, slow_step_size,
              reset_state: bool = False) -> GradientTransformation:
    """Wrap ``fast_optimizer`` in Lookahead.

    Args:
      fast_optimizer: the inner optimizer, applied to the fast params.
      sync_period: synchronize every this many steps (>= 1).
      slow_step_size: how far the slow params move towards the fast ones.
      reset_state: re-initialize the fast optimizer's state at each synchronization.
    """
    check_transformation(fast_optimizer, "lookahead(fast_optimizer)")
    if sync_period < 1:
        raise ValueError("Synchronization period must be >= 1.")

    def init_fn(params):
        fast = getattr(params, "fast", None)
        if fast is None:
            warnings.warn("`params` has no attribute `fast`. Continuing by assuming that only "
                          "fast parameters were passed to lookahead init.")
            fast = params
        return LookaheadState(fast_state=fast_optimizer.init(fast),
                              steps_since_sync=fnp.zeros((), fnp.int32))

    def update_fn(updates, state, params=None):
        check_state(state, LookaheadState, "lookahead")
        if not hasattr(params, "fast") or not hasattr(params, "slow"):
            raise ValueError("lookahead's update needs params=LookaheadParams(fast, slow); "
                             "build them with optim.LookaheadParams.init_synced(params).")
        updates, fast_state = fast_optimizer.update(updates, state.fast_state, params.fast)
        sync_next = state.steps_since_sync == (sync_period - 1)
        diff = tree_util.tree_map(lambda f, u, s: f + u - s, params.fast, updates, params.slow)
        slow_updates = tree_util.tree_map(lambda d: slow_step_size * sync_next * d, diff)
        fast_updates = tree_util.tree_map(lambda u, d: u - sync_next * (1 - slow_step_size) * d,
                                          updates, diff)
        if reset_state:
            fresh = fast_optimizer.init(params.fast)
            fast_state = tree_util.tree_map(
                lambda cur, init: (1 - sync_next) * cur + sync_next * init, fast_state, fresh)
        steps = (state.steps_since_sync + 1) % sync_period
        return (LookaheadParams(fast=fast_updates, slow=slow_updates),
                LookaheadState(fast_state, steps))
    return GradientTransformation(init_fn, update_fn)
