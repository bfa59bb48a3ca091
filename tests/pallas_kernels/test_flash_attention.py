"""pallas_kernels.flash_attention in Pallas interpret mode (CPU) against
jax.nn.dot_product_attention and against our reference implementation:
forward values and gradients (q, k, v, bias), f32 to 1e-5 and bf16 to 2e-2,
over causal / masks / bias / segment ids / GQA / lengths that are not a
multiple of the block / head dims 8, 64, 128; vmap, jit, checkpoint, grad of
grad; typed errors. Tiny shapes, and every case checked inside one jitted
function per side (the compiles dominate the time)."""
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, PartitionSpec as PS

import primitives.nn as fnn
import transforms as T
from fx.errors import FxTypeError, ShapeError
import fx
from pallas_kernels import (FallbackWarning, KernelConfigError, KernelUnavailableError,
                            flash_attention, reference_attention)
from pallas_kernels import mosaic_gpu as _mgpu
from tests.oracle import assert_trees_close

_rng = np.random.default_rng(0)
BLK = dict(block_q=8, block_k=8)


def _a(*shape, dtype=jnp.float32):
    return jnp.asarray(_rng.normal(size=shape), dtype)


def _tol(dtype):
    return dict(rtol=2e-2, atol=2e-2) if dtype == jnp.bfloat16 else dict(rtol=1e-5, atol=1e-5)


def _loss(attn):
    """sum(o * w): a loss whose gradient reaches every output element differently."""
    def f(*args):
        o = attn(*args)
        w = np.cos(np.arange(o.size, dtype=np.float32)).reshape(o.shape)
        return (o.astype(np.float32) * w).sum()
    return f


def _value_and_grads(lib_grad, attn, args):
    argnums = tuple(range(len(args)))
    return attn(*args), lib_grad(_loss(attn), argnums=argnums)(*args)


# B=2, T=12 / S=20 (not multiples of the block 8), 4 query heads on 2 kv heads (GQA), D=8
Q, K, V = _a(2, 12, 4, 8), _a(2, 20, 2, 8), _a(2, 20, 2, 8)
QS = _a(2, 20, 4, 8)                                        # self attention, T = S = 20
BIAS = _a(1, 4, 12, 20)
MASK = jnp.asarray(_rng.random((2, 1, 12, 20)) > 0.3).at[..., 0].set(True)
SEG = jnp.asarray(np.sort(_rng.integers(0, 3, (2, 20)), axis=1), jnp.int32)
SEG_MASK = SEG[:, None, :, None] == SEG[:, None, None, :]
# query rows 10 and 17 see no key at all: jax.nn gives them the mean of every value
# row, where a kernel that skips the blocks above the diagonal would average fewer
DEAD_MASK = jnp.asarray(_rng.random((2, 4, 20, 20)) > 0.3).at[:, :, jnp.array([10, 17])].set(False)

CASES = {  # name: (ours, jax.nn's, args)
    "gqa_pad_bias_mask": (
        lambda q, k, v, b: flash_attention(q, k, v, bias=b, mask=MASK, **BLK),
        lambda q, k, v, b: jax.nn.dot_product_attention(q, k, v, bias=b, mask=MASK),
        (Q, K, V, BIAS)),
    "causal_segments": (
        lambda q, k, v: flash_attention(q, k, v, segment_ids=SEG, causal=True, sm_scale=0.3,
                                        **BLK),
        lambda q, k, v: jax.nn.dot_product_attention(q, k, v, mask=SEG_MASK, is_causal=True,
                                                     scale=0.3),
        (QS, K, V)),
    "causal_rows_without_keys_gqa_bias": (
        lambda q, k, v, b: flash_attention(q, k, v, bias=b, mask=DEAD_MASK, causal=True, **BLK),
        lambda q, k, v, b: jax.nn.dot_product_attention(q, k, v, bias=b, mask=DEAD_MASK,
                                                        is_causal=True),
        (QS, K, V, _a(1, 4, 20, 20))),
    "bf16_causal_gqa": (
        lambda q, k, v: flash_attention(q, k, v, causal=True, block_q=8, block_k=16),
        lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=True),
        tuple(x.astype(jnp.bfloat16) for x in (QS, K, V))),
}


