"""NumPy indexing of traced arrays (``x[idx]``) and the ``x.at[idx]`` update helper.

Semantics follow ``jax.numpy`` (jax/_src/numpy/indexing.py and ops/scatter.py):

- basic indices (ints, slices with any step, ``None``, ``...``) lower to
  ``slice`` / ``rev`` / ``reshape`` (plus ``dynamic_slice`` for traced scalar
  indices): no gather;
- integer arrays (advanced indexing, broadcast together; numpy's rule puts the
  advanced axes in place when they are adjacent, else first) and concrete
  boolean masks (turned into integer indices) lower to one ``gather``;
- ``x.at[idx].set/add/subtract/multiply/mul/divide/power/min/max`` lower to one
  ``scatter*``; ``x.at[idx].get`` is ``x[idx]`` with gather options.

Out-of-bounds behaviour is jax's: ``x[idx]`` and ``.get()`` clamp traced indices
(gather mode ``promise_in_bounds``; ``mode='fill'`` returns ``fill_value``),
updates drop out-of-bounds indices (``mode='drop'``). One difference, on purpose:
a *static* Python int index out of range raises ``IndexError`` (numpy does so;
jax silently clamps it) because it is always a bug that shows up in the shape.

Example::

    >>> import primitives.numpy as fnp
    >>> from transforms import jit
    >>> jit(lambda x: x[1:, ::-1])(fnp.arange(6).reshape(2, 3))
    Array([[5, 4, 3]], dtype=int32)
    >>> jit(lambda x: x.at[np.array([0, 0])].add(1.0))(fnp.zeros(3))
    Array([2., 0., 0.], dtype=float32)

References:
    NumPy indexing rules: https://numpy.org/doc/stable/user/basics.indexing.html
"""
from __future__ import annotations

import math
import operator
import warnings
from typing import Any, NamedTuple

import numpy as np
import jax
from jax.lax import GatherDimensionNumbers, GatherScatterMode, ScatterDimensionNumbers

import primitives as P
from fx.core import Tracer, get_aval
from fx.errors import ConcretizationError, ShapeError
from fx.source_info import user_frame_info
from primitives.numpy._promote import promote, result_type_of
from primitives.numpy import _util
from primitives.numpy._util import broadcast_shapes, broadcast_to, canonicalize_axis, shape_of
from primitives.numpy.manipulation import _arr, _zeros_like, ravel, stack
from primitives.numpy.math import divide, power

# ``getitem`` / ``at`` are reached through the operators (``x[idx]``, ``x.at``) or
# directly as ``primitives.numpy.indexing.getitem(x, idx)`` / ``at(x)``; jnp has no
# such top-level names, so only take / take_along_axis are re-exported into fnp.
__all__ = ["take", "take_along_axis"]

_NONE, _ELLIPSIS, _SLICE, _INT, _BOOL, _ARRAY = "none", "ellipsis", "slice", "int", "bool", "array"
_INDEX_DTYPE = np.dtype(np.int32)


class NonConcreteBooleanIndexError(ConcretizationError, IndexError):
    """A boolean mask index was traced: the result's shape would depend on its values."""


# --- parsing ------------------------------------------------------------------
class _Entry(NamedTuple):
    typ: str
    value: Any
    axes: tuple  # axes of x this entry consumes


def _is_array_like(i) -> bool:
    return isinstance(i, (np.ndarray, np.generic, jax.Array, Tracer))


def _dtype(i) -> np.dtype:
    return i.aval.dtype if isinstance(i, Tracer) else np.dtype(i.dtype)


def _sequence_to_array(seq):
    """A list/tuple inside an index tuple: an index array (as jnp.asarray would make)."""
    if any(isinstance(e, Tracer) for e in seq):
        return stack(list(seq))
    arr = np.asarray(seq)
    return arr.astype(_INDEX_DTYPE) if arr.size == 0 else arr


