"""Graph-level partial evaluation: split a Graph into a known and an unknown part.

Given which inputs are *unknown*, every equation reading an unknown value is
unknown and the others are known. The result is two graphs::

    known:   known inputs              -> known outputs + residuals
    unknown: residuals + unknown inputs -> unknown outputs

Residuals are the known values the unknown part reads. Control-flow
primitives split themselves through their ``partial_eval`` rule
(``rule(eqn, unknowns) -> (known_eqns, unknown_eqns, out_unknowns)``), so a
loop whose body mixes known and unknown work becomes a known loop and an
unknown loop instead of one unknown loop. This is how reverse mode of ``scan``
and ``cond`` keeps the primal loop out of the linear graph: the jvp of the body
is split with the tangents unknown.

Two kinds of known equations are recomputed on the unknown side instead of
being saved as residuals:

- equations with no variable inputs (``zeros``, ``iota``: free to recompute);
- equations downstream of a primitive marked ``replay_barrier``
  (``optimization_barrier``): ``checkpoint`` replays
  its body behind such a barrier for the tangents, and that replay belongs to
  the unknown side (only the barrier's inputs are saved), which is what makes
  ``checkpoint`` inside a ``scan`` body cut the stacked residuals.

Example::

    >>> g = fx.make_graph(lambda x, t: P.mul(P.sin(x), t))(1.0, 1.0).graph
    >>> pe = partial_eval_graph(g, [False, True])   # x known, t unknown
    >>> print(pe.known)      # x -> sin(x), the residual
    { lambda ; a:f32[]. let
        b:f32[] = sin a
      in (b,) }
    >>> print(pe.unknown)    # (residual, t) -> residual * t
    { lambda ; a:f32[] b:f32[]. let
        c:f32[] = mul a b
      in (c,) }

References:
    JAX's ``pe.partial_eval_jaxpr_nounits`` and the control-flow partial-eval
    rules; autodidax part 3 (partial evaluation).
"""
from __future__ import annotations

import itertools
from typing import NamedTuple, Sequence

from fx.ir import ClosedGraph, Graph, Var
from fx.passes.dce import dce

__all__ = ["partial_eval_graph", "PartialEval"]

class PartialEval(NamedTuple):
    """The result of :func:`partial_eval_graph`.

    Attributes:
      known: known inputs -> known outputs + residuals (a Graph, or a
        ClosedGraph keeping the input's consts when given one).
      unknown: residuals + unknown inputs -> unknown outputs.
      out_unknown: for each output of the original graph, whether it is unknown.
      residuals: the residual Vars (outputs of ``known``, inputs of ``unknown``).
    """
    known: Graph | ClosedGraph
    unknown: Graph
    out_unknown: list
    residuals: list


def _is_var(x) -> bool:
    return type(x) is Var


def partial_eval_graph(graph: Graph | ClosedGraph, unknown_inputs: Sequence[bool],
                       instantiate: bool | Sequence[bool] = False) -> PartialEval:
    """Split ``graph`` into the part computable from its known inputs and the rest.

    Args:
      graph: a Graph (``unknown_inputs`` covers all its inputs) or a ClosedGraph
        (its consts are known; ``unknown_inputs`` covers the other inputs).
      unknown_inputs: one bool per (non-const) input.
      instantiate: outputs that must be unknown even when computable from the
        known inputs (their known value is passed as a residual); a bool for all.

    Returns:
      A :class:`PartialEval`.
    """
    if isinstance(graph, ClosedGraph):
        n = len(graph.consts)
        pe = partial_eval_graph(graph.graph, [False] * n + list(unknown_inputs), instantiate)
        return pe._replace(known=ClosedGraph(pe.known, graph.consts))
    if len(unknown_inputs) != len(graph.in_vars):
        raise ValueError(f"partial_eval_graph: {len(unknown_inputs)} unknown flags for "
                         f"{len(graph.in_vars)} inputs")
    n_out = len(graph.out_vars)
    inst = [bool(instantiate)] * n_out if isinstance(instantiate, bool) else list(instantiate)
    unknown = {id(v) for v, u in zip(graph.in_vars, unknown_inputs) if u}
    order = itertools.count()
    known_eqns, unknown_eqns = [], []  # (position, eqn): one topological order for both sides
    for eqn in graph.equations:
        uks = [_is_var(x) and id(x) in unknown for x in eqn.inputs]
        if not any(uks):
            known_eqns.append((next(order), eqn))
            continue
        rule = eqn.primitive.partial_eval
        if rule is not None and not all(uks):
            k_eqns, u_eqns, out_uk = rule(eqn, uks)
            known_eqns.extend((next(order), e) for e in k_eqns)
            unknown_eqns.extend((next(order), e) for e in u_eqns)
            unknown.update(id(v) for v, u in zip(eqn.outputs, out_uk) if u)
        else:
            unknown_eqns.append((next(order), eqn))
            unknown.update(id(v) for v in eqn.outputs)

    producer, tainted = {}, set()
    for pos_eqn in known_eqns:
        eqn = pos_eqn[1]
        for v in eqn.outputs:
            producer[id(v)] = pos_eqn
        if eqn.primitive.replay_barrier or any(_is_var(x) and id(x) in tainted
                                                 for x in eqn.inputs):
            tainted.update(id(v) for v in eqn.outputs)

    residuals, res_ids, copied = [], set(), {}

    def need(x):
        """The unknown side reads the known value ``x``: recompute it or save it."""
        stack = [x]
        while stack:
            v = stack.pop()
            if not _is_var(v) or id(v) in unknown or id(v) in res_ids:
                continue
            pos_eqn = producer.get(id(v))
            if pos_eqn is not None and (id(v) in tainted or
                                        not any(_is_var(i) for i in pos_eqn[1].inputs)):
                if id(pos_eqn[1]) not in copied:
                    copied[id(pos_eqn[1])] = pos_eqn
                    stack.extend(reversed(pos_eqn[1].inputs))
                continue
            res_ids.add(id(v))
            residuals.append(v)

    for _, eqn in unknown_eqns:
        for x in eqn.inputs:
            need(x)
    out_unknown, known_outs, unknown_outs = [], [], []
    for v, force in zip(graph.out_vars, inst):
        is_uk = _is_var(v) and id(v) in unknown
        if is_uk or force:
            if not is_uk:
                need(v)
            unknown_outs.append(v)
            out_unknown.append(True)
        else:
            known_outs.append(v)
            out_unknown.append(False)

    known_in = [v for v, u in zip(graph.in_vars, unknown_inputs) if not u]
    unknown_in = [v for v, u in zip(graph.in_vars, unknown_inputs) if u]
    known = dce(Graph(known_in, [e for _, e in known_eqns], known_outs + residuals))
    u_eqns = sorted(list(copied.values()) + unknown_eqns, key=lambda pe: pe[0])
    unknown_graph = dce(Graph(residuals + unknown_in, [e for _, e in u_eqns], unknown_outs))
    return PartialEval(known, unknown_graph, out_unknown, residuals)
