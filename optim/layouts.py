"""``flatten``: run a transformation on all leaves concatenated into one vector, as optax's."""
from __future__ import annotations

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from optim.base import (GradientTransformationExtraArgs, check_transformation,
                        with_extra_args_support)

__all__ = ["flatten"]


def _flat(tree):
    return fnp.concatenate([fnp.reshape(x, (-1,)) for x in tree_util.tree_leaves(tree)])


def _unflat(like, flat):
    leaves, treedef = tree_util.tree_flatten(like)
    offsets = np.cumsum([int(np.size(x)) for x in leaves])[:-1]
    parts = fnp.split(flat, [int(o) for o in offsets])
    return tree_util.tree_unflatten(treedef, [fnp.reshape(p, np.shape(x))
                                              for p, x in zip(parts, leaves)])


def flatten(inner) -> GradientTransformationExtraArgs:
    """Apply ``inner`` to the concatenation of all leaves (one 1-D array, of the
    leaves' promoted dtype) and split its output back into the tree; efficient
    for trees of many small leaves. As in optax, the updates keep the promoted
    dtype (a bf16 leaf in an f32 tree gets f32 updates)."""
    check_transformation(inner, "flatten(inner)")
    inner = with_extra_args_support(inner)

    def init_fn(params):
        return inner.init(_flat(params))

    def update_fn(updates, state, params=None, **extra_args):
        flat_params = None if params is None else _flat(params)
        flat_updates, state = inner.update(_flat(updates), state, flat_params, **extra_args)
        return _unflat(updates, flat_updates), state
    return GradientTransformationExtraArgs(init_fn, update_fn)
