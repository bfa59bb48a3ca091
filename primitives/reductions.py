"""Reduction primitives (as jax.lax): reduce_*, argmax/argmin, cumulative ops, sort, top_k.

One block per primitive, all its rules right below it. Families of rules
(the reductions over ``axes``, the cumulative ops along ``axis``) are built
from the small helpers at the top of the file.

Differences from jax.lax: negative axes are accepted everywhere and
normalized by the wrappers (jax.lax rejects them for reduce_*, argmax and the
cumulative ops), so graph params always hold axes in ``[0, ndim)``.

Example::

    >>> import numpy as np, fx, primitives as P
    >>> print(fx.make_graph(lambda x: reduce_max(x, (1,)))(np.ones((2, 3), np.float32)))
    { lambda ; a:f32[2,3]. let
        b:f32[2] = reduce_max[axes=(1,)] a
      in (b,) }

References:
    JAX's lax.py / control_flow/loops.py (reduction, cumulative, sort and
    top_k rules); Hillis & Steele, "Data parallel algorithms" (1986) for the
    doubling scan used by the cumulative jvp rules.
"""
from __future__ import annotations

from functools import partial

import numpy as np
from jax import lax

from fx.ad import zero_tangent, zero_jvp, deflinear, defjvp_zero, Zero
from fx.batching import batch_size, bdim_at_front
from fx.core import Primitive, canonical_dtype, get_aval
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives._rules import ANY, FLOAT, INT_OR_BOOL, NUMBER, check_kind, fmt_avals
from primitives.elementwise import add, convert_element_type, div, eq, mul, sub
from primitives.elementwise_math import exp
from primitives.indexing import gather
from primitives.shape import broadcast_in_dim, broadcasted_iota, pad, reshape

__all__ = ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and",
           "reduce_or", "reduce_xor", "argmax", "argmin", "cumsum", "cumprod", "cummax",
           "cummin", "cumlogsumexp", "sort", "top_k",
           "reduce_sum_p", "reduce_max_p", "reduce_min_p", "reduce_prod_p", "reduce_and_p",
           "reduce_or_p", "reduce_xor_p", "argmax_p", "argmin_p", "cumsum_p", "cumprod_p",
           "cummax_p", "cummin_p", "cumlogsumexp_p", "sort_p", "top_k_p"]


# --- shared helpers -------------------------------------------------------------
def _norm_axes(axes, ndim: int) -> tuple:
    """Map in-range negative axes to ``[0, ndim)``; out-of-range ones are kept so
    that the abstract eval reports them as the user wrote them."""
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    return tuple(int(a) + ndim if -ndim <= int(a) < 0 else int(a) for a in axes)


def _norm_axis(axis, operand) -> int:
    return _norm_axes((axis,), get_aval(operand).ndim)[0]


def _check_axes(op: str, x: ShapedArray, axes, what: str = "axes") -> None:
    if any(not 0 <= a < x.ndim for a in axes):
        shown = tuple(axes) if what == "axes" else axes[0]
        fix = (f"valid axes are {-x.ndim}..{x.ndim - 1}" if x.ndim else
               "a 0-d operand has no axis: reshape it to shape (1,) first")
        raise ShapeError(f"{op}: {what} {shown} out of range for an operand {x.str_short()} "
                         f"of rank {x.ndim}; {fix}.")
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{op}: repeated axis in {what}={tuple(axes)} for an operand "
                         f"{x.str_short()}; list each axis once.")


def _shift_axis(axis: int, bdim: int) -> int:
    """Where an unbatched ``axis`` sits once a batch axis is inserted at ``bdim``."""
    return axis + (axis >= bdim)


def _kept_dims(ndim: int, axes) -> tuple:
    return tuple(i for i in range(ndim) if i not in axes)


def _expand_reduced(out, shape, axes):
    """Broadcast a reduction's result back to the operand's shape."""
    return broadcast_in_dim(out, shape, _kept_dims(len(shape), axes))


