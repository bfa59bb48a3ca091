"""A stable, jaxpr-like text form of Graphs.

Variables are named a, b, ..., z, ba, bb, ... in order of definition, so the
text depends only on the graph's structure (golden tests compare it).
Sub-graphs held in params are printed indented, each with its own names.
"""
from __future__ import annotations

import numpy as np

from fx.ir import ClosedGraph, Graph, Literal, Var

__all__ = ["print_graph", "print_equation"]


def _name(i: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        s = letters[i % 26] + s
        i //= 26
        if i == 0:
            return s


class _Namer:
    def __init__(self):
        self.names = {}

    def define(self, v) -> str:
        name = self.names[id(v)] = _name(len(self.names))
        return f"{name}:{v.aval.str_short()}"

    def __call__(self, x) -> str:
        if isinstance(x, Literal):
            val = x.val
            if isinstance(val, np.ndarray):
                val = val.item() if val.ndim == 0 else val
            if isinstance(val, (bool, np.bool_)):
                return str(bool(val))
            return f"{val}:{x.aval.str_short()}"
        return self.names.get(id(x), "?")


def _fmt_param(value, indent: int) -> str:
    if isinstance(value, (Graph, ClosedGraph)):
        text = print_graph(value.graph if isinstance(value, ClosedGraph) else value,
                           n_consts=len(value.consts) if isinstance(value, ClosedGraph) else 0,
                           indent=indent + 4)
        return "\n" + text
    if isinstance(value, tuple) and value and all(isinstance(v, (Graph, ClosedGraph)) for v in value):
        return "(" + "".join(_fmt_param(v, indent) for v in value) + ")"  # cond/switch branches
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    return repr(value) if isinstance(value, str) else str(value)


def _eqn_text(eqn, namer: _Namer, indent: int) -> str:
    ins = " ".join(namer(x) for x in eqn.inputs)
    outs = " ".join(namer.define(v) for v in eqn.outputs) or "_"
    params = ""
    if eqn.params:
        items = ", ".join(f"{k}={_fmt_param(v, indent)}" for k, v in eqn.params.items())
        params = f"[{items}]"
    return f"{' ' * indent}{outs} = {eqn.primitive.name}{params} {ins}".rstrip()


def print_equation(eqn) -> str:
    """One equation, with its inputs named by position (for error messages)."""
    namer = _Namer()
    for x in eqn.inputs:
        if isinstance(x, Var) and id(x) not in namer.names:
            namer.define(x)
    return _eqn_text(eqn, namer, 0)


def print_graph(graph: Graph, n_consts: int = 0, indent: int = 0) -> str:
    """Return the jaxpr-like text of ``graph``; the first ``n_consts`` inputs are constants."""
    namer = _Namer()
    pad = " " * indent
    consts = " ".join(namer.define(v) for v in graph.in_vars[:n_consts])
    ins = " ".join(namer.define(v) for v in graph.in_vars[n_consts:])
    lines = [f"{pad}{{ lambda {consts}; {ins}. let"]
    for eqn in graph.equations:
        lines.append(_eqn_text(eqn, namer, indent + 4))
    outs = " ".join(namer(v) for v in graph.out_vars)
    lines.append(f"{pad}  in ({outs},) }}" if len(graph.out_vars) == 1 else f"{pad}  in ({outs}) }}")
    return "\n".join(lines)
