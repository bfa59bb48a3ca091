"""Flash attention (FlashAttention-2) as two primitives of our IR.

- ``flash_attention_fwd[causal, sm_scale, block_q, block_k, ...] q k v [bias mask
  q_seg kv_seg] -> (o, lse)``: tiled over query blocks (the grid) and key/value
  blocks (a loop in the kernel), online softmax in float32, saves the
  log-sum-exp ``lse`` (float32 ``[B, N, T]``).
- ``flash_attention_bwd[...] q k v [bias mask q_seg kv_seg] o lse do -> (dq, dk,
  dv[, dbias])``: FA2's backward: ``D = rowsum(dO * O)``, then one kernel for
  ``dk, dv`` (grid over key blocks, loop over query blocks, ``P`` recomputed
  from ``lse``) and one for ``dq`` (and ``dbias``: grid over query blocks, loop
  over key blocks).

``flash_attention`` ties them with a ``custom_vjp`` (so ``grad`` runs the
backward kernel). Each primitive has all its rules in its block: abstract
eval, lowering by ``pallas_call`` (``interpret=True`` on CPU, Triton on GPU,
Mosaic on TPU: the kernels use only portable ref indexing and jnp ops) or, with
``gpu_backend='mosaic_gpu'``, by the Mosaic GPU kernels of
:mod:`pallas_kernels.attention_mgpu` (jax >= 0.11's GPU backend), a
batch rule that folds the vmapped axis into the batch axis (so it becomes more
programs of the grid, as jax's pallas_call batching does), and a jvp rule
(derivatives of the reference implementation: ``grad`` of ``grad`` works).

Layout: ``[batch, seq, heads, head_dim]`` as ``jax.nn.dot_product_attention``;
the lowering transposes to ``[batch, heads, seq, head_dim]`` so each program
reads contiguous ``[block, head_dim]`` tiles. Lengths are padded to a multiple
of the block (padded keys masked with ``-inf``, padded query rows dropped);
causal attention skips the key blocks above the diagonal (and the backward the
query blocks below it).

In the IR (``make_graph(lambda q, k, v: flash_attention(q, k, v, causal=True))``)::

    d:f32[2,40,4,16] = custom_vjp_call[call=
        { lambda ; a:f32[2,40,4,16] b:f32[2,40,2,16] c:f32[2,40,2,16]. let
            d:f32[2,40,4,16] e:f32[2,4,40] = flash_attention_fwd[causal=True, sm_scale=0.25,
                block_q=16, block_k=16, interpret=True, has_bias=False, has_mask=False,
                has_segments=False, num_warps=4, num_stages=2, gpu_backend=None] a b c
          in (d,) }, fwd=fwd_of__primal, bwd=bwd_of__primal, n_consts=0] a b c

References:
    Dao et al., "FlashAttention" (2022); Dao, "FlashAttention-2" (2023),
    Algorithms 1 and 2; jax.experimental.pallas.ops.gpu.attention.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl

import primitives as P
import primitives.numpy as fnp
from fx.ad import instantiate_zero
from fx.core import Primitive, get_aval
from fx.dtypes import is_float
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives.custom_derivatives import custom_vjp
from transforms import jvp as fjvp, vjp as fvjp
from pallas_kernels import attention_mgpu as _amgpu
from pallas_kernels.blocks import (attention_blocks, compiler_params, mosaic_gpu_too_small,
                                   next_power_of_2, out_struct, resolve_interpret, round_up)
from pallas_kernels.mosaic_gpu import gpu_backend as choose_backend
from pallas_kernels.reference import MASK_VALUE, reference_attention, warn_fallback

__all__ = ["flash_attention", "flash_attention_fwd_p", "flash_attention_bwd_p",
           "SUPPORTED_DTYPES", "MAX_HEAD_DIM"]

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(jnp.bfloat16), np.dtype(np.float16))
MAX_HEAD_DIM = 256


class _Static(NamedTuple):
    """The static parameters of both primitives (one per keyword param)."""
    causal: bool
    sm_scale: float
    block_q: int
    block_k: int
    interpret: bool
    has_bias: bool
    has_mask: bool
    has_segments: bool
    num_warps: int
    num_stages: int
    gpu_backend: str | None = None


def _split_operands(args, cfg: dict):
    """``q, k, v, extras, tail`` from a primitive's operands and params (``cfg``:
    the ``_Static`` fields as a dict): extras = (bias, mask, q_seg, kv_seg),
    None where absent; tail = the backward's (o, lse, do)."""
    q, k, v, *rest = args
    it = iter(rest)
    bias = next(it) if cfg["has_bias"] else None
    mask = next(it) if cfg["has_mask"] else None
    q_seg, kv_seg = (next(it), next(it)) if cfg["has_segments"] else (None, None)
    return q, k, v, (bias, mask, q_seg, kv_seg), list(it)


# --- the kernels (jax code run by pallas_call) ----------------------------------------------
def _dot(a, b, contract_a: int, contract_b: int, interpret: bool = False):
    """A 2-D contraction accumulated in float32. In interpret mode float16
    operands are widened first (exact: XLA:CPU has no f16 x f16 -> f32 dot)."""
    if interpret and a.dtype == jnp.float16:
        a, b = a.astype(jnp.float32), b.astype(jnp.float32)
    return lax.dot_general(a, b, (((contract_a,), (contract_b,)), ((), ())),
                           preferred_element_type=jnp.float32)


