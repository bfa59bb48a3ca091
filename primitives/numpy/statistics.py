"""Order statistics and NaN-ignoring scans (as jax.numpy): ``quantile``,
``percentile``, ``median`` and their ``nan`` variants, ``nancumsum``,
``nancumprod``.

Quantiles sort the reduced axes (merged into one, last) and interpolate
between the two neighbouring order statistics, as jax.numpy does.

Example::

    >>> import primitives.numpy as fnp
    >>> fnp.median(fnp.array([3.0, 1.0, 2.0]))
    Array(2., dtype=float32)
"""
from __future__ import annotations

import math as _math

import numpy as np

import primitives as P
from fx.core import canonical_dtype, get_aval
from fx.dtypes import kind
from primitives.numpy import (indexing as _ix, manipulation as _man, math as _m,
                              reductions as _red)
from primitives.numpy._util import canonicalize_axes, shape_of
from primitives.numpy.creation import asarray

__all__ = ["quantile", "percentile", "median", "nanquantile", "nanpercentile", "nanmedian",
           "nancumsum", "nancumprod"]

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(a, q, axis, method, keepdims, squash_nans, name):
    if method not in _METHODS:
        raise ValueError("method can only be 'linear', 'lower', 'higher', 'midpoint', or "
                         f"'nearest' (got {method!r}; 'inverted_cdf' is not supported)")
    a, = _m.promote_inexact(asarray(a))  # q is computed in a's dtype, as jax.numpy
    q = P.convert_element_type(asarray(q), get_aval(a).dtype)
    if kind(get_aval(a).dtype) == "c":
        raise ValueError("quantile does not support complex input, as the operation is poorly "
                         "defined.")
    q_shape = shape_of(q)
    if len(q_shape) > 1:
        raise ValueError(f"q must be have rank <= 1, got shape {q_shape}")
    shape = shape_of(a)
    axes = canonicalize_axes(axis, len(shape), name)
    kept = [i for i in range(len(shape)) if i not in axes]
    kept_shape = tuple(shape[i] for i in kept)
    n = _math.prod(shape[i] for i in axes)
    a = P.reshape(_man.transpose(a, kept + list(axes)), kept_shape + (n,))
    isnan = _m.isnan(a)
    if squash_nans:
        a = P.sort(_m.where(isnan, np.nan, a), len(kept_shape))
        counts = P.convert_element_type(
            _red.sum(P.convert_element_type(_m.logical_not(isnan), np.int32), axis=-1),
            get_aval(q).dtype)
        limit = _m.subtract(counts, 1)
    else:
        a = P.sort(_m.where(_red.any(isnan, axis=-1, keepdims=True), np.nan, a),
                   len(kept_shape))
        counts = asarray(np.asarray(n, get_aval(q).dtype))
        limit = asarray(np.asarray(n - 1, get_aval(q).dtype))
    qe = P.reshape(q, q_shape + (1,) * len(kept_shape)) if kept_shape else q
    pos = _m.multiply(qe, _m.subtract(counts, 1))
    low, high = _m.floor(pos), _m.ceil(pos)
    high_w = _m.subtract(pos, low)
    low_w = _m.subtract(1, high_w)
    low = _m.maximum(0, _m.minimum(low, limit))
    high = _m.maximum(0, _m.minimum(high, limit))
    out_shape = q_shape + kept_shape
    idx_dt = canonical_dtype(np.int64)
    a_b = _man.broadcast_to(a, out_shape + (n,))

    def at(i):
        i = _man.broadcast_to(P.convert_element_type(i, idx_dt), out_shape)
        return _ix.getitem(_ix.take_along_axis(a_b, _man.expand_dims(i, -1), axis=-1),
                           (Ellipsis, 0))

    lo_v, hi_v = at(low), at(high)
    if method == "linear":
        res = _m.add(_m.multiply(lo_v, low_w), _m.multiply(hi_v, high_w))
    elif method == "lower":
        res = lo_v
    elif method == "higher":
        res = hi_v
    elif method == "nearest":
        res = _m.where(_m.less_equal(high_w, 0.5), lo_v, hi_v)
    else:
        res = _m.multiply(_m.add(lo_v, hi_v), 0.5)
    if keepdims:
        res = P.reshape(res, q_shape + tuple(1 if i in axes else d for i, d in enumerate(shape)))
    return res


