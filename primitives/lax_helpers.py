"""jax.lax's convenience functions, written on our primitives (no new primitive).

Creation (``full``, ``full_like``, ``empty``), broadcasting (``broadcast``,
``broadcast_like``, ``broadcast_to_rank``, ``broadcast_shapes``), reshaping
(``collapse``, ``split``, ``stack``, ``unstack``, ``tile``), slicing in one
dimension (``slice_in_dim``, ``index_in_dim``, ``dynamic_*_in_dim``,
``index_take``), ``select``, ``sort_key_val``, ``batch_matmul``,
``scatter_apply``, ``shape_as_value``, ``stage``, ``composite``,
``platform_dependent``, and jax.lax's enum / parameter types re-exported
(``Precision``, ``DotAlgorithmPreset``, ``RoundingMethod``, ...: users pass
them as params to our ops, which accept them as jax.lax's do).

Every function is differentiable and vmappable because its primitives are.

Example::

    >>> import primitives as P
    >>> P.slice_in_dim(fnp.arange(6.0), 1, None, stride=2)   # [1., 3., 5.]

References:
    jax/_src/lax/lax.py and jax/_src/lax/slicing.py (the same functions).
"""
from __future__ import annotations

import builtins
import functools
import math
from typing import Callable, Sequence

import numpy as np
import jax
from jax import lax as _lax

from fx.core import Tracer, canonical_dtype, cast_vma, get_aval
from fx.errors import FxTypeError, ShapeError
from primitives.elementwise import convert_element_type, rem, select_n
from primitives.indexing import GatherDimensionNumbers, _gather_windows, gather, scatter
from primitives.linalg import dot_general
from primitives.reductions import sort
from primitives.shape import (broadcast_in_dim, concatenate, expand_dims, reshape, slice,
                              squeeze)
from primitives.slicing import dynamic_slice, dynamic_update_slice

__all__ = [
    "full", "full_like", "empty", "broadcast", "broadcast_like", "broadcast_to_rank",
    "broadcast_shapes", "collapse", "split", "stack", "unstack", "tile", "slice_in_dim",
    "index_in_dim", "dynamic_slice_in_dim", "dynamic_index_in_dim", "dynamic_update_slice_in_dim",
    "dynamic_update_index_in_dim", "index_take", "select", "sort_key_val", "batch_matmul",
    "scatter_apply", "shape_as_value", "stage", "composite", "platform_dependent", "dtype",
    "Precision", "PrecisionLike", "DotAlgorithm", "DotAlgorithmPreset", "DotDimensionNumbers",
    "RoundingMethod", "RandomAlgorithm", "Tolerance", "AccuracyMode",
    "RaggedDotDimensionNumbers"]

# jax.lax's parameter types: plain types (enums, NamedTuples) users pass to our ops
Precision = _lax.Precision
PrecisionLike = _lax.PrecisionLike
DotAlgorithm = _lax.DotAlgorithm
DotAlgorithmPreset = _lax.DotAlgorithmPreset
DotDimensionNumbers = _lax.DotDimensionNumbers
RoundingMethod = _lax.RoundingMethod
RandomAlgorithm = _lax.RandomAlgorithm
Tolerance = _lax.Tolerance
AccuracyMode = _lax.AccuracyMode
RaggedDotDimensionNumbers = _lax.RaggedDotDimensionNumbers
dtype = _lax.dtype   # jax's dtype-of-anything (a Python function on types)


def _ndim(x) -> int:
    return get_aval(x).ndim


def _shape(x) -> tuple:
    return tuple(get_aval(x).shape)


def _axis(axis: int, ndim: int, op: str) -> int:
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of bounds for an array of rank {ndim}; "
                         f"pass an axis in {-ndim}..{ndim - 1}.")
    return axis % ndim


