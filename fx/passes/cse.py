"""Common-subexpression elimination."""
from __future__ import annotations

from fx.ir import ClosedGraph, Graph, Var, literal_key, map_subgraphs

__all__ = ["cse"]

def _params_key(params):
    try:
        key = tuple(params.items())
        hash(key)
        return key
    except TypeError:
        return None


def cse(graph: Graph | ClosedGraph):
    """Merge equations with the same primitive, inputs and params.

    The later duplicate is dropped and its outputs are renamed to the first
    one's. Equations with unhashable params are left alone.

    Returns:
      A graph of the same kind computing the same outputs.
    """
    if isinstance(graph, ClosedGraph):
        return graph.replace(graph=cse(graph.graph))
    rename = {}

    def sub(x):
        return rename.get(id(x), x) if isinstance(x, Var) else x

    seen = {}
    kept = []
    for eqn in graph.equations:
        inputs = tuple(sub(x) for x in eqn.inputs)
        if inputs != eqn.inputs:
            eqn = eqn.replace(inputs=inputs)
        eqn = map_subgraphs(eqn, cse)
        pkey = _params_key(eqn.params)
        if pkey is None:
            kept.append(eqn)
            continue
        key = (eqn.primitive, tuple(id(x) if isinstance(x, Var) else literal_key(x) for x in inputs), pkey)
        prev = seen.get(key)
        if prev is None:
            seen[key] = eqn
            kept.append(eqn)
        else:
            for old, new in zip(eqn.outputs, prev.outputs):
                rename[id(old)] = new
    out_vars = [sub(v) for v in graph.out_vars]
    return graph.replace(equations=kept, out_vars=out_vars)
