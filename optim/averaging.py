"""Stochastic weight averaging: a running average of the parameters along training.

``swa(inner)`` runs any optimizer and, after every ``every_n``-th update from
``start_step`` on, folds the new parameters into an equal-weight running
average (``mode='swa'``, as ``torch.optim.swa_utils.AveragedModel``) or an
exponential moving average (``mode='ema'``, as ``get_ema_multi_avg_fn``). The
average lives in the state and is read with :func:`swa_params`; the updates
returned are the inner optimizer's, unchanged. ``swa_lr_schedule`` is
torch's ``SWALR``: from ``swa_start`` on, anneal (cos or linear) from the
learning rate reached at ``swa_start`` to a constant ``swa_lr``.

Example::

    >>> tx = optim.swa(optim.sgd(optim.swa_lr_schedule(0.1, swa_lr=0.05, swa_start=1000)),
    ...                start_step=1000, every_n=100)
    >>> state = tx.init(params)
    >>> ...training...
    >>> averaged = optim.swa_params(state)

References:
    Izmailov et al., 2018: Averaging Weights Leads to Wider Optima and Better Generalization.
    Yang et al., 2019: SWALP: Stochastic Weight Averaging in Low-Precision Training.
    Gupta et al., 2020: Stochastic Weight Averaging in Parallel (SWAP).
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import (check_state, GradientTransformationExtraArgs, apply_updates, is_schedule,
                        require_params, with_extra_args_support)
from optim.errors import NotATransformationError

__all__ = ["SWAState", "swa", "swa_params", "swa_lr_schedule"]


class SWAState(NamedTuple):
    """Step count, how many parameter snapshots were averaged, the average, the inner state."""
    count: Any  # int32[]: updates seen
    n_averaged: Any  # int32[]
    params: Any  # the averaged parameters (params' dtypes)
    inner_state: Any


def swa(inner, start_step: int = 0, every_n: int = 1, *, mode: str = "swa",
        ema_decay: float = 0.999) -> GradientTransformationExtraArgs:
    """Average the parameters produced by ``inner`` (wrap the whole optimizer).

    After the update with 0-based index ``t`` (the new params are
    ``params + updates``), the average takes them in when ``t >= start_step``
    and ``(t - start_step) % every_n == 0``. The first snapshot is copied; later
    ones update ``avg + (p - avg) / (n + 1)`` (swa) or
    ``avg + (1 - decay) (p - avg)`` (ema).

    Args:
      inner: the optimizer whose parameters are averaged.
      start_step: first update index averaged.
      every_n: average every n-th update from there.
      mode: 'swa' (equal weights) or 'ema'.
      ema_decay: the EMA's decay.
    """
    if mode not in ("swa", "ema"):
        raise ValueError(f"swa mode must be 'swa' or 'ema', got {mode!r}")
    if every_n < 1:
        raise ValueError(f"swa every_n must be >= 1, got {every_n}")
    inner = with_extra_args_support(inner)

    def average(avg, p, n):
        if mode == "swa":
            return avg + (p - avg) / (n + 1).astype(avg.dtype)
        return avg + (1 - ema_decay) * (p - avg)

    def init_fn(params):
        return SWAState(count=fnp.zeros([], fnp.int32), n_averaged=fnp.zeros([], fnp.int32),
                        params=tree_util.tree_map(fnp.asarray, params),
                        inner_state=inner.init(params))

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, SWAState, "swa")
        require_params(params, "swa")
        updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
        new_params = apply_updates(params, updates)
        t = state.count
        take = fnp.logical_and(t >= start_step, (t - start_step) % every_n == 0)
        n = state.n_averaged
        averaged = tree_util.tree_map(
            lambda avg, p: fnp.where(take, fnp.where(n == 0, p, average(avg, p, n)), avg)
            .astype(avg.dtype), state.params, new_params)
        return updates, SWAState(count=otree.safe_increment(t),
                                 n_averaged=n + take.astype(n.dtype), params=averaged,
                                 inner_state=inner_state)
    return GradientTransformationExtraArgs(init_fn, update_fn)


def swa_params(state):
    """The averaged parameters held by the (outermost) SWAState inside ``state``."""
    found = [s for s in tree_util.tree_leaves(state, is_leaf=lambda x: isinstance(x, SWAState))
             if isinstance(s, SWAState)]
    if not found:
        raise NotATransformationError(
            "swa_params: this optimizer state holds no SWAState. Build the optimizer with "
            "optim.swa(inner, ...) and pass its state.")
    return found[0].params


def swa_lr_schedule(base, swa_lr, swa_start: int, anneal_steps: int = 10,
                    anneal_strategy: str = "cos"):
    """The learning rate of torch's SWALR, started at step ``swa_start``.

    Before ``swa_start``: ``base`` (a number or a schedule). From there, with
    ``lr0 = base(swa_start)`` and ``t = min(1, (step - swa_start) / anneal_steps)``:
    ``swa_lr * a(t) + lr0 * (1 - a(t))`` with ``a(t) = (1 - cos(pi t)) / 2`` (cos)
    or ``t`` (linear). Step ``swa_start + k`` matches SWALR after k calls of
    ``.step()`` following its construction.

    Args:
      base: the learning rate (or schedule) before SWA.
      swa_lr: the constant SWA learning rate.
      swa_start: first step of the annealing.
      anneal_steps: steps of the annealing.
      anneal_strategy: 'cos' or 'linear'.
    """
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
    base_fn = base if is_schedule(base) else (lambda count: base)
    lr0 = base_fn(swa_start)
    span = float(max(1, anneal_steps))
    shift = swa_start - (1 if anneal_steps == 0 else 0)  # SWALR jumps to swa_lr at once then

    def schedule(count):
        t = fnp.clip((count - shift) / span, 0.0, 1.0)
        alpha = (1 - fnp.cos(math.pi * t)) / 2 if anneal_strategy == "cos" else t
        annealed = swa_lr * alpha + lr0 * (1 - alpha)
        return fnp.where(count < swa_start, base_fn(count), annealed)
    return schedule
