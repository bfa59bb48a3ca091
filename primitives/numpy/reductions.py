"""Reductions (as jax.numpy): sum, prod, max, min, any, all, mean, var, std,
argmax, argmin, cumsum, cumprod, count_nonzero, average, ptp and nan-variants.

``axis`` is None (all axes), an int or a tuple of ints (negative allowed);
``keepdims``, ``dtype``, ``initial`` and ``where`` behave as in jax.numpy,
including its dtype rules: integer sums accumulate in the default int,
float16/bfloat16 sums and means accumulate in float32, means and variances of
integers are floats, ``argmax`` returns int32.
"""
from __future__ import annotations

import builtins
import math as _math
import operator
from typing import Callable, NamedTuple

import numpy as np
import jax

import primitives as P
from fx.core import canonical_dtype, get_aval
from fx.errors import ShapeError
from primitives.numpy._util import broadcast_to, canonicalize_axes, canonicalize_axis
from fx.dtypes import kind, to_inexact_dtype
from primitives.numpy.math import promote_inexact
from primitives.numpy.creation import asarray

__all__ = ["sum", "prod", "product", "max", "min", "amax", "amin", "any", "all", "mean",
           "var", "std", "argmax", "argmin", "cumsum", "cumprod", "cumulative_sum",
           "count_nonzero", "average", "ptp", "nansum", "nanprod", "nanmax", "nanmin",
           "nanmean", "nanvar", "nanstd", "nanargmax", "nanargmin"]


# --- helpers ------------------------------------------------------------------------------
def _arr(a):
    """Python scalars and numpy values as arrays (jnp.asarray); arrays unchanged."""
    if hasattr(a, "shape") and not isinstance(a, (np.ndarray, np.generic)):
        return a
    return asarray(a)


def _default_int() -> np.dtype:
    return canonical_dtype(np.int64)


def _default_float() -> np.dtype:
    return canonical_dtype(np.float64)


def _user_dtype(dtype):
    return None if dtype is None else canonical_dtype(np.dtype(dtype))


def _promote_integer(dtype: np.dtype) -> np.dtype:
    """Small integers/bools accumulate in the default int (numpy's rule, jax's width)."""
    if dtype == np.bool_:
        return _default_int()
    if dtype.kind in "iu":
        default = canonical_dtype(np.uint64 if dtype.kind == "u" else np.int64)
        if dtype.itemsize < default.itemsize:
            return default
    return dtype


def _upcast_f16(dtype: np.dtype) -> np.dtype:
    if dtype in (np.dtype(np.float16), np.dtype(jax.dtypes.bfloat16)):
        return np.dtype(np.float32)
    return dtype


def _convert(x, dtype: np.dtype):
    """``x`` as a strong array of ``dtype`` (convert_element_type only when needed)."""
    aval = get_aval(x)
    if aval.dtype == dtype and not aval.weak_type:
        return x
    return P.convert_element_type(x, dtype)


def _axes(axis, aval, name: str) -> tuple:
    return canonicalize_axes(axis, aval.ndim, op=f"{name} of {aval.str_short()}")


def _keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def _init_value(dtype: np.dtype, value) -> np.ndarray:
    """The reduction identity ``value`` (0, 1, +-inf) representable in ``dtype``."""
    if dtype == np.bool_:
        return np.asarray(value > 0, dtype)
    if np.isinf(value) and kind(dtype) in "iu":
        info = np.iinfo(dtype)
        return np.asarray(info.min if value < 0 else info.max, dtype)
    return np.asarray(value, dtype)


def _where_mask(where, shape: tuple, name: str):
    """A boolean mask broadcast to ``shape``."""
    where = _arr(where)
    if get_aval(where).dtype != np.bool_:
        where = P.ne(where, np.zeros((), get_aval(where).dtype))
    return broadcast_to(where, shape, op=name)


