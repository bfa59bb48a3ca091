"""Triangles, diagonals, repeat and tile (as jax.numpy): the manipulations
that select elements by index (``diagonal`` is a gather, traced ``repeat`` a
scatter + cumsum + take), built on ``manipulation`` and ``indexing``.

Example::

    >>> fnp.repeat(fnp.arange(3), 2)   # [0, 0, 1, 1, 2, 2]
"""
from __future__ import annotations

import operator

import numpy as np

import primitives as P
from fx.core import Tracer, get_aval
from fx.errors import ConcretizationError, ShapeError
from primitives.numpy._util import canonicalize_axis, shape_of
from primitives.numpy.indexing import at, getitem, take
from primitives.numpy.manipulation import (_INDEX_DTYPE, _arr, _index_tuple, _zeros_like,
                                           broadcast_to, moveaxis, ravel, roll)
from primitives.numpy.reductions import cumsum

__all__ = ["tril", "triu", "diag", "diagonal", "repeat", "tile"]


# --- triangles and diagonals -------------------------------------------------------------
def _lower_mask(n, m, k):
    """Boolean (n, m) mask of ``j <= i + k`` (the lower triangle from diagonal k)."""
    rows = P.broadcast_in_dim(P.iota(_INDEX_DTYPE, n), (n, m), (0,))
    cols = P.broadcast_in_dim(P.iota(_INDEX_DTYPE, m), (n, m), (1,))
    return P.ge(P.add(rows, np.int32(k)), cols)


def _triangle(m, k, lower, op):
    m = _arr(m)
    shape = shape_of(m)
    if len(shape) < 2:
        raise ShapeError(f"{op}: argument must be at least 2-D, got shape {shape}")
    nd = len(shape)
    k = operator.index(k)
    mask = _lower_mask(shape[-2], shape[-1], k if lower else k - 1)
    mask = P.broadcast_in_dim(mask, shape, (nd - 2, nd - 1))
    zeros = _zeros_like(m)
    return P.select_n(mask, zeros, m) if lower else P.select_n(mask, m, zeros)


def tril(m, k=0):
    """Lower triangle of the last two axes (elements above diagonal ``k`` zeroed), as jnp.tril."""
    return _triangle(m, k, True, "tril")


