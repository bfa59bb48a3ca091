"""Array creation (as jax.numpy): array, asarray, zeros, ones, full, arange, linspace, eye, ...

Constants are built from lax-level primitives (``broadcast_in_dim`` of a
scalar, ``iota`` + comparisons), so under ``jit``/``make_graph`` they are
staged into the graph and under ``vmap``/``grad`` they are ordinary values.
Concrete inputs (numpy arrays, Python lists) become ``jax.Array`` eagerly and
graph constants while tracing.
"""
from __future__ import annotations

import builtins
import operator

import numpy as np
import jax

import primitives as P
from fx import core
from fx.dtypes import is_float
from fx.core import Tracer, canonical_dtype, get_aval, python_scalar_dtype
from fx.errors import ShapeError
from primitives.numpy._util import broadcast_shapes, broadcast_to
from primitives.numpy._promote import result_type

__all__ = ["array", "asarray", "zeros", "ones", "full", "empty", "zeros_like", "ones_like",
           "full_like", "empty_like", "arange", "linspace", "eye", "identity", "tri"]

_PY_SCALARS = (builtins.bool, int, float, complex)


# --- helpers ---------------------------------------------------------------------
def _user_dtype(dtype) -> np.dtype | None:
    """Canonical dtype of a user ``dtype=`` argument (``float`` -> float32 unless x64)."""
    return None if dtype is None else canonical_dtype(np.dtype(dtype))


def _default_float() -> np.dtype:
    return canonical_dtype(np.float64)


def _canonicalize_shape(shape, op: str) -> tuple:
    """An int or a sequence of ints (concrete) -> tuple; negative sizes raise ShapeError."""
    try:
        dims = (operator.index(shape),)
    except TypeError:
        try:
            dims = tuple(operator.index(d) for d in shape)
        except TypeError:
            raise TypeError(f"{op}: shape must be an int or a sequence of ints, got "
                            f"{shape!r:.80}.") from None
    if any(d < 0 for d in dims):
        raise ShapeError(f"{op}: negative dimensions are not allowed in shape {dims}.")
    return dims


def _constant(value: np.ndarray | int | float | bool | complex):
    """A concrete value as an array of the current trace: a ``jax.Array`` when
    eager, a graph constant while tracing (0-d values, which would be inline
    literals, go through a convert_element_type so the result is an array)."""
    trace = core.find_top_trace(())
    if isinstance(trace, core.EvalTrace):
        return jax.device_put(value)
    if np.ndim(value) == 0:
        aval = get_aval(value)
        return P.convert_element_type(value, aval.dtype, weak_type=aval.weak_type)
    return trace.pure(value)


def _scalar_of(value, dtype: np.dtype | None):
    """A 0-d value to broadcast: ``value`` cast to ``dtype`` (None keeps its own
    dtype and weak type, as jax.lax.full does)."""
    if type(value) in _PY_SCALARS:
        return value if dtype is None else np.asarray(value, dtype)
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value, dtype or canonical_dtype(value.dtype))
    if dtype is not None and get_aval(value).dtype != dtype:
        return P.convert_element_type(value, dtype)
    return value


def _full_scalar(shape: tuple, value, dtype: np.dtype | None, weak: builtins.bool = False):
    """``shape`` filled with the 0-d ``value`` cast to ``dtype`` (weak-typed if ``weak``)."""
    if weak and dtype is not None and not (type(value) in _PY_SCALARS
                                           and python_scalar_dtype(value) == dtype):
        x = P.convert_element_type(value, dtype, weak_type=True)
    else:
        x = _scalar_of(value, None if weak else dtype)
    if shape == () and isinstance(x, Tracer):
        return x
    return P.broadcast_in_dim(x, shape, ())


# --- array / asarray ---------------------------------------------------------------
def _leaves(obj) -> list:
    if isinstance(obj, (list, tuple)):
        return [leaf for o in obj for leaf in _leaves(o)]
    return [obj]


def _stack_leaves(obj, dtype: np.dtype):
    """A nested list holding traced values -> one array (numpy's nesting rules)."""
    if not isinstance(obj, (list, tuple)):
        return array(obj, dtype)
    parts = [_stack_leaves(o, dtype) for o in obj]
    shapes = {get_aval(p).shape for p in parts}
    if len(shapes) != 1:
        raise ShapeError(f"array: the nested sequence is ragged: elements have shapes "
                         f"{sorted(shapes)}. Fix: make all elements the same shape.")
    shape = shapes.pop()
    if not parts:
        return _constant(np.zeros((0,), dtype))
    expanded = [P.broadcast_in_dim(p, (1,) + shape, tuple(range(1, len(shape) + 1)))
                for p in parts]
    return expanded[0] if len(expanded) == 1 else P.concatenate(expanded, 0)


