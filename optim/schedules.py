"""``optim.schedules``: the schedules and hyperparameter injection, as ``optax.schedules``.

The same objects as the top-level names (``optim.schedules.cosine_decay_schedule
is optim.cosine_decay_schedule``), plus our ``cyclical_schedule`` and
``swa_lr_schedule``.
"""
import warnings

from optim.base import Schedule
from optim.hyperparams import InjectHyperparamsState, inject_hyperparams
from optim.schedule import (constant_schedule, polynomial_schedule, linear_schedule,
                            piecewise_constant_schedule, exponential_decay, cosine_decay_schedule,
                            piecewise_interpolate_schedule, linear_onecycle_schedule,
                            cosine_onecycle_schedule, warmup_constant_schedule,
                            warmup_cosine_decay_schedule, warmup_exponential_decay_schedule,
                            sgdr_schedule, join_schedules, cyclical_schedule)
from optim.averaging import swa_lr_schedule

__all__ = ["Schedule", "InjectHyperparamsState", "inject_hyperparams", "constant_schedule",
           "polynomial_schedule", "linear_schedule", "piecewise_constant_schedule",
           "exponential_decay", "cosine_decay_schedule", "piecewise_interpolate_schedule",
           "linear_onecycle_schedule", "cosine_onecycle_schedule", "warmup_constant_schedule",
           "warmup_cosine_decay_schedule", "warmup_exponential_decay_schedule", "sgdr_schedule",
           "join_schedules", "cyclical_schedule", "swa_lr_schedule",
           "inject_stateful_hyperparams"]


def inject_stateful_hyperparams(inner_factory, static_args=(), hyperparam_dtype=None):
    """Deprecated in optax 0.2.8 (a DeprecationWarning): :func:`inject_hyperparams`.

    Our schedules are functions of the step count, so the state is an
    ``InjectHyperparamsState`` (optax's ``InjectStatefulHyperparamsState`` adds
    a counter per schedule, ``hyperparams_states``)."""
    warnings.warn("inject_stateful_hyperparams is deprecated, use inject_hyperparams instead",
                  DeprecationWarning, stacklevel=2)
    return inject_hyperparams(inner_factory, static_args, hyperparam_dtype)