def _masked_logits(s, q_pos, k_pos, *, kv_len, causal, mask_blk, q_seg, kv_seg):
    """Scaled logits of one tile with every mask applied: padded keys -inf (they
    never count), the others MASK_VALUE (as jax.nn.dot_product_attention).
    Positions and segment ids come as a column (queries, ``[bq, 1]``) and a row
    (keys, ``[1, bk]``): 2-D values, as the Mosaic TPU lowering wants."""
    keep = None
    if causal:
        keep = q_pos >= k_pos
    if mask_blk is not None:
        m = mask_blk != 0
        keep = m if keep is None else jnp.logical_and(keep, m)
    if q_seg is not None:
        m = q_seg == kv_seg
        keep = m if keep is None else jnp.logical_and(keep, m)
    if keep is not None:
        s = jnp.where(keep, s, MASK_VALUE)
    return jnp.where(k_pos < kv_len, s, -jnp.inf)


def _unpack_refs(refs, cfg, n_extra_in: int):
    q_ref, k_ref, v_ref, *rest = refs
    bias_ref = rest.pop(0) if cfg["has_bias"] else None
    mask_ref = rest.pop(0) if cfg["has_mask"] else None
    qseg_ref, kvseg_ref = (rest.pop(0), rest.pop(0)) if cfg["has_segments"] else (None, None)
    extra_in = [rest.pop(0) for _ in range(n_extra_in)]
    return q_ref, k_ref, v_ref, bias_ref, mask_ref, qseg_ref, kvseg_ref, extra_in, rest


def _fwd_kernel(*refs, cfg, kv_len, num_k_blocks):
    q_ref, k_ref, v_ref, bias_ref, mask_ref, qseg_ref, kvseg_ref, _, (o_ref, lse_ref) = \
        _unpack_refs(refs, cfg, 0)
    dot = functools.partial(_dot, interpret=cfg["interpret"])
    bq, bk = cfg["block_q"], cfg["block_k"]
    i = pl.program_id(2)
    q = q_ref[...]
    q_pos = i * bq + lax.broadcasted_iota(jnp.int32, (bq, 1), 0)
    q_seg = None if qseg_ref is None else qseg_ref[...]

    def body(j, carry):
        acc, m_prev, l_prev = carry
        ks = pl.ds(pl.multiple_of(j * bk, bk), bk)
        k, v = k_ref[ks, :], v_ref[ks, :]
        s = dot(q, k, 1, 1) * cfg["sm_scale"]
        if bias_ref is not None:
            s = s + bias_ref[:, ks].astype(jnp.float32)
        s = _masked_logits(s, q_pos, j * bk + lax.broadcasted_iota(jnp.int32, (1, bk), 1),
                           kv_len=kv_len, causal=cfg["causal"],
                           mask_blk=None if mask_ref is None else mask_ref[:, ks],
                           q_seg=q_seg, kv_seg=None if kvseg_ref is None else kvseg_ref[:, ks])
        m_new = jnp.maximum(m_prev, s.max(axis=-1, keepdims=True))
        alpha = jnp.exp(m_prev - m_new)
        p = jnp.exp(s - m_new)
        l_new = alpha * l_prev + p.sum(axis=-1, keepdims=True)
        acc = alpha * acc + dot(p.astype(v.dtype), v, 1, 0)
        return acc, m_new, l_new

    upper = num_k_blocks
    if cfg["causal"]:  # key blocks entirely above the diagonal are skipped
        upper = jnp.minimum(lax.div((i + 1) * bq + bk - 1, bk), num_k_blocks)
    init = (jnp.zeros(q.shape, jnp.float32), jnp.full((bq, 1), -jnp.inf, jnp.float32),
            jnp.zeros((bq, 1), jnp.float32))
    acc, m, l_sum = lax.fori_loop(0, upper, body, init)
    o_ref[...] = (acc / l_sum).astype(o_ref.dtype)
    lse_ref[...] = m + jnp.log(l_sum)


def _dkv_kernel(*refs, cfg, kv_len, num_q_blocks):
    q_ref, k_ref, v_ref, bias_ref, mask_ref, qseg_ref, kvseg_ref, (do_ref, lse_ref, d_ref), \
        (dk_ref, dv_ref) = _unpack_refs(refs, cfg, 3)
    dot = functools.partial(_dot, interpret=cfg["interpret"])
    bq, bk, scale = cfg["block_q"], cfg["block_k"], cfg["sm_scale"]
    j = pl.program_id(2)
    k, v = k_ref[...], v_ref[...]
    k_pos = j * bk + lax.broadcasted_iota(jnp.int32, (1, bk), 1)
    kv_seg = None if kvseg_ref is None else kvseg_ref[...]

    def body(i, carry):
        dk, dv = carry
        qs = pl.ds(pl.multiple_of(i * bq, bq), bq)
        q, do = q_ref[qs, :], do_ref[qs, :]
        s = dot(q, k, 1, 1) * scale
        if bias_ref is not None:
            s = s + bias_ref[qs, :].astype(jnp.float32)
        s = _masked_logits(s, i * bq + lax.broadcasted_iota(jnp.int32, (bq, 1), 0), k_pos,
                           kv_len=kv_len, causal=cfg["causal"],
                           mask_blk=None if mask_ref is None else mask_ref[qs, :],
                           q_seg=None if qseg_ref is None else qseg_ref[qs, :], kv_seg=kv_seg)
        p = jnp.exp(s - lse_ref[qs, :])
        dv = dv + dot(p.astype(do.dtype), do, 0, 0)
        ds = p * (dot(do, v, 1, 1) - d_ref[qs, :])
        dk = dk + dot(ds.astype(q.dtype), q, 0, 0)
        return dk, dv

    lower = lax.div(j * bk, bq) if cfg["causal"] else 0  # query blocks below it see nothing
    zeros = jnp.zeros(k.shape, jnp.float32)
    dk, dv = lax.fori_loop(lower, num_q_blocks, body, (zeros, zeros))
    dk_ref[...] = (dk * scale).astype(dk_ref.dtype)
    dv_ref[...] = dv.astype(dv_ref.dtype)


