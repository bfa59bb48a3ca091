"""Bad input gets a typed error naming the op, shapes and the user's line."""
import jax.numpy as jnp
import pytest

import fx
import primitives as P
from fx.errors import (ConcretizationError, ForeignFunctionError, ShapeError,
                       UnexpectedTracerError, UnsupportedInputError)
from transforms import jit


def test_shape_mismatch_in_add_names_op_shapes_and_line():
    def f(x, y):
        return P.add(x, y)  # ADD LINE
    with pytest.raises(ShapeError) as e:
        jit(f)(jnp.ones(3), jnp.ones(4))
    msg = str(e.value)
    assert "add" in msg and "f32[3]" in msg and "f32[4]" in msg
    assert "test_errors.py" in msg and "(f)" in msg


def test_eager_shape_error_is_typed_and_located():
    with pytest.raises(ShapeError, match=r"f32\[3\], f32\[4\][\s\S]*test_errors.py"):
        P.add(jnp.ones(3), jnp.ones(4))


def test_bool_of_traced_value_under_jit():
    def f(x):
        if x > 0:
            return x
        return -x
    with pytest.raises(ConcretizationError, match="static_argnums[\\s\\S]*cond"):
        jit(lambda x: P.sin(x) if P.lt(0.0, x) else x)(1.0)


def test_int_of_traced_value():
    with pytest.raises(ConcretizationError, match=r"int\(\)"):
        fx.make_graph(lambda x: int(x))(1.0)


def test_leaked_tracer_used_later():
    box = []

    def f(x):
        box.append(P.sin(x))
        return x
    fx.make_graph(f)(1.0)
    with pytest.raises(UnexpectedTracerError, match="escaped"):
        P.mul(box[0], 2.0)
    with pytest.raises(UnexpectedTracerError):
        fx.make_graph(lambda y: P.mul(box[0], y))(1.0)


def test_jax_numpy_on_our_tracer_says_what_to_use():
    with pytest.raises(ForeignFunctionError, match=r"`sin`[\s\S]*primitives.numpy.sin"):
        fx.make_graph(lambda x: jnp.sin(x))(jnp.ones(3))
    with pytest.raises(ForeignFunctionError, match="add"):
        fx.make_graph(lambda x: jnp.add(x, 1.0))(jnp.ones(3))


def test_unsupported_input_type():
    with pytest.raises(UnsupportedInputError, match="static_argnums"):
        fx.make_graph(lambda x: x)("a string")


def test_jax_array_mixed_with_tracer_uses_our_ops():
    c = jnp.ones(3)
    g = fx.make_graph(lambda x: c * x)(jnp.ones(3))
    assert [e.primitive.name for e in g.equations] == ["mul"]
