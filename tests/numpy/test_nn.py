"""primitives.nn against jax.nn: values and dtypes (eager, under jit, via the Graph),
extreme inputs (no overflow), reductions over several axes, one_hot, standardize, errors."""
from functools import partial

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import primitives.nn as fnn
from fx.errors import ShapeError
from oracle import (Case, assert_cases_jvp_matches, assert_cases_same_as_jax,
                    assert_cases_vmap_matches, assert_same_as_jax, assert_vmap_matches)

# the jvp / vmap / transpose tables: ours eagerly for every fourth case, the others
# in one transforms.jit (JAX's in one jax.jit)
EAGER_EVERY = 4

BF16 = jnp.bfloat16

# Values spanning the regimes of every activation: huge negative/positive (exp
# overflow, softplus/logsumexp stability), around 0 and the kinks at -1, 0, 1, 6.
EXTREME = np.array([[-1e4, -100., -20., -1.5, -1.],
                    [-0.5, 0., 0.5, 1., 3.],
                    [6., 7., 20., 100., 1e4]], np.float32)


def _normal(shape, dtype, seed=0):
    vals = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 3
    return jnp.asarray(vals, dtype)


# --- elementwise activations: (name, ours, theirs), one row per function ---
ACTIVATIONS = [
    ("identity", fnn.identity, jax.nn.identity),
    ("relu", fnn.relu, jax.nn.relu),
    ("relu6", fnn.relu6, jax.nn.relu6),
    ("sigmoid", fnn.sigmoid, jax.nn.sigmoid),
    ("softplus", fnn.softplus, jax.nn.softplus),
    ("log_sigmoid", fnn.log_sigmoid, jax.nn.log_sigmoid),
    ("silu", fnn.silu, jax.nn.silu),
    ("swish", fnn.swish, jax.nn.swish),
    ("mish", fnn.mish, jax.nn.mish),
    ("elu", fnn.elu, jax.nn.elu),
    ("elu_alpha", lambda x: fnn.elu(x, 0.5), lambda x: jax.nn.elu(x, 0.5)),
    ("leaky_relu", fnn.leaky_relu, jax.nn.leaky_relu),
    ("leaky_relu_slope", lambda x: fnn.leaky_relu(x, 0.2), lambda x: jax.nn.leaky_relu(x, 0.2)),
    ("hard_tanh", fnn.hard_tanh, jax.nn.hard_tanh),
    ("celu", fnn.celu, jax.nn.celu),
    ("celu_alpha", lambda x: fnn.celu(x, 2.0), lambda x: jax.nn.celu(x, 2.0)),
    ("selu", fnn.selu, jax.nn.selu),
    ("gelu_tanh", fnn.gelu, jax.nn.gelu),
    ("gelu_exact", lambda x: fnn.gelu(x, approximate=False),
     lambda x: jax.nn.gelu(x, approximate=False)),
    ("soft_sign", fnn.soft_sign, jax.nn.soft_sign),
    ("hard_sigmoid", fnn.hard_sigmoid, jax.nn.hard_sigmoid),
    ("hard_silu", fnn.hard_silu, jax.nn.hard_silu),
    ("squareplus", fnn.squareplus, jax.nn.squareplus),
    ("tanh", fnn.tanh, jax.nn.tanh),
]
ACT_IDS = [a[0] for a in ACTIVATIONS]
INT_OK = ("identity", "relu", "relu6", "leaky_relu", "hard_tanh", "gelu_tanh", "softplus")


@pytest.mark.parametrize("name,ours,theirs", ACTIVATIONS, ids=ACT_IDS)
def test_activation(name, ours, theirs):
    """Extreme inputs in f32 and bf16 (no overflow), a 0-d and a 3-d operand, and
    for INT_OK an int32 operand: eagerly once per dtype, all in one jit."""
    cases = [Case("extremes-f32", ours, theirs, (jnp.asarray(EXTREME, np.float32),)),
             Case("extremes-bf16", ours, theirs, (jnp.asarray(EXTREME, BF16),)),
             Case("0d", ours, theirs, (_normal((), np.float32),)),
             Case("3d", ours, theirs, (_normal((2, 3, 4), np.float32),))]
    if name in INT_OK:
        cases.append(Case("i32", ours, theirs, (np.arange(-8, 9, dtype=np.int32),)))
    got = assert_cases_same_as_jax(cases, eager=("extremes-f32", "extremes-bf16", "i32"))
    for case in ("extremes-f32", "extremes-bf16"):  # ours equal these (inf == inf only)
        assert np.isfinite(np.asarray(got[case], np.float32)).all() or name in ("squareplus",), \
            case


