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

from fx.core import Primitive, UndefinedPrimal, Zero, get_aval, canonical_dtype
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives._rules import (_is_weak_jax, _kind, batch_size, bdim_to_front, fmt_avals,
                               instantiate, is_zero, moveaxis, zero_tangent_aval, zeros_like_aval)

__all__ = ["broadcast_in_dim", "reshape", "transpose", "squeeze", "expand_dims", "rev", "pad",
           "concatenate", "slice", "dynamic_slice", "dynamic_update_slice", "iota",
           "broadcasted_iota",
           "broadcast_in_dim_p", "reshape_p", "transpose_p", "squeeze_p", "expand_dims_p",
           "rev_p", "pad_p", "concatenate_p", "slice_p", "dynamic_slice_p",
           "dynamic_update_slice_p", "iota_p"]


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


def _tangent_zero(primal_out) -> Zero:
    return Zero(zero_tangent_aval(get_aval(primal_out)))


def _linear_jvp(prim: Primitive, linear, primals, tangents, **params):
    """jvp of a primitive linear in the operands at positions ``linear`` (all if
    None); the other operands (start indices) are passed through as primals."""
    linear = range(len(primals)) if linear is None else linear
    out = prim.bind(*primals, **params)
    if all(is_zero(tangents[i]) for i in linear):
        return out, _tangent_zero(out)
    args = [instantiate(tangents[i]) if i in linear else p for i, p in enumerate(primals)]
    return out, prim.bind(*args, **params)


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


def _index_aval_check(op: str, x: ShapedArray, starts) -> None:
    if len(starts) != x.ndim:
        raise ShapeError(f"{op}: got {len(starts)} start indices for an operand {x.str_short()} "
                         f"of rank {x.ndim}; pass exactly one scalar start index per axis.")
    if any(s.ndim != 0 or _kind(s.dtype) not in "iu" for s in starts):
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


def _adopt_dtype(value, dtype):
    """(Lowering only.) A weak value (Python scalar) cast to ``dtype``; strong values
    pass unchanged, so lax rejects a real mismatch and the user gets our typed error."""
    return lax.convert_element_type(value, dtype) if _is_weak_jax(value) else value


def _index_values(starts) -> list:
    """(Lowering only.) Weak start indices cast to the strong ones' dtype, as lax needs."""
    strong = [np.dtype(s.dtype) for s in starts if not _is_weak_jax(s)]
    return [_adopt_dtype(s, strong[0] if strong else np.int32) for s in starts]


def _split_starts(start_indices) -> tuple:
    """Start indices as a tuple of scalars (a 1-d array is split, as lax does)."""
    if hasattr(start_indices, "shape") and len(start_indices.shape) == 1:
        if isinstance(start_indices, np.ndarray):
            return tuple(start_indices)
        return tuple(squeeze(slice(start_indices, (i,), (i + 1,)), (0,))
                     for i in range(start_indices.shape[0]))
    return tuple(start_indices)


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
broadcast_in_dim_p.def_jvp(partial(_linear_jvp, broadcast_in_dim_p, (0,)))


def _broadcast_in_dim_ct(ct, aval, *, shape, broadcast_dimensions):
    """Sum ``ct`` over the broadcast axes, back to the operand's layout."""
    from primitives.reductions import reduce_sum
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
reshape_p.def_jvp(partial(_linear_jvp, reshape_p, (0,)))


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
transpose_p.def_jvp(partial(_linear_jvp, transpose_p, (0,)))
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
squeeze_p.def_jvp(partial(_linear_jvp, squeeze_p, (0,)))
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
expand_dims_p.def_jvp(partial(_linear_jvp, expand_dims_p, (0,)))
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
rev_p.def_jvp(partial(_linear_jvp, rev_p, (0,)))
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
pad_p.def_jvp(partial(_linear_jvp, pad_p, (0, 1)))


@pad_p.def_transpose
def _pad_transpose(ct, x, padding_value, *, padding_config):
    lo, hi, interior = zip(*padding_config) if padding_config else ((), (), ())
    unpadded = pad(ct, np.zeros((), get_aval(ct).dtype),
                   tuple((-l, -h, 0) for l, h in zip(lo, hi)))
    ct_x = slice(unpadded, (0,) * len(lo), get_aval(unpadded).shape, [i + 1 for i in interior])
    ct_pv = None
    if isinstance(padding_value, UndefinedPrimal):
        from primitives.elementwise import sub
        from primitives.reductions import reduce_sum
        total = lambda v: reduce_sum(v, tuple(range(len(lo))))  # noqa: E731
        ct_pv = sub(total(ct), total(ct_x))
    return [ct_x if isinstance(x, UndefinedPrimal) else None, ct_pv]


