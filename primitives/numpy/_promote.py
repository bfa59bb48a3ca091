"""Dtype promotion as jax.numpy does it (weak-typed Python scalars included).

We reuse jax's promotion lattice (``jax.dtypes.result_type``) rather than
writing tables; results are cached per (dtype, weak) signature.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import jax

from fx.dtypes import kind
from fx.core import Tracer, canonical_dtype, get_aval
from primitives.elementwise import convert_element_type

__all__ = ["promote", "result_type_of", "dtype_of"]

_PY = (bool, int, float, complex)


def _sig(x):
    t = type(x)
    if t in _PY:
        return t
    if isinstance(x, Tracer):
        a = x.aval
        return (a.dtype, a.weak_type)
    dt = getattr(x, "dtype", None)
    if dt is None:
        a = get_aval(x)
        return (a.dtype, a.weak_type)
    return (np.dtype(dt), bool(getattr(x, "weak_type", False)))


class _WeakProxy:
    """A weak-typed value of ``dtype`` for jax.dtypes.result_type (which reads
    ``x.aval.weak_type``, so the proxy is its own aval)."""
    __slots__ = ("dtype", "weak_type")

    def __init__(self, dtype):
        self.dtype = dtype
        self.weak_type = True

    @property
    def aval(self):
        return self


@lru_cache(maxsize=4096)
def _result(sigs, x64: bool):
    """(x64 is part of the key: jax canonicalizes Python scalars by it.)"""
    del x64
    args = []
    for s in sigs:
        if isinstance(s, tuple):
            dtype, weak = s
            args.append(_WeakProxy(dtype) if weak else dtype)
        else:
            args.append(s)
    dtype, weak = jax.dtypes.result_type(*args, return_weak_type_flag=True)
    return np.dtype(dtype), weak


def result_type_of(*args):
    """(dtype, weak_type) jax.numpy would give ``args`` combined."""
    return _result(tuple(_sig(a) for a in args), bool(jax.config.jax_enable_x64))


def dtype_of(x) -> np.dtype:
    return _result((_sig(x),), bool(jax.config.jax_enable_x64))[0]


_KIND_PY = {"b": bool, "i": int, "u": int, "f": float, "c": complex}


def promote(*args):
    """Convert ``args`` to their common jax.numpy dtype.

    Python scalars stay Python scalars (weak literals) when the result is weak,
    else become numpy scalars of the result dtype. Arrays of another dtype get a
    ``convert_element_type``.
    """
    try:  # fast path: all arrays of one dtype (weakness cannot change the dtype then)
        d0 = args[0].dtype
        for a in args[1:]:
            if a.dtype != d0:
                break
        else:
            return args
    except AttributeError:
        pass
    sigs = tuple(_sig(a) for a in args)
    dtype, weak = _result(sigs, bool(jax.config.jax_enable_x64))
    out = []
    for a, s in zip(args, sigs):
        if not isinstance(s, tuple):  # Python scalar
            if weak:
                out.append(_KIND_PY[kind(dtype)](a))
            else:
                out.append(np.asarray(a, dtype))
        elif s[0] != dtype or s[1] != weak:
            out.append(a if s[0] == dtype else convert_element_type(a, dtype, weak_type=weak))
        else:
            out.append(a)
    return out


# --- dtype-likes (jnp.dtype, jnp.result_type) ---------------------------------------
def canonicalize_dtype(dt) -> np.dtype:
    """The dtype jax stores for a user dtype (``float`` -> float32 unless x64 is on)."""
    return canonical_dtype(np.dtype(dt))


def dtype(x) -> np.dtype:
    """As jnp.dtype: the (canonical) dtype of a dtype-like, array, tracer or Python scalar."""
    if x is None:
        raise TypeError("dtype(None) is not allowed (as jnp.dtype).")
    if isinstance(x, (type, str, np.dtype)):
        return canonicalize_dtype(x)
    return dtype_of(x)


def _dtype_like_sig(x):
    """The promotion signature of a dtype-like or value (see _promote)."""
    if isinstance(x, (type, str, np.dtype)) and not (isinstance(x, type) and x in _PY):
        return (canonicalize_dtype(x), False)
    if isinstance(x, type):  # the Python types int/float/bool/complex: weak
        return x
    return _sig(x)


def result_type(*args, return_weak_type_flag: bool = False):
    """As jnp.result_type: the jax.numpy promotion of dtypes, arrays (traced
    included) and Python scalars (weakly typed)."""
    if not args:
        raise ValueError("at least one array or dtype is required (as jnp.result_type).")
    dt, weak = _result(tuple(_dtype_like_sig(a) for a in args), bool(jax.config.jax_enable_x64))
    return (dt, weak) if return_weak_type_flag else dt
