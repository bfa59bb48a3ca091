"""Counting FLOPs and bytes per primitive and per source line.

Costs come from the equations' types alone (no evaluation): a matmul
``dot_general`` costs 2·|out|·|contracted|, a convolution 2·|out|·(kernel
elements per output feature), an elementwise op or a transcendental one FLOP
per output element, a reduction one per input element, and data movement
(reshape, transpose, broadcast, slicing, gathers, casts) none. Bytes are
what each equation reads and writes (inputs + outputs, as if nothing were
fused: an upper bound of the memory traffic). Sub-graphs are counted inside
the equation that holds them: a ``scan`` body ``length`` times, the costliest
``cond`` branch, a ``while`` body once (its trip count is unknown).

Example::

    >>> report = count_flops(loss)(params, x, y)
    >>> print(report)          # a table per primitive and per source line
    >>> report.flops           # the total

References:
    XLA's HloCostAnalysis (the FLOP conventions); JAX's
    ``jax.jit(f).lower(...).cost_analysis()``; Kaplan et al. 2020 (6·N·D).
"""
from __future__ import annotations

import functools
from collections import defaultdict
from typing import Callable

import numpy as np

import fx
from fx.ir import ClosedGraph, Equation, Graph, Literal, subgraphs

__all__ = ["FlopCounter", "FlopReport", "count_flops", "equation_cost"]

#: primitives that move or retype data without arithmetic
MOVEMENT = frozenset({
    "reshape", "transpose", "broadcast_in_dim", "squeeze", "expand_dims", "rev", "pad",
    "concatenate", "slice", "iota", "dynamic_slice", "dynamic_update_slice", "gather",
    "convert_element_type", "bitcast_convert_type", "sharding_constraint",
    "optimization_barrier", "copy", "copy_p", "reduce_precision"})


def _nbytes(x) -> int:
    if type(x) is Literal:
        return 0
    return x.aval.size * np.dtype(x.aval.dtype).itemsize


def _graph_of(g) -> Graph:
    return g.graph if isinstance(g, ClosedGraph) else g


def equation_cost(eqn: Equation) -> tuple[int, int]:
    """``(flops, bytes)`` of one equation (its sub-graphs included)."""
    subs = subgraphs(eqn)
    if subs:
        costs = [graph_cost(_graph_of(s)) for s in subs]
        name = eqn.primitive.name
        if name == "cond":
            return max(c[0] for c in costs), max(c[1] for c in costs)
        times = eqn.params.get("length", 1) if name == "scan" else 1
        return (times * sum(c[0] for c in costs), times * sum(c[1] for c in costs))
    name = eqn.primitive.name
    nbytes = sum(_nbytes(x) for x in eqn.inputs) + sum(_nbytes(v) for v in eqn.outputs)
    out_size = sum(v.aval.size for v in eqn.outputs)
    if name in MOVEMENT:
        return 0, nbytes
    if name == "dot_general":
        (lc, _), _ = eqn.params["dimension_numbers"]
        lhs = eqn.inputs[0].aval
        contracted = int(np.prod([lhs.shape[d] for d in lc], dtype=np.int64))
        return 2 * out_size * contracted, nbytes
    if name == "conv_general_dilated":
        rhs = eqn.inputs[1].aval
        _, rhs_spec, _ = eqn.params["dimension_numbers"]
        per_out = rhs.size // rhs.shape[rhs_spec[0]]
        return 2 * out_size * per_out, nbytes
    if name.startswith("reduce_") or name.startswith("arg") or name in ("cumsum", "cumprod",
                                                                          "cummax", "cummin"):
        return sum(x.aval.size for x in eqn.inputs[:1]), nbytes
    return out_size, nbytes


def graph_cost(graph: Graph) -> tuple[int, int]:
    """``(flops, bytes)`` of a graph (the sum over its equations)."""
    f = b = 0
    for eqn in graph.equations:
        ef, eb = equation_cost(eqn)
        f, b = f + ef, b + eb
    return f, b


