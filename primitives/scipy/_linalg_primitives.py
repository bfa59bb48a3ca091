"""The LAPACK-backed primitives ``jax.scipy.linalg`` needs beyond our linalg:
Hessenberg reduction, the Householder product, the Schur decomposition and the
tridiagonal solve.

One block each: abstract eval, lowering to ``jax.lax.linalg`` (LAPACK gehrd /
orgqr / gees / gtsv; Schur on CPU only, as JAX) and the batch rule (the batch axis to
the front: each op batches over leading axes). No jvp: JAX has none for the
first three; tridiagonal_solve's (JAX has one) is not ported yet.

Example::

    >>> import numpy as np
    >>> a_out, taus = hessenberg(np.eye(3, dtype=np.float32))

References:
    jax/_src/lax/linalg.py (hessenberg_p, householder_product_p, schur_p,
    tridiagonal_solve_p).
"""
from __future__ import annotations

import numpy as np
from jax import lax

from fx.batching import broadcast_batch, moveaxis
from fx.core import Primitive, get_aval
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray

__all__ = ["hessenberg", "householder_product", "schur", "tridiagonal_solve"]

_DTYPES = tuple(np.dtype(d) for d in (np.float32, np.float64, np.complex64, np.complex128))


def _check_square(name, x):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"{name}: the input must be a (batch of) square matrices [..., n, n], "
                         f"got {x.str_short()}.")
    if x.dtype not in _DTYPES:
        raise FxTypeError(f"{name} requires float32/float64/complex64/complex128 input, got "
                          f"{x.str_short()}. Fix: convert with .astype(np.float32) first.")


def _front_batch(prim):
    def batch(args, bdims, **params):
        outs = prim.bind(*[moveaxis(x, d, 0) if d is not None else x
                           for x, d in zip(args, bdims)], **params)
        return outs, [0] * len(outs)
    return batch


# --- hessenberg ---
hessenberg_p = Primitive("hessenberg", multiple_results=True)


@hessenberg_p.def_abstract_eval
def _hessenberg_aval(a):
    _check_square("hessenberg", a)
    return [ShapedArray(a.shape, a.dtype), ShapedArray(a.shape[:-2] + (a.shape[-1] - 1,),
                                                       a.dtype)]


@hessenberg_p.def_lowering
def _hessenberg_lowering(a):
    return list(lax.linalg.hessenberg(a))


hessenberg_p.def_batch(_front_batch(hessenberg_p))


def hessenberg(a):
    """Hessenberg reduction (as jax.lax.linalg.hessenberg).

    Args:
      a: ``[..., n, n]`` float or complex matrices.

    Returns:
      ``[a_out, taus]``: LAPACK's packed form (H in the upper Hessenberg part,
      reflectors below) and the ``[..., n - 1]`` reflector scales.

    References:
      jax.lax.linalg.hessenberg (LAPACK gehrd).
    """
    return hessenberg_p.bind(a)


# --- householder_product ---
householder_product_p = Primitive("householder_product")


@householder_product_p.def_abstract_eval
def _householder_product_aval(a, taus):
    if a.ndim < 2 or a.shape[-2] < a.shape[-1] or taus.shape != a.shape[:-2] + (
            min(a.shape[-2:]),) or a.dtype != taus.dtype or a.dtype not in _DTYPES:
        raise ShapeError(f"householder_product: expected a [..., m, n] (m >= n) and taus "
                         f"[..., k] of the same float/complex dtype, got {a.str_short()} and "
                         f"{taus.str_short()}.")
    return ShapedArray(a.shape, a.dtype)


@householder_product_p.def_lowering
def _householder_product_lowering(a, taus):
    return lax.linalg.householder_product(a, taus)


