"""Second-moment scalings without a first moment: RSS (AdaGrad), RMS (RMSProp),
centered RMS (stddev), and AdaDelta.

Each state NamedTuple sits right above the transformation that owns it; field
names are optax's, so optax's states of the same transformations are accepted.

References:
    Duchi et al., 2011: Adaptive Subgradient Methods (AdaGrad).
    Tieleman & Hinton, 2012: Lecture 6.5 - RMSProp.
    Graves, 2013: Generating Sequences With Recurrent Neural Networks (centered RMSProp).
    Zeiler, 2012: ADADELTA: An Adaptive Learning Rate Method.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from jax import tree_util

import primitives.numpy as fnp
from primitives import rsqrt
from optim import tree as otree
from optim.base import check_state, GradientTransformation

__all__ = ["ScaleByRssState", "scale_by_rss", "ScaleByRmsState", "ScaleByRmsWithCountState",
           "scale_by_rms", "ScaleByRStdDevState", "ScaleByRStdDevWithCountState",
           "scale_by_stddev", "ScaleByAdaDeltaState", "scale_by_adadelta"]

_STATE = ("updates", "optimizer state")


# --- scale_by_rss ---
class ScaleByRssState(NamedTuple):
    """The sum of the squared gradients so far."""
    sum_of_squares: Any


def scale_by_rss(initial_accumulator_value=0.1, eps=1e-7) -> GradientTransformation:
    """AdaGrad's scaling: ``g / sqrt(sum of g**2 so far + eps)`` (0 where the sum is 0).

    Args:
      initial_accumulator_value: starting value of the sum (>= 0).
      eps: added inside the square root.
    """
    def init_fn(params):
        return ScaleByRssState(
            sum_of_squares=otree.full_like(params, initial_accumulator_value))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByRssState, "scale_by_rss")
        del params
        sos = otree.tree_map(lambda g, t: otree.abs_sq(g) + t, updates, state.sum_of_squares,
                             names=_STATE)
        updates = tree_util.tree_map(
            lambda g, t: fnp.where(t > 0, rsqrt(t + eps), 0.0) * g, updates, sos)
        return updates, ScaleByRssState(sum_of_squares=sos)
    return GradientTransformation(init_fn, update_fn)


def _rms_scaling(eps, eps_in_sqrt: bool):
    if eps_in_sqrt:
        return lambda v: rsqrt(v + eps)
    return lambda v: 1 / (fnp.sqrt(v) + eps)


# --- scale_by_rms ---
class ScaleByRmsState(NamedTuple):
    """The EMA of the squared gradients (without bias correction)."""
    nu: Any


class ScaleByRmsWithCountState(NamedTuple):
    """Step count and the EMA of the squared gradients (with bias correction)."""
    count: Any  # int32[]
    nu: Any


def scale_by_rms(decay=0.9, eps=1e-8, initial_scale=0.0, eps_in_sqrt: bool = True,
                 bias_correction: bool = False) -> GradientTransformation:
    """RMSProp's scaling: ``g / sqrt(nu + eps)`` with ``nu`` the EMA of ``g**2``.

    Args:
      decay: decay of the EMA.
      eps: added inside the square root (``eps_in_sqrt``) or to the root.
      initial_scale: initial value of ``nu``.
      eps_in_sqrt: where ``eps`` goes.
      bias_correction: divide ``nu`` by ``1 - decay**t`` (the state then holds a count).
    """
    cls = ScaleByRmsWithCountState if bias_correction else ScaleByRmsState
    scaling = _rms_scaling(eps, eps_in_sqrt)

    def init_fn(params):
        nu = otree.full_like(params, initial_scale)
        if bias_correction:
            return ScaleByRmsWithCountState(count=fnp.zeros([], fnp.int32), nu=nu)
        return ScaleByRmsState(nu=nu)

    def update_fn(updates, state, params=None):
        check_state(state, cls, "scale_by_rms")
        del params
        nu = otree.update_moment_per_elem_norm(updates, state.nu, decay, 2)
        nu_hat = nu
        if bias_correction:
            count_inc = otree.safe_increment(state.count)
            nu_hat = otree.bias_correction(nu, decay, count_inc)
        updates = tree_util.tree_map(lambda v, g: scaling(v) * g, nu_hat, updates)
        if bias_correction:
            return updates, ScaleByRmsWithCountState(count=count_inc, nu=nu)
        return updates, ScaleByRmsState(nu=nu)
    return GradientTransformation(init_fn, update_fn)


# --- scale_by_stddev ---
class ScaleByRStdDevState(NamedTuple):
    """EMAs of the gradients and of their squares (without bias correction)."""
    mu: Any
    nu: Any


class ScaleByRStdDevWithCountState(NamedTuple):
    """Step count and EMAs of the gradients and of their squares (bias-corrected)."""
    count: Any  # int32[]
    mu: Any
    nu: Any


def scale_by_stddev(decay=0.9, eps=1e-8, initial_scale=0.0, eps_in_sqrt: bool = True,
                    bias_correction: bool = False) -> GradientTransformation:
    """Centered RMSProp's scaling: ``g / sqrt(nu - |mu|**2 + eps)``.

    Args: as :func:`scale_by_rms`; ``mu`` (the EMA of ``g``) starts at 0.
    """
    cls = ScaleByRStdDevWithCountState if bias_correction else ScaleByRStdDevState
    scaling = _rms_scaling(eps, eps_in_sqrt)

    def init_fn(params):
        mu, nu = otree.zeros_like(params), otree.full_like(params, initial_scale)
        if bias_correction:
            return ScaleByRStdDevWithCountState(count=fnp.zeros([], fnp.int32), mu=mu, nu=nu)
        return ScaleByRStdDevState(mu=mu, nu=nu)

    def update_fn(updates, state, params=None):
        check_state(state, cls, "scale_by_stddev")
        del params
        mu = otree.update_moment(updates, state.mu, decay, 1)
        nu = otree.update_moment_per_elem_norm(updates, state.nu, decay, 2)
        mu_hat, nu_hat = mu, nu
        if bias_correction:
            count_inc = otree.safe_increment(state.count)
            mu_hat = otree.bias_correction(mu, decay, count_inc)
            nu_hat = otree.bias_correction(nu, decay, count_inc)
        updates = tree_util.tree_map(lambda m, v, g: scaling(v - otree.abs_sq(m)) * g,
                                     mu_hat, nu_hat, updates)
        if bias_correction:
            return updates, ScaleByRStdDevWithCountState(count=count_inc, mu=mu, nu=nu)
        return updates, ScaleByRStdDevState(mu=mu, nu=nu)
    return GradientTransformation(init_fn, update_fn)


# --- scale_by_adadelta ---
class ScaleByAdaDeltaState(NamedTuple):
    """EMAs of the squared gradients (``e_g``) and of the squared updates (``e_x``)."""
    e_g: Any
    e_x: Any


def scale_by_adadelta(rho=0.9, eps=1e-6) -> GradientTransformation:
    """AdaDelta: ``g * sqrt(e_x + eps) / sqrt(e_g + eps)``, then ``e_x`` <- EMA of the update**2.

    Args:
      rho: decay of both EMAs.
      eps: added inside both square roots.
    """
    def init_fn(params):
        return ScaleByAdaDeltaState(e_g=otree.zeros_like(params), e_x=otree.zeros_like(params))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByAdaDeltaState, "scale_by_adadelta")
        del params
        e_g = otree.update_moment(updates, state.e_g, rho, 2)
        updates = tree_util.tree_map(
            lambda g, cur_e_g, prev_e_x: (fnp.sqrt(prev_e_x + eps) / fnp.sqrt(cur_e_g + eps)) * g,
            updates, e_g, state.e_x)
        e_x = otree.update_moment(updates, state.e_x, rho, 2)
        return updates, ScaleByAdaDeltaState(e_g=e_g, e_x=e_x)
    return GradientTransformation(init_fn, update_fn)
