"""jit / make_graph / checkpoint resolve static and donated arguments through the
signature, as jax.jit: same errors (class), same caching by value."""
import jax
import jax.numpy as jnp
import pytest

import fx
from transforms import checkpoint, grad, jit


def f(x, n, *, k=1):
    return x * n * k


@pytest.mark.parametrize("kw", [dict(static_argnums=3), dict(static_argnums=-3),
                                dict(static_argnames="z"), dict(donate_argnums=5)],
                         ids=["argnum", "negative", "argname", "donate"])
def test_bad_static_or_donated_args_raise_at_once_like_jax(kw):
    with pytest.raises(ValueError):
        jax.jit(f, **kw)
    with pytest.raises(ValueError, match=r"f\(x, n, \*, k=1\)"):
        jit(f, **kw)


def test_static_argnames_covers_positional_and_argnums_covers_keyword():
    x = jnp.ones(3)
    for kw in (dict(static_argnames="n"), dict(static_argnums=1)):
        ours, theirs = jit(f, **kw), jax.jit(f, **kw)
        for call in (lambda g: g(x, 2), lambda g: g(x, n=2), lambda g: g(x, 3)):
            assert jnp.array_equal(call(ours), call(theirs))
        # a Python int that is static can drive Python control flow
        assert jit(lambda x, n: x * n if n > 1 else -x, **kw)(x, n=2)[0] == 2.0
    # negative numbers count from the end of the positional parameters (jax counts
    # from the end of each call's positional arguments: the same for these calls)
    assert jnp.array_equal(jit(f, static_argnums=-1)(x, 2), jax.jit(f, static_argnums=-1)(x, 2))
    g = jit(f, static_argnames="k")
    assert g(x, 2.0, k=3)[0] == 6.0 and g(x, 2.0, k=4)[0] == 8.0 and g.traces == 2


def test_jit_of_non_callable_is_a_type_error():
    with pytest.raises(TypeError, match="Expected a callable"):
        jax.jit(1)
    with pytest.raises(TypeError, match="Expected a callable"):
        jit(1)


def test_make_graph_and_checkpoint_check_static_argnums():
    with pytest.raises(ValueError, match="make_graph: static_argnums=.4,"):
        fx.make_graph(f, static_argnums=4)
    with pytest.raises(ValueError, match="checkpoint: static_argnums=.4,"):
        checkpoint(f, static_argnums=4)
    g = fx.make_graph(f, static_argnums=-1)(jnp.ones(2), 3)
    assert len(g.in_avals) == 1
    h = checkpoint(lambda x, n: x ** n, static_argnums=1)
    assert grad(lambda x: h(x, 3))(2.0) == jax.grad(lambda x: x ** 3)(2.0)
