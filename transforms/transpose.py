"""``linear_transpose`` (as ``jax.linear_transpose``): the user API over
``fx.ad.backward_pass``, which transposes a linear graph equation by equation.

References:
    Autodidax (backward_pass); JAX's ``jax.linear_transpose``.
"""
from __future__ import annotations

from typing import Callable

from jax import tree_util

from fx.ad import backward_pass, instantiate_zero
from fx.core import get_aval
from fx.errors import FxTypeError
from fx.tracing import make_graph

__all__ = ["linear_transpose"]


def linear_transpose(fun: Callable, *primals):
    """As ``jax.linear_transpose``: the transpose of the linear function ``fun``.

    Args:
      fun: a function linear in its arguments.
      *primals: example arguments (only their shapes and dtypes are used).

    Returns:
      ``f_t(out_ct) -> tuple of input cotangents`` (structured like ``primals``).
    """
    closed = make_graph(fun)(*primals)
    in_tree = closed.in_tree
    in_avals = closed.in_avals
    out_avals = closed.out_avals

    def f_t(*cts):
        ct = cts[0] if len(cts) == 1 else cts
        ct_flat, ct_tree = tree_util.tree_flatten(ct)
        if ct_tree != closed.out_tree:
            raise FxTypeError(f"linear_transpose: cotangent structure {ct_tree} does not match "
                              f"the output structure {closed.out_tree}.")
        for c, a in zip(ct_flat, out_avals):
            if get_aval(c).shape != a.shape:
                raise FxTypeError(f"linear_transpose: cotangent {get_aval(c).str_short()} does not "
                                  f"match output {a.str_short()}.")
        res = backward_pass(closed.graph, closed.consts, [True] * len(in_avals),
                            [None] * len(in_avals), ct_flat)
        res = [instantiate_zero(r) for r in res]
        args, kwargs = tree_util.tree_unflatten(in_tree, res)
        return tuple(args)

    return f_t