def _dq_kernel(*refs, cfg, kv_len, num_k_blocks):
    q_ref, k_ref, v_ref, bias_ref, mask_ref, qseg_ref, kvseg_ref, (do_ref, lse_ref, d_ref), \
        outs = _unpack_refs(refs, cfg, 3)
    dq_ref, dbias_ref = (outs[0], outs[1]) if cfg["has_bias"] else (outs[0], None)
    dot = functools.partial(_dot, interpret=cfg["interpret"])
    bq, bk, scale = cfg["block_q"], cfg["block_k"], cfg["sm_scale"]
    i = pl.program_id(2)
    q, do = q_ref[...], do_ref[...]
    lse, delta = lse_ref[...], d_ref[...]
    q_pos = i * bq + lax.broadcasted_iota(jnp.int32, (bq, 1), 0)
    q_seg = None if qseg_ref is None else qseg_ref[...]

    def body(j, dq):
        ks = pl.ds(pl.multiple_of(j * bk, bk), bk)
        k, v = k_ref[ks, :], v_ref[ks, :]
        s = dot(q, k, 1, 1) * scale
        if bias_ref is not None:
            s = s + bias_ref[:, ks].astype(jnp.float32)
        s = _masked_logits(s, q_pos, j * bk + lax.broadcasted_iota(jnp.int32, (1, bk), 1),
                           kv_len=kv_len, causal=cfg["causal"],
                           mask_blk=None if mask_ref is None else mask_ref[:, ks],
                           q_seg=q_seg, kv_seg=None if kvseg_ref is None else kvseg_ref[:, ks])
        p = jnp.exp(s - lse)
        ds = p * (dot(do, v, 1, 1) - delta)
        if dbias_ref is not None:
            dbias_ref[:, ks] = ds.astype(dbias_ref.dtype)
        return dq + dot(ds.astype(k.dtype), k, 1, 0)

    upper = num_k_blocks
    if cfg["causal"]:
        upper = jnp.minimum(lax.div((i + 1) * bq + bk - 1, bk), num_k_blocks)
    dq = lax.fori_loop(0, upper, body, jnp.zeros(q.shape, jnp.float32))
    dq_ref[...] = (dq * scale).astype(dq_ref.dtype)
    if dbias_ref is not None and cfg["causal"]:  # the skipped blocks' dbias is zero
        def zero(j, c):
            dbias_ref[:, pl.ds(pl.multiple_of(j * bk, bk), bk)] = jnp.zeros(
                (bq, bk), dbias_ref.dtype)
            return c
        lax.fori_loop(upper, num_k_blocks, zero, 0)


# --- lowering helpers (jax values) ---------------------------------------------------------
def _padded(x, axis_sizes: dict):
    pads = [(0, axis_sizes.get(a, n) - n) for a, n in enumerate(x.shape)]
    return jnp.pad(x, pads) if any(p for _, p in pads) else x


def _mosaic(cfg) -> bool:
    """The call runs the Mosaic GPU kernels (:mod:`pallas_kernels.attention_mgpu`)."""
    return cfg.get("gpu_backend") == "mosaic_gpu"


def _mgpu_extras(ins, cfg) -> _amgpu.Extras:
    """The padded extras as the Mosaic GPU kernels take them: a float32 bias, the
    int8 mask, segment ids ``[B, Tp]`` and ``[B, Sp]``."""
    it = iter(ins[3:])
    bias = next(it).astype(jnp.float32) if cfg["has_bias"] else None
    mask = next(it) if cfg["has_mask"] else None
    q_seg, kv_seg = (next(it)[:, :, 0], next(it)[:, 0, :]) if cfg["has_segments"] else (None,
                                                                                       None)
    return _amgpu.Extras(bias, mask, q_seg, kv_seg)


def _mgpu_common(cfg, s):
    """The Mosaic GPU kernels' keyword arguments from the primitive's params (``s``:
    the unpadded key length)."""
    return dict(block_q=cfg["block_q"], block_k=cfg["block_k"], sm_scale=cfg["sm_scale"],
                causal=cfg["causal"], kv_len=s, interpret=cfg["interpret"],
                stages=cfg["num_stages"])


def _layout(q, k, v, extras, cfg):
    """Transpose to [B, H, L, D], pad lengths to the blocks and D for the compiler."""
    b, t, n, d = q.shape
    s = k.shape[1]
    tp, sp = round_up(t, cfg["block_q"]), round_up(s, cfg["block_k"])
    if _mosaic(cfg):
        dp = _amgpu.head_dim_padded(d)      # one 128-byte swizzle of 16-bit elements
    else:
        dp = d if cfg["interpret"] else max(16, next_power_of_2(d))
    qt = _padded(jnp.swapaxes(q, 1, 2), {2: tp, 3: dp})
    kt = _padded(jnp.swapaxes(k, 1, 2), {2: sp, 3: dp})
    vt = _padded(jnp.swapaxes(v, 1, 2), {2: sp, 3: dp})
    bias, mask, q_seg, kv_seg = extras
    ins = [qt, kt, vt]
    if bias is not None:
        ins.append(_padded(bias, {2: tp, 3: sp}))
    if mask is not None:
        ins.append(_padded(mask.astype(jnp.int8), {2: tp, 3: sp}))
    if q_seg is not None:
        ins += [_padded(q_seg.astype(jnp.int32)[:, :, None], {1: tp}),      # [B, Tp, 1]
                _padded(kv_seg.astype(jnp.int32)[:, None, :], {2: sp})]     # [B, 1, Sp]
    return ins, (b, t, n, d, s, k.shape[2], tp, sp, dp)