def _classify(i) -> tuple[str, Any]:
    """(kind, value) of one index; sequences become arrays."""
    if i is None:
        return _NONE, None
    if i is Ellipsis:
        return _ELLIPSIS, None
    if isinstance(i, slice):
        for v in (i.start, i.stop, i.step):
            if v is not None and not isinstance(v, (int, np.integer)):
                try:
                    int(v)
                except (TypeError, ConcretizationError):
                    raise IndexError(
                        f"slice entries must be static integers, got {i}. Fix: use "
                        f"primitives.dynamic_slice(x, start_indices, slice_sizes) for a traced "
                        f"start with a static size.") from None
        return _SLICE, slice(*(None if v is None else int(v) for v in (i.start, i.stop, i.step)))
    if isinstance(i, (bool, np.bool_)):
        return _BOOL, bool(i)
    if isinstance(i, (int, np.integer)):
        return _INT, int(i)
    if isinstance(i, (list, tuple)):
        i = _sequence_to_array(i)
    if _is_array_like(i):
        dt = _dtype(i)
        if dt == np.bool_:
            return _BOOL, i
        if np.issubdtype(dt, np.integer):
            return _ARRAY, i
        raise TypeError(f"indexer must have integer or boolean type, got indexer with type {dt}")
    if isinstance(i, (float, complex)):
        raise TypeError(f"indexer must have integer or boolean type, got indexer with type "
                        f"{np.dtype(type(i))}")
    if isinstance(i, str):
        raise TypeError(f"string indexing is not supported; got {i!r}")
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), newaxis (`None`) and integer "
                     f"or boolean arrays are valid indices. Got {i!r}")


def _as_tuple(idx) -> tuple:
    if isinstance(idx, tuple):
        return idx
    if isinstance(idx, list):
        raise TypeError("Using a non-tuple sequence for multidimensional indexing is not allowed; "
                        "use `arr[tuple(seq)]` (several axes) or `arr[np.array(seq)]` (an index "
                        "array) instead of `arr[seq]`, as in jax.numpy.")
    return (idx,)


def _concrete_mask(mask) -> np.ndarray:
    value = mask.concrete_value() if isinstance(mask, Tracer) else mask
    if value is not None and not isinstance(value, jax.core.Tracer):
        return np.asarray(value)
    what = mask.aval.str_short() if isinstance(mask, Tracer) else (
        f"{get_aval(mask).str_short()} (a jax value built inside the compiled function; build "
        f"constant masks with numpy)")
    raise NonConcreteBooleanIndexError(
        f"boolean mask indexing x[mask] got a traced mask {what} at {user_frame_info(4)}.\n"
        f"The result's shape would depend on the mask's values, which are unknown inside "
        f"jit/make_graph/vmap.\nFix: keep the shape static with fnp.where(mask, x, fill) (or "
        f"fnp.sum(fnp.where(mask, x, 0)) for reductions), or pass a concrete mask (a numpy "
        f"array or static argument).")


def _parse(idx, shape: tuple) -> tuple[list[_Entry], tuple, tuple]:
    """Parse ``idx`` against ``shape``.

    Returns (entries, shape, bool_dims): boolean masks become one integer array
    per mask axis; a scalar boolean becomes ``arange(int(b))`` on a new size-1
    axis of x (inserted at ``bool_dims`` of the returned shape), as numpy does.
    Ellipses stay (expanded later, after numpy's adjacency rule is read).
    """
    raw = [_classify(i) for i in _as_tuple(idx)]
    n_ell = sum(k == _ELLIPSIS for k, _ in raw)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = [0 if k in (_NONE, _ELLIPSIS) else (np.ndim(v) if k == _BOOL else 1)
                for k, v in raw]
    if sum(consumed) > len(shape):
        raise IndexError(f"too many indices for array: array of shape {tuple(shape)} is "
                         f"{len(shape)}-dimensional, but {sum(consumed)} were indexed")
    entries, bool_dims, shape, axis = [], [], list(shape), 0
    for pos, ((kind, value), n) in enumerate(zip(raw, consumed)):
        if kind == _ELLIPSIS:
            n = len(shape) - axis - sum(consumed[pos + 1:])
            entries.append(_Entry(kind, value, tuple(range(axis, axis + n))))
        elif kind == _BOOL and n == 0:  # scalar bool: an index array on a new axis
            shape.insert(axis, 1)
            bool_dims.append(axis)
            entries.append(_Entry(_ARRAY, np.arange(int(_concrete_mask(value)), dtype=_INDEX_DTYPE),
                                  (axis,)))
            n = 1
        elif kind == _BOOL:
            mask = _concrete_mask(value)
            want = tuple(shape[axis:axis + n])
            if any(m not in (0, s) for m, s in zip(mask.shape, want)):
                raise IndexError(f"boolean index did not match the indexed array in index {pos}: "
                                 f"got mask shape {mask.shape}, expected {want} (array shape "
                                 f"{tuple(shape)})")
            entries.extend(_Entry(_ARRAY, nz.astype(_INDEX_DTYPE), (axis + j,))
                           for j, nz in enumerate(np.nonzero(mask)))
        else:
            entries.append(_Entry(kind, value, tuple(range(axis, axis + n))))
        axis += n
    return entries, tuple(shape), tuple(bool_dims)


