"""The kernels compiled for a GPU (interpret=False; Triton lowering, and Mosaic GPU
for the matmul and flash attention): the interpret-mode checks again at GPU-sized
tiles, against jax.nn's XLA path and jnp. Skipped without a GPU."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import transforms as T
from pallas_kernels import flash_attention, matmul, reference_attention
from tests.oracle import assert_trees_close

pytestmark = pytest.mark.skipif(jax.default_backend() not in ("gpu", "cuda", "rocm"),
                                reason="needs a GPU (the CPU runs these kernels in interpret "
                                       "mode: tests/pallas_kernels/test_flash_attention.py)")

_rng = np.random.default_rng(2)


def _a(*shape, dtype=jnp.float32):
    return jnp.asarray(_rng.normal(size=shape), dtype)


def _tol(dtype):
    return dict(rtol=2e-2, atol=2e-2) if dtype != jnp.float32 else dict(rtol=1e-4, atol=1e-4)


def _loss(attn):
    def f(*args):
        o = attn(*args)
        w = np.cos(np.arange(o.size, dtype=np.float32)).reshape(o.shape)
        return (o.astype(np.float32) * w).sum()
    return f


def test_flash_attention_compiled_matches_jax_nn():
    """Causal, bias + mask, segment ids, GQA, padded lengths, head dims 64 / 128,
    f32 / bf16 / f16, vmap: values and gradients."""
    for d in (64, 128):
        for dtype in (jnp.float32, jnp.bfloat16, jnp.float16):
            q, k, v = _a(2, 200, 8, d, dtype=dtype), _a(2, 300, 2, d, dtype=dtype), \
                _a(2, 300, 2, d, dtype=dtype)
            bias = _a(1, 8, 200, 300)
            mask = jnp.asarray(_rng.random((2, 1, 200, 300)) > 0.2).at[..., 0].set(True)
            for causal in (False, True):
                def ours(q, k, v, b):
                    return flash_attention(q, k, v, bias=b, mask=mask, causal=causal,
                                           interpret=False)

                def theirs(q, k, v, b):
                    return jax.nn.dot_product_attention(q, k, v, bias=b.astype(dtype),
                                                        mask=mask, is_causal=causal)
                got = T.jit(lambda *a: (ours(*a), T.grad(_loss(ours), argnums=(0, 1, 2))(*a)))(
                    q, k, v, bias)
                with jax.default_matmul_precision("highest"):   # no TF32 in the oracle
                    want = jax.jit(lambda *a: (theirs(*a), jax.grad(
                        _loss(theirs), argnums=(0, 1, 2))(*a)))(q, k, v, bias)
                assert_trees_close(got, want, what=f"d={d} {dtype} causal={causal}",
                                   **_tol(dtype))


def test_flash_attention_compiled_segments_vmap_and_reference():
    q, k, v = _a(3, 2, 256, 4, 64), _a(3, 2, 256, 4, 64), _a(3, 2, 256, 4, 64)
    seg = jnp.asarray(np.sort(_rng.integers(0, 4, (2, 256)), axis=1), jnp.int32)
    ours = T.jit(T.vmap(lambda q, k, v: flash_attention(q, k, v, segment_ids=seg, causal=True,
                                                         interpret=False)))
    ref = T.jit(T.vmap(lambda q, k, v: reference_attention(
        q, k, v, segment_ids=(seg, seg), causal=True)))
    assert_trees_close(ours(q, k, v), ref(q, k, v), rtol=1e-4, atol=1e-4)


def test_flash_attention_mosaic_gpu_compiled_matches_jax_nn():
    """The Mosaic GPU kernels (wgmma + TMA): head dims 64 / 128, bf16 / f16, causal
    with segment ids, and bias + mask (the bias's gradient too), GQA, padded lengths,
    vmap; values and gradients."""
    seg = jnp.asarray(np.sort(_rng.integers(0, 3, (2, 300)), axis=1), jnp.int32)
    bias = _a(1, 8, 200, 300)
    bool_mask = jnp.asarray(_rng.random((2, 1, 200, 300)) > 0.2).at[..., 0].set(True)
    for d in (64, 128):
        for dtype in (jnp.bfloat16, jnp.float16):
            q, k, v = _a(2, 200, 8, d, dtype=dtype), _a(2, 300, 2, d, dtype=dtype), \
                _a(2, 300, 2, d, dtype=dtype)
            for causal in (False, True):
                segs = (seg[:, :200], seg) if causal else None
                mask = (seg[:, :200, None] == seg[:, None, :])[:, None] if causal else bool_mask
                b_ = None if causal else bias

                def ours(q, k, v, b):
                    return flash_attention(q, k, v, bias=b, mask=None if causal else mask,
                                           causal=causal, segment_ids=segs, interpret=False,
                                           backend="mosaic_gpu")

                def theirs(q, k, v, b):
                    return jax.nn.dot_product_attention(q, k, v, bias=b, mask=mask,
                                                        is_causal=causal)
                argnums = (0, 1, 2) if causal else (0, 1, 2, 3)
                got = T.jit(lambda *a: (ours(*a), T.grad(_loss(ours), argnums=argnums)(*a),
                                        T.vmap(lambda q: ours(q, *a[1:]))(a[0][None])))(
                    q, k, v, b_)
                with jax.default_matmul_precision("highest"):
                    want = jax.jit(lambda *a: (theirs(*a), jax.grad(
                        _loss(theirs), argnums=argnums)(*a), theirs(*a)[None]))(q, k, v, b_)
                assert_trees_close(got, want, what=f"mosaic d={d} {dtype} causal={causal}",
                                   **_tol(dtype))


def test_matmul_compiled_matches_jnp():
    """Both GPU kernels: Triton (float32, bfloat16) and Mosaic GPU (bfloat16)."""
    a, b, c = _a(300, 200), _a(200, 130), _a(130)
    for dtype, backend in ((jnp.float32, "triton"), (jnp.bfloat16, "triton"),
                           (jnp.bfloat16, "mosaic_gpu")):
        x, y = a.astype(dtype), b.astype(dtype)
        mm = functools.partial(matmul, interpret=False, backend=backend)
        got = T.jit(lambda x, y: (mm(x, y, bias=c, activation="gelu"),
                                  T.grad(lambda x, y: mm(x, y).astype(
                                      np.float32).sum(), argnums=(0, 1))(x, y)))(x, y)
        with jax.default_matmul_precision("highest"):
            want = jax.jit(lambda x, y: (
                jax.nn.gelu(jnp.dot(x, y, preferred_element_type=jnp.float32) + c).astype(dtype),
                jax.grad(lambda x, y: jnp.dot(x, y).astype(jnp.float32).sum(),
                         argnums=(0, 1))(x, y)))(x, y)
        assert_trees_close(got, want, **_tol(dtype))


def test_flash_attention_compiled_checkpoint_and_grad_of_grad():
    q, k, v = _a(1, 128, 2, 64), _a(1, 128, 1, 64), _a(1, 128, 1, 64)

    def attn(q):
        return flash_attention(q, k, v, causal=True, interpret=False)

    def dense(q):
        return jax.nn.dot_product_attention(q, k, v, is_causal=True)
    got = T.jit(lambda q: (T.grad(T.checkpoint(lambda q: (attn(q) ** 2).sum()))(q),
                           T.grad(lambda q: (T.grad(lambda q: (attn(q) ** 2).sum())(q) ** 2)
                                  .sum())(q)))(q)
    with jax.default_matmul_precision("highest"):
        want = jax.jit(lambda q: (jax.grad(lambda q: (dense(q) ** 2).sum())(q),
                                  jax.grad(lambda q: (jax.grad(lambda q: (dense(q) ** 2).sum())(q)
                                                      ** 2).sum())(q)))(q)
    assert_trees_close(got, want, rtol=1e-4, atol=1e-4)
