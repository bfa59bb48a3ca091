"""Dynamic slicing (as jax.lax): ``dynamic_slice`` and ``dynamic_update_slice``,
slices at traced start indices (clamped so they fit, as XLA does). Batched
start indices become one clamping gather / scatter (JAX's rules), which is why
these live beside ``indexing`` and not with the static shape ops.

Example::

    >>> P.dynamic_slice(fnp.arange(5.0), (3,), (2,))   # [3., 4.]
"""
from __future__ import annotations

import numpy as np
from jax import lax

from fx.ad import UndefinedPrimal, deflinear, zeros
from fx.batching import batch_size, bdim_at_front, moveaxis
from fx.core import Primitive, get_aval
from fx.dtypes import kind
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives._rules import fmt_avals, is_weak
from primitives.elementwise import add, convert_element_type, lt, mul
from primitives.indexing import (GatherDimensionNumbers, GatherScatterMode,
                                 ScatterDimensionNumbers, gather, scatter)
from primitives.shape import (_adopt_dtype, _ints, _shift, broadcast_in_dim, concatenate, slice,
                              squeeze)

__all__ = ["dynamic_slice", "dynamic_update_slice", "dynamic_slice_p", "dynamic_update_slice_p"]


# --- helpers shared by the blocks below ----------------------------------------
def _index_aval_check(op: str, x: ShapedArray, starts) -> None:
    if len(starts) != x.ndim:
        raise ShapeError(f"{op}: got {len(starts)} start indices for an operand {x.str_short()} "
                         f"of rank {x.ndim}; pass exactly one scalar start index per axis.")
    if any(s.ndim != 0 or kind(s.dtype) not in "iu" for s in starts):
        raise FxTypeError(f"{op}: start indices must be integer scalars, got "
                          f"{fmt_avals(starts)}.")
    strong = {s.dtype for s in starts if not s.weak_type}
    if len(strong) > 1:
        raise FxTypeError(f"{op}: start indices must share one integer dtype, got "
                          f"{fmt_avals(starts)}. Fix: convert them with .astype(jnp.int32).")


def _common_index_dtype(starts) -> np.dtype:
    """The dtype start indices share: the strong one's (weak ones adopt it), else int32."""
    strong = [get_aval(s).dtype for s in starts if not get_aval(s).weak_type]
    return strong[0] if strong else np.dtype(np.int32)


def _index_values(starts) -> list:
    """(Lowering only.) Weak start indices cast to the strong ones' dtype, as lax needs."""
    strong = [np.dtype(s.dtype) for s in starts if not is_weak(s)]
    return [_adopt_dtype(s, strong[0] if strong else np.int32) for s in starts]


def _split_starts(start_indices) -> tuple:
    """Start indices as a tuple of scalars (a 1-d array is split, as lax does)."""
    if hasattr(start_indices, "shape") and len(start_indices.shape) == 1:
        if isinstance(start_indices, np.ndarray):
            return tuple(start_indices)
        return tuple(squeeze(slice(start_indices, (i,), (i + 1,)), (0,))
                     for i in range(start_indices.shape[0]))
    return tuple(start_indices)


# --- dynamic_slice ---
dynamic_slice_p = Primitive("dynamic_slice")


@dynamic_slice_p.def_abstract_eval
def _dynamic_slice_aval(x, *starts, slice_sizes):
    _index_aval_check("dynamic_slice", x, starts)
    if len(slice_sizes) != x.ndim or any(not 0 <= n <= d for n, d in zip(slice_sizes, x.shape)):
        raise ShapeError(f"dynamic_slice: slice_sizes={slice_sizes} do not fit in "
                         f"{x.str_short()}: need one size per axis with 0 <= size <= axis size.")
    return ShapedArray(slice_sizes, x.dtype, x.weak_type)


dynamic_slice_p.def_lowering(lambda x, *starts, slice_sizes:
                             lax.dynamic_slice(x, _index_values(starts), slice_sizes))
deflinear(dynamic_slice_p, (0,))


@dynamic_slice_p.def_transpose
def _dynamic_slice_transpose(ct, x, *starts, slice_sizes):
    zero = zeros(ShapedArray(x.aval.shape, get_aval(ct).dtype))
    return [dynamic_update_slice(zero, ct, starts)] + [None] * len(starts)


@dynamic_slice_p.def_batch
def _dynamic_slice_batch(args, bdims, *, slice_sizes):
    (x, *starts), (x_bdim, *start_bdims) = args, bdims
    if any(d is not None for d in start_bdims):
        return _batched_index_dynamic_slice(x, x_bdim, starts, start_bdims, slice_sizes), 0
    size = get_aval(x).shape[x_bdim]
    return dynamic_slice(moveaxis(x, x_bdim, 0), (0, *starts), (size,) + slice_sizes), 0


