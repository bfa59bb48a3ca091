"""transforms.passes.mixed_precision: bf16 matmuls / convolutions with f32 accumulation."""
import jax
import ml_dtypes
import numpy as np
from sklearn.datasets import load_digits

import fx
import primitives as P
import primitives.nn as fnn
import primitives.numpy as fnp
from oracle import assert_trees_close
from transforms import grad, jit
from transforms.passes import mixed_precision

BF16 = np.dtype(ml_dtypes.bfloat16)


def _mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = fnn.relu(x @ w1 + b1)
    logits = h @ w2 + b2
    return -fnp.mean(fnp.sum(fnn.log_softmax(logits) * fnn.one_hot(y, 10), axis=-1))


def test_mixed_precision_digits_mlp():
    data = load_digits()
    x = (data.data[:512] / 16.0).astype(np.float32)
    y = data.target[:512].astype(np.int32)
    rng = np.random.default_rng(0)
    params = [(rng.normal(size=(64, 32)).astype(np.float32) * 0.125, np.zeros(32, np.float32)),
              (rng.normal(size=(32, 10)).astype(np.float32) * 0.18, np.zeros(10, np.float32))]

    def step(params, x, y):
        loss, g = _mlp_loss(params, x, y), grad(_mlp_loss)(params, x, y)
        return loss, jax.tree_util.tree_map(lambda p, d: p - 0.5 * d, params, g)

    f32_step, mp_step = jit(step), jit(step, passes=[mixed_precision])
    # the printed IR: every dot (forward and backward) takes bf16 and accumulates in f32
    g = mp_step.graph(params, x, y)
    dots = fx.find(g, "dot_general", recursive=True)
    assert len(dots) >= 4
    for e in dots:
        assert [a.aval.dtype for a in e.inputs] == [BF16, BF16], str(g)
        assert e.params["preferred_element_type"] == np.float32 and e.outputs[0].aval.dtype == np.float32
    assert "bf16" in str(g) and "preferred_element_type=float32" in str(g)
    assert not any(a.aval.dtype == BF16 for e in g.equations if e.primitive.name != "dot_general"
                   and e.primitive.name != "convert_element_type" for a in e.outputs)
    p32, pmp = params, params
    losses32, lossesmp = [], []
    for _ in range(8):
        l32, p32 = f32_step(p32, x, y)
        lmp, pmp = mp_step(pmp, x, y)
        losses32.append(float(l32))
        lossesmp.append(float(lmp))
    assert losses32[-1] < 0.8 * losses32[0], losses32              # it trains
    np.testing.assert_allclose(lossesmp, losses32, rtol=0.01)     # within 1% of f32
    assert lossesmp != losses32                                     # (and not the same program)
    assert f32_step.traces == 1 and mp_step.traces == 1


def test_mixed_precision_conv_and_sub_graphs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 6, 6)).astype(np.float32)
    k = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    w = rng.normal(size=(4, 4)).astype(np.float32)

    def f(x, k, w):
        y = P.conv_general_dilated(x, k, (1, 1), "SAME")
        return fnp.sum(fnp.tanh(fnp.einsum("nchw,cd->nhwd", y, w)))

    def f_jax(x, k, w):
        y = jax.lax.conv_general_dilated(x.astype(BF16), k.astype(BF16), (1, 1), "SAME",
                                         preferred_element_type=np.float32)
        return jax.numpy.sum(jax.numpy.tanh(jax.numpy.einsum(
            "nchw,cd->nhwd", y.astype(BF16), w.astype(BF16), preferred_element_type=np.float32)))

    g = mixed_precision(fx.make_graph(f)(x, k, w))
    (conv,) = fx.find(g, "conv_general_dilated")
    assert [a.aval.dtype for a in conv.inputs] == [BF16, BF16]
    assert_trees_close(fx.graph_to_fn(g)(x, k, w), jax.jit(f_jax)(x, k, w), rtol=1e-4)
    # inside a scan body (and under a custom_jvp): rewritten too
    import primitives.control_flow as cf

    def rnn(h, xs, w):
        return cf.scan(lambda h, x: (fnn.relu(h @ w + x), None), h, xs)[0]
    h0, xs = np.ones(4, np.float32), rng.normal(size=(3, 4)).astype(np.float32)
    g = mixed_precision(fx.make_graph(rnn)(h0, xs, w))
    (dot,) = fx.find(g, "dot_general", recursive=True)
    assert [a.aval.dtype for a in dot.inputs] == [BF16, BF16]
    assert_trees_close(fx.graph_to_fn(g)(h0, xs, w), rnn(h0, xs, w), rtol=3e-2, atol=3e-2)
