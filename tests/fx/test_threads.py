"""Tracing from many threads at once (the trace stack, the named axes and the
current source line are per thread, as in JAX): every result equals the
single-threaded one."""
from __future__ import annotations

import threading

import numpy as np

import fx
import primitives as P
import primitives.numpy as fnp
from transforms import grad, jit, vmap

X = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4)
W = np.linspace(0.5, 1.5, 4, dtype=np.float32)


def loss(w, x):
    return fnp.sum(fnp.tanh(x @ w) ** 2)


_jitted = jit(grad(loss))


def _work(i: int):
    x = X + np.float32(i % 3)
    return {
        "jit_grad": np.asarray(_jitted(W, x)),
        "fresh_jit": np.asarray(jit(lambda v: fnp.sin(v) * i)(x)),  # traced in this thread
        "vmap_grad": np.asarray(vmap(grad(loss), in_axes=(None, 0))(W, x[:, None])),
        "psum": np.asarray(vmap(lambda v: v - P.pmean(v, "b"), axis_name="b")(x)),
        "graph": str(fx.make_graph(lambda v: fnp.cos(v) + i)(x)),
        "eager": np.asarray(fnp.exp(x) - i),
    }


def test_sixteen_threads_match_the_single_threaded_results():
    rounds, n_threads = 20, 16
    expected = {i: _work(i) for i in range(n_threads)}
    errors, barrier = [], threading.Barrier(n_threads)

    def run(i):
        try:
            barrier.wait()
            for _ in range(rounds):
                got = _work(i)
                for k, v in expected[i].items():
                    if isinstance(v, str):
                        assert got[k] == v, (i, k)
                    else:
                        np.testing.assert_allclose(got[k], v, rtol=1e-6, err_msg=f"{i} {k}")
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(f"thread {i}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, "\n".join(errors[:5])