def array(object, dtype=None, copy: builtins.bool = True, order: str | None = "K",
          ndmin: int = 0):
    """As jnp.array. Traced values (also inside nested lists) are converted with
    primitives; concrete ones become a jax.Array (a graph constant while tracing).
    ``copy`` and ``order`` are ignored (arrays are immutable)."""
    del copy, order
    dtype = _user_dtype(dtype)
    if isinstance(object, Tracer) or (hasattr(object, "shape") and hasattr(object, "dtype")
                                      and not isinstance(object, (np.ndarray, np.generic))):
        aval = get_aval(object)
        out = object if dtype is None or (aval.dtype == dtype and not aval.weak_type) else \
            P.convert_element_type(object, dtype)
    elif type(object) in _PY_SCALARS:
        out = _constant(object) if dtype is None else _constant(np.asarray(object, dtype))
    elif isinstance(object, (list, tuple)):
        leaves = _leaves(object)
        if dtype is None:
            dtype = result_type(*leaves) if leaves else _default_float()
        if any(isinstance(leaf, Tracer) for leaf in leaves):
            out = _stack_leaves(object, dtype)
            if get_aval(out).weak_type:  # an array built from a list is never weak
                out = P.convert_element_type(out, dtype)
        else:
            out = _constant(np.asarray(object, dtype))
    else:
        value = np.asarray(object)
        if value.dtype.kind in "OSU":
            raise TypeError(f"array: cannot convert {type(object).__name__} to an array.")
        out = _constant(np.asarray(value, dtype or canonical_dtype(value.dtype)))
    ndim = len(get_aval(out).shape)
    if ndmin > ndim:
        shape = (1,) * (ndmin - ndim) + get_aval(out).shape
        out = P.reshape(out, shape)
    return out


def asarray(a, dtype=None, order: str | None = None, *, copy: builtins.bool | None = None):
    """As jnp.asarray (``order`` and ``copy`` are ignored: arrays are immutable)."""
    return array(a, dtype=dtype, order=order)


# --- filled arrays -------------------------------------------------------------------
def full(shape, fill_value, dtype=None):
    """As jnp.full (an array ``fill_value`` is broadcast to ``shape``)."""
    shape = _canonicalize_shape(shape, "full")
    dtype = _user_dtype(dtype)
    if np.ndim(fill_value) if not isinstance(fill_value, Tracer) else fill_value.ndim:
        return broadcast_to(asarray(fill_value, dtype), shape, op="full")
    return _full_scalar(shape, fill_value, dtype)


def zeros(shape, dtype=None):
    """As jnp.zeros (default dtype float32)."""
    return _full_scalar(_canonicalize_shape(shape, "zeros"), 0,
                        _user_dtype(dtype) or _default_float())


def ones(shape, dtype=None):
    """As jnp.ones (default dtype float32)."""
    return _full_scalar(_canonicalize_shape(shape, "ones"), 1,
                        _user_dtype(dtype) or _default_float())


def empty(shape, dtype=None):
    """As jnp.empty: XLA has no uninitialized memory, so this is ``zeros``."""
    return zeros(shape, dtype)


def full_like(a, fill_value, dtype=None, shape=None):
    """As jnp.full_like: dtype and weak type of ``a`` unless ``dtype`` is given; inside
    a check_vma shard_map body it varies over the mesh axes ``a`` varies over (as jax)."""
    aval = get_aval(a)
    dtype = _user_dtype(dtype)
    shape = aval.shape if shape is None else _canonicalize_shape(shape, "full_like")
    if (np.ndim(fill_value) if not isinstance(fill_value, Tracer) else fill_value.ndim):
        out = broadcast_to(asarray(fill_value, dtype or aval.dtype), shape, op="full_like")
    else:
        out = _full_scalar(shape, fill_value, dtype or aval.dtype,
                           dtype is None and aval.weak_type)
    return core.cast_vma(out, aval.vma) if aval.vma else out


def zeros_like(a, dtype=None, shape=None):
    """As jnp.zeros_like."""
    return full_like(a, 0, dtype, shape)


def ones_like(a, dtype=None, shape=None):
    """As jnp.ones_like."""
    return full_like(a, 1, dtype, shape)


def empty_like(prototype, dtype=None, shape=None):
    """As jnp.empty_like (zeros: XLA has no uninitialized memory)."""
    return full_like(prototype, 0, dtype, shape)


# --- ranges -----------------------------------------------------------------------------
def _concrete_scalar(x, name: str):
    if x is None:
        return None
    if isinstance(x, Tracer):
        v = x.concrete_value()
        if v is None:
            raise core.ConcretizationError(
                f"arange: argument {name!r} must be a concrete scalar, got the traced value "
                f"{x.aval.str_short()}: the output shape depends on it. Fix: pass a Python "
                f"number (mark it static with jit(..., static_argnums=...)).")
        x = v
    if np.ndim(x) != 0:
        raise ValueError(f"arange: arguments must be scalars; got {name}={x!r}")
    return x


