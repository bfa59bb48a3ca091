"""Covariance and correlation matrices (as jax.numpy): ``cov``, ``corrcoef``.

Example::

    >>> fnp.cov(fnp.array([[0, 1, 2], [2, 1, 0]]))
    Array([[ 1., -1.],
           [-1.,  1.]], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from fx.core import get_aval
from fx.dtypes import kind
from primitives.numpy import linalg_ops as _lo, manipulation as _man, math as _m
from primitives.numpy import reductions as _red
from primitives.numpy._util import shape_of
from primitives.numpy.creation import asarray, full
from primitives.numpy.tiling import diag

__all__ = ["cov", "corrcoef"]


def _check_inexact(dtype, op):
    if dtype is not None and kind(np.dtype(dtype)) not in "fc":
        raise ValueError(f"{op}: dtype must be a subclass of float or complex; got dtype={dtype}")


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None,
        dtype=None):
    """The (weighted) sample covariance matrix (as jnp.cov).

    Args:
      m: ``[M, N]`` observations of M variables (``[N, M]`` if not ``rowvar``), or 1-D.
      y: more variables, in ``m``'s layout.
      rowvar: whether each row is a variable.
      bias: normalize by N instead of N - 1.
      ddof: degrees of freedom (overrides ``bias``).
      fweights: integer frequency weights ``[N]``.
      aweights: observation weights ``[N]``.
      dtype: the result's inexact dtype.

    Returns:
      ``[M, M]`` (or a scalar for one variable).

    References:
      jax.numpy.cov; numpy.cov.
    """
    if y is not None:
        m, y = _m.promote_inexact(asarray(m), asarray(y))
        if len(shape_of(y)) > 2:
            raise ValueError("y has more than 2 dimensions")
    else:
        m, = _m.promote_inexact(asarray(m))
    if len(shape_of(m)) > 2:
        raise ValueError("m has more than 2 dimensions")
    _check_inexact(dtype, "cov")
    X = _man.atleast_2d(m)
    if not rowvar and len(shape_of(m)) != 1:
        X = _man.transpose(X)
    if shape_of(X)[0] == 0:
        return _man.reshape(asarray([]), (0, 0))
    if y is not None:
        y_arr = _man.atleast_2d(y)
        if not rowvar and shape_of(y_arr)[0] != 1:
            y_arr = _man.transpose(y_arr)
        X = _man.concatenate([X, y_arr], axis=0)
    M, N = shape_of(X)
    if N == 0:
        return full(() if M == 1 else (M, M), np.nan, dtype=get_aval(X).dtype)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    w = None
    if fweights is not None:
        fweights = asarray(fweights)
        if len(shape_of(fweights)) > 1:
            raise RuntimeError("cannot handle multidimensional fweights")
        if shape_of(fweights)[0] != N:
            raise RuntimeError("incompatible numbers of samples and fweights")
        if kind(get_aval(fweights).dtype) not in "iu":
            raise TypeError("fweights must be integer.")
        w = _m.abs(fweights)
    if aweights is not None:
        aweights = asarray(aweights)
        if len(shape_of(aweights)) > 1:
            raise RuntimeError("cannot handle multidimensional aweights")
        if shape_of(aweights)[0] != N:
            raise RuntimeError("incompatible numbers of samples and aweights")
        aweights = _m.abs(aweights)
        w = aweights if w is None else w * aweights
    if dtype is not None:
        X = X.astype(dtype)
        w = w.astype(dtype) if w is not None else w
    avg, w_sum = _red.average(X, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        f = N - ddof
    elif ddof == 0:
        f = w_sum
    elif aweights is None:
        f = w_sum - ddof
    else:
        f = w_sum - ddof * _red.sum(w * aweights) / w_sum
    X = X - avg[:, None]
    X_T = _man.transpose(X) if w is None else _man.transpose(X * w)
    return _man.squeeze(_m.true_divide(_lo.dot(X, _m.conj(X_T)), f))


def corrcoef(x, y=None, rowvar=True, dtype=None):
    """Pearson correlation coefficients (as jnp.corrcoef).

    Args:
      x: observations, as :func:`cov`.
      y: more variables, as :func:`cov`.
      rowvar: whether each row is a variable.
      dtype: the result's inexact dtype.

    Returns:
      The correlation matrix, clipped to [-1, 1].

    References:
      jax.numpy.corrcoef; numpy.corrcoef.
    """
    _check_inexact(dtype, "corrcoef")
    c = cov(x, y, rowvar, dtype=dtype)
    if len(shape_of(c)) == 0:
        return _m.divide(c, c)
    d = diag(c)
    stddev = _m.sqrt(_m.real(d)).astype(get_aval(c).dtype)
    c = c / stddev[:, None] / stddev[None, :]
    real = _m.clip(_m.real(c), -1, 1)
    if kind(get_aval(c).dtype) == "c":
        return real + 1j * _m.clip(_m.imag(c), -1, 1)
    return real


