"""Matrix decompositions and triangular solves (as ``jax.lax.linalg``).

One block per primitive, all its rules right below it: ``cholesky``,
``triangular_solve``, ``qr``, ``eigh``, ``svd``, ``lu``,
``lu_pivots_to_permutation``. Each lowers to the ``jax.lax.linalg`` function
of the same name (so under jit the XLA program holds the same LAPACK custom
calls as JAX's); the jvp rules are JAX's (``jax/_src/lax/linalg.py``) written
with our primitives, so they are themselves differentiable, transposable and
batchable. ``triangular_solve`` is linear in ``b`` and has a transpose rule.
The decompositions batch over leading dimensions natively: vmap moves the
batch axis to the front.

Real and complex floating dtypes; the complex jvp rules are JAX's (conjugate
transposes ``_H``, ``eigh``/``svd`` give real eigen/singular values).

Example::

    >>> import numpy as np, primitives as P
    >>> a = np.array([[4., 2.], [2., 3.]], np.float32)
    >>> L = P.cholesky(a)            # lower triangular, L @ L.T == a
    >>> q, r = P.qr(a)

In the IR::

    b:f32[2,2] = cholesky a
    c:f32[2,2] d:f32[2,2] = qr[full_matrices=True] a

References:
    JAX's ``jax/_src/lax/linalg.py``; Murray, "Differentiation of the Cholesky
    decomposition" (arXiv:1602.07527); Townsend, "Differentiating the QR
    decomposition"; Giles, "An extended collection of matrix derivative
    results" (2008); de Hoog, Anderssen & Lukas (LU derivatives).
"""
from __future__ import annotations

import numpy as np
import jax
from jax import lax

from fx.ad import UndefinedPrimal, Zero, instantiate_zero, zero_tangent
from fx.batching import bdim_at_front, moveaxis
from fx.core import Primitive, get_aval
from fx.dtypes import kind
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives.complex import conj, real
from primitives.elementwise import (add, convert_element_type, div, eq, integer_pow, mul, neg,
                                    select_n, sub)
from primitives.linalg import dot_general
from primitives.reductions import reduce_sum
from primitives.shape import broadcast_in_dim, concatenate, pad, reshape, slice, transpose

__all__ = ["cholesky", "triangular_solve", "qr", "eigh", "svd", "lu", "lu_pivots_to_permutation",
           "cholesky_p", "triangular_solve_p", "qr_p", "eigh_p", "svd_p", "lu_p",
           "lu_pivots_to_permutation_p"]

_HIGHEST = (lax.Precision.HIGHEST, lax.Precision.HIGHEST)


# --- shared checks and matrix helpers (built from our primitives) ---
def _check_matrix(op: str, x: ShapedArray, square: bool = False) -> None:
    """Rank >= 2 real or complex floating matrix (square if asked), else a typed error."""
    k = kind(x.dtype)
    if k not in "fc":
        raise FxTypeError(f"{op} requires a floating-point matrix, got {x.str_short()}. Fix: "
                          f"convert it first, e.g. x.astype(jnp.float32).")
    if x.ndim < 2:
        raise ShapeError(f"{op} requires an array of rank >= 2 (a batch of matrices "
                         f"[..., m, n]), got {x.str_short()}.")
    if square and x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"{op} requires square matrices [..., n, n], got {x.str_short()}. "
                         f"Fix: pass a square matrix (for least squares use lstsq / qr).")


def _mT(x):
    nd = get_aval(x).ndim
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _H(x):
    """Conjugate transpose of the last two axes (the plain transpose for real x)."""
    return _mT(conj(x)) if kind(get_aval(x).dtype) == "c" else _mT(x)


def _real_part(x):
    """``real(x)`` for complex x, x itself for real x."""
    return real(x) if kind(get_aval(x).dtype) == "c" else x


def _as(x, like):
    """``x`` (real) converted to ``like``'s dtype (real -> complex where needed)."""
    dt = get_aval(like).dtype
    return x if get_aval(x).dtype == dt else convert_element_type(x, dt)


def _real_dtype(dtype):
    dt = np.dtype(dtype)
    return np.finfo(dt).dtype if dt.kind == "c" else dt


def _matmul(a, b):
    """Batched matrix product of two arrays of equal rank (JAX's batch_matmul)."""
    nd = get_aval(a).ndim
    batch = tuple(range(nd - 2))
    return dot_general(a, b, (((nd - 1,), (nd - 2,)), (batch, batch)), precision=_HIGHEST)


