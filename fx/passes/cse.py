"""Common-subexpression elimination."""
from __future__ import annotations

import numpy as np

from fx.ir import ClosedGraph, Graph, Literal, Var

__all__ = ["cse"]

_EFFECTFUL = set()  # primitive names never merged (none yet: all ours are pure)


def _lit_key(x: Literal):
    v = x.val
    if isinstance(v, np.ndarray):
        return ("lit", v.dtype.str, v.tobytes(), x.aval.weak_type)
    return ("lit", type(v).__name__, v, x.aval.dtype.str, x.aval.weak_type)


def _params_key(params):
    try:
        key = tuple(params.items())
        hash(key)
        return key
    except TypeError:
        return None


def _cse_sub_graphs(eqn):
    """Recurse into the sub-graphs held in params (cond branches, loop bodies)."""
    new = {}
    for k, p in eqn.params.items():
        if isinstance(p, (Graph, ClosedGraph)):
            new[k] = cse(p)
        elif isinstance(p, tuple) and p and all(isinstance(g, (Graph, ClosedGraph)) for g in p):
            new[k] = tuple(cse(g) for g in p)
    return eqn.replace(params={**eqn.params, **new}) if new else eqn


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
        eqn = _cse_sub_graphs(eqn)
        pkey = _params_key(eqn.params)
        if pkey is None or eqn.primitive.name in _EFFECTFUL:
            kept.append(eqn)
            continue
        key = (eqn.primitive, tuple(id(x) if isinstance(x, Var) else _lit_key(x) for x in inputs), pkey)
        prev = seen.get(key)
        if prev is None:
            seen[key] = eqn
            kept.append(eqn)
        else:
            for old, new in zip(eqn.outputs, prev.outputs):
                rename[id(old)] = new
    out_vars = [sub(v) for v in graph.out_vars]
    return graph.replace(equations=kept, out_vars=out_vars)
