"""Indexing primitives (as jax.lax): gather and the scatters.

One block per primitive, all its rules right below it. The dimension numbers
are ``jax.lax.GatherDimensionNumbers`` / ``jax.lax.ScatterDimensionNumbers``
(hashable NamedTuples, normalized to tuples of ints) and ``mode`` is a
``jax.lax.GatherScatterMode``, so the params print and hash as they do in JAX::

    >>> import numpy as np, fx, primitives as P
    >>> from jax import lax
    >>> dn = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
    ...                                 start_index_map=(0,))
    >>> x, idx = np.ones((5, 3), np.float32), np.array([[0], [4]], np.int32)
    >>> gather(x, idx, dn, (1, 3)).shape      # x[idx[:, 0]]
    (2, 3)

Abstract evaluation asks ``jax.eval_shape`` of the matching ``jax.lax`` op on
``jax.ShapeDtypeStruct`` inputs (cached per signature): XLA's gather/scatter
shape rules are long, and this keeps ours exactly JAX's. JAX's complaint is
re-raised as a ``ShapeError`` naming our op, the shapes and the params.

Batching uses the operand/indices batching dimensions of XLA's gather and
scatter (as JAX's rules do): a batch axis becomes one more batching dimension,
so vmap never loops.

References:
    XLA operation semantics (Gather, Scatter); jax/_src/lax/slicing.py.
"""
from __future__ import annotations

import functools
import math
from functools import partial

import numpy as np
import jax
from jax import lax

from fx.ad import zero_tangent, UndefinedPrimal, Zero, instantiate_zero, zeros
from fx.batching import batch_size, bdim_at_front, moveaxis
from fx.core import Primitive, get_aval
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives._rules import ANY, NUMBER, check_kind
from primitives.elementwise import add, div, eq, mul, neg, select_n, sub
from primitives.shape import broadcast_in_dim

__all__ = ["gather", "scatter_add", "scatter_sub", "scatter_mul", "scatter_min",
           "scatter_max", "scatter", "GatherDimensionNumbers", "ScatterDimensionNumbers",
           "GatherScatterMode",
           "gather_p", "scatter_add_p", "scatter_sub_p", "scatter_mul_p", "scatter_min_p",
           "scatter_max_p", "scatter_p"]

GatherDimensionNumbers = lax.GatherDimensionNumbers
ScatterDimensionNumbers = lax.ScatterDimensionNumbers
GatherScatterMode = lax.GatherScatterMode


# --- helpers shared by this family --------------------------------------------
def _int_tuple(dims) -> tuple:
    return tuple(int(d) for d in dims)


def _shift(dims, n: int = 1) -> tuple:
    return tuple(int(d) + n for d in dims)


def _normalize_dnums(op: str, dnums, cls):
    """Return ``dnums`` as a ``cls`` whose fields are tuples of ints (hashable)."""
    if not isinstance(dnums, cls):
        raise FxTypeError(f"{op}: dimension_numbers must be a jax.lax.{cls.__name__}, got "
                          f"{type(dnums).__name__} ({dnums!r:.120}).")
    return cls(*(_int_tuple(f) for f in dnums))


def _default_fill_value(dtype: np.dtype):
    """lax.gather's fill value for out-of-bounds slices under FILL_OR_DROP."""
    if jax.dtypes.issubdtype(dtype, np.inexact):
        return np.nan  # one shared object: params stay equal (and cache hits) across calls
    if jax.dtypes.issubdtype(dtype, np.signedinteger):
        return int(np.iinfo(dtype).min)
    if jax.dtypes.issubdtype(dtype, np.unsignedinteger):
        return int(np.iinfo(dtype).max)
    return True


def _normalize_fill_value(fill_value):
    if isinstance(fill_value, (np.ndarray, np.generic)) or hasattr(fill_value, "item"):
        fill_value = np.asarray(fill_value).item()
    if isinstance(fill_value, float) and math.isnan(fill_value):
        return np.nan
    return fill_value


