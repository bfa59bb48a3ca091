"""The Interpreter: the one loop that walks a graph's equations.

Everything that evaluates a graph runs on :class:`Interpreter` (torch.fx's
pattern): ``eval_graph`` binds each equation's primitive again, so evaluating
a graph under a transformation transforms it (``graph_to_fn`` relies on
this); ``lower_graph`` calls each primitive's ``lowering`` on jax values, so
run inside ``jax.jit`` it builds one XLA program from the whole graph. Passes
that re-trace a graph with some equations handled differently (remat's
replay, scan unrolling, the DP taps) subclass it and override
``run_equation``; :class:`Transformer` does that to build a new graph.

When an equation fails (a lowering jax rejects, a rule that raises), the
error names the equation as the IR prints it and the user's line that
created it::

    TypeError: add got incompatible shapes for broadcasting: (3,), (7,).
      while lowering equation  b:f32[3] = my_op[k=2] a  (inputs: f32[3])
      written at /home/me/model.py:12 (loss)

Rule failures while a transformation traces the user's code (a jvp rule
under ``grad``, a batch rule under ``vmap``) are reported the same way, with
the op written as an equation (``rule_error``).

Example::

    >>> class CountFlops(fx.Interpreter):
    ...     def run_equation(self, eqn, invals):
    ...         self.count = getattr(self, "count", 0) + 1
    ...         return super().run_equation(eqn, invals)
    >>> CountFlops(graph).run(x)

References:
    torch.fx's ``Interpreter``; JAX's ``eval_jaxpr``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from jax import tree_util

from fx.ir import ClosedGraph, Equation, Graph, Literal, Var, print_equation
from fx.core import deep_recursion, gc_paused
from fx.passes.dce import dce
from fx.source_info import current_source, user_frame_info
from fx.tracing import trace_to_graph

__all__ = ["Interpreter", "LoweringInterpreter", "Transformer", "eval_graph", "lower_graph",
           "graph_to_fn", "bind_equation", "equation_error", "rule_error"]


def bind_equation(eqn: Equation, invals) -> list:
    """Bind ``eqn``'s primitive on ``invals`` (under the current transforms);
    always a list of outputs."""
    out = eqn.primitive.bind(*invals, **eqn.params)
    return out if eqn.primitive.multiple_results else (out,)


def equation_error(err: Exception, eqn: Equation, doing: str = "evaluating") -> Exception:
    """``err`` with the failing equation and its source line added, once (the
    innermost equation is the one reported). Keeps the error's class: a new
    error of that class when it can be built from a message, else ``err``
    with the lines added as a note."""
    if getattr(err, "_fx_equation", False) or isinstance(err, RecursionError):
        return err  # (printing a deeply nested equation would recurse again)
    where = f"\n  written at {eqn.source_info}" if eqn.source_info is not None else ""
    typed = "  (inputs: " + ", ".join(x.aval.str_short() for x in eqn.inputs) + ")"
    extra = f"\n  while {doing} equation  {print_equation(eqn).strip()}{typed}{where}"
    try:
        new = type(err)(f"{err}{extra}")
    except Exception:
        new = None
    if new is None or str(new) != f"{err}{extra}":
        err.add_note(extra.lstrip("\n"))
        new = err
    else:
        new.__dict__.update({k: v for k, v in getattr(err, "__dict__", {}).items()})
        new.__cause__ = err.__cause__
    new._fx_equation = True
    return new


def rule_error(err: Exception, primitive, in_avals, params: dict, doing: str) -> Exception:
    """``err`` raised by a rule of ``primitive`` (a jvp or batch rule, called while
    a transformation traces the user's code) with the op written as an IR
    equation and the user's line (see ``equation_error``)."""
    eqn = Equation(primitive, tuple(Var(a) for a in in_avals), params, (),
                   user_frame_info(3))
    return equation_error(err, eqn, doing)


class Interpreter:
    """Evaluates a graph equation by equation, in an environment from Vars to values.

    Args:
      graph: a Graph (``run`` takes all its inputs) or a ClosedGraph (``run``
        takes the non-constant inputs; the consts are supplied).

    Override ``run_equation(eqn, invals) -> list of outputs`` to change how
    some (or all) equations are handled; ``env`` holds the values computed so
    far (keyed by ``id(var)``), ``read``/``write`` access it.
    """
    doing = "evaluating"

    def __init__(self, graph: Graph | ClosedGraph):
        if isinstance(graph, ClosedGraph):
            self.graph, self.consts = graph.graph, list(graph.consts)
        else:
            self.graph, self.consts = graph, []
        self.env: dict = {}

    def read(self, x) -> Any:
        return x.val if type(x) is Literal else self.env[id(x)]

    def write(self, var, value) -> None:
        self.env[id(var)] = value

    def run_equation(self, eqn: Equation, invals: list) -> Sequence[Any]:
        """The outputs of ``eqn`` on ``invals`` (default: bind its primitive)."""
        return bind_equation(eqn, invals)

    def run(self, *args, initial_env: dict | None = None) -> list:
        """Evaluate the graph on ``args``.

        Args:
          *args: the (non-constant) inputs.
          initial_env: values already known, ``{id(var): value}`` (e.g. inputs
            of an enclosing graph a pass has bound).

        Returns:
          The list of outputs (a Literal output becomes an array of its dtype).
        """
        env = self.env
        if initial_env:
            env.update(initial_env)
        for v, x in zip(self.graph.in_vars, self.consts + list(args)):
            env[id(v)] = x
        read = self.read
        current = current_source
        outer = current.info
        # nested graphs (a cond in a cond ...) recurse through here
        with deep_recursion(), gc_paused():
            try:
                for eqn in self.graph.equations:
                    # ops bound for this equation report the line it was written at
                    current.info = eqn.source_info or outer
                    try:
                        outs = self.run_equation(eqn, [read(x) for x in eqn.inputs])
                    except Exception as e:
                        raise equation_error(e, eqn, self.doing) from e.__cause__
                    for v, o in zip(eqn.outputs, outs):
                        env[id(v)] = o
            finally:
                current.info = outer
        return [np.asarray(v.val, v.aval.dtype) if type(v) is Literal else env[id(v)]
                for v in self.graph.out_vars]


class LoweringInterpreter(Interpreter):
    """Calls each primitive's jax lowering (use inside ``jax.jit``)."""
    doing = "lowering"

    def run_equation(self, eqn, invals):
        out = eqn.primitive.rule("lowering")(*invals, **eqn.params)
        return out if eqn.primitive.multiple_results else (out,)


class Transformer(Interpreter):
    """An Interpreter whose ``transform()`` returns a new graph (torch.fx's Transformer).

    ``transform()`` runs the interpreter on staged values: every equation that
    ``run_equation`` handles by default is copied into the new graph; override
    ``run_equation(eqn, invals)`` to bind something else for some equations
    (``invals`` are staged values: call primitives / fnp functions on them).
    The new equations keep the source line of the equation they replace.

    Example (every ``sin`` becomes a ``cos``)::

        >>> class SinToCos(fx.Transformer):
        ...     def run_equation(self, eqn, invals):
        ...         if eqn.primitive.name == "sin":
        ...             return [primitives.cos(invals[0])]
        ...         return super().run_equation(eqn, invals)
        >>> new_graph = SinToCos(graph).transform()

    References:
        torch.fx's ``Transformer``; JAX's "write a custom interpreter" recipe.
    """
    doing = "transforming"

    def __init__(self, graph: Graph | ClosedGraph):
        super().__init__(graph)
        self._source = graph

    def transform(self) -> ClosedGraph:
        """The new graph: a ClosedGraph with the same non-constant inputs and
        outputs (and the pytree structures of the original when it had them);
        values the overrides create become its consts; dead equations are removed."""
        n_consts = len(self.consts)
        in_avals = [v.aval for v in self.graph.in_vars[n_consts:]]

        def flat(*args):
            self.env = {}
            return Interpreter.run(self, *args)

        graph, consts = trace_to_graph(flat, in_avals)
        closed = ClosedGraph(graph, consts)
        if isinstance(self._source, ClosedGraph):
            closed.in_tree, closed.out_tree = self._source.in_tree, self._source.out_tree
        return dce(closed)


def eval_graph(graph: Graph | ClosedGraph, *args) -> list:
    """Evaluate a graph by binding its primitives (transformable).

    Args:
      graph: a Graph (args are all its inputs) or a ClosedGraph (args are the
        non-constant inputs; the consts are supplied).
      *args: flat input values.

    Returns:
      The flat list of outputs.
    """
    return Interpreter(graph).run(*args)


def lower_graph(graph: Graph | ClosedGraph, *args) -> list:
    """Evaluate a graph with each primitive's jax lowering (use inside jax.jit)."""
    return LoweringInterpreter(graph).run(*args)


def graph_to_fn(closed: ClosedGraph | Graph) -> Callable:
    """Turn a (possibly edited) graph back into an ordinary function.

    When the graph came from ``fx.make_graph`` the function takes and returns
    the original pytrees; otherwise it takes flat arrays and returns a list
    (or the single output). The function can be traced again and transformed.
    """
    if isinstance(closed, Graph):
        closed = ClosedGraph(closed, ())
    in_tree, out_tree = closed.in_tree, closed.out_tree

    def fn(*args, **kwargs):
        if in_tree is not None:
            flat, tree = tree_util.tree_flatten((args, kwargs))
            if tree != in_tree:
                raise TypeError(f"graph_to_fn: the graph was traced for inputs {in_tree}, "
                                f"got {tree}")
        else:
            flat = args
        outs = eval_graph(closed, *flat)
        if out_tree is not None:
            return tree_util.tree_unflatten(out_tree, outs)
        return outs[0] if len(outs) == 1 else outs

    return fn
