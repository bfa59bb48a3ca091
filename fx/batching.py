"""Batching (vmap's interpreter): the batch trace, batch-axis helpers, the
elementwise rule family, batching graphs, and named axes.

``BatchTrace`` carries (value, batch dim) pairs and applies each primitive's
``batch`` rule once for the whole batch: the traced graph has the same number
of equations for any batch size.

Named axes: ``vmap_flat(..., axis_name='i')`` binds ``'i'`` in ``fx.axis_env``
while the function is traced. Primitives with an ``axis_batch`` rule (the
collectives, and the higher-order primitives whose bodies may hold them) get
the trace's axis, ``rule(args, bdims, *, axis_name, axis_size, **params)``,
and it is called even when no operand is batched: a collective reduces over
the batch axis when its ``axes`` name this trace's axis. Their ``axis_names``
rule lets ``Primitive.bind`` hand them to the axis's trace when no operand is
one of its tracers (``psum(1.0, 'i')``, a ``scan`` whose body psums).

Example::

    >>> vmap_flat(lambda x: [P.sin(x)], [np.ones((4, 3))], [0], [0], 4)

References:
    Autodidax (BatchTrace); JAX's batching.py (``bdim_at_front``,
    ``defbroadcasting``) and its axis environment.
"""
from __future__ import annotations

import builtins
import contextlib
import threading
from functools import partial
from typing import Callable, Sequence

from fx.axis_env import extend_axis_env
from fx.core import Primitive, Trace, Tracer, full_lower, full_raise, get_aval, new_main, structural
from fx.errors import ShapeError
from fx.interpreter import Interpreter, rule_error
from fx.ir import ClosedGraph, Graph, ShapedArray, subgraphs
from fx.passes.dce import dce
from fx.tracing import make_graph, trace_to_graph

__all__ = ["BatchTrace", "BatchTracer", "vmap_flat", "moveaxis", "broadcast_batch",
           "bdim_at_front", "batch_size", "defbroadcasting", "broadcasting_batch",
           "body_axis_names", "def_body_batch", "named_axis", "batch_body", "batch_graph",
           "batched_aval", "current_spmd_axis_name"]

_spmd = threading.local()
_INHERIT = object()


def current_spmd_axis_name():
    """The ``spmd_axis_name`` of the vmap whose batch rule is running (None when
    that vmap has none): the mesh axis (or tuple of axes) its batch dimension is
    sharded over. Read by the batch rules that place values (with_sharding_constraint,
    shard_map), as in JAX."""
    return getattr(_spmd, "name", None)


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
        return aval.update(shape=aval.shape[:self.bdim] + aval.shape[self.bdim + 1:])

    def full_lower(self):
        if self.bdim is None:
            return full_lower(self.val)
        return self


class BatchTrace(Trace):
    """global_data of the main: (axis_name, axis_size, spmd_axis_name)."""
    __slots__ = ()

    def pure(self, val):
        return BatchTracer(self, val, None)

    lift = pure

    def process_primitive(self, primitive, tracers, params):
        vals = [t.val for t in tracers]
        bdims = [t.bdim for t in tracers]
        if primitive.axis_batch is None and all(d is None for d in bdims):
            out = primitive.bind(*vals, **params)
            if primitive.multiple_results:
                return [BatchTracer(self, o, None) for o in out]
            return BatchTracer(self, out, None)
        axis_name, axis_size, spmd = self.main.global_data
        outer, _spmd.name = current_spmd_axis_name(), spmd
        try:
            if primitive.axis_batch is not None:
                out, out_bdim = primitive.axis_batch(vals, bdims, axis_name=axis_name,
                                                     axis_size=axis_size, **params)
            else:
                out, out_bdim = primitive.rule("batch")(vals, bdims, **params)
        except Exception as e:
            raise rule_error(e, primitive, [t.aval for t in tracers], params,
                             "batching (vmap rule)") from e.__cause__
        finally:
            _spmd.name = outer
        if primitive.multiple_results:
            return [BatchTracer(self, o, d) for o, d in zip(out, out_bdim)]
        return BatchTracer(self, out, out_bdim)


