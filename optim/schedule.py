"""Schedules: functions ``step -> value`` accepted wherever a learning rate is.

A schedule is evaluated at the transformation's int32 step count (0 at the
first update); the step may be traced, so schedules use only fnp and ``where``.

Example::

    >>> lr = optim.warmup_cosine_decay_schedule(0.0, peak_value=1e-3, warmup_steps=100,
    ...                                          decay_steps=10_000)
    >>> tx = optim.adamw(lr)
    >>> round(float(lr(100)), 6)
    0.001

References:
    Loshchilov & Hutter, 2017: SGDR: Stochastic Gradient Descent with Warm Restarts.
    Smith, 2017: Cyclical Learning Rates for Training Neural Networks.
    Smith & Topin, 2018: Super-Convergence (one-cycle).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, Optional, Sequence

import primitives.numpy as fnp

__all__ = ["constant_schedule", "polynomial_schedule", "linear_schedule",
           "piecewise_constant_schedule", "exponential_decay", "cosine_decay_schedule",
           "piecewise_interpolate_schedule", "linear_onecycle_schedule",
           "cosine_onecycle_schedule", "warmup_constant_schedule", "warmup_cosine_decay_schedule",
           "warmup_exponential_decay_schedule", "sgdr_schedule", "join_schedules",
           "cyclical_schedule"]

Schedule = Callable


def constant_schedule(value) -> Schedule:
    """Always ``value``."""
    return lambda count: value


def polynomial_schedule(init_value, end_value, power, transition_steps: int,
                        transition_begin: int = 0) -> Schedule:
    """From ``init_value`` to ``end_value`` as ``(1 - t/T) ** power`` over ``transition_steps``,
    starting at ``transition_begin``."""
    if transition_steps <= 0:
        return lambda count: init_value
    transition_begin = max(transition_begin, 0)

    def schedule(count):
        count = fnp.clip(count - transition_begin, 0, transition_steps)
        frac = 1 - count / transition_steps
        return (init_value - end_value) * (frac ** power) + end_value
    return schedule


def linear_schedule(init_value, end_value, transition_steps: int,
                    transition_begin: int = 0) -> Schedule:
    """Linear interpolation from ``init_value`` to ``end_value``."""
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


def piecewise_constant_schedule(init_value, boundaries_and_scales: Optional[dict] = None
                                ) -> Schedule:
    """``init_value`` multiplied by each scale once the step passes its boundary."""
    if boundaries_and_scales is not None and any(s < 0 for s in boundaries_and_scales.values()):
        raise ValueError("piecewise_constant_schedule expects non-negative scale factors")

    def schedule(count):
        v = init_value
        for threshold, scale in sorted((boundaries_and_scales or {}).items()):
            indicator = fnp.maximum(0.0, fnp.sign(threshold - count))
            v = v * indicator + (1 - indicator) * scale * v
        return v
    return schedule


def exponential_decay(init_value, transition_steps: int, decay_rate: float,
                      transition_begin: int = 0, staircase: bool = False,
                      end_value=None) -> Schedule:
    """``init_value * decay_rate ** ((step - begin) / transition_steps)``, optionally
    stepwise and bounded by ``end_value``."""
    if transition_steps <= 0 or decay_rate == 0:
        return lambda count: init_value
    transition_begin = max(transition_begin, 0)
    clip_fn = fnp.maximum if decay_rate < 1.0 else fnp.minimum

    def schedule(count):
        decreased = count - transition_begin
        p = decreased / transition_steps
        if staircase:
            p = fnp.floor(p)
        value = fnp.where(decreased <= 0, init_value, init_value * fnp.power(decay_rate, p))
        return value if end_value is None else clip_fn(value, end_value)
    return schedule


def cosine_decay_schedule(init_value, decay_steps: int, alpha=0.0, exponent=1.0) -> Schedule:
    """``init_value * ((1 - alpha) * (0.5 (1 + cos(pi t / T))) ** exponent + alpha)``, then
    ``alpha * init_value`` after ``decay_steps``."""
    if not decay_steps > 0:
        raise ValueError(f"cosine_decay_schedule requires positive decay_steps, got {decay_steps}")
    decay_steps_f = float(decay_steps)

    def schedule(count):
        count = float(count) if isinstance(count, int) else count
        count = fnp.minimum(count, decay_steps_f)
        cosine = 0.5 * (1 + fnp.cos(math.pi * count / decay_steps_f))
        return init_value * ((1 - alpha) * cosine ** exponent + alpha)
    return schedule


def _linear_interpolate(start, end, pct):
    return (end - start) * pct + start


def _cosine_interpolate(start, end, pct):
    return end + (start - end) / 2.0 * (fnp.cos(math.pi * pct) + 1)


def piecewise_interpolate_schedule(interpolate_type: str, init_value,
                                   boundaries_and_scales: Optional[dict] = None) -> Schedule:
    """Piecewise linear or cosine interpolation between values ``init_value * prod(scales)``
    reached at each boundary."""
    interpolate = {"linear": _linear_interpolate,
                   "cosine": _cosine_interpolate}.get(interpolate_type)
    if interpolate is None:
        raise ValueError("interpolate_type must be either 'cosine' or 'linear'")
    if boundaries_and_scales:
        boundaries, scales = zip(*sorted(boundaries_and_scales.items()))
        if any(s < 0 for s in scales):
            raise ValueError("piecewise_interpolate_schedule expects non-negative scale factors")
    else:
        boundaries, scales = (), ()

    def schedule(count):
        bounds = fnp.stack((0,) + boundaries)
        values = fnp.cumprod(fnp.stack((init_value,) + scales))
        sizes = fnp.maximum(bounds[1:] - bounds[:-1], 1)
        indicator = fnp.logical_and(bounds[:-1] <= count, count < bounds[1:])
        pct = (count - bounds[:-1]) / sizes
        return indicator.dot(interpolate(values[:-1], values[1:], pct)) + \
            (bounds[-1] <= count) * values[-1]
    return schedule


def linear_onecycle_schedule(transition_steps: int, peak_value, pct_start: float = 0.3,
                             pct_final: float = 0.85, div_factor: float = 25.0,
                             final_div_factor: float = 1e4) -> Schedule:
    """One-cycle: up linearly to ``peak_value``, back down, then to ``peak / div / final_div``."""
    if transition_steps <= 0:
        raise ValueError("linear_onecycle_schedule requires positive transition_steps")
    return piecewise_interpolate_schedule("linear", peak_value / div_factor, {
        int(pct_start * transition_steps): div_factor,
        int(pct_final * transition_steps): 1.0 / div_factor,
        transition_steps: 1.0 / final_div_factor})


def cosine_onecycle_schedule(transition_steps: int, peak_value, pct_start: float = 0.3,
                             div_factor: float = 25.0, final_div_factor: float = 1e4) -> Schedule:
    """One-cycle with cosine interpolation."""
    if transition_steps <= 0:
        raise ValueError("cosine_onecycle_schedule requires positive transition_steps")
    return piecewise_interpolate_schedule("cosine", peak_value / div_factor, {
        int(pct_start * transition_steps): div_factor,
        int(transition_steps): 1.0 / (div_factor * final_div_factor)})


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Run ``schedules[i+1]`` from ``boundaries[i]`` on, with the step counted from there."""
    def schedule(step):
        out = schedules[0](step)
        for boundary, s in zip(boundaries, schedules[1:]):
            out = fnp.where(step < boundary, out, s(step - boundary))
        return out
    return schedule


