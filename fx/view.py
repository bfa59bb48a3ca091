"""Viewing graphs: HTML for notebooks and Graphviz DOT.

The text printer (``print(graph)``) stays the stable form that golden tests
compare; these views are for people:

- ``ClosedGraph._repr_html_`` (Jupyter shows it for a graph at the end of a
  cell): one line per equation with its output types, the user's source line
  on hover (and in a faint column), sub-graphs (cond branches, loop bodies,
  remat) in collapsible ``<details>`` blocks;
- ``dot_source(graph)``: the DOT text of the data-flow graph (always
  available); ``to_dot(graph)``: a ``graphviz.Digraph`` of it (renders in
  notebooks, ``.render()`` writes files), which needs the ``graphviz``
  package and Graphviz's ``dot`` program.

Example::

    >>> g = fx.make_graph(loss)(params, batch)
    >>> g                       # in a notebook: the HTML view
    >>> fx.to_dot(g).render("loss", format="svg")

References:
    torch.fx's ``FxGraphDrawer``; JAX's ``jax.make_jaxpr`` pretty printer.
"""
from __future__ import annotations

import html
import shutil

from fx.ir import ClosedGraph, Graph, Literal, _Namer, _fmt_param, subgraphs

try:  # optional: only to_dot needs it
    import graphviz as _graphviz
except ImportError:  # pragma: no cover - depends on the environment
    _graphviz = None

__all__ = ["to_html", "dot_source", "to_dot"]

_STYLE = ("<style>.fxg{font-family:monospace;font-size:12px;line-height:1.45}"
          ".fxg .src{color:#999;margin-left:2em}.fxg .prim{color:#1a5fb4;font-weight:bold}"
          ".fxg .ty{color:#26a269}.fxg details{margin-left:2em;border-left:1px solid #ddd;"
          "padding-left:.5em}.fxg summary{cursor:pointer;color:#666}</style>")


def _split(graph):
    if isinstance(graph, ClosedGraph):
        return graph.graph, len(graph.consts)
    return graph, 0


def _short_src(src) -> str:
    if src is None:
        return ""
    return f"{str(src.file).rsplit('/', 1)[-1]}:{src.line} ({src.function})"


def _html_graph(graph, depth: int) -> str:
    g, n_consts = _split(graph)
    namer = _Namer()
    esc = html.escape

    def typed(v):
        return f"{namer.define(v).split(':')[0]}:<span class=ty>{esc(v.aval.str_short())}</span>"

    consts = " ".join(typed(v) for v in g.in_vars[:n_consts])
    ins = " ".join(typed(v) for v in g.in_vars[n_consts:])
    rows = [f"<div>{{ lambda {consts}; {ins}. let</div>"]
    for eqn in g.equations:
        args = " ".join(esc(namer(x)) for x in eqn.inputs)
        outs = " ".join(typed(v) for v in eqn.outputs) or "_"
        params = {k: v for k, v in eqn.params.items()
                  if not subgraphs({k: v})}
        ptext = ", ".join(f"{k}={_fmt_param(v, 0)}" for k, v in params.items())
        ptext = f"[{esc(ptext)}]" if ptext else ""
        src = eqn.source_info
        title = esc(str(src)) if src is not None else ""
        line = (f"<div title=\"{title}\" style='margin-left:2em'>{outs} = "
                f"<span class=prim>{esc(eqn.primitive.name)}</span>{ptext} {args}"
                f"<span class=src>{esc(_short_src(src))}</span></div>")
        rows.append(line)
        for k, v in eqn.params.items():
            subs = subgraphs({k: v})
            for i, sub in enumerate(subs):
                label = k if len(subs) == 1 else f"{k}[{i}]"
                n_eq = len(_split(sub)[0].equations)
                rows.append(f"<details{' open' if depth == 0 and n_eq <= 8 else ''}>"
                            f"<summary>{esc(eqn.primitive.name)}.{esc(label)} "
                            f"({n_eq} equations)</summary>{_html_graph(sub, depth + 1)}</details>")
    outs = " ".join(esc(namer(v)) for v in g.out_vars)
    rows.append(f"<div>&nbsp;&nbsp;in ({outs}{',' if len(g.out_vars) == 1 else ''}) }}</div>")
    return "".join(rows)