class _Monoid(NamedTuple):
    """A reduction: its lax reduce, the matching elementwise op and identity; the
    boolean variants; and the jnp preprocessing rule."""
    name: str
    reduce: Callable
    binop: Callable
    identity: float
    bool_reduce: Callable | None = None
    bool_binop: Callable | None = None
    has_identity: bool = True
    preproc: str | None = None   # "numeric" (bool -> int) or "bool"


def _reduction(m: _Monoid, a, axis=None, dtype=None, keepdims=False, initial=None,
               where=None, promote_integers=False, upcast_f16=False):
    """The shared body of the jnp reductions (jax's ``_reduction``)."""
    a = _arr(a)
    aval = get_aval(a)
    axes = _axes(axis, aval, m.name)
    if m.preproc == "bool" and aval.dtype != np.bool_:
        a = P.ne(a, np.zeros((), aval.dtype))
    elif m.preproc == "numeric" and aval.dtype == np.bool_:
        a = P.convert_element_type(a, _default_int(), weak_type=aval.weak_type)
    aval = get_aval(a)
    if initial is None and not m.has_identity:
        if where is not None:
            raise ValueError(f"reduction operation {m.name} has no identity: with a where= "
                             f"mask you must pass initial=.")
        if builtins.any(aval.shape[d] == 0 for d in axes):
            raise ValueError(f"zero-size array to reduction operation {m.name} which has no "
                             f"identity ({aval.str_short()}, axis={axis}). Fix: pass initial=.")
    result_dtype = _user_dtype(dtype)
    if result_dtype is None:
        result_dtype = _promote_integer(aval.dtype) if promote_integers else aval.dtype
    comp_dtype = _upcast_f16(result_dtype) if upcast_f16 and kind(result_dtype) in "fc" \
        else result_dtype
    a = _convert(a, comp_dtype)
    is_bool = comp_dtype == np.bool_
    reduce_fn = m.bool_reduce if is_bool and m.bool_reduce else m.reduce
    binop = m.bool_binop if is_bool and m.bool_binop else m.binop
    if where is not None:
        init = _init_value(comp_dtype, m.identity)
        a = P.select_n(_where_mask(where, aval.shape, m.name), P.broadcast_in_dim(
            init, aval.shape, ()), a)
    out = reduce_fn(a, axes) if axes else a
    if initial is not None:
        init = _arr(initial)
        if get_aval(init).shape != ():
            raise ValueError(f"{m.name}: initial value must be a scalar, got shape "
                             f"{get_aval(init).shape}.")
        out = binop(_convert(init, comp_dtype), out)
    if keepdims:
        out = P.reshape(out, _keepdims_shape(aval.shape, axes))
    return _convert(out, result_dtype)


_SUM = _Monoid("sum", P.reduce_sum, P.add, 0, P.reduce_or, P.bitwise_or, preproc="numeric")
_PROD = _Monoid("prod", P.reduce_prod, P.mul, 1, P.reduce_and, P.bitwise_and,
                preproc="numeric")
_MAX = _Monoid("max", P.reduce_max, P.max, -np.inf, P.reduce_or, P.bitwise_or,
               has_identity=False)
_MIN = _Monoid("min", P.reduce_min, P.min, np.inf, P.reduce_and, P.bitwise_and,
               has_identity=False)
_ANY = _Monoid("any", P.reduce_or, P.bitwise_or, 0, preproc="bool")
_ALL = _Monoid("all", P.reduce_and, P.bitwise_and, 1, preproc="bool")


def _no_out(out, name):
    if out is not None:
        raise NotImplementedError(f"The 'out' argument to {name} is not supported "
                                  f"(arrays are immutable).")


# --- sum / prod / max / min / any / all -------------------------------------------------------
def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None,
        promote_integers=True):
    """As jnp.sum (bool/small ints accumulate in int32; f16/bf16 in float32)."""
    _no_out(out, "sum")
    return _reduction(_SUM, a, axis, dtype, keepdims, initial, where,
                      promote_integers=promote_integers, upcast_f16=dtype is None)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None,
         promote_integers=True):
    """As jnp.prod."""
    _no_out(out, "prod")
    return _reduction(_PROD, a, axis, dtype, keepdims, initial, where,
                      promote_integers=promote_integers, upcast_f16=dtype is None)


