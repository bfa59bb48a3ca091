"""More of ``jax.scipy.linalg``: special matrices (companion, convolution_matrix,
fiedler, fiedler_companion, hadamard, helmert, invhilbert, invpascal, leslie,
pascal, dft), ``hessenberg``,
``polar`` (QDWH or SVD), ``qr_multiply`` and ``eigh_tridiagonal`` (Sturm
bisection, as JAX). Re-exported by ``primitives.scipy.linalg``.

Example::

    >>> import numpy as np, primitives.scipy.linalg as fsl
    >>> c = fsl.companion(np.array([1., -10., 31., -30.], np.float32))
    >>> u, p = fsl.polar(np.array([[1., 2.], [3., 4.]], np.float32))

References:
    JAX's ``jax/_src/scipy/linalg.py``; SciPy's ``scipy.linalg``.
"""
from __future__ import annotations

import math
import operator

import numpy as np

import primitives as P
import primitives.numpy as fnp
import primitives.random as frandom
from fx.core import canonical_dtype, get_aval
from fx.dtypes import is_complex
from primitives.control_flow.loops import fori_loop, while_loop
from primitives.numpy.creation import asarray
from primitives.numpy.math import promote_inexact
from primitives.scipy import _linalg_primitives as _lp
from primitives.scipy._qdwh import qdwh
from primitives.scipy.special import comb, gammaln

__all__ = ["companion", "convolution_matrix", "dft", "eigh_tridiagonal",
           "fiedler", "fiedler_companion", "hadamard", "helmert", "hessenberg", "invhilbert",
           "invpascal", "leslie", "pascal", "polar", "qr_multiply"]


def _arr(x, who):
    if isinstance(x, (list, tuple)) or x is None:
        raise TypeError(f"{who} requires ndarray or scalar arguments, got {type(x).__name__}")
    return asarray(x) if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)) \
        else x


def _asarray(x):
    """As jnp.asarray: lists and tuples are accepted (unlike ``_arr``'s check_arraylike)."""
    return asarray(x) if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)) \
        else x


def _shape(x):
    return get_aval(x).shape


def _mH(x):
    return fnp.conj(fnp.swapaxes(x, -1, -2))


def _hi(a, b):
    return fnp.matmul(a, b, precision="highest")


# --- special matrices ----------------------------------------------------------------------------
def leslie(f, s):
    """As jax.scipy.linalg.leslie: fecundity ``f`` as the first row, survival ``s`` below the
    diagonal.

    Args:
      f: ``(..., N)``, ``N >= 2``.
      s: ``(..., N - 1)``.

    Returns:
      ``(..., N, N)``.

    References:
      jax.scipy.linalg.leslie.
    """
    f = fnp.atleast_1d(_arr(f, "leslie"))
    s = fnp.atleast_1d(_arr(s, "leslie"))
    if _shape(f)[-1] < 2:
        raise ValueError(f"The length of f along the last axis must be at least 2; got shape "
                         f"{_shape(f)}.")
    if _shape(s)[-1] != _shape(f)[-1] - 1:
        raise ValueError(f"Incorrect lengths for f and s. The length of s along the last axis "
                         f"must be one less than the length of f; got f shape {_shape(f)} "
                         f"and s shape {_shape(s)}.")
    f, s = fnp.promote(f, s)
    n = _shape(f)[-1]
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    s_row = fnp.pad(s, [(0, 0)] * (s.ndim - 1) + [(0, 1)])[..., None, :]
    zero = fnp.zeros((), get_aval(f).dtype)
    return fnp.where(i == 0, f[..., None, :], fnp.where(i == j + 1, s_row, zero))


def companion(a):
    """As jax.scipy.linalg.companion: first row ``-a[1:] / a[0]``, ones below the diagonal.

    Args:
      a: polynomial coefficients ``(..., N)``, ``N >= 2``.

    Returns:
      ``(..., N - 1, N - 1)``.

    References:
      jax.scipy.linalg.companion.
    """
    a, = promote_inexact(_arr(a, "companion"))
    a = fnp.atleast_1d(a)
    if _shape(a)[-1] < 2:
        raise ValueError(f"The length of `a` along the last axis must be at least 2; got shape "
                         f"{_shape(a)}.")
    first_row = -a[..., 1:] / a[..., :1]
    m = _shape(a)[-1] - 1
    i = np.arange(m)[:, None]
    return fnp.where(i == 0, first_row[..., None, :],
                     fnp.eye(m, m, k=-1, dtype=get_aval(first_row).dtype))


