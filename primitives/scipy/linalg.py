"""primitives.scipy.linalg: ``jax.scipy.linalg`` on our linear-algebra primitives.

cholesky, cho_factor / cho_solve, solve_triangular, lu / lu_factor /
lu_solve, eigh, svd, qr, inv, det, solve (``assume_a='pos'`` through
Cholesky), block_diag, expm (Padé approximants with scaling and squaring, as
JAX), and the matrix constructors toeplitz, hankel, circulant, hilbert.
Real dtypes only.

Example::

    >>> import numpy as np, primitives.scipy.linalg as fsl
    >>> a = np.array([[4., 2.], [2., 3.]], np.float32)
    >>> x = fsl.cho_solve(fsl.cho_factor(a), np.ones(2, np.float32))
    >>> e = fsl.expm(a / 10)

References:
    JAX's ``jax/_src/scipy/linalg.py``; Al-Mohy & Higham, "A new scaling and
    squaring algorithm for the matrix exponential" (2009).
"""
from __future__ import annotations

import numpy as np

import primitives as P
import primitives.numpy as fnp
from fx.ad import jvp_flat
from fx.core import canonical_dtype, get_aval
from primitives.custom_derivatives import custom_jvp
from primitives.numpy import linalg_solve as _la
from primitives.numpy.creation import asarray
from primitives.numpy.math import promote_inexact

__all__ = ["cholesky", "cho_factor", "cho_solve", "solve_triangular", "lu", "lu_factor",
           "lu_solve", "eigh", "svd", "qr", "inv", "det", "solve", "block_diag", "expm",
           "toeplitz", "hankel", "circulant", "hilbert"]


def _inexact(*xs):
    return [x if hasattr(x, "shape") and not isinstance(x, (np.ndarray, np.generic))
            else asarray(x) for x in promote_inexact(*(asarray(x) if isinstance(
                x, (list, tuple)) else x for x in xs))]


def _mT(x):
    return fnp.swapaxes(x, -1, -2)


def _hi(a, b):
    return fnp.matmul(a, b, precision="highest")


def _triangular(a, b, **kw):
    """Left-side triangular solve with jnp.vectorize's broadcasting: 1-d ``b``
    is a vector, otherwise ``[..., n, k]``; batch dims broadcast."""
    sa, sb = get_aval(a).shape, get_aval(b).shape
    vector = len(sb) == 1 or (len(sa) == len(sb) + 1 and sa[-1] == sb[-1])
    if vector:
        b = b[..., None]
        sb = get_aval(b).shape
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    out = P.triangular_solve(fnp.broadcast_to(a, batch + sa[-2:]),
                             fnp.broadcast_to(b, batch + sb[-2:]), left_side=True, **kw)
    return out[..., 0] if vector else out