def _expand_ellipsis(entries: list[_Entry], ndim: int) -> list[_Entry]:
    out, used = [], 0
    for e in entries:
        if e.typ == _ELLIPSIS:
            out.extend(_Entry(_SLICE, slice(None), (a,)) for a in e.axes)
        else:
            out.append(e)
        used += len(e.axes)
    out.extend(_Entry(_SLICE, slice(None), (a,)) for a in range(used, ndim))
    return out


def _check_static_ints(entries, shape, normalize: bool) -> None:
    for e in entries:
        if e.typ == _INT:
            (axis,) = e.axes
            size = shape[axis]
            i = e.value + size if (normalize and e.value < 0) else e.value
            if not 0 <= i < size:
                raise IndexError(f"index {e.value} is out of bounds for axis {axis} with size "
                                 f"{size} (array shape {tuple(shape)}). Fix: valid indices are "
                                 f"{-size if normalize else 0}..{size - 1}.")


# --- index arrays: numpy when concrete (folded at trace time), else lax ops ----
def _to_index_dtype(i):
    if isinstance(i, (np.ndarray, np.generic)):
        return np.asarray(i, _INDEX_DTYPE)
    return i if _dtype(i) == _INDEX_DTYPE else P.convert_element_type(i, _INDEX_DTYPE)


def _normalize(i, size: int):
    """Wrap negative indices: ``where(i < 0, i + size, i)``."""
    if isinstance(i, (int, np.integer)):
        return i + size if i < 0 else i
    if isinstance(i, np.ndarray):
        return np.where(i < 0, i + size, i).astype(i.dtype)
    return P.select_n(P.lt(i, 0), i, P.add(i, size))


def _index_array(value, size: int, normalize: bool):
    """An integer index (array) as int32, negative entries wrapped when ``normalize``
    (unsigned indices are never wrapped, as in jnp)."""
    unsigned = np.issubdtype(_dtype(value), np.unsignedinteger)
    i = _to_index_dtype(value)
    return _normalize(i, size) if normalize and not unsigned else i


def _broadcast_index(i, shape):
    if isinstance(i, np.ndarray):
        return np.broadcast_to(i, shape)
    return broadcast_to(i, shape, op="advanced indexing (broadcasting the index arrays)")


def _place(g, shape, start: int):
    """Broadcast index piece ``g`` into ``shape`` with its axes starting at ``start``."""
    dims = tuple(range(start, start + np.ndim(g) if isinstance(g, np.ndarray) else
                       start + len(shape_of(g))))
    if isinstance(g, np.ndarray):
        expand = [1] * len(shape)
        for d, s in zip(dims, g.shape):
            expand[d] = s
        return np.broadcast_to(g.reshape(expand), shape)
    return P.broadcast_in_dim(g, shape, dims)


def _stack_last(pieces, batch_shape):
    """Concatenate index pieces (each broadcast to ``batch_shape``) on a new last axis."""
    full = tuple(batch_shape) + (1,)
    placed = [_place(g, full, start) for g, start in pieces]
    if all(isinstance(p, np.ndarray) for p in placed):
        return np.concatenate(placed, axis=-1)
    return P.concatenate(placed, len(full) - 1)


# --- the general indexer: one gather/scatter (port of jnp's _index_to_gather) -----
class _GatherIndexer(NamedTuple):
    slice_shape: tuple          # shape of x[idx] (with None axes)
    gather_slice_shape: tuple   # slice_sizes of the gather
    gather_indices: Any
    dnums: GatherDimensionNumbers
    unique_indices: bool
    indices_are_sorted: bool
    reversed_y_dims: tuple      # axes of the gather output to reverse (negative steps)
    newaxis_dims: tuple         # axes of slice_shape made by None


