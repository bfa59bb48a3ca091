"""pallas_kernels.fuse_attention: a transformer block written three ways (einsum,
``@`` with transposes, ``fnn.dot_product_attention(implementation='xla')``)
gets its attention replaced by flash_attention (Pallas interpret mode on CPU);
the fused graph equals the original to 1e-5, under grad and vmap, and the
pass works as ``jit(f, passes=[fuse_attention])``."""
import numpy as np
import pytest

import fx
import primitives.nn as fnn
import primitives.numpy as fnp
from oracle import assert_trees_close
from pallas_kernels.fuse_attention import fuse_attention
from transforms import jit, value_and_grad, vmap

B, T, H, D = 2, 8, 2, 4
E = H * D
_rng = np.random.default_rng(0)
PARAMS = {k: (_rng.normal(size=(E, E)) / np.sqrt(E)).astype(np.float32)
          for k in ("wq", "wk", "wv", "wo")}
PARAMS["bias"] = _rng.normal(size=(1, 1, T, T)).astype(np.float32)
X = _rng.normal(size=(B, T, E)).astype(np.float32)
TOL = dict(rtol=1e-5, atol=1e-5)


def attn_einsum(q, k, v, bias):          # causal tril mask, scale on the logits
    s = fnp.einsum("bqhd,bkhd->bhqk", q, k) * (1.0 / np.sqrt(D))
    s = fnp.where(fnp.tril(fnp.ones((T, T), bool)), s, -1e9)
    return fnp.einsum("bhqk,bkhd->bqhd", fnn.softmax(s, axis=-1), v)


def attn_matmul(q, k, v, bias):          # @ with transposes, scale on q, a bias
    qt, kt, vt = q.transpose(0, 2, 1, 3), k.transpose(0, 2, 3, 1), v.transpose(0, 2, 1, 3)
    s = (qt * 0.5) @ kt + bias
    return (fnn.softmax(s, axis=-1) @ vt).transpose(0, 2, 1, 3)


def attn_dpa(q, k, v, bias):
    return fnn.dot_product_attention(q, k, v, is_causal=True, implementation="xla")


def block(params, x, attn):
    b, t, e = x.shape
    q, k, v = ((x @ params[w]).reshape(b, t, H, D) for w in ("wq", "wk", "wv"))
    o = attn(q, k, v, params["bias"]).reshape(b, t, e)
    return x + o @ params["wo"]


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype float64")   # 1 / np.sqrt(D)
def test_fuse_attention_three_spellings_values_and_grads():
    expected_names = {attn_einsum: "einsum/mask2/scale_s/f64", attn_matmul: "matmul/bias4/scale_q",
                      attn_dpa: "dot_product_attention/bias=False,mask=False,causal=True"}
    for attn, name in expected_names.items():
        def loss(params, x, attn=attn):
            return fnp.sum(block(params, x, attn) ** 2)
        g = fx.make_graph(loss)(PARAMS, X)
        fused, counts = fuse_attention(g, return_matches=True)
        assert counts == {name: 1}, (attn.__name__, counts)
        assert fx.find(fused, "flash_attention_fwd", recursive=True)
        assert not fx.find(fused, ["exp", "reduce_max"]), attn.__name__   # softmax is gone
        got = jit(value_and_grad(fx.graph_to_fn(fused), argnums=(0, 1)))(PARAMS, X)
        want = jit(value_and_grad(loss, argnums=(0, 1)))(PARAMS, X)
        assert_trees_close(got, want, what=attn.__name__, **TOL)


def test_fuse_attention_vmap_and_jit_pass():
    def out(params, x):
        return block(params, x, attn_einsum)
    fused_fn = fx.graph_to_fn(fuse_attention(fx.make_graph(out)(PARAMS, X)))
    xs = np.stack([X, X * 0.5])
    assert_trees_close(jit(vmap(fused_fn, in_axes=(None, 0)))(PARAMS, xs),
                       jit(vmap(out, in_axes=(None, 0)))(PARAMS, xs), **TOL)
    # as a jit pass: the graph jit compiles holds the kernel
    f = jit(lambda p, x: fnp.sum(block(p, x, attn_dpa) ** 2), passes=[fuse_attention])
    assert fx.find(f.graph(PARAMS, X), "flash_attention_fwd", recursive=True)
    ref = lambda p, x: fnp.sum(block(p, x, attn_dpa) ** 2)   # noqa: E731
    assert_trees_close(f(PARAMS, X), jit(ref)(PARAMS, X), **TOL)


def test_fuse_attention_spellings_found_or_left_alone():
    """Graph-level only (no compile): which spelling each form is found as."""
    q, k, v = (_rng.normal(size=(B, T, H, D)).astype(np.float32) for _ in range(3))
    qh, kh, vh = (x.transpose(0, 2, 1, 3) for x in (q, k, v))
    bias = PARAMS["bias"]
    mask = np.tril(np.ones((T, T), bool))[None, None]
    cases = [
        ("heads_first/plain/scale_s",                 # PyTorch layout [B, H, T, D]
         lambda q, k, v: fnn.softmax(q @ fnp.swapaxes(k, -1, -2) * 0.5, axis=-1) @ v,
         (qh, kh, vh)),
        ("einsum/bias4/scale_s",
         lambda q, k, v: fnp.einsum("bhqk,bkhd->bqhd", fnn.softmax(
             fnp.einsum("bqhd,bkhd->bhqk", q, k) * 0.5 + bias, axis=-1), v), (q, k, v)),
        ("einsum/mask4/scale_q",
         lambda q, k, v: fnp.einsum("bhqk,bkhd->bqhd", fnn.softmax(fnp.where(
             mask, fnp.einsum("bqhd,bkhd->bhqk", q * 0.5, k), -1e30), axis=-1), v), (q, k, v)),
        ("dot_product_attention/bias=True,mask=True,causal=False",
         lambda q, k, v: fnn.dot_product_attention(q, k, v, bias, mask, implementation="xla"),
         (q, k, v)),
        (None,                                        # softmax over the query axis: not attention
         lambda q, k, v: fnp.einsum("bhqk,bkhd->bqhd", fnn.softmax(
             fnp.einsum("bqhd,bkhd->bhqk", q, k) * 0.5, axis=-2), v), (q, k, v)),
        (None,                                        # a scale that is not a number
         lambda q, k, v: fnp.einsum("bhqk,bkhd->bqhd", fnn.softmax(
             fnp.einsum("bqhd,bkhd->bhqk", q, k) * fnp.sum(v), axis=-1), v), (q, k, v)),
    ]
    for name, f, args in cases:
        g, counts = fuse_attention(fx.make_graph(f)(*args), return_matches=True)
        assert counts == ({name: 1} if name else {}), (name, counts)
        assert bool(fx.find(g, "flash_attention_fwd", recursive=True)) == bool(name)