def fiedler(a):
    """As jax.scipy.linalg.fiedler: ``F[i, j] = |a[i] - a[j]|``.

    Args:
      a: ``(..., N)``.

    Returns:
      ``(..., N, N)``.

    References:
      jax.scipy.linalg.fiedler.
    """
    arr = fnp.atleast_1d(_arr(a, "fiedler"))
    return fnp.abs(arr[..., None] - arr[..., None, :])


def fiedler_companion(a):
    """As jax.scipy.linalg.fiedler_companion: the pentadiagonal companion matrix.

    Args:
      a: polynomial coefficients ``(..., N)`` (descending), ``N >= 1``.

    Returns:
      ``(..., N - 1, N - 1)``.

    References:
      jax.scipy.linalg.fiedler_companion; Fiedler, "A note on companion matrices" (2003).
    """
    a, = promote_inexact(_arr(a, "fiedler_companion"))
    a = fnp.atleast_1d(a)
    if _shape(a)[-1] == 0:
        raise ValueError(f"fiedler_companion requires the last axis of 'a' to have nonzero "
                         f"length, but got an array of shape {_shape(a)}.")
    n = _shape(a)[-1] - 1
    dtype = get_aval(a).dtype
    if n == 0:
        return fnp.zeros(_shape(a)[:-1] + (0, 0), dtype)
    a = a / a[..., :1]
    if n == 1:
        return -a[..., 1:, None]
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    super_val = -a[..., np.minimum(i + 2, n)]
    sub_val = -a[..., np.minimum(i + 1, n)]
    one, zero = fnp.ones((), dtype), fnp.zeros((), dtype)
    conditions = [(i == 0) & (j == 0), (i == 1) & (j == 0), (j == i + 1) & (i % 2 == 0),
                  (j == i + 2) & (i % 2 == 0), (j == i - 1) & (i % 2 == 0) & (i >= 2),
                  (j == i - 2) & (i % 2 == 1) & (i >= 3)]
    choices = [-a[..., 1, None, None], one, super_val, one, sub_val, one]
    batch = _shape(a)[:-1] + (n, n)
    return fnp.select([fnp.broadcast_to(c, batch) for c in conditions],
                      [fnp.broadcast_to(c, batch) for c in choices], default=zero)


def _toeplitz(c, r):
    """Batched Toeplitz matrices (first column ``c``, first row ``r``)."""
    m, n = _shape(c)[-1], _shape(r)[-1]
    elems = fnp.concatenate((c[..., ::-1], r[..., 1:]), axis=-1)
    return elems[..., np.arange(n)[None, :] - np.arange(m)[:, None] + m - 1]


def convolution_matrix(a, n: int, mode: str = "full"):
    """As jax.scipy.linalg.convolution_matrix: ``A @ v == convolve(a, v, mode)``.

    Args:
      a: ``(..., m)``, ``m >= 1``.
      n: the number of columns (positive).
      mode: 'full', 'same' or 'valid'.

    Returns:
      ``(..., k, n)``.

    References:
      jax.scipy.linalg.convolution_matrix.
    """
    n = operator.index(n)
    if n <= 0:
        raise ValueError(f"n must be a positive integer; got {n}.")
    a = _arr(a, "convolution_matrix")
    if get_aval(a).ndim == 0:
        raise ValueError("convolution_matrix: a must be at least 1-dimensional, got a scalar.")
    m = _shape(a)[-1]
    if m < 1:
        raise ValueError(f"len(a) must be at least 1; got shape {_shape(a)}.")
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"mode must be one of 'full', 'valid', 'same'; got {mode!r}.")
    pad_widths = [(0, 0)] * (get_aval(a).ndim - 1) + [(0, n - 1)]
    az = fnp.pad(a, pad_widths)
    raz = fnp.pad(fnp.flip(a, axis=-1), pad_widths)
    L = m + n - 1
    if mode == "same":
        trim = min(n, m) - 1
        tb, te = trim // 2, trim - trim // 2
    elif mode == "valid":
        tb = te = min(n, m) - 1
    else:
        tb = te = 0
    return _toeplitz(az[..., tb:L - te], raz[..., L - n - tb:L - tb])


