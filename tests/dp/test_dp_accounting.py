"""Accounting: our epsilon / calibration against dp_accounting's for the same events."""
from __future__ import annotations

import dp_accounting
import pytest
from dp_accounting import pld, rdp

from optim import dp

CASES = [(100, 0.01, 1.1, 1e-5), (1000, 256 / 60000, 1.0, 1e-5), (50, 1.0, 5.0, 1e-6)]


def _reference(steps, q, sigma, delta, accountant):
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)
    acc = rdp.RdpAccountant() if accountant == "rdp" else pld.PLDAccountant()
    return acc.compose(event).get_epsilon(delta)


@pytest.mark.parametrize("accountant", ["rdp", "pld"])
@pytest.mark.parametrize("steps, q, sigma, delta", CASES)
def test_epsilon_equals_dp_accounting(steps, q, sigma, delta, accountant):
    ours = dp.epsilon(steps, q, sigma, delta, accountant)
    assert ours == pytest.approx(_reference(steps, q, sigma, delta, accountant), rel=1e-12)


def test_truncated_poisson_epsilon_equals_dp_accounting():
    # All the time is dp_accounting's (ours only builds the event): a truncated step
    # builds a second PLD at sigma / 2 point by point, ~1/sigma points. N = 200,
    # sigma = 2.5 (was N = 1000, sigma = 1.2: 17 s -> 5 s) takes the same paths, ours
    # and dp_accounting's (truncation probability > 0 at M and at the suggested m).
    event = dp_accounting.SelfComposedDpEvent(dp_accounting.TruncatedSubsampledGaussianDpEvent(
        dataset_size=200, sampling_probability=0.05, truncated_batch_size=15,
        noise_multiplier=2.5), 30)
    ref = pld.PLDAccountant().compose(event).get_epsilon(1e-5)
    ours = dp.epsilon(30, 0.05, 2.5, 1e-5, "pld", dataset_size=200, max_batch_size=15)
    assert ours == pytest.approx(ref, rel=1e-12)
    plain = dp.epsilon(30, 0.05, 2.5, 1e-5, "pld")
    assert ours > 1.5 * plain  # M = qN + 1.6 std truncates 7.6% of steps: costly
    m = dp.suggested_max_batch_size(200, 0.05)  # tail <= 1e-12: truncation is free
    safe = dp.epsilon(30, 0.05, 2.5, 1e-5, "pld", dataset_size=200, max_batch_size=m)
    assert safe == pytest.approx(plain, rel=0.01)


def test_rdp_refuses_truncated_sampling():
    with pytest.raises(dp.AccountantError, match="pld"):
        dp.epsilon(10, 0.05, 1.0, 1e-5, "rdp", dataset_size=100, max_batch_size=10)


def test_epsilon_decreases_with_noise_and_zero_steps_is_free():
    assert dp.epsilon(100, 0.01, 2.0, 1e-5) < dp.epsilon(100, 0.01, 1.0, 1e-5)
    assert dp.epsilon(0, 0.01, 1.0, 1e-5) == 0.0


@pytest.mark.parametrize("accountant", ["rdp", "pld"])
def test_calibrate_noise_multiplier(accountant):
    # target 0.5 (sigma ~2.2; was 2.0, sigma ~0.97): dp_accounting's PLD of each of
    # brentq's ~17 trials costs ~1/sigma, 16 s -> 4 s; the same search either way
    steps, q, delta, target = 200, 0.02, 1e-5, 0.5
    sigma = dp.calibrate_noise_multiplier(target, delta, steps, q, accountant, tol=1e-3)
    assert dp.epsilon(steps, q, sigma, delta, accountant) <= target
    assert dp.epsilon(steps, q, sigma - 2e-3, delta, accountant) > target


@pytest.mark.parametrize("delta", [1.0, 1.5, 0.0, -1e-5])
def test_bad_delta(delta):
    with pytest.raises(dp.DeltaError, match="delta must be in"):
        dp.epsilon(10, 0.1, 1.0, delta)
    with pytest.raises(dp.DeltaError, match="delta must be in"):
        dp.calibrate_noise_multiplier(1.0, delta, 10, 0.1)


@pytest.mark.parametrize("target", [0.0, -1.0, 1e-3])
def test_unreachable_epsilon(target):
    with pytest.raises(dp.UnreachableEpsilonError, match="epsilon"):
        dp.calibrate_noise_multiplier(target, 1e-5, 10_000, 1.0, max_noise_multiplier=50.0)


def test_unknown_accountant():
    with pytest.raises(dp.AccountantError, match="accountant must be one of"):
        dp.epsilon(10, 0.1, 1.0, 1e-5, accountant="moments")
