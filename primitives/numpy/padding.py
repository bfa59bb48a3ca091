"""``pad`` (as jax.numpy): every mode of jnp.pad.

The copying modes ('constant', 'empty', 'edge', 'wrap', 'reflect', 'symmetric')
are :func:`primitives.numpy.manipulation.pad`; this file adds the statistic modes
('maximum', 'minimum', 'mean', 'median', with ``stat_length``), 'linear_ramp'
(with ``end_values``) and a callable ``mode``, as jax.numpy builds them: one axis
at a time, the pad blocks concatenated around the array, all from
differentiable ops (reductions, linspace, slices), so grad/vmap/jit work.

Example::

    >>> import numpy as np, primitives.numpy as fnp
    >>> fnp.pad(np.arange(5.), 2, mode="mean")
    Array([2., 2., 0., 1., 2., 3., 4., 2., 2.], dtype=float32)
    >>> fnp.pad(np.arange(5.), 2, mode="linear_ramp", end_values=(1, 2))
    Array([1. , 0.5, 0. , 1. , 2. , 3. , 4. , 3. , 2. ], dtype=float32)
"""
from __future__ import annotations

import operator

import numpy as np

import primitives as P
from fx.core import Tracer, get_aval
from fx.dtypes import kind
from fx.errors import ShapeError
from primitives.numpy import manipulation as _man, math as _m, reductions as _red
from primitives.numpy._util import broadcast_to, shape_of
from primitives.numpy.creation import asarray, linspace
from primitives.numpy.functional import apply_along_axis
from primitives.numpy.statistics import median

__all__ = ["pad"]

_STAT_FUNCS = {"maximum": _red.max, "minimum": _red.min, "mean": _red.mean, "median": median}

_ALLOWED_KWARGS = {
    "empty": (), "edge": (), "wrap": (), "constant": ("constant_values",),
    "linear_ramp": ("end_values",), "maximum": ("stat_length",), "mean": ("stat_length",),
    "median": ("stat_length",), "minimum": ("stat_length",), "reflect": ("reflect_type",),
    "symmetric": ("reflect_type",)}


def _static(value, name):
    """``value`` (``stat_length``/``end_values``) must be hashable, as JAX's static arguments."""
    try:
        if isinstance(value, Tracer):
            raise TypeError
        hash(value)
    except TypeError:
        raise ValueError(f"pad: {name} must be hashable (Python scalars or nested tuples of "
                         f"them: JAX passes it as a static argument); got "
                         f"{type(value).__name__} {value!r}. Fix: pass e.g. "
                         f"{name}=tuple(map(tuple, np.asarray(...).tolist())).") from None
    return value


def _pairs(values, nd, name):
    """numpy's broadcasting of a pad argument to one (before, after) pair per axis."""
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        raise TypeError(f"pad: `{name}` entries must be the same shape: {values}")
    if arr.shape == (nd, 2):
        return tuple((row[0], row[1]) for row in arr)
    if arr.shape in ((1, 2), (2,)):
        return ((arr.flat[0], arr.flat[1]),) * nd
    if arr.shape in ((), (1,)):
        return ((arr.flat[0],) * 2,) * nd
    raise ShapeError(f"jnp.pad: {name} with nd={nd} has unsupported shape {arr.shape}. Valid "
                     f"shapes are ({nd}, 2), (1, 2), (2,), (1,), or ().")


def _slice_in_dim(x, start, stop, axis):
    """``x[start:stop]`` along ``axis`` with lax.slice_in_dim's index rules (a negative
    index counts from the end once; out of range is an error)."""
    n = shape_of(x)[axis]
    start = operator.index(start)
    stop = n if stop is None else operator.index(stop)
    start, stop = start + n if start < 0 else start, stop + n if stop < 0 else stop
    if not 0 <= start <= stop <= n:
        raise TypeError(f"pad: slice [{start}:{stop}] is out of range for axis {axis} of "
                        f"size {n} (shape {shape_of(x)}): check stat_length / the padded axis.")
    return _man._slice_axis(x, start, stop, axis)


def _as_array_type(x, aval):
    """``x`` converted to the array's dtype and weak type."""
    x_aval = get_aval(x)
    if x_aval.dtype == aval.dtype and x_aval.weak_type == aval.weak_type:
        return x
    return P.convert_element_type(x, aval.dtype, weak_type=aval.weak_type)


def _block(x, axis, width):
    """``x`` (size 1 along ``axis``) repeated ``width`` times along ``axis``."""
    shape = list(shape_of(x))
    shape[axis] = width
    return broadcast_to(x, tuple(shape))


