"""Whole-array comparisons (as jax.numpy): ``isclose``, ``allclose``,
``array_equal``, ``array_equiv``.

Example::

    >>> import primitives.numpy as fnp
    >>> bool(fnp.allclose(fnp.ones(3), fnp.ones(3) + 1e-9))
    True
"""
from __future__ import annotations

import numpy as np

import primitives as P
from fx.core import get_aval
from fx.dtypes import kind
from fx.errors import ShapeError
from primitives.numpy import math as _m, reductions as _red
from primitives.numpy._promote import promote
from primitives.numpy._util import shape_of
from primitives.numpy.creation import array, asarray

__all__ = ["isclose", "allclose", "array_equal", "array_equiv"]


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan: bool = False):
    """As jnp.isclose: ``|a - b| <= atol + rtol * |b|`` elementwise (or equal)."""
    a, b = promote(asarray(a), asarray(b))
    a, b = _m.promote_inexact(a, b)
    dtype = get_aval(a).dtype
    if kind(dtype) == "c":
        dtype = np.zeros((), dtype).real.dtype
    rtol = P.convert_element_type(asarray(rtol), dtype)
    atol = P.convert_element_type(asarray(atol), dtype)
    both_nan = _m.logical_and(_m.isnan(a), _m.isnan(b))
    in_range = _m.less_equal(_m.abs(_m.subtract(a, b)),
                             _m.add(atol, _m.multiply(rtol, _m.abs(b))))
    out = _m.logical_or(_m.equal(a, b), _m.logical_and(_m.isfinite(b), in_range))
    return _m.logical_or(out, both_nan) if equal_nan else out


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan: bool = False):
    """As jnp.allclose: ``all(isclose(...))``."""
    return _red.all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan: bool = False):
    """As jnp.array_equal: same shape and elements (a bool scalar)."""
    a1, a2 = asarray(a1), asarray(a2)
    if shape_of(a1) != shape_of(a2):
        return array(False, dtype=np.bool_)
    eq = _m.equal(a1, a2)
    if equal_nan:
        eq = _m.logical_or(eq, _m.logical_and(_m.isnan(a1), _m.isnan(a2)))
    return _red.all(eq)


def array_equiv(a1, a2):
    """As jnp.array_equiv: equal after broadcasting (False when they do not broadcast)."""
    a1, a2 = asarray(a1), asarray(a2)
    try:
        eq = _m.equal(a1, a2)
    except (ShapeError, ValueError):
        return array(False)
    return _red.all(eq)
