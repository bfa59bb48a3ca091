"""The IR: abstract values, variables, equations, graphs, sub-graph helpers,
structural keys, a typechecker and the printer.

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
           "SourceInfo", "typecheck", "IRTypeError", "short_dtype", "subgraphs", "map_subgraphs",
           "literal_key", "graph_key", "print_graph", "print_equation", "as_param"]

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
      vma: inside a ``shard_map`` body with ``check_vma``, the mesh axes the
        value varies over (jax's varying manual axes); empty elsewhere. A
        tracing-time annotation: it is not part of equality or hashing.
    """
    __slots__ = ("shape", "dtype", "weak_type", "vma")

    def __init__(self, shape, dtype, weak_type=False, vma=frozenset()):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type)
        self.vma = vma

    ndim = property(lambda self: len(self.shape))

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def update(self, shape=None, dtype=None, weak_type=None, vma=None):
        return ShapedArray(self.shape if shape is None else shape,
                           self.dtype if dtype is None else dtype,
                           self.weak_type if weak_type is None else weak_type,
                           self.vma if vma is None else frozenset(vma))

    def strip_weak(self):
        return ShapedArray(self.shape, self.dtype, False, self.vma) if self.weak_type else self

    def __eq__(self, other):
        return (isinstance(other, ShapedArray) and self.shape == other.shape
                and self.dtype == other.dtype and self.weak_type == other.weak_type)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))

    def str_short(self):
        return f"{short_dtype(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __repr__(self):
        weak = "{weak}" if self.weak_type else ""
        return f"ShapedArray({self.str_short()}{weak}{self.vma_str()})"

    def vma_str(self) -> str:
        """``{V:x,y}`` for a value varying over mesh axes x and y (jax's notation), else ''."""
        return "{V:" + ",".join(map(str, sorted(self.vma, key=str))) + "}" if self.vma else ""

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
        return print_graph(self.graph, n_consts=len(self.consts))

    __repr__ = __str__


def as_param(closed: ClosedGraph) -> ClosedGraph:
    """``closed`` with its consts as leading inputs (the caller binds them
    explicitly as operands), fit to be an equation param (remat's ``call``,
    custom rules' bodies)."""
    return ClosedGraph(closed.graph, (), None, None)


# --- sub-graphs held in params ---------------------------------------------------
def _is_graph(x) -> bool:
    return isinstance(x, (Graph, ClosedGraph))


def subgraphs(eqn: Equation | dict) -> list:
    """The Graphs / ClosedGraphs an equation (or a params dict) holds in its
    params (cond's branches, a loop's body, remat's call, ...), in param order;
    tuples and lists of graphs are looked into."""
    params = eqn if isinstance(eqn, dict) else eqn.params
    out = []
    for p in params.values():
        if _is_graph(p):
            out.append(p)
        elif isinstance(p, (tuple, list)):
            out.extend(g for g in p if _is_graph(g))
    return out


def map_subgraphs(eqn: Equation, fn) -> Equation:
    """``eqn`` with every sub-graph ``g`` in its params replaced by ``fn(g)``
    (the same equation when it holds none)."""
    new = {}
    for k, p in eqn.params.items():
        if _is_graph(p):
            new[k] = fn(p)
        elif isinstance(p, (tuple, list)) and p and any(_is_graph(g) for g in p):
            new[k] = type(p)(fn(g) if _is_graph(g) else g for g in p)
    return eqn.replace(params={**eqn.params, **new}) if new else eqn


# --- structural keys ----------------------------------------------------------------
def literal_key(x: Literal) -> tuple:
    """A hashable key of a Literal's value and type (equal literals, equal keys)."""
    v = x.val
    if isinstance(v, np.ndarray):
        return ("lit", v.dtype.str, v.tobytes(), x.aval.weak_type)
    return ("lit", type(v).__name__, v, x.aval.dtype.str, x.aval.weak_type)


def graph_key(graph: Graph) -> tuple:
    """A hashable key of a graph's structure: input avals, primitives, params and
    wiring (variable identity does not matter). Two graphs with equal keys
    compute the same function; ``hash(graph_key(g))`` is its structural hash."""
    ids = {id(v): i for i, v in enumerate(graph.in_vars)}

    def ref(x):
        return ids.get(id(x), ("free", id(x))) if type(x) is Var else literal_key(x)

    eqns = []
    for e in graph.equations:
        eqns.append((e.primitive, tuple(ref(x) for x in e.inputs), tuple(e.params.items()),
                     tuple(v.aval for v in e.outputs)))
        for v in e.outputs:
            ids[id(v)] = len(ids)
    return (tuple(v.aval for v in graph.in_vars), tuple(eqns),
            tuple(ref(v) for v in graph.out_vars))


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
        for sub in subgraphs(eqn):
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


# --- the printer: a stable, jaxpr-like text form ----------------------------------------
# Variables are named a, b, ..., z, ba, bb, ... in order of definition, so the
# text depends only on the graph's structure (golden tests compare it).
# Sub-graphs held in params are printed indented, each with its own names.
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
        # inside a check_vma shard_map body: the mesh axes it varies over
        return f"{name}:{v.aval.str_short()}{v.aval.vma_str()}"

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
