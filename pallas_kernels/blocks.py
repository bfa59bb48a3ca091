"""Block sizes, platforms and compiler parameters of the Pallas kernels.

One table gives the default tiles per kernel, platform and head dim / problem
size; an autotuned winner (``pallas_kernels.autotune``, cached per shape in a
JSON file) takes precedence over the table, and an explicit block size given by
the caller over both. Every block is checked here, once, so a bad one is a typed
error that names the kernel, the block and the padded length.

Platforms: ``"interpret"`` (``pallas_call(interpret=True)``: the kernel runs
as plain XLA, any backend, used on CPU), ``"gpu"`` (Triton lowering, the one
jax 0.10 ships for these Triton-style kernels) and ``"tpu"`` (Mosaic TPU).

References:
    Dao, "FlashAttention-2" (2023), section 3 (tile sizes); Triton's
    ``triton.autotune`` (configs chosen per key and cached).
"""
from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from typing import NamedTuple

import jax

from fx.errors import FxError

__all__ = ["KernelConfigError", "KernelUnavailableError", "platform", "target_platform",
           "resolve_interpret",
           "check_block", "next_power_of_2", "round_up", "compiler_params", "AttentionBlocks",
           "MatmulBlocks", "attention_blocks", "matmul_blocks", "TABLE", "MIN_TILE",
           "MIN_MATMUL_TILES", "mosaic_gpu_minimums", "mosaic_gpu_too_small", "cache_path",
           "cached_config", "store_config", "out_struct"]


class KernelConfigError(FxError, ValueError):
    """A kernel parameter does not fit (block size, activation name)."""


class KernelUnavailableError(FxError, RuntimeError):
    """The kernel cannot run on this platform / jax version (say which and what to use)."""


def next_power_of_2(n: int) -> int:
    return 1 if n <= 1 else 1 << (int(n) - 1).bit_length()


