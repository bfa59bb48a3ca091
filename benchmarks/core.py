"""Core benchmarks: ours / JAX ratios measured in one run (issue: core).

Prints: eager op dispatch, jit cache-hit call, tracing a 2000-equation
function (fresh functions, so no cache), steady-state jitted MLP forward (B=256),
and jitted ``normal`` samples (the same bits; our CPU lowering of the threefry
hash is unrolled, jax's is a rolled loop).
Run: ``.venv/bin/python benchmarks/core.py``.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

import fx
import primitives as P
import primitives.numpy as fnp
import primitives.nn as fnn
import primitives.random as frandom
from transforms import jit
from _timing import compare, report

N_EQNS = 2000


def chain(ops):
    """A fresh function of N_EQNS equations built from ``ops`` = (sin, mul, add)."""
    sin, mul, add = ops

    def f(x, y):
        for i in range(N_EQNS // 3):
            x = add(mul(sin(x), y), x)
        return x
    return f


def bench_tracing():
    x = jnp.ones((8, 8))
    ours = lambda: fx.make_graph(chain((fnp.sin, fnp.multiply, fnp.add)))(x, x)
    theirs = lambda: jax.make_jaxpr(chain((jnp.sin, jnp.multiply, jnp.add)))(x, x)
    n_ours = len(ours().equations)
    n_jax = len(theirs().jaxpr.eqns)
    o, t = compare(ours, theirs, number=3, repeats=5)
    return [(f"trace {n_ours}-eqn fn (jax: {n_jax}) make_graph", o, t, 1.0)]


def mlp_params(key, sizes=(64, 256, 256, 10)):
    params = []
    rng = np.random.default_rng(0)
    for m, n in zip(sizes[:-1], sizes[1:]):
        params.append((jnp.asarray(rng.normal(size=(m, n)) / np.sqrt(m), jnp.float32),
                       jnp.zeros(n, jnp.float32)))
    return params


def mlp(np_, nn_, params, x):
    for w, b in params[:-1]:
        x = nn_.relu(np_.dot(x, w) + b)
    w, b = params[-1]
    return nn_.log_softmax(np_.dot(x, w) + b)


def main():
    rows = []
    x = jnp.ones((4,), jnp.float32)
    y = jnp.ones((4,), jnp.float32)
    rows.append(("eager fnp.add(x, y) vs jnp.add, f32[4]", *compare(lambda: fnp.add(x, y), lambda: jnp.add(x, y), 2000), 1.0))
    rows.append(("eager P.add(x, y) vs lax.add, f32[4]", *compare(lambda: P.add(x, y), lambda: lax.add(x, y), 2000), 1.0))
    f_ours = jit(lambda a, b: fnp.sin(a) * b + a)
    f_jax = jax.jit(lambda a, b: jnp.sin(a) * b + a)
    rows.append(("jit cache-hit call (3 ops), f32[4]", *compare(lambda: f_ours(x, y), lambda: f_jax(x, y), 2000), 1.2))
    rows += bench_tracing()
    params = mlp_params(0)
    xb = jnp.asarray(np.random.default_rng(1).normal(size=(256, 64)), jnp.float32)
    fo = jit(lambda p, x: mlp(fnp, fnn, p, x))
    fj = jax.jit(lambda p, x: mlp(jnp, jax.nn, p, x))
    rows.append(("jitted MLP 64-256-256-10 forward, B=256", *compare(lambda: fo(params, xb), lambda: fj(params, xb), 200, repeats=9), 1.03))
    key = jax.random.PRNGKey(0)
    no = jit(lambda k: frandom.normal(k, (256, 256)))
    nj = jax.jit(lambda k: jax.random.normal(k, (256, 256)))
    rows.append(("jitted normal(key, (256, 256)), same bits", *compare(lambda: no(key), lambda: nj(key), 200, repeats=9), 1.0))
    print(f"jax {jax.__version__}, backend {jax.default_backend()}, devices {jax.devices()}")
    report(rows)


if __name__ == "__main__":
    main()
