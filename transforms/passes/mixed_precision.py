"""Mixed precision: every matmul and convolution in bfloat16 with float32 accumulation.

The pass rewrites each ``dot_general`` / ``conv_general_dilated`` whose
operands are float32 (or wider) into casts of both operands to
``compute_dtype`` and the same op with ``preferred_element_type`` set to the
original result dtype, so the result (and everything downstream: adds,
softmax, losses, the optimizer) stays float32, as the mixed-precision recipe
of Micikevicius et al. does. Everything else is unchanged; sub-graphs (scan
bodies, remat, cond branches, custom_jvp calls) are rewritten too, and the
result is an ordinary graph that grad / vmap / jit take.

Example::

    >>> g = mixed_precision(fx.make_graph(loss)(params, x, y))
    >>> print(g)     # ... dot_general[..., preferred_element_type=float32] c d ; c,d: bf16
    >>> step = jit(train_step, passes=[mixed_precision])

References:
    Micikevicius et al., "Mixed Precision Training" (ICLR 2018); JAX's
    ``preferred_element_type``; jmp (DeepMind's mixed precision library).
"""
from __future__ import annotations

from typing import Sequence

import ml_dtypes
import numpy as np

import fx
from fx import dtypes as fdtypes
from fx.ir import ClosedGraph, Graph, map_subgraphs, subgraphs
from primitives.conv import conv_general_dilated_p
from primitives.elementwise import convert_element_type
from primitives.linalg import dot_general_p

__all__ = ["mixed_precision", "MixedPrecision"]


class MixedPrecision(fx.Transformer):
    """The Transformer behind :func:`mixed_precision`.

    Args:
      graph: the graph.
      compute_dtype: the operand dtype of the rewritten ops.
      primitives: the primitives to rewrite.
    """

    def __init__(self, graph, compute_dtype=ml_dtypes.bfloat16,
                 primitives: Sequence = (dot_general_p, conv_general_dilated_p)):
        super().__init__(graph)
        self.compute_dtype = np.dtype(compute_dtype)
        self.primitives = tuple(primitives)

    def run_equation(self, eqn, invals):
        if eqn.primitive in self.primitives and self._applies(eqn):
            out_dtype = eqn.outputs[0].aval.dtype
            cast = [convert_element_type(x, self.compute_dtype) for x in invals]
            params = {**eqn.params, "preferred_element_type": out_dtype}
            return [eqn.primitive.bind(*cast, **params)]
        if subgraphs(eqn):
            eqn = map_subgraphs(eqn, self._sub)
        return super().run_equation(eqn, invals)

    def _applies(self, eqn) -> bool:
        c = self.compute_dtype
        return all(fdtypes.is_float(x.aval.dtype) and np.dtype(x.aval.dtype).itemsize > c.itemsize
                   for x in eqn.inputs)

    def _sub(self, sub):
        new = type(self)(sub, self.compute_dtype, self.primitives).transform()
        if isinstance(sub, ClosedGraph):
            return ClosedGraph(new.graph, new.consts, sub.in_tree, sub.out_tree)
        if new.consts:  # (casts create no arrays; keep the sub-graph if something did)
            return sub
        return Graph(new.graph.in_vars, new.graph.equations, new.graph.out_vars)


def mixed_precision(graph: Graph | ClosedGraph, compute_dtype=ml_dtypes.bfloat16,
                    primitives: Sequence | None = None) -> ClosedGraph:
    """Run every float32 matmul / convolution of ``graph`` in ``compute_dtype``
    with float32 accumulation (``preferred_element_type``); the rest unchanged.

    Args:
      graph: a traced graph (``fx.make_graph(f)(*args)``).
      compute_dtype: bfloat16 (default) or float16.
      primitives: which primitives to rewrite (default dot_general and
        conv_general_dilated).

    Returns:
      A ClosedGraph with the same inputs and outputs (types included).
    """
    kw = {} if primitives is None else {"primitives": tuple(primitives)}
    return MixedPrecision(graph, compute_dtype, **kw).transform()
