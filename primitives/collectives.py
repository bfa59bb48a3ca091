"""Collectives over named axes (as jax.lax): psum, pmean, pmax, pmin, all_gather,
psum_scatter, ppermute, all_to_all, axis_index, axis_size, pbroadcast, pcast.

An axis name is bound by ``vmap(f, axis_name='i')`` (and, with the
distribution work, by ``shard_map``/``pmap``); ``fx.axis_env`` records it.
Each collective is a ``CollectivePrimitive``: its ``bind`` looks the names up
(a name no mapping binds raises ``fx.errors.UnboundAxisError``, eager or
traced) and hands the op to the trace implementing the innermost of its axes.
Under vmap that trace's ``axis_batch`` rule sees the axis: when
the op names the vmap's axis it reduces/gathers over the batch dimension (the
result is unbatched, as in JAX: every lane holds the sum), and otherwise it
is elementwise in the batch dimension. A tuple of names is resolved from the
innermost axis outwards.

Example::

    >>> from transforms import vmap
    >>> vmap(lambda x: x / P.psum(x, 'i'), axis_name='i')(fnp.arange(1.0, 4.0))
    [0.1667, 0.3333, 0.5]
    >>> print(fx.make_graph(vmap(lambda x: P.psum(x, 'i'), axis_name='i'))(fnp.ones(3)))
    { lambda ; a:f32[3]. let
        b:f32[] = reduce_sum[axes=(0,)] a
        c:f32[3] = broadcast_in_dim[shape=(3,), broadcast_dimensions=()] b
      in (c,) }

Inside ``shard_map`` (``primitives.shard_map``) the mesh axes are bound with
no trace: collectives over them are staged into the body and lowered to the
``jax.lax`` collective of the same name inside ``jax.shard_map``; outside one
lowering raises NotImplementedError. With ``check_vma`` the body's ``psum``s
become ``psum_invariant`` and ``pvary`` (invariant -> varying) is made
explicit, as jax: the transpose of ``psum_invariant`` is ``pvary`` (no
communication) and the transpose of ``pvary`` is a ``psum``.

References:
    jax/_src/lax/parallel.py (the batching rules of the collectives).
"""
from __future__ import annotations

from functools import partial

import numpy as np
import jax
from jax import lax

from fx.axis_env import (axis_size as env_axis_size, checked_axes, lookup, unbound_error,
                         vma_checked_axes)
from fx.ad import deflinear, zeros
from fx.batching import bdim_at_front, moveaxis
from fx.dtypes import is_float
from fx.core import Primitive, get_aval, register_structural_ops
from fx.errors import ShapeError
from fx.ir import ShapedArray
from primitives._rules import NUMBER, check_kind
from primitives.elementwise import add, convert_element_type, div, eq, mul, select_n
from primitives.indexing import GatherDimensionNumbers, gather
from primitives.reductions import reduce_max, reduce_min, reduce_sum
from primitives.shape import broadcast_in_dim, iota, reshape, transpose

__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "psum_scatter", "ppermute",
           "all_to_all", "axis_index", "axis_size", "pbroadcast", "pcast", "CollectivePrimitive",
           "psum_p", "pmax_p", "pmin_p", "all_gather_p", "psum_scatter_p", "ppermute_p",
           "all_to_all_p", "axis_index_p", "psum_invariant_p", "pvary_p", "vma_checked_axes",
           "psum_to_type_of"]


# --- the collective primitive and shared helpers ------------------------------
class CollectivePrimitive(Primitive):
    """A primitive whose ``axes`` param names mapped axes.

    ``bind`` checks the names are bound and validates the operands (abstract
    eval, so errors are typed even eagerly); its ``axis_names`` rule (the
    ``axes`` param) lets ``Primitive.bind`` hand the op to the trace
    implementing the innermost named axis, even when no operand is one of its
    tracers (``psum(1, 'i')``, ``axis_index('i')``). Batch rules are
    ``axis_batch`` rules: they see the vmap's axis.
    """

    def __init__(self, name: str, multiple_results: bool = False):
        super().__init__(name, multiple_results)
        self.def_axis_names(lambda *, axes, **_: axes)
        self.def_vma(_varying_over_axes)

    def bind(self, *args, **params):
        for name in params["axes"]:
            if lookup(name) is None:
                raise unbound_error(self.name, name)
        self.rule("abstract_eval")(*[get_aval(a) for a in args], **params)
        return super().bind(*args, **params)