# --- batch-axis helpers ------------------------------------------------------------
def moveaxis(x, src: int, dst: int):
    """Move axis ``src`` of ``x`` to ``dst`` (a transpose; no-op when equal)."""
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


def bdim_at_front(x, bdim, size: int):
    """``x`` with its batch axis at 0; an unbatched x is broadcast to ``size``."""
    if bdim is None:
        return broadcast_batch(x, size, 0)
    return moveaxis(x, bdim, 0)


def batch_size(args, bdims) -> int:
    """The size of the batch axis of the first batched argument."""
    for x, d in zip(args, bdims):
        if d is not None:
            return get_aval(x).shape[d]
    raise ValueError("batch rule called with no batched argument")


def batched_aval(aval: ShapedArray, size: int) -> ShapedArray:
    return aval.update(shape=(size,) + aval.shape)


# --- the elementwise family ---------------------------------------------------------
def _example_shape(aval, bdim):
    return aval.shape if bdim is None else aval.shape[:bdim] + aval.shape[bdim + 1:]


def broadcasting_batch(prim, full, args, bdims, **params):
    """Batch rule of elementwise ops. When every batched operand has the same
    rank and batch axis and the unbatched ones are rank-0 (and not in
    ``full``), the op runs as is; otherwise batch axes go to the front,
    unbatched non-scalars are broadcast and batched per-example scalars are
    broadcast to the per-example output shape."""
    avals = [get_aval(x) for x in args]
    batched = {(a.ndim, d) for a, d in zip(avals, bdims) if d is not None}
    if len(batched) == 1 and all(d is not None or (a.ndim == 0 and i not in full)
                                 for i, (a, d) in enumerate(zip(avals, bdims))):
        return prim.bind(*args, **params), batched.pop()[1]
    size = batch_size(args, bdims)
    out_shape = builtins.max((_example_shape(a, d) for a, d in zip(avals, bdims)), key=len)
    out = []
    for i, (x, a, d) in enumerate(zip(args, avals, bdims)):
        example_scalar = a.ndim == (d is not None)
        if d is None and example_scalar and i not in full:
            out.append(x)  # an unbatched scalar broadcasts by itself
        elif example_scalar and out_shape:
            out.append(structural("broadcast_in_dim")(x, (size,) + out_shape,
                                                      () if d is None else (0,)))
        else:
            out.append(bdim_at_front(x, d, size))
    return prim.bind(*out, **params), 0


def defbroadcasting(prim: Primitive, full: Sequence[int] = ()) -> None:
    """Register the elementwise batch rule; ``full`` lists the operands that may
    not be scalars when the output is not (select_n's cases, clamp's operand):
    those are always given the full batched output shape."""
    prim.def_batch(partial(broadcasting_batch, prim, frozenset(full)))


# --- named axes ------------------------------------------------------------------------
def named_axis(main, axis_name, size: int):
    """Bind ``axis_name`` to the BatchTrace ``main`` while the block runs (nothing
    for an unnamed vmap)."""
    if axis_name is None:
        return contextlib.nullcontext()
    return extend_axis_env(axis_name, size, main)


def body_axis_names(**params) -> set:
    """The axis names of the collectives in the sub-graphs of an equation's
    ``params`` (recursively): the ``axis_names`` rule of higher-order primitives.

    Returns:
      The set of axis names.
    """
    names = set()
    for g in subgraphs(params):
        for e in (g.graph if isinstance(g, ClosedGraph) else g).equations:
            if e.primitive.axis_names is not None:
                names.update(e.primitive.axis_names(**e.params))
    return names