product = prod


def max(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """As jnp.max (NaN propagates; an empty reduction needs ``initial``)."""
    _no_out(out, "max")
    return _reduction(_MAX, a, axis, None, keepdims, initial, where)


def min(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """As jnp.min."""
    _no_out(out, "min")
    return _reduction(_MIN, a, axis, None, keepdims, initial, where)


amax, amin = max, min


def any(a, axis=None, out=None, keepdims=False, *, where=None):
    """As jnp.any."""
    _no_out(out, "any")
    return _reduction(_ANY, a, axis, None, keepdims, None, where)


def all(a, axis=None, out=None, keepdims=False, *, where=None):
    """As jnp.all."""
    _no_out(out, "all")
    return _reduction(_ALL, a, axis, None, keepdims, None, where)


# --- mean / var / std -------------------------------------------------------------------------
def _inexact_dtype(dtype: np.dtype) -> np.dtype:
    return canonical_dtype(to_inexact_dtype(dtype))


def _count(aval, axes, keepdims, where, dtype, name):
    """The number of elements reduced, as ``dtype`` (an array when ``where`` is given)."""
    if where is None:
        return np.asarray(_math.prod(aval.shape[d] for d in axes), dtype)
    mask = _where_mask(where, aval.shape, name)
    return sum(mask, axes, dtype=dtype, keepdims=keepdims)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """As jnp.mean (integers give float32; f16/bf16 accumulate in float32)."""
    _no_out(out, "mean")
    a = _arr(a)
    aval = get_aval(a)
    axes = _axes(axis, aval, "mean")
    result_dtype = _user_dtype(dtype) or _inexact_dtype(aval.dtype)
    comp = _upcast_f16(result_dtype) if dtype is None and kind(result_dtype) in "fc" \
        else result_dtype
    total = sum(a, axes, dtype=comp, keepdims=keepdims, where=where)
    return _convert(P.div(total, _count(aval, axes, keepdims, where, comp, "mean")),
                    result_dtype)


def _correction(ddof, correction, name):
    if correction is None:
        return ddof
    if ddof != 0:
        raise ValueError(f"{name}: ddof and correction can't be provided simultaneously.")
    return correction


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        mean=None, correction=None):
    """As jnp.var: ``sum(|a - mean|**2) / (N - ddof)`` (nan where N - ddof <= 0)."""
    _no_out(out, "var")
    correction = _correction(ddof, correction, "var")
    a = _arr(a)
    aval = get_aval(a)
    axes = _axes(axis, aval, "var")
    user = _user_dtype(dtype)
    if user is not None:
        comp, result_dtype = user, user
        if kind(aval.dtype) == "c" and kind(user) != "c":
            raise ValueError("var: a real dtype for the variance of complex values is not "
                             "supported (as jnp.var). Fix: pass a complex dtype, or take the "
                             "variance of the real and imaginary parts.")
    elif kind(aval.dtype) not in "fc":
        comp = result_dtype = _inexact_dtype(aval.dtype)
    else:  # complex values: a real variance (|a - mean|**2)
        comp, result_dtype = aval.dtype, np.dtype(jax.numpy.finfo(aval.dtype).dtype)
    comp = _upcast_f16(comp)
    real = np.dtype(jax.numpy.finfo(comp).dtype)
    a = _convert(a, comp)
    a_mean = _mean_fn(a, axes, dtype=comp, keepdims=True, where=where) if mean is None \
        else _convert(_arr(mean), comp)
    d = P.sub(a, a_mean) if get_aval(a_mean).shape == aval.shape else \
        P.sub(a, broadcast_to(a_mean, aval.shape, op="var"))
    centered = P.real(P.mul(d, P.conj(d))) if kind(comp) == "c" else P.square(d)
    normalizer = _count(aval, axes, keepdims, where, real, "var")
    normalizer = P.sub(normalizer, np.asarray(correction, real))
    total = sum(centered, axes, dtype=real, keepdims=keepdims, where=where)
    result = _convert(P.div(total, normalizer), result_dtype)
    positive = P.gt(normalizer, np.zeros((), real))
    shape = get_aval(result).shape
    if get_aval(positive).shape != shape:
        positive = P.broadcast_in_dim(positive, shape, ())
    return P.select_n(positive, P.broadcast_in_dim(np.asarray(np.nan, result_dtype), shape, ()),
                      result)


_mean_fn = mean


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        mean=None, correction=None):
    """As jnp.std: ``sqrt(var(...))``."""
    _no_out(out, "std")
    a = _arr(a)
    _axes(axis, get_aval(a), "std")
    if dtype is not None and kind(np.dtype(dtype)) not in "fc":
        raise ValueError(f"dtype argument to std must be inexact; got {dtype}")
    return P.sqrt(var(a, axis, dtype, None, ddof, keepdims, where=where, mean=mean,
                      correction=correction))