def _shift(x, axis: int, offset: int, fill):
    """``y[i] = x[i - offset]`` along ``axis``, ``fill`` where that is out of range
    (one pad with a negative edge). ``|offset|`` must be below the axis size."""
    aval = get_aval(x)
    config = [(0, 0, 0)] * aval.ndim
    config[axis] = (offset, -offset, 0)
    return pad(x, np.array(fill, aval.dtype), config)


def _linear_recurrence(a, b, axis: int, reverse: bool):
    """Solve ``h[i] = a[i] * h[i-1] + b[i]`` along ``axis`` (``h[-1] = 0``; with
    ``reverse`` the recurrence runs from the last element).

    Hillis-Steele doubling: after the step of width ``d`` element ``i`` holds the
    composition ``(A, B)`` of the affine maps of the ``2d`` elements ending at
    ``i``; log2(n) steps of O(n) work. Linear in ``b`` (``a`` is a constant), so
    it transposes.
    """
    n = get_aval(b).shape[axis]
    d = 1
    while d < n:
        offset = -d if reverse else d
        b = add(mul(a, _shift(b, axis, offset, 0)), b)
        if 2 * d < n:
            a = mul(a, _shift(a, axis, offset, 1))
        d *= 2
    return b


def _take_along_axis(x, idx, axis: int):
    """``x`` read at ``idx`` along ``axis`` (the other axes of ``x`` and ``idx``
    have equal sizes): one gather whose other axes are batching dims. Linear
    in ``x`` (gather's transpose is a scatter-add)."""
    idx_shape = get_aval(idx).shape
    ndim = len(idx_shape)
    batch = _kept_dims(ndim, (axis,))
    dnums = lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(axis,),
                                       start_index_map=(axis,), operand_batching_dims=batch,
                                       start_indices_batching_dims=batch)
    starts = reshape(idx, idx_shape + (1,))
    return gather(x, starts, dnums, (1,) * ndim)


# --- reductions over `axes`: shared rules ---
def _reduce_aval(op, kinds, x, *, axes):
    check_kind(op, (x,), kinds)
    _check_axes(op, x, axes)
    return ShapedArray(tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype,
                       x.weak_type)


def _reduce_batch(prim, args, bdims, *, axes):
    (x,), (bdim,) = args, bdims
    axes = tuple(_shift_axis(a, bdim) for a in axes)
    return prim.bind(x, axes=axes), bdim - sum(a < bdim for a in axes)


def _reduce_lowering(lax_fn, x, *, axes):
    """``lax_fn(x, axes)``, with size-1 dims reshaped away first: XLA:CPU reduces
    e.g. f32[256,1,256] over axis 0 twenty times slower than f32[256,256]
    (such shapes come from vmapping per-example code written on a batch of one)."""
    shape = np.shape(x)
    if 1 not in shape or len(shape) < 2:
        return lax_fn(x, axes)
    keep = [d for d in range(len(shape)) if shape[d] != 1]
    new_axes = tuple(i for i, d in enumerate(keep) if d in axes)
    out_shape = [shape[d] for d in range(len(shape)) if d not in axes]
    out = lax_fn(x.reshape([shape[d] for d in keep]), new_axes) if new_axes else \
        x.reshape([shape[d] for d in keep])
    return out.reshape(out_shape)


def _reduction(name, kinds, lax_fn, jvp=None):
    """A reduction over ``axes`` with its abstract eval, lowering and batch rule
    (and ``jvp(prim, primals, tangents, axes=...)`` when given; ``"linear"``
    for a reduction linear in its operand)."""
    p = Primitive(name)
    p.def_abstract_eval(partial(_reduce_aval, name, kinds))
    p.def_lowering(partial(_reduce_lowering, lax_fn))
    p.def_batch(partial(_reduce_batch, p))
    if jvp == "linear":
        deflinear(p)
    elif jvp is not None:
        p.def_jvp(partial(jvp, p))
    return p


def _bind_reduce(prim, operand, axes):
    return prim.bind(operand, axes=_norm_axes(axes, get_aval(operand).ndim))


