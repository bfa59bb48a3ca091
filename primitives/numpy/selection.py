"""Partial sorts and masked / indexed writes (as jax.numpy): ``partition``,
``argpartition``, ``put``, ``put_along_axis``, ``place``, ``extract``.

The writes return updated copies: as in JAX, ``inplace=False`` must be passed
(arrays are immutable). ``partition`` uses ``top_k`` as JAX does, so its
element order on each side of ``kth`` is JAX's (ascending below, descending
above).

Example::

    >>> fnp.partition(fnp.array([5, 1, 4, 2, 3]), 1)
    Array([1, 2, 5, 4, 3], dtype=int32)
"""
from __future__ import annotations

import numpy as np

import primitives as P
from fx.core import get_aval
from fx.dtypes import kind
from primitives.numpy import indexing as _ix, manipulation as _man, math as _m
from primitives.numpy._util import broadcast_to, canonicalize_axis, shape_of
from primitives.numpy.creation import asarray
from primitives.numpy.grids import indices as _indices
from primitives.numpy.index_tricks import unravel_index
from primitives.numpy.nonzero import nonzero as _nonzero
from primitives.numpy.sequences import compress
from primitives.numpy.sorting import argsort

__all__ = ["partition", "argpartition", "put", "put_along_axis", "place", "extract"]


def _prepare(a, kth, axis, op):
    arr = asarray(a)
    if kind(get_aval(arr).dtype) == "c":
        raise NotImplementedError(f"jnp.{op} for complex dtype is not implemented.")
    axis = canonicalize_axis(axis, len(shape_of(arr)), op)
    kth = canonicalize_axis(kth, shape_of(arr)[axis], op)
    return _man.swapaxes(arr, axis, -1), kth, axis


def _neg_for_bottom(arr):
    """A key whose top_k is the smallest elements (unsigned: shifted, as JAX)."""
    if kind(get_aval(arr).dtype) == "u":
        return _m.negative(_m.add(arr, asarray(1, get_aval(arr).dtype)))
    return _m.negative(arr)


def partition(a, kth, axis=-1):
    """``a`` reordered so that ``kth`` holds its sorted value (as jnp.partition).

    Args:
      a: input array (not complex).
      kth: the static position whose element lands in sorted place.
      axis: the axis to partition along.

    Returns:
      Elements smaller first (ascending), then the rest (descending), as JAX.

    References:
      jax.numpy.partition; numpy.partition.
    """
    arr, kth, axis = _prepare(a, kth, axis, "partition")
    n = shape_of(arr)[-1]
    bottom = _m.negative(P.top_k(_neg_for_bottom(arr), kth + 1)[0])
    if kind(get_aval(arr).dtype) == "u":
        bottom = _m.subtract(bottom, asarray(1, get_aval(arr).dtype))
    top = P.top_k(arr, n - kth - 1)[0]
    return _man.swapaxes(_man.concatenate([bottom, top], axis=-1), -1, axis)


def argpartition(a, kth, axis=-1):
    """Indices that partition ``a`` (as jnp.argpartition).

    Args:
      a: input array (not complex).
      kth: the static position whose element lands in sorted place.
      axis: the axis to partition along.

    Returns:
      int32 indices: the ``kth + 1`` smallest (ascending), then the others in
      index order, as JAX.

    References:
      jax.numpy.argpartition; numpy.argpartition.
    """
    arr, kth, axis = _prepare(a, kth, axis, "argpartition")
    n = shape_of(arr)[-1]
    bottom_ind = P.top_k(_neg_for_bottom(arr), kth + 1)[1]
    # the rest in increasing index order (JAX takes top_k of a 0/1 proxy): a stable
    # argsort of "is in the bottom" puts the others first, in index order
    rank = argsort(argsort(arr, axis=-1), axis=-1)
    in_bottom = _m.less(rank, kth + 1).astype(np.int32)
    top_ind = argsort(in_bottom, axis=-1)[..., :n - kth - 1].astype(get_aval(bottom_ind).dtype)
    return _man.swapaxes(_man.concatenate([bottom_ind, top_ind], axis=-1), -1, axis)