def _const(x, value):
    aval = get_aval(x)
    return broadcast_in_dim(np.asarray(value, aval.dtype), aval.shape, ())


def _mask(x, mask2d):
    """A boolean 2-d numpy mask broadcast over ``x``'s leading dims."""
    shape = get_aval(x).shape
    return broadcast_in_dim(np.asarray(mask2d), shape, (len(shape) - 2, len(shape) - 1))


def _tril(x, k: int = 0):
    n, m = get_aval(x).shape[-2:]
    return select_n(_mask(x, np.tri(n, m, k, dtype=bool)), _const(x, 0), x)


def _triu(x, k: int = 0):
    n, m = get_aval(x).shape[-2:]
    return select_n(_mask(x, np.tri(n, m, k - 1, dtype=bool)), x, _const(x, 0))


def _eye_like(x):
    """The identity broadcast to ``x``'s shape (x square in its last two dims)."""
    aval = get_aval(x)
    n, m = aval.shape[-2:]
    return broadcast_in_dim(np.eye(n, m, dtype=aval.dtype), aval.shape,
                            (aval.ndim - 2, aval.ndim - 1))


def _rows(v, shape):
    """``v[..., None, :]`` broadcast to ``shape`` (v: [..., k])."""
    nd = len(shape)
    return broadcast_in_dim(v, shape, tuple(range(nd - 2)) + (nd - 1,))


def _cols(v, shape):
    """``v[..., :, None]`` broadcast to ``shape``."""
    nd = len(shape)
    return broadcast_in_dim(v, shape, tuple(range(nd - 2)) + (nd - 2,))


def _diagonal(x):
    """The main diagonal [..., k] of square [..., k, k] matrices."""
    aval = get_aval(x)
    n = aval.shape[-1]
    on_diag = select_n(_mask(x, np.eye(n, dtype=bool)), _const(x, 0), x)
    return reduce_sum(on_diag, (aval.ndim - 2,))


def _sl(x, rows=None, cols=None):
    """``x[..., r0:r1, c0:c1]`` (None: the whole axis)."""
    shape = get_aval(x).shape
    start = [0] * len(shape)
    limit = list(shape)
    for ax, rng in ((-2, rows), (-1, cols)):
        if rng is not None:
            start[ax], limit[ax] = rng
    return slice(x, tuple(start), tuple(limit))


def _permutation_matrix(perm, dtype):
    """One-hot P [..., m, m] with ``P[i, perm[i]] = 1``: ``P @ x == x[perm]`` exactly."""
    aval = get_aval(perm)
    m = aval.shape[-1]
    shape = aval.shape + (m,)
    cols = broadcast_in_dim(np.arange(m, dtype=aval.dtype), shape, (len(shape) - 1,))
    rows = broadcast_in_dim(perm, shape, tuple(range(len(shape) - 1)))
    return convert_element_type(eq(rows, cols), dtype)


def _batch_all_front(prim, args, bdims, **params):
    """Batch rule of the decompositions: batch axis to the front, bind, outputs batched at 0."""
    x, = args
    out = prim.bind(moveaxis(x, bdims[0], 0), **params)
    return out, [0] * len(out) if prim.multiple_results else 0


def symmetrize(x):
    """``(x + x^H) / 2`` (jax.lax.linalg.symmetrize)."""
    return div(add(x, _H(x)), _const(x, 2))


# --- cholesky ---
cholesky_p = Primitive("cholesky")


@cholesky_p.def_abstract_eval
def _cholesky_aval(x):
    _check_matrix("cholesky", x, square=True)
    return x.strip_weak()


cholesky_p.def_lowering(lambda x: jax.lax.linalg.cholesky(x, symmetrize_input=False))


def _hermitian_from_lower(x):
    """The Hermitian matrix whose lower triangle is ``x``'s (the diagonal's real part)."""
    n = get_aval(x).shape[-1]
    low = _tril(x, -1)
    diag = select_n(_mask(x, np.eye(n, dtype=bool)), _const(x, 0), x)
    if kind(get_aval(x).dtype) == "c":
        diag = div(add(diag, conj(diag)), _const(x, 2))
    return add(add(low, _H(low)), diag)


