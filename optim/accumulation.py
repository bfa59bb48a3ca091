"""Accumulating past updates: ``trace`` (momentum), ``ema``, and ``MultiSteps``.

Note the difference: ``trace = decay * trace + g`` while
``ema = decay * ema + (1 - decay) * g``.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Union

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import (check_state, GradientTransformation, GradientTransformationExtraArgs,
                        with_extra_args_support)
from optim.scale import canonical_dtype

__all__ = ["TraceState", "trace", "EmaState", "ema", "MultiStepsState", "MultiSteps",
           "skip_not_finite", "skip_large_updates"]


# --- trace ---
class TraceState(NamedTuple):
    """The momentum buffer."""
    trace: Any


def trace(decay, nesterov: bool = False, accumulator_dtype=None) -> GradientTransformation:
    """Momentum: ``t <- g + decay * t``; the update is ``t`` (or ``g + decay * t`` with Nesterov).

    Args:
      decay: the momentum coefficient.
      nesterov: use Nesterov's momentum.
      accumulator_dtype: dtype of the buffer (default: the params' dtype).
    """
    accumulator_dtype = canonical_dtype(accumulator_dtype)

    def init_fn(params):
        return TraceState(trace=otree.zeros_like(params, dtype=accumulator_dtype))

    def update_fn(updates, state, params=None):
        check_state(state, TraceState, "trace")
        del params
        f = lambda g, t: g + decay * t  # noqa: E731
        new_trace = otree.tree_map(lambda g, t: None if g is None else f(g, t), updates,
                                   state.trace, is_leaf=otree.is_none,
                                   names=("updates", "optimizer state"))
        updates = tree_util.tree_map(f, updates, new_trace) if nesterov else new_trace
        return updates, TraceState(trace=otree.cast(new_trace, accumulator_dtype))
    return GradientTransformation(init_fn, update_fn)


# --- ema ---
class EmaState(NamedTuple):
    """Step count and the moving average."""
    count: Any  # int32[]
    ema: Any


def ema(decay, debias: bool = True, accumulator_dtype=None) -> GradientTransformation:
    """Exponential moving average of the updates (bias-corrected when ``debias``)."""
    accumulator_dtype = canonical_dtype(accumulator_dtype)

    def init_fn(params):
        return EmaState(count=fnp.zeros([], fnp.int32),
                        ema=otree.zeros_like(params, dtype=accumulator_dtype))

    def update_fn(updates, state, params=None):
        check_state(state, EmaState, "ema")
        del params
        updates = new_ema = otree.update_moment(updates, state.ema, decay, 1)
        count_inc = otree.safe_increment(state.count)
        if debias:
            updates = otree.bias_correction(new_ema, decay, count_inc)
        return updates, EmaState(count=count_inc, ema=otree.cast(new_ema, accumulator_dtype))
    return GradientTransformation(init_fn, update_fn)


# --- MultiSteps ---
class MultiStepsState(NamedTuple):
    """State of :class:`MultiSteps`.

    Attributes:
      mini_step: mini-steps accumulated so far in this gradient step (reset to 0 on emit).
      gradient_step: inner optimizer steps taken.
      inner_opt_state: the wrapped optimizer's state.
      acc_grads: the running mean (or sum) of the accumulated gradients.
      skip_state: what ``should_skip_update_fn`` reports (for monitoring).
    """
    mini_step: Any
    gradient_step: Any
    inner_opt_state: Any
    acc_grads: Any
    skip_state: Any = ()


def _never_skip(updates, gradient_step, params):
    del updates, gradient_step, params
    return fnp.array(False), ()


def skip_not_finite(updates, gradient_step, params):
    """A ``should_skip_update_fn``: skip mini-steps whose updates hold inf or NaN."""
    del gradient_step, params
    leaves = tree_util.tree_leaves(updates)
    counts = [fnp.sum(fnp.logical_not(fnp.isfinite(x))) for x in leaves]
    num_not_finite = sum(counts[1:], counts[0]) if counts else fnp.array(0)
    return num_not_finite > 0, {"should_skip": num_not_finite > 0,
                                "num_not_finite": num_not_finite}


def skip_large_updates(updates, gradient_step, params, max_squared_norm: float):
    """A ``should_skip_update_fn``: skip mini-steps whose squared norm exceeds a bound
    (bind ``max_squared_norm`` with functools.partial)."""
    del gradient_step, params
    norm_sq = otree.norm(updates, squared=True)
    skip = fnp.logical_or(fnp.isnan(norm_sq), norm_sq > max_squared_norm)
    return skip, {"should_skip": skip, "norm_squared": norm_sq}


class MultiSteps:
    """Gradient accumulation: apply the inner optimizer once every k mini-steps.

    Between emits the returned updates are zeros; on the k-th mini-step the
    accumulated mean (or sum) of the gradients goes through the inner optimizer.
    Both branches are computed and selected with ``where`` (no ``cond``), so it
    runs under every transformation; the unselected inner update is discarded.

    Args:
      opt: the inner optimizer.
      every_k_schedule: k as an int, or a schedule of the gradient step.
      use_grad_mean: average (True) or sum the accumulated gradients.
      should_skip_update_fn: ``(updates, gradient_step, params) -> (bool[], info)``;
        a skipped mini-step leaves the state unchanged (see skip_not_finite).
      accumulator_dtype: dtype of the accumulated gradients.

    Example::

        >>> opt = optim.MultiSteps(optim.adam(1e-3), every_k_schedule=4)
        >>> state = opt.init(params)
        >>> updates, state = opt.update(grads, state, params)
    """

    def __init__(self, opt, every_k_schedule: Union[int, Callable], use_grad_mean: bool = True,
                 should_skip_update_fn: Optional[Callable] = None,
                 accumulator_dtype=np.float32):
        self._opt = with_extra_args_support(opt)
        self._every_k = ((lambda step: every_k_schedule) if isinstance(every_k_schedule, int)
                         else every_k_schedule)
        self._use_grad_mean = use_grad_mean
        self._should_skip = should_skip_update_fn or _never_skip
        self._acc_dtype = canonical_dtype(accumulator_dtype)

    @property
    def inner_opt(self):
        return self._opt

    def _accumulate(self, grad, acc, n_acc):
        if self._use_grad_mean:  # Welford's running mean
            return acc + (grad - acc) / (n_acc + 1)
        return grad + acc

    def init(self, params) -> MultiStepsState:
        gradient_step = fnp.zeros([], fnp.int32)
        _, skip_state = self._should_skip(otree.zeros_like(params), gradient_step, params)
        return MultiStepsState(mini_step=fnp.zeros([], fnp.int32), gradient_step=gradient_step,
                               inner_opt_state=self._opt.init(params),
                               acc_grads=otree.zeros_like(params, dtype=self._acc_dtype),
                               skip_state=skip_state)

    def update(self, updates, state: MultiStepsState, params=None, **extra_args):
        k_steps = self._every_k(state.gradient_step)
        skip, skip_state = self._should_skip(updates, state.gradient_step, params)
        acc = otree.tree_map(lambda g, a: self._accumulate(g, a, state.mini_step), updates,
                             state.acc_grads, names=("updates", "accumulated gradients"))
        final, new_inner = self._opt.update(otree.cast_like(acc, updates),
                                            state.inner_opt_state, params, **extra_args)
        emit = state.mini_step == (k_steps - 1)
        emitted = MultiStepsState(
            mini_step=otree.safe_increment(state.mini_step) % k_steps,
            gradient_step=fnp.where(emit, otree.safe_increment(state.gradient_step),
                                    state.gradient_step),
            inner_opt_state=tree_util.tree_map(lambda old, new: fnp.where(emit, new, old)
                                               .astype(old.dtype),
                                               state.inner_opt_state, new_inner),
            acc_grads=tree_util.tree_map(
                lambda a: fnp.where(emit, fnp.zeros_like(a), a).astype(self._acc_dtype), acc),
            skip_state=skip_state)
        final = tree_util.tree_map(lambda u: fnp.where(emit, u, fnp.zeros_like(u)), final)
        if self._should_skip is _never_skip:
            return final, emitted
        kept = state._replace(skip_state=skip_state)
        new_state = tree_util.tree_map(lambda s, e: fnp.where(skip, s, e), kept, emitted)
        final = tree_util.tree_map(lambda u: fnp.where(skip, fnp.zeros_like(u), u), final)
        return final, new_state

    def has_updated(self, state: MultiStepsState):
        """True right after a mini-step that applied the inner optimizer."""
        return fnp.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def gradient_transformation(self) -> GradientTransformation:
        return GradientTransformationExtraArgs(self.init, self.update)
