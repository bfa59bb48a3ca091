"""Schedules vs optax (values at every step of a range, under our jit + vmap vs
jax.jit + jax.vmap), and the cyclical schedule vs a numpy port of
torch.optim.lr_scheduler.CyclicLR (torch is not a dependency: the port below
follows CyclicLR.get_lr line by line).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim
from optim_cases import rel_err
from transforms import jit, vmap

STEPS = jnp.arange(0, 260, dtype=jnp.int32)

SCHEDULES = [
    ("constant", lambda o: o.constant_schedule(0.3)),
    ("polynomial", lambda o: o.polynomial_schedule(1.0, 0.1, 2.0, 200, transition_begin=20)),
    ("linear", lambda o: o.linear_schedule(1.0, 0.0, 150)),
    ("piecewise_constant", lambda o: o.piecewise_constant_schedule(
        0.5, {30: 0.5, 90: 0.1, 200: 2.0})),
    ("exponential_decay", lambda o: o.exponential_decay(1.0, 40, 0.5, transition_begin=10)),
    ("exponential_staircase_end", lambda o: o.exponential_decay(1.0, 25, 0.5, staircase=True,
                                                                end_value=0.05)),
    ("cosine_decay", lambda o: o.cosine_decay_schedule(0.1, 200, alpha=0.1, exponent=2.0)),
    ("piecewise_interpolate", lambda o: o.piecewise_interpolate_schedule(
        "cosine", 1.0, {50: 0.5, 120: 0.1})),
    ("linear_onecycle", lambda o: o.linear_onecycle_schedule(250, 0.1)),
    ("cosine_onecycle", lambda o: o.cosine_onecycle_schedule(250, 0.1)),
    ("warmup_constant", lambda o: o.warmup_constant_schedule(0.0, 1.0, 30)),
    ("warmup_cosine_decay", lambda o: o.warmup_cosine_decay_schedule(0.0, 1.0, 30, 200, 0.05)),
    ("warmup_exponential_decay", lambda o: o.warmup_exponential_decay_schedule(
        0.0, 1.0, 30, 20, 0.7, end_value=0.1)),
    ("sgdr", lambda o: o.sgdr_schedule([
        dict(init_value=0.0, peak_value=1.0, warmup_steps=10, decay_steps=100),
        dict(init_value=0.0, peak_value=0.5, warmup_steps=10, decay_steps=80, end_value=0.01)])),
]


@pytest.mark.parametrize("name,make", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedule_matches_optax(name, make):
    ours, theirs = make(optim), make(optax)
    got = jit(vmap(lambda c: ours(c) * jnp.ones((), jnp.float32)))(STEPS)
    expected = jax.jit(jax.vmap(lambda c: theirs(c) * jnp.ones((), jnp.float32)))(STEPS)
    assert got.dtype == expected.dtype
    assert rel_err(got, expected) <= 1e-6, name
    for step in (0, 37):  # eager, at a Python int and at an int32 scalar
        np.testing.assert_allclose(np.asarray(ours(jnp.int32(step))), np.asarray(theirs(step)),
                                   rtol=1e-6)


# --- a numpy port of torch.optim.lr_scheduler.CyclicLR (get_lr), the oracle ---
def torch_cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down, mode, gamma):
    total = float(step_size_up + (step_size_down if step_size_down is not None else step_size_up))
    ratio = step_size_up / total
    cycle = math.floor(1 + step / total)
    x = 1.0 + step / total - cycle
    scale_factor = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    height = (max_lr - base_lr) * scale_factor
    if mode == "triangular":
        return base_lr + height * 1.0
    if mode == "triangular2":
        return base_lr + height * (1 / (2.0 ** (cycle - 1)))
    return base_lr + height * gamma ** step  # exp_range scales by iterations


@pytest.mark.parametrize("mode,down,gamma", [("triangular", None, 1.0), ("triangular2", 7, 1.0),
                                             ("exp_range", 15, 0.995)])
def test_cyclical_matches_torch_cyclic_lr(mode, down, gamma):
    sched = optim.cyclical_schedule(0.01, 0.1, step_size_up=10, step_size_down=down, mode=mode,
                                    gamma=gamma)
    got = np.asarray(jit(vmap(sched))(STEPS[:120]))
    expected = np.array([torch_cyclic_lr(int(s), 0.01, 0.1, 10, down, mode, gamma)
                         for s in range(120)])
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-8)


def test_schedules_are_learning_rates():
    """A schedule goes wherever a number does: optimizer lr, weight decay, chain."""
    sched = optim.cosine_decay_schedule(0.1, 10)
    params = {"w": jnp.ones((2, 2))}
    for tx in (optim.adamw(sched, weight_decay=sched), optim.sgd(sched, momentum=0.9),
               optim.chain(optim.scale_by_adam(), optim.scale_by_learning_rate(sched))):
        state = tx.init(params)
        updates, state = jit(tx.update)(params, state, params)
        assert updates["w"].shape == (2, 2)
