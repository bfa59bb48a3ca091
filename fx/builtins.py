"""The few primitives the core itself needs: ``add_any`` (accumulating tangents
and cotangents of any dtype) and ``zeros`` (materializing a symbolic zero)."""
from __future__ import annotations

import numpy as np
from jax import lax

from fx.core import Primitive, Zero, UndefinedPrimal, get_aval
from fx.ir import ShapedArray

__all__ = ["add_any", "add_any_p", "zeros", "zeros_p", "instantiate_zero"]


# --- add_any ---
add_any_p = Primitive("add_any")


@add_any_p.def_abstract_eval
def _add_any_aval(x, y):
    return ShapedArray(x.shape, x.dtype, x.weak_type and y.weak_type)


add_any_p.def_lowering(lambda x, y: lax.add(x, lax.convert_element_type(y, x.dtype)))
add_any_p.def_jvp(lambda primals, tangents: (
    add_any(*primals),
    tangents[1] if isinstance(tangents[0], Zero) else
    tangents[0] if isinstance(tangents[1], Zero) else add_any(*tangents)))
add_any_p.def_transpose(lambda ct, x, y: [ct if isinstance(x, UndefinedPrimal) else None,
                                          ct if isinstance(y, UndefinedPrimal) else None])


@add_any_p.def_batch
def _add_any_batch(args, bdims):
    x, y = args
    dx, dy = bdims
    if dx == dy:
        return add_any(x, y), dx
    size = get_aval(x).shape[dx] if dx is not None else get_aval(y).shape[dy]
    x = _to_front(x, dx, size)
    y = _to_front(y, dy, size)
    return add_any(x, y), 0


def _to_front(x, bdim, size):
    from fx.core import structural
    aval = get_aval(x)
    if bdim is None:
        return structural("broadcast_in_dim")(x, (size,) + aval.shape, tuple(range(1, aval.ndim + 1)))
    if bdim == 0:
        return x
    perm = (bdim,) + tuple(i for i in range(aval.ndim) if i != bdim)
    return structural("transpose")(x, perm)


def add_any(x, y):
    """x + y for tangents/cotangents (same aval); used by the transforms."""
    return add_any_p.bind(x, y)


# --- zeros ---
zeros_p = Primitive("zeros")


@zeros_p.def_abstract_eval
def _zeros_aval(*, shape, dtype):
    return ShapedArray(shape, dtype)


zeros_p.def_lowering(lambda *, shape, dtype: lax.full(shape, 0, dtype))
zeros_p.def_jvp(lambda primals, tangents, *, shape, dtype: (
    zeros(ShapedArray(shape, dtype)), Zero(ShapedArray(shape, dtype))))


def zeros(aval: ShapedArray):
    """An array of zeros of ``aval``'s shape and dtype."""
    return zeros_p.bind(shape=tuple(aval.shape), dtype=np.dtype(aval.dtype))


def instantiate_zero(t):
    """Materialize a symbolic Zero; other values pass through."""
    return zeros(t.aval) if isinstance(t, Zero) else t


