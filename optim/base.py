"""The optax protocol: GradientTransformation(init, update), states, apply_updates.

An optimizer is a pair of pure functions::

    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    params = optim.apply_updates(params, updates)

States are NamedTuples of arrays (pytrees), so they pass through ``jit``,
``grad``, ``vmap`` and checkpoints unchanged. Our transformations are duck-type
compatible with optax's: an ``optim`` transformation can sit in
``optax.chain`` and an optax transformation in :func:`optim.chain` (with jax
arrays: optax's own code cannot run on fxjax tracers).

Example::

    >>> import optim, primitives.numpy as fnp
    >>> tx = optim.adam(1e-3)
    >>> params = {"w": fnp.ones((3, 2))}
    >>> state = tx.init(params)
    >>> updates, state = tx.update({"w": fnp.ones((3, 2))}, state, params)
    >>> params = optim.apply_updates(params, updates)

References:
    optax (DeepMind): ``optax._src.base`` defines the protocol we follow.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple, Optional, Protocol, Union

from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.errors import MissingParamsError, NotATransformationError, TreeMismatchError

__all__ = ["GradientTransformation", "GradientTransformationExtraArgs", "EmptyState",
           "TransformInitFn", "TransformUpdateFn", "Schedule", "ScalarOrSchedule",
           "init_empty_state", "identity", "set_to_zero", "stateless", "stateless_with_tree_map",
           "with_extra_args_support", "apply_updates", "check_transformation", "require_params",
           "is_schedule", "static_hyperparams", "check_state"]

PyTree = Any
Params = Any
Updates = Any
OptState = Any


class Schedule(Protocol):
    """A schedule maps a step count (int32 scalar) to a value (e.g. the learning rate)."""
    def __call__(self, count) -> Any: ...


ScalarOrSchedule = Union[float, Any, Schedule]


class TransformInitFn(Protocol):
    """``init(params) -> state``: builds the initial state from example params."""
    def __call__(self, params: Params) -> OptState: ...


class TransformUpdateFn(Protocol):
    """``update(updates, state, params=None) -> (updates, state)``."""
    def __call__(self, updates: Updates, state: OptState,
                 params: Optional[Params] = None) -> tuple[Updates, OptState]: ...


def check_state(state, cls: type, who: str) -> None:
    """Raise TreeMismatchError unless ``state`` is a ``cls`` (or a NamedTuple with
    its fields, e.g. optax's own state of the same transformation): the state
    of another optimizer, or of another position in a chain, was passed."""
    if getattr(state, "_fields", None) != cls._fields:
        raise TreeMismatchError(
            f"{who}.update got a state of type {type(state).__name__}, but its init makes a "
            f"{cls.__name__} {cls._fields}: the state belongs to another optimizer (or to "
            f"another position of a chain). Fix: pass the state returned by this "
            f"optimizer's init (or by its last update).")


class GradientTransformation(NamedTuple):
    """A pair of pure functions ``(init, update)``: an optimizer or a piece of one.

    Attributes:
      init: ``params -> state``.
      update: ``(updates, state, params=None) -> (updates, state)``.
    """
    init: TransformInitFn
    update: TransformUpdateFn


class GradientTransformationExtraArgs(GradientTransformation):
    """A GradientTransformation whose ``update`` also accepts ``**extra_args``
    (e.g. ``value=loss``), ignoring those it does not use."""


class EmptyState(NamedTuple):
    """The state of a stateless transformation."""


def init_empty_state(params: Params) -> EmptyState:
    del params
    return EmptyState()


def identity() -> GradientTransformation:
    """Leaves updates unchanged."""
    def update_fn(updates, state, params=None):
        del params
        return updates, state
    return GradientTransformation(init_empty_state, update_fn)


def set_to_zero() -> GradientTransformation:
    """Maps updates to zeros (freezes the parameters it is applied to)."""
    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(fnp.zeros_like, updates), state
    return GradientTransformation(init_empty_state, update_fn)


def stateless(f: Callable[[Updates, Optional[Params]], Updates]) -> GradientTransformation:
    """A transformation from ``f(updates, params) -> updates`` (no state)."""
    def update_fn(updates, state, params=None):
        del state
        return f(updates, params), EmptyState()
    return GradientTransformation(init_empty_state, update_fn)


def stateless_with_tree_map(f: Callable[[Any, Any], Any]) -> GradientTransformation:
    """A stateless transformation from a per-leaf ``f(update, param_or_None)``."""
    def update_fn(updates, state, params=None):
        del state
        if params is not None:
            return otree.tree_map(f, updates, params, names=("updates", "params")), EmptyState()
        return tree_util.tree_map(lambda u: f(u, None), updates), EmptyState()
    return GradientTransformation(init_empty_state, update_fn)


def check_transformation(tx, where: str) -> None:
    """Raise NotATransformationError unless ``tx`` has callable init and update.

    Args:
      tx: what the user passed.
      where: the call and argument, for the message (e.g. ``"chain argument 0"``).
    """
    if callable(getattr(tx, "init", None)) and callable(getattr(tx, "update", None)):
        return
    if callable(tx):
        got = (f"the function {getattr(tx, '__name__', type(tx).__name__)!r}, which looks like "
               f"a schedule (step -> value)")
        fix = ("A schedule is a learning rate, not a transformation: pass it as "
               "`learning_rate=` of an optimizer (optim.adam(schedule)), or wrap it with "
               "optim.scale_by_schedule(schedule) / optim.scale_by_learning_rate(schedule).")
    else:
        got = f"{type(tx).__name__} {tx!r:.60}"
        fix = ("Pass a GradientTransformation such as optim.adam(1e-3), "
               "optim.scale(-0.1) or an optax transformation.")
    raise NotATransformationError(
        f"{where} must be a GradientTransformation (an object with init and update), "
        f"got {got}.\n{fix}")


def _accepts_extra_args(update) -> bool:
    try:
        params = inspect.signature(update).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def with_extra_args_support(tx) -> GradientTransformationExtraArgs:
    """Wrap ``tx`` so its update accepts (and, if it cannot use them, drops) extra args.

    Works on any ``(init, update)`` object, optax's included: an update that
    takes ``**kwargs`` receives the extra args, others do not.
    """
    check_transformation(tx, "the transformation")
    if isinstance(tx, GradientTransformationExtraArgs):
        return tx
    if _accepts_extra_args(tx.update):
        return GradientTransformationExtraArgs(tx.init, tx.update)

    def update(updates, state, params=None, **extra_args):
        del extra_args
        return tx.update(updates, state, params)
    return GradientTransformationExtraArgs(tx.init, update)


def static_hyperparams(*names: str):
    """Mark arguments of an optimizer factory that shape the computation (loop
    counts, which leaves get factored): ``inject_hyperparams`` keeps them static
    instead of moving them into the state as arrays."""
    def mark(factory):
        factory.static_hyperparams = tuple(names)
        return factory
    return mark


def require_params(params, name: str) -> None:
    if params is None:
        raise MissingParamsError(
            f"{name} reads the current parameters, but update() was called without them. "
            f"Call tx.update(grads, state, params).")


def is_schedule(x) -> bool:
    """A schedule is a callable that is not a transformation."""
    if callable(getattr(x, "init", None)) and callable(getattr(x, "update", None)):
        return False
    return callable(x)


def apply_updates(params: Params, updates: Updates) -> Params:
    """``params + updates`` leaf-wise, keeping each parameter's dtype.

    Raises:
      TreeMismatchError: the two trees have different structures.
      ShapeError: a leaf of updates has another shape than its parameter.
    """
    otree.check_match(params, updates, ("params", "updates"),
                      "Pass the updates returned by tx.update for these params.")
    otree.check_same_shapes(updates, params)
    return tree_util.tree_map(
        lambda p, u: None if p is None else fnp.asarray(p + u).astype(fnp.asarray(p).dtype),
        params, updates, is_leaf=otree.is_none)
