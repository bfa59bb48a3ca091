"""Timing helpers shared by the benchmark scripts: interleaved repeats, min-of-medians."""
from __future__ import annotations

import time
from typing import Callable


def block(x):
    import jax
    jax.tree_util.tree_map(lambda a: a.block_until_ready() if hasattr(a, "block_until_ready") else a, x)
    return x


def time_call(fn: Callable, number: int) -> float:
    """Seconds per call of ``fn`` (results blocked on), over ``number`` calls."""
    t0 = time.perf_counter()
    out = None
    for _ in range(number):
        out = fn()
    block(out)
    return (time.perf_counter() - t0) / number


def compare(ours: Callable, theirs: Callable, number: int, repeats: int = 7,
            warmup: bool = True) -> tuple[float, float]:
    """Interleave ``repeats`` rounds of each; return (ours, theirs) best seconds per call
    (``warmup=False`` for calls that are all cold, e.g. tracing fresh functions)."""
    if warmup:
        block(ours()); block(theirs())  # warm up / compile
    best_o, best_t = float("inf"), float("inf")
    for _ in range(repeats):
        best_o = min(best_o, time_call(ours, number))
        best_t = min(best_t, time_call(theirs, number))
    return best_o, best_t


def report(rows: list[tuple[str, float, float, float]]) -> None:
    """Print a table: name, ours, JAX, ratio, target."""
    print(f"{'benchmark':44s} {'ours':>12s} {'jax':>12s} {'ratio':>7s} {'target':>7s}")
    for name, o, t, target in rows:
        ratio = o / t
        flag = "ok" if ratio <= target else "MISS"
        print(f"{name:44s} {_fmt(o):>12s} {_fmt(t):>12s} {ratio:7.2f} {target:6.2f}x {flag}")


def _fmt(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.2f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"
