"""The IR: abstract values, variables, equations, graphs, a printer and a typechecker.

A traced function becomes a :class:`ClosedGraph`::

    { lambda a:f32[3]; b:f32[3]. let
        c:f32[3] = mul b a
        d:f32[] = reduce_sum[axes=(0,)] c
      in (d,) }

Variables before ``;`` are constants (``ClosedGraph.consts`` hold their values),
the others are the inputs. Every value in the IR is immutable: passes build new
graphs instead of editing old ones.

References:
    JAX's jaxpr (jax/_src/core.py) and autodidax; torch.fx's Graph.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

__all__ = ["ShapedArray", "Var", "Literal", "Equation", "Graph", "ClosedGraph",
           "SourceInfo", "typecheck", "IRTypeError", "short_dtype"]

_SHORT = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16",
          "int32": "i32", "int64": "i64", "int16": "i16", "int8": "i8",
          "uint32": "u32", "uint64": "u64", "uint8": "u8", "uint16": "u16",
          "bool": "bool", "complex64": "c64", "complex128": "c128",
          "key<fry>": "key<fry>"}


def short_dtype(dtype) -> str:
    name = np.dtype(dtype).name
    return _SHORT.get(name, name)


class ShapedArray:
    """The abstract value of an array: shape, dtype and JAX's weak-type flag.

    Args:
      shape: tuple of ints.
      dtype: a numpy dtype (bfloat16 from ml_dtypes included).
      weak_type: True for values born from Python scalars (they do not
        promote the other operand's dtype, as in jax.numpy).
    """
    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type=False):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type)

    ndim = property(lambda self: len(self.shape))

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def update(self, shape=None, dtype=None, weak_type=None):
        return ShapedArray(self.shape if shape is None else shape,
                           self.dtype if dtype is None else dtype,
                           self.weak_type if weak_type is None else weak_type)

    def strip_weak(self):
        return ShapedArray(self.shape, self.dtype, False) if self.weak_type else self

    def __eq__(self, other):
        return (isinstance(other, ShapedArray) and self.shape == other.shape
                and self.dtype == other.dtype and self.weak_type == other.weak_type)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))

    def str_short(self):
        return f"{short_dtype(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __repr__(self):
        weak = "{weak}" if self.weak_type else ""
        return f"ShapedArray({self.str_short()}{weak})"

    def to_struct(self):
        import jax
        return jax.ShapeDtypeStruct(self.shape, self.dtype, weak_type=self.weak_type)


class SourceInfo(NamedTuple):
    """Where the user wrote the op: file, line and function."""
    file: str
    line: int
    function: str

    def __str__(self):
        return f"{self.file}:{self.line} ({self.function})"


class Var:
    """A variable of the IR, defined once. Identity is object identity."""
    __slots__ = ("aval", "hint")

    def __init__(self, aval: ShapedArray, hint: str | None = None):
        self.aval = aval
        self.hint = hint

    def __repr__(self):
        return f"Var({self.aval.str_short()})"


class Literal:
    """A scalar constant written inline in the IR (like jaxpr literals)."""
    __slots__ = ("val", "aval")

    def __init__(self, val, aval: ShapedArray):
        self.val = val
        self.aval = aval

    def __repr__(self):
        return f"Literal({self.val!r})"


class Equation(NamedTuple):
    """``outputs = primitive[params](*inputs)``, written at ``source_info``."""
    primitive: Any
    inputs: tuple
    params: dict
    outputs: tuple
    source_info: SourceInfo | None = None

    def replace(self, **kw):
        return self._replace(**kw)


class Graph:
    """A graph of equations: ``Graph(in_vars, equations, out_vars)``.

    Args:
      in_vars: the input Vars (constants first when part of a ClosedGraph
        whose consts were converted to inputs).
      equations: the Equations in a valid topological order.
      out_vars: Vars or Literals returned.
    """
    __slots__ = ("in_vars", "equations", "out_vars")

    def __init__(self, in_vars: Sequence[Var], equations: Sequence[Equation],
                 out_vars: Sequence[Any]):
        self.in_vars = tuple(in_vars)
        self.equations = tuple(equations)
        self.out_vars = tuple(out_vars)

    in_avals = property(lambda self: [v.aval for v in self.in_vars])
    out_avals = property(lambda self: [v.aval for v in self.out_vars])

    def replace(self, in_vars=None, equations=None, out_vars=None):
        return Graph(self.in_vars if in_vars is None else in_vars,
                     self.equations if equations is None else equations,
                     self.out_vars if out_vars is None else out_vars)

    def __str__(self):
        from fx.printer import print_graph
        return print_graph(self)

    __repr__ = __str__


class ClosedGraph:
    """A Graph whose first ``len(consts)`` inputs are bound to ``consts``.

    ``in_tree``/``out_tree`` (jax.tree_util treedefs) are set by
    ``fx.make_graph`` so that ``fx.graph_to_fn`` can take and return the
    user's pytrees; they are None for graphs built by hand.
    """
    __slots__ = ("graph", "consts", "in_tree", "out_tree")

    def __init__(self, graph: Graph, consts: Sequence[Any] = (), in_tree=None, out_tree=None):
        self.graph = graph
        self.consts = list(consts)
        self.in_tree = in_tree
        self.out_tree = out_tree

    @property
    def const_vars(self):
        return self.graph.in_vars[:len(self.consts)]

    @property
    def in_vars(self):
        return self.graph.in_vars[len(self.consts):]

    @property
    def in_avals(self):
        return [v.aval for v in self.in_vars]

    @property
    def out_avals(self):
        return self.graph.out_avals

    @property
    def equations(self):
        return self.graph.equations

    def replace(self, graph=None, consts=None):
        return ClosedGraph(self.graph if graph is None else graph,
                           self.consts if consts is None else consts,
                           self.in_tree, self.out_tree)

    def __str__(self):
        from fx.printer import print_graph
        return print_graph(self.graph, n_consts=len(self.consts))

    __repr__ = __str__


class IRTypeError(TypeError):
    """The IR is ill-formed: a Var used before its definition, or an
    equation whose output types disagree with its primitive's abstract eval."""


def typecheck(graph: Graph | ClosedGraph) -> None:
    """Check that ``graph`` is well formed.

    Every input of an equation is defined earlier (or is a Literal), no Var is
    defined twice, and each equation's output avals equal what its primitive's
    ``abstract_eval`` returns for its input avals and params. Sub-graphs held in
    params are checked too.

    Raises:
      IRTypeError: naming the offending equation and its source line.
    """
    from fx.printer import print_equation
    if isinstance(graph, ClosedGraph):
        graph = graph.graph
    defined = set()
    for v in graph.in_vars:
        if id(v) in defined:
            raise IRTypeError(f"input variable {v} is listed twice")
        defined.add(id(v))
    for eqn in graph.equations:
        for x in eqn.inputs:
            if isinstance(x, Var) and id(x) not in defined:
                raise IRTypeError(f"variable {x} used before it is defined in\n  "
                                  f"{print_equation(eqn)}  (at {eqn.source_info})")
        for p in eqn.params.values():
            for sub in (p if isinstance(p, tuple) else (p,)):
                if isinstance(sub, (Graph, ClosedGraph)):
                    typecheck(sub)
        if eqn.primitive.abstract_eval is not None:
            avals = [x.aval for x in eqn.inputs]
            out = eqn.primitive.abstract_eval(*avals, **eqn.params)
            out = list(out) if eqn.primitive.multiple_results else [out]
            got = [v.aval for v in eqn.outputs]
            if [(a.shape, a.dtype) for a in out] != [(a.shape, a.dtype) for a in got]:
                raise IRTypeError(
                    f"equation outputs {[a.str_short() for a in got]} disagree with "
                    f"{eqn.primitive.name}'s abstract eval {[a.str_short() for a in out]}:\n  "
                    f"{print_equation(eqn)}  (at {eqn.source_info})")
        for v in eqn.outputs:
            if id(v) in defined:
                raise IRTypeError(f"variable {v} defined twice, in\n  {print_equation(eqn)}")
            defined.add(id(v))
    for v in graph.out_vars:
        if isinstance(v, Var) and id(v) not in defined:
            raise IRTypeError(f"output variable {v} is never defined")
