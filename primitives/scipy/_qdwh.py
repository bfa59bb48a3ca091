"""QDWH, the QR-based dynamically weighted Halley iteration for the polar
decomposition (as JAX's ``jax._src.tpu.linalg.qdwh``, without padded shapes).

References:
    Nakatsukasa, Bai & Gygi, "Optimizing Halley's iteration for computing the
    matrix polar decomposition" (2010); JAX's ``jax/_src/tpu/linalg/qdwh.py``.
"""
from __future__ import annotations

import numpy as np

import primitives as P
import primitives.numpy as fnp
from fx.core import get_aval
from primitives.control_flow.loops import fori_loop, while_loop

__all__ = ["qdwh"]

_CHOLESKY_CUTOFF = 100


def _mH(x):
    return fnp.conj(x.T)


def _use_qr(u, params):
    a_minus_e_by_sqrt_c, sqrt_c, e = params
    M, N = get_aval(u).shape
    y = fnp.concatenate([sqrt_c * u, fnp.eye(N, dtype=get_aval(u).dtype)], axis=0)
    q, _ = P.qr(y, full_matrices=False)
    q1 = q[:M, :N]
    q2 = _mH(q[M:M + N, :])
    return e * u + a_minus_e_by_sqrt_c * (q1 @ q2)


def _use_cholesky(u, params):
    a_minus_e, c, e = params
    _, N = get_aval(u).shape
    x = c * (_mH(u) @ u) + fnp.eye(N, dtype=get_aval(u).dtype)
    y = P.cholesky(x, symmetrize_input=False)
    z = fnp.conj(P.triangular_solve(y, u.T, left_side=True, lower=True, conjugate_a=True))
    z = _mH(P.triangular_solve(y, z, left_side=True, lower=True, transpose_a=True,
                               conjugate_a=True))
    return e * u + a_minus_e * z


def qdwh(x, *, max_iterations: int = 10, eps: float | None = None):
    """Polar decomposition ``x = u h`` of a full-rank ``M x N`` matrix (``M >= N``).

    Args:
      x: the matrix.
      max_iterations: at most this many iterations.
      eps: convergence when ``|x_k - x_k-1| < |x_k| (4 eps)^(1/3)`` (default: machine eps).

    Returns:
      ``(u, h, num_iters, is_converged)``.

    References:
      Nakatsukasa, Bai & Gygi (2010); JAX's ``qdwh``.
    """
    dtype = get_aval(x).dtype
    M, N = get_aval(x).shape
    if M < N:
        raise ValueError("The input matrix of shape M x N must have M >= N.")
    if eps is None:
        eps = float(np.finfo(dtype).eps)
    one_norm = fnp.linalg.norm(x, ord=1)
    inf_norm = fnp.linalg.norm(x, ord=np.inf)
    alpha_inverse = P.rsqrt(one_norm) * P.rsqrt(inf_norm)
    alpha_inverse = fnp.where(one_norm == 0, 1, alpha_inverse)
    u = x * alpha_inverse.astype(dtype)
    l = eps
    tol_l = 10.0 * eps / 2.0
    tol_norm = fnp.cbrt(tol_l)

    qr_coefs, chol_coefs = [], []
    k = 0
    while l + tol_l < 1 and k < max_iterations:  # the weights, in Python (static)
        k += 1
        l2 = l * l
        dd = (4 * (1 / l2 - 1) / l2) ** (1 / 3)
        sqd = (1.0 + dd) ** (1 / 2)
        a = sqd + (2 - dd + 2 * (2 - l2) / (l2 * sqd)) ** (1 / 2)
        b = (a - 1) ** 2 / 4
        c = a + b - 1
        l = l * (a + b * l2) / (1 + c * l2)
        e = b / c
        if c > _CHOLESKY_CUTOFF:
            qr_coefs.append(((a - e) / c ** (1 / 2), c ** (1 / 2), e))
        else:
            chol_coefs.append((a - e, c, e))

    def iterate(u, coefs, update_fn, test_convergence):
        if not coefs:
            return u, True
        table = fnp.array(coefs).astype(dtype)

        def body(i, state):
            u_prev, _ = state
            u = update_fn(u_prev, table[i])
            not_conv = (fnp.linalg.norm(u - u_prev) > tol_norm if test_convergence
                        else fnp.array(True))
            return u, not_conv
        return fori_loop(0, len(coefs), body, (u, fnp.array(True)))

    u, _ = iterate(u, qr_coefs, _use_qr, False)
    u, is_not_converged = iterate(u, chol_coefs, _use_cholesky, True)

    def body_fun(state):
        k, u, _ = state
        u_new = _use_cholesky(u, (3 - 1 / 3, 3, 1 / 3))
        return k + 1, u_new, fnp.linalg.norm(u_new - u) > tol_norm

    num_iters, u, is_not_converged = while_loop(
        lambda s: fnp.logical_and(s[2], s[0] < max_iterations), body_fun,
        (len(qr_coefs) + len(chol_coefs), u, is_not_converged))
    u = 1.5 * u - 0.5 * u @ (_mH(u) @ u)
    h = _mH(u) @ x
    h = (h + _mH(h)) / 2
    return u, h, num_iters, fnp.logical_not(is_not_converged)