def test_forward_and_gradients_match_jax_nn():
    ours = T.jit(lambda args: {n: _value_and_grads(T.grad, c[0], args[n])
                               for n, c in CASES.items()})
    theirs = jax.jit(lambda args: {n: _value_and_grads(jax.grad, c[1], args[n])
                                   for n, c in CASES.items()})
    args = {n: c[2] for n, c in CASES.items()}
    got, want = ours(args), theirs(args)
    for n in CASES:
        assert_trees_close(got[n], want[n], what=n, **_tol(args[n][0].dtype))


def test_forward_and_gradients_match_reference():
    """The reference (our primitives) is the kernel's second oracle; the same
    case as the first above, plus MQA (one kv head) with head dims 64 and 128."""
    q64, k64, v64 = _a(1, 16, 2, 64), _a(1, 16, 1, 64), _a(1, 16, 1, 64)
    q128, k128, v128 = _a(1, 16, 1, 128), _a(1, 16, 1, 128), _a(1, 16, 1, 128)

    def ref(q, k, v, b=None, mask=None, causal=False):
        return reference_attention(q, k, v, bias=b, mask=mask, causal=causal)

    def both(kernel):
        return {"bias_mask": _value_and_grads(T.grad, kernel[0], (Q, K, V, BIAS)),
                "d64": _value_and_grads(T.grad, kernel[1], (q64, k64, v64)),
                "d128": _value_and_grads(T.grad, kernel[1], (q128, k128, v128))}
    got = T.jit(lambda: both((lambda q, k, v, b: flash_attention(q, k, v, bias=b, mask=MASK,
                                                                 **BLK),
                              lambda q, k, v: flash_attention(q, k, v, causal=True))))()
    want = T.jit(lambda: both((lambda q, k, v, b: ref(q, k, v, b, MASK),
                               lambda q, k, v: ref(q, k, v, causal=True))))()
    assert_trees_close(got, want, rtol=1e-5, atol=1e-5)
    # and the reference itself against jax.nn at head dim 128
    assert_trees_close(want["d128"][0], jax.nn.dot_product_attention(q128, k128, v128,
                                                                     is_causal=True),
                       rtol=1e-5, atol=1e-5)


def test_vmap_jit_checkpoint_and_grad_of_grad():
    qv = jnp.stack([Q, 0.5 * Q, -Q])                       # an extra leading batch axis

    def attn(lib_attn):
        return lambda q, b: lib_attn(q, K, V, b)
    ours = attn(lambda q, k, v, b: flash_attention(q, k, v, bias=b, causal=True, **BLK))
    theirs = attn(lambda q, k, v, b: jax.nn.dot_product_attention(q, k, v, bias=b,
                                                                  is_causal=True))
    def sq(f):
        return lambda q, b: (f(q, b) ** 2).sum()

    got = T.jit(lambda qv, b: (
        T.vmap(ours, in_axes=(0, None))(qv, b),
        T.vmap(T.grad(sq(ours), argnums=(0, 1)), in_axes=(0, None))(qv, b),
        T.grad(T.checkpoint(sq(ours)))(qv[1], b)))(qv, BIAS)
    want = jax.jit(lambda qv, b: (
        jax.vmap(theirs, in_axes=(0, None))(qv, b),
        jax.vmap(jax.grad(sq(theirs), argnums=(0, 1)), in_axes=(0, None))(qv, b),
        jax.grad(sq(theirs))(qv[1], b)))(qv, BIAS)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-5, what="vmap/jit/checkpoint")

    # shard_map over the batch (a one-device mesh here: the kernels inside jax.shard_map)
    mesh = Mesh(np.array(jax.devices()[:1]), ("b",))
    sharded = T.shard_map(lambda q: flash_attention(q, K, V, causal=True, **BLK), mesh=mesh,
                          in_specs=PS("b"), out_specs=PS("b"))
    got = T.jit(lambda q: (sharded(q), T.grad(lambda q: (sharded(q) ** 2).sum())(q)))(Q)
    dense = lambda q: jax.nn.dot_product_attention(q, K, V, is_causal=True)  # noqa: E731
    want = jax.jit(lambda q: (dense(q), jax.grad(lambda q: (dense(q) ** 2).sum())(q)))(Q)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-5, what="shard_map")

    # grad of grad works (the kernels' jvp rules differentiate the reference)
    q2, k2, v2 = Q[:1, :8], K[:1, :8], V[:1, :8]

    def grad_norm(attn, grad):
        return lambda q: (grad(lambda q: (attn(q, k2, v2) ** 2).sum())(q) ** 2).sum()
    got = T.jit(T.grad(grad_norm(lambda q, k, v: flash_attention(q, k, v, **BLK), T.grad)))(q2)
    want = jax.jit(jax.grad(grad_norm(jax.nn.dot_product_attention, jax.grad)))(q2)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-5, what="grad of grad")


