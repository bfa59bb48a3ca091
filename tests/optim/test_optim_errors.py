"""Bad input gets typed errors (subclasses of fx.errors.FxError) that say what to pass."""
from __future__ import annotations

import jax.numpy as jnp
import pytest

import optim
from fx.errors import FxError, ShapeError

PARAMS = {"w": jnp.ones((3, 2)), "b": jnp.zeros((2,))}


def test_schedule_where_a_transformation_is_expected():
    sched = optim.cosine_decay_schedule(1e-3, 100)
    with pytest.raises(optim.NotATransformationError,
                       match=r"(?s)chain argument 1 .*schedule.*learning_rate="):
        optim.chain(optim.scale_by_adam(), sched)
    with pytest.raises(optim.NotATransformationError, match="masked"):
        optim.masked(sched, {"w": True, "b": False})
    with pytest.raises(optim.NotATransformationError, match="partition transforms"):
        optim.partition({"a": sched}, {"w": "a", "b": "a"})


def test_transformation_where_a_learning_rate_is_expected():
    with pytest.raises(optim.NotATransformationError, match="learning_rate must be a number"):
        optim.adam(optim.sgd(0.1))
    with pytest.raises(optim.NotATransformationError, match="schedule"):
        optim.scale_by_schedule(0.1)


def test_mismatched_update_and_param_trees():
    with pytest.raises(optim.TreeMismatchError, match=r"only in params: \['b'\]"):
        optim.apply_updates(PARAMS, {"w": jnp.ones((3, 2))})
    with pytest.raises(ShapeError, match=r"leaf \['w'\].*shape \(2, 3\).*shape \(3, 2\)"):
        optim.apply_updates(PARAMS, {"w": jnp.ones((2, 3)), "b": jnp.zeros((2,))})
    tx = optim.adamw(1e-3)
    state = tx.init(PARAMS)
    other = {"w": jnp.ones((3, 2)), "c": jnp.zeros((2,))}
    with pytest.raises(optim.TreeMismatchError, match=r"init\(params\)"):
        tx.update(other, state, other)  # state from another params tree
    with pytest.raises(optim.TreeMismatchError, match="params"):
        optim.add_decayed_weights(1e-2).update(PARAMS, (), {"w": jnp.ones((3, 2))})
    with pytest.raises(optim.TreeMismatchError, match="state"):
        tx.update(PARAMS, state[:1], PARAMS)  # a truncated chain state


def test_mask_of_the_wrong_structure():
    tx = optim.masked(optim.add_decayed_weights(1e-2), {"w": True})
    with pytest.raises(optim.MaskError, match=r"(?s)only in params: \['b'\].*jax.tree.map"):
        tx.init(PARAMS)
    tx = optim.adamw(1e-3, mask={"w": True, "b": jnp.array([1.0, 0.0])})
    with pytest.raises(optim.MaskError, match="Python bools"):
        tx.init(PARAMS)
    with pytest.raises(optim.MaskError, match=r"labels \['c'\] have no transformation"):
        optim.partition({"a": optim.sgd(0.1)}, {"w": "a", "b": "c"}).init(PARAMS)


def test_missing_params():
    tx = optim.adamw(1e-3)
    with pytest.raises(optim.MissingParamsError, match=r"tx.update\(grads, state, params\)"):
        tx.update(PARAMS, tx.init(PARAMS))


def test_errors_are_fx_errors():
    for err in (optim.NotATransformationError, optim.TreeMismatchError, optim.MaskError,
                optim.MissingParamsError, optim.MuonDimensionError, optim.CheckpointError):
        assert issubclass(err, FxError) and issubclass(err, optim.OptimError)
    assert issubclass(optim.MuonDimensionError, ShapeError)
