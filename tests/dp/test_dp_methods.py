"""The DP clipping methods (vmap, ghost, bookkeeping, auto) against JAX on three
models (MLP, conv net, transformer; see dp_models.py), with noise off.

- the clipped, averaged gradient equals ``jax.vmap(jax.grad)`` + clip + sum / B
  (a float64 numpy clip of JAX's per-example gradients), for a flat clip that
  clips some but not all examples, and for a per-layer clip tree (not ghost:
  ghost clipping needs one flat clip norm, and says so);
- ``stats`` holds the unclipped per-example norms, the fraction clipped and the
  per-example losses of JAX's reference;
- each example alone (one-hot mask, divisor 1) contributes ``min(norm_i, C)``;
- under ``transforms.jit`` the graph does not grow with the batch size.
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import numpy as np
import pytest

import fx
from transforms import jit
from optim import dp
from oracle import assert_trees_close
from dp_cases import clip_reference
from dp_models import MODELS

B, B_BIG = 8, 64
METHODS = ("vmap", "ghost", "bookkeeping", "auto")
PER_LAYER_METHODS = ("vmap", "bookkeeping", "auto")
TOL = {"rtol": 1e-5, "atol": 1e-5}
MODEL = {m.name: m for m in MODELS}


class Case(NamedTuple):
    """One model's data, clip norms and JAX references (computed once)."""
    params: Any
    batch: Any
    flat: float                 # the median per-example norm: half the examples clipped
    per_layer: Any              # per leaf, the median per-example norm of that leaf
    norms: np.ndarray           # (B,) unclipped global norms
    leaf_norms: Any             # per leaf, (B,) unclipped norms
    flat_ref: Any               # clipped sum / B, flat clip
    per_layer_ref: Any          # clipped sum / B, per-layer clip
    losses: np.ndarray          # (B,) per-example losses


@functools.lru_cache(maxsize=None)
def _case(name: str) -> Case:
    m = MODEL[name]
    params, batch = m.init(), m.batch(B)
    losses, grads = jax.jit(jax.vmap(jax.value_and_grad(m.jax_loss), in_axes=(None, 0)))(
        params, batch)
    _, norms, leaf_norms = clip_reference(grads, 1.0)
    flat = float(np.median(norms))
    per_layer = jax.tree.map(lambda n: float(np.median(n)), leaf_norms)
    mean = lambda tree: jax.tree.map(lambda g: g / np.float32(B), tree)   # noqa: E731
    return Case(params, batch, flat, per_layer, norms.astype(np.float32), leaf_norms,
                mean(clip_reference(grads, flat)[0]), mean(clip_reference(grads, per_layer)[0]),
                np.asarray(losses))


def _privatize_fn(name: str, method: str, per_layer: bool = False, **kw):
    """``(params, batch) -> privatize_gradients(...)`` of a model, noise off."""
    m, case = MODEL[name], _case(name)
    clip = case.per_layer if per_layer else case.flat
    return lambda p, b, **call_kw: dp.privatize_gradients(
        m.fx_loss, p, b, l2_norm_clip=clip, noise_multiplier=0.0, method=method, **kw,
        **call_kw)


@functools.lru_cache(maxsize=None)
def _per_layer(name: str, method: str):
    """The jitted ``(params, batch) -> (grads, stats)`` with the per-layer clip
    (no mask, default divisor B)."""
    return jit(_privatize_fn(name, method, per_layer=True))


@functools.lru_cache(maxsize=None)
def _masked(name: str, method: str):
    """The jitted ``(params, batch, mask) -> (grads, stats)`` with the flat clip
    and divisor 1, shared by the tests (the mask's values never retrace): an
    all-ones mask gives the clipped sum, a one-hot mask one example's
    contribution."""
    f = _privatize_fn(name, method, expected_batch_size=1.0)
    return jit(lambda p, b, mask: f(p, b, mask=mask))


ALL = np.ones(B, bool)


