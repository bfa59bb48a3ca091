"""fnp.linalg decompositions and solvers (as jax.numpy.linalg), on the
``primitives.linalg_decompositions`` primitives.

cholesky, qr, svd / svdvals, eigh / eigvalsh, solve, inv, det (JAX's custom
jvp through the cofactor solve, well defined at rank n-1), slogdet (JAX's
custom jvp), pinv (JAX's custom jvp), matrix_power, matrix_rank,
tensorsolve / tensorinv (lstsq and cond, which need norms, are in
``linalg``). Real and complex dtypes, as JAX (complex ``slogdet`` has a
complex sign and JAX's complex jvp).

Example::

    >>> import numpy as np, primitives.numpy as fnp
    >>> a = np.array([[3., 1.], [1., 2.]], np.float32)
    >>> x = fnp.linalg.solve(a, np.ones(2, np.float32))
    >>> w, v = fnp.linalg.eigh(a)

References:
    JAX's ``jax/_src/numpy/linalg.py`` (each function mirrors its namesake).
"""
from __future__ import annotations

import math
import operator
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

import primitives as P
from primitives.numpy import (dtypes, creation, math as fmath, reductions, linalg_ops,
                              manipulation, tiling, indexing, sorting, comparisons,
                              elementwise_more)
from primitives.numpy.nonzero import where
from fx.core import get_aval
from fx.dtypes import kind
from fx.errors import ShapeError
from primitives.custom_derivatives import custom_jvp
from primitives.numpy.creation import asarray
from primitives.numpy.math import promote_inexact

__all__ = ["cholesky", "qr", "svd", "svdvals", "eigh", "eigvalsh", "solve", "inv", "det",
           "slogdet", "pinv", "matrix_power", "matrix_rank", "tensorsolve",
           "tensorinv", "QRResult", "SVDResult", "EighResult", "SlogdetResult"]


# the fnp functions used here (importing the primitives.numpy package would be a cycle)
fnp = SimpleNamespace(**{**{k: getattr(m, k) for m in (
    dtypes, creation, fmath, reductions, linalg_ops, manipulation, tiling, indexing, sorting,
    comparisons, elementwise_more) for k in m.__all__}, "where": where})


class QRResult(NamedTuple):
    Q: object
    R: object


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


def _inexact(*xs):
    """The operands as arrays of one inexact dtype."""
    out = []
    for x in promote_inexact(*xs):
        if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)):
            x = asarray(x)
        out.append(x)
    return out


def _is_complex(x):
    return kind(get_aval(x).dtype) == "c"


def _H(x):
    """Conjugate transpose of the last two axes."""
    return fnp.conj(_mT(x)) if _is_complex(x) else _mT(x)


def _shape(x):
    return get_aval(x).shape


def _mT(x):
    return fnp.swapaxes(x, -1, -2)


def _mm(a, b):
    return fnp.matmul(a, b, precision="highest")


def _square(op, a):
    s = _shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ShapeError(f"Argument to {op}() must have shape [..., n, n], got {s}.")


# --- decompositions ----------------------------------------------------------------------------
def cholesky(a, *, upper: bool = False, symmetrize_input: bool = True):
    """As jnp.linalg.cholesky: lower ``L`` with ``a = L L^T`` (``upper``: ``L^T``)."""
    a, = _inexact(a)
    L = P.cholesky(a, symmetrize_input=symmetrize_input)
    return _H(L) if upper else L


def qr(a, mode: str = "reduced"):
    """As jnp.linalg.qr; ``mode``: 'reduced', 'complete' or 'r' ('raw' is not supported)."""
    a, = _inexact(a)
    if mode in ("reduced", "r", "full"):
        full_matrices = False
    elif mode == "complete":
        full_matrices = True
    else:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    q, r = P.qr(a, full_matrices=full_matrices)
    return r if mode == "r" else QRResult(q, r)


def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False,
        subset_by_index=None):
    """As jnp.linalg.svd: ``SVDResult(U, S, Vh)`` or the singular values ``S``."""
    a, = _inexact(a)
    if hermitian:
        v, w = P.eigh(a, subset_by_index=subset_by_index)
        s = fnp.abs(w)
        order = fnp.flip(fnp.argsort(s, axis=-1), axis=-1)
        s = fnp.take_along_axis(s, order, axis=-1)
        if not compute_uv:
            return s
        sign = fnp.take_along_axis(fnp.sign(w), order, axis=-1)
        u = fnp.take_along_axis(v, order[..., None, :], axis=-1)
        return SVDResult(u, s, _H(u * sign[..., None, :].astype(u.dtype)))
    out = P.svd(a, full_matrices=full_matrices, compute_uv=compute_uv,
                subset_by_index=subset_by_index)
    return SVDResult(*out) if compute_uv else out


