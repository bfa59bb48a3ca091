"""A DP-SGD training loop: Poisson batches, one jitted private step, accounting.

``train`` is the whole recipe of Abadi et al. (2016) in one call: every step
draws a Poisson-sampled batch padded to a fixed size (``poisson_batches``),
computes the privatized gradient (``privatize_gradients``: per-example
clipping, Gaussian noise, division by the expected batch size ``q * N``) and
applies an ``optim`` optimizer, all in one ``transforms.jit``-compiled step
that compiles once. A tqdm bar shows the training loss, an optional
evaluation metric and the epsilon spent so far.

For a custom loop, build the same step with ``make_train_step``.

References:
    Abadi et al., 2016: Deep Learning with Differential Privacy.
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, Callable

import jax
import numpy as np
from jax import tree_util

import primitives.numpy as fnp
import primitives.random as frandom
from optim.base import GradientTransformation, apply_updates
from optim.dp.accounting import ACCOUNTANTS, epsilon
from optim.dp.errors import DPArgumentError
from optim.dp.privatize import leading_size, privatize_gradients
from optim.dp.sampling import poisson_batches, suggested_max_batch_size
from transforms import jit

__all__ = ["train", "make_train_step"]


# --- the step ---
def make_train_step(loss: Callable, optimizer: GradientTransformation, *, l2_norm_clip,
                    noise_multiplier: float, expected_batch_size: float, method: str = "auto",
                    microbatch_size: int | None = None):
    """The jitted DP-SGD step used by ``train``.

    Args:
      loss: ``loss(params, example) -> scalar`` for ONE example.
      optimizer: an ``optim`` optimizer (``GradientTransformation``).
      l2_norm_clip, noise_multiplier, method, microbatch_size: as in
        ``privatize_gradients``.
      expected_batch_size: ``q * N``, the divisor of the clipped noisy sum.

    Returns:
      ``step(params, opt_state, data, indices, mask, key) -> (params, opt_state,
      metrics)``: gathers the batch ``data[indices]`` (every leaf of ``data``
      has the example axis first), privatizes the gradient with noise key
      ``key`` and applies the optimizer's update. ``metrics`` holds the mean
      ``"loss"`` over the real (unmasked) examples, before the update, and the
      ``"fraction_clipped"``. The step compiles once per data shape.

    Example::

        >>> step = make_train_step(loss, optim.adam(1e-3), l2_norm_clip=1.0,
        ...     noise_multiplier=1.1, expected_batch_size=sampler.expected_batch_size)
        >>> for t, (idx, mask) in enumerate(sampler):
        ...     params, state, metrics = step(params, state, data, idx, mask,
        ...                                   frandom.fold_in(key, t))
    """
    def step(params, opt_state, data, indices, mask, key):
        batch = tree_util.tree_map(lambda x: x[indices], data)
        grads, stats = privatize_gradients(
            loss, params, batch, l2_norm_clip=l2_norm_clip, noise_multiplier=noise_multiplier,
            key=key, expected_batch_size=expected_batch_size, mask=mask, method=method,
            microbatch_size=microbatch_size)
        per_example_loss = stats["per_example_loss"]
        updates, opt_state = optimizer.update(grads, opt_state, params)
        weights = mask.astype(per_example_loss.dtype)
        mean_loss = fnp.sum(weights * per_example_loss) / fnp.maximum(fnp.sum(weights), 1.0)
        metrics = {"loss": mean_loss, "fraction_clipped": stats["fraction_clipped"]}
        return apply_updates(params, updates), opt_state, metrics

    return jit(step)


# --- validation ---
def _is_int(x) -> bool:
    return isinstance(x, Integral) and not isinstance(x, bool)


def _check_args(n_examples, sampling_rate, steps, noise_multiplier, max_batch_size, accountant,
                eval_every) -> None:
    if not (isinstance(sampling_rate, Real) and 0 < sampling_rate <= 1):
        raise DPArgumentError(
            f"train: sampling_rate must be in (0, 1], got {sampling_rate!r}. Fix: "
            f"sampling_rate = expected batch size / dataset size, e.g. 256 / {n_examples}.")
    if not (_is_int(steps) and steps > 0):
        raise DPArgumentError(f"train: steps must be a positive int, got {steps!r}. Fix: e.g. "
                              f"steps = epochs * round(1 / sampling_rate).")
    if not (isinstance(noise_multiplier, Real) and noise_multiplier >= 0):
        raise DPArgumentError(f"train: noise_multiplier must be a number >= 0, got "
                              f"{noise_multiplier!r}. Fix: e.g. dp.calibrate_noise_multiplier("
                              f"target_epsilon, delta, steps, sampling_rate); 0 means no privacy.")
    if accountant not in ACCOUNTANTS:
        raise DPArgumentError(f"train: accountant must be one of {ACCOUNTANTS}, got "
                              f"{accountant!r}.")
    if eval_every is not None and not (_is_int(eval_every) and eval_every > 0):
        raise DPArgumentError(f"train: eval_every must be a positive int or None, got "
                              f"{eval_every!r}.")
    if max_batch_size is not None:
        if not (_is_int(max_batch_size) and max_batch_size > 0):
            raise DPArgumentError(f"train: max_batch_size must be a positive int or None, got "
                                  f"{max_batch_size!r}.")
        safe = suggested_max_batch_size(n_examples, sampling_rate)
        if accountant == "rdp" and max_batch_size < safe:
            raise DPArgumentError(
                f"train: max_batch_size={max_batch_size} truncates Poisson batches (of mean "
                f"{sampling_rate * n_examples:.1f}) with non-negligible probability, which the "
                f"RDP accountant cannot account for. Fix: max_batch_size >= {safe} (the "
                f"default, dp.suggested_max_batch_size), or accountant='pld', which accounts "
                f"for truncated sampling.")


def _as_key(key):
    return frandom.PRNGKey(key) if _is_int(key) else key


# --- the loop ---
def _progress_bar(steps: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm  # lazy: only when a bar is shown
    return tqdm(total=steps, desc="DP-SGD", unit="step")


def _means(metrics: list[dict]) -> dict:
    """Host means of the per-step device metrics (the only sync between records)."""
    return {k: float(np.mean([float(m[k]) for m in metrics])) for k in ("loss", "fraction_clipped")}


def _evaluate(eval_fn, params) -> dict:
    if eval_fn is None:
        return {}
    out = eval_fn(params)
    return {k: float(v) for k, v in out.items()} if isinstance(out, dict) \
        else {"accuracy": float(out)}


def train(loss: Callable, params, optimizer: GradientTransformation, data, *, l2_norm_clip,
          noise_multiplier: float, sampling_rate: float, steps: int, key, delta: float = 1e-5,
          max_batch_size: int | None = None, method: str = "auto",
          microbatch_size: int | None = None, accountant: str = "rdp",
          eval_fn: Callable | None = None, eval_every: int | None = None,
          progress: bool = True) -> tuple[Any, list[dict]]:
    """Train ``params`` with DP-SGD (Abadi et al., 2016) and account for privacy.

    Each step draws a Poisson batch (every example joins with probability
    ``sampling_rate``) padded to ``max_batch_size``, clips each example's
    gradient to ``l2_norm_clip``, adds Gaussian noise of std ``noise_multiplier
    * l2_norm_clip``, divides by ``sampling_rate * N`` and applies
    ``optimizer``. The whole step is one ``jit``-compiled program (see
    ``make_train_step``) that compiles once.

    Args:
      loss: ``loss(params, example) -> scalar`` for ONE example (no batch axis).
      params: initial parameters (pytree of float arrays).
      optimizer: an ``optim`` optimizer, e.g. ``optim.adam(1e-3)``.
      data: the training set, a pytree of arrays with the example axis first,
        e.g. ``{"x": x, "y": y}``; each example is ``tree_map(lambda a: a[i], data)``.
      l2_norm_clip: C > 0, or a per-layer clip tree (see ``privatize_gradients``).
      noise_multiplier: sigma >= 0 (e.g. from ``calibrate_noise_multiplier``).
      sampling_rate: Poisson sampling rate q in (0, 1]; expected batch size q N.
      steps: number of DP-SGD steps (> 0).
      key: a raw key (``frandom.PRNGKey``) or an int seed. ``split(key)`` gives
        the sampling key (``poisson_batches`` is seeded with the first) and the
        noise key (step ``t`` uses ``fold_in(noise_key, t)``).
      delta: the delta at which epsilon is reported.
      max_batch_size: the padded batch size; default
        ``suggested_max_batch_size(N, q)`` (truncation practically never happens).
      method: per-example clipping method of ``privatize_gradients``.
      microbatch_size: process each batch in chunks of this many examples (it
        must divide ``max_batch_size``); bounds memory, same result.
      accountant: ``"rdp"`` (fast) or ``"pld"`` (tighter; accounts for truncated
        sampling at ``max_batch_size`` exactly, at up to seconds per record).
      eval_fn: optional ``eval_fn(params)`` returning a number (recorded as
        ``"accuracy"``) or a dict of named numbers; it sees only ``params``, so
        evaluate on held-out data to spend no privacy.
      eval_every: steps between records; default ``steps // 10`` (at least 1).
        The last step is always recorded. Epsilon and ``eval_fn`` are computed
        only at records.
      progress: show a tqdm progress bar with loss, accuracy and epsilon.

    Returns:
      ``(params, history)``: the trained params and one dict per record with
      ``"step"`` (steps done), ``"loss"`` and ``"fraction_clipped"`` (means
      over the steps since the last record; the loss is on the private batches,
      not privatized: a monitoring aid), ``"epsilon"`` (spent after ``step``
      steps: ``epsilon(step, q, sigma, delta, accountant)``) and the metrics of
      ``eval_fn``.

    Raises:
      DPArgumentError: a bad option (sampling_rate outside (0, 1], steps <= 0, ...).

    Example::

        >>> def loss(p, ex):
        ...     logp = fnn.log_softmax(ex["x"] @ p["w"] + p["b"])
        ...     return -fnp.sum(logp * fnn.one_hot(ex["y"], 10))
        >>> params, history = dp.train(loss, params, optim.adam(1e-2), {"x": x, "y": y},
        ...     l2_norm_clip=1.0, noise_multiplier=1.1, sampling_rate=256 / len(x),
        ...     steps=500, key=frandom.PRNGKey(0), eval_fn=lambda p: test_accuracy(p))
        >>> history[-1]
        {'step': 500, 'loss': 0.41, 'fraction_clipped': 0.9, 'epsilon': 2.1, 'accuracy': 0.9}

    References:
        Abadi et al., 2016: Deep Learning with Differential Privacy.
    """
    n_examples = leading_size(data, "train", "data",
                              ", e.g. data = {'x': x, 'y': y} with len(x) == len(y)")
    _check_args(n_examples, sampling_rate, steps, noise_multiplier, max_batch_size, accountant,
                eval_every)
    epsilon(0, sampling_rate, noise_multiplier, delta, accountant)  # checks delta early
    if max_batch_size is None:
        max_batch_size = suggested_max_batch_size(n_examples, sampling_rate)
    eval_every = max(1, steps // 10) if eval_every is None else eval_every
    sample_key, noise_key = frandom.split(_as_key(key))
    sampler = poisson_batches(np.asarray(sample_key), n_examples, sampling_rate,
                              max_batch_size, steps)
    step = make_train_step(loss, optimizer, l2_norm_clip=l2_norm_clip,
                           noise_multiplier=noise_multiplier,
                           expected_batch_size=sampler.expected_batch_size, method=method,
                           microbatch_size=microbatch_size)
    truncation = ({"dataset_size": n_examples, "max_batch_size": max_batch_size}
                  if accountant == "pld" else {})

    def spent(t: int) -> float:
        return epsilon(t, sampling_rate, noise_multiplier, delta, accountant, **truncation)

    data = jax.device_put(data)  # once: the step gathers each batch on the device
    opt_state = optimizer.init(params)
    history, pending = [], []
    bar = _progress_bar(steps, progress)
    try:
        for t, (indices, mask) in enumerate(sampler):
            params, opt_state, metrics = step(params, opt_state, data, indices, mask,
                                              frandom.fold_in(noise_key, t))
            pending.append(metrics)  # device values: no sync until the next record
            done = t + 1
            if bar is not None:
                bar.update(1)
            if done % eval_every and done != steps:
                continue
            record = {"step": done, **_means(pending), "epsilon": spent(done),
                      **_evaluate(eval_fn, params)}
            history.append(record)
            pending = []
            if bar is not None:
                bar.set_postfix({k: _short(v) for k, v in record.items()
                                 if k not in ("step", "fraction_clipped")})
    finally:
        if bar is not None:
            bar.close()
    return params, history


def _short(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else str(v)
