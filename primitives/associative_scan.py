"""associative_scan: a parallel prefix scan with any associative ``fn`` (as jax.lax).

The Blelloch-style recursion of JAX's: combine neighbouring pairs (strided
slices), scan the half-length result, combine again for the even positions and
interleave (two strided pads added). Written on our slicing / concatenate / pad
primitives, so it is differentiable and vmappable with no rule of its own.

Example::

    >>> P.associative_scan(P.add, fnp.arange(4))   # [0, 1, 3, 6]

References:
    jax/_src/lax/control_flow/loops.py (associative_scan); G. Blelloch,
    "Prefix Sums and Their Applications" (CMU-CS-90-190, 1990).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from jax import tree_util

from fx.core import get_aval
from fx.errors import FxTypeError, ShapeError
from primitives.elementwise import add, bitwise_or
from primitives.lax_helpers import slice_in_dim
from primitives.shape import concatenate, pad, rev

__all__ = ["associative_scan"]


def _interleave(a, b, axis: int):
    """``a`` and ``b`` interleaved along ``axis`` (``a`` first; ``a`` may be one longer)."""
    a_aval, b_aval = get_aval(a), get_aval(b)
    same = a_aval.shape[axis] == b_aval.shape[axis]
    a_pad = [(0, 0, 0)] * a_aval.ndim
    b_pad = [(0, 0, 0)] * b_aval.ndim
    a_pad[axis] = (0, 1 if same else 0, 1)
    b_pad[axis] = (1, 0 if same else 1, 1)
    op = bitwise_or if a_aval.dtype == np.bool_ else add
    zero = np.zeros((), a_aval.dtype)
    return op(pad(a, zero, a_pad), pad(b, zero, b_pad))


def associative_scan(fn: Callable, elems, reverse: bool = False, axis: int = 0):
    """Scan ``elems`` along ``axis`` with the associative ``fn``, in O(log n) depth
    (lax.associative_scan).

    Args:
      fn: ``fn(a, b) -> c``, associative, applied elementwise over ``axis`` to pytrees
        shaped like ``elems``.
      elems: a pytree of arrays sharing the size of ``axis``.
      reverse: scan from the end.
      axis: the scanned axis.

    Returns:
      A pytree like ``elems``: element k combines elements 0..k (k..n-1 when ``reverse``).

    Raises:
      FxTypeError: ``fn`` not callable. ShapeError: leaves with different axis sizes.

    References:
      jax.lax.associative_scan.
    """
    if not callable(fn):
        raise FxTypeError("lax.associative_scan: fn argument should be callable.")
    elems_flat, tree = tree_util.tree_flatten(elems)
    if not elems_flat:
        raise ShapeError("lax.associative_scan: elems must hold at least one array.")
    ndim = get_aval(elems_flat[0]).ndim
    if not -ndim <= axis < ndim:
        raise ShapeError(f"lax.associative_scan: axis {axis} is out of bounds for arrays of "
                         f"rank {ndim}.")
    axis = axis % ndim
    if reverse:
        elems_flat = [rev(e, (axis,)) for e in elems_flat]
    sizes = [get_aval(e).shape[axis] for e in elems_flat]
    if any(s != sizes[0] for s in sizes):
        raise ShapeError(f"Array inputs to associative_scan must have the same first "
                         f"dimension. (saw: {[get_aval(e).shape for e in elems_flat]})")

    def combine(a_flat, b_flat):
        c = fn(tree_util.tree_unflatten(tree, a_flat), tree_util.tree_unflatten(tree, b_flat))
        return tree_util.tree_leaves(c)

    def scan(elems):
        n = get_aval(elems[0]).shape[axis]
        if n < 2:
            return elems
        reduced = combine([slice_in_dim(e, 0, -1, stride=2, axis=axis) for e in elems],
                          [slice_in_dim(e, 1, None, stride=2, axis=axis) for e in elems])
        odd = scan(reduced)
        if n % 2 == 0:
            even = combine([slice_in_dim(e, 0, -1, axis=axis) for e in odd],
                           [slice_in_dim(e, 2, None, stride=2, axis=axis) for e in elems])
        else:
            even = combine(odd, [slice_in_dim(e, 2, None, stride=2, axis=axis) for e in elems])
        even = [concatenate([slice_in_dim(e, 0, 1, axis=axis), r], axis)
                for e, r in zip(elems, even)]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    scans = scan(elems_flat)
    if reverse:
        scans = [rev(s, (axis,)) for s in scans]
    return tree_util.tree_unflatten(tree, scans)