def _tile_to_size(arr, size: int):
    n = shape_of(arr)[0]
    if n < size:
        arr = _man.concatenate([arr] * (-(-size // n)))
    return arr[:size] if shape_of(arr)[0] > size else arr


def put(a, ind, v, mode=None, *, inplace=True):
    """``a`` with ``a.flat[ind] = v`` (as jnp.put; ``inplace=False`` required).

    Args:
      a: the array to update.
      ind: flat indices.
      v: values (tiled to the number of indices).
      mode: None (drop out-of-bound indices), 'clip' or 'wrap'.
      inplace: must be False.

    Returns:
      The updated copy.

    References:
      jax.numpy.put; numpy.put.
    """
    if inplace:
        raise ValueError("jax.numpy.put cannot modify arrays in-place, because JAX arrays are "
                         "immutable. Pass inplace=False to instead return an updated array.")
    arr, ind, v = asarray(a), _man.ravel(asarray(ind)), _man.ravel(asarray(v))
    size = int(np.prod(shape_of(arr), dtype=np.int64))
    if not size or not shape_of(ind)[0] or not shape_of(v)[0]:
        return arr
    v = _tile_to_size(v, shape_of(ind)[0])
    if mode is None:
        scatter_mode = "drop"
    elif mode == "clip":
        ind, scatter_mode = _m.clip(ind, 0, size - 1), "promise_in_bounds"
    elif mode == "wrap":
        ind, scatter_mode = _m.mod(ind, size), "promise_in_bounds"
    elif mode == "raise":
        raise NotImplementedError("The 'raise' mode to jnp.put is not supported.")
    else:
        raise ValueError(f"mode should be one of 'wrap' or 'clip'; got mode={mode!r}")
    return _ix.at(arr)[unravel_index(ind, shape_of(arr))].set(v, mode=scatter_mode)


def put_along_axis(arr, indices, values, axis, inplace=True, *, mode=None):
    """``arr`` with ``values`` written at ``indices`` along ``axis`` (as
    jnp.put_along_axis; ``inplace=False`` required).

    Args:
      arr: the array to update.
      indices: integer indices, ``arr``'s ndim.
      values: broadcastable to ``indices``.
      axis: the axis (None: the flattened array).
      inplace: must be False.
      mode: the scatter's out-of-bounds mode.

    Returns:
      The updated copy.

    References:
      jax.numpy.put_along_axis; numpy.put_along_axis.
    """
    if inplace:
        raise ValueError("jax.numpy.put_along_axis cannot modify arrays in-place, because JAX "
                         "arrays are immutable. Pass inplace=False to instead return an updated "
                         "array.")
    arr, indices, values = asarray(arr), asarray(indices), asarray(values)
    original_shape, original_axis = shape_of(arr), axis
    if axis is None:
        arr, axis = _man.ravel(arr), 0
    if len(shape_of(arr)) != len(shape_of(indices)):
        raise ValueError("put_along_axis arguments 'arr' and 'indices' must have same ndim. Got "
                         f"arr.ndim={len(shape_of(arr))} and indices.ndim="
                         f"{len(shape_of(indices))}.")
    try:
        values = broadcast_to(values, shape_of(indices), op="put_along_axis")
    except ValueError:
        raise ValueError("put_along_axis argument 'values' must be broadcastable to 'indices'. "
                         f"Got values.shape={shape_of(values)} and indices.shape="
                         f"{shape_of(indices)}.") from None
    axis = canonicalize_axis(axis, len(shape_of(arr)), "put_along_axis")
    idx = list(_indices(shape_of(arr), sparse=True))
    idx[axis] = indices
    result = _ix.at(arr)[tuple(idx)].set(values, mode=mode)
    return _man.reshape(result, original_shape) if original_axis is None else result


def place(arr, mask, vals, *, inplace=True):
    """``arr`` with the masked positions set to ``vals`` in order (as jnp.place;
    ``inplace=False`` required).

    Args:
      arr: the array to update.
      mask: a boolean array of ``arr``'s size (may be traced).
      vals: the values, repeated as needed.
      inplace: must be False.

    Returns:
      The updated copy.

    References:
      jax.numpy.place; numpy.place.
    """
    if inplace:
        raise ValueError("jax.numpy.place cannot modify arrays in-place, because JAX arrays are "
                         "immutable. Pass inplace=False to instead return an updated array.")
    data, mask, vals = asarray(arr), asarray(mask), _man.ravel(asarray(vals))
    size = int(np.prod(shape_of(data), dtype=np.int64))
    if size != int(np.prod(shape_of(mask), dtype=np.int64)):
        raise ValueError("place: arr and mask must be the same size")
    if not shape_of(vals)[0]:
        raise ValueError("Cannot place values from an empty array")
    if not size:
        return data
    indices = _nonzero(_man.ravel(mask), size=size, fill_value=size)[0]
    vals = _tile_to_size(vals, size)
    out = _ix.at(_man.ravel(data))[indices].set(vals, mode="drop")
    return _man.reshape(out, shape_of(data))


def extract(condition, arr, *, size=None, fill_value=0):
    """The elements of ``arr`` where ``condition`` is true, flattened (as jnp.extract).

    Args:
      condition: a mask (flattened).
      arr: the values (flattened).
      size: static output length (required when the mask is traced).
      fill_value: padding past the last selected element.

    Returns:
      A 1-D array.

    References:
      jax.numpy.extract; numpy.extract.
    """
    return compress(_man.ravel(asarray(condition)), _man.ravel(asarray(arr)), size=size,
                    fill_value=fill_value)
