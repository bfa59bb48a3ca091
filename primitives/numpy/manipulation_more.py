"""More array manipulation (as jax.numpy): ``block``, ``resize``,
``rollaxis``, ``trim_zeros``.

Example::

    >>> fnp.block([[fnp.eye(2), fnp.zeros((2, 1))]]).shape
    (2, 3)
"""
from __future__ import annotations

import math as _math
import operator

import numpy as np

from fx.core import Tracer
from fx.errors import ConcretizationError
from primitives.numpy import indexing as _ix, manipulation as _man
from primitives.numpy._util import canonicalize_axes, canonicalize_axis, shape_of
from primitives.numpy.creation import asarray, zeros
from primitives.numpy.tiling import tile

__all__ = ["block", "resize", "rollaxis", "trim_zeros"]


def _atleast_nd(x, n):
    shape = shape_of(x)
    return _man.reshape(x, (1,) * (n - len(shape)) + shape) if len(shape) < n else x


def _block(xs):
    if isinstance(xs, tuple):
        raise ValueError(f"jax.numpy.block does not allow tuples, got {xs}")
    if isinstance(xs, list):
        if len(xs) == 0:
            raise ValueError("jax.numpy.block does not allow empty list arguments")
        parts, depths = zip(*[_block(x) for x in xs])
        if any(d != depths[0] for d in depths[1:]):
            raise ValueError("Mismatched list depths in jax.numpy.block")
        rank = max(depths[0], max(len(shape_of(x)) for x in parts))
        parts = [_atleast_nd(x, rank) for x in parts]
        return _man.concatenate(parts, axis=-depths[0]), depths[0] + 1
    return asarray(xs), 1


def block(arrays):
    """Assemble an array from nested lists of blocks (as jnp.block).

    Args:
      arrays: nested lists of arrays; the innermost lists join along the last axis.

    Returns:
      The assembled array.

    References:
      jax.numpy.block; numpy.block.
    """
    return _block(arrays)[0]


def resize(a, new_shape):
    """``a`` flattened, repeated as needed and reshaped to ``new_shape`` (as jnp.resize).

    Args:
      a: input array.
      new_shape: the (concrete) new shape.

    Returns:
      The resized array.

    References:
      jax.numpy.resize; numpy.resize.
    """
    new_shape = (tuple(operator.index(d) for d in new_shape)
                 if isinstance(new_shape, (tuple, list)) else (operator.index(new_shape),))
    if any(d < 0 for d in new_shape):
        raise ValueError("all elements of `new_shape` must be non-negative")
    arr = _man.ravel(asarray(a))
    n, new_size = shape_of(arr)[0], _math.prod(new_shape)
    if n == 0 or new_size == 0:
        return zeros(new_shape, dtype=arr.dtype)
    arr = tile(arr, -(-new_size // n))[:new_size]
    return _man.reshape(arr, new_shape)


def rollaxis(a, axis, start=0):
    """Move ``axis`` to position ``start`` (as jnp.rollaxis; prefer ``moveaxis``).

    Args:
      a: input array.
      axis: the axis to move.
      start: the position it is moved before.

    Returns:
      The transposed array.

    References:
      jax.numpy.rollaxis; numpy.rollaxis.
    """
    a = asarray(a)
    start = operator.index(start)
    ndim = len(shape_of(a))
    axis = canonicalize_axis(axis, ndim, "rollaxis")
    if not -ndim <= start <= ndim:
        raise ValueError(f"start={start} must satisfy {-ndim}<=start<={ndim}")
    if start < 0:
        start += ndim
    if start > axis:
        start -= 1
    return _man.moveaxis(a, axis, start)


def trim_zeros(filt, trim="fb", axis=None):
    """``filt`` without its leading ('f') and/or trailing ('b') zeros (as jnp.trim_zeros).

    Args:
      filt: input array (concrete: the output shape depends on it).
      trim: 'f', 'b' or 'fb'.
      axis: the axes to trim (default: all).

    Returns:
      The trimmed array.

    References:
      jax.numpy.trim_zeros; numpy.trim_zeros.
    """
    filt = asarray(filt)
    value = filt.concrete_value() if isinstance(filt, Tracer) else filt
    if value is None:
        raise ConcretizationError("trim_zeros: the output shape depends on the values of a "
                                  "traced array; pass a concrete one (trim_zeros cannot be "
                                  "used under jit/vmap).")
    x = np.asarray(value)
    axes = set(canonicalize_axes(axis, x.ndim, "trim_zeros"))
    trim = trim.lower()
    if not axes or ("f" not in trim and "b" not in trim):
        return filt

    def bounds(ax):
        if ax not in axes:
            return slice(None)
        mask = x.any(axis=tuple(i for i in range(x.ndim) if i != ax))
        if not mask.any():
            return slice(0, 0)
        start = int(mask.argmax()) if "f" in trim else None
        stop = x.shape[ax] - int(mask[::-1].argmax()) if "b" in trim else None
        return slice(start, stop)
    return _ix.getitem(filt, tuple(bounds(ax) for ax in range(x.ndim)))