def svdvals(x, /):
    """As jnp.linalg.svdvals: the singular values, descending."""
    return svd(x, compute_uv=False, hermitian=False)


def eigh(a, UPLO: str | None = None, symmetrize_input: bool = True):
    """As jnp.linalg.eigh: ``EighResult(eigenvalues, eigenvectors)`` (ascending)."""
    if UPLO is None or UPLO == "L":
        lower = True
    elif UPLO == "U":
        lower = False
    else:
        raise ValueError(f"UPLO must be one of None, 'L', or 'U', got {UPLO}")
    a, = _inexact(a)
    v, w = P.eigh(a, lower=lower, symmetrize_input=symmetrize_input)
    return EighResult(w, v)


def eigvalsh(a, UPLO: str | None = "L", *, symmetrize_input: bool = True):
    """As jnp.linalg.eigvalsh: the eigenvalues of symmetric ``a``, ascending."""
    return eigh(a, UPLO, symmetrize_input=symmetrize_input).eigenvalues


# --- solve / inv ---------------------------------------------------------------------------------
def _lu_solve_matrix(a, b):
    """solve(a, b) for a [..., m, m] and b [..., m, n] with equal batch shapes (via LU)."""
    lu_, _, perm = P.lu(a)
    onehot = (perm[..., :, None] == fnp.arange(_shape(a)[-1], dtype=perm.dtype)).astype(a.dtype)
    x = _mm(onehot, b)
    x = P.triangular_solve(lu_, x, left_side=True, lower=True, unit_diagonal=True)
    return P.triangular_solve(lu_, x, left_side=True, lower=False)


def solve(a, b):
    """As jnp.linalg.solve: ``x`` with ``a @ x == b``; ``b`` of rank 1 is a vector,
    otherwise ``[..., m, n]`` (batch dimensions broadcast)."""
    a, b = _inexact(a, b)
    sa, sb = _shape(a), _shape(b)
    if len(sa) < 2:
        raise ValueError(f"left hand array must be at least two dimensional; got a.shape={sa}")
    _square("solve", a)
    if len(sb) > 1 and len(sa) == len(sb) + 1 and sa[-1] == sb[-1] and sa[-1] != sb[-2]:
        raise ValueError(f"Invalid shapes for solve: {sa}, {sb}. Prior to JAX v0.5.0, this "
                         f"would have been treated as a batched 1-dimensional solve. To recover "
                         f"this behavior, use solve(a, b[..., None]).squeeze(-1).")
    vector = len(sb) == 1
    if vector:
        b = b[:, None]
        sb = _shape(b)
    if sb[-2] != sa[-1]:
        raise ShapeError(f"solve: a {sa} and b {_shape(b) if not vector else sb[:1]} do not "
                         f"match: b needs {sa[-1]} rows.")
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    a = fnp.broadcast_to(a, batch + sa[-2:])
    b = fnp.broadcast_to(b, batch + sb[-2:])
    x = _lu_solve_matrix(a, b)
    return x[..., 0] if vector else x


def inv(a):
    """As jnp.linalg.inv: ``solve(a, I)``."""
    a, = _inexact(a)
    s = _shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"Argument to inv must have shape [..., n, n], got {s}.")
    return solve(a, fnp.broadcast_to(fnp.eye(s[-1], dtype=a.dtype), s))


# --- determinants ---------------------------------------------------------------------------------
def _slogdet_small_impl(a):
    if _shape(a)[-1] == 1:
        det = a[..., 0, 0]
    else:
        det = a[..., 0, 0] * a[..., 1, 1] - a[..., 0, 1] * a[..., 1, 0]
    return fnp.sign(det), fnp.real(fnp.log(fnp.abs(det)))


_slogdet_small = custom_jvp(_slogdet_small_impl)


