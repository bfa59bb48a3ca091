"""primitives.scipy.ndimage: ``jax.scipy.ndimage.map_coordinates`` (orders 0 and
1; modes constant, nearest, wrap, mirror, reflect, with JAX's semantics: JAX's
'wrap' and 'constant' are SciPy's 'grid-wrap' and 'grid-constant').

Example::

    >>> import numpy as np, primitives.scipy.ndimage as fnd
    >>> x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    >>> fnd.map_coordinates(x, [np.array([0.5, 1.5]), np.array([1.5, 2.5])], order=1)  # [3.5, 8.5]

References:
    JAX's ``jax/_src/scipy/ndimage.py``; JAX issue 11097 (boundary modes).
"""
from __future__ import annotations

import functools
import itertools
import operator

import numpy as np

import primitives as P
import primitives.numpy as fnp
from fx.core import get_aval
from primitives.numpy.creation import asarray

__all__ = ["map_coordinates"]


def _arr(x):
    return asarray(x) if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)) \
        else x


def _mirror_index_fixer(index, size):
    s = size - 1   # half-wavelength of the triangular wave
    return fnp.abs((index + s) % (2 * s) - s)


def _reflect_index_fixer(index, size):
    return fnp.floor_divide(_mirror_index_fixer(2 * index + 1, 2 * size + 1) - 1, 2)


_INDEX_FIXERS = {
    "constant": lambda index, size: index,
    "nearest": lambda index, size: fnp.clip(index, 0, size - 1),
    "wrap": lambda index, size: index % size,
    "mirror": _mirror_index_fixer,
    "reflect": _reflect_index_fixer,
}


def _round_half_away_from_zero(a):
    return a if np.issubdtype(get_aval(a).dtype, np.integer) else P.round(a)


def _nearest(coordinate):
    index = _round_half_away_from_zero(coordinate).astype(np.int32)
    return [(index, get_aval(coordinate).dtype.type(1))]


def _linear(coordinate):
    lower = fnp.floor(coordinate)
    upper_weight = coordinate - lower
    index = lower.astype(np.int32)
    return [(index, 1 - upper_weight), (index + 1, upper_weight)]


def map_coordinates(input, coordinates, order: int, mode: str = "constant", cval=0.0):
    """The input interpolated at ``coordinates`` (as jax.scipy.ndimage.map_coordinates).

    Args:
      input: an N-d array.
      coordinates: N arrays of coordinates (one per axis of ``input``).
      order: 0 (nearest) or 1 (linear).
      mode: 'constant', 'nearest', 'wrap', 'mirror' or 'reflect'.
      cval: the value outside the input with mode 'constant'.

    Returns:
      The interpolated values (``input``'s dtype, rounded for integers).

    References:
      jax.scipy.ndimage.map_coordinates; scipy.ndimage.map_coordinates.
    """
    input_arr = _arr(input)
    coordinate_arrs = [_arr(c) for c in coordinates]
    dtype = get_aval(input_arr).dtype
    cval = asarray(cval, dtype)
    shape = get_aval(input_arr).shape
    if len(coordinates) != len(shape):
        raise ValueError(f"coordinates must be a sequence of length input.ndim, but "
                         f"{len(coordinates)} != {len(shape)}")
    index_fixer = _INDEX_FIXERS.get(mode)
    if index_fixer is None:
        raise NotImplementedError(
            f"jax.scipy.ndimage.map_coordinates does not yet support mode {mode}. Currently "
            f"supported modes are {set(_INDEX_FIXERS)}.")
    if mode == "constant":
        def is_valid(index, size):
            return (0 <= index) & (index < size)
    else:
        def is_valid(index, size):
            return True
    if order == 0:
        interp_fun = _nearest
    elif order == 1:
        interp_fun = _linear
    else:
        raise NotImplementedError("jax.scipy.ndimage.map_coordinates currently requires "
                                  "order<=1")
    per_axis = [[(index_fixer(index, size), is_valid(index, size), weight)
                 for index, weight in interp_fun(coordinate)]
                for coordinate, size in zip(coordinate_arrs, shape)]
    outputs = []
    for items in itertools.product(*per_axis):
        indices, validities, weights = zip(*items)
        if all(valid is True for valid in validities):
            contribution = input_arr[indices]
        else:
            all_valid = functools.reduce(operator.and_, validities)
            contribution = fnp.where(all_valid, input_arr[indices], cval)
        outputs.append(functools.reduce(operator.mul, weights) * contribution)
    result = sum(outputs[1:], outputs[0])
    if np.issubdtype(dtype, np.integer):
        result = _round_half_away_from_zero(result)
    return result.astype(dtype)
