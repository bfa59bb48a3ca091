"""SWA vs torch.optim.swa_utils semantics.

torch is not a dependency (and not installed in CI), so the oracle is a
float32 numpy port of the parts we match, written from torch's source:
``AveragedModel.update_parameters`` (CPU path: ``avg + (p - avg) / (n + 1)``,
first snapshot copied; EMA as ``lerp(avg, p, 1 - decay)``) and ``SWALR.get_lr``
(including its recursive recovery of the initial lr). The training loop is
torch's documented one: optimizer step, then ``update_parameters`` and
``swa_scheduler.step()`` once past ``swa_start``.
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

import optim
from optim_cases import rel_err
from transforms import jit

STEPS, SWA_START, EVERY_N, BASE_LR, SWA_LR, ANNEAL = 40, 12, 3, 0.1, 0.02, 8


class TorchSWALRPort:
    """torch.optim.swa_utils.SWALR for one param group (get_lr verbatim)."""

    def __init__(self, lr, swa_lr, anneal_epochs, anneal_strategy):
        self.lr, self.swa_lr, self.anneal_epochs = lr, swa_lr, anneal_epochs
        self.anneal = ((lambda t: (1 - math.cos(math.pi * t)) / 2) if anneal_strategy == "cos"
                       else (lambda t: t))
        self.step_count = 0
        self.step()  # LRScheduler.__init__ performs one step

    def step(self):
        self.step_count += 1
        step = self.step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal(prev_t)
        prev_lr = (self.swa_lr if prev_alpha == 1
                   else (self.lr - prev_alpha * self.swa_lr) / (1 - prev_alpha))
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal(t)
        self.lr = self.swa_lr * alpha + prev_lr * (1 - alpha)


def torch_port_run(p0, grads_of, mode, strategy, ema_decay=0.9):
    """SGD + AveragedModel + SWALR as torch's SWA tutorial loop; returns (params, avg, lrs)."""
    p, avg, n, lr, swalr, lrs = p0.copy(), p0.copy(), 0, BASE_LR, None, []
    for t in range(STEPS):
        if t == SWA_START:
            swalr = TorchSWALRPort(lr, SWA_LR, ANNEAL, strategy)
        lr = swalr.lr if swalr else BASE_LR
        lrs.append(lr)
        p = (p - np.float32(lr) * grads_of(p, t)).astype(np.float32)
        if t >= SWA_START and (t - SWA_START) % EVERY_N == 0:
            if n == 0:
                avg = p.copy()
            elif mode == "swa":
                avg = avg + (p - avg) / np.float32(n + 1)
            else:
                avg = avg + np.float32(1 - ema_decay) * (p - avg)
            n += 1
        if swalr is not None:
            swalr.step()
    return p, avg, np.array(lrs)


def _grads_of(rng_seed=0):
    noise = np.random.default_rng(rng_seed).normal(size=(STEPS, 5, 3)).astype(np.float32)
    target = np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3)
    return lambda p, t: (np.tanh(p - target) + 0.5 * noise[t]).astype(np.float32)


@pytest.mark.parametrize("mode,strategy", [("swa", "cos"), ("ema", "linear")])
def test_swa_matches_torch_semantics(mode, strategy):
    grads_of = _grads_of()
    p0 = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    expected_p, expected_avg, expected_lrs = torch_port_run(p0, grads_of, mode, strategy)

    lr = optim.swa_lr_schedule(BASE_LR, SWA_LR, SWA_START, ANNEAL, strategy)
    tx = optim.swa(optim.sgd(lr), start_step=SWA_START, every_n=EVERY_N, mode=mode, ema_decay=0.9)
    update = jit(tx.update)
    params = {"w": jnp.asarray(p0)}
    state = tx.init(params)
    for t in range(STEPS):
        updates, state = update({"w": jnp.asarray(grads_of(np.asarray(params["w"]), t))}, state,
                                params)
        params = optim.apply_updates(params, updates)

    np.testing.assert_allclose(np.asarray(jit(lambda c: lr(c))(jnp.arange(STEPS))), expected_lrs,
                               rtol=1e-6)
    assert rel_err(params["w"], expected_p) <= 1e-6
    assert rel_err(optim.swa_params(state)["w"], expected_avg) <= 1e-6
    n_expected = len(range(SWA_START, STEPS, EVERY_N))
    assert int(state.n_averaged) == n_expected


def test_swalr_zero_anneal_and_schedule_base():
    """anneal_epochs=0 jumps to swa_lr at once; a schedule base anneals from its value."""
    port = TorchSWALRPort(0.1, 0.02, 0, "cos")
    sched = optim.swa_lr_schedule(0.1, 0.02, swa_start=5, anneal_steps=0)
    got = [float(sched(jnp.int32(s))) for s in (4, 5, 6)]
    port_lrs = [port.lr]
    port.step()
    port_lrs.append(port.lr)
    np.testing.assert_allclose(got, [0.1] + port_lrs, rtol=1e-6)
    base = optim.linear_schedule(1.0, 0.0, 100)
    sched = optim.swa_lr_schedule(base, 0.05, swa_start=50, anneal_steps=10,
                                  anneal_strategy="linear")
    np.testing.assert_allclose([float(sched(jnp.int32(s))) for s in (10, 50, 55, 60, 80)],
                               [0.9, 0.5, 0.275, 0.05, 0.05], rtol=1e-6)


def test_swa_params_needs_swa_state():
    with pytest.raises(optim.NotATransformationError, match="optim.swa"):
        optim.swa_params(optim.adam(1e-3).init({"w": jnp.ones(2)}))
