"""The one loop that walks equations: ``eval_graph`` and its jax-lowering twin.

``eval_graph`` binds each equation's primitive again, so evaluating a graph
under a transformation transforms it (``graph_to_fn`` relies on this).
``lower_graph`` calls each primitive's ``lowering`` on jax values: run inside
``jax.jit`` it builds one XLA program from the whole graph.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from jax import tree_util

from fx.ir import ClosedGraph, Graph, Literal

__all__ = ["eval_graph", "lower_graph", "graph_to_fn", "walk", "bind_equation"]


def walk(graph: Graph, args: Sequence[Any], apply: Callable) -> list:
    """Evaluate ``graph`` on ``args``; ``apply(eqn, invals)`` returns the list of outputs."""
    env = {}
    for v, x in zip(graph.in_vars, args):
        env[id(v)] = x

    def read(x):
        return x.val if type(x) is Literal else env[id(x)]

    for eqn in graph.equations:
        outs = apply(eqn, [read(x) for x in eqn.inputs])
        for v, o in zip(eqn.outputs, outs):
            env[id(v)] = o
    # a Literal output becomes an array of its aval's dtype (not a Python scalar)
    return [np.asarray(v.val, v.aval.dtype) if type(v) is Literal else env[id(v)]
            for v in graph.out_vars]


def bind_equation(eqn, invals) -> list:
    """Bind ``eqn``'s primitive on ``invals`` (under the current transforms);
    always a list of outputs."""
    out = eqn.primitive.bind(*invals, **eqn.params)
    return out if eqn.primitive.multiple_results else (out,)


def _lower(eqn, invals):
    out = eqn.primitive.rule("lowering")(*invals, **eqn.params)
    return out if eqn.primitive.multiple_results else (out,)


def eval_graph(graph: Graph | ClosedGraph, *args) -> list:
    """Evaluate a graph by binding its primitives (transformable).

    Args:
      graph: a Graph (args are all its inputs) or a ClosedGraph (args are the
        non-constant inputs; the consts are supplied).
      *args: flat input values.

    Returns:
      The flat list of outputs.
    """
    if isinstance(graph, ClosedGraph):
        return walk(graph.graph, list(graph.consts) + list(args), bind_equation)
    return walk(graph, args, bind_equation)


def lower_graph(graph: Graph | ClosedGraph, *args) -> list:
    """Evaluate a graph with each primitive's jax lowering (use inside jax.jit)."""
    if isinstance(graph, ClosedGraph):
        return walk(graph.graph, list(graph.consts) + list(args), _lower)
    return walk(graph, args, _lower)


def graph_to_fn(closed: ClosedGraph | Graph) -> Callable:
    """Turn a (possibly edited) graph back into an ordinary function.

    When the graph came from ``fx.make_graph`` the function takes and returns
    the original pytrees; otherwise it takes flat arrays and returns a list
    (or the single output). The function can be traced again and transformed.
    """
    if isinstance(closed, Graph):
        closed = ClosedGraph(closed, ())
    in_tree, out_tree = closed.in_tree, closed.out_tree

    def fn(*args, **kwargs):
        if in_tree is not None:
            flat, tree = tree_util.tree_flatten((args, kwargs))
            if tree != in_tree:
                raise TypeError(f"graph_to_fn: the graph was traced for inputs {in_tree}, "
                                f"got {tree}")
        else:
            flat = args
        outs = eval_graph(closed, *flat)
        if out_tree is not None:
            return tree_util.tree_unflatten(out_tree, outs)
        return outs[0] if len(outs) == 1 else outs

    return fn