def _chooser_jvp(prim, primals, tangents, *, axes):
    """reduce_max/min: the tangent at the location of the extremum, averaged
    over ties (location mask / count, as JAX)."""
    (x,), (t,) = primals, tangents
    out = prim.bind(x, axes=axes)
    if isinstance(t, Zero):
        return out, zero_tangent(out)
    dtype = get_aval(t).dtype
    at_max = convert_element_type(eq(x, _expand_reduced(out, get_aval(x).shape, axes)), dtype)
    counts = reduce_sum(at_max, axes)
    return out, div(reduce_sum(mul(t, at_max), axes), counts)


# --- reduce_sum ---
reduce_sum_p = _reduction("reduce_sum", NUMBER, lax.reduce_sum, jvp="linear")


@reduce_sum_p.def_transpose
def _reduce_sum_transpose(ct, x, *, axes):
    return [_expand_reduced(ct, x.aval.shape, axes)]


def reduce_sum(operand, axes):
    """Sum of ``operand`` over ``axes`` (lax.reduce_sum).

    Args:
      operand: a numeric array.
      axes: a tuple of distinct axes (negative ones count from the end).

    Returns:
      ``operand`` with ``axes`` removed.
    """
    return _bind_reduce(reduce_sum_p, operand, axes)


# --- reduce_max ---
reduce_max_p = _reduction("reduce_max", ANY, lax.reduce_max, jvp=_chooser_jvp)


def reduce_max(operand, axes):
    """Maximum of ``operand`` over ``axes`` (lax.reduce_max; NaN propagates).
    The jvp averages the tangents of tied maxima, as JAX's."""
    return _bind_reduce(reduce_max_p, operand, axes)


# --- reduce_min ---
reduce_min_p = _reduction("reduce_min", ANY, lax.reduce_min, jvp=_chooser_jvp)


def reduce_min(operand, axes):
    """Minimum of ``operand`` over ``axes`` (lax.reduce_min)."""
    return _bind_reduce(reduce_min_p, operand, axes)


# --- reduce_prod ---
def _prod_axis_tangent(x, t, axis):
    """d prod(x, axis) = sum_i t_i * prod_{j != i} x_j, with the product of the
    others as exclusive prefix * exclusive suffix products: exact with zeros."""
    n = get_aval(x).shape[axis]
    if n == 0:
        return reduce_sum(t, (axis,))
    before = _shift(cumprod(x, axis), axis, 1, 1)
    after = _shift(cumprod(x, axis, reverse=True), axis, -1, 1)
    return reduce_sum(mul(t, mul(before, after)), (axis,))


def _reduce_prod_jvp(prim, primals, tangents, *, axes):
    """One axis at a time (highest first, so lower axis numbers stay valid)."""
    (x,), (t,) = primals, tangents
    out = prim.bind(x, axes=axes)
    if isinstance(t, Zero):
        return out, zero_tangent(out)
    for axis in sorted(axes, reverse=True):
        t = _prod_axis_tangent(x, t, axis)
        x = reduce_prod(x, (axis,))
    return out, t


reduce_prod_p = _reduction("reduce_prod", NUMBER, lax.reduce_prod, jvp=_reduce_prod_jvp)


def reduce_prod(operand, axes):
    """Product of ``operand`` over ``axes`` (lax.reduce_prod). The jvp is
    zero-safe (products of the other elements, never a division)."""
    return _bind_reduce(reduce_prod_p, operand, axes)


# --- reduce_and ---
reduce_and_p = _reduction("reduce_and", INT_OR_BOOL, lax.reduce_and, jvp=zero_jvp)


def reduce_and(operand, axes):
    """Logical (bool) or bitwise (int) AND over ``axes`` (lax.reduce_and)."""
    return _bind_reduce(reduce_and_p, operand, axes)


# --- reduce_or ---
reduce_or_p = _reduction("reduce_or", INT_OR_BOOL, lax.reduce_or, jvp=zero_jvp)


def reduce_or(operand, axes):
    """Logical (bool) or bitwise (int) OR over ``axes`` (lax.reduce_or)."""
    return _bind_reduce(reduce_or_p, operand, axes)


# --- reduce_xor ---
reduce_xor_p = _reduction("reduce_xor", INT_OR_BOOL, lax.reduce_xor, jvp=zero_jvp)


def reduce_xor(operand, axes):
    """Logical (bool) or bitwise (int) XOR over ``axes`` (lax.reduce_xor)."""
    return _bind_reduce(reduce_xor_p, operand, axes)


