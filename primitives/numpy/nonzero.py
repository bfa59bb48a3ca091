"""Indices of nonzero elements (as jax.numpy): ``nonzero``, ``argwhere``,
``flatnonzero`` and the one-argument ``where``.

Their output length depends on the data. With ``size=N`` the result has N
entries (the first N nonzeros, then ``fill_value``, default 0) and traces under
every transformation; without it the input must be concrete (eager), and a
traced one raises ConcretizationError, as JAX's concretization error.

The positions come without a sort: ``bincount(cumsum(mask), length=N)`` counts,
for each output slot k, how many elements precede the k-th nonzero; its running
sum is that nonzero's flat index (JAX's formulation).
"""
from __future__ import annotations

import operator

import numpy as np

from fx.core import Tracer, get_aval
from fx.errors import ConcretizationError
from primitives.numpy import manipulation as _man, math as _m, reductions as _red
from primitives.numpy import sequences as _seq
from primitives.numpy._util import shape_of
from primitives.numpy.creation import arange, asarray

__all__ = ["nonzero", "argwhere", "flatnonzero", "where"]


def _size(mask, size, op: str) -> int:
    if size is not None:
        return operator.index(size)
    if isinstance(mask, Tracer):
        raise ConcretizationError(
            f"{op}: the number of nonzero elements depends on traced values, so the output "
            f"shape is unknown. Fix: pass size=N (a static int; missing entries are "
            f"fill_value, default 0), as jnp.{op} requires under jit.")
    return int(np.count_nonzero(np.asarray(mask)))


def nonzero(a, *, size=None, fill_value=None):
    """As jnp.nonzero: a tuple of index arrays, one per axis.

    Args:
      a: an array of at least one dimension.
      size: the static number of indices returned (required under tracing).
      fill_value: the index written past the last nonzero (a scalar or one per
        axis); default 0.

    Returns:
      ``ndim`` int32 arrays of length ``size`` (or the count of nonzeros).
    """
    a = asarray(a)
    shape = shape_of(a)
    if not shape:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use "
                         "jnp.atleast_1d(scalar).nonzero() instead.")
    mask = a if get_aval(a).dtype == np.bool_ else _m.not_equal(a, 0)
    n = _size(mask, size, "nonzero")
    flat = _man.ravel(mask)
    if n == 0:
        return tuple(arange(0, dtype=np.int32) for _ in shape)
    counts = _seq.bincount(_red.cumsum(flat.astype(np.int32)), length=n)
    flat_index = _red.cumsum(counts)
    strides = np.cumprod((1,) + shape[::-1][:-1])[::-1]
    out = [(flat_index // int(s)) % d for s, d in zip(strides, shape)]
    if fill_value is not None:
        fills = fill_value if isinstance(fill_value, (tuple, list)) else (fill_value,) * len(shape)
        if len(fills) != len(shape):
            raise ValueError(f"fill_value must be a scalar or a tuple of length {len(shape)}; "
                             f"got {fill_value!r}")
        past = arange(n) >= _red.sum(flat.astype(np.int32))
        out = [_m.where(past, asarray(f, entry.dtype), entry) for f, entry in zip(fills, out)]
    return tuple(entry.astype(np.int32) for entry in out)


def flatnonzero(a, *, size=None, fill_value=None):
    """As jnp.flatnonzero: indices of the nonzero elements of ``ravel(a)``."""
    return nonzero(_man.ravel(asarray(a)), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    """As jnp.argwhere: ``[N, ndim]`` indices of the nonzero elements (a 0-d input
    counts as 1-d)."""
    a = asarray(a)
    ndim = len(shape_of(a))
    result = _man.stack(nonzero(_man.atleast_1d(a), size=size, fill_value=fill_value), axis=1)
    return result[:, :0] if ndim == 0 else result


def where(condition, x=None, y=None, /, *, size=None, fill_value=None):
    """As jnp.where: ``select(condition, x, y)`` with three arguments; with one,
    ``nonzero(condition, size=, fill_value=)``."""
    if x is None and y is None:
        return nonzero(condition, size=size, fill_value=fill_value)
    return _m.where(condition, x, y, size=size, fill_value=fill_value)
