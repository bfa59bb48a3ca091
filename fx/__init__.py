"""fx: the core and the interpreters of fxjax (imports none of the other packages,
but for the one documented hook: ``fx.core.structural``).

Layers, bottom up: ``ir`` (the IR), ``core`` (primitives, traces, bind),
``tracing`` (graphs from functions), ``interpreter`` (the Interpreter every
evaluation runs on, and the Transformer that builds new graphs), ``edit`` (the
editing API), ``view`` (HTML / Graphviz views), ``passes`` (dce, cse, inline,
rewrite, fold_constants, ...), ``batching`` and ``ad`` (the vmap and
autodiff interpreters and their rule vocabularies); ``dtypes`` decides every
"is this a float?" question.
"""
# fx.passes first: its modules import fx.tracing / fx.interpreter, which import fx.passes.dce
from fx import passes  # noqa: E402,I001
from fx.ir import (ShapedArray, Var, Literal, Equation, Graph, ClosedGraph, SourceInfo,
                   typecheck, IRTypeError, subgraphs, map_subgraphs)
from fx.core import Primitive, Tracer, get_aval, is_eager, current_trace
from fx.tracing import make_graph, trace_to_graph
from fx.interpreter import (Interpreter, LoweringInterpreter, Transformer, eval_graph, lower_graph,
                            graph_to_fn, bind_equation)
from fx.edit import Editor, find, extract, splice, replace_all_uses, erase
from fx.view import to_html, to_dot, dot_source
from fx.errors import (FxError, ShapeError, FxTypeError, ConcretizationError,
                       UnexpectedTracerError, UnsupportedInputError, ForeignFunctionError,
                       UnboundAxisError, JaxConversionError)
from fx.from_jax import from_jax, jax_function
from fx import dtypes, edit, view

__all__ = ["ShapedArray", "Var", "Literal", "Equation", "Graph", "ClosedGraph", "SourceInfo",
           "typecheck", "IRTypeError", "subgraphs", "map_subgraphs", "Primitive", "Tracer",
           "get_aval", "is_eager", "current_trace", "make_graph", "trace_to_graph", "Interpreter",
           "LoweringInterpreter", "Transformer", "Editor", "find", "extract", "splice",
           "replace_all_uses", "erase", "edit", "view", "to_html", "to_dot", "dot_source",
           "eval_graph", "lower_graph", "graph_to_fn", "bind_equation", "dtypes", "passes",
           "FxError", "ShapeError", "FxTypeError", "ConcretizationError",
           "UnexpectedTracerError", "UnsupportedInputError", "ForeignFunctionError",
           "UnboundAxisError", "JaxConversionError", "from_jax", "jax_function"]
