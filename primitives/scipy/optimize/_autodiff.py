"""``value_and_grad`` of a scalar function of one array, for the optimizers.

``transforms.grad`` sits above ``primitives`` in the stack (DESIGN.md
"Layout"), so the optimizers differentiate with the core's own pieces: linearize
(``fx.ad.linearize_flat``) then transpose (``fx.ad.backward_pass``), exactly
what ``transforms.vjp`` does, for the one case they need.

References:
    transforms/grad.py (``vjp``); JAX's ``jax.value_and_grad``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from fx.ad import backward_pass, instantiate_zero, linearize_flat
from fx.core import get_aval
from fx.errors import FxTypeError
from primitives.numpy.creation import ones_like, zeros_like

__all__ = ["value_and_grad"]


def value_and_grad(fun: Callable, x):
    """``(fun(x), d fun / d x)`` for a real scalar-valued ``fun`` of one array.

    Args:
      fun: ``x -> scalar`` (real floating point).
      x: the point (a floating-point array).

    Returns:
      ``(value, gradient)``; the gradient has ``x``'s shape and dtype.

    References:
      jax.value_and_grad (argnums=0).
    """
    outs, linear, out_zero = linearize_flat(lambda v: [fun(v)], [x])
    value = outs[0]
    aval = get_aval(value)
    if aval.shape != ():
        raise FxTypeError(f"minimize: the objective must return a scalar, got shape "
                          f"{aval.shape}. Fix: reduce it (fnp.sum) to one value.")
    if not np.issubdtype(aval.dtype, np.floating):
        raise FxTypeError(f"minimize: the objective must return a real float scalar, got "
                          f"{aval.dtype}. Fix: return a float (astype(fnp.float32)).")
    if out_zero[0]:
        return value, zeros_like(x)
    ct, = backward_pass(linear.graph, linear.consts, [True], [None], [ones_like(value)])
    return value, instantiate_zero(ct)
