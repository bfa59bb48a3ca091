"""``optim.projections``: Euclidean projections onto convex sets, as ``optax.projections``.

Each takes a pytree and returns the nearest point (in the L2 sense, all leaves
together) of the set: boxes, the non-negative orthant, the simplex, L1/L2/L∞
balls and spheres, a vector's span, a hyperplane and a half-space. Use them
for projected gradient descent::

    >>> params = optim.apply_updates(params, updates)
    >>> params = optim.projections.projection_non_negative(params)
"""
from __future__ import annotations

from typing import Any

import numpy as np
from jax import tree_util

import primitives
import primitives.nn as pnn
import primitives.numpy as fnp
from optim import tree as otree
from optim import tree_utils as otu
from transforms import custom_jvp

__all__ = ["projection_box", "projection_halfspace", "projection_hypercube",
           "projection_hyperplane", "projection_l1_ball", "projection_l1_sphere",
           "projection_l2_ball", "projection_l2_sphere", "projection_linf_ball",
           "projection_non_negative", "projection_simplex", "projection_vector"]


def projection_non_negative(tree: Any) -> Any:
    """``max(x, 0)`` leaf-wise."""
    return tree_util.tree_map(pnn.relu, tree)


def projection_box(tree: Any, lower: Any, upper: Any) -> Any:
    """``clip(x, lower, upper)``; ``lower``/``upper`` are trees shaped like ``tree``
    (or scalars when ``tree`` is a single array)."""
    return tree_util.tree_map(fnp.clip, tree, lower, upper)


def projection_hypercube(tree: Any, scale: Any = 1) -> Any:
    """Onto ``[0, scale]`` element-wise."""
    return projection_box(tree, lower=0, upper=scale)


@custom_jvp
def _unit_simplex(values):
    """Onto ``{x >= 0, sum(x) = 1}`` (a 1-D array), by sorting (Held et al.)."""
    n = values.shape[0]
    u = fnp.flip(fnp.sort(values))
    cumsum_u = fnp.cumsum(u)
    ind = fnp.arange(n) + 1
    idx = fnp.count_nonzero(1 / ind + (u - cumsum_u / ind) > 0)
    threshold = primitives.dynamic_slice(cumsum_u, (idx - 1,), (1,))[0]
    return pnn.relu(1 / idx + (values - threshold / idx))


@_unit_simplex.defjvp
def _unit_simplex_jvp(primals, tangents):
    (values,), (values_dot,) = primals, tangents
    out = _unit_simplex(values)
    supp = out > 0
    card = fnp.count_nonzero(supp)
    return out, supp * values_dot - (fnp.dot(supp, values_dot) / card) * supp


def _ravel(tree):
    """All leaves in one 1-D array (of their promoted dtype) and its inverse
    (``jax.flatten_util.ravel_pytree``'s dtype rules)."""
    leaves, treedef = tree_util.tree_flatten(tree)
    dtypes = [np.dtype(fnp.asarray(x).dtype) for x in leaves]
    shapes = [np.shape(x) for x in leaves]
    common = otree.dtype(tree) if leaves else np.dtype(np.float32)
    flat = fnp.concatenate([fnp.reshape(fnp.asarray(x).astype(common), (-1,)) for x in leaves])
    sizes = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]

    uniform = len(set(dtypes)) <= 1   # as jax's ravel_pytree: cast back only mixed dtypes

    def unravel(v):
        parts = fnp.split(v, [int(s) for s in sizes])
        return tree_util.tree_unflatten(treedef, [
            fnp.reshape(p, s) if uniform else fnp.reshape(p, s).astype(d)
            for p, s, d in zip(parts, shapes, dtypes)])
    return flat, unravel


def projection_simplex(tree: Any, scale=1) -> Any:
    """Onto ``{x >= 0, sum of all elements = scale}``."""
    values, unravel = _ravel(tree)
    return unravel(scale * _unit_simplex(values / scale))


def projection_l1_sphere(tree: Any, scale=1) -> Any:
    """Onto ``{||x||_1 = scale}``."""
    abs_proj = projection_simplex(tree_util.tree_map(fnp.abs, tree), scale)
    return otu.tree_mul(tree_util.tree_map(fnp.sign, tree), abs_proj)


def projection_l1_ball(tree: Any, scale=1) -> Any:
    """Onto ``{||x||_1 <= scale}``."""
    l1 = otu.tree_norm(tree, ord=1)
    return primitives.cond(l1 <= scale, lambda t: t,
                           lambda t: projection_l1_sphere(t, scale), tree)


def projection_l2_sphere(tree: Any, scale=1) -> Any:
    """Onto ``{||x||_2 = scale}``."""
    return otu.tree_scale(scale / otu.tree_norm(tree), tree)


def projection_l2_ball(tree: Any, scale=1) -> Any:
    """Onto ``{||x||_2 <= scale}``."""
    sq = otu.tree_norm(tree, squared=True)
    return otu.tree_scale(scale / fnp.sqrt(fnp.maximum(sq, scale ** 2)), tree)


def projection_linf_ball(tree: Any, scale=1) -> Any:
    """Onto ``{||x||_inf <= scale}``."""
    return projection_box(tree, lower=otu.tree_full_like(tree, -scale),
                          upper=otu.tree_full_like(tree, scale))


def projection_vector(x: Any, a: Any) -> Any:
    """Onto the span of ``a``."""
    return otu.tree_scale(otu.tree_vdot(x, a) / otu.tree_vdot(a, a), a)


def projection_hyperplane(x: Any, a: Any, b) -> Any:
    """Onto ``{<a, x> = b}``."""
    scalar = (b - otu.tree_vdot(x, a)) / otu.tree_vdot(a, a)
    return otu.tree_add_scale(x, scalar, a)


def projection_halfspace(x: Any, a: Any, b) -> Any:
    """Onto ``{<a, x> <= b}``."""
    scalar = (b - otu.tree_vdot(x, a)) / otu.tree_vdot(a, a)
    return otu.tree_add_scale(x, fnp.minimum(scalar, 0), a)