def _checked(axes) -> frozenset:
    return frozenset(axes) & frozenset(checked_axes())


def _varying_over_axes(*vmas, axes, **_):
    """The check_vma typing of a gathering / permuting collective (and of
    ``axis_index``): the operand is cast to vary over the mesh ``axes`` and the
    result varies over them (as jax's ``all_gather`` / ``ppermute``)."""
    a = _checked(axes)
    targets = [v | a for v in vmas]
    return targets, frozenset().union(*targets) if targets else a


def _reduced_over_axes(*vmas, axes, **_):
    """The check_vma typing of a reduction over ``axes`` (psum, pmax, pmin): a
    varying operand (an invariant one is cast first, so ``psum`` of it is
    ``n * x`` as jax's), an invariant result."""
    a = _checked(axes)
    targets = [v | a for v in vmas]
    return targets, frozenset().union(*targets) - a


def _axes(axis_name) -> tuple:
    """jax.lax's ``axis_name`` (a name or a tuple of names) as the ``axes`` param."""
    axes = tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)
    if not axes:
        raise ShapeError("collective: axis_name must name at least one axis, got ().")
    return axes


def _no_groups(op: str, axis_index_groups) -> None:
    if axis_index_groups is not None:
        raise NotImplementedError(f"{op}: axis_index_groups is not supported (pass None).")


def _rest(axes: tuple, axis_name) -> tuple:
    return tuple(n for n in axes if n != axis_name)


def _single_axis(op: str, axes: tuple) -> None:
    if len(axes) != 1:
        raise NotImplementedError(f"{op} over several axis names {axes} under vmap is not "
                                  f"supported; apply it once per axis.")


def _jax_axis_name(axes: tuple):
    return axes[0] if len(axes) == 1 else axes


def _lowering(op: str, lax_fn, *args, axes, **params):
    """Lower to the jax.lax collective: valid only where jax binds the axis names."""
    try:
        return lax_fn(*args, _jax_axis_name(axes), **params)
    except NameError as e:
        raise NotImplementedError(
            f"{op} over axis {axes} reached XLA lowering outside any jax-level mapping that "
            f"binds it ({e}). Under fxjax, collectives over vmap axes are resolved by vmap "
            f"(vmap(f, axis_name=...)); lowering inside shard_map/pmap comes with the "
            f"distribution primitives.") from None


def _axis_aval(op: str, kinds: str, x: ShapedArray, *, axes, **_) -> ShapedArray:
    check_kind(op, (x,), kinds)
    env_axis_size(axes, op)
    return x


def _check_dim(op: str, x: ShapedArray, dim: int, what: str, extra: int = 0) -> None:
    if not 0 <= dim < x.ndim + extra:
        raise ShapeError(f"{op}: {what}={dim} is out of range for an operand {x.str_short()}; "
                         f"valid values are {-(x.ndim + extra)}..{x.ndim + extra - 1}.")


def _canon_dim(dim: int, ndim: int) -> int:
    dim = int(dim)
    return dim + ndim if -ndim <= dim < 0 else dim


# --- psum / pmax / pmin: reductions over the named axes ---------------------
def _reduction_batch(prim, reduce_fn, unbatched_fn, args, bdims, *, axis_name, axis_size,
                     axes):
    """Over this vmap's axis: reduce the batch dim (unbatched result, one value
    for every lane); over other axes: elementwise in the batch dim."""
    (x,), (d,) = args, bdims
    if axis_name not in axes:
        return prim.bind(x, axes=axes), d
    out = unbatched_fn(x, axis_size) if d is None else reduce_fn(x, (d,))
    rest = _rest(axes, axis_name)
    return (prim.bind(out, axes=rest) if rest else out), None


def _reduction_collective(name: str, lax_fn, reduce_fn, unbatched_fn) -> CollectivePrimitive:
    p = CollectivePrimitive(name)
    p.def_abstract_eval(partial(_axis_aval, name, NUMBER))
    p.def_lowering(partial(_lowering, name, lax_fn))
    p.def_axis_batch(partial(_reduction_batch, p, reduce_fn, unbatched_fn))
    p.def_vma(_reduced_over_axes)
    return p