@pytest.mark.parametrize("name,ours,theirs", [a for a in ACTIVATIONS if a[0] in INT_OK],
                         ids=[a for a in ACT_IDS if a in INT_OK])
def test_activation_python_scalar(name, ours, theirs):
    assert_same_as_jax(ours, theirs, 0.75, jit=False)


def test_softplus_large_inputs_do_not_overflow():
    x = jnp.array([-1e30, -1e4, -90., 0., 90., 1e4, 1e30, np.inf, -np.inf], jnp.float32)
    got = np.asarray(assert_same_as_jax(fnn.softplus, jax.nn.softplus, x))
    np.testing.assert_array_equal(got[[0, 1, 4, 5, 6, 7, 8]],
                                  np.array([0., 0., 90., 1e4, 1e30, np.inf, 0.], np.float32))
    assert_same_as_jax(fnn.log_sigmoid, jax.nn.log_sigmoid, x)


# --- normalizations over axes: (name, ours, theirs, kwargs), one row per case ---
def _pair(name, ours, theirs, **kw):
    return (name, lambda x: ours(x, **kw), lambda x: theirs(x, **kw))


MASK = np.array([[True, False, True, True, False]] * 3)
REDUCTIONS = [
    _pair("softmax", fnn.softmax, jax.nn.softmax),
    _pair("softmax_axis0", fnn.softmax, jax.nn.softmax, axis=0),
    _pair("softmax_all", fnn.softmax, jax.nn.softmax, axis=None),
    _pair("softmax_where", fnn.softmax, jax.nn.softmax, where=MASK),
    _pair("log_softmax", fnn.log_softmax, jax.nn.log_softmax),
    _pair("log_softmax_axes", fnn.log_softmax, jax.nn.log_softmax, axis=(0, 1)),
    _pair("log_softmax_where", fnn.log_softmax, jax.nn.log_softmax, where=MASK),
    _pair("logsumexp", fnn.logsumexp, jax.nn.logsumexp),
    _pair("logsumexp_axis", fnn.logsumexp, jax.nn.logsumexp, axis=-1),
    _pair("logsumexp_keepdims", fnn.logsumexp, jax.nn.logsumexp, axis=0, keepdims=True),
    _pair("logsumexp_b", fnn.logsumexp, jax.nn.logsumexp, axis=1,
          b=np.array([1., -2., 0., 0.5, 3.], np.float32)),
    _pair("logsumexp_sign", fnn.logsumexp, jax.nn.logsumexp, axis=1, return_sign=True,
          b=np.array([1., -2., 0., 0.5, -3.], np.float32)),
    _pair("logsumexp_where", fnn.logsumexp, jax.nn.logsumexp, axis=1, where=MASK),
    _pair("standardize", fnn.standardize, jax.nn.standardize),
    _pair("standardize_axis0_eps", fnn.standardize, jax.nn.standardize, axis=0, epsilon=1e-2),
    _pair("standardize_stable", fnn.standardize, jax.nn.standardize, axis=(0, 1),
          algorithm="stable"),
    _pair("standardize_given", fnn.standardize, jax.nn.standardize, mean=1.0, variance=4.0),
    _pair("standardize_where", fnn.standardize, jax.nn.standardize, where=MASK),
]


