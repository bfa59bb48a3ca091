"""fnp.linalg (as jax.numpy.linalg): norms, built from the fnp reductions.

Matrix norms that need singular values (``ord`` 2, -2, 'nuc' over two axes)
are not available yet: there is no SVD primitive.
"""
from __future__ import annotations

import numpy as np

import primitives as P
from fx.core import get_aval
from primitives.numpy import reductions as _red
from primitives.numpy._util import canonicalize_axes
from primitives.numpy.math import absolute, promote_inexact, sqrt
from primitives.numpy.creation import asarray

__all__ = ["norm", "vector_norm", "matrix_norm"]


def _sum_squares(x, axis, keepdims):
    return _red.sum(P.mul(x, x), axis=axis, keepdims=keepdims)


def _vector_norm(x, ord, axis, keepdims):
    """The vector ``ord``-norm of inexact ``x`` over ``axis`` (jnp.linalg.vector_norm)."""
    if ord is None or ord == 2:
        return sqrt(_sum_squares(x, axis, keepdims))
    if ord == np.inf:
        return _red.max(absolute(x), axis=axis, keepdims=keepdims, initial=0)
    if ord == -np.inf:
        return _red.min(absolute(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        dtype = get_aval(x).dtype
        return _red.sum(P.ne(x, np.zeros((), dtype)), axis=axis, dtype=dtype,
                        keepdims=keepdims)
    if ord == 1:
        return _red.sum(absolute(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid order {ord!r} for vector norm"
                         + (" (use numpy.inf, not a string)." if "inf" in ord else "."))
    abs_x = absolute(x)
    dtype = get_aval(abs_x).dtype
    total = _red.sum(P.pow(abs_x, np.asarray(ord, dtype)), axis=axis, keepdims=keepdims)
    return P.pow(total, np.asarray(1.0 / np.asarray(ord, dtype), dtype))


def _matrix_norm(x, ord, axes, keepdims):
    row, col = axes
    if ord is None or ord in ("f", "fro"):
        return sqrt(_sum_squares(x, axes, keepdims))
    if ord in (1, -1):
        if not keepdims and col > row:
            col -= 1
        colsums = _red.sum(absolute(x), axis=row, keepdims=keepdims)
        return _red.max(colsums, axis=col, keepdims=keepdims, initial=0) if ord == 1 else \
            _red.min(colsums, axis=col, keepdims=keepdims)
    if ord in (np.inf, -np.inf):
        if not keepdims and row > col:
            row -= 1
        rowsums = _red.sum(absolute(x), axis=col, keepdims=keepdims)
        return _red.max(rowsums, axis=row, keepdims=keepdims, initial=0) if ord > 0 else \
            _red.min(rowsums, axis=row, keepdims=keepdims)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"norm: the matrix {ord!r}-norm needs singular values, and "
                                  f"fxjax has no SVD primitive yet. Use ord='fro', 1 or inf.")
    raise ValueError(f"Invalid order {ord!r} for matrix norm.")


def norm(x, ord=None, axis=None, keepdims=False):
    """As jnp.linalg.norm: a vector norm over one axis, a matrix norm over two
    (``ord`` None/'fro', 1, -1, inf, -inf; matrix 2/-2/'nuc' are not supported),
    the 2-norm of the flattened array for ``axis=None, ord=None``."""
    x, = promote_inexact(x)
    if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)):
        x = asarray(x)
    aval = get_aval(x)
    if axis is None:
        if ord is None:
            return sqrt(_sum_squares(x, None, keepdims))
        axes = tuple(range(aval.ndim))
    else:
        axes = canonicalize_axes(axis, aval.ndim, op=f"norm of {aval.str_short()}")
    if len(axes) == 1:
        return _vector_norm(x, 2 if ord is None else ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"Improper number of axes for norm: axis={axis}. Pass one axis to "
                     f"compute a vector norm, or two axes to compute a matrix norm.")


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """As jnp.linalg.vector_norm (``axis=None`` flattens)."""
    x, = promote_inexact(x)
    if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)):
        x = asarray(x)
    aval = get_aval(x)
    if axis is None:
        out = _vector_norm(P.reshape(x, (aval.size,)), ord, (0,), False)
        return P.reshape(out, (1,) * aval.ndim) if keepdims else out
    axes = canonicalize_axes(axis, aval.ndim, op=f"vector_norm of {aval.str_short()}")
    return _vector_norm(x, ord, axes, keepdims)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """As jnp.linalg.matrix_norm: the norm over the last two axes."""
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)
