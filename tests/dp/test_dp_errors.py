"""Typed errors of privatize_gradients: each names the problem and the fix."""
from __future__ import annotations

import numpy as np
import pytest

import primitives.numpy as fnp
import primitives.random as frandom
from fx.errors import FxError, ShapeError
from optim import dp
from dp_cases import fx_loss, mlp_batch, mlp_params

PARAMS, BATCH = mlp_params(), mlp_batch(4)


def _privatize(loss=fx_loss, batch=BATCH, **kw):
    kw = {"l2_norm_clip": 1.0, "noise_multiplier": 0.0, **kw}
    return dp.privatize_gradients(loss, PARAMS, batch, **kw)


@pytest.mark.parametrize("clip", [0.0, -1.0, float("nan"), float("inf"), np.float32(0)])
def test_clip_norm_must_be_positive(clip):
    with pytest.raises(dp.ClipNormError, match="positive finite"):
        _privatize(l2_norm_clip=clip)


def test_per_layer_clip_norm_must_be_positive():
    clip = {"w1": 1.0, "b1": 1.0, "w2": -2.0, "b2": 1.0}
    with pytest.raises(dp.ClipNormError, match=r"\['w2'\]"):
        _privatize(l2_norm_clip=clip)


@pytest.mark.parametrize("clip", [{"w1": 1.0, "b1": 1.0}, [1.0, 1.0, 1.0, 1.0],
                                  {"w1": 1.0, "b1": 1.0, "w2": 1.0, "b2": (1.0, 2.0)}])
def test_clip_tree_structure(clip):
    with pytest.raises(dp.ClipTreeError, match="structure of params"):
        _privatize(l2_norm_clip=clip)


def test_batch_loss_is_rejected():
    def batch_loss(p, ex):      # forgot to reduce: returns one value per output unit
        return (fnp.tanh(ex["x"] @ p["w1"] + p["b1"]) @ p["w2"] - ex["y"]) ** 2
    with pytest.raises(dp.NotPerExampleLossError, match="one scalar for ONE example") as e:
        _privatize(loss=batch_loss)
    assert isinstance(e.value, ShapeError) and isinstance(e.value, FxError)
    assert "float32[3]" in str(e.value)


def test_batch_leaves_need_one_leading_size():
    bad = {"x": BATCH["x"], "y": BATCH["y"][:3]}
    with pytest.raises(dp.NotPerExampleLossError, match="same leading"):
        _privatize(batch=bad)


@pytest.mark.parametrize("kw, match", [
    (dict(noise_multiplier=1.0), "needs a key"),
    (dict(noise_multiplier=-0.5, key=frandom.PRNGKey(0)), "noise_multiplier must be >= 0"),
    (dict(method="ghosts"), "method must be one of"),
])
def test_bad_options(kw, match):
    with pytest.raises(dp.DPArgumentError, match=match):
        _privatize(**kw)