@_slogdet_small.defjvp
def _slogdet_small_jvp(primals, tangents):
    x, = primals
    g, = tangents
    sign, ans = _slogdet_small(x)
    if _shape(x)[-1] == 1:
        ans_dot = g[..., 0, 0] / x[..., 0, 0]
    else:
        x00, x01, x10, x11 = x[..., 0, 0], x[..., 0, 1], x[..., 1, 0], x[..., 1, 1]
        det = x00 * x11 - x01 * x10
        ans_dot = (g[..., 0, 0] * x11 - g[..., 0, 1] * x10 - g[..., 1, 0] * x01
                   + g[..., 1, 1] * x00) / det
    return (sign, ans), _slogdet_tangents(x, sign, ans_dot)


def _slogdet_tangents(x, sign, ans_dot):
    """(sign_dot, logabsdet_dot) from ``ans_dot = trace(x^-1 x_dot)`` (JAX's, complex too)."""
    if _is_complex(x):
        return (ans_dot - fnp.real(ans_dot).astype(ans_dot.dtype)) * sign, fnp.real(ans_dot)
    return fnp.zeros_like(sign), ans_dot


def _slogdet_lu_impl(a):
    dtype = a.dtype
    lu_, pivot, _ = P.lu(a)
    diag = fnp.diagonal(lu_, axis1=-2, axis2=-1)
    is_zero = fnp.any(diag == fnp.array(0, dtype=dtype), axis=-1)
    iota = fnp.arange(_shape(a)[-1], dtype=pivot.dtype)
    parity = fnp.count_nonzero(pivot != iota, axis=-1)
    if _is_complex(a):
        sign = fnp.prod(diag / fnp.abs(diag).astype(dtype), axis=-1)
    else:
        sign = fnp.array(1, dtype=dtype)
        parity = parity + fnp.count_nonzero(diag < 0, axis=-1)
    sign = fnp.where(is_zero, fnp.array(0, dtype=dtype),
                     sign * (-2 * (parity % 2) + 1).astype(dtype))
    logdet = fnp.where(is_zero, fnp.array(-np.inf, dtype=dtype),
                       fnp.sum(fnp.log(fnp.abs(diag)).astype(dtype), axis=-1))
    return sign, fnp.real(logdet)


_slogdet_lu = custom_jvp(_slogdet_lu_impl)


@_slogdet_lu.defjvp
def _slogdet_jvp(primals, tangents):
    x, = primals
    g, = tangents
    sign, ans = slogdet(x)
    ans_dot = fnp.trace(solve(x, g), axis1=-1, axis2=-2)
    return (sign, ans), _slogdet_tangents(x, sign, ans_dot)


def slogdet(a, *, method: str | None = None):
    """As jnp.linalg.slogdet: ``SlogdetResult(sign, logabsdet)`` (method 'lu')."""
    a, = _inexact(a)
    s = _shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"Argument to slogdet() must have shape [..., n, n], got {s}")
    if method is None or method == "lu":
        if s[-1] in (1, 2):
            return SlogdetResult(*_slogdet_small(a))
        return SlogdetResult(*_slogdet_lu(a))
    if method == "qr":
        raise NotImplementedError("slogdet: method='qr' is not supported by fxjax yet; use "
                                  "method='lu' (the default).")
    raise ValueError(f"Unknown slogdet method '{method}'. Supported methods are 'lu' (`None`), "
                     f"and 'qr'.")


