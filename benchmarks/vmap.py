"""vmap benchmarks: ours / JAX ratios measured in one run (issue: vmap).

Prints: tracing ``make_graph(vmap(f))`` vs ``jax.make_jaxpr(jax.vmap(f))`` on a
2000-equation f (fresh functions, so no cache; target <= 1.0x), and the
steady-state per-example gradients ``jit(vmap(grad(loss), in_axes=(None, 0, 0)))``
vs JAX on the MLP 64-256-256-10, B=256 (target <= 1.03x).
Run: ``.venv/bin/python benchmarks/vmap.py``.
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
import primitives.nn as fnn
import primitives.numpy as fnp
from transforms import grad, jit, vmap
from _timing import compare, report
from core import chain, mlp, mlp_params

B = 256


def bench_vmap_tracing():
    x = jnp.ones((B, 8), jnp.float32)
    ours = lambda: fx.make_graph(vmap(chain((fnp.sin, fnp.multiply, fnp.add))))(x, x)  # noqa: E731
    theirs = lambda: jax.make_jaxpr(jax.vmap(chain((jnp.sin, jnp.multiply, jnp.add))))(x, x)  # noqa: E731
    n_ours = len(ours().equations)
    n_jax = len(theirs().jaxpr.eqns)
    o, t = compare(ours, theirs, number=3, repeats=5)
    return [(f"trace vmap of {n_ours}-eqn fn (jax: {n_jax})", o, t, 1.0)]


def xent(np_, nn_, params, x, label):
    logp = mlp(np_, nn_, params, x)
    return -np_.sum(logp * nn_.one_hot(label, 10))


def bench_per_example_grads():
    params = mlp_params(0)
    rng = np.random.default_rng(1)
    xb = jnp.asarray(rng.normal(size=(B, 64)), jnp.float32)
    yb = jnp.asarray(rng.integers(0, 10, size=B), jnp.int32)
    fo = jit(vmap(grad(lambda p, x, y: xent(fnp, fnn, p, x, y)), in_axes=(None, 0, 0)))
    fj = jax.jit(jax.vmap(jax.grad(lambda p, x, y: xent(jnp, jax.nn, p, x, y)),
                          in_axes=(None, 0, 0)))
    ref, got = fj(params, xb, yb), fo(params, xb, yb)
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(ref)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    o, t = compare(lambda: fo(params, xb, yb), lambda: fj(params, xb, yb), 50, repeats=9)
    return [(f"jit(vmap(grad)) MLP 64-256-256-10, B={B}", o, t, 1.03)]


def main():
    rows = bench_vmap_tracing() + bench_per_example_grads()
    print(f"jax {jax.__version__}, backend {jax.default_backend()}, devices {jax.devices()}")
    report(rows)


if __name__ == "__main__":
    main()
