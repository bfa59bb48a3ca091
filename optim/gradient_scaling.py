"""``scale_gradient``: identity forward, gradient times ``scale`` backward, as optax's."""
from __future__ import annotations

from jax import tree_util

from primitives import stop_gradient
from transforms import custom_vjp

__all__ = ["scale_gradient"]


@custom_vjp
def _scale_gradient(inputs, scale):
    del scale
    return inputs


def _fwd(inputs, scale):
    return inputs, scale


def _bwd(scale, g):
    return tree_util.tree_map(lambda x: x * scale, g), None


_scale_gradient.defvjp(_fwd, _bwd)


def scale_gradient(inputs, scale):
    """Return ``inputs`` unchanged, multiplying gradients flowing back through
    them by ``scale`` (0 stops them, 1 is the identity). Under our ``grad``."""
    if scale == 1.0:
        return inputs
    if scale == 0.0:
        return tree_util.tree_map(stop_gradient, inputs)
    return _scale_gradient(inputs, scale)