# --- argmax / argmin --------------------------------------------------------------------------
def _arg_reduce(prim, name, a, axis, keepdims):
    a = _arr(a)
    aval = get_aval(a)
    if axis is None:
        if aval.size == 0:
            raise ValueError(f"attempt to get {name} of an empty sequence")
        flat = P.reshape(a, (aval.size,))
        out = prim(flat, 0, np.dtype(np.int32))
        return P.reshape(out, (1,) * aval.ndim) if keepdims else out
    axis = canonicalize_axis(operator.index(axis), aval.ndim, op=f"{name} of {aval.str_short()}")
    if aval.shape[axis] == 0:
        raise ValueError(f"attempt to get {name} of an empty sequence")
    if aval.ndim == 0:
        out = P.broadcast_in_dim(np.int32(0), (), ())
    else:
        out = prim(a, axis, np.dtype(np.int32))
    return P.reshape(out, _keepdims_shape(aval.shape, (axis,))) if keepdims else out


def argmax(a, axis=None, out=None, keepdims=None):
    """As jnp.argmax: int32 indices; the first maximum on ties; NaN counts as maximal."""
    _no_out(out, "argmax")
    return _arg_reduce(P.argmax, "argmax", a, axis, keepdims)


def argmin(a, axis=None, out=None, keepdims=None):
    """As jnp.argmin."""
    _no_out(out, "argmin")
    return _arg_reduce(P.argmin, "argmin", a, axis, keepdims)


# --- cumulative -------------------------------------------------------------------------------
def _cumulative(prim, name, a, axis, dtype, promote_integers=False):
    python_scalar = type(a) in (builtins.bool, int, float, complex)
    a = _arr(a)
    aval = get_aval(a)
    if axis is None or python_scalar:  # (as jnp: a 0-d array with an axis is an error)
        a = P.reshape(a, (aval.size,))
        aval = get_aval(a)
    axis = canonicalize_axis(0 if axis is None else operator.index(axis), aval.ndim,
                             op=f"{name} of {aval.str_short()}")
    user = _user_dtype(dtype)
    if user is None:
        result = _promote_integer(aval.dtype) if promote_integers or aval.dtype == np.bool_ \
            else aval.dtype
        comp = result
    elif user == np.bool_:
        result = user
        if aval.dtype != np.bool_:
            a = P.ne(a, np.zeros((), aval.dtype))
        comp = _promote_integer(user)
    else:
        result = comp = user
    out = prim(_convert(a, comp), axis)
    return _convert(out, result)


def cumsum(a, axis=None, dtype=None, out=None):
    """As jnp.cumsum (axis=None flattens; bools accumulate in int32)."""
    _no_out(out, "cumsum")
    return _cumulative(P.cumsum, "cumsum", a, axis, dtype)


