"""Convergence as optax tests it: parabola and Rosenbrock, 10k steps of a step
function compiled by our ``jit`` (a Python loop of jitted steps; gradients by
our ``grad``), final params within 3e-2 of the optimum. Learning rates are
optax's test settings.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import optim
import primitives.numpy as fnp
from transforms import grad, jit

STEPS = 10_000


def parabola():
    target = jnp.array([1.0, -1.0, 1.0])
    return jnp.array([-1.0, 10.0, 1.0]), target, lambda p: fnp.sum((p - target) ** 2)


def rosenbrock():
    return (jnp.array([0.0, 0.0]), jnp.array([1.0, 1.0]),
            lambda p: (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2)


def matrix_parabola():
    target = jnp.array([[3.0, -2.0], [1.0, 4.0]])
    return jnp.zeros((2, 2)), target, lambda p: fnp.sum((p - target) ** 2)


OPTIMIZERS = [
    ("sgd_momentum", lambda: optim.sgd(1e-3, momentum=0.9)),
    ("momentum_nesterov", lambda: optim.momentum(1e-3, 0.9, nesterov=True)),
    ("adam", lambda: optim.adam(1e-1)),
    ("adamw", lambda: optim.adamw(1e-1)),
    ("nadam", lambda: optim.nadam(1e-2)),
    ("nadamw", lambda: optim.nadamw(1e-2)),
    ("radam", lambda: optim.radam(5e-3)),
    ("lion", lambda: optim.lion(1e-2, weight_decay=1e-4)),
    ("adafactor", lambda: optim.adafactor(5e-3)),
    ("muon", lambda: optim.muon(1e-2)),
    ("swa_adam", lambda: optim.swa(optim.adam(1e-1), start_step=STEPS // 2, every_n=10)),
    ("multisteps_adam", lambda: optim.MultiSteps(optim.adam(1e-1), 2)),
    ("inject_adam_cosine", lambda: optim.inject_hyperparams(optim.adam)(
        learning_rate=optim.warmup_cosine_decay_schedule(0.0, 0.1, 100, STEPS, 1e-3))),
]
PROBLEMS = [("parabola", parabola), ("rosenbrock", rosenbrock)]


def _train(tx, problem):
    params, target, loss = problem()
    state = tx.init(params)

    @jit
    def step(params, state):
        updates, state = tx.update(grad(loss)(params), state, params)
        return optim.apply_updates(params, updates), state

    for _ in range(STEPS):
        params, state = step(params, state)
    return params, state, target


@pytest.mark.parametrize("problem_name,problem", PROBLEMS, ids=[p[0] for p in PROBLEMS])
@pytest.mark.parametrize("name,make", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_converges(name, make, problem_name, problem):
    params, state, target = _train(make(), problem)
    np.testing.assert_allclose(np.asarray(params), np.asarray(target), rtol=3e-2, atol=3e-2)
    if name == "swa_adam":
        np.testing.assert_allclose(np.asarray(optim.swa_params(state)), np.asarray(target),
                                   rtol=3e-2, atol=3e-2)


def test_muon_converges_on_a_matrix():
    """The 2-D leaf goes through Newton-Schulz (not the AdamW fallback)."""
    params, _, target = _train(optim.muon(1e-2), matrix_parabola)
    np.testing.assert_allclose(np.asarray(params), np.asarray(target), rtol=3e-2, atol=3e-2)
