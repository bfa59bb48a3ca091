"""vmap: vectorizing map by batching rules (as ``jax.vmap``).

``BatchTrace`` carries (value, batch dim) pairs and applies each primitive's
``batch`` rule once for the whole batch: the traced graph has the same number
of equations for any batch size.

Named axes: ``vmap(f, axis_name='i')`` binds ``'i'`` in ``fx.axis_env`` while
``f`` is traced. Primitives with ``batch_with_axis = True`` (the collectives)
get the trace's axis in their batch rule,
``rule(args, bdims, axis_name=..., axis_size=..., **params)``, and it is called
even when no operand is batched: the rule reduces over the batch axis when its
``axes`` name this trace's axis, and treats the op elementwise otherwise.

Example::

    >>> vmap(lambda x: x - P.pmean(x, 'i'), axis_name='i')(fnp.arange(4.0))
    [-1.5, -0.5, 0.5, 1.5]

References:
    Autodidax (BatchTrace); JAX's ``jax.vmap``.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Callable

from jax import tree_util

from fx.axis_env import bound_names, extend_axis_env, innermost_frame
from fx.core import (Tracer, Trace, new_main, find_top_trace, full_raise, full_lower, get_aval,
                     structural)
from fx.errors import ShapeError
from fx.ir import ClosedGraph, Graph, ShapedArray

__all__ = ["vmap", "BatchTrace", "BatchTracer", "vmap_flat", "moveaxis", "broadcast_batch",
           "def_axis_batch", "body_axis_names", "named_axis"]


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim")

    def __init__(self, trace, val, bdim):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self):
        aval = get_aval(self.val)
        if self.bdim is None:
            return aval
        shape = aval.shape[:self.bdim] + aval.shape[self.bdim + 1:]
        return ShapedArray(shape, aval.dtype, aval.weak_type)

    def full_lower(self):
        if self.bdim is None:
            return full_lower(self.val)
        return self


class BatchTrace(Trace):
    """global_data of the main: (axis_name, axis_size)."""
    __slots__ = ()

    def pure(self, val):
        return BatchTracer(self, val, None)

    lift = pure

    def process_primitive(self, primitive, tracers, params):
        vals = [t.val for t in tracers]
        bdims = [t.bdim for t in tracers]
        if getattr(primitive, "batch_with_axis", False):
            axis_name, axis_size = self.main.global_data
            out, out_bdim = primitive.rule("batch")(vals, bdims, axis_name=axis_name,
                                                    axis_size=axis_size, **params)
        elif all(d is None for d in bdims):
            out = primitive.bind(*vals, **params)
            if primitive.multiple_results:
                return [BatchTracer(self, o, None) for o in out]
            return BatchTracer(self, out, None)
        else:
            out, out_bdim = primitive.rule("batch")(vals, bdims, **params)
        if primitive.multiple_results:
            return [BatchTracer(self, o, d) for o, d in zip(out, out_bdim)]
        return BatchTracer(self, out, out_bdim)


def _body_graphs(params: dict):
    for v in params.values():
        for x in (v if isinstance(v, (tuple, list)) else (v,)):
            if isinstance(x, ClosedGraph):
                yield x.graph
            elif isinstance(x, Graph):
                yield x


def body_axis_names(params: dict) -> set:
    """The axis names of the collectives in the body graphs of an equation's
    ``params`` (recursively).

    Args:
      params: an equation's params (graphs, lists of graphs, other values).

    Returns:
      The set of axis names.
    """
    from primitives.collectives import CollectivePrimitive
    names = set()
    for g in _body_graphs(params):
        for e in g.equations:
            if isinstance(e.primitive, CollectivePrimitive):
                names.update(e.params["axes"])
            names |= body_axis_names(e.params)
    return names


def def_axis_batch(prim, rule: Callable) -> None:
    """Make a primitive with body graphs (control flow, remat, custom rules) see
    the vmap axes its bodies' collectives name, as JAX does.

    ``rule(args, bdims, axis_name=..., size=..., **params)`` becomes the batch
    rule and batches the bodies under the trace's axis name, so ``psum(x, 'i')``
    inside reduces over the batch. Every BatchTrace calls it
    (``batch_with_axis``); with no batched operand and no collective over the
    trace's axis in the bodies, the primitive is bound unbatched. And ``bind``
    hands the equation to the vmap trace of the innermost axis its bodies name
    even when no operand is one of its tracers (``scan`` of ``psum(1.0, 'i')``
    over unmapped values), as ``CollectivePrimitive.bind`` does.

    Args:
      prim: the higher-order primitive (its ``bind`` and batch rule are replaced).
      rule: its batch rule, taking ``axis_name`` and ``size`` keywords.

    References:
      JAX's ``jax.vmap`` with collectives in ``lax.scan`` / ``lax.cond`` bodies.
    """
    prim.batch_with_axis = True
    plain_bind = prim.bind

    def batch(args, bdims, *, axis_name, axis_size, **params):
        if all(d is None for d in bdims) and (axis_name is None
                                              or axis_name not in body_axis_names(params)):
            out = plain_bind(*args, **params)
            return out, ([None] * len(out) if prim.multiple_results else None)
        return rule(args, bdims, axis_name=axis_name, size=axis_size, **params)

    def bind(*args, **params):
        if bound_names():
            frame = innermost_frame(tuple(body_axis_names(params)))
            if frame is not None and frame.main is not None and frame.main.alive:
                top = find_top_trace(args)
                if frame.main.level > top.main.level:
                    trace = frame.main.trace
                    out = trace.process_primitive(prim, [full_raise(trace, a) for a in args],
                                                  params)
                    return ([full_lower(o) for o in out] if prim.multiple_results
                            else full_lower(out))
        return plain_bind(*args, **params)

    prim.def_batch(batch)
    prim.bind = bind


def named_axis(main, axis_name, size: int):
    """Bind ``axis_name`` to the BatchTrace ``main`` while the block runs (nothing
    for an unnamed vmap)."""
    if axis_name is None:
        return contextlib.nullcontext()
    return extend_axis_env(axis_name, size, main)


def moveaxis(x, src: int, dst: int):
    ndim = get_aval(x).ndim
    src, dst = src % ndim, dst % ndim
    if src == dst:
        return x
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    return structural("transpose")(x, tuple(perm))


def broadcast_batch(x, size: int, axis: int):
    """Insert a new axis of ``size`` at ``axis`` by broadcasting."""
    aval = get_aval(x)
    axis = axis % (aval.ndim + 1)
    shape = aval.shape[:axis] + (size,) + aval.shape[axis:]
    dims = tuple(i if i < axis else i + 1 for i in range(aval.ndim))
    return structural("broadcast_in_dim")(x, shape, dims)


def vmap_flat(fun: Callable, args, in_dims, out_dims, axis_size: int, axis_name=None,
              out_paths=None):
    """vmap on flat lists.

    Args:
      fun: flat function (list of arrays in, list out).
      args: flat arguments.
      in_dims: canonical ints or None, one per argument.
      out_dims: ints/None per output, or a callable returning them once ``fun`` has run.
      axis_size: the mapped size.
      axis_name: bound in ``fx.axis_env`` while ``fun`` runs (None: unnamed).
      out_paths: optional callable giving the outputs' names for error messages.

    Returns:
      The flat list of batched outputs.
    """
    with new_main(BatchTrace, (axis_name, axis_size)) as main:
        trace = main.trace
        in_tracers = [BatchTracer(trace, a, d) if d is not None else a
                      for a, d in zip(args, in_dims)]
        with named_axis(main, axis_name, axis_size):
            outs = fun(*in_tracers)
        if callable(out_dims):
            out_dims = out_dims()
        names = out_paths() if out_paths is not None else None
        out_tracers = [full_raise(trace, o) for o in outs]
        results = []
        for i, (t, od) in enumerate(zip(out_tracers, out_dims)):
            val, bd = t.val, t.bdim
            what = names[i] if names else f"output leaf {i}"
            if od is None:
                if bd is not None:
                    raise ShapeError(f"vmap: {what} has out_axes=None but is batched (it depends "
                                     f"on a mapped input). Fix: give it an integer out_axes, or "
                                     f"reduce it over the mapped axis (e.g. psum with axis_name).")
                results.append(val)
                continue
            nd = get_aval(val).ndim + (1 if bd is None else 0)
            if not -nd <= od < nd:
                raise ShapeError(f"vmap: out_axes={od} is out of range for {what} of batched rank "
                                 f"{nd}; valid out_axes are {-nd}..{nd - 1} or None.")
            od = od % nd
            results.append(broadcast_batch(val, axis_size, od) if bd is None
                           else moveaxis(val, bd, od))
        return results


# --- in_axes / out_axes specifications ----------------------------------------
def _is_axis_leaf(ax) -> bool:
    return ax is None or (isinstance(ax, int) and not isinstance(ax, bool))


def _describe(tree) -> str:
    if isinstance(tree, dict):
        return f"a dict with keys {sorted(tree, key=repr)}"
    if isinstance(tree, (tuple, list)):
        return f"a {type(tree).__name__} of length {len(tree)}"
    try:
        return f"an array {get_aval(tree).str_short()}"
    except Exception:
        return f"a {type(tree).__name__}"


def _mismatch(axes, tree, path: str):
    """The first place where ``axes`` is not a prefix of ``tree``: (path, axes_sub, tree_sub)."""
    if _is_axis_leaf(axes):
        return None
    if isinstance(axes, dict):
        if not isinstance(tree, dict) or set(axes) != set(tree):
            return path, axes, tree
        items = [(axes[k], tree[k], f"{path}[{k!r}]") for k in axes]
    elif isinstance(axes, (tuple, list)):
        if not isinstance(tree, (tuple, list)) or len(axes) != len(tree) or \
                type(axes) is not type(tree):
            return path, axes, tree
        items = [(a, t, f"{path}[{i}]") for i, (a, t) in enumerate(zip(axes, tree))]
    else:
        return path, axes, tree
    for a, t, p in items:
        hit = _mismatch(a, t, p)
        if hit is not None:
            return hit
    return None


def _broadcast_prefix(what: str, axes, tree, root: str) -> list:
    """The axis of each leaf of ``tree`` from the prefix specification ``axes``."""
    try:
        full = tree_util.tree_map(lambda ax, sub: tree_util.tree_map(lambda _: ax, sub),
                                  axes, tree, is_leaf=lambda x: x is None)
        dims = tree_util.tree_structure(tree).flatten_up_to(full)
    except (ValueError, TypeError):
        dims = None
    bad = [d for d in dims if not _is_axis_leaf(d)] if dims is not None else []
    if dims is not None and not bad:
        return dims
    hit = _mismatch(axes, tree, root)
    if hit is None and bad:
        hit = (root, bad[0], None)
    path, sub_axes, sub_tree = hit if hit is not None else (root, axes, tree)
    if not (_is_axis_leaf(sub_axes) or isinstance(sub_axes, (dict, tuple, list))):
        raise ShapeError(f"vmap: {what} at {path} is {sub_axes!r}; each entry must be an int, "
                         f"None, or a container of them matching the value.")
    raise ShapeError(f"vmap: {what} does not match the structure of {path}: the specification "
                     f"there is {sub_axes!r} but the value is {_describe(sub_tree)}. {what} must be "
                     f"an int, None, or a pytree prefix of the value (same containers, keys and "
                     f"lengths).")


def _leaf_paths(tree, root: str) -> list[str]:
    return [root + tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(tree)[0]]


def _mapped_size(leaves, paths, dims, axis_size):
    """Canonical in_dims and the common mapped size (typed errors name the paths)."""
    canon, sizes = [], []
    for x, path, d in zip(leaves, paths, dims):
        if d is None:
            canon.append(None)
            continue
        aval = get_aval(x)
        nd = aval.ndim
        if not -nd <= d < nd:
            raise ShapeError(f"vmap: in_axes={d} is out of range for {path} of shape "
                             f"{aval.str_short()} (rank {nd}); valid axes are "
                             f"{-nd}..{nd - 1} or None." if nd else
                             f"vmap: in_axes={d} given for the scalar {path} "
                             f"({aval.str_short()}), which has no axis to map. Fix: use None "
                             f"for it in in_axes.")
        canon.append(d % nd)
        sizes.append((aval.shape[d % nd], d % nd, path))
    if not sizes:
        if axis_size is None:
            raise ShapeError("vmap: no argument is mapped (all in_axes are None) and axis_size "
                             "is not given. Fix: pass axis_size=...")
        return canon, axis_size
    size = sizes[0][0]
    if any(s != size for s, _, _ in sizes) or (axis_size is not None and axis_size != size):
        lines = "\n".join(f"  * axis {d} of {p} has size {s}" for s, d, p in sizes)
        extra = f"\n  * axis_size={axis_size} was given" if axis_size is not None else ""
        raise ShapeError(f"vmap got inconsistent sizes for the mapped axes "
                         f"({sorted({s for s, _, _ in sizes})}):\n{lines}{extra}\nAll mapped axes "
                         f"must have the same size.")
    return canon, size


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_name=None, axis_size=None):
    """Vectorizing map (as ``jax.vmap``).

    Args:
      fun: function of pytrees of arrays.
      in_axes: int, None, or a tuple with one entry per positional argument,
        each an int, None or a pytree prefix of that argument (negative axes
        count from the end).
      out_axes: same for the outputs; None for outputs that are not batched.
      axis_name: name for collectives inside (``P.psum(x, axis_name)``, ...).
      axis_size: needed only when no input is mapped.

    Returns:
      The batched function.

    Raises:
      ShapeError: in_axes/out_axes not matching the arguments/outputs (the
        message names the path, e.g. ``args[1]['w']``), an axis out of range,
        or mapped axes of different sizes (all listed).

    Example::

        >>> vmap(lambda x: x @ x)(fnp.ones((8, 3)))   # shape (8,)
    """
    ia = tuple(in_axes) if isinstance(in_axes, list) else in_axes
    if not (_is_axis_leaf(ia) or type(ia) is tuple):
        raise ShapeError(f"vmap: in_axes must be an int, None, or a tuple with one entry per "
                         f"positional argument, got {in_axes!r}. Fix: wrap it in a tuple, e.g. "
                         f"in_axes=({in_axes!r},).")

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        if kwargs:
            raise TypeError("vmap: keyword arguments are not mapped; pass arrays positionally "
                            "(or close over them).")
        if isinstance(ia, tuple) and len(ia) != len(args):
            raise ShapeError(f"vmap: in_axes {in_axes!r} has {len(ia)} entries but the "
                             f"function was called with {len(args)} positional argument(s). "
                             f"in_axes must be an int, None, or a tuple of the same length as "
                             f"the arguments.")
        per_arg = ia if isinstance(ia, tuple) else (ia,) * len(args)
        leaves, in_tree = tree_util.tree_flatten(args)
        dims, paths = [], []
        for i, (a, ax) in enumerate(zip(args, per_arg)):
            dims += _broadcast_prefix("in_axes", ax, a, f"args[{i}]")
            paths += _leaf_paths(a, f"args[{i}]")
        canon, size = _mapped_size(leaves, paths, dims, axis_size)
        out_box = []

        def flat_fun(*flat):
            out = fun(*tree_util.tree_unflatten(in_tree, flat))
            o_leaves, o_tree = tree_util.tree_flatten(out)
            out_box.append((out, o_tree))
            return o_leaves

        def out_dims():
            return _broadcast_prefix("out_axes", out_axes, out_box[-1][0], "output")

        results = vmap_flat(flat_fun, leaves, canon, out_dims, size, axis_name,
                            out_paths=lambda: _leaf_paths(out_box[-1][0], "output"))
        return tree_util.tree_unflatten(out_box[-1][1], results)

    return batched