def _normalize_mode(op: str, mode) -> GatherScatterMode:
    try:
        return GatherScatterMode.from_any(mode)
    except ValueError:
        raise FxTypeError(f"{op}: unknown mode {mode!r}; use 'clip', 'fill' (or 'drop'), "
                          f"'promise_in_bounds' or a jax.lax.GatherScatterMode.") from None


def _check_indices(op: str, indices: ShapedArray, what: str) -> None:
    if indices.dtype.kind not in "iu":
        raise FxTypeError(f"{op}: {what} must have an integer dtype, got {indices.str_short()}. "
                          f"Fix: cast them with .astype(jnp.int32) / convert_element_type.")
    if indices.ndim == 0:
        raise ShapeError(f"{op}: {what} {indices.str_short()} must have rank >= 1: its last "
                         f"axis is the index vector. Fix: add a trailing axis of size 1 "
                         f"(indices[..., None]).")


@functools.lru_cache(maxsize=2048)
def _jax_out_shape(lax_fn, sigs: tuple, params: tuple) -> tuple:
    structs = [jax.ShapeDtypeStruct(shape, dtype) for shape, dtype in sigs]
    return tuple(jax.eval_shape(partial(lax_fn, **dict(params)), *structs).shape)


def _out_shape(op: str, lax_fn, avals, dtypes, params: dict, hint: str) -> tuple:
    """The output shape of ``lax_fn`` on these shapes (its jax shape rule), or a ShapeError."""
    sigs = tuple((a.shape, np.dtype(d)) for a, d in zip(avals, dtypes))
    try:
        return _jax_out_shape(lax_fn, sigs, tuple(params.items()))
    except (TypeError, ValueError, IndexError) as e:
        shown = ", ".join(a.str_short() for a in avals)
        settings = ", ".join(f"{k}={v}" for k, v in params.items()
                             if k in ("dimension_numbers", "slice_sizes"))
        raise ShapeError(f"{op}: invalid operands {shown} with {settings}: {e}\n"
                         f"Fix: {hint}") from None


def _full(aval: ShapedArray, value):
    return broadcast_in_dim(np.asarray(value, aval.dtype), aval.shape, ())


def _gather_dnums_of(dnums: ScatterDimensionNumbers) -> GatherDimensionNumbers:
    """The dimension numbers of the gather that reads back a scatter's windows."""
    return GatherDimensionNumbers(
        offset_dims=dnums.update_window_dims,
        collapsed_slice_dims=dnums.inserted_window_dims,
        start_index_map=dnums.scatter_dims_to_operand_dims,
        operand_batching_dims=dnums.operand_batching_dims,
        start_indices_batching_dims=dnums.scatter_indices_batching_dims)


def _scatter_dnums_of(dnums: GatherDimensionNumbers) -> ScatterDimensionNumbers:
    """The dimension numbers of the scatter that writes a gather's slices back."""
    return ScatterDimensionNumbers(
        update_window_dims=dnums.offset_dims,
        inserted_window_dims=dnums.collapsed_slice_dims,
        scatter_dims_to_operand_dims=dnums.start_index_map,
        operand_batching_dims=dnums.operand_batching_dims,
        scatter_indices_batching_dims=dnums.start_indices_batching_dims)


def _gather_windows(x, indices, dnums: ScatterDimensionNumbers, updates_shape, mode=None,
                    fill_value=None):
    """For each update of a scatter into ``x``, gather the window of ``x`` it lands on
    (the inverse of the scatter; shaped like the updates)."""
    slice_sizes, pos = [], 0
    for i in range(get_aval(x).ndim):
        if i in dnums.inserted_window_dims or i in dnums.operand_batching_dims:
            slice_sizes.append(1)
        else:
            slice_sizes.append(updates_shape[dnums.update_window_dims[pos]])
            pos += 1
    return gather(x, indices, _gather_dnums_of(dnums), slice_sizes, mode=mode,
                  fill_value=fill_value)


