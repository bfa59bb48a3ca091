"""Index construction helpers (as jax.numpy): ``r_``, ``c_``, ``s_``,
``index_exp``, ``ravel_multi_index``, ``unravel_index``, ``mask_indices``,
``fill_diagonal``, ``diagflat``.

``r_``/``c_`` concatenate their items (slices become ``arange``/``linspace``
ranges) after numpy's string directives, as jnp; ``s_`` and ``index_exp`` are
numpy's own objects, as in jax.numpy.

Example::

    >>> fnp.r_[fnp.array([1, 2]), 0, 4:6]
    Array([1, 2, 0, 4, 5], dtype=int32)
"""
from __future__ import annotations

import math as _math
import operator

import numpy as np

from fx.core import Tracer, canonical_dtype, get_aval
from fx.dtypes import kind
from fx.errors import ConcretizationError
from primitives.numpy import indexing as _ix, manipulation as _man, math as _m
from primitives.numpy._promote import result_type_of
from primitives.numpy._util import shape_of
from primitives.numpy.creation import arange, array, asarray, linspace, ones, zeros
from primitives.numpy.grids import diag_indices
from primitives.numpy.nonzero import nonzero as _nonzero

__all__ = ["r_", "c_", "s_", "index_exp", "ravel_multi_index", "unravel_index",
           "mask_indices", "fill_diagonal", "diagflat"]

s_ = np.s_
index_exp = np.index_exp


def _grid_1d(s: slice):
    start = 0 if s.start is None else s.start
    step = 1 if s.step is None else s.step
    if np.iscomplex(step):
        return linspace(start, s.stop, int(abs(step)))
    return arange(start, s.stop, step)


class _AxisConcat:
    """``r_``/``c_``: concatenation along an axis driven by numpy's directives."""

    def __init__(self, axis: int, ndmin: int, trans1d: int, name: str):
        self.axis, self.ndmin, self.trans1d, self.name = axis, ndmin, trans1d, name
        self.__doc__ = (f"As jnp.{name}: ``{name}[a, b, 1:4]`` concatenates its items "
                        f"(slices become ranges), after numpy's string directives.")

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        params = [self.axis, self.ndmin, self.trans1d, -1]
        directive = items[0]
        if isinstance(directive, str):
            items = items[1:]
            if directive == "r":
                params[-1] = 0
            elif directive == "c":
                params[-1] = 1
            else:
                vec = directive.split(",")
                vec = vec + params[len(vec):] if len(vec) < 4 else vec[:3] + [params[-1]]
                try:
                    params = list(map(int, vec))
                except ValueError as err:
                    raise ValueError(f"could not understand directive {directive!r}") from err
        axis, ndmin, trans1d, matrix = params
        output = []
        for item in items:
            if isinstance(item, slice):
                obj, item_ndim = _grid_1d(item), 0
            elif isinstance(item, str):
                raise ValueError("string directive must be placed at the beginning")
            else:
                obj = array(item)
                item_ndim = len(shape_of(obj))
            obj = array(obj, ndmin=ndmin)
            if trans1d != -1 and ndmin - item_ndim > 0:
                perm = tuple(range(ndmin))
                shifts = ndmin - abs(ndmin + trans1d + 1) % ndmin
                obj = _man.transpose(obj, perm[shifts:] + perm[:shifts])
            output.append(obj)
        res = _man.concatenate(tuple(output), axis=axis)
        if matrix != -1 and len(shape_of(res)) == 1:
            res = _man.expand_dims(res, matrix)
        return res

    def __len__(self) -> int:
        return 0


r_ = _AxisConcat(0, 1, -1, "r_")
c_ = _AxisConcat(-1, 2, 0, "c_")


