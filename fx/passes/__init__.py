"""Graph passes: each takes a Graph (or ClosedGraph) and returns a new one."""
from fx.passes.dce import dce
from fx.passes.cse import cse

__all__ = ["dce", "cse"]