def _no_tangent(out, *tangents) -> bool:
    """True when ``out`` gets a Zero tangent: every input tangent is a symbolic zero,
    or ``out`` is not floating point (integer operands' float0 tangents are ignored)."""
    return (all(isinstance(t, Zero) for t in tangents)
            or not jax.dtypes.issubdtype(get_aval(out).dtype, np.inexact))


def _with_zero_fill(params: dict) -> dict:
    """Tangents/cotangents of out-of-bounds (filled) slices are 0, not the fill value."""
    if params["mode"] == GatherScatterMode.FILL_OR_DROP:
        return {**params, "fill_value": 0}
    return params


# --- gather ---
gather_p = Primitive("gather")


@gather_p.def_abstract_eval
def _gather_aval(operand, indices, **params):
    _check_indices("gather", indices, "start_indices")
    shape = _out_shape("gather", lax.gather, (operand, indices), (operand.dtype, indices.dtype),
                       params, "check offset_dims/collapsed_slice_dims/start_index_map and "
                       "slice_sizes against the operand's rank and shape "
                       "(start_indices.shape[-1] == len(start_index_map)); for numpy-style "
                       "indexing use x[idx] or fnp.take.")
    return ShapedArray(shape, operand.dtype, operand.weak_type)


@gather_p.def_lowering
def _gather_lowering(operand, indices, *, dimension_numbers, slice_sizes, indices_are_sorted,
                     unique_indices, mode, fill_value):
    return lax.gather(operand, indices, dimension_numbers, slice_sizes,
                      indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                      mode=mode, fill_value=fill_value)


@gather_p.def_jvp
def _gather_jvp(primals, tangents, **params):
    operand, indices = primals
    out = gather_p.bind(operand, indices, **params)
    x_dot = tangents[0]
    if _no_tangent(out, x_dot):
        return out, zero_tangent(out)
    return out, gather_p.bind(x_dot, indices, **_with_zero_fill(params))


@gather_p.def_transpose
def _gather_transpose(ct, operand, indices, *, dimension_numbers, slice_sizes,
                      indices_are_sorted, unique_indices, mode, fill_value):
    assert isinstance(operand, UndefinedPrimal) and not isinstance(indices, UndefinedPrimal)
    zero = zeros(operand.aval.strip_weak())
    ct_operand = scatter_add(zero, indices, ct, _scatter_dnums_of(dimension_numbers),
                             indices_are_sorted=indices_are_sorted,
                             unique_indices=unique_indices, mode=mode)
    return [ct_operand, None]


@gather_p.def_batch
def _gather_batch(args, bdims, *, dimension_numbers, slice_sizes, indices_are_sorted,
                  unique_indices, mode, fill_value):
    operand, indices = args
    operand_bdim, indices_bdim = bdims
    dn = dimension_numbers
    params = dict(mode=mode, fill_value=fill_value)
    if indices_bdim is None:
        # The batch axis becomes one more offset (window) axis of full size.
        operand = moveaxis(operand, operand_bdim, 0)
        dnums = GatherDimensionNumbers(
            offset_dims=(0,) + _shift(dn.offset_dims),
            collapsed_slice_dims=_shift(dn.collapsed_slice_dims),
            start_index_map=_shift(dn.start_index_map),
            operand_batching_dims=_shift(dn.operand_batching_dims),
            start_indices_batching_dims=dn.start_indices_batching_dims)
        return gather_p.bind(operand, indices, dimension_numbers=dnums,
                             slice_sizes=(get_aval(operand).shape[0],) + slice_sizes,
                             indices_are_sorted=indices_are_sorted,
                             unique_indices=unique_indices, **params), 0
    indices = moveaxis(indices, indices_bdim, 0)
    if operand_bdim is None:
        # Batched indices into one operand: more rows of indices (no longer sorted/unique).
        dnums = dn._replace(offset_dims=_shift(dn.offset_dims),
                            start_indices_batching_dims=_shift(dn.start_indices_batching_dims))
        return gather_p.bind(operand, indices, dimension_numbers=dnums,
                             slice_sizes=slice_sizes, indices_are_sorted=False,
                             unique_indices=False, **params), 0
    # Both batched: the batch axis is a batching dim of the operand and the indices.
    operand = moveaxis(operand, operand_bdim, 0)
    size = get_aval(operand).shape[0]
    dnums = GatherDimensionNumbers(
        offset_dims=_shift(dn.offset_dims),
        collapsed_slice_dims=_shift(dn.collapsed_slice_dims),
        start_index_map=_shift(dn.start_index_map),
        operand_batching_dims=(0,) + _shift(dn.operand_batching_dims),
        start_indices_batching_dims=(0,) + _shift(dn.start_indices_batching_dims))
    return gather_p.bind(operand, indices, dimension_numbers=dnums,
                         slice_sizes=(min(size, 1),) + slice_sizes,
                         indices_are_sorted=indices_are_sorted,
                         unique_indices=unique_indices, **params), 0


