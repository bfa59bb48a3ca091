"""Shared pieces of the numpy API: shapes, broadcasting, ufunc factories."""
from __future__ import annotations

import jax
import numpy as np

import primitives as P
from fx.core import Tracer, canonical_dtype, get_aval
from fx.dtypes import kind, to_inexact_dtype
from fx.errors import ShapeError
from primitives.numpy._promote import dtype_of, promote

# the sequence jnp.broadcast_arrays and jnp.meshgrid return: a list up to jax 0.10,
# a tuple from jax 0.11 on (we follow the installed jax)
ARRAYS_OUT = tuple if jax.__version_info__ >= (0, 11) else list

__all__ = ["shape_of", "ndim_of", "broadcast_shapes", "broadcast_to", "broadcast_arrays",
           "binary_ufunc", "unary_ufunc", "canonicalize_axis", "canonicalize_axes"]


def shape_of(x) -> tuple:
    if isinstance(x, Tracer):
        return x.aval.shape
    return tuple(np.shape(x))


def ndim_of(x) -> int:
    return len(shape_of(x))


def broadcast_shapes(*shapes, op="broadcast") -> tuple:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"{op}: shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be "
                         f"broadcast together (numpy rules: trailing axes must be equal or 1). "
                         f"Fix: reshape/expand_dims one operand so the axes line up.") from None


def broadcast_to(x, shape, op="broadcast_to"):
    """numpy broadcast_to with broadcast_in_dim (no-op when the shape already matches)."""
    shape = tuple(int(d) for d in shape)
    xs = shape_of(x)
    if xs == shape:
        return x
    if len(xs) > len(shape) or broadcast_shapes(xs, shape, op=op) != shape:
        raise ShapeError(f"{op}: cannot broadcast an array of shape {xs} to shape {shape}.")
    lead = len(shape) - len(xs)
    # drop size-1 axes that must stretch: squeeze them via reshape, then broadcast
    keep = [i for i, d in enumerate(xs) if d == shape[lead + i]]
    if len(keep) != len(xs):
        x = P.reshape(x, tuple(xs[i] for i in keep))
    return P.broadcast_in_dim(x, shape, tuple(lead + i for i in keep))


def broadcast_arrays(*args, op="broadcast"):
    shapes = [shape_of(a) for a in args]
    if all(s == shapes[0] for s in shapes):
        return list(args)
    shape = broadcast_shapes(*shapes, op=op)
    return [a if (type(a) in (int, float, bool, complex)) else broadcast_to(a, shape, op=op)
            for a in args]


def binary_ufunc(lax_fn, name, result_dtype=None):
    """numpy-style binary op: promote dtypes (jax.numpy rules), broadcast, apply ``lax_fn``."""
    def ufunc(x1, x2, /):
        x1, x2 = promote(x1, x2)
        s1, s2 = shape_of(x1), shape_of(x2)
        # equal shapes, or a constant scalar (written inline as a Literal, as jaxprs do)
        if s1 == s2 or (s1 == () and not isinstance(x1, Tracer)) or (
                s2 == () and not isinstance(x2, Tracer)):
            return lax_fn(x1, x2)
        x1, x2 = broadcast_arrays(x1, x2, op=name)
        return lax_fn(x1, x2)
    ufunc.__name__ = ufunc.__qualname__ = name
    ufunc.__doc__ = f"Elementwise {name} with numpy broadcasting and jax.numpy promotion (as jnp.{name})."
    return ufunc


def unary_ufunc(lax_fn, name, to_inexact=False):
    """numpy-style unary op; with ``to_inexact`` integer/bool inputs are cast to float first."""
    def ufunc(x, /):
        if to_inexact:
            dt = dtype_of(x)
            if kind(dt) in "biu":
                x = P.convert_element_type(x, canonical_dtype(to_inexact_dtype(dt)),
                                           weak_type=get_aval(x).weak_type)
        return lax_fn(x)
    ufunc.__name__ = ufunc.__qualname__ = name
    ufunc.__doc__ = f"Elementwise {name} (as jnp.{name})."
    return ufunc


def canonicalize_axis(axis: int, ndim: int, op: str = "axis") -> int:
    if not -ndim <= axis < max(ndim, 1) or (ndim == 0 and axis not in (0, -1)):
        raise ShapeError(f"{op}: axis {axis} is out of bounds for an array of dimension {ndim} "
                         f"(valid: {-ndim}..{ndim - 1}).")
    return axis % ndim if ndim else 0


def canonicalize_axes(axis, ndim: int, op: str = "axis") -> tuple:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int) or hasattr(axis, "__index__"):
        return (canonicalize_axis(int(axis), ndim, op),)
    axes = tuple(canonicalize_axis(int(a), ndim, op) for a in axis)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{op}: repeated axis in {tuple(axis)}")
    return axes
