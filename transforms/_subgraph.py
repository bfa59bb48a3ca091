"""Helpers shared by the transforms' higher-order primitives (custom rules, remat)."""
from __future__ import annotations

from fx.interpreter import eval_graph
from fx.ir import ClosedGraph
from fx.tracing import make_graph

__all__ = ["as_param", "batch_body"]


def as_param(closed: ClosedGraph) -> ClosedGraph:
    """The graph with its consts as leading inputs (the caller binds them
    explicitly), fit to be an equation param."""
    return ClosedGraph(closed.graph, (), None, None)


def batch_body(call: ClosedGraph, args, bdims, size: int, axis_name=None):
    """Move batch axes to 0 and vmap the body graph (every output batched at 0)
    over ``size``, naming the axis ``axis_name`` for the collectives inside.

    Returns:
      (moved args, in_dims of 0/None, the batched ClosedGraph).
    """
    from transforms.vmap import vmap_flat, moveaxis
    args = [moveaxis(a, d, 0) if d is not None else a for a, d in zip(args, bdims)]
    in_dims = [0 if d is not None else None for d in bdims]
    n_out = len(call.out_avals)
    batched = make_graph(lambda *a: vmap_flat(lambda *b: eval_graph(call, *b), list(a), in_dims,
                                              [0] * n_out, size, axis_name))(*args)
    return args, in_dims, batched
