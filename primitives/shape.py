"""Shape primitives (as jax.lax): broadcast_in_dim, reshape, transpose, squeeze,
expand_dims, rev, pad, concatenate, slice, dynamic_slice, dynamic_update_slice, iota.

One block per primitive, all its rules right below it. Every primitive here is
linear in its array operands (start indices excepted), so each block has a
jvp (the primitive applied to the tangents), a transpose and a batch rule.

Example::

    >>> import primitives as P
    >>> print(fx.make_graph(lambda x: P.pad(P.rev(x, (0,)), 0.0, [(1, 0, 1)]))(jnp.ones(3)))
    { lambda ; a:f32[3]. let
        b:f32[3] = rev[dimensions=(0,)] a
        c:f32[6] = pad[padding_config=((1, 0, 1),)] b 0.0:f32[]
      in (c,) }
"""
from __future__ import annotations

from functools import partial

import numpy as np
from jax import lax

from fx.ad import zero_tangent, deflinear, UndefinedPrimal
from fx.batching import batch_size, bdim_at_front, moveaxis
from fx.dtypes import kind
from fx.core import Primitive, canonical_dtype, get_aval, structural
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives._rules import fmt_avals, is_weak
from primitives.elementwise import select_n, sub

__all__ = ["broadcast_in_dim", "reshape", "transpose", "squeeze", "expand_dims", "rev", "pad",
           "concatenate", "slice", "iota", "broadcasted_iota",
           "broadcast_in_dim_p", "reshape_p", "transpose_p", "squeeze_p", "expand_dims_p",
           "rev_p", "pad_p", "concatenate_p", "slice_p", "iota_p"]


# --- helpers shared by the blocks below ----------------------------------------
def _ints(xs) -> tuple:
    return tuple(int(x) for x in xs)


def _canon_axes(axes, ndim: int) -> tuple:
    """Map valid negative axes into [0, ndim); invalid ones pass through unchanged
    so that abstract eval reports them (with the user's source line)."""
    return tuple(int(a) % ndim if ndim and -ndim <= int(a) < ndim else int(a) for a in axes)


def _check_axes(op: str, x: ShapedArray, axes: tuple, ndim: int) -> None:
    if any(not 0 <= a < ndim for a in axes) or len(set(axes)) != len(axes):
        raise ShapeError(f"{op}: dimensions={axes} is invalid for an operand {x.str_short()}: "
                         f"each must be a distinct axis in {-ndim}..{ndim - 1}" if ndim else
                         f"{op}: dimensions={axes} is invalid for a 0-d operand {x.str_short()}"
                         f" (it has no axes).")


def _unary_transpose(ct_fn, ct, x, **params):
    """Transpose rule of a one-operand linear primitive: ``ct_fn(ct, x_aval, **params)``."""
    return [ct_fn(ct, x.aval, **params)]


def _front_batch(prim: Primitive, shift, args, bdims, **params):
    """Batch rule of a one-operand primitive: batch axis to the front, then the
    params rewritten by ``shift(size, **params)`` for the extra leading axis."""
    (x,), (bdim,) = args, bdims
    size = get_aval(x).shape[bdim]
    return prim.bind(moveaxis(x, bdim, 0), **shift(size, **params)), 0


def _shift(axes) -> tuple:
    """Axes renumbered for one new leading (batch) axis."""
    return tuple(a + 1 for a in axes)


def _shift_axes(name: str):
    """A ``shift`` for params holding a tuple of axes: each moves up by one."""
    def shift(size, **params):
        return {**params, name: _shift(params[name])}
    return shift


def _adopt_dtype(value, dtype):
    """(Lowering only.) A weak value (Python scalar) cast to ``dtype``; strong values
    pass unchanged, so lax rejects a real mismatch and the user gets our typed error."""
    return lax.convert_element_type(value, dtype) if is_weak(value) else value


def _full(shape, value, dtype):
    return broadcast_in_dim(np.array(value, dtype), shape, ())