@cholesky_p.def_jvp
def _cholesky_jvp(primals, tangents):
    """Murray's forward rule, on the tangent the primitive reads: cholesky_p reads
    the lower triangle only, so the tangent is first made the Hermitian matrix of
    its lower triangle (as jax >= 0.11; jax <= 0.10 used the tangent as is, which
    gives nonzero gradients to the upper triangle the factorization never reads).

    References:
        Murray, "Differentiation of the Cholesky decomposition" (2016), arXiv:1602.07527.
    """
    x, = primals
    sigma_dot = _hermitian_from_lower(instantiate_zero(tangents[0]))
    L = cholesky_p.bind(x)
    n = get_aval(x).shape[-1]
    tmp = triangular_solve_p.bind(L, sigma_dot, left_side=False, lower=True, transpose_a=True,
                                  conjugate_a=True, unit_diagonal=False)
    inner = triangular_solve_p.bind(L, tmp, left_side=True, lower=True, transpose_a=False,
                                    conjugate_a=False, unit_diagonal=False)
    phi = div(_tril(inner), broadcast_in_dim((1 + np.eye(n)).astype(get_aval(x).dtype),
                                             get_aval(x).shape, (get_aval(x).ndim - 2,
                                                                 get_aval(x).ndim - 1)))
    return L, _matmul(L, phi)


cholesky_p.def_batch(lambda args, bdims: _batch_all_front(cholesky_p, args, bdims))


def cholesky(x, *, symmetrize_input: bool = True):
    """Cholesky factor ``L`` (lower triangular, ``x = L L^T``) as jax.lax.linalg.cholesky.

    Args:
      x: symmetric positive-definite matrices ``[..., n, n]``.
      symmetrize_input: use ``(x + x^T) / 2``; else only the lower triangle is read.

    Returns:
      ``L`` of ``x``'s shape and dtype (NaNs where the factorization fails, as JAX).
    """
    _check_matrix("cholesky", get_aval(x), square=True)  # (eagerly, bind skips abstract eval)
    if symmetrize_input:
        x = symmetrize(x)
    return cholesky_p.bind(x)


# --- triangular_solve ---
triangular_solve_p = Primitive("triangular_solve")


