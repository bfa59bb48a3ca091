"""Autotuning: time candidate block sizes on the device, cache the winner per shape.

As Triton's ``@triton.autotune``: each candidate configuration is compiled
and timed on the actual arguments; the fastest is stored in a JSON file
(``pallas_kernels.blocks.cache_path()``: ``$FXJAX_AUTOTUNE_CACHE`` or
``~/.cache/fxjax/autotune.json``) under the kernel, the device kind and the
shape key, and every later call of that kernel at that shape on that device
kind uses it (``blocks.attention_blocks`` / ``blocks.matmul_blocks`` read the
cache; explicit block arguments still win). Interpret mode never reads the
cache (its timings say nothing about a GPU).

Example::

    >>> from pallas_kernels import autotune
    >>> best = autotune.autotune_attention(q, k, v, causal=True)   # {'block_q': 128, ...}
    >>> flash_attention(q, k, v, causal=True)                       # now uses it

References:
    Tillet et al., "Triton" (2019); triton.autotune (configs keyed by shape).
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import jax

from transforms import jit
from pallas_kernels.blocks import (KernelConfigError, mosaic_gpu_too_small, resolve_interpret,
                                   store_config)
from pallas_kernels.flash_attention import flash_attention
from pallas_kernels.matmul import matmul
from pallas_kernels.mosaic_gpu import gpu_backend

__all__ = ["autotune", "autotune_attention", "autotune_matmul", "time_fn",
           "ATTENTION_CANDIDATES", "MATMUL_CANDIDATES"]

# block sizes only: num_warps / num_stages come from the table's row for the winner's size
ATTENTION_CANDIDATES = [dict(block_q=bq, block_k=bk)
                        for bq, bk in [(32, 32), (64, 32), (64, 64), (128, 32), (128, 64),
                                       (128, 128), (64, 128)]]
MATMUL_CANDIDATES = [dict(block_m=bm, block_n=bn, block_k=bk)
                     for bm, bn, bk in [(64, 64, 32), (128, 64, 32), (64, 128, 32),
                                        (128, 128, 32), (128, 128, 64), (128, 256, 64),
                                        (256, 128, 64)]]


def time_fn(fn: Callable, args: Sequence, reps: int = 5) -> float:
    """Median seconds of ``fn(*args)`` after one warm-up (compile) call."""
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def autotune(kernel: str, shape_key: tuple, make_fn: Callable[[dict], Callable], args: Sequence,
             candidates: Sequence[dict], *, reps: int = 5, cache_path: str | None = None,
             store: bool = True) -> dict:
    """Time ``make_fn(config)(*args)`` for each candidate config, keep the fastest.

    Args:
      kernel: the cache section (``"attention"``, ``"matmul"``; ``"attention_mgpu"``,
        ``"matmul_mgpu"`` for the Mosaic GPU kernels).
      shape_key: the key the kernel looks its blocks up by.
      make_fn: ``config -> function`` (jit it: the first call compiles).
      args: the arguments to time on.
      candidates: configs (dicts of block sizes and compiler params).
      reps: timed repetitions (the median counts).
      cache_path: the JSON file (default ``blocks.cache_path()``).
      store: write the winner to the cache.

    Returns:
      The winning config, plus ``"seconds"``: its median time.

    Raises:
      KernelConfigError: no candidate compiled (each one's error is listed).
    """
    best, errors = None, []
    for cfg in candidates:
        try:
            t = time_fn(make_fn(dict(cfg)), args, reps)
        except Exception as e:  # a config the compiler rejects (too much shared memory, ...)
            errors.append(f"{cfg}: {type(e).__name__}: {str(e)[:200]}")
            continue
        if best is None or t < best["seconds"]:
            best = dict(cfg, seconds=t)
    if best is None:
        raise KernelConfigError(f"autotune({kernel}, {shape_key}): no candidate ran:\n"
                                + "\n".join(errors))
    if store:
        store_config(kernel, shape_key, {k: v for k, v in best.items() if k != "seconds"},
                     cache_path)
    return best


def _resolve_backend(op: str, kwargs: dict, interpret, dtype):
    """The backend every candidate runs with (the caller's ``backend``, or the one
    ``None`` picks for the table's blocks) and the cache section the kernel reads
    its blocks from for it (Mosaic GPU winners are kept apart)."""
    backend = gpu_backend(op, kwargs.pop("backend", None), resolve_interpret(interpret), dtype)
    return backend or "triton", backend == "mosaic_gpu"


def _candidates(kernel: str, candidates, mosaic: bool) -> list:
    """The candidates the backend compiles (Mosaic GPU: those not below wgmma's tiles)."""
    return [c for c in candidates if not (mosaic and mosaic_gpu_too_small(kernel, c))]


def autotune_attention(q, k, v, *, causal: bool = False, candidates=None, reps: int = 5,
                       cache_path: str | None = None, interpret=None, **kwargs) -> dict:
    """Autotune ``flash_attention``'s forward at these shapes (see :func:`autotune`;
    ``kwargs`` go to ``flash_attention``, ``backend`` included)."""
    b, t, n, d = q.shape
    shape_key = (b, t, n, k.shape[1], k.shape[2], d, str(q.dtype), bool(causal))
    backend, mosaic = _resolve_backend("flash_attention", kwargs, interpret, q.dtype)

    def make(cfg):
        blocks = {x: cfg[x] for x in ("block_q", "block_k")}
        return jit(lambda q, k, v: flash_attention(q, k, v, causal=causal, interpret=interpret,
                                                   backend=backend, **blocks, **kwargs))
    cands = _candidates("attention", candidates or ATTENTION_CANDIDATES, mosaic)
    return autotune("attention_mgpu" if mosaic else "attention", shape_key, make, (q, k, v),
                    cands, reps=reps, cache_path=cache_path)


def autotune_matmul(a, b, *, candidates=None, reps: int = 5, cache_path: str | None = None,
                    interpret=None, **kwargs) -> dict:
    """Autotune ``matmul`` at these shapes (see :func:`autotune`; ``kwargs`` go to
    ``matmul``, ``backend`` included)."""
    shape_key = (tuple(a.shape), tuple(b.shape), str(a.dtype))
    backend, mosaic = _resolve_backend("matmul", kwargs, interpret, a.dtype)

    def make(cfg):
        blocks = {x: cfg[x] for x in ("block_m", "block_n", "block_k")}
        return jit(lambda a, b: matmul(a, b, interpret=interpret, backend=backend, **blocks,
                                       **kwargs))
    cands = _candidates("matmul", candidates or MATMUL_CANDIDATES, mosaic)
    return autotune("matmul_mgpu" if mosaic else "matmul", shape_key, make, (a, b), cands,
                    reps=reps, cache_path=cache_path)
