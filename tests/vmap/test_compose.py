"""vmap composed with the other transformations, against the same composition in JAX:
vmap of grad, grad of vmap, jit of vmap of grad, vmap of vmap (named axes and
collectives), vmap of jit, jvp of vmap, jacfwd/jacrev/hessian (built on vmap),
custom_vjp and checkpoint under vmap. JAX's side runs under jax.jit (one compile
instead of one per op of its eager transformations); ours eagerly where it did."""
from __future__ import annotations

import numpy as np
import pytest
import jax
import jax.numpy as jnp
from jax import lax

import primitives as P
import primitives.numpy as fnp
from corpus import f32, jax_ns, mlp, mlp_params, ours_ns
from oracle import assert_trees_close
from transforms import (checkpoint, custom_vjp, grad, hessian, jacfwd, jacrev, jit, jvp, vmap)

OURS, THEIRS = ours_ns(), jax_ns()
RNG = np.random.default_rng(0)
PARAMS = mlp_params(RNG)
XS = f32(RNG, 5, 6)
YS = f32(RNG, 5, 4)


def loss(ns, p, x, y):
    return ns.np.sum((mlp(ns, p, x) - y) ** 2)


def ours_loss(p, x, y):
    return loss(OURS, p, x, y)


def jax_loss(p, x, y):
    return loss(THEIRS, p, x, y)


def test_vmap_of_grad_argnums_and_out_axes():
    got = vmap(grad(ours_loss, argnums=(0, 1)), in_axes=(None, 0, 0), out_axes=(0, 1))(
        PARAMS, XS, YS)
    exp = jax.jit(jax.vmap(jax.grad(jax_loss, argnums=(0, 1)), in_axes=(None, 0, 0),
                           out_axes=(0, 1)))(PARAMS, XS, YS)
    assert_trees_close(got, exp, 1e-5, 1e-5)


def test_grad_of_vmap():
    def mean_loss(ns, vm, p):
        return ns.np.mean(vm(lambda p, x, y: loss(ns, p, x, y), in_axes=(None, 0, 0))(p, XS, YS))
    assert_trees_close(grad(lambda p: mean_loss(OURS, vmap, p))(PARAMS),
                       jax.jit(jax.grad(lambda p: mean_loss(THEIRS, jax.vmap, p)))(PARAMS),
                       1e-5, 1e-5)


def test_jit_of_vmap_of_grad_and_vmap_of_jit():
    f = jit(vmap(grad(ours_loss), in_axes=(None, 0, 0)))
    exp = jax.jit(jax.vmap(jax.grad(jax_loss), in_axes=(None, 0, 0)))(PARAMS, XS, YS)
    assert_trees_close(f(PARAMS, XS, YS), exp, 1e-5, 1e-5, what="jit(vmap(grad))")
    assert_trees_close(vmap(jit(grad(ours_loss)), in_axes=(None, 0, 0))(PARAMS, XS, YS), exp,
                       1e-5, 1e-5, what="vmap(jit(grad))")
    g = jit(lambda x, n: fnp.sum(x ** n), static_argnums=1)
    assert_trees_close(vmap(lambda x: g(x, 3))(XS), jax.vmap(lambda x: jnp.sum(x ** 3))(XS),
                       1e-5, 1e-5, what="vmap(jit static)")


def test_vmap_of_vmap_with_grad_and_collectives():
    """Two named axes, gradients inside both, collectives over each axis."""
    xs = f32(RNG, 2, 3, 4)

    def f(ns, x):
        centered = x - ns.lax.pmean(x, "batch")
        return ns.np.sum(centered ** 2) + ns.lax.psum(ns.np.sum(x), ("batch", "model"))

    def build(vm, gr, ns):
        inner = vm(gr(lambda x: f(ns, x)), axis_name="model", in_axes=1, out_axes=1)
        return vm(inner, axis_name="batch")

    got = build(vmap, grad, OURS)(xs)
    exp = jax.jit(build(jax.vmap, jax.grad, THEIRS))(xs)
    assert_trees_close(got, exp, 1e-5, 1e-5, what="vmap(vmap(grad))")
    assert_trees_close(jit(build(vmap, grad, OURS))(xs), exp, 1e-5, 1e-5, what="jit")


