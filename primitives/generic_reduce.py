"""reduce: a reduction with any (monoid) computation (as jax.lax.reduce).

``reduce(operands, init_values, computation, dimensions)`` dispatches to
``reduce_sum`` / ``reduce_prod`` / ``reduce_max`` / ``reduce_min`` /
``reduce_and`` / ``reduce_or`` / ``reduce_xor`` when ``computation`` is the
matching op (ours or jax.lax's) and the single init value is its concrete
identity, as JAX does; otherwise it binds ``reduce[computation=<sub-graph>,
dimensions]`` whose lowering is ``jax.lax.reduce`` of the lowered sub-graph.

Example::

    >>> P.reduce(x, 0.0, P.add, (0,))                      # reduce_sum
    >>> P.reduce((x, i), (-np.inf, 0), argmax_pair, (0,))  # a variadic reduce

References:
    jax/_src/lax/lax.py (reduce, _get_monoid_reducer, reduce_p and its batch rule).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from jax import lax, tree_util

from fx.batching import bdim_at_front, def_body_batch
from fx.core import Primitive, Tracer, get_aval
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives.control_flow._common import SubGraph, lower_sub, trace_flat
from primitives.elementwise import (add, bitwise_and, bitwise_or, bitwise_xor, convert_element_type,
                                    max, min, mul)
from primitives.reductions import (reduce_and, reduce_max, reduce_min, reduce_or, reduce_prod,
                                   reduce_sum, reduce_xor)

__all__ = ["reduce", "reduce_p"]


# --- reduce ---
reduce_p = Primitive("reduce", multiple_results=True)


@reduce_p.def_abstract_eval
def _reduce_aval(*avals, computation, dimensions):
    n = len(avals) // 2
    operands, inits = avals[:n], avals[n:]
    shape = operands[0].shape
    if any(o.shape != shape for o in operands):
        raise ShapeError(f"reduce: all operands must have one shape, got "
                         f"{[o.str_short() for o in operands]}.")
    if any(not 0 <= d < len(shape) for d in dimensions) or len(set(dimensions)) != len(dimensions):
        raise ShapeError(f"reduce: dimensions={dimensions} are invalid for operands of shape "
                         f"{shape}.")
    if any(i.shape != () for i in inits):
        raise ShapeError("reduce: init_values must be scalars.")
    out_shape = tuple(s for k, s in enumerate(shape) if k not in dimensions)
    return [ShapedArray(out_shape, a.dtype) for a in computation.out_avals]


@reduce_p.def_lowering
def _reduce_lowering(*args, computation, dimensions):
    n = len(args) // 2
    out = lax.reduce(tuple(args[:n]), tuple(args[n:]),
                     lambda xs, ys: tuple(lower_sub(computation.graph, (*xs, *ys))), dimensions)
    return list(out)


def _reduce_jvp(primals, tangents, **params):
    raise NotImplementedError("reduce with a general computation is not differentiable here "
                              "(JAX differentiates it by a tree of jvp'd computations). Fix: "
                              "use reduce_sum/max/min/prod (P.reduce picks them for P.add, "
                              "P.max, ... with their identity as init value), or a scan.")


reduce_p.def_jvp(_reduce_jvp)


def _reduce_batch(args, bdims, *, axis_name, axis_size, computation, dimensions):
    n = len(args) // 2
    if any(d is not None for d in bdims[n:]):
        raise NotImplementedError("reduce: vmap over batched init_values is not supported "
                                  "(as in JAX). Fix: pass unbatched (constant) init values.")
    operands = [bdim_at_front(a, d, axis_size) for a, d in zip(args[:n], bdims[:n])]
    out = reduce_p.bind(*operands, *args[n:], computation=computation,
                        dimensions=tuple(d + 1 for d in dimensions))
    return out, [0] * len(out)


def_body_batch(reduce_p, _reduce_batch)


# --- the user-facing function ---
def _identity_reducer(computation, inits):
    """The reduce_* primitive for ``computation`` when ``inits`` is its concrete identity."""
    if len(inits) != 1 or isinstance(inits[0], Tracer):
        return None
    x = inits[0]
    aval = get_aval(x)
    if aval.shape != ():
        return None
    dtype, val = aval.dtype, np.asarray(x)
    intlike = dtype == np.bool_ or np.issubdtype(dtype, np.integer)
    if dtype == np.bool_:
        lo, hi = False, True
    elif np.issubdtype(dtype, np.integer):
        lo, hi = np.iinfo(dtype).min, np.iinfo(dtype).max
    else:
        lo, hi = -np.inf, np.inf
    ones = True if dtype == np.bool_ else -1
    table = [((add, lax.add), 0, reduce_sum, True), ((mul, lax.mul), 1, reduce_prod, True),
             ((bitwise_or, lax.bitwise_or), 0, reduce_or, intlike),
             ((bitwise_and, lax.bitwise_and), ones, reduce_and, intlike),
             ((bitwise_xor, lax.bitwise_xor), 0, reduce_xor, intlike),
             ((max, lax.max), lo, reduce_max, True), ((min, lax.min), hi, reduce_min, True)]
    for fns, identity, reducer, ok in table:
        if any(computation is f for f in fns):
            return reducer if ok and np.equal(val, identity) else None
    return None


def reduce(operands, init_values, computation: Callable, dimensions: Sequence[int],
           out_sharding=None):
    """Reduce ``operands`` over ``dimensions`` with ``computation`` (lax.reduce).

    Args:
      operands: an array or pytree of equal-shaped arrays.
      init_values: scalars, the same pytree structure (the computation's identity).
      computation: ``(acc, x) -> acc`` on pytrees of scalars like ``init_values``;
        associative, with ``init_values`` its identity (XLA may rely on both).
      dimensions: the axes reduced.
      out_sharding: accepted for jax's signature; ignored.

    Returns:
      The reduced pytree.

    Raises:
      FxTypeError: operands and init_values of different structures.

    References:
      jax.lax.reduce.
    """
    flat_ops, op_tree = tree_util.tree_flatten(operands)
    flat_inits, init_tree = tree_util.tree_flatten(init_values)
    if op_tree != init_tree:
        raise FxTypeError(f"Operands must have the same tree structure as init_values: "
                          f"{op_tree} vs. {init_tree}")
    dimensions = tuple(int(d) for d in dimensions)
    reducer = _identity_reducer(computation, flat_inits)
    if reducer is not None:
        weak = get_aval(flat_ops[0]).weak_type and get_aval(flat_inits[0]).weak_type
        out = reducer(flat_ops[0], dimensions)
        return convert_element_type(out, get_aval(out).dtype, weak_type=weak) if weak else out
    init_avals = [get_aval(i) for i in flat_inits]
    box = []

    def comp(*xs):
        n = len(xs) // 2
        out = computation(tree_util.tree_unflatten(init_tree, xs[:n]),
                          tree_util.tree_unflatten(init_tree, xs[n:]))
        leaves, tree = tree_util.tree_flatten(out)
        box.append(tree)
        return [convert_element_type(o, a.dtype) for o, a in zip(leaves, init_avals)]
    scalar = [ShapedArray((), a.dtype) for a in init_avals]
    graph, consts = trace_flat(comp, scalar + scalar)
    if consts:
        raise FxTypeError("reduce: the computation captures arrays; it must be a function of "
                          "its two arguments only (as lax.reduce's jaxpr).")
    if box[0] != init_tree:
        raise FxTypeError(f"reduce: computation returns {box[0]}, expected {init_tree}.")
    inits = [convert_element_type(i, get_aval(o).dtype) for i, o in zip(flat_inits, flat_ops)]
    out = reduce_p.bind(*flat_ops, *inits, computation=SubGraph(graph), dimensions=dimensions)
    return tree_util.tree_unflatten(op_tree, out)
