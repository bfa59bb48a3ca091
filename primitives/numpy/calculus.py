"""Discrete calculus on arrays (as jax.numpy): ``gradient`` (central
differences, one-sided at the edges), ``unwrap`` (phase unwrapping) and
``cumulative_prod`` (the array-API running product).

Example::

    >>> fnp.gradient(fnp.array([1.0, 2.0, 4.0, 7.0]))
    Array([1. , 1.5, 2.5, 3. ], dtype=float32)
"""
from __future__ import annotations

import numpy as np

import primitives as P
from fx.core import get_aval
from fx.dtypes import kind
from primitives.numpy import manipulation as _man, math as _m, reductions as _red
from primitives.numpy._promote import promote
from primitives.numpy._util import canonicalize_axis, shape_of
from primitives.numpy.creation import asarray
from primitives.numpy.sequences import diff

__all__ = ["gradient", "unwrap", "cumulative_prod"]


def _slice(a, start, stop, axis):
    idx = [slice(None)] * len(shape_of(a))
    idx[axis] = slice(start, stop)
    return a[tuple(idx)]


def _gradient_along_axis(a, h, axis):
    def sliced(start, stop):
        return _slice(a, start, stop, axis)
    upper = sliced(1, 2) - sliced(0, 1)
    lower = sliced(-1, None) - sliced(-2, -1)
    h_ndim = len(shape_of(h))
    if h_ndim == 0:
        inner = (sliced(2, None) - sliced(None, -2)) * 0.5 / h
        lower, upper = lower / h, upper / h
    elif h_ndim == 1:
        if shape_of(h)[0] != shape_of(a)[axis]:
            raise ValueError("Spacing arrays must have the same length as the dimension along "
                             "which the gradient is calculated.")
        h_shape = [1] * len(shape_of(a))
        h_shape[axis] = shape_of(h)[0]
        h = _man.reshape(h, tuple(h_shape))

        def sx(start, stop):
            return _slice(h, start, stop, axis)
        upper = upper / (sx(1, 2) - sx(0, 1))
        lower = lower / (sx(-1, None) - sx(-2, -1))
        dx1 = sx(1, -1) - sx(0, -2)
        dx2 = sx(2, None) - sx(1, -1)
        wa = -dx2 / (dx1 * (dx1 + dx2))
        wb = (dx2 - dx1) / (dx1 * dx2)
        wc = dx1 / (dx2 * (dx1 + dx2))
        inner = wa * sliced(0, -2) + wb * sliced(1, -1) + wc * sliced(2, None)
    else:
        raise ValueError("Spacing arrays must be 1D arrays or scalars.")
    return _man.concatenate([upper, inner, lower], axis=axis)


def gradient(f, *varargs, axis=None, edge_order=None):
    """The gradient of sampled values (as jnp.gradient).

    Args:
      f: the sampled values.
      *varargs: spacing: one scalar for all axes, or one scalar / coordinate
        array per axis.
      axis: the axes to differentiate along (default: all).
      edge_order: not supported (as JAX).

    Returns:
      One array per axis (a list), or the array for a single axis.

    References:
      jax.numpy.gradient; numpy.gradient.
    """
    if edge_order is not None:
        raise NotImplementedError("The 'edge_order' argument to jnp.gradient is not supported.")
    a, *spacing = _m.promote_inexact(asarray(f), *[asarray(v) for v in varargs])
    ndim = len(shape_of(a))
    if axis is None:
        axes = tuple(range(ndim))
    else:
        axes = tuple(canonicalize_axis(i, ndim, "gradient")
                     for i in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    if len(axes) == 0:
        return []
    if min(s for i, s in enumerate(shape_of(a)) if i in axes) < 2:
        raise ValueError("Shape of array too small to calculate a numerical gradient, at least "
                         "2 elements are required.")
    if len(spacing) == 0:
        dx = [asarray(1.0, get_aval(a).dtype)] * len(axes)
    elif len(spacing) == 1:
        dx = list(spacing) * len(axes)
    elif len(spacing) == len(axes):
        dx = list(spacing)
    else:
        raise TypeError(f"Invalid number of spacing arguments {len(spacing)} for axis={axis}")
    grads = [_gradient_along_axis(a, h, ax) for ax, h in zip(axes, dx)]
    return grads[0] if len(axes) == 1 else grads


def unwrap(p, discont=None, axis=-1, period=2 * np.pi):
    """Unwrap a phase signal by adding multiples of ``period`` (as jnp.unwrap).

    Args:
      p: the phases (real).
      discont: the largest jump kept as is (default ``period / 2``).
      axis: the axis along which to unwrap.
      period: the period of the signal.

    Returns:
      The unwrapped signal.

    References:
      jax.numpy.unwrap; numpy.unwrap.
    """
    p, period = promote(asarray(p), period)
    if kind(get_aval(p).dtype) == "c":
        raise ValueError("jnp.unwrap does not support complex inputs.")
    axis = canonicalize_axis(axis, len(shape_of(p)), "unwrap")
    if shape_of(p)[axis] == 0:
        return p
    if discont is None:
        discont = period / 2
    interval = period // 2 if kind(get_aval(p).dtype) in "iu" else period / 2
    dd = diff(p, axis=axis)
    ddmod = _m.mod(dd + interval, period) - interval
    ddmod = _m.where(_m.logical_and(ddmod == -interval, dd > 0), interval, ddmod)
    correct = _m.where(_m.abs(dd) < discont, 0, ddmod - dd)
    return _man.concatenate([_slice(p, 0, 1, axis),
                             _slice(p, 1, None, axis) + _red.cumsum(correct, axis=axis)],
                            axis=axis)


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """The running product along an axis (as jnp.cumulative_prod, array API).

    Args:
      x: a non-scalar array.
      axis: the axis (optional only for 1-D input).
      dtype: the accumulation and result dtype.
      include_initial: prepend the initial value 1.

    Returns:
      The running products (one longer along ``axis`` with ``include_initial``).

    References:
      jax.numpy.cumulative_prod; the array API standard.
    """
    x = asarray(x)
    ndim = len(shape_of(x))
    if ndim == 0:
        raise ValueError("The input must be non-scalar to take a cumulative product, however a "
                         "scalar value or scalar array was given.")
    if axis is None:
        if ndim > 1:
            raise ValueError(f"The input array has rank {ndim}, however axis was not set to an "
                             "explicit value. The axis argument is only optional for "
                             "one-dimensional arrays.")
        axis = 0
    axis = canonicalize_axis(axis, ndim, "cumulative_prod")
    out = _red._cumulative(P.cumprod, "cumulative_prod", x, axis, dtype)
    if include_initial:
        pad = [(0, 0, 0)] * ndim
        pad[axis] = (1, 0, 0)
        out = P.pad(out, np.ones((), get_aval(out).dtype), pad)
    return out
