"""Adafactor's factored second-moment estimate (``scale_by_factored_rms``).

For a leaf whose two largest dimensions are both at least
``min_dim_size_to_factor``, the second moment of an n x m matrix is stored as a
row vector (n numbers) and a column vector (m numbers) instead of n*m numbers;
the estimate is their outer product divided by their mean. Other leaves keep a
full second moment.

Differs from optax in one detail: the unused slots of the state are empty
arrays (shape (0,)) instead of (1,)-shaped zeros, so a factored n x m leaf
costs exactly n + m numbers.

References:
    Shazeer & Stern, 2018: Adafactor: Adaptive Learning Rates with Sublinear Memory Cost.
    Zhai et al., 2021: Scaling Vision Transformers (bounded decay schedules).
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import check_state, GradientTransformation, require_params, static_hyperparams

__all__ = ["FactoredState", "scale_by_factored_rms", "factored_dims", "decay_rate_pow"]


def decay_rate_pow(step, exponent=0.8):
    """Adafactor's second-moment decay: ``1 - (step + 1) ** -exponent``."""
    t = fnp.array(step + 1, fnp.float32)
    return 1.0 - t ** (-exponent)


def factored_dims(shape, factored: bool, min_dim_size_to_factor: int) -> Optional[tuple[int, int]]:
    """The (second largest, largest) axes to factor over, or None for a full moment."""
    if not factored or len(shape) < 2:
        return None
    order = np.argsort(shape)
    if shape[order[-2]] < min_dim_size_to_factor:
        return None
    return int(order[-2]), int(order[-1])


class FactoredState(NamedTuple):
    """Step count and, per leaf, the row/column factors or the full second moment.

    Attributes:
      count: int32 step count.
      v_row: per factored leaf, the moment averaged over its largest axis (else empty).
      v_col: per factored leaf, the moment averaged over its second-largest axis (else empty).
      v: per unfactored leaf, the full second moment (else empty).
    """
    count: Any
    v_row: Any
    v_col: Any
    v: Any


def _empty(dtype):
    return fnp.zeros((0,), dtype=dtype)


def _drop_axis(shape, axis):
    return tuple(d for i, d in enumerate(shape) if i != axis)


@static_hyperparams("factored", "min_dim_size_to_factor")
def scale_by_factored_rms(factored: bool = True, decay_rate=0.8, step_offset=0,
                          min_dim_size_to_factor: int = 128, epsilon=1e-30,
                          decay_rate_fn: Callable = decay_rate_pow) -> GradientTransformation:
    """Divide updates by a (factored) estimate of their root mean square.

    Args:
      factored: factor the moments of leaves with two large dimensions.
      decay_rate: exponent of the decay schedule ``1 - (t + 1) ** -decay_rate``.
      step_offset: subtracted from the step (for fine-tuning restarts).
      min_dim_size_to_factor: factor only if the second-largest dimension is at least this.
      epsilon: added to the squared gradients.
      decay_rate_fn: ``(step, decay_rate) -> decay``.
    """
    def init_leaf(p):
        dims = factored_dims(p.shape, factored, min_dim_size_to_factor)
        if dims is None:
            return _empty(p.dtype), _empty(p.dtype), fnp.zeros_like(p)
        d1, d0 = dims
        return (fnp.zeros(_drop_axis(p.shape, d0), p.dtype),
                fnp.zeros(_drop_axis(p.shape, d1), p.dtype), _empty(p.dtype))

    def init_fn(params):
        leaves, treedef = tree_util.tree_flatten(params)
        rows, cols, vs = zip(*[init_leaf(p) for p in leaves]) if leaves else ((), (), ())
        unflat = lambda xs: tree_util.tree_unflatten(treedef, list(xs))  # noqa: E731
        return FactoredState(count=fnp.zeros([], fnp.int32), v_row=unflat(rows),
                             v_col=unflat(cols), v=unflat(vs))

    def update_leaf(grad, v_row, v_col, v, param, step):
        dtype = param.dtype
        decay_t = decay_rate_fn(step - step_offset, decay_rate)
        grad_sqr = otree.abs_sq(grad) + epsilon
        dims = factored_dims(param.shape, factored, min_dim_size_to_factor)
        if dims is None:
            new_v = (decay_t * v + (1.0 - decay_t) * grad_sqr).astype(dtype)
            return grad * new_v ** -0.5, v_row, v_col, new_v
        d1, d0 = dims
        new_row = (decay_t * v_row + (1.0 - decay_t) * fnp.mean(grad_sqr, axis=d0)).astype(dtype)
        new_col = (decay_t * v_col + (1.0 - decay_t) * fnp.mean(grad_sqr, axis=d1)).astype(dtype)
        reduced_d1 = d1 - 1 if d1 > d0 else d1
        row_factor = (new_row / fnp.mean(new_row, axis=reduced_d1, keepdims=True)) ** -0.5
        col_factor = new_col ** -0.5
        update = grad * fnp.expand_dims(row_factor, axis=d0) * fnp.expand_dims(col_factor, axis=d1)
        return update, new_row, new_col, v

    def update_fn(updates, state, params):
        check_state(state, FactoredState, "scale_by_factored_rms")
        require_params(params, "scale_by_factored_rms (adafactor)")
        otree.check_match(updates, params, ("updates", "params"))
        otree.check_same_shapes(updates, params)
        leaves, treedef = tree_util.tree_flatten(updates)
        others = [treedef.flatten_up_to(t) for t in (state.v_row, state.v_col, state.v, params)]
        out = [update_leaf(*args, state.count) for args in zip(leaves, *others)]
        unflat = lambda i: tree_util.tree_unflatten(treedef, [o[i] for o in out])  # noqa: E731
        return unflat(0), FactoredState(count=otree.safe_increment(state.count), v_row=unflat(1),
                                        v_col=unflat(2), v=unflat(3))
    return GradientTransformation(init_fn, update_fn)
