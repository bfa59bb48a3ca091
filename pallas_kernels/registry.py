"""``primitives.nn.dot_product_attention(..., implementation='pallas' | 'cudnn')``.

Importing this module registers both in ``primitives.nn`` (which cannot import
us: primitives sit below pallas_kernels):

- ``'pallas'``: :func:`pallas_kernels.flash_attention`; the arguments it has no
  direct form for become its mask (``key_value_seq_lengths``,
  ``local_window_size``) or a final zeroing (``query_seq_lengths``, as
  jax.nn); ``return_residual`` runs the XLA path with a FallbackWarning.
- ``'cudnn'``: jax's cuDNN fused attention, as two primitives of our IR
  (``cudnn_attention`` and ``cudnn_attention_bwd``, whose lowerings call
  ``jax.nn.dot_product_attention(implementation='cudnn')`` and its vjp) tied
  by a custom_vjp; GPU only (an AttentionImplementationError elsewhere).

References:
    jax.nn.dot_product_attention; NVIDIA cuDNN fused flash attention.
"""
from __future__ import annotations

from typing import NamedTuple

import jax

import primitives.numpy as fnp
import primitives.nn as fnn
from fx.core import Primitive
from fx.ir import ShapedArray
from primitives.custom_derivatives import custom_vjp
from pallas_kernels.blocks import platform
from pallas_kernels.flash_attention import _fold_batch, _unfold, flash_attention
from pallas_kernels.reference import warn_fallback

__all__ = ["pallas_attention", "cudnn_attention", "cudnn_attention_p", "cudnn_attention_bwd_p"]


def _as_4d(x):
    return None if x is None else x.reshape((1,) * (4 - x.ndim) + x.shape)


def pallas_attention(query, key, value, bias=None, mask=None, *, scale=None,
                     is_causal=False, query_seq_lengths=None, key_value_seq_lengths=None,
                     local_window_size=None, return_residual=False):
    """dot_product_attention's arguments, computed by flash_attention."""
    if return_residual:
        warn_fallback("dot_product_attention(implementation='pallas')",
                      "return_residual=True (the kernel keeps its log-sum-exp internal)")
        return fnn.dot_product_attention(
            query, key, value, bias, mask, scale=scale, is_causal=is_causal,
            query_seq_lengths=query_seq_lengths, key_value_seq_lengths=key_value_seq_lengths,
            local_window_size=local_window_size, return_residual=True)
    q, k, v = fnp.asarray(query), fnp.asarray(key), fnp.asarray(value)
    squeeze = q.ndim == 3
    if squeeze:
        q, k, v = q[None], k[None], v[None]
    t, s = q.shape[1], k.shape[1]
    mask = _as_4d(None if mask is None else fnp.asarray(mask))
    keep = []
    if key_value_seq_lengths is not None:
        kv_len = fnp.asarray(key_value_seq_lengths)
        keep.append((fnp.arange(s)[None, :] < kv_len[:, None])[:, None, None, :])
    if local_window_size is not None:
        left, right = ((local_window_size, local_window_size)
                       if isinstance(local_window_size, int) else local_window_size)
        qp, kp = fnp.arange(t)[:, None], fnp.arange(s)[None, :]
        keep.append(fnp.logical_and(qp <= kp + left, qp >= kp - right)[None, None])
    for m in keep:
        mask = m if mask is None else fnp.logical_and(mask, m)
    out = flash_attention(q, k, v, bias=_as_4d(None if bias is None else fnp.asarray(bias)),
                          mask=mask, causal=is_causal, sm_scale=scale)
    if query_seq_lengths is not None:
        q_len = fnp.asarray(query_seq_lengths)
        out = out * (fnp.arange(t)[None, :] < q_len[:, None]).astype(out.dtype)[:, :, None, None]
    return out[0] if squeeze else out


# --- cudnn_attention (jax's cuDNN kernel) ---
class _CudnnStatic(NamedTuple):
    scale: float | None
    is_causal: bool
    local_window_size: tuple | None
    has_bias: bool
    has_mask: bool
    has_q_len: bool
    has_kv_len: bool


def _unpack(args, p):
    q, k, v, *rest = args
    it = iter(rest)
    named = {n: (next(it) if p[f"has_{n}"] else None) for n in ("bias", "mask", "q_len", "kv_len")}
    return q, k, v, named, list(it)


def _jax_cudnn(q, k, v, named, p, bias=None):
    return jax.nn.dot_product_attention(
        q, k, v, named["bias"] if bias is None else bias, named["mask"], scale=p["scale"],
        is_causal=p["is_causal"], query_seq_lengths=named["q_len"],
        key_value_seq_lengths=named["kv_len"], local_window_size=p["local_window_size"],
        implementation="cudnn")