def _cofactor_solve(a, b):
    """``(det(a), adjugate(a) @ b)``, well defined for rank n-1 (JAX's _cofactor_solve)."""
    sa = _shape(a)
    n = sa[-1]
    if n == 1:
        return a[..., 0, 0], b
    lu_, pivots, permutation = P.lu(a)
    dtype = a.dtype
    batch = np.broadcast_shapes(sa[:-2], _shape(b)[:-2])
    x = fnp.broadcast_to(b, batch + _shape(b)[-2:])
    lu_ = fnp.broadcast_to(lu_, batch + sa[-2:])
    diag = fnp.diagonal(lu_, axis1=-2, axis2=-1)
    parity = fnp.count_nonzero(pivots != fnp.arange(n, dtype=pivots.dtype), axis=-1)
    sign = (-2 * (parity % 2) + 1).astype(dtype)
    partial_det = fnp.cumprod(diag, axis=-1) * sign[..., None]
    corner = (fnp.arange(n)[:, None] == n - 1) & (fnp.arange(n)[None, :] == n - 1)
    lu_ = fnp.where(corner, (1.0 / partial_det[..., -2])[..., None, None], lu_)
    permutation = fnp.broadcast_to(permutation, batch + (n,))
    d = fnp.ones(_shape(x)[:-1], dtype)
    d = P.triangular_solve(lu_, d, left_side=True, lower=False)
    d = fnp.any(fnp.isnan(d) | fnp.isinf(d), axis=-1)
    d = fnp.broadcast_to(d[..., None, None], _shape(x))
    x = fnp.where(d, fnp.zeros_like(x), x)
    onehot = (permutation[..., :, None] == fnp.arange(n, dtype=permutation.dtype)).astype(dtype)
    x = _mm(onehot, x)
    x = P.triangular_solve(lu_, x, left_side=True, lower=True, unit_diagonal=True)
    x = fnp.concatenate((x[..., :-1, :] * partial_det[..., -1, None, None], x[..., -1:, :]),
                        axis=-2)
    x = P.triangular_solve(lu_, x, left_side=True, lower=False)
    x = fnp.where(d, fnp.zeros_like(x), x)
    return partial_det[..., -1], x


def _det_impl(a):
    sign, logdet = slogdet(a)
    return sign * fnp.exp(logdet).astype(sign.dtype)


_det = custom_jvp(_det_impl)


@_det.defjvp
def _det_jvp(primals, tangents):
    x, = primals
    g, = tangents
    y, z = _cofactor_solve(x, g)
    return y, fnp.trace(z, axis1=-1, axis2=-2)


def det(a):
    """As jnp.linalg.det (closed forms for 2x2 and 3x3, as JAX)."""
    a, = _inexact(a)
    s = _shape(a)
    if len(s) >= 2 and s[-1] == 2 and s[-2] == 2:
        return a[..., 0, 0] * a[..., 1, 1] - a[..., 0, 1] * a[..., 1, 0]
    if len(s) >= 2 and s[-1] == 3 and s[-2] == 3:
        return (a[..., 0, 0] * a[..., 1, 1] * a[..., 2, 2]
                + a[..., 0, 1] * a[..., 1, 2] * a[..., 2, 0]
                + a[..., 0, 2] * a[..., 1, 0] * a[..., 2, 1]
                - a[..., 0, 2] * a[..., 1, 1] * a[..., 2, 0]
                - a[..., 0, 0] * a[..., 1, 2] * a[..., 2, 1]
                - a[..., 0, 1] * a[..., 1, 0] * a[..., 2, 2])
    if len(s) >= 2 and s[-1] == s[-2]:
        return _det(a)
    raise ValueError(f"Argument to _det() must have shape [..., n, n], got {s}")


# --- pseudo-inverse -------------------------------------------------------------------------------
def _pinv_impl(a, rtol=None, hermitian=False):
    arr, = _inexact(a)
    m, n = _shape(arr)[-2:]
    arr = fnp.conj(arr) if _is_complex(arr) else arr
    if rtol is None:
        rtol = 10. * max(m, n) * fnp.array(fnp.finfo(arr.dtype).eps)
    rtol = fnp.asarray(rtol)
    u, s, vh = svd(arr, full_matrices=False, hermitian=hermitian)
    rtol = fnp.expand_dims(rtol[..., None], tuple(range(s.ndim - rtol.ndim - 1)))
    cutoff = rtol * s[..., 0:1]
    s = fnp.where(s > cutoff, s, np.inf).astype(u.dtype)
    res = _mm(_mT(vh), fnp.divide(_mT(u), s[..., None]))
    return res.astype(arr.dtype)


_pinv = custom_jvp(_pinv_impl, nondiff_argnums=(1, 2))


@_pinv.defjvp
def _pinv_jvp(rtol, hermitian, primals, tangents):
    a, = primals
    a_dot, = tangents
    p = _pinv(a, rtol, hermitian)
    if hermitian:
        a = (a + _H(a)) / 2
        a_dot = (a_dot + _H(a_dot)) / 2
    m, n = _shape(a)[-2:]
    if m >= n:
        s = _mm(_mm(p, _H(p)), _H(a_dot))
        t = _mm(_mm(_H(a_dot), _H(p)), p)
        p_dot = -_mm(_mm(p, a_dot), p) + s - _mm(_mm(s, a), p) + t - _mm(_mm(p, a), t)
    else:
        s = _mm(p, _mm(_H(p), _H(a_dot)))
        t = _mm(_H(a_dot), _mm(_H(p), p))
        p_dot = -_mm(p, _mm(a_dot, p)) + s - _mm(s, _mm(a, p)) + t - _mm(p, _mm(a, t))
    return p, p_dot


