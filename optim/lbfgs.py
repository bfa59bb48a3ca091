"""L-BFGS: ``scale_by_lbfgs`` (the quasi-Newton direction) and ``lbfgs``.

``lbfgs`` is ``chain(scale_by_lbfgs, scale(-1) or the learning rate, line search)``;
by default the line search is a zoom line search, so its update needs the
extra arguments ``value``, ``grad`` and ``value_fn`` (optax's protocol)::

    >>> opt = optim.lbfgs()
    >>> value_and_grad = optim.value_and_grad_from_state(f)
    >>> state = opt.init(params)
    >>> value, grad = value_and_grad(params, state=state)
    >>> updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=f)
    >>> params = optim.apply_updates(params, updates)

Names, defaults and semantics are optax's (0.2.8).

References:
    Nocedal & Wright, Numerical Optimization, 1999: Algorithms 7.4 and 7.5.
    Liu & Nocedal, 1989: On the limited memory BFGS method for large scale
    optimization.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional

import numpy as np
from jax import tree_util

import primitives
import primitives.numpy as fnp
from primitives import control_flow
from optim import tree as otree
from optim.base import GradientTransformation, GradientTransformationExtraArgs, check_state, identity
from optim.combine import chain
from optim.linesearch import scale_by_zoom_linesearch
from optim.scale import scale, scale_by_learning_rate

__all__ = ["ScaleByLBFGSState", "scale_by_lbfgs", "lbfgs"]


def _vdot(a, b):
    dots = tree_util.tree_map(lambda x, y: fnp.vdot(x, y, precision="highest"), a, b)
    return fnp.real(tree_util.tree_reduce(lambda x, y: x + y, dots, initializer=0))


def _row(stacked, idx):
    """Entry ``idx`` (traced) of each leaf's leading (memory) axis."""
    def row(x):
        starts = (idx,) + (fnp.asarray(0, dtype=np.int32),) * (x.ndim - 1)
        return fnp.reshape(primitives.dynamic_slice(x, starts, (1,) + tuple(x.shape[1:])),
                           tuple(x.shape[1:]))
    return tree_util.tree_map(row, stacked)


def _set_row(stacked, idx, value):
    """``stacked[idx] = value`` leaf-wise, for a traced ``idx``."""
    def set_leaf(x, v):
        v = fnp.asarray(v).astype(x.dtype)
        starts = (idx,) + (fnp.asarray(0, dtype=np.int32),) * (x.ndim - 1)
        return primitives.dynamic_update_slice(x, fnp.reshape(v, (1,) + tuple(x.shape[1:])),
                                               starts)
    return tree_util.tree_map(set_leaf, stacked, value)


def _precondition(updates, diff_params_memory, diff_updates_memory, weights_memory,
                  identity_scale, memory_idx):
    """``P_k u`` by the two-loop recursion (Nocedal & Wright, Algorithm 7.4)."""
    memory_size = weights_memory.shape[0]
    indices = (memory_idx + fnp.arange(memory_size, dtype=np.int32)) % memory_size

    def right_product(vec, idx):
        dwi, dui = _row(diff_params_memory, idx), _row(diff_updates_memory, idx)
        alpha = _row(weights_memory, idx) * _vdot(dwi, vec)
        new = tree_util.tree_map(lambda v, u: v - alpha * u, vec, dui)
        return otree.cast_like(new, vec), alpha

    vec, alphas = control_flow.scan(right_product, updates, indices, reverse=True)
    vec = tree_util.tree_map(lambda v: identity_scale * v, vec)

    def left_product(vec, idx_alpha):
        idx, alpha = idx_alpha
        dwi, dui = _row(diff_params_memory, idx), _row(diff_updates_memory, idx)
        beta = _row(weights_memory, idx) * _vdot(dui, vec)
        new = tree_util.tree_map(lambda v, w: v + (alpha - beta) * w, vec, dwi)
        return otree.cast_like(new, vec), beta

    vec, _ = control_flow.scan(left_product, vec, (indices, alphas))
    return vec


class ScaleByLBFGSState(NamedTuple):
    """The iteration count, the previous params and updates, and the memory of
    the last ``memory_size`` parameter / update differences (stacked on a
    leading axis of each leaf) with their weights ``1 / <dw, du>``."""
    count: Any
    params: Any
    updates: Any
    diff_params_memory: Any
    diff_updates_memory: Any
    weights_memory: Any