# --- argmax / argmin: shared rules ---
def _arg_aval(op, x, *, axis, index_dtype):
    if np.dtype(index_dtype).kind not in "iu":
        raise FxTypeError(f"{op}: index_dtype must be an integer type, got "
                          f"{np.dtype(index_dtype).name} (operand {x.str_short()}). "
                          f"Fix: pass index_dtype=jnp.int32.")
    _check_axes(op, x, (axis,), what="axis")
    if x.shape[axis] == 0:
        raise ShapeError(f"{op}: axis {axis} of {x.str_short()} is empty; an empty axis has "
                         f"no {op[3:]}imum to locate.")
    return ShapedArray(x.shape[:axis] + x.shape[axis + 1:], index_dtype, False)


def _arg_batch(prim, args, bdims, *, axis, index_dtype):
    (x,), (bdim,) = args, bdims
    axis = _shift_axis(axis, bdim)
    return prim.bind(x, axis=axis, index_dtype=index_dtype), bdim - (axis < bdim)


def _arg_reduction(name, lax_fn):
    p = Primitive(name)
    p.def_abstract_eval(partial(_arg_aval, name))
    p.def_lowering(lambda x, *, axis, index_dtype: lax_fn(x, axis, index_dtype))
    defjvp_zero(p)
    p.def_batch(partial(_arg_batch, p))
    return p


def _bind_arg(prim, operand, axis, index_dtype):
    return prim.bind(operand, axis=_norm_axis(axis, operand),
                     index_dtype=canonical_dtype(np.dtype(index_dtype)))


# --- argmax ---
argmax_p = _arg_reduction("argmax", lax.argmax)


def argmax(operand, axis, index_dtype):
    """Index of the maximum along ``axis`` (lax.argmax): the first one on ties;
    NaN counts as the maximum.

    Args:
      operand: an array with a non-empty ``axis``.
      axis: the axis to reduce.
      index_dtype: an integer dtype for the result.
    """
    return _bind_arg(argmax_p, operand, axis, index_dtype)


# --- argmin ---
argmin_p = _arg_reduction("argmin", lax.argmin)


def argmin(operand, axis, index_dtype):
    """Index of the minimum along ``axis`` (lax.argmin)."""
    return _bind_arg(argmin_p, operand, axis, index_dtype)


# --- cumulative ops along `axis`: shared rules ---
def _cum_aval(op, kinds, x, *, axis, reverse):
    check_kind(op, (x,), kinds)
    _check_axes(op, x, (axis,), what="axis")
    return x


def _cum_batch(prim, args, bdims, *, axis, reverse):
    (x,), (bdim,) = args, bdims
    return prim.bind(x, axis=_shift_axis(axis, bdim), reverse=reverse), bdim


def _cumulative(name, kinds, lax_fn, jvp):
    p = Primitive(name)
    p.def_abstract_eval(partial(_cum_aval, name, kinds))
    p.def_lowering(lambda x, *, axis, reverse: lax_fn(x, axis, reverse))
    if jvp == "linear":
        deflinear(p)
    else:
        p.def_jvp(partial(jvp, p))
    p.def_batch(partial(_cum_batch, p))
    return p


def _bind_cum(prim, operand, axis, reverse):
    return prim.bind(operand, axis=_norm_axis(axis, operand), reverse=bool(reverse))


def _previous(out, axis, reverse, fill):
    """``out`` of the element before each one in scan order (``fill`` for the first)."""
    return _shift(out, axis, -1 if reverse else 1, fill)


def _cumprod_jvp(prim, primals, tangents, *, axis, reverse):
    """d c[i] = x[i] * d c[i-1] + c[i-1] * t[i]: a linear recurrence, zero-safe."""
    (x,), (t,) = primals, tangents
    out = prim.bind(x, axis=axis, reverse=reverse)
    if isinstance(t, Zero):
        return out, zero_tangent(out)
    b = mul(_previous(out, axis, reverse, 1), t)
    return out, _linear_recurrence(x, b, axis, reverse)


