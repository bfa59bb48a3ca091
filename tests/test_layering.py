"""The packages form a stack, not a loop (DESIGN.md "Layout").

Every import statement of the source packages (module level and inside
functions, plus ``importlib.import_module("...")`` calls) is an edge. The test
fails on an edge that goes up the stack or into another package's private
modules, and on any cycle, naming the edges:

- ``fx`` imports none of the others, except the one documented hook
  (``fx.core.structural`` loads ``primitives.numpy`` lazily);
- ``primitives`` imports only ``fx``;
- ``transforms`` imports ``fx`` and ``primitives``;
- ``pallas_kernels`` imports ``fx``, ``primitives`` and ``transforms``;
- ``optim`` imports the public APIs only (listed in PUBLIC) and itself.
"""
from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("fx", "primitives", "transforms", "pallas_kernels", "optim")
ALLOWED = {
    "fx": {"fx"},
    "primitives": {"fx", "primitives"},
    "transforms": {"fx", "primitives", "transforms"},
    "pallas_kernels": {"fx", "primitives", "transforms", "pallas_kernels"},
    "optim": {"optim"},  # plus PUBLIC
}
PUBLIC = {"fx", "fx.passes", "fx.dtypes", "fx.errors", "primitives", "primitives.numpy",
          "primitives.random", "primitives.nn", "primitives.control_flow", "transforms"}
HOOKS = {("fx.core", "primitives.numpy")}  # the documented structural-ops hook


def _modules() -> dict:
    mods = {}
    for pkg in PACKAGES:
        for dirpath, _, files in os.walk(os.path.join(ROOT, pkg)):
            for f in files:
                if f.endswith(".py"):
                    path = os.path.join(dirpath, f)
                    name = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    mods[name[:-len(".__init__")] if name.endswith(".__init__") else name] = path
    return mods


def _rebound(mods: dict) -> dict:
    """Per package, the names its __init__ binds to something other than the
    submodule of that name (``transforms.grad`` is the function, not the module)."""
    out = {}
    for name, path in mods.items():
        if path.endswith("__init__.py"):
            tree = ast.parse(open(path).read(), path)
            out[name] = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom)
                         and n.module != name for a in n.names}
    return out


def _targets(node, module: str, is_pkg: bool, mods, rebound) -> list[str]:
    """The modules an import statement loads (``from pkg import sub`` loads pkg.sub)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            if not is_pkg:
                base = base[:-1]
            base = base[:len(base) - node.level + 1]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module
        subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in mods
                and a.name not in rebound.get(mod, ())]
        return subs if len(subs) == len(node.names) else [mod] + subs
    if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
            and node.args and isinstance(node.args[0], ast.Constant)):
        return [node.args[0].value]
    return []


def _edges(mods: dict) -> dict:
    """{(importer, imported): line}, both modules of the source packages."""
    edges, rebound = {}, _rebound(mods)
    for name, path in mods.items():
        tree = ast.parse(open(path).read(), path)
        for node in ast.walk(tree):
            for t in _targets(node, name, path.endswith("__init__.py"), mods, rebound):
                if t in mods and t != name:
                    edges.setdefault((name, t), f"{os.path.relpath(path, ROOT)}:{node.lineno}")
    return edges


MODS = _modules()
EDGES = _edges(MODS)


def _allowed(src: str, dst: str) -> bool:
    a, b = src.split(".")[0], dst.split(".")[0]
    if (src, dst) in HOOKS:
        return True
    if a == "optim":
        return b == "optim" or dst in PUBLIC
    return b in ALLOWED[a]


def test_the_walk_sees_the_imports():
    """The edge list is not vacuous: known edges are found."""
    assert ("fx.tracing", "fx.core") in EDGES
    assert ("transforms.grad", "fx.ad") in EDGES
    assert ("fx.core", "primitives.numpy") in EDGES  # the importlib hook


def test_no_edge_breaks_the_layering():
    bad = [f"{src} -> {dst}  ({where})" for (src, dst), where in sorted(EDGES.items())
           if not _allowed(src, dst)]
    assert not bad, "imports that break the layering (DESIGN.md):\n  " + "\n  ".join(bad)


def _cycles(edges) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict = {}
    for src, dst in edges:
        graph.setdefault(src, []).append(dst)
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    cycles = _cycles([e for e in EDGES if e not in HOOKS])
    lines = []
    for comp in cycles:
        members = set(comp)
        lines.append(" / ".join(comp) + ":\n    " + "\n    ".join(
            f"{s} -> {d}  ({w})" for (s, d), w in sorted(EDGES.items())
            if s in members and d in members))
    assert not cycles, "import cycles:\n  " + "\n  ".join(lines)


@pytest.mark.parametrize("edges,expect", [([("a", "b"), ("b", "a")], [["a", "b"]]),
                                          ([("a", "b"), ("b", "c")], [])])
def test_cycle_finder(edges, expect):
    assert _cycles(edges) == expect
