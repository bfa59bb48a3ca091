"""Pallas kernels: flash attention (forward and backward) and a tiled matmul,
as primitives of our IR that every transform understands.

- :func:`flash_attention`: FlashAttention-2, ``[batch, seq, heads, head_dim]``.
- :func:`matmul`: tiled matmul with a fused bias / activation epilogue.
- :func:`reference_attention`: the oracle and the fallback, in our primitives.
- :func:`fuse_attention`: a graph pass substituting flash attention for attention.
- :mod:`pallas_kernels.autotune`: time candidate blocks, cache the winner.

Importing this package registers ``implementation='pallas'`` and ``'cudnn'``
for ``primitives.nn.dot_product_attention``.
"""
from pallas_kernels.blocks import KernelConfigError, KernelUnavailableError
from pallas_kernels.reference import reference_attention, FallbackWarning
from pallas_kernels.flash_attention import (flash_attention, flash_attention_fwd_p,
                                            flash_attention_bwd_p)
from pallas_kernels.matmul import matmul, matmul_p
from pallas_kernels.fuse_attention import fuse_attention
from pallas_kernels import autotune, registry  # noqa: F401  (registry: fills primitives.nn's)

__all__ = ["flash_attention", "matmul", "fuse_attention", "reference_attention", "autotune", "KernelConfigError",
           "KernelUnavailableError", "FallbackWarning", "flash_attention_fwd_p",
           "flash_attention_bwd_p", "matmul_p"]
