"""dp.train: one compilation, plain SGD when noise and clipping are off, accounting,
learning, and typed errors for bad options."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optim
import primitives.nn as fnn
import primitives.numpy as fnp
import primitives.random as frandom
from transforms import jit
from optim import dp
from optim.dp import training
from dp_cases import fx_loss, jax_loss, mlp_batch, mlp_params

N, Q, STEPS, SIGMA, DELTA = 120, 0.1, 20, 1.1, 1e-5
DATA = mlp_batch(N, seed=3)


def _train(**kw):
    kw = {"l2_norm_clip": 1.0, "noise_multiplier": SIGMA, "sampling_rate": Q, "steps": STEPS,
          "key": frandom.PRNGKey(0), "progress": False, **kw}
    return dp.train(fx_loss, mlp_params(), optim.sgd(0.05), DATA, **kw)


@pytest.fixture(scope="module")
def noisy_run():
    """A 20-step noisy run whose jitted step is kept (spied on ``training.jit``)."""
    steps_made = []

    def spy(fun, **kw):
        steps_made.append(jit(fun, **kw))
        return steps_made[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, "jit", spy)
        params, history = _train(eval_fn=lambda p: {"b2": float(p["b2"][0]), "one": 1})
    return params, history, steps_made


def test_twenty_steps_compile_once(noisy_run):
    params, history, steps_made = noisy_run
    assert len(steps_made) == 1 and steps_made[0].traces == 1
    assert history[-1]["step"] == STEPS
    assert all(np.isfinite(v).all() for v in jax.tree.leaves(params))


def test_history_epsilon_is_the_accountants(noisy_run):
    params, history, _ = noisy_run
    assert [r["step"] for r in history] == list(range(2, STEPS + 1, 2))  # default: steps // 10
    for r in history:
        assert r["epsilon"] == dp.epsilon(r["step"], Q, SIGMA, DELTA)
        assert np.isfinite(r["loss"]) and 0 <= r["fraction_clipped"] <= 1
        assert r["one"] == 1.0 and "accuracy" not in r  # eval_fn's named metrics
    assert history[-1]["b2"] == float(params["b2"][0])
    eps = [r["epsilon"] for r in history]
    assert eps == sorted(eps) and len(set(eps)) == len(eps)


def test_pld_accounts_for_truncated_sampling():
    m, sigma = 16, 3.0  # m below suggested_max_batch_size(120, 0.1); sigma 3: fast PLD
    _, history = _train(steps=2, eval_every=1, accountant="pld", max_batch_size=m,
                        noise_multiplier=sigma)
    for r in history:
        assert r["epsilon"] == dp.epsilon(r["step"], Q, sigma, DELTA, "pld", dataset_size=N,
                                          max_batch_size=m)


@pytest.mark.parametrize("method", dp.METHODS)
def test_no_noise_no_clipping_is_sgd_on_the_poisson_batches(method):
    """sigma=0 and a huge clip: each step is SGD on
    f(p) = sum_i mask_i loss(p, x_{idx_i}) / (q N), i.e. the mean loss over the drawn
    examples scaled by (drawn / expected batch size), on the batches that
    poisson_batches draws from the first key of split(key) (jax is the oracle)."""
    lr, key = 0.05, frandom.PRNGKey(7)
    params, history = _train(noise_multiplier=0.0, l2_norm_clip=1e6, key=key, eval_every=1,
                             method=method)

    sampler = dp.poisson_batches(np.asarray(frandom.split(key)[0]), N, Q,
                                 dp.suggested_max_batch_size(N, Q), STEPS)

    def objective(p, idx, mask):
        per_ex = jax.vmap(jax_loss, in_axes=(None, 0))(p, jax.tree.map(lambda x: x[idx], DATA))
        return jnp.sum(jnp.where(mask, per_ex, 0.0)) / (Q * N), per_ex

    step = jax.jit(jax.value_and_grad(objective, has_aux=True))
    ref, losses = mlp_params(), []
    for idx, mask in sampler:
        (_, per_ex), g = step(ref, idx, mask)
        losses.append(float(jnp.mean(per_ex[mask])))
        ref = jax.tree.map(lambda w, gw: w - lr * gw, ref, g)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), params, ref)
    np.testing.assert_allclose([r["loss"] for r in history], losses, rtol=1e-5)
    assert [r["epsilon"] for r in history] == [float("inf")] * STEPS  # sigma 0: no privacy
    assert all(r["fraction_clipped"] == 0 for r in history)


def _separable(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(np.int32)
    x = rng.normal(size=(n, 2)).astype(np.float32) * 0.5 + np.where(y[:, None], 1.5, -1.5)
    return {"x": x.astype(np.float32), "y": y}


def _logistic_loss(p, ex):
    logp = fnn.log_softmax(ex["x"] @ p["w"] + p["b"])
    return -fnp.sum(logp * fnn.one_hot(ex["y"], 2))


def test_private_training_learns_a_separable_problem(capfd):
    data = _separable()
    accuracy = lambda p: float(np.mean(  # noqa: E731
        np.argmax(data["x"] @ np.asarray(p["w"]) + np.asarray(p["b"]), -1) == data["y"]))
    params = {"w": jnp.zeros((2, 2)), "b": jnp.zeros(2)}
    before = accuracy(params)
    trained, history = dp.train(_logistic_loss, params, optim.adam(0.1), data, l2_norm_clip=1.0,
                                noise_multiplier=1.0, sampling_rate=0.1, steps=30,
                                key=3, eval_fn=accuracy, eval_every=10)
    assert before < 0.6 and history[-1]["accuracy"] == accuracy(trained) >= 0.95
    assert [r["step"] for r in history] == [10, 20, 30]
    err = capfd.readouterr().err  # the tqdm bar
    assert "DP-SGD" in err and "30/30" in err and "epsilon=" in err and "accuracy=" in err


@pytest.mark.parametrize("kw, match", [
    (dict(sampling_rate=0.0), "sampling_rate must be in"),
    (dict(sampling_rate=-0.1), "sampling_rate must be in"),
    (dict(sampling_rate=1.5), "sampling_rate must be in"),
    (dict(steps=0), "steps must be a positive int"),
    (dict(steps=-3), "steps must be a positive int"),
    (dict(steps=2.5), "steps must be a positive int"),
    (dict(noise_multiplier=-1.0), "noise_multiplier must be"),
    (dict(eval_every=0), "eval_every must be"),
    (dict(accountant="moments"), "accountant must be one of"),
    (dict(max_batch_size=0), "max_batch_size must be a positive int"),
    (dict(max_batch_size=14), "accountant='pld'"),  # truncation RDP cannot account for
])
def test_bad_options_raise_dp_argument_error(kw, match):
    with pytest.raises(dp.DPArgumentError, match=match) as e:
        _train(**kw)
    assert "train:" in str(e.value)


def test_bad_delta_and_data():
    with pytest.raises(dp.DeltaError, match="delta must be in"):
        _train(delta=1.0)
    bad = {"x": DATA["x"], "y": DATA["y"][:-1]}
    with pytest.raises(dp.NotPerExampleLossError, match="same leading"):
        dp.train(fx_loss, mlp_params(), optim.sgd(0.1), bad, l2_norm_clip=1.0,
                 noise_multiplier=1.0, sampling_rate=Q, steps=2, key=0)
