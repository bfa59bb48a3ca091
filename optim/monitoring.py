"""Recording measurements of the updates in the optimizer state: ``snapshot``,
``monitor`` and ``measure_with_ema``, as optax's. The updates pass through unchanged.

Example::

    >>> tx = optim.chain(optim.snapshot("grad_norm", optim.global_norm), optim.adam(1e-3))
    >>> # after an update: state[0].measurement["grad_norm"]
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

from optim.accumulation import ema
from optim.base import (GradientTransformation, GradientTransformationExtraArgs, check_state,
                        stateless, with_extra_args_support)
from optim.combine import chain

__all__ = ["SnapshotState", "snapshot", "MonitorState", "monitor", "measure_with_ema"]


class SnapshotState(NamedTuple):
    """``{measure_name: measure(last updates)}`` (``measure(params)`` after init)."""
    measurement: dict


def snapshot(measure_name: str, measure: Callable[[Any], Any]) -> GradientTransformation:
    """Store ``measure(updates)`` in the state under ``measure_name``."""
    def init_fn(params):
        return SnapshotState({measure_name: measure(params)})

    def update_fn(updates, state, params=None):
        check_state(state, SnapshotState, "snapshot")
        del params
        return updates, SnapshotState({measure_name: measure(updates)})
    return GradientTransformation(init_fn, update_fn)


class MonitorState(NamedTuple):
    """The last measurements by name, and the measures' own states."""
    measurements: dict
    measure_states: tuple


def monitor(measures: dict) -> GradientTransformationExtraArgs:
    """Store several measurements of the updates: each measure is a function
    ``updates -> value`` or a transformation whose output updates are the
    measurement (e.g. :func:`measure_with_ema`). The state starts with no measurements."""
    txs = {}
    for name, m in measures.items():
        if callable(m):
            m = stateless(lambda u, _, m=m: m(u))
        txs[name] = with_extra_args_support(m)
    names = tuple(txs)

    def init_fn(params):
        return MonitorState({}, tuple(txs[n].init(params) for n in names))

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, MonitorState, "monitor")
        measurements, new_states = {}, []
        for name, s in zip(names, state.measure_states):
            measurements[name], s = txs[name].update(updates, s, params, **extra_args)
            new_states.append(s)
        return updates, MonitorState(measurements, tuple(new_states))
    return GradientTransformationExtraArgs(init_fn, update_fn)


def measure_with_ema(measure: Callable[[Any], Any], decay, debias: bool = True,
                     accumulator_dtype=None) -> GradientTransformationExtraArgs:
    """A transformation whose output is the EMA of ``measure(updates)`` (for :func:`monitor`)."""
    base_ema = ema(decay, debias, accumulator_dtype)
    measurement_ema = base_ema._replace(init=lambda params: base_ema.init(measure(params)))
    return chain(stateless(lambda updates, _: measure(updates)), measurement_ema)
