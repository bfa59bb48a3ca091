# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kernels: flash attention and a fused matmul in Pallas
#
# `pallas_kernels` holds two hand-written kernels, written with
# `jax.experimental.pallas`:
#
# * `flash_attention(q, k, v, ...)`: FlashAttention-2, forward and backward,
#   on jax's `[batch, seq, heads, head_dim]` layout (causal, GQA/MQA, bias,
#   mask, segment ids);
# * `matmul(a, b, bias=..., activation=...)`: a tiled matmul whose epilogue
#   adds the bias and applies the activation before the tile is written.
#
# Each kernel is a **primitive of our IR**, with abstract-eval, jvp,
# transpose and batching rules like any other op, so `grad`, `vmap`, `jit`
# compose with it. On a GPU the kernels compile through Pallas' Triton
# lowering (Mosaic on TPU); on this CPU-only machine they run in Pallas
# **interpret mode** (`interpret=None` picks it automatically): the same
# kernel code, tile by tile, executed as ordinary XLA ops. Interpret mode
# checks values, not speed: this notebook checks the kernels against
# `pallas_kernels.reference_attention` (the same attention written plainly in
# our primitives), `jax.nn.dot_product_attention` and `jnp`; the GPU figures
# come from `benchmarks/kernels.py` (last section).

# %%
import json
import os
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

import fx
import pallas_kernels as pk
import primitives.nn as fnn
import primitives.numpy as fnp
from pallas_kernels import blocks
from transforms import grad, jit, vmap

T_START = time.perf_counter()
# we compare values here, not speed: XLA's optimization passes only cost compile time
jax.config.update("jax_disable_most_optimizations", True)
print("backend:", jax.default_backend(), "| kernels built for:", blocks.platform(),
      "| interpret mode:", blocks.resolve_interpret(None))


