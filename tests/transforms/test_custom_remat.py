"""custom_jvp / custom_vjp and checkpoint policies."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fx
import primitives.nn as fnn
import primitives.numpy as fnp
import transforms as T
from fx.errors import FxTypeError
from oracle import assert_trees_close

X = np.linspace(-2.0, 2.0, 7).astype(np.float32)


def make_custom_jvp():
    @T.custom_jvp
    def f(x):
        return fnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), 2.0 * fnp.cos(x) * t   # deliberately 2x the true derivative
    return f


def test_custom_jvp_rule_is_used_everywhere():
    f = make_custom_jvp()
    expected = 2.0 * np.cos(X)
    g = lambda x: fnp.sum(f(x))
    assert_trees_close(T.grad(g)(X), expected, rtol=1e-6)
    assert_trees_close(T.jit(T.grad(g))(X), expected, rtol=1e-6)
    assert_trees_close(T.grad(T.jit(g))(X), expected, rtol=1e-6)
    assert_trees_close(T.jvp(f, (X,), (np.ones_like(X),))[1], expected, rtol=1e-6)
    assert_trees_close(T.vmap(T.grad(lambda x: f(x)))(X), expected, rtol=1e-6)
    assert_trees_close(T.jacrev(f)(X), np.diag(expected), rtol=1e-6)
    assert_trees_close(T.jacfwd(f)(X), np.diag(expected), rtol=1e-6)
    # the rule survives a round trip through the IR
    gr = fx.make_graph(f)(X)
    assert any(e.primitive.name == "custom_jvp_call" for e in gr.equations)
    assert_trees_close(T.grad(lambda x: fnp.sum(fx.graph_to_fn(gr)(x)))(X), expected, rtol=1e-6)


def test_custom_jvp_defjvps_and_nondiff_argnums():
    @T.custom_jvp
    def scale(x, y):
        return x * y
    scale.defjvps(lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t)
    assert_trees_close(T.grad(scale, argnums=(0, 1))(2.0, 3.0), (np.float32(3.0), np.float32(2.0)))

    from functools import partial

    @partial(T.custom_jvp, nondiff_argnums=(0,))
    def app(n, x):
        return x ** n

    @app.defjvp
    def app_jvp(n, primals, tangents):
        (x,), (t,) = primals, tangents
        return app(n, x), n * x ** (n - 1) * t
    assert_trees_close(T.grad(lambda x: app(3, x))(2.0), np.float32(12.0))


def make_custom_vjp():
    @T.custom_vjp
    def f(x, y):
        return fnp.sin(x) * y

    def fwd(x, y):
        return f(x, y), {"cos": fnp.cos(x), "sin": fnp.sin(x), "y": y}

    def bwd(res, ct):
        return (res["cos"] * res["y"] * ct * 3.0, res["sin"] * ct)  # 3x on purpose
    f.defvjp(fwd, bwd)
    return f


def test_custom_vjp_under_grad_jit_vmap():
    f = make_custom_vjp()
    loss = lambda x, y: fnp.sum(f(x, y))
    gx, gy = T.grad(loss, argnums=(0, 1))(X, X)
    assert_trees_close(gx, 3.0 * np.cos(X) * X, rtol=1e-6)
    assert_trees_close(gy, np.sin(X), rtol=1e-6)
    assert_trees_close(T.jit(T.grad(loss))(X, X), 3.0 * np.cos(X) * X, rtol=1e-6)
    assert_trees_close(T.jacrev(f)(X, X), np.diag(3.0 * np.cos(X) * X), rtol=1e-6)


def test_custom_vjp_in_forward_mode_is_a_clear_error():
    f = make_custom_vjp()
    with pytest.raises(FxTypeError, match="forward-mode.*custom_vjp"):
        T.jacfwd(f)(X, X)


def test_custom_vjp_bwd_wrong_structure():
    @T.custom_vjp
    def f(x, y):
        return x * y
    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, ct: res[1] * ct)  # not a tuple
    with pytest.raises(FxTypeError, match="bwd of f must return a tuple.*one cotangent"):
        T.grad(f)(1.0, 2.0)


def test_safe_numerics():
    big = np.array([1000.0, -1000.0, 0.0], np.float32)
    assert np.all(np.isfinite(np.asarray(T.grad(lambda x: fnp.sum(fnn.softplus(x)))(big))))
    assert np.all(np.isfinite(np.asarray(T.grad(lambda x: fnn.logsumexp(x))(big))))
    # at the kink, as JAX: sqrt'(0) = inf, so a norm's gradient at 0 is NaN
    z = np.zeros(3, np.float32)
    assert float(T.grad(fnp.sqrt)(0.0)) == float(jax.grad(jnp.sqrt)(0.0)) == np.inf
    for ours, theirs in ((fnp.linalg.norm, jnp.linalg.norm),
                         (lambda x: fnp.sqrt(fnp.sum(x * x)), lambda x: jnp.sqrt(jnp.sum(x * x)))):
        np.testing.assert_array_equal(np.asarray(T.grad(ours)(z)), np.asarray(jax.grad(theirs)(z)))


# --- checkpoint --------------------------------------------------------------
def block(w1, w2, x):
    h = fnp.tanh(x @ w1)
    return fnp.sum(fnp.sin(h @ w2))


def block_j(w1, w2, x):
    h = jnp.tanh(x @ w1)
    return jnp.sum(jnp.sin(h @ w2))


ARGS = (np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32),
        np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32),
        np.random.default_rng(2).normal(size=(2, 4)).astype(np.float32))


@pytest.mark.parametrize("policy", [None, T.checkpoint_policies.everything_saveable,
                                    T.checkpoint_policies.dots_saveable,
                                    T.checkpoint_policies.nothing_saveable])
def test_checkpoint_gradients_equal(policy):
    f = T.checkpoint(block, policy=policy)
    assert_trees_close(T.grad(f, argnums=(0, 1, 2))(*ARGS),
                       jax.grad(block_j, argnums=(0, 1, 2))(*ARGS), rtol=1e-5, atol=1e-6)
    assert_trees_close(T.jit(T.grad(f))(*ARGS), jax.grad(block_j)(*ARGS), rtol=1e-5, atol=1e-6)


def _sources(res):
    return sorted(r.source.split(" at ")[0] for r in res)


def test_saved_residuals_follow_policy():
    nothing = T.saved_residuals(T.checkpoint(block), *ARGS)
    assert all(r.source.startswith("from argument") for r in nothing), nothing
    dots = T.saved_residuals(T.checkpoint(block, policy=T.checkpoint_policies.dots_saveable), *ARGS)
    assert any("output of dot_general" in r.source for r in dots)
    assert not any("output of tanh" in r.source or "output of sin" in r.source for r in dots)
    plain = T.saved_residuals(block, *ARGS)
    assert any("output of tanh" in r.source or "output of" in r.source for r in plain)
    assert len(nothing) < len(plain)


def test_custom_vjp_per_example_and_grad_of_vmap():
    f = make_custom_vjp()
    per_ex = T.vmap(T.grad(lambda x, y: f(x, y)), in_axes=(0, None))(X, np.float32(2.0))
    assert_trees_close(per_ex, 3.0 * np.cos(X) * 2.0, rtol=1e-6)
    g = T.grad(lambda x: fnp.sum(T.vmap(f, in_axes=(0, None))(x, np.float32(2.0))))(X)
    assert_trees_close(g, 3.0 * np.cos(X) * 2.0, rtol=1e-6)
