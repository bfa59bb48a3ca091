"""Index grids and spaced sequences (as jax.numpy): ``meshgrid``, ``indices``,
``ix_``, ``mgrid``/``ogrid``, the ``tril/triu/diag_indices`` families,
``logspace``, ``geomspace``, ``vander``.

Index grids of static shapes are numpy constants (as in jax.numpy); grids of
traced arrays broadcast with ``broadcast_in_dim``.

Example::

    >>> import primitives.numpy as fnp
    >>> [g.shape for g in fnp.meshgrid(fnp.arange(3), fnp.arange(2))]
    [(2, 3), (2, 3)]
"""
from __future__ import annotations

import operator

import numpy as np

import primitives as P
from fx.core import canonical_dtype, get_aval
from fx.dtypes import kind
from fx.errors import ShapeError
from primitives.numpy import math as _m, manipulation as _man
from primitives.numpy._util import ARRAYS_OUT, broadcast_to, canonicalize_axis, shape_of
from primitives.numpy.creation import arange, asarray, linspace

__all__ = ["meshgrid", "indices", "ix_", "mgrid", "ogrid", "diag_indices", "diag_indices_from",
           "tril_indices", "triu_indices", "tril_indices_from", "triu_indices_from", "logspace",
           "geomspace", "vander"]


def _int():
    return canonical_dtype(np.int64)


def _const(a, dtype=None):
    return asarray(np.asarray(a, dtype or _int()))


def meshgrid(*xi, copy: bool = True, sparse: bool = False, indexing: str = "xy"):
    """As jnp.meshgrid: coordinate arrays from 1-d vectors ('xy' or 'ij' indexing).

    Returns:
      The grids: a list with jax <= 0.10, a tuple with jax >= 0.11 (as the
      installed jax's ``jnp.meshgrid``).
    """
    del copy
    args = [asarray(x) for x in xi]
    if indexing not in ("xy", "ij"):
        raise ValueError(f"Valid values for indexing are 'xy' and 'ij', got {indexing}")
    if any(len(shape_of(a)) != 1 for a in args):
        raise ValueError("Arguments to jax.numpy.meshgrid must be 1D, got shapes "
                         f"{[shape_of(a) for a in args]}")
    shape = [1 if sparse else shape_of(a)[0] for a in args]
    out = []
    for i, a in enumerate(args):
        s = [1] * len(args)
        s[i] = shape_of(a)[0]
        out.append(P.broadcast_in_dim(a, tuple(s) if sparse else tuple(shape), (i,)))
    if indexing == "xy" and len(args) >= 2:
        out = [_man.swapaxes(o, 0, 1) for o in out]
    return ARRAYS_OUT(out)


def indices(dimensions, dtype=None, sparse: bool = False):
    """As jnp.indices: an index grid of shape ``(len(dimensions), *dimensions)``."""
    dimensions = tuple(operator.index(d) for d in dimensions)
    dtype = canonical_dtype(np.dtype(dtype)) if dtype is not None else _int()
    n = len(dimensions)
    out = []
    for i, d in enumerate(dimensions):
        s = (1,) * i + (d,) + (1,) * (n - i - 1)
        iota = P.broadcasted_iota(dtype, s if sparse else dimensions, i)
        out.append(iota)
    if sparse:
        return tuple(out)
    return _man.stack(out, 0) if out else _const(np.zeros((0,)), dtype)


def ix_(*args):
    """As jnp.ix_: open mesh of 1-d index arrays (each shaped to broadcast on its own axis)."""
    n = len(args)
    out = []
    for i, a in enumerate(args):
        a = asarray(a)
        if len(shape_of(a)) != 1:
            raise ValueError(f"Arguments to jax.numpy.ix_ must be 1-dimensional, got shape "
                             f"{shape_of(a)}")
        if kind(get_aval(a).dtype) == "b":
            raise NotImplementedError("Boolean arguments to jax.numpy.ix_ are not supported.")
        s = [1] * n
        s[i] = shape_of(a)[0]
        out.append(P.reshape(a, tuple(s)))
    return tuple(out)


class _IndexGrid:
    """``mgrid``/``ogrid``: slices give a dense (``mgrid``) or open (``ogrid``) grid."""

    def __init__(self, sparse: bool, name: str):
        self.sparse, self.name = sparse, name

    def __getitem__(self, key):
        single = isinstance(key, slice)
        keys = (key,) if single else tuple(key)
        vecs = []
        for k in keys:
            start = 0 if k.start is None else k.start
            step = 1 if k.step is None else k.step
            if isinstance(step, complex):
                vecs.append(linspace(start, k.stop, int(abs(step)), endpoint=True))
            else:
                vecs.append(arange(start, k.stop, step))
        if single:
            return vecs[0]
        dt = np.result_type(*[get_aval(v).dtype for v in vecs])
        vecs = [v if get_aval(v).dtype == dt else P.convert_element_type(v, dt) for v in vecs]
        grids = meshgrid(*vecs, indexing="ij", sparse=self.sparse)
        if self.sparse:
            return list(grids)   # a list on every jax version (jnp.ogrid)
        return _man.stack(grids, 0)


