"""pallas_kernels.matmul in Pallas interpret mode against jnp (values, fused
bias / activation epilogues, bf16, batched, jvp, vjp, vmap), typed errors,
and the autotuner's JSON cache. Every case inside one jitted function per side."""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fx
import transforms as T
from fx.errors import FxTypeError, ShapeError
from pallas_kernels import KernelConfigError, KernelUnavailableError, autotune, matmul
from pallas_kernels import mosaic_gpu as _mgpu
from pallas_kernels.blocks import cached_config, matmul_blocks, store_config, target_platform
from tests.oracle import assert_trees_close

_rng = np.random.default_rng(1)
BLK = dict(block_m=8, block_n=8, block_k=8)


def _a(*shape, dtype=jnp.float32):
    return jnp.asarray(_rng.normal(size=shape), dtype)


A, B, C = _a(20, 24), _a(24, 12), _a(12)          # M, K, N not multiples of the block 8
A3, B3, C3 = _a(3, 20, 24), _a(3, 24, 12), _a(3, 12)
W = np.cos(np.arange(240, dtype=np.float32)).reshape(20, 12)   # loss weights


def _cases(mm, act, dot):
    """(name -> value) for mm = ours or jnp-based, with the same structure."""
    return {
        "plain": mm(A, B),
        "bias_relu": mm(A, B, C, "relu"),
        "bias_gelu": mm(A, B, C, "gelu"),
        "silu_bf16": mm(A.astype(jnp.bfloat16), B.astype(jnp.bfloat16), None, "silu"),
        "batched_tanh": mm(A3, B3, C, "tanh"),
        "x_at_w": mm(A3, B, None, "sigmoid"),
        "out_f32": dot(A.astype(jnp.bfloat16), B.astype(jnp.bfloat16)),
    }


def _ours(a, b, c=None, act=None):
    return matmul(a, b, bias=c, activation=act, **BLK)


def _jax(a, b, c=None, act=None):
    z = jnp.matmul(a, b, preferred_element_type=jnp.float32)
    z = z if c is None else z + (c[:, None] if c.ndim == 2 else c)   # bias [B, N]: per matrix
    z = z if act is None else getattr(jax.nn, act)(z) if act != "tanh" else jnp.tanh(z)
    return z.astype(a.dtype)


def test_values_and_epilogues_match_jax():
    got = T.jit(lambda: _cases(_ours, None, lambda a, b: matmul(a, b, out_dtype=jnp.float32,
                                                                **BLK)))()
    want = jax.jit(lambda: _cases(_jax, None, lambda a, b: jnp.matmul(
        a, b, preferred_element_type=jnp.float32)))()
    for name in want:
        tol = dict(rtol=2e-2, atol=2e-2) if want[name].dtype == jnp.bfloat16 else \
            dict(rtol=1e-5, atol=1e-5)
        assert_trees_close(got[name], want[name], what=name, **tol)


def test_jvp_vjp_vmap_match_jax():
    def fns(mm, jvp, grad, vmap):
        f = lambda a, b, c: mm(a, b, c, "gelu")  # noqa: E731
        lin = lambda a, b, c: mm(a, b, c)  # noqa: E731
        return {
            "jvp": jvp(f, (A, B, C), (0.5 * A, -B, C)),
            "jvp_linear": jvp(lin, (A, B, C), (A, B, C)),
            "vjp": grad(lambda a, b, c: (f(a, b, c) * W).sum(), argnums=(0, 1, 2))(A, B, C),
            "vjp_batched": grad(lambda a, b: (mm(a, b, C3, "relu") * W).sum(),
                                argnums=(0, 1))(A3, B3),
            "vmap_a": vmap(lambda a: mm(a, B, C, "relu"))(A3),
            "vmap_b": vmap(lambda b: mm(A, b, C))(B3),
            "vmap_all": vmap(lambda a, b, c: mm(a, b, c, "silu"))(A3, B3, C3),
            "vmap_grad": vmap(grad(lambda a, b: (lin(a, b, C) * W).sum(), argnums=(0, 1)))(
                A3, B3),
        }
    got = T.jit(lambda: fns(_ours, T.jvp, T.grad, T.vmap))()
    want = jax.jit(lambda: fns(_jax, jax.jvp, jax.grad, jax.vmap))()
    # outputs of size ~10: atol 1e-4 is 1e-5 relative to them (tangents where gelu' ~ 0
    # differ by rounding of the pre-activation, summed in another order by the tiles)
    assert_trees_close(got, want, rtol=1e-5, atol=1e-4)


@pytest.mark.skipif(not _mgpu.interpreter_available(),
                    reason="Mosaic GPU kernels run on the CPU with jax >= 0.11's GPU interpreter")
