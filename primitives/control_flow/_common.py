"""Machinery shared by the control-flow primitives.

- ``SubGraph``: the type of branch / body params (structural equality, so
  equal loops share one compiled executable and cse can merge them);
- tracing user functions to graphs (``trace_flat``, ``join_consts``: values the
  functions capture become explicit leading operands);
- ``dce_graph`` and ``split_bind`` (reverse mode: bind the known and the
  unknown halves of a primitive separately); the jvp and batching of bodies
  are ``fx.ad.jvp_graph`` and ``fx.batching.batch_graph``;
- lowering helpers (``lower_sub``) and typed errors carrying the user's line.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from jax import lax, tree_util

from fx.ad import Zero, zeros_p
from fx.core import Tracer, current_trace, get_aval
from fx.errors import FxTypeError
from fx.interpreter import eval_graph, lower_graph
from fx.ir import ClosedGraph, Equation, Graph, ShapedArray, Var, graph_key
from fx.passes.dce import dce
from fx.passes.partial_eval import partial_eval_graph
from fx.source_info import user_frame_info, with_user_line
from fx.tracing import trace_to_graph

__all__ = ["SubGraph", "trace_flat", "join_consts", "dce_graph", "split_bind",
           "tangents_above_primals", "lower_sub", "user_error", "permute", "zeros_eqn",
           "same_types", "fmt"]


# --- sub-graph params ---------------------------------------------------------
class SubGraph(ClosedGraph):
    """A branch or loop body held in params: a const-free ClosedGraph compared
    and hashed by structure (avals, primitives, params, wiring). Values the
    user's function captured are explicit leading operands of the primitive.

    ``origin`` optionally records the user's line that created it (for errors
    raised later, e.g. when transposing a while_loop)."""
    __slots__ = ("_key", "_hash", "origin")

    def __init__(self, graph: Graph, origin=None):
        super().__init__(graph, ())
        self._key = self._hash = None
        self.origin = origin

    def replace(self, graph=None, consts=None):
        return SubGraph(self.graph if graph is None else graph, self.origin)

    def key(self) -> tuple:
        if self._key is None:
            self._key = graph_key(self.graph)
        return self._key

    def __eq__(self, other):
        return self is other or (isinstance(other, SubGraph) and self.key() == other.key())

    def __hash__(self):
        if self._hash is None:
            self._hash = hash(self.key())
        return self._hash


# --- errors ---------------------------------------------------------------------
def user_error(msg: str, cls=FxTypeError):
    """A typed error whose message ends with the user's line."""
    return with_user_line(cls(msg))


def fmt(avals) -> str:
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def same_types(a: Sequence[ShapedArray], b: Sequence[ShapedArray]) -> bool:
    """Equal shapes and dtypes (weak types may differ, as jax's typematch)."""
    return len(a) == len(b) and all(x.shape == y.shape and x.dtype == y.dtype
                                    for x, y in zip(a, b))


# --- tracing -------------------------------------------------------------------
def trace_flat(fn: Callable, avals: Sequence[ShapedArray]) -> tuple[Graph, list]:
    """Trace a flat function; the graph's leading inputs are its captured consts."""
    graph, consts = trace_to_graph(fn, list(avals))
    return dce(graph), consts


def join_consts(traced: Sequence[tuple[Graph, list]]) -> tuple[list[Graph], list]:
    """Give graphs traced on the same arguments one shared list of leading
    const inputs (each ignores the others' consts), as cond's branches need."""
    consts, pos = [], {}
    for _, cs in traced:
        for c in cs:
            if id(c) not in pos:
                pos[id(c)] = len(consts)
                consts.append(c)
    graphs = []
    for g, cs in traced:
        slots = [Var(get_aval(c)) for c in consts]
        for v, c in zip(g.in_vars[:len(cs)], cs):
            slots[pos[id(c)]] = v
        graphs.append(Graph(slots + list(g.in_vars[len(cs):]), g.equations, g.out_vars))
    return graphs, consts


def permute(graph: Graph, in_order=None, out_order=None) -> Graph:
    """``graph`` with its inputs / outputs reordered (lists of old positions)."""
    ins = graph.in_vars if in_order is None else [graph.in_vars[i] for i in in_order]
    outs = graph.out_vars if out_order is None else [graph.out_vars[i] for i in out_order]
    return Graph(ins, graph.equations, outs)


