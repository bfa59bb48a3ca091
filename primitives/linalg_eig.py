"""The general (non-symmetric) eigendecomposition (as ``jax.lax.linalg.eig``).

One block: abstract eval (square matrices ``[..., n, n]`` of float32/64 or
complex64/128 -> complex eigenvalues ``[..., n]`` and, as asked, left and right
eigenvectors ``[..., n, n]``), lowering to ``jax.lax.linalg.eig`` (LAPACK's
geev: CPU, as JAX), jvp, and the batch rule (the batch axis to the front: the
op batches over leading axes).

The jvp follows JAX's (``eig_jvp_rule``): eigenvalues always,
``dw_i = (V^-1 dA V)_ii``; eigenvectors only with ``enable_eigvec_derivs=True``
(else NotImplementedError, as JAX), by non-degenerate perturbation theory under
LAPACK's normalisation (unit 2-norm, real largest component). ``V^-1`` comes
from the left eigenvectors, ``V^-1 = diag(1 / (u_i^H v_i)) U^H``, instead of
a complex linear solve. The eigenvectors' jvp needs them, so second
derivatives of eigenvalues need ``enable_eigvec_derivs=True``, as in JAX.

Example::

    >>> import numpy as np, primitives as P
    >>> w, vr = P.eig(np.array([[0., 1.], [-2., -3.]], np.float32),
    ...               compute_left_eigenvectors=False)     # w = [-1, -2]

References:
    jax/_src/lax/linalg.py (eig_p, eig_jvp_rule, _eig_vec_jvp); Giles, "An
    extended collection of matrix derivative results" (2008), sec. 3.1;
    JAX issue 2748 (eigenvector derivatives).
"""
from __future__ import annotations

import numpy as np
from jax import lax

from fx.batching import moveaxis
from fx.core import Primitive, get_aval
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives.complex import complex, complex_dtype, conj, imag, real
from primitives.elementwise import (abs as _abs, add, convert_element_type, div, eq, mul, neg,
                                    reciprocal, sub)
from primitives.linalg import dot_general
from primitives.reductions import argmax, reduce_sum
from primitives.shape import broadcast_in_dim, broadcasted_iota, transpose

__all__ = ["eig", "eig_p"]

_HIGHEST = (lax.Precision.HIGHEST, lax.Precision.HIGHEST)
_DTYPES = tuple(np.dtype(d) for d in (np.float32, np.float64, np.complex64, np.complex128))


# --- matrix helpers on [..., n, n] (built from our primitives) ---
def _matmul(a, b):
    nd = get_aval(a).ndim
    batch = tuple(range(nd - 2))
    return dot_general(a, b, (((nd - 1,), (nd - 2,)), (batch, batch)), precision=_HIGHEST)


def _mT(a):
    nd = get_aval(a).ndim
    return transpose(a, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _colsum(x):
    """Sum over the row axis: [..., n, n] -> [..., n]."""
    return reduce_sum(x, (get_aval(x).ndim - 2,))


def _times_row(m, r):
    """``m * r[..., None, :]`` (scale column j of m by r_j)."""
    aval = get_aval(m)
    return mul(m, broadcast_in_dim(r, aval.shape, tuple(range(aval.ndim - 2)) + (aval.ndim - 1,)))


def _inverse_from_left(u, v):
    """``V^-1 = diag(1 / (u_i^H v_i)) U^H`` for the left / right eigenvectors u, v."""
    scale = reciprocal(_colsum(mul(conj(u), v)))            # [..., n]
    uh = conj(_mT(u))                                       # rows u_i^H
    aval = get_aval(uh)
    return mul(uh, broadcast_in_dim(scale, aval.shape, tuple(range(aval.ndim - 1))))


def _eig_vec_jvp(w, v, v_inv, da):
    """JAX's ``_eig_vec_jvp`` with ``V^-1`` given: ``(dw, dv)``."""
    aval = get_aval(v)
    n, nd = aval.shape[-1], aval.ndim
    eye = convert_element_type(eq(broadcasted_iota(np.int32, (n, n), 0),
                                  broadcasted_iota(np.int32, (n, n), 1)), aval.dtype)
    eye_b = broadcast_in_dim(eye, aval.shape, (nd - 2, nd - 1))
    w_cols = broadcast_in_dim(w, aval.shape, tuple(range(nd - 2)) + (nd - 1,))  # w_j
    w_rows = broadcast_in_dim(w, aval.shape, tuple(range(nd - 1)))              # w_i
    f_mat = sub(reciprocal(add(eye_b, sub(w_cols, w_rows))), eye_b)
    p = _matmul(_matmul(v_inv, da), v)
    dw = _colsum(mul(p, eye_b))
    u = _matmul(v, mul(f_mat, p))
    k = argmax(_abs(v), nd - 2, np.int32)
    mask = convert_element_type(
        eq(broadcasted_iota(np.int32, aval.shape, nd - 2),
           broadcast_in_dim(k, aval.shape, tuple(range(nd - 2)) + (nd - 1,))), aval.dtype)
    c = complex(neg(real(_colsum(mul(conj(v), u)))),
                div(neg(imag(_colsum(mul(mask, u)))), real(_colsum(mul(mask, v)))))
    return dw, add(u, _times_row(v, c))


# --- eig ---
eig_p = Primitive("eig", multiple_results=True)


@eig_p.def_abstract_eval
def _eig_aval(x, *, compute_left_eigenvectors, compute_right_eigenvectors,
              enable_eigvec_derivs, implementation):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"eig: the input must be a (batch of) square matrices [..., n, n], "
                         f"got {x.str_short()}.")
    if x.dtype not in _DTYPES:
        raise FxTypeError(f"eig requires float32/float64/complex64/complex128 input, got "
                          f"{x.str_short()}. Fix: convert with .astype(np.float32) first.")
    dtype = complex_dtype(x.dtype)
    outs = [ShapedArray(x.shape[:-1], dtype)]
    outs += [ShapedArray(x.shape, dtype)] * (int(compute_left_eigenvectors)
                                             + int(compute_right_eigenvectors))
    return outs


