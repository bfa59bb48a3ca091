"""Shared rule helpers: rule families are built from these, never copy-pasted.

Each helper has the fixed signature of its rule kind (see the Protocols in
fx/core.py). Errors are typed (fx.errors) and name the op, the shapes/dtypes;
the staging trace appends the user's source line.
"""
from __future__ import annotations

from functools import partial
from typing import Sequence

import numpy as np
import jax
from jax import lax

from fx.core import Primitive
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray

__all__ = ["fmt_avals", "normalize_axis", "check_kind", "nary_aval", "unop_aval",
           "compare_aval", "coerce_lowering", "standard_unop", "standard_naryop",
           "FLOAT", "INT", "BOOL", "NUMBER", "INT_OR_BOOL", "ANY", "is_python_scalar"]

FLOAT = "fc"         # inexact (float and complex)
INT = "iu"
BOOL = "b"
NUMBER = "iufc"
INT_OR_BOOL = "iub"
ANY = "iufcbV"

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


_KIND_CACHE: dict = {}


def _kind(dtype: np.dtype) -> str:
    """numpy kind letter, with ml_dtypes floats (bfloat16, float8) counted as 'f'."""
    k = _KIND_CACHE.get(dtype)
    if k is None:
        k = "f" if dtype.name in ("bfloat16", "float8_e4m3fn", "float8_e5m2") else dtype.kind
        _KIND_CACHE[dtype] = k
    return k


def check_kind(op: str, avals, kinds: str) -> None:
    for a in avals:
        if _kind(a.dtype) not in kinds:
            want = {FLOAT: "floating-point", INT: "integer", BOOL: "boolean",
                    NUMBER: "numeric", INT_OR_BOOL: "integer or boolean"}.get(kinds, kinds)
            raise FxTypeError(f"{op} requires {want} operands, got {fmt_avals(avals)}. "
                              f"Fix: convert with .astype(...) / convert_element_type first.")


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


def _is_weak_jax(a) -> bool:
    if is_python_scalar(a):
        return True
    try:
        return bool(jax.typeof(a).weak_type)
    except Exception:
        return bool(getattr(a, "weak_type", False))


def coerce_lowering(lax_fn, *args, **params):
    """Call ``lax_fn`` after casting weak operands (Python scalars, weak arrays)
    to the strong operands' dtype and broadcasting scalars: lax needs equal
    dtypes and shapes. Runs only while jax traces, so it costs nothing per call."""
    dtypes = {np.dtype(a.dtype) for a in args if not is_python_scalar(a)}
    shapes = {np.shape(a) for a in args}
    if len(dtypes) == 1 and not any(is_python_scalar(a) for a in args) and len(shapes) == 1:
        return lax_fn(*args, **params)
    strong = [np.dtype(a.dtype) for a in args if not _is_weak_jax(a)]
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


def standard_unop(name: str, kinds: str, lax_fn) -> Primitive:
    """A Primitive for an elementwise unary op with the standard abstract eval."""
    p = Primitive(name)
    p.def_abstract_eval(partial(unop_aval, name, kinds))
    p.def_lowering(lax_fn)
    return p


def standard_naryop(name: str, kinds: str, lax_fn, aval_rule=nary_aval) -> Primitive:
    """A Primitive for an elementwise n-ary op (equal shapes/dtypes, weak scalars coerced)."""
    p = Primitive(name)
    p.def_abstract_eval(partial(aval_rule, name, kinds))
    p.def_lowering(partial(coerce_lowering, lax_fn))
    return p


# --- helpers for jvp / transpose / batch rules --------------------------------
from fx.core import Zero, UndefinedPrimal, get_aval  # noqa: E402

not_mapped = None


def zeros_like_aval(aval: ShapedArray):
    """A concrete (or traced) array of zeros with ``aval``'s shape and dtype."""
    from primitives.shape import broadcast_in_dim
    return broadcast_in_dim(np.zeros((), aval.dtype), aval.shape, ())


def instantiate(t, aval: ShapedArray | None = None):
    """Materialize a symbolic ``Zero`` tangent/cotangent; other values pass through."""
    if isinstance(t, Zero):
        return zeros_like_aval(t.aval)
    return t


def is_zero(t) -> bool:
    return isinstance(t, Zero)


def zero_tangent_aval(aval: ShapedArray) -> ShapedArray:
    """Integer and boolean values have float0-like (symbolic zero) tangents; we
    keep their aval and never materialize them."""
    return aval.strip_weak()


def moveaxis(x, src: int, dst: int):
    """Move axis ``src`` of ``x`` to ``dst`` (a transpose; no-op when equal)."""
    from primitives.shape import transpose
    ndim = len(get_aval(x).shape)
    src, dst = src % ndim, dst % ndim
    if src == dst:
        return x
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    return transpose(x, perm)


def bdim_to_front(x, bdim, size: int):
    """Return ``x`` with its batch axis at 0; an unbatched x is broadcast to ``size``."""
    from primitives.shape import broadcast_in_dim
    if bdim is None:
        aval = get_aval(x)
        return broadcast_in_dim(x, (size,) + aval.shape, tuple(range(1, aval.ndim + 1)))
    return moveaxis(x, bdim, 0)


def batch_size(args, bdims) -> int:
    for x, d in zip(args, bdims):
        if d is not None:
            return get_aval(x).shape[d]
    raise ValueError("batch rule called with no batched argument")


def elementwise_batch(prim, args, bdims, **params):
    """Batch rule of elementwise n-ary primitives: batched operands get their
    batch axis in front; unbatched rank-0 operands stay scalars (every
    elementwise primitive accepts them); a batched per-example scalar next to
    non-scalar operands is broadcast to their shape."""
    from primitives.shape import broadcast_in_dim
    size = batch_size(args, bdims)
    per_example = [get_aval(x).shape[:d] + get_aval(x).shape[d + 1:] if d is not None
                   else get_aval(x).shape for x, d in zip(args, bdims)]
    shape = max(per_example, key=len)
    out_args = []
    for x, d, pe in zip(args, bdims, per_example):
        if d is None:
            out_args.append(x if pe == () else bdim_to_front(x, None, size))
            continue
        x = moveaxis(x, d, 0)
        if pe != shape:
            x = broadcast_in_dim(x, (size,) + shape, (0,))
        out_args.append(x)
    return prim.bind(*out_args, **params), 0


# --- contraction families (linalg, conv): jvp of bilinear primitives ---------
def _has_tangent(x, x_dot) -> bool:
    """False for symbolic zeros and for integer/bool operands (float0 tangents)."""
    return not is_zero(x_dot) and _kind(get_aval(x).dtype) in FLOAT


def bilinear_jvp(prim, primals, tangents, **params):
    """jvp of a primitive bilinear in its two operands (dot_general, conv):
    ``d(x * y) = dx * y + x * dy``, skipping the terms of symbolic-zero or
    integer operands' tangents. Outputs that are not floating point get a
    Zero tangent."""
    from primitives.elementwise import add
    x, y = primals
    x_dot, y_dot = tangents
    out = prim.bind(x, y, **params)
    out_aval = get_aval(out)
    terms = []
    if _kind(out_aval.dtype) in FLOAT:
        if _has_tangent(x, x_dot):
            terms.append(prim.bind(x_dot, y, **params))
        if _has_tangent(y, y_dot):
            terms.append(prim.bind(x, y_dot, **params))
    if not terms:
        return out, Zero(zero_tangent_aval(out_aval))
    return out, terms[0] if len(terms) == 1 else add(*terms)