# --- broadcast_in_dim ---
broadcast_in_dim_p = Primitive("broadcast_in_dim")


@broadcast_in_dim_p.def_abstract_eval
def _broadcast_in_dim_aval(x, *, shape, broadcast_dimensions):
    if len(broadcast_dimensions) != x.ndim or len(set(broadcast_dimensions)) != x.ndim or any(
            not (0 <= d < len(shape)) or (x.shape[i] not in (1, shape[d]))
            for i, d in enumerate(broadcast_dimensions)) or any(d < 0 for d in shape):
        raise ShapeError(f"broadcast_in_dim cannot broadcast {x.str_short()} to shape {shape} "
                         f"with broadcast_dimensions={broadcast_dimensions}: each operand axis i "
                         f"must map to a distinct output axis whose size equals x.shape[i] (or "
                         f"x.shape[i] == 1).")
    return ShapedArray(shape, x.dtype, x.weak_type)


broadcast_in_dim_p.def_lowering(lambda x, *, shape, broadcast_dimensions:
                                lax.broadcast_in_dim(x, shape, broadcast_dimensions))
deflinear(broadcast_in_dim_p, (0,))


def _broadcast_in_dim_ct(ct, aval, *, shape, broadcast_dimensions):
    """Sum ``ct`` over the broadcast axes, back to the operand's layout (reduce_sum
    comes through the structural-ops registry: reductions' rules use this file)."""
    reduce_sum = structural("reduce_sum")
    unit = tuple(i for i, d in enumerate(broadcast_dimensions)
                 if aval.shape[i] == 1 and shape[d] != 1)
    kept = [d for i, d in enumerate(broadcast_dimensions) if i not in unit]
    summed = tuple(a for a in range(len(shape)) if a not in kept)
    if summed:
        ct = reduce_sum(ct, summed)
    perm = tuple(int(r) for r in np.argsort(np.argsort(kept)))
    if perm != tuple(range(len(perm))):
        ct = transpose(ct, perm)
    return expand_dims(ct, unit) if unit else ct


broadcast_in_dim_p.def_transpose(partial(_unary_transpose, _broadcast_in_dim_ct))
def _broadcast_in_dim_shift(size, *, shape, broadcast_dimensions):
    return dict(shape=(size,) + shape, broadcast_dimensions=(0,) + _shift(broadcast_dimensions))


broadcast_in_dim_p.def_batch(partial(_front_batch, broadcast_in_dim_p, _broadcast_in_dim_shift))


def broadcast_in_dim(operand, shape, broadcast_dimensions):
    """Broadcast ``operand`` into ``shape``; operand axis i becomes output axis
    ``broadcast_dimensions[i]`` (lax.broadcast_in_dim)."""
    return broadcast_in_dim_p.bind(operand, shape=_ints(shape),
                                   broadcast_dimensions=_ints(broadcast_dimensions))


# --- reshape ---
reshape_p = Primitive("reshape")


@reshape_p.def_abstract_eval
def _reshape_aval(x, *, new_sizes, dimensions):
    if any(d < 0 for d in new_sizes) or int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise ShapeError(f"reshape cannot turn {x.str_short()} ({x.size} elements) into shape "
                         f"{new_sizes} ({int(np.prod(new_sizes, dtype=np.int64))} elements). Fix: "
                         f"the new shape must have the same number of elements (use -1 for one "
                         f"inferred axis in fnp.reshape).")
    if dimensions is not None and sorted(dimensions) != list(range(x.ndim)):
        raise ShapeError(f"reshape: dimensions={dimensions} is not a permutation of the axes of "
                         f"{x.str_short()}.")
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


reshape_p.def_lowering(lambda x, *, new_sizes, dimensions: lax.reshape(x, new_sizes, dimensions))
deflinear(reshape_p, (0,))


