"""What the Mosaic GPU kernels share: availability, the backend choice, shared-memory
transforms and the plain (non-TMA) vector and tile loads.

jax 0.11 deprecates the Pallas Triton backend for Mosaic GPU (Hopper ``wgmma``,
TMA, ``plgpu.kernel``). The kernels written for it (``matmul_mgpu``,
``attention_mgpu``) need 16-bit operands; off a GPU they run under jax
>= 0.11's GPU interpreter (``plgpu.InterpretGPUParams``) and are lowered, not
run, on jax 0.10 (it has no public GPU interpreter).

References:
    The Pallas Mosaic GPU reference (``plgpu.kernel``, ``wgmma``, TMA copies,
    tiling and swizzle transforms).
"""
from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np

from pallas_kernels.blocks import KernelConfigError, KernelUnavailableError, platform

try:
    from jax.experimental.pallas import mosaic_gpu as plgpu
except ImportError:  # pragma: no cover - a jaxlib without Mosaic GPU
    plgpu = None

__all__ = ["plgpu", "MGPU_DTYPES", "available", "interpreter_available", "gpu_backend",
           "smem_transforms", "load_vector", "load_tile", "interpret_params"]

# wgmma takes 16-bit floats (float32 goes to the Triton kernels)
MGPU_DTYPES = (np.dtype(jnp.bfloat16), np.dtype(jnp.float16))


def available() -> bool:
    """Mosaic GPU kernels can be built (lowered) with this jax."""
    return plgpu is not None and hasattr(plgpu, "kernel") and hasattr(plgpu, "wgmma")


def interpreter_available() -> bool:
    """This jax runs Mosaic GPU kernels on the CPU (jax >= 0.11's public GPU interpreter)."""
    return available() and hasattr(plgpu, "InterpretGPUParams")


def interpret_params(interpret: bool):
    """``plgpu.kernel``'s ``interpret`` argument: the GPU interpreter, or None (compile)."""
    return plgpu.InterpretGPUParams() if interpret else None


def gpu_backend(op: str, backend, interpret: bool, dtype, why_not: str | None = None):
    """A kernel primitive's ``gpu_backend`` param for the caller's ``backend``:
    ``"mosaic_gpu"`` or None (``pallas_call``: Triton on GPU, Mosaic on TPU, the
    Pallas interpreter in interpret mode).

    Args:
      op: the public function's name, for the errors.
      backend: the caller's: None (on a GPU, Mosaic GPU where jax >= 0.11
        deprecates Triton and the kernel takes the call), ``"triton"`` or
        ``"mosaic_gpu"``.
      interpret: the call runs in interpret mode.
      dtype: the operands' dtype.
      why_not: what the Mosaic GPU kernel does not take in this call (None: it takes it).

    Raises:
      KernelConfigError: an unknown backend; ``"mosaic_gpu"`` for a call its kernel
        does not take (float32 operands, ``why_not``).
      KernelUnavailableError: ``"mosaic_gpu"`` on a jax without it (or in interpret
        mode without jax >= 0.11's GPU interpreter).
    """
    if backend not in (None, "triton", "mosaic_gpu"):
        raise KernelConfigError(f"{op}: backend={backend!r}; expected None, 'triton' or "
                                f"'mosaic_gpu'.")
    wide = np.dtype(dtype) not in MGPU_DTYPES
    if backend is None:
        auto = (not interpret and platform() == "gpu" and interpreter_available()
                and not wide and why_not is None)
        return "mosaic_gpu" if auto else None
    if backend == "triton":
        return None
    if wide:
        raise KernelConfigError(f"{op}: backend='mosaic_gpu' takes bfloat16 / float16 "
                                f"operands (wgmma), got {np.dtype(dtype).name}. Fix: .astype("
                                f"jnp.bfloat16), or backend='triton'.")
    if why_not is not None:
        raise KernelConfigError(f"{op}: the Mosaic GPU kernel does not take {why_not}. Fix: "
                                f"backend='triton' (or None, which picks it).")
    if not available() or (interpret and not interpreter_available()):
        raise KernelUnavailableError(
            f"{op}: backend='mosaic_gpu' {'in interpret mode ' if interpret else ''}needs "
            f"jax >= 0.11 (its public GPU interpreter runs the kernel on the CPU); this is jax "
            f"{jax.__version__}. Fix: backend=None or 'triton'.")
    return "mosaic_gpu"


def smem_transforms(minor: int, dtype):
    """(8, swizzle) tiling and the widest swizzle a ``minor``-element row allows
    (how wgmma and TMA want a shared-memory tile laid out)."""
    itemsize = np.dtype(dtype).itemsize
    swizzle = plgpu.find_swizzle(minor * itemsize * 8)
    return (plgpu.TilingTransform((8, swizzle // itemsize)), plgpu.SwizzleTransform(swizzle))


# jax 0.10's plgpu.load takes the index as an argument; jax 0.11 wants an indexed ref
_LOAD_IDX = None if plgpu is None else inspect.signature(plgpu.load).parameters.get("idx")
_LOAD_TAKES_IDX = _LOAD_IDX is not None and _LOAD_IDX.default is inspect.Parameter.empty


def _load(ref, idx, layout):
    if _LOAD_TAKES_IDX:
        return plgpu.load(ref, idx, layout=layout, optimized=False)
    return plgpu.load(ref.at[idx], layout=layout, optimized=False)


def load_vector(ref, idx, axis: int):
    """``ref[idx]`` (a vector) from global memory, laid out as a row (``axis=0``: one
    value per column of a wgmma accumulator) or a column (``axis=1``: one per row).
    A plain load, off the TMA path: for small per-tile vectors (bias, lse, ids)."""
    return _load(ref, idx, plgpu.Layout.WGMMA.reduce(axis))


def load_tile(ref, idx):
    """``ref[idx]`` (a 2-D tile) from global memory in a wgmma accumulator's layout
    (a plain load: attention's bias and mask tiles, added to its logits)."""
    return _load(ref, idx, plgpu.Layout.WGMMA)