@eig_p.def_lowering
def _eig_lowering(x, **params):
    return lax.linalg.eig(x, **params)


@eig_p.def_jvp
def _eig_jvp(primals, tangents, *, compute_left_eigenvectors, compute_right_eigenvectors,
             enable_eigvec_derivs, implementation):
    (a,), (da,) = primals, tangents
    if (compute_left_eigenvectors or compute_right_eigenvectors) and not enable_eigvec_derivs:
        raise NotImplementedError(
            "Derivatives of non-symmetric eigenvectors are only valid under assumptions on the "
            "input that JAX cannot check (see the enable_eigvec_derivs argument to "
            "jax.lax.linalg.eig). Pass enable_eigvec_derivs=True to eig to opt in. See "
            "https://github.com/jax-ml/jax/issues/2748 for discussion.")
    w, vl, vr = eig_p.bind(a, compute_left_eigenvectors=True, compute_right_eigenvectors=True,
                           enable_eigvec_derivs=enable_eigvec_derivs,
                           implementation=implementation)
    da = convert_element_type(da, get_aval(vr).dtype)
    vr_inv = _inverse_from_left(vl, vr)
    if not (compute_left_eigenvectors or compute_right_eigenvectors):
        return [w], [_colsum(mul(_mT(_matmul(vr_inv, da)), vr))]   # diag(V^-1 dA V)
    dw, dvr = _eig_vec_jvp(w, vr, vr_inv, da)
    primal_out, tangent_out = [w], [dw]
    if compute_left_eigenvectors:   # the left ones: w* and A^H's right eigenvectors
        vl_inv = _inverse_from_left(vr, vl)
        _, dvl = _eig_vec_jvp(conj(w), vl, vl_inv, conj(_mT(da)))
        primal_out.append(vl)
        tangent_out.append(dvl)
    if compute_right_eigenvectors:
        primal_out.append(vr)
        tangent_out.append(dvr)
    return primal_out, tangent_out


@eig_p.def_batch
def _eig_batch(args, bdims, **params):
    (x,), (d,) = args, bdims
    outs = eig_p.bind(moveaxis(x, d, 0), **params)
    return outs, [0] * len(outs)


def eig(x, *, compute_left_eigenvectors: bool = True, compute_right_eigenvectors: bool = True,
        enable_eigvec_derivs: bool = False, implementation=None, use_magma=None):
    """Eigendecomposition of general square matrices (lax.linalg.eig; CPU only, as JAX).

    Args:
      x: ``[..., n, n]`` float32/float64/complex64/complex128 matrices.
      compute_left_eigenvectors: also return the left eigenvectors.
      compute_right_eigenvectors: also return the right eigenvectors.
      enable_eigvec_derivs: allow differentiating the eigenvectors (valid for
        distinct eigenvalues only; see JAX issue 2748).
      implementation: JAX's ``EigImplementation`` (GPU only; None: automatic).
      use_magma: deprecated in JAX; must be None here.

    Returns:
      ``[w, vl, vr]`` with the eigenvalues ``w`` ([..., n], complex) and the
      eigenvectors asked for (columns, [..., n, n], complex).

    References:
      ``jax.lax.linalg.eig``.
    """
    if use_magma is not None:
        raise TypeError("eig: use_magma is deprecated in JAX; pass implementation= instead.")
    return eig_p.bind(x, compute_left_eigenvectors=bool(compute_left_eigenvectors),
                      compute_right_eigenvectors=bool(compute_right_eigenvectors),
                      enable_eigvec_derivs=bool(enable_eigvec_derivs),
                      implementation=implementation)