def test_dot_product_attention_implementations():
    ql, kl = jnp.array([12, 7], jnp.int32), jnp.array([20, 9], jnp.int32)
    kw = dict(is_causal=True, query_seq_lengths=ql, key_value_seq_lengths=kl,
              local_window_size=(6, 0))
    got = T.jit(lambda q, k, v: fnn.dot_product_attention(q, k, v, implementation="pallas",
                                                          **kw))(Q, K, V)
    assert_trees_close(got, jax.jit(lambda q, k, v: jax.nn.dot_product_attention(
        q, k, v, **kw))(Q, K, V), rtol=1e-5, atol=1e-5)
    # float16 forward (bf16 gradients are checked above). XLA:CPU has no f16 dot with
    # f32 accumulation, so jax.nn runs on the same values widened to f32.
    h = [x.astype(jnp.float16) for x in (Q, K, V)]
    got = T.jit(lambda q, k, v: flash_attention(q, k, v, causal=True, **BLK))(*h)
    want = jax.jit(lambda q, k, v: jax.nn.dot_product_attention(
        q, k, v, is_causal=True))(*[x.astype(jnp.float32) for x in h])
    assert got.dtype == jnp.float16
    assert_trees_close(got.astype(jnp.float32), want, rtol=2e-3, atol=2e-3)
    if jax.default_backend() == "cpu":
        with pytest.raises(fnn.AttentionImplementationError, match="GPU"):
            fnn.dot_product_attention(Q, K, V, implementation="cudnn")
    with pytest.raises(ValueError, match="Unsupported implementation"):
        fnn.dot_product_attention(Q, K, V, implementation="flash")
    saved = fnn._ATTENTION_IMPLEMENTATIONS.pop("pallas")
    try:
        with pytest.raises(fnn.AttentionImplementationError, match="import pallas_kernels"):
            fnn.dot_product_attention(Q, K, V, implementation="pallas")
    finally:
        fnn.register_attention_implementation("pallas", saved)


@pytest.mark.skipif(not _mgpu.interpreter_available(),
                    reason="Mosaic GPU kernels run on the CPU with jax >= 0.11's GPU interpreter")
