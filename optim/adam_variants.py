"""Variants of Adam's scaling: AdaMax, AMSGrad, AdaBelief, Yogi and NovoGrad.

AdaMax and Yogi keep Adam's state (:class:`optim.ScaleByAdamState`); the others
own the NamedTuple right above them, with optax's field names.

References:
    Kingma & Ba, 2015: Adam (section 7.1: AdaMax).
    Reddi et al., 2018: On the Convergence of Adam and Beyond (AMSGrad).
    Zhuang et al., 2020: AdaBelief Optimizer.
    Zaheer et al., 2018: Adaptive Methods for Nonconvex Optimization (Yogi).
    Ginsburg et al., 2019: Stochastic Gradient Methods with Layer-wise Adaptive
    Moments for Training of Deep Networks (NovoGrad).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import check_state, GradientTransformation, require_params
from optim.scale import ScaleByAdamState, canonical_dtype, nesterov_mu_hat

__all__ = ["scale_by_adamax", "ScaleByAmsgradState", "scale_by_amsgrad", "ScaleByBeliefState",
           "scale_by_belief", "scale_by_yogi", "ScaleByNovogradState", "scale_by_novograd"]

_STATE = ("updates", "optimizer state")


def _adam_like_update(mu_hat, nu_hat, eps, eps_root):
    return tree_util.tree_map(
        lambda m, v: None if m is None else m / (fnp.sqrt(v + eps_root) + eps),
        mu_hat, nu_hat, is_leaf=otree.is_none)


# --- scale_by_adamax ---
def scale_by_adamax(b1=0.9, b2=0.999, eps=1e-8) -> GradientTransformation:
    """AdaMax: ``mu_hat / nu`` with ``nu = max(|g| + eps, b2 * nu)`` (state: ScaleByAdamState)."""
    def init_fn(params):
        return ScaleByAdamState(count=fnp.zeros([], fnp.int32), mu=otree.zeros_like(params),
                                nu=otree.zeros_like(params))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByAdamState, "scale_by_adamax")
        del params
        count_inc = otree.safe_increment(state.count)
        mu = otree.update_moment(updates, state.mu, b1, 1)
        nu = otree.tree_map(
            lambda g, t: None if g is None else fnp.maximum(fnp.abs(g) + eps, b2 * t),
            updates, state.nu, is_leaf=otree.is_none, names=_STATE)
        mu_hat = otree.bias_correction(mu, b1, count_inc)
        updates = tree_util.tree_map(lambda m, v: m / v, mu_hat, nu)
        return updates, ScaleByAdamState(count=count_inc, mu=mu, nu=nu)
    return GradientTransformation(init_fn, update_fn)


# --- scale_by_amsgrad ---
class ScaleByAmsgradState(NamedTuple):
    """Adam's statistics plus the running maximum of the second moment."""
    count: Any  # int32[]
    mu: Any
    nu: Any
    nu_max: Any


def scale_by_amsgrad(b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, mu_dtype=None,
                     bias_correction_mu: bool = True,
                     bias_correction_nu: bool = True) -> GradientTransformation:
    """AMSGrad: Adam with the denominator's second moment replaced by its running max.

    Args:
      bias_correction_mu / bias_correction_nu: bias-correct the moments (the
        original paper does neither).
    """
    mu_dtype = canonical_dtype(mu_dtype)

    def init_fn(params):
        return ScaleByAmsgradState(count=fnp.zeros([], fnp.int32),
                                   mu=otree.zeros_like(params, dtype=mu_dtype),
                                   nu=otree.zeros_like(params), nu_max=otree.zeros_like(params))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByAmsgradState, "scale_by_amsgrad")
        del params
        mu = otree.update_moment(updates, state.mu, b1, 1)
        nu = otree.update_moment_per_elem_norm(updates, state.nu, b2, 2)
        count_inc = otree.safe_increment(state.count)
        mu_hat = otree.bias_correction(mu, b1, count_inc) if bias_correction_mu else mu
        nu_eff = otree.bias_correction(nu, b2, count_inc) if bias_correction_nu else nu
        nu_max = tree_util.tree_map(fnp.maximum, state.nu_max, nu_eff)
        updates = _adam_like_update(mu_hat, nu_max, eps, eps_root)
        return updates, ScaleByAmsgradState(count=count_inc, mu=otree.cast(mu, mu_dtype),
                                            nu=nu, nu_max=nu_max)
    return GradientTransformation(init_fn, update_fn)


# --- scale_by_belief ---
class ScaleByBeliefState(NamedTuple):
    """Step count, EMA of the gradients, EMA of the squared prediction error."""
    count: Any  # int32[]
    mu: Any
    nu: Any


