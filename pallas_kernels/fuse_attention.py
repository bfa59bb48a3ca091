"""The attention -> flash attention pass: find softmax(q kᵀ·scale + mask) v, call the kernel.

``fuse_attention(graph)`` rewrites (with ``fx.passes.rewrite``) every
attention it recognizes in a traced graph into :func:`flash_attention`, so
a model written plainly runs the fused kernel without being edited. Each
spelling below is a pattern written once; rewrite matches it at every batch,
length, head count, head dim and float dtype:

- ``einsum("bqhd,bkhd->bhqk", q, k)``, ``softmax``, ``einsum("bhqk,bkhd->bqhd", p, v)``
  (layout ``[batch, seq, heads, head_dim]``);
- ``q.transpose(0, 2, 1, 3) @ k.transpose(0, 2, 3, 1)``, ``softmax``, ``p @ v'``,
  transposed back (the same layout, written with ``@``);
- ``q @ swapaxes(k, -1, -2)``, ``softmax``, ``p @ v`` on ``[batch, heads, seq,
  head_dim]`` arrays (PyTorch's layout; the kernel's input is transposed);
- ``primitives.nn.dot_product_attention(..., implementation='xla')`` with or
  without ``bias``, ``mask`` and ``is_causal`` (default scale).

For the first three the scale may be applied to the logits or to ``q``, and
the logits may get a ``bias`` (``s * scale + bias``) or a boolean mask
(``where(mask, s * scale, big_negative)``: a causal ``tril`` / iota mask is
such a mask); the scale must be a Python number (a literal of the graph).
``softmax`` is ``primitives.nn.softmax`` (the stable form: what jax.nn's
spelling traces to).

Use it on a graph or as a jit pass::

    >>> g = fuse_attention(fx.make_graph(model)(params, x))
    >>> step = jit(train_step, passes=[fuse_attention])

References:
    Dao, "FlashAttention-2" (2023); torch.compile's SDPA pattern matcher
    (torch/_inductor/fx_passes/fuse_attention.py), whose list of spellings
    this follows.
"""
from __future__ import annotations

import warnings

import numpy as np

import primitives.nn as fnn
import primitives.numpy as fnp
from fx.ir import ClosedGraph, Literal
from fx.passes import rewrite
from pallas_kernels.flash_attention import flash_attention

__all__ = ["fuse_attention", "attention_patterns"]


# --- the spellings: (name, pattern, example ranks, replacement maker) -------------------
def _sm(s):
    return fnn.softmax(s, axis=-1)


def _logits(kind, s, c, extra):
    if kind == "plain":
        return s * c
    if kind == "bias":
        return s * c + extra[0]
    return fnp.where(extra[0], s * c, extra[1])          # mask, fill value


def _einsum(kind, scale_first):
    def pattern(q, k, v, c, *extra):
        if scale_first:
            s = fnp.einsum("bqhd,bkhd->bhqk", q * c, k)
            logits = s if kind == "plain" else (s + extra[0] if kind == "bias"
                                                else fnp.where(extra[0], s, extra[1]))
        else:
            logits = _logits(kind, fnp.einsum("bqhd,bkhd->bhqk", q, k), c, extra)
        return fnp.einsum("bhqk,bkhd->bqhd", _sm(logits), v)
    return pattern


def _matmul(kind, scale_first):
    def pattern(q, k, v, c, *extra):
        qt, kt, vt = (fnp.transpose(q, (0, 2, 1, 3)), fnp.transpose(k, (0, 2, 3, 1)),
                      fnp.transpose(v, (0, 2, 1, 3)))
        if scale_first:
            s = (qt * c) @ kt
            logits = s if kind == "plain" else (s + extra[0] if kind == "bias"
                                                else fnp.where(extra[0], s, extra[1]))
        else:
            logits = _logits(kind, qt @ kt, c, extra)
        return fnp.transpose(_sm(logits) @ vt, (0, 2, 1, 3))
    return pattern


def _heads_first(kind, scale_first):
    def pattern(q, k, v, c, *extra):
        if scale_first:
            s = (q * c) @ fnp.swapaxes(k, -1, -2)
            logits = s if kind == "plain" else (s + extra[0] if kind == "bias"
                                                else fnp.where(extra[0], s, extra[1]))
        else:
            logits = _logits(kind, q @ fnp.swapaxes(k, -1, -2), c, extra)
        return _sm(logits) @ v
    return pattern