def pinv(a, rtol=None, hermitian: bool = False, *, rcond=None):
    """As jnp.linalg.pinv (Moore-Penrose pseudo-inverse; JAX's custom jvp)."""
    if rcond is not None:
        if rtol is not None:
            raise ValueError("pinv: only one of rtol and rcond may be specified.")
        rtol = rcond
    a, = _inexact(a)
    return _pinv(a, rtol, hermitian)


# --- powers, rank, condition number, tensor solves ------------------------------------------------
def matrix_power(a, n: int):
    """As jnp.linalg.matrix_power (binary powering; negative ``n`` inverts first)."""
    arr = a if hasattr(a, "shape") and not isinstance(a, (np.ndarray, np.generic)) else asarray(a)
    s = _shape(arr)
    if len(s) < 2:
        raise TypeError(f"{len(s)}-dimensional array given. Array must be at least "
                        f"two-dimensional")
    if s[-2] != s[-1]:
        raise TypeError("Last 2 dimensions of the array must be square")
    try:
        n = operator.index(n)
    except TypeError as err:
        raise TypeError(f"exponent must be an integer, got {n}") from err
    if n == 0:
        return fnp.broadcast_to(fnp.eye(s[-2], dtype=arr.dtype), s)
    if n < 0:
        arr = inv(arr)
        n = abs(n)
    if n == 1:
        return arr
    if n == 2:
        return arr @ arr
    if n == 3:
        return (arr @ arr) @ arr
    z = result = None
    while n > 0:
        z = arr if z is None else (z @ z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else (result @ z)
    return result


def matrix_rank(M, rtol=None, *, hermitian: bool = False, tol=None):
    """As jnp.linalg.matrix_rank: singular values above ``rtol * max(s)``."""
    if tol is not None:
        if rtol is not None:
            raise ValueError("matrix_rank: only one of tol or rtol may be specified.")
        rtol = tol
    M, = _inexact(M)
    if M.ndim < 2:
        return (M != 0).any().astype(np.int32)
    S = svd(M, full_matrices=False, compute_uv=False, hermitian=hermitian)
    if rtol is None:
        rtol = S.max(-1) * np.asarray(np.max(_shape(M)[-2:])).astype(S.dtype) * \
            fnp.finfo(S.dtype).eps
    rtol = fnp.expand_dims(rtol, np.ndim(rtol))
    return fnp.sum(S > rtol, axis=-1)


def tensorinv(a, ind: int = 2):
    """As jnp.linalg.tensorinv."""
    arr, = _inexact(a)
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError(f"ind must be a positive integer; got {ind=}")
    s = _shape(arr)
    contracting, batch = s[:ind], s[ind:]
    flat = (math.prod(contracting), math.prod(batch))
    if flat[0] != flat[1]:
        raise ValueError(f"tensorinv is only possible when the product of the first `ind` "
                         f"dimensions equals that of the remaining dimensions. got "
                         f"arr.shape={s} with {ind=}.")
    return inv(arr.reshape(flat)).reshape(*batch, *contracting)


def tensorsolve(a, b, axes=None):
    """As jnp.linalg.tensorsolve."""
    a, b = _inexact(a, b)
    if axes is not None:
        a = fnp.moveaxis(a, axes, len(axes) * (a.ndim - 1,))
    out_shape = _shape(a)[b.ndim:]
    if _shape(a)[:b.ndim] != _shape(b):
        raise ValueError(f"After moving axes to end, leading shape of a must match shape of b. "
                         f"got a.shape={_shape(a)}, b.shape={_shape(b)}")
    if b.size != math.prod(out_shape):
        raise ValueError(f"Input arrays must have prod(a.shape[:b.ndim]) == "
                         f"prod(a.shape[b.ndim:]); got a.shape={_shape(a)}, b.ndim={b.ndim}.")
    a = a.reshape(b.size, math.prod(out_shape))
    return solve(a, b.ravel()).reshape(out_shape)