def cholesky(a, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """As jax.scipy.linalg.cholesky: upper factor by default (reads one triangle)."""
    a, = _inexact(a)
    L = P.cholesky(a if lower else _mT(a), symmetrize_input=False)
    return L if lower else _mT(L)


def cho_factor(a, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """As jax.scipy.linalg.cho_factor: ``(c, lower)`` for cho_solve."""
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower, b, overwrite_b: bool = False, check_finite: bool = True):
    """As jax.scipy.linalg.cho_solve: solve ``a x = b`` from ``cho_factor(a)``."""
    c, lower = c_and_lower
    c, b = _inexact(c, b)
    b = _triangular(c, b, lower=lower, transpose_a=not lower)
    return _triangular(c, b, lower=lower, transpose_a=lower)


def solve_triangular(a, b, trans=0, lower: bool = False, unit_diagonal: bool = False,
                     overwrite_b: bool = False, debug=None, check_finite: bool = True):
    """As jax.scipy.linalg.solve_triangular (``trans``: 0/'N', 1/'T', 2/'C')."""
    if trans in (0, "N"):
        transpose_a = False
    elif trans in (1, "T", 2, "C"):
        transpose_a = True
    else:
        raise ValueError(f"Invalid 'trans' value {trans}")
    a, b = _inexact(a, b)
    return _triangular(a, b, lower=lower, transpose_a=transpose_a, unit_diagonal=unit_diagonal)


def lu_factor(a, overwrite_a: bool = False, check_finite: bool = True):
    """As jax.scipy.linalg.lu_factor: ``(lu, piv)``."""
    a, = _inexact(a)
    lu_, pivots, _ = P.lu(a)
    return lu_, pivots


def _onehot_rows(perm, dtype):
    m = get_aval(perm).shape[-1]
    return (perm[..., :, None] == fnp.arange(m, dtype=perm.dtype)).astype(dtype)


def lu_solve(lu_and_piv, b, trans: int = 0, overwrite_b: bool = False,
             check_finite: bool = True):
    """As jax.scipy.linalg.lu_solve: solve ``a x = b`` (trans=0) or ``a^T x = b``."""
    lu_, pivots = lu_and_piv
    lu_, b = _inexact(lu_, b)
    m = get_aval(lu_).shape[-2]
    perm = P.lu_pivots_to_permutation(pivots, m)
    sb = get_aval(b).shape
    vector = len(sb) == 1 or (get_aval(lu_).ndim == len(sb) + 1 and get_aval(lu_).shape[-1]
                              == sb[-1])
    if vector:
        b = b[..., None]
    onehot = _onehot_rows(perm, lu_.dtype)
    if trans == 0:
        x = _hi(onehot, b)
        x = _triangular(lu_, x, lower=True, unit_diagonal=True)
        x = _triangular(lu_, x, lower=False)
    elif trans in (1, 2):
        x = _triangular(lu_, b, lower=False, transpose_a=True)
        x = _triangular(lu_, x, lower=True, unit_diagonal=True, transpose_a=True)
        x = _hi(_mT(onehot), x)
    else:
        raise ValueError(f"'trans' value must be 0, 1, or 2, got {trans}")
    return x[..., 0] if vector else x


def lu(a, permute_l: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """As jax.scipy.linalg.lu: ``(p, l, u)`` with ``a = p @ l @ u`` (or ``(p @ l, u)``)."""
    a, = _inexact(a)
    lu_, _, permutation = P.lu(a)
    dtype = a.dtype
    m, n = get_aval(a).shape[-2:]
    p = _mT(_onehot_rows(permutation, dtype))
    k = min(m, n)
    l = fnp.tril(lu_, -1)[..., :, :k] + fnp.eye(m, k, dtype=dtype)
    u = fnp.triu(lu_)[..., :k, :]
    return (_hi(p, l), u) if permute_l else (p, l, u)


def eigh(a, b=None, lower: bool = True, eigvals_only: bool = False, overwrite_a: bool = False,
         overwrite_b: bool = False, turbo: bool = True, eigvals=None, type: int = 1,
         check_finite: bool = True):
    """As jax.scipy.linalg.eigh: ``(w, v)`` or ``w`` (only ``b=None``, ``type=1``)."""
    if b is not None:
        raise NotImplementedError("Only the b=None case of eigh is implemented")
    if type != 1:
        raise NotImplementedError("Only the type=1 case of eigh is implemented.")
    if eigvals is not None:
        raise NotImplementedError("Only the eigvals=None case of eigh is implemented.")
    a, = _inexact(a)
    v, w = P.eigh(a, lower=lower)
    return w if eigvals_only else (w, v)


def svd(a, full_matrices: bool = True, compute_uv: bool = True, overwrite_a: bool = False,
        check_finite: bool = True, lapack_driver: str = "gesdd"):
    """As jax.scipy.linalg.svd: ``(u, s, vh)`` or ``s``."""
    a, = _inexact(a)
    return P.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)


def qr(a, overwrite_a: bool = False, lwork=None, mode: str = "full", pivoting: bool = False,
       check_finite: bool = True):
    """As jax.scipy.linalg.qr; ``mode``: 'full', 'economic' or 'r' (returns ``(r,)``)."""
    if mode in ("full", "r"):
        full_matrices = True
    elif mode == "economic":
        full_matrices = False
    else:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    a, = _inexact(a)
    q, r = P.qr(a, pivoting=pivoting, full_matrices=full_matrices)
    return (r,) if mode == "r" else (q, r)


def inv(a, overwrite_a: bool = False, check_finite: bool = True):
    """As jax.scipy.linalg.inv."""
    return _la.inv(a)


def det(a, overwrite_a: bool = False, check_finite: bool = True):
    """As jax.scipy.linalg.det."""
    return _la.det(a)


def solve(a, b, lower: bool = False, overwrite_a: bool = False, overwrite_b: bool = False,
          debug: bool = False, check_finite: bool = True, assume_a: str = "gen"):
    """As jax.scipy.linalg.solve; ``assume_a='pos'`` solves through Cholesky."""
    valid = ["gen", "sym", "her", "pos"]
    if assume_a not in valid:
        raise ValueError(f"Expected assume_a to be one of {valid}; got {assume_a!r}")
    if assume_a != "pos":
        return _la.solve(a, b)
    a, b = _inexact(a, b)
    return _pos_solve(a, b, lower)


def _pos_solve_impl(a, b, lower):
    return cho_solve(cho_factor(a, lower=lower), b)


_pos_solve = custom_jvp(_pos_solve_impl, nondiff_argnums=(2,))


@_pos_solve.defjvp
def _pos_solve_jvp(lower, primals, tangents):
    """``dx = a^-1 (db - da x)``: the derivative of JAX's custom_linear_solve (the
    whole of ``a`` is differentiated, not only the triangle the factorization reads)."""
    a, b = primals
    da, db = tangents
    factors = cho_factor(a, lower=lower)
    x = cho_solve(factors, b)
    da_x = fnp.matmul(da, x, precision="highest")
    return x, cho_solve(factors, db - da_x)


def block_diag(*arrs):
    """As jax.scipy.linalg.block_diag: the arrays (at most 2-d) on the block diagonal."""
    if len(arrs) == 0:
        arrs = (fnp.zeros((1, 0)),)
    arrs = [asarray(a) if not hasattr(a, "shape") or isinstance(a, (np.ndarray, np.generic))
            else a for a in fnp.promote(*arrs)]
    bad = [i for i, a in enumerate(arrs) if np.ndim(a) > 2]
    if bad:
        raise ValueError(f"Arguments to jax.scipy.linalg.block_diag must have at most 2 "
                         f"dimensions, got {arrs[bad[0]]} at argument {bad[0]}.")
    arrs = [fnp.atleast_2d(a) for a in arrs]
    dtype = get_aval(arrs[0]).dtype
    total = sum(get_aval(a).shape[1] for a in arrs)
    padded, col = [], 0
    for a in arrs:
        cols = get_aval(a).shape[1]
        padded.append(P.pad(a, np.zeros((), dtype), ((0, 0, 0), (col, total - cols - col, 0))))
        col += cols
    return fnp.concatenate(padded, axis=0)


# --- expm: Padé approximants, scaling and squaring (as JAX) -------------------------------------
_PADE = {3: (120., 60., 12., 1.),
         5: (30240., 15120., 3360., 420., 30., 1.),
         7: (17297280., 8648640., 1995840., 277200., 25200., 1512., 56., 1.),
         9: (17643225600., 8821612800., 2075673600., 302702400., 30270240., 2162160., 110880.,
             3960., 90., 1.),
         13: (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
              129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
              40840800., 960960., 16380., 182., 1.)}


def _pade13(A):
    b = _PADE[13]
    ident = fnp.eye(*get_aval(A).shape, dtype=A.dtype)
    A2 = _hi(A, A)
    A4 = _hi(A2, A2)
    A6 = _hi(A4, A2)
    U = _hi(A, _hi(A6, b[13] * A6 + b[11] * A4 + b[9] * A2) + b[7] * A6 + b[5] * A4
            + b[3] * A2 + b[1] * ident)
    V = _hi(A6, b[12] * A6 + b[10] * A4 + b[8] * A2) + b[6] * A6 + b[4] * A4 \
        + b[2] * A2 + b[0] * ident
    return U, V


def _pade_ordered(order):
    """U, V with the sums in JAX's order (highest power first, identity last)."""
    def uv(A):
        b = _PADE[order]
        ident = fnp.eye(*get_aval(A).shape, dtype=A.dtype)
        A2 = _hi(A, A)
        pw = {0: ident, 2: A2}
        if order >= 5:
            pw[4] = _hi(A2, A2)
        if order >= 7:
            pw[6] = _hi(pw[4], A2)
        if order >= 9:
            pw[8] = _hi(pw[6], A2)
        top = order - 1
        u_in = b[order] * pw[top]
        v_in = b[order - 1] * pw[top]
        for p in range(top - 2, -1, -2):
            u_in = u_in + b[p + 1] * pw[p]
            v_in = v_in + b[p] * pw[p]
        return _hi(A, u_in), v_in
    return uv


def _calc_p_q(A):
    A_L1 = fnp.linalg.norm(A, 1)
    if A.dtype == np.float64:
        maxnorm = 5.371920351148152
        conds = np.array([1.495585217958292e-002, 2.539398330063230e-001,
                          9.504178996162932e-001, 2.097847961257068e+000], A_L1.dtype)
        branches = [_pade_ordered(3), _pade_ordered(5), _pade_ordered(7), _pade_ordered(9),
                    _pade13]
    elif A.dtype == np.float32:
        maxnorm = 3.925724783138660
        conds = np.array([4.258730016922831e-001, 1.880152677804762e+000], A_L1.dtype)
        branches = [_pade_ordered(3), _pade_ordered(5), _pade_ordered(7)]
    else:
        raise TypeError(f"A.dtype={A.dtype} is not supported.")
    n_squarings = fnp.maximum(0, fnp.floor(fnp.log2(A_L1 / maxnorm)))
    A = A / 2 ** n_squarings.astype(A.dtype)
    idx = fnp.digitize(A_L1, conds)
    U, V = P.switch(idx, branches, A)
    return U + V, -U + V, n_squarings


def expm(A, *, upper_triangular: bool = False, max_squarings: int = 16):
    """As jax.scipy.linalg.expm: the matrix exponential (batched over leading dims).

    Args:
      A: square matrices ``[..., n, n]`` (float32 or float64).
      upper_triangular: ``A`` is upper triangular (a triangular solve is used).
      max_squarings: at most this many squarings; beyond it the result is NaN.
    """
    A, = _inexact(A)
    s = get_aval(A).shape
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"Expected A to be a (batched) square matrix, got A.shape={s}.")
    if len(s) > 2:
        flat = A.reshape((-1,) + s[-2:])
        outs = [expm(flat[i], upper_triangular=upper_triangular, max_squarings=max_squarings)
                for i in range(get_aval(flat).shape[0])]
        return fnp.stack(outs).reshape(s)
    Pm, Q, n_squarings = _calc_p_q(A)

    def nan(A, Pm, Q):
        return fnp.full_like(A, np.nan)

    def compute(A, Pm, Q):
        R = solve_triangular(Q, Pm) if upper_triangular else _la.solve(Q, Pm)

        def step(c, i):
            return P.cond(i < n_squarings, lambda x: _hi(x, x), lambda x: x, c), None
        R, _ = P.scan(step, R, fnp.arange(max_squarings, dtype=n_squarings.dtype))
        return R

    return P.cond(n_squarings > max_squarings, nan, compute, A, Pm, Q)


