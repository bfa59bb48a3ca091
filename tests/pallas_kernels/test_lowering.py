"""The compiled paths without their devices: every kernel (forward, both
backward kernels, matmul) lowered for CUDA (Pallas' Triton lowering) and for
TPU (Mosaic) from this machine, with ``target_platform`` and jax's
cross-platform lowering. This catches what interpret mode accepts but the
compilers reject (power-of-two tensor sizes for Triton, (8, 128) tiles and
2-D values for Mosaic); PTX / TPU code generation itself needs the device
(tests/pallas_kernels/test_gpu.py)."""
import jax
import jax.numpy as jnp
import numpy as np

import transforms as T
from fx.interpreter import lower_graph
from fx.tracing import make_graph
from pallas_kernels import flash_attention, matmul
from pallas_kernels.blocks import target_platform


def _lowered_text(fn, args, platform):
    with target_platform(platform):
        graph = make_graph(fn)(*args)
        return jax.jit(lambda *a: lower_graph(graph, *a)).trace(*args).lower(
            lowering_platforms=("cuda" if platform == "gpu" else platform,)).as_text()


def test_kernels_lower_for_gpu_and_tpu():
    def attention_grad(**kw):   # (backend="triton": jax >= 0.11 picks Mosaic GPU for bf16)
        def f(q, k, v, b):
            loss = lambda q, k, v, b: flash_attention(  # noqa: E731
                q, k, v, bias=b, interpret=False, backend="triton", **kw).astype(
                    np.float32).sum()
            return T.grad(loss, argnums=(0, 1, 2, 3))(q, k, v, b)
        return f

    def mm(a, b, c):   # (backend="triton": jax >= 0.11 picks Mosaic GPU for bf16 on a GPU)
        return T.grad(lambda a, b: matmul(a, b, bias=c, activation="gelu", interpret=False,
                                          backend="triton")
                      .astype(np.float32).sum(), argnums=(0, 1))(a, b)
    zeros = jnp.zeros
    # GPU: a padded length (200, 300), GQA, D=40 padded to 64, mask and segment ids
    q, k = zeros((1, 200, 4, 40), jnp.bfloat16), zeros((1, 300, 2, 40), jnp.bfloat16)
    seg = (zeros((1, 200), jnp.int32), zeros((1, 300), jnp.int32))
    gpu = _lowered_text(attention_grad(causal=True, segment_ids=seg,
                                       mask=jnp.ones((1, 1, 200, 300), bool)),
                        (q, k, k, zeros((1, 4, 200, 300), jnp.float32)), "gpu")
    assert gpu.count("triton") >= 3, "forward, dkv and dq kernels"
    gpu = _lowered_text(mm, (zeros((300, 200), jnp.bfloat16), zeros((200, 130), jnp.bfloat16),
                             zeros((130,), jnp.float32)), "gpu")
    assert gpu.count("triton") >= 3, "the matmul and its two transposes"
    # TPU: the table's 128 x 128 tiles
    q = zeros((1, 256, 2, 128), jnp.bfloat16)
    tpu = _lowered_text(attention_grad(causal=True), (q, q, q, zeros((1, 2, 256, 256))), "tpu")
    assert tpu.count("tpu_custom_call") >= 3
    tpu = _lowered_text(mm, (zeros((256, 512), jnp.bfloat16), zeros((512, 256), jnp.bfloat16),
                             zeros((256,), jnp.float32)), "tpu")
    assert tpu.count("tpu_custom_call") >= 3


def test_mosaic_gpu_matmul_lowers_for_an_h200():
    """The Mosaic GPU (wgmma) matmul, its bias + gelu epilogue and both transposes,
    lowered for CUDA from this machine: every Mosaic GPU layout / tiling / swizzle
    constraint is checked there (PTX generation itself needs the device)."""
    def mm(a, b, c):
        return T.grad(lambda a, b: matmul(a, b, bias=c, activation="gelu", interpret=False,
                                          backend="mosaic_gpu").astype(np.float32).sum(),
                      argnums=(0, 1))(a, b)
    gpu = _lowered_text(mm, (jnp.zeros((300, 200), jnp.bfloat16),
                             jnp.zeros((200, 130), jnp.bfloat16),
                             jnp.zeros((130,), jnp.float32)), "gpu")
    assert gpu.count("mosaic_gpu") >= 3 and "triton" not in gpu, \
        "the matmul and its two transposes, all by the Mosaic GPU kernel"


def test_mosaic_gpu_attention_lowers_for_an_h200():
    """The Mosaic GPU flash attention (forward, dk/dv and dq kernels: wgmma with the
    probabilities as a register operand, TMA streams, bias / mask tiles and the dbias
    store from registers), causal with segment ids, a bias and a mask, GQA, padded
    lengths and head dim, lowered for CUDA from this machine."""
    def attention_grad(q, k, v, b, seg_q, seg_k):
        loss = lambda q, k, v, b: flash_attention(  # noqa: E731
            q, k, v, bias=b, mask=jnp.ones((1, 1, 200, 300), bool), causal=True,
            segment_ids=(seg_q, seg_k), interpret=False,
            backend="mosaic_gpu").astype(np.float32).sum()
        return T.grad(loss, argnums=(0, 1, 2, 3))(q, k, v, b)
    q, k = jnp.zeros((1, 200, 4, 40), jnp.bfloat16), jnp.zeros((1, 300, 2, 40), jnp.bfloat16)
    gpu = _lowered_text(attention_grad, (q, k, k, jnp.zeros((1, 4, 200, 300)),
                                         jnp.zeros((1, 200), jnp.int32),
                                         jnp.zeros((1, 300), jnp.int32)), "gpu")
    assert gpu.count("mosaic_gpu") >= 3 and "triton" not in gpu, \
        "the forward, dk/dv and dq kernels, all by Mosaic GPU"
