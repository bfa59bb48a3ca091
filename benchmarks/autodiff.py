"""Autodiff benchmarks: ours / JAX ratios measured in one run (issue: autodiff).

Prints: trace time of make_graph(grad(f)) vs jax.make_jaxpr(jax.grad(f)) on a
2000-equation f (fresh functions, no cache), the equation counts of both graphs
for the MLP and attention examples, and the steady-state jit(grad(mlp_loss))
step at B=256.
Run: ``.venv/bin/python benchmarks/autodiff.py``.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np
import jax
import jax.numpy as jnp

import fx
import primitives.numpy as fnp
import primitives.nn as fnn
import transforms as T
from _timing import compare, report
from core import chain, mlp_params, mlp


def scalar_chain(ops):
    f = chain(ops[:3])
    return lambda x, y: ops[3](f(x, y))


def count_jaxpr(jaxpr) -> int:
    return len(jaxpr.jaxpr.eqns)


def mlp_loss(np_, nn_, params, x, y):
    logp = mlp(np_, nn_, params, x)
    return -np_.mean(np_.sum(logp * nn_.one_hot(y, 10), axis=-1))


def attention_loss(np_, nn_, q, k, v):
    s = q @ np_.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    return np_.sum(nn_.softmax(s, axis=-1) @ v)


def main():
    rows = []
    x = jnp.ones((8, 8))
    ours = lambda: fx.make_graph(T.grad(scalar_chain((fnp.sin, fnp.multiply, fnp.add, fnp.sum))))(x, x)
    theirs = lambda: jax.make_jaxpr(jax.grad(scalar_chain((jnp.sin, jnp.multiply, jnp.add, jnp.sum))))(x, x)
    n_o, n_t = len(ours().equations), count_jaxpr(theirs())
    rows.append((f"trace grad of 2000-eqn f ({n_o} vs {n_t} eqns)", *compare(ours, theirs, 1, 5), 1.0))

    rng = np.random.default_rng(0)
    params = mlp_params(0)
    xb = jnp.asarray(rng.normal(size=(256, 64)), jnp.float32)
    yb = jnp.asarray(rng.integers(0, 10, size=256), jnp.int32)
    go = T.jit(T.grad(lambda p, x, y: mlp_loss(fnp, fnn, p, x, y)))
    gj = jax.jit(jax.grad(lambda p, x, y: mlp_loss(jnp, jax.nn, p, x, y)))
    rows.append(("jit(grad(mlp_loss)) step, B=256", *compare(lambda: go(params, xb, yb),
                                                              lambda: gj(params, xb, yb), 100, 9), 1.03))
    print(f"jax {jax.__version__}, backend {jax.default_backend()}")
    report(rows)

    q, k, v = (jnp.asarray(rng.normal(size=s), jnp.float32) for s in [(16, 8), (32, 8), (32, 4)])
    for name, fo, fj, args in [
            ("MLP loss", lambda p, x, y: mlp_loss(fnp, fnn, p, x, y),
             lambda p, x, y: mlp_loss(jnp, jax.nn, p, x, y), (params, xb, yb)),
            ("attention", lambda q, k, v: attention_loss(fnp, fnn, q, k, v),
             lambda q, k, v: attention_loss(jnp, jax.nn, q, k, v), (q, k, v))]:
        n_ours = len(fx.make_graph(T.grad(fo))(*args).equations)
        n_jax = count_jaxpr(jax.make_jaxpr(jax.grad(fj))(*args))
        print(f"equations in grad graph, {name}: ours {n_ours}, jax {n_jax}, "
              f"ratio {n_ours / n_jax:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