def _batched_index_dynamic_slice(x, x_bdim, starts, start_bdims, slice_sizes):
    """Per-example start indices: one clamping gather (as JAX's rule)."""
    size = batch_size([x, *starts], [x_bdim, *start_bdims])
    operand_shape = tuple(s for a, s in enumerate(get_aval(x).shape) if a != x_bdim)
    index = _stack_batched_starts(starts, start_bdims, size, operand_shape)
    axes = tuple(range(len(operand_shape)))
    if x_bdim is None:
        dnums = GatherDimensionNumbers(offset_dims=_shift(axes), collapsed_slice_dims=(),
                                       start_index_map=axes)
    else:
        x, slice_sizes = moveaxis(x, x_bdim, 0), (min(size, 1),) + slice_sizes
        dnums = GatherDimensionNumbers(offset_dims=_shift(axes), collapsed_slice_dims=(),
                                       start_index_map=_shift(axes), operand_batching_dims=(0,),
                                       start_indices_batching_dims=(0,))
    return gather(x, index, dnums, slice_sizes, unique_indices=True, indices_are_sorted=True,
                  mode=GatherScatterMode.CLIP)


def _stack_batched_starts(starts, bdims, size: int, operand_shape):
    """The (size, ndim) index array of per-example start indices, with negative
    starts counted from the end (as lax.dynamic_slice does before clamping)."""
    dtype = _common_index_dtype(starts)
    columns = []
    for s, d, n in zip(starts, bdims, operand_shape):
        s = convert_element_type(bdim_at_front(s, d, size), dtype)
        if kind(dtype) == "i":
            s = add(s, mul(convert_element_type(lt(s, 0), dtype), np.array(n, dtype)))
        columns.append(broadcast_in_dim(s, (size, 1), (0,)))
    return concatenate(columns, 1)


def dynamic_slice(operand, start_indices, slice_sizes):
    """The slice of ``slice_sizes`` starting at traced ``start_indices`` (lax.dynamic_slice).

    Negative start indices count from the end; starts are then clamped so the
    slice fits (XLA semantics): ``dynamic_slice(x, [9], [2])`` of an ``x`` of
    size 5 is ``x[3:5]``.
    """
    return dynamic_slice_p.bind(operand, *_split_starts(start_indices),
                                slice_sizes=_ints(slice_sizes))


# --- dynamic_update_slice ---
dynamic_update_slice_p = Primitive("dynamic_update_slice")


@dynamic_update_slice_p.def_abstract_eval
def _dynamic_update_slice_aval(x, update, *starts):
    _index_aval_check("dynamic_update_slice", x, starts)
    if update.ndim != x.ndim or any(u > d for u, d in zip(update.shape, x.shape)):
        raise ShapeError(f"dynamic_update_slice: update {update.str_short()} does not fit in "
                         f"operand {x.str_short()}: it needs the same rank and no larger axes.")
    if update.dtype != x.dtype and not update.weak_type:
        raise FxTypeError(f"dynamic_update_slice: operand and update must have the same dtype, "
                          f"got {fmt_avals([x, update])}. Fix: cast the update.")
    return x


dynamic_update_slice_p.def_lowering(lambda x, update, *starts: lax.dynamic_update_slice(
    x, _adopt_dtype(update, get_aval(x).dtype), _index_values(starts)))
deflinear(dynamic_update_slice_p, (0, 1))


@dynamic_update_slice_p.def_transpose
def _dynamic_update_slice_transpose(ct, x, update, *starts):
    update_shape = (update.aval if isinstance(update, UndefinedPrimal) else get_aval(update)).shape
    ct_x = ct_update = None
    if isinstance(x, UndefinedPrimal):
        zero = zeros(ShapedArray(update_shape, get_aval(ct).dtype))
        ct_x = dynamic_update_slice(ct, zero, starts)
    if isinstance(update, UndefinedPrimal):
        ct_update = dynamic_slice(ct, starts, update_shape)
    return [ct_x, ct_update] + [None] * len(starts)


@dynamic_update_slice_p.def_batch
def _dynamic_update_slice_batch(args, bdims):
    (x, update, *starts), (x_bdim, u_bdim, *start_bdims) = args, bdims
    if any(d is not None for d in start_bdims):
        return _batched_index_dynamic_update_slice(x, update, starts, bdims), 0
    size = batch_size(args, bdims)
    return dynamic_update_slice(bdim_at_front(x, x_bdim, size),
                                bdim_at_front(update, u_bdim, size), (0, *starts)), 0


def _batched_index_dynamic_update_slice(x, update, starts, bdims):
    """Per-example start indices: one clamping scatter (as JAX's rule)."""
    x_bdim, u_bdim, *start_bdims = bdims
    size = batch_size([x, update, *starts], bdims)
    x, update = bdim_at_front(x, x_bdim, size), bdim_at_front(update, u_bdim, size)
    operand_shape = get_aval(x).shape[1:]
    index = _stack_batched_starts(starts, start_bdims, size, operand_shape)
    axes = _shift(range(len(operand_shape)))
    dnums = ScatterDimensionNumbers(update_window_dims=axes, inserted_window_dims=(),
                                    scatter_dims_to_operand_dims=axes, operand_batching_dims=(0,),
                                    scatter_indices_batching_dims=(0,))
    return scatter(x, index, update, dnums, indices_are_sorted=True, unique_indices=True,
                   mode=GatherScatterMode.CLIP)


def dynamic_update_slice(operand, update, start_indices):
    """``operand`` with ``update`` written at traced ``start_indices``
    (lax.dynamic_update_slice; starts are clamped so the update fits)."""
    return dynamic_update_slice_p.bind(operand, update, *_split_starts(start_indices))
