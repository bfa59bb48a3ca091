"""Flash attention's kernels for Mosaic GPU (Hopper ``wgmma`` + TMA), jax >= 0.11's GPU backend.

The ``flash_attention_fwd`` / ``flash_attention_bwd`` primitives' kernels with
``gpu_backend='mosaic_gpu'``: the same FlashAttention-2 algorithm as the
``pallas_call`` kernels of :mod:`pallas_kernels.flash_attention`, written for
Mosaic GPU. Each CUDA block (one warpgroup, ``plgpu.kernel`` grid ``(batch,
heads, blocks)``) TMA-loads its resident tile(s) once and streams the other
sequence's tiles through ``stages`` shared-memory buffers (a TMA copy per tile
and a barrier per buffer; a buffer is refilled once the wgmmas reading it are
done), so the copies of the next tiles overlap this tile's math:

- forward: grid over query blocks; ``S = Q K^T`` and ``O += P V`` by wgmma into
  float32 accumulators, online softmax in base 2 on the registers; writes ``O``
  and the log-sum-exp (natural log, ``[B, N, T]``).
- backward, dk/dv: grid over key blocks, loop over query blocks:
  ``S^T = K Q^T``, ``P^T`` from the saved lse, ``dV += P^T dO``,
  ``dP^T = V dO^T``, ``dS^T = P^T (dP^T - D)``, ``dK += dS^T Q``.
- backward, dq: grid over query blocks, loop over key blocks:
  ``dQ += dS K``; with a bias, ``dS`` is also stored as the bias's cotangent.

Causal attention stops (forward, dq) or starts (dk/dv) the loop at the
diagonal. The bias is added to the scaled logits; masks as the ``pallas_call``
kernels: causal, the boolean mask and segment ids give the finite
``MASK_VALUE``, padded keys ``-inf``. Bias and mask tiles are plain loads in the
accumulator's layout (the dk/dv kernel reads them transposed). Head dims are
padded to a multiple of 64 (one 128-byte swizzle of bfloat16), blocks are
multiples of 64 (a warpgroup's wgmma rows).

Off a GPU the kernels run under jax 0.11's GPU interpreter (the tests); on jax
0.10 they are only lowered (cross-platform, for an abstract H200).

References:
    Dao, "FlashAttention-2" (2023), Algorithms 1 and 2; Shah et al.,
    "FlashAttention-3" (2024) (wgmma + TMA on Hopper); the Pallas Mosaic GPU
    reference (``plgpu.kernel``, ``copy_gmem_to_smem``, ``Barrier``, ``wgmma``).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import pallas as pl

from pallas_kernels.mosaic_gpu import (interpret_params, load_tile, load_vector, plgpu,
                                       smem_transforms)
from pallas_kernels.reference import MASK_VALUE

__all__ = ["Extras", "head_dim_padded", "attention_fwd_mgpu", "attention_bwd_mgpu"]

LOG2E = math.log2(math.e)
LN2 = math.log(2.0)


def head_dim_padded(d: int) -> int:
    """The head dim the kernels see: a multiple of 64 (64, 128, 192, 256)."""
    return max(64, -(-int(d) // 64) * 64)


def _wgmma_value(a, b, shape):
    """``a @ b`` (b may be a transposed shared-memory view) into a fresh float32
    accumulator, returned as a register value (reading it waits for the wgmma)."""
    def body(acc):
        plgpu.wgmma(acc, a, b)
        return acc[...]
    return pl.run_scoped(body, plgpu.ACC(shape, jnp.float32))


def _wgmma_add(acc, a, b, staging):
    """``acc + a @ b`` for a float32 accumulator value ``acc`` (WGMMA layout) and a
    16-bit register tile ``a``.

    Compiled (``staging`` None): wgmma reads ``a`` from registers and accumulates
    into ``acc`` in place (``pl.run_state`` on ``ACC.init(acc)``). Under jax 0.11's
    GPU interpreter (``staging``: a shared-memory buffer of ``a``'s shape), which
    reads wgmma operands from shared memory only and does not run ``run_state``:
    ``a`` goes through ``staging`` and the product into a fresh accumulator, added
    after. Both compute the same values.
    """
    if staging is None:
        def body(acc_ref):
            plgpu.wgmma(acc_ref, a, b)
        return pl.run_state(body)(plgpu.ACC.init(acc))
    staging[...] = a
    plgpu.commit_smem()          # the stores are visible to wgmma (the async proxy)
    return acc + _wgmma_value(staging, b, acc.shape)


def _staging(interpret: bool, rows: int, cols: int, dtype):
    """The shared-memory scratch of :func:`_wgmma_add` (interpret mode only)."""
    if not interpret:
        return []
    return [plgpu.SMEM((rows, cols), dtype, transforms=smem_transforms(cols, dtype))]


def _zeros(shape, axis=None):
    """float32 zeros in the accumulator's layout (``axis``: a row / column of it)."""
    layout = plgpu.Layout.WGMMA if axis is None else plgpu.Layout.WGMMA.reduce(axis)
    return plgpu.layout_cast(jnp.zeros(shape, jnp.float32), layout)


class Extras(NamedTuple):
    """The optional operands, padded as the kernels take them (None where absent):
    ``bias [1|B, 1|N, Tp, Sp]`` float32, ``mask`` of that shape int8 (nonzero:
    attend), ``q_seg [B, Tp]`` and ``kv_seg [B, Sp]`` int32."""
    bias: object = None
    mask: object = None
    q_seg: object = None
    kv_seg: object = None


def _take(refs, extras: Extras):
    """The extras' refs (None where absent) and the refs after them."""
    it = iter(refs)
    got = Extras(*(None if x is None else next(it) for x in extras))
    return got, list(it)


def _pair_tile(ref, bi, ni):
    """A ``[1|B, 1|N, rows, cols]`` operand's ``[rows, cols]`` plane for (bi, ni)."""
    if ref is None:
        return None
    return ref.at[bi if ref.shape[0] > 1 else 0, ni if ref.shape[1] > 1 else 0]


class _Tiles:
    """How one CUDA block computes its logits tiles: ``a @ b^T`` scaled to base 2,
    plus the bias tile, then the masks: causal, the boolean mask and segment ids
    give MASK_VALUE, padded keys -inf.

    Args:
      scale2: the logits' scale times log2(e).
      rows_are_queries: the tiles' rows are queries (forward, dq) or keys (dk/dv).
      causal, kv_len, kv_padded: causal masking; the unpadded and padded key lengths.
      bias, mask: ``[rows, cols]`` planes of this block's (b, n) in the tiles'
        orientation (global memory), or None.
      row_ids: the resident rows' segment ids (a column vector), or None;
      col_ids: the segment ids along the columns (a global ``[cols]`` ref).
    """

    def __init__(self, *, scale2, rows_are_queries, causal, kv_len, kv_padded, bias=None,
                 mask=None, row_ids=None, col_ids=None):
        self.scale2, self.rows_are_queries, self.causal = scale2, rows_are_queries, causal
        self.kv_len, self.kv_padded = kv_len, kv_padded
        self.bias, self.mask, self.row_ids, self.col_ids = bias, mask, row_ids, col_ids

    def logits(self, a_smem, b_smem, row0, col0, shape):
        """The masked logits (base 2) of the tile at (``row0``, ``col0``)."""
        s = _wgmma_value(a_smem, b_smem.transpose((1, 0)), shape) * self.scale2
        rows, cols = pl.ds(row0, shape[0]), pl.ds(col0, shape[1])
        if self.bias is not None:
            s = s + load_tile(self.bias, (rows, cols)) * LOG2E
        drop = None
        if self.mask is not None:
            drop = load_tile(self.mask, (rows, cols)) == 0
        if self.row_ids is not None:
            col_ids = load_vector(self.col_ids, (cols,), 0)
            other = (lax.broadcast_in_dim(self.row_ids, shape, (0,))
                     != lax.broadcast_in_dim(col_ids, shape, (1,)))
            drop = other if drop is None else jnp.logical_or(drop, other)
        padded = self.kv_len < self.kv_padded
        if self.causal or padded:
            r = plgpu.broadcasted_iota(jnp.int32, shape, 0, layout=plgpu.Layout.WGMMA) + row0
            c = plgpu.broadcasted_iota(jnp.int32, shape, 1, layout=plgpu.Layout.WGMMA) + col0
            q_pos, k_pos = (r, c) if self.rows_are_queries else (c, r)
            if self.causal:
                late = q_pos < k_pos
                drop = late if drop is None else jnp.logical_or(drop, late)
        if drop is not None:
            s = jnp.where(drop, MASK_VALUE, s)
        if padded:
            s = jnp.where(k_pos < self.kv_len, s, -jnp.inf)
        return s


def _causal_end(q0, block_q: int, block_k: int, nk: int):
    """The key blocks a query block starting at ``q0`` sees under causal masking."""
    return jnp.minimum(lax.div(q0 + block_q + block_k - 1, jnp.int32(block_k)), nk)


def _when(cond, fn):
    """``fn()`` where ``cond`` holds (a Python bool decided now, or a traced one)."""
    if isinstance(cond, (bool, np.bool_)):
        if cond:
            fn()
    else:
        pl.when(cond)(fn)


class _Stream:
    """``stages`` shared-memory buffers per streamed operand, filled by TMA copies of
    consecutive blocks along the sequence axis, each buffer with its barrier."""

    def __init__(self, gmems, smems, barriers, block: int, stages: int, first):
        self.gmems, self.smems, self.barriers = gmems, smems, barriers
        self.block, self.stages, self.first = block, stages, first

    def slot(self, step):
        return lax.rem(step - self.first, self.stages)

    def fetch(self, step):
        """Start the copies of block ``step`` into its buffers."""
        slot = self.slot(step)
        for g, s, bar in zip(self.gmems, self.smems, self.barriers):
            plgpu.copy_gmem_to_smem(g.at[pl.ds(step * self.block, self.block)], s.at[slot],
                                    bar.at[slot])

    def prime(self, end):
        """Start the first ``stages`` blocks' copies (those before ``end``)."""
        for i in range(self.stages):
            _when(self.first + i < end, lambda i=i: self.fetch(self.first + i))

    def wait(self, step, which: int):
        """Block ``step``'s operand ``which``, once its copy has landed."""
        slot = self.slot(step)
        plgpu.barrier_wait(self.barriers[which].at[slot])
        return self.smems[which].at[slot]

    def refill(self, step, end):
        """Block ``step``'s buffers are read (its wgmmas done): copy ``step + stages`` in."""
        _when(step + self.stages < end, lambda: self.fetch(step + self.stages))


def _scratch(stages: int, block: int, dp: int, dtype, count: int):
    """A :class:`_Stream`'s scratch: ``count`` operands' ``[stages, block, dp]`` buffers
    (tiled and swizzled for wgmma) and their barriers."""
    tf = smem_transforms(dp, dtype)
    return ([plgpu.SMEM((stages, block, dp), dtype, transforms=tf) for _ in range(count)],
            [plgpu.Barrier(num_barriers=stages) for _ in range(count)])


def _load_tiles(pairs, barrier):
    """TMA-copy each (global slice, shared buffer) pair, each on its barrier of
    ``barrier``, and wait for all of them."""
    for i, (src, dst) in enumerate(pairs):
        plgpu.copy_gmem_to_smem(src, dst, barrier.at[i])
    for i in range(len(pairs)):
        plgpu.barrier_wait(barrier.at[i])


def _store_tiles(pairs):
    """Registers -> shared (done by the caller) -> global: TMA-store each pair and wait."""
    plgpu.commit_smem()
    for src, dst in pairs:
        plgpu.copy_smem_to_gmem(src, dst)
    plgpu.wait_smem_to_gmem(0)


def _operands(extras: Extras):
    """The present extras, in the order the kernels take them."""
    return tuple(x for x in extras if x is not None)


def attention_fwd_mgpu(qt, kt, vt, extras: Extras, *, block_q: int, block_k: int,
                       sm_scale: float, causal: bool, kv_len: int, out_types, interpret: bool,
                       stages: int = 2):
    """``(o, lse)`` for padded ``qt [B, N, Tp, Dp]``, ``kt, vt [B, K, Sp, Dp]``.

    Args:
      qt, kt, vt: heads-major, padded to the blocks (lengths) and to 64 (head dim).
      extras: the bias, mask and segment ids (:class:`Extras`).
      block_q, block_k: the tiles (multiples of 64).
      sm_scale: the logits' scale.
      causal: query i sees keys j <= i.
      kv_len: the unpadded key length (keys at and past it are -inf).
      out_types: ``jax.ShapeDtypeStruct`` of o ``[B, N, Tp, Dp]`` and lse ``[B, N, Tp]``.
      interpret: run under jax >= 0.11's GPU interpreter.
      stages: key/value blocks in flight.

    Returns:
      ``[o, lse]`` (lse in natural log, float32).
    """
    b, n, tp, dp = qt.shape
    kh, sp = kt.shape[1], kt.shape[2]
    group, nk, dtype = n // kh, sp // block_k, qt.dtype
    stages = max(1, min(stages, nk))

    def kernel(q_gmem, k_gmem, v_gmem, *refs):
        ex, rest = _take(refs, extras)
        o_gmem, lse_gmem, q_smem, lse_smem, q_bar, kv_smem, kv_bar, *staging = rest
        staging = staging[0] if staging else None
        bi, ni, qi = (lax.axis_index(a) for a in ("b", "n", "q"))
        ki = lax.div(ni, jnp.int32(group))
        q0 = qi * block_q
        upper = _causal_end(q0, block_q, block_k, nk) if causal else nk   # skip above it
        kv = _Stream([k_gmem.at[bi, ki], v_gmem.at[bi, ki]], kv_smem, kv_bar, block_k,
                     stages, 0)
        kv.prime(upper)
        _load_tiles([(q_gmem.at[bi, ni, pl.ds(q0, block_q)], q_smem)], q_bar)
        tiles = _Tiles(scale2=sm_scale * LOG2E, rows_are_queries=True, causal=causal,
                       kv_len=kv_len, kv_padded=sp, bias=_pair_tile(ex.bias, bi, ni),
                       mask=_pair_tile(ex.mask, bi, ni),
                       row_ids=None if ex.q_seg is None else load_vector(
                           ex.q_seg, (bi, pl.ds(q0, block_q)), 1),
                       col_ids=None if ex.kv_seg is None else ex.kv_seg.at[bi])

        def body(j, carry):
            acc, m_prev, l_prev = carry
            s = tiles.logits(q_smem, kv.wait(j, 0), q0, j * block_k, (block_q, block_k))
            m_new = jnp.maximum(m_prev, s.max(axis=1))
            alpha = jnp.exp2(m_prev - m_new)
            p = jnp.exp2(s - lax.broadcast_in_dim(m_new, s.shape, (0,)))
            l_new = l_prev * alpha + p.sum(axis=1)
            acc = acc * lax.broadcast_in_dim(alpha, acc.shape, (0,))
            acc = _wgmma_add(acc, p.astype(dtype), kv.wait(j, 1), staging)
            kv.refill(j, upper)
            return acc, m_new, l_new

        m0 = plgpu.layout_cast(jnp.full((block_q,), -jnp.inf, jnp.float32),
                               plgpu.Layout.WGMMA.reduce(1))
        acc, m, l_sum = lax.fori_loop(0, upper, body, (_zeros((block_q, dp)), m0,
                                                      _zeros((block_q,), 1)))
        q_smem[...] = (acc / lax.broadcast_in_dim(l_sum, acc.shape, (0,))).astype(dtype)
        lse_smem[...] = m * LN2 + jnp.log(l_sum)
        _store_tiles([(q_smem, o_gmem.at[bi, ni, pl.ds(q0, block_q)]),
                      (lse_smem, lse_gmem.at[bi, ni, pl.ds(q0, block_q)])])

    kv_smem, kv_bar = _scratch(stages, block_k, dp, dtype, 2)
    run = plgpu.kernel(
        kernel, out_type=list(out_types),
        scratch_types=[plgpu.SMEM((block_q, dp), dtype, transforms=smem_transforms(dp, dtype)),
                       plgpu.SMEM((block_q,), jnp.float32), plgpu.Barrier(num_barriers=1),
                       kv_smem, kv_bar, *_staging(interpret, block_q, block_k, dtype)],
        grid=(b, n, tp // block_q), grid_names=("b", "n", "q"),
        interpret=interpret_params(interpret))
    return run(qt, kt, vt, *_operands(extras))


def attention_bwd_mgpu(qt, kt, vt, extras: Extras, dot, lse, delta, *, block_q: int,
                       block_k: int, sm_scale: float, causal: bool, kv_len: int, dq_type,
                       dkv_type, dbias_type, interpret: bool, stages: int = 2):
    """``(dq, dk, dv[, dbias])`` of FlashAttention-2's backward, per query head.

    Args:
      qt, kt, vt, extras: as :func:`attention_fwd_mgpu`.
      dot: the output cotangent ``[B, N, Tp, Dp]``, ``qt``'s dtype.
      lse, delta: ``[B, N, Tp]`` float32 (the forward's log-sum-exp; ``rowsum(dO * O)``).
      dq_type: ``jax.ShapeDtypeStruct`` of dq ``[B, N, Tp, Dp]``.
      dkv_type: of dk and dv per query head ``[B, N, Sp, Dp]`` (the caller sums
        each GQA group).
      dbias_type: of the logits' cotangent ``[B, N, Tp, Sp]`` float32 (with a bias;
        the caller sums it over the bias's broadcast axes), or None.

    Returns:
      ``[dq, dk, dv]``, and ``dbias`` with ``dbias_type``.
    """
    b, n, tp, dp = qt.shape
    kh, sp = kt.shape[1], kt.shape[2]
    group, nq, nk, dtype = n // kh, tp // block_q, sp // block_k, qt.dtype
    tile_tf = smem_transforms(dp, dtype)
    st_q, st_k = max(1, min(stages, nq)), max(1, min(stages, nk))   # TMA stages per stream
    common = dict(scale2=sm_scale * LOG2E, causal=causal, kv_len=kv_len, kv_padded=sp)
    # the dk/dv kernel's tiles are [keys, queries]: it reads bias and mask transposed
    extras_t = extras._replace(**{f: None if getattr(extras, f) is None else
                                  jnp.swapaxes(getattr(extras, f), 2, 3)
                                  for f in ("bias", "mask")})

    def dkv_kernel(q_gmem, k_gmem, v_gmem, *refs):
        ex, rest = _take(refs, extras_t)
        do_gmem, lse_gmem, delta_gmem, dk_gmem, dv_gmem, k_smem, v_smem, kv_bar, \
            qdo_smem, qdo_bar, *staging = rest
        staging = staging[0] if staging else None
        bi, ni, kj = (lax.axis_index(a) for a in ("b", "n", "k"))
        ki = lax.div(ni, jnp.int32(group))
        k0 = kj * block_k
        lower = lax.div(k0, jnp.int32(block_q)) if causal else jnp.int32(0)
        qdo = _Stream([q_gmem.at[bi, ni], do_gmem.at[bi, ni]], qdo_smem, qdo_bar, block_q,
                      st_q, lower)
        qdo.prime(nq)
        _load_tiles([(k_gmem.at[bi, ki, pl.ds(k0, block_k)], k_smem),
                     (v_gmem.at[bi, ki, pl.ds(k0, block_k)], v_smem)], kv_bar)
        tiles = _Tiles(rows_are_queries=False, bias=_pair_tile(ex.bias, bi, ni),
                       mask=_pair_tile(ex.mask, bi, ni),
                       row_ids=None if ex.kv_seg is None else load_vector(
                           ex.kv_seg, (bi, pl.ds(k0, block_k)), 1),
                       col_ids=None if ex.q_seg is None else ex.q_seg.at[bi], **common)

        def body(i, carry):
            dk, dv = carry
            rows = pl.ds(i * block_q, block_q)
            q_smem = qdo.wait(i, 0)
            s_t = tiles.logits(k_smem, q_smem, k0, i * block_q, (block_k, block_q))
            lse2 = load_vector(lse_gmem, (bi, ni, rows), 0) * LOG2E
            p_t = jnp.exp2(s_t - lax.broadcast_in_dim(lse2, s_t.shape, (1,)))
            do_smem = qdo.wait(i, 1)
            dv = _wgmma_add(dv, p_t.astype(dtype), do_smem, staging)
            dp_t = _wgmma_value(v_smem, do_smem.transpose((1, 0)), (block_k, block_q))
            d_row = load_vector(delta_gmem, (bi, ni, rows), 0)
            ds_t = p_t * (dp_t - lax.broadcast_in_dim(d_row, s_t.shape, (1,)))
            dk = _wgmma_add(dk, ds_t.astype(dtype), q_smem, staging)
            qdo.refill(i, nq)
            return dk, dv

        zeros = _zeros((block_k, dp))
        dk, dv = lax.fori_loop(lower, nq, body, (zeros, zeros))
        k_smem[...] = (dk * sm_scale).astype(dtype)    # the tiles are read: reuse them
        v_smem[...] = dv.astype(dtype)
        _store_tiles([(k_smem, dk_gmem.at[bi, ni, pl.ds(k0, block_k)]),
                      (v_smem, dv_gmem.at[bi, ni, pl.ds(k0, block_k)])])

    def dq_kernel(q_gmem, k_gmem, v_gmem, *refs):
        ex, rest = _take(refs, extras)
        do_gmem, lse_gmem, delta_gmem, dq_gmem, *rest = rest
        dbias_gmem = rest.pop(0) if dbias_type is not None else None
        q_smem, do_smem, qdo_bar, kv_smem, kv_bar, *staging = rest
        staging = staging[0] if staging else None
        bi, ni, qi = (lax.axis_index(a) for a in ("b", "n", "q"))
        ki = lax.div(ni, jnp.int32(group))
        q0 = qi * block_q
        rows = pl.ds(q0, block_q)
        upper = _causal_end(q0, block_q, block_k, nk) if causal else nk
        kv = _Stream([k_gmem.at[bi, ki], v_gmem.at[bi, ki]], kv_smem, kv_bar, block_k,
                     st_k, 0)
        kv.prime(upper)
        _load_tiles([(q_gmem.at[bi, ni, rows], q_smem), (do_gmem.at[bi, ni, rows], do_smem)],
                    qdo_bar)
        lse2 = load_vector(lse_gmem, (bi, ni, rows), 1) * LOG2E
        d_col = load_vector(delta_gmem, (bi, ni, rows), 1)
        tiles = _Tiles(rows_are_queries=True, bias=_pair_tile(ex.bias, bi, ni),
                       mask=_pair_tile(ex.mask, bi, ni),
                       row_ids=None if ex.q_seg is None else load_vector(ex.q_seg, (bi, rows), 1),
                       col_ids=None if ex.kv_seg is None else ex.kv_seg.at[bi], **common)
        dbias = None if dbias_gmem is None else dbias_gmem.at[bi, ni]

        def body(j, dq):
            k_smem = kv.wait(j, 0)
            s = tiles.logits(q_smem, k_smem, q0, j * block_k, (block_q, block_k))
            p = jnp.exp2(s - lax.broadcast_in_dim(lse2, s.shape, (0,)))
            dp_ = _wgmma_value(do_smem, kv.wait(j, 1).transpose((1, 0)), (block_q, block_k))
            ds = p * (dp_ - lax.broadcast_in_dim(d_col, s.shape, (0,)))
            if dbias is not None:     # the logits' cotangent is the bias's
                dbias[rows, pl.ds(j * block_k, block_k)] = ds
            dq = _wgmma_add(dq, ds.astype(dtype), k_smem, staging)
            kv.refill(j, upper)
            return dq

        dq = lax.fori_loop(0, upper, body, _zeros((block_q, dp)))
        q_smem[...] = (dq * sm_scale).astype(dtype)
        if dbias is not None and causal:     # the skipped blocks' cotangent is zero
            @pl.loop(upper, nk)
            def _(j):
                dbias[rows, pl.ds(j * block_k, block_k)] = _zeros((block_q, block_k))
        _store_tiles([(q_smem, dq_gmem.at[bi, ni, rows])])

    dkv_scratch = _scratch(st_q, block_q, dp, dtype, 2)
    dk, dv = plgpu.kernel(
        dkv_kernel, out_type=[dkv_type, dkv_type],
        scratch_types=[plgpu.SMEM((block_k, dp), dtype, transforms=tile_tf),
                       plgpu.SMEM((block_k, dp), dtype, transforms=tile_tf),
                       plgpu.Barrier(num_barriers=2), *dkv_scratch,
                       *_staging(interpret, block_k, block_q, dtype)],
        grid=(b, n, nk), grid_names=("b", "n", "k"),
        interpret=interpret_params(interpret))(qt, kt, vt, *_operands(extras_t), dot, lse,
                                               delta)
    dq_scratch = _scratch(st_k, block_k, dp, dtype, 2)
    dq = plgpu.kernel(
        dq_kernel, out_type=[dq_type] + ([] if dbias_type is None else [dbias_type]),
        scratch_types=[plgpu.SMEM((block_q, dp), dtype, transforms=tile_tf),
                       plgpu.SMEM((block_q, dp), dtype, transforms=tile_tf),
                       plgpu.Barrier(num_barriers=2), *dq_scratch,
                       *_staging(interpret, block_q, block_k, dtype)],
        grid=(b, n, nq), grid_names=("b", "n", "q"),
        interpret=interpret_params(interpret))(qt, kt, vt, *_operands(extras), dot, lse, delta)
    return [dq[0], dk, dv, *dq[1:]]
