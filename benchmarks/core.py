"""Core benchmarks: ours / JAX ratios measured in one run (issue: core).

Prints: eager op dispatch, jit cache-hit call, tracing a 2000-equation
function (fresh functions, so no cache), converting a 2000-equation jax
function with ``fx.from_jax`` (against jax's own tracing of it), lowering a 50k-equation chain
(``FXJAX_BENCH_LARGE`` sets its size) and the first call of a 2000-equation
one (trace + lower + compile), steady-state jitted MLP forward (B=256),
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


def fresh_chain(ops, n_eqns):
    """A new function (so no cache) of ``n_eqns`` equations (sin, mul, add) ops."""
    sin, mul, add = ops

    def f(x, y):
        for _ in range(n_eqns // 3):
            x = add(mul(sin(x), y), x)
        return x
    return f


def chain(ops):
    """A fresh N_EQNS-equation function (also used by autodiff.py and vmap.py)."""
    return fresh_chain(ops, N_EQNS)


def bench_tracing():
    x = jnp.ones((8, 8))
    ours = lambda: fx.make_graph(chain((fnp.sin, fnp.multiply, fnp.add)))(x, x)
    theirs = lambda: jax.make_jaxpr(chain((jnp.sin, jnp.multiply, jnp.add)))(x, x)
    n_ours = len(ours().equations)
    n_jax = len(theirs().jaxpr.eqns)
    o, t = compare(ours, theirs, number=3, repeats=5)
    return [(f"trace {n_ours}-eqn fn (jax: {n_jax}) make_graph", o, t, 1.0)]


def bench_from_jax():
    """fx.from_jax of a fresh 2000-equation jax function (jax's trace + our
    conversion) against jax.make_jaxpr alone (jax's trace)."""
    x = jnp.ones((8, 8))
    ops = (jnp.sin, jnp.multiply, jnp.add)
    o, t = compare(lambda: fx.from_jax(chain(ops))(x, x),
                   lambda: jax.make_jaxpr(chain(ops))(x, x), number=3, repeats=5)
    return [(f"from_jax of a fresh {N_EQNS // 3 * 3}-eqn jax fn", o, t, 2.0)]


N_LARGE = int(os.environ.get("FXJAX_BENCH_LARGE", 50_000))


def bench_large_graph():
    """Lowering (trace + lower to StableHLO) of a fresh N_LARGE-equation chain,
    and the first call (trace, lower, compile, run) of a fresh N_EQNS chain:
    XLA's CPU compiler needs ~250 s for a 20k-equation chain and crashes on 50k
    (jax's program and ours alike), so the first-call row uses the smaller one."""
    x = jnp.ones((8, 8))
    ours, theirs = (fnp.sin, fnp.multiply, fnp.add), (jnp.sin, jnp.multiply, jnp.add)
    low = compare(lambda: jit(fresh_chain(ours, N_LARGE)).lower(x, x),
                  lambda: jax.jit(fresh_chain(theirs, N_LARGE)).lower(x, x), 1, repeats=3,
                  warmup=False)
    first = compare(lambda: jit(fresh_chain(ours, N_EQNS))(x, x),
                    lambda: jax.jit(fresh_chain(theirs, N_EQNS))(x, x), 1, repeats=3,
                    warmup=False)
    return [(f"lower a fresh {N_LARGE // 3 * 3}-eqn chain", *low, 1.0),
            (f"first call of a fresh {N_EQNS // 3 * 3}-eqn chain", *first, 1.05)]


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
    rows += bench_from_jax()
    rows += bench_large_graph()
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
