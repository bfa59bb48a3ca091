"""fxjax demo (the main job of `make demo`).

1. Trace a small MLP to our IR and print it.
2. Run the jitted forward pass on scikit-learn's bundled digits with random weights.
3. Train it with ``jit(value_and_grad(loss))`` and plain SGD; print test accuracy.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
from sklearn.datasets import load_digits

import fx
import primitives.numpy as fnp
import primitives.nn as fnn
import primitives.random as frandom
from transforms import jit, value_and_grad

SIZES = (64, 128, 10)


def init_params(key, sizes=SIZES):
    """Glorot-style init from our PRNG: a list of (W, b)."""
    params = []
    for k, (m, n) in zip(frandom.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        params.append((frandom.normal(k, (m, n)) * np.sqrt(2.0 / m), fnp.zeros(n)))
    return params


def mlp(params, x):
    for w, b in params[:-1]:
        x = fnn.relu(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def loss(params, x, y):
    logp = fnn.log_softmax(mlp(params, x))
    return -fnp.mean(fnp.sum(logp * fnn.one_hot(y, 10), axis=-1))


def accuracy(params, x, y):
    return float(np.mean(np.asarray(predict(params, x)) == y))


predict = jit(lambda params, x: fnp.argmax(mlp(params, x), axis=-1))


def load():
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int32)
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    n_test = 360
    return (x[n_test:], y[n_test:]), (x[:n_test], y[:n_test])


def main():
    t0 = time.time()
    (x_tr, y_tr), (x_te, y_te) = load()
    params = init_params(frandom.PRNGKey(0))

    print("== the MLP traced to fxjax IR ==")
    print(fx.make_graph(mlp)(params, x_tr[:8]))

    print(f"\nrandom weights: test accuracy {accuracy(params, x_te, y_te):.3f}")

    step_fn = jit(value_and_grad(loss))
    lr, batch = 0.1, 128
    rng = np.random.default_rng(0)
    for epoch in range(30):
        perm = rng.permutation(len(x_tr))
        for i in range(0, len(x_tr) - batch + 1, batch):
            idx = perm[i:i + batch]
            value, grads = step_fn(params, x_tr[idx], y_tr[idx])
            params = [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads)]
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1:2d}  loss {float(value):.4f}  test accuracy "
                  f"{accuracy(params, x_te, y_te):.3f}")
    acc = accuracy(params, x_te, y_te)
    print(f"\ntrained with jit(value_and_grad(loss)) + SGD: test accuracy {acc:.3f} "
          f"({time.time() - t0:.1f} s)")
    return acc


if __name__ == "__main__":
    main()