def _flash(kind, heads_first, interpret):
    """The replacement: flash_attention on the matched operands."""
    def replacement(q, k, v, c, *extra):
        if heads_first:
            q, k, v = (fnp.transpose(x, (0, 2, 1, 3)) for x in (q, k, v))
        kw = {"bias": extra[0]} if kind == "bias" else (
            {"mask": extra[0]} if kind == "mask" else {})
        o = flash_attention(q, k, v, sm_scale=float(np.asarray(c)), interpret=interpret, **kw)
        return fnp.transpose(o, (0, 2, 1, 3)) if heads_first else o
    return replacement


def _dpa(bias, mask, causal):
    def pattern(q, k, v, *extra):
        it = iter(extra)
        return fnn.dot_product_attention(q, k, v, next(it) if bias else None,
                                         next(it) if mask else None, is_causal=causal,
                                         implementation="xla")
    return pattern


def _dpa_flash(bias, mask, causal, interpret):
    def replacement(q, k, v, *extra):
        it = iter(extra)
        kw = {}
        if bias:
            kw["bias"] = next(it)
        if mask:
            kw["mask"] = next(it)
        return flash_attention(q, k, v, causal=causal, interpret=interpret, **kw)
    return replacement


def attention_patterns(interpret=None) -> list:
    """The ``(name, pattern, example_args, replacement, scale_index)`` list
    :func:`fuse_attention` tries, in order (``scale_index``: the pattern
    input that must be a literal, or None)."""
    f32 = np.float32
    qkv = [np.zeros((2, 2, 2, 2), f32)] * 3     # (the ranks matter, not the sizes)
    out = []
    for kind in ("plain", "bias", "mask"):
        for mask_rank in ((4, 2) if kind != "plain" else (0,)):
            shape = (1, 1, 2, 2) if mask_rank == 4 else (2, 2)
            extra = ([] if kind == "plain" else
                     [np.zeros(shape, f32)] if kind == "bias" else
                     [np.zeros(shape, bool), -1e9])
            for spelling, make, heads_first in (("einsum", _einsum, False),
                                                ("matmul", _matmul, False),
                                                ("heads_first", _heads_first, True)):
                for scale_first in (False, True):
                    # a Python float scale, and a numpy float64 one (1 / np.sqrt(d)),
                    # which traces through a cast
                    for scale in (0.5, np.float64(0.5)):
                        name = (f"{spelling}/{kind}{mask_rank or ''}/scale_"
                                f"{'q' if scale_first else 's'}"
                                f"{'/f64' if isinstance(scale, np.float64) else ''}")
                        out.append((name, make(kind, scale_first), qkv + [scale] + extra,
                                    _flash(kind, heads_first, interpret), 3))
    for bias in (False, True):
        for mask in (False, True):
            for causal in (False, True):
                example = qkv + ([np.zeros((1, 1, 2, 2), f32)] if bias else []) + (
                    [np.zeros((1, 1, 2, 2), bool)] if mask else [])
                out.append((f"dot_product_attention/bias={bias},mask={mask},causal={causal}",
                            _dpa(bias, mask, causal), example,
                            _dpa_flash(bias, mask, causal, interpret), None))
    return out


def fuse_attention(graph: ClosedGraph, *, interpret=None, return_matches: bool = False):
    """Replace the attention computations of ``graph`` by :func:`flash_attention`.

    Args:
      graph: a traced graph (``fx.make_graph(f)(*args)``).
      interpret: passed to ``flash_attention`` (default: interpret mode on CPU).
      return_matches: also return ``{spelling name: number of matches}``.

    Returns:
      The new ClosedGraph (same signature), or ``(graph, counts)``.
    """
    counts = {}
    for name, pattern, example, replacement, scale_index in attention_patterns(interpret):
        if scale_index is None:
            keep = None
        else:
            def keep(m, i=scale_index):
                return type(m.inputs[i]) is Literal
        with warnings.catch_warnings():   # (tracing the np.float64 spellings: jax's x64 note)
            warnings.filterwarnings("ignore", "Explicitly requested dtype float64")
            graph, matches = rewrite(graph, pattern, replacement, filter=keep,
                                     example_args=example)
        if matches:
            counts[name] = len(matches)
    return (graph, counts) if return_matches else graph
