"""The Schur-based part of ``jax.scipy.linalg``: ``schur``, ``rsf2csf`` (real to
complex Schur form by Givens rotations), ``sqrtm`` (Björck-Hammarling),
``funm`` (Parlett's recurrence) and ``solve_sylvester`` (Bartels-Stewart or
eigendecomposition). Schur runs on CPU only, as in JAX. Re-exported by
``primitives.scipy.linalg``.

Example::

    >>> import numpy as np, primitives.scipy.linalg as fsl
    >>> t, z = fsl.schur(np.array([[1., 2.], [3., 4.]], np.float32))
    >>> r = fsl.sqrtm(np.array([[4., 1.], [0., 9.]], np.float32))

References:
    JAX's ``jax/_src/scipy/linalg.py`` and ``jax/_src/third_party/scipy/linalg.py``;
    Björck & Hammarling (1983); Golub & Van Loan, "Matrix Computations", Alg. 11.1.1.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

import primitives as P
import primitives.numpy as fnp
from fx.core import get_aval
from fx.dtypes import is_complex
from primitives.control_flow.loops import fori_loop, scan
from primitives.numpy.creation import asarray
from primitives.numpy.linalg_solve import inv as _inv, solve as _solve
from primitives.numpy.math import promote_inexact
from primitives.scipy import _linalg_primitives as _lp

__all__ = ["schur", "rsf2csf", "sqrtm", "funm", "solve_sylvester"]


def _arr(x):
    return asarray(x) if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)) \
        else x


def _complex_dtype(dtype):
    return np.result_type(np.dtype(dtype), np.complex64)


def _mH(x):
    return fnp.conj(fnp.swapaxes(x, -1, -2))


def _hi(a, b):
    return fnp.matmul(a, b, precision="highest")


# --- schur ---------------------------------------------------------------------------------------
def schur(a, output: str = "real"):
    """As jax.scipy.linalg.schur: ``a = z t z^H`` (CPU only).

    Args:
      a: ``(..., N, N)``.
      output: 'real' (quasi-triangular ``t``) or 'complex' (triangular ``t``).

    Returns:
      ``(t, z)``.

    References:
      jax.scipy.linalg.schur (LAPACK gees).
    """
    if output not in ("real", "complex"):
        raise ValueError(f"Expected 'output' to be either 'real' or 'complex', got "
                         f"output={output!r}.")
    a = _arr(a)
    if output == "complex":
        a = a.astype(_complex_dtype(get_aval(a).dtype))
    return list(_lp.schur(a))


# --- rsf2csf -------------------------------------------------------------------------------------
def _rsf2csf_2d(T, Z):
    dtype = _complex_dtype(np.result_type(get_aval(T).dtype, get_aval(Z).dtype))
    T, Z = T.astype(dtype), Z.astype(dtype)
    eps = np.finfo(dtype).eps
    N = get_aval(T).shape[0]
    if N == 1:
        return T, Z

    def update(m, T, Z):
        mu = fnp.linalg.eigvals(P.dynamic_slice(T, (m - 1, m - 1), (2, 2))) - T[m, m]
        v = fnp.stack([mu[0], T[m, m - 1]])   # |v|_2 (fnp.linalg.norm of complex: see below)
        r = fnp.sqrt(fnp.sum(fnp.real(v * fnp.conj(v)))).astype(dtype)
        c = mu[0] / r
        s = T[m, m - 1] / r
        G = fnp.stack([fnp.stack([fnp.conj(c), s]), fnp.stack([-s, c])]).astype(dtype)
        T_rows = P.dynamic_slice_in_dim(T, m - 1, 2, axis=0)
        col_mask = fnp.arange(N) >= m - 1
        T_rows_new = fnp.where(~col_mask, T_rows, G @ fnp.where(col_mask, T_rows, 0))
        T = P.dynamic_update_slice_in_dim(T, T_rows_new, m - 1, axis=0)
        T_cols = P.dynamic_slice_in_dim(T, m - 1, 2, axis=1)
        row_mask = fnp.arange(N)[:, np.newaxis] < m + 1
        T_cols_new = fnp.where(~row_mask, T_cols, fnp.where(row_mask, T_cols, 0) @ _mH(G))
        T = P.dynamic_update_slice_in_dim(T, T_cols_new, m - 1, axis=1)
        Z_cols = P.dynamic_slice_in_dim(Z, m - 1, 2, axis=1)
        Z = P.dynamic_update_slice_in_dim(Z, Z_cols @ _mH(G), m - 1, axis=1)
        return T, Z

    def step(i, TZ):
        m = N - i
        T, Z = TZ
        T, Z = P.cond(fnp.abs(T[m, m - 1]) > eps * (fnp.abs(T[m - 1, m - 1]) + fnp.abs(T[m, m])),
                      update, lambda m, T, Z: (T, Z), m, T, Z)
        return T.at[m, m - 1].set(0.0), Z

    return fori_loop(1, N, step, (T, Z))


def rsf2csf(T, Z, check_finite: bool = True):
    """As jax.scipy.linalg.rsf2csf: the complex Schur form from the real one.

    Args:
      T: ``(..., N, N)`` real Schur form.
      Z: ``(..., N, N)`` its Schur vectors.
      check_finite: unused.

    Returns:
      ``(T, Z)`` complex, ``T`` upper triangular.

    References:
      jax.scipy.linalg.rsf2csf; SciPy's rsf2csf.
    """
    T, Z = _arr(T), _arr(Z)
    st, sz = get_aval(T).shape, get_aval(Z).shape
    if len(st) < 2 or st[-1] != st[-2]:
        raise ValueError("Input 'T' must be square.")
    if len(sz) < 2 or sz[-1] != sz[-2]:
        raise ValueError("Input 'Z' must be square.")
    if st[-1] != sz[-1]:
        raise ValueError(f"Input array shapes must match: Z: {sz} vs. T: {st}")
    return fnp.vectorize(_rsf2csf_2d, signature="(n,n),(n,n)->(n,n),(n,n)")(T, Z)


# --- sqrtm ---------------------------------------------------------------------------------------
def _sqrtm_triu(T):
    diag = fnp.sqrt(fnp.diag(T))
    n = get_aval(diag).shape[0]
    U = fnp.diag(diag)

    def i_loop(l, data):
        j, U = data
        i = j - 1 - l
        s = fori_loop(i + 1, j, lambda k, val: val + U[i, k] * U[k, j], 0.0)
        value = fnp.where(T[i, j] == s, 0.0, (T[i, j] - s) / (diag[i] + diag[j]))
        return j, U.at[i, j].set(value)

    def j_loop(j, U):
        _, U = fori_loop(0, j, i_loop, (j, U))
        return U

    return fori_loop(0, n, j_loop, U)


def sqrtm(A, blocksize: int = 1):
    """As jax.scipy.linalg.sqrtm: the principal square root through the complex Schur form.

    Args:
      A: ``(N, N)``.
      blocksize: must be 1 (as JAX).

    Returns:
      ``(N, N)`` complex.

    References:
      jax.scipy.linalg.sqrtm; Björck & Hammarling, "A Schur method for the square root
      of a matrix" (1983).
    """
    if blocksize > 1:
        raise NotImplementedError("Blocked version is not implemented yet.")
    T, Z = schur(A, output="complex")
    return _hi(_hi(Z, _sqrtm_triu(T)), fnp.conj(Z.T))


# --- funm ----------------------------------------------------------------------------------------
def _algorithm_11_1_1(F, T):
    N = get_aval(T).shape[0]
    minden = fnp.abs(T[0, 0])

    def inner(i, p_F_minden):
        p, F, minden = p_F_minden
        j = i + p
        s = T[i - 1, j - 1] * (F[j - 1, j - 1] - F[i - 1, i - 1])
        T_row, T_col = T[i - 1], T[:, j - 1]
        F_row, F_col = F[i - 1], F[:, j - 1]
        ind = (fnp.arange(N) >= i) & (fnp.arange(N) < j - 1)
        val = (fnp.where(ind, T_row, 0) @ fnp.where(ind, F_col, 0)
               - fnp.where(ind, F_row, 0) @ fnp.where(ind, T_col, 0))
        s = s + val
        den = T[j - 1, j - 1] - T[i - 1, i - 1]
        s = fnp.where(den != 0, s / den, s)
        return p, F.at[i - 1, j - 1].set(s), fnp.minimum(minden, fnp.abs(den))

    def outer(p, F_minden):
        _, F, minden = fori_loop(1, N - p + 1, inner, (p, *F_minden))
        return F, minden

    return fori_loop(1, N, outer, (F, minden))


def funm(A, func: Callable, disp: bool = True):
    """As jax.scipy.linalg.funm: ``func`` applied to a matrix through its Schur form.

    Args:
      A: ``(N, N)``.
      func: a scalar function, applied elementwise to the eigenvalues.
      disp: if False, also return the error estimate.

    Returns:
      ``F`` (complex) or ``(F, err)``.

    References:
      jax.scipy.linalg.funm; Golub & Van Loan, Algorithm 11.1.1.
    """
    A = _arr(A)
    s = get_aval(A).shape
    if len(s) != 2 or s[0] != s[1]:
        raise ValueError("expected square array_like input")
    T, Z = schur(A)
    T, Z = rsf2csf(T, Z)
    F = fnp.diag(func(fnp.diag(T))).astype(get_aval(T).dtype)
    F, minden = _algorithm_11_1_1(F, T)
    F = Z @ F @ _mH(Z)
    if disp:
        return F
    char = get_aval(F).dtype.char.lower()
    if char == "f":  # as JAX (whose float16 branch is overwritten by the next test)
        tol = np.finfo(np.float32).eps
    else:
        tol = np.finfo(np.float64).eps
    minden = fnp.where(minden == 0.0, tol, minden)
    err = fnp.where(fnp.any(fnp.isinf(fnp.real(F)) | fnp.isinf(fnp.imag(F))), np.inf, fnp.minimum(1, fnp.maximum(
        tol, (tol / minden) * fnp.linalg.norm(fnp.triu(T, 1), 1))))
    return F, err


# --- solve_sylvester -----------------------------------------------------------------------------
def _sylvester_triangular(R, S, F):
    """Bartels-Stewart back substitution for ``R Y + Y S^T = F``, R and S upper triangular."""
    m, n = get_aval(F).shape
    dtype = get_aval(F).dtype

    def step(Y_flat, idx):
        i, j = idx // n, idx % n
        Y = Y_flat.reshape((m, n))
        row_term = fnp.sum(fnp.where(fnp.arange(m) > i, R[i, :] * Y[:, j], 0.0))
        col_term = fnp.sum(fnp.where(fnp.arange(n) > j, Y[i, :] * S[:, j], 0.0))
        val = (F[i, j] - (row_term + col_term)) / (R[i, i] + S[j, j])
        return Y_flat.at[i * n + j].set(val), None

    Y, _ = scan(step, fnp.zeros((m * n,), dtype=dtype), fnp.arange(m * n - 1, -1, -1))
    return Y.reshape((m, n))


def _sylvester_2d(A, B, C, method, tol):
    m, n = get_aval(C).shape
    if method == "schur":
        R, U = schur(A, output="complex")
        S, V = schur(_mH(B), output="complex")
        F = _mH(U) @ C.astype(get_aval(R).dtype) @ V
        Y = _sylvester_triangular(R, _mH(S), F)
        X = U @ Y @ _mH(V)
    elif method == "eigen":
        RA, UA = fnp.linalg.eig(A)
        RB, UB = fnp.linalg.eig(B)
        F = _solve(UA, C.astype(get_aval(RA).dtype) @ UB)
        Y = F / (RA[:, None] + RB[None, :])
        X = UA[:m, :m] @ Y[:m, :n] @ _inv(UB)[:n, :n]
    else:
        raise ValueError(f"Unrecognized method {method}. The two valid methods are either "
                         f"\"schur\" or \"eigen\".")
    if not is_complex(get_aval(C).dtype):
        X = fnp.real(X)
    bad = fnp.any(fnp.abs(fnp.linalg.eigvals(A)[:, None] + fnp.linalg.eigvals(B)[None, :]) < tol)
    return P.cond(bad, lambda x: fnp.zeros_like(x) * np.nan, lambda x: x, X)


def solve_sylvester(A, B, C, *, method: str = "schur", tol: float = 1e-8):
    """As jax.scipy.linalg.solve_sylvester: ``X`` with ``A X + X B = C`` (NaN if singular).

    Args:
      A: ``(..., m, m)``.
      B: ``(..., n, n)``.
      C: ``(..., m, n)``.
      method: 'schur' (Bartels-Stewart, CPU only) or 'eigen'.
      tol: NaNs when some ``|eig(A)_i + eig(B)_j| < tol``.

    Returns:
      ``(..., m, n)``.

    References:
      jax.scipy.linalg.solve_sylvester; Bartels & Stewart (1972).
    """
    A, B, C = promote_inexact(_arr(A), _arr(B), _arr(C))
    sa, sb, sc = (get_aval(x).shape for x in (A, B, C))
    m, n = sc[-2:]
    if sa[-2:] != (m, m) or sb[-2:] != (n, n):
        raise ValueError(f"Incompatible shapes for Sylvester equation:\nA: {sa}\nB: {sb}\n"
                         f"C: {sc}")
    return fnp.vectorize(lambda a, b, c: _sylvester_2d(a, b, c, method, tol),
                         signature="(m,m),(n,n),(m,n)->(m,n)")(A, B, C)
