"""fnp.linalg (as jax.numpy.linalg): norms, built from the fnp reductions (the
matrix 2, -2 and nuclear norms from the SVD), the array-API names (outer,
cross, vecdot, matmul, tensordot, trace, diagonal, matrix_transpose,
multi_dot), and the decompositions and solvers of ``linalg_solve``.

``eig`` / ``eigvals`` call the lax-level ``eig`` (primitives/linalg_eig.py;
CPU only, as JAX).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

import primitives as P
from fx.core import get_aval
from fx.dtypes import is_complex
from primitives.numpy import reductions as _red
from primitives.numpy._util import canonicalize_axes
from primitives.numpy.math import absolute, promote_inexact, sqrt
from primitives.numpy.creation import asarray
from primitives.numpy.manipulation import moveaxis
from primitives.numpy._promote import promote
from primitives.numpy import linalg_ops as _ops
from primitives.numpy import sequences as _seq
from primitives.numpy import tiling as _tiling
from primitives.numpy import linalg_solve as _solve
from primitives.numpy.linalg_solve import (  # noqa: F401  (re-exported)
    cholesky, qr, svd, svdvals, eigh, eigvalsh, solve, inv, det, slogdet, pinv,
    matrix_power, matrix_rank, tensorsolve, tensorinv, QRResult, SVDResult, EighResult,
    SlogdetResult)

_np, _shape, _mm, _inexact = _solve.fnp, _solve._shape, _solve._mm, _solve._inexact

__all__ = ["norm", "vector_norm", "matrix_norm", "outer", "cross", "vecdot", "matmul",
           "tensordot", "trace", "diagonal", "matrix_transpose", "multi_dot", "lstsq",
           "cond", "eig", "eigvals"] + _solve.__all__


class EigResult(NamedTuple):
    """``eig``'s result: the eigenvalues and the (right) eigenvectors, as columns."""
    eigenvalues: object
    eigenvectors: object


def eig(a):
    """Eigenvalues and right eigenvectors of general square matrices (as
    jnp.linalg.eig; CPU only, as JAX).

    Args:
      a: ``[..., n, n]`` array (integers are cast to float).

    Returns:
      ``EigResult(eigenvalues [..., n], eigenvectors [..., n, n])``, complex.

    References:
      ``jax.numpy.linalg.eig``.
    """
    a, = promote_inexact(asarray(a))
    w, v = P.eig(a, compute_left_eigenvectors=False)
    return EigResult(w, v)


def eigvals(a):
    """Eigenvalues of general square matrices (as jnp.linalg.eigvals; CPU only).

    Args:
      a: ``[..., n, n]`` array (integers are cast to float).

    Returns:
      ``[..., n]`` complex eigenvalues.

    References:
      ``jax.numpy.linalg.eigvals``.
    """
    a, = promote_inexact(asarray(a))
    return P.eig(a, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]


def _sum_squares(x, axis, keepdims):
    """``sum(|x|**2)``: ``real(x * conj(x))`` for complex ``x`` (as JAX)."""
    sq = P.real(P.mul(x, P.conj(x))) if is_complex(get_aval(x)) else P.mul(x, x)
    return _red.sum(sq, axis=axis, keepdims=keepdims)


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
        s = svd(moveaxis(x, axes, (-2, -1)), compute_uv=False)
        y = _red.max(s, axis=-1, initial=0) if ord == 2 else \
            _red.min(s, axis=-1) if ord == -2 else _red.sum(s, axis=-1)
        return P.expand_dims(y, tuple(sorted(axes))) if keepdims else y
    raise ValueError(f"Invalid order {ord!r} for matrix norm.")