def invhilbert(n: int):
    """As jax.scipy.linalg.invhilbert: the inverse Hilbert matrix (closed form, floats).

    Args:
      n: the order.

    Returns:
      ``(n, n)``.

    References:
      jax.scipy.linalg.invhilbert.
    """
    a = fnp.arange(n, dtype=canonical_dtype(float))
    i, j = a[:, None], a[None, :]
    s = i + j
    return ((-1.0) ** s * (s + 1.0) * comb(n + i, n - j - 1) * comb(n + j, n - i - 1)
            * comb(s, i) ** 2)


def _binom(n, k):
    return fnp.exp(gammaln(n + 1.0) - gammaln(n - k + 1.0) - gammaln(k + 1.0))


def _kind(kind):
    kind = "symmetric" if kind is None else kind
    valid = ["symmetric", "lower", "upper"]
    if kind not in valid:
        raise ValueError(f"Expected kind to be one of: {valid}; got {kind}")
    return kind


def pascal(n: int, kind: str | None = None):
    """As jax.scipy.linalg.pascal: binomial coefficients (through gammaln, float32).

    Args:
      n: the order.
      kind: 'symmetric' (default), 'lower' or 'upper'.

    Returns:
      ``(n, n)`` float32.

    References:
      jax.scipy.linalg.pascal.
    """
    kind = _kind(kind)
    a = fnp.arange(n, dtype=np.float32)
    L_n = _binom(a[:, None], a[None, :])
    if kind == "lower":
        return L_n
    if kind == "upper":
        return L_n.T
    return fnp.dot(L_n, L_n.T)


def invpascal(n: int, kind: str | None = None):
    """As jax.scipy.linalg.invpascal: ``L^-1[i, j] = (-1)^(i-j) binom(i, j)``.

    Args:
      n: the order.
      kind: 'symmetric' (default), 'lower' or 'upper'.

    Returns:
      ``(n, n)``.

    References:
      jax.scipy.linalg.invpascal.
    """
    kind = _kind(kind)
    a = fnp.arange(n, dtype=canonical_dtype(float))
    i, j = a[:, None], a[None, :]
    L_inv = ((-1.0) ** (i - j)) * _binom(i, j)
    if kind == "lower":
        return L_inv
    if kind == "upper":
        return L_inv.T
    return fnp.dot(L_inv.T, L_inv)


def helmert(n: int, full: bool = False):
    """As jax.scipy.linalg.helmert: orthonormal contrasts (plus ``1/sqrt(n)`` if ``full``).

    Args:
      n: the size (positive).
      full: include the first row.

    Returns:
      ``(n - 1, n)`` or ``(n, n)``.

    References:
      jax.scipy.linalg.helmert.
    """
    if n < 1:
        raise ValueError(f"n must be a positive integer; got {n}.")
    i = fnp.arange(n - 1)[:, None]
    j = fnp.arange(n)[None, :]
    k_f = (i + 1).astype(canonical_dtype(float))
    denom = fnp.sqrt(k_f * (k_f + 1))
    H = fnp.where(j <= i, 1.0 / denom, fnp.where(j == i + 1, -k_f / denom,
                                                  fnp.zeros_like(denom)))
    if full:
        first = fnp.full((1, n), 1.0 / fnp.sqrt(n), dtype=get_aval(H).dtype)
        H = fnp.concatenate([first, H], axis=0)
    return H


def hadamard(n: int, dtype=int):
    """As jax.scipy.linalg.hadamard: Sylvester's construction.

    Args:
      n: the size (a positive power of 2).
      dtype: the output dtype.

    Returns:
      ``(n, n)``.

    References:
      jax.scipy.linalg.hadamard.
    """
    if n < 1 or not math.log2(n).is_integer():
        raise ValueError(f"n must be a positive power of 2; got {n}.")
    H = fnp.ones((1, 1), dtype=dtype)
    for _ in range(int(math.log2(n))):
        H = fnp.block([[H, H], [H, -H]])
    return H


