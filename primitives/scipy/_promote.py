"""Argument promotion of the jax.scipy functions (jax's ``promote_args_inexact``)."""
from __future__ import annotations

from fx.core import Tracer, get_aval
from primitives.numpy.creation import asarray
from fx.dtypes import kind
from primitives.numpy._util import broadcast_arrays
from primitives.numpy.math import _const, promote_inexact

__all__ = ["promote_args_inexact", "const"]

const = _const  # ``value`` like ``x`` (jax's lax._const: keeps weak types as jax does)


def promote_args_inexact(name: str, *args) -> list:
    """The arguments in one inexact dtype (integers and bools to the default
    float, Python scalars kept weak) and broadcast to one shape, as jax does.

    Raises:
      ValueError: complex inputs (the jax.scipy functions ported here are real-only).
    """
    args = [a if type(a) is float or isinstance(a, Tracer) else asarray(a)  # numpy -> jax,
            for a in promote_inexact(*args)]                               # as JAX does
    for a in args:
        if type(a) is not float and kind(get_aval(a).dtype) == "c":
            raise ValueError(f"{name} does not support complex-valued inputs (as in JAX).")
    return broadcast_arrays(*args, op=name) if len(args) > 1 else list(args)
