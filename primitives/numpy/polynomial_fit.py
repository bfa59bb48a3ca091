"""Polynomials from roots, division and least-squares fits (as jax.numpy):
``poly``, ``polydiv``, ``polyfit``.

Coefficients are highest power first, as numpy. ``poly`` of a square matrix
(its characteristic polynomial) needs ``eigvals``; it is computed when
``primitives.numpy.linalg`` provides it.

Example::

    >>> fnp.poly(fnp.array([1.0, 2.0]))
    Array([ 1., -3.,  2.], dtype=float32)
"""
from __future__ import annotations

import operator

import numpy as np

from fx.core import Tracer, get_aval
from fx.errors import ConcretizationError
from primitives.numpy import (indexing as _ix, linalg as _la, linalg_ops as _lo,
                              manipulation as _man, math as _m, reductions as _red)
from primitives.numpy._util import shape_of
from primitives.numpy.creation import array, asarray, ones, zeros
from primitives.numpy.grids import vander
from primitives.numpy.polynomials import convolve

__all__ = ["poly", "polydiv", "polyfit"]


def poly(seq_of_zeros):
    """The coefficients of the monic polynomial with the given roots (as jnp.poly).

    Args:
      seq_of_zeros: 1-D roots, or a square matrix (its characteristic polynomial).

    Returns:
      ``len(roots) + 1`` coefficients, highest power first.

    References:
      jax.numpy.poly; numpy.poly.
    """
    z, = _m.promote_inexact(asarray(seq_of_zeros))
    z = _man.atleast_1d(z)
    sh = shape_of(z)
    if len(sh) == 2 and sh[0] == sh[1] and sh[0] != 0:
        eigvals = getattr(_la, "eigvals", None)
        if eigvals is None:
            raise NotImplementedError("poly of a square matrix needs linalg.eigvals, which "
                                      "primitives.numpy does not provide yet.")
        z = eigvals(z)
    if len(shape_of(z)) != 1:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    dt = get_aval(z).dtype
    if shape_of(z)[0] == 0:
        return ones((), dtype=dt)
    a = ones((1,), dtype=dt)
    for k in range(shape_of(z)[0]):
        a = convolve(a, _man.stack([asarray(1, dt), _m.negative(z[k])]), mode="full")
    return a


def _trim_zeros_tol(filt, tol, trim="fb"):
    value = filt.concrete_value() if isinstance(filt, Tracer) else filt
    if value is None:
        raise ConcretizationError("polydiv: trim_leading_zeros=True needs a concrete remainder "
                                  "(its length depends on the values); use the default "
                                  "trim_leading_zeros=False under jit/vmap.")
    nz = np.abs(np.asarray(value)) < np.asarray(tol)
    if nz.all():
        return zeros(0, get_aval(filt).dtype)
    start = int(np.argmin(nz)) if "f" in trim else 0
    end = int(np.argmin(nz[::-1])) if "b" in trim else 0
    return filt[start:len(nz) - end]


def polydiv(u, v, *, trim_leading_zeros=False):
    """Quotient and remainder of polynomial division (as jnp.polydiv).

    Args:
      u: dividend coefficients.
      v: divisor coefficients (leading one nonzero).
      trim_leading_zeros: drop the remainder's (near-)zero leading coefficients
        (needs concrete values).

    Returns:
      (quotient, remainder); the remainder keeps ``u``'s length by default.

    References:
      jax.numpy.polydiv; numpy.polydiv.
    """
    u, v = _m.promote_inexact(asarray(u), asarray(v))
    m, n = shape_of(u)[0] - 1, shape_of(v)[0] - 1
    scale = 1. / v[0]
    q = zeros(max(m - n + 1, 1), dtype=get_aval(u).dtype)
    for k in range(0, m - n + 1):
        d = scale * u[k]
        q = _ix.at(q)[k].set(d)
        u = _ix.at(u)[k:k + n + 1].add(-d * v)
    if trim_leading_zeros:
        u = _trim_zeros_tol(u, tol=np.sqrt(np.finfo(get_aval(u).dtype).eps), trim="f")
    return q, u


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """Least-squares polynomial fit (as jnp.polyfit).

    Args:
      x: 1-D sample points.
      y: samples, ``[N]`` or ``[N, K]``.
      deg: the (concrete) degree.
      rcond: the relative singular-value cutoff (default ``len(x) * eps``).
      full: also return (residuals, rank, singular values, rcond).
      w: per-sample weights.
      cov: also return the coefficients' covariance ('unscaled' to skip scaling).

    Returns:
      The coefficients, highest power first (plus the extras requested).

    References:
      jax.numpy.polyfit; numpy.polyfit.
    """
    x, y = asarray(x), asarray(y)
    deg = operator.index(deg)
    order = deg + 1
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if len(shape_of(x)) != 1:
        raise TypeError("expected 1D vector for x")
    if shape_of(x)[0] == 0:
        raise TypeError("expected non-empty vector for x")
    if not 1 <= len(shape_of(y)) <= 2:
        raise TypeError("expected 1D or 2D array for y")
    if shape_of(x)[0] != shape_of(y)[0]:
        raise TypeError("expected x and y to have same length")
    n = shape_of(x)[0]
    if rcond is None:
        rcond = n * float(np.finfo(_m.promote_inexact(x)[0].dtype).eps)
    rcond = float(rcond)
    lhs, rhs = vander(x, order), y
    if w is not None:
        w, = _m.promote_inexact(asarray(w))
        if len(shape_of(w)) != 1:
            raise TypeError("expected a 1-d array for weights")
        if shape_of(w)[0] != shape_of(y)[0]:
            raise TypeError("expected w and y to have the same length")
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if len(shape_of(rhs)) == 2 else w)
    scale = _m.sqrt(_red.sum(lhs * lhs, axis=0))
    lhs = lhs / scale[None, :]
    c, resids, rank, s = _la.lstsq(lhs, rhs, rcond)
    c = _man.transpose(_man.transpose(c) / scale[None, :]) if len(shape_of(c)) > 1 else c / scale
    if full:
        return c, resids, rank, s, asarray(rcond)
    if cov:
        vbase = _la.inv(_lo.dot(_man.transpose(lhs), lhs)) / _lo.outer(scale, scale)
        if cov == "unscaled":
            fac = array(1.0)
        else:
            if n <= order:
                raise ValueError("the number of data points must exceed order to scale the "
                                 "covariance matrix")
            fac = resids / (n - order)
        if len(shape_of(y)) == 1:
            return c, vbase * _man.atleast_1d(fac)[None]
        return c, vbase[:, :, None] * _man.atleast_1d(fac)[None, None, :]
    return c