def _index_to_gather(entries: list[_Entry], shape: tuple, normalize: bool) -> _GatherIndexer:
    adv_pos = [p for p, e in enumerate(entries) if e.typ in (_ARRAY, _INT)]
    contiguous = bool(np.all(np.diff(adv_pos) == 1))
    entries = _expand_ellipsis(entries, len(shape))
    advanced = _is_advanced(entries)
    adv_entries = [p for p, e in enumerate(entries) if e.typ in (_ARRAY, _INT)] if advanced else []
    offset_dims, collapsed, start_index_map = [], [], []
    pieces, gshape, slice_shape, gather_slice_shape = [], [], [], []
    newaxis_dims, reversed_dims = [], []
    y_axis = collapsed_y_axis = 0

    def idx_of(e):
        size = shape[e.axes[0]]
        if e.typ == _INT:
            return np.asarray(_normalize(e.value, size) if normalize else e.value, _INDEX_DTYPE)
        return _index_array(e.value, size, normalize)

    for pos, e in enumerate(entries):
        if adv_entries and pos == (adv_entries[0] if contiguous else 0):
            arrays = [idx_of(entries[p]) for p in adv_entries]
            bshape = broadcast_shapes(*[shape_of(a) for a in arrays],
                                      op="advanced indexing (broadcasting the index arrays)")
            start = len(gshape)
            pieces.extend((_broadcast_index(a, bshape), start) for a in arrays)
            gshape.extend(bshape)
            axes = [entries[p].axes[0] for p in adv_entries]
            start_index_map.extend(axes)
            collapsed.extend(axes)
            slice_shape.extend(bshape)
            y_axis += len(bshape)
            collapsed_y_axis += len(bshape)
        if pos in adv_entries:
            gather_slice_shape.append(1)
            continue
        if e.typ in (_INT, _ARRAY):  # scalar index (no advanced indexing)
            (axis,) = e.axes
            if shape[axis] == 0:
                raise IndexError(f"index is out of bounds for axis {axis} with size 0")
            pieces.append((idx_of(e), len(gshape)))
            collapsed.append(axis)
            gather_slice_shape.append(1)
            start_index_map.append(axis)
        elif e.typ == _NONE:
            slice_shape.append(1)
            newaxis_dims.append(y_axis)
            y_axis += 1
        else:  # slice
            (axis,) = e.axes
            start, stop, step = e.value.indices(shape[axis])
            size = len(range(start, stop, step))
            slice_shape.append(size)
            if step == 1:
                if size != shape[axis]:
                    pieces.append((np.asarray(start, _INDEX_DTYPE), len(gshape)))
                    start_index_map.append(axis)
                gather_slice_shape.append(size)
                offset_dims.append(collapsed_y_axis)
            else:
                idx = np.arange(start, stop, step, dtype=_INDEX_DTYPE)
                if step < 0:
                    reversed_dims.append(collapsed_y_axis)
                    idx = idx[::-1].copy()
                pieces.append((idx, len(gshape)))
                gshape.append(size)
                gather_slice_shape.append(1)
                start_index_map.append(axis)
                collapsed.append(axis)
            collapsed_y_axis += 1
            y_axis += 1
    if not pieces:
        indices = np.zeros((0,), _INDEX_DTYPE)
    else:
        indices = _stack_last(pieces, gshape)
    dnums = GatherDimensionNumbers(offset_dims=tuple(offset_dims),
                                   collapsed_slice_dims=tuple(sorted(collapsed)),
                                   start_index_map=tuple(start_index_map))
    return _GatherIndexer(tuple(slice_shape), tuple(gather_slice_shape), indices, dnums,
                          unique_indices=not advanced, indices_are_sorted=not advanced,
                          reversed_y_dims=tuple(reversed_dims), newaxis_dims=tuple(newaxis_dims))


# --- x[idx] ----------------------------------------------------------------------
def _mode_allows_slicing(mode) -> bool:
    return mode is None or GatherScatterMode.from_any(mode) in (
        GatherScatterMode.PROMISE_IN_BOUNDS, GatherScatterMode.CLIP)


def _is_advanced(entries) -> bool:
    return any(e.typ == _ARRAY and len(shape_of(e.value)) > 0 for e in entries)