def test_mosaic_gpu_kernels_in_the_gpu_interpreter_match_jax_nn():
    """The Mosaic GPU (wgmma + TMA) forward, dk/dv and dq kernels under jax's GPU
    interpreter: values and gradients, causal with segment ids (two TMA stages of
    64-row key blocks, the causal bounds of both loops), GQA, lengths padded to the
    64-row blocks (70 -> 128), head dim 40 padded to 64; a bias broadcast over the
    batch (its gradient summed) with a boolean mask, causal; a vmapped plain call."""
    bf = jnp.bfloat16
    q, k, v = _a(1, 70, 2, 40, dtype=bf), _a(1, 130, 1, 40, dtype=bf), _a(1, 130, 1, 40, dtype=bf)
    seg = jnp.asarray(np.repeat([0, 1], [30, 100])[None], jnp.int32)
    seg_q = seg[:, :70]
    q2, k2, v2 = _a(2, 64, 2, 40, dtype=bf), _a(2, 64, 2, 40, dtype=bf), _a(2, 64, 2, 40, dtype=bf)
    bias = _a(1, 2, 64, 64)
    mask = jnp.asarray(_rng.random((2, 1, 64, 64)) > 0.3).at[..., 0].set(True)
    qv = jnp.stack([q2[:1], -q2[:1]])
    kw = dict(backend="mosaic_gpu")

    def fns(lib_grad, causal_seg, bias_mask, plain):
        return {"causal_seg": _value_and_grads(lib_grad, causal_seg, (q, k, v)),
                "bias_mask": _value_and_grads(lib_grad, bias_mask, (q2, k2, v2, bias)),
                "vmap": plain(qv)}
    ours = (lambda q, k, v: flash_attention(q, k, v, causal=True, segment_ids=(seg_q, seg),
                                            **kw),
            lambda q, k, v, b: flash_attention(q, k, v, bias=b, mask=mask, causal=True, **kw),
            T.vmap(lambda q: flash_attention(q, k2[:1], v2[:1], **kw)))
    seg_mask = (seg_q[:, :, None] == seg[:, None, :])[:, None]
    theirs = (lambda q, k, v: jax.nn.dot_product_attention(q, k, v, mask=seg_mask,
                                                           is_causal=True),
              lambda q, k, v, b: jax.nn.dot_product_attention(q, k, v, bias=b, mask=mask,
                                                              is_causal=True),
              jax.vmap(lambda q: jax.nn.dot_product_attention(q, k2[:1], v2[:1])))
    graph = fx.make_graph(lambda: fns(T.grad, *ours))()
    used = {e.params["gpu_backend"] for name in ("flash_attention_fwd", "flash_attention_bwd")
            for e in fx.find(graph, name, recursive=True)}
    assert used == {"mosaic_gpu"}
    got = T.jit(lambda: fns(T.grad, *ours))()
    want = jax.jit(lambda: fns(jax.grad, *theirs))()
    assert_trees_close(got, want, rtol=2e-2, atol=3e-2)     # bfloat16 P, dS and outputs


def test_fallback_warns_and_bad_inputs_raise_typed_errors():
    v16 = _a(2, 20, 2, 16)                                  # value head dim != query's
    with pytest.warns(FallbackWarning, match="value head dim 16"):
        out = T.jit(lambda q, k, v: flash_attention(q, k, v, causal=True))(Q, K, v16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = T.jit(lambda q, k, v: reference_attention(q, k, v, causal=True))(Q, K, v16)
    assert out.shape == (2, 12, 4, 16)
    assert_trees_close(out, want)

    bad = [
        (ShapeError, "head_dim", lambda: flash_attention(Q, _a(2, 20, 2, 4), _a(2, 20, 2, 4))),
        (ShapeError, "not divisible", lambda: flash_attention(_a(2, 12, 3, 8), K, V)),
        (ShapeError, "rank 4", lambda: flash_attention(Q[0], K[0], V[0])),
        (ShapeError, "bias", lambda: flash_attention(Q, K, V, bias=_a(2, 4, 12, 7))),
        (ShapeError, "segment ids", lambda: flash_attention(QS, K, V, segment_ids=SEG[:, :5])),
        (KernelConfigError, "padded length", lambda: flash_attention(Q, K, V, block_q=12)),
        (KernelConfigError, "must be an int", lambda: flash_attention(Q, K, V, block_k=8.0)),
        (FxTypeError, "float32, bfloat16, float16",
         lambda: flash_attention(Q.astype(jnp.int32), K.astype(jnp.int32), V.astype(jnp.int32))),
        (FxTypeError, "one dtype", lambda: flash_attention(Q, K.astype(jnp.bfloat16), V)),
        (FxTypeError, "integers", lambda: flash_attention(QS, K, V, segment_ids=SEG * 1.0)),
        (KernelConfigError, "backend=", lambda: flash_attention(Q, K, V, backend="cuda")),
        (KernelConfigError, "bfloat16 / float16",
         lambda: flash_attention(Q, K, V, backend="mosaic_gpu")),
        (KernelConfigError, "at least 64", lambda: flash_attention(
            *(x.astype(jnp.bfloat16) for x in (Q, K, V)), block_q=32, backend="mosaic_gpu")),
    ]
    if not _mgpu.interpreter_available():
        bad.append((KernelUnavailableError, "jax >= 0.11", lambda: flash_attention(
            *(x.astype(jnp.bfloat16) for x in (Q, K, V)), backend="mosaic_gpu")))
    for err, match, thunk in bad:
        with pytest.raises(err, match=match):
            thunk()
