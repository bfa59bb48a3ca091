"""Collectives over a vmap axis inside control-flow, remat and custom-rule bodies:
the bodies are batched under the axis name, so ``psum(x, 'i')`` inside ``scan``,
``cond``, ``while_loop``, ``checkpoint``, ``custom_jvp`` and ``custom_vjp`` reduces
over the mapped axis exactly as under ``jax.vmap`` (values, under jit, and grads)."""
from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp
import pytest
from jax import lax

import primitives as P
import primitives.numpy as fnp
import transforms as T
from primitives.control_flow import cond, scan, while_loop
from oracle import assert_trees_close

X = np.arange(12.0, dtype=np.float32).reshape(3, 4) / 7.0


def _scan(ns, psum):
    scan_ = scan if ns is fnp else lax.scan
    return lambda v: scan_(lambda c, xi: (c + psum(xi * c, "i"), c), v[0] + 1.0, v)[0]


def _cond_batched_pred(ns, psum):
    cond_ = cond if ns is fnp else lax.cond
    return lambda v: cond_(v[0] > 0.5, lambda u: psum(u, "i") * 2.0, lambda u: u - 1.0, v)


def _cond_unbatched_pred(ns, psum):
    cond_ = cond if ns is fnp else lax.cond
    return lambda v: cond_(True, lambda u: ns.sin(psum(u, "i")), lambda u: u, v)


def _while(ns, psum):
    loop = while_loop if ns is fnp else lax.while_loop

    def f(v):
        def body(c):
            k, x = c
            return k + 1, x + psum(x, "i") / 10.0
        return loop(lambda c: c[0] < 3, body, (0, v))[1]
    return f


def _remat(ns, psum):
    ckpt = T.checkpoint if ns is fnp else jax.checkpoint
    return lambda v: ckpt(lambda u: ns.tanh(u - psum(u, "i") / 3.0))(v)


def _custom_jvp(ns, psum):
    cj = T.custom_jvp if ns is fnp else jax.custom_jvp

    @cj
    def f(u):
        return u * psum(u, "i")

    @f.defjvp
    def f_jvp(primals, tangents):
        (u,), (t,) = primals, tangents
        s = psum(u, "i")
        return u * s, t * s + u * psum(t, "i")
    return f


def _custom_vjp(ns, psum):
    cv = T.custom_vjp if ns is fnp else jax.custom_vjp

    @cv
    def f(u):
        return u * psum(u, "i")

    def fwd(u):
        return u * psum(u, "i"), u

    def bwd(u, g):
        return (g * psum(u, "i") + psum(g * u, "i"),)
    f.defvjp(fwd, bwd)
    return f


CASES = {"scan": _scan, "cond, batched predicate": _cond_batched_pred,
         "cond, unbatched predicate": _cond_unbatched_pred, "while_loop": _while,
         "checkpoint": _remat, "custom_jvp": _custom_jvp, "custom_vjp": _custom_vjp}


@pytest.mark.parametrize("name", list(CASES))
def test_values_match_jax(name):
    ours = T.vmap(CASES[name](fnp, P.psum), axis_name="i")
    theirs = jax.vmap(CASES[name](jnp, lax.psum), axis_name="i")
    want = theirs(X)
    assert_trees_close(ours(X), want, rtol=1e-5)
    assert_trees_close(T.jit(ours)(X), want, rtol=1e-5)


@pytest.mark.parametrize("name", ["scan", "checkpoint", "custom_jvp", "custom_vjp"])
def test_grads_match_jax(name):
    def loss(make, ns, psum, vmap, v):
        return ns.sum(vmap(make(ns, psum), axis_name="i")(v) ** 2)
    ours = T.grad(lambda v: loss(CASES[name], fnp, P.psum, T.vmap, v))(X)
    theirs = jax.grad(lambda v: loss(CASES[name], jnp, lax.psum, jax.vmap, v))(X)
    assert_trees_close(ours, theirs, rtol=1e-4)


def test_unmapped_operand_inside_body_counts_the_axis():
    """psum of an unmapped value over 'i' inside a body is axis_size * value, even
    when no operand of the scan is mapped (as JAX)."""
    def make(scan_, psum):
        return lambda v: v + scan_(lambda c, _: (c + psum(1.0, "i"), None), 0.0, None,
                                   length=2)[0]
    ours = T.vmap(make(scan, P.psum), axis_name="i")(X)
    theirs = jax.vmap(make(lax.scan, lax.psum), axis_name="i")(X)
    assert_trees_close(ours, theirs)


def test_nested_vmaps_reduce_over_the_named_axis_only():
    def make(scan_, psum, vmap):
        inner = lambda v: scan_(lambda c, xi: (c + psum(xi, "j"), None), 0.0, v)[0]  # noqa: E731
        return vmap(vmap(inner, axis_name="j"), axis_name="i")
    x = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    assert_trees_close(make(scan, P.psum, T.vmap)(x), make(lax.scan, lax.psum, jax.vmap)(x))
