"""Graph passes: each takes a Graph (or ClosedGraph) and returns a new one."""
from fx.passes.dce import dce
from fx.passes.cse import cse
from fx.passes.inline import inline
from fx.passes.partial_eval import partial_eval_graph, PartialEval
from fx.passes.rewrite import rewrite, Match
from fx.passes.fold_constants import fold_constants

__all__ = ["dce", "cse", "inline", "partial_eval_graph", "PartialEval", "rewrite", "Match",
           "fold_constants"]
