"""Dead-code elimination."""
from __future__ import annotations

from fx.ir import ClosedGraph, Graph, Var, map_subgraphs

__all__ = ["dce"]


def dce(graph: Graph | ClosedGraph, prune_inputs: bool = False):
    """Remove equations none of whose outputs reach the graph's outputs.

    Sub-graphs held by higher-order primitives are cleaned by their ``dce``
    rule when the primitive has one. Inputs are kept (the signature does not
    change) unless ``prune_inputs`` is set, in which case unused *constants* of
    a ClosedGraph are dropped too.

    Args:
      graph: the Graph or ClosedGraph.

    Returns:
      A graph of the same kind computing the same outputs.
    """
    if isinstance(graph, ClosedGraph):
        g = dce(graph.graph)
        if not prune_inputs:
            return graph.replace(graph=g)
        used = _used_ids(g)
        n = len(graph.consts)
        keep = [i for i in range(n) if id(g.in_vars[i]) in used]
        new_g = g.replace(in_vars=[g.in_vars[i] for i in keep] + list(g.in_vars[n:]))
        return graph.replace(graph=new_g, consts=[graph.consts[i] for i in keep])
    live = {id(v) for v in graph.out_vars if isinstance(v, Var)}
    kept = []
    for eqn in reversed(graph.equations):
        if any(id(v) in live for v in eqn.outputs):
            rule = eqn.primitive.dce
            if rule is not None:
                eqn = rule(eqn, [id(v) in live for v in eqn.outputs])
            else:  # keep the sub-graphs' signatures: only dead equations inside go
                eqn = map_subgraphs(eqn, dce)
            kept.append(eqn)
            for x in eqn.inputs:
                if isinstance(x, Var):
                    live.add(id(x))
    kept.reverse()
    return graph.replace(equations=kept)


def _used_ids(graph: Graph) -> set:
    used = {id(v) for v in graph.out_vars if isinstance(v, Var)}
    for eqn in graph.equations:
        used.update(id(x) for x in eqn.inputs if isinstance(x, Var))
    return used
