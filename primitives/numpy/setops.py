"""Set operations (as jax.numpy): ``unique`` and its array-API variants,
``isin``, ``intersect1d``, ``union1d``, ``setdiff1d``, ``setxor1d``.

Their output length depends on the data. With ``size=N`` the result has N
entries (padded with ``fill_value``; JAX's defaults) and traces under every
transformation; without it the input must be concrete, and a traced one raises
ConcretizationError, as JAX's concretization error. Everything is computed as
in JAX: a stable (lexicographic) sort, a mask of first occurrences, and
``nonzero(mask, size=N)`` to gather them.

Example::

    >>> fnp.unique(fnp.array([3, 1, 3, 2]), size=4, fill_value=-1)
    Array([ 1,  2,  3, -1], dtype=int32)
"""
from __future__ import annotations

import operator
from typing import NamedTuple

import numpy as np

import primitives as P
from fx.core import Tracer, canonical_dtype, get_aval
from fx.dtypes import kind
from fx.errors import ConcretizationError
from primitives.numpy import (indexing as _ix, manipulation as _man, math as _m,
                              reductions as _red)
from primitives.numpy.nonzero import nonzero as _nonzero
from primitives.numpy.sequences import unstack as _unstack
from primitives.numpy._promote import promote
from primitives.numpy._util import canonicalize_axis, shape_of
from primitives.numpy.creation import arange, asarray, full, zeros

__all__ = ["unique", "unique_all", "unique_counts", "unique_inverse", "unique_values",
           "isin", "intersect1d", "union1d", "setdiff1d", "setxor1d", "lexsort"]

_SIZE_HINT = ("Fix: pass size=N (a static int; missing entries are fill_value), as jnp.{op} "
              "requires under jit/vmap/grad tracing.")


def _default_int():
    return canonical_dtype(np.int64)


def _concrete(x, op: str):
    """The concrete value of ``x`` (an array, or a tracer carrying one), else raise."""
    value = x.concrete_value() if isinstance(x, Tracer) else x
    if value is None or (isinstance(x, Tracer) and isinstance(value, Tracer)):
        raise ConcretizationError(
            f"{op}: the output shape depends on the values of a traced array "
            f"{get_aval(x).str_short()}. " + _SIZE_HINT.format(op=op))
    return np.asarray(value)


def _static_size(size, op):
    return None if size is None else operator.index(size)


def lexsort(keys, axis=-1):
    """Indices that sort by several keys, the LAST key primary (as jnp.lexsort).

    Args:
      keys: a sequence of same-shaped arrays (or an array, its rows the keys).
      axis: the axis to sort along.

    Returns:
      int indices of the keys' shape.

    References:
      jax.numpy.lexsort; numpy.lexsort.
    """
    key_tuple = tuple(_unstack(keys) if hasattr(keys, "shape") or isinstance(keys, Tracer)
                      else keys)
    if len(key_tuple) == 0:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    key_tuple = tuple(asarray(k) for k in key_tuple)
    if len({shape_of(k) for k in key_tuple}) > 1:
        raise ValueError("all keys need to be the same shape")
    shape = shape_of(key_tuple[0])
    if not shape:
        return asarray(0, dtype=_default_int())
    axis = canonicalize_axis(axis, len(shape), "lexsort")
    iota = P.broadcast_in_dim(P.iota(_default_int(), shape[axis]), shape, (axis,))
    return P.sort((*key_tuple[::-1], iota), dimension=axis, is_stable=True,
                  num_keys=len(key_tuple))[-1]


def _sorted_mask(ar, axis: int, equal_nan: bool):
    """(sorted rows along ``axis`` moved first, first-occurrence mask, permutation)."""
    aux = _man.moveaxis(ar, axis, 0)
    if kind(get_aval(aux).dtype) == "c":
        aux = _m.where(_m.isnan(aux), asarray(np.nan, get_aval(aux).dtype), aux)
    size, *rest = shape_of(aux)
    cols = int(np.prod(rest, dtype=np.int64))
    if cols == 0:
        size, perm = 1, zeros(1, dtype=_default_int())
    else:
        perm = lexsort(_man.transpose(_man.reshape(aux, (size, cols)))[::-1])
    aux = _ix.take(aux, perm, axis=0)
    if size * cols == 0 or not shape_of(aux)[0]:
        return aux, zeros(size, dtype=bool), perm
    a, b = aux[1:], aux[:-1]
    neq = _m.not_equal(a, b)
    if equal_nan and kind(get_aval(aux).dtype) in "fc":
        neq = _m.logical_and(neq, _m.logical_not(_m.logical_and(_m.isnan(a), _m.isnan(b))))
    if len(shape_of(neq)) > 1:
        neq = _red.any(neq, axis=tuple(range(1, len(shape_of(neq)))))
    return aux, _man.concatenate([asarray([True]), neq]), perm


