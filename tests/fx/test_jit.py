"""jit: one trace per signature, one XLA program, lowering, LRU graph cache."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest

import primitives as P
from transforms import jit, eval_shape
from oracle import assert_trees_close


def test_retrace_exactly_when_signature_changes():
    f = jit(lambda x, y: P.add(P.sin(x), y))
    x = jnp.ones(3)
    f(x, x); f(x, x); f(jnp.zeros(3), x)
    assert f.traces == 1
    f(jnp.ones(4), jnp.ones(4))                       # shape
    assert f.traces == 2
    f(jnp.ones(3, jnp.bfloat16), jnp.ones(3, jnp.bfloat16))  # dtype
    assert f.traces == 3
    f(x, x)                                           # back to a seen signature
    assert f.traces == 3


def test_retrace_on_static_value_and_pytree_structure():
    f = jit(lambda d, n: P.mul(d["a"], float(n)), static_argnums=1)
    x = jnp.ones(2)
    f({"a": x}, 2); f({"a": x}, 2)
    assert f.traces == 1
    f({"a": x}, 3)
    assert f.traces == 2
    g = jit(lambda t: P.sin(t[0]))
    g((x,)); g([x])
    assert g.traces == 2


def test_static_argnames_and_kwargs():
    f = jit(lambda x, *, scale: P.mul(x, scale), static_argnames="scale")
    assert_trees_close(f(jnp.ones(2), scale=3.0), jnp.full(2, 3.0))
    assert_trees_close(f(jnp.ones(2), scale=3.0), jnp.full(2, 3.0))
    assert f.traces == 1


def test_whole_graph_is_one_program():
    f = jit(lambda x: P.sin(P.mul(x, x)))
    text = f.lower(jnp.ones(3)).as_text()
    assert "stablehlo.sine" in text and "stablehlo.multiply" in text
    assert text.count("func.func") == 1  # one program, no per-op calls
    compiled = f.lower(jnp.ones(3)).compile()
    assert_trees_close(compiled(jnp.ones(3)), jnp.sin(jnp.ones(3)))


def test_jit_runs_dce_and_cse():
    f = jit(lambda x: (P.mul(P.sin(x), P.sin(x)), P.add(x, 1.0))[0])
    g = f.graph(jnp.ones(3))
    assert [e.primitive.name for e in g.equations] == ["sin", "mul"]


def test_donate_argnums_accepted():
    f = jit(lambda x: P.add(x, 1.0), donate_argnums=0)
    assert_trees_close(f(jnp.ones(3)), jnp.full(3, 2.0))


def test_eval_shape():
    out = eval_shape(lambda x, y: {"z": P.mul(x, y)}, jax.ShapeDtypeStruct((2, 3), jnp.float32),
                     jnp.ones((2, 3)))
    assert out["z"].shape == (2, 3) and out["z"].dtype == jnp.float32


def test_graph_cache_is_bounded(monkeypatch):
    import sys
    tj = sys.modules["transforms.jit"]
    monkeypatch.setattr(tj, "_GRAPH_CACHE_SIZE", 2)
    f = jit(lambda x: P.sin(x))
    for n in range(1, 5):
        f(jnp.ones(n))
    assert len(f._graphs) == 2 and f.traces == 4


def test_jit_accepts_numpy_and_python_scalars():
    f = jit(lambda x, y: P.mul(x, y))
    assert_trees_close(f(np.ones(3, np.float32), 2.0), jnp.full(3, 2.0))


def test_compiler_options_reach_xla():
    """As jax.jit: the options apply to this function's compilations; a wrong
    option name is XLA's error, not a silent no-op."""
    x = jnp.arange(12.0)
    f = jit(lambda v: P.sin(v) * 2.0, compiler_options={"xla_cpu_prefer_vector_width": 512})
    want = jax.jit(lambda v: jnp.sin(v) * 2.0,
                   compiler_options={"xla_cpu_prefer_vector_width": 512})(x)
    np.testing.assert_array_equal(f(x), want)
    with pytest.raises(Exception, match="no_such_xla_option"):
        jit(lambda v: P.add(v, 1.0), compiler_options={"no_such_xla_option": 1})(x)