# --- creation -------------------------------------------------------------------------------
def full(shape, fill_value, dtype=None, *, sharding=None):
    """An array of ``shape`` filled with the scalar ``fill_value`` (lax.full).

    Args:
      shape: the output shape.
      fill_value: a scalar (weakly typed when a Python scalar and ``dtype`` is None).
      dtype: the output dtype (default: ``fill_value``'s).
      sharding: accepted for jax's signature; ignored (use with_sharding_constraint).

    Returns:
      The filled array.

    References:
      jax.lax.full.
    """
    shape = tuple(int(d) for d in shape)
    if _ndim(fill_value):
        raise FxTypeError(f"full must be called with scalar fill_value, got fill_value.shape "
                          f"{_shape(fill_value)}.")
    if dtype is None:
        value = fill_value   # keeps its (weak) type
    else:
        value = convert_element_type(fill_value, canonical_dtype(dtype), weak_type=False)
    return broadcast_in_dim(value, shape, ())


def full_like(x, fill_value, dtype=None, shape=None, sharding=None):
    """An array like ``x`` (shape, dtype, weak type) filled with ``fill_value`` (lax.full_like).

    Args:
      x: the template array.
      fill_value: a scalar.
      dtype: overrides ``x``'s dtype.
      shape: overrides ``x``'s shape.
      sharding: accepted for jax's signature; ignored.

    Returns:
      The filled array.

    References:
      jax.lax.full_like.
    """
    aval = get_aval(x)
    fill_shape = aval.shape if shape is None else tuple(int(d) for d in shape)
    weak = dtype is None and aval.weak_type
    out_dtype = aval.dtype if dtype is None else canonical_dtype(dtype)
    out = broadcast_in_dim(convert_element_type(fill_value, out_dtype, weak_type=weak),
                           fill_shape, ())
    return cast_vma(out, aval.vma) if aval.vma else out  # as jax: varies as x does


def empty(shape, dtype, *, out_sharding=None):
    """An array of ``shape`` and ``dtype`` with unspecified contents (lax.empty): zeros here,
    as XLA has no uninitialized memory.

    Args:
      shape: the shape. dtype: the dtype. out_sharding: ignored.

    Returns:
      The array.

    References:
      jax.lax.empty.
    """
    return full(shape, 0, dtype)


# --- broadcasting ---------------------------------------------------------------------------
def broadcast(operand, sizes: Sequence[int], *, out_sharding=None):
    """Add leading dimensions of ``sizes`` to ``operand`` (lax.broadcast).

    Args:
      operand: an array. sizes: the new leading dimensions. out_sharding: ignored.

    Returns:
      An array of shape ``sizes + operand.shape``.

    References:
      jax.lax.broadcast.
    """
    sizes = tuple(int(s) for s in sizes)
    n = _ndim(operand)
    return broadcast_in_dim(operand, sizes + _shape(operand),
                            tuple(range(len(sizes), len(sizes) + n)))


def broadcast_like(arr, like_arr):
    """``arr`` broadcast with leading dimensions to the shape of ``like_arr`` (lax.broadcast_like).

    Args:
      arr: the array. like_arr: the array whose shape to take.

    Returns:
      The broadcast array.

    References:
      jax.lax.broadcast_like.
    """
    shape, own = _shape(like_arr), _shape(arr)
    return broadcast(arr, shape[:len(shape) - len(own)])


def broadcast_to_rank(x, rank: int):
    """``x`` with leading size-1 dimensions added up to ``rank`` (lax.broadcast_to_rank).

    Args:
      x: the array. rank: the wanted rank.

    Returns:
      The array of rank ``rank``.

    References:
      jax.lax.broadcast_to_rank.
    """
    n = _ndim(x)
    if n == rank:
        return x if isinstance(x, Tracer) else jax.numpy.asarray(x)
    return broadcast(x, (1,) * (rank - n))