@pytest.mark.parametrize("name,ours,theirs", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reductions(name, ours, theirs):
    """f32 and bf16 inputs (each also eagerly) and, but for standardize, EXTREME
    inputs, where exp would overflow without the max shift: results stay finite
    and equal jax's."""
    cases = [Case(dt, ours, theirs, (_normal((3, 5), dtype, seed=1),))
             for dt, dtype in [("f32", np.float32), ("bf16", BF16)]]
    if "standardize" not in name:
        cases.append(Case("extremes", ours, theirs, (jnp.asarray(EXTREME),)))
    got = assert_cases_same_as_jax(cases, eager=("f32", "bf16"))
    if "softmax" in name and "where" not in name and "log" not in name:
        assert np.isfinite(np.asarray(got["extremes"])).all()


def test_logsumexp_special_values():
    x = jnp.array([[1000., 1000.], [-np.inf, -np.inf], [np.inf, 1.], [np.nan, 0.]], jnp.float32)
    got = assert_same_as_jax(lambda a: fnn.logsumexp(a, axis=1),
                             lambda a: jax.nn.logsumexp(a, axis=1), x)
    np.testing.assert_allclose(np.asarray(got)[0], 1000. + np.log(2.), rtol=1e-6)
    assert np.asarray(got)[1] == -np.inf


def test_one_hot():
    """Every dtype x axis (each dtype also eagerly)."""
    idx = np.array([[0, 2, 4], [-1, 5, 1]], np.int32)  # -1 and 5 are out of range: zeros
    cases = [Case(f"{name}-axis{axis}", partial(fnn.one_hot, num_classes=5, dtype=dtype, axis=axis),
                  partial(jax.nn.one_hot, num_classes=5, dtype=dtype, axis=axis), (idx,))
             for name, dtype in [("default", None), ("i32", np.int32), ("bf16", BF16)]
             for axis in (-1, 0, 1)]
    assert_cases_same_as_jax(cases, eager=("default-axis-1", "i32-axis-1", "bf16-axis-1"))


def test_one_hot_scalar_and_list():
    assert_same_as_jax(lambda i: fnn.one_hot(i, 3), lambda i: jax.nn.one_hot(i, 3), np.int32(2))
    np.testing.assert_array_equal(fnn.one_hot([0, 2], 3), jax.nn.one_hot(jnp.array([0, 2]), 3))


def test_glu():
    assert_same_as_jax(fnn.glu, jax.nn.glu, _normal((3, 4), np.float32))
    assert_same_as_jax(lambda x: fnn.glu(x, axis=0), lambda x: jax.nn.glu(x, axis=0),
                       _normal((4, 3), np.float32))


# --- errors ---
def test_errors():
    with pytest.raises(ShapeError, match=r"glu.*f32\[3,5\].*divisible by 2"):
        fnn.glu(jnp.ones((3, 5)))
    with pytest.raises(ShapeError, match=r"one_hot.*axis 3.*rank 2"):
        fnn.one_hot(jnp.zeros((2,), jnp.int32), 4, axis=3)
    with pytest.raises(ShapeError, match="axis 2"):
        fnn.logsumexp(jnp.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="algorithm"):
        fnn.standardize(jnp.ones((2, 3)), algorithm="slow")


# --- transforms of the composites (rules come from the primitives) ---
TRANSFORM_CASES = [
    ("softplus", fnn.softplus, jax.nn.softplus),
    ("log_sigmoid", fnn.log_sigmoid, jax.nn.log_sigmoid),
    ("gelu_exact", lambda x: fnn.gelu(x, approximate=False),
     lambda x: jax.nn.gelu(x, approximate=False)),
    ("mish", fnn.mish, jax.nn.mish),
    ("elu", fnn.elu, jax.nn.elu),
    ("softmax", fnn.softmax, jax.nn.softmax),
    ("log_softmax_axis0", lambda x: fnn.log_softmax(x, axis=0),
     lambda x: jax.nn.log_softmax(x, axis=0)),
    ("logsumexp", lambda x: fnn.logsumexp(x, axis=1), lambda x: jax.nn.logsumexp(x, axis=1)),
    ("standardize", fnn.standardize, jax.nn.standardize),
]


def test_jvp():
    """Ours eagerly case by case, JAX's jvps in one jax.jit."""
    x = _normal((3, 5), np.float32, seed=2)  # no exact zeros: relu-like kinks differ at 0
    t = _normal((3, 5), np.float32, seed=3)
    assert_cases_jvp_matches([(name, ours, theirs, (x,), (t,))
                              for name, ours, theirs in TRANSFORM_CASES],
                             rtol=1e-5, atol=1e-5, eager_every=EAGER_EVERY)


def test_vmap():
    """Ours eagerly case by case, JAX's vmaps in one jax.jit."""
    x = _normal((3, 4, 5), np.float32, seed=4)
    assert_cases_vmap_matches([(name, ours, theirs, 1, (x,))
                               for name, ours, theirs in TRANSFORM_CASES], eager_every=EAGER_EVERY)


def test_vmap_one_hot():
    idx = np.array([[0, 2], [1, 4], [3, 3]], np.int32)
    assert_vmap_matches(lambda i: fnn.one_hot(i, 5), lambda i: jax.nn.one_hot(i, 5), 1, idx)