def test_mosaic_gpu_kernel_in_the_gpu_interpreter_matches_jax():
    """The Mosaic GPU (wgmma) kernel, under jax's GPU interpreter: values with the
    fused bias + gelu, padded sizes, a batch, and grads (the transposes: ct @ b^T by
    the Mosaic kernel, a^T @ ct by Triton's where its 32-row tile does not fit wgmma)."""
    bf = jnp.bfloat16
    a, b, c = _a(2, 70, 96, dtype=bf), _a(2, 96, 40, dtype=bf), _a(40)
    w = np.cos(np.arange(2 * 70 * 40, dtype=np.float32)).reshape(2, 70, 40)

    def fns(mm, grad):
        f = lambda a, b, c: mm(a, b, c, "gelu")  # noqa: E731
        return {"value": f(a, b, c),
                "grad": grad(lambda a, b, c: (f(a, b, c).astype(jnp.float32) * w).sum(),
                             argnums=(0, 1, 2))(a, b, c)}
    ours = lambda a, b, c=None, act=None: matmul(a, b, bias=c, activation=act,  # noqa: E731
                                                 backend="mosaic_gpu", block_k=32)
    graph = fx.make_graph(lambda: fns(ours, T.grad))()
    assert {e.params["gpu_backend"] for e in fx.find(graph, "matmul", recursive=True)} == \
        {"mosaic_gpu"}
    got = T.jit(lambda: fns(ours, T.grad))()
    want = jax.jit(lambda: fns(_jax, jax.grad))()
    assert_trees_close(got, want, rtol=3e-2, atol=6e-2)   # bfloat16 cotangents


def test_typed_errors():
    bad = [
        (ShapeError, "contracted", lambda: matmul(A, A)),
        (ShapeError, "rank", lambda: matmul(A[0], B)),
        (ShapeError, "bias", lambda: matmul(A, B, bias=_a(5))),
        (FxTypeError, "one dtype", lambda: matmul(A, B.astype(jnp.bfloat16))),
        (FxTypeError, "float32", lambda: matmul(A.astype(jnp.int32), B.astype(jnp.int32))),
        (KernelConfigError, "unknown activation", lambda: matmul(A, B, activation="swish2")),
        (KernelConfigError, "power of two|padded length", lambda: matmul(A, B, block_k=24)),
        (KernelConfigError, "backend=", lambda: matmul(A, B, backend="cuda")),
        (KernelConfigError, "bfloat16 / float16", lambda: matmul(A, B, backend="mosaic_gpu")),
        (KernelConfigError, "block_m=32", lambda: matmul(
            A.astype(jnp.bfloat16), B.astype(jnp.bfloat16), block_m=32, backend="mosaic_gpu")),
    ]
    if not _mgpu.interpreter_available():
        bad.append((KernelUnavailableError, "jax >= 0.11", lambda: matmul(
            A.astype(jnp.bfloat16), B.astype(jnp.bfloat16), backend="mosaic_gpu")))
    for err, match, thunk in bad:
        with pytest.raises(err, match=match):
            thunk()


def test_autotune_times_candidates_and_caches_the_winner(tmp_path, monkeypatch):
    path = str(tmp_path / "autotune.json")
    a, b = A[:8, :8], B[:8, :8]
    cands = [dict(block_m=4, block_n=8, block_k=8), dict(block_m=8, block_n=8, block_k=8)]
    best = autotune.autotune_matmul(a, b, candidates=cands, reps=1, cache_path=path)
    assert {k: best[k] for k in cands[0]} in cands and best["seconds"] > 0
    key = ((8, 8), (8, 8), "float32")
    assert cached_config("matmul", key, path) == {k: best[k] for k in cands[0]}
    with open(path) as f:
        assert json.load(f)["matmul"]                  # one JSON file, per kernel and device
    # a compiled (non-interpret) kernel at a cached shape takes the cached blocks
    store_config("matmul", ((64, 64), (64, 64), "float32"), dict(block_m=32, block_n=64,
                                                                 block_k=16), path)
    monkeypatch.setenv("FXJAX_AUTOTUNE_CACHE", path)
    with target_platform("gpu"):
        blocks = matmul_blocks(((64, 64), (64, 64), "float32"), 64, 64, 64, interpret=False)
        assert (blocks.block_m, blocks.block_n, blocks.block_k) == (32, 64, 16)
        blocks = matmul_blocks(((64, 64), (64, 64), "float32"), 64, 64, 64, interpret=False,
                               block_m=16)                  # an explicit block wins
        assert blocks.block_m == 16
    with pytest.raises(KernelConfigError, match="no candidate ran"):
        autotune.autotune_matmul(a, b, candidates=[dict(block_m=3, block_n=8, block_k=8)],
                                 reps=1, cache_path=path)
    # Mosaic GPU winners go to their own section, from the candidates wgmma takes
    store_config("matmul_mgpu", ((64, 64), (64, 64), "bfloat16"),
                 dict(block_m=64, block_n=32, block_k=16), path)
    with target_platform("gpu"):
        blocks = matmul_blocks(((64, 64), (64, 64), "bfloat16"), 64, 64, 64, interpret=False,
                               mosaic_gpu=True)
        assert (blocks.block_m, blocks.block_n, blocks.block_k) == (64, 32, 16)
    if _mgpu.interpreter_available():
        a16, b16 = _a(64, 16, dtype=jnp.bfloat16), _a(16, 16, dtype=jnp.bfloat16)
        cands = [dict(block_m=16, block_n=16, block_k=16), dict(block_m=64, block_n=16,
                                                                 block_k=16)]
        best = autotune.autotune_matmul(a16, b16, candidates=cands, reps=1, cache_path=path,
                                        backend="mosaic_gpu")
        assert best["block_m"] == 64      # the 16-row tile does not fit wgmma: not tried
        assert cached_config("matmul_mgpu", ((64, 16), (16, 16), "bfloat16"), path)
