"""Constants and predicates (as jax.numpy): ``pi``, ``inf``, ``newaxis``,
``ndarray``; ``ndim``/``shape``/``size``, ``isscalar``, ``iscomplexobj``,
``astype``, ``copy``, ``broadcast_shapes``.

Example::

    >>> import primitives.numpy as fnp
    >>> fnp.ndim(fnp.zeros((2, 3))), fnp.broadcast_shapes((2, 1), (3,))
    (2, (2, 3))
"""
from __future__ import annotations

import builtins

import numpy as np
import jax

import primitives as P
from fx.core import Tracer, canonical_dtype, get_aval
from primitives.numpy import _util
from primitives.numpy.creation import asarray

__all__ = ["pi", "e", "inf", "nan", "newaxis", "euler_gamma", "ndarray", "ndim", "shape", "size",
           "isscalar", "iscomplexobj", "isrealobj", "iterable", "astype", "copy",
           "broadcast_shapes", "ComplexWarning"]

pi = np.pi
e = np.e
inf = np.inf
nan = np.nan
newaxis = None
euler_gamma = np.euler_gamma
ndarray = jax.Array  # our tracers register as jax.Array (see _jax_array)
ComplexWarning = np.exceptions.ComplexWarning  # warned when complex values are cast to real


def ndim(a) -> int:
    """As jnp.ndim: the number of axes (static, also of traced values)."""
    return len(_util.shape_of(a))


def shape(a) -> tuple:
    """As jnp.shape: the (static) shape."""
    return _util.shape_of(a)


def size(a, axis: int | None = None) -> int:
    """As jnp.size: the number of elements, or the length of ``axis``."""
    s = _util.shape_of(a)
    if axis is None:
        return int(np.prod(s, dtype=np.int64))
    return s[_util.canonicalize_axis(axis, len(s), "size")]


def isscalar(element) -> builtins.bool:
    """As jnp.isscalar: Python/numpy scalars and 0-d arrays are scalars."""
    if np.isscalar(element):
        return True
    if isinstance(element, (np.ndarray, jax.Array, Tracer)):
        return len(_util.shape_of(element)) == 0
    if getattr(element, "__jax_array__", None) is not None:
        return ndim(asarray(element)) == 0
    return False


def iscomplexobj(x) -> builtins.bool:
    """As jnp.iscomplexobj: whether ``x``'s dtype is complex."""
    if isinstance(x, (complex, np.complexfloating)):
        return True
    if x is None or isinstance(x, (builtins.bool, int, float, str, np.generic)):
        return False
    dt = getattr(x, "dtype", None)
    if dt is None:
        dt = get_aval(asarray(x)).dtype
    return np.issubdtype(dt, np.complexfloating)


def isrealobj(x) -> builtins.bool:
    """As jnp.isrealobj: ``not iscomplexobj(x)``."""
    return not iscomplexobj(x)


def iterable(y) -> builtins.bool:
    """As jnp.iterable (np.iterable): whether ``iter(y)`` works."""
    return np.iterable(y)


def astype(x, dtype, /, *, copy: builtins.bool = False, device=None):
    """As jnp.astype: ``x`` cast to ``dtype`` (strongly typed). ``copy`` and
    ``device`` are accepted and ignored (arrays are immutable; one device)."""
    del copy, device
    x = asarray(x)
    if dtype is None:
        dtype = canonical_dtype(np.float64)
    dtype = canonical_dtype(np.dtype(dtype))
    aval = get_aval(x)
    if aval.dtype == dtype and not aval.weak_type:
        return x
    if aval.dtype.kind == "c" and dtype == np.bool_:  # x != 0, as jnp (not the real part's)
        return P.ne(x, np.zeros((), aval.dtype))
    return P.convert_element_type(x, dtype, weak_type=False)


def copy(a, order: str | None = None):
    """As jnp.copy (arrays are immutable: an array equal to ``a``)."""
    del order
    return asarray(a)


def broadcast_shapes(*shapes) -> tuple:
    """As jnp.broadcast_shapes: the numpy broadcast of static shapes."""
    if not shapes:
        return ()
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    return _util.broadcast_shapes(*shapes, op="broadcast_shapes")