def _cumlogsumexp_jvp(prim, primals, tangents, *, axis, reverse):
    """d y[i] = exp(y[i-1] - y[i]) d y[i-1] + exp(x[i] - y[i]) t[i]; both factors
    are in [0, 1], so the recurrence is stable."""
    (x,), (t,) = primals, tangents
    out = prim.bind(x, axis=axis, reverse=reverse)
    if isinstance(t, Zero):
        return out, zero_tangent(out)
    decay = exp(sub(_previous(out, axis, reverse, -np.inf), out))
    b = mul(t, exp(sub(x, out)))
    return out, _linear_recurrence(decay, b, axis, reverse)


def _cumchooser_jvp(prim, primals, tangents, *, axis, reverse):
    """cummax/cummin: the tangent at the position of the running extremum,
    averaged over its ties (as reduce_max's jvp). The positions holding the
    current extremum form the run of equal outputs, so the sums of tangents and
    counts restart where the output changes: two linear recurrences.

    (JAX differentiates its associative scan of lax.max instead; the results
    agree when the running extremum has no ties.)
    """
    (x,), (t,) = primals, tangents
    out = prim.bind(x, axis=axis, reverse=reverse)
    if isinstance(t, Zero):
        return out, zero_tangent(out)
    dtype = get_aval(t).dtype
    same_run = convert_element_type(eq(out, _previous(out, axis, reverse, 0)), dtype)
    at_extremum = convert_element_type(eq(x, out), dtype)
    total = _linear_recurrence(same_run, mul(t, at_extremum), axis, reverse)
    count = _linear_recurrence(same_run, at_extremum, axis, reverse)
    return out, div(total, count)


# --- cumsum ---
cumsum_p = _cumulative("cumsum", NUMBER, lax.cumsum, jvp="linear")


@cumsum_p.def_transpose
def _cumsum_transpose(ct, x, *, axis, reverse):
    return [cumsum(ct, axis, not reverse)]


def cumsum(operand, axis=0, reverse=False):
    """Cumulative sum along ``axis`` (lax.cumsum); ``reverse`` sums from the end."""
    return _bind_cum(cumsum_p, operand, axis, reverse)


# --- cumprod ---
cumprod_p = _cumulative("cumprod", NUMBER, lax.cumprod, jvp=_cumprod_jvp)


def cumprod(operand, axis=0, reverse=False):
    """Cumulative product along ``axis`` (lax.cumprod); zero-safe jvp."""
    return _bind_cum(cumprod_p, operand, axis, reverse)


# --- cummax ---
cummax_p = _cumulative("cummax", NUMBER, lax.cummax, jvp=_cumchooser_jvp)


def cummax(operand, axis=0, reverse=False):
    """Running maximum along ``axis`` (lax.cummax)."""
    return _bind_cum(cummax_p, operand, axis, reverse)


# --- cummin ---
cummin_p = _cumulative("cummin", NUMBER, lax.cummin, jvp=_cumchooser_jvp)


def cummin(operand, axis=0, reverse=False):
    """Running minimum along ``axis`` (lax.cummin)."""
    return _bind_cum(cummin_p, operand, axis, reverse)


# --- cumlogsumexp ---
cumlogsumexp_p = _cumulative("cumlogsumexp", FLOAT, lax.cumlogsumexp, jvp=_cumlogsumexp_jvp)


def cumlogsumexp(operand, axis=0, reverse=False):
    """Running log(sum(exp(x))) along ``axis`` (lax.cumlogsumexp), computed stably."""
    return _bind_cum(cumlogsumexp_p, operand, axis, reverse)


# --- sort ---
sort_p = Primitive("sort", multiple_results=True)


@sort_p.def_abstract_eval
def _sort_aval(*xs, dimension, is_stable, num_keys):
    if not xs:
        raise ShapeError("sort needs at least one operand.")
    if any(x.shape != xs[0].shape for x in xs):
        raise ShapeError(f"sort: all operands must have the same shape, got {fmt_avals(xs)}. "
                         f"Fix: broadcast them to one shape first.")
    _check_axes("sort", xs[0], (dimension,), what="dimension")
    if not 1 <= num_keys <= len(xs):
        raise ShapeError(f"sort: num_keys={num_keys} must be between 1 and the number of "
                         f"operands ({len(xs)}: {fmt_avals(xs)}).")
    return list(xs)


