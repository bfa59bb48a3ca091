"""Muon: Newton-Schulz vs a float32 numpy port of K. Jordan's reference, batch
axes from dimension numbers vs optax.contrib, Moonshot's update scale, and the
leaves muon cannot orthogonalize.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from optax.contrib import _muon as optax_muon

import optim
from optim.newton_schulz import DEFAULT_NS_COEFFS
from optim_cases import rel_err
from transforms import jit


def jordan_newtonschulz5(G, steps=5, eps=1e-7):
    """K. Jordan's zeropower_via_newtonschulz5 (modded-nanogpt), ported to float32 numpy
    (the original runs in bfloat16 on GPU)."""
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.astype(np.float32)
    X = X / (np.linalg.norm(X) + eps)
    if G.shape[0] > G.shape[1]:
        X = X.T
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * A @ A
        X = a * X + B @ X
    if G.shape[0] > G.shape[1]:
        X = X.T
    return X.astype(np.float32)


@pytest.mark.parametrize("shape", [(64, 48), (48, 64), (32, 32)])
def test_newton_schulz_matches_jordan(shape):
    g = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    ours = jit(optim.orthogonalize_via_newton_schulz)(jnp.asarray(g))
    expected = jordan_newtonschulz5(g)
    assert rel_err(ours, expected) <= 1e-2
    # the iteration drives the singular values into Jordan's band around 1
    s = np.linalg.svd(np.asarray(ours), compute_uv=False)
    assert 0.5 < s.min() and s.max() < 1.25, s


def test_dimension_numbers_batch_axes_match_optax():
    """(batch, rows, cols) with the batch axis last: each slice orthogonalized alone."""
    x = jnp.asarray(np.random.default_rng(1).normal(size=(12, 5, 3)), jnp.float32)
    coeffs = jnp.asarray(DEFAULT_NS_COEFFS, jnp.float32)
    ours = jit(lambda x: optim.orthogonalize_via_newton_schulz(
        x, coeffs, dimension_numbers=optim.MuonDimensionNumbers(0, 2)))(x)
    theirs = jax.jit(lambda x: optax_muon.orthogonalize_via_newton_schulz(
        x, coeffs, dimension_numbers=optax_muon.MuonDimensionNumbers(0, 2)))(x)
    assert rel_err(ours, theirs) <= 1e-6
    per_slice = jordan_newtonschulz5(np.asarray(x)[:, 1, :])
    assert rel_err(ours[:, 1, :], per_slice) <= 1e-2


def test_moonshot_scale_gives_adamw_like_rms():
    """consistent_rms=0.2 scales by 0.2 * sqrt(max(A, B)), so the update RMS is ~0.2."""
    for shape in [(128, 32), (32, 96)]:
        ones = {"w": jnp.ones(shape)}
        scaled, _ = optim.scale_by_shape(consistent_rms=optim.MOONSHOT_RMS).update(ones, ())
        np.testing.assert_allclose(np.asarray(scaled["w"]), 0.2 * np.sqrt(max(shape)), rtol=1e-6)
        grads = {"w": jnp.asarray(np.random.default_rng(2).normal(size=shape), jnp.float32)}
        tx = optim.muon(1.0, consistent_rms=optim.MOONSHOT_RMS)
        updates, _ = jit(tx.update)(grads, tx.init(grads), grads)
        rms = float(jnp.sqrt(jnp.mean(updates["w"] ** 2)))
        assert 0.12 < rms < 0.22, rms


def test_muon_state_is_one_momentum_per_matrix():
    params = {"w": jnp.ones((64, 32)), "b": jnp.ones((32,))}
    state = optim.muon(1e-2).init(params)
    muon_state = state.inner_states["muon"].inner_state[0]
    assert isinstance(muon_state, optim.MuonState)
    assert optim.tree.num_elements(muon_state.mu) == 64 * 32  # 1x the 2-D params
    adam_state = state.inner_states["adam"].inner_state[0]
    assert optim.tree.num_elements((adam_state.mu, adam_state.nu)) == 2 * 32  # adamw for b


def test_muon_rejects_leaves_it_cannot_orthogonalize():
    conv = {"k": jnp.ones((3, 3, 4, 8))}
    tx = optim.scale_by_muon()
    with pytest.raises(optim.MuonDimensionError, match=r"\(3, 3, 4, 8\).*MuonDimensionNumbers"):
        tx.update(conv, tx.init(conv))
    with pytest.raises(optim.MuonDimensionError, match="rank 1"):
        bad = optim.muon(1e-2, muon_weight_dimension_numbers={"b": optim.MuonDimensionNumbers()})
        bias = {"b": jnp.ones((4,))}
        bad.update(bias, bad.init(bias), bias)
    with pytest.raises(optim.MuonDimensionError, match="disjoint"):
        optim.orthogonalize_via_newton_schulz(
            jnp.ones((3, 4, 5)), dimension_numbers=optim.MuonDimensionNumbers(0, 0))
    # with dimension numbers the conv kernel is fine: (3*3*4) x 8 matrices
    ok = optim.scale_by_muon(weight_dimension_numbers=optim.MuonDimensionNumbers((0, 1, 2), 3))
    updates, _ = ok.update(conv, ok.init(conv))
    assert updates["k"].shape == (3, 3, 4, 8)