def gather(operand, start_indices, dimension_numbers, slice_sizes, *, unique_indices=False,
           indices_are_sorted=False, mode=None, fill_value=None):
    """Gather slices of ``operand`` at ``start_indices`` (lax.gather, XLA's Gather).

    Args:
      operand: the array to read from.
      start_indices: integer array; its last axis is the index vector.
      dimension_numbers: a ``jax.lax.GatherDimensionNumbers``.
      slice_sizes: the size of each slice, one per operand axis.
      unique_indices: promise that the gathered slices do not overlap.
      indices_are_sorted: promise that the indices are sorted.
      mode: a ``GatherScatterMode`` or 'clip' / 'fill' / 'promise_in_bounds'. As
        lax.gather, None means PROMISE_IN_BOUNDS (clamps on XLA).
      fill_value: the value of out-of-bounds slices under 'fill'; defaults to NaN
        for inexact dtypes, the minimum for signed, the maximum for unsigned
        integers and True for booleans (written into the params).

    Returns:
      The gathered array (operand's dtype).
    """
    mode = _normalize_mode("gather", GatherScatterMode.PROMISE_IN_BOUNDS if mode is None
                           else mode)
    if mode == GatherScatterMode.FILL_OR_DROP:
        fill_value = (_default_fill_value(get_aval(operand).dtype) if fill_value is None
                      else _normalize_fill_value(fill_value))
    else:
        fill_value = None
    return gather_p.bind(operand, start_indices,
                         dimension_numbers=_normalize_dnums("gather", dimension_numbers,
                                                            GatherDimensionNumbers),
                         slice_sizes=_int_tuple(slice_sizes),
                         indices_are_sorted=bool(indices_are_sorted),
                         unique_indices=bool(unique_indices), mode=mode,
                         fill_value=fill_value)


# --- helpers of the scatter blocks (one rule family, partial'ed per primitive) -----
def _scatter_dtype(op: str, operand: ShapedArray, updates: ShapedArray):
    """(dtype, weak) of a scatter's result: equal dtypes, or a weak operand/updates
    adopting the other's dtype (as the elementwise ops do)."""
    if operand.dtype == updates.dtype or updates.weak_type:
        return operand.dtype, operand.weak_type
    if operand.weak_type:
        return updates.dtype, False
    raise FxTypeError(f"{op} requires operand and updates of the same dtype, got "
                      f"{operand.str_short()} and {updates.str_short()}. Fix: cast the updates "
                      f"with .astype(operand.dtype) (x.at[idx] does this for you).")


def _scatter_aval(op: str, lax_fn, kinds: str, operand, indices, updates, **params):
    _check_indices(op, indices, "scatter_indices")
    dtype, weak = _scatter_dtype(op, operand, updates)
    check_kind(op, (operand.update(dtype=dtype), updates.update(dtype=dtype)), kinds)
    shape = _out_shape(op, lax_fn, (operand, indices, updates), (dtype, indices.dtype, dtype),
                       params, "check update_window_dims/inserted_window_dims/"
                       "scatter_dims_to_operand_dims against the operand's rank, and that "
                       "updates.shape is the indices' batch shape with the window axes "
                       "inserted; for numpy-style updates use x.at[idx].set/add(...).")
    return ShapedArray(shape, dtype, weak)


