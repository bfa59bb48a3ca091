"""Shape primitives (as jax.lax): broadcast_in_dim, reshape, transpose, ...

One block per primitive, all its rules right below it.
"""
from __future__ import annotations

import numpy as np
from jax import lax

from fx.core import Primitive
from fx.errors import ShapeError
from fx.ir import ShapedArray

__all__ = ["broadcast_in_dim", "reshape", "transpose",
           "broadcast_in_dim_p", "reshape_p", "transpose_p"]


# --- broadcast_in_dim ---
broadcast_in_dim_p = Primitive("broadcast_in_dim")


@broadcast_in_dim_p.def_abstract_eval
def _broadcast_in_dim_aval(x, *, shape, broadcast_dimensions):
    if len(broadcast_dimensions) != x.ndim or any(
            not (0 <= d < len(shape)) or (x.shape[i] not in (1, shape[d]))
            for i, d in enumerate(broadcast_dimensions)):
        raise ShapeError(f"broadcast_in_dim cannot broadcast {x.str_short()} to shape {shape} "
                         f"with broadcast_dimensions={broadcast_dimensions}: each operand axis i "
                         f"must map to an output axis whose size equals x.shape[i] (or x.shape[i] == 1).")
    return ShapedArray(shape, x.dtype, x.weak_type)


broadcast_in_dim_p.def_lowering(lambda x, *, shape, broadcast_dimensions:
                                lax.broadcast_in_dim(x, shape, broadcast_dimensions))


def broadcast_in_dim(operand, shape, broadcast_dimensions):
    """Broadcast ``operand`` into ``shape``; operand axis i becomes output axis
    ``broadcast_dimensions[i]`` (lax.broadcast_in_dim)."""
    return broadcast_in_dim_p.bind(operand, shape=tuple(int(d) for d in shape),
                                   broadcast_dimensions=tuple(int(d) for d in broadcast_dimensions))


# --- reshape ---
reshape_p = Primitive("reshape")


@reshape_p.def_abstract_eval
def _reshape_aval(x, *, new_sizes, dimensions):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise ShapeError(f"reshape cannot turn {x.str_short()} ({x.size} elements) into shape "
                         f"{new_sizes} ({int(np.prod(new_sizes, dtype=np.int64))} elements). Fix: "
                         f"the new shape must have the same number of elements (use -1 for one "
                         f"inferred axis in fnp.reshape).")
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


reshape_p.def_lowering(lambda x, *, new_sizes, dimensions: lax.reshape(x, new_sizes, dimensions))


def reshape(operand, new_sizes, dimensions=None):
    """Reshape ``operand`` to ``new_sizes`` (lax.reshape; ``dimensions`` permutes first)."""
    new_sizes = tuple(int(d) for d in new_sizes)
    if dimensions is not None:
        dimensions = tuple(int(d) for d in dimensions)
        if dimensions == tuple(range(len(dimensions))):
            dimensions = None
    return reshape_p.bind(operand, new_sizes=new_sizes, dimensions=dimensions)


# --- transpose ---
transpose_p = Primitive("transpose")


@transpose_p.def_abstract_eval
def _transpose_aval(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ShapeError(f"transpose: permutation {permutation} is not a permutation of the "
                         f"axes of {x.str_short()} (need each of 0..{x.ndim - 1} exactly once).")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


transpose_p.def_lowering(lambda x, *, permutation: lax.transpose(x, permutation))


def transpose(operand, permutation):
    """Permute the axes of ``operand`` (lax.transpose)."""
    return transpose_p.bind(operand, permutation=tuple(int(p) for p in permutation))