def norm(x, ord=None, axis=None, keepdims=False):
    """As jnp.linalg.norm: a vector norm over one axis, a matrix norm over two
    (``ord`` None/'fro', 1, -1, inf, -inf, 2, -2, 'nuc'),
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


def _arr(x):
    return x if hasattr(x, "shape") and not isinstance(x, (np.ndarray, np.generic)) else asarray(x)


def outer(x1, x2, /):
    """As jnp.linalg.outer: the outer product of two 1-d arrays."""
    for name, x in (("x1", x1), ("x2", x2)):
        if np.ndim(x) != 1:
            raise ValueError(f"Input arrays must be one-dimensional, but they are "
                             f"x1.ndim={np.ndim(x1)} x2.ndim={np.ndim(x2)}")
    return _ops.outer(x1, x2)


def cross(x1, x2, /, *, axis=-1):
    """As jnp.linalg.cross: cross product of 3-vectors along ``axis``."""
    s1, s2 = np.shape(x1), np.shape(x2)
    if s1[axis] != 3 or s2[axis] != 3:
        raise ValueError(f"Both input arrays must be (arrays of) 3-dimensional vectors, but "
                         f"they have x1.shape[axis]={s1[axis]} and x2.shape[axis]={s2[axis]}")
    return _seq.cross(x1, x2, axis=axis)


def vecdot(x1, x2, /, *, axis: int = -1, precision=None, preferred_element_type=None):
    """As jnp.linalg.vecdot: ``sum(conj(x1) * x2, axis)`` (broadcasting), one dot_general."""
    x1, x2 = promote(_arr(x1), _arr(x2))
    if is_complex(get_aval(x1)):
        x1 = P.conj(x1)
    x1, x2 = moveaxis(_arr(x1), axis, -1), moveaxis(_arr(x2), axis, -1)
    return _ops.matmul(x1[..., None, :], x2[..., :, None], precision=precision,
                       preferred_element_type=preferred_element_type)[..., 0, 0]


def matmul(x1, x2, /, *, precision=None, preferred_element_type=None):
    """As jnp.linalg.matmul."""
    return _ops.matmul(x1, x2, precision=precision, preferred_element_type=preferred_element_type)


def tensordot(x1, x2, /, *, axes=2, precision=None, preferred_element_type=None):
    """As jnp.linalg.tensordot (``axes`` keyword-only)."""
    return _ops.tensordot(x1, x2, axes, precision=precision,
                          preferred_element_type=preferred_element_type)


def trace(x, /, *, offset: int = 0, dtype=None):
    """As jnp.linalg.trace: over the last two axes."""
    return _ops.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


def diagonal(x, /, *, offset: int = 0):
    """As jnp.linalg.diagonal: over the last two axes."""
    return _tiling.diagonal(x, offset=offset, axis1=-2, axis2=-1)


def matrix_transpose(x, /):
    """As jnp.linalg.matrix_transpose: swap the last two axes."""
    return _ops.matrix_transpose(x)


def multi_dot(arrays, *, precision=None):
    """As jnp.linalg.multi_dot: one einsum, contraction order by opt_einsum."""
    arrs = [a if hasattr(a, "shape") and not isinstance(a, (np.ndarray, np.generic))
            else asarray(a) for a in arrays]
    if len(arrs) < 2:
        raise ValueError(f"multi_dot requires at least two arrays; got len(arrays)={len(arrs)}")
    nds = [get_aval(a).ndim for a in arrs]
    shapes = [get_aval(a).shape for a in arrs]
    if not (nds[0] in (1, 2) and nds[-1] in (1, 2) and all(n == 2 for n in nds[1:-1])):
        raise ValueError(f"multi_dot: input arrays must all be two-dimensional, except for the "
                         f"first and last array which may be 1 or 2 dimensional. Got array "
                         f"shapes {shapes}")
    if any(a[-1] != b[0] for a, b in zip(shapes[:-1], shapes[1:])):
        raise ValueError(f"multi_dot: last dimension of each array must match first dimension "
                         f"of following array. Got array shapes {shapes}")
    axes = [(i, i + 1) for i in range(len(arrs))]
    if nds[0] == 1:
        axes[0] = axes[0][1:]
    if nds[-1] == 1:
        axes[-1] = axes[-1][:1]
    operands = [x for pair in zip(arrs, [list(a) for a in axes]) for x in pair]
    return _ops.einsum(*operands, optimize="auto", precision=precision)


def lstsq(a, b, rcond: float | None = None, *, numpy_resid: bool = False):
    """As jnp.linalg.lstsq: ``(x, resid, rank, s)`` via the SVD."""
    a, b = _inexact(a, b)
    if _shape(a)[0] != _shape(b)[0]:
        raise ValueError("Leading dimensions of input arrays must match")
    b_orig_ndim = len(_shape(b))
    if b_orig_ndim == 1:
        b = b[:, None]
    if len(_shape(a)) != 2:
        raise TypeError(f"{len(_shape(a))}-dimensional array given. Array must be "
                        f"two-dimensional")
    if len(_shape(b)) != 2:
        raise TypeError(f"{len(_shape(b))}-dimensional array given. Array must be one or "
                        f"two-dimensional")
    m, n = _shape(a)
    dtype = a.dtype
    if rcond is None:
        rcond = float(_np.finfo(dtype).eps) * max(n, m)
    else:
        rcond = _np.where(rcond < 0, _np.finfo(dtype).eps, rcond)
    u, s, vt = svd(a, full_matrices=False)
    mask = (s > 0) & (s >= _np.array(rcond, dtype=s.dtype) * s[0])
    rank = mask.sum()
    safe_s = _np.where(mask, s, 1).astype(dtype)
    s_inv = _np.where(mask, 1 / safe_s, 0)[:, None]
    uTb = _mm(u.conj().T, b)
    x = _mm(vt.conj().T, s_inv * uTb)
    if numpy_resid and (rank < n or m <= n):
        resid = _np.asarray([])
    else:
        resid = norm(b - _mm(a, x), axis=0) ** 2
    if b_orig_ndim == 1:
        x = x.ravel()
    return x, resid, rank, s


def cond(x, p=None):
    """As jnp.linalg.cond: the condition number in the ``p`` norm."""
    arr, = _inexact(x)
    s = _shape(arr)
    if len(s) < 2:
        raise ValueError(f"jnp.linalg.cond: input array must be at least 2D; got {s=}")
    if s[-1] == 0 or s[-2] == 0:
        raise ValueError(f"jnp.linalg.cond: input array must not be empty; got {s=}")
    if p is None or p == 2:
        sv = svdvals(arr)
        return sv[..., 0] / sv[..., -1]
    if p == -2:
        sv = svdvals(arr)
        r = sv[..., -1] / sv[..., 0]
    else:
        if s[-2] != s[-1]:
            raise ValueError(f"jnp.linalg.cond: for {p=}, array must be square; got {s=}")
        r = norm(arr, ord=p, axis=(-2, -1)) * norm(inv(arr), ord=p, axis=(-2, -1))
    return _np.where(_np.isnan(r) & ~_np.isnan(arr).any(axis=(-2, -1)), np.inf, r)
