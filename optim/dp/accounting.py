"""Privacy accounting for DP-SGD with dp_accounting (RDP and PLD).

One DP-SGD step with Poisson sampling rate ``q`` and noise multiplier ``sigma``
is ``PoissonSampledDpEvent(q, GaussianDpEvent(sigma))``; ``steps`` of them
compose (``SelfComposedDpEvent``). With fixed-shape batches truncated at
``max_batch_size`` (see ``optim.dp.sampling``) the step is
``TruncatedSubsampledGaussianDpEvent(N, q, M, sigma)``, which only the PLD
accountant supports.

References:
    Mironov, 2017: Renyi Differential Privacy.
    Doroshenko et al., 2022: Connect the Dots: Tighter Discrete Approximations of
    Privacy Loss Distributions.
"""
from __future__ import annotations

import contextlib
import logging
import math
from numbers import Real

from optim.dp.errors import AccountantError, DeltaError, UnreachableEpsilonError

__all__ = ["dp_sgd_event", "epsilon", "calibrate_noise_multiplier", "ACCOUNTANTS"]

ACCOUNTANTS = ("rdp", "pld")


def _dpa():
    """dp_accounting, imported on first use (it costs ~0.8 s at import)."""
    import dp_accounting
    return dp_accounting


def _accountant_class(name: str):
    dpa = _dpa()
    return {"rdp": dpa.rdp.RdpAccountant, "pld": dpa.pld.PLDAccountant}[name]


def _check(steps, q, delta, accountant) -> None:
    if accountant not in ACCOUNTANTS:
        raise AccountantError(f"accountant must be one of {ACCOUNTANTS}, got "
                              f"{accountant!r}.")
    if not 0 < delta < 1:
        raise DeltaError(f"delta must be in (0, 1), got {delta!r}. Fix: use delta well below "
                         f"1 / dataset_size (e.g. 1e-5 for 60k examples).")
    if not 0 < q <= 1:
        raise AccountantError(f"the sampling rate q must be in (0, 1], got {q!r}.")
    if not (isinstance(steps, int) and steps >= 0):
        raise AccountantError(f"steps must be a non-negative int, got {steps!r}.")


def _check_sigma(noise_multiplier, who: str) -> None:
    """sigma must be a finite number >= 0 (NaN would account as epsilon 0)."""
    if not (isinstance(noise_multiplier, Real) and math.isfinite(noise_multiplier)
            and noise_multiplier >= 0):
        raise AccountantError(f"{who}: noise_multiplier must be a finite number >= 0, got "
                              f"{noise_multiplier!r}. Fix: pass the sigma the training used "
                              f"(noise std / l2_norm_clip), e.g. 1.1.")


def dp_sgd_event(steps: int, q: float, noise_multiplier: float, *,
                 dataset_size: int | None = None,
                 max_batch_size: int | None = None):
    """The dp_accounting event of ``steps`` DP-SGD steps.

    Args:
      steps: number of noisy steps.
      q: Poisson sampling rate.
      noise_multiplier: sigma (noise std / clip norm).
      dataset_size, max_batch_size: give both for truncated Poisson sampling
        (fixed-shape batches from ``poisson_batches``).
    """
    _check_sigma(noise_multiplier, "dp_sgd_event")
    if (dataset_size is None) != (max_batch_size is None):
        raise AccountantError("dp_sgd_event: give both dataset_size and max_batch_size (for "
                              "truncated Poisson sampling) or neither.")
    dp_accounting = _dpa()
    if max_batch_size is not None:
        step = dp_accounting.TruncatedSubsampledGaussianDpEvent(
            dataset_size=dataset_size, sampling_probability=q,
            truncated_batch_size=max_batch_size, noise_multiplier=noise_multiplier)
    else:
        step = dp_accounting.PoissonSampledDpEvent(
            q, dp_accounting.GaussianDpEvent(noise_multiplier))
    return dp_accounting.SelfComposedDpEvent(step, steps)