def scale_by_lbfgs(memory_size: int = 10,
                   scale_init_precond: bool = True) -> GradientTransformation:
    """The L-BFGS direction ``P_k u_k``: updates times an approximate inverse Hessian.

    The memory is updated from the differences of the params and updates with
    the previous call, then the updates are preconditioned with the two-loop
    recursion. The initial preconditioner is ``gamma_k I`` with
    ``gamma_k = <dw, du> / <du, du>`` if ``scale_init_precond`` (else 1); at
    the first step ``gamma_0 = min(1, 1 / ||u_0||)`` (optax's heuristic). Chain it
    with a line search (see :func:`lbfgs`).

    Args:
      memory_size: how many past differences approximate the inverse Hessian.
      scale_init_precond: scale the initial identity preconditioner.

    Raises:
      ValueError: ``memory_size < 1``.
    """
    if memory_size < 1:
        raise ValueError("memory_size must be >= 1")

    def init_fn(params):
        stacked = tree_util.tree_map(
            lambda p: fnp.zeros((memory_size,) + tuple(p.shape), dtype=p.dtype), params)
        return ScaleByLBFGSState(
            count=fnp.asarray(0, dtype=np.int32), params=otree.zeros_like(params),
            updates=otree.zeros_like(params), diff_params_memory=stacked,
            diff_updates_memory=stacked, weights_memory=fnp.zeros((memory_size,)))

    def update_fn(updates, state, params=None):
        check_state(state, ScaleByLBFGSState, "scale_by_lbfgs")
        memory_idx = state.count % memory_size
        prev_memory_idx = (state.count - 1) % memory_size
        diff_params = tree_util.tree_map(lambda a, b: a - b, params, state.params)
        diff_updates = tree_util.tree_map(lambda a, b: a - b, updates, state.updates)
        curvature = _vdot(diff_updates, diff_params)
        weight = fnp.where(curvature == 0.0, 0.0, 1.0 / curvature)
        started = state.count > 0
        diff_params, diff_updates, weight = tree_util.tree_map(
            lambda x: fnp.where(started, x, fnp.zeros_like(x)),
            (diff_params, diff_updates, weight))
        diff_params_memory = _set_row(state.diff_params_memory, prev_memory_idx, diff_params)
        diff_updates_memory = _set_row(state.diff_updates_memory, prev_memory_idx,
                                       diff_updates)
        weights_memory = _set_row(state.weights_memory, prev_memory_idx, weight)
        if scale_init_precond:
            numerator = _vdot(diff_updates, diff_params)
            denominator = otree.norm(diff_updates, squared=True)
            identity_scale = fnp.where(denominator > 0.0, numerator / denominator, 1.0)
            update_norm = otree.norm(tree_util.tree_map(primitives.stop_gradient, updates))
            capped_inv_norm = fnp.minimum(1.0, 1.0 / update_norm)
            identity_scale = fnp.where(started, identity_scale, capped_inv_norm)
        else:
            identity_scale = 1.0
        precond = _precondition(updates, diff_params_memory, diff_updates_memory,
                                weights_memory, identity_scale, memory_idx)
        return precond, ScaleByLBFGSState(
            count=otree.safe_increment(state.count), params=params, updates=updates,
            diff_params_memory=diff_params_memory, diff_updates_memory=diff_updates_memory,
            weights_memory=weights_memory)
    return GradientTransformation(init_fn, update_fn)


def lbfgs(learning_rate: Optional[Any] = None, memory_size: int = 10,
          scale_init_precond: bool = True,
          linesearch: Optional[Any] = scale_by_zoom_linesearch(
              max_linesearch_steps=20, initial_guess_strategy="one"),
          ) -> GradientTransformationExtraArgs:
    """L-BFGS: the L-BFGS direction, a step of ``-learning_rate`` (or -1), a line search.

    ``w_{k+1} = w_k - eta_k P_k grad f(w_k)``, with ``eta_k`` from the line
    search (by default a zoom line search started at 1, at most 20 steps).

    Args:
      learning_rate: a global scale or schedule (None: 1, the line search sets
        the step).
      memory_size: as in :func:`scale_by_lbfgs`.
      scale_init_precond: as in :func:`scale_by_lbfgs`.
      linesearch: a line search transformation (None: no line search).

    Example::

        >>> opt = optim.lbfgs()
        >>> value_and_grad = optim.value_and_grad_from_state(f)
        >>> value, grad = value_and_grad(params, state=state)
        >>> updates, state = opt.update(grad, state, params, value=value, grad=grad,
        ...                             value_fn=f)
    """
    base_scaling = scale(-1.0) if learning_rate is None else scale_by_learning_rate(learning_rate)
    if linesearch is None:
        linesearch = identity()
    return chain(scale_by_lbfgs(memory_size=memory_size,
                                scale_init_precond=scale_init_precond),
                 base_scaling, linesearch)
