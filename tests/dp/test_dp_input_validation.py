"""DP inputs that would void or misreport privacy raise typed errors that say
what to pass (issue: reliability). The accepted inputs still give the same
gradients as before (checked against the unmasked computation)."""
from __future__ import annotations

import jax
import numpy as np
import pytest
from jax import tree_util

import primitives.random as frandom
from optim import dp
from transforms import jit
from dp_cases import fx_loss, mlp_batch, mlp_params

PARAMS, BATCH = mlp_params(), mlp_batch(4)


def _privatize(batch=BATCH, **kw):
    kw = {"l2_norm_clip": 1.0, "noise_multiplier": 0.0, **kw}
    return dp.privatize_gradients(fx_loss, PARAMS, batch, **kw)


def test_mask_values_outside_zero_one():
    for bad in (np.array([1.0, 100.0, 1.0, 0.0], np.float32), np.array([1, 2, 0, 1])):
        with pytest.raises(dp.DPArgumentError, match=r"mask entries must be 0 or 1.*w \* C"):
            _privatize(mask=bad)


def test_mask_of_the_wrong_length():
    with pytest.raises(dp.DPArgumentError, match=r"mask must have shape \(B,\) = \(4,\)"):
        _privatize(mask=np.ones(3, bool))


def test_traced_float_mask_is_refused_bool_is_accepted():
    step = jit(lambda m: _privatize(mask=m)[0])
    with pytest.raises(dp.DPArgumentError, match="traced mask .* must be bool"):
        step(np.ones(4, np.float32))
    mask = np.array([True, False, True, True])
    got = step(mask)
    # 0/1 floats given eagerly are accepted and mean the same as the bool mask
    want = _privatize(mask=mask.astype(np.float32))[0]
    tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                       got, want)


@pytest.mark.parametrize("bad", [0, -4.0, float("nan"), float("inf")])
def test_expected_batch_size_must_be_positive(bad):
    with pytest.raises(dp.DPArgumentError, match="expected_batch_size must be a positive"):
        _privatize(expected_batch_size=bad)


@pytest.mark.parametrize("sigma", [float("inf"), float("nan"), -1.0])
def test_noise_multiplier_must_be_finite(sigma):
    with pytest.raises(dp.DPArgumentError, match="noise_multiplier must be >= 0 and finite"):
        _privatize(noise_multiplier=sigma, key=frandom.PRNGKey(0))


@pytest.mark.parametrize("sigma", [float("nan"), float("inf"), -0.5])
def test_epsilon_of_a_bad_noise_multiplier(sigma):
    with pytest.raises(dp.AccountantError, match="noise_multiplier must be a finite number"):
        dp.epsilon(steps=10, q=0.01, noise_multiplier=sigma, delta=1e-5)


def test_empty_batch():
    empty = jax.tree_util.tree_map(lambda x: x[:0], BATCH)
    with pytest.raises(dp.DPArgumentError, match=r"empty \(0 examples\)"):
        _privatize(batch=empty)