def _scatter_lowering(lax_fn, operand, indices, updates, **params):
    o_aval, u_aval = get_aval(operand), get_aval(updates)
    dtype, _ = _scatter_dtype(lax_fn.__name__, o_aval, u_aval)
    if o_aval.dtype != dtype or not hasattr(operand, "dtype"):
        operand = lax.convert_element_type(operand, dtype)
    if u_aval.dtype != dtype or not hasattr(updates, "dtype"):
        updates = lax.convert_element_type(updates, dtype)
    return lax_fn(operand, indices, updates, **params)


def _scatter_batch(prim, args, bdims, *, dimension_numbers, **params):
    operand, indices, updates = args
    operand_bdim, indices_bdim, updates_bdim = bdims
    size = batch_size(args, bdims)
    operand = bdim_at_front(operand, operand_bdim, size)
    updates = bdim_at_front(updates, updates_bdim, size)
    dn = dimension_numbers
    if indices_bdim is None:
        # The batch axis becomes one more window axis of the updates.
        dnums = ScatterDimensionNumbers(
            update_window_dims=(0,) + _shift(dn.update_window_dims),
            inserted_window_dims=_shift(dn.inserted_window_dims),
            scatter_dims_to_operand_dims=_shift(dn.scatter_dims_to_operand_dims),
            operand_batching_dims=_shift(dn.operand_batching_dims),
            scatter_indices_batching_dims=dn.scatter_indices_batching_dims)
    else:
        indices = moveaxis(indices, indices_bdim, 0)
        dnums = ScatterDimensionNumbers(
            update_window_dims=_shift(dn.update_window_dims),
            inserted_window_dims=_shift(dn.inserted_window_dims),
            scatter_dims_to_operand_dims=_shift(dn.scatter_dims_to_operand_dims),
            operand_batching_dims=(0,) + _shift(dn.operand_batching_dims),
            scatter_indices_batching_dims=(0,) + _shift(dn.scatter_indices_batching_dims))
    return prim.bind(operand, indices, updates, dimension_numbers=dnums, **params), 0


def _make_scatter(name: str, lax_fn, kinds: str) -> Primitive:
    """A scatter Primitive with its abstract eval, lowering and batch rule."""
    p = Primitive(name)
    p.def_abstract_eval(partial(_scatter_aval, name, lax_fn, kinds))
    p.def_lowering(partial(_scatter_lowering, lax_fn))
    p.def_batch(partial(_scatter_batch, p))
    return p


def _scatter_bind(prim, operand, scatter_indices, updates, dimension_numbers, *,
                  indices_are_sorted=False, unique_indices=False, mode=None):
    """Normalize a public scatter call's params (as lax: mode None is FILL_OR_DROP)."""
    return prim.bind(operand, scatter_indices, updates,
                     dimension_numbers=_normalize_dnums(prim.name, dimension_numbers,
                                                        ScatterDimensionNumbers),
                     indices_are_sorted=bool(indices_are_sorted),
                     unique_indices=bool(unique_indices),
                     mode=_normalize_mode(prim.name, mode))


def _linear_scatter_jvp(prim, primals, tangents, **params):
    """jvp of scatters linear in (operand, updates) jointly: scatter the tangents."""
    operand, indices, updates = primals
    out = prim.bind(operand, indices, updates, **params)
    x_dot, _, u_dot = tangents
    if _no_tangent(out, x_dot, u_dot):
        return out, zero_tangent(out)
    return out, prim.bind(instantiate_zero(x_dot), indices, instantiate_zero(u_dot), **params)


