"""Statistics of samples in ``jax.scipy.stats``: ``mode``, ``rankdata`` and ``sem``
(as JAX: sort and count, NaN propagation only).

Example::

    >>> import numpy as np
    >>> from primitives.scipy import stats
    >>> stats.rankdata(np.array([3., 1., 3., 2.], np.float32))   # [3.5, 1, 3.5, 2]

References:
    JAX's ``jax/_src/scipy/stats/_core.py``; SciPy's ``scipy.stats``.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

import primitives as P
import primitives.numpy as fnp
from fx.core import canonical_dtype, get_aval
from primitives.numpy._util import canonicalize_axis
from primitives.numpy.creation import asarray
from primitives.numpy.math import promote_inexact

__all__ = ["ModeResult", "mode", "rankdata", "sem"]


def _arr(x, who):
    if isinstance(x, (list, tuple)):
        raise TypeError(f"{who} requires ndarray or scalar arguments, got {type(x).__name__} "
                        f"at position 0.")
    return asarray(x) if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)) \
        else x


def _check_nan_policy(nan_policy, who):
    if nan_policy not in ["propagate", "omit", "raise"]:
        raise ValueError(f"Illegal nan_policy value {nan_policy!r}; expected one of "
                         "{'propagate', 'omit', 'raise'}")
    if nan_policy == "omit":
        raise NotImplementedError(f"Logic for `nan_policy` of {nan_policy} is not implemented")
    if nan_policy == "raise":
        raise NotImplementedError(
            f"In order to best JIT compile `{who}`, we cannot know whether `x` contains nans. "
            f"Please check if nans exist in `x` outside of the `{who}` function.")


class ModeResult(NamedTuple):
    """``(mode, count)`` as jax.scipy.stats.mode returns."""
    mode: Any
    count: Any


def mode(a, axis: int | None = 0, nan_policy: str = "propagate", keepdims: bool = False):
    """The most frequent value along ``axis`` (the smallest on ties) and its count.

    Args:
      a: the samples.
      axis: the axis (None: all of ``a``).
      nan_policy: 'propagate' only (as JAX).
      keepdims: keep ``axis`` with size 1.

    Returns:
      ``ModeResult(mode, count)``.

    References:
      jax.scipy.stats.mode.
    """
    x = fnp.atleast_1d(_arr(a, "mode"))
    _check_nan_policy(nan_policy, "mode")
    shape = get_aval(x).shape
    if axis is not None:
        axis = canonicalize_axis(axis, len(shape), "mode")
    if keepdims:
        out_shape = (tuple(1 for _ in shape) if axis is None
                     else tuple(1 if i == axis else s for i, s in enumerate(shape)))
    else:
        out_shape = () if axis is None else tuple(s for i, s in enumerate(shape) if i != axis)
    if axis is None:
        axis = 0
        x = x.ravel()
    x = fnp.moveaxis(x, axis, 0)
    xs = get_aval(x).shape
    x = x.reshape(xs[0], math.prod(xs[1:]))
    if xs[0] == 0:
        dtype = canonical_dtype(float)
        n = get_aval(x).shape[1]
        vals, counts = fnp.full((n,), np.nan, dtype), fnp.zeros((n,), dtype)
    else:
        def helper(col):
            v, c = fnp.unique(col, return_counts=True, size=xs[0])
            return v[fnp.argmax(c)], c.max()
        vals, counts = fnp.vectorize(helper, signature="(n)->(),()")(x.T)
    return ModeResult(vals.reshape(out_shape), counts.reshape(out_shape))


def _invert_permutation(i):
    n = get_aval(i).shape[0]
    return fnp.empty_like(i).at[i].set(fnp.arange(n, dtype=get_aval(i).dtype))


def rankdata(a, method: str = "average", *, axis: int | None = None,
             nan_policy: str = "propagate"):
    """Ranks of the data, ties by ``method`` (NaN everywhere if there is a NaN).

    Args:
      a: the data.
      method: 'average', 'min', 'max', 'dense' or 'ordinal'.
      axis: rank along this axis (None: the flattened data).
      nan_policy: 'propagate' only (as JAX).

    Returns:
      The ranks (default float dtype), starting at 1.

    References:
      jax.scipy.stats.rankdata.
    """
    a = _arr(a, "rankdata")
    _check_nan_policy(nan_policy, "rankdata")
    if method not in ("average", "min", "max", "dense", "ordinal"):
        raise ValueError(f"unknown method '{method}'")
    if axis is not None:
        return fnp.apply_along_axis(rankdata, axis, a, method)
    a = fnp.ravel(a)
    out_dtype = canonical_dtype(float)
    size = get_aval(a).shape[0]

    def ranks(a):
        arr, sorter = P.sort_key_val(a, fnp.arange(size))
        inv = _invert_permutation(sorter)
        if method == "ordinal":
            return (inv + 1).astype(out_dtype)
        obs = fnp.concatenate([fnp.array([True]), arr[1:] != arr[:-1]])
        dense = obs.cumsum()[inv]
        if method == "dense":
            return dense.astype(out_dtype)
        count = fnp.nonzero(obs, size=size + 1, fill_value=size)[0].astype(out_dtype)
        if method == "max":
            return count[dense]
        if method == "min":
            return count[dense - 1] + 1
        return .5 * (count[dense] + count[dense - 1] + 1)

    return P.cond(fnp.any(fnp.isnan(a)), lambda a: fnp.full_like(a, np.nan, out_dtype),
                  ranks, a)


def sem(a, axis: int | None = 0, ddof: int = 1, nan_policy: str = "propagate", *,
        keepdims: bool = False):
    """The standard error of the mean: ``std(a, ddof) / sqrt(n)``.

    Args:
      a: the samples.
      axis: the axis (None: all).
      ddof: delta degrees of freedom.
      nan_policy: 'propagate' or 'omit' (NaNs left out).
      keepdims: keep ``axis`` with size 1.

    Returns:
      The standard error.

    References:
      jax.scipy.stats.sem.
    """
    b, = promote_inexact(_arr(a, "sem"))
    dtype = get_aval(b).dtype
    if nan_policy == "propagate":
        size = get_aval(b).size if axis is None else get_aval(b).shape[axis]
        return b.std(axis, ddof=ddof, keepdims=keepdims) / fnp.sqrt(size).astype(dtype)
    if nan_policy == "omit":
        count = (~fnp.isnan(b)).sum(axis, keepdims=keepdims)
        return fnp.nanstd(b, axis, ddof=ddof, keepdims=keepdims) / fnp.sqrt(count).astype(dtype)
    raise ValueError(f"{nan_policy} is not supported")
