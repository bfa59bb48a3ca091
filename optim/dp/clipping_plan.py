"""The graph pass behind fast DP clipping: where does each parameter enter the loss?

``clipping_plan`` traces ``loss(params, example)`` for ONE example to our IR and
classifies every parameter leaf by the equations that consume it:

- ``ghost``: one use, by an equation with a ghost-norm rule (``ghost_norms``:
  dense ``dot_general`` with an activation, embedding ``gather``, conv kernels),
  or several dense uses with the same dimension numbers (a weight shared across
  the steps of a scan: one ghost norm over all uses' rows), no costlier than
  materializing: the per-example gradient norm comes from the
  equation's stored operands and output cotangent without forming the whole
  gradient.
- ``materialized``: used directly by ordinary equations (biases, norm scales,
  grouped convolutions, shared weights, ...): the per-example gradient of the
  parameter is formed locally from those equations' operands and output
  cotangents (a ``vjp`` of the single equation), never by a second forward.
- ``vmap``: used inside a control-flow / custom-rule body (an equation with a
  subgraph), or an equation with non-float outputs: per-example gradients of
  THAT parameter by ``vmap(grad)``, inside the same pass. (``checkpoint``
  bodies are inlined first: remat does not change values. ``scan``s that read
  a parameter, up to ``MAX_UNROLL`` iterations, are unrolled first
  (``unroll_scans``), and a parameter read only through disjoint slices, such
  as stacked layers ``W[i]``, is planned one slice at a time (``views``): its
  squared norm is the sum of its slices'.)
- ``unused``: the loss does not read it (zero gradient).

Every tapped equation (a use of a ghost/materialized parameter) gets its output
cotangent read during the per-example backward pass and its example-dependent
operands stored; the clipped sum is then a weighted weight-gradient per
equation (book-keeping) or a second backward pass (ghost).

References:
    Goodfellow, 2015: Efficient Per-Example Gradient Computations.
    Li et al., 2022: Large Language Models Can Be Strong Differentially Private
    Learners (ghost clipping for sequences).
    Bu et al., 2023: Differentially Private Optimization on Large Model at Small
    Cost (book-keeping).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from jax import tree_util

from fx import ClosedGraph, Literal, dtypes, make_graph, subgraphs
from fx.passes import inline
from primitives.control_flow import remat_p, unroll_scans
from optim.dp.ghost_norms import ghost_rule, materialized_cost, shared_ghost_rule
from optim.dp.views import Views, split_views

__all__ = ["ParamUse", "ParamPlan", "ClippingPlan", "clipping_plan", "analyse"]

MAX_UNROLL = 64   # scans reading a parameter are unrolled up to this length

KINDS = ("ghost", "materialized", "vmap", "unused")


@dataclass(frozen=True)
class ParamUse:
    """One equation reading a parameter: ``eqn_index`` in the graph and the
    ``positions`` of its inputs that are the parameter."""
    eqn_index: int
    positions: tuple


@dataclass(frozen=True)
class ParamPlan:
    """How one parameter leaf's per-example norm and clipped sum are computed."""
    path: str
    kind: str
    uses: tuple
    rule: str          # the ghost rule's name, "local vjp", "vmap(grad)" or ""
    reason: str = ""


def _has_subgraph(eqn) -> bool:
    return bool(subgraphs(eqn))


class ClippingPlan:
    """The result of the graph pass (printable).

    Attributes:
      closed: the per-example loss graph (consts, then param leaves, then
        example leaves as inputs); a parameter read only through disjoint
        slices (stacked layers) appears as one leaf per slice (``views``).
      n_params: number of (expanded) parameter leaves.
      params: one ``ParamPlan`` per (expanded) parameter leaf.
      views: how the expanded leaves come from the parameter pytree's leaves.
      taps: sorted indices of the equations whose output cotangents and
        operands the fast methods read.
    """

    def __init__(self, closed: ClosedGraph, n_params: int, params: list[ParamPlan],
                 views: Views | None = None):
        self.closed = closed
        self.n_params = n_params
        self.params = params
        self.views = views if views is not None else Views(n_params, tuple(range(n_params)))
        self.taps = sorted({u.eqn_index for p in params if p.kind in ("ghost", "materialized")
                            for u in p.uses})
        n_consts = len(closed.consts)
        in_vars = closed.graph.in_vars
        self._where = {id(v): ("const", i) for i, v in enumerate(in_vars[:n_consts])}
        self._where.update({id(v): ("param", i)
                            for i, v in enumerate(in_vars[n_consts:n_consts + n_params])})

    def kinds(self) -> list[str]:
        return [p.kind for p in self.params]

    @property
    def fallback(self) -> list[int]:
        """Indices of the parameter leaves handled by vmap(grad)."""
        return [i for i, p in enumerate(self.params) if p.kind == "vmap"]

    def fixed_inputs(self, k: int):
        """For tapped equation k: per input, ``("act", j)`` (the j-th stored
        operand), ``("param", i)``, ``("const", i)`` or ``("literal", value)``."""
        eqn = self.closed.graph.equations[k]
        out, j = [], 0
        for x in eqn.inputs:
            if type(x) is Literal:
                out.append(("literal", x.val))
            elif id(x) in self._where:
                out.append(self._where[id(x)])
            else:
                out.append(("act", j))
                j += 1
        return out

    def __str__(self):
        w = max([len(p.path) for p in self.params] + [9])
        lines = [f"{'parameter':{w}s}  {'method':13s} rule / uses"]
        eqns = self.closed.graph.equations
        for p in self.params:
            uses = ", ".join(f"{eqns[u.eqn_index].primitive.name}#{u.eqn_index}" for u in p.uses)
            detail = f"{p.rule}: {uses}" if uses else p.rule
            if p.reason:
                detail += f" ({p.reason})"
            lines.append(f"{p.path:{w}s}  {p.kind:13s} {detail}")
        return "\n".join(lines)

    __repr__ = __str__


