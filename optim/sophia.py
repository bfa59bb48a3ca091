"""Sophia (optax.contrib.sophia): Adam-like steps preconditioned by a clipped,
periodically re-estimated Hessian diagonal (Hutchinson's estimator by default).

Where optax holds a ``jax.random.PRNGKey`` the estimator's state holds the same
raw ``u32[2]`` key; the Hessian-vector product runs through ``transforms.jvp``
of ``transforms.grad`` and the periodic refresh through ``control_flow.cond``.

References:
    Liu et al., 2023: Sophia: A Scalable Stochastic Second-order Optimizer for
    Language Model Pre-training.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from jax import tree_util

import primitives.numpy as fnp
import primitives.random as frandom
import transforms
from primitives import control_flow
from optim import tree as otree
from optim import tree_utils
from optim.adding import add_decayed_weights
from optim.base import check_state, GradientTransformationExtraArgs, with_extra_args_support
from optim.errors import MissingParamsError
from optim.combine import chain
from optim.scale import canonical_dtype, scale_by_learning_rate

__all__ = ["HutchinsonState", "hutchinson_estimator_diag_hessian", "SophiaState",
           "scale_by_sophia", "sophia"]


class HutchinsonState(NamedTuple):
    """State of :func:`hutchinson_estimator_diag_hessian`: a raw ``u32[2]`` key."""
    key: Any


def hutchinson_estimator_diag_hessian(random_seed=None) -> GradientTransformationExtraArgs:
    """Hessian diagonal by Hutchinson's estimator ``r * (H r)``, ``r`` Rademacher.

    Args:
      random_seed: a raw key (default ``PRNGKey(0)``).

    Returns:
      A GradientTransformationExtraArgs whose update needs ``params`` and
      ``obj_fn`` (the scalar loss of the params).
    """
    def init_fn(params):
        del params
        return HutchinsonState(key=random_seed if random_seed is not None
                               else frandom.PRNGKey(0))

    def update_fn(updates, state, params=None, obj_fn=None, **extra_args):
        del extra_args, updates
        if params is None:
            raise MissingParamsError("hutchinson_estimator_diag_hessian needs the params: "
                                     "call update(updates, state, params, obj_fn=loss).")
        if obj_fn is None:
            raise ValueError("hutchinson_estimator_diag_hessian needs obj_fn=loss (a scalar "
                             "function of the params) as an update keyword argument.")
        keys = frandom.split(state.key)
        key, subkey = keys[0], keys[1]
        signs = tree_utils.tree_random_like(subkey, params, frandom.rademacher,
                                             dtype=fnp.float32)
        signs = otree.cast(signs, tree_utils.tree_dtype(params, "lowest"))
        hvp = transforms.jvp(transforms.grad(obj_fn), (params,), (signs,))[1]
        product = tree_util.tree_map(lambda h, r: h * r, hvp, signs)
        return product, HutchinsonState(key=key)
    return GradientTransformationExtraArgs(init_fn, update_fn)


class SophiaState(NamedTuple):
    """State of :func:`scale_by_sophia` (optax's fields)."""
    count: Any  # int32[]
    mu: Any
    nu: Any
    hessian_fn_state: Any


def scale_by_sophia(b1=0.965, b2=0.99, eps=1e-8, gamma=0.01, clip_threshold=1.0,
                    update_interval=10, hessian_diagonal_fn=None, mu_dtype=None,
                    verbose: bool = False,
                    print_win_rate_every_n_steps=0) -> GradientTransformationExtraArgs:
    """Sophia's scaling: ``clip(mu_hat / max(gamma * h, eps))``, ``h`` an EMA of the
    Hessian diagonal re-estimated every ``update_interval`` steps.

    Args:
      b1: decay of the first moment.
      b2: decay of the Hessian-diagonal EMA.
      eps: floor of the denominator.
      gamma: scale of the Hessian diagonal.
      clip_threshold: clip of the update elements (None: no clip).
      update_interval: steps between Hessian estimates.
      hessian_diagonal_fn: the estimator transformation (default Hutchinson's).
      mu_dtype: dtype of the first moment.
      verbose: accepted for optax's signature; the win-rate printing is not done.
      print_win_rate_every_n_steps: accepted for optax's signature.

    Returns:
      A GradientTransformationExtraArgs with a :class:`SophiaState`; extra update
      keyword arguments (e.g. ``obj_fn``) go to the estimator.
    """
    del verbose, print_win_rate_every_n_steps
    mu_dtype = canonical_dtype(mu_dtype)
    if hessian_diagonal_fn is None:
        hessian_diagonal_fn = hutchinson_estimator_diag_hessian()
    hessian_diagonal_fn = with_extra_args_support(hessian_diagonal_fn)

    def init_fn(params):
        return SophiaState(count=fnp.zeros([], fnp.int32),
                           mu=otree.zeros_like(params, dtype=mu_dtype),
                           nu=otree.zeros_like(params),
                           hessian_fn_state=hessian_diagonal_fn.init(params))

    def update_fn(updates, state, params=None, **hess_fn_kwargs):
        check_state(state, SophiaState, "scale_by_sophia")
        if params is None:
            raise MissingParamsError("scale_by_sophia reads the params: call "
                                     "update(updates, state, params).")
        count_inc = otree.safe_increment(state.count)
        grads = updates
        mu = otree.update_moment(updates, state.mu, b1, 1)
        mu_hat = otree.bias_correction(mu, b1, count_inc)
        updates = tree_util.tree_map(lambda m, h: m / fnp.maximum(gamma * h, eps),
                                     mu_hat, state.nu)
        if clip_threshold is not None:
            updates = tree_util.tree_map(
                lambda u: fnp.clip(u, -clip_threshold, clip_threshold), updates)

        def update_hessian_diag(hess_fn_state, nu):
            hessian_diag, hess_fn_state = hessian_diagonal_fn.update(
                grads, hess_fn_state, params=params, **hess_fn_kwargs)
            return hess_fn_state, otree.update_moment(hessian_diag, nu, b2, 1)

        hessian_fn_state, nu = control_flow.cond(
            fnp.equal(state.count % update_interval, 0), update_hessian_diag,
            lambda h, n: (h, n), state.hessian_fn_state, state.nu)
        return updates, SophiaState(count=count_inc, mu=otree.cast(mu, mu_dtype), nu=nu,
                                    hessian_fn_state=hessian_fn_state)
    return GradientTransformationExtraArgs(init_fn, update_fn)


def sophia(learning_rate, b1=0.965, b2=0.99, eps=1e-8, weight_decay=1e-4,
           weight_decay_mask=None, gamma=0.01, clip_threshold=1.0, update_interval=10,
           hessian_diagonal_fn=None, mu_dtype=None, verbose: bool = False,
           print_win_rate_every_n_steps=0) -> GradientTransformationExtraArgs:
    """Sophia: :func:`scale_by_sophia`, decoupled weight decay, then the learning rate.

    Args:
      learning_rate: scalar or schedule.
      b1, b2, eps, gamma, clip_threshold, update_interval, hessian_diagonal_fn,
        mu_dtype, verbose, print_win_rate_every_n_steps: as :func:`scale_by_sophia`.
      weight_decay: decoupled weight decay rate.
      weight_decay_mask: mask (or mask function) of the decayed leaves.

    Returns:
      A GradientTransformationExtraArgs; pass ``obj_fn=loss`` to update for the
      default Hutchinson estimator.

    References:
      Liu et al., 2023: Sophia: A Scalable Stochastic Second-order Optimizer for
      Language Model Pre-training.
    """
    return chain(
        scale_by_sophia(b1=b1, b2=b2, eps=eps, gamma=gamma, clip_threshold=clip_threshold,
                        update_interval=update_interval,
                        hessian_diagonal_fn=hessian_diagonal_fn, mu_dtype=mu_dtype,
                        verbose=verbose,
                        print_win_rate_every_n_steps=print_win_rate_every_n_steps),
        add_decayed_weights(weight_decay, mask=weight_decay_mask),
        scale_by_learning_rate(learning_rate))

