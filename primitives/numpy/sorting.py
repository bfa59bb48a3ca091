"""Sorting (as jax.numpy): sort, argsort, built on the lax-level ``sort``.

``descending`` reverses an ascending sort; for a stable descending argsort the
input is reversed first so that equal elements keep their original order
(jnp's trick), e.g. ``argsort([1, 0, 1], descending=True) == [0, 2, 1]``.
"""
from __future__ import annotations

import numpy as np

import primitives as P
from fx.core import canonical_dtype
from primitives.numpy._util import canonicalize_axis, shape_of

__all__ = ["sort", "argsort"]


def _prepare(a, axis, kind, order, op):
    if kind is not None:
        raise TypeError(f"'kind' argument to {op} is not supported. Use stable=True or "
                        f"stable=False to specify sort stability.")
    if order is not None:
        raise TypeError(f"'order' argument to {op} is not supported.")
    if axis is None:
        a = P.reshape(a, (int(np.prod(shape_of(a), dtype=np.int64)),))
        axis = 0
    return a, canonicalize_axis(axis, len(shape_of(a)), op)


def sort(a, axis=-1, *, kind=None, order=None, stable=True, descending=False):
    """Return a sorted copy of ``a`` along ``axis`` (as jnp.sort).

    Args:
      a: array to sort.
      axis: axis to sort along (default -1); None sorts the flattened array.
      stable: whether equal elements keep their order.
      descending: sort in descending order.

    Returns:
      The sorted array (NaNs last in ascending order, as lax.sort).

    Example::

        >>> fnp.sort(fnp.array([3, 1, 2]), descending=True)
        Array([3, 2, 1], dtype=int32)
    """
    a, dim = _prepare(a, axis, kind, order, "sort")
    out = P.sort(a, dimension=dim, is_stable=stable)
    return P.rev(out, (dim,)) if descending else out


def argsort(a, axis=-1, *, kind=None, order=None, stable=True, descending=False, dtype=None):
    """Indices that sort ``a`` along ``axis`` (as jnp.argsort).

    Args:
      a: array to sort.
      axis: axis to sort along (default -1); None sorts the flattened array.
      stable: whether equal elements keep their original order.
      descending: sort in descending order (stable: ties keep ascending indices).
      dtype: dtype of the indices (default: int32, int64 with x64).

    Returns:
      Integer array of ``a``'s shape (``(a.size,)`` for ``axis=None``).
    """
    a, dim = _prepare(a, axis, kind, order, "argsort")
    shape = shape_of(a)
    idx_dtype = canonical_dtype(np.int64 if dtype is None else dtype)
    iota = P.broadcast_in_dim(P.iota(idx_dtype, shape[dim]), shape, (dim,))
    if descending and stable:
        a, iota = P.rev(a, (dim,)), P.rev(iota, (dim,))
    _, indices = P.sort((a, iota), dimension=dim, is_stable=stable, num_keys=1)
    return P.rev(indices, (dim,)) if descending else indices