mgrid = _IndexGrid(False, "mgrid")
ogrid = _IndexGrid(True, "ogrid")


def diag_indices(n: int, ndim: int = 2):
    """As jnp.diag_indices: ``ndim`` copies of ``arange(n)``."""
    n, ndim = operator.index(n), operator.index(ndim)
    if n < 0:
        raise ValueError(f"n argument to diag_indices must be nonnegative, got {n}")
    if ndim < 0:
        raise ValueError(f"ndim argument to diag_indices must be nonnegative, got {ndim}")
    return (P.iota(_int(), n),) * ndim


def diag_indices_from(arr):
    """As jnp.diag_indices_from (``arr`` square, at least 2-d)."""
    s = shape_of(arr)
    if len(s) < 2:
        raise ValueError("input array must be at least 2-d")
    if len(set(s)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    return diag_indices(s[0], len(s))


def tril_indices(n, k=0, m=None):
    """As jnp.tril_indices (static sizes: numpy constants)."""
    i, j = np.tril_indices(operator.index(n), operator.index(k),
                           None if m is None else operator.index(m))
    return _const(i), _const(j)


def triu_indices(n, k=0, m=None):
    """As jnp.triu_indices (static sizes: numpy constants)."""
    i, j = np.triu_indices(operator.index(n), operator.index(k),
                           None if m is None else operator.index(m))
    return _const(i), _const(j)


def _check_2d(arr, name):
    s = shape_of(arr)
    if len(s) != 2:
        raise ValueError(f"{name} requires a 2-d array, got shape {s}")
    return s


def tril_indices_from(arr, k=0):
    """As jnp.tril_indices_from."""
    n, m = _check_2d(arr, "tril_indices_from")
    return tril_indices(n, k=k, m=m)


def triu_indices_from(arr, k=0):
    """As jnp.triu_indices_from."""
    n, m = _check_2d(arr, "triu_indices_from")
    return triu_indices(n, k=k, m=m)


def logspace(start, stop, num: int = 50, endpoint: bool = True, base=10.0, dtype=None,
             axis: int = 0):
    """As jnp.logspace: ``base ** linspace(start, stop)``."""
    dtype = None if dtype is None else canonical_dtype(np.dtype(dtype))
    computation_dtype = _m.promote_inexact(asarray(start), asarray(stop))[0]
    cdt = get_aval(computation_dtype).dtype if dtype is None else dtype
    if kind(cdt) in "iub":
        cdt = canonical_dtype(np.float64)
    lin = linspace(start, stop, num, endpoint=endpoint, axis=axis)
    lin = P.convert_element_type(lin, cdt) if get_aval(lin).dtype != cdt else lin
    base = asarray(base)
    base = P.convert_element_type(base, cdt) if get_aval(base).dtype != cdt else base
    base = _man.expand_dims(base, canonicalize_axis(axis, len(shape_of(lin)))) \
        if shape_of(base) else base
    out = _m.power(base, lin)
    return P.convert_element_type(out, dtype) if dtype is not None else out


def geomspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None, axis: int = 0):
    """As jnp.geomspace: a geometric progression from ``start`` to ``stop``."""
    start, stop = _m.promote_inexact(asarray(start), asarray(stop))
    cdt = get_aval(start).dtype
    dtype = None if dtype is None else canonical_dtype(np.dtype(dtype))
    sign = _m.sign(start)
    res = _m.multiply(sign, logspace(_m.log10(_m.divide(start, sign)),
                                     _m.log10(_m.divide(stop, sign)), num, endpoint=endpoint,
                                     base=10.0, dtype=cdt, axis=0))
    if axis != 0:
        res = _man.moveaxis(res, 0, axis)
    return P.convert_element_type(res, dtype) if dtype is not None else res


def vander(x, N: int | None = None, increasing: bool = False):
    """As jnp.vander: columns ``x**(N-1), ..., x**0`` (or increasing powers)."""
    x = asarray(x)
    if len(shape_of(x)) != 1:
        raise ValueError("x must be a one-dimensional array")
    N = shape_of(x)[0] if N is None else operator.index(N)
    if N < 0:
        raise ValueError("N must be nonnegative")
    iota = np.arange(N, dtype=canonical_dtype(np.int64))
    if not increasing:
        iota = iota[::-1].copy()
    return _m.power(_man.expand_dims(x, -1), asarray(iota))


del broadcast_to, ShapeError