def ravel_multi_index(multi_index, dims, mode="raise", order="C", *, dtype=None):
    """Flat indices of a tuple of coordinate arrays (as jnp.ravel_multi_index).

    Args:
      multi_index: a sequence of integer arrays, one per dimension.
      dims: the array's shape (concrete ints).
      mode: 'raise' (needs concrete indices), 'wrap', 'clip' or 'ignore'.
      order: 'C' (row-major) or 'F'.
      dtype: the result's integer dtype (default: int, promoted with the indices).

    Returns:
      The flat indices.

    References:
      jax.numpy.ravel_multi_index; numpy.ravel_multi_index.
    """
    if len(multi_index) != len(dims):
        raise ValueError(f"len(multi_index)={len(multi_index)} != len(dims)={len(dims)}")
    dims = tuple(operator.index(d) for d in dims)
    idx = [asarray(i) for i in multi_index]
    dtype = (result_type_of(0, *idx)[0] if dtype is None
             else canonical_dtype(dtype))
    if kind(dtype) not in "iu":
        raise ValueError(f"dtype={dtype} is not an integer type.")
    if _math.prod(dims) - 1 > np.iinfo(dtype).max:
        raise ValueError(f"jnp.ravel_multi_index: dtype={dtype} not large enough to hold "
                         f"flattened index for dims={dims}. Use the dtype argument to pass a "
                         f"suitable dtype.")
    for i in idx:
        if mode == "raise" and isinstance(i, Tracer) and i.concrete_value() is None:
            raise ConcretizationError(
                "ravel_multi_index: mode='raise' checks the indices, which are traced here. "
                "Fix: use mode='wrap' or mode='clip' under jit/vmap.")
        if kind(get_aval(i).dtype) not in "iu":
            raise TypeError("only int indices permitted")
    if mode == "raise":
        if any(np.any((np.asarray(i) < 0) | (np.asarray(i) >= d)) for i, d in zip(idx, dims)):
            raise ValueError("invalid entry in coordinates array")
    elif mode == "clip":
        idx = [_m.clip(i, 0, d - 1) for i, d in zip(idx, dims)]
    elif mode == "wrap":
        idx = [_m.mod(i, d) for i, d in zip(idx, dims)]
    elif mode != "ignore":
        raise ValueError(f"invalid mode={mode!r}. Expected 'raise', 'wrap', 'clip', or 'ignore'.")
    if order == "F":
        strides = np.cumprod((1,) + dims[:-1])
    elif order == "C":
        strides = np.cumprod((1,) + dims[1:][::-1])[::-1]
    else:
        raise ValueError(f"invalid order={order!r}. Expected 'C' or 'F'")
    result = asarray(0, dtype=dtype)
    for i, s in zip(idx, strides):
        result = result + i.astype(dtype) * int(s)
    return result


def unravel_index(indices, shape):
    """Coordinate arrays of flat indices (as jnp.unravel_index).

    Args:
      indices: integer array of flat indices (out-of-range ones are clamped).
      shape: the array's shape.

    Returns:
      A tuple of index arrays, one per dimension.

    References:
      jax.numpy.unravel_index; numpy.unravel_index.
    """
    indices = asarray(indices)
    try:
        shape = list(shape)
    except TypeError:
        shape = [shape]
    if any(np.ndim(s) != 0 for s in shape):
        raise ValueError("unravel_index: shape should be a scalar or 1D sequence.")
    out = [0] * len(shape)
    for i, s in reversed(list(enumerate(shape))):
        indices, out[i] = _m.divmod(indices, s)
    oob_pos = indices > 0
    oob_neg = (asarray(False) if kind(get_aval(indices).dtype) == "u" else indices < -1)
    return tuple(_m.where(oob_pos, s - 1, _m.where(oob_neg, 0, i)) for s, i in zip(shape, out))


def mask_indices(n, mask_func, k=0, *, size=None):
    """Indices where ``mask_func(ones((n, n)), k)`` is nonzero (as jnp.mask_indices).

    Args:
      n: the matrix size.
      mask_func: e.g. ``triu`` or ``tril``.
      k: passed to ``mask_func``.
      size: static number of indices (required under tracing).

    Returns:
      (row indices, column indices).

    References:
      jax.numpy.mask_indices; numpy.mask_indices.
    """
    i, j = _nonzero(mask_func(ones((n, n)), k), size=size)
    return i, j


def _tile_to_size(arr, size: int):
    n = shape_of(arr)[0]
    if n < size:
        arr = _man.concatenate([arr] * (-(-size // n)))
    return arr[:size] if shape_of(arr)[0] > size else arr


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    """``a`` with its main diagonal set to ``val`` (as jnp.fill_diagonal).

    Args:
      a: an array of at least 2 dims (all equal beyond 2 dims).
      val: a scalar or values (tiled along the diagonal).
      wrap: must be False (as JAX).
      inplace: must be False: arrays are immutable (as JAX).

    Returns:
      The updated array.

    References:
      jax.numpy.fill_diagonal; numpy.fill_diagonal.
    """
    if inplace:
        raise NotImplementedError("JAX arrays are immutable, must use inplace=False")
    if wrap:
        raise NotImplementedError("wrap=True is not implemented, must use wrap=False")
    a, val = asarray(a), asarray(val)
    shape = shape_of(a)
    if len(shape) < 2:
        raise ValueError("array must be at least 2-d")
    if len(shape) > 2 and not all(n == shape[0] for n in shape[1:]):
        raise ValueError("All dimensions of input must be of equal length")
    n = min(shape)
    idx = diag_indices(n, len(shape))
    vals = val if not shape_of(val) else _tile_to_size(_man.ravel(val), n)
    return _ix.at(a)[idx].set(vals)


def diagflat(v, k=0):
    """A 2-D array with the flattened ``v`` on diagonal ``k`` (as jnp.diagflat).

    Args:
      v: input values (flattened).
      k: the diagonal (0 main, >0 above, <0 below).

    Returns:
      A square 2-D array.

    References:
      jax.numpy.diagflat; numpy.diagflat.
    """
    v = _man.ravel(asarray(v))
    n = shape_of(v)[0]
    adj = n + abs(k)
    res = zeros(adj * adj, dtype=get_aval(v).dtype)
    i = np.arange(n)
    fi = i + k + i * adj if k >= 0 else i + (i - k) * adj
    res = _ix.at(res)[fi].set(v)
    return _man.reshape(res, (adj, adj))

