"""transforms.passes.count_flops against hand counts from the shapes."""
import numpy as np

import fx
import primitives as P
import primitives.control_flow as cf
import primitives.numpy as fnp
from oracle import assert_trees_close
from transforms.passes import FlopCounter, count_flops

B, I, O, H, T = 4, 8, 5, 6, 7


def test_flops_by_primitive_and_line():
    x = np.ones((B, I), np.float32)
    w = np.ones((I, O), np.float32)
    b = np.ones(O, np.float32)

    def layer(x, w, b):
        y = x @ w + b
        return fnp.sum(fnp.tanh(y))
    r = count_flops(layer)(x, w, b)
    bo = B * O
    assert r.by_primitive["dot_general"][1] == 2 * B * I * O
    assert r.by_primitive["broadcast_in_dim"][1] == 0
    assert r.flops == 2 * B * I * O + 3 * bo                  # + add, tanh, reduce_sum
    assert r.bytes == 4 * ((B * I + I * O + bo) + (O + bo) + 3 * bo + 2 * bo + (bo + 1))
    lines = list(r.by_line)
    assert len(lines) == 2 and all("test_passes_flops.py" in k and "(layer)" in k for k in lines)
    text = str(r)
    assert "dot_general" in text and "source line" in text and f"{r.flops:,}" in text

    # the interpreter form counts while it evaluates
    g = fx.make_graph(layer)(x, w, b)
    counter = FlopCounter(g)
    (out,) = counter.run(x, w, b)
    assert_trees_close(out, layer(x, w, b))
    assert counter.report.flops == r.flops


def test_flops_conv_and_scan():
    x = np.ones((2, 3, 8, 8), np.float32)
    k = np.ones((4, 3, 3, 3), np.float32)
    r = count_flops(lambda x, k: P.conv_general_dilated(x, k, (1, 1), "VALID"))(x, k)
    assert r.flops == 2 * (2 * 4 * 6 * 6) * (3 * 3 * 3)

    w = np.ones((H, H), np.float32)

    def rnn(h, w):
        return cf.scan(lambda h, _: (fnp.tanh(h @ w), None), h, None, length=T)[0]
    r = count_flops(rnn)(np.ones(H, np.float32), w)
    assert r.by_primitive["dot_general"] == [T, T * 2 * H * H, T * 4 * (H + H * H + H)]
    assert r.flops == T * (2 * H * H + H)