def _unique(ar, axis, return_index=False, return_inverse=False, return_counts=False,
            equal_nan=True, size=None, fill_value=None, return_true_size=False):
    axis = canonicalize_axis(axis, len(shape_of(ar)), "unique")
    n_axis = shape_of(ar)[axis]
    if n_axis == 0 and size and fill_value is None:
        raise ValueError("jnp.unique: for zero-sized input with nonzero size argument, "
                         "fill_value must be specified")
    aux, mask, perm = _sorted_mask(ar, axis, equal_nan)
    n = size if size is not None else int(np.count_nonzero(_concrete(mask, "unique")))
    ind = _nonzero(mask, size=n)[0]
    aux_size = int(np.prod(shape_of(aux), dtype=np.int64))
    result = _ix.take(aux, ind, axis=0, mode="clip") if aux_size else aux
    if size is not None and fill_value is not None:
        fill = asarray(fill_value).astype(get_aval(result).dtype)
        if shape_of(result)[0]:
            valid = arange(size) < _red.sum(mask)
            valid = P.reshape(valid, (size,) + (1,) * (len(shape_of(result)) - 1))
            result = _m.where(valid, result, fill)
        else:
            result = full((size,) + shape_of(result)[1:], fill, dtype=get_aval(result).dtype)
    ret = (_man.moveaxis(result, 0, axis),)
    int_dt = _default_int()
    if return_index:
        ret += (_ix.take(perm, ind, mode="clip") if aux_size else perm,)
    if return_inverse:
        if aux_size:
            imask = _red.cumsum(mask.astype(int_dt)) - 1
            inv = _ix.at(zeros(shape_of(mask), dtype=int_dt))[perm].set(imask.astype(int_dt))
        else:
            inv = zeros(n_axis, dtype=int_dt)
        ret += (inv,)
    if return_counts:
        if aux_size:
            m = shape_of(mask)[0]
            if size is None:
                idx = _man.concatenate([_nonzero(mask, size=n)[0], asarray([m], np.int32)])
            else:
                idx = _nonzero(mask, size=size + 1)[0]
                tail = idx[1:]
                idx = _man.concatenate([idx[:1], _m.where(tail != 0, tail, m)])
            ret += (_m.subtract(idx[1:], idx[:-1]).astype(int_dt),)
        elif n_axis:
            ret += (full((1,), n_axis, dtype=int_dt),)
        else:
            ret += (zeros(0, dtype=int_dt),)
    if return_true_size:
        ret += (_red.sum(mask),)
    return ret[0] if len(ret) == 1 else ret


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, size=None, fill_value=None, sorted=True):
    """The sorted unique elements of an array (as jnp.unique).

    Args:
      ar: input array.
      return_index, return_inverse, return_counts: also return the first indices,
        the inverse indices (``ar``'s shape for ``axis=None``) and the counts.
      axis: the axis whose slices are compared (None: the flattened array).
      equal_nan: whether NaNs compare equal.
      size: the static output length (required under tracing).
      fill_value: the padding past the last unique value (default: the smallest).
      sorted: unused (the result is always sorted), as JAX.

    Returns:
      The unique values, or a tuple with the requested extras.

    References:
      jax.numpy.unique; numpy.unique.
    """
    del sorted
    arr = asarray(ar)
    size = _static_size(size, "unique")
    if size is None:
        _concrete(arr, "unique")
    arr_shape = shape_of(arr)
    if axis is None:
        axis_int, arr = 0, _man.ravel(arr)
    else:
        axis_int = canonicalize_axis(axis, len(arr_shape), "unique")
    result = _unique(arr, axis_int, return_index, return_inverse, return_counts,
                     equal_nan=equal_nan, size=size, fill_value=fill_value)
    if return_inverse and axis is None:
        i = 2 if return_index else 1
        result = (*result[:i], _man.reshape(result[i], arr_shape), *result[i + 1:])
    return result


class _UniqueAllResult(NamedTuple):
    values: object
    indices: object
    inverse_indices: object
    counts: object


