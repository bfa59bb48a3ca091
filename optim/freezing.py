"""Freezing parameters: ``freeze`` and ``selective_transform``, as optax's."""
from __future__ import annotations

from typing import Any, Union

from jax import tree_util

from optim.base import set_to_zero
from optim.combine import masked, partition

__all__ = ["freeze", "selective_transform"]


def freeze(mask: Union[bool, Any]):
    """Zero the updates of the leaves where ``mask`` is True (a tree of bools
    shaped like the params, or a prefix of it); chain it after an optimizer."""
    return masked(set_to_zero(), mask)


def selective_transform(optimizer, *, freeze_mask: Union[bool, Any]):
    """Apply ``optimizer`` to the leaves where ``freeze_mask`` is False and zero
    the others (whose optimizer state is then not allocated)."""
    def label_fn(params):
        del params
        return tree_util.tree_map(lambda m: "freeze" if m else "train", freeze_mask)
    return partition({"train": optimizer, "freeze": set_to_zero()}, param_labels=label_fn)