def zeros_eqn(aval: ShapedArray) -> tuple[Equation, Var]:
    v = Var(ShapedArray(aval.shape, aval.dtype))
    return Equation(zeros_p, (), {"shape": tuple(aval.shape), "dtype": np.dtype(aval.dtype)},
                    (v,), None), v


def dce_graph(graph: Graph, used_outputs: Sequence[bool]) -> tuple[Graph, list]:
    """Keep the used outputs, drop dead equations; returns (graph, used_inputs)."""
    g = dce(Graph(graph.in_vars, graph.equations,
                  [v for v, u in zip(graph.out_vars, used_outputs) if u]))
    used = {id(v) for v in g.out_vars if type(v) is Var}
    for eqn in g.equations:
        used.update(id(x) for x in eqn.inputs if type(x) is Var)
    return g, [id(v) in used for v in g.in_vars]


# --- jvp ------------------------------------------------------------------------
def _level(x) -> int:
    return x._trace.main.level if isinstance(x, Tracer) else 0


def tangents_above_primals(primals, tangents) -> bool:
    """Whether the tangents live at a higher trace level than every primal
    (under ``linearize``/``grad``: they are being staged into the linear graph).
    Then a control-flow jvp must bind its primal and tangent halves separately,
    so that the primal loop is not staged into the linear graph."""
    base = current_trace().main.level
    t = max([_level(x) for x in tangents if not isinstance(x, Zero)] + [base])
    p = max([_level(x) for x in primals] + [base])
    return t > p


def split_bind(prim, args, unknowns: Sequence[bool], params: dict, known_outs: int) -> list:
    """Bind ``prim`` as a known and an unknown part (its partial_eval rule).

    The known part runs on the known arguments at their level; only the
    unknown part (fed with residuals) goes to the unknowns' level.
    ``known_outs`` leading outputs must come out known (the primal outputs).
    """
    in_vars = [Var(get_aval(a)) for a in args]
    out_avals = prim.abstract_eval(*[v.aval for v in in_vars], **params)
    out_vars = [Var(a) for a in out_avals]
    eqn = Equation(prim, tuple(in_vars), params, tuple(out_vars), user_frame_info(2))
    pe = partial_eval_graph(Graph(in_vars, [eqn], out_vars), unknowns)
    if any(pe.out_unknown[:known_outs]):
        raise NotImplementedError(f"{prim.name}: reverse mode could not separate the primal "
                                  f"computation from the tangent one (a primitive inside the "
                                  f"body has no partial_eval rule).")
    known = eval_graph(pe.known, *[a for a, u in zip(args, unknowns) if not u])
    n_res = len(pe.residuals)
    res = known[len(known) - n_res:]
    unknown = eval_graph(pe.unknown, *res, *[a for a, u in zip(args, unknowns) if u])
    k_it, u_it = iter(known), iter(unknown)
    return [next(u_it) if u else next(k_it) for u in pe.out_unknown]


# --- lowering -------------------------------------------------------------------
def _as_jax(x, aval: ShapedArray):
    if getattr(x, "dtype", None) != aval.dtype:
        x = lax.convert_element_type(x, aval.dtype)
    return x


def lower_sub(graph: Graph, args) -> list:
    """Lower a sub-graph on jax values; outputs are jax arrays of the graph's dtypes
    (Literal outputs become arrays), as lax.cond/while_loop/scan require."""
    outs = lower_graph(graph, *args)
    return [_as_jax(o, a) for o, a in zip(outs, graph.out_avals)]


def flatten_fn(fn: Callable, in_tree, out_box: list, star: bool = False) -> Callable:
    """A flat version of ``fn`` recording its output tree in ``out_box``
    (``star``: the tree is a tuple of positional arguments)."""
    def flat(*leaves):
        args = tree_util.tree_unflatten(in_tree, leaves)
        out = fn(*args) if star else fn(args)
        out_leaves, out_tree = tree_util.tree_flatten(out)
        out_box.append(out_tree)
        return out_leaves
    return flat
