"""Constant folding: evaluate the equations whose inputs are all known.

An equation is folded when every input is a Literal, a constant of the
ClosedGraph, or the output of a folded equation, and its outputs are small
(``max_size`` elements): its outputs become Literals (scalars) or new
constants (arrays; only a top-level ClosedGraph holds those). Equations whose
evaluation fails (a collective outside its axis, ...) are left alone.
Sub-graphs (cond branches, loop bodies) are folded too, to scalars only,
so their signatures do not change.

Example::

    >>> g = fx.make_graph(lambda x: x * (fnp.float32(2.0) + 1.0))(1.0)
    >>> print(fold_constants(g))      # the add is gone: mul a 3.0:f32[]

References:
    DESIGN.md (fx/passes); XLA's HloConstantFolding; torch.fx's
    ``const_fold.split_const_subgraphs``.
"""
from __future__ import annotations

import numpy as np

from fx.core import get_aval
from fx.interpreter import bind_equation
from fx.ir import ClosedGraph, Graph, Literal, Var, map_subgraphs
from fx.passes.dce import dce

__all__ = ["fold_constants"]


def fold_constants(graph: Graph | ClosedGraph, max_size: int = 1 << 16):
    """Evaluate at trace time what does not depend on the graph's inputs.

    Args:
      graph: a Graph or ClosedGraph.
      max_size: outputs with more elements than this are not folded (the
        program would carry them as constants).

    Returns:
      A graph of the same kind with the same inputs and outputs; a
      ClosedGraph loses the consts no equation reads any more.
    """
    if isinstance(graph, ClosedGraph):
        n = len(graph.consts)
        known = {id(v): c for v, c in zip(graph.graph.in_vars[:n], graph.consts)}
        new_consts: list = []
        g = _fold(graph.graph, known, max_size, new_consts)
        if g is graph.graph:
            return graph
        ins = list(g.in_vars[:n]) + [v for v, _ in new_consts] + list(g.in_vars[n:])
        closed = ClosedGraph(g.replace(in_vars=ins), list(graph.consts) + [c for _, c in new_consts],
                             graph.in_tree, graph.out_tree)
        return dce(closed, prune_inputs=True)
    return _fold(graph, {}, max_size, None)


def _fold(g: Graph, known: dict, max_size: int, new_consts: list | None) -> Graph:
    """``g`` folded; ``known`` maps id(var) -> value; arrays go to ``new_consts``
    (as (Var, value)) when it is a list, else stay computed."""
    subst: dict = {}
    eqns = []
    changed = False

    def value(x):
        return x.val if type(x) is Literal else known[id(x)]

    for eqn in g.equations:
        if any(type(x) is Var and id(x) in subst for x in eqn.inputs):
            eqn = eqn.replace(inputs=tuple(subst.get(id(x), x) if type(x) is Var else x
                                           for x in eqn.inputs))
            changed = True
        new = map_subgraphs(eqn, lambda s: _fold_sub(s, max_size))
        if new is not eqn:
            eqn, changed = new, True
        if (eqn.primitive.axis_names is None
                and all(type(x) is Literal or id(x) in known for x in eqn.inputs)
                and all(v.aval.size <= max_size for v in eqn.outputs)
                and (new_consts is not None or all(v.aval.ndim == 0 for v in eqn.outputs))):
            try:
                outs = bind_equation(eqn, [value(x) for x in eqn.inputs])
            except Exception:
                outs = None
            if outs is not None:
                for v, o in zip(eqn.outputs, outs):
                    known[id(v)] = o
                    if v.aval.ndim == 0:
                        subst[id(v)] = Literal(np.asarray(o, v.aval.dtype), v.aval)
                    else:
                        cv = Var(get_aval(o).strip_weak())
                        new_consts.append((cv, o))
                        known[id(cv)] = o
                        subst[id(v)] = cv
                changed = True
                continue
        eqns.append(eqn)
    if not changed:
        return g
    outs = [subst.get(id(v), v) if type(v) is Var else v for v in g.out_vars]
    return Graph(g.in_vars, eqns, outs)


def _fold_sub(sub, max_size):
    if isinstance(sub, ClosedGraph):
        n = len(sub.consts)
        known = {id(v): c for v, c in zip(sub.graph.in_vars[:n], sub.consts)}
        g = _fold(sub.graph, known, max_size, None)
        return sub if g is sub.graph else sub.replace(graph=g)
    return _fold(sub, {}, max_size, None)