def to_html(graph: Graph | ClosedGraph) -> str:
    """The HTML view of ``graph`` (what notebooks show for a ClosedGraph).

    Returns:
      An HTML fragment: equations with their types, source lines on hover and
      collapsible sub-graphs.
    """
    return f"{_STYLE}<div class=fxg>{_html_graph(graph, 0)}</div>"


def dot_source(graph: Graph | ClosedGraph, name: str = "graph") -> str:
    """The Graphviz DOT text of ``graph``'s data flow.

    Inputs and constants are ellipses, equations boxes labelled
    ``primitive\\noutput types`` (tooltip: the source line), outputs a
    double octagon; sub-graphs are drawn as clusters.
    """
    lines = [f"digraph {_dot_id(name)} {{", "  rankdir=TB; node [fontname=monospace fontsize=10];"]
    counter = [0]

    def node_id():
        counter[0] += 1
        return f"n{counter[0]}"

    def emit(graph, indent, label):
        g, n_consts = _split(graph)
        pad = " " * indent
        where = {}
        for i, v in enumerate(g.in_vars):
            nid = node_id()
            kind = "const" if i < n_consts else "in"
            lines.append(f'{pad}{nid} [shape=ellipse label="{kind} {v.aval.str_short()}"];')
            where[id(v)] = nid
        for eqn in g.equations:
            nid = node_id()
            types = " ".join(v.aval.str_short() for v in eqn.outputs)
            tip = str(eqn.source_info) if eqn.source_info is not None else ""
            lines.append(f'{pad}{nid} [shape=box label="{eqn.primitive.name}\\n{types}" '
                         f'tooltip="{_dot_escape(tip)}"];')
            for x in eqn.inputs:
                if type(x) is Literal:
                    lid = node_id()
                    lines.append(f'{pad}{lid} [shape=plaintext label="{_dot_escape(str(x.val))}"];')
                    lines.append(f"{pad}{lid} -> {nid};")
                elif id(x) in where:
                    lines.append(f"{pad}{where[id(x)]} -> {nid};")
            for v in eqn.outputs:
                where[id(v)] = nid
            for k, sub in enumerate(subgraphs(eqn)):
                cid = node_id()
                lines.append(f'{pad}subgraph cluster_{cid} {{ label="{eqn.primitive.name} '
                             f'body {k}"; style=dashed;')
                emit(sub, indent + 2, None)
                lines.append(f"{pad}}}")
        out = node_id()
        lines.append(f'{pad}{out} [shape=doubleoctagon label="out"];')
        for v in g.out_vars:
            if id(v) in where:
                lines.append(f"{pad}{where[id(v)]} -> {out};")

    emit(graph, 2, name)
    lines.append("}")
    return "\n".join(lines)


def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _dot_id(s: str) -> str:
    return '"' + _dot_escape(s) + '"'


def to_dot(graph: Graph | ClosedGraph, name: str = "graph"):
    """A ``graphviz.Digraph`` of ``graph`` (see ``dot_source``).

    Raises:
      ImportError: when the ``graphviz`` Python package or Graphviz's ``dot``
        program is missing (``dot_source`` gives the DOT text without them).
    """
    if _graphviz is None:
        raise ImportError("fx.to_dot needs the `graphviz` Python package (pip install graphviz) "
                          "and Graphviz's `dot` program; fx.view.dot_source(graph) returns the "
                          "DOT text without them.")
    if shutil.which("dot") is None:
        raise ImportError("fx.to_dot: Graphviz's `dot` program is not on PATH (install Graphviz, "
                          "e.g. apt-get install graphviz); fx.view.dot_source(graph) returns the "
                          "DOT text without it.")
    return _graphviz.Source(dot_source(graph, name))


def _repr_html_(self) -> str:
    return to_html(self)


ClosedGraph._repr_html_ = _repr_html_   # notebooks show graphs with it (fx.ir cannot import us)
