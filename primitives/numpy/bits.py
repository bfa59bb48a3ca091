"""Bit-level functions (as jax.numpy): ``packbits``, ``unpackbits``,
``bitwise_count``, ``spacing``.

Example::

    >>> fnp.packbits(fnp.array([1, 0, 1, 1]))
    Array([176], dtype=uint8)
"""
from __future__ import annotations

import numpy as np

import primitives as P
from fx.core import get_aval
from fx.dtypes import kind
from primitives.numpy import manipulation as _man, math as _m, reductions as _red
from primitives.numpy.creation import asarray
from primitives.numpy.elementwise_more import copysign, left_shift, nextafter
from primitives.numpy._util import shape_of

__all__ = ["packbits", "unpackbits", "bitwise_count", "spacing"]


def _check_order(bitorder):
    if bitorder not in ("little", "big"):
        raise ValueError("'order' must be either 'little' or 'big'")


def packbits(a, axis=None, bitorder="big"):
    """Pack a binary-valued array into uint8 bytes (as jnp.packbits).

    Args:
      a: integer or bool array (nonzero is a set bit).
      axis: the axis packed (None: the flattened array); padded to a multiple of 8.
      bitorder: 'big' or 'little'.

    Returns:
      A uint8 array.

    References:
      jax.numpy.packbits; numpy.packbits.
    """
    arr = asarray(a)
    if kind(get_aval(arr).dtype) not in "biu":
        raise TypeError("Expected an input array of integer or boolean data type")
    _check_order(bitorder)
    arr = _m.not_equal(arr, 0).astype(np.uint8)
    bits = np.arange(8, dtype=np.uint8)
    if bitorder == "big":
        bits = bits[::-1]
    if axis is None:
        arr, axis = _man.ravel(arr), 0
    arr = _man.swapaxes(arr, axis, -1)
    remainder = shape_of(arr)[-1] % 8
    if remainder:
        arr = P.pad(arr, np.uint8(0), [(0, 0, 0)] * (len(shape_of(arr)) - 1)
                    + [(0, 8 - remainder, 0)])
    shape = shape_of(arr)
    arr = _man.reshape(arr, shape[:-1] + (shape[-1] // 8, 8))
    packed = _red.sum(left_shift(arr, bits), axis=-1).astype(np.uint8)
    return _man.swapaxes(packed, axis, -1)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    """Unpack uint8 bytes into bits (as jnp.unpackbits).

    Args:
      a: a uint8 array.
      axis: the axis unpacked (None: the flattened array).
      count: how many bits to keep (padded with zeros if larger).
      bitorder: 'big' or 'little'.

    Returns:
      A uint8 array of 0s and 1s.

    References:
      jax.numpy.unpackbits; numpy.unpackbits.
    """
    arr = asarray(a)
    if get_aval(arr).dtype != np.uint8:
        raise TypeError("Expected an input array of unsigned byte data type")
    _check_order(bitorder)
    bits = (1 << np.arange(8, dtype=np.uint8)).astype(np.uint8)
    if bitorder == "big":
        bits = bits[::-1]
    if axis is None:
        arr, axis = _man.ravel(arr), 0
    arr = _man.swapaxes(arr, axis, -1)
    unpacked = _m.greater(_m.bitwise_and(arr[..., None], bits), 0).astype(np.uint8)
    shape = shape_of(unpacked)
    unpacked = _man.reshape(unpacked, shape[:-2] + (shape[-2] * 8,))
    if count is not None:
        n = shape_of(unpacked)[-1]
        if count > n:
            unpacked = _man.pad(unpacked, [(0, 0)] * (len(shape_of(unpacked)) - 1)
                                + [(0, count - n)])
        else:
            unpacked = unpacked[..., :count]
    return _man.swapaxes(unpacked, axis, -1)


def bitwise_count(x, /):
    """The number of set bits in ``|x|`` (as jnp.bitwise_count).

    Args:
      x: an integer or bool array.

    Returns:
      uint8 counts.

    References:
      jax.numpy.bitwise_count; numpy.bitwise_count.
    """
    x = asarray(x)
    if kind(get_aval(x).dtype) not in "biu":
        raise TypeError(f"bitwise_count requires integer or boolean input, got "
                        f"{get_aval(x).dtype}")
    if get_aval(x).dtype == np.bool_:
        return x.astype(np.uint8)
    return P.population_count(_m.abs(x)).astype(np.uint8)


def spacing(x, /):
    """The distance from ``x`` to the next representable value away from 0 (as jnp.spacing).

    Args:
      x: a real array (integers are promoted to float).

    Returns:
      ``nextafter(x, copysign(inf, x)) - x`` (the smallest subnormal where that is 0).

    References:
      jax.numpy.spacing; numpy.spacing.
    """
    arr, = _m.promote_inexact(asarray(x))
    dtype = get_aval(arr).dtype
    if kind(dtype) == "c":
        raise ValueError("jnp.spacing is not defined for complex inputs.")
    inf = asarray(np.inf, dtype)
    if dtype == np.float16:
        return nextafter(arr, inf) - arr
    result = nextafter(arr, copysign(inf, arr)) - arr
    tiny = asarray(np.finfo(dtype).smallest_subnormal, dtype)
    return _m.where(result == 0, copysign(tiny, arr), result)
