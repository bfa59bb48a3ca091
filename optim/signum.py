"""Signum (sign of the momentum), as ``optax.signum``.

References:
    Bernstein et al., 2018: signSGD: Compressed Optimisation for Non-Convex Problems.
"""
from __future__ import annotations

from optim.accumulation import ema
from optim.combine import chain
from optim.scale import scale_by_learning_rate, scale_by_sign

__all__ = ["signum"]


def signum(learning_rate, beta=0.9, accumulator_dtype=None):
    """``-learning_rate * sign(m)`` with ``m`` the (not debiased) EMA of the gradients."""
    return chain(ema(beta, debias=False, accumulator_dtype=accumulator_dtype), scale_by_sign(),
                 scale_by_learning_rate(learning_rate))
