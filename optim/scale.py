"""Rescaling transformations: scale, learning rates, and the adaptive ``scale_by_*``.

Each state NamedTuple sits right above the transformation that owns it. Named
optimizers (optim.alias) are chains of these.

References:
    Kingma & Ba, 2015: Adam: A Method for Stochastic Optimization.
    Dozat, 2016: Incorporating Nesterov Momentum into Adam (NAdam).
    Liu et al., 2020: On the Variance of the Adaptive Learning Rate and Beyond (RAdam).
    Chen et al., 2023: Symbolic Discovery of Optimization Algorithms (Lion).
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import (check_state, GradientTransformation, ScalarOrSchedule, identity, init_empty_state,
                        is_schedule, require_params)
from optim.errors import NotATransformationError

__all__ = ["scale", "scale_by_learning_rate", "ScaleByScheduleState", "scale_by_schedule",
           "ScaleByAdamState", "scale_by_adam", "scale_by_radam", "ScaleByLionState",
           "scale_by_lion", "scale_by_param_block_rms", "scale_by_sign", "check_scalar_or_schedule",
           "nesterov_mu_hat", "canonical_dtype"]


def canonical_dtype(dtype) -> Optional[np.dtype]:
    """``None`` stays None; otherwise the dtype jax stores (64-bit narrowed unless x64)."""
    if dtype is None:
        return None
    return np.dtype(fnp.canonicalize_dtype(dtype))


def check_scalar_or_schedule(value, name: str) -> None:
    """Reject a GradientTransformation given where a number or schedule is expected."""
    if callable(getattr(value, "init", None)) and callable(getattr(value, "update", None)):
        raise NotATransformationError(
            f"{name} must be a number, an array or a schedule (step -> value), got a "
            f"GradientTransformation. To combine transformations use optim.chain(...); "
            f"a schedule is a plain function such as optim.cosine_decay_schedule(1e-3, 1000).")


# --- scale ---
def scale(step_size) -> GradientTransformation:
    """Multiply updates by a fixed scalar ``step_size``."""
    check_scalar_or_schedule(step_size, "scale(step_size)")

    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(lambda g: step_size * g, updates), state
    return GradientTransformation(init_empty_state, update_fn)


# --- scale_by_schedule ---
class ScaleByScheduleState(NamedTuple):
    """The step count the schedule is evaluated at."""
    count: Any  # int32[]


def scale_by_schedule(step_size_fn) -> GradientTransformation:
    """Multiply updates by ``step_size_fn(count)``, count = updates so far.

    Args:
      step_size_fn: a schedule (int32 step -> scalar).
    """
    if not is_schedule(step_size_fn):
        raise NotATransformationError(
            f"scale_by_schedule expects a schedule (a function of the step count), got "
            f"{type(step_size_fn).__name__}. For a constant use optim.scale({step_size_fn!r:.20}).")

    def init_fn(params):
        del params
        return ScaleByScheduleState(count=fnp.zeros([], fnp.int32))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByScheduleState, "scale_by_schedule")
        del params
        step_size = step_size_fn(state.count)
        updates = tree_util.tree_map(lambda g: fnp.array(step_size, dtype=g.dtype) * g, updates)
        return updates, ScaleByScheduleState(count=otree.safe_increment(state.count))
    return GradientTransformation(init_fn, update_fn)


def scale_by_learning_rate(learning_rate: ScalarOrSchedule | None, *,
                           flip_sign: bool = True) -> GradientTransformation:
    """Multiply updates by ``-learning_rate`` (a number, an array or a schedule).

    Args:
      learning_rate: a scalar, a (possibly traced) array, or a schedule; None
        means no scaling.
      flip_sign: scale by ``-learning_rate`` (descent) when True.
    """
    if learning_rate is None:
        return identity()
    check_scalar_or_schedule(learning_rate, "learning_rate")
    m = -1 if flip_sign else 1
    if is_schedule(learning_rate):
        return scale_by_schedule(lambda count: m * learning_rate(count))
    return scale(m * learning_rate)


# --- scale_by_adam ---
class ScaleByAdamState(NamedTuple):
    """Adam's statistics: step count and the first and second moments."""
    count: Any  # int32[]
    mu: Any
    nu: Any


def nesterov_mu_hat(mu, updates, b1, count_inc):
    """Dozat's Nesterov first moment: ``b1 * mu_hat(t+1) + (1 - b1) * g_hat(t)``."""
    return tree_util.tree_map(
        lambda m, g: b1 * m + (1 - b1) * g,
        otree.bias_correction(mu, b1, otree.safe_increment(count_inc)),
        otree.bias_correction(updates, b1, count_inc))


def _adam_moments(updates, state, b1, b2, nesterov):
    mu = otree.update_moment(updates, state.mu, b1, 1)
    nu = otree.update_moment_per_elem_norm(updates, state.nu, b2, 2)
    count_inc = otree.safe_increment(state.count)
    mu_hat = (nesterov_mu_hat(mu, updates, b1, count_inc) if nesterov
              else otree.bias_correction(mu, b1, count_inc))
    nu_hat = otree.bias_correction(nu, b2, count_inc)
    return mu, nu, count_inc, mu_hat, nu_hat