def _slice_index(x, entries, shape, normalize: bool):
    """Basic indexing (static ints/slices, None, traced scalars): slice, rev,
    dynamic_slice, then one reshape that drops int axes and adds None axes."""
    starts, limits, strides, rev, out_shape, dyn = [], [], [], [], [], {}
    for e in _expand_ellipsis(entries, len(shape)):
        if e.typ == _NONE:
            out_shape.append(1)
            continue
        (axis,) = e.axes
        size = shape[axis]
        if e.typ in (_INT, _ARRAY) and size == 0:
            raise IndexError(f"index is out of bounds for axis {axis} with size 0")
        if e.typ == _INT:
            i = e.value + size if (normalize and e.value < 0) else e.value
            i = min(max(i, 0), size - 1)
            starts.append(i), limits.append(i + 1), strides.append(1)
        elif e.typ == _ARRAY:  # traced scalar index
            dyn[axis] = _index_array(e.value, size, normalize)
            starts.append(0), limits.append(size), strides.append(1)
        else:
            start, stop, step = e.value.indices(size)
            if step < 0:
                new_start = min(size, stop + 1 + abs(start - stop - 1) % abs(step))
                starts.append(new_start), limits.append(max(new_start, start + 1))
                rev.append(axis)
            else:
                starts.append(start), limits.append(max(start, stop))
            strides.append(abs(step))
            out_shape.append(len(range(start, stop, step)))
    y = x
    if starts != [0] * len(shape) or limits != list(shape) or any(s != 1 for s in strides):
        y = P.slice(y, starts, limits, None if all(s == 1 for s in strides) else strides)
    if rev:
        y = P.rev(y, rev)
    if dyn:
        y_shape = shape_of(y)
        y = P.dynamic_slice(y, [dyn.get(a, np.int32(0)) for a in range(len(y_shape))],
                            [1 if a in dyn else d for a, d in enumerate(y_shape)])
    if shape_of(y) != tuple(out_shape):
        y = P.reshape(y, out_shape)
    return y


def getitem(x, idx, *, indices_are_sorted=False, unique_indices=False, mode=None,
            fill_value=None, wrap_negative_indices=True):
    """``x[idx]`` with numpy semantics (as ``jax.numpy`` indexing).

    Args:
      x: array (tracer, jax/numpy array or scalar).
      idx: int, slice, None, Ellipsis, integer array (traced or not), concrete
        boolean mask, or a tuple of those.
      indices_are_sorted, unique_indices: gather hints (as ``x.at[idx].get``).
      mode: out-of-bounds handling (``None``/'promise_in_bounds': clamp; 'clip';
        'fill' returns ``fill_value``, NaN by default for floats).
      fill_value: value for out-of-bounds indices with ``mode='fill'``.
      wrap_negative_indices: whether negative indices count from the end.

    Returns:
      The indexed array.

    Raises:
      IndexError: static int index out of range, too many indices, mask shape
        mismatch; ``NonConcreteBooleanIndexError`` for a traced boolean mask.
    """
    shape = shape_of(x)
    entries, shape, bool_dims = _parse(idx, shape)
    if mode is None or GatherScatterMode.from_any(mode) == GatherScatterMode.PROMISE_IN_BOUNDS:
        _check_static_ints(entries, shape, wrap_negative_indices)
    if bool_dims:
        x = P.reshape(x, shape)
    if not _is_advanced(entries) and _mode_allows_slicing(mode):
        return _slice_index(x, entries, shape, wrap_negative_indices)
    indexer = _index_to_gather(entries, shape, wrap_negative_indices)
    if 0 in indexer.slice_shape:
        return _zeros_like(x, indexer.slice_shape)
    if mode is None:
        mode = GatherScatterMode.PROMISE_IN_BOUNDS
    y = x
    if not isinstance(indexer.gather_indices, np.ndarray) or indexer.gather_indices.size:
        y = P.gather(x, indexer.gather_indices, indexer.dnums, indexer.gather_slice_shape,
                     unique_indices=unique_indices or indexer.unique_indices,
                     indices_are_sorted=indices_are_sorted or indexer.indices_are_sorted,
                     mode=mode, fill_value=fill_value)
    if indexer.reversed_y_dims:
        y = P.rev(y, indexer.reversed_y_dims)
    if shape_of(y) != indexer.slice_shape:
        y = P.reshape(y, indexer.slice_shape)
    return y