cudnn_attention_p = Primitive("cudnn_attention")
cudnn_attention_p.def_abstract_eval(lambda q, *rest, **p: ShapedArray(q.shape, q.dtype))
cudnn_attention_p.def_lowering(lambda *args, **p: _jax_cudnn(*_unpack(args, p)[:4], p))


def _cudnn_batch_like(p, n_tail):
    return [False] * 3 + [True] * (p["has_bias"] + p["has_mask"]) + \
        [False] * (p["has_q_len"] + p["has_kv_len"] + n_tail)


@cudnn_attention_p.def_batch
def _cudnn_batch(args, bdims, **p):
    folded, size = _fold_batch(args, bdims, _cudnn_batch_like(p, 0))
    return _unfold([cudnn_attention_p.bind(*folded, **p)], size)[0], 0


cudnn_attention_bwd_p = Primitive("cudnn_attention_bwd", multiple_results=True)


@cudnn_attention_bwd_p.def_abstract_eval
def _cudnn_bwd_aval(*avals, **p):
    q, k, v, named, _ = _unpack(avals, p)
    outs = [ShapedArray(a.shape, a.dtype) for a in (q, k, v)]
    return outs + ([ShapedArray(named["bias"].shape, named["bias"].dtype)] if p["has_bias"]
                   else [])


@cudnn_attention_bwd_p.def_lowering
def _cudnn_bwd_lowering(*args, **p):
    q, k, v, named, (ct,) = _unpack(args, p)
    diff = (q, k, v) + ((named["bias"],) if p["has_bias"] else ())
    _, pullback = jax.vjp(lambda q, k, v, *b: _jax_cudnn(q, k, v, named, p, *b), *diff)
    return list(pullback(ct))


@cudnn_attention_bwd_p.def_batch
def _cudnn_bwd_batch(args, bdims, **p):
    folded, size = _fold_batch(args, bdims, _cudnn_batch_like(p, 1))
    outs = _unfold(cudnn_attention_bwd_p.bind(*folded, **p), size)
    return outs, [0] * len(outs)


def _cudnn_primal(cfg, q, k, v, extras):
    return cudnn_attention_p.bind(q, k, v, *extras, **cfg._asdict())


def _cudnn_fwd(cfg, q, k, v, extras):
    return _cudnn_primal(cfg, q, k, v, extras), (q, k, v, extras)


def _cudnn_bwd(cfg, res, ct):
    q, k, v, extras = res
    grads = cudnn_attention_bwd_p.bind(q, k, v, *extras, ct, **cfg._asdict())
    return grads[0], grads[1], grads[2], tuple(grads[3] if (i == 0 and cfg.has_bias) else None
                                               for i in range(len(extras)))


_cudnn = custom_vjp(_cudnn_primal, nondiff_argnums=(0,))
_cudnn.defvjp(_cudnn_fwd, _cudnn_bwd)


def cudnn_attention(query, key, value, bias=None, mask=None, *, scale=None, is_causal=False,
                    query_seq_lengths=None, key_value_seq_lengths=None, local_window_size=None,
                    return_residual=False):
    """dot_product_attention's arguments, computed by jax's cuDNN kernel (GPU only)."""
    if platform() != "gpu":
        raise fnn.AttentionImplementationError(
            f"dot_product_attention: implementation='cudnn' needs an NVIDIA GPU with cuDNN; "
            f"the default backend here is {jax.default_backend()!r}. Fix: use implementation="
            f"None / 'xla' (any platform) or 'pallas' (interpret mode on CPU).")
    if return_residual:
        raise fnn.AttentionImplementationError(
            "dot_product_attention: return_residual=True is not supported with "
            "implementation='cudnn' here. Fix: use implementation='xla'.")
    if isinstance(local_window_size, int):
        local_window_size = (local_window_size, local_window_size)
    named = [None if x is None else fnp.asarray(x)
             for x in (bias, mask, query_seq_lengths, key_value_seq_lengths)]
    cfg = _CudnnStatic(None if scale is None else float(scale), bool(is_causal),
                       None if local_window_size is None else tuple(local_window_size),
                       *[x is not None for x in named])
    return _cudnn(cfg, fnp.asarray(query), fnp.asarray(key), fnp.asarray(value),
                  tuple(x for x in named if x is not None))


fnn.register_attention_implementation("pallas", pallas_attention)
fnn.register_attention_implementation("cudnn", cudnn_attention)