@sort_p.def_lowering
def _sort_lowering(*xs, dimension, is_stable, num_keys):
    return list(lax.sort(xs, dimension=dimension, is_stable=is_stable, num_keys=num_keys))


@sort_p.def_jvp
def _sort_jvp(primals, tangents, *, dimension, is_stable, num_keys):
    """Sort an iota along as an extra (non-key) operand; it is the permutation
    that the tangents are gathered with (as JAX)."""
    shape = get_aval(primals[0]).shape
    *out, perm = sort_p.bind(*primals, broadcasted_iota(np.int32, shape, dimension),
                             dimension=dimension, is_stable=is_stable, num_keys=num_keys)
    return out, [zero_tangent(o) if isinstance(t, Zero) else _take_along_axis(t, perm, dimension)
                 for o, t in zip(out, tangents)]


@sort_p.def_batch
def _sort_batch(args, bdims, *, dimension, is_stable, num_keys):
    if all(d == bdims[0] for d in bdims):
        bdim = bdims[0]
    else:  # mixed: every operand gets the batch axis in front
        size = batch_size(args, bdims)
        args, bdim = [bdim_at_front(x, d, size) for x, d in zip(args, bdims)], 0
    out = sort_p.bind(*args, dimension=_shift_axis(dimension, bdim), is_stable=is_stable,
                      num_keys=num_keys)
    return out, [bdim] * len(out)


def sort(operand, dimension=-1, is_stable=True, num_keys=1):
    """Sort along ``dimension`` (lax.sort).

    Args:
      operand: an array, or a tuple/list of arrays of one shape sorted together
        (lexicographically by the first ``num_keys`` of them).
      dimension: the axis to sort.
      is_stable: keep the order of equal keys.
      num_keys: how many leading operands are keys.

    Returns:
      The sorted array, or a tuple of sorted arrays when ``operand`` is a sequence.
    """
    if isinstance(operand, (tuple, list)):
        ndim = get_aval(operand[0]).ndim if operand else 0
        return tuple(sort_p.bind(*operand, dimension=_norm_axes((dimension,), ndim)[0],
                                 is_stable=bool(is_stable), num_keys=int(num_keys)))
    return sort_p.bind(operand, dimension=_norm_axis(dimension, operand),
                       is_stable=bool(is_stable), num_keys=int(num_keys))[0]


# --- top_k ---
top_k_p = Primitive("top_k", multiple_results=True)


@top_k_p.def_abstract_eval
def _top_k_aval(x, *, k, axis):
    _check_axes("top_k", x, (axis,), what="axis")
    if not 0 <= k <= x.shape[axis]:
        raise ShapeError(f"top_k: k={k} must be in 0..{x.shape[axis]}, the size of axis {axis} "
                         f"of {x.str_short()}.")
    shape = x.shape[:axis] + (k,) + x.shape[axis + 1:]
    return [x.update(shape=shape), ShapedArray(shape, np.dtype(np.int32), False)]


top_k_p.def_lowering(lambda x, *, k, axis: list(lax.top_k(x, k, axis=axis)))


@top_k_p.def_jvp
def _top_k_jvp(primals, tangents, *, k, axis):
    (x,), (t,) = primals, tangents
    values, indices = top_k_p.bind(x, k=k, axis=axis)
    t_values = zero_tangent(values) if isinstance(t, Zero) else _take_along_axis(t, indices, axis)
    return [values, indices], [t_values, zero_tangent(indices)]


@top_k_p.def_batch
def _top_k_batch(args, bdims, *, k, axis):
    (x,), (bdim,) = args, bdims
    return top_k_p.bind(x, k=k, axis=_shift_axis(axis, bdim)), [bdim, bdim]


def top_k(operand, k, *, axis=-1):
    """The ``k`` largest entries along ``axis`` and their indices (lax.top_k).

    Returns:
      ``[values, indices]`` (a list, as lax.top_k), sorted in decreasing order;
      indices are int32.
    """
    return top_k_p.bind(operand, k=int(k), axis=_norm_axis(axis, operand))