def _reduce_tree(prim, x, axis_name, axis_index_groups, op):
    _no_groups(op, axis_index_groups)
    axes = _axes(axis_name)
    if prim is psum_p and _all_checked(axes):
        prim = psum_invariant_p
    return jax.tree_util.tree_map(lambda v: prim.bind(v, axes=axes), x)


def _all_checked(axes) -> bool:
    """Every name is a mesh axis (bound with no trace) of a check_vma shard_map."""
    checked = checked_axes()
    return all(n in checked and getattr(lookup(n), "main", 0) is None for n in axes)


# --- psum ---
psum_p = _reduction_collective("psum", lax.psum, reduce_sum, lambda x, n: mul(x, n))
deflinear(psum_p)


@psum_p.def_transpose
def _psum_transpose(ct, x, *, axes):
    # As JAX under vmap: the transpose of psum is psum (every lane's cotangent flows to all).
    return [psum_p.bind(ct, axes=axes)]


def psum(x, axis_name, *, axis_index_groups=None):
    """Sum of ``x`` over the mapped axis ``axis_name`` (lax.psum); ``x`` may be a pytree.

    Under ``vmap(..., axis_name='i')`` every lane gets the sum over the lanes.
    """
    return _reduce_tree(psum_p, x, axis_name, axis_index_groups, "psum")


# --- pmax ---
pmax_p = _reduction_collective("pmax", lax.pmax, reduce_max, lambda x, n: x)


def pmax(x, axis_name, *, axis_index_groups=None):
    """Maximum of ``x`` over the mapped axis ``axis_name`` (lax.pmax; not differentiable,
    as in JAX)."""
    return _reduce_tree(pmax_p, x, axis_name, axis_index_groups, "pmax")


# --- pmin ---
pmin_p = _reduction_collective("pmin", lax.pmin, reduce_min, lambda x, n: x)


def pmin(x, axis_name, *, axis_index_groups=None):
    """Minimum of ``x`` over the mapped axis ``axis_name`` (lax.pmin; not differentiable,
    as in JAX)."""
    return _reduce_tree(pmin_p, x, axis_name, axis_index_groups, "pmin")


# --- pmean (psum / axis size, as jax.lax.pmean) ---
def pmean(x, axis_name, *, axis_index_groups=None):
    """Mean of ``x`` over the mapped axis ``axis_name`` (lax.pmean): ``psum(x) / size``;
    integer inputs give float32, as in JAX."""
    _no_groups("pmean", axis_index_groups)
    n = env_axis_size(_axes(axis_name), "pmean")

    def mean(v):
        s = psum(v, axis_name)
        if not is_float(get_aval(s)):
            s = convert_element_type(s, np.float32)
        return div(s, float(n))

    return jax.tree_util.tree_map(mean, x)


# --- all_gather ---
all_gather_p = CollectivePrimitive("all_gather")


@all_gather_p.def_abstract_eval
def _all_gather_aval(x, *, axes, axis, tiled):
    n = env_axis_size(axes, "all_gather")
    _check_dim("all_gather", x, axis, "axis", extra=0 if tiled else 1)
    if tiled:
        shape = x.shape[:axis] + (x.shape[axis] * n,) + x.shape[axis + 1:]
    else:
        shape = x.shape[:axis] + (n,) + x.shape[axis:]
    return ShapedArray(shape, x.dtype, x.weak_type)


all_gather_p.def_lowering(lambda x, *, axes, axis, tiled: _lowering(
    "all_gather", lax.all_gather, x, axes=axes, axis=axis, tiled=tiled))
deflinear(all_gather_p)


@all_gather_p.def_transpose
def _all_gather_transpose(ct, x, *, axes, axis, tiled):
    return [psum_scatter_p.bind(ct, axes=axes, scatter_dimension=axis, tiled=tiled)]


def _merge_axes(x, axis: int):
    """Merge axes ``axis`` and ``axis + 1`` of ``x`` (row-major)."""
    shape = get_aval(x).shape
    return reshape(x, shape[:axis] + (shape[axis] * shape[axis + 1],) + shape[axis + 2:])