# --- take, take_along_axis (jnp keeps them with indexing too) ---------------------------
def take(a, indices, axis=None, out=None, mode=None, unique_indices=False,
         indices_are_sorted=False, fill_value=None):
    """Take elements along an axis (as jnp.take; flattened when ``axis`` is None).

    Out-of-bounds indices: ``mode=None``/'fill' returns ``fill_value`` (NaN for
    floats, the minimum for signed ints), 'clip' clamps, 'wrap' wraps around.
    """
    if out is not None:
        raise NotImplementedError("take: the 'out' argument is not supported")
    a, indices = _arr(a), _arr(indices)
    if axis is None:
        a, axis = ravel(a), 0
    shape = shape_of(a)
    axis = canonicalize_axis(operator.index(axis), len(shape), "take")
    n = shape[axis]
    if mode is None or mode == "fill":
        gmode = GatherScatterMode.FILL_OR_DROP
        indices = _wrap_negative(indices, n)
    elif mode == "wrap":
        indices = _wrap_mod(indices, n)
        gmode = GatherScatterMode.PROMISE_IN_BOUNDS
    elif mode == "clip":
        gmode = GatherScatterMode.CLIP
    elif mode == "raise":
        raise NotImplementedError("take: mode='raise' is not supported")
    else:
        raise ValueError(f"take: invalid mode {mode!r} (use 'fill', 'clip' or 'wrap')")
    ishape = shape_of(indices)
    out_shape = shape[:axis] + ishape + shape[axis + 1:]
    if n == 0:
        if math.prod(ishape):
            raise IndexError("Cannot do a non-empty take() from an empty axis.")
        return a
    if math.prod(ishape) == 0:
        return _zeros_like(a, out_shape)
    nd_i = len(ishape)
    dnums = GatherDimensionNumbers(
        offset_dims=tuple(range(axis)) + tuple(range(axis + nd_i, len(shape) + nd_i - 1)),
        collapsed_slice_dims=(axis,), start_index_map=(axis,))
    sizes = list(shape)
    sizes[axis] = 1
    return P.gather(a, _expand_last(indices), dnums, tuple(sizes), mode=gmode,
                    fill_value=fill_value, unique_indices=unique_indices,
                    indices_are_sorted=indices_are_sorted)


def _expand_last(i):
    if isinstance(i, np.ndarray):
        return i[..., None]
    shape = shape_of(i)
    return P.reshape(i, shape + (1,))


def _as_index(i):
    if isinstance(i, (np.ndarray, np.generic, int)):
        arr = np.asarray(i)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"indices must be of integer type, got {arr.dtype}")
        return arr.astype(_INDEX_DTYPE) if arr.dtype.kind == "i" else arr
    dt = get_aval(i).dtype
    if dt.kind not in "iu":
        raise TypeError(f"indices must be of integer type, got {dt}")
    return i


def _wrap_negative(i, n):
    i = _as_index(i)
    if isinstance(i, np.ndarray):
        return np.where(i < 0, i + n, i).astype(i.dtype) if i.dtype.kind == "i" else i
    if get_aval(i).dtype.kind == "u":
        return i
    return P.select_n(P.lt(i, 0), i, P.add(i, n))


def _wrap_mod(i, n):
    i = _as_index(i)
    if isinstance(i, np.ndarray):
        return np.mod(i, n).astype(i.dtype)
    r = P.rem(i, n)
    return r if get_aval(i).dtype.kind == "u" else P.select_n(P.lt(r, 0), r, P.add(r, n))


def _to_i32(i):
    if isinstance(i, np.ndarray):
        return i.astype(_INDEX_DTYPE)
    return i if get_aval(i).dtype == _INDEX_DTYPE else P.convert_element_type(i, _INDEX_DTYPE)


def _iota_like(shape, dim):
    """int32 iota along ``dim``, broadcast to ``shape``."""
    return P.broadcast_in_dim(P.iota(_INDEX_DTYPE, shape[dim]), shape, (dim,))