def test_jvp_of_vmap_and_vmap_of_jvp():
    f = lambda ns: (lambda x: ns.np.tanh(x) @ ns.np.ones((6, 3), np.float32))  # noqa: E731
    t = f32(RNG, 5, 6)
    exp_jvp_vmap, exp_vmap_jvp = jax.jit(lambda xs, t: (  # JAX's: one compile
        jax.jvp(jax.vmap(f(THEIRS)), (xs,), (t,)),
        jax.vmap(lambda x, u: jax.jvp(f(THEIRS), (x,), (u,)))(xs, t)))(XS, t)
    assert_trees_close(jvp(vmap(f(OURS)), (XS,), (t,)), exp_jvp_vmap, 1e-5, 1e-5,
                       what="jvp(vmap)")
    assert_trees_close(vmap(lambda x, u: jvp(f(OURS), (x,), (u,)))(XS, t), exp_vmap_jvp,
                       1e-5, 1e-5, what="vmap(jvp)")


@pytest.mark.parametrize("name,ours,theirs", [
    ("jacrev", jacrev, jax.jacrev), ("jacfwd", jacfwd, jax.jacfwd), ("hessian", hessian,
                                                                     jax.hessian)])
def test_jacobians_built_on_vmap(name, ours, theirs):
    def f(ns, x, w):
        return ns.np.sin(x @ w) * ns.np.sum(x)
    x, w = f32(RNG, 3), f32(RNG, 3, 2)
    if name == "hessian":
        g = lambda ns: (lambda x: ns.np.sum(f(ns, x, w) ** 2))  # noqa: E731
        assert_trees_close(ours(g(OURS))(x), jax.jit(theirs(g(THEIRS)))(x), 1e-4, 1e-5)
        return
    assert_trees_close(ours(lambda x, w: f(OURS, x, w), argnums=(0, 1))(x, w),
                       jax.jit(theirs(lambda x, w: f(THEIRS, x, w), argnums=(0, 1)))(x, w),
                       1e-5, 1e-5)
    # per-example Jacobians: vmap of jacrev/jacfwd
    xs = f32(RNG, 4, 3)
    assert_trees_close(vmap(ours(lambda x: f(OURS, x, w)))(xs),
                       jax.jit(jax.vmap(theirs(lambda x: f(THEIRS, x, w))))(xs), 1e-5, 1e-5)


def test_custom_vjp_and_checkpoint_under_vmap():
    @custom_vjp
    def clip_grad(x):
        return x

    clip_grad.defvjp(lambda x: (x, None), lambda _, g: (fnp.clip(g, -0.1, 0.1),))

    @jax.custom_vjp
    def clip_grad_j(x):
        return x

    clip_grad_j.defvjp(lambda x: (x, None), lambda _, g: (jnp.clip(g, -0.1, 0.1),))

    def f(ns, clip, remat, x):
        return ns.np.sum(remat(lambda v: ns.np.sin(clip(v)) * v)(x) ** 2)

    got = vmap(grad(lambda x: f(OURS, clip_grad, checkpoint, x)))(XS)
    exp = jax.jit(jax.vmap(jax.grad(lambda x: f(THEIRS, clip_grad_j, jax.checkpoint, x))))(XS)
    assert_trees_close(got, exp, 1e-5, 1e-5)


def test_axis_size_without_mapped_inputs():
    got = vmap(lambda x: x * P.axis_index("i"), in_axes=None, axis_size=4, axis_name="i")(2.0)
    exp = jax.vmap(lambda x: x * lax.axis_index("i"), in_axes=None, axis_size=4,
                   axis_name="i")(2.0)
    assert_trees_close(got, exp)
