"""fxjax demo (the main job of `make demo`).

1. Trace a small MLP to our IR and print it.
2. Run the jitted forward pass on scikit-learn's bundled digits with random weights.
3. Train it with ``jit(value_and_grad(loss))`` and plain SGD; print test accuracy.
4. Train it again with DP-SGD (``optim.dp.train``: Poisson batches, per-example
   clipping, Gaussian noise calibrated to epsilon = 2 at delta = 1e-5, Adam);
   print test accuracy and the epsilon spent.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
from sklearn.datasets import load_digits

import fx
import optim
import primitives.numpy as fnp
import primitives.nn as fnn
import primitives.random as frandom
from optim import dp
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


def example_loss(params, example):
    """The loss of ONE example (no batch axis): what DP-SGD clips per example."""
    logp = fnn.log_softmax(mlp(params, example["x"]))
    return -fnp.sum(logp * fnn.one_hot(example["y"], 10))


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


def main_dp(target_epsilon=2.0, delta=1e-5, epochs=20, batch=256):
    """DP-SGD on the digits: epsilon = ``target_epsilon`` at ``delta`` after ``epochs``."""
    t0 = time.time()
    (x_tr, y_tr), (x_te, y_te) = load()
    q = batch / len(x_tr)
    steps = int(epochs / q)
    sigma = dp.calibrate_noise_multiplier(target_epsilon, delta, steps, q)
    print(f"\n== DP-SGD: q = {q:.3f}, {steps} steps, clip 1.0, noise multiplier {sigma:.2f} ==",
          flush=True)  # before dp.train's progress bar (stderr)
    params = init_params(frandom.PRNGKey(0))
    print("how each parameter's per-example norm is computed (dp.clipping_plan):")
    print(dp.clipping_plan(example_loss, params, {"x": x_tr[0], "y": y_tr[0]}), flush=True)
    params, history = dp.train(
        example_loss, params, optim.adam(2e-2),
        {"x": x_tr, "y": y_tr}, l2_norm_clip=1.0, noise_multiplier=sigma, sampling_rate=q,
        steps=steps, key=frandom.PRNGKey(1), delta=delta,
        eval_fn=lambda p: accuracy(p, x_te, y_te), eval_every=steps // 4)
    for record in history:
        print(f"step {record['step']:3d}  loss {record['loss']:.4f}  test accuracy "
              f"{record['accuracy']:.3f}  epsilon {record['epsilon']:.3f}")
    acc, eps = accuracy(params, x_te, y_te), history[-1]["epsilon"]
    delta_str = f"{delta:.0e}".replace("e-0", "e-")  # 1e-5, not 1e-05
    print(f"\ntrained with dp.train (DP-SGD, Adam): test accuracy {acc:.3f}, "
          f"epsilon = {eps:.2f} at delta = {delta_str} ({time.time() - t0:.1f} s)")
    return acc, eps


if __name__ == "__main__":
    main()
    main_dp()
