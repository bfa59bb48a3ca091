"""Reference attention written with our primitives: the oracle and the fallback.

``reference_attention`` computes what ``flash_attention`` computes, the plain
way (the whole ``[T, S]`` logits matrix, one softmax), with the same masking
conventions: a masked logit becomes ``-0.7 * float32.max`` (as
``jax.nn.dot_product_attention``), the softmax and the log-sum-exp are in
float32, the probabilities are cast to the value dtype before the second
contraction. It is:

- the oracle of the kernel's tests (with ``jax.nn.dot_product_attention``);
- the fallback of ``flash_attention`` for shapes the kernel does not take
  (value head dim different from the query's, head dim above 256), with a
  warning that says so;
- the source of the kernel primitives' derivatives of second order
  (``grad(grad(...))``): their jvp rules differentiate this function.

References:
    Vaswani et al., "Attention is all you need" (2017); jax.nn.dot_product_attention.
"""
from __future__ import annotations

import warnings

import numpy as np

import primitives.numpy as fnp
import primitives.nn as fnn

__all__ = ["reference_attention", "MASK_VALUE", "warn_fallback", "FallbackWarning"]

MASK_VALUE = -0.7 * float(np.finfo(np.float32).max)


class FallbackWarning(UserWarning):
    """A kernel did not take a shape and the reference implementation ran instead."""


def warn_fallback(kernel: str, why: str) -> None:
    warnings.warn(f"{kernel}: {why}; running the reference implementation "
                  f"(pallas_kernels.reference_attention: same values, no fused kernel, "
                  f"O(T*S) memory).", FallbackWarning, stacklevel=3)


def _grouped(t, kv_heads: int, groups: int):
    """A ``[B or 1, N or 1, T, S]`` array as ``[B or 1, K or 1, G or 1, T, S]``."""
    b, n, tq, s = t.shape
    if n == 1:
        return t.reshape(b, 1, 1, tq, s)
    return t.reshape(b, kv_heads, groups, tq, s)


def keep_mask(tq: int, s: int, *, mask=None, segment_ids=None, causal=False, kv_heads=1,
              groups=1):
    """The bool ``[B|1, K|1, G|1, T, S]`` array of allowed (query, key) pairs, or None."""
    keep = None

    def both(a, b):
        return b if a is None else fnp.logical_and(a, b)
    if mask is not None:
        keep = both(keep, _grouped(mask, kv_heads, groups))
    if segment_ids is not None:
        q_seg, kv_seg = segment_ids
        keep = both(keep, fnp.equal(q_seg[:, None, None, :, None], kv_seg[:, None, None, None, :]))
    if causal:
        keep = both(keep, fnp.arange(tq)[:, None] >= fnp.arange(s)[None, :])
    return keep


def reference_attention(q, k, v, *, bias=None, mask=None, segment_ids=None, causal=False,
                        sm_scale=None, return_lse=False):
    """Attention by the definition, with ``flash_attention``'s conventions.

    Args:
      q: ``[B, T, N, D]``.
      k: ``[B, S, K, D]`` with ``N % K == 0`` (GQA / MQA).
      v: ``[B, S, K, Dv]``.
      bias: float ``[B or 1, N or 1, T, S]`` added to the scaled logits.
      mask: bool ``[B or 1, N or 1, T, S]``, True where attention is allowed.
      segment_ids: ``(q_segment_ids [B, T], kv_segment_ids [B, S])`` ints:
        a query sees only the keys of its segment.
      causal: a query at ``i`` sees keys ``j <= i``.
      sm_scale: the logits' scale (default ``1 / sqrt(D)``).
      return_lse: also return the float32 log-sum-exp ``[B, N, T]``.

    Returns:
      ``[B, T, N, Dv]`` in ``v``'s dtype (and the log-sum-exp).
    """
    b, tq, n, d = q.shape
    s, kh = k.shape[1], k.shape[2]
    g = n // kh
    scale = 1.0 / float(np.sqrt(d)) if sm_scale is None else float(sm_scale)
    qg = q.reshape(b, tq, kh, g, d)
    logits = fnp.einsum("BTKGD,BSKD->BKGTS", qg, k, preferred_element_type=np.float32)
    logits = logits * np.float32(scale)
    if bias is not None:
        logits = logits + _grouped(bias, kh, g).astype(np.float32)
    keep = keep_mask(tq, s, mask=mask, segment_ids=segment_ids, causal=causal, kv_heads=kh,
                     groups=g)
    if keep is not None:
        logits = fnp.where(keep, logits, np.float32(MASK_VALUE))
    lse = fnn.logsumexp(logits, axis=-1)                                  # [B, K, G, T]
    probs = fnn.softmax(logits, axis=-1)
    out = fnp.einsum("BKGTS,BSKD->BTKGD", probs.astype(v.dtype), v)
    out = out.reshape(b, tq, n, v.shape[-1])
    if not return_lse:
        return out
    return out, lse.reshape(b, n, tq)