def _specs(extras, cfg, dims, *, q_rows: int, k_rows: int, q_block: str):
    """BlockSpecs of q, k, v and the extras on the grid (b, n, block index): the
    gridded axis (``q_block`` "q": query blocks, "k": key blocks) gets a block,
    the other sequence is whole (the kernel loops over it)."""
    b, t, n, d, s, kh, tp, sp, dp = dims
    g = n // kh
    qi = (lambda bi, ni, x: (bi, ni, x, 0)) if q_block == "q" else (lambda bi, ni, x: (bi, ni, 0, 0))
    ki = (lambda bi, ni, x: (bi, lax.div(ni, g), x, 0)) if q_block == "k" else \
        (lambda bi, ni, x: (bi, lax.div(ni, g), 0, 0))
    specs = [pl.BlockSpec((None, None, q_rows, dp), qi), pl.BlockSpec((None, None, k_rows, dp), ki),
             pl.BlockSpec((None, None, k_rows, dp), ki)]
    bias, mask, q_seg, _ = extras
    for x in (bias, mask):
        if x is not None:
            bb, nb = x.shape[0] > 1, x.shape[1] > 1

            def idx(bi, ni, xi, bb=bb, nb=nb):
                rows, cols = (xi, 0) if q_block == "q" else (0, xi)
                return (bi if bb else 0, ni if nb else 0, rows, cols)
            specs.append(pl.BlockSpec((None, None, q_rows, k_rows), idx))
    if q_seg is not None:   # a column of query ids, a row of key ids
        specs += [pl.BlockSpec((None, q_rows, 1), (lambda bi, ni, x: (bi, x, 0))
                               if q_block == "q" else (lambda bi, ni, x: (bi, 0, 0))),
                  pl.BlockSpec((None, 1, k_rows), (lambda bi, ni, x: (bi, 0, x))
                               if q_block == "k" else (lambda bi, ni, x: (bi, 0, 0)))]
    return specs


def _row_spec(rows: int, by_block: bool):
    """A per-query-row float (lse, delta) as a ``[B, N, T, 1]`` column."""
    return pl.BlockSpec((None, None, rows, 1), (lambda bi, ni, x: (bi, ni, x, 0)) if by_block
                        else (lambda bi, ni, x: (bi, ni, 0, 0)))


def _tile_spec(rows: int, dp: int, by_block: bool):
    return pl.BlockSpec((None, None, rows, dp), (lambda bi, ni, x: (bi, ni, x, 0)) if by_block
                        else (lambda bi, ni, x: (bi, ni, 0, 0)))


def _call(kernel, grid, in_specs, out_specs, out_shape, cfg, name):
    return pl.pallas_call(kernel, grid=grid, in_specs=in_specs, out_specs=out_specs,
                          out_shape=out_shape, interpret=cfg["interpret"], name=name,
                          compiler_params=compiler_params(cfg["interpret"],
                                                          num_warps=cfg["num_warps"],
                                                          num_stages=cfg["num_stages"]))


# --- checks shared by both primitives -------------------------------------------------------
def _check_operands(op: str, q, k, v, extras) -> None:
    for name, a in (("q", q), ("k", k), ("v", v)):
        if a.ndim != 4:
            raise ShapeError(f"{op}: {name} must have rank 4 [batch, seq, heads, head_dim], got "
                             f"{a.str_short()}. Fix: add the missing axes (x[None] for one "
                             f"example, x[:, :, None] for one head).")
    if q.dtype not in SUPPORTED_DTYPES or k.dtype != q.dtype or v.dtype != q.dtype:
        raise FxTypeError(f"{op}: q, k, v must share one dtype among float32, bfloat16, float16; "
                          f"got q {q.str_short()}, k {k.str_short()}, v {v.str_short()}. Fix: "
                          f"cast with .astype(...).")
    if k.shape != v.shape:
        raise ShapeError(f"{op}: k {k.str_short()} and v {v.str_short()} must have one shape.")
    if q.shape[0] != k.shape[0] or q.shape[3] != k.shape[3]:
        raise ShapeError(f"{op}: q {q.str_short()} and k {k.str_short()} must agree in batch "
                         f"and head_dim (mismatched head dims cannot be contracted).")
    if q.shape[2] % k.shape[2]:
        raise ShapeError(f"{op}: the {q.shape[2]} query heads are not divisible by the "
                         f"{k.shape[2]} key/value heads (GQA needs heads % kv_heads == 0).")
    b, t, n, _ = q.shape
    s = k.shape[1]
    bias, mask, q_seg, kv_seg = extras
    for name, x in (("bias", bias), ("mask", mask)):
        if x is not None and (x.ndim != 4 or x.shape[0] not in (1, b) or x.shape[1] not in (1, n)
                              or x.shape[2:] != (t, s)):
            raise ShapeError(f"{op}: {name} must be [1 or {b}, 1 or {n}, {t}, {s}], got "
                             f"{x.str_short()}.")
    if q_seg is not None and (q_seg.shape != (b, t) or kv_seg.shape != (b, s)):
        raise ShapeError(f"{op}: segment ids must be [{b}, {t}] and [{b}, {s}], got "
                         f"{q_seg.str_short()} and {kv_seg.str_short()}.")


