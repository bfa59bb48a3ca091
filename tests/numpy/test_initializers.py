"""primitives.nn.initializers: the same bits as jax.nn.initializers for the same key."""
import jax
import numpy as np
import pytest

import primitives.nn as fnn
import primitives.random as frandom
from fx.errors import FxTypeError
from transforms import jit

BUILDERS = [
    ("normal", lambda m: m.normal(0.5)), ("uniform", lambda m: m.uniform(2.0)),
    ("truncated_normal", lambda m: m.truncated_normal(0.3, lower=-1.5, upper=2.5)),
    ("constant", lambda m: m.constant(-7.0)), ("zeros", lambda m: m.zeros),
    ("ones", lambda m: m.ones),
    ("glorot_uniform", lambda m: m.glorot_uniform()), ("glorot_normal", lambda m: m.glorot_normal()),
    ("lecun_uniform", lambda m: m.lecun_uniform()), ("lecun_normal", lambda m: m.lecun_normal()),
    ("he_uniform", lambda m: m.he_uniform()), ("he_normal", lambda m: m.he_normal()),
    ("conv_fan_out", lambda m: m.variance_scaling(2.0, "fan_out", "normal")),
    ("geo_avg_axes", lambda m: m.variance_scaling(0.5, "fan_geo_avg", "uniform", in_axis=(0, 1),
                                                  out_axis=-1, batch_axis=2)),
]
SHAPES = [(64, 32), (3, 3, 16, 8), (5, 4, 2, 7)]


# jax's aliases are the same functions; ours must be too (their bits are then tested above)
ALIASES = [("xavier_uniform", "glorot_uniform"), ("xavier_normal", "glorot_normal"),
           ("kaiming_uniform", "he_uniform"), ("kaiming_normal", "he_normal")]


def test_bits_equal_jax_for_every_initializer_shape_and_dtype():
    for alias, name in ALIASES:
        assert getattr(jax.nn.initializers, alias) is getattr(jax.nn.initializers, name)
        assert getattr(fnn.initializers, alias) is getattr(fnn.initializers, name), alias
    key = jax.random.PRNGKey(42)
    for name, build in BUILDERS:
        for shape in SHAPES if name != "geo_avg_axes" else SHAPES[1:]:
            for dtype in (None, np.float32, jax.numpy.bfloat16, np.float16):
                ours = build(fnn.initializers)(frandom.PRNGKey(42), shape, dtype)
                theirs = build(jax.nn.initializers)(key, shape, dtype)
                assert ours.dtype == theirs.dtype, (name, shape, dtype)
                np.testing.assert_array_equal(np.asarray(ours, np.float32),
                                              np.asarray(theirs, np.float32),
                                              err_msg=f"{name} {shape} {dtype}")


def test_bad_input_as_jax():
    with pytest.raises(ValueError, match="at least 2D"):
        jax.nn.initializers.glorot_uniform()(jax.random.PRNGKey(0), (5,))
    with pytest.raises(ValueError, match="at least 2D"):
        fnn.initializers.glorot_uniform()(frandom.PRNGKey(0), (5,))
    with pytest.raises(ValueError, match="invalid mode"):
        fnn.initializers.variance_scaling(1.0, "fan_wrong", "normal")(frandom.PRNGKey(0), (3, 3))
    with pytest.raises(FxTypeError, match="real floating"):
        fnn.initializers.normal()(frandom.PRNGKey(0), (3,), np.int32)


def test_orthogonal_bits_equal_jax():
    """orthogonal / delta_orthogonal: the same normal draw, QR and sign fix as JAX
    (both sides jitted: one compile per case instead of one per op)."""
    key = jax.random.PRNGKey(7)
    for name, kw, shapes in [
        ("orthogonal", {}, [(4, 3), (2, 3, 5)]),
        ("orthogonal", dict(scale=2.0, column_axis=0), [(5, 2, 3)]),
        ("delta_orthogonal", {}, [(3, 2, 3, 4)]),
        ("delta_orthogonal", dict(scale=0.5, column_axis=-2), [(3, 4, 4)]),
    ]:
        for shape in shapes:
            for dtype in (None,):
                ours = jit(lambda k: getattr(fnn.initializers, name)(**kw)(k, shape, dtype))(
                    frandom.PRNGKey(7))
                theirs = jax.jit(lambda k: getattr(jax.nn.initializers, name)(**kw)(
                    k, shape, dtype))(key)
                assert ours.dtype == theirs.dtype, (name, shape, dtype)
                np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs),
                                              err_msg=f"{name} {kw} {shape} {dtype}")
    with pytest.raises(ValueError, match="at least a 2D shape"):
        fnn.initializers.orthogonal()(frandom.PRNGKey(0), (3,))
    with pytest.raises(ValueError, match="3D, 4D or 5D"):
        fnn.initializers.delta_orthogonal()(frandom.PRNGKey(0), (3, 3))
    with pytest.raises(ValueError, match="fan_in"):
        fnn.initializers.delta_orthogonal()(frandom.PRNGKey(0), (3, 4, 3))
