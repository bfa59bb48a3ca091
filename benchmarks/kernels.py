"""Pallas kernel benchmarks (issue: Pallas kernels): TFLOP/s of our flash
attention and matmul against jax's cuDNN / XLA attention and cuBLAS.

On a GPU: bf16 flash attention forward and forward+backward (FLOPs counted
as 4*B*T*S*H*D forward, 2.5x that for the backward, half of both when causal)
with B=8, H=16 up to 4k and B=4, H=32 at 16k (where the xla path's logits do
not fit and only cuDNN is compared), D in {64, 128}, seq in {1k, 4k, 16k},
causal and not, against ``jax.nn.dot_product_attention(implementation='cudnn'
and 'xla')``; bf16 matmul 4096^3 and 8192^3 against ``jnp.dot`` (cuBLAS).
Ours is timed three ways: ``ours`` (the default pick: Mosaic GPU for 16-bit
operands on jax >= 0.11, Triton before), ``ours_triton`` and ``ours_mosaic``.
Targets: attention fwd >= 0.8x cuDNN, fwd+bwd >= 0.7x cuDNN, matmul >= 0.85x
cuBLAS. Anchors (H100, FA3 paper, D=128, 16k, fwd non-causal): FA2 ~370 TF/s,
cuDNN ~595, FA3 ~648; a good GEMM ~790-800 TF/s.

On CPU there is no kernel compiler: the script runs the interpret-mode
correctness path (tiny shapes, against jax.nn and jnp) and says so.

Run: ``.venv/bin/python benchmarks/kernels.py [--quick] [--autotune] [--out FILE]``
(``--quick``: seq 1k and 4k only; ``--autotune``: time candidate blocks per
shape first and use the winners; ``--out``: also write the table as JSON).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import jax
import jax.numpy as jnp

import pallas_kernels as pk
from pallas_kernels.blocks import platform
from pallas_kernels.mosaic_gpu import interpreter_available
from transforms import grad, jit


def _time(fn, *args, reps: int = 10) -> float:
    """Best seconds per call over a few rounds (first call compiles)."""
    jax.block_until_ready(fn(*args))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            out = fn(*args)
        jax.block_until_ready(out)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def _attention_fns(causal: bool):
    """Forward and forward+backward functions: ours (the default pick, and each GPU
    backend), jax.nn's cuDNN and XLA paths."""
    def ours(backend):
        return lambda q, k, v: pk.flash_attention(q, k, v, causal=causal, backend=backend)

    def theirs(impl):
        return lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=causal,
                                                            implementation=impl)

    def loss(f):
        return lambda q, k, v: f(q, k, v).astype(jnp.float32).sum()
    mine = {"ours": ours(None), "ours_triton": ours("triton"), "ours_mosaic": ours("mosaic_gpu")}
    fwd = {n: jit(f) for n, f in mine.items()}
    fwd.update(cudnn=jax.jit(theirs("cudnn")), xla=jax.jit(theirs("xla")))
    bwd = {n: jit(grad(loss(f), argnums=(0, 1, 2))) for n, f in mine.items()}
    bwd.update(cudnn=jax.jit(jax.grad(loss(theirs("cudnn")), argnums=(0, 1, 2))),
               xla=jax.jit(jax.grad(loss(theirs("xla")), argnums=(0, 1, 2))))
    return fwd, bwd


def gpu_tables(quick: bool, tune: bool = False) -> list[dict]:
    rows = []
    key = jax.random.key(0)
    seqs = (1024, 4096) if quick else (1024, 4096, 16384)
    for d in (64, 128):
        for t in seqs:
            b, h = (8, 16) if t <= 4096 else (4, 32)
            kq, kk, kv = jax.random.split(jax.random.fold_in(key, t * d), 3)
            q, k, v = (jax.random.normal(x, (b, t, h, d), jnp.bfloat16) for x in (kq, kk, kv))
            for causal in (False, True):
                if tune:
                    print("autotuned:", pk.autotune.autotune_attention(q, k, v, causal=causal))
                flops = 4 * b * t * t * h * d * (0.5 if causal else 1.0)
                fwd, bwd = _attention_fns(causal)
                for phase, fns, mult in (("fwd", fwd, 1.0), ("fwd+bwd", bwd, 3.5)):
                    row = dict(kernel="attention", phase=phase, B=b, H=h, D=d, T=t,
                               causal=causal)
                    for name, fn in fns.items():
                        if name == "xla" and t >= 16384:
                            continue    # the [B, H, T, S] f32 logits (137 GB) do not fit
                        try:
                            row[name] = flops * mult / _time(fn, q, k, v) / 1e12
                        except Exception as e:  # noqa: BLE001 (report and go on)
                            row[name] = f"{type(e).__name__}: {str(e)[:80]}"
                    rows.append(row)
                    print(_fmt_row(row), flush=True)
    for n in (4096, 8192):
        a = jax.random.normal(key, (n, n), jnp.bfloat16)
        b_ = jax.random.normal(jax.random.fold_in(key, 1), (n, n), jnp.bfloat16)
        flops = 2 * n ** 3
        if tune:
            print("autotuned:", pk.autotune.autotune_matmul(a, b_))
        row = dict(kernel="matmul", phase="fwd", M=n, N=n, K=n)
        for name, backend in (("ours", None), ("ours_triton", "triton"),
                              ("ours_mosaic", "mosaic_gpu")):
            try:
                row[name] = flops / _time(jit(lambda a, b, backend=backend: pk.matmul(
                    a, b, backend=backend)), a, b_) / 1e12
            except Exception as e:  # noqa: BLE001 (report and go on)
                row[name] = f"{type(e).__name__}: {str(e)[:80]}"
        row["cublas"] = flops / _time(jax.jit(jnp.dot), a, b_) / 1e12
        rows.append(row)
        print(_fmt_row(row), flush=True)
    return rows


