"""Running a transformation only on some steps: ``conditionally_transform``,
``conditionally_mask`` and ``apply_if_finite``, as optax's.

The condition is evaluated at run time (a ``primitives.cond``), so it may
depend on the traced step count or on extra args such as the loss.

Example::

    >>> tx = optim.apply_if_finite(optim.adam(1e-3), max_consecutive_errors=5)
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

from jax import tree_util

import primitives
import primitives.numpy as fnp
from optim import tree as otree
from optim.base import (GradientTransformationExtraArgs, check_state, check_transformation,
                        with_extra_args_support)

__all__ = ["ConditionallyTransformState", "conditionally_transform", "ConditionallyMaskState",
           "conditionally_mask", "ApplyIfFiniteState", "apply_if_finite"]


def _run_if(pred, inner, updates, inner_state, params, extra_args, zero_rejected: bool):
    """``inner.update`` when ``pred``, else the updates (or zeros) and the old state."""
    def do_update(u, s, p):
        return inner.update(u, s, p, **extra_args)

    def reject(u, s, p):
        del p
        return (otree.zeros_like(u) if zero_rejected else u), s
    return primitives.cond(pred, do_update, reject, updates, inner_state, params)


# --- conditionally_transform ---
class ConditionallyTransformState(NamedTuple):
    """The inner state and the step count."""
    inner_state: Any
    step: Any  # int32[]


def conditionally_transform(inner, should_transform_fn: Callable[..., Any],
                            forward_extra_args: bool = False) -> GradientTransformationExtraArgs:
    """Apply ``inner`` on the steps where ``should_transform_fn(step)`` holds; on
    the others pass the updates through unchanged (the inner state stays).

    Args:
      inner: the transformation.
      should_transform_fn: ``step -> bool`` (``step`` counts from 0); with
        ``forward_extra_args`` it also receives the update's extra args.
      forward_extra_args: pass extra args (e.g. ``value=loss``) to the condition.
    """
    check_transformation(inner, "conditionally_transform(inner)")
    inner = with_extra_args_support(inner)

    def init_fn(params):
        return ConditionallyTransformState(inner_state=inner.init(params),
                                           step=fnp.zeros([], fnp.int32))

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, ConditionallyTransformState, "conditionally_transform")
        kwargs = extra_args if forward_extra_args else {}
        updates, inner_state = _run_if(should_transform_fn(state.step, **kwargs), inner, updates,
                                       state.inner_state, params, extra_args, False)
        return updates, ConditionallyTransformState(inner_state,
                                                    otree.safe_increment(state.step))
    return GradientTransformationExtraArgs(init_fn, update_fn)


# --- conditionally_mask ---
class ConditionallyMaskState(NamedTuple):
    """The step count and the inner state."""
    step: Any  # int32[]
    inner_state: Any


def conditionally_mask(inner, should_transform_fn: Callable[..., Any],
                       forward_extra_args: bool = False) -> GradientTransformationExtraArgs:
    """Like :func:`conditionally_transform`, but the steps where the condition
    fails give zero updates."""
    check_transformation(inner, "conditionally_mask(inner)")
    inner = with_extra_args_support(inner)

    def init_fn(params):
        return ConditionallyMaskState(step=fnp.zeros([], fnp.int32), inner_state=inner.init(params))

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, ConditionallyMaskState, "conditionally_mask")
        kwargs = extra_args if forward_extra_args else {}
        updates, inner_state = _run_if(should_transform_fn(state.step, **kwargs), inner, updates,
                                       state.inner_state, params, extra_args, True)
        return updates, ConditionallyMaskState(step=otree.safe_increment(state.step),
                                               inner_state=inner_state)
    return GradientTransformationExtraArgs(init_fn, update_fn)


# --- apply_if_finite ---
class ApplyIfFiniteState(NamedTuple):
    """Consecutive and total non-finite steps, whether the last was finite, the inner state."""
    notfinite_count: Any  # int32[]
    last_finite: Any      # bool[]
    total_notfinite: Any  # int32[]
    inner_state: Any


def apply_if_finite(inner, max_consecutive_errors: int) -> GradientTransformationExtraArgs:
    """Skip (zero updates, inner state kept) steps whose updates hold a NaN or
    an infinity, unless more than ``max_consecutive_errors`` came in a row (then
    the bad update goes through, so the failure shows).

    Args:
      inner: the transformation to protect.
      max_consecutive_errors: how many non-finite steps in a row to skip.
    """
    check_transformation(inner, "apply_if_finite(inner)")
    inner = with_extra_args_support(inner)

    def init_fn(params):
        return ApplyIfFiniteState(notfinite_count=fnp.zeros([], fnp.int32),
                                  last_finite=fnp.array(True, fnp.bool_),
                                  total_notfinite=fnp.zeros([], fnp.int32),
                                  inner_state=inner.init(params))

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, ApplyIfFiniteState, "apply_if_finite")
        leaves = tree_util.tree_leaves(updates)
        isfinite = (fnp.all(fnp.stack([fnp.all(fnp.isfinite(g)) for g in leaves])) if leaves
                    else fnp.array(True, fnp.bool_))
        notfinite_count = fnp.where(isfinite, fnp.zeros([], fnp.int32),
                                    otree.safe_increment(state.notfinite_count))
        apply = fnp.logical_or(isfinite, notfinite_count > max_consecutive_errors)
        updates, inner_state = _run_if(apply, inner, updates, state.inner_state, params,
                                       extra_args, True)
        total = fnp.where(isfinite, state.total_notfinite,
                          otree.safe_increment(state.total_notfinite))
        return updates, ApplyIfFiniteState(notfinite_count=notfinite_count, last_finite=isfinite,
                                           total_notfinite=total, inner_state=inner_state)
    return GradientTransformationExtraArgs(init_fn, update_fn)
