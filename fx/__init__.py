"""fx: the IR and tracing core of fxjax (imports none of the other packages)."""
from fx.ir import (ShapedArray, Var, Literal, Equation, Graph, ClosedGraph, SourceInfo,
                   typecheck, IRTypeError)
from fx.core import Primitive, Tracer, get_aval, is_eager
from fx.tracing import make_graph
from fx.interpreter import eval_graph, lower_graph, graph_to_fn
from fx.errors import (FxError, ShapeError, FxTypeError, ConcretizationError,
                       UnexpectedTracerError, UnsupportedInputError, ForeignFunctionError,
                       UnboundAxisError)
from fx import passes

__all__ = ["ShapedArray", "Var", "Literal", "Equation", "Graph", "ClosedGraph", "SourceInfo",
           "typecheck", "IRTypeError", "Primitive", "Tracer", "get_aval", "is_eager",
           "make_graph", "eval_graph", "lower_graph", "graph_to_fn", "passes", "FxError",
           "ShapeError", "FxTypeError", "ConcretizationError", "UnexpectedTracerError",
           "UnsupportedInputError", "ForeignFunctionError", "UnboundAxisError"]