def max_diff(a, b):
    """Largest absolute difference between two pytrees of arrays."""
    return max(float(jnp.max(jnp.abs(jnp.asarray(x, jnp.float32) - jnp.asarray(y, jnp.float32))))
               for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


# %% [markdown]
# ## Flash attention against the reference and `jax.nn`
#
# Small shapes (interpret mode is slow): batch 2, 40 queries, 48 keys, 4 query
# heads sharing 2 key/value heads (GQA), head dim 16, blocks of 16 (40 and 48
# are not multiples of 16: the kernel pads and masks the last block). Causal
# and not.

# %%
rng = np.random.default_rng(0)
B, T, S, N, K, D = 2, 40, 48, 4, 2, 16
q = jnp.asarray(rng.normal(size=(B, T, N, D)), jnp.float32)
k = jnp.asarray(rng.normal(size=(B, S, K, D)), jnp.float32)
v = jnp.asarray(rng.normal(size=(B, S, K, D)), jnp.float32)

fwd_diffs = {}
for causal in (False, True):
    ours = jit(lambda q, k, v, c=causal: pk.flash_attention(q, k, v, causal=c,
                                                             block_q=16, block_k=16))(q, k, v)
    ref = jit(lambda q, k, v, c=causal: pk.reference_attention(q, k, v, causal=c))(q, k, v)
    theirs = jax.jit(lambda q, k, v, c=causal: jax.nn.dot_product_attention(
        q, k, v, is_causal=c))(q, k, v)
    fwd_diffs[causal] = (max_diff(ours, ref), max_diff(ours, theirs))
    print(f"causal={causal!s:5}: out {ours.shape}, max |flash - reference| = "
          f"{fwd_diffs[causal][0]:.1e}, max |flash - jax.nn.dot_product_attention| = "
          f"{fwd_diffs[causal][1]:.1e}")

# %% [markdown]
# ## What the IR sees
#
# `flash_attention` is one equation, `flash_attention_fwd`, with the kernel's
# configuration as static params (blocks, causal, scale, interpret); it
# returns the output and the log-sum-exp of each row, which the backward
# kernel reuses instead of storing the `[T, S]` probabilities.

# %%
def attn(q, k, v):
    return pk.flash_attention(q, k, v, causal=True, block_q=16, block_k=16)


print(fx.make_graph(attn)(q, k, v))

# %% [markdown]
# ## `grad`: the backward kernels
#
# The two primitives are joined by a `custom_vjp`: the forward saves `(q, k,
# v, out, lse)`, and the backward is FlashAttention-2's (`D = rowsum(dO *
# O)`, a kernel for dK/dV and one for dQ), so the gradient graph holds
# `flash_attention_bwd` and no `[T, S]` matrix:

# %%
def attn_loss(q, k, v):
    return fnp.sum(attn(q, k, v) ** 2)


def jax_attn_loss(q, k, v):
    return jnp.sum(jax.nn.dot_product_attention(q, k, v, is_causal=True) ** 2)


grad_graph = fx.make_graph(grad(attn_loss, argnums=(0, 1, 2)))(q, k, v)
print(sorted({e.primitive.name for e in grad_graph.equations}))
g_ours = jit(grad(attn_loss, argnums=(0, 1, 2)))(q, k, v)
g_jax = jax.jit(jax.grad(jax_attn_loss, argnums=(0, 1, 2)))(q, k, v)
attn_grad_diff = max_diff(g_ours, g_jax)
print("dq, dk, dv shapes:", [x.shape for x in g_ours],
      f"\nmax |our grad - jax.grad(jax.nn.dot_product_attention)| = {attn_grad_diff:.1e}")

# %% [markdown]
# ## `vmap`
#
# The batch rule folds a vmapped axis into the kernel's batch dimension (the
# grid gets bigger; no loop). Here attention written for **one** sequence
# (`[T, N, D]`) and vmapped over the batch equals the batched call:

# %%
def attn_one(q, k, v):                          # q: [T, N, D], one sequence
    return pk.flash_attention(q[None], k[None], v[None], block_q=16, block_k=16)[0]


vmapped = jit(vmap(attn_one))(q, k, v)
vmap_diff = max_diff(vmapped, pk.flash_attention(q, k, v, block_q=16, block_k=16))
print(f"max |vmap(attention of one sequence) - batched attention| = {vmap_diff:.1e}")
print([e.primitive.name for e in fx.make_graph(vmap(attn_one))(q, k, v).equations])

# %% [markdown]
# The kernel is also what `primitives.nn.dot_product_attention` (our
# `jax.nn.dot_product_attention`) runs with `implementation="pallas"`
# (registered by `import pallas_kernels`):

# %%
dpa_pallas = jit(lambda q, k, v: fnn.dot_product_attention(q, k, v, is_causal=True,
                                                           implementation="pallas"))(q, k, v)
dpa_xla = jit(lambda q, k, v: fnn.dot_product_attention(q, k, v, is_causal=True))(q, k, v)
dpa_diff = max_diff(dpa_pallas, dpa_xla)
print(f"max |implementation='pallas' - implementation=None (XLA)| = {dpa_diff:.1e}")

# %% [markdown]
# ## The matmul and its fused epilogue
#
# `matmul(x, w, bias=b, activation="gelu")` computes `gelu(x @ w + b)` in one
# kernel: each output tile is accumulated in float32 over the K blocks, and
# the bias and the activation are applied to the accumulator before the tile
# is stored (no round trip of `x @ w` through memory). A leading batch of `x`
# folds into M. Its jvp and transpose rules make `grad` work, and the
# transposes are matmuls by the same kernel. (Under differentiation the
# forward kernel keeps the bias in its epilogue and returns the
# pre-activation, from which the activation and its derivative are computed.)

# %%
x = jnp.asarray(rng.normal(size=(2, 24, 40)), jnp.float32)    # [batch, M, K]
w = jnp.asarray(rng.normal(size=(40, 20)) / np.sqrt(40), jnp.float32)
b = jnp.asarray(rng.normal(size=(20,)), jnp.float32)


def dense(x, w, b):
    return pk.matmul(x, w, bias=b, activation="gelu", block_m=16, block_n=16, block_k=16)


def jax_dense(x, w, b):
    return jax.nn.gelu(x @ w + b, approximate=True)


mm_diff = max_diff(jit(dense)(x, w, b), jax.jit(jax_dense)(x, w, b))
mm_grad = jit(grad(lambda x, w, b: fnp.sum(dense(x, w, b) ** 2), argnums=(0, 1, 2)))(x, w, b)
mm_grad_jax = jax.jit(jax.grad(lambda x, w, b: jnp.sum(jax_dense(x, w, b) ** 2),
                               argnums=(0, 1, 2)))(x, w, b)
mm_grad_diff = max_diff(mm_grad, mm_grad_jax)
print(f"max |matmul(gelu epilogue) - jax.nn.gelu(x @ w + b)| = {mm_diff:.1e}; "
      f"gradients: {mm_grad_diff:.1e}")
mm_grad_graph = fx.make_graph(grad(lambda x, w, b: fnp.sum(dense(x, w, b) ** 2),
                                   argnums=(0, 1, 2)))(x, w, b)
print(fx.make_graph(dense)(x, w, b))
print("matmul equations in the gradient graph:",
      [f"matmul{tuple(v.aval.shape for v in e.inputs)} activation={e.params['activation']}"
       for e in mm_grad_graph.equations if e.primitive.name == "matmul"])

# %% [markdown]
# ## Block sizes and autotuning
#
# A kernel's tile sizes come, in order of priority, from the explicit
# arguments (`block_q=`, `block_m=`, ...), the **autotune cache**, and a
# per-platform table (`pallas_kernels.blocks.TABLE`). The table (per head dim
# for attention, per largest matrix dimension for the matmul; each row is
# `(block_q, block_k, num_warps, num_stages)` or `(block_m, block_n, block_k,
# num_warps, num_stages)`, the last two for Triton):

# %%
for (kernel, plat), rows in blocks.TABLE.items():
    print(f"{kernel:9s} {plat:9s}", "; ".join(
        f"{'any size' if lim >= 1 << 30 else f'up to {lim}'}: {tuple(bl)}" for lim, bl in rows))
print("\nwithout block arguments, here (interpret):",
      blocks.attention_blocks((B, T, N, S, K, D), D, T, S, interpret=True))

# %% [markdown]
# `pallas_kernels.autotune.autotune_attention(q, k, v, causal=...)` and
# `autotune_matmul(a, b)` compile and time each candidate configuration on the
# device and store the fastest in a JSON file, per kernel, device kind and
# shape (`$FXJAX_AUTOTUNE_CACHE`, default `~/.cache/fxjax/autotune.json`), as
# Triton's autotuner does; later calls at that shape on that device kind use
# it. Here is the mechanism with two candidates, in interpret mode, written
# to a temporary file (on CPU the timings say nothing about a GPU, so
# interpret mode never *reads* the cache):

# %%
cache_file = os.path.join(tempfile.mkdtemp(), "autotune.json")
a2, b2 = jnp.ones((32, 32), jnp.float32), jnp.ones((32, 32), jnp.float32)
best = pk.autotune.autotune_matmul(
    a2, b2, reps=2, cache_path=cache_file,
    candidates=[{"block_m": 16, "block_n": 16, "block_k": 16},
                {"block_m": 32, "block_n": 32, "block_k": 32}])
print("winner:", best)
with open(cache_file) as f:
    cache = json.load(f)
print(json.dumps(cache, indent=1)[:400])

# %% [markdown]
# ## The same kernels, lowered for a GPU from here
#
# Interpret mode accepts code the GPU compiler would reject. `target_platform`
# builds the kernels for another platform (its block table and compiler
# parameters), and jax's cross-platform lowering produces the program a CUDA
# machine would compile: with `backend="triton"` the kernel is a Triton call in
# it. (Generating PTX needs the device; `tests/pallas_kernels/test_lowering.py`
# does this for every kernel, for CUDA and TPU.)

# %%
qg = jnp.zeros((1, 128, 2, 64), jnp.bfloat16)
with blocks.target_platform("gpu"):
    gpu_graph = fx.make_graph(lambda q, k, v: pk.flash_attention(q, k, v, causal=True,
                                                                 backend="triton"))(qg, qg, qg)
    gpu_text = jax.jit(lambda *a: fx.lower_graph(gpu_graph, *a)).trace(qg, qg, qg).lower(
        lowering_platforms=("cuda",)).as_text()
fwd_eqn = fx.find(gpu_graph, "flash_attention_fwd", recursive=True)[0]
print({k_: fwd_eqn.params[k_] for k_ in ("block_q", "block_k", "num_warps", "num_stages",
                                        "interpret") if k_ in fwd_eqn.params})
print("triton calls in the CUDA program:", gpu_text.count("triton"))

# %% [markdown]
# Both kernels also have Mosaic GPU implementations (Hopper `wgmma` + TMA, jax
# >= 0.11's GPU Pallas backend, where Triton is deprecated):
# `backend="mosaic_gpu"`, the default on a GPU with jax >= 0.11 for 16-bit
# operands. Lowered for an H200 from here, they are Mosaic GPU calls:

# %%
ag = jnp.zeros((256, 128), jnp.bfloat16)
with blocks.target_platform("gpu"):
    mm_text = jax.jit(lambda a, b: pk.matmul(a, b, backend="mosaic_gpu", interpret=False)).trace(
        ag, ag.T).lower(lowering_platforms=("cuda",)).as_text()
    fa_text = jax.jit(lambda q, k, v: pk.flash_attention(
        q, k, v, causal=True, backend="mosaic_gpu", interpret=False)).trace(
        qg, qg, qg).lower(lowering_platforms=("cuda",)).as_text()
print("Mosaic GPU calls in the CUDA programs:", mm_text.count("mosaic_gpu"),
      fa_text.count("mosaic_gpu"))
assert mm_text.count("mosaic_gpu") >= 1 and "triton" not in mm_text
assert fa_text.count("mosaic_gpu") >= 1 and "triton" not in fa_text

# %% [markdown]
# ## GPU figures
#
# Speed is measured on a GPU by `benchmarks/kernels.py`: TFLOP/s of the bf16
# flash attention forward and forward+backward (FLOPs counted as
# `4*B*T*S*H*D` forward, 2.5x that backward, half of both when causal) against
# `jax.nn.dot_product_attention(implementation="cudnn")` and `"xla"`, and the
# matmul against `jnp.dot` (cuBLAS):
#
# ```
# .venv/bin/python benchmarks/kernels.py --out kernels.json     # on a GPU: the table
# .venv/bin/python benchmarks/kernels.py                        # on CPU: interpret-mode checks
# ```
#
# Targets: attention forward >= 0.8x cuDNN, forward+backward >= 0.7x cuDNN,
# matmul >= 0.85x cuBLAS. There is no GPU on the machine that runs this
# notebook, so it has no figures to show: the README's "Kernel figures"
# section has the measured table when one was available. The FLOP count of one
# configuration of that table, for reference:

# %%
def attention_tflop(b, t, h, d, causal, backward=False):
    flops = 4 * b * t * t * h * d * (0.5 if causal else 1.0)
    return flops * (3.5 if backward else 1.0) / 1e12


print(f"B=8, H=16, T=4096, D=128, causal: forward {attention_tflop(8, 4096, 16, 128, True):.2f} "
      f"TFLOP, forward+backward {attention_tflop(8, 4096, 16, 128, True, True):.2f} TFLOP")

# %% [markdown]
# ## Checks
#
# The notebook fails if any of these does not hold.

# %%
for causal, (d_ref, d_jax) in fwd_diffs.items():
    assert d_ref < 1e-5 and d_jax < 1e-5, (causal, d_ref, d_jax)
assert attn_grad_diff < 1e-4, attn_grad_diff
assert {"flash_attention_fwd", "flash_attention_bwd"} <= {e.primitive.name for e in grad_graph.equations}
assert vmap_diff < 1e-6, vmap_diff
assert dpa_diff < 1e-5, dpa_diff
assert mm_diff < 1e-5, mm_diff
assert mm_grad_diff < 1e-4 * max(float(jnp.max(jnp.abs(g))) for g in mm_grad_jax), mm_grad_diff
assert sum(e.primitive.name == "matmul" for e in mm_grad_graph.equations) >= 3   # fwd + 2 transposes
assert best["block_m"] in (16, 32) and best["seconds"] > 0
assert any("matmul" in str(key_) for key_ in json.dumps(cache).split('"'))
assert fwd_eqn.params["interpret"] is False and gpu_text.count("triton") >= 1
print(f"all checks passed; notebook ran in {time.perf_counter() - T_START:.1f} s")