def _reshape_ct(ct, aval, *, new_sizes, dimensions):
    if dimensions is None:
        return reshape(ct, aval.shape)
    return transpose(reshape(ct, [aval.shape[d] for d in dimensions]), np.argsort(dimensions))


reshape_p.def_transpose(partial(_unary_transpose, _reshape_ct))
def _reshape_shift(size, *, new_sizes, dimensions):
    return dict(new_sizes=(size,) + new_sizes,
                dimensions=None if dimensions is None else (0,) + _shift(dimensions))


reshape_p.def_batch(partial(_front_batch, reshape_p, _reshape_shift))


def reshape(operand, new_sizes, dimensions=None):
    """Reshape ``operand`` to ``new_sizes`` (lax.reshape; ``dimensions`` permutes first)."""
    new_sizes = _ints(new_sizes)
    if dimensions is not None:
        dimensions = _ints(dimensions)
        if dimensions == tuple(range(len(dimensions))):
            dimensions = None
    return reshape_p.bind(operand, new_sizes=new_sizes, dimensions=dimensions)


# --- transpose ---
transpose_p = Primitive("transpose")


@transpose_p.def_abstract_eval
def _transpose_aval(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ShapeError(f"transpose: permutation {permutation} is not a permutation of the "
                         f"axes of {x.str_short()} (need each of 0..{x.ndim - 1} exactly once).")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


transpose_p.def_lowering(lambda x, *, permutation: lax.transpose(x, permutation))
deflinear(transpose_p, (0,))
transpose_p.def_transpose(partial(_unary_transpose, lambda ct, aval, *, permutation:
                                  transpose(ct, np.argsort(permutation))))


@transpose_p.def_batch
def _transpose_batch(args, bdims, *, permutation):
    (x,), (bdim,) = args, bdims
    perm = (bdim,) + tuple(p + (p >= bdim) for p in permutation)
    return transpose(x, perm), 0


def transpose(operand, permutation):
    """Permute the axes of ``operand`` (lax.transpose)."""
    return transpose_p.bind(operand, permutation=_ints(permutation))


# --- squeeze ---
squeeze_p = Primitive("squeeze")


@squeeze_p.def_abstract_eval
def _squeeze_aval(x, *, dimensions):
    _check_axes("squeeze", x, dimensions, x.ndim)
    if any(x.shape[d] != 1 for d in dimensions):
        raise ShapeError(f"squeeze: dimensions={dimensions} of {x.str_short()} must all have "
                         f"size 1; only axes of size 1 can be squeezed.")
    shape = tuple(s for i, s in enumerate(x.shape) if i not in dimensions)
    return ShapedArray(shape, x.dtype, x.weak_type)


squeeze_p.def_lowering(lambda x, *, dimensions: lax.squeeze(x, dimensions))
deflinear(squeeze_p, (0,))
squeeze_p.def_transpose(partial(_unary_transpose, lambda ct, aval, *, dimensions:
                                expand_dims(ct, dimensions)))
squeeze_p.def_batch(partial(_front_batch, squeeze_p, _shift_axes("dimensions")))


def squeeze(array, dimensions):
    """Remove the size-1 axes ``dimensions`` of ``array`` (lax.squeeze)."""
    dims = tuple(sorted(_canon_axes(dimensions, get_aval(array).ndim)))
    return squeeze_p.bind(array, dimensions=dims)


# --- expand_dims ---
expand_dims_p = Primitive("expand_dims")


@expand_dims_p.def_abstract_eval
def _expand_dims_aval(x, *, dimensions):
    ndim_out = x.ndim + len(dimensions)
    _check_axes("expand_dims", x, dimensions, ndim_out)
    shape = list(x.shape)
    for d in sorted(dimensions):
        shape.insert(d, 1)
    return ShapedArray(shape, x.dtype, x.weak_type)


expand_dims_p.def_lowering(lambda x, *, dimensions: lax.expand_dims(x, dimensions))
deflinear(expand_dims_p, (0,))
expand_dims_p.def_transpose(partial(_unary_transpose, lambda ct, aval, *, dimensions:
                                    squeeze(ct, dimensions)))
expand_dims_p.def_batch(partial(_front_batch, expand_dims_p, _shift_axes("dimensions")))


def expand_dims(array, dimensions):
    """Insert size-1 axes at positions ``dimensions`` of the result (lax.expand_dims)."""
    ndim_out = get_aval(array).ndim + len(dimensions)
    return expand_dims_p.bind(array, dimensions=tuple(sorted(_canon_axes(dimensions, ndim_out))))


# --- rev ---
rev_p = Primitive("rev")


@rev_p.def_abstract_eval
def _rev_aval(x, *, dimensions):
    _check_axes("rev", x, dimensions, x.ndim)
    return x


rev_p.def_lowering(lambda x, *, dimensions: lax.rev(x, dimensions))
deflinear(rev_p, (0,))
rev_p.def_transpose(partial(_unary_transpose, lambda ct, aval, *, dimensions:
                            rev(ct, dimensions)))


@rev_p.def_batch
def _rev_batch(args, bdims, *, dimensions):
    (x,), (bdim,) = args, bdims
    return rev(x, tuple(d + (d >= bdim) for d in dimensions)), bdim


def rev(operand, dimensions):
    """Reverse ``operand`` along ``dimensions`` (lax.rev; negative axes are accepted)."""
    return rev_p.bind(operand, dimensions=_canon_axes(dimensions, get_aval(operand).ndim))


# --- pad ---
pad_p = Primitive("pad")


@pad_p.def_abstract_eval
def _pad_aval(x, padding_value, *, padding_config):
    if padding_value.ndim != 0:
        raise ShapeError(f"pad: padding_value must be a scalar, got {padding_value.str_short()}.")
    if padding_value.dtype != x.dtype and not padding_value.weak_type:
        raise FxTypeError(f"pad: operand and padding_value must have the same dtype, got "
                          f"{fmt_avals([x, padding_value])}. Fix: cast padding_value.")
    if len(padding_config) != x.ndim:
        raise ShapeError(f"pad: padding_config has {len(padding_config)} entries for an operand "
                         f"{x.str_short()} of rank {x.ndim}; give one (low, high, interior) "
                         f"per axis.")
    if any(i < 0 for _, _, i in padding_config):
        raise ShapeError(f"pad: interior padding must be >= 0, got padding_config="
                         f"{padding_config} for {x.str_short()}.")
    shape = tuple(lo + hi + d + max(d - 1, 0) * i
                  for (lo, hi, i), d in zip(padding_config, x.shape))
    if any(d < 0 for d in shape):
        raise ShapeError(f"pad: padding_config={padding_config} removes more than all of "
                         f"{x.str_short()} (result shape {shape}); negative low/high padding "
                         f"may crop at most the (interior-padded) axis size.")
    return ShapedArray(shape, x.dtype, x.weak_type)


pad_p.def_lowering(lambda x, padding_value, *, padding_config: lax.pad(
    x, _adopt_dtype(padding_value, get_aval(x).dtype), padding_config))
deflinear(pad_p, (0, 1))


@pad_p.def_transpose
def _pad_transpose(ct, x, padding_value, *, padding_config):
    lo, hi, interior = zip(*padding_config) if padding_config else ((), (), ())
    unpadded = pad(ct, np.zeros((), get_aval(ct).dtype),
                   tuple((-l, -h, 0) for l, h in zip(lo, hi)))
    ct_x = slice(unpadded, (0,) * len(lo), get_aval(unpadded).shape, [i + 1 for i in interior])
    ct_pv = None
    if isinstance(padding_value, UndefinedPrimal):
        total = lambda v: structural("reduce_sum")(v, tuple(range(len(lo))))  # noqa: E731
        ct_pv = sub(total(ct), total(ct_x))
    return [ct_x if isinstance(x, UndefinedPrimal) else None, ct_pv]


@pad_p.def_batch
def _pad_batch(args, bdims, *, padding_config):
    (x, padding_value), (x_bdim, pv_bdim) = args, bdims
    x = bdim_at_front(x, x_bdim, batch_size(args, bdims))
    config = ((0, 0, 0),) + padding_config
    if pv_bdim is None:
        return pad(x, padding_value, config), 0
    # the padding value differs per example
    aval = get_aval(x)
    padded = pad(x, np.zeros((), aval.dtype), config)
    is_data = pad(_full(aval.shape, True, bool), False, config)
    fill = broadcast_in_dim(padding_value, get_aval(padded).shape, (0,))
    return select_n(is_data, fill, padded), 0


def pad(operand, padding_value, padding_config):
    """Pad ``operand`` with ``padding_value`` (lax.pad).

    Args:
      operand: the array.
      padding_value: a scalar of operand's dtype (a Python scalar adopts it).
      padding_config: one ``(low, high, interior)`` per axis; low/high may be
        negative (cropping), interior >= 0 inserts values between elements.
    """
    config = tuple(_ints(c) for c in padding_config)
    return pad_p.bind(operand, padding_value, padding_config=config)


# --- concatenate ---
concatenate_p = Primitive("concatenate")


@concatenate_p.def_abstract_eval
def _concatenate_aval(*xs, dimension):
    if not xs:
        raise ShapeError("concatenate needs at least one operand.")
    ndim = xs[0].ndim
    if ndim == 0 or any(x.ndim != ndim for x in xs) or not 0 <= dimension < ndim:
        raise ShapeError(f"concatenate: operands {fmt_avals(xs)} along dimension={dimension}: "
                         f"operands must have the same rank >= 1 and dimension must be one of "
                         f"their axes.")
    if any(x.shape[:dimension] + x.shape[dimension + 1:] !=
           xs[0].shape[:dimension] + xs[0].shape[dimension + 1:] for x in xs):
        raise ShapeError(f"concatenate: operand shapes {fmt_avals(xs)} must agree on every axis "
                         f"except dimension={dimension}.")
    if len({x.dtype for x in xs}) > 1:
        raise FxTypeError(f"concatenate: operands must have the same dtype, got {fmt_avals(xs)}. "
                          f"Fix: use fnp.concatenate (which promotes) or convert_element_type.")
    shape = list(xs[0].shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return ShapedArray(shape, xs[0].dtype, all(x.weak_type for x in xs))


concatenate_p.def_lowering(lambda *xs, dimension: lax.concatenate(xs, dimension))
deflinear(concatenate_p)


@concatenate_p.def_transpose
def _concatenate_transpose(ct, *xs, dimension):
    shape = get_aval(ct).shape
    cts, offset = [], 0
    for x in xs:
        size = (x.aval if isinstance(x, UndefinedPrimal) else get_aval(x)).shape[dimension]
        if isinstance(x, UndefinedPrimal):
            start = tuple(offset if a == dimension else 0 for a in range(len(shape)))
            limit = tuple(offset + size if a == dimension else s for a, s in enumerate(shape))
            cts.append(slice(ct, start, limit))
        else:
            cts.append(None)
        offset += size
    return cts


@concatenate_p.def_batch
def _concatenate_batch(args, bdims, *, dimension):
    size = batch_size(args, bdims)
    return concatenate([bdim_at_front(x, d, size) for x, d in zip(args, bdims)],
                       dimension + 1), 0


def concatenate(operands, dimension):
    """Join ``operands`` along axis ``dimension`` (lax.concatenate)."""
    operands = tuple(operands)
    ndim = get_aval(operands[0]).ndim if operands else 0
    return concatenate_p.bind(*operands, dimension=_canon_axes((dimension,), ndim)[0])


# --- slice ---
slice_p = Primitive("slice")


@slice_p.def_abstract_eval
def _slice_aval(x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * x.ndim
    if not len(start_indices) == len(limit_indices) == len(strides) == x.ndim:
        raise ShapeError(f"slice: start_indices={start_indices}, limit_indices={limit_indices} "
                         f"and strides={strides} need one entry per axis of {x.str_short()}.")
    if any(not 0 <= s <= l <= d for s, l, d in zip(start_indices, limit_indices, x.shape)):
        raise ShapeError(f"slice: start_indices={start_indices}, limit_indices={limit_indices} "
                         f"are out of bounds for {x.str_short()}: need "
                         f"0 <= start <= limit <= size on every axis.")
    if any(s < 1 for s in strides):
        raise ShapeError(f"slice: strides={strides} must be positive (for {x.str_short()}).")
    shape = tuple(-(-(l - s) // st) for s, l, st in zip(start_indices, limit_indices, strides))
    return ShapedArray(shape, x.dtype, x.weak_type)


slice_p.def_lowering(lambda x, *, start_indices, limit_indices, strides:
                     lax.slice(x, start_indices, limit_indices, strides))
deflinear(slice_p, (0,))


def _slice_ct(ct, aval, *, start_indices, limit_indices, strides):
    """Pad ``ct`` with zeros back to the operand's shape (interior = stride - 1)."""
    strides = strides or (1,) * aval.ndim
    ct_shape = get_aval(ct).shape
    real_limits = [s + (0 if n == 0 else 1 + (n - 1) * st)
                   for s, n, st in zip(start_indices, ct_shape, strides)]
    config = tuple((s, d - l, st - 1) for s, d, l, st in
                   zip(start_indices, aval.shape, real_limits, strides))
    return pad(ct, np.zeros((), get_aval(ct).dtype), config)


slice_p.def_transpose(partial(_unary_transpose, _slice_ct))
def _slice_shift(size, *, start_indices, limit_indices, strides):
    return dict(start_indices=(0,) + start_indices, limit_indices=(size,) + limit_indices,
                strides=None if strides is None else (1,) + strides)


slice_p.def_batch(partial(_front_batch, slice_p, _slice_shift))


def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001 (lax's name)
    """The static slice ``operand[start:limit:strides]`` on every axis (lax.slice)."""
    strides = None if strides is None or all(int(s) == 1 for s in strides) else _ints(strides)
    return slice_p.bind(operand, start_indices=_ints(start_indices),
                        limit_indices=_ints(limit_indices), strides=strides)


# --- iota ---
iota_p = Primitive("iota")


@iota_p.def_abstract_eval
def _iota_aval(*, dtype, shape, dimension):
    if kind(dtype) not in "iufc":
        raise FxTypeError(f"iota does not accept dtype {dtype.name}: use an integer or "
                          f"floating-point dtype (and convert afterwards).")
    if any(d < 0 for d in shape) or not 0 <= dimension < len(shape):
        raise ShapeError(f"iota: dimension={dimension} is not an axis of shape {shape} "
                         f"(need 0 <= dimension < {len(shape)}, sizes >= 0).")
    return ShapedArray(shape, dtype)


iota_p.def_lowering(lambda *, dtype, shape, dimension:
                    lax.broadcasted_iota(dtype, shape, dimension))


@iota_p.def_jvp
def _iota_jvp(primals, tangents, **params):
    """iota has no operands: its tangent is always zero (also for float dtypes)."""
    out = iota_p.bind(**params)
    return out, zero_tangent(out)


# iota has no operands, so vmap never batches it and nothing transposes it.


def broadcasted_iota(dtype, shape, dimension):
    """An array of ``shape`` counting 0, 1, ... along ``dimension`` (lax.broadcasted_iota)."""
    shape = _ints(shape)
    return iota_p.bind(dtype=canonical_dtype(dtype), shape=shape,
                       dimension=_canon_axes((dimension,), len(shape))[0])


def iota(dtype, size):
    """``[0, 1, ..., size - 1]`` of ``dtype`` (lax.iota)."""
    return broadcasted_iota(dtype, (size,), 0)
