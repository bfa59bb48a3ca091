"""Pattern rewriting: replace every match of a pattern function by a replacement.

``rewrite(graph, pattern, replacement)`` has torch.fx's ``replace_pattern``
semantics on our IR: the pattern and the replacement are Python functions of
arrays; the pattern's inputs are wildcards (they match any value: a Var, a
constant, a Literal); matching follows data dependencies backwards from the
pattern's outputs; every non-overlapping match is replaced (earlier anchors
first), and a match is rejected when a value it computes internally is used
outside it (by another equation or as a graph output). Unlike torch.fx:

- **shape and dtype polymorphic**: the pattern is traced once at
  ``example_args`` (default: ``f32[]`` scalars) to find candidates; each
  candidate is then checked by tracing the pattern again at the shapes and
  dtypes it binds and comparing every equation and param, so a pattern
  written once matches the same computation at every size and dtype (of the
  rank its ``example_args`` have; elementwise patterns at any rank);
- commutative operands (``add``, ``mul``, ``max``, ...) match either way round;
- literal values in the pattern must be equal, unless ``ignore_literals``;
  an input whose example is a Python or numpy scalar is a literal wildcard (it binds
  any literal, and the replacement gets the value: ``sm_scale=float(c)``);
- matching recurses into sub-graphs (cond branches, scan / while bodies, remat);
- two equal equations of the pattern may match one equation of the graph
  (a graph that went through ``cse``, as ``jit``'s does).

Example::

    >>> def pattern(x, y):
    ...     return fnp.exp(x) * y
    >>> def replacement(x, y):
    ...     return fnp.exp(x + fnp.log(y))
    >>> new_graph, matches = fx.passes.rewrite(graph, pattern, replacement)

References:
    torch.fx's ``subgraph_rewriter.replace_pattern`` and ``SubgraphMatcher``
    (torch/fx/passes/utils/matcher_utils.py).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from fx.core import get_aval
from fx.edit import copy_equations, topo_sort
from fx.ir import (ClosedGraph, Equation, Graph, IRTypeError, Literal, ShapedArray, Var,
                   graph_key, literal_key, map_subgraphs, typecheck)
from fx.passes.dce import dce
from fx.tracing import trace_to_graph

__all__ = ["rewrite", "Match", "COMMUTATIVE"]

#: Primitives whose two operands may be swapped (a Primitive may also set
#: ``commutative = True``).
COMMUTATIVE = frozenset({"add", "mul", "max", "min", "and", "or", "xor", "eq", "ne"})


class Match(NamedTuple):
    """One replaced (or, for ``filter``, candidate) occurrence of a pattern.

    Attributes:
      anchor: the graph equation matched to the pattern's first output.
      equations: the graph equations the pattern covers, in graph order.
      inputs: the graph values bound to the pattern's inputs (Vars or Literals).
      outputs: the graph values matched to the pattern's outputs.
      graph: the Graph it was found in (a sub-graph for nested matches).
    """
    anchor: Equation
    equations: tuple
    inputs: tuple
    outputs: tuple
    graph: Graph


# --- the pattern ---------------------------------------------------------------------
def _trace(fn: Callable, args: Sequence[Any]) -> tuple[Graph, list]:
    """Trace ``fn``: a ShapedArray in ``args`` is a traced input, a Literal is
    passed as its value (so ``x * c`` traces as the user's ``x * 2.0`` did)."""
    traced = [a for a in args if isinstance(a, ShapedArray)]

    def flat(*xs):
        it = iter(xs)
        full = [next(it) if isinstance(a, ShapedArray) else a.val for a in args]
        out = fn(*full)
        return list(out) if isinstance(out, (tuple, list)) else [out]
    graph, consts = trace_to_graph(flat, traced)
    graph = dce(graph)
    return graph, consts


def _trace_key(args) -> tuple:
    return tuple((type(a.val).__name__,) + literal_key(a) if isinstance(a, Literal) else a
                 for a in args)


def _n_args(fn: Callable) -> int:
    params = inspect.signature(fn).parameters.values()
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise TypeError(f"rewrite: the {getattr(fn, '__name__', 'pattern')} function must take a "
                        f"fixed number of positional arrays (no *args / **kwargs)")
    return sum(p.default is p.empty for p in params)


class _Pattern:
    """A pattern function (traced per input avals) or a fixed Graph."""

    def __init__(self, pattern, example_args):
        self.fn = None if isinstance(pattern, (Graph, ClosedGraph)) else pattern
        self._cache: dict = {}
        self.wild = {}      # position of a literal-wildcard input -> its marker value
        if self.fn is None:
            closed = pattern if isinstance(pattern, ClosedGraph) else ClosedGraph(pattern, ())
            if closed.consts:
                raise ValueError("rewrite: a pattern graph must have no consts (make them inputs)")
            self.skeleton = closed.graph
            self.arity = len(closed.graph.in_vars)
        else:
            if example_args is None:
                args = [ShapedArray((), np.float32)] * _n_args(pattern)
            else:
                args = [self._example(i, a) for i, a in enumerate(example_args)]
            self.arity = len(args)
            try:
                self.skeleton = self.at(args)
            except Exception as e:
                shown = [a.aval.str_short() if isinstance(a, Literal) else a.str_short()
                         for a in args]
                raise type(e)(f"rewrite: tracing the pattern at {shown} failed: {e}. Fix: pass "
                              f"example_args= with arrays of the ranks the pattern is written "
                              f"for.") from e
            found = {self._marker_of(x) for e in self.skeleton.equations for x in e.inputs}
            missing = [i for i in self.wild if i not in found]
            if missing:
                raise ValueError(f"rewrite: the scalar example_args at positions {missing} (literal "
                                 f"wildcards) do not appear as literals of the traced pattern; "
                                 f"use the scalar as an operand as it is (no Python arithmetic "
                                 f"on it) or pass a 0-d array to make it an array wildcard")
        g = self.skeleton
        ins = {id(v) for v in g.in_vars}
        read = {id(x) for e in g.equations for x in e.inputs}
        if not ins <= read:
            raise ValueError("rewrite: every pattern input must be read by the pattern")
        for v in g.out_vars:
            if type(v) is not Var or id(v) in ins:
                raise ValueError("rewrite: every pattern output must be computed by an "
                                 "equation (not an input or a literal)")

    def _example(self, i: int, a):
        """A Python / numpy scalar example is a literal wildcard, traced as a
        marker value; anything else gives the input's aval."""
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, float, np.number)):
            return get_aval(a)
        aval = get_aval(a)
        marker = (12345 + i) if np.issubdtype(aval.dtype, np.integer) else 12345.5 + i
        self.wild[i] = (marker, type(a))
        return Literal(type(a)(marker), aval)

    def wild_arg(self, i: int, lit: Literal) -> Literal:
        """The graph literal ``lit`` bound to wildcard ``i``, as a value of the
        example's Python type (``np.float64(0.5)`` traces unlike ``0.5``)."""
        return Literal(self.wild[i][1](np.asarray(lit.val).item()), lit.aval)

    def _marker_of(self, x):
        """The input position whose marker ``x`` is (None when it is not one)."""
        if type(x) is not Literal or not self.wild or np.ndim(x.val) != 0:
            return None
        try:
            v = np.asarray(x.val).item()
        except Exception:
            return None
        for i, (m, _) in self.wild.items():
            if v == m:
                return i
        return None

    def at(self, args) -> Graph:
        """The pattern traced at ``args`` (ShapedArrays, or Literals passed as
        values; cached)."""
        key = _trace_key(args)
        hit = self._cache.get(key)
        if hit is None:
            graph, consts = _trace(self.fn, args)
            if consts:
                raise ValueError("rewrite: the pattern captures arrays; make them inputs of the "
                                 "pattern function")
            hit = self._cache[key] = graph
        return hit


