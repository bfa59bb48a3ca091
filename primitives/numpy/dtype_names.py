"""The narrow and exotic dtype names of jax.numpy, and ``isdtype``.

The sub-byte integers (``int4``, ``uint4``, ``int2``, ``uint2``, ``int1``,
``uint1``) and small floats (``float8_*``, ``float6_*``, ``float4_e2m1fn``)
are ml_dtypes' types wrapped like ``fnp.float32`` (a dtype, and a 0-d array
constructor), as jnp's. ``object_``, ``flexible`` and ``character`` are
numpy's abstract scalar types, as jnp re-exports them.

Example::

    >>> fnp.isdtype(fnp.int4, "integral")
    True
"""
from __future__ import annotations

import jax
import ml_dtypes
import numpy as np

from primitives.numpy.dtypes import _make_scalar_type

__all__ = ["int4", "uint4", "int2", "uint2", "int1", "uint1",
           "float8_e3m4", "float8_e4m3", "float8_e4m3b11fnuz", "float8_e4m3fnuz",
           "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn", "float6_e2m3fn",
           "float6_e3m2fn", "object_", "flexible", "character", "isdtype"]

int4, uint4 = _make_scalar_type(ml_dtypes.int4), _make_scalar_type(ml_dtypes.uint4)
int2, uint2 = _make_scalar_type(ml_dtypes.int2), _make_scalar_type(ml_dtypes.uint2)
int1, uint1 = _make_scalar_type(ml_dtypes.int1), _make_scalar_type(ml_dtypes.uint1)
float8_e3m4 = _make_scalar_type(ml_dtypes.float8_e3m4)
float8_e4m3 = _make_scalar_type(ml_dtypes.float8_e4m3)
float8_e4m3b11fnuz = _make_scalar_type(ml_dtypes.float8_e4m3b11fnuz)
float8_e4m3fnuz = _make_scalar_type(ml_dtypes.float8_e4m3fnuz)
float8_e5m2fnuz = _make_scalar_type(ml_dtypes.float8_e5m2fnuz)
float8_e8m0fnu = _make_scalar_type(ml_dtypes.float8_e8m0fnu)
float4_e2m1fn = _make_scalar_type(ml_dtypes.float4_e2m1fn)
float6_e2m3fn = _make_scalar_type(ml_dtypes.float6_e2m3fn)
float6_e3m2fn = _make_scalar_type(ml_dtypes.float6_e3m2fn)
object_, flexible, character = np.object_, np.flexible, np.character


def isdtype(dtype, kind):
    """Whether ``dtype`` is of ``kind`` (as jnp.isdtype, the array API).

    Args:
      dtype: a dtype (ours, jnp's or numpy's).
      kind: a dtype, a kind name ('bool', 'signed integer', 'unsigned integer',
        'integral', 'real floating', 'complex floating', 'numeric'), or a tuple.

    Returns:
      A Python bool.

    References:
      jax.numpy.isdtype; the array API standard.
    """
    def plain(d):
        return getattr(d, "dtype", d) if isinstance(getattr(d, "dtype", None), np.dtype) else d
    kinds = tuple(plain(k) for k in kind) if isinstance(kind, tuple) else plain(kind)
    return jax.numpy.isdtype(plain(dtype), kinds)
