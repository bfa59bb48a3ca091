"""Editing graphs: find equations, insert, replace uses, erase, extract, splice.

Graphs stay immutable values: an :class:`Editor` holds a working copy of one
graph's equations, the edits change that copy, and ``build()`` returns a new
graph after running the typechecker, whose error names the equation and what
is wrong (a value used after its equation was erased, an equation whose
output types no longer fit its inputs, ...). Edited graphs are ordinary
graphs: ``fx.graph_to_fn`` turns them back into functions that ``grad``,
``vmap``, ``jit`` and the rest transform.

Example (replace every ``sin`` by ``cos``)::

    >>> g = fx.make_graph(f)(x)
    >>> ed = fx.Editor(g)
    >>> for eqn in ed.find("sin"):
    ...     y = ed.bind(primitives.cos_p, *eqn.inputs, before=eqn)
    ...     ed.replace_all_uses(eqn.outputs[0], y)
    ...     ed.erase(eqn)
    >>> g2 = ed.build()
    >>> transforms.grad(fx.graph_to_fn(g2))(x)

References:
    torch.fx's Graph editing API (``inserting_before``, ``call_function``,
    ``replace_all_uses_with``, ``erase_node``); JAX's jaxpr (whose answer to
    editing is "write an interpreter": see ``fx.Transformer`` for that style).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from fx.core import get_aval
from fx.ir import (ClosedGraph, Equation, Graph, IRTypeError, Literal, SourceInfo, Var,
                   print_equation, subgraphs, typecheck)

__all__ = ["find", "Editor", "replace_all_uses", "erase", "extract", "splice", "topo_sort",
           "copy_equations"]


def _prim_name(p) -> str:
    return p if isinstance(p, str) else p.name


def _eqn_matches(eqn: Equation, primitive, params, file, line, function, where) -> bool:
    if primitive is not None:
        names = {_prim_name(p) for p in (primitive if isinstance(primitive, (list, tuple, set))
                                         else (primitive,))}
        if eqn.primitive.name not in names:
            return False
    if params:
        for k, v in params.items():
            if k not in eqn.params:
                return False
            got = eqn.params[k]
            if not (v(got) if callable(v) and not isinstance(v, type) else got == v):
                return False
    if file is not None or line is not None or function is not None:
        src = eqn.source_info
        if src is None:
            return False
        if file is not None and not str(src.file).endswith(file):
            return False
        if line is not None and src.line != line:
            return False
        if function is not None and src.function != function:
            return False
    return where is None or bool(where(eqn))


def find(graph: Graph | ClosedGraph, primitive=None, *, params: dict | None = None,
         file: str | None = None, line: int | None = None, function: str | None = None,
         where: Callable[[Equation], bool] | None = None, recursive: bool = False) -> list:
    """The equations of ``graph`` that satisfy every criterion given.

    Args:
      graph: a Graph or ClosedGraph.
      primitive: a Primitive, its name (``"dot_general"``), or a list of them.
      params: ``{name: value}``; each value must equal the equation's param, or
        is a predicate called on it (``{"axes": lambda a: 0 in a}``).
      file / line / function: the user's source line the equation was traced
        from (``file`` matches the end of the path: ``file="model.py"``).
      where: any predicate on the equation.
      recursive: also look inside sub-graphs (cond branches, loop bodies, remat).

    Returns:
      The list of matching Equations, in graph order (outer before inner).
    """
    g = graph.graph if isinstance(graph, ClosedGraph) else graph
    out = []
    for eqn in g.equations:
        if _eqn_matches(eqn, primitive, params, file, line, function, where):
            out.append(eqn)
        if recursive:
            for sub in subgraphs(eqn):
                out.extend(find(sub, primitive, params=params, file=file, line=line,
                                function=function, where=where, recursive=True))
    return out


def topo_sort(equations: Sequence[Equation], defined: set) -> list:
    """``equations`` in a valid order, moving as little as possible (stable):
    an equation waits until its inputs are defined. Equations that can never
    run (a cycle, or an input defined nowhere) are appended at the end, where
    the typechecker reports them."""
    defined = set(defined)
    produced = {id(v) for e in equations for v in e.outputs}
    pending = list(equations)
    out = []
    while pending:
        progress, rest = False, []
        for eqn in pending:
            if all(type(x) is not Var or id(x) in defined or id(x) not in produced
                   for x in eqn.inputs):
                out.append(eqn)
                defined.update(id(v) for v in eqn.outputs)
                progress = True
            else:
                rest.append(eqn)
        if not progress:
            return out + rest
        pending = rest
    return out


def _as_atom(x):
    """A Var / Literal for an equation input (Python and numpy scalars become Literals)."""
    if isinstance(x, (Var, Literal)):
        return x
    aval = get_aval(x)
    if aval.shape != ():
        raise TypeError(f"Editor: an equation input must be a Var or a scalar, got an array of "
                        f"shape {aval.shape}. Fix: add it with Editor.add_const(value).")
    return Literal(x, aval)


class Editor:
    """A mutable working copy of a graph; ``build()`` returns the edited graph.

    Args:
      graph: the Graph or ClosedGraph to edit (it is not changed).

    Attributes:
      equations: the current list of Equations (read it; change it through
        the methods, which keep the equation objects you found valid).
      in_vars, out_vars: the graph's (non-constant) inputs and its outputs.
    """

    def __init__(self, graph: Graph | ClosedGraph):
        if isinstance(graph, ClosedGraph):
            self._closed = graph
            g = graph.graph
            n = len(graph.consts)
            self.const_vars, self.consts = list(g.in_vars[:n]), list(graph.consts)
            self.in_vars = list(g.in_vars[n:])
        else:
            self._closed = None
            g = graph
            self.const_vars, self.consts = [], []
            self.in_vars = list(g.in_vars)
        self.equations: list = list(g.equations)
        self.out_vars: list = list(g.out_vars)
        self._erased: dict = {}       # id(var) -> the erased equation that defined it

    # -- looking
    def find(self, primitive=None, **criteria) -> list:
        """``fx.edit.find`` on the current equations (see there)."""
        return find(Graph([], self.equations, []), primitive, **criteria)

    def users(self, var: Var) -> list:
        """The equations that read ``var``."""
        return [e for e in self.equations if any(x is var for x in e.inputs)]

    def _index(self, eqn: Equation) -> int:
        for i, e in enumerate(self.equations):
            if e is eqn:
                return i
        for i, e in enumerate(self.equations):  # an equal copy (same output Vars)
            if e.outputs and len(e.outputs) == len(eqn.outputs) and all(
                    a is b for a, b in zip(e.outputs, eqn.outputs)):
                return i
        raise ValueError(f"Editor: equation  {print_equation(eqn).strip()}  is not in this "
                         f"graph (was it erased, or found in a sub-graph or another graph?)")

    def _position(self, before, after) -> int:
        if before is not None and after is not None:
            raise ValueError("Editor: give before= or after=, not both")
        if before is not None:
            return self._index(before)
        if after is not None:
            return self._index(after) + 1
        return len(self.equations)

    # -- inserting
    def bind(self, primitive, *inputs, before: Equation | None = None,
             after: Equation | None = None, source_info: SourceInfo | None = None, **params):
        """Insert ``outputs = primitive[params](*inputs)``; return its output Var
        (a list of Vars for a ``multiple_results`` primitive).

        Args:
          primitive: the Primitive to bind (its ``abstract_eval`` gives the output types).
          *inputs: Vars of this graph, Literals, or Python / numpy scalars.
          before / after: an equation of this graph to insert next to (default:
            at the end; ``build()`` reorders equations whose inputs come later).
          source_info: the SourceInfo to record (default: that of ``before`` /
            ``after``, so errors and views point at the line being replaced).
          **params: the primitive's params.
        """
        ins = tuple(_as_atom(x) for x in inputs)
        try:
            out = primitive.rule("abstract_eval")(*[x.aval for x in ins], **params)
        except Exception as e:
            eqn = Equation(primitive, ins, params, ())
            note = (f"while inserting  {print_equation(eqn).strip()}  (inputs: "
                    f"{', '.join(x.aval.str_short() for x in ins)})")
            try:
                new = type(e)(f"{e}\n  {note}")
            except Exception:
                e.add_note(note)
                raise
            raise new from None
        avals = list(out) if primitive.multiple_results else [out]
        outs = tuple(Var(a) for a in avals)
        pos = self._position(before, after)
        if source_info is None:
            anchor = before if before is not None else after
            source_info = anchor.source_info if anchor is not None else None
        self.equations.insert(pos, Equation(primitive, ins, dict(params), outs, source_info))
        return list(outs) if primitive.multiple_results else outs[0]

    def splice(self, graph: Graph | ClosedGraph, inputs: Sequence[Any], *,
               before: Equation | None = None, after: Equation | None = None) -> list:
        """Insert the equations of ``graph`` computing on ``inputs``; return its outputs.

        Args:
          graph: a Graph or ClosedGraph (its consts become consts of this one;
            ``fx.make_graph(fn)(*example)`` gives one from a function).
          inputs: one value (Var, Literal or scalar) per non-constant input of ``graph``.
          before / after: where (default: at the end).

        Returns:
          The list of this graph's values for ``graph``'s outputs (fresh Vars,
          or ``inputs`` / Literals where ``graph`` returns them directly).
        """
        consts = []
        if isinstance(graph, ClosedGraph):
            consts = [self.add_const(c) for c in graph.consts]
            graph = graph.graph
        ins = [_as_atom(x) for x in inputs]
        n_in = len(graph.in_vars) - len(consts)
        if len(ins) != n_in:
            raise ValueError(f"Editor.splice: the graph takes {n_in} inputs, got {len(ins)}")
        for v, x in zip(graph.in_vars[len(consts):], ins):
            if (v.aval.shape, v.aval.dtype) != (x.aval.shape, x.aval.dtype):
                raise IRTypeError(f"Editor.splice: input {x.aval.str_short()} given for the "
                                  f"graph's input {v.aval.str_short()}")
        eqns, outs = copy_equations(graph, consts + ins)
        pos = self._position(before, after)
        self.equations[pos:pos] = eqns
        return outs

    def add_input(self, aval) -> Var:
        """A new (last) input of the graph of type ``aval`` (a ShapedArray)."""
        v = Var(aval)
        self.in_vars.append(v)
        return v

    def add_const(self, value) -> Var:
        """A new constant of the graph holding ``value`` (only for ClosedGraphs)."""
        if self._closed is None:
            raise ValueError("Editor.add_const: a Graph has no consts; edit a ClosedGraph (or "
                             "add the value as an input with add_input)")
        v = Var(get_aval(value).strip_weak())
        self.const_vars.append(v)
        self.consts.append(value)
        return v

    def set_outputs(self, outputs: Sequence[Any]) -> None:
        """Make ``outputs`` the graph's outputs (the pytree structure is dropped
        when their number changes)."""
        self.out_vars = [_as_atom(x) for x in outputs]

    # -- changing
    def replace_all_uses(self, old: Var, new) -> None:
        """Every present use of ``old`` (by equations and the graph's outputs) reads ``new``.

        The equations ``new`` is computed from keep reading ``old`` (so
        ``y = ed.bind(tanh_p, x); ed.replace_all_uses(x, y)`` inserts tanh
        after x, as torch.fx's ``replace_all_uses_with`` is used).

        Args:
          old: a Var of this graph.
          new: a Var of this graph, a Literal or a scalar, of the same shape and dtype.

        Raises:
          IRTypeError: when the types differ (naming both and old's users).
        """
        new = _as_atom(new)
        if (old.aval.shape, old.aval.dtype) != (new.aval.shape, new.aval.dtype):
            users = ", ".join(print_equation(e).strip() for e in self.users(old)[:3])
            raise IRTypeError(f"replace_all_uses: {old.aval.str_short()} replaced by "
                              f"{new.aval.str_short()}: the types differ (users: {users}). Fix: "
                              f"convert the new value (convert_element_type / reshape) first.")
        if new is old:
            return
        keep = self._ancestors(new)
        for i, e in enumerate(self.equations):
            if id(e) not in keep and any(x is old for x in e.inputs):
                self.equations[i] = e.replace(inputs=tuple(new if x is old else x
                                                           for x in e.inputs))
        self.out_vars = [new if v is old else v for v in self.out_vars]

    def _ancestors(self, x) -> set:
        """ids of the equations ``x`` is computed from."""
        producer = {id(v): e for e in self.equations for v in e.outputs}
        seen, stack = set(), [x]
        while stack:
            e = producer.get(id(stack.pop()))
            if e is not None and id(e) not in seen:
                seen.add(id(e))
                stack.extend(y for y in e.inputs if type(y) is Var)
        return seen

    def erase(self, eqn: Equation) -> None:
        """Remove ``eqn``; its outputs must have no remaining uses at ``build()``."""
        i = self._index(eqn)
        e = self.equations.pop(i)
        for v in e.outputs:
            self._erased[id(v)] = e

    def replace_equation(self, eqn: Equation, new: Equation) -> None:
        """Put ``new`` where ``eqn`` is (e.g. ``eqn.replace(params=...)``)."""
        self.equations[self._index(eqn)] = new

    # -- building
    def build(self, dce: bool = False):
        """The edited graph (a ClosedGraph when editing one), typechecked.

        Args:
          dce: also remove equations whose outputs are no longer used.

        Raises:
          IRTypeError: naming the equation and what is wrong with it.
        """
        outs = list(self.out_vars)
        ins = self.const_vars + self.in_vars
        eqns = list(self.equations)
        eqns = topo_sort(eqns, {id(v) for v in ins})
        graph = Graph(ins, eqns, outs)
        if dce:
            graph = _drop_unused(graph)
        self._check_erased(graph)
        try:
            typecheck(graph)
        except IRTypeError as e:
            raise IRTypeError(f"the edited graph is ill-formed: {e}") from None
        if self._closed is None:
            return graph
        c = self._closed
        same_sig = (len(self.in_vars) == len(c.in_vars) and len(outs) == len(c.graph.out_vars))
        return ClosedGraph(graph, self.consts, c.in_tree if same_sig else None,
                           c.out_tree if same_sig else None)

    def _check_erased(self, graph: Graph) -> None:
        if not self._erased:
            return
        for e in graph.equations:
            for x in e.inputs:
                if type(x) is Var and id(x) in self._erased:
                    raise IRTypeError(
                        f"the edited graph is ill-formed: equation  {print_equation(e).strip()}"
                        f"  (at {e.source_info}) reads a value whose equation was erased:  "
                        f"{print_equation(self._erased[id(x)]).strip()}. Fix: replace_all_uses "
                        f"of that output before erasing it.")
        for v in graph.out_vars:
            if type(v) is Var and id(v) in self._erased:
                raise IRTypeError(
                    f"the edited graph is ill-formed: a graph output was defined by the erased "
                    f"equation  {print_equation(self._erased[id(v)]).strip()}. Fix: "
                    f"replace_all_uses of that output (or set_outputs) before erasing it.")


def _drop_unused(graph: Graph) -> Graph:
    """``graph`` without the equations none of whose outputs is used (sub-graphs
    are left alone: ``fx.passes.dce`` cleans them)."""
    live = {id(v) for v in graph.out_vars if type(v) is Var}
    kept = []
    for e in reversed(graph.equations):
        if any(id(v) in live for v in e.outputs):
            kept.append(e)
            live.update(id(x) for x in e.inputs if type(x) is Var)
    return graph.replace(equations=kept[::-1])


def copy_equations(graph: Graph, inputs: Sequence[Any]) -> tuple[list, list]:
    """The equations of ``graph`` with its inputs replaced by ``inputs`` and every
    output Var fresh (so a graph spliced twice stays single-assignment).

    Returns:
      (equations, outputs): outputs are the values of ``graph.out_vars``.
    """
    local = {id(v): x for v, x in zip(graph.in_vars, inputs)}

    def read(x):
        return x if type(x) is Literal else local.get(id(x), x)

    eqns = []
    for e in graph.equations:
        fresh = tuple(Var(v.aval, v.hint) for v in e.outputs)
        local.update((id(v), f) for v, f in zip(e.outputs, fresh))
        eqns.append(e.replace(inputs=tuple(read(x) for x in e.inputs), outputs=fresh))
    return eqns, [read(v) for v in graph.out_vars]


# --- one-shot edits ----------------------------------------------------------------------
def replace_all_uses(graph: Graph | ClosedGraph, old: Var, new) -> Graph | ClosedGraph:
    """``graph`` with every use of ``old`` reading ``new`` (see ``Editor.replace_all_uses``)."""
    ed = Editor(graph)
    ed.replace_all_uses(old, new)
    return ed.build()


def erase(graph: Graph | ClosedGraph, eqn: Equation) -> Graph | ClosedGraph:
    """``graph`` without ``eqn``, whose outputs must be unused."""
    ed = Editor(graph)
    ed.erase(eqn)
    return ed.build()


def splice(graph: Graph | ClosedGraph, sub: Graph | ClosedGraph, inputs: Sequence[Any], *,
           before: Equation | None = None, after: Equation | None = None):
    """``graph`` with ``sub``'s equations inserted on ``inputs``.

    Returns:
      (new graph, the values of ``sub``'s outputs in it); use
      ``Editor`` to go on editing with them (``set_outputs``, ``replace_all_uses``).
    """
    ed = Editor(graph)
    outs = ed.splice(sub, inputs, before=before, after=after)
    return ed.build(), outs


def extract(graph: Graph | ClosedGraph, outputs: Sequence[Var],
            inputs: Sequence[Var] | None = None) -> ClosedGraph:
    """The sub-graph of ``graph`` computing ``outputs``.

    Args:
      graph: a Graph or ClosedGraph.
      outputs: Vars of ``graph`` (top level).
      inputs: Vars of ``graph`` that become the new graph's inputs, cutting
        the computation there (default: the graph's own inputs).

    Returns:
      A ClosedGraph ``inputs -> outputs`` holding the consts it reads and
      only the equations the outputs need.

    Raises:
      IRTypeError: when an output needs a value that is neither computed from
        ``inputs`` nor a constant (naming the equation that reads it).
    """
    closed = graph if isinstance(graph, ClosedGraph) else ClosedGraph(graph, ())
    g = closed.graph
    n = len(closed.consts)
    const_of = {id(v): c for v, c in zip(g.in_vars[:n], closed.consts)}
    ins = list(g.in_vars[n:]) if inputs is None else list(inputs)
    cut = {id(v) for v in ins}
    needed = {id(v) for v in outputs if type(v) is Var}
    kept = []
    for e in reversed(g.equations):
        if any(id(v) in needed for v in e.outputs) and not all(id(v) in cut for v in e.outputs):
            kept.append(e)
            needed.update(id(x) for x in e.inputs if type(x) is Var)
    kept.reverse()
    cvars = [v for v in g.in_vars[:n] if id(v) in needed and id(v) not in cut]
    new = Graph(cvars + ins, kept, list(outputs))
    try:
        typecheck(new)
    except IRTypeError as e:
        raise IRTypeError(f"extract: the outputs need a value that is not among the inputs: {e}. "
                          f"Fix: add that value to inputs=.") from None
    return ClosedGraph(new, [const_of[id(v)] for v in cvars])