def analyse(closed: ClosedGraph, n_params: int, paths: list[str] | None = None) -> ClippingPlan:
    """Classify the first ``n_params`` (non-const) inputs of ``closed``.

    Args:
      closed: a per-example loss graph with one scalar output.
      n_params: how many leading inputs are parameters.
      paths: display names of the parameter leaves.

    Returns:
      A ``ClippingPlan``.
    """
    graph = closed.graph
    n_consts = len(closed.consts)
    p_vars = graph.in_vars[n_consts:n_consts + n_params]
    paths = paths or [f"param[{i}]" for i in range(n_params)]
    uses: dict[int, list[ParamUse]] = {id(v): [] for v in p_vars}
    for k, eqn in enumerate(graph.equations):
        for v in p_vars:
            pos = tuple(j for j, x in enumerate(eqn.inputs) if x is v)
            if pos:
                uses[id(v)].append(ParamUse(k, pos))
    outs = {id(v) for v in graph.out_vars if type(v) is not Literal}
    plans = []
    for v, path in zip(p_vars, paths):
        us = tuple(uses[id(v)])
        eqns = [graph.equations[u.eqn_index] for u in us]
        if not dtypes.is_float(v.aval):
            plans.append(ParamPlan(path, "vmap", us, "vmap(grad)", "not a float array"))
        elif not us and id(v) not in outs:
            plans.append(ParamPlan(path, "unused", us, "zero gradient"))
        elif id(v) in outs:
            plans.append(ParamPlan(path, "vmap", us, "vmap(grad)", "returned by the loss"))
        elif any(_has_subgraph(e) for e in eqns):
            names = sorted({e.primitive.name for e in eqns if _has_subgraph(e)})
            plans.append(ParamPlan(path, "vmap", us, "vmap(grad)",
                                   f"used inside {', '.join(names)}"))
        elif any(not all(dtypes.is_float(o.aval) for o in e.outputs) for e in eqns):
            plans.append(ParamPlan(path, "vmap", us, "vmap(grad)", "non-float outputs"))
        else:
            if len(us) == 1:
                rule = ghost_rule(eqns[0], us[0].positions)
            else:
                rule = shared_ghost_rule(eqns, [u.positions for u in us])
            cost = sum(materialized_cost(e, u.positions) for e, u in zip(eqns, us))
            if rule is not None and rule.cost <= cost:
                plans.append(ParamPlan(path, "ghost", us, rule.name))
            else:
                plans.append(ParamPlan(path, "materialized", us, "local vjp"))
    return ClippingPlan(closed, n_params, plans)


def clipping_plan(loss: Callable, params, example) -> ClippingPlan:
    """Trace ``loss(params, example)`` for one example and plan the clipping.

    Args:
      loss: per-example loss, ``loss(params, example) -> scalar``.
      params: the parameter pytree.
      example: ONE example (no batch axis).

    Returns:
      A printable ``ClippingPlan`` (one row per parameter leaf).

    Example::

        >>> print(dp.clipping_plan(loss, params, example))   # doctest: +SKIP
        parameter  method        rule / uses
        ['b1']     materialized  local vjp: add#1
        ['w1']     ghost         ghost dense: dot_general#0
    """
    closed = make_graph(loss)(params, example)
    # checkpoint (remat) only changes what reverse mode stores: look inside it
    closed = inline(closed, lambda e: e.primitive is remat_p, lambda e: e.params["call"].graph)
    leaves_with_path = tree_util.tree_flatten_with_path(params)[0]
    n_params = len(leaves_with_path)
    # scans reading a parameter (stacked layers): one use per iteration, then one
    # planned leaf per disjoint slice W[i] (views)
    p_ids = {id(v) for v in closed.in_vars[:n_params]}
    closed = unroll_scans(closed, lambda e: e.params["length"] <= MAX_UNROLL
                          and any(id(x) in p_ids for x in e.inputs))
    closed, views = split_views(closed, n_params)
    paths = [tree_util.keystr(p) for p, _ in leaves_with_path]
    plan = analyse(closed, len(views.leaves),
                   [paths[g] + views.label(k) for k, g in enumerate(views.groups)])
    return ClippingPlan(plan.closed, plan.n_params, plan.params, views)


def example_of(batch) -> Any:
    """The first example of a batch (used for tracing shapes)."""
    return tree_util.tree_map(lambda x: x[0], batch)