def scale_by_belief(b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16, *,
                    nesterov: bool = False) -> GradientTransformation:
    """AdaBelief: Adam whose second moment is the EMA of ``(g - mu)**2`` (+ ``eps_root``)."""
    def init_fn(params):
        return ScaleByBeliefState(count=fnp.zeros([], fnp.int32), mu=otree.zeros_like(params),
                                  nu=otree.zeros_like(params))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByBeliefState, "scale_by_belief")
        del params
        mu = otree.update_moment(updates, state.mu, b1, 1)
        prediction_error = tree_util.tree_map(lambda g, m: g - m, updates, mu)
        nu = otree.update_moment_per_elem_norm(prediction_error, state.nu, b2, 2)
        nu = tree_util.tree_map(lambda v: v + eps_root, nu)
        count_inc = otree.safe_increment(state.count)
        mu_hat = (nesterov_mu_hat(mu, updates, b1, count_inc) if nesterov
                  else otree.bias_correction(mu, b1, count_inc))
        nu_hat = otree.bias_correction(nu, b2, count_inc)
        updates = _adam_like_update(mu_hat, nu_hat, eps, 0.0)
        return updates, ScaleByBeliefState(count=count_inc, mu=mu, nu=nu)
    return GradientTransformation(init_fn, update_fn)


# --- scale_by_yogi ---
def scale_by_yogi(b1=0.9, b2=0.999, eps=1e-3, eps_root=0.0,
                  initial_accumulator_value=1e-6) -> GradientTransformation:
    """Yogi: Adam with the additive second moment ``nu - (1-b2) sign(nu - g**2) g**2``
    (state: ScaleByAdamState; both moments start at ``initial_accumulator_value``)."""
    def init_fn(params):
        return ScaleByAdamState(count=fnp.zeros([], fnp.int32),
                                mu=otree.full_like(params, initial_accumulator_value),
                                nu=otree.full_like(params, initial_accumulator_value))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByAdamState, "scale_by_yogi")
        del params
        mu = otree.update_moment(updates, state.mu, b1, 1)
        nu = otree.tree_map(
            lambda g, v: v - (1 - b2) * fnp.sign(v - otree.abs_sq(g)) * otree.abs_sq(g),
            updates, state.nu, names=_STATE)
        count_inc = otree.safe_increment(state.count)
        mu_hat = otree.bias_correction(mu, b1, count_inc)
        nu_hat = otree.bias_correction(nu, b2, count_inc)
        updates = _adam_like_update(mu_hat, nu_hat, eps, eps_root)
        return updates, ScaleByAdamState(count=count_inc, mu=mu, nu=nu)
    return GradientTransformation(init_fn, update_fn)


# --- scale_by_novograd ---
class ScaleByNovogradState(NamedTuple):
    """Step count, momentum, and one second moment (a scalar) per leaf."""
    count: Any  # int32[]
    mu: Any
    nu: Any


def scale_by_novograd(b1=0.9, b2=0.25, eps=1e-8, eps_root=0.0, weight_decay=0.0,
                      mu_dtype=None) -> GradientTransformation:
    """NovoGrad: per-leaf second moment ``nu`` = EMA of ``||g||**2``; momentum of
    ``g / (sqrt(nu + eps_root) + eps) + weight_decay * params``. The first step
    sets ``nu = ||g||**2`` and ``mu`` to that normalized gradient.
    """
    mu_dtype = canonical_dtype(mu_dtype)

    def init_fn(params):
        return ScaleByNovogradState(
            count=fnp.zeros([], fnp.int32), mu=otree.zeros_like(params, dtype=mu_dtype),
            nu=tree_util.tree_map(lambda p: fnp.asarray(0.0, dtype=p.dtype), params))

    def normalized(g, p, n):
        return g / (fnp.sqrt(n + eps_root) + eps) + weight_decay * p

    def update_fn(updates, state, params):
        check_state(state, ScaleByNovogradState, "scale_by_novograd")
        require_params(params, "scale_by_novograd")
        count_inc = otree.safe_increment(state.count)
        first = count_inc == 1
        sq_norms = tree_util.tree_map(lambda g: fnp.linalg.norm(g) ** 2, updates)
        nu_later = otree.update_moment(sq_norms, state.nu, b2, 1)
        nu = otree.tree_map(lambda s, n, later: fnp.where(first, s.astype(n.dtype), later),
                            sq_norms, state.nu, nu_later, names=_STATE)
        u = tree_util.tree_map(normalized, updates, params, nu)
        mu = tree_util.tree_map(
            lambda m, x: None if m is None else fnp.where(first, x, b1 * m + x),
            state.mu, u, is_leaf=otree.is_none)
        mu = otree.cast(mu, mu_dtype)
        return mu, ScaleByNovogradState(count=count_inc, mu=mu, nu=nu)
    return GradientTransformation(init_fn, update_fn)