class FlopReport:
    """FLOPs and bytes by primitive and by source line.

    Attributes:
      flops, bytes: the totals.
      by_primitive: ``{name: [count, flops, bytes]}``.
      by_line: ``{"file:line (function)": [count, flops, bytes]}``.
    """

    def __init__(self):
        self.by_primitive: dict = defaultdict(lambda: [0, 0, 0])
        self.by_line: dict = defaultdict(lambda: [0, 0, 0])
        self.flops = 0
        self.bytes = 0

    def add(self, eqn: Equation, times: int = 1) -> None:
        """Count ``eqn`` (``times`` over): equations holding sub-graphs are
        broken down into their bodies' equations."""
        subs = subgraphs(eqn)
        if subs:
            name = eqn.primitive.name
            if name == "cond":  # the costliest branch
                best = max(subs, key=lambda s: graph_cost(_graph_of(s))[0])
                subs = [best]
            inner = times * (eqn.params.get("length", 1) if name == "scan" else 1)
            for s in subs:
                for e in _graph_of(s).equations:
                    self.add(e, inner)
            return
        f, b = equation_cost(eqn)
        f, b = f * times, b * times
        src = eqn.source_info
        line = (f"{str(src.file).rsplit('/', 1)[-1]}:{src.line} ({src.function})"
                if src is not None else "?")
        for table, key in ((self.by_primitive, eqn.primitive.name), (self.by_line, line)):
            row = table[key]
            row[0] += times
            row[1] += f
            row[2] += b
        self.flops += f
        self.bytes += b

    def table(self, top: int = 20) -> str:
        """The two tables as text (rows sorted by FLOPs, ``top`` rows each)."""
        out = []
        for title, table in (("primitive", self.by_primitive), ("source line", self.by_line)):
            rows = sorted(table.items(), key=lambda kv: (-kv[1][1], -kv[1][2], kv[0]))[:top]
            width = max([len(title)] + [len(k) for k, _ in rows])
            out.append(f"{title:<{width}}  {'count':>7}  {'FLOPs':>12}  {'%':>5}  {'bytes':>12}")
            for k, (n, f, b) in rows:
                pct = 100.0 * f / self.flops if self.flops else 0.0
                out.append(f"{k:<{width}}  {n:>7}  {f:>12,}  {pct:>5.1f}  {b:>12,}")
            out.append(f"{'total':<{width}}  {'':>7}  {self.flops:>12,}  {'':>5}  {self.bytes:>12,}")
            out.append("")
        return "\n".join(out).rstrip()

    __str__ = table

    def __repr__(self):
        return f"FlopReport(flops={self.flops:,}, bytes={self.bytes:,})"


class FlopCounter(fx.Interpreter):
    """An Interpreter that counts each equation's cost as it evaluates it.

    ``FlopCounter(graph).run(*args)`` returns the outputs and fills
    ``.report`` (a :class:`FlopReport`); ``FlopCounter(graph).count()``
    counts without evaluating.
    """

    def __init__(self, graph: Graph | ClosedGraph):
        super().__init__(graph)
        self.report = FlopReport()

    def run_equation(self, eqn, invals):
        self.report.add(eqn)
        return super().run_equation(eqn, invals)

    def count(self) -> FlopReport:
        """The report of the whole graph, without evaluating it."""
        for eqn in self.graph.equations:
            self.report.add(eqn)
        return self.report


def count_flops(fun: Callable | Graph | ClosedGraph, **make_graph_kwargs):
    """The FLOP / byte report of a graph, or of a function at given arguments.

    Args:
      fun: a Graph / ClosedGraph, or a function of arrays.
      **make_graph_kwargs: passed to ``fx.make_graph`` (``static_argnums``).

    Returns:
      For a graph, its :class:`FlopReport`; for a function, a function of
      the same arguments returning the report (``print`` it for the tables).
    """
    if isinstance(fun, (Graph, ClosedGraph)):
        return FlopCounter(fun).count()

    @functools.wraps(fun)
    def counted(*args, **kwargs):
        return FlopCounter(fx.make_graph(fun, **make_graph_kwargs)(*args, **kwargs)).count()
    return counted
