"""The matmul kernel for Mosaic GPU (Hopper ``wgmma``), jax >= 0.11's GPU Pallas backend.

jax 0.11 deprecates the Pallas Triton backend for Mosaic GPU. This is the
``matmul`` primitive's kernel written for it: one CUDA block per
``[block_m, block_n]`` output tile (``plgpu.kernel`` grid ``(batch, m, n)``),
``plgpu.emit_pipeline`` streaming ``[block_m, block_k]`` / ``[block_k, block_n]``
tiles of ``a`` / ``b`` into shared memory (TMA, ``max_concurrent_steps``
stages) while ``wgmma`` accumulates into a float32 register accumulator; then
the epilogue (bias, activation, cast) on the accumulator and one TMA store of
the tile through shared memory.

Off a GPU, the same kernel runs under jax 0.11's GPU interpreter
(``interpret=plgpu.InterpretGPUParams()``: shared memory, TMA copies and
barriers simulated on the CPU), which the tests use; jax 0.10 has no public
GPU interpreter, so there the kernel is only lowered (cross-platform, for an
abstract H200), not run.

References:
    The Pallas Mosaic GPU quickstart and reference (``emit_pipeline``, ``wgmma``,
    ``delay_release``); NVIDIA, "CUDA C++ Programming Guide", asynchronous
    warpgroup MMA (sm_90).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import pallas as pl

from pallas_kernels.mosaic_gpu import (interpret_params, load_vector, plgpu, smem_transforms,
                                       MGPU_DTYPES)

__all__ = ["supports", "matmul_mgpu"]


def supports(dtype, block_m: int, block_n: int, block_k: int) -> bool:
    """The tiles fit wgmma: 16-bit operands, ``block_m`` a multiple of 64 (one
    warpgroup's rows), ``block_n`` a multiple of 8 up to 256, ``block_k`` a
    multiple of 16 whose rows span at least one 32-byte swizzle."""
    return (np.dtype(dtype) in MGPU_DTYPES and block_m % 64 == 0 and block_n % 8 == 0
            and block_n <= 256 and block_k % 16 == 0 and block_k * 2 >= 32)


def matmul_mgpu(a3, b3, bias2, *, block_m: int, block_n: int, block_k: int, out_type,
                activation_fn, interpret: bool, max_concurrent_steps: int = 2):
    """``activation(a3 @ b3 + bias2)`` for padded ``a3 [B, M, K]``, ``b3 [B, K, N]``
    (every size a multiple of its block) and ``bias2 [B, N]`` or None.

    Args:
      a3, b3, bias2: the padded operands (jax values).
      block_m, block_n, block_k: the tiles (see :func:`supports`).
      out_type: the output's ``jax.ShapeDtypeStruct`` (``[B, M, N]``, its dtype; inside
        ``shard_map`` also the mesh axes it varies over).
      activation_fn: None or a function of the float32 accumulator.
      interpret: run under the GPU interpreter (jax >= 0.11) instead of compiling.
      max_concurrent_steps: pipeline stages in flight (shared-memory buffers per operand).

    Returns:
      ``[B, M, N]`` in ``out_dtype``.
    """
    batch, m, k = a3.shape
    n = b3.shape[-1]
    k_steps = k // block_k
    has_bias = bias2 is not None
    a_tf = smem_transforms(block_k, a3.dtype)      # wgmma reads tiled, swizzled SMEM
    b_tf = smem_transforms(block_n, b3.dtype)
    out_dtype = out_type.dtype
    out_tf = smem_transforms(block_n, out_dtype)

    def kernel(a_gmem, b_gmem, *refs):
        bias_gmem = refs[0] if has_bias else None
        o_gmem, o_smem = refs[-2], refs[-1]
        bi, mi, ni = (jax.lax.axis_index(name) for name in ("b", "m", "n"))

        def with_accumulator(acc):
            def step(_, a_smem, b_smem):
                plgpu.wgmma(acc, a_smem, b_smem)
                plgpu.wgmma_wait(1)           # one wgmma in flight while the next tiles land

            plgpu.emit_pipeline(
                step, grid=(k_steps,),
                in_specs=[plgpu.BlockSpec((block_m, block_k), lambda kk: (mi, kk),
                                          transforms=a_tf, delay_release=1),
                          plgpu.BlockSpec((block_k, block_n), lambda kk: (kk, ni),
                                          transforms=b_tf, delay_release=1)],
                max_concurrent_steps=max_concurrent_steps)(a_gmem.at[bi], b_gmem.at[bi])
            out = acc[...]
            if bias_gmem is not None:
                # a row of the tile's columns, laid out as the accumulator's columns
                row = load_vector(bias_gmem, (bi, pl.ds(ni * block_n, block_n)), 0
                                  ).astype(jnp.float32)
                out = out + jax.lax.broadcast_in_dim(row, (block_m, block_n), (1,))
            if activation_fn is not None:
                out = activation_fn(out)
            o_smem[...] = out.astype(o_smem.dtype)

        pl.run_scoped(with_accumulator, plgpu.ACC((block_m, block_n), jnp.float32))
        plgpu.commit_smem()                     # the tile is visible to the TMA engine
        plgpu.copy_smem_to_gmem(o_smem, o_gmem.at[bi, pl.ds(mi * block_m, block_m),
                                                  pl.ds(ni * block_n, block_n)])
        plgpu.wait_smem_to_gmem(0)

    run = plgpu.kernel(
        kernel, out_type=out_type,
        scratch_types=[plgpu.SMEM((block_m, block_n), out_dtype, transforms=out_tf)],
        grid=(batch, m // block_m, n // block_n), grid_names=("b", "m", "n"),
        interpret=interpret_params(interpret))
    return run(a3, b3, *([bias2] if has_bias else []))
