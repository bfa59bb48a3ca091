"""Tracing Python functions to Graphs: ``make_graph`` and the staging trace.

Example::

    >>> import fx, primitives.numpy as fnp
    >>> print(fx.make_graph(lambda x: fnp.sum(fnp.sin(x) * 2.0))(fnp.ones(3)))
    { lambda ; a:f32[3]. let
        b:f32[3] = sin a
        c:f32[3] = mul b 2.0:f32[]
        d:f32[] = reduce_sum[axes=(0,)] c
      in (d,) }

Closure conversion: arrays the function captures (and tracers of an outer
transformation) become constants of the ClosedGraph; Python and numpy scalars
become Literals written inline.
"""
from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np
from jax import tree_util

from fx.argnums import as_tuple, resolve_static_args
from fx.axis_env import checked_axes
from fx.core import (Tracer, Trace, deep_recursion, gc_paused, get_aval, new_main, full_raise,
                     out_vma)
from fx.errors import FxError
from fx.ir import ClosedGraph, Equation, Graph, Literal, ShapedArray, Var
from fx.passes.dce import dce as _dce_pass
from fx.source_info import user_frame_info, with_user_line

__all__ = ["make_graph", "GraphTrace", "GraphTracer", "trace_to_graph"]


class GraphTracer(Tracer):
    """A staged value: its aval and the Var (or Literal) that names it."""
    __slots__ = ("aval", "node")

    def __init__(self, trace, aval, var):
        self._trace = trace
        self.aval = aval
        self.node = var

    def concrete_value(self):
        if isinstance(self.node, Literal):
            return self.node.val
        return None


class _Builder:
    __slots__ = ("equations", "consts", "const_ids")

    def __init__(self):
        self.equations = []
        self.consts = []        # (Var, value)
        self.const_ids = {}     # id(value) -> tracer


_LITERAL_TYPES = (bool, int, float, complex)


class GraphTrace(Trace):
    """Stages every primitive into the current Graph being built."""
    __slots__ = ()

    def new_arg(self, aval):
        return GraphTracer(self, aval, Var(aval))

    def equations(self) -> list:
        """The equations staged so far (in order)."""
        return self.main.global_data.equations

    def pure(self, val):
        builder = self.main.global_data
        t = type(val)
        if t in _LITERAL_TYPES or (isinstance(val, (np.ndarray, np.generic)) and np.ndim(val) == 0):
            aval = get_aval(val)
            lit_val = val if t in _LITERAL_TYPES else np.asarray(val, aval.dtype)
            return GraphTracer(self, aval, Literal(lit_val, aval))
        hit = builder.const_ids.get(id(val))
        if hit is not None and hit[1] is val:
            return hit[0]
        aval = get_aval(val)
        tracer = GraphTracer(self, aval, Var(aval))
        builder.consts.append((tracer.node, val))
        builder.const_ids[id(val)] = (tracer, val)
        return tracer

    lift = pure

    def process_primitive(self, primitive, tracers, params):
        avals_in = [t.aval for t in tracers]
        try:
            out = primitive.rule("abstract_eval")(*avals_in, **params)
        except FxError as e:
            raise with_user_line(e) from None
        if checked_axes():
            vma = out_vma(primitive, avals_in, params)
            if primitive.multiple_results:
                vmas = vma if isinstance(vma, list) else [vma] * len(out)
                out = [a if a.vma == v else a.update(vma=v) for a, v in zip(out, vmas)]
            elif out.vma != vma:
                out = out.update(vma=vma)
        src = user_frame_info(3)
        if primitive.multiple_results:
            outs = [GraphTracer(self, a, Var(a)) for a in out]
            self.main.global_data.equations.append(
                Equation(primitive, tuple(t.node for t in tracers), params,
                         tuple(t.node for t in outs), src))
            return outs
        o = GraphTracer(self, out, Var(out))
        self.main.global_data.equations.append(
            Equation(primitive, tuple(t.node for t in tracers), params, (o.node,), src))
        return o


def trace_to_graph(fn: Callable, in_avals: Sequence[ShapedArray],
                   dynamic: bool = True) -> tuple[Graph, list]:
    """Trace ``fn`` (flat arrays in, flat list out) on ``in_avals``.

    Args:
      fn: the flat function.
      in_avals: the avals of its arguments.
      dynamic: stage every op (``make_graph``). With False the staging trace
        sits where the stack is now and records only the ops that touch its
        own tracers (what depends on the inputs): ops on other values run as
        usual, and the values they produce that the graph reads become its
        constants (``linearize`` stages the tangent computation this way).

    Returns:
      (graph, consts): the graph's first ``len(consts)`` in_vars are the constants.
    """
    builder = _Builder()
    with deep_recursion(), gc_paused(), new_main(GraphTrace, builder, dynamic=dynamic) as main:
        trace = main.trace
        in_tracers = [trace.new_arg(a) for a in in_avals]
        outs = fn(*in_tracers)
        out_tracers = [full_raise(trace, o) for o in outs]
    const_vars = [v for v, _ in builder.consts]
    consts = [c for _, c in builder.consts]
    graph = Graph(const_vars + [t.node for t in in_tracers], builder.equations,
                  [t.node for t in out_tracers])
    return graph, consts


def make_graph(fun: Callable, static_argnums: int | Sequence[int] = (), dce: bool = True):
    """Like ``jax.make_jaxpr``: returns a function that traces ``fun`` to a ClosedGraph.

    Args:
      fun: a Python function of arrays (any pytrees in and out).
      static_argnums: positions of arguments passed as Python values, not traced.
      dce: remove dead equations (default; all our primitives are pure). Unlike
        ``jax.make_jaxpr``, so that e.g. ``make_graph(grad(f))`` shows only
        what the gradient needs. Pass False to see everything that was traced.

    Returns:
      A function ``(*args, **kwargs) -> ClosedGraph``; the graph's ``in_tree``
      and ``out_tree`` record the pytree structures.

    Example::

        >>> g = fx.make_graph(lambda x, y: x * y + 1.0)(1.0, 2.0)
        >>> print(g)   # doctest: +SKIP
    """
    static_argnums = as_tuple(static_argnums)
    if static_argnums:
        static_argnums = resolve_static_args(fun, static_argnums, api="make_graph")[0]
    @functools.wraps(fun)
    def traced(*args, **kwargs):
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static_argnums)
        leaves, in_tree = tree_util.tree_flatten((dyn_args, kwargs))
        in_avals = [get_aval(x) for x in leaves]
        out_tree_box = []

        def flat_fun(*flat):
            dyn, kw = tree_util.tree_unflatten(in_tree, flat)
            it = iter(dyn)
            full = [a if i in static_argnums else next(it) for i, a in enumerate(args)]
            out = fun(*full, **kw)
            out_leaves, out_tree = tree_util.tree_flatten(out)
            out_tree_box.append(out_tree)
            return out_leaves

        graph, consts = trace_to_graph(flat_fun, in_avals)
        closed = ClosedGraph(graph, consts, in_tree, out_tree_box[0])
        if dce:
            closed = _dce_pass(closed)
        return closed

    return traced