def take_along_axis(arr, indices, axis=-1, mode=None, fill_value=None, *,
                    wrap_negative_indices=None):
    """Take values along ``axis`` at matching 1-D index slices (as jnp.take_along_axis).

    ``indices`` has ``arr``'s rank and broadcasts against it off ``axis``;
    out-of-bounds indices fill (mode None/'fill'), or clamp with 'clip'.
    """
    arr, indices = _arr(arr), _as_index(_arr(indices))
    if axis is None:
        if len(shape_of(indices)) != 1:
            raise ShapeError(f"take_along_axis: indices must be 1-D when axis=None, got shape "
                             f"{shape_of(indices)}")
        arr, axis = ravel(arr), 0
    shape, ishape = shape_of(arr), shape_of(indices)
    if len(shape) != len(ishape):
        raise ShapeError(f"take_along_axis: indices and arr must have the same number of "
                         f"dimensions; {len(ishape)} vs. {len(shape)} (shapes {ishape} and "
                         f"{shape})")
    axis = canonicalize_axis(axis, len(shape), "take_along_axis")
    arr_b = shape[:axis] + (1,) + shape[axis + 1:]
    out_shape = _util.broadcast_shapes(ishape, arr_b, op="take_along_axis")
    if shape[axis] == 0:
        return _zeros_like(arr, out_shape)
    if wrap_negative_indices is None:
        wrap_negative_indices = mode != "promise_in_bounds"
    if wrap_negative_indices:
        indices = _wrap_negative(indices, shape[axis])
    indices = _to_i32(indices)
    # squeeze the size-1 axes of arr that indices broadcast over (their index is 0)
    keep = [d for d in range(len(shape)) if d == axis or shape[d] != 1 or out_shape[d] == 1]
    if len(keep) != len(shape):
        arr = P.reshape(arr, tuple(shape[d] for d in keep))
    full = out_shape + (1,)
    pieces = [_util.broadcast_to(indices, out_shape) if d == axis else _iota_like(out_shape, d)
              for d in keep]
    pieces = [P.reshape(p, full) for p in pieces]
    stacked = pieces[0] if len(pieces) == 1 else P.concatenate(pieces, len(out_shape))
    k = len(keep)
    dnums = GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=tuple(range(k)),
                                   start_index_map=tuple(range(k)))
    gmode = GatherScatterMode.FILL_OR_DROP if mode is None else mode
    return P.gather(arr, stacked, dnums, (1,) * k, mode=gmode, fill_value=fill_value)


# --- x.at[idx] -------------------------------------------------------------------
def _scatter_update(x, idx, y, scatter_op, *, indices_are_sorted=False, unique_indices=False,
                    mode=None, wrap_negative_indices=True, op_name="set"):
    """``x[idx] (op)= y`` without mutation: one scatter (port of jnp's _scatter_update)."""
    x_aval = get_aval(x)
    entries, shape, bool_dims = _parse(idx, x_aval.shape)
    if mode is None:
        _check_static_ints(entries, shape, wrap_negative_indices)
    indexer = _index_to_gather(entries, shape, wrap_negative_indices)
    if 0 in indexer.slice_shape:
        return x
    if (type(y) is int and x_aval.dtype.kind in "iu"
            and np.iinfo(x_aval.dtype).min <= y <= np.iinfo(x_aval.dtype).max):
        y = np.asarray(y, x_aval.dtype)
    if result_type_of(x, y)[0] != x_aval.dtype:
        warnings.warn(f"scatter inputs have incompatible types: cannot safely cast value from "
                      f"dtype={get_aval(y).dtype} to dtype={x_aval.dtype}; the result is cast "
                      f"back to {x_aval.dtype} (as jax.numpy does, which will make this an "
                      f"error in the future).", FutureWarning, stacklevel=4)
    x_p, y = promote(x, y)
    y = broadcast_to(y, indexer.slice_shape, op=f".at[].{op_name}")
    if indexer.newaxis_dims:
        y = P.reshape(y, [d for i, d in enumerate(indexer.slice_shape)
                          if i not in indexer.newaxis_dims])
    if indexer.reversed_y_dims:
        y = P.rev(y, indexer.reversed_y_dims)
    if bool_dims:
        x_p = P.reshape(x_p, shape)
    dnums = ScatterDimensionNumbers(
        update_window_dims=indexer.dnums.offset_dims,
        inserted_window_dims=indexer.dnums.collapsed_slice_dims,
        scatter_dims_to_operand_dims=indexer.dnums.start_index_map)
    out = scatter_op(x_p, indexer.gather_indices, y, dnums,
                     indices_are_sorted=indexer.indices_are_sorted or indices_are_sorted,
                     unique_indices=indexer.unique_indices or unique_indices,
                     mode=GatherScatterMode.FILL_OR_DROP if mode is None else mode)
    if bool_dims:
        out = P.reshape(out, x_aval.shape)
    out_aval = get_aval(out)
    if out_aval.dtype != x_aval.dtype or out_aval.weak_type != x_aval.weak_type:
        out = P.convert_element_type(out, x_aval.dtype, weak_type=x_aval.weak_type)
    return out