# --- matching --------------------------------------------------------------------------
def _params_equal(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k, x in a.items():
        if not _value_equal(x, b[k]):
            return False
    return True


def _value_equal(x, y) -> bool:
    if x is y:
        return True
    if isinstance(x, ClosedGraph) and isinstance(y, ClosedGraph):
        return (len(x.consts) == len(y.consts) and all(c is d for c, d in zip(x.consts, y.consts))
                and graph_key(x.graph) == graph_key(y.graph))
    if isinstance(x, Graph) and isinstance(y, Graph):
        return graph_key(x) == graph_key(y)
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return len(x) == len(y) and all(_value_equal(a, b) for a, b in zip(x, y))
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return np.shape(x) == np.shape(y) and bool(np.all(np.asarray(x) == np.asarray(y)))
    try:
        return bool(x == y)
    except Exception:
        return False


def _literal_equal(a: Literal, b: Literal) -> bool:
    """Equal literals: same dtype and value."""
    try:
        if literal_key(a) == literal_key(b):
            return True
        if np.dtype(a.aval.dtype) != np.dtype(b.aval.dtype):
            return False
        return bool(np.asarray(a.val, a.aval.dtype) == np.asarray(b.val, b.aval.dtype))
    except Exception:
        return False


class _State:
    __slots__ = ("vals", "eqns", "used")

    def __init__(self, vals, eqns, used):
        self.vals, self.eqns, self.used = vals, eqns, used


class _Matcher:
    """Finds the ways ``pattern`` matches at given graph values (backtracking)."""

    def __init__(self, pattern: Graph, graph: Graph, exact: bool, ignore_literals: bool,
                 marker_of=None):
        self.p, self.g = pattern, graph
        self.marker_of = marker_of     # literal wildcards of the skeleton
        self.exact, self.ignore_literals = exact, ignore_literals
        self.p_inputs = {id(v) for v in pattern.in_vars}
        self.p_producer = {id(v): (e, k) for e in pattern.equations for k, v in enumerate(e.outputs)}
        self.g_producer = {id(v): (i, k) for i, e in enumerate(graph.equations)
                           for k, v in enumerate(e.outputs)}

    def match_outputs(self, targets: Sequence[Any]):
        """States matching each pattern output to the graph value ``targets[i]``."""
        yield from self._seq(list(zip(self.p.out_vars, targets)), _State({}, {}, frozenset()))

    def _seq(self, pairs, st):
        if not pairs:
            yield st
            return
        (pv, gv), rest = pairs[0], pairs[1:]
        for st2 in self._val(pv, gv, st):
            yield from self._seq(rest, st2)

    def _val(self, pv, gv, st):
        if type(pv) is Literal:
            i = self.marker_of(pv) if self.marker_of is not None else None
            if i is not None:   # a literal wildcard: binds any literal
                if type(gv) is Literal:
                    prev = st.vals.get(("wild", i))
                    if prev is None:
                        yield _State({**st.vals, ("wild", i): gv}, st.eqns, st.used)
                    elif _literal_equal(prev, gv):
                        yield st
                return
            # (the skeleton was traced at other shapes and dtypes, where literals such
            # as 1/sqrt(head_dim) differ: values are compared when verifying)
            if type(gv) is Literal and (self.ignore_literals or not self.exact
                                        or _literal_equal(pv, gv)):
                yield st
            return
        prev = st.vals.get(id(pv))
        if prev is not None:
            if prev is gv or (type(prev) is Literal and type(gv) is Literal
                              and _literal_equal(prev, gv)):
                yield st
            return
        if id(pv) in self.p_inputs:
            yield _State({**st.vals, id(pv): gv}, st.eqns, st.used)
            return
        if type(gv) is not Var or id(gv) not in self.g_producer:
            return
        pe, pk = self.p_producer[id(pv)]
        gi, gk = self.g_producer[id(gv)]
        ge = self.g.equations[gi]
        # (two equal pattern equations may match one graph equation: the graph was cse'd)
        if (pk != gk or id(pe) in st.eqns or ge.primitive is not pe.primitive
                or len(ge.inputs) != len(pe.inputs) or len(ge.outputs) != len(pe.outputs)):
            return
        if self.exact:
            if not _params_equal(pe.params, ge.params):
                return
            if any((a.aval.shape, a.aval.dtype) != (b.aval.shape, b.aval.dtype)
                   for a, b in zip(pe.outputs, ge.outputs)):
                return
        elif pe.params.keys() != ge.params.keys():
            return
        vals = dict(st.vals)
        vals.update((id(a), b) for a, b in zip(pe.outputs, ge.outputs))
        st2 = _State(vals, {**st.eqns, id(pe): gi}, st.used | {gi})
        orders = [ge.inputs]
        if len(ge.inputs) == 2 and (pe.primitive.name in COMMUTATIVE
                                    or getattr(pe.primitive, "commutative", False)):
            orders.append(ge.inputs[::-1])
        for gins in orders:
            yield from self._seq(list(zip(pe.inputs, gins)), st2)


# --- the pass --------------------------------------------------------------------------
def rewrite(graph: Graph | ClosedGraph, pattern: Callable | Graph | ClosedGraph,
            replacement: Callable, *, filter: Callable[[Match], bool] | None = None,
            example_args: Sequence[Any] | None = None, ignore_literals: bool = False,
            recursive: bool = True):
    """Replace every non-overlapping match of ``pattern`` in ``graph`` by ``replacement``.

    Args:
      graph: a Graph or ClosedGraph.
      pattern: a function of arrays returning an array or a tuple of arrays
        (its inputs are wildcards), or a Graph (matched at its exact types).
      replacement: a function taking the same inputs and returning outputs of
        the same shapes and dtypes; it is traced at each match's types.
      filter: ``filter(match) -> bool``; a match is replaced only when True.
      example_args: arrays (or ``jax.ShapeDtypeStruct``) at whose ranks the
        pattern is first traced (default: ``f32[]`` scalars); sizes and dtypes
        do not matter, the pattern matches at all of them. A Python or numpy
        scalar makes that input a *literal wildcard*: it matches any literal
        of the graph (``x * 0.125``) and the replacement receives its value.
      ignore_literals: literal values in the pattern match any literal.
      recursive: also rewrite inside sub-graphs held in params.

    Returns:
      ``(new_graph, matches)``: a graph of the same kind (typechecked) and the
      list of :class:`Match` replaced (inner sub-graphs' first).

    Raises:
      IRTypeError: when the replacement's outputs differ in shape or dtype
        from the pattern's at a match (naming the match's equation).
    """
    pat = _Pattern(pattern, example_args)
    matches: list = []
    out = _rewrite(graph, pat, replacement, filter, ignore_literals, recursive, matches, True)
    typecheck(out)
    return out, matches


def _rewrite(graph, pat, replacement, filt, ignore_literals, recursive, matches, top):
    if isinstance(graph, ClosedGraph):
        new_consts = []
        g = _rewrite_graph(graph.graph, pat, replacement, filt, ignore_literals, recursive,
                           matches, new_consts if top else None)
        if g is graph.graph:
            return graph
        if new_consts:  # the replacements' captured arrays become consts
            n = len(graph.consts)
            g = Graph(list(g.in_vars[:n]) + [v for v, _ in new_consts] + list(g.in_vars[n:]),
                      g.equations, g.out_vars)
            return ClosedGraph(g, list(graph.consts) + [c for _, c in new_consts],
                               graph.in_tree, graph.out_tree)
        return graph.replace(graph=g)
    return _rewrite_graph(graph, pat, replacement, filt, ignore_literals, recursive, matches, None)


def _rewrite_graph(g: Graph, pat: _Pattern, replacement, filt, ignore_literals, recursive,
                   matches, consts_out) -> Graph:
    if recursive:
        def sub(x):
            return _rewrite(x, pat, replacement, filt, ignore_literals, True, matches, False)
        eqns = [map_subgraphs(e, sub) for e in g.equations]
        if any(a is not b for a, b in zip(eqns, g.equations)):
            g = g.replace(equations=eqns)

    skel = pat.skeleton
    first_prim = None
    for e in skel.equations:
        if any(v is skel.out_vars[0] for v in e.outputs):
            first_prim, first_k = e.primitive, [i for i, v in enumerate(e.outputs)
                                               if v is skel.out_vars[0]][0]
    skeleton_matcher = _Matcher(skel, g, exact=pat.fn is None, ignore_literals=ignore_literals,
                                marker_of=pat._marker_of if pat.wild else None)
    uses: dict = {}
    for i, e in enumerate(g.equations):
        for x in e.inputs:
            if type(x) is Var:
                uses.setdefault(id(x), set()).add(i)
    graph_outs = {id(v) for v in g.out_vars if type(v) is Var}
    taken: set = set()
    accepted = []   # (sorted indices of the matched equations, Match)
    for i, e in enumerate(g.equations):
        if e.primitive is not first_prim or i in taken:
            continue
        found = _first_valid(g, pat, skeleton_matcher, e.outputs[first_k], ignore_literals,
                             uses, graph_outs, taken)
        if found is None:
            continue
        st, exact_pattern, bound = found
        used = sorted(st.used)
        outs = tuple(st.vals[id(v)] for v in exact_pattern.out_vars)
        match = Match(e, tuple(g.equations[j] for j in used), bound, outs, g)
        if filt is not None and not filt(match):
            continue
        taken.update(used)
        accepted.append((used, match))

    if not accepted:
        return g
    rename: dict = {}

    def ren(x):
        while type(x) is Var and id(x) in rename:
            x = rename[id(x)]
        return x

    by_last = {}
    for used, match in accepted:
        by_last[used[-1]] = match
    new_eqns = []
    for i, e in enumerate(g.equations):
        m = by_last.get(i)
        if m is not None:
            ins = [ren(x) for x in m.inputs]
            r_eqns, r_outs = _replacement(replacement, ins, m, consts_out)
            new_eqns.extend(r_eqns)
            for old, new in zip(m.outputs, r_outs):
                rename[id(old)] = new
            matches.append(m)
        if i in taken:
            continue
        new_eqns.append(e)
    fixed = []
    for e in new_eqns:
        ins = tuple(ren(x) for x in e.inputs)
        fixed.append(e if all(a is b for a, b in zip(ins, e.inputs)) else e.replace(inputs=ins))
    defined = {id(v) for v in g.in_vars} | {id(v) for v, _ in (consts_out or [])}
    return Graph(g.in_vars, topo_sort(fixed, defined), [ren(v) for v in g.out_vars])


def _first_valid(g, pat, skeleton_matcher, target, ignore_literals, uses, graph_outs, taken):
    """The first match at ``target`` (verified at its own types) that passes the
    torch.fx checks, as (state, the pattern graph it was verified with, the
    values bound to the pattern function's inputs)."""
    skel = skeleton_matcher.p
    for st in skeleton_matcher.match_outputs_first(target):
        it = iter(skel.in_vars)
        bound = tuple(st.vals[("wild", i)] if i in pat.wild else st.vals[id(next(it))]
                      for i in range(pat.arity))
        if pat.fn is None:
            if _valid(g, skel, st, uses, graph_outs, taken):
                return st, skel, bound
            continue
        args = [pat.wild_arg(i, x) if i in pat.wild else x if type(x) is Literal else x.aval
                for i, x in enumerate(bound)]
        try:
            exact = pat.at(args)
        except Exception:
            continue
        outs = [st.vals.get(id(v)) for v in skeleton_matcher.p.out_vars]
        if len(exact.out_vars) != len(outs):
            continue
        m = _Matcher(exact, g, exact=True, ignore_literals=ignore_literals)
        for st2 in m.match_outputs(outs):
            if _valid(g, exact, st2, uses, graph_outs, taken):
                it = iter(exact.in_vars)
                full = tuple(x if type(x) is Literal else st2.vals[id(next(it))] for x in bound)
                return st2, exact, full
    return None


def _valid(g: Graph, p: Graph, st: _State, uses, graph_outs, taken) -> bool:
    if st.used & taken:
        return False      # overlaps an accepted match
    if len(st.vals) < len(p.in_vars) or any(id(v) not in st.vals for v in p.in_vars):
        return False      # a pattern input that no pattern equation reads
    out_ids = {id(st.vals[id(v)]) for v in p.out_vars}
    for j in st.used:
        for v in g.equations[j].outputs:
            if id(v) in out_ids:
                continue
            if id(v) in graph_outs or not uses.get(id(v), set()) <= st.used:
                return False   # an interior value used outside the match
    # a bound input must not be computed from the match's own outputs (a cycle)
    tainted = {id(v) for j in st.used for v in g.equations[j].outputs}
    bound = {id(st.vals[id(v)]) for v in p.in_vars}
    for j in range(min(st.used), len(g.equations)):
        if j in st.used:
            continue
        e = g.equations[j]
        if any(type(x) is Var and id(x) in tainted for x in e.inputs):
            tainted.update(id(v) for v in e.outputs)
            if any(id(v) in bound for v in e.outputs):
                return False
    return True


def _match_outputs_first(self, target):
    """States where the pattern's first output is ``target`` and the others are
    found anywhere in the graph."""
    p_outs = self.p.out_vars
    init = _State({}, {}, frozenset())
    for st in self._val(p_outs[0], target, init):
        yield from _rest_outputs(self, list(p_outs[1:]), st)


def _rest_outputs(self, p_outs, st):
    if not p_outs:
        yield st
        return
    pv, rest = p_outs[0], p_outs[1:]
    if id(pv) in st.vals:
        yield from _rest_outputs(self, rest, st)
        return
    pe, pk = self.p_producer[id(pv)]
    for ge in self.g.equations:
        if ge.primitive is pe.primitive and len(ge.outputs) > pk:
            for st2 in self._val(pv, ge.outputs[pk], st):
                yield from _rest_outputs(self, rest, st2)


_Matcher.match_outputs_first = _match_outputs_first


def _replacement(replacement: Callable, ins: list, m: Match, consts_out):
    graph, consts = _trace(replacement, [x if type(x) is Literal else x.aval for x in ins])
    want = [(v.aval.shape, v.aval.dtype) for v in m.outputs]
    got = [(v.aval.shape, v.aval.dtype) for v in graph.out_vars]
    if want != got:
        raise IRTypeError(
            f"rewrite: the replacement returns {[v.aval.str_short() for v in graph.out_vars]} "
            f"where the pattern's match returns {[v.aval.str_short() for v in m.outputs]}, at "
            f"the match anchored on  {m.anchor.primitive.name}  (at {m.anchor.source_info}). "
            f"Fix: make the replacement compute outputs of the same shapes and dtypes.")
    cvars = []
    if consts:
        if consts_out is None:
            raise ValueError("rewrite: the replacement captures arrays, which only a top-level "
                             "ClosedGraph can hold as consts; make them Python scalars or "
                             "compute them inside the replacement")
        cvars = [Var(get_aval(c).strip_weak()) for c in consts]
        consts_out.extend(zip(cvars, consts))
    eqns, outs = copy_equations(graph, cvars + [x for x in ins if type(x) is not Literal])
    src = m.anchor.source_info
    return [e.replace(source_info=src) for e in eqns], outs
