"""Argument checks shared by the losses (optax's ``utils.check_*``), and the
axis handling they share.

Shapes and dtypes are static, so every check runs while tracing and raises the
same error class as optax (``TypeError`` for a dtype, ``ValueError`` for a
shape or rank).
"""
from __future__ import annotations

import operator

import numpy as np

import primitives.numpy as fnp

__all__ = ["check_floating", "check_integer", "check_shapes_equal", "check_rank",
           "normalize_axis", "normalize_axes", "axes_size"]


def _check_subdtype(x, kind, what: str) -> None:
    dtype = fnp.result_type(x)
    if not fnp.issubdtype(dtype, kind):
        raise TypeError(f"Expected the input to have a dtype that is a subdtype of {what}, "
                        f"got {dtype} instead")


def check_floating(*arrays) -> None:
    """Raise ``TypeError`` unless every array has a floating dtype."""
    for x in arrays:
        _check_subdtype(x, fnp.floating, "floating")


def check_integer(*arrays) -> None:
    """Raise ``TypeError`` unless every array has an integer dtype."""
    for x in arrays:
        _check_subdtype(x, fnp.integer, "integer")


def check_shapes_equal(a, b) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape (no broadcasting)."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"Shape mismatch: got {np.shape(a)} and {np.shape(b)}.")


def check_rank(x, rank: int) -> None:
    """Raise ``ValueError`` unless ``x`` has rank ``rank``."""
    if np.ndim(x) != rank:
        raise ValueError(f"Expected the input to have rank {rank}, got {np.ndim(x)} instead")


def normalize_axis(axis, ndim: int) -> int:
    """``axis`` as a non-negative index into ``ndim`` dimensions (``ValueError`` if out of
    range)."""
    axis = operator.index(axis)
    if -ndim <= axis < ndim:
        return axis % ndim
    raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")


def normalize_axes(axes, ndim: int) -> tuple[int, ...]:
    """Each of ``axes`` through :func:`normalize_axis`."""
    return tuple(normalize_axis(a, ndim) for a in axes)


def axes_size(shape, axis) -> int:
    """The number of elements along ``axis`` (int, tuple or None for all) of ``shape``."""
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return int(np.prod([shape[normalize_axis(a, len(shape))] for a in axes], dtype=np.int64))
