"""Transposition of linear graphs: ``backward_pass`` and ``linear_transpose``.

A linear graph (from ``linearize``) maps tangents to tangents; its constants
are residuals. ``backward_pass`` evaluates the non-linear equations forward
(those that touch no linear input), then walks the linear equations in reverse,
calling each primitive's ``transpose`` rule with ``UndefinedPrimal`` for its
linear operands and accumulating cotangents with ``add_any``.

References:
    Autodidax (backward_pass); JAX's ``jax.linear_transpose``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from jax import tree_util

from fx.builtins import add_any, instantiate_zero
from fx.core import UndefinedPrimal, Zero, get_aval
from fx.errors import FxTypeError
from fx.ir import Graph, Literal, Var
from fx.tracing import make_graph

__all__ = ["backward_pass", "linear_transpose"]


def backward_pass(graph: Graph, consts: Sequence[Any], linear_in: Sequence[bool],
                  args: Sequence[Any], cts_out: Sequence[Any]) -> list:
    """Transpose ``graph`` with respect to its linear inputs.

    Args:
      graph: its inputs are ``consts`` followed by the other inputs.
      consts: values of the constant inputs.
      linear_in: for each non-const input, whether it is linear (transposed).
      args: values of the non-linear non-const inputs (ignored for linear ones).
      cts_out: one cotangent per graph output (``Zero`` allowed).

    Returns:
      One cotangent per linear input (``Zero`` where nothing flowed back).
    """
    env = {}
    linear = set()
    n_const = len(consts)
    for v, c in zip(graph.in_vars[:n_const], consts):
        env[id(v)] = c
    for v, is_lin, a in zip(graph.in_vars[n_const:], linear_in, args):
        if is_lin:
            linear.add(id(v))
        else:
            env[id(v)] = a

    def read(x):
        return x.val if type(x) is Literal else env[id(x)]

    lin_eqns = []
    for eqn in graph.equations:  # forward: evaluate what does not depend on linear inputs
        if any(type(x) is Var and id(x) in linear for x in eqn.inputs):
            lin_eqns.append(eqn)
            linear.update(id(v) for v in eqn.outputs)
        else:
            outs = eqn.primitive.bind(*[read(x) for x in eqn.inputs], **eqn.params)
            if not eqn.primitive.multiple_results:
                outs = (outs,)
            for v, o in zip(eqn.outputs, outs):
                env[id(v)] = o

    ct_env = {}

    def write_ct(v, ct):
        if type(v) is not Var or id(v) not in linear or type(ct) is Zero or ct is None:
            return
        prev = ct_env.get(id(v))
        ct_env[id(v)] = ct if prev is None else add_any(prev, ct)

    for v, ct in zip(graph.out_vars, cts_out):
        write_ct(v, ct)

    for eqn in reversed(lin_eqns):
        cts = [ct_env.pop(id(v), None) for v in eqn.outputs]
        if all(c is None for c in cts):
            continue
        invals = [UndefinedPrimal(x.aval) if type(x) is Var and id(x) in linear else read(x)
                  for x in eqn.inputs]
        rule = eqn.primitive.rule("transpose")
        if eqn.primitive.multiple_results:
            cts = [Zero(v.aval) if c is None else c for v, c in zip(eqn.outputs, cts)]
            cts_in = rule(cts, *invals, **eqn.params)
        else:
            cts_in = rule(cts[0], *invals, **eqn.params)
        for x, ct in zip(eqn.inputs, cts_in):
            write_ct(x, ct)

    result = []
    for v, is_lin in zip(graph.in_vars[n_const:], linear_in):
        if is_lin:
            ct = ct_env.get(id(v))
            result.append(Zero(v.aval) if ct is None else ct)
    return result


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