def _ones_like(x):
    aval = get_aval(x)
    return P.broadcast_in_dim(np.ones((), aval.dtype), aval.shape, ())


class _IndexUpdateRef:
    """``x.at[idx]``: methods return updated copies of ``x`` (jax's _IndexUpdateRef).

    Each update method takes ``(values, *, indices_are_sorted=False,
    unique_indices=False, mode=None, wrap_negative_indices=True)``; repeated
    indices accumulate for add/multiply/min/max, and for ``set`` one of the
    values wins (unspecified which, as in jax).
    """
    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def __repr__(self):
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None,
            fill_value=None, wrap_negative_indices=True):
        """Equivalent to ``x[idx]``, with gather options (see :func:`getitem`)."""
        return getitem(self.array, self.index, indices_are_sorted=indices_are_sorted,
                       unique_indices=unique_indices, mode=mode, fill_value=fill_value,
                       wrap_negative_indices=wrap_negative_indices)

    def _update(self, op_name, scatter_op, values, **kwargs):
        return _scatter_update(self.array, self.index, values, scatter_op, op_name=op_name,
                               **kwargs)

    def set(self, values, **kwargs):
        """Pure equivalent of ``x[idx] = values``."""
        return self._update("set", P.scatter, values, **kwargs)

    def add(self, values, **kwargs):
        """Pure equivalent of ``x[idx] += values``."""
        return self._update("add", P.scatter_add, values, **kwargs)

    def subtract(self, values, **kwargs):
        """Pure equivalent of ``x[idx] -= values``."""
        return self._update("subtract", P.scatter_sub, values, **kwargs)

    def multiply(self, values, **kwargs):
        """Pure equivalent of ``x[idx] *= values``."""
        return self._update("multiply", P.scatter_mul, values, **kwargs)

    mul = multiply

    def divide(self, values, **kwargs):
        """Pure equivalent of ``x[idx] /= values``."""
        return divide(self.array, _scatter_update(_ones_like(self.array), self.index, values,
                                                      P.scatter_mul, op_name="divide", **kwargs))

    def power(self, values, **kwargs):
        """Pure equivalent of ``x[idx] **= values``."""
        return power(self.array, _scatter_update(_ones_like(self.array), self.index, values,
                                                     P.scatter_mul, op_name="power", **kwargs))

    def min(self, values, **kwargs):
        """Pure equivalent of ``x[idx] = minimum(x[idx], values)``."""
        return self._update("min", P.scatter_min, values, **kwargs)

    def max(self, values, **kwargs):
        """Pure equivalent of ``x[idx] = maximum(x[idx], values)``."""
        return self._update("max", P.scatter_max, values, **kwargs)


class _IndexUpdateHelper:
    """The ``x.at`` property: ``x.at[idx].set(y)`` is the pure ``x[idx] = y``.

    ==============================  ================================
    ``x.at[idx].set(y)``            ``x[idx] = y``
    ``x.at[idx].add(y)``            ``x[idx] += y``
    ``x.at[idx].subtract(y)``       ``x[idx] -= y``
    ``x.at[idx].multiply(y)``       ``x[idx] *= y`` (alias ``mul``)
    ``x.at[idx].divide(y)``         ``x[idx] /= y``
    ``x.at[idx].power(y)``          ``x[idx] **= y``
    ``x.at[idx].min(y)``            ``x[idx] = minimum(x[idx], y)``
    ``x.at[idx].max(y)``            ``x[idx] = maximum(x[idx], y)``
    ``x.at[idx].get()``             ``x[idx]``
    ==============================  ================================
    """
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.array!r})"


def at(x) -> _IndexUpdateHelper:
    """``x.at`` for any array (tracer, jax or numpy array): ``at(x)[idx].add(y)``."""
    return _IndexUpdateHelper(x)