def _adam_init(mu_dtype):
    def init_fn(params):
        return ScaleByAdamState(count=fnp.zeros([], fnp.int32),
                                mu=otree.zeros_like(params, dtype=mu_dtype),
                                nu=otree.zeros_like(params))
    return init_fn


def scale_by_adam(b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, mu_dtype=None, *,
                  nesterov: bool = False) -> GradientTransformation:
    """Rescale updates by Adam: ``mu_hat / (sqrt(nu_hat + eps_root) + eps)``.

    Args:
      b1: decay of the first moment.
      b2: decay of the second moment.
      eps: added to the denominator.
      eps_root: added inside the square root (keeps meta-gradients finite).
      mu_dtype: dtype of the first moment (default: the params' dtype).
      nesterov: use Dozat's Nesterov momentum (NAdam).
    """
    mu_dtype = canonical_dtype(mu_dtype)

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByAdamState, "scale_by_adam")
        del params
        mu, nu, count_inc, mu_hat, nu_hat = _adam_moments(updates, state, b1, b2, nesterov)
        updates = tree_util.tree_map(
            lambda m, v: None if m is None else m / (fnp.sqrt(v + eps_root) + eps),
            mu_hat, nu_hat, is_leaf=otree.is_none)
        return updates, ScaleByAdamState(count=count_inc, mu=otree.cast(mu, mu_dtype),
                                         nu=otree.cast_like(nu, state.nu))
    return GradientTransformation(_adam_init(mu_dtype), update_fn)


# --- scale_by_radam ---
def scale_by_radam(b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, threshold=5.0, *,
                   nesterov: bool = False) -> GradientTransformation:
    """Rescale updates by Rectified Adam (state: ScaleByAdamState).

    While the variance of the adaptive rate is intractable (``rho_t < threshold``)
    the update is the bias-corrected momentum; afterwards Adam's, times the
    rectification ``r_t``.
    """
    rho_inf = 2.0 / (1.0 - b2) - 1.0

    def rectified(rho, mu_hat, nu_hat):
        r = fnp.sqrt((rho - 4.0) * (rho - 2.0) * rho_inf
                     / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho))
        return tree_util.tree_map(
            lambda m, v: r.astype(m.dtype) * m / (fnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByAdamState, "scale_by_radam")
        del params
        mu, nu, count_inc, mu_hat, nu_hat = _adam_moments(updates, state, b1, b2, nesterov)
        b2t = b2 ** count_inc
        rho = rho_inf - 2 * count_inc * b2t / (1 - b2t)
        updates = tree_util.tree_map(lambda t, f: fnp.where(rho >= threshold, t, f),
                                     rectified(rho, mu_hat, nu_hat), mu_hat)
        return updates, ScaleByAdamState(count=count_inc, mu=mu, nu=nu)
    return GradientTransformation(_adam_init(None), update_fn)


# --- scale_by_lion ---
class ScaleByLionState(NamedTuple):
    """Lion's step count and momentum."""
    count: Any  # int32[]
    mu: Any


def scale_by_lion(b1=0.9, b2=0.99, mu_dtype=None) -> GradientTransformation:
    """Rescale updates by Lion: ``sign((1 - b1) g + b1 m)``, then ``m <- EMA_b2(g)``."""
    mu_dtype = canonical_dtype(mu_dtype)

    def init_fn(params):
        return ScaleByLionState(count=fnp.zeros([], fnp.int32),
                                mu=otree.zeros_like(params, dtype=mu_dtype))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByLionState, "scale_by_lion")
        del params
        new_updates = otree.tree_map(lambda g, m: fnp.sign((1.0 - b1) * g + b1 * m),
                                     updates, state.mu, names=("updates", "optimizer state"))
        mu = otree.cast(otree.update_moment(updates, state.mu, b2, 1), mu_dtype)
        return new_updates, ScaleByLionState(count=otree.safe_increment(state.count), mu=mu)
    return GradientTransformation(init_fn, update_fn)


# --- scale_by_param_block_rms ---
def _safe_rms(x, min_rms):
    rms = fnp.sqrt(fnp.mean(otree.abs_sq(x)))
    x = fnp.where(rms <= min_rms, fnp.ones_like(x), x)
    return fnp.where(rms <= min_rms, min_rms, fnp.sqrt(fnp.mean(otree.abs_sq(x))))


def scale_by_param_block_rms(min_scale=1e-3) -> GradientTransformation:
    """Multiply each leaf's update by the RMS of its parameter (at least ``min_scale``)."""
    def update_fn(updates, state, params):
        require_params(params, "scale_by_param_block_rms")
        return otree.tree_map(lambda u, p: u * _safe_rms(p, min_scale), updates, params,
                              names=("updates", "params")), state
    return GradientTransformation(init_empty_state, update_fn)


# --- scale_by_sign ---
def scale_by_sign() -> GradientTransformation:
    """Replace updates by their signs."""
    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(fnp.sign, updates), state
    return GradientTransformation(init_empty_state, update_fn)