def _pad_stats(array, widths, stat_length, stat_func):
    aval = get_aval(array)
    integer = kind(aval.dtype) in "iu"
    for axis, (lo, hi) in enumerate(widths):
        if stat_length is None:
            before = after = stat_func(array, axis=axis, keepdims=True)
        else:
            n = shape_of(array)[axis]
            len_before, len_after = stat_length[axis]
            if len_before == 0 or len_after == 0:
                raise ValueError("stat_length of 0 yields no value for padding")
            len_before, len_after = min(len_before, n), min(len_after, n)
            before = stat_func(_slice_in_dim(array, 0, len_before, axis), axis=axis,
                               keepdims=True)
            after = stat_func(_slice_in_dim(array, -len_after, None, axis), axis=axis,
                              keepdims=True)
        if integer:  # numpy's rounding of a mean/median to an integer array (half to even)
            before, after = _m.round(before), _m.round(after)
        before, after = _as_array_type(before, aval), _as_array_type(after, aval)
        array = _man._concat([_block(before, axis, lo), array, _block(after, axis, hi)], axis)
    return array


def _pad_linear_ramp(array, widths, end_values):
    aval = get_aval(array)
    for axis, (lo, hi) in enumerate(widths):
        n = shape_of(array)[axis]
        if n == 0:
            raise TypeError(f"pad: cannot apply 'linear_ramp' padding to empty axis {axis} "
                            f"of an array of shape {shape_of(array)} (it has no edge value)")
        edge_before = _man.squeeze(_man._slice_axis(array, 0, 1, axis), axis)
        edge_after = _man.squeeze(_man._slice_axis(array, n - 1, n, axis), axis)
        ramp_before = linspace(end_values[axis][0], edge_before, lo, endpoint=False,
                               dtype=aval.dtype, axis=axis)
        ramp_after = linspace(end_values[axis][1], edge_after, hi, endpoint=False,
                              dtype=aval.dtype, axis=axis)
        ramp_before = _as_array_type(ramp_before, aval)
        ramp_after = _man.flip(_as_array_type(ramp_after, aval), axis)
        array = _man._concat([ramp_before, array, ramp_after], axis)
    return array


def _pad_func(array, widths, func, kwargs):
    """numpy's callable mode: ``func(row, (before, after), axis, kwargs)`` maps each 1-D
    row of the zero-padded array (a vmap, as JAX; ``func`` returns the new row)."""
    padded = _man.pad(array, widths)
    for axis in range(len(widths)):
        padded = apply_along_axis(func, axis, padded, widths[axis], axis, kwargs)
    return padded


def pad(array, pad_width, mode="constant", **kwargs):
    """Pad an array (as jnp.pad).

    Args:
      array: array to pad.
      pad_width: int, ``(before, after)`` or one ``(before, after)`` per axis.
      mode: 'constant' (``constant_values``, default 0), 'empty' (zeros), 'edge',
        'wrap', 'reflect'/'symmetric' (``reflect_type`` 'even' or 'odd'), 'maximum',
        'minimum', 'mean', 'median' (``stat_length``: how many edge values the
        statistic uses, per axis/side as ``pad_width``; default all), 'linear_ramp'
        (``end_values``, default 0), or a callable
        ``f(row, (before, after), axis, kwargs) -> row`` mapped over the rows of the
        zero-padded array.

    Returns:
      The padded array (of ``array``'s dtype; mean/median/ramp values are rounded to
      integers for integer arrays, as JAX).

    References:
      jax.numpy.pad; numpy.pad.
    """
    if isinstance(array, (list, tuple)):
        raise TypeError(f"pad requires ndarray or scalar arguments, got {type(array)} at "
                        f"position 0.")
    array = asarray(array)
    nd = len(shape_of(array))
    widths = _pairs(pad_width, nd, "pad_width")
    if not all(isinstance(w, (int, np.integer)) and not isinstance(w, (bool, np.bool_))
               for pair in widths for w in pair):
        raise TypeError("`pad_width` must be of integral type.")
    widths = tuple((int(lo), int(hi)) for lo, hi in widths)
    if callable(mode):
        return _pad_func(array, widths, mode, kwargs)
    if mode not in _ALLOWED_KWARGS:
        raise NotImplementedError(f"Unimplemented padding mode '{mode}' for np.pad.")
    unsupported = set(kwargs) - set(_ALLOWED_KWARGS[mode])
    if unsupported:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {unsupported}")
    stat_length = _static(kwargs.get("stat_length"), "stat_length")
    end_values = _static(kwargs.get("end_values", 0), "end_values")
    if nd == 0:
        return array
    if any(w < 0 for pair in widths for w in pair):
        raise ValueError("index can't contain negative values")
    if mode in _STAT_FUNCS:
        if stat_length is not None:
            stat_length = _pairs(stat_length, nd, "stat_length")
        return _pad_stats(array, widths, stat_length, _STAT_FUNCS[mode])
    if mode == "linear_ramp":
        return _pad_linear_ramp(array, widths, _pairs(end_values, nd, "end_values"))
    return _man.pad(array, widths, mode, **kwargs)
