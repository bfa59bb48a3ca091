"""vmap: vectorizing map by batching rules (as ``jax.vmap``).

``BatchTrace`` carries (value, batch dim) pairs and applies each primitive's
``batch`` rule once for the whole batch: the traced graph has the same number
of equations for any batch size.

References:
    Autodidax (BatchTrace); JAX's ``jax.vmap``.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from jax import tree_util

from fx.core import Tracer, Trace, new_main, full_raise, full_lower, get_aval, structural
from fx.errors import ShapeError
from fx.ir import ShapedArray

__all__ = ["vmap", "BatchTrace", "BatchTracer", "vmap_flat", "moveaxis", "broadcast_batch"]


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
        if all(d is None for d in bdims):
            out = primitive.bind(*vals, **params)
            if primitive.multiple_results:
                return [BatchTracer(self, o, None) for o in out]
            return BatchTracer(self, out, None)
        rule = primitive.rule("batch")
        out, out_bdim = rule(vals, bdims, **params)
        if primitive.multiple_results:
            return [BatchTracer(self, o, d) for o, d in zip(out, out_bdim)]
        return BatchTracer(self, out, out_bdim)


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


def vmap_flat(fun: Callable, args, in_dims, out_dims, axis_size: int, axis_name=None):
    """vmap on flat lists. ``in_dims`` are canonical ints or None; ``out_dims`` a
    list of ints/None, or a callable returning it once ``fun`` has run."""
    with new_main(BatchTrace, (axis_name, axis_size)) as main:
        trace = main.trace
        in_tracers = [BatchTracer(trace, a, d) if d is not None else a
                      for a, d in zip(args, in_dims)]
        outs = fun(*in_tracers)
        if callable(out_dims):
            out_dims = out_dims()
        out_tracers = [full_raise(trace, o) for o in outs]
        results = []
        for i, (t, od) in enumerate(zip(out_tracers, out_dims)):
            val, bd = t.val, t.bdim
            if od is None:
                if bd is not None:
                    raise ShapeError(f"vmap: output leaf {i} has out_axes=None but is batched "
                                     f"(it depends on a mapped input).")
                results.append(val)
                continue
            nd = get_aval(val).ndim + (1 if bd is None else 0)
            if not -nd <= od < nd:
                raise ShapeError(f"vmap: out_axes={od} is out of range for output leaf {i} of "
                                 f"rank {nd}.")
            od = od % nd
            results.append(broadcast_batch(val, axis_size, od) if bd is None
                           else moveaxis(val, bd, od))
        return results


def _flatten_axes(what: str, tree, axes) -> list:
    """Broadcast an axes prefix (int / None / pytree prefix) to the leaves of ``tree``."""
    try:
        full = tree_util.tree_map(lambda ax, sub: tree_util.tree_map(lambda _: ax, sub),
                                  axes, tree, is_leaf=lambda x: x is None)
        return tree_util.tree_structure(tree).flatten_up_to(full)
    except (ValueError, TypeError) as e:
        raise ShapeError(f"vmap: {what} specification {axes!r} does not match the structure of "
                         f"the arguments {tree_util.tree_structure(tree)}: it must be an int, "
                         f"None, or a pytree prefix of the arguments. ({e})") from None


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_name=None, axis_size=None):
    """Vectorizing map (as ``jax.vmap``).

    Args:
      fun: function of pytrees of arrays.
      in_axes: int, None or a pytree prefix of the positional arguments
        (negative axes count from the end).
      out_axes: same for the outputs; None for outputs that are not batched.
      axis_name: name for collectives inside (psum, ...).
      axis_size: needed only when no input is mapped.

    Returns:
      The batched function.

    Example::

        >>> vmap(lambda x: x @ x)(fnp.ones((8, 3)))   # shape (8,)
    """
    @functools.wraps(fun)
    def batched(*args, **kwargs):
        if kwargs:
            raise TypeError("vmap: keyword arguments are not mapped; pass arrays positionally "
                            "(or close over them).")
        leaves, in_tree = tree_util.tree_flatten(args)
        ia = in_axes
        if isinstance(ia, list):
            ia = tuple(ia)
        if not isinstance(ia, tuple) or len(args) == 1 and not isinstance(args[0], tuple):
            ia_full = (ia,) * len(args) if (isinstance(ia, int) or ia is None) else ia
        else:
            ia_full = ia
        if isinstance(ia_full, tuple) and len(ia_full) != len(args):
            raise ShapeError(f"vmap: in_axes {in_axes!r} has {len(ia_full)} entries but the "
                             f"function was called with {len(args)} positional arguments.")
        dims = _flatten_axes("in_axes", tuple(args), ia_full)
        size = None
        canon = []
        for i, (x, d) in enumerate(zip(leaves, dims)):
            if d is None:
                canon.append(None)
                continue
            nd = get_aval(x).ndim
            if not -nd <= d < nd:
                raise ShapeError(f"vmap: in_axes={d} is out of range for argument leaf {i} of "
                                 f"shape {get_aval(x).shape} (rank {nd}).")
            d = d % nd
            n = get_aval(x).shape[d]
            if size is not None and n != size:
                sizes = [get_aval(a).shape[dd % get_aval(a).ndim] for a, dd in zip(leaves, dims)
                         if dd is not None]
                raise ShapeError(f"vmap got inconsistent sizes for the mapped axes: {sizes} "
                                 f"(argument leaf {i} has size {n}, earlier ones {size}). All "
                                 f"mapped axes must have the same size.")
            size = n
            canon.append(d)
        if size is None:
            if axis_size is None:
                raise ShapeError("vmap: no argument is mapped (all in_axes are None) and "
                                 "axis_size is not given. Fix: pass axis_size=...")
            size = axis_size
        out_box = []

        def flat_fun(*flat):
            out = fun(*tree_util.tree_unflatten(in_tree, flat))
            o_leaves, o_tree = tree_util.tree_flatten(out)
            out_box.append((out, o_tree))
            return o_leaves

        results = vmap_flat(flat_fun, leaves, canon,
                            lambda: _flatten_axes("out_axes", out_box[-1][0], out_axes),
                            size, axis_name)
        return tree_util.tree_unflatten(out_box[-1][1], results)

    return batched
