"""Elementwise primitives (as jax.lax): one block per primitive, all its rules below it.

Example::

    >>> import primitives as P
    >>> P.sin(1.0)   # eager: runs at once, returns a jax.Array
"""
from __future__ import annotations

from jax import lax

from fx.core import Primitive
__all__ = ["add", "mul", "sin", "lt", "convert_element_type", "convert_element_type_p", "add_p", "mul_p", "sin_p", "lt_p"]

from primitives._rules import (FLOAT, NUMBER, ANY, INT_OR_BOOL, standard_unop,
                               standard_naryop, compare_aval)

# --- add ---
add_p = standard_naryop("add", NUMBER, lax.add)


def add(x, y):
    """Elementwise x + y (lax.add: equal dtypes; weak Python scalars adopt the other's)."""
    return add_p.bind(x, y)


# --- mul ---
mul_p = standard_naryop("mul", NUMBER, lax.mul)


def mul(x, y):
    """Elementwise x * y (lax.mul)."""
    return mul_p.bind(x, y)


# --- sin ---
sin_p = standard_unop("sin", FLOAT, lax.sin)


def sin(x):
    """Elementwise sine (lax.sin)."""
    return sin_p.bind(x)


# --- lt ---
lt_p = standard_naryop("lt", NUMBER, lax.lt, aval_rule=compare_aval)


def lt(x, y):
    """Elementwise x < y, boolean result (lax.lt)."""
    return lt_p.bind(x, y)


# --- convert_element_type ---
convert_element_type_p = Primitive("convert_element_type")


@convert_element_type_p.def_abstract_eval
def _convert_aval(x, *, new_dtype, weak_type=False):
    return x.update(dtype=new_dtype, weak_type=weak_type)


@convert_element_type_p.def_lowering
def _convert_lowering(x, *, new_dtype, weak_type=False):
    return lax.convert_element_type(x, new_dtype)


def convert_element_type(x, new_dtype, weak_type=False):
    """Cast ``x`` to ``new_dtype`` (lax.convert_element_type); float->int truncates."""
    import numpy as np
    from fx.core import canonical_dtype
    return convert_element_type_p.bind(x, new_dtype=canonical_dtype(np.dtype(new_dtype)),
                                       weak_type=bool(weak_type))
