"""Poisson sampling at fixed shapes: padding, truncation, and one compilation."""
from __future__ import annotations

import jax
import numpy as np
import pytest

import primitives.random as frandom
from transforms import jit
from optim import dp
from dp_cases import fx_loss, mlp_batch, mlp_params


def test_batches_have_fixed_shape_and_padding_is_masked():
    sampler = dp.poisson_batches(0, n_examples=200, q=0.05, max_batch_size=30, steps=50)
    sizes = []
    for idx, mask in sampler:
        assert idx.shape == mask.shape == (30,) and idx.dtype == np.int32 and mask.dtype == bool
        k = int(mask.sum())
        assert mask[:k].all() and not mask[k:].any() and (idx[k:] == 0).all()
        assert len(set(idx[:k].tolist())) == k and (idx[:k] < 200).all()
        sizes.append(k)
    assert sampler.steps_drawn == 50 and sampler.truncated_steps == 0
    # mean batch size qN = 10 with std sqrt(Nq(1-q)/steps) = 0.44: 5-sigma bound
    assert abs(np.mean(sizes) - 10) < 5 * np.sqrt(200 * 0.05 * 0.95 / 50)


def test_truncation_keeps_a_random_subset_and_is_counted():
    sampler = dp.poisson_batches(np.random.default_rng(1), 100, q=0.5, max_batch_size=40)
    draws = [sampler.draw() for _ in range(30)]
    # Binomial(100, 0.5) > 40 with probability 0.98: nearly every step truncates
    assert sampler.truncated_steps >= 25 and sampler.dropped_examples > 0
    assert sum(bool(m.all()) for _, m in draws) >= sampler.truncated_steps  # truncated: full
    kept = np.concatenate([i[m] for i, m in draws])
    assert kept.max() > 90  # a random subset, not the first 40 drawn indices


def test_sampler_accepts_a_raw_key_and_is_reproducible():
    key = frandom.PRNGKey(7)
    a = [i for i, _ in dp.poisson_batches(key, 50, 0.1, 12, steps=3)]
    b = [i for i, _ in dp.poisson_batches(key, 50, 0.1, 12, steps=3)]
    assert all((x == y).all() for x, y in zip(a, b))


def test_twenty_poisson_steps_compile_once():
    n, q, max_b = 120, 0.1, 24
    data, params = mlp_batch(n, seed=3), mlp_params()
    sampler = dp.poisson_batches(5, n, q, max_b, steps=20)

    @jit
    def step(p, batch, mask, key):
        grads, stats = dp.privatize_gradients(
            fx_loss, p, batch, l2_norm_clip=1.0, noise_multiplier=1.1, key=key, mask=mask,
            expected_batch_size=sampler.expected_batch_size)
        return jax.tree.map(lambda w, g: w - 0.1 * g, p, grads), stats["fraction_clipped"]

    key = frandom.PRNGKey(0)
    sizes = set()
    for t, (idx, mask) in enumerate(sampler):
        batch = jax.tree.map(lambda x: x[idx], data)
        params, _ = step(params, batch, mask, frandom.fold_in(key, t))
        sizes.add(int(mask.sum()))
    assert sampler.steps_drawn == 20 and len(sizes) > 1  # batch sizes varied...
    assert step.traces == 1                                 # ...and the step compiled once
    assert all(np.isfinite(v).all() for v in jax.tree.leaves(params))


def test_suggested_max_batch_size():
    from scipy import stats
    n, q = 60000, 256 / 60000
    m = dp.suggested_max_batch_size(n, q)
    assert stats.binom.sf(m, n, q) <= 1e-12 < stats.binom.sf(m - 1, n, q)
    assert 256 + 6 * 16 < m < 256 + 9 * 16


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_examples=0, q=0.1, max_batch_size=4), "n_examples"),
    (dict(n_examples=10, q=0.0, max_batch_size=4), "q must be in"),
    (dict(n_examples=10, q=1.5, max_batch_size=4), "q must be in"),
    (dict(n_examples=10, q=0.1, max_batch_size=0), "max_batch_size"),
])
def test_sampling_errors(kwargs, match):
    with pytest.raises(dp.SamplingError, match=match):
        dp.poisson_batches(0, **kwargs)


def test_sampling_bad_key():
    with pytest.raises(dp.SamplingError, match="key_or_seed"):
        dp.poisson_batches(np.zeros(3, np.float32), 10, 0.1, 4)
