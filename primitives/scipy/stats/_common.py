"""Shared imports of the distribution modules (each one small file, as jax.scipy.stats)."""
from __future__ import annotations

import numpy as np

import primitives as P
import primitives.numpy as fnp
from primitives.numpy.math import promote_inexact
from primitives.scipy import special
from primitives.scipy._promote import const, promote_args_inexact

__all__ = ["np", "P", "fnp", "special", "const", "promote_args_inexact", "promote_inexact", "nan_like", "inf_like"]


def nan_like(x):
    """A nan of ``x``'s dtype (jnp.where's ``np.nan`` operand, kept in x's dtype)."""
    return const(x, np.nan)


def inf_like(x, sign=1):
    """``sign * inf`` of ``x``'s dtype."""
    return const(x, sign * np.inf)
