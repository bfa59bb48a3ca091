"""Unrolling ``scan`` equations into straight-line graphs (a graph pass).

``unroll_scans(closed, should_unroll)`` re-traces a graph, replacing each
selected ``scan`` by its body once per iteration: ``xs[i]`` is a static
``slice`` + ``reshape`` of each scanned operand, the carry is threaded through,
and the stacked outputs are a ``concatenate`` of the per-iteration ones. The
result computes the same values; it is what lets a graph analysis (DP's
clipping plan) see each iteration's use of a stacked parameter ``W[i]``.
"""
from __future__ import annotations

from typing import Callable

from fx.interpreter import Interpreter
from fx.ir import ClosedGraph, Graph
from fx.tracing import trace_to_graph
from primitives.control_flow.loops import scan_p
from primitives.shape import concatenate, reshape, slice as slice_

__all__ = ["unroll_scans"]


class _Unroller(Interpreter):
    """Binds every equation again, but the selected scans, which it unrolls."""

    def __init__(self, graph: Graph, should_unroll: Callable):
        super().__init__(graph)
        self.should_unroll = should_unroll

    def run_equation(self, eqn, invals):
        if eqn.primitive is scan_p and self.should_unroll(eqn):
            return _unrolled(eqn, invals, self.should_unroll)
        return super().run_equation(eqn, invals)


def _eval(graph: Graph, args, should_unroll: Callable) -> list:
    return _Unroller(graph, should_unroll).run(*args)


def _unrolled(eqn, invals, should_unroll) -> list:
    p = eqn.params
    n_consts, n_carry, length = p["n_consts"], p["n_carry"], p["length"]
    body = p["body"].graph
    consts, carry = invals[:n_consts], invals[n_consts:n_consts + n_carry]
    xs = invals[n_consts + n_carry:]
    ys = [None] * length
    for i in (reversed(range(length)) if p["reverse"] else range(length)):
        x_i = []
        for x in xs:
            shape = tuple(x.shape)
            row = slice_(x, (i,) + (0,) * (len(shape) - 1), (i + 1,) + shape[1:])
            x_i.append(reshape(row, shape[1:]))
        outs = _eval(body, list(consts) + list(carry) + x_i, should_unroll)
        carry, ys[i] = outs[:n_carry], outs[n_carry:]
    stacked = [concatenate([reshape(ys[i][k], (1,) + tuple(ys[i][k].shape))
                              for i in range(length)], 0)
               for k in range(len(body.out_vars) - n_carry)]
    return list(carry) + stacked


def unroll_scans(closed: ClosedGraph, should_unroll: Callable) -> ClosedGraph:
    """``closed`` with every ``scan`` for which ``should_unroll(eqn)`` holds (at
    any depth inside unrolled bodies) unrolled.

    Args:
      closed: the graph.
      should_unroll: ``should_unroll(eqn) -> bool`` for a scan equation (length
        >= 1 is required: a length-0 scan is never unrolled).

    Returns:
      A ClosedGraph with the same inputs after its consts (new consts, if the
      re-trace captured any, come first) computing the same values.
    """
    def select(eqn):
        return eqn.params["length"] >= 1 and should_unroll(eqn)

    g = closed.graph
    if not any(e.primitive is scan_p and select(e) for e in g.equations):
        return closed
    graph, consts = trace_to_graph(lambda *a: _eval(g, a, select), [v.aval for v in g.in_vars])
    return ClosedGraph(graph, list(consts) + list(closed.consts), closed.in_tree, closed.out_tree)