# --- special matrices ----------------------------------------------------------------------------
def toeplitz(c, r=None):
    """As jax.scipy.linalg.toeplitz (1-d ``c`` and ``r``): first column ``c``, first row ``r``."""
    c = fnp.atleast_1d(asarray(c) if not hasattr(c, "shape") else c)
    r = c if r is None else fnp.atleast_1d(asarray(r) if not hasattr(r, "shape") else r)
    c, r = fnp.promote(c, r)
    m, n = get_aval(c).shape[-1], get_aval(r).shape[-1]
    elems = fnp.concatenate((c[::-1], r[1:]))
    idx = np.arange(n)[None, :] - np.arange(m)[:, None] + m - 1
    return elems[idx]


def hankel(c, r=None):
    """As jax.scipy.linalg.hankel (1-d ``c`` and ``r``): first column ``c``, last row ``r``."""
    c = fnp.atleast_1d(asarray(c) if not hasattr(c, "shape") else c)
    r = fnp.zeros_like(c) if r is None else fnp.atleast_1d(
        asarray(r) if not hasattr(r, "shape") else r)
    c, r = fnp.promote(c, r)
    m, n = get_aval(c).shape[-1], get_aval(r).shape[-1]
    v = fnp.concatenate((c, r[1:]))
    return v[np.arange(m)[:, None] + np.arange(n)[None, :]]


