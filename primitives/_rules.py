"""Shared rule helpers: rule families are built from these, never copy-pasted.

Each helper has the fixed signature of its rule kind (see the Protocols in
fx/core.py). Errors are typed (fx.errors) and name the op, the shapes/dtypes;
the staging trace appends the user's source line.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import jax
from jax import lax

from fx.dtypes import ANY, BOOL, FLOAT, INT, INT_OR_BOOL, NUMBER, kind
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray

__all__ = ["fmt_avals", "normalize_axis", "check_kind", "nary_aval", "unop_aval",
           "compare_aval", "coerce_lowering", "is_weak", "FLOAT", "INT", "BOOL", "NUMBER",
           "INT_OR_BOOL", "ANY", "is_python_scalar", "same_dtype_and_shape"]

_PY_SCALARS = (bool, int, float, complex)


def is_python_scalar(x) -> bool:
    return type(x) in _PY_SCALARS


def fmt_avals(avals: Sequence[ShapedArray]) -> str:
    return ", ".join(a.str_short() for a in avals)


def normalize_axis(axis: int, ndim: int, op: str) -> int:
    """Map a possibly negative axis into [0, ndim) or raise a ShapeError."""
    if not -ndim <= axis < max(ndim, 1) or (ndim == 0 and axis not in (0, -1)):
        raise ShapeError(f"{op}: axis {axis} is out of range for an array of rank {ndim}; "
                         f"valid axes are {-ndim}..{ndim - 1}.")
    return axis % ndim if ndim else 0


_SET_WORDS = {FLOAT: "floating-point", INT: "integer", BOOL: "boolean", NUMBER: "numeric",
              INT_OR_BOOL: "integer or boolean"}
_KIND_WORDS = {"f": "floating-point", "c": "complex", "i": "signed integer",
               "u": "unsigned integer", "b": "boolean"}


def check_kind(op: str, avals, kinds: str) -> None:
    """Raise FxTypeError unless every aval's dtype kind (``fx.dtypes.kind``) is
    one of the letters ``kinds``; the message names the accepted kinds."""
    for a in avals:
        if kind(a.dtype) not in kinds:
            want = _SET_WORDS.get(kinds) or " or ".join(_KIND_WORDS[k] for k in kinds
                                                         if k in _KIND_WORDS)
            raise FxTypeError(f"{op} requires {want} operands, got {fmt_avals(avals)}. "
                              f"Fix: convert with convert_element_type / .astype(...) first.")


def _result_dtype(op, avals):
    strong = {a.dtype for a in avals if not a.weak_type}
    if len(strong) > 1:
        raise FxTypeError(f"{op} requires operands of the same dtype, got {fmt_avals(avals)}. "
                          f"Fix: use primitives.numpy.{op} (which promotes dtypes as jax.numpy "
                          f"does) or convert with convert_element_type.")
    if strong:
        return strong.pop(), False
    return jax.dtypes.result_type(*[a.dtype for a in avals]), True


def _broadcast_shapes(op, avals):
    shapes = [a.shape for a in avals]
    first = shapes[0]
    if all(s == first for s in shapes):
        return first
    nonscalar = [s for s in shapes if s != ()]
    if all(s == nonscalar[0] for s in nonscalar):
        return nonscalar[0]
    raise ShapeError(f"{op} got incompatible shapes {fmt_avals(avals)}: the lax-level op "
                     f"needs equal shapes (or scalars). Fix: broadcast first "
                     f"(fnp.broadcast_to / primitives.broadcast_in_dim) or use "
                     f"primitives.numpy.{op}, which broadcasts as numpy does.")


def nary_aval(op: str, kinds: str, *avals: ShapedArray) -> ShapedArray:
    """Elementwise n-ary op: equal shapes (scalars allowed), equal strong dtypes."""
    check_kind(op, avals, kinds)
    shape = _broadcast_shapes(op, avals)
    dtype, weak = _result_dtype(op, avals)
    return ShapedArray(shape, dtype, weak)


def unop_aval(op: str, kinds: str, x: ShapedArray) -> ShapedArray:
    check_kind(op, (x,), kinds)
    return x


def compare_aval(op: str, kinds: str, *avals: ShapedArray) -> ShapedArray:
    out = nary_aval(op, kinds, *avals)
    return ShapedArray(out.shape, np.dtype(bool), False)


def is_weak(a) -> bool:
    """Whether a jax value (or Python scalar) is weakly typed."""
    if is_python_scalar(a):
        return True
    try:
        return bool(jax.typeof(a).weak_type)
    except Exception:
        return bool(getattr(a, "weak_type", False))


def same_dtype_and_shape(args) -> bool:
    """Whether the operands are arrays of one dtype and one shape (no Python
    scalar): lax takes them as they are (the lowerings' fast path)."""
    first = args[0]
    if type(first) in _PY_SCALARS:
        return False
    dtype, shape = getattr(first, "dtype", None), getattr(first, "shape", None)
    for a in args[1:]:
        if type(a) in _PY_SCALARS or getattr(a, "dtype", None) != dtype or \
                getattr(a, "shape", None) != shape:
            return False
    return dtype is not None


def coerce_lowering(lax_fn, *args, **params):
    """Call ``lax_fn`` after casting weak operands (Python scalars, weak arrays)
    to the strong operands' dtype and broadcasting scalars: lax needs equal
    dtypes and shapes. Runs only while jax traces, so it costs nothing per call."""
    if same_dtype_and_shape(args):
        return lax_fn(*args, **params)
    shapes = {np.shape(a) for a in args}
    strong = [np.dtype(a.dtype) for a in args if not is_weak(a)]
    if len(set(strong)) > 1:  # two strong dtypes: let lax reject it (our abstract eval explains)
        return lax_fn(*args, **params)
    target = strong[0] if strong else jax.dtypes.result_type(*args)
    shape = max(shapes, key=len)
    out = []
    for a in args:
        a = lax.convert_element_type(a, target) if (is_python_scalar(a) or np.dtype(a.dtype) != target) else a
        if np.shape(a) != shape:
            a = lax.broadcast_in_dim(a, shape, ())
        out.append(a)
    return lax_fn(*out, **params)
