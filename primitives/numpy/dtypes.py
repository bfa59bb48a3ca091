"""Scalar types and dtype logic (as jax.numpy).

``fnp.float32`` etc. behave like ``jnp.float32``: usable wherever a dtype is
expected (``np.dtype(fnp.float32) == np.float32``), and callable to make a 0-d
array (``fnp.float32(x)`` is ``fnp.asarray(x, fnp.float32)``, traced values
included). ``finfo``, ``iinfo``, ``issubdtype``, ``promote_types`` and
``can_cast`` are jax's own (pure dtype logic). ``result_type`` follows
jax.numpy promotion and accepts our traced arrays.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import jax
import ml_dtypes

from primitives.numpy._promote import canonicalize_dtype, dtype, result_type
from primitives.numpy.creation import asarray

__all__ = ["bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
           "bfloat16", "float16", "float32", "float64", "complex64", "complex128",
           "single", "double", "csingle", "cdouble", "int_", "uint", "float_", "complex_",
           "float8_e4m3fn", "float8_e5m2",
           "dtype", "result_type", "promote_types", "finfo", "iinfo", "issubdtype",
           "can_cast", "canonicalize_dtype",
           "number", "inexact", "floating", "complexfloating", "integer", "signedinteger",
           "unsignedinteger", "generic", "bool"]

# abstract scalar hierarchy (for issubdtype), as jnp re-exports numpy's
number, inexact, floating, complexfloating = np.number, np.inexact, np.floating, np.complexfloating
integer, signedinteger, unsignedinteger, generic = (np.integer, np.signedinteger,
                                                    np.unsignedinteger, np.generic)

finfo = jax.numpy.finfo
iinfo = jax.numpy.iinfo
issubdtype = jax.dtypes.issubdtype
promote_types = jax.numpy.promote_types
can_cast = jax.numpy.can_cast


class _ScalarMeta(type):
    """Metaclass of the scalar types: a dtype that is also a 0-d array constructor."""
    dtype: np.dtype

    @property
    def __numpy_dtype__(cls) -> np.dtype:
        return cls.dtype

    def __hash__(cls) -> int:
        return hash(cls.dtype.type)

    def __eq__(cls, other: Any) -> bool:
        return cls is other or cls.dtype.type == other

    def __ne__(cls, other: Any) -> bool:
        return not cls == other

    def __call__(cls, x):
        return asarray(x, dtype=cls.dtype)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls.dtype.type)


def _make_scalar_type(np_type) -> _ScalarMeta:
    name = np.dtype(np_type).name
    t = _ScalarMeta(name, (object,), {"dtype": np.dtype(np_type)})
    t.__module__ = "primitives.numpy"
    t.__doc__ = (f"As jnp.{name}: a dtype, and a constructor of 0-d {name} arrays "
                 f"(``{name}(x)`` is ``asarray(x, {name})``).")
    return t


bool_ = _make_scalar_type(np.bool_)
uint8 = _make_scalar_type(np.uint8)
uint16 = _make_scalar_type(np.uint16)
uint32 = _make_scalar_type(np.uint32)
uint64 = _make_scalar_type(np.uint64)
int8 = _make_scalar_type(np.int8)
int16 = _make_scalar_type(np.int16)
int32 = _make_scalar_type(np.int32)
int64 = _make_scalar_type(np.int64)
bfloat16 = _make_scalar_type(jax.dtypes.bfloat16)
float8_e4m3fn = _make_scalar_type(ml_dtypes.float8_e4m3fn)
float8_e5m2 = _make_scalar_type(ml_dtypes.float8_e5m2)
float16 = _make_scalar_type(np.float16)
float32 = single = _make_scalar_type(np.float32)
float64 = double = _make_scalar_type(np.float64)
complex64 = csingle = _make_scalar_type(np.complex64)
complex128 = cdouble = _make_scalar_type(np.complex128)
int_, uint, float_, complex_ = int64, uint64, float64, complex128
globals()["bool"] = bool_  # jnp.bool; set via globals() so this module never shadows builtins


