"""custom_jvp / custom_vjp rules run on concrete values under eager grad / jvp,
as in JAX: Python control flow on values inside the function and its rules."""
import jax
import jax.numpy as jnp
import pytest

import primitives.numpy as fnp
from fx.errors import ConcretizationError
from transforms import custom_jvp, custom_vjp, grad, jit, jvp, vmap
from tests.oracle import assert_trees_close


def _jvp_pair(lib, np_):
    @lib.custom_jvp
    def f(x):
        return np_.sin(x) if x > 0 else x          # control flow in the function

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        scale = 2.0 if x > 1 else 1.0                 # ... and in its rule
        return f(x), scale * np_.cos(x) * t
    return f


def _vjp_pair(lib, np_):
    @lib.custom_vjp
    def g(x, y):
        return np_.sin(x) * y if x > 0 else x * y

    def fwd(x, y):
        return g(x, y), (x, y)

    def bwd(res, ct):
        x, y = res
        k = 3.0 if x > 1 else 1.0
        return k * ct * y, ct * x
    g.defvjp(fwd, bwd)
    return g


class _Jax:
    custom_jvp, custom_vjp = jax.custom_jvp, jax.custom_vjp


class _Ours:
    custom_jvp, custom_vjp = custom_jvp, custom_vjp


def test_rules_see_concrete_values_under_eager_grad_and_jvp():
    f_ours, f_jax = _jvp_pair(_Ours, fnp), _jvp_pair(_Jax, jnp)
    g_ours, g_jax = _vjp_pair(_Ours, fnp), _vjp_pair(_Jax, jnp)
    for x in (2.0, 0.5, -1.0):
        assert_trees_close(grad(f_ours)(x), jax.grad(f_jax)(x))
        assert_trees_close(jvp(f_ours, (x,), (1.0,)), jax.jvp(f_jax, (x,), (1.0,)))
        assert_trees_close(grad(g_ours, argnums=(0, 1))(x, 3.0),
                           jax.grad(g_jax, argnums=(0, 1))(x, 3.0))
        both = lambda h, k: lambda x: h(x) * k(x, x)  # noqa: E731
        assert_trees_close(grad(both(f_ours, g_ours))(x), jax.grad(both(f_jax, g_jax))(x))


def test_under_jit_values_are_abstract_as_in_jax():
    f_ours, f_jax = _jvp_pair(_Ours, fnp), _jvp_pair(_Jax, jnp)
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(jax.grad(f_jax))(2.0)
    with pytest.raises(ConcretizationError):
        jit(grad(f_ours))(2.0)


def test_rules_without_control_flow_under_every_transform():
    h = custom_jvp(lambda x: fnp.sin(x))
    h.defjvp(lambda p, t: (h(p[0]), 5.0 * t[0]))
    hj = jax.custom_jvp(lambda x: jnp.sin(x))
    hj.defjvp(lambda p, t: (hj(p[0]), 5.0 * t[0]))
    x = jnp.linspace(0.1, 1.0, 3)
    assert_trees_close(jit(vmap(grad(h)))(x), jax.vmap(jax.grad(hj))(x))
    assert_trees_close(grad(grad(h))(1.0), jax.grad(jax.grad(hj))(1.0))


def test_defjvps_returns_none_as_jax():
    h = custom_jvp(lambda x: fnp.sin(x))
    hj = jax.custom_jvp(lambda x: jnp.sin(x))
    assert h.defjvps(lambda t, ans, x: t) is None
    assert hj.defjvps(lambda t, ans, x: t) is None
    assert grad(h)(1.0) == 1.0