def cumprod(a, axis=None, dtype=None, out=None):
    """As jnp.cumprod."""
    _no_out(out, "cumprod")
    return _cumulative(P.cumprod, "cumprod", a, axis, dtype)


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    """As jnp.cumulative_sum (axis required unless x is 1-d)."""
    x = _arr(x)
    aval = get_aval(x)
    if axis is None:
        if aval.ndim > 1:
            raise ValueError(f"cumulative_sum: axis is required for {aval.ndim}-d input.")
        axis = 0
    out = _cumulative(P.cumsum, "cumulative_sum", x, axis, dtype, promote_integers=True)
    if include_initial:
        axis = canonicalize_axis(axis, aval.ndim)
        pad = [(0, 0, 0)] * aval.ndim
        pad[axis] = (1, 0, 0)
        out = P.pad(out, np.zeros((), get_aval(out).dtype), pad)
    return out


# --- derived ----------------------------------------------------------------------------------
def count_nonzero(a, axis=None, keepdims=False):
    """As jnp.count_nonzero (int32)."""
    a = _arr(a)
    _axes(axis, get_aval(a), "count_nonzero")
    return sum(P.ne(a, np.zeros((), get_aval(a).dtype)), axis, dtype=_default_int(),
               keepdims=keepdims)


def ptp(a, axis=None, out=None, keepdims=False):
    """As jnp.ptp: ``max - min``."""
    _no_out(out, "ptp")
    return P.sub(max(a, axis, keepdims=keepdims), min(a, axis, keepdims=keepdims))


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """As jnp.average (weights of a's shape, or 1-d along a single ``axis``)."""
    a = _arr(a)
    aval = get_aval(a)
    axes = _axes(axis, aval, "average")
    if weights is None:
        a, = promote_inexact(a)
        avg = mean(a, axis, keepdims=keepdims)
        dt = get_aval(avg).dtype
        weights_sum = P.broadcast_in_dim(
            np.asarray(_math.prod(aval.shape[d] for d in axes), dt), (), ())
    else:
        a, weights = promote_inexact(a, _arr(weights))
        w_shape = get_aval(weights).shape
        if w_shape != aval.shape:
            if axis is None:
                raise ValueError("average: axis must be specified when shapes of a and "
                                 "weights differ.")
            if w_shape != tuple(aval.shape[d] for d in axes):
                raise ShapeError(f"average: shape of weights {w_shape} must be consistent "
                                 f"with the shape of a {aval.shape} along axis {axis}.")
            order = tuple(int(i) for i in np.argsort(axes))
            new_shape = tuple(d if i in axes else 1 for i, d in enumerate(aval.shape))
            weights = P.reshape(weights, new_shape, order)
            weights = broadcast_to(weights, aval.shape, op="average")
        weights_sum = sum(weights, axis, keepdims=keepdims)
        avg = P.div(sum(P.mul(a, weights), axis, keepdims=keepdims), weights_sum)
    if returned:
        if get_aval(weights_sum).shape != get_aval(avg).shape:
            weights_sum = broadcast_to(weights_sum, get_aval(avg).shape, op="average")
        return avg, weights_sum
    return avg


# --- nan-ignoring variants --------------------------------------------------------------------
def _nan_replaced(a, value):
    a = _arr(a)
    dtype = get_aval(a).dtype
    if kind(dtype) not in "fc":
        return a, False
    fill = P.broadcast_in_dim(_init_value(dtype, value), get_aval(a).shape, ())
    return P.select_n(P.ne(a, a), a, fill), True


def _all_nan(a, axis, keepdims):
    return all(P.ne(a, a), axis, keepdims=keepdims)


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """As jnp.nansum: NaNs count as 0."""
    _no_out(out, "nansum")
    return sum(_nan_replaced(a, 0)[0], axis, dtype, None, keepdims, initial, where)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """As jnp.nanprod: NaNs count as 1."""
    _no_out(out, "nanprod")
    return prod(_nan_replaced(a, 1)[0], axis, dtype, None, keepdims, initial, where)


def _nan_extreme(fn, value, a, axis, keepdims, initial, where):
    a = _arr(a)
    b, is_float = _nan_replaced(a, value)
    out = fn(b, axis, keepdims=keepdims, initial=initial, where=where)
    if not is_float:
        return out
    nan = P.broadcast_in_dim(np.asarray(np.nan, get_aval(out).dtype), get_aval(out).shape, ())
    return P.select_n(_all_nan(a, axis, keepdims), out, nan)