@pad_p.def_batch
def _pad_batch(args, bdims, *, padding_config):
    (x, padding_value), (x_bdim, pv_bdim) = args, bdims
    x = bdim_to_front(x, x_bdim, batch_size(args, bdims))
    config = ((0, 0, 0),) + padding_config
    if pv_bdim is None:
        return pad(x, padding_value, config), 0
    from primitives.elementwise import select_n  # padding value differs per example
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
concatenate_p.def_jvp(partial(_linear_jvp, concatenate_p, None))


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
    return concatenate([bdim_to_front(x, d, size) for x, d in zip(args, bdims)],
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
slice_p.def_jvp(partial(_linear_jvp, slice_p, (0,)))


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
dynamic_slice_p.def_jvp(partial(_linear_jvp, dynamic_slice_p, (0,)))


@dynamic_slice_p.def_transpose
def _dynamic_slice_transpose(ct, x, *starts, slice_sizes):
    zeros = zeros_like_aval(ShapedArray(x.aval.shape, get_aval(ct).dtype))
    return [dynamic_update_slice(zeros, ct, starts)] + [None] * len(starts)


@dynamic_slice_p.def_batch
def _dynamic_slice_batch(args, bdims, *, slice_sizes):
    (x, *starts), (x_bdim, *start_bdims) = args, bdims
    if any(d is not None for d in start_bdims):
        return _batched_index_dynamic_slice(x, x_bdim, starts, start_bdims, slice_sizes), 0
    size = get_aval(x).shape[x_bdim]
    return dynamic_slice(moveaxis(x, x_bdim, 0), (0, *starts), (size,) + slice_sizes), 0


def _batched_index_dynamic_slice(x, x_bdim, starts, start_bdims, slice_sizes):
    """Per-example start indices: one clamping gather (as JAX's rule)."""
    from primitives.indexing import gather, GatherDimensionNumbers, GatherScatterMode
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
    from primitives.elementwise import add, lt, mul, convert_element_type
    dtype = _common_index_dtype(starts)
    columns = []
    for s, d, n in zip(starts, bdims, operand_shape):
        s = convert_element_type(bdim_to_front(s, d, size), dtype)
        if _kind(dtype) == "i":
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
dynamic_update_slice_p.def_jvp(partial(_linear_jvp, dynamic_update_slice_p, (0, 1)))


@dynamic_update_slice_p.def_transpose
def _dynamic_update_slice_transpose(ct, x, update, *starts):
    update_shape = (update.aval if isinstance(update, UndefinedPrimal) else get_aval(update)).shape
    ct_x = ct_update = None
    if isinstance(x, UndefinedPrimal):
        zeros = zeros_like_aval(ShapedArray(update_shape, get_aval(ct).dtype))
        ct_x = dynamic_update_slice(ct, zeros, starts)
    if isinstance(update, UndefinedPrimal):
        ct_update = dynamic_slice(ct, starts, update_shape)
    return [ct_x, ct_update] + [None] * len(starts)


@dynamic_update_slice_p.def_batch
def _dynamic_update_slice_batch(args, bdims):
    (x, update, *starts), (x_bdim, u_bdim, *start_bdims) = args, bdims
    if any(d is not None for d in start_bdims):
        return _batched_index_dynamic_update_slice(x, update, starts, bdims), 0
    size = batch_size(args, bdims)
    return dynamic_update_slice(bdim_to_front(x, x_bdim, size),
                                bdim_to_front(update, u_bdim, size), (0, *starts)), 0


def _batched_index_dynamic_update_slice(x, update, starts, bdims):
    """Per-example start indices: one clamping scatter (as JAX's rule)."""
    from primitives.indexing import scatter, ScatterDimensionNumbers, GatherScatterMode
    x_bdim, u_bdim, *start_bdims = bdims
    size = batch_size([x, update, *starts], bdims)
    x, update = bdim_to_front(x, x_bdim, size), bdim_to_front(update, u_bdim, size)
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


# --- iota ---
iota_p = Primitive("iota")


@iota_p.def_abstract_eval
def _iota_aval(*, dtype, shape, dimension):
    if _kind(dtype) not in "iufc":
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
    return out, _tangent_zero(out)


# iota has no operands, so vmap never batches it and nothing transposes it.


def broadcasted_iota(dtype, shape, dimension):
    """An array of ``shape`` counting 0, 1, ... along ``dimension`` (lax.broadcasted_iota)."""
    shape = _ints(shape)
    return iota_p.bind(dtype=canonical_dtype(dtype), shape=shape,
                       dimension=_canon_axes((dimension,), len(shape))[0])


def iota(dtype, size):
    """``[0, 1, ..., size - 1]`` of ``dtype`` (lax.iota)."""
    return broadcasted_iota(dtype, (size,), 0)
