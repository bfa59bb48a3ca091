"""Optimizer update time: optim under our jit vs optax under jax.jit.

One update (grads, state, params -> updates, state) of adam, adafactor,
muon and (without --quick) the optimizers added for optax's breadth (rmsprop,
adagrad, adamax, amsgrad, adabelief, yogi, lamb, lars, novograd, adan, sm3) on
a ~10M-parameter transformer-shaped pytree (f32), interleaved repeats, best
per-call time. Target: ratio <= 1.0x.

Run: python benchmarks/optim.py [--layers N]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# _timing by its own name, appended after the repo root: this file must not shadow the
# optim package, and opacus (the bench extra) installs a top-level `benchmarks` package.
sys.path.append(os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from optax import contrib  # noqa: E402

import optim  # noqa: E402
from _timing import compare, report  # noqa: E402
from transforms import jit  # noqa: E402


def transformer_params(layers: int = 10, d: int = 256, vocab: int = 8192, seed: int = 0):
    """Embedding + ``layers`` blocks (qkv, out, mlp in/out, norms, biases): ~10M at defaults."""
    rng = np.random.default_rng(seed)
    normal = lambda *shape: jnp.asarray(rng.normal(size=shape) * 0.02, jnp.float32)  # noqa: E731
    params = {"embed": normal(vocab, d)}
    for i in range(layers):
        params[f"layer{i}"] = {"qkv": normal(d, 3 * d), "out": normal(d, d),
                               "mlp_in": normal(d, 4 * d), "mlp_out": normal(4 * d, d),
                               "mlp_in_bias": normal(4 * d), "mlp_out_bias": normal(d),
                               "ln1": jnp.ones((d,)), "ln2": jnp.ones((d,))}
    return params


def bench(name, ours_tx, theirs_tx, params, grads, number, repeats):
    ours_update = jit(lambda g, s, p: ours_tx.update(g, s, p))
    theirs_update = jax.jit(lambda g, s, p: theirs_tx.update(g, s, p))
    s_ours, s_theirs = ours_tx.init(params), theirs_tx.init(params)
    t0 = time.perf_counter()
    jax.block_until_ready(ours_update(grads, s_ours, params))
    t1 = time.perf_counter()
    jax.block_until_ready(theirs_update(grads, s_theirs, params))
    t2 = time.perf_counter()
    print(f"  {name}: first call (trace + compile) ours {t1 - t0:.1f} s, optax {t2 - t1:.1f} s",
          flush=True)
    o, t = compare(lambda: ours_update(grads, s_ours, params),
                   lambda: theirs_update(grads, s_theirs, params), number, repeats)
    return (f"{name} update, {n_params(params) / 1e6:.1f}M params", o, t, 1.0)


NEW_OPTIMIZERS = [
    ("rmsprop", lambda o: o.rmsprop(1e-3, momentum=0.9)),
    ("adagrad", lambda o: o.adagrad(1e-2)),
    ("adamax", lambda o: o.adamax(1e-3)),
    ("amsgrad", lambda o: o.amsgrad(1e-3)),
    ("adabelief", lambda o: o.adabelief(1e-3)),
    ("yogi", lambda o: o.yogi(1e-3)),
    ("lamb", lambda o: o.lamb(1e-3)),
    ("lars", lambda o: o.lars(1e-3)),
    ("novograd", lambda o: o.novograd(1e-3)),
    ("adan", lambda o: o.adan(1e-3)),
    ("sm3", lambda o: o.sm3(1e-3)),
]


def n_params(tree) -> int:
    return sum(x.size for x in jax.tree.leaves(tree))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="adam, adafactor, muon only")
    args = parser.parse_args()
    params = transformer_params(args.layers)
    grads = jax.tree.map(lambda p: p * 0.5 + 0.01, params)
    print(f"device: {jax.devices()[0].device_kind}, params: {n_params(params):,}", flush=True)
    gpu = jax.default_backend() != "cpu"
    rows = [
        bench("adam", optim.adam(1e-3), optax.adam(1e-3), params, grads, 20, 5),
        bench("adafactor", optim.adafactor(1e-3), optax.adafactor(1e-3), params, grads, 10, 5),
        bench("muon", optim.muon(1e-3), contrib.muon(1e-3), params, grads,
              10 if gpu else 1, 5 if gpu else 3),
    ]
    if not args.quick:   # the optimizers added with optax's breadth (issue 14)
        for name, make in NEW_OPTIMIZERS:
            rows.append(bench(name, make(optim), make(optax), params, grads, 10, 3))
    print("(ours = optim under transforms.jit; jax = optax under jax.jit; time per update)")
    report(rows)


if __name__ == "__main__":
    main()