def triu(m, k=0):
    """Upper triangle of the last two axes (elements below diagonal ``k`` zeroed), as jnp.triu."""
    return _triangle(m, k, False, "triu")


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal ``offset`` of the 2-D sub-arrays on ``axis1``/``axis2``, as a new
    last axis (as jnp.diagonal)."""
    a = _arr(a)
    shape = shape_of(a)
    if len(shape) < 2:
        raise ShapeError(f"diagonal requires an array of at least two dimensions, got shape "
                         f"{shape}")
    offset = operator.index(offset)
    ax1, ax2 = canonicalize_axis(axis1, len(shape), "diagonal"), canonicalize_axis(
        axis2, len(shape), "diagonal")
    if ax1 == ax2:
        raise ShapeError(f"diagonal: axis1 and axis2 cannot be the same ({axis1}, {axis2})")
    a = moveaxis(a, (ax1, ax2), (-2, -1))
    n = max(0, min(shape[ax1] + min(offset, 0), shape[ax2] - max(offset, 0)))
    i = np.arange(n, dtype=_INDEX_DTYPE)
    j = np.arange(abs(offset), abs(offset) + n, dtype=_INDEX_DTYPE)
    return getitem(a, (Ellipsis, i, j) if offset >= 0 else (Ellipsis, j, i))


def diag(v, k=0):
    """Extract a diagonal (2-D input) or build a diagonal matrix (1-D input), as jnp.diag."""
    v = _arr(v)
    shape = shape_of(v)
    k = operator.index(k)
    if len(shape) == 2:
        return diagonal(v, offset=k)
    if len(shape) != 1:
        raise ShapeError(f"diag: input must be 1-D or 2-D, got shape {shape}")
    n = shape[0] + abs(k)
    aval = get_aval(v)
    v = P.pad(v, np.zeros((), aval.dtype) if not aval.weak_type else _zeros_like(v, ()),
              [(max(0, k), max(0, -k), 0)])
    rows = P.broadcast_in_dim(P.iota(_INDEX_DTYPE, n), (n, n), (0,))
    cols = P.broadcast_in_dim(P.iota(_INDEX_DTYPE, n), (n, n), (1,))
    mask = P.eq(P.add(rows, np.int32(k)), cols)
    v = P.broadcast_in_dim(v, (n, n), (1,))
    return P.select_n(mask, _zeros_like(v), v)


# --- repeat and tile -------------------------------------------------------------------
def _concrete(x, what):
    if isinstance(x, Tracer):
        v = x.concrete_value()
        if v is None:
            raise ConcretizationError(
                f"{what} must be static (got a traced {x.aval.str_short()}). Fix: pass a Python "
                f"int / numpy array, or give total_repeat_length.")
        return np.asarray(v)
    return np.asarray(x)


def repeat(a, repeats, axis=None, *, total_repeat_length=None):
    """Repeat elements of ``a`` (as jnp.repeat).

    Args:
      a: array.
      repeats: int, or per-element counts along ``axis`` (static, or traced with
        ``total_repeat_length``).
      axis: axis to repeat along (None: the flattened array).
      total_repeat_length: static length of the result along ``axis`` (needed
        for traced ``repeats``; extra entries are padded with the last element).
    """
    a = _arr(a)
    if axis is None:
        a, axis = ravel(a), 0
    shape = shape_of(a)
    axis = canonicalize_axis(operator.index(axis), len(shape), "repeat")
    if total_repeat_length is None:
        reps = _concrete(repeats, "repeat: `repeats`")
        if reps.ndim == 0:
            r = int(reps)
            aux = list(shape)
            aux.insert(axis + 1, r)
            b = P.broadcast_in_dim(a, aux, [i for i in range(len(aux)) if i != axis + 1])
            out = list(shape)
            out[axis] *= r
            return P.reshape(b, out)
        reps = np.broadcast_to(reps.ravel(), (shape[axis],))
        idx = np.repeat(np.arange(shape[axis], dtype=_INDEX_DTYPE), reps)
        return take(a, idx, axis=axis)
    return _repeat_traced(a, repeats, axis, operator.index(total_repeat_length))


def _repeat_traced(a, repeats, axis, total):
    """jnp's algorithm: scatter block starts, cumsum them into gather indices."""
    n = shape_of(a)[axis]
    if total == 0 or n == 0:
        out = list(shape_of(a))
        out[axis] = 0 if total == 0 else out[axis]
        return _zeros_like(a, tuple(out)) if total == 0 else a
    reps = broadcast_to(ravel(repeats), (n,))
    exclusive = at(roll(reps, 1, 0))[0].set(0)
    starts = cumsum(exclusive)
    marks = at(P.broadcast_in_dim(np.zeros((), _INDEX_DTYPE), (total,), ()))[starts].add(1)
    idx = P.sub(cumsum(marks), np.int32(1))
    return take(a, idx, axis=axis)


def tile(A, reps):
    """Repeat the whole array ``reps`` times along each axis (as jnp.tile)."""
    A = _arr(A)
    reps = _index_tuple(reps)
    shape = shape_of(A)
    nd = max(len(shape), len(reps))
    reps = (1,) * (nd - len(reps)) + reps
    shape = (1,) * (nd - len(shape)) + shape
    # broadcast to (r0, s0, r1, s1, ...) then merge each pair
    b_shape = tuple(x for r, s in zip(reps, shape) for x in (r, s))
    A = P.reshape(A, shape) if shape_of(A) != shape else A
    b = P.broadcast_in_dim(A, b_shape, tuple(range(1, 2 * nd, 2)))
    return P.reshape(b, tuple(r * s for r, s in zip(reps, shape)))