def dft(n: int, scale: str | None = None, *, dtype=None):
    """As jax.scipy.linalg.dft: ``W[i, j] = exp(-2 pi i ij / n)``.

    Args:
      n: the size.
      scale: None, 'sqrtn' or 'n'.
      dtype: a complex dtype (default: the default complex dtype).

    Returns:
      ``(n, n)`` complex.

    References:
      jax.scipy.linalg.dft.
    """
    if scale is not None and scale not in ("sqrtn", "n"):
        raise ValueError(f"scale must be None, 'sqrtn', or 'n'; got {scale!r}.")
    if dtype is None:
        dtype = canonical_dtype(complex)
    else:
        dtype = canonical_dtype(np.dtype(dtype))
        if not np.issubdtype(dtype, np.complexfloating):
            raise ValueError(f"dtype must be a complex floating-point type; got {dtype}.")
    a = fnp.arange(n, dtype=dtype)
    omegas = fnp.exp(-2j * np.pi * a[:, None] * a[None, :] / n)
    if scale == "sqrtn":
        omegas = omegas / fnp.sqrt(n)
    elif scale == "n":
        omegas = omegas / n
    return omegas


# --- hessenberg ----------------------------------------------------------------------------------
def hessenberg(a, *, calc_q: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """As jax.scipy.linalg.hessenberg: ``a = q h q^H`` with ``h`` zero below the subdiagonal.

    Args:
      a: ``(..., N, N)``.
      calc_q: also return ``q``.
      overwrite_a: unused.
      check_finite: unused.

    Returns:
      ``h`` or ``(h, q)``.

    References:
      jax.scipy.linalg.hessenberg (LAPACK gehrd / orghr).
    """
    a = _asarray(a)
    n = _shape(a)[-1]
    if n == 0:
        return (fnp.zeros_like(a), fnp.zeros_like(a)) if calc_q else fnp.zeros_like(a)
    a_out, taus = _lp.hessenberg(a)
    h = fnp.triu(a_out, -1)
    if not calc_q:
        return h
    q = _lp.householder_product(a_out[..., 1:, :-1], taus)
    batch = _shape(a_out)[:-2]
    dtype = get_aval(a_out).dtype
    q = fnp.block([[fnp.ones(batch + (1, 1), dtype), fnp.zeros(batch + (1, n - 1), dtype)],
                   [fnp.zeros(batch + (n - 1, 1), dtype), q]])
    return h, q


# --- polar ---------------------------------------------------------------------------------------
def _polar_2d(a, side, method, eps):
    m, n = _shape(a)
    if method == "qdwh":
        if m >= n and side == "right":
            unitary, posdef, _, _ = qdwh(a, eps=eps)
        elif m < n and side == "left":
            unitary, posdef, _, _ = qdwh(_mH(a), eps=eps)
            posdef, unitary = _mH(posdef), _mH(unitary)
        else:
            raise NotImplementedError(f"method='qdwh' only supports mxn matrices where m < n "
                                      f"where side='right' and m >= n side='left', got "
                                      f"{(m, n)} with side={side!r}")
    elif method == "svd":
        u, s, vh = P.svd(a, full_matrices=False)
        s = s.astype(get_aval(u).dtype)
        unitary = u @ vh
        posdef = ((_mH(vh) * s[None, :]) @ vh if side == "right"
                  else (u * s[None, :]) @ _mH(u))
    else:
        raise ValueError(f"Unknown polar decomposition method {method}.")
    return unitary, posdef


def polar(a, side: str = "right", *, method: str = "qdwh", eps: float | None = None,
          max_iterations: int | None = None):
    """As jax.scipy.linalg.polar: ``a = u p`` (side 'right') or ``a = p u`` ('left').

    Args:
      a: ``(..., m, n)``.
      side: 'right' or 'left'.
      method: 'qdwh' (QR-based dynamically weighted Halley) or 'svd'.
      eps: QDWH's convergence tolerance.
      max_iterations: unused (as JAX, QDWH runs at most 10 iterations).

    Returns:
      ``(unitary, posdef)``.

    References:
      jax.scipy.linalg.polar; Nakatsukasa, Bai & Gygi (2010).
    """
    arr, = promote_inexact(_asarray(a))
    if get_aval(arr).ndim < 2:
        raise ValueError("The input `a` must be at least a 2-D array.")
    if side not in ["right", "left"]:
        raise ValueError("The argument `side` must be either 'right' or 'left'.")
    sig = "(m,n)->(m,n),(n,n)" if side == "right" else "(m,n)->(m,n),(m,m)"
    return fnp.vectorize(lambda x: _polar_2d(x, side, method, eps), signature=sig)(arr)


# --- qr_multiply ---------------------------------------------------------------------------------
def qr_multiply(a, c, mode: str = "right", pivoting: bool = False, conjugate: bool = False,
                overwrite_a: bool = False, overwrite_c: bool = False):
    """As jax.scipy.linalg.qr_multiply: ``(Q @ c, R)`` ('left') or ``(c @ Q, R)`` ('right').

    ``Q`` is formed explicitly (reduced QR) and multiplied, rather than applied as
    reflectors (LAPACK ormqr): equal up to rounding. ``pivoting=True`` is not supported.

    Args:
      a: ``(..., M, N)``.
      c: ``(..., K, P)`` ('left', ``K = min(M, N)``) or ``(..., P, M)`` ('right'); 1-d allowed.
      mode: 'right' or 'left'.
      pivoting: must be False here.
      conjugate: use ``conj(Q)``.
      overwrite_a: unused.
      overwrite_c: unused.

    Returns:
      ``(result, R)``.

    References:
      jax.scipy.linalg.qr_multiply.
    """
    a, c = promote_inexact(_asarray(a), _asarray(c))
    if mode not in ("right", "left"):
        raise ValueError(f"mode must be 'right' or 'left', got {mode!r}")
    if pivoting:
        raise NotImplementedError("qr_multiply: pivoting=True is not supported yet (needs a "
                                  "column-pivoted QR primitive, LAPACK geqp3).")
    onedim = get_aval(c).ndim == 1
    if onedim:
        c = c[:, None] if mode == "left" else c[None, :]
    m, n = _shape(a)[-2:]
    k = min(m, n)
    if mode == "left" and _shape(c)[-2] != k:
        raise ValueError(f"Array shapes are not compatible for Q @ c operation: a has shape "
                         f"{_shape(a)} so Q has {k} columns, but c has {_shape(c)[-2]} rows "
                         f"(expected {k}).")
    if mode == "right" and _shape(c)[-1] != m:
        raise ValueError(f"Array shapes are not compatible for c @ Q operation: a has shape "
                         f"{_shape(a)} so Q has {m} rows, but c has {_shape(c)[-1]} columns "
                         f"(expected {m}).")
    batch = np.broadcast_shapes(_shape(a)[:-2], _shape(c)[:-2])
    a = fnp.broadcast_to(a, batch + _shape(a)[-2:])
    c = fnp.broadcast_to(c, batch + _shape(c)[-2:])
    q, r = P.qr(a, full_matrices=False)
    if conjugate:
        q = fnp.conj(q)
    cQ = _hi(q, c) if mode == "left" else _hi(c, q)
    if onedim:
        cQ = cQ.ravel()
    return cQ, fnp.triu(r[..., :k, :])


# --- eigh_tridiagonal ----------------------------------------------------------------------------
def _sturm(alpha, beta_sq, pivmin, alpha0_perturbation, x):
    """The Sturm-sequence counts: how many eigenvalues lie below each ``x``."""
    n = _shape(alpha)[0]
    zeros = fnp.zeros(_shape(x), dtype=np.int32)
    ones = fnp.ones(_shape(x), dtype=np.int32)
    q = alpha[0] - x
    count = fnp.where(q < 0, ones, zeros)
    q = fnp.where(alpha[0] == x, alpha0_perturbation, q)

    def step(i, q, count):
        q = alpha[i] - beta_sq[i - 1] / q - x
        count = fnp.where(q <= pivmin, count + 1, count)
        q = fnp.where(q <= pivmin, fnp.minimum(q, -pivmin), q)
        return q, count

    def unrolled(start, q, count, steps):
        for j in range(steps):
            q, count = step(start + j, q, count)
        return start + steps, q, count

    # peel (n - 1) % 16 steps, then a while_loop of 16 unrolled steps (as JAX)
    blocksize = 16
    i, q, count = unrolled(1, q, count, (n - 1) % blocksize)
    _, _, count = while_loop(lambda iqc: iqc[0] < n,
                             lambda iqc: unrolled(*iqc, blocksize), (i, q, count))
    return count


def eigh_tridiagonal(d, e, *, eigvals_only: bool = False, select: str = "a",
                     select_range=None, tol: float | None = None, key=None):
    """As jax.scipy.linalg.eigh_tridiagonal: eigenvalues of a symmetric tridiagonal matrix
    by parallel Sturm-sequence bisection; eigenvectors by inverse iteration.

    Args:
      d: the diagonal ``(N,)``.
      e: the off-diagonal ``(N - 1,)``.
      eigvals_only: return the eigenvalues only.
      select: 'a' (all) or 'i' (indices ``select_range[0] <= i <= select_range[1]``).
      select_range: the index range for 'i'.
      tol: the absolute tolerance.
      key: the PRNG key of inverse iteration's start vectors (default ``key(42)``, as JAX).

    Returns:
      The eigenvalues, ascending, or ``(eigenvalues, eigenvectors)`` (vectors as columns).

    References:
      jax.scipy.linalg.eigh_tridiagonal; LAPACK's stebz.
    """
    alpha, beta = _asarray(d), _asarray(e)
    da, db = get_aval(alpha).dtype, get_aval(beta).dtype
    if da != db:
        raise TypeError(f"diagonal and off-diagonal values must have same dtype, got {da} and "
                        f"{db}")
    supported = tuple(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))
    if da not in supported:
        raise TypeError(f"Only float32 and float64 inputs are supported as inputs to "
                        f"jax.scipy.linalg.eigh_tridiagonal, got {da} and {db}")
    n = _shape(alpha)[0]
    if n <= 1:
        return fnp.real(alpha) if eigvals_only else (fnp.real(alpha), fnp.eye(n, dtype=da))
    if is_complex(da):
        alpha = fnp.real(alpha)
        beta_sq = fnp.real(beta * fnp.conj(beta))
        beta_abs = fnp.sqrt(beta_sq)
    else:
        beta_abs = fnp.abs(beta)
        beta_sq = fnp.square(beta)
    off = fnp.concatenate([beta_abs[:1], beta_abs[:-1] + beta_abs[1:], beta_abs[-1:]], axis=0)
    lambda_est_max = fnp.amax(alpha + off)
    lambda_est_min = fnp.amin(alpha - off)
    t_norm = fnp.maximum(fnp.abs(lambda_est_min), fnp.abs(lambda_est_max))
    rdtype = get_aval(alpha).dtype
    finfo = np.finfo(rdtype)
    one = np.ones([], dtype=rdtype)
    safemin = np.maximum(one / finfo.max, (one + finfo.eps) * finfo.tiny)
    pivmin = safemin * fnp.maximum(1, fnp.amax(beta_sq))
    alpha0_perturbation = fnp.square(finfo.eps * beta_abs[0])
    abs_tol = finfo.eps * t_norm
    if tol is not None:
        abs_tol = fnp.maximum(tol, abs_tol)
    max_it = finfo.nmant + 1
    if select == "a":
        target_counts = fnp.arange(n, dtype=np.int32)
    elif select == "i":
        if select_range is None:
            raise ValueError("for select='i', select_range must be specified.")
        if select_range[0] > select_range[1]:
            raise ValueError("Got empty index range in select_range.")
        target_counts = fnp.arange(select_range[0], select_range[1] + 1, dtype=np.int32)
    elif select == "v":
        raise NotImplementedError("eigh_tridiagonal(..., select='v') is not implemented")
    else:
        raise ValueError("'select must have a value in {'a', 'i', 'v'}.")
    fudge = 2.1
    norm_slack = fnp.array(n, rdtype) * fudge * finfo.eps * t_norm
    lower = lambda_est_min - norm_slack - 2 * fudge * pivmin
    upper = lambda_est_max + norm_slack + fudge * pivmin
    shape = _shape(target_counts)
    lower = fnp.broadcast_to(lower, shape)
    upper = fnp.broadcast_to(upper, shape)
    mid = 0.5 * (upper + lower)
    pivmin = fnp.broadcast_to(pivmin, shape)
    alpha0_perturbation = fnp.broadcast_to(alpha0_perturbation, shape)

    def cond(args):
        i, lower, _, upper = args
        return fnp.logical_and(i < max_it, abs_tol < fnp.amax(upper - lower))

    def body(args):
        i, lower, mid, upper = args
        counts = _sturm(alpha, beta_sq, pivmin, alpha0_perturbation, mid)
        lower = fnp.where(counts <= target_counts, mid, lower)
        upper = fnp.where(counts > target_counts, mid, upper)
        return i + 1, lower, 0.5 * (lower + upper), upper

    _, _, mid, _ = while_loop(cond, body, (0, lower, mid, upper))
    if eigvals_only:
        return mid
    return mid, _tridiagonal_eigenvectors(alpha, beta, mid, frandom.key(42) if key is None
                                          else key).T


