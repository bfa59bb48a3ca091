"""BFGS (as JAX's ``jax._src.scipy.optimize.bfgs``): a ``while_loop`` of
quasi-Newton steps, the step length from the strong-Wolfe line search, the
inverse-Hessian estimate updated in place of a solve.

References:
    Nocedal & Wright, "Numerical Optimization" (1999), Algorithm 6.1;
    JAX's ``jax/_src/scipy/optimize/bfgs.py``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

import primitives.numpy as fnp
from fx.core import get_aval
from primitives.control_flow.loops import while_loop
from primitives.scipy.optimize._autodiff import value_and_grad
from primitives.scipy.optimize.line_search import line_search

__all__ = ["minimize_bfgs", "BFGSResults"]


class BFGSResults(NamedTuple):
    """BFGS state and results (as JAX's ``_BFGSResults``): converged, failed (line
    search failed), k (iterations), nfev / ngev / nhev, x_k, f_k, g_k, H_k (inverse
    Hessian estimate), old_old_fval, status, line_search_status."""
    converged: object
    failed: object
    k: object
    nfev: object
    ngev: object
    nhev: object
    x_k: object
    f_k: object
    g_k: object
    H_k: object
    old_old_fval: object
    status: object
    line_search_status: object


def _dot(a, b):
    return fnp.dot(a, b, precision="highest")


def minimize_bfgs(fun: Callable, x0, maxiter: int | None = None, norm=np.inf,
                  gtol: float = 1e-5, line_search_maxiter: int = 10) -> BFGSResults:
    """Minimize ``fun`` with BFGS from ``x0``.

    Args:
      fun: ``x -> scalar`` for a 1-d ``x``, differentiable.
      x0: the initial guess, shape ``(n,)``.
      maxiter: at most this many iterations (default ``200 * n``).
      norm: the order of the gradient norm of the convergence test.
      gtol: converged when ``|grad|_norm < gtol``.
      line_search_maxiter: at most this many line-search steps per iteration.

    Returns:
      A :class:`BFGSResults`.

    References:
      Nocedal & Wright (1999) Algorithm 6.1; JAX's ``minimize_bfgs``.
    """
    if maxiter is None:
        maxiter = np.size(x0) * 200
    d = get_aval(x0).shape[0]
    dtype = get_aval(x0).dtype
    initial_H = fnp.eye(d, dtype=dtype)
    f_0, g_0 = value_and_grad(fun, x0)
    state = BFGSResults(
        converged=fnp.linalg.norm(g_0, ord=norm) < gtol, failed=False, k=0, nfev=1, ngev=1,
        nhev=0, x_k=x0, f_k=f_0, g_k=g_0, H_k=initial_H,
        old_old_fval=f_0 + fnp.linalg.norm(g_0) / 2, status=0, line_search_status=0)

    def cond_fun(state):
        return fnp.logical_not(state.converged) & fnp.logical_not(state.failed) & \
            (state.k < maxiter)

    def body_fun(state):
        p_k = -_dot(state.H_k, state.g_k)
        ls = line_search(fun, state.x_k, p_k, old_fval=state.f_k,
                         old_old_fval=state.old_old_fval, gfk=state.g_k,
                         maxiter=line_search_maxiter)
        state = state._replace(nfev=state.nfev + ls.nfev, ngev=state.ngev + ls.ngev,
                               failed=ls.failed, line_search_status=ls.status)
        s_k = ls.a_k * p_k
        x_kp1 = state.x_k + s_k
        f_kp1 = ls.f_k
        g_kp1 = ls.g_k
        y_k = g_kp1 - state.g_k
        rho_k = fnp.reciprocal(_dot(y_k, s_k))
        sy_k = s_k[:, np.newaxis] * y_k[np.newaxis, :]
        w = fnp.eye(d, dtype=get_aval(rho_k).dtype) - rho_k * sy_k
        H_kp1 = (fnp.einsum("ij,jk,lk", w, state.H_k, w, precision="highest")
                 + rho_k * s_k[:, np.newaxis] * s_k[np.newaxis, :])
        H_kp1 = fnp.where(fnp.isfinite(rho_k), H_kp1, state.H_k)
        converged = fnp.linalg.norm(g_kp1, ord=norm) < gtol
        return state._replace(converged=converged, k=state.k + 1, x_k=x_kp1, f_k=f_kp1,
                              g_k=g_kp1, H_k=H_kp1, old_old_fval=state.f_k)

    state = while_loop(cond_fun, body_fun, state)
    status = fnp.where(state.converged, 0,  # converged
                       fnp.where(state.k == maxiter, 1,  # max iterations
                                 fnp.where(state.failed, 2 + state.line_search_status,
                                           -1)))  # line search failed (+ why); undefined
    return state._replace(status=status)
