"""L-BFGS (as JAX's experimental ``jax._src.scipy.optimize._lbfgs``): BFGS with
the inverse Hessian held as the last ``maxcor`` correction pairs, applied by the
two-loop recursion.

References:
    Nocedal & Wright, "Numerical Optimization" (1999), Algorithm 7.5;
    JAX's ``jax/_src/scipy/optimize/_lbfgs.py``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

import primitives.numpy as fnp
from fx.core import get_aval
from primitives.control_flow.loops import fori_loop, while_loop
from primitives.scipy.optimize._autodiff import value_and_grad
from primitives.scipy.optimize.line_search import line_search

__all__ = ["minimize_lbfgs", "LBFGSResults"]


def _dot(a, b):
    return fnp.dot(a, b, precision="highest")


class LBFGSResults(NamedTuple):
    """L-BFGS state and results (as JAX's ``LBFGSResults``); status: 0 nominal,
    1 max iterations, 2 max function evaluations, 3 max gradient evaluations,
    4 insufficient progress (ftol), 5 line search failed."""
    converged: object
    failed: object
    k: object
    nfev: object
    ngev: object
    x_k: object
    f_k: object
    g_k: object
    s_history: object
    y_history: object
    rho_history: object
    gamma: object
    status: object
    ls_status: object


def minimize_lbfgs(fun: Callable, x0, maxiter: float | None = None, norm=np.inf,
                   maxcor: int = 10, ftol: float = 2.220446049250313e-09, gtol: float = 1e-05,
                   maxfun: float | None = None, maxgrad: float | None = None,
                   maxls: int = 20) -> LBFGSResults:
    """Minimize ``fun`` with L-BFGS from ``x0``.

    Args:
      fun: ``x -> scalar`` for a 1-d ``x``, differentiable.
      x0: the initial guess, shape ``(n,)``.
      maxiter: at most this many iterations.
      norm: the order of the gradient norm of the convergence test.
      maxcor: the number of correction pairs kept.
      ftol: stop when ``f_k - f_{k+1} < ftol``.
      gtol: converged when ``|grad|_norm < gtol``.
      maxfun: at most this many function evaluations.
      maxgrad: at most this many gradient evaluations.
      maxls: at most this many line-search steps per iteration.

    Returns:
      An :class:`LBFGSResults`.

    References:
      Nocedal & Wright (1999) Algorithm 7.5; JAX's ``_minimize_lbfgs``.
    """
    d = len(x0)
    dtype = get_aval(x0).dtype
    if maxiter is None and maxfun is None and maxgrad is None:
        maxiter = d * 200
    maxiter = np.inf if maxiter is None else maxiter
    maxfun = np.inf if maxfun is None else maxfun
    maxgrad = np.inf if maxgrad is None else maxgrad

    f_0, g_0 = value_and_grad(fun, x0)
    state_initial = LBFGSResults(
        converged=fnp.array(False, dtype=bool), failed=fnp.array(False, dtype=bool), k=0,
        nfev=1, ngev=1, x_k=x0, f_k=f_0, g_k=g_0, s_history=fnp.zeros((maxcor, d), dtype=dtype),
        y_history=fnp.zeros((maxcor, d), dtype=dtype),
        rho_history=fnp.zeros((maxcor,), dtype=dtype), gamma=1., status=0, ls_status=0)

    def cond_fun(state):
        return (~state.converged) & (~state.failed)

    def body_fun(state):
        p_k = _two_loop_recursion(state)
        ls = line_search(f=fun, xk=state.x_k, pk=p_k, old_fval=state.f_k, gfk=state.g_k,
                         maxiter=maxls)
        s_k = fnp.asarray(ls.a_k).astype(get_aval(p_k).dtype) * p_k
        x_kp1 = state.x_k + s_k
        f_kp1 = ls.f_k
        g_kp1 = ls.g_k
        y_k = g_kp1 - state.g_k
        rho_k_inv = fnp.real(_dot(y_k, s_k))
        rho_k = fnp.reciprocal(rho_k_inv).astype(get_aval(y_k).dtype)
        gamma = rho_k_inv / fnp.real(_dot(fnp.conj(y_k), y_k))

        status = fnp.array(0)
        status = fnp.where(state.f_k - f_kp1 < ftol, 4, status)
        status = fnp.where(state.ngev >= maxgrad, 3, status)
        status = fnp.where(state.nfev >= maxfun, 2, status)
        status = fnp.where(state.k >= maxiter, 1, status)
        status = fnp.where(ls.failed, 5, status)
        converged = fnp.linalg.norm(g_kp1, ord=norm) < gtol
        g_dtype = get_aval(state.g_k).dtype
        return state._replace(
            converged=converged, failed=(status > 0) & (~converged), k=state.k + 1,
            nfev=state.nfev + ls.nfev, ngev=state.ngev + ls.ngev,
            x_k=x_kp1.astype(get_aval(state.x_k).dtype),
            f_k=f_kp1.astype(get_aval(state.f_k).dtype), g_k=g_kp1.astype(g_dtype),
            s_history=_update_history(state.s_history, s_k),
            y_history=_update_history(state.y_history, y_k),
            rho_history=_update_history(state.rho_history, rho_k),
            gamma=gamma.astype(g_dtype), status=fnp.where(converged, 0, status),
            ls_status=ls.status)

    return while_loop(cond_fun, body_fun, state_initial)


def _two_loop_recursion(state: LBFGSResults):
    """The search direction ``-H_k g_k`` from the stored correction pairs."""
    dtype = get_aval(state.rho_history).dtype
    his_size = get_aval(state.rho_history).shape[0]
    curr_size = fnp.where(state.k < his_size, state.k, his_size)
    q = -fnp.conj(state.g_k)
    a_his = fnp.zeros_like(state.rho_history)

    def body_fun1(j, carry):
        i = his_size - 1 - j
        _q, _a_his = carry
        a_i = state.rho_history[i] * fnp.real(
            _dot(fnp.conj(state.s_history[i]), _q)).astype(dtype)
        _a_his = _a_his.at[i].set(a_i)
        _q = _q - a_i * fnp.conj(state.y_history[i])
        return _q, _a_his

    q, a_his = fori_loop(0, curr_size, body_fun1, (q, a_his))
    q = state.gamma * q

    def body_fun2(j, _q):
        i = his_size - curr_size + j
        b_i = state.rho_history[i] * fnp.real(_dot(state.y_history[i], _q)).astype(dtype)
        return _q + (a_his[i] - b_i) * state.s_history[i]

    return fori_loop(0, curr_size, body_fun2, q)


def _update_history(history, new):
    """Drop the oldest entry, append ``new`` (as JAX: a roll, then a set)."""
    return fnp.roll(history, -1, axis=0).at[-1].set(new)