class _UniqueCountsResult(NamedTuple):
    values: object
    counts: object


class _UniqueInverseResult(NamedTuple):
    values: object
    inverse_indices: object


def unique_all(x, /, *, size=None, fill_value=None):
    """As jnp.unique_all: values, indices, inverse_indices, counts (NaNs distinct).

    Args:
      x: input array. size, fill_value: as :func:`unique`.

    Returns:
      A NamedTuple (values, indices, inverse_indices, counts).

    References:
      jax.numpy.unique_all (array API).
    """
    return _UniqueAllResult(*unique(x, return_index=True, return_inverse=True,
                                    return_counts=True, equal_nan=False, size=size,
                                    fill_value=fill_value))


def unique_counts(x, /, *, size=None, fill_value=None):
    """As jnp.unique_counts: (values, counts), NaNs distinct.

    Args:
      x: input array. size, fill_value: as :func:`unique`.

    Returns:
      A NamedTuple (values, counts).

    References:
      jax.numpy.unique_counts (array API).
    """
    return _UniqueCountsResult(*unique(x, return_counts=True, equal_nan=False, size=size,
                                       fill_value=fill_value))


def unique_inverse(x, /, *, size=None, fill_value=None):
    """As jnp.unique_inverse: (values, inverse_indices of x's shape), NaNs distinct.

    Args:
      x: input array. size, fill_value: as :func:`unique`.

    Returns:
      A NamedTuple (values, inverse_indices).

    References:
      jax.numpy.unique_inverse (array API).
    """
    return _UniqueInverseResult(*unique(x, return_inverse=True, equal_nan=False, size=size,
                                        fill_value=fill_value))


def unique_values(x, /, *, size=None, fill_value=None):
    """As jnp.unique_values: the sorted unique values, NaNs distinct.

    Args:
      x: input array. size, fill_value: as :func:`unique`.

    Returns:
      The unique values.

    References:
      jax.numpy.unique_values (array API).
    """
    return unique(x, equal_nan=False, size=size, fill_value=fill_value)


def _in1d(ar1, ar2, invert, method="auto", assume_unique=False):
    arr1, arr2 = promote(asarray(ar1), asarray(ar2))
    arr1, arr2 = _man.ravel(arr1), _man.ravel(arr2)
    n1, n2 = shape_of(arr1)[0], shape_of(arr2)[0]
    if n1 == 0 or n2 == 0:
        return full((n1,), invert, dtype=bool)
    if method not in ("auto", "compare_all", "binary_search", "sort"):
        raise ValueError(f"method={method!r} is not implemented; options are "
                         "'compare_all', 'binary_search', 'sort', and 'auto'")
    # every method gives the same booleans; compare_all is exact for NaNs too
    eq = _m.equal(_man.expand_dims(arr1, 1), _man.expand_dims(arr2, 0))
    if invert:
        return _red.all(_m.logical_not(eq), axis=-1)
    return _red.any(eq, axis=-1)


def isin(element, test_elements, assume_unique=False, invert=False, *, method="auto"):
    """Whether each element of ``element`` is in ``test_elements`` (as jnp.isin).

    Args:
      element: input array.
      test_elements: the values to look for.
      assume_unique: unused hint, as JAX's default method.
      invert: return the negation.
      method: 'auto', 'compare_all', 'binary_search' or 'sort' (all give the same
        result; computed by comparing all pairs).

    Returns:
      A bool array of ``element``'s shape.

    References:
      jax.numpy.isin.
    """
    element = asarray(element)
    return _man.reshape(_in1d(element, test_elements, invert, method, assume_unique),
                        shape_of(element))


def _concat_unique(arr1, arr2):
    arr1, arr2 = _man.ravel(arr1), _man.ravel(arr2)
    arr1, num1 = _unique(arr1, 0, size=shape_of(arr1)[0], return_true_size=True)
    arr2, num2 = _unique(arr2, 0, size=shape_of(arr2)[0], return_true_size=True)
    arr = zeros(shape_of(arr1)[0] + shape_of(arr2)[0], dtype=get_aval(arr1).dtype)
    arr = P.dynamic_update_slice(arr, arr1, (asarray(0, np.int32),))
    arr = P.dynamic_update_slice(arr, arr2, (num1.astype(np.int32),))
    return arr, num1 + num2