def round_up(n: int, multiple: int) -> int:
    return -(-int(n) // multiple) * multiple


_target = threading.local()
_GPU_BACKENDS = ("gpu", "cuda", "rocm")    # jax's names of a GPU backend


def platform() -> str:
    """The platform kernels are built for: the :func:`target_platform` in
    effect, else the default backend's (``"cpu"``, ``"gpu"`` or ``"tpu"``)."""
    p = getattr(_target, "name", None) or jax.default_backend()
    return "gpu" if p in _GPU_BACKENDS else p


@contextmanager
def target_platform(name: str, device_kind: str = "NVIDIA H200"):
    """Build kernels (block table, compiler params) for ``name`` (``"gpu"`` or
    ``"tpu"``) while the block runs, whatever the local backend: with
    ``jax.jit(f).trace(...).lower(lowering_platforms=("cuda",))`` this lowers
    the Triton / Mosaic kernels on a machine without that device (the tests do).

    Args:
      name: ``"gpu"`` or ``"tpu"``.
      device_kind: for ``"gpu"`` without a local GPU, the GPU the kernels are
        lowered for (jax >= 0.11's Triton lowering asks the device for its
        compute capability; it is told through jax's abstract mesh, as
        ``jax.sharding.AbstractDevice``).
    """
    prev = getattr(_target, "name", None)
    _target.name = name
    try:
        if name == "gpu" and jax.default_backend() not in _GPU_BACKENDS:
            device = jax.sharding.AbstractDevice(device_kind=device_kind, num_cores=None,
                                                 platform="gpu")
            with jax.sharding.use_abstract_mesh(
                    jax.sharding.AbstractMesh((), (), abstract_device=device)):
                yield
        else:
            yield
    finally:
        _target.name = prev


def resolve_interpret(interpret) -> bool:
    """``interpret=None`` means: interpret mode where no kernel compiler exists (CPU)."""
    if interpret is None:
        return platform() not in ("gpu", "tpu")
    return bool(interpret)


def device_kind() -> str:
    try:
        return jax.devices()[0].device_kind
    except Exception:  # pragma: no cover - no device at all
        return "unknown"


def check_block(kernel: str, name: str, block, length: int, minimum: int = 1) -> int:
    """A block size for a length: a power of two >= ``minimum``, shrunk to the
    smallest power of two covering ``length`` (a bigger tile only adds padding).

    Raises:
      KernelConfigError: the block is not an int, not a power of two (it would
        not divide the padded length, which is a power-of-two multiple), or
        smaller than the platform's minimum tile.
    """
    if isinstance(block, bool) or not isinstance(block, int):
        raise KernelConfigError(f"{kernel}: {name} must be an int (a power of two), got "
                                f"{block!r}.")
    padded = round_up(length, block) if block > 0 else length
    if block < 1 or block & (block - 1):
        raise KernelConfigError(
            f"{kernel}: {name}={block} does not divide the padded length the kernel tiles "
            f"(lengths are padded to a multiple of a power-of-two block; {length} -> "
            f"{padded} here): tiles must be powers of two. Fix: pass {name}="
            f"{next_power_of_2(max(block, 1))} (or None for the table's choice).")
    if block < minimum:
        raise KernelConfigError(f"{kernel}: {name}={block} is below the smallest tile this "
                                f"platform compiles ({minimum}). Fix: pass {name}>={minimum}.")
    return max(minimum, min(block, next_power_of_2(length)))


def compiler_params(interpret: bool, *, num_warps: int = 4, num_stages: int = 2, ndim: int = 3):
    """The ``compiler_params`` of ``pallas_call`` for the current platform
    (None in interpret mode)."""
    if interpret:
        return None
    p = platform()
    if p == "gpu":
        try:
            from jax.experimental.pallas import triton as pl_triton
        except ImportError as e:  # pragma: no cover - a jax without the Triton lowering
            raise KernelUnavailableError(
                "the Pallas Triton lowering is not in this jax; these kernels are written "
                "for it. Fix: use interpret=True, or dot_product_attention(implementation="
                "'cudnn' / 'xla').") from e
        return pl_triton.CompilerParams(num_warps=num_warps, num_stages=num_stages)
    if p == "tpu":
        from jax.experimental.pallas import tpu as pl_tpu
        return pl_tpu.CompilerParams(dimension_semantics=("parallel",) * ndim)
    raise KernelUnavailableError(f"no Pallas compiler for platform {p!r}. Fix: interpret=True "
                                 f"(or interpret=None, which picks it on CPU).")


def out_struct(shape, dtype, *like) -> jax.ShapeDtypeStruct:
    """The ``out_shape`` entry of a ``pallas_call`` output computed from the
    jax values ``like``: inside ``jax.shard_map`` (check_vma) it must say which
    manual mesh axes it varies over, the most varying input's (jax 0.10:
    ``manual_axis_type``; later versions: ``vma``)."""
    avals = [jax.typeof(x) for x in like]
    mats = [m for m in (getattr(a, "manual_axis_type", None) for a in avals) if m is not None]
    if mats:
        kw = {"manual_axis_type": max(mats, key=lambda m: len(getattr(m, "varying", ())))}
    else:
        vmas = [v for v in (getattr(a, "vma", None) for a in avals) if v is not None]
        kw = {"vma": frozenset().union(*vmas)} if vmas else {}
    try:
        return jax.ShapeDtypeStruct(shape, dtype, **kw)
    except TypeError:  # a jax whose ShapeDtypeStruct takes neither
        return jax.ShapeDtypeStruct(shape, dtype)


# --- the autotune cache (a JSON file: {kernel: {device kind: {shape key: config}}}) -----------
_cache_lock = threading.Lock()
_cache_mem: dict = {}


def cache_path() -> str:
    """``$FXJAX_AUTOTUNE_CACHE``, else ``~/.cache/fxjax/autotune.json``."""
    return os.environ.get("FXJAX_AUTOTUNE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "fxjax", "autotune.json")


def _read_cache(path: str) -> dict:
    if path not in _cache_mem:
        try:
            with open(path) as f:
                _cache_mem[path] = json.load(f)
        except (OSError, ValueError):
            _cache_mem[path] = {}
    return _cache_mem[path]


def cached_config(kernel: str, shape_key: tuple, path: str | None = None) -> dict | None:
    """The autotuned config stored for ``kernel`` at ``shape_key`` on this device, or None."""
    with _cache_lock:
        data = _read_cache(path or cache_path())
        return data.get(kernel, {}).get(device_kind(), {}).get(repr(tuple(shape_key)))


def store_config(kernel: str, shape_key: tuple, config: dict, path: str | None = None) -> None:
    """Record ``config`` for ``kernel`` at ``shape_key`` on this device (file rewritten whole)."""
    path = path or cache_path()
    with _cache_lock:
        data = _read_cache(path)
        data.setdefault(kernel, {}).setdefault(device_kind(), {})[repr(tuple(shape_key))] = \
            dict(config)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)


# --- the table -----------------------------------------------------------------------------
class AttentionBlocks(NamedTuple):
    block_q: int
    block_k: int
    num_warps: int = 4
    num_stages: int = 2


class MatmulBlocks(NamedTuple):
    block_m: int
    block_n: int
    block_k: int
    num_warps: int = 4
    num_stages: int = 3


# (kernel, platform) -> list of (max head dim or max size, blocks); first match wins.
TABLE = {
    ("attention", "gpu"): [(64, AttentionBlocks(128, 64, 4, 3)),
                           (128, AttentionBlocks(128, 64, 8, 2)),
                           (256, AttentionBlocks(64, 32, 8, 2))],
    ("attention", "tpu"): [(256, AttentionBlocks(128, 128))],
    ("attention", "interpret"): [(1 << 30, AttentionBlocks(16, 16))],
    # Mosaic GPU (Hopper wgmma, one warpgroup of 64 query rows; num_stages: TMA buffers)
    ("attention", "mosaic_gpu"): [(64, AttentionBlocks(64, 128, 4, 2)),
                                  (256, AttentionBlocks(64, 64, 4, 2))],
    ("matmul", "gpu"): [(1024, MatmulBlocks(64, 64, 32, 4, 3)),
                        (1 << 62, MatmulBlocks(128, 128, 64, 8, 3))],
    ("matmul", "tpu"): [(1 << 62, MatmulBlocks(256, 256, 256))],
    ("matmul", "interpret"): [(1 << 62, MatmulBlocks(16, 16, 16))],
    # Mosaic GPU (Hopper wgmma): 64-row warpgroup tiles, 64 bf16 = one 128-byte swizzle of K
    ("matmul", "mosaic_gpu"): [(256, MatmulBlocks(64, 64, 64)),
                               (1 << 62, MatmulBlocks(128, 128, 64))],
}

MIN_TILE = {"gpu": 16, "tpu": 8, "interpret": 1, "mosaic_gpu": 64}
# (block_m, block_n, block_k) minimums where they differ per axis
MIN_MATMUL_TILES = {"mosaic_gpu": (64, 16, 16)}


def mosaic_gpu_minimums(kernel: str) -> dict:
    """The smallest block, per block name, that the Mosaic GPU kernel of ``kernel``
    (``"attention"`` or ``"matmul"``) compiles (wgmma's tiles)."""
    if kernel == "attention":
        return dict(block_q=MIN_TILE["mosaic_gpu"], block_k=MIN_TILE["mosaic_gpu"])
    return dict(zip(("block_m", "block_n", "block_k"), MIN_MATMUL_TILES["mosaic_gpu"]))


def mosaic_gpu_too_small(kernel: str, blocks: dict) -> str | None:
    """The blocks given in ``blocks`` (a name -> size or None dict) that are below
    :func:`mosaic_gpu_minimums`, said for an error, or None if none is."""
    lows = mosaic_gpu_minimums(kernel)
    small = [f"{name}={blocks[name]}" for name in lows
             if blocks.get(name) is not None and blocks[name] < lows[name]]
    if not small:
        return None
    return (f"{', '.join(small)} (wgmma tiles are at least "
            f"{' x '.join(map(str, lows.values()))}: {' x '.join(lows)})")


def _platform_key(interpret: bool) -> str:
    return "interpret" if interpret else platform()


def _lookup(kernel: str, key: str, size: int):
    rows = TABLE.get((kernel, key))
    if rows is None:
        raise KernelUnavailableError(f"{kernel}: no block table for platform {key!r}; use "
                                     f"interpret=True.")
    for limit, blocks in rows:
        if size <= limit:
            return blocks
    return rows[-1][1]


def attention_blocks(shape_key: tuple, head_dim: int, q_len: int, kv_len: int, interpret: bool,
                     block_q=None, block_k=None, mosaic_gpu: bool = False) -> AttentionBlocks:
    """Block sizes for flash attention: the caller's, else the autotuned winner
    for this shape and device, else the table's (``mosaic_gpu``: the Mosaic GPU
    kernels' table and their 64-row minimum, in interpret mode too, where they run
    under jax's GPU interpreter)."""
    key = "mosaic_gpu" if mosaic_gpu else _platform_key(interpret)
    base = _lookup("attention", key, head_dim)
    tuned = None if interpret else cached_config(
        "attention_mgpu" if mosaic_gpu else "attention", shape_key)
    if tuned is not None:
        base = base._replace(**{k: v for k, v in tuned.items() if k in base._fields})
    minimum = MIN_TILE.get(key, 1)
    bq = check_block("flash_attention", "block_q", base.block_q if block_q is None else block_q,
                     q_len, minimum)
    bk = check_block("flash_attention", "block_k", base.block_k if block_k is None else block_k,
                     kv_len, minimum)
    return base._replace(block_q=bq, block_k=bk)


def matmul_blocks(shape_key: tuple, m: int, n: int, k: int, interpret: bool, block_m=None,
                  block_n=None, block_k=None, mosaic_gpu: bool = False) -> MatmulBlocks:
    """Block sizes for the matmul: the caller's, else the autotuned, else the table's
    (``mosaic_gpu``: the Mosaic GPU kernel's table and its wgmma minimums, in
    interpret mode too, where it runs under jax's GPU interpreter)."""
    key = "mosaic_gpu" if mosaic_gpu else _platform_key(interpret)
    base = _lookup("matmul", key, max(m, n, k))
    tuned = None if interpret else cached_config(
        "matmul_mgpu" if mosaic_gpu else "matmul", shape_key)
    if tuned is not None:
        base = base._replace(**{k_: v for k_, v in tuned.items() if k_ in base._fields})
    min_m, min_n, min_k = MIN_MATMUL_TILES.get(key, (MIN_TILE.get(key, 1),) * 3)
    return base._replace(
        block_m=check_block("matmul", "block_m", base.block_m if block_m is None else block_m,
                            m, min_m),
        block_n=check_block("matmul", "block_n", base.block_n if block_n is None else block_n,
                            n, min_n),
        block_k=check_block("matmul", "block_k", base.block_k if block_k is None else block_k,
                            k, min_k))