def circulant(c):
    """As jax.scipy.linalg.circulant (1-d ``c``)."""
    c = fnp.atleast_1d(asarray(c) if not hasattr(c, "shape") else c)
    n = get_aval(c).shape[-1]
    return c[(np.arange(n)[:, None] - np.arange(n)[None, :]) % n]


def hilbert(n: int):
    """As jax.scipy.linalg.hilbert: ``H[i, j] = 1 / (i + j + 1)``."""
    a = P.broadcasted_iota(canonical_dtype(float), (n, 1), 0)
    return 1 / (a + a.T + 1)


def expm_frechet(A, E, *, method: str | None = None, compute_expm: bool = True):
    """As jax.scipy.linalg.expm_frechet: the derivative of ``expm`` at ``A`` along ``E``.

    Args:
      A: ``(..., N, N)``.
      E: ``(..., N, N)``, the direction.
      method: ignored (as JAX).
      compute_expm: also return ``expm(A)``.

    Returns:
      ``(expm(A), L(A, E))`` or ``L(A, E)``.

    References:
      jax.scipy.linalg.expm_frechet (the jvp of expm).
    """
    A, E = asarray(A), asarray(E)
    sa, se = get_aval(A).shape, get_aval(E).shape
    if len(sa) < 2 or sa[-2] != sa[1]:
        raise ValueError(f"expected A to be a (batched) square matrix, got A.shape={sa}")
    if len(se) < 2 or se[-2] != se[-1]:
        raise ValueError(f"expected E to be a (batched) square matrix, got E.shape={se}")
    if sa != se:
        raise ValueError(f"expected A and E to be the same shape, got A.shape={sa} E.shape={se}")
    (expm_A,), (frechet,) = jvp_flat(lambda a: [expm(a)], [A], [E])
    return (expm_A, frechet) if compute_expm else frechet


# the rest of jax.scipy.linalg (special matrices, hessenberg, polar, ...; Schur-based)
from primitives.scipy.linalg_more import *  # noqa: E402,F401,F403
from primitives.scipy.linalg_more import __all__ as _more  # noqa: E402
from primitives.scipy.linalg_schur import *  # noqa: E402,F401,F403
from primitives.scipy.linalg_schur import __all__ as _schur  # noqa: E402

__all__ = __all__ + ["expm_frechet"] + _more + _schur
