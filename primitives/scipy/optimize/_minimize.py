"""``minimize`` and ``OptimizeResults`` (as ``jax.scipy.optimize``).

References:
    JAX's ``jax/_src/scipy/optimize/minimize.py``; SciPy's ``scipy.optimize.minimize``.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import primitives.numpy as fnp
from primitives.scipy.optimize.bfgs import minimize_bfgs
from primitives.scipy.optimize.lbfgs import minimize_lbfgs

__all__ = ["minimize", "OptimizeResults"]


class OptimizeResults(NamedTuple):
    """Optimization results (as jax.scipy.optimize.OptimizeResults).

    Fields: x (solution), success, status (0 converged, 1 max BFGS iterations,
    3 zoom failed, 4 saddle point, 5 max line-search iterations, -1 undefined),
    fun, jac, hess_inv (None for L-BFGS), nfev, njev, nit.
    """
    x: Any
    success: Any
    status: Any
    fun: Any
    jac: Any
    hess_inv: Any
    nfev: Any
    njev: Any
    nit: Any


def minimize(fun: Callable, x0, args: tuple = (), *, method: str, tol: float | None = None,
             options: Mapping[str, Any] | None = None) -> OptimizeResults:
    """Minimize a scalar function of a 1-d array (as jax.scipy.optimize.minimize).

    Gradients come from our autodiff; works eagerly, under ``jit`` and ``vmap``.
    As JAX, ``tol`` is accepted and ignored (use ``options``, e.g. ``gtol``).

    Args:
      fun: ``fun(x, *args) -> scalar`` with ``x`` of shape ``(n,)``.
      x0: the initial guess, shape ``(n,)``.
      args: extra arguments of ``fun`` (a tuple).
      method: ``'BFGS'`` or ``'l-bfgs-experimental-do-not-rely-on-this'``.
      tol: unused (as JAX).
      options: solver options, e.g. ``maxiter``, ``gtol``, ``norm``,
        ``line_search_maxiter`` (BFGS); ``maxcor``, ``ftol``, ``maxfun``,
        ``maxgrad``, ``maxls`` (L-BFGS).

    Returns:
      An :class:`OptimizeResults`.

    Example::

        >>> r = minimize(lambda x: fnp.sum((x - 1.) ** 2), fnp.zeros(3), method="BFGS")
        >>> r.x   # [1., 1., 1.]

    References:
      jax.scipy.optimize.minimize; Nocedal & Wright (1999) Algorithms 6.1, 7.5.
    """
    if options is None:
        options = {}
    if not isinstance(args, tuple):
        raise TypeError(f"args argument to jax.scipy.optimize.minimize must be a tuple, "
                        f"got {args}")

    def fun_with_args(x):
        return fun(x, *args)

    if method.lower() == "bfgs":
        r = minimize_bfgs(fun_with_args, x0, **options)
        return OptimizeResults(x=r.x_k, success=r.converged & fnp.logical_not(r.failed),
                               status=r.status, fun=r.f_k, jac=r.g_k, hess_inv=r.H_k,
                               nfev=r.nfev, njev=r.ngev, nit=r.k)
    if method.lower() == "l-bfgs-experimental-do-not-rely-on-this":
        r = minimize_lbfgs(fun_with_args, x0, **options)
        return OptimizeResults(x=r.x_k, success=r.converged & fnp.logical_not(r.failed),
                               status=r.status, fun=r.f_k, jac=r.g_k, hess_inv=None,
                               nfev=r.nfev, njev=r.ngev, nit=r.k)
    raise ValueError(f"Method {method} not recognized")
