"""optax.contrib's learning-rate-free and schedule-free optimizers.

``optim.contrib`` mirrors ``optax.contrib`` for the optimizers people port:
Schedule-Free (:func:`schedule_free` and its SGD / AdamW shortcuts), Prodigy and
D-Adaptation AdamW, and Sophia (in optim.sophia). Names, signatures, defaults, state classes and update
arithmetic follow optax's (the same expressions in the same order, so results
agree to rounding); the leaves go through ``primitives.numpy`` so they run under
our transforms and on jax tracers alike.

References:
    Defazio et al., 2024: The Road Less Scheduled (Schedule-Free).
    Mishchenko & Defazio, 2023: Prodigy: An Expeditiously Adaptive
    Parameter-Free Learner.
    Defazio & Mishchenko, 2023: Learning-Rate-Free Learning by D-Adaptation.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional

from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim import tree_utils
from optim.adaptive import scale_by_rms
from optim.adding import add_decayed_weights
from optim.alias import sgd
from optim.base import (check_state, GradientTransformationExtraArgs, require_params,
                        with_extra_args_support)
from optim.combine import chain
from optim.scale import scale_by_learning_rate
from optim.schedule import warmup_constant_schedule
from optim.sophia import (HutchinsonState, hutchinson_estimator_diag_hessian, SophiaState,
                          scale_by_sophia, sophia)

__all__ = ["ScheduleFreeState", "schedule_free_eval_params", "schedule_free",
           "schedule_free_sgd", "schedule_free_adamw", "ProdigyState", "prodigy",
           "DAdaptAdamWState", "dadapt_adamw", "HutchinsonState",
           "hutchinson_estimator_diag_hessian", "SophiaState", "scale_by_sophia", "sophia"]

_NAMES = ("params", "optimizer state")


def _lowest_dtype(params):
    return tree_utils.tree_dtype(params, "lowest")


def _abs_sum(tree):
    return otree.tree_sum(tree_util.tree_map(fnp.abs, tree))


# --- schedule_free ---
class ScheduleFreeState(NamedTuple):
    """State of :func:`schedule_free` (optax's fields)."""
    b1: Any
    weight_sum: Any
    step_count: Any  # int32[], starts at 1
    max_lr: Any
    base_optimizer_state: Any
    z: Any


def schedule_free_eval_params(state, params):
    """The parameters to evaluate at (the averaged ``x`` sequence) of :func:`schedule_free`.

    Args:
      state: a :class:`ScheduleFreeState` (the outermost state of schedule_free).
      params: the current (``y``) parameters.

    Returns:
      ``(y - (1 - b1) * z) / b1`` leaf-wise.

    Raises:
      ValueError: ``state`` is not a ScheduleFreeState (optax's error class).
    """
    b1 = getattr(state, "b1", None)
    z = getattr(state, "z", None)
    if b1 is None or z is None:
        raise ValueError(
            f"schedule_free_eval_params requires a ScheduleFreeState as input, got a "
            f"{type(state).__name__}. Pass the state returned by schedule_free's init/update.")
    return otree.tree_map(lambda yi, zi: (yi - (1.0 - b1) * zi) / b1, params, z, names=_NAMES)


def schedule_free(base_optimizer, learning_rate, b1=0.9, weight_lr_power=2.0,
                  state_dtype=None) -> GradientTransformationExtraArgs:
    r"""Make ``base_optimizer`` schedule-free (momentum by interpolation and averaging).

    With ``z`` the base optimizer's iterates and ``x`` their weighted average,
    the parameters are ``y = b1 * x + (1 - b1) * z``; weights ``max_lr**weight_lr_power``.
    Switch off the base optimizer's momentum; evaluate at
    :func:`schedule_free_eval_params`.

    Args:
      base_optimizer: the transformation computing the ``z`` updates.
      learning_rate: the (warmup, no decay) learning rate or schedule of the base.
      b1: interpolation coefficient of ``y`` (strictly positive).
      weight_lr_power: power of the max learning rate in the averaging weights.
      state_dtype: dtype of the ``z`` sequence (default: the params').

    Returns:
      A GradientTransformationExtraArgs with a :class:`ScheduleFreeState`.

    References:
      Defazio et al., 2024: The Road Less Scheduled.
    """
    base_optimizer = with_extra_args_support(base_optimizer)

    def init_fn(params):
        params_dtype = _lowest_dtype(params)
        z = otree.cast(params, state_dtype) if state_dtype is not None else params
        z = tree_util.tree_map(fnp.copy, z)
        return ScheduleFreeState(
            b1=fnp.asarray(b1, dtype=params_dtype),
            weight_sum=fnp.zeros([], dtype=params_dtype),
            step_count=fnp.ones([], dtype=fnp.int32),
            max_lr=fnp.zeros([], dtype=params_dtype),
            base_optimizer_state=base_optimizer.init(params),
            z=z)

    def update_fn(grads, state, params=None, **extra_args):
        check_state(state, ScheduleFreeState, "schedule_free")
        require_params(params, "schedule_free")
        lr = learning_rate
        if callable(learning_rate):
            lr = fnp.asarray(learning_rate(state.step_count), dtype=state.max_lr.dtype)
        max_lr = fnp.maximum(state.max_lr, lr)
        next_step_count = otree.safe_increment(state.step_count)
        weight = max_lr ** weight_lr_power
        next_total_weight = state.weight_sum + weight
        ck = fnp.where(
            fnp.logical_or(fnp.isnan(weight), fnp.isnan(next_total_weight)),
            fnp.full(weight.shape, fnp.nan),
            fnp.nan_to_num(weight / next_total_weight, nan=0.0, posinf=fnp.inf))
        base_updates, next_base_state = base_optimizer.update(
            grads, state.base_optimizer_state, params, **extra_args)
        z = otree.tree_map(lambda pi, ui: fnp.asarray(pi + ui).astype(fnp.asarray(pi).dtype),
                           state.z, base_updates, names=("optimizer state", "updates"))
        prev_x = otree.tree_map(lambda yi, zi: (yi - (1.0 - b1) * zi) / b1, params, state.z,
                                names=_NAMES)
        x = tree_util.tree_map(lambda xi, zi: (1.0 - ck) * xi + ck * zi, prev_x, z)
        new_params = tree_util.tree_map(lambda xi, zi: b1 * xi + (1.0 - b1) * zi, x, z)
        updates = tree_util.tree_map(lambda npi, pi: npi - pi, new_params, params)
        return updates, ScheduleFreeState(
            b1=state.b1, weight_sum=next_total_weight, step_count=next_step_count,
            max_lr=max_lr, base_optimizer_state=next_base_state, z=z)
    return GradientTransformationExtraArgs(init_fn, update_fn)


def schedule_free_sgd(learning_rate=1.0, warmup_steps: Optional[int] = None, b1=0.9,
                      weight_decay=None, weight_lr_power=2.0,
                      state_dtype=None) -> GradientTransformationExtraArgs:
    """Schedule-Free SGD: :func:`schedule_free` around ``sgd`` (plus weight decay).

    Args:
      learning_rate: SGD learning rate.
      warmup_steps: length of a linear warmup from 0 (none if None).
      b1: interpolation coefficient of schedule_free (strictly positive).
      weight_decay: decoupled weight decay, multiplied by the learning rate.
      weight_lr_power: power of the max learning rate in the averaging weights.
      state_dtype: dtype of the ``z`` sequence.

    Returns:
      A GradientTransformationExtraArgs.
    """
    if warmup_steps is not None:
        learning_rate = warmup_constant_schedule(init_value=0, peak_value=learning_rate,
                                                 warmup_steps=warmup_steps)
    optimizer = sgd(learning_rate)
    if weight_decay is not None:
        optimizer = chain(add_decayed_weights(weight_decay), optimizer)
    return schedule_free(optimizer, learning_rate=learning_rate, b1=b1,
                         weight_lr_power=weight_lr_power, state_dtype=state_dtype)


def schedule_free_adamw(learning_rate=0.0025, warmup_steps: Optional[int] = None, b1=0.9,
                        b2=0.999, eps=1e-8, weight_decay=0.0, weight_lr_power=2.0,
                        state_dtype=None) -> GradientTransformationExtraArgs:
    """Schedule-Free AdamW: :func:`schedule_free` around a bias-corrected RMS scaling.

    Args:
      learning_rate: AdamW learning rate.
      warmup_steps: length of a linear warmup from 0 (none if None).
      b1: interpolation coefficient of schedule_free (strictly positive).
      b2: decay of the second-moment EMA.
      eps: added to the denominator outside the square root.
      weight_decay: decoupled weight decay.
      weight_lr_power: power of the max learning rate in the averaging weights.
      state_dtype: dtype of the ``z`` sequence.

    Returns:
      A GradientTransformationExtraArgs.
    """
    if warmup_steps is not None:
        learning_rate = warmup_constant_schedule(init_value=0, peak_value=learning_rate,
                                                 warmup_steps=warmup_steps)
    optimizer = chain(
        scale_by_rms(decay=b2, eps=eps, eps_in_sqrt=False, bias_correction=True),
        add_decayed_weights(weight_decay),
        scale_by_learning_rate(learning_rate))
    return schedule_free(optimizer, learning_rate=learning_rate, b1=b1,
                         weight_lr_power=weight_lr_power, state_dtype=state_dtype)


# --- prodigy ---
class ProdigyState(NamedTuple):
    """State of :func:`prodigy` (optax's fields)."""
    exp_avg: Any
    exp_avg_sq: Any
    grad_sum: Any
    params0: Any
    estim_lr: Any  # scalar, the params' lowest dtype
    numerator_weighted: Any
    count: Any  # int32[]


def prodigy(learning_rate=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-8, estim_lr0=1e-6,
            estim_lr_coef=1.0, weight_decay=0.0,
            safeguard_warmup: bool = False) -> GradientTransformationExtraArgs:
    """Learning-rate-free AdamW with Prodigy's estimate of the distance to the solution.

    Args:
      learning_rate: multiplier (or schedule) of the estimated learning rate.
      betas: Adam's ``(b1, b2)``.
      beta3: decay of the D-estimate statistics (default ``sqrt(b2)``).
      eps: Adam's epsilon (scaled by the estimate).
      estim_lr0: initial under-estimate of the learning rate.
      estim_lr_coef: multiplier of the learning-rate estimates.
      weight_decay: AdamW-style decoupled weight decay.
      safeguard_warmup: leave the learning rate out of the estimate's denominator.

    Returns:
      A GradientTransformationExtraArgs with a :class:`ProdigyState`.

    References:
      Mishchenko & Defazio, 2023: Prodigy: An Expeditiously Adaptive Parameter-Free Learner.
    """
    beta1, beta2 = betas
    if beta3 is None:
        beta3 = beta2 ** 0.5

    def init_fn(params):
        params_dtype = _lowest_dtype(params)
        return ProdigyState(
            exp_avg=otree.zeros_like(params), exp_avg_sq=otree.zeros_like(params),
            grad_sum=otree.zeros_like(params), params0=params,
            estim_lr=fnp.asarray(estim_lr0, dtype=params_dtype),
            numerator_weighted=fnp.zeros((), dtype=params_dtype),
            count=fnp.zeros((), fnp.int32))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        check_state(state, ProdigyState, "prodigy")
        require_params(params, "prodigy")
        count_inc = otree.safe_increment(state.count)
        sched = learning_rate(state.count) if callable(learning_rate) else learning_rate
        estim_lr = state.estim_lr
        bc = ((1 - beta2 ** count_inc) ** 0.5) / (1 - beta1 ** count_inc)
        dlr = fnp.asarray(estim_lr * sched * bc, dtype=estim_lr.dtype)
        dg = tree_util.tree_map(lambda g: estim_lr * g, updates)
        param_diff = otree.tree_map(lambda p0, p: p0 - p, state.params0, params,
                                    names=("optimizer state", "params"))
        numerator_acum = tree_utils.tree_vdot(updates, param_diff)
        exp_avg = otree.tree_map(lambda ea, d: beta1 * ea + (1 - beta1) * d, state.exp_avg,
                                 dg, names=("optimizer state", "updates"))
        exp_avg_sq = tree_util.tree_map(lambda eas, d: beta2 * eas + (1 - beta2) * d * d,
                                        state.exp_avg_sq, dg)
        if safeguard_warmup:
            grad_sum = tree_util.tree_map(lambda sk, d: beta3 * sk + estim_lr * d / estim_lr0,
                                          state.grad_sum, dg)
        else:
            grad_sum = tree_util.tree_map(lambda sk, d: beta3 * sk + dlr * d / estim_lr0,
                                          state.grad_sum, dg)
        numerator_weighted = beta3 * state.numerator_weighted
        numerator_weighted += (estim_lr / estim_lr0) * dlr * numerator_acum
        lr_estimate = estim_lr_coef * numerator_weighted / _abs_sum(grad_sum)
        estim_lr = fnp.maximum(state.estim_lr, lr_estimate)
        p_update = tree_util.tree_map(
            lambda ea, eas, p: -weight_decay * dlr * p
            - dlr * ea / (fnp.sqrt(eas) + estim_lr * eps),
            exp_avg, exp_avg_sq, params)
        return p_update, ProdigyState(exp_avg, exp_avg_sq, grad_sum, state.params0, estim_lr,
                                      numerator_weighted, count_inc)
    return GradientTransformationExtraArgs(init_fn, update_fn)


# --- dadapt_adamw ---
class DAdaptAdamWState(NamedTuple):
    """State of :func:`dadapt_adamw` (optax's fields)."""
    exp_avg: Any
    exp_avg_sq: Any
    grad_sum: Any
    estim_lr: Any  # scalar, the params' lowest dtype
    numerator_weighted: Any
    count: Any  # int32[]


def dadapt_adamw(learning_rate=1.0, betas=(0.9, 0.999), eps=1e-8, estim_lr0=1e-6,
                 weight_decay=0.0) -> GradientTransformationExtraArgs:
    """Learning-rate-free AdamW by D-Adaptation (distance estimate in the infinity norm).

    Args:
      learning_rate: multiplier (or schedule) of the estimated learning rate.
      betas: Adam's ``(b1, b2)``.
      eps: Adam's epsilon.
      estim_lr0: initial under-estimate of the learning rate.
      weight_decay: AdamW-style decoupled weight decay.

    Returns:
      A GradientTransformationExtraArgs with a :class:`DAdaptAdamWState`.

    References:
      Defazio & Mishchenko, 2023: Learning-Rate-Free Learning by D-Adaptation.
    """
    def init_fn(params):
        params_dtype = _lowest_dtype(params)
        return DAdaptAdamWState(
            exp_avg=otree.zeros_like(params), exp_avg_sq=otree.zeros_like(params),
            grad_sum=otree.zeros_like(params),
            estim_lr=fnp.asarray(estim_lr0, dtype=params_dtype),
            numerator_weighted=fnp.zeros([], dtype=params_dtype),
            count=fnp.zeros([], fnp.int32))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        check_state(state, DAdaptAdamWState, "dadapt_adamw")
        require_params(params, "dadapt_adamw")
        beta1, beta2 = betas
        sb2 = beta2 ** 0.5
        sched = learning_rate(state.count) if callable(learning_rate) else learning_rate
        count_inc = otree.safe_increment(state.count)
        bc = ((1 - beta2 ** count_inc) ** 0.5) / (1 - beta1 ** count_inc)
        dlr = state.estim_lr * sched * bc
        dlr = dlr.astype(state.numerator_weighted.dtype)
        s_weighted = otree.tree_map(lambda sk, eas: sk / (fnp.sqrt(eas) + eps), state.grad_sum,
                                    state.exp_avg_sq, names=("optimizer state", "updates"))
        numerator_acum = tree_utils.tree_vdot(updates, s_weighted)
        exp_avg = otree.tree_map(lambda ea, g: beta1 * ea + (1 - beta1) * dlr * g,
                                 state.exp_avg, updates, names=("optimizer state", "updates"))
        exp_avg_sq = tree_util.tree_map(lambda eas, g: beta2 * eas + (1 - beta2) * g * g,
                                        state.exp_avg_sq, updates)
        grad_sum = tree_util.tree_map(lambda sk, g: sb2 * sk + (1 - sb2) * dlr * g,
                                      state.grad_sum, updates)
        numerator_weighted = sb2 * state.numerator_weighted + (1 - sb2) * dlr * numerator_acum
        d_estimate = numerator_weighted / ((1 - sb2) * _abs_sum(grad_sum))
        estim_lr = fnp.maximum(state.estim_lr, d_estimate)
        p_update = tree_util.tree_map(
            lambda ea, eas, p: -weight_decay * dlr * p - ea / (fnp.sqrt(eas) + eps),
            exp_avg, exp_avg_sq, params)
        return p_update, DAdaptAdamWState(exp_avg, exp_avg_sq, grad_sum, estim_lr,
                                          numerator_weighted, count_inc)
    return GradientTransformationExtraArgs(init_fn, update_fn)