# --- flash_attention_fwd ---
flash_attention_fwd_p = Primitive("flash_attention_fwd", multiple_results=True)


@flash_attention_fwd_p.def_abstract_eval
def _fwd_aval(*avals, **cfg):
    q, k, v, extras, _ = _split_operands(avals, cfg)
    _check_operands("flash_attention", q, k, v, extras)
    b, t, n, _ = q.shape
    return [ShapedArray(q.shape, q.dtype), ShapedArray((b, n, t), np.dtype(np.float32))]


@flash_attention_fwd_p.def_lowering
def _fwd_lowering(*args, **cfg):
    q, k, v, extras, _ = _split_operands(args, cfg)
    ins, dims = _layout(q, k, v, extras, cfg)
    b, t, n, d, s, kh, tp, sp, dp = dims
    bq, bk = cfg["block_q"], cfg["block_k"]
    if _mosaic(cfg):
        o, lse = _amgpu.attention_fwd_mgpu(
            *ins[:3], _mgpu_extras(ins, cfg), **_mgpu_common(cfg, s),
            out_types=[out_struct((b, n, tp, dp), q.dtype, q, k, v),
                       out_struct((b, n, tp), jnp.float32, q, k, v)])
        return [jnp.swapaxes(o[:, :, :t, :d], 1, 2), lse[:, :, :t]]
    kernel = functools.partial(_fwd_kernel, cfg=cfg, kv_len=s, num_k_blocks=sp // bk)
    o, lse = _call(kernel, (b, n, tp // bq),
                   _specs(extras, cfg, dims, q_rows=bq, k_rows=sp, q_block="q"),
                   [_tile_spec(bq, dp, True), _row_spec(bq, True)],
                   [out_struct((b, n, tp, dp), q.dtype, q, k, v),
                    out_struct((b, n, tp, 1), jnp.float32, q, k, v)], cfg,
                   "flash_attention_fwd")(*ins)
    return [jnp.swapaxes(o[:, :, :t, :d], 1, 2), lse[:, :, :t, 0]]


def _fold_batch(args, bdims, batch_like):
    """Move every vmapped axis to the front and fold it into the batch axis:
    ``[V, B, ...] -> [V*B, ...]``. Operands ``batch_like[i]`` (bias, mask) whose
    batch axis is 1 are broadcast to B first; unbatched operands to V."""
    size = next(a.shape[d] for a, d in zip(args, bdims) if d is not None)
    q_shape = list(args[0].shape)
    if bdims[0] is not None:
        del q_shape[bdims[0]]
    batch = q_shape[0]
    out = []
    for a, d, like in zip(args, bdims, batch_like):
        a = fnp.broadcast_to(a[None], (size,) + a.shape) if d is None else fnp.moveaxis(a, d, 0)
        if like and a.shape[1] == 1 and batch > 1:
            a = fnp.broadcast_to(a, (size, batch) + a.shape[2:])
        out.append(a.reshape((size * a.shape[1],) + a.shape[2:]))
    return out, size


def _batch_like(cfg, n_tail: int):
    flags = [False, False, False]
    flags += [True] * (cfg["has_bias"] + cfg["has_mask"])
    flags += [False, False] * cfg["has_segments"]
    return flags + [False] * n_tail


def _unfold(outs, size):
    return [o.reshape((size, o.shape[0] // size) + o.shape[1:]) for o in outs]


@flash_attention_fwd_p.def_batch
def _fwd_batch(args, bdims, **cfg):
    folded, size = _fold_batch(args, bdims, _batch_like(cfg, 0))
    return _unfold(flash_attention_fwd_p.bind(*folded, **cfg), size), [0, 0]


def _reference_fn(cfg):
    """``(q, k, v, [bias]) -> (o, lse)`` by the reference, for the jvp rules."""
    def f(q, k, v, *rest, extras):
        bias = rest[0] if cfg["has_bias"] else None
        _, mask, q_seg, kv_seg = extras
        return reference_attention(q, k, v, bias=bias, mask=mask, causal=cfg["causal"],
                                   segment_ids=None if q_seg is None else (q_seg, kv_seg),
                                   sm_scale=cfg["sm_scale"], return_lse=True)
    return f


def _diff_args(args, cfg):
    q, k, v, extras, tail = _split_operands(args, cfg)
    return [q, k, v] + ([extras[0]] if cfg["has_bias"] else []), extras, tail


@flash_attention_fwd_p.def_jvp
def _fwd_jvp(primals, tangents, **cfg):
    """Forward mode (reached by grad of grad): the kernel's values, the
    reference's tangents."""
    outs = flash_attention_fwd_p.bind(*primals, **cfg)
    diff, extras, _ = _diff_args(primals, cfg)
    t_diff, _, _ = _diff_args(tangents, cfg)
    f = functools.partial(_reference_fn(cfg), extras=extras)
    _, t_out = fjvp(f, diff, [instantiate_zero(t) for t in t_diff])
    return outs, list(t_out)


# --- flash_attention_bwd ---
flash_attention_bwd_p = Primitive("flash_attention_bwd", multiple_results=True)


@flash_attention_bwd_p.def_abstract_eval
def _bwd_aval(*avals, **cfg):
    q, k, v, extras, (o, lse, do) = _split_operands(avals, cfg)
    _check_operands("flash_attention backward", q, k, v, extras)
    if o.shape != q.shape or do.shape != q.shape or lse.shape != (q.shape[0], q.shape[2],
                                                                   q.shape[1]):
        raise ShapeError(f"flash_attention backward: o {o.str_short()}, do {do.str_short()} "
                         f"must be {q.str_short()} and lse {lse.str_short()} [B, N, T].")
    outs = [ShapedArray(a.shape, a.dtype) for a in (q, k, v)]
    if cfg["has_bias"]:
        outs.append(ShapedArray(extras[0].shape, extras[0].dtype))
    return outs


@flash_attention_bwd_p.def_lowering
def _bwd_lowering(*args, **cfg):
    q, k, v, extras, (o, lse, do) = _split_operands(args, cfg)
    ins, dims = _layout(q, k, v, extras, cfg)
    b, t, n, d, s, kh, tp, sp, dp = dims
    bq, bk = cfg["block_q"], cfg["block_k"]
    delta = jnp.sum(o.astype(jnp.float32) * do.astype(jnp.float32), axis=-1)  # D = rowsum(dO*O)
    rows = [_padded(jnp.swapaxes(do, 1, 2), {2: tp, 3: dp}), _padded(lse[..., None], {2: tp}),
            _padded(jnp.swapaxes(delta, 1, 2)[..., None], {2: tp})]
    g = n // kh

    def per_kv_head(x):
        return jnp.swapaxes(x[:, :, :s, :d].astype(jnp.float32).reshape(b, kh, g, s, d).sum(2),
                            1, 2).astype(k.dtype)
    dbias_type = out_struct((b, n, tp, sp), jnp.float32, q, k, v, do) if cfg["has_bias"] \
        else None
    if _mosaic(cfg):
        res = _amgpu.attention_bwd_mgpu(
            *ins[:3], _mgpu_extras(ins, cfg), rows[0], rows[1][..., 0], rows[2][..., 0],
            **_mgpu_common(cfg, s), dq_type=out_struct((b, n, tp, dp), q.dtype, q, k, v, do),
            dkv_type=out_struct((b, n, sp, dp), q.dtype, q, k, v, do), dbias_type=dbias_type)
        (dq, dk, dv), dbias = res[:3], res[3:]
    else:
        # dk, dv per query head (grid over key blocks), summed over each GQA group below
        dkv = functools.partial(_dkv_kernel, cfg=cfg, kv_len=s, num_q_blocks=tp // bq)
        dk, dv = _call(dkv, (b, n, sp // bk),
                       _specs(extras, cfg, dims, q_rows=tp, k_rows=bk, q_block="k")
                       + [_tile_spec(tp, dp, False), _row_spec(tp, False), _row_spec(tp, False)],
                       [_tile_spec(bk, dp, True)] * 2,
                       [out_struct((b, n, sp, dp), jnp.float32, q, k, v, do)] * 2, cfg,
                       "flash_attention_dkv")(*ins, *rows)
        # dq (and dbias) with a grid over query blocks
        dq_k = functools.partial(_dq_kernel, cfg=cfg, kv_len=s, num_k_blocks=sp // bk)
        out_specs = [_tile_spec(bq, dp, True)]
        out_shape = [out_struct((b, n, tp, dp), q.dtype, q, k, v, do)]
        if cfg["has_bias"]:
            out_specs.append(pl.BlockSpec((None, None, bq, sp),
                                          lambda bi, ni, x: (bi, ni, x, 0)))
            out_shape.append(dbias_type)
        dq, *dbias = _call(dq_k, (b, n, tp // bq),
                           _specs(extras, cfg, dims, q_rows=bq, k_rows=sp, q_block="q")
                           + [_tile_spec(bq, dp, True), _row_spec(bq, True), _row_spec(bq, True)],
                           out_specs, out_shape, cfg, "flash_attention_dq")(*ins, *rows)
    outs = [jnp.swapaxes(dq[:, :, :t, :d], 1, 2), per_kv_head(dk), per_kv_head(dv)]
    if cfg["has_bias"]:
        bias = extras[0]
        dbias = dbias[0][:, :, :t, :s]
        axes = tuple(a for a in (0, 1) if bias.shape[a] == 1 and dbias.shape[a] > 1)
        outs.append(dbias.sum(axes, keepdims=True).astype(bias.dtype))
    return outs


@flash_attention_bwd_p.def_batch
def _bwd_batch(args, bdims, **cfg):
    folded, size = _fold_batch(args, bdims, _batch_like(cfg, 3))
    outs = _unfold(flash_attention_bwd_p.bind(*folded, **cfg), size)
    if cfg["has_bias"]:  # a bias broadcast over the batch gets the batch's summed gradient
        bias, d = args[3], bdims[3]
        bias_batch = bias.shape[1 if d == 0 else 0]
        if bias_batch == 1 and outs[3].shape[1] > 1:
            outs[3] = outs[3].sum(1, keepdims=True)
    return outs, [0] * len(outs)


@flash_attention_bwd_p.def_jvp
def _bwd_jvp(primals, tangents, **cfg):
    """Forward mode of the backward (grad of grad): the kernel's values; the
    tangents of the reference's vjp. ``o`` and ``lse`` are functions of the
    other inputs, so their tangents add nothing the recomputation misses."""
    outs = flash_attention_bwd_p.bind(*primals, **cfg)
    diff, extras, (_, _, do) = _diff_args(primals, cfg)
    t_diff, _, (_, _, t_do) = _diff_args(tangents, cfg)
    f = functools.partial(_reference_fn(cfg), extras=extras)

    def cotangents(*xs):
        *d, ct = xs
        _, pullback = fvjp(lambda *a: f(*a)[0], *d)
        return list(pullback(ct))
    _, t_out = fjvp(cotangents, diff + [do],
                    [instantiate_zero(t) for t in t_diff] + [instantiate_zero(t_do)])
    return outs, list(t_out)


# --- the custom_vjp that ties them ----------------------------------------------------------
def _primal(cfg: _Static, q, k, v, extras):
    """``extras``: the present ones of (bias, mask, q_seg, kv_seg), in that order."""
    return flash_attention_fwd_p.bind(q, k, v, *extras, **cfg._asdict())[0]


def _fwd(cfg: _Static, q, k, v, extras):
    o, lse = flash_attention_fwd_p.bind(q, k, v, *extras, **cfg._asdict())
    return o, (q, k, v, extras, o, lse)


def _bwd(cfg: _Static, res, do):
    q, k, v, extras, o, lse = res
    grads = flash_attention_bwd_p.bind(q, k, v, *extras, o, lse, do, **cfg._asdict())
    # inside a shard_map body: a replicated argument's cotangent is the sum over the shards
    ct_extras = tuple(P.psum_to_type_of(grads[3], extras[0]) if (i == 0 and cfg.has_bias)
                      else None for i in range(len(extras)))
    return (*(P.psum_to_type_of(g, x) for g, x in zip(grads[:3], (q, k, v))), ct_extras)


_attention = custom_vjp(_primal, nondiff_argnums=(0,))
_attention.defvjp(_fwd, _bwd)


# --- the public function --------------------------------------------------------------------
def _as_4d(name: str, x, b: int, n: int, t: int, s: int, dtype=None):
    """bias / mask to ``[1 or B, 1 or N, T, S]`` (leading ones added, T/S broadcast)."""
    if x is None:
        return None
    x = fnp.asarray(x) if dtype is None else fnp.asarray(x).astype(dtype)
    if x.ndim > 4:
        raise ShapeError(f"flash_attention: {name} has rank {x.ndim}; it must broadcast to "
                         f"[{b}, {n}, {t}, {s}].")
    x = x.reshape((1,) * (4 - x.ndim) + x.shape)
    want = (x.shape[0], x.shape[1], t, s)
    if x.shape[0] not in (1, b) or x.shape[1] not in (1, n) or x.shape[2] not in (1, t) or \
            x.shape[3] not in (1, s):
        raise ShapeError(f"flash_attention: {name} {x.shape} does not broadcast to "
                         f"[{b}, {n}, {t}, {s}].")
    return fnp.broadcast_to(x, want) if x.shape != want else x


def flash_attention(q, k, v, *, bias=None, mask=None, segment_ids=None, causal: bool = False,
                    sm_scale=None, block_q=None, block_k=None, interpret=None, backend=None):
    """Fused attention (FlashAttention-2), forward and backward as Pallas kernels.

    Args:
      q: ``[batch, q_len, heads, head_dim]`` float32 / bfloat16 / float16.
      k, v: ``[batch, kv_len, kv_heads, head_dim]``, ``heads % kv_heads == 0``
        (GQA / MQA), the dtype of ``q``.
      bias: added to the scaled logits; broadcastable to ``[batch, heads,
        q_len, kv_len]`` (differentiable).
      mask: bool, True where attention is allowed; broadcastable as ``bias``.
      segment_ids: ``[batch, len]`` ints (self attention, ``q_len == kv_len``)
        or a pair ``(q_segment_ids [batch, q_len], kv_segment_ids [batch,
        kv_len])``: queries see the keys of their own segment only.
      causal: query ``i`` sees keys ``j <= i``; key blocks above the diagonal
        are skipped.
      sm_scale: the logits' scale, default ``1 / sqrt(head_dim)``.
      block_q, block_k: tile sizes (powers of two); default from the block
        table or the autotune cache (``pallas_kernels.autotune``).
      interpret: run the kernels in Pallas interpret mode (default: on CPU).
      backend: the GPU kernels: ``"triton"`` (Pallas' Triton lowering),
        ``"mosaic_gpu"`` (Hopper wgmma + TMA, :mod:`pallas_kernels.attention_mgpu`;
        bfloat16 / float16, blocks of at least 64; with
        ``interpret`` it runs under jax >= 0.11's GPU interpreter) or None: on a
        GPU, Mosaic GPU where jax >= 0.11 deprecates Triton and the call fits it,
        else Triton.

    Returns:
      ``[batch, q_len, heads, head_dim]`` in ``q``'s dtype (float32 accumulation).

    Raises:
      ShapeError: wrong ranks, mismatched head dims or batch, heads not
        divisible, bias / mask / segment ids of the wrong shape.
      FxTypeError: a dtype other than float32 / bfloat16 / float16, or mixed.
      KernelConfigError: a block size that is not a power of two; an unknown
        ``backend``; ``backend="mosaic_gpu"`` for a call its kernels do not take.
      KernelUnavailableError: ``backend="mosaic_gpu"`` in interpret mode on jax 0.10.

    A value head dim different from the query's, or a head dim above 256, runs
    :func:`pallas_kernels.reference_attention` instead, with a FallbackWarning.

    Example::

        >>> o = flash_attention(q, k, v, causal=True)            # [B, T, N, D]
        >>> dq = transforms.grad(lambda q: flash_attention(q, k, v).sum())(q)

    References:
        Dao, "FlashAttention-2: Faster Attention with Better Parallelism and
        Work Partitioning" (2023).
    """
    q, k, v = fnp.asarray(q), fnp.asarray(k), fnp.asarray(v)
    qa, ka, va = get_aval(q), get_aval(k), get_aval(v)
    if qa.ndim == 4 and va.ndim == 4 and ka.ndim == 4 and ka.shape[:3] == va.shape[:3] and \
            qa.shape[3] == ka.shape[3] and (va.shape[3] != qa.shape[3] or
                                            qa.shape[3] > MAX_HEAD_DIM):
        why = (f"value head dim {va.shape[3]} differs from the query's {qa.shape[3]}"
               if va.shape[3] != qa.shape[3] else
               f"head dim {qa.shape[3]} is above the kernel's {MAX_HEAD_DIM}")
        warn_fallback("flash_attention", why)
        segs = _segments(segment_ids)
        b, t, n, _ = qa.shape
        return reference_attention(q, k, v, bias=_as_4d("bias", bias, b, n, t, ka.shape[1]),
                                   mask=_as_4d("mask", mask, b, n, t, ka.shape[1], bool),
                                   segment_ids=segs, causal=causal, sm_scale=sm_scale)
    if qa.ndim == 4 and ka.ndim == 4:
        b, t, n, d = qa.shape
        s = ka.shape[1]
        bias = _as_4d("bias", bias, b, n, t, s)
        mask = _as_4d("mask", mask, b, n, t, s, bool)
    segs = _segments(segment_ids)
    extras = (bias, mask) + (segs if segs is not None else (None, None))
    _check_operands("flash_attention", qa, ka, va,
                    tuple(None if e is None else get_aval(e) for e in extras))
    if bias is not None and not is_float(get_aval(bias)):
        raise FxTypeError(f"flash_attention: bias must be floating point, got "
                          f"{get_aval(bias).str_short()}.")
    interpret = resolve_interpret(interpret)
    gpu_backend = choose_backend("flash_attention", backend, interpret, qa.dtype,
                                 mosaic_gpu_too_small("attention", dict(block_q=block_q,
                                                                        block_k=block_k)))
    shape_key = (b, t, n, s, ka.shape[2], d, str(qa.dtype), bool(causal))
    blocks = attention_blocks(shape_key, d, t, s, interpret, block_q, block_k,
                              mosaic_gpu=gpu_backend == "mosaic_gpu")
    cfg = _Static(causal=bool(causal),
                  sm_scale=float(1.0 / np.sqrt(d) if sm_scale is None else sm_scale),
                  block_q=blocks.block_q, block_k=blocks.block_k, interpret=interpret,
                  has_bias=bias is not None, has_mask=mask is not None,
                  has_segments=segs is not None, num_warps=blocks.num_warps,
                  num_stages=blocks.num_stages, gpu_backend=gpu_backend)
    out = _attention(cfg, q, k, v, tuple(e for e in extras if e is not None))
    if causal and (mask is not None or segs is not None):
        out = _uniform_where_dead(out, v, _dead_causal_rows(t, s, mask, segs))
    return out


def _dead_causal_rows(t: int, s: int, mask, segs):
    """``[1 or B, T, 1 or N, 1]`` bool: the query rows that causal masking, the mask
    and the segment ids leave without any key. The kernel skips the key blocks
    above the diagonal, so such a row averages the values of the visited blocks
    only; jax.nn.dot_product_attention gives every key the same masked logit, so
    the row is the mean of ALL the values."""
    keep = fnp.tril(fnp.ones((t, s), bool))[None, None]
    if mask is not None:
        keep = fnp.logical_and(keep, mask)
    if segs is not None:
        q_seg, kv_seg = segs
        keep = fnp.logical_and(keep, (q_seg[:, :, None] == kv_seg[:, None, :])[:, None])
    return fnp.logical_not(fnp.any(keep, axis=-1)).transpose(0, 2, 1)[..., None]


def _uniform_where_dead(out, v, dead):
    """JAX's value for rows without keys: the mean of every value row (per kv head,
    repeated over the query heads of its group)."""
    n, kv_heads = out.shape[2], v.shape[2]
    mean_v = fnp.mean(v.astype(np.float32), axis=1, keepdims=True)      # [B, 1, K, D]
    mean_v = fnp.repeat(mean_v, n // kv_heads, axis=2).astype(out.dtype)
    return fnp.where(dead, mean_v, out)


def _segments(segment_ids):
    if segment_ids is None:
        return None
    if isinstance(segment_ids, (tuple, list)):
        if len(segment_ids) != 2:
            raise ShapeError("flash_attention: segment_ids must be one [batch, len] array or a "
                             "pair (q_segment_ids, kv_segment_ids).")
        q_seg, kv_seg = segment_ids
    else:
        q_seg = kv_seg = segment_ids
    q_seg, kv_seg = fnp.asarray(q_seg), fnp.asarray(kv_seg)
    for x in (q_seg, kv_seg):
        if get_aval(x).dtype.kind not in "iu":
            raise FxTypeError(f"flash_attention: segment ids must be integers, got "
                              f"{get_aval(x).str_short()}.")
    return P.convert_element_type(q_seg, np.int32), P.convert_element_type(kv_seg, np.int32)