def _split_axis(x, axis: int, n: int):
    """Split axis ``axis`` of ``x`` into ``(n, size // n)``."""
    shape = get_aval(x).shape
    return reshape(x, shape[:axis] + (n, shape[axis] // n) + shape[axis + 1:])


@all_gather_p.def_axis_batch
def _all_gather_batch(args, bdims, *, axis_name, axis_size, axes, axis, tiled):
    (x,), (d,) = args, bdims
    if axis_name not in axes:
        if d is None:
            return all_gather_p.bind(x, axes=axes, axis=axis, tiled=tiled), None
        x = moveaxis(x, d, 0)
        return all_gather_p.bind(x, axes=axes, axis=axis + 1, tiled=tiled), 0
    _single_axis("all_gather", axes)
    out = moveaxis(bdim_at_front(x, d, axis_size), 0, axis)  # the lanes, stacked at `axis`
    return (_merge_axes(out, axis) if tiled else out), None


def all_gather(x, axis_name, *, axis_index_groups=None, axis=0, tiled=False):
    """Gather ``x`` from every lane of ``axis_name`` (lax.all_gather): a new axis of
    the axis size at ``axis`` (or, with ``tiled``, concatenated along ``axis``)."""
    _no_groups("all_gather", axis_index_groups)
    axes = _axes(axis_name)

    def one(v):
        ndim = get_aval(v).ndim
        return all_gather_p.bind(v, axes=axes, axis=_canon_dim(axis, ndim if tiled else ndim + 1),
                                 tiled=bool(tiled))

    return jax.tree_util.tree_map(one, x)


# --- psum_scatter ---
psum_scatter_p = CollectivePrimitive("psum_scatter")


@psum_scatter_p.def_abstract_eval
def _psum_scatter_aval(x, *, axes, scatter_dimension, tiled):
    check_kind("psum_scatter", (x,), NUMBER)
    n = env_axis_size(axes, "psum_scatter")
    s = scatter_dimension
    _check_dim("psum_scatter", x, s, "scatter_dimension")
    if tiled:
        if x.shape[s] % n:
            raise ShapeError(f"psum_scatter: with tiled=True, dimension {s} of {x.str_short()} "
                             f"must be divisible by the axis size {n}.")
        shape = x.shape[:s] + (x.shape[s] // n,) + x.shape[s + 1:]
    else:
        if x.shape[s] != n:
            raise ShapeError(f"psum_scatter: dimension {s} of {x.str_short()} must equal the "
                             f"axis size {n} (or pass tiled=True to split it into {n} blocks).")
        shape = x.shape[:s] + x.shape[s + 1:]
    return ShapedArray(shape, x.dtype, x.weak_type)


psum_scatter_p.def_lowering(lambda x, *, axes, scatter_dimension, tiled: _lowering(
    "psum_scatter", lax.psum_scatter, x, axes=axes, scatter_dimension=scatter_dimension,
    tiled=tiled))
deflinear(psum_scatter_p)


@psum_scatter_p.def_transpose
def _psum_scatter_transpose(ct, x, *, axes, scatter_dimension, tiled):
    return [all_gather_p.bind(ct, axes=axes, axis=scatter_dimension, tiled=tiled)]


@psum_scatter_p.def_axis_batch
def _psum_scatter_batch(args, bdims, *, axis_name, axis_size, axes, scatter_dimension, tiled):
    (x,), (d,) = args, bdims
    s = scatter_dimension
    if axis_name not in axes:
        if d is None:
            return psum_scatter_p.bind(x, axes=axes, scatter_dimension=s, tiled=tiled), None
        x = moveaxis(x, d, 0)
        return psum_scatter_p.bind(x, axes=axes, scatter_dimension=s + 1, tiled=tiled), 0
    _single_axis("psum_scatter", axes)
    total = mul(x, axis_size) if d is None else reduce_sum(x, (d,))
    # lane k gets block k of the scatter dimension: that dimension becomes the batch dim
    return (_split_axis(total, s, axis_size) if tiled else total), s


def psum_scatter(x, axis_name, *, scatter_dimension=0, axis_index_groups=None, tiled=False):
    """Sum over ``axis_name`` then scatter the result along ``scatter_dimension``
    (lax.psum_scatter): lane k keeps block k."""
    _no_groups("psum_scatter", axis_index_groups)
    axes = _axes(axis_name)
    return jax.tree_util.tree_map(lambda v: psum_scatter_p.bind(
        v, axes=axes, scatter_dimension=_canon_dim(scatter_dimension, get_aval(v).ndim),
        tiled=bool(tiled)), x)


# --- ppermute ---
ppermute_p = CollectivePrimitive("ppermute")


@ppermute_p.def_abstract_eval
def _ppermute_aval(x, *, axes, perm):
    n = env_axis_size(axes, "ppermute")
    srcs, dsts = [s for s, _ in perm], [t for _, t in perm]
    if len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts) or \
            any(not 0 <= i < n for i in srcs + dsts):
        raise ShapeError(f"ppermute: perm={perm} is not a partial permutation of the {n} lanes "
                         f"of axis {axes}: sources and destinations must be distinct indices "
                         f"in 0..{n - 1}.")
    return x


ppermute_p.def_lowering(lambda x, *, axes, perm: _lowering(
    "ppermute", lambda v, name: lax.ppermute(v, name, perm), x, axes=axes))
deflinear(ppermute_p)


@ppermute_p.def_transpose
def _ppermute_transpose(ct, x, *, axes, perm):
    return [ppermute_p.bind(ct, axes=axes, perm=tuple((t, s) for s, t in perm))]


@ppermute_p.def_axis_batch
def _ppermute_batch(args, bdims, *, axis_name, axis_size, axes, perm):
    (x,), (d,) = args, bdims
    if axis_name not in axes:
        return ppermute_p.bind(x, axes=axes, perm=perm), d
    _single_axis("ppermute", axes)
    x = bdim_at_front(x, d, axis_size)
    src = np.zeros((axis_size, 1), np.int32)
    got = np.zeros((axis_size,), bool)
    for s, t in perm:  # a static table of size axis_size (no per-lane ops)
        src[t, 0], got[t] = s, True
    shape = get_aval(x).shape
    dnums = GatherDimensionNumbers(offset_dims=tuple(range(1, len(shape))),
                                   collapsed_slice_dims=(0,), start_index_map=(0,))
    out = gather(x, src, dnums, (1,) + shape[1:], mode="promise_in_bounds")
    if not got.all():  # lanes no one sends to get zeros
        mask = broadcast_in_dim(got, shape, (0,))
        out = select_n(mask, zeros(get_aval(out)), out)
    return out, 0


def ppermute(x, axis_name, perm):
    """Send lane ``s``'s ``x`` to lane ``t`` for each ``(s, t)`` in ``perm``
    (lax.ppermute); lanes that receive nothing get zeros."""
    axes = _axes(axis_name)
    perm = tuple((int(s), int(t)) for s, t in perm)
    return jax.tree_util.tree_map(lambda v: ppermute_p.bind(v, axes=axes, perm=perm), x)


# --- all_to_all ---
all_to_all_p = CollectivePrimitive("all_to_all")


@all_to_all_p.def_abstract_eval
def _all_to_all_aval(x, *, axes, split_axis, concat_axis, tiled):
    n = env_axis_size(axes, "all_to_all")
    _check_dim("all_to_all", x, split_axis, "split_axis")
    if tiled:
        _check_dim("all_to_all", x, concat_axis, "concat_axis")
        if x.shape[split_axis] % n:
            raise ShapeError(f"all_to_all: dimension {split_axis} of {x.str_short()} must be "
                             f"divisible by the axis size {n}.")
        shape = list(x.shape)
        shape[split_axis] //= n
        shape[concat_axis] *= n
        return ShapedArray(tuple(shape), x.dtype, x.weak_type)
    if x.shape[split_axis] != n:
        raise ShapeError(f"all_to_all: dimension {split_axis} of {x.str_short()} must equal the "
                         f"axis size {n} (or pass tiled=True).")
    rest = x.shape[:split_axis] + x.shape[split_axis + 1:]
    if not 0 <= concat_axis <= len(rest):
        raise ShapeError(f"all_to_all: concat_axis={concat_axis} is out of range for the "
                         f"result of rank {len(rest) + 1}.")
    return ShapedArray(rest[:concat_axis] + (n,) + rest[concat_axis:], x.dtype, x.weak_type)


all_to_all_p.def_lowering(lambda x, *, axes, split_axis, concat_axis, tiled: _lowering(
    "all_to_all", lambda v, name: lax.all_to_all(v, name, split_axis, concat_axis, tiled=tiled),
    x, axes=axes))
deflinear(all_to_all_p)


@all_to_all_p.def_transpose
def _all_to_all_transpose(ct, x, *, axes, split_axis, concat_axis, tiled):
    return [all_to_all_p.bind(ct, axes=axes, split_axis=concat_axis, concat_axis=split_axis,
                              tiled=tiled)]


@all_to_all_p.def_axis_batch
def _all_to_all_batch(args, bdims, *, axis_name, axis_size, axes, split_axis, concat_axis,
                      tiled):
    (x,), (d,) = args, bdims
    if axis_name not in axes:
        if d is None:
            return all_to_all_p.bind(x, axes=axes, split_axis=split_axis,
                                     concat_axis=concat_axis, tiled=tiled), None
        return all_to_all_p.bind(moveaxis(x, d, 0), axes=axes, split_axis=split_axis + 1,
                                 concat_axis=concat_axis + 1, tiled=tiled), 0
    _single_axis("all_to_all", axes)
    x = bdim_at_front(x, d, axis_size)  # (source lane k, *lane dims)
    s = split_axis
    if tiled:  # split dimension -> (destination lane j, block)
        x = _split_axis(x, 1 + s, axis_size)
    rank = get_aval(x).ndim - 1  # lane dims, the destination axis j at 1 + s
    kept = [1 + i for i in range(rank) if i != s]
    kept.insert(concat_axis, 0)  # the source lane goes to concat_axis
    out = transpose(x, tuple([1 + s] + kept))  # (j, *out dims)
    return (_merge_axes(out, 1 + concat_axis) if tiled else out), 0


def all_to_all(x, axis_name, split_axis, concat_axis, *, axis_index_groups=None, tiled=False):
    """Split ``x`` along ``split_axis`` into one block per lane, send block j to lane
    j and concatenate the received blocks along ``concat_axis`` (lax.all_to_all)."""
    _no_groups("all_to_all", axis_index_groups)
    axes = _axes(axis_name)

    def one(v):
        ndim = get_aval(v).ndim
        return all_to_all_p.bind(v, axes=axes, split_axis=_canon_dim(split_axis, ndim),
                                 concat_axis=_canon_dim(concat_axis, ndim), tiled=bool(tiled))

    return jax.tree_util.tree_map(one, x)


# --- axis_index ---
axis_index_p = CollectivePrimitive("axis_index")


@axis_index_p.def_abstract_eval
def _axis_index_aval(*, axes):
    env_axis_size(axes, "axis_index")
    return ShapedArray((), np.dtype(np.int32))


axis_index_p.def_lowering(lambda *, axes: _lowering("axis_index", lax.axis_index, axes=axes))


@axis_index_p.def_axis_batch
def _axis_index_batch(args, bdims, *, axis_name, axis_size, axes):
    if axis_name not in axes:
        return axis_index_p.bind(axes=axes), None
    p = axes.index(axis_name)
    before, after = axes[:p], axes[p + 1:]
    inner = env_axis_size(after, "axis_index") if after else 1
    idx = iota(np.int32, axis_size)  # row-major over the names, as jax.lax.axis_index
    if inner != 1:
        idx = mul(idx, np.int32(inner))
    if after:
        idx = add(idx, axis_index_p.bind(axes=after))
    if before:
        idx = add(idx, mul(axis_index_p.bind(axes=before), np.int32(axis_size * inner)))
    return idx, 0


def axis_index(axis_name):
    """The index of the current lane along ``axis_name`` (lax.axis_index), int32."""
    return axis_index_p.bind(axes=_axes(axis_name))


# --- axis_size ---
def axis_size(axis_name) -> int:
    """The size of the mapped axis ``axis_name`` (a tuple: the product), as lax.axis_size."""
    return env_axis_size(_axes(axis_name) if isinstance(axis_name, (tuple, list)) else axis_name,
                         "axis_size")


# --- psum_invariant / pvary: psum and invariant -> varying under check_vma ---
psum_invariant_p = _reduction_collective("psum_invariant", lax.psum, reduce_sum,
                                         lambda x, n: mul(x, n))
deflinear(psum_invariant_p)


@psum_invariant_p.def_transpose
def _psum_invariant_transpose(ct, x, *, axes):
    # the sum is invariant over `axes`, its input varying: the cotangent is broadcast
    return [pvary_p.bind(ct, axes=axes)]


pvary_p = CollectivePrimitive("pvary")
pvary_p.def_abstract_eval(lambda x, *, axes: (env_axis_size(axes, "pvary"), x)[1])


@pvary_p.def_lowering
def _pvary_lowering(x, *, axes):
    aval = jax.typeof(x)
    have = getattr(aval, "vma", None)
    if have is None:
        have = getattr(getattr(aval, "mat", None), "varying", frozenset())
    missing = tuple(a for a in axes if a not in have)
    return lax.pcast(x, missing, to="varying") if missing else x


deflinear(pvary_p)
pvary_p.def_vma(lambda x_vma, *, axes: ([x_vma], x_vma | _checked(axes)))
register_structural_ops({"pvary": lambda x, axes: pvary_p.bind(x, axes=tuple(axes))})


@pvary_p.def_transpose
def _pvary_transpose(ct, x, *, axes):
    return [psum_invariant_p.bind(ct, axes=axes)]


@pvary_p.def_axis_batch
def _pvary_batch(args, bdims, *, axis_name, axis_size, axes):
    (x,), (d,) = args, bdims
    rest = _rest(axes, axis_name)  # over a vmap axis a value is always per lane
    return (pvary_p.bind(x, axes=rest) if rest else x), d


def psum_to_type_of(ct, primal):
    """``ct`` psum-ed over the mesh axes it varies over and ``primal`` does not (only
    inside a check_vma shard_map body; elsewhere ``ct`` itself): in a ``custom_vjp``
    bwd rule, the cotangent of a replicated argument from the per-shard parts, of the
    argument's type (as jax requires of bwd outputs).

    Args:
      ct: a cotangent computed per shard.
      primal: the argument it is the cotangent of (a residual of the fwd rule).

    Returns:
      ``ct``, summed over the extra axes.
    """
    extra = tuple(n for n in checked_axes()
                  if n in get_aval(ct).vma and n not in get_aval(primal).vma)
    return psum_invariant_p.bind(ct, axes=extra) if extra else ct


def pcast(x, axis_name, *, to: str):
    """Change the varying type of ``x`` over ``axis_name`` (lax.pcast).

    ``to='varying'`` casts a value invariant (replicated) over the axes to one
    that varies over them (jax's ``pvary``: identity forward, a psum of its
    cotangent in reverse mode). As jax: a set (not a tuple) of names is a
    TypeError; a ``to`` outside ``{'varying', 'reduced', 'unreduced'}``, a
    value already varying over the axes, or one varying over only some of them
    is a ValueError. ``'reduced'`` / ``'unreduced'`` (jax's explicit-sharding
    reduction states) are not supported: NotImplementedError.

    Args:
      x: an array or pytree of arrays.
      axis_name: a mesh axis name or a tuple of them.
      to: the state to cast to.

    Returns:
      ``x`` cast.

    References:
      jax.lax.pcast.
    """
    if isinstance(axis_name, (set, frozenset)):
        raise TypeError(f"pcast: axis_name={axis_name!r} must be a tuple or a str.")
    if to not in ("varying", "reduced", "unreduced"):
        raise ValueError(f"pcast: got to={to!r}; allowed values are 'varying', 'reduced' and "
                         f"'unreduced'.")
    if to != "varying":
        raise NotImplementedError(f"pcast: to={to!r} (jax's explicit-sharding reduction "
                                  f"states) is not supported; use to='varying'.")
    if not axis_name:
        return x
    axes = _axes(axis_name)
    checked = _checked(axes)

    def cast(v):
        have = get_aval(v).vma & checked
        if have:
            raise ValueError(f"pcast: the value ({get_aval(v).str_short()}) already varies over "
                             f"the mesh axes {tuple(sorted(have, key=str))} of axis_name={axes}; "
                             f"pcast(..., to='varying') casts values invariant over every named "
                             f"axis. Fix: name only the axes it is invariant over.")
        return pvary_p.bind(v, axes=axes)
    return jax.tree_util.tree_map(cast, x)


# --- pbroadcast (as jax documents it: a masked psum) ---
def pbroadcast(x, axis_name, source):
    """Every lane of ``axis_name`` gets lane ``source``'s ``x`` (lax.pbroadcast),
    computed as ``psum(where(axis_index == source, x, 0))``."""
    n = env_axis_size(_axes(axis_name), "pbroadcast")
    if not 0 <= int(source) < n:
        raise ShapeError(f"pbroadcast: source={source} is out of range for axis {axis_name!r} "
                         f"of size {n}.")
    is_src = eq(axis_index(axis_name), np.int32(source))

    def one(v):
        aval = get_aval(v)
        keep = broadcast_in_dim(is_src, aval.shape, ())
        return psum(select_n(keep, zeros(aval.strip_weak()), v), axis_name)

    return jax.tree_util.tree_map(one, x)