def _fmt_row(row: dict) -> str:
    shape = " ".join(f"{k}={row[k]}" for k in ("B", "H", "D", "T", "causal", "M", "N", "K")
                     if k in row)
    figs = " ".join(f"{k}={v:.0f}TF/s" if isinstance(v, float) else f"{k}={v}"
                    for k, v in row.items() if k in ("ours", "ours_triton", "ours_mosaic",
                                                     "cudnn", "xla", "cublas"))
    ref = row.get("cudnn", row.get("cublas"))
    ratio = f" ratio={row['ours'] / ref:.2f}" if isinstance(ref, float) and \
        isinstance(row.get("ours"), float) else ""
    return f"{row['kernel']:9s} {row['phase']:8s} {shape:40s} {figs}{ratio}"


def cpu_correctness() -> list[dict]:
    """Interpret-mode values and gradients against jax.nn / jnp, tiny shapes (and, on
    jax >= 0.11, the Mosaic GPU kernels under its GPU interpreter, bfloat16)."""
    rng = np.random.default_rng(0)
    q, k, v = (jnp.asarray(rng.normal(size=s), jnp.float32)
               for s in ((2, 20, 4, 16), (2, 24, 2, 16), (2, 24, 2, 16)))
    rows = []
    for causal in (False, True):
        def ours(q, k, v):
            return pk.flash_attention(q, k, v, causal=causal, block_q=8, block_k=8)

        def theirs(q, k, v):
            return jax.nn.dot_product_attention(q, k, v, is_causal=causal)
        o, e = jit(ours)(q, k, v), jax.jit(theirs)(q, k, v)
        g = jit(grad(lambda *a: ours(*a).sum(), argnums=(0, 1, 2)))(q, k, v)
        ge = jax.jit(jax.grad(lambda *a: theirs(*a).sum(), argnums=(0, 1, 2)))(q, k, v)
        err = max(float(jnp.max(jnp.abs(x - y))) for x, y in zip((o, *g), (e, *ge)))
        rows.append(dict(kernel="attention", causal=causal, max_abs_err=err))
    a, b = (jnp.asarray(rng.normal(size=s), jnp.float32) for s in ((20, 24), (24, 12)))
    err = float(jnp.max(jnp.abs(jit(lambda a, b: pk.matmul(a, b, activation="relu"))(a, b)
                                - jax.nn.relu(a @ b))))
    rows.append(dict(kernel="matmul", activation="relu", max_abs_err=err))
    if interpreter_available():   # jax >= 0.11: the Mosaic GPU kernels in its GPU interpreter
        qb, kb, vb = (jnp.asarray(rng.normal(size=s), jnp.bfloat16)
                      for s in ((1, 70, 2, 40), (1, 90, 1, 40), (1, 90, 1, 40)))

        def ours_mgpu(q, k, v):
            return pk.flash_attention(q, k, v, causal=True, backend="mosaic_gpu")

        def theirs_bf(q, k, v):
            return jax.nn.dot_product_attention(q, k, v, is_causal=True)
        got = jit(lambda *a: (ours_mgpu(*a), grad(lambda *a: ours_mgpu(*a).astype(
            jnp.float32).sum(), argnums=(0, 1, 2))(*a)))(qb, kb, vb)
        want = jax.jit(lambda *a: (theirs_bf(*a), jax.grad(lambda *a: theirs_bf(*a).astype(
            jnp.float32).sum(), argnums=(0, 1, 2))(*a)))(qb, kb, vb)
        err = max(float(jnp.max(jnp.abs(x.astype(jnp.float32) - y.astype(jnp.float32)))
                        / max(1.0, float(jnp.max(jnp.abs(y.astype(jnp.float32))))))
                  for x, y in zip(jax.tree.leaves(got), jax.tree.leaves(want)))
        rows.append(dict(kernel="attention_mosaic_gpu", causal=True, dtype="bfloat16",
                         max_rel_err=err, tol=2e-2))     # relative to the largest value
        ab, bb = a.astype(jnp.bfloat16), b.astype(jnp.bfloat16)
        err = float(jnp.max(jnp.abs(
            jit(lambda a, b: pk.matmul(a, b, backend="mosaic_gpu"))(ab, bb).astype(jnp.float32)
            - jnp.dot(ab, bb, preferred_element_type=jnp.float32))))
        rows.append(dict(kernel="matmul_mosaic_gpu", dtype="bfloat16", max_abs_err=err,
                         tol=6e-2))
    for r in rows:
        print(r)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None)
    parser.add_argument("--autotune", action="store_true",
                        help="autotune each shape's blocks first (cached in the JSON file)")
    args = parser.parse_args()
    print(f"jax {jax.__version__}, backend {jax.default_backend()}, "
          f"device {jax.devices()[0].device_kind}")
    if platform() != "gpu":
        print("no GPU: the Pallas kernels run in interpret mode only; TFLOP/s figures need a "
              "GPU. Interpret-mode correctness against jax.nn / jnp:")
        rows = cpu_correctness()
        ok = all(r.get("max_abs_err", r.get("max_rel_err")) < r.get("tol", 1e-4) for r in rows)
        print("correctness:", "ok" if ok else "MISMATCH")
    else:
        rows = gpu_tables(args.quick, args.autotune)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(dict(jax=jax.__version__, device=jax.devices()[0].device_kind,
                           rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