def _tridiagonal_eigenvectors(alpha, beta, eigvals, key):
    """Inverse iteration from random vectors (as JAX / LAPACK stein), clusters of close
    eigenvalues re-orthogonalized by QR after each step."""
    n, k = _shape(alpha)[0], _shape(eigvals)[0]
    dl = fnp.pad(fnp.conj(beta), (1, 0))
    du = fnp.pad(beta, (0, 1))
    gap = eigvals[1:] - eigvals[:-1]
    eps = np.finfo(get_aval(eigvals).dtype).eps
    t_norm = fnp.maximum(fnp.abs(eigvals[0]), fnp.abs(eigvals[-1]))
    close = gap < fnp.sqrt(eps) * t_norm
    left_close = fnp.pad(close, (1, 0), constant_values=False)
    right_close = fnp.pad(close, (0, 1), constant_values=False)
    starts = fnp.nonzero(fnp.logical_and(fnp.logical_not(left_close), right_close),
                         size=k // 2 + 1)[0]
    ends = fnp.nonzero(fnp.logical_and(left_close, fnp.logical_not(right_close)),
                       size=k // 2 + 1)[0] + 1
    num_clusters = fnp.sum(fnp.logical_and(fnp.logical_not(left_close), right_close))
    arange_k = fnp.arange(k)
    solve_dtype = np.result_type(get_aval(alpha).dtype, get_aval(beta).dtype)
    base_dtype = np.finfo(solve_dtype).dtype
    v = frandom.normal(key, (k, n), dtype=base_dtype).astype(solve_dtype)
    v = v / fnp.linalg.norm(v, axis=-1, keepdims=True).astype(solve_dtype)

    def orthogonalize_cluster(i, ev):
        start, end = starts[i], ends[i]
        v_block = P.dynamic_slice(fnp.pad(ev, ((0, k), (0, 0))), (start, 0), (k, n))
        mask = (arange_k < end - start).astype(get_aval(ev).dtype)
        Q, _ = fnp.linalg.qr((v_block * mask[:, None]).T)
        update = P.dynamic_update_slice(fnp.zeros((2 * k, n), dtype=get_aval(ev).dtype),
                                        Q.T * mask[:, None], (start, 0))[:k, :]
        return fnp.where(((arange_k >= start) & (arange_k < end))[:, None], update, ev)

    alpha_shifted = (alpha[None, :] - eigvals[:, None]).astype(solve_dtype)
    dl_b = fnp.broadcast_to(dl[None, :], (k, n)).astype(solve_dtype)
    du_b = fnp.broadcast_to(du[None, :], (k, n)).astype(solve_dtype)

    def step(state):
        i, v, nrm_v, _ = state
        v_new = _lp.tridiagonal_solve(dl_b, alpha_shifted, du_b, v[:, :, None].astype(solve_dtype),
                                      perturb_singular=True)[..., 0]
        nrm_new = fnp.linalg.norm(v_new, axis=-1, keepdims=True)
        v_new = v_new / nrm_new.astype(get_aval(v_new).dtype)
        v_new = fori_loop(0, num_clusters, orthogonalize_cluster, v_new)
        return i + 1, v_new, nrm_new[:, 0], nrm_v

    def go_on(state):   # at most 5 steps (LAPACK stein), while some norm grows by 10 %
        i, _, nrm_v, nrm_v_old = state
        return fnp.logical_and(i < 5, fnp.any(nrm_v >= 1.1 * nrm_v_old))

    edtype = get_aval(eigvals).dtype
    _, v_final, _, _ = while_loop(go_on, step, (0, v, fnp.ones(k, dtype=edtype),
                                                fnp.zeros(k, dtype=edtype)))
    return v_final