def _scatter_transpose_parts(ct, operand, indices, updates, dimension_numbers, mode):
    """(ct of operand, ct of updates) of a scatter-add: ct itself, and ct's windows."""
    assert not isinstance(indices, UndefinedPrimal)
    ct_operand = ct if isinstance(operand, UndefinedPrimal) else None
    ct_updates = None
    if isinstance(updates, UndefinedPrimal):
        ct_updates = _gather_windows(ct, indices, dimension_numbers, updates.aval.shape,
                                     mode=mode, fill_value=0)
    return ct_operand, ct_updates


# --- scatter_add ---
scatter_add_p = _make_scatter("scatter_add", lax.scatter_add, NUMBER)
scatter_add_p.def_jvp(partial(_linear_scatter_jvp, scatter_add_p))


@scatter_add_p.def_transpose
def _scatter_add_transpose(ct, operand, indices, updates, *, dimension_numbers, mode, **_):
    ct_operand, ct_updates = _scatter_transpose_parts(ct, operand, indices, updates,
                                                      dimension_numbers, mode)
    return [ct_operand, None, ct_updates]


def scatter_add(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """Add ``updates`` into ``operand`` at ``scatter_indices`` (lax.scatter_add);
    repeated indices accumulate. ``mode`` None means FILL_OR_DROP (out-of-bounds
    updates are dropped), as in lax."""
    return _scatter_bind(scatter_add_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted=indices_are_sorted,
                         unique_indices=unique_indices, mode=mode)


# --- scatter_sub ---
scatter_sub_p = _make_scatter("scatter_sub", lax.scatter_sub, NUMBER)
scatter_sub_p.def_jvp(partial(_linear_scatter_jvp, scatter_sub_p))


@scatter_sub_p.def_transpose
def _scatter_sub_transpose(ct, operand, indices, updates, *, dimension_numbers, mode, **_):
    ct_operand, ct_updates = _scatter_transpose_parts(ct, operand, indices, updates,
                                                      dimension_numbers, mode)
    if ct_updates is not None:
        ct_updates = neg(ct_updates)
    return [ct_operand, None, ct_updates]


def scatter_sub(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """Subtract ``updates`` from ``operand`` at ``scatter_indices`` (lax.scatter_sub)."""
    return _scatter_bind(scatter_sub_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted=indices_are_sorted,
                         unique_indices=unique_indices, mode=mode)


# --- scatter_mul ---
scatter_mul_p = _make_scatter("scatter_mul", lax.scatter_mul, NUMBER)


def _needs_unique(op: str, what: str, unique_indices: bool) -> None:
    if not unique_indices:
        raise NotImplementedError(
            f"{op}: the {what} with respect to the updates is only implemented for "
            f"unique_indices=True (as in JAX): with repeated indices the product's derivative "
            f"would divide by the updates. Fix: pass unique_indices=True when the indices do "
            f"not repeat, or stop_gradient the updates.")


@scatter_mul_p.def_jvp
def _scatter_mul_jvp(primals, tangents, **params):
    operand, indices, updates = primals
    out = scatter_mul_p.bind(operand, indices, updates, **params)
    x_dot, _, u_dot = tangents
    if _no_tangent(out, x_dot, u_dot):
        return out, zero_tangent(out)
    terms = []
    if not isinstance(x_dot, Zero):  # linear in the operand
        terms.append(scatter_mul_p.bind(x_dot, indices, updates, **params))
    if not isinstance(u_dot, Zero):  # d(x * u) = x * du at the (unique) scattered positions
        _needs_unique("scatter_mul", "jvp", params["unique_indices"])
        zero = zeros(get_aval(out))
        terms.append(mul(operand, scatter_add_p.bind(zero, indices, u_dot, **params)))
    return out, functools.reduce(add, terms)


@scatter_mul_p.def_transpose
def _scatter_mul_transpose(ct, operand, indices, updates, *, dimension_numbers,
                           indices_are_sorted, unique_indices, mode):
    """Linear in the operand (updates constant) or in the updates (operand constant)."""
    params = dict(dimension_numbers=dimension_numbers, indices_are_sorted=indices_are_sorted,
                  unique_indices=unique_indices, mode=mode)
    ct_operand = ct_updates = None
    if isinstance(operand, UndefinedPrimal):
        ct_operand = scatter_mul_p.bind(ct, indices, updates, **params)
    if isinstance(updates, UndefinedPrimal):
        _needs_unique("scatter_mul", "transpose", unique_indices)
        ct_updates = _gather_windows(mul(ct, operand), indices, dimension_numbers,
                                     updates.aval.shape, mode=mode, fill_value=0)
    return [ct_operand, None, ct_updates]


def scatter_mul(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """Multiply ``operand`` by ``updates`` at ``scatter_indices`` (lax.scatter_mul)."""
    return _scatter_bind(scatter_mul_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted=indices_are_sorted,
                         unique_indices=unique_indices, mode=mode)


# --- scatter_min / scatter_max (one jvp rule) ---
def _scatter_extremal_jvp(prim, primals, tangents, *, dimension_numbers, indices_are_sorted,
                          unique_indices, mode):
    """JAX's rule: where several values tie for the min/max of a location (the
    operand's and the updates'), the output tangent is the average of their tangents."""
    operand, indices, updates = primals
    dn = dimension_numbers
    params = dict(dimension_numbers=dn, indices_are_sorted=indices_are_sorted,
                  unique_indices=unique_indices, mode=mode)
    out = prim.bind(operand, indices, updates, **params)
    x_dot, _, u_dot = tangents
    if _no_tangent(out, x_dot, u_dot):
        return out, zero_tangent(out)
    x_dot, u_dot = instantiate_zero(x_dot), instantiate_zero(u_dot)
    o_aval, u_aval = get_aval(out).strip_weak(), get_aval(updates).strip_weak()
    u_aval = u_aval.update(dtype=o_aval.dtype)
    windows = partial(_gather_windows, indices=indices, dnums=dn, updates_shape=u_aval.shape)
    zeros_u, ones_u = _full(u_aval, 0), _full(u_aval, 1)

    initial_vals, target_vals = windows(operand), windows(out)
    successful = eq(updates, target_vals)
    retained = eq(initial_vals, target_vals)
    count = lambda upd: windows(scatter_add(_full(o_aval, 0), indices, upd, dn))
    num_updates = count(select_n(successful, zeros_u, ones_u))
    num_refs = count(ones_u)
    inv_updates, inv_updates_1 = div(1.0, num_updates), div(1.0, add(num_updates, 1.0))
    updates_coef = select_n(successful, zeros_u,
                              select_n(retained, inv_updates, inv_updates_1))
    operand_coef = div(sub(select_n(retained, zeros_u, inv_updates_1), 1.0), num_refs)
    tangent_updates = add(mul(windows(x_dot), operand_coef), mul(u_dot, updates_coef))
    return out, scatter_add(x_dot, indices, tangent_updates, dn,
                            indices_are_sorted=indices_are_sorted,
                            unique_indices=unique_indices, mode=mode)


scatter_min_p = _make_scatter("scatter_min", lax.scatter_min, NUMBER + "b")
scatter_min_p.def_jvp(partial(_scatter_extremal_jvp, scatter_min_p))


def scatter_min(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """Elementwise minimum of ``operand`` and ``updates`` at ``scatter_indices``
    (lax.scatter_min)."""
    return _scatter_bind(scatter_min_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted=indices_are_sorted,
                         unique_indices=unique_indices, mode=mode)


scatter_max_p = _make_scatter("scatter_max", lax.scatter_max, NUMBER + "b")
scatter_max_p.def_jvp(partial(_scatter_extremal_jvp, scatter_max_p))


def scatter_max(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """Elementwise maximum of ``operand`` and ``updates`` at ``scatter_indices``
    (lax.scatter_max)."""
    return _scatter_bind(scatter_max_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted=indices_are_sorted,
                         unique_indices=unique_indices, mode=mode)


# --- scatter ---
scatter_p = _make_scatter("scatter", lax.scatter, ANY)


@scatter_p.def_jvp
def _scatter_jvp(primals, tangents, *, dimension_numbers, indices_are_sorted, unique_indices,
                 mode):
    """With unique indices, scatter the tangents. Otherwise (as JAX) which of several
    updates to one location wins is unspecified, so: scatter an id per update,
    gather the winning ids back, mask the losing updates (and the overwritten
    operand) to zero and scatter-add what is left; primal and tangent then agree
    on the winner, and the linear part is a scatter_add (transposable)."""
    operand, indices, updates = primals
    dn = dimension_numbers
    params = dict(dimension_numbers=dn, indices_are_sorted=indices_are_sorted,
                  unique_indices=unique_indices, mode=mode)
    x_dot, _, u_dot = tangents
    if _no_tangent(operand, x_dot, u_dot):
        out = scatter_p.bind(operand, indices, updates, **params)
        return out, zero_tangent(out)
    x_dot, u_dot = instantiate_zero(x_dot), instantiate_zero(u_dot)
    if unique_indices:
        return (scatter_p.bind(operand, indices, updates, **params),
                scatter_p.bind(x_dot, indices, u_dot, **params))
    o_aval, u_aval = get_aval(operand), get_aval(updates)
    ids_shape = [1 if d in dn.update_window_dims else s for d, s in enumerate(u_aval.shape)]
    ids = np.arange(1, math.prod(ids_shape) + 1, dtype=np.int32).reshape(ids_shape)
    update_ids = broadcast_in_dim(ids, u_aval.shape, tuple(range(u_aval.ndim)))
    scattered_ids = scatter_p.bind(_full(o_aval.update(dtype=np.int32), 0), indices,
                                   update_ids, **params)
    winners = eq(update_ids, _gather_windows(scattered_ids, indices, dn, u_aval.shape))
    untouched = eq(scattered_ids, 0)
    keep = lambda pred, v: select_n(pred, zeros(get_aval(v).strip_weak()), v)
    scatter_masked = lambda x, u: scatter_add(keep(untouched, x), indices, keep(winners, u), dn,
                                              indices_are_sorted=indices_are_sorted,
                                              unique_indices=unique_indices, mode=mode)
    return scatter_masked(operand, updates), scatter_masked(x_dot, u_dot)


@scatter_p.def_transpose
def _scatter_transpose(ct, operand, indices, updates, *, dimension_numbers,
                       indices_are_sorted, unique_indices, mode):
    """Only with unique indices (as JAX; the jvp rule never emits a non-unique
    scatter of tangents): the operand's ct is ct with the overwritten windows
    zeroed, the updates' ct is ct's windows."""
    if not unique_indices:
        raise NotImplementedError(
            "scatter: transpose is only implemented for unique_indices=True (as in JAX). "
            "Differentiating x.at[idx].set(v) goes through scatter's jvp rule, which "
            "handles repeated indices with a scatter_add.")
    _, ct_updates = _scatter_transpose_parts(ct, operand, indices, updates, dimension_numbers,
                                             mode)
    ct_operand = None
    if isinstance(operand, UndefinedPrimal):
        u_aval = get_aval(updates) if not isinstance(updates, UndefinedPrimal) else updates.aval
        ct_operand = scatter_p.bind(ct, indices, _full(u_aval.update(dtype=ct.dtype), 0),
                                    dimension_numbers=dimension_numbers,
                                    indices_are_sorted=indices_are_sorted,
                                    unique_indices=True, mode=mode)
    return [ct_operand, None, ct_updates]


def scatter(operand, scatter_indices, updates, dimension_numbers, *,
            indices_are_sorted=False, unique_indices=False, mode=None):
    """Write ``updates`` into ``operand`` at ``scatter_indices`` (lax.scatter). With
    repeated indices which update wins is unspecified (as in XLA); gradients
    stay consistent with the primal (see the jvp rule)."""
    return _scatter_bind(scatter_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted=indices_are_sorted,
                         unique_indices=unique_indices, mode=mode)
