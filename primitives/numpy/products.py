"""Batched vector products (as jax.numpy, numpy 2): ``vecdot``, ``vecmat``,
``matvec``, each one broadcasting ``matmul`` (a single dot_general).

``vecdot`` and ``vecmat`` conjugate their first argument, as numpy and JAX.

Example::

    >>> fnp.matvec(fnp.eye(2), fnp.array([1.0, 2.0]))
    Array([1., 2.], dtype=float32)
"""
from __future__ import annotations

from fx.core import get_aval
from fx.dtypes import kind
from primitives.numpy import linalg_ops as _lo, manipulation as _man, math as _m
from primitives.numpy._promote import promote
from primitives.numpy._util import shape_of
from primitives.numpy.creation import asarray

__all__ = ["vecdot", "vecmat", "matvec"]


def _conj(x):
    return _m.conj(x) if kind(get_aval(x).dtype) == "c" else x


def _check(x1, x2, op, s1, s2):
    if len(shape_of(x1)) < s1 or len(shape_of(x2)) < s2:
        raise ValueError(f"{op}: operands have too few dimensions: shapes {shape_of(x1)} and "
                         f"{shape_of(x2)}")


def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    """The conjugated dot product of vectors along ``axis``, broadcast (as jnp.vecdot).

    Args:
      x1, x2: arrays with equal length along ``axis``; other axes broadcast.
      axis: the contracted axis.
      precision, preferred_element_type: passed to the dot_general.

    Returns:
      ``sum(conj(x1) * x2, axis)``.

    References:
      jax.numpy.vecdot; numpy.vecdot.
    """
    x1, x2 = asarray(x1), asarray(x2)
    if shape_of(x1)[axis] != shape_of(x2)[axis]:
        raise ValueError(f"axes must match; got shapes {shape_of(x1)} and {shape_of(x2)} with "
                         f"axis={axis}")
    x1, x2 = promote(_man.moveaxis(x1, axis, -1), _man.moveaxis(x2, axis, -1))
    return _lo.matmul(_conj(x1)[..., None, :], x2[..., :, None], precision=precision,
                      preferred_element_type=preferred_element_type)[..., 0, 0]


def vecmat(x1, x2, /):
    """Conjugated vector times matrix, broadcast over batch axes (as jnp.vecmat).

    Args:
      x1: ``[..., n]`` vectors.
      x2: ``[..., n, m]`` matrices.

    Returns:
      ``[..., m]``.

    References:
      jax.numpy.vecmat; numpy.vecmat.
    """
    x1, x2 = promote(asarray(x1), asarray(x2))
    _check(x1, x2, "vecmat", 1, 2)
    return _lo.matmul(_conj(x1)[..., None, :], x2)[..., 0, :]


def matvec(x1, x2, /):
    """Matrix times vector, broadcast over batch axes (as jnp.matvec).

    Args:
      x1: ``[..., n, m]`` matrices.
      x2: ``[..., m]`` vectors.

    Returns:
      ``[..., n]``.

    References:
      jax.numpy.matvec; numpy.matvec.
    """
    x1, x2 = promote(asarray(x1), asarray(x2))
    _check(x1, x2, "matvec", 2, 1)
    return _lo.matmul(x1, x2[..., :, None])[..., 0]
