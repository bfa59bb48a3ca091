"""``inject_hyperparams``: hyperparameters as optimizer state.

Numeric hyperparameters (learning rate, betas, weight decay, ...) move into
``state.hyperparams`` as arrays, so they can be read, changed between steps,
scheduled, differentiated (meta-learning) and batched with ``vmap`` (a
population of learning rates trained in one program).

Example::

    >>> opt = optim.inject_hyperparams(optim.adam)(learning_rate=1e-3)
    >>> state = opt.init(params)
    >>> state.hyperparams["learning_rate"] = fnp.asarray(3e-4)   # change it
    >>> # vmap over 8 learning rates:
    >>> def run(lr):
    ...     s = opt.init(params); s.hyperparams["learning_rate"] = lr
    ...     return opt.update(grads, s, params)[0]
    >>> transforms.vmap(run)(fnp.linspace(1e-4, 1e-2, 8))
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Iterable, NamedTuple, Union

import numpy as np

import primitives.numpy as fnp
from fx import Tracer
from optim import tree as otree
from optim.base import check_state, GradientTransformationExtraArgs, is_schedule, with_extra_args_support

__all__ = ["InjectHyperparamsState", "inject_hyperparams"]


class InjectHyperparamsState(NamedTuple):
    """Step count, the current hyperparameter values, and the inner state."""
    count: Any  # int32[]
    hyperparams: dict
    inner_state: Any


def _is_numeric(value) -> bool:
    return isinstance(value, (int, float, np.ndarray, np.generic, Tracer)) or \
        (hasattr(value, "shape") and hasattr(value, "dtype"))


def _convert_floats(x, dtype):
    """Floating values (Python floats, weak-typed arrays) to ``dtype``; others unchanged."""
    if hasattr(x, "dtype") and not getattr(x, "weak_type", False) and not isinstance(x, np.ndarray):
        return x
    current = x.dtype if hasattr(x, "dtype") else type(x)
    if fnp.issubdtype(current, np.floating):
        return fnp.asarray(x, dtype=dtype)
    return x


def inject_hyperparams(inner_factory: Callable[..., Any],
                       static_args: Union[str, Iterable[str]] = (),
                       hyperparam_dtype=None) -> Callable[..., GradientTransformationExtraArgs]:
    """Wrap an optimizer factory so its numeric hyperparameters live in the state.

    Args:
      inner_factory: e.g. ``optim.adam``; called anew at every update with the
        current hyperparameter values.
      static_args: names of arguments kept as Python values (callables that are not
        schedules, ints that shape the computation). Arguments the factory marks
        with ``optim.base.static_hyperparams`` (muon's ``ns_steps``, adafactor's
        ``min_dim_size_to_factor``) are static without being listed.
      hyperparam_dtype: dtype of float hyperparameters (default: the params' highest dtype).

    Returns:
      A factory with ``inner_factory``'s signature whose arguments may also be
      schedules; its state is :class:`InjectHyperparamsState`.
    """
    static_args = {static_args} if isinstance(static_args, str) else set(static_args)
    static_args |= set(getattr(inner_factory, "static_hyperparams", ()))
    signature = inspect.signature(inner_factory)
    if not static_args <= set(signature.parameters):
        raise ValueError(f"static_args {sorted(static_args)} must name parameters of "
                         f"{getattr(inner_factory, '__name__', inner_factory)}: "
                         f"{sorted(signature.parameters)}")

    @functools.wraps(inner_factory)
    def wrapped(*args, **kwargs) -> GradientTransformationExtraArgs:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        schedules, numeric, other = {}, {}, {}
        for name, value in bound.arguments.items():
            if name in static_args or isinstance(value, (bool, type)):  # type: a dtype
                other[name] = value
            elif is_schedule(value):
                schedules[name] = value
            elif _is_numeric(value):
                numeric[name] = value
            else:
                other[name] = value

        def dtype_for(params):
            return hyperparam_dtype if hyperparam_dtype is not None else otree.dtype(params)

        def init_fn(params):
            dtype = dtype_for(params)
            hparams = {k: fnp.asarray(_convert_floats(v, dtype)) for k, v in numeric.items()}
            count = fnp.zeros([], fnp.int32)
            hparams.update({k: _convert_floats(f(count), dtype) for k, f in schedules.items()})
            inner_state = inner_factory(**other, **hparams).init(params)
            return InjectHyperparamsState(count=count, hyperparams=hparams, inner_state=inner_state)

        def update_fn(updates, state, params=None, **extra_args):
            check_state(state, InjectHyperparamsState, "inject_hyperparams")
            dtype = dtype_for(params)
            hparams = {k: _convert_floats(v, dtype) for k, v in state.hyperparams.items()}
            hparams.update({k: _convert_floats(f(state.count), dtype)
                            for k, f in schedules.items()})
            inner = with_extra_args_support(inner_factory(**other, **hparams))
            updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
            return updates, InjectHyperparamsState(count=otree.safe_increment(state.count),
                                                   hyperparams=hparams, inner_state=inner_state)
        return GradientTransformationExtraArgs(init_fn, update_fn)
    return wrapped