def broadcast_shapes(*shapes):
    """The NumPy broadcast of ``shapes`` (lax.broadcast_shapes; a tuple of ints).

    Args:
      *shapes: tuples of ints.

    Returns:
      The broadcast shape.

    References:
      jax.lax.broadcast_shapes.
    """
    return _lax.broadcast_shapes(*shapes)


# --- reshaping ------------------------------------------------------------------------------
def collapse(operand, start_dimension: int, stop_dimension: int | None = None):
    """Merge dimensions ``[start_dimension, stop_dimension)`` into one (lax.collapse).

    Args:
      operand: the array. start_dimension, stop_dimension: the range (Python slice rules).

    Returns:
      The reshaped array.

    References:
      jax.lax.collapse.
    """
    shape = _shape(operand)
    lo, hi, _ = builtins.slice(start_dimension, stop_dimension).indices(len(shape))
    if hi < lo:
        raise ShapeError(f"Invalid dimension range passed to collapse: "
                         f"{shape}[{start_dimension}:{stop_dimension}]")
    return reshape(operand, shape[:lo] + (math.prod(shape[lo:hi]),) + shape[hi:])


def split(operand, sizes: Sequence[int], axis: int = 0):
    """Split ``operand`` along ``axis`` into pieces of ``sizes`` (lax.split).

    Args:
      operand: the array. sizes: piece sizes summing to the axis size. axis: the axis.

    Returns:
      A list of arrays. (jax.lax has a ``split`` primitive; ours is static slices.)

    References:
      jax.lax.split.
    """
    shape = _shape(operand)
    axis = _axis(axis, len(shape), "split")
    sizes = tuple(int(s) for s in sizes)
    if any(s < 0 for s in sizes) or sum(sizes) != shape[axis]:
        raise ShapeError(f"split: sizes {sizes} must be nonnegative and sum to the size of "
                         f"axis {axis} of an operand of shape {shape} ({shape[axis]}).")
    out, start = [], 0
    for s in sizes:
        lo = [0] * len(shape)
        lo[axis] = start
        hi = list(shape)
        hi[axis] = start + s
        out.append(slice(operand, lo, hi))
        start += s
    return out


def stack(operands: Sequence, axis: int = 0):
    """Stack equal-shaped arrays along a new ``axis`` (lax.stack).

    Args:
      operands: arrays of one shape and dtype. axis: the new axis.

    Returns:
      The stacked array.

    References:
      jax.lax.stack.
    """
    operands = list(operands)
    if not operands:
        raise ShapeError("stack: need at least one operand.")
    axis = _axis(axis, _ndim(operands[0]) + 1, "stack")
    return concatenate([expand_dims(x, (axis,)) for x in operands], axis)


def unstack(x, axis: int = 0):
    """Split ``x`` along ``axis`` into a tuple of arrays without that axis (lax.unstack).

    Args:
      x: the array. axis: the axis.

    Returns:
      A tuple of ``x.shape[axis]`` arrays.

    References:
      jax.lax.unstack.
    """
    axis = _axis(axis, _ndim(x), "unstack")
    return tuple(index_in_dim(x, i, axis, keepdims=False) for i in range(_shape(x)[axis]))


def tile(operand, reps: Sequence[int]):
    """Repeat ``operand`` ``reps[i]`` times along each axis i (lax.tile; len(reps) == ndim).

    Args:
      operand: the array. reps: one repetition count per axis.

    Returns:
      The tiled array.

    References:
      jax.lax.tile.
    """
    shape, reps = _shape(operand), tuple(int(r) for r in reps)
    if len(reps) != len(shape) or any(r < 0 for r in reps):
        raise ShapeError(f"tile: reps {reps} must give one nonnegative count per axis of an "
                         f"operand of shape {shape}.")
    inter = tuple(x for r, d in zip(reps, shape) for x in (r, d))
    dims = tuple(range(1, 2 * len(shape), 2))
    return reshape(broadcast_in_dim(operand, inter, dims),
                   tuple(r * d for r, d in zip(reps, shape)))


