"""Machinery shared by the control-flow primitives.

- ``SubGraph``: the type of branch / body params (structural equality, so
  equal loops share one compiled executable and cse can merge them);
- tracing user functions to graphs (``trace_flat``, ``join_consts``: values the
  functions capture become explicit leading operands);
- graph-level transformations used by the rules: ``jvp_graph``,
  ``batch_graph``, ``dce_graph``, and ``split_bind`` (reverse mode: bind the
  known and the unknown halves of a primitive separately);
- lowering helpers (``lower_sub``) and typed errors carrying the user's line.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from jax import lax, tree_util

from fx import core
from fx.builtins import instantiate_zero, zeros_p
from fx.core import Tracer, Zero, get_aval, new_main, full_raise
from fx.errors import FxTypeError
from fx.interpreter import eval_graph, lower_graph
from fx.ir import ClosedGraph, Equation, Graph, Literal, ShapedArray, Var
from fx.passes.dce import dce
from fx.passes.partial_eval import partial_eval_graph
from fx.source_info import user_frame_info
from fx.tracing import trace_to_graph
from transforms.jvp import jvp_flat, tangent_aval
from transforms.vmap import BatchTrace, BatchTracer, broadcast_batch, moveaxis, named_axis

__all__ = ["SubGraph", "trace_flat", "join_consts", "jvp_graph", "batch_graph", "dce_graph",
           "split_bind", "tangents_above_primals", "lower_sub", "user_error", "is_float",
           "nonzero_mask", "permute", "zeros_eqn", "same_types", "fmt", "batched_aval"]


# --- sub-graph params ---------------------------------------------------------
def _lit_key(x: Literal):
    v = x.val
    if isinstance(v, np.ndarray):
        return ("lit", v.dtype.str, v.tobytes(), x.aval.weak_type)
    return ("lit", type(v).__name__, v, x.aval.dtype.str, x.aval.weak_type)


def _graph_key(graph: Graph) -> tuple:
    ids = {id(v): i for i, v in enumerate(graph.in_vars)}

    def ref(x):
        return ids.get(id(x), ("free", id(x))) if type(x) is Var else _lit_key(x)

    eqns = []
    for e in graph.equations:
        eqns.append((e.primitive, tuple(ref(x) for x in e.inputs), tuple(e.params.items()),
                     tuple(v.aval for v in e.outputs)))
        for v in e.outputs:
            ids[id(v)] = len(ids)
    return (tuple(v.aval for v in graph.in_vars), tuple(eqns),
            tuple(ref(v) for v in graph.out_vars))


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
            self._key = _graph_key(self.graph)
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
    src = user_frame_info(2)
    err = cls(f"{msg}\n  at {src}" if src else msg)
    err._fx_located = True
    return err


def fmt(avals) -> str:
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def same_types(a: Sequence[ShapedArray], b: Sequence[ShapedArray]) -> bool:
    """Equal shapes and dtypes (weak types may differ, as jax's typematch)."""
    return len(a) == len(b) and all(x.shape == y.shape and x.dtype == y.dtype
                                    for x, y in zip(a, b))


def is_float(aval) -> bool:
    return aval.dtype.kind in "fc" or aval.dtype.name == "bfloat16"


def batched_aval(aval: ShapedArray, size: int) -> ShapedArray:
    return aval.update(shape=(size,) + aval.shape)


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
def nonzero_mask(primals, tangents) -> list:
    return [not isinstance(t, Zero) and is_float(get_aval(p)) for p, t in zip(primals, tangents)]


def jvp_graph(graph: Graph, nonzeros: Sequence[bool], instantiate) -> tuple[Graph, list, list]:
    """The jvp of ``graph`` as a graph.

    Args:
      graph: the graph (all inputs explicit).
      nonzeros: which inputs have a (non-zero) tangent.
      instantiate: bool or per-output bools: outputs whose tangent is
        materialized even when it is a symbolic zero (float outputs only).

    Returns:
      ``(jvp, consts, out_nonzeros)``: jvp's inputs are ``consts``, the primals,
      then the non-zero tangents; its outputs the primal outputs then the
      non-zero output tangents.
    """
    n = len(graph.in_vars)
    out_avals = graph.out_avals
    inst = [instantiate] * len(out_avals) if isinstance(instantiate, bool) else list(instantiate)
    t_avals = [tangent_aval(v.aval) for v, nz in zip(graph.in_vars, nonzeros) if nz]
    box = []

    def fn(*args):
        it = iter(args[n:])
        tangents = [next(it) if nz else Zero(tangent_aval(v.aval))
                    for v, nz in zip(graph.in_vars, nonzeros)]
        outs, touts = jvp_flat(lambda *a: eval_graph(graph, *a), list(args[:n]), tangents)
        out_nz = [(not isinstance(t, Zero) or force) and is_float(a)
                  for t, force, a in zip(touts, inst, out_avals)]
        box.append(out_nz)
        return list(outs) + [instantiate_zero(t) for t, nz in zip(touts, out_nz) if nz]

    g, consts = trace_flat(fn, list(graph.in_avals) + t_avals)
    return g, consts, box[0]


def _level(x) -> int:
    return x._trace.main.level if isinstance(x, Tracer) else 0


def tangents_above_primals(primals, tangents) -> bool:
    """Whether the tangents live at a higher trace level than every primal
    (under ``linearize``/``grad``: they are being staged into the linear graph).
    Then a control-flow jvp must bind its primal and tangent halves separately,
    so that the primal loop is not staged into the linear graph."""
    base = core._state.dynamic.level
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


# --- batching -------------------------------------------------------------------
def batch_graph(graph: Graph, in_batched: Sequence[bool], size: int,
                force_out: Sequence[bool], axis_name=None) -> tuple[Graph, list, list]:
    """vmap ``graph`` over a leading axis of size ``size`` of the batched inputs
    (named ``axis_name`` for the collectives inside, when given).

    Returns:
      ``(batched, consts, out_batched)``: batched outputs have the batch axis in
      front; outputs in ``force_out`` are batched even when they do not depend
      on a batched input.
    """
    box = []

    def fn(*args):
        with new_main(BatchTrace, (axis_name, size)) as main:
            trace = main.trace
            ins = [BatchTracer(trace, a, 0) if b else a for a, b in zip(args, in_batched)]
            with named_axis(main, axis_name, size):
                outs = [full_raise(trace, o) for o in eval_graph(graph, *ins)]
            res, flags = [], []
            for o, force in zip(outs, force_out):
                if o.bdim is not None:
                    res.append(moveaxis(o.val, o.bdim, 0))
                elif force:
                    res.append(broadcast_batch(o.val, size, 0))
                else:
                    res.append(o.val)
                flags.append(o.bdim is not None or bool(force))
            box.append(flags)
            return res

    avals = [batched_aval(a, size) if b else a for a, b in zip(graph.in_avals, in_batched)]
    g, consts = trace_flat(fn, avals)
    return g, consts, box[0]


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
