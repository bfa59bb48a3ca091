"""Combining transformations: ``chain``, ``named_chain``, ``masked``, ``partition``.

``chain`` accepts any ``(init, update)`` object, optax's included, and passes
extra keyword arguments only to those whose ``update`` takes ``**kwargs``.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Mapping, NamedTuple, Union

import numpy as np
from jax import tree_util

from optim import tree as otree
from optim.base import (check_state, GradientTransformationExtraArgs, check_transformation,
                        with_extra_args_support)
from optim.errors import MaskError, TreeMismatchError

__all__ = ["chain", "named_chain", "MaskedState", "MaskedNode", "masked", "PartitionState",
           "partition", "multi_transform"]


# --- chain ---
def chain(*args) -> GradientTransformationExtraArgs:
    """Apply transformations in sequence; the state is the tuple of their states.

    Args:
      *args: GradientTransformations (ours or optax's).

    Raises:
      NotATransformationError: an argument is not a transformation (e.g. a schedule).

    Example::

        >>> tx = optim.chain(optim.clip_by_global_norm(1.0), optim.scale_by_adam(),
        ...                  optim.scale_by_learning_rate(1e-3))
    """
    for i, tx in enumerate(args):
        check_transformation(tx, f"chain argument {i}")
    transforms = [with_extra_args_support(t) for t in args]

    def init_fn(params):
        return tuple(t.init(params) for t in transforms)

    def update_fn(updates, state, params=None, **extra_args):
        if not isinstance(state, tuple) or len(state) != len(transforms):
            got = f"length {len(state)}" if isinstance(state, tuple) else type(state).__name__
            raise TreeMismatchError(
                f"a chain of {len(transforms)} transformations got a state of {got}. Pass the "
                f"state returned by this chain's init (or by its last update).")
        new_state = []
        for s, t in zip(state, transforms):
            updates, s = t.update(updates, s, params, **extra_args)
            new_state.append(s)
        return updates, tuple(new_state)
    return GradientTransformationExtraArgs(init_fn, update_fn)


def named_chain(*args: tuple[str, Any]) -> GradientTransformationExtraArgs:
    """Like :func:`chain`, with a state dict keyed by the given names."""
    names = [n for n, _ in args]
    for name, tx in args:
        check_transformation(tx, f"named_chain entry {name!r}")
    transforms = {n: with_extra_args_support(t) for n, t in args}

    def init_fn(params):
        return {n: t.init(params) for n, t in transforms.items()}

    def update_fn(updates, state, params=None, **extra_args):
        new_state = {}
        for n in names:
            updates, new_state[n] = transforms[n].update(updates, state[n], params, **extra_args)
        return updates, new_state
    return GradientTransformationExtraArgs(init_fn, update_fn)


# --- masked ---
class MaskedState(NamedTuple):
    """The inner state, holding entries only for the unmasked leaves."""
    inner_state: Any


class MaskedNode(NamedTuple):
    """Stands in for a masked-out leaf: a pytree node with no children, so tree
    maps skip it."""


def _resolve_mask(mask, tree, what: str):
    """The mask as a tree of Python bools that is a prefix of ``tree``."""
    mask_tree = mask(tree) if callable(mask) and not isinstance(mask, (dict, list, tuple)) else mask
    try:
        tree_util.tree_structure(mask_tree).flatten_up_to(tree)
    except (ValueError, TypeError):
        raise MaskError(
            otree.describe_mismatch(mask_tree, tree, (what, "params")) +
            f"\nThe {what} must have the structure of the params (or of a prefix of it), with a "
            f"bool at each leaf, e.g. jax.tree.map(lambda p: p.ndim > 1, params), or be a "
            f"function params -> such a tree.") from None

    def to_bool(m):
        if isinstance(m, (bool, np.bool_)) or (np.ndim(m) == 0 and np.asarray(m).dtype == bool):
            return bool(m)
        raise MaskError(f"{what} leaves must be Python bools (static), got {m!r:.60}. "
                        f"Build the mask from shapes or names, not from array values.")
    try:
        return tree_util.tree_map(to_bool, mask_tree)
    except MaskError:
        raise
    except Exception:
        raise MaskError(f"{what} leaves must be Python bools (static); a traced array cannot "
                        f"select which leaves a transformation sees.") from None


def _mask_tree(tree, mask_tree):
    return tree_util.tree_map(lambda m, p: p if m else MaskedNode(), mask_tree, tree)


def masked(inner, mask: Union[Any, Callable[[Any], Any]], *,
           mask_compatible_extra_args: bool = False) -> GradientTransformationExtraArgs:
    """Apply ``inner`` only to the leaves where ``mask`` is True; pass the others through.

    Args:
      inner: the transformation to apply.
      mask: a tree of bools with the params' structure (or a prefix of it), or a
        function params -> such a tree. Must be static (Python bools).
      mask_compatible_extra_args: also mask extra args shaped like the params.

    Raises:
      MaskError: the mask does not fit the params tree or has non-bool leaves.

    Example::

        >>> decay = optim.masked(optim.add_decayed_weights(1e-4),
        ...                      lambda p: jax.tree.map(lambda x: x.ndim > 1, p))
    """
    check_transformation(inner, "masked(inner)")
    inner = with_extra_args_support(inner)

    def mask_extra(extra_args, updates, mask_tree):
        if not mask_compatible_extra_args:
            return extra_args
        structure = tree_util.tree_structure(updates)
        return {k: _mask_tree(v, mask_tree) if tree_util.tree_structure(v) == structure else v
                for k, v in extra_args.items()}

    def init_fn(params):
        mask_tree = _resolve_mask(mask, params, "mask")
        return MaskedState(inner_state=inner.init(_mask_tree(params, mask_tree)))

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, MaskedState, "masked")
        mask_tree = _resolve_mask(mask, updates, "mask")
        masked_params = None if params is None else _mask_tree(params, mask_tree)
        new_masked, inner_state = inner.update(_mask_tree(updates, mask_tree), state.inner_state,
                                               masked_params,
                                               **mask_extra(extra_args, updates, mask_tree))
        new_updates = tree_util.tree_map(lambda m, new, old: new if m else old, mask_tree,
                                         new_masked, updates)
        return new_updates, MaskedState(inner_state=inner_state)
    return GradientTransformationExtraArgs(init_fn, update_fn)


# --- partition ---
class PartitionState(NamedTuple):
    """One inner state per label."""
    inner_states: Mapping[Hashable, Any]


def partition(transforms: Mapping[Hashable, Any], param_labels, *,
              mask_compatible_extra_args: bool = False) -> GradientTransformationExtraArgs:
    """Apply a different transformation to each group of parameters.

    Args:
      transforms: label -> transformation.
      param_labels: a tree of labels with the params' structure (or a prefix of
        it), or a function params -> such a tree.
      mask_compatible_extra_args: as in :func:`masked`.

    Raises:
      MaskError: a label has no transformation, or the label tree does not fit.

    Example::

        >>> tx = optim.partition({"adam": optim.adam(1e-3), "sgd": optim.sgd(1e-2)},
        ...                      {"w": "adam", "b": "sgd"})
    """
    for k, tx in transforms.items():
        check_transformation(tx, f"partition transforms[{k!r}]")
    transforms = {k: with_extra_args_support(v) for k, v in transforms.items()}

    def labels_of(tree):
        labels = param_labels(tree) if callable(param_labels) else param_labels
        missing = set(tree_util.tree_leaves(labels)) - set(transforms)
        if missing:
            raise MaskError(f"parameter labels {sorted(map(str, missing))} have no transformation; "
                            f"transforms has keys {sorted(map(str, transforms))}. Add a "
                            f"transformation for each label (optim.set_to_zero() to freeze).")
        return labels

    def group(tx, labels, name):
        return masked(tx, tree_util.tree_map(lambda label: label == name, labels),
                      mask_compatible_extra_args=mask_compatible_extra_args)

    def init_fn(params):
        labels = labels_of(params)
        return PartitionState({name: group(tx, labels, name).init(params)
                               for name, tx in transforms.items()})

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, PartitionState, "partition")
        labels = labels_of(updates)
        new_inner = {}
        for name, tx in transforms.items():
            updates, new_inner[name] = group(tx, labels, name).update(
                updates, state.inner_states[name], params, **extra_args)
        return updates, PartitionState(new_inner)
    return GradientTransformationExtraArgs(init_fn, update_fn)


multi_transform = partition