def _global_norm(tree) -> float:
    return float(np.sqrt(sum(np.sum(np.square(np.asarray(x, np.float64)))
                             for x in jax.tree.leaves(tree))))


models = pytest.mark.parametrize("name", list(MODEL))


@models
@pytest.mark.parametrize("method", METHODS)
def test_flat_clip_matches_jax(name, method):
    """The clipped sum (all-ones mask, divisor 1) / B is JAX's; so are the stats."""
    case = _case(name)
    clipped = case.norms > case.flat
    assert 0 < clipped.sum() < B, f"the clip {case.flat} should clip some but not all examples"
    grads, stats = _masked(name, method)(case.params, case.batch, ALL)
    what = f"{name}/{method}"
    assert_trees_close(jax.tree.map(lambda g: g / B, grads), case.flat_ref, **TOL,
                       what=f"{what} clipped gradient")
    assert_trees_close(stats["per_example_norms"], case.norms, **TOL,
                       what=f"{what} per_example_norms")
    assert_trees_close(stats["fraction_clipped"], np.float32(clipped.mean()), **TOL,
                       what=f"{what} fraction_clipped")


@models
@pytest.mark.parametrize("method", PER_LAYER_METHODS)
def test_per_layer_clip_matches_jax(name, method):
    case = _case(name)
    for c, n in zip(jax.tree.leaves(case.per_layer), jax.tree.leaves(case.leaf_norms)):
        assert 0 < np.sum(np.asarray(n) > c) < B, "each layer clip should clip some examples"
    grads, stats = _per_layer(name, method)(case.params, case.batch)
    assert_trees_close(grads, case.per_layer_ref, **TOL, what=f"{name}/{method} per-layer")
    assert_trees_close(stats["per_example_norms"], case.norms, **TOL,
                       what=f"{name}/{method} per_example_norms")


@models
@pytest.mark.parametrize("method", METHODS)
def test_per_example_loss_matches_jax(name, method):
    case = _case(name)
    _, stats = _masked(name, method)(case.params, case.batch, ALL)
    assert_trees_close(stats["per_example_loss"], case.losses, **TOL,
                       what=f"{name}/{method} per_example_loss")


@models
def test_ghost_needs_flat_clipping(name):
    case = _case(name)
    with pytest.raises(dp.DPArgumentError, match="needs flat clipping"):
        _privatize_fn(name, "ghost", per_layer=True)(case.params, case.batch)


@models
@pytest.mark.parametrize("method", METHODS)
def test_each_contribution_is_clipped_to_c(name, method):
    """Example i alone (one-hot mask, divisor 1) contributes norm min(norm_i, C) <= C;
    the mask changes no shape, so it compiles once."""
    case = _case(name)
    contribution = _masked(name, method)
    for i in range(B):
        norm = _global_norm(contribution(case.params, case.batch, np.eye(B, dtype=bool)[i])[0])
        assert norm <= case.flat * (1 + 1e-5), (i, norm, case.flat)
        np.testing.assert_allclose(norm, min(case.norms[i], case.flat), rtol=1e-5,
                                   err_msg=f"{name}/{method} example {i}")
    assert contribution.traces == 1


@models
@pytest.mark.parametrize("method", METHODS)
def test_graph_does_not_grow_with_batch_size(name, method):
    case = _case(name)
    big = MODEL[name].batch(B_BIG)
    f = _privatize_fn(name, method)
    grads_only = lambda p, b: f(p, b)[0]                             # noqa: E731
    sizes = [len(fx.make_graph(grads_only)(case.params, b).graph.equations)
             for b in (case.batch, big)]
    assert sizes[0] == sizes[1], f"{name}/{method}: {sizes[0]} equations at B={B}, " \
                                 f"{sizes[1]} at B={B_BIG}"
    jitted = jit(grads_only)
    optimized = [len(jitted.graph(case.params, b).graph.equations) for b in (case.batch, big)]
    assert optimized[0] == optimized[1]
    jitted.graph(case.params, case.batch)
    assert jitted.traces == 2       # one trace per batch size, none on a repeated shape