@householder_product_p.def_batch
def _householder_product_batch(args, bdims):
    (a, taus), (da, dt) = args, bdims
    size = get_aval(a).shape[da] if da is not None else get_aval(taus).shape[dt]
    from_front = [moveaxis(x, d, 0) if d is not None else
                  broadcast_batch(x, size, 0) for x, d in zip((a, taus), (da, dt))]
    return householder_product_p.bind(*from_front), 0


def householder_product(a, taus):
    """The product of Householder reflectors (as jax.lax.linalg.householder_product).

    Args:
      a: ``[..., m, n]`` (``m >= n``), the reflectors below the diagonal.
      taus: ``[..., k]`` their scales.

    Returns:
      ``[..., m, n]``: the first ``n`` columns of the product.

    References:
      jax.lax.linalg.householder_product (LAPACK orgqr).
    """
    return householder_product_p.bind(a, taus)


# --- schur ---
schur_p = Primitive("schur", multiple_results=True)


@schur_p.def_abstract_eval
def _schur_aval(a):
    _check_square("schur", a)
    return [ShapedArray(a.shape, a.dtype), ShapedArray(a.shape, a.dtype)]


@schur_p.def_lowering
def _schur_lowering(a):
    return list(lax.linalg.schur(a, compute_schur_vectors=True))


schur_p.def_batch(_front_batch(schur_p))


def schur(a):
    """Schur decomposition ``a = z t z^H`` (as jax.lax.linalg.schur; CPU only).

    Args:
      a: ``[..., n, n]`` float or complex matrices.

    Returns:
      ``[t, z]``: ``t`` (quasi-)upper triangular (real input: 2x2 blocks for
      complex pairs), ``z`` unitary.

    References:
      jax.lax.linalg.schur (LAPACK gees).
    """
    return schur_p.bind(a)


# --- tridiagonal_solve ---
tridiagonal_solve_p = Primitive("tridiagonal_solve")


@tridiagonal_solve_p.def_abstract_eval
def _tridiagonal_solve_aval(dl, d, du, b, *, perturb_singular):
    if (b.ndim < 2 or not dl.shape == d.shape == du.shape == b.shape[:-1]
            or not dl.dtype == d.dtype == du.dtype == b.dtype or b.dtype not in _DTYPES):
        raise ShapeError(f"tridiagonal_solve: expected dl, d, du [..., m] and b [..., m, k] of "
                         f"one float/complex dtype, got {dl.str_short()}, {d.str_short()}, "
                         f"{du.str_short()}, {b.str_short()}.")
    return ShapedArray(b.shape, b.dtype)


@tridiagonal_solve_p.def_lowering
def _tridiagonal_solve_lowering(dl, d, du, b, *, perturb_singular):
    return lax.linalg.tridiagonal_solve(dl, d, du, b, perturb_singular=perturb_singular)


@tridiagonal_solve_p.def_batch
def _tridiagonal_solve_batch(args, bdims, **params):
    size = next(get_aval(x).shape[d] for x, d in zip(args, bdims) if d is not None)
    return tridiagonal_solve_p.bind(*[moveaxis(x, d, 0) if d is not None else
                                      broadcast_batch(x, size, 0)
                                      for x, d in zip(args, bdims)], **params), 0


def tridiagonal_solve(dl, d, du, b, *, perturb_singular: bool = False):
    """Solve the tridiagonal systems ``T x = b`` (as jax.lax.linalg.tridiagonal_solve).

    Args:
      dl: ``[..., m]`` the sub-diagonal (``dl[..., 0]`` ignored).
      d: ``[..., m]`` the diagonal.
      du: ``[..., m]`` the super-diagonal (``du[..., -1]`` ignored).
      b: ``[..., m, k]`` right-hand sides.
      perturb_singular: perturb zero pivots instead of failing (inverse iteration).

    Returns:
      ``[..., m, k]``, the solutions (no jvp here).

    References:
      jax.lax.linalg.tridiagonal_solve (LAPACK gtsv).
    """
    return tridiagonal_solve_p.bind(dl, d, du, b, perturb_singular=bool(perturb_singular))