def _padded(vals, num_results, fill_value):
    valid = arange(shape_of(vals)[0]) < num_results
    if fill_value is None:
        vals = _m.where(valid, vals, _red.max(vals))
        return _m.where(valid, vals, _red.min(vals))
    return _m.where(valid, vals, asarray(fill_value).astype(get_aval(vals).dtype))


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted unique values of ``ar1`` not in ``ar2`` (as jnp.setdiff1d).

    Args:
      ar1, ar2: input arrays (flattened).
      assume_unique: the inputs are already unique.
      size: static output length (required under tracing).
      fill_value: padding (default 0).

    Returns:
      A 1-D array.

    References:
      jax.numpy.setdiff1d.
    """
    arr1, arr2 = _man.ravel(asarray(ar1)), _man.ravel(asarray(ar2))
    size = _static_size(size, "setdiff1d")
    if size is None:
        _concrete(arr1, "setdiff1d")
    fill = asarray(0 if fill_value is None else fill_value).astype(get_aval(arr1).dtype)
    n1 = shape_of(arr1)[0]
    if n1 == 0:
        return full((size or 0,), fill, dtype=get_aval(arr1).dtype)
    if not assume_unique:
        arr1 = unique(arr1, size=size and n1)
    mask = _in1d(arr1, arr2, invert=True, assume_unique=assume_unique)
    if size is None:
        return _ix.getitem(arr1, _concrete(mask, "setdiff1d"))
    if not assume_unique:
        n_unique = n1 + 1 - _red.sum(_m.equal(arr1, arr1[0]))
        mask = _m.logical_and(arange(n1) < n_unique, mask)
    picked = _ix.take(arr1, _nonzero(mask, size=size)[0], mode="clip")
    return _m.where(arange(size) < _red.sum(mask), picked, fill)


def union1d(ar1, ar2, *, size=None, fill_value=None):
    """The sorted unique values in either array (as jnp.union1d).

    Args:
      ar1, ar2: input arrays (flattened).
      size, fill_value: as :func:`unique`.

    Returns:
      A 1-D array.

    References:
      jax.numpy.union1d.
    """
    ar1, ar2 = asarray(ar1), asarray(ar2)
    size = _static_size(size, "union1d")
    if size is None:
        _concrete(ar1, "union1d"), _concrete(ar2, "union1d")
    both = _man.concatenate([_man.ravel(a) for a in promote(ar1, ar2)])
    return unique(both, size=size, fill_value=fill_value)


def setxor1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted values in exactly one of the arrays (as jnp.setxor1d).

    Args:
      ar1, ar2: input arrays (flattened).
      assume_unique: the inputs are already unique.
      size: static output length (required under tracing).
      fill_value: padding (default: the largest then smallest value, as JAX).

    Returns:
      A 1-D array.

    References:
      jax.numpy.setxor1d.
    """
    arr1, arr2 = promote(_man.ravel(asarray(ar1)), _man.ravel(asarray(ar2)))
    size = _static_size(size, "setxor1d")
    if size is None:
        if not assume_unique:
            arr1, arr2 = unique(arr1), unique(arr2)
        aux = _man.concatenate([arr1, arr2])
        if shape_of(aux)[0] == 0:
            return aux
        aux = P.sort(aux, dimension=0)
        neq = _concrete(_m.not_equal(aux[1:], aux[:-1]), "setxor1d")
        flag = np.concatenate([[True], neq, [True]])
        return _ix.getitem(aux, flag[1:] & flag[:-1])
    if assume_unique:
        aux = P.sort(_man.concatenate([arr1, arr2]), dimension=0)
        flag = _man.concatenate([asarray([shape_of(aux)[0] > 0]),
                                 _m.not_equal(aux[1:], aux[:-1]), asarray([True])])
    else:
        arr, num_unique = _concat_unique(arr1, arr2)
        n = shape_of(arr)[0]
        mask = arange(n + 1) < num_unique + 1
        _, aux = P.sort((_m.logical_not(mask[1:]), arr), dimension=0, is_stable=True,
                        num_keys=2)
        flag = _man.concatenate([asarray([n > 0]), _m.not_equal(aux[1:], aux[:-1]),
                                 asarray([False])])
        flag = _m.logical_and(mask, _m.logical_or(flag, arange(n + 1) == num_unique))
    aux_mask = _m.logical_and(flag[1:], flag[:-1])
    num_results = _red.sum(aux_mask)
    n_aux = shape_of(aux)[0]
    if n_aux:
        indices = _nonzero(aux_mask, size=size, fill_value=n_aux)[0]
        vals = _ix.getitem(aux, indices, mode="fill", fill_value=0)
    else:
        vals = zeros(size, get_aval(aux).dtype)
    return _padded(vals, num_results, fill_value)


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None,
                fill_value=None):
    """The sorted unique values in both arrays (as jnp.intersect1d).

    Args:
      ar1, ar2: input arrays (flattened).
      assume_unique: the inputs are already unique.
      return_indices: also return the indices of the values in each input.
      size: static output length (required under tracing).
      fill_value: padding (default: the largest then smallest value, as JAX).

    Returns:
      The intersection, or (values, indices in ar1, indices in ar2).

    References:
      jax.numpy.intersect1d.
    """
    arr1, arr2 = promote(_man.ravel(asarray(ar1)), _man.ravel(asarray(ar2)))
    size = _static_size(size, "intersect1d")
    n1, n2 = shape_of(arr1)[0], shape_of(arr2)[0]
    int_dt = _default_int()
    if size is None:
        _concrete(arr1, "intersect1d"), _concrete(arr2, "intersect1d")
        ind1 = ind2 = None
        if not assume_unique:
            if return_indices:
                arr1, ind1 = unique(arr1, return_index=True)
                arr2, ind2 = unique(arr2, return_index=True)
            else:
                arr1, arr2 = unique(arr1), unique(arr2)
        arr = _man.concatenate([arr1, arr2])
        iota = P.iota(int_dt, shape_of(arr)[0])
        aux, order = P.sort((arr, iota), dimension=0, is_stable=True, num_keys=1)
        mask = _concrete(_m.equal(aux[1:], aux[:-1]), "intersect1d")
        values = _ix.getitem(aux[:-1], mask)
        if not return_indices:
            return values
        i1 = _ix.getitem(order[:-1], mask)
        i2 = _ix.getitem(order[1:], mask) - shape_of(arr1)[0]
        if not assume_unique:
            i1, i2 = _ix.take(ind1, i1), _ix.take(ind2, i2)
        return values, i1, i2
    iota_dt = int_dt
    if assume_unique:
        ind1, num1 = arange(n1, dtype=iota_dt), asarray(n1, iota_dt)
        ind2 = arange(n2, dtype=iota_dt)
        arr = _man.concatenate([arr1, arr2])
        aux, order = P.sort((arr, P.iota(iota_dt, n1 + n2)), dimension=0, is_stable=True,
                            num_keys=1)
        mask = full((n1 + n2,), True, dtype=bool)
    else:
        arr1, ind1, num1 = _unique(arr1, 0, size=n1, return_index=True, return_true_size=True,
                                   fill_value=0)
        arr2, ind2, num2 = _unique(arr2, 0, size=n2, return_index=True, return_true_size=True,
                                   fill_value=0)
        arr = zeros(n1 + n2, dtype=get_aval(arr1).dtype)
        arr = P.dynamic_update_slice(arr, arr1, (asarray(0, np.int32),))
        arr = P.dynamic_update_slice(arr, arr2, (num1.astype(np.int32),))
        mask = arange(n1 + n2) < num1 + num2
        _, aux, order = P.sort((_m.logical_not(mask), arr, P.iota(iota_dt, n1 + n2)),
                               dimension=0, is_stable=True, num_keys=2)
    aux_mask = _m.logical_and(_m.equal(aux[1:], aux[:-1]), mask[1:])
    num_results = _red.sum(aux_mask)
    n_aux = n1 + n2
    if n_aux:
        val_idx = _nonzero(aux_mask, size=size, fill_value=n_aux)[0]
        vals = _ix.getitem(aux, val_idx, mode="fill", fill_value=0)
    else:
        val_idx = arange(0)
        vals = zeros(size, get_aval(aux).dtype)
    vals = _padded(vals, num_results, fill_value)
    if not return_indices:
        return vals
    valid = arange(size) < num_results
    i1 = _ix.getitem(order, val_idx, mode="fill", fill_value=n1)
    i1 = _m.where(valid, i1, n1)
    i2 = _ix.getitem(order, val_idx + 1, mode="fill", fill_value=n2) - num1.astype(iota_dt)
    i2 = _m.where(valid, i2, n2)
    if not assume_unique:
        i1 = _ix.getitem(ind1, i1, mode="fill", fill_value=shape_of(ind1)[0])
        i2 = _ix.getitem(ind2, i2, mode="fill", fill_value=shape_of(ind2)[0])
    return vals, i1, i2
