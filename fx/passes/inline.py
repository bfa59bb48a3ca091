"""Inlining: replace call-like equations by the equations of their body graph."""
from __future__ import annotations

from typing import Callable

from fx.ir import ClosedGraph, Equation, Graph, Literal, Var

__all__ = ["inline"]


def inline(closed: ClosedGraph, should_inline: Callable, body_of: Callable) -> ClosedGraph:
    """Splice the bodies of selected equations into the graph (recursively).

    Args:
      closed: the graph.
      should_inline: ``should_inline(eqn) -> bool``.
      body_of: ``body_of(eqn) -> Graph`` whose inputs correspond one to one to
        the equation's inputs and whose outputs to its outputs (e.g. remat's
        ``call`` param, whose consts are leading inputs).

    Returns:
      A ClosedGraph with the same inputs and consts, computing the same values,
      with no selected equation left (equations get fresh output variables, so
      a body spliced twice stays single-assignment; source info is kept).

    Example::

        >>> flat = inline(g, lambda e: e.primitive is remat_p,
        ...               lambda e: e.params["call"].graph)
    """
    def splice(graph: Graph, inputs, out: list) -> list:
        """Append graph's equations (outputs renamed) to ``out``; return its outputs."""
        local = {id(v): x for v, x in zip(graph.in_vars, inputs)}

        def read(x):
            return x if type(x) is Literal else local.get(id(x), x)

        for eqn in graph.equations:
            ins = [read(x) for x in eqn.inputs]
            if should_inline(eqn):
                res = splice(body_of(eqn), ins, out)
                for v, r in zip(eqn.outputs, res):
                    local[id(v)] = r
                continue
            fresh = [Var(v.aval, v.hint) for v in eqn.outputs]
            for v, f in zip(eqn.outputs, fresh):
                local[id(v)] = f
            out.append(eqn.replace(inputs=tuple(ins), outputs=tuple(fresh)))
        return [read(v) for v in graph.out_vars]

    g = closed.graph
    if not any(should_inline(e) for e in g.equations):
        return closed
    eqns: list[Equation] = []
    outs = splice(g, g.in_vars, eqns)
    return closed.replace(graph=Graph(g.in_vars, eqns, outs))
