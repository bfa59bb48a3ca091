"""Parameters read only through disjoint static slices become one leaf per slice.

A stacked parameter ``W`` of layers applied by an (unrolled) ``scan`` is read
as ``reshape(slice(W, [i, ...], [i + 1, ...]))``, one view per layer. When every
use of a parameter is such a chain (a static, unstrided ``slice`` followed by
``reshape``s) and the slices are disjoint, the per-example gradient of ``W`` is
its views' gradients placed side by side, so

    ||grad W||^2 = sum over views of ||grad view||^2,

and each view can be planned like an ordinary parameter (a ghost norm for the
layer that reads it). ``split_views`` rewrites the per-example loss graph so
that each view is a graph input of its own; ``Views.expand`` computes the
views from the parameter leaves and ``Views.collapse`` maps per-view sums back
(the transpose of the slices: a pad).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from fx import ClosedGraph, Graph, Literal, bind_equation
import primitives as P
from transforms import vjp

__all__ = ["Views", "split_views"]


@dataclass(frozen=True)
class _View:
    param: int          # the parameter leaf it reads
    chain: tuple        # its equations, the slice first
    box: tuple          # ((start, limit), ...) per axis of the parameter
    shape: tuple        # the parameter's shape


@dataclass(frozen=True)
class Views:
    """The expanded parameter leaves: per leaf, the original leaf it comes from
    and (for views) the slice chain computing it."""
    n_params: int
    leaves: tuple       # per expanded leaf: int (the original leaf itself) or a _View

    @property
    def groups(self) -> list:
        """Per expanded leaf, the index of its original parameter leaf."""
        return [x if isinstance(x, int) else x.param for x in self.leaves]

    def label(self, k: int) -> str:
        """The view's index expression (``"[3]"``, ``"[0:2, 4]"``; "" for a whole leaf)."""
        x = self.leaves[k]
        if isinstance(x, int):
            return ""
        box = list(x.box)
        while len(box) > 1 and box[-1] == (0, x.shape[len(box) - 1]):
            box.pop()                    # trailing whole axes
        return "[" + ", ".join(f"{a}" if b == a + 1 else f"{a}:{b}" for a, b in box) + "]"

    def expand(self, p_leaves: list) -> list:
        """The expanded leaves' values from the original parameter leaves."""
        out = []
        for x in self.leaves:
            if isinstance(x, int):
                out.append(p_leaves[x])
                continue
            val = p_leaves[x.param]
            for eqn in x.chain:
                (val,) = bind_equation(eqn, [val])
            out.append(val)
        return out

    def collapse(self, p_leaves: list, sums: list) -> list:
        """Per original leaf, the sum of its expanded leaves' ``sums`` mapped back
        (views: the transpose of the slice chain)."""
        out = [None] * self.n_params
        for i in range(self.n_params):
            ks = [k for k, g in enumerate(self.groups) if g == i]
            if len(ks) == 1 and isinstance(self.leaves[ks[0]], int):
                out[i] = sums[ks[0]]
                continue
            sub = Views(self.n_params, tuple(self.leaves[k] for k in ks))
            _, f_vjp = vjp(lambda w: sub.expand([w if j == i else None
                                                 for j in range(self.n_params)]), p_leaves[i])
            (out[i],) = f_vjp([sums[k] for k in ks])
        return out


def split_views(closed: ClosedGraph, n_params: int) -> tuple[ClosedGraph, Views]:
    """Rewrite ``closed`` (inputs: consts, ``n_params`` parameter leaves, then the
    example) so that each parameter read only through disjoint static slices is
    replaced by one input per slice view.

    Returns:
      ``(graph with the expanded parameter inputs, Views)``; when no parameter
      qualifies, ``closed`` itself and the identity expansion.
    """
    g = closed.graph
    n_c = len(closed.consts)
    p_vars = g.in_vars[n_c:n_c + n_params]
    consumers: dict = {}
    for eqn in g.equations:
        for x in eqn.inputs:
            if type(x) is not Literal:
                consumers.setdefault(id(x), []).append(eqn)
    outs = {id(v) for v in g.out_vars if type(v) is not Literal}
    leaves, in_vars, dropped = [], [], set()
    for i, v in enumerate(p_vars):
        views = _views_of(v, i, consumers, outs)
        if views is None:
            leaves.append(i)
            in_vars.append(v)
            continue
        for view, end in views:
            leaves.append(view)
            in_vars.append(end)          # the view's last output becomes an input
            dropped.update(id(e) for e in view.chain)
    if not dropped:
        return closed, Views(n_params, tuple(range(n_params)))
    graph = Graph(list(g.in_vars[:n_c]) + in_vars + list(g.in_vars[n_c + n_params:]),
                  [e for e in g.equations if id(e) not in dropped], g.out_vars)
    return closed.replace(graph=graph), Views(n_params, tuple(leaves))


def _views_of(v, i, consumers, outs):
    """[(view, end var)] when every use of param var ``v`` is a disjoint slice
    chain, else None."""
    uses = consumers.get(id(v), [])
    if len(uses) < 2 or id(v) in outs:
        return None
    views = []
    for eqn in uses:
        if eqn.primitive is not P.slice_p or eqn.inputs[0] is not v:
            return None
        strides = eqn.params.get("strides")
        if strides is not None and any(s != 1 for s in strides):
            return None
        chain, end = [eqn], eqn.outputs[0]
        while True:
            nxt = consumers.get(id(end), [])
            if len(nxt) != 1 or nxt[0].primitive is not P.reshape_p or id(end) in outs:
                break
            chain.append(nxt[0])
            end = nxt[0].outputs[0]
        if id(end) in outs:
            return None
        box = tuple(zip(eqn.params["start_indices"], eqn.params["limit_indices"]))
        views.append((_View(i, tuple(chain), box, tuple(v.aval.shape)), end))
    for (a, _), (b, _) in combinations(views, 2):
        if all(max(s0, s1) < min(e0, e1) for (s0, e0), (s1, e1) in zip(a.box, b.box)):
            return None                  # overlapping slices: norms would not add up
    return views
