"""The one place that decides what kind of number a dtype holds.

numpy's ``dtype.kind`` says ``'V'`` for the ml_dtypes types (bfloat16, the
float8 / float4 families, int4 / uint4), so every "is this a float?" question
goes through :func:`kind`, which answers as ``jax.dtypes.issubdtype`` does:
bfloat16 and every float8 are ``'f'``, int4 is ``'i'``, uint4 ``'u'``.
Differentiability follows JAX: inexact (floating or complex) values have
tangents; integer and boolean values have float0 tangents.

Example::

    >>> kind(np.dtype(ml_dtypes.float8_e4m3fn)), is_float(np.dtype(np.int32))
    ('f', False)

References:
    ``jax.dtypes.issubdtype``; JAX's ``float0`` (tangents of integer values).
"""
from __future__ import annotations

import numpy as np
import jax

__all__ = ["kind", "is_float", "is_complex", "is_integer", "is_bool", "is_float0", "float0",
           "float0_zeros", "to_inexact_dtype", "to_numeric_dtype", "FLOAT", "INT", "BOOL", "NUMBER", "INT_OR_BOOL", "ANY"]

float0 = np.dtype(jax.dtypes.float0)

# kind sets accepted by ``primitives._rules.check_kind`` (letters of :func:`kind`)
FLOAT = "fc"         # inexact (float and complex)
INT = "iu"
BOOL = "b"
NUMBER = "iufc"
INT_OR_BOOL = "iub"
ANY = "iufcbV"

_KIND_CACHE: dict = {}


def kind(dtype) -> str:
    """numpy's kind letter of ``dtype``, with the ml_dtypes types classified as
    jax does: 'f' for bfloat16 / float8 / float4, 'i' / 'u' for int4 / uint4;
    'V' is left only for float0 and true void types."""
    k = _KIND_CACHE.get(dtype)
    if k is None:
        dt = np.dtype(dtype)
        k = dt.kind
        if k == "V" and dt != float0:
            for letter, base in (("f", np.floating), ("c", np.complexfloating),
                                 ("u", np.unsignedinteger), ("i", np.signedinteger)):
                if jax.dtypes.issubdtype(dt, base):
                    k = letter
                    break
        _KIND_CACHE[dtype] = k
    return k


def to_inexact_dtype(dtype) -> np.dtype:
    """The inexact dtype jax.numpy computes integer/bool values in (jax's
    ``to_inexact_dtype``): float32 for bool and integers up to 32 bits,
    float64 for 64-bit integers (narrowed to float32 by the caller's
    canonicalization unless x64 is on); inexact dtypes unchanged."""
    dt = np.dtype(dtype)
    if kind(dt) in "iub":
        return np.dtype(np.float64 if dt.itemsize == 8 else np.float32)
    return dt


def to_numeric_dtype(dtype) -> np.dtype:
    """bool -> int32 (as jax's ``to_numeric_dtype``, with or without x64)."""
    dt = np.dtype(dtype)
    return np.dtype(np.int32) if dt == np.bool_ else dt


def _dtype_of(x):
    return x if isinstance(x, (np.dtype, type, str)) else getattr(x, "dtype", x)


def is_float(x) -> bool:
    """Inexact (floating or complex, ml_dtypes floats included): the values that
    have tangents. ``x`` is a dtype, an aval or an array."""
    return kind(_dtype_of(x)) in FLOAT


def is_complex(x) -> bool:
    return kind(_dtype_of(x)) == "c"


def is_integer(x) -> bool:
    return kind(_dtype_of(x)) in INT


def is_bool(x) -> bool:
    return kind(_dtype_of(x)) == "b"


def is_float0(x) -> bool:
    return np.dtype(_dtype_of(x)) == float0


def float0_zeros(aval) -> np.ndarray:
    """The tangent / cotangent JAX gives integer and boolean values: float0 zeros."""
    return np.zeros(aval.shape, dtype=float0)