def _no_out(out, overwrite_input, name):
    if out is not None:
        raise NotImplementedError(f"The 'out' argument to jnp.{name} is not supported.")
    if overwrite_input:
        raise ValueError(f"jax.numpy.{name} does not support overwrite_input=True.")


def _no_weights(weights, name):
    if weights is not None:
        raise NotImplementedError(f"{name}: weights are not supported (see report)")


def quantile(a, q, axis=None, out=None, overwrite_input: bool = False, method: str = "linear",
             keepdims: bool = False, *, weights=None):
    """As jnp.quantile (``q`` in [0, 1], a scalar or 1-d)."""
    _no_out(out, overwrite_input, "quantile")
    _no_weights(weights, "quantile")
    return _quantile(a, q, axis, method, keepdims, False, "quantile")


def nanquantile(a, q, axis=None, out=None, overwrite_input: bool = False, method: str = "linear",
                keepdims: bool = False, *, weights=None):
    """As jnp.nanquantile: quantiles of the non-NaN elements."""
    _no_out(out, overwrite_input, "nanquantile")
    _no_weights(weights, "nanquantile")
    return _quantile(a, q, axis, method, keepdims, True, "nanquantile")


def percentile(a, q, axis=None, out=None, overwrite_input: bool = False, method: str = "linear",
               keepdims: bool = False, *, weights=None):
    """As jnp.percentile: ``quantile(a, q / 100)``."""
    _no_out(out, overwrite_input, "percentile")
    _no_weights(weights, "percentile")
    a, = _m.promote_inexact(asarray(a))
    return _quantile(a, _m.true_divide(asarray(q), 100.0), axis, method, keepdims, False, "percentile")


def nanpercentile(a, q, axis=None, out=None, overwrite_input: bool = False,
                  method: str = "linear", keepdims: bool = False, *, weights=None):
    """As jnp.nanpercentile: ``nanquantile(a, q / 100)``."""
    _no_out(out, overwrite_input, "nanpercentile")
    _no_weights(weights, "nanpercentile")
    a, = _m.promote_inexact(asarray(a))
    return _quantile(a, _m.true_divide(asarray(q), 100.0), axis, method, keepdims, True, "nanpercentile")


def median(a, axis=None, out=None, overwrite_input: bool = False, keepdims: bool = False):
    """As jnp.median: ``quantile(a, 0.5, method='midpoint')``."""
    _no_out(out, overwrite_input, "median")
    return _quantile(a, 0.5, axis, "midpoint", keepdims, False, "median")


def nanmedian(a, axis=None, out=None, overwrite_input: bool = False, keepdims: bool = False):
    """As jnp.nanmedian: the median of the non-NaN elements."""
    _no_out(out, overwrite_input, "nanmedian")
    return _quantile(a, 0.5, axis, "midpoint", keepdims, True, "nanmedian")


def _nan_scan(fn, fill, a, axis, dtype, out, name):
    if out is not None:
        raise NotImplementedError(f"The 'out' argument to jnp.{name} is not supported.")
    a = asarray(a)
    if kind(get_aval(a).dtype) in "fc":
        a = _m.where(_m.isnan(a), fill, a)
    return fn(a, axis=axis, dtype=dtype)


def nancumsum(a, axis=None, dtype=None, out=None):
    """As jnp.nancumsum: cumsum with NaNs counted as 0."""
    return _nan_scan(_red.cumsum, 0, a, axis, dtype, out, "nancumsum")


def nancumprod(a, axis=None, dtype=None, out=None):
    """As jnp.nancumprod: cumprod with NaNs counted as 1."""
    return _nan_scan(_red.cumprod, 1, a, axis, dtype, out, "nancumprod")