def def_body_batch(prim: Primitive, rule: Callable) -> None:
    """Make a primitive with body graphs (control flow, remat, custom rules) see
    the vmap axes its bodies' collectives name, as JAX does.

    ``rule(args, bdims, *, axis_name, axis_size, **params)`` becomes the
    ``axis_batch`` rule, and ``body_axis_names`` the ``axis_names`` rule. Every
    BatchTrace calls it; with no batched operand and no collective over the
    trace's axis in the bodies, the primitive is bound unbatched. ``bind``
    hands the equation to the vmap trace of the innermost axis its bodies name
    even when no operand is one of its tracers (``scan`` of ``psum(1.0, 'i')``
    over unmapped values).

    Args:
      prim: the higher-order primitive.
      rule: its batch rule (an ``AxisBatchRule``).

    References:
      JAX's ``jax.vmap`` with collectives in ``lax.scan`` / ``lax.cond`` bodies.
    """
    def axis_batch(args, bdims, *, axis_name, axis_size, **params):
        if all(d is None for d in bdims) and (axis_name is None
                                              or axis_name not in body_axis_names(**params)):
            out = prim.bind(*args, **params)
            return out, ([None] * len(out) if prim.multiple_results else None)
        return rule(args, bdims, axis_name=axis_name, axis_size=axis_size, **params)

    prim.def_axis_batch(axis_batch)
    prim.def_axis_names(body_axis_names)


# --- batching functions and graphs -------------------------------------------------------
def vmap_flat(fun: Callable, args, in_dims, out_dims, axis_size: int, axis_name=None,
              out_paths=None, spmd_axis_name=_INHERIT):
    """vmap on flat lists.

    Args:
      fun: flat function (list of arrays in, list out).
      args: flat arguments.
      in_dims: canonical ints or None, one per argument.
      out_dims: ints/None per output, or a callable returning them once ``fun`` has run.
      axis_size: the mapped size.
      axis_name: bound in ``fx.axis_env`` while ``fun`` runs (None: unnamed).
      out_paths: optional callable giving the outputs' names for error messages.
      spmd_axis_name: the mesh axis the batch dimension is sharded over (None: not
        sharded); by default that of the batch rule running (a higher-order
        primitive batching its body over the same axis).

    Returns:
      The flat list of batched outputs.
    """
    if spmd_axis_name is _INHERIT:
        spmd_axis_name = current_spmd_axis_name()
    with new_main(BatchTrace, (axis_name, axis_size, spmd_axis_name)) as main:
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


def batch_body(call: ClosedGraph, args, bdims, size: int, axis_name=None):
    """Move batch axes to 0 and vmap the body graph (every output batched at 0)
    over ``size``, naming the axis ``axis_name`` for the collectives inside.

    Returns:
      (moved args, in_dims of 0/None, the batched ClosedGraph).
    """
    args = [moveaxis(a, d, 0) if d is not None else a for a, d in zip(args, bdims)]
    in_dims = [0 if d is not None else None for d in bdims]
    n_out = len(call.out_avals)
    batched = make_graph(lambda *a: vmap_flat(lambda *b: Interpreter(call).run(*b), list(a),
                                              in_dims, [0] * n_out, size, axis_name))(*args)
    return args, in_dims, batched


def batch_graph(graph: Graph, in_batched: Sequence[bool], size: int,
                force_out: Sequence[bool], axis_name=None,
                spmd_axis_name=_INHERIT) -> tuple[Graph, list, list]:
    """vmap ``graph`` over a leading axis of size ``size`` of the batched inputs
    (named ``axis_name`` for the collectives inside, when given; ``spmd_axis_name``
    as ``vmap_flat``'s).

    Returns:
      ``(batched, consts, out_batched)``: batched outputs have the batch axis in
      front; outputs in ``force_out`` are batched even when they do not depend
      on a batched input.
    """
    box = []
    if spmd_axis_name is _INHERIT:
        spmd_axis_name = current_spmd_axis_name()

    def fn(*args):
        with new_main(BatchTrace, (axis_name, size, spmd_axis_name)) as main:
            trace = main.trace
            ins = [BatchTracer(trace, a, 0) if b else a for a, b in zip(args, in_batched)]
            with named_axis(main, axis_name, size):
                outs = [full_raise(trace, o) for o in Interpreter(graph).run(*ins)]
            res, flags = [], []
            for o, force in zip(outs, force_out):
                if o.bdim is not None:
                    res.append(moveaxis(o.val, o.bdim, 0))
                elif force:
                    res.append(broadcast_batch(o.val, size, 0))
                else:
                    res.append(o.val)
                flags.append(o.bdim is not None or bool(force))
            box.append(flags)
            return res

    avals = [batched_aval(a, size) if b else a for a, b in zip(graph.in_avals, in_batched)]
    g, consts = trace_to_graph(fn, avals)
    return dce(g), consts, box[0]