def warmup_constant_schedule(init_value, peak_value, warmup_steps: int) -> Schedule:
    """Linear warmup to ``peak_value``, then constant."""
    return linear_schedule(init_value, peak_value, warmup_steps)


def warmup_cosine_decay_schedule(init_value, peak_value, warmup_steps: int, decay_steps: int,
                                 end_value=0.0, exponent=1.0) -> Schedule:
    """Linear warmup to ``peak_value``, then cosine decay to ``end_value`` at ``decay_steps``
    (counted from step 0, warmup included)."""
    alpha = 0.0 if peak_value == 0.0 else end_value / peak_value
    return join_schedules([
        linear_schedule(init_value, peak_value, warmup_steps),
        cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent)],
        [warmup_steps])


def warmup_exponential_decay_schedule(init_value, peak_value, warmup_steps: int,
                                      transition_steps: int, decay_rate, transition_begin: int = 0,
                                      staircase: bool = False, end_value=None) -> Schedule:
    """Linear warmup, then exponential decay."""
    return join_schedules([
        linear_schedule(init_value, peak_value, warmup_steps),
        exponential_decay(peak_value, transition_steps, decay_rate, transition_begin, staircase,
                          end_value)], [warmup_steps])


def sgdr_schedule(cosine_kwargs: Iterable[dict]) -> Schedule:
    """SGDR: warm restarts, one ``warmup_cosine_decay_schedule(**kwargs)`` per cycle."""
    boundaries, schedules, step = [], [], 0
    for kwargs in cosine_kwargs:
        schedules.append(warmup_cosine_decay_schedule(**kwargs))
        step += kwargs["decay_steps"]
        boundaries.append(step)
    return join_schedules(schedules, boundaries[:-1])


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


def cyclical_schedule(base_value, max_value, step_size_up: int = 2000,
                      step_size_down: Optional[int] = None, mode: str = "triangular",
                      gamma: float = 1.0, scale_fn: Optional[Callable] = None,
                      scale_mode: str = "cycle") -> Schedule:
    """Cyclical learning rate (Smith 2017), with torch.optim.lr_scheduler.CyclicLR's semantics.

    The value rises from ``base_value`` to ``max_value`` over ``step_size_up``
    steps and falls back over ``step_size_down``; the amplitude is multiplied by
    ``scale_fn``: 1 (triangular), ``1 / 2**(cycle - 1)`` (triangular2), or
    ``gamma ** step`` (exp_range). Step 0 gives ``base_value``, as CyclicLR does
    after construction.

    Args:
      base_value: lower bound.
      max_value: upper bound (reached only when the scale is 1).
      step_size_up: steps of the rising half.
      step_size_down: steps of the falling half (default ``step_size_up``).
      mode: 'triangular', 'triangular2' or 'exp_range' (ignored with ``scale_fn``).
      gamma: exp_range's decay per step.
      scale_fn: custom amplitude scale, a function of the cycle (``scale_mode='cycle'``)
        or of the step (``'iterations'``).
    """
    if scale_fn is None:
        if mode not in _CYCLIC_MODES:
            raise ValueError(f"cyclical_schedule mode must be one of {_CYCLIC_MODES}, got {mode!r}")
        scale_fn, scale_mode = {
            "triangular": (lambda x: 1.0, "cycle"),
            "triangular2": (lambda x: 1 / (2.0 ** (x - 1)), "cycle"),
            "exp_range": (lambda x: gamma ** x, "iterations"),
        }[mode]
    up = float(step_size_up)
    down = float(step_size_down) if step_size_down is not None else up
    total = up + down
    ratio = up / total

    def schedule(count):
        count = fnp.asarray(count).astype(fnp.float32)
        position = fnp.remainder(count, total)  # exact for integer step sizes
        cycle = (count - position) / total + 1  # CyclicLR: floor(1 + count / total)
        x = position / total
        factor = fnp.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        height = (max_value - base_value) * factor
        return base_value + height * scale_fn(cycle if scale_mode == "cycle" else count)
    return schedule