@contextlib.contextmanager
def _quiet_absl():
    """Silence dp_accounting's per-call RDP warnings ("_compute_log_a_frac failed to
    converge ... Excluding this order"): the excluded orders only loosen the bound."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _epsilon_of_event(event, delta: float, accountant: str) -> float:
    acc = _accountant_class(accountant)()
    if not acc.supports(event):
        raise AccountantError(f"the {accountant!r} accountant cannot account for {event}. Fix: "
                              f"truncated Poisson sampling (max_batch_size) needs "
                              f"accountant='pld'.")
    with _quiet_absl():
        return float(acc.compose(event).get_epsilon(delta))


def epsilon(steps: int, q: float, noise_multiplier: float, delta: float,
            accountant: str = "rdp", *, dataset_size: int | None = None,
            max_batch_size: int | None = None) -> float:
    """The epsilon spent by ``steps`` DP-SGD steps at ``delta``.

    Args:
      steps: number of steps; q: Poisson sampling rate; noise_multiplier: sigma.
      delta: target delta in (0, 1).
      accountant: ``"rdp"`` (Renyi DP, fast, slightly loose) or ``"pld"``
        (privacy loss distributions, tighter).
      dataset_size, max_batch_size: account for truncated Poisson sampling
        (``poisson_batches`` with a fixed maximum); PLD only.

    Returns:
      epsilon (``inf`` when sigma is 0 and steps > 0).

    Example::

        >>> epsilon(steps=1000, q=256 / 60000, noise_multiplier=1.1, delta=1e-5)
    """
    _check(steps, q, delta, accountant)
    _check_sigma(noise_multiplier, "epsilon")
    if steps == 0:
        return 0.0
    event = dp_sgd_event(steps, q, noise_multiplier, dataset_size=dataset_size,
                         max_batch_size=max_batch_size)
    return _epsilon_of_event(event, delta, accountant)


def calibrate_noise_multiplier(target_epsilon: float, delta: float, steps: int, q: float,
                               accountant: str = "rdp", *, max_noise_multiplier: float = 100.0,
                               tol: float = 1e-4, dataset_size: int | None = None,
                               max_batch_size: int | None = None) -> float:
    """The smallest noise multiplier (within ``tol``) whose epsilon is <= target.

    Args:
      target_epsilon: epsilon budget (> 0).
      delta, steps, q, accountant, dataset_size, max_batch_size: as in ``epsilon``.
      max_noise_multiplier: the search's upper end; a target not reached there
        raises ``UnreachableEpsilonError``.
      tol: tolerance on sigma.

    Returns:
      sigma with ``epsilon(steps, q, sigma, delta) <= target_epsilon``.
    """
    _check(steps, q, delta, accountant)
    if not (target_epsilon > 0 and math.isfinite(target_epsilon)):
        raise UnreachableEpsilonError(
            f"calibrate_noise_multiplier: target_epsilon must be a positive finite number, got "
            f"{target_epsilon!r}; no finite noise gives epsilon 0.")
    if steps == 0:
        return 0.0

    def make_event(sigma):
        return dp_sgd_event(steps, q, sigma, dataset_size=dataset_size,
                            max_batch_size=max_batch_size)

    eps_at_max = _epsilon_of_event(make_event(max_noise_multiplier), delta, accountant)
    if eps_at_max > target_epsilon:
        raise UnreachableEpsilonError(
            f"calibrate_noise_multiplier: even noise_multiplier={max_noise_multiplier} spends "
            f"epsilon={eps_at_max:.4g} > target {target_epsilon} in {steps} steps at q={q}, "
            f"delta={delta}. Fix: take fewer steps, a smaller q, a larger delta or epsilon, or "
            f"raise max_noise_multiplier.")
    dp_accounting = _dpa()
    return float(dp_accounting.calibrate_dp_mechanism(
        _accountant_class(accountant), make_event, target_epsilon, delta,
        dp_accounting.ExplicitBracketInterval(0.0, max_noise_multiplier), tol=tol))