def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """As jnp.nanmax: NaNs ignored (NaN where all are NaN)."""
    _no_out(out, "nanmax")
    return _nan_extreme(max, -np.inf, a, axis, keepdims, initial, where)


def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """As jnp.nanmin."""
    _no_out(out, "nanmin")
    return _nan_extreme(min, np.inf, a, axis, keepdims, initial, where)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """As jnp.nanmean: the mean of the non-NaN elements."""
    _no_out(out, "nanmean")
    a = _arr(a)
    if kind(get_aval(a).dtype) not in "fc":
        return mean(a, axis, dtype, None, keepdims, where=where)
    dtype = _user_dtype(dtype) or get_aval(a).dtype
    normalizer = sum(P.eq(a, a), axis, dtype=dtype, keepdims=keepdims, where=where)
    return P.div(nansum(a, axis, dtype=dtype, keepdims=keepdims, where=where), normalizer)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None,
           correction=None):
    """As jnp.nanvar: the variance of the non-NaN elements."""
    _no_out(out, "nanvar")
    correction = _correction(ddof, correction, "nanvar")
    a = _arr(a)
    aval = get_aval(a)
    user = _user_dtype(dtype)
    if user is not None:
        comp = result_dtype = user
    elif kind(aval.dtype) not in "fc":
        comp = result_dtype = _inexact_dtype(aval.dtype)
    else:  # complex input: a real variance (JAX's _var_promote_types)
        comp, result_dtype = aval.dtype, np.finfo(aval.dtype).dtype
    comp = _upcast_f16(comp)
    a = _convert(a, comp)
    is_nan = P.ne(a, a)
    a_mean = nanmean(a, axis, comp, keepdims=True, where=where)
    centered = P.sub(a, broadcast_to(a_mean, aval.shape, op="nanvar"))
    centered = P.select_n(is_nan, centered,
                          P.broadcast_in_dim(np.zeros((), comp), aval.shape, ()))
    if kind(comp) == "c":  # |centered|**2
        squares = P.real(P.mul(centered, P.conj(centered)))
    else:
        squares = P.square(centered)
    sq_dtype = get_aval(squares).dtype
    normalizer = sum(P.bitwise_not(is_nan), axis, dtype=sq_dtype, keepdims=keepdims,
                     where=where)
    normalizer = P.sub(normalizer, np.asarray(correction, sq_dtype))
    result = P.div(sum(squares, axis, keepdims=keepdims, where=where), normalizer)
    nan = P.broadcast_in_dim(np.asarray(np.nan, sq_dtype), get_aval(result).shape, ())
    return _convert(P.select_n(P.gt(normalizer, np.zeros((), sq_dtype)), nan, result),
                    result_dtype)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None,
           correction=None):
    """As jnp.nanstd."""
    _no_out(out, "nanstd")
    return P.sqrt(nanvar(a, axis, dtype, None, ddof, keepdims, where, correction))


def _nanarg(fn, value, name, a, axis, keepdims):
    a = _arr(a)
    b, is_float = _nan_replaced(a, value)
    out = fn(b, axis, keepdims=keepdims)
    if not is_float:
        return out
    return P.select_n(_all_nan(a, axis, builtins.bool(keepdims)), out,
                      P.broadcast_in_dim(np.int32(-1), get_aval(out).shape, ()))


def nanargmax(a, axis=None, out=None, keepdims=None):
    """As jnp.nanargmax: NaNs ignored (-1 where all are NaN)."""
    _no_out(out, "nanargmax")
    return _nanarg(argmax, -np.inf, "nanargmax", a, axis, keepdims)


def nanargmin(a, axis=None, out=None, keepdims=None):
    """As jnp.nanargmin."""
    _no_out(out, "nanargmin")
    return _nanarg(argmin, np.inf, "nanargmin", a, axis, keepdims)