# --- slicing in one dimension ---------------------------------------------------------------
def slice_in_dim(operand, start_index: int | None, limit_index: int | None, stride: int = 1,
                 axis: int = 0):
    """``operand[..., start_index:limit_index:stride]`` along ``axis`` (lax.slice_in_dim).

    Args:
      operand: the array. start_index, limit_index: bounds (None: the ends; negative
        counts from the end). stride: the step. axis: the axis.

    Returns:
      The slice.

    References:
      jax.lax.slice_in_dim.
    """
    shape = _shape(operand)
    axis = int(axis)
    n = shape[axis]
    start = 0 if start_index is None else int(start_index)
    limit = n if limit_index is None else int(limit_index)
    start, limit = start + n if start < 0 else start, limit + n if limit < 0 else limit
    lo, hi, st = [0] * len(shape), list(shape), [1] * len(shape)
    lo[axis], hi[axis], st[axis] = start, limit, int(stride)
    return slice(operand, lo, hi, st)


def index_in_dim(operand, index: int, axis: int = 0, keepdims: bool = True):
    """``operand[..., index]`` along ``axis`` (lax.index_in_dim; static index).

    Args:
      operand: the array. index: the index (negative counts from the end). axis: the
        axis. keepdims: keep the indexed axis with size 1.

    Returns:
      The sub-array.

    Raises:
      IndexError: for an index out of bounds, as jax.

    References:
      jax.lax.index_in_dim.
    """
    index, axis = int(index), int(axis)
    n = _shape(operand)[axis]
    wrapped = index + n if index < 0 else index
    if not 0 <= wrapped < n:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {n}")
    out = slice_in_dim(operand, wrapped, wrapped + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


def _zero_index_like(index):
    aval = get_aval(index)
    return np.zeros((), aval.dtype) if not aval.weak_type else 0


def dynamic_slice_in_dim(operand, start_index, slice_size: int, axis: int = 0, *,
                         allow_negative_indices: bool = True):
    """``operand[..., start:start + slice_size]`` along ``axis`` at a traced ``start``
    (lax.dynamic_slice_in_dim; clamped to fit, negative starts count from the end).

    Args:
      operand: the array. start_index: an integer scalar. slice_size: static size.
      axis: the axis. allow_negative_indices: accepted for jax's signature (negative
        starts always count from the end here).

    Returns:
      The slice.

    References:
      jax.lax.dynamic_slice_in_dim.
    """
    shape = _shape(operand)
    axis = int(axis)
    starts = [_zero_index_like(start_index)] * len(shape)
    starts[axis] = start_index
    sizes = list(shape)
    sizes[axis] = int(slice_size)
    return dynamic_slice(operand, starts, sizes)


def dynamic_index_in_dim(operand, index, axis: int = 0, keepdims: bool = True, *,
                         allow_negative_indices: bool = True):
    """``operand[..., index]`` along ``axis`` at a traced ``index`` (lax.dynamic_index_in_dim).

    Args:
      operand: the array. index: an integer scalar (clamped). axis: the axis.
      keepdims: keep the axis with size 1. allow_negative_indices: as jax's.

    Returns:
      The sub-array.

    References:
      jax.lax.dynamic_index_in_dim.
    """
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else squeeze(out, (int(axis) % _ndim(operand),))


def dynamic_update_slice_in_dim(operand, update, start_index, axis: int, *,
                                allow_negative_indices: bool = True):
    """Write ``update`` into ``operand`` at traced ``start_index`` along ``axis``
    (lax.dynamic_update_slice_in_dim; clamped to fit).

    Args:
      operand: the array. update: the new values (same rank). start_index: an integer
      scalar. axis: the axis. allow_negative_indices: as jax's.

    Returns:
      The updated array.

    References:
      jax.lax.dynamic_update_slice_in_dim.
    """
    axis = int(axis)
    starts = [_zero_index_like(start_index)] * _ndim(operand)
    starts[axis] = start_index
    return dynamic_update_slice(operand, update, starts)


def dynamic_update_index_in_dim(operand, update, index, axis: int, *,
                                allow_negative_indices: bool = True):
    """Write ``update`` (with or without the ``axis`` dimension) at traced ``index`` along
    ``axis`` (lax.dynamic_update_index_in_dim).

    Args:
      operand: the array. update: the slice. index: an integer scalar. axis: the axis.
      allow_negative_indices: as jax's.

    Returns:
      The updated array.

    References:
      jax.lax.dynamic_update_index_in_dim.
    """
    axis = int(axis)
    if _ndim(update) != _ndim(operand):
        if _ndim(update) + 1 != _ndim(operand):
            raise ShapeError(f"dynamic_update_index_in_dim: update of rank {_ndim(update)} "
                             f"does not fit an operand of rank {_ndim(operand)}.")
        update = expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(operand, update, index, axis)


def index_take(src, idxs, axes: Sequence[int]):
    """``src`` indexed by one integer index array per axis of ``axes`` (lax.index_take;
    indices wrap modulo the axis sizes).

    Args:
      src: the array. idxs: a sequence of equal-shaped 1-d integer arrays. axes: the axes.

    Returns:
      The gathered array (leading axis: the indices).

    References:
      jax.lax.index_take.
    """
    shape = _shape(src)
    indices = concatenate([expand_dims(i, (1,)) for i in idxs], 1)
    ishape = _shape(indices)
    max_idx = np.array([shape[ax] for ax in axes], get_aval(indices).dtype)
    indices = rem(indices, broadcast_in_dim(max_idx, ishape, (len(ishape) - 1,)))
    slice_sizes = list(shape)
    for ax in axes:
        slice_sizes[ax] = 1
    dnums = GatherDimensionNumbers(offset_dims=tuple(range(1, len(shape) - ishape[1] + 1)),
                                   collapsed_slice_dims=tuple(axes), start_index_map=tuple(axes))
    return gather(src, indices, dnums, tuple(slice_sizes))


# --- selection, sorting, products -----------------------------------------------------------
def select(pred, on_true, on_false):
    """Elementwise ``on_true`` where ``pred`` else ``on_false`` (lax.select).

    Args:
      pred: a boolean array. on_true, on_false: arrays of ``pred``'s shape.

    Returns:
      The selection (``select_n(pred, on_false, on_true)``).

    References:
      jax.lax.select.
    """
    return select_n(pred, on_false, on_true)


def sort_key_val(keys, values, dimension: int = -1, is_stable: bool = True):
    """Sort ``keys`` along ``dimension`` and ``values`` with them (lax.sort_key_val).

    Args:
      keys: the sort keys. values: an array of ``keys``' shape. dimension: the axis.
      is_stable: keep the order of equal keys.

    Returns:
      ``(sorted keys, values in the same order)``.

    References:
      jax.lax.sort_key_val.
    """
    k, v = sort((keys, values), dimension=dimension, is_stable=is_stable, num_keys=1)
    return k, v


def batch_matmul(lhs, rhs, precision=None):
    """Batched matrix product over the leading dimensions (lax.batch_matmul).

    Args:
      lhs, rhs: arrays of one rank >= 2. precision: as dot_general's.

    Returns:
      ``lhs @ rhs`` batched over the leading dimensions.

    References:
      jax.lax.batch_matmul.
    """
    nl, nr = _ndim(lhs), _ndim(rhs)
    if min(nl, nr) < 2:
        raise ShapeError(f"Arguments to batch_matmul must be at least 2D, got {nl}, {nr}")
    if nl != nr:
        raise ShapeError(f"Arguments to batch_matmul must have same ndim, got {nl}, {nr}")
    batch = tuple(range(nl - 2))
    return dot_general(lhs, rhs, (((nl - 1,), (nr - 2,)), (batch, batch)), precision=precision)


def scatter_apply(operand, scatter_indices, func: Callable, dimension_numbers, *,
                  update_shape=(), indices_are_sorted: bool = False,
                  unique_indices: bool = False, mode=None):
    """``operand`` with ``func`` applied at the scattered indices (lax.scatter_apply).

    Implemented as gather -> ``func`` -> scatter, so a duplicated index has ``func``
    applied once (jax applies it once per occurrence) and the result is
    differentiable (jax's is not).

    Args:
      operand: the array. scatter_indices: the indices. func: an elementwise unary
        function. dimension_numbers: a ScatterDimensionNumbers. update_shape: the
        shape of the updates. indices_are_sorted, unique_indices, mode: as scatter's.

    Returns:
      The updated array.

    References:
      jax.lax.scatter_apply.
    """
    windows = _gather_windows(operand, scatter_indices, dimension_numbers,
                              tuple(update_shape), mode)
    return scatter(operand, scatter_indices, func(windows), dimension_numbers,
                   indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                   mode=mode)


# --- values, staging, decomposable ops ------------------------------------------------------
def shape_as_value(shape):
    """A shape as an integer array value (lax.shape_as_value; static shapes only).

    Args:
      shape: a tuple of ints.

    Returns:
      An int32 numpy array (int64 if a dimension needs it), as jax.

    References:
      jax.lax.shape_as_value.
    """
    return _lax.shape_as_value(tuple(int(d) for d in shape))


def stage(x, /):
    """Lift ``x`` into the active trace (lax.stage): the identity on our tracers; outside
    any trace a jax Array.

    Args:
      x: a value.

    Returns:
      ``x`` as an array.

    References:
      jax.lax.stage.
    """
    if isinstance(x, Tracer):
        return x
    return convert_element_type(x, get_aval(x).dtype, weak_type=get_aval(x).weak_type)


def composite(decomposition: Callable, name: str, version: int = 0):
    """Mark ``decomposition`` as a named composite op (lax.composite). Ours traces and
    lowers the decomposition inline (no ``stablehlo.composite`` wrapper): the values and
    every transformation are those of the decomposition.

    Args:
      decomposition: the function. name: the composite's name. version: its version.

    Returns:
      The wrapped function.

    References:
      jax.lax.composite.
    """
    @functools.wraps(decomposition)
    def wrapper(*args, **kwargs):
        if any(isinstance(v, Tracer) for v in kwargs.values()):
            raise FxTypeError(f"composite {name!r}: keyword attributes must be static "
                              f"(Python or numpy values), got a traced value. Fix: pass it "
                              f"as a positional argument.")
        return decomposition(*args, **kwargs)
    return wrapper


def _platform() -> str:
    dev = jax.devices()[0]
    if dev.platform == "gpu":
        return "rocm" if "rocm" in getattr(dev.client, "platform_version", "").lower() else "cuda"
    return dev.platform


def platform_dependent(*args, default: Callable | None = None, **per_platform: Callable):
    """Call the branch for the platform we run on (lax.platform_dependent).

    The platform is the default jax backend's, chosen when the function is traced (we
    lower for one platform at a time; jax can defer the choice to compile time for
    multi-platform lowering).

    Args:
      *args: the branches' arguments. default: the branch for unlisted platforms.
      **per_platform: ``cpu=``, ``cuda=``, ``rocm=``, ``tpu=`` branches.

    Returns:
      The branch's result.

    References:
      jax.lax.platform_dependent.
    """
    platform = _platform()
    fn = per_platform.get(platform)
    if fn is None and platform in ("cuda", "rocm"):
        fn = per_platform.get("gpu")
    if fn is None:
        fn = default
    if fn is None:
        raise NotImplementedError(f"platform_dependent: no branch for platform {platform!r} "
                                  f"and no default (branches: {sorted(per_platform)}).")
    return fn(*args)