def arange(start, stop=None, step=None, dtype=None):
    """As jnp.arange (start/stop/step must be concrete)."""
    start = _concrete_scalar(start, "stop" if stop is None and step is None else "start")
    stop, step = _concrete_scalar(stop, "stop"), _concrete_scalar(step, "step")
    dtype = _user_dtype(dtype)
    if dtype is None:
        dtype = result_type(*(x for x in (start, stop, step) if x is not None))
    if stop is None:
        start, stop = 0, start
    if step is not None:
        if step == 0:
            raise ValueError("arange: step must not be zero.")
        work = np.dtype(np.float32) if is_float(dtype) and np.dtype(dtype).itemsize < 4 \
            else dtype
        size = builtins.max(0, int(np.ceil((stop - start) / step)))
        out = P.add(np.asarray(start, work), P.mul(np.asarray(step, work), P.iota(work, size)))
        return out if work == dtype else P.convert_element_type(out, dtype)
    size = builtins.max(0, int(np.ceil(stop - start)))
    if start == 0:
        return P.iota(dtype, size)
    return P.add(np.asarray(start, dtype), P.iota(dtype, size))


def linspace(start, stop, num: int = 50, endpoint: builtins.bool = True,
             retstep: builtins.bool = False, dtype=None, axis: int = 0):
    """As jnp.linspace (array ``start``/``stop`` broadcast; differentiable in both)."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"linspace: number of samples, {num}, must be non-negative.")
    dtype = _user_dtype(dtype)
    if dtype is None:
        dtype = result_type(start, stop)
        dtype = dtype if is_float(dtype) else _default_float()
    comp = dtype if is_float(dtype) else _default_float()
    start, stop = asarray(start, comp), asarray(stop, comp)
    bounds = list(broadcast_shapes(get_aval(start).shape, get_aval(stop).shape, op="linspace"))
    start = broadcast_to(start, bounds, op="linspace")
    stop = broadcast_to(stop, bounds, op="linspace")
    axis = len(bounds) + axis + 1 if axis < 0 else axis
    out_shape = list(bounds)
    out_shape.insert(axis, num)
    bdims = tuple(i for i in range(len(bounds) + 1) if i != axis)
    div = (num - 1) if endpoint else num
    if num > 1:
        delta = P.div(P.sub(stop, start), np.asarray(div, comp))
        iota_shape = out_shape[:axis] + [div] + out_shape[axis + 1:]
        step = P.div(P.broadcasted_iota(comp, tuple(iota_shape), axis), np.asarray(div, comp))
        lo = P.broadcast_in_dim(start, tuple(iota_shape), bdims)
        hi = P.broadcast_in_dim(stop, tuple(iota_shape), bdims)
        out = P.add(P.mul(lo, P.sub(np.asarray(1, comp), step)), P.mul(hi, step))
        if endpoint:
            last = P.broadcast_in_dim(stop, tuple(iota_shape[:axis] + [1] + iota_shape[axis + 1:]),
                                      bdims)
            out = P.concatenate([out, last], axis)
    elif num == 1:
        delta = _constant(np.asarray(np.nan, comp)) if endpoint else P.sub(stop, start)
        out = P.broadcast_in_dim(start, tuple(out_shape), bdims)
    else:
        delta = _constant(np.asarray(np.nan, comp))
        out = zeros(tuple(out_shape), comp)
    if jax.dtypes.issubdtype(dtype, np.integer):
        out = P.floor(out)
    if get_aval(out).dtype != dtype:
        out = P.convert_element_type(out, dtype)
    return (out, delta) if retstep else out


# --- eye / tri ---------------------------------------------------------------------------
def _diag_compare(cmp, N: int, M: int | None, k: int, dtype):
    """``cmp(row + k, col)`` over an (N, M) grid, cast to ``dtype``."""
    N = operator.index(N)
    M = N if M is None else operator.index(M)
    k = operator.index(k)
    if N < 0 or M < 0:
        raise ShapeError(f"negative dimensions are not allowed: N={N}, M={M}.")
    shape = (N, M)
    rows = P.broadcasted_iota(np.dtype(np.int32), shape, 0)
    cols = P.broadcasted_iota(np.dtype(np.int32), shape, 1)
    mask = cmp(P.add(rows, np.int32(k)) if k else rows, cols)
    dtype = _user_dtype(dtype) or _default_float()
    return mask if dtype == np.bool_ else P.convert_element_type(mask, dtype)


def eye(N: int, M: int | None = None, k: int = 0, dtype=None):
    """As jnp.eye."""
    return _diag_compare(P.eq, N, M, k, dtype)


def identity(n: int, dtype=None):
    """As jnp.identity."""
    return eye(n, dtype=dtype)


def tri(N: int, M: int | None = None, k: int = 0, dtype=None):
    """As jnp.tri: ones at and below the k-th diagonal."""
    return _diag_compare(P.ge, N, M, k, dtype)