@triangular_solve_p.def_abstract_eval
def _triangular_solve_aval(a, b, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    _check_matrix("triangular_solve", a, square=True)
    _check_matrix("triangular_solve", b)
    if a.dtype != b.dtype:
        raise FxTypeError(f"triangular_solve requires a and b of one dtype, got a "
                          f"{a.str_short()}, b {b.str_short()}. Fix: convert one of them.")
    if a.ndim != b.ndim or a.shape[:-2] != b.shape[:-2]:
        raise ShapeError(f"triangular_solve: a {a.str_short()} and b {b.str_short()} must have "
                         f"the same batch dimensions. Fix: broadcast them first.")
    common = b.shape[-2] if left_side else b.shape[-1]
    if common != a.shape[-1]:
        raise ShapeError(f"triangular_solve: incompatible shapes a {a.str_short()} and b "
                         f"{b.str_short()} with left_side={left_side}: b's "
                         f"{'rows' if left_side else 'columns'} must equal a's size "
                         f"{a.shape[-1]}.")
    return b.strip_weak()


triangular_solve_p.def_lowering(
    lambda a, b, **params: jax.lax.linalg.triangular_solve(a, b, **params))


def _triangular_solve_jvp_a(g_a, ans, a, b, *, left_side, lower, transpose_a, conjugate_a,
                            unit_diagonal):
    m, n = get_aval(b).shape[-2:]
    k = 1 if unit_diagonal else 0
    g_a = _tril(g_a, -k) if lower else _triu(g_a, k)
    g_a = neg(g_a)
    g_a = _mT(g_a) if transpose_a else g_a
    g_a = conj(g_a) if conjugate_a and kind(get_aval(g_a).dtype) == "c" else g_a
    params = dict(left_side=left_side, lower=lower, transpose_a=transpose_a,
                  conjugate_a=conjugate_a, unit_diagonal=unit_diagonal)

    def a_inverse(rhs):
        return triangular_solve_p.bind(a, rhs, **params)

    if left_side:
        return a_inverse(_matmul(g_a, ans)) if m > n else _matmul(a_inverse(g_a), ans)
    return a_inverse(_matmul(ans, g_a)) if m < n else _matmul(ans, a_inverse(g_a))


@triangular_solve_p.def_jvp
def _triangular_solve_jvp(primals, tangents, **params):
    a, b = primals
    a_dot, b_dot = tangents
    ans = triangular_solve_p.bind(a, b, **params)
    terms = []
    if not isinstance(a_dot, Zero):
        terms.append(_triangular_solve_jvp_a(a_dot, ans, a, b, **params))
    if not isinstance(b_dot, Zero):
        terms.append(triangular_solve_p.bind(a, b_dot, **params))
    if not terms:
        return ans, zero_tangent(ans)
    return ans, terms[0] if len(terms) == 1 else add(*terms)


@triangular_solve_p.def_transpose
def _triangular_solve_transpose(ct, a, b, *, transpose_a, **params):
    assert not isinstance(a, UndefinedPrimal) and isinstance(b, UndefinedPrimal), \
        "triangular_solve is linear in b only"
    if isinstance(ct, Zero):
        return [None, Zero(b.aval)]
    return [None, triangular_solve_p.bind(a, ct, transpose_a=not transpose_a, **params)]


@triangular_solve_p.def_batch
def _triangular_solve_batch(args, bdims, *, left_side, **params):
    a, b = args
    ba, bb = bdims
    if ba is None:  # fold the batch into b's free axis (JAX's rule): one solve
        b_aval = get_aval(b)
        nd = b_aval.ndim
        if left_side:
            b = moveaxis(b, bb, -1)
            s = get_aval(b).shape
            flat = reshape(b, s[:-2] + (s[-2] * s[-1],))
            out_bdim = nd - 1
        else:
            b = moveaxis(b, bb, -2)
            s = get_aval(b).shape
            flat = reshape(b, s[:-3] + (s[-3] * s[-2], s[-1]))
            out_bdim = nd - 2
        out = triangular_solve_p.bind(a, flat, left_side=left_side, **params)
        return reshape(out, s), out_bdim
    size = get_aval(a).shape[ba]
    return triangular_solve_p.bind(bdim_at_front(a, ba, size), bdim_at_front(b, bb, size),
                                   left_side=left_side, **params), 0


def triangular_solve(a, b, *, left_side: bool = False, lower: bool = False,
                     transpose_a: bool = False, conjugate_a: bool = False,
                     unit_diagonal: bool = False):
    """Solve ``op(a) x = b`` (left_side) or ``x op(a) = b`` for triangular ``a``
    (jax.lax.linalg.triangular_solve).

    Args:
      a: triangular matrices ``[..., m, m]`` (only the ``lower``/upper triangle is read).
      b: ``[..., m, n]`` (left_side) or ``[..., n, m]``; a rank ``a.ndim - 1``
        ``b`` is a batch of vectors, as in JAX.
      left_side, lower, transpose_a, conjugate_a, unit_diagonal: as JAX.

    Returns:
      ``x`` of ``b``'s shape and dtype.
    """
    a_aval, b_aval = get_aval(a), get_aval(b)
    singleton = b_aval.ndim == a_aval.ndim - 1
    if singleton:
        b = broadcast_in_dim(b, b_aval.shape[:-1] + ((b_aval.shape[-1], 1) if left_side else
                                                     (1, b_aval.shape[-1])),
                             tuple(range(b_aval.ndim - 1)) + (b_aval.ndim - 1 + (not left_side),))
    _triangular_solve_aval(a_aval, get_aval(b), left_side=bool(left_side), lower=lower,
                           transpose_a=transpose_a, conjugate_a=conjugate_a,
                           unit_diagonal=unit_diagonal)
    out = triangular_solve_p.bind(a, b, left_side=bool(left_side), lower=bool(lower),
                                  transpose_a=bool(transpose_a), conjugate_a=bool(conjugate_a),
                                  unit_diagonal=bool(unit_diagonal))
    return reshape(out, b_aval.shape) if singleton else out


# --- lu_pivots_to_permutation ---
lu_pivots_to_permutation_p = Primitive("lu_pivots_to_permutation")


@lu_pivots_to_permutation_p.def_abstract_eval
def _lu_pivots_aval(pivots, *, permutation_size):
    if np.dtype(pivots.dtype) != np.int32 or pivots.ndim < 1:
        raise FxTypeError(f"lu_pivots_to_permutation requires int32 pivots of rank >= 1, got "
                          f"{pivots.str_short()}. Fix: pivots.astype(jnp.int32).")
    if permutation_size < pivots.shape[-1]:
        raise ShapeError(f"lu_pivots_to_permutation: permutation_size {permutation_size} is "
                         f"smaller than the number of pivots {pivots.shape[-1]} "
                         f"({pivots.str_short()}).")
    return ShapedArray(pivots.shape[:-1] + (permutation_size,), np.dtype(np.int32))


lu_pivots_to_permutation_p.def_lowering(
    lambda pivots, *, permutation_size: jax.lax.linalg.lu_pivots_to_permutation(
        pivots, permutation_size))
lu_pivots_to_permutation_p.def_jvp(lambda primals, tangents, **params: (
    (out := lu_pivots_to_permutation_p.bind(*primals, **params)), zero_tangent(out)))
lu_pivots_to_permutation_p.def_batch(lambda args, bdims, **params: _batch_all_front(
    lu_pivots_to_permutation_p, args, bdims, **params))


def lu_pivots_to_permutation(pivots, permutation_size: int):
    """The permutation [..., permutation_size] that the row swaps ``pivots`` make
    (jax.lax.linalg.lu_pivots_to_permutation)."""
    return lu_pivots_to_permutation_p.bind(pivots, permutation_size=int(permutation_size))


# --- lu ---
lu_p = Primitive("lu", multiple_results=True)


@lu_p.def_abstract_eval
def _lu_aval(x):
    _check_matrix("lu", x)
    m, n = x.shape[-2:]
    batch = x.shape[:-2]
    return [x.strip_weak(), ShapedArray(batch + (min(m, n),), np.dtype(np.int32)),
            ShapedArray(batch + (m,), np.dtype(np.int32))]


lu_p.def_lowering(lambda x: list(jax.lax.linalg.lu(x)))


def _lu_jvp_inner(lu_, a_dot, permutation):
    """de Hoog et al.: L' = L tril(L^-1 A' U^-1, -1), U' = triu(L^-1 A' U^-1) U (batched)."""
    aval = get_aval(lu_)
    m, n = aval.shape[-2:]
    k = min(m, n)
    nb = aval.ndim - 2
    no_pad = [(0, 0, 0)] * nb
    zero = np.zeros((), aval.dtype)
    l = pad(_tril(_sl(lu_, cols=(0, k)), -1), zero, no_pad + [(0, 0, 0), (0, m - k, 0)])
    l = add(l, _eye_like(l))
    u = pad(_triu(_sl(lu_, rows=(0, k))), zero, no_pad + [(0, n - k, 0), (0, 0, 0)])
    u_eye = np.pad(np.eye(n - k, dtype=aval.dtype), ((k, 0), (k, 0)))
    u = add(u, broadcast_in_dim(u_eye, get_aval(u).shape, (nb, nb + 1)))
    a_perm = _matmul(_permutation_matrix(permutation, aval.dtype), a_dot)
    la = triangular_solve_p.bind(l, a_perm, left_side=True, lower=True, transpose_a=False,
                                 conjugate_a=False, unit_diagonal=True)
    lau = triangular_solve_p.bind(u, la, left_side=False, lower=False, transpose_a=False,
                                  conjugate_a=False, unit_diagonal=False)
    return add(_matmul(l, _tril(lau, -1)), _matmul(_triu(lau), u))


@lu_p.def_jvp
def _lu_jvp(primals, tangents):
    a, = primals
    lu_, pivots, permutation = lu_p.bind(a)
    lu_dot = _lu_jvp_inner(lu_, instantiate_zero(tangents[0]), permutation)
    return [lu_, pivots, permutation], [lu_dot, zero_tangent(pivots), zero_tangent(permutation)]


lu_p.def_batch(lambda args, bdims: _batch_all_front(lu_p, args, bdims))


def lu(x):
    """LU decomposition with partial pivoting, ``P x = L U`` (jax.lax.linalg.lu).

    Args:
      x: matrices ``[..., m, n]``.

    Returns:
      ``[lu, pivots, permutation]`` (a list, as JAX): L (unit diagonal, not stored) and U packed
      in one array of ``x``'s shape, int32 row swaps ``[..., min(m, n)]`` and
      the int32 permutation ``[..., m]``.
    """
    _check_matrix("lu", get_aval(x))
    return lu_p.bind(x)


# --- qr ---
qr_p = Primitive("qr", multiple_results=True)


@qr_p.def_abstract_eval
def _qr_aval(x, *, full_matrices):
    _check_matrix("qr", x)
    m, n = x.shape[-2:]
    k = m if full_matrices else min(m, n)
    batch = x.shape[:-2]
    return [ShapedArray(batch + (m, k), x.dtype), ShapedArray(batch + (k, n), x.dtype)]


qr_p.def_lowering(lambda x, *, full_matrices: list(
    jax.lax.linalg.qr(x, full_matrices=full_matrices)))


def _thin_qr_jvp(q, r, dx):
    """JVP of [..., m, n] QR with m >= n (Townsend's derivation, as JAX)."""
    dx_rinv = triangular_solve_p.bind(r, dx, left_side=False, lower=False, transpose_a=False,
                                      conjugate_a=False, unit_diagonal=False)
    qt_dx_rinv = _matmul(_H(q), dx_rinv)
    qt_dx_rinv_lower = _tril(qt_dx_rinv, -1)
    do = sub(qt_dx_rinv_lower, _H(qt_dx_rinv_lower))  # skew-hermitian
    if kind(get_aval(q).dtype) == "c":  # JAX's correction for complex inputs
        n = get_aval(r).shape[-1]
        eye = broadcast_in_dim(np.eye(n, dtype=get_aval(do).dtype), get_aval(do).shape,
                               (get_aval(do).ndim - 2, get_aval(do).ndim - 1))
        do = add(do, mul(eye, sub(qt_dx_rinv, _as(real(qt_dx_rinv), qt_dx_rinv))))
    dq = add(_matmul(q, sub(do, qt_dx_rinv)), dx_rinv)
    dr = _matmul(sub(qt_dx_rinv, do), r)
    return dq, dr


def _solve_transposed_lu(a, b):
    """``solve(a^H, b)`` via LU of square ``a`` (JAX's lu_solve with trans=2)."""
    lu_, _, perm = lu_p.bind(a)
    cj = kind(get_aval(a).dtype) == "c"
    x = triangular_solve_p.bind(lu_, b, left_side=True, lower=False, transpose_a=True,
                                conjugate_a=cj, unit_diagonal=False)
    x = triangular_solve_p.bind(lu_, x, left_side=True, lower=True, transpose_a=True,
                                conjugate_a=cj, unit_diagonal=True)
    return _matmul(_mT(_permutation_matrix(perm, get_aval(a).dtype)), x)


@qr_p.def_jvp
def _qr_jvp(primals, tangents, *, full_matrices):
    x, = primals
    dx = instantiate_zero(tangents[0])
    q, r = qr_p.bind(x, full_matrices=full_matrices)
    m, n = get_aval(x).shape[-2:]
    if m < n:  # wide: X = [X1 X2], the square part's rule, then dR2 = dQ^T X2 + Q^T dX2
        dq, dr1 = _thin_qr_jvp(q, _sl(r, cols=(0, m)), _sl(dx, cols=(0, m)))
        dr2 = add(_matmul(_H(dq), _sl(x, cols=(m, n))), _matmul(_H(q), _sl(dx, cols=(m, n))))
        return [q, r], [dq, concatenate([dr1, dr2], get_aval(x).ndim - 1)]
    q_mn = _sl(q, cols=(0, n)) if full_matrices else q
    r_nn = _sl(r, rows=(0, n)) if full_matrices else r
    dq_mn, dr_nn = _thin_qr_jvp(q_mn, r_nn, dx)
    if not full_matrices or m == n:
        return [q, r], [dq_mn, dr_nn]
    # full matrices, m > n (arXiv:2409.13374, eqs. 32-33, as JAX)
    q_nn, q_pn, q_mp = _sl(q_mn, rows=(0, n)), _sl(q_mn, rows=(n, m)), _sl(q, cols=(n, m))
    dq_nn, dq_pn = _sl(dq_mn, rows=(0, n)), _sl(dq_mn, rows=(n, m))
    z_pn_h = _solve_transposed_lu(sub(q_nn, _eye_like(q_nn)), _H(q_pn))
    z_pn = _H(z_pn_h)
    dq_mp = sub(_matmul(dq_mn, z_pn_h),
                _matmul(add(q_mn, _matmul(q_mp, z_pn)), _H(sub(dq_pn, _matmul(z_pn, dq_nn)))))
    nd = get_aval(x).ndim
    dq = concatenate([dq_mn, dq_mp], nd - 1)
    zeros = broadcast_in_dim(np.zeros((), get_aval(x).dtype),
                             get_aval(x).shape[:-2] + (m - n, n), ())
    return [q, r], [dq, concatenate([dr_nn, zeros], nd - 2)]


qr_p.def_batch(lambda args, bdims, **params: _batch_all_front(qr_p, args, bdims, **params))


def qr(x, *, pivoting: bool = False, full_matrices: bool = True, use_magma=None):
    """QR decomposition ``x = q r`` (jax.lax.linalg.qr).

    Args:
      x: matrices ``[..., m, n]``.
      pivoting: must be False (column pivoting is not supported yet).
      full_matrices: ``q`` is ``[..., m, m]`` and ``r`` ``[..., m, n]``; else
        ``k = min(m, n)`` columns / rows.
      use_magma: ignored (GPU only in JAX).

    Returns:
      ``(q, r)``.
    """
    if pivoting:
        raise NotImplementedError("qr: pivoting=True (column-pivoted QR) is not supported by "
                                  "fxjax yet. Fix: use pivoting=False.")
    _check_matrix("qr", get_aval(x))
    return tuple(qr_p.bind(x, full_matrices=bool(full_matrices)))


# --- eigh ---
eigh_p = Primitive("eigh", multiple_results=True)


@eigh_p.def_abstract_eval
def _eigh_aval(x, *, lower, sort_eigenvalues, subset_by_index):
    _check_matrix("eigh", x, square=True)
    n = x.shape[-1]
    d = n if subset_by_index is None else subset_by_index[1] - subset_by_index[0]
    if subset_by_index is not None and not 0 <= subset_by_index[0] <= subset_by_index[1] <= n:
        raise ShapeError(f"eigh: subset_by_index={subset_by_index} is not a range within "
                         f"[0, {n}] for {x.str_short()}.")
    return [ShapedArray(x.shape[:-1] + (d,), x.dtype),
            ShapedArray(x.shape[:-2] + (d,), _real_dtype(x.dtype))]


eigh_p.def_lowering(lambda x, **params: list(
    jax.lax.linalg.eigh(x, symmetrize_input=False, **params)))


@eigh_p.def_jvp
def _eigh_jvp(primals, tangents, *, lower, sort_eigenvalues, subset_by_index):
    a, = primals
    n = get_aval(a).shape[-1]
    if not (subset_by_index is None or tuple(subset_by_index) == (0, n)):
        raise NotImplementedError("Derivatives not defined for partial eigen decomposition.")
    a_dot = instantiate_zero(tangents[0])
    v, w_real = eigh_p.bind(symmetrize(a), lower=lower, sort_eigenvalues=sort_eigenvalues,
                            subset_by_index=subset_by_index)
    w = _as(w_real, a)  # complex inputs: the eigenvalues in v's dtype, as JAX
    shape = get_aval(v).shape
    eye = _eye_like(v)
    fmat = sub(integer_pow(sub(add(eye, _rows(w, shape)), _cols(w, shape)), -1), eye)
    vdag_adot_v = _matmul(_matmul(_H(v), a_dot), v)
    dv = _matmul(v, mul(fmat, vdag_adot_v))
    dw = _diagonal(_real_part(vdag_adot_v))
    return [v, w_real], [dv, dw]


eigh_p.def_batch(lambda args, bdims, **params: _batch_all_front(eigh_p, args, bdims, **params))


def eigh(x, *, lower: bool = True, symmetrize_input: bool = True,
         sort_eigenvalues: bool = True, subset_by_index=None, implementation=None):
    """Eigendecomposition of symmetric matrices (jax.lax.linalg.eigh).

    Args:
      x: symmetric matrices ``[..., n, n]``.
      lower: which triangle is read when ``symmetrize_input`` is False.
      symmetrize_input: use ``(x + x^T) / 2``.
      sort_eigenvalues: ascending eigenvalues.
      subset_by_index: ``(start, end)`` of the eigenvalues to compute, or None.
      implementation: must be None (JAX's backend choice).

    Returns:
      ``(v, w)``: eigenvectors as columns ``[..., n, d]`` and eigenvalues ``[..., d]``.
    """
    if implementation is not None:
        raise NotImplementedError("eigh: only implementation=None is supported.")
    _check_matrix("eigh", get_aval(x), square=True)
    if symmetrize_input:
        x = symmetrize(x)
    subset = None if subset_by_index is None else tuple(int(i) for i in subset_by_index)
    return tuple(eigh_p.bind(x, lower=bool(lower), sort_eigenvalues=bool(sort_eigenvalues),
                             subset_by_index=subset))


# --- svd ---
svd_p = Primitive("svd", multiple_results=True)


@svd_p.def_abstract_eval
def _svd_aval(x, *, full_matrices, compute_uv, subset_by_index):
    _check_matrix("svd", x)
    m, n = x.shape[-2:]
    k = min(m, n)
    if subset_by_index is not None:
        lo, hi = subset_by_index
        if not 0 <= lo <= hi <= k:
            raise ShapeError(f"svd: subset_by_index={subset_by_index} is not a range within "
                             f"[0, {k}] for {x.str_short()}.")
        k = hi - lo
    batch = x.shape[:-2]
    s = ShapedArray(batch + (k,), _real_dtype(x.dtype))
    if not compute_uv:
        return [s]
    if full_matrices and subset_by_index is None:
        return [s, ShapedArray(batch + (m, m), x.dtype), ShapedArray(batch + (n, n), x.dtype)]
    return [s, ShapedArray(batch + (m, k), x.dtype), ShapedArray(batch + (k, n), x.dtype)]


def _svd_lowering(x, *, full_matrices, compute_uv, subset_by_index):
    out = jax.lax.linalg.svd(x, full_matrices=full_matrices, compute_uv=compute_uv,
                             subset_by_index=subset_by_index)
    if not compute_uv:
        return [out]
    u, s, vh = out
    return [s, u, vh]


svd_p.def_lowering(_svd_lowering)


@svd_p.def_jvp
def _svd_jvp(primals, tangents, *, full_matrices, compute_uv, subset_by_index):
    a, = primals
    da = instantiate_zero(tangents[0])
    s, u, vt = svd_p.bind(a, full_matrices=False, compute_uv=True,
                          subset_by_index=subset_by_index)
    m, n = get_aval(a).shape[-2:]
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            "Singular value decomposition JVP not implemented for full matrices")
    ut, v = _H(u), _H(vt)
    ds_mat = _matmul(_matmul(ut, da), v)
    ds = _diagonal(_real_part(ds_mat))
    if not compute_uv:
        return [s], [ds]
    kk = get_aval(s).shape[-1]
    sq = get_aval(s).shape[:-1] + (kk, kk)
    s_row, s_col = _rows(s, sq), _cols(s, sq)
    s_diffs = mul(add(s_row, s_col), sub(s_row, s_col))
    eye = _eye_like(s_diffs)
    f = sub(div(_const(s_diffs, 1), add(s_diffs, eye)), eye)
    f = _as(f, a)
    dss = mul(_as(s_row, a), ds_mat)
    sds = mul(_as(s_col, a), ds_mat)
    s_zeros = convert_element_type(eq(s, _const(s, 0)), get_aval(s).dtype)
    s_inv = sub(div(_const(s, 1), add(s, s_zeros)), s_zeros)
    s_inv_mat = select_n(_mask(ds_mat, np.eye(kk, dtype=bool)), _const(ds_mat, 0),
                         _as(_rows(s_inv, sq), a))
    dudv_diag = mul(mul(_const(ds_mat, 0.5), sub(ds_mat, _H(ds_mat))), s_inv_mat)
    du = _matmul(u, add(mul(f, add(dss, _H(dss))), dudv_diag))
    dv = _matmul(v, mul(f, add(sds, _H(sds))))
    if m > n:
        dav = _matmul(da, v)
        du = add(du, div(sub(dav, _matmul(u, _matmul(ut, dav))),
                         _as(_rows(s, get_aval(dav).shape), a)))
    if n > m:
        dahu = _matmul(_H(da), u)
        dv = add(dv, div(sub(dahu, _matmul(v, _matmul(vt, dahu))),
                         _as(_rows(s, get_aval(dahu).shape), a)))
    return [s, u, vt], [ds, du, _H(dv)]


svd_p.def_batch(lambda args, bdims, **params: _batch_all_front(svd_p, args, bdims, **params))


def svd(x, *, full_matrices: bool = True, compute_uv: bool = True, subset_by_index=None,
        algorithm=None):
    """Singular value decomposition ``x = u diag(s) vh`` (jax.lax.linalg.svd).

    Args:
      x: matrices ``[..., m, n]``.
      full_matrices: square ``u`` / ``vh``; else ``k = min(m, n)`` columns / rows.
      compute_uv: also return the singular vectors.
      subset_by_index: ``(start, end)`` of the singular values to compute, or None.
      algorithm: must be None (JAX's default).

    Returns:
      ``(u, s, vh)`` if ``compute_uv``, else ``s`` (descending, ``[..., k]``).
    """
    if algorithm is not None:
        raise NotImplementedError("svd: only algorithm=None is supported.")
    _check_matrix("svd", get_aval(x))
    subset = None if subset_by_index is None else tuple(int(i) for i in subset_by_index)
    out = svd_p.bind(x, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv),
                     subset_by_index=subset)
    if not compute_uv:
        return out[0]
    s, u, vh = out
    return u, s, vh
