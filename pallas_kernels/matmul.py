"""A tiled matmul with a fused epilogue, as a primitive of our IR.

``matmul[block_m, block_n, block_k, out_dtype, activation, ...] a b [bias]``
computes ``activation(a @ b + bias)`` for ``a [..., M, K]``, ``b [..., K, N]``
(equal leading dims: a batched matmul, one grid axis) and ``bias [N]`` or
``[..., N]``: each program owns one ``[block_m, block_n]`` output tile,
loops over ``K`` in ``block_k`` steps accumulating in float32, then adds the
bias, applies the activation and casts, all before the single store.

Rules, in the block below: abstract eval; lowering by ``pallas_call``
(interpret mode on CPU, Triton on GPU, Mosaic on TPU) or, with
``gpu_backend='mosaic_gpu'``, by the Mosaic GPU kernel of
``pallas_kernels.matmul_mgpu`` (jax >= 0.11's GPU backend, Triton being
deprecated there; on the CPU it runs under jax 0.11's GPU interpreter); jvp (bilinear in
``a, b``, linear in ``bias``; with an activation the tangent goes through the
activation's own jvp at the pre-activation, computed by the same kernel);
transpose (the cotangents of ``a`` and ``b`` are matmuls by this kernel, of
``ct`` with the other operand transposed); a batch rule (a vmapped ``a``
against an unbatched 2-D ``b`` folds into ``M``, anything else becomes the
batch axis of the grid).

Example::

    >>> y = matmul(x, w, bias=b, activation="gelu")   # gelu(x @ w + b), one kernel

In the IR::

    c:f32[20,12] = matmul[block_m=16, block_n=16, block_k=16, out_dtype=float32,
        activation='relu', has_bias=False, interpret=True, num_warps=4, num_stages=3,
        gpu_backend=None] a b

References:
    The Triton matmul tutorial (blocked GEMM, f32 accumulator, fused
    epilogue); jax.experimental.pallas.ops.tpu.matmul.
"""
from __future__ import annotations

import functools

import numpy as np
import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl

import primitives.numpy as fnp
import primitives.nn as fnn
from fx.ad import UndefinedPrimal, Zero, tangent_aval
from fx.core import Primitive, get_aval
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from transforms import jvp as fjvp
from pallas_kernels import matmul_mgpu as _mgpu
from pallas_kernels.mosaic_gpu import gpu_backend as choose_backend
from pallas_kernels.blocks import (KernelConfigError, compiler_params, matmul_blocks,
                                   mosaic_gpu_too_small, out_struct, resolve_interpret, round_up)
from pallas_kernels.flash_attention import SUPPORTED_DTYPES, _dot

__all__ = ["matmul", "matmul_p", "ACTIVATIONS"]

# name -> (the kernel's epilogue on float32 jax values, our primitive-level function)
ACTIVATIONS = {
    "relu": (jax.nn.relu, fnn.relu),
    "gelu": (jax.nn.gelu, fnn.gelu),
    "silu": (jax.nn.silu, fnn.silu),
    "sigmoid": (jax.nn.sigmoid, fnn.sigmoid),
    "tanh": (jnp.tanh, fnp.tanh),
}


def _kernel(a_ref, b_ref, *refs, block_k, num_k_blocks, activation, has_bias, interpret):
    o_ref = refs[-1]
    bias_ref = refs[0] if has_bias else None

    def body(kk, acc):
        ks = pl.ds(pl.multiple_of(kk * block_k, block_k), block_k)
        return acc + _dot(a_ref[:, ks], b_ref[ks, :], 1, 0, interpret)
    acc = lax.fori_loop(0, num_k_blocks, body, jnp.zeros(o_ref.shape, jnp.float32))
    if bias_ref is not None:
        acc = acc + bias_ref[...].astype(jnp.float32)[None, :]
    if activation is not None:
        acc = ACTIVATIONS[activation][0](acc)
    o_ref[...] = acc.astype(o_ref.dtype)


# --- matmul ---
matmul_p = Primitive("matmul")


@matmul_p.def_abstract_eval
def _matmul_aval(a, b, *bias, block_m, block_n, block_k, out_dtype, activation, has_bias,
                 interpret, num_warps, num_stages, gpu_backend=None):
    if a.ndim < 2 or b.ndim != a.ndim:
        raise ShapeError(f"matmul: a {a.str_short()} and b {b.str_short()} must have rank >= 2 "
                         f"and the same rank ([..., M, K] @ [..., K, N]).")
    if a.shape[-1] != b.shape[-2] or a.shape[:-2] != b.shape[:-2]:
        raise ShapeError(f"matmul: a {a.str_short()} @ b {b.str_short()}: the contracted sizes "
                         f"({a.shape[-1]} vs {b.shape[-2]}) and leading dims must agree.")
    if a.dtype not in SUPPORTED_DTYPES or b.dtype != a.dtype:
        raise FxTypeError(f"matmul: a and b must share one dtype among float32, bfloat16, "
                          f"float16; got {a.str_short()}, {b.str_short()}. Fix: .astype(...).")
    if activation is not None and activation not in ACTIVATIONS:
        raise KernelConfigError(f"matmul: unknown activation {activation!r}; expected None or "
                                f"one of {sorted(ACTIVATIONS)}.")
    n = b.shape[-1]
    if bias:
        (c,) = bias
        if c.shape not in ((n,), a.shape[:-2] + (n,)) or c.dtype.kind != "f":
            raise ShapeError(f"matmul: bias {c.str_short()} must be float [{n}] or "
                             f"[{', '.join(map(str, a.shape[:-2] + (n,)))}].")
    return ShapedArray(a.shape[:-1] + (n,), np.dtype(out_dtype))


@matmul_p.def_lowering
def _matmul_lowering(a, b, *bias, block_m, block_n, block_k, out_dtype, activation, has_bias,
                     interpret, num_warps, num_stages, gpu_backend=None):
    lead, (m, k), n = a.shape[:-2], a.shape[-2:], b.shape[-1]
    batch = int(np.prod(lead, dtype=np.int64))
    mp, np_, kp = round_up(m, block_m), round_up(n, block_n), round_up(k, block_k)
    a3 = jnp.pad(a.reshape(batch, m, k), ((0, 0), (0, mp - m), (0, kp - k)))
    b3 = jnp.pad(b.reshape(batch, k, n), ((0, 0), (0, kp - k), (0, np_ - n)))
    out_type = out_struct((batch, mp, np_), out_dtype, a, b, *bias)
    if gpu_backend == "mosaic_gpu" and _mgpu.supports(a.dtype, block_m, block_n, block_k):
        c2 = None
        if has_bias:
            c2 = jnp.pad(jnp.broadcast_to(bias[0], lead + (n,)).reshape(batch, n),
                         ((0, 0), (0, np_ - n)))
        out = _mgpu.matmul_mgpu(a3, b3, c2, block_m=block_m, block_n=block_n, block_k=block_k,
                                out_type=out_type, interpret=interpret,
                                activation_fn=activation and ACTIVATIONS[activation][0])
        return out[:, :m, :n].reshape(lead + (m, n))
    ins = [a3, b3]
    in_specs = [pl.BlockSpec((None, block_m, kp), lambda bi, i, j: (bi, i, 0)),
                pl.BlockSpec((None, kp, block_n), lambda bi, i, j: (bi, 0, j))]
    if has_bias:
        c = jnp.broadcast_to(bias[0], lead + (n,)).reshape(batch, n)
        ins.append(jnp.pad(c, ((0, 0), (0, np_ - n))))
        in_specs.append(pl.BlockSpec((None, block_n), lambda bi, i, j: (bi, j)))
    kernel = functools.partial(_kernel, block_k=block_k, num_k_blocks=kp // block_k,
                               activation=activation, has_bias=has_bias, interpret=interpret)
    out = pl.pallas_call(
        kernel, grid=(batch, mp // block_m, np_ // block_n), in_specs=in_specs,
        out_specs=pl.BlockSpec((None, block_m, block_n), lambda bi, i, j: (bi, i, j)),
        out_shape=out_type, interpret=interpret,
        compiler_params=compiler_params(interpret, num_warps=num_warps, num_stages=num_stages),
        name="matmul")(*ins)
    return out[:, :m, :n].reshape(lead + (m, n))


def _linear(params):
    return dict(params, activation=None, has_bias=False)


@matmul_p.def_jvp
def _matmul_jvp(primals, tangents, **params):
    a, b, *bias = primals
    a_dot, b_dot, *bias_dot = tangents
    lin = _linear(params)
    z = matmul_p.bind(*primals, **dict(params, activation=None))
    terms = []
    if not isinstance(a_dot, Zero):
        terms.append(matmul_p.bind(a_dot, b, **lin))
    if not isinstance(b_dot, Zero):
        terms.append(matmul_p.bind(a, b_dot, **lin))
    if bias_dot and not isinstance(bias_dot[0], Zero):
        terms.append(fnp.broadcast_to(bias_dot[0].astype(params["out_dtype"]), z.shape))
    if not terms:
        out = z if params["activation"] is None else matmul_p.bind(*primals, **params)
        return out, Zero(tangent_aval(get_aval(out)))
    z_dot = functools.reduce(lambda x, y: x + y, terms)
    if params["activation"] is None:
        return z, z_dot
    return fjvp(ACTIVATIONS[params["activation"]][1], (z,), (z_dot,))


def _swap(x):
    return fnp.swapaxes(x, -1, -2)


@matmul_p.def_transpose
def _matmul_transpose(ct, a, b, *bias, **params):
    if params["activation"] is not None:
        raise NotImplementedError("matmul with an activation is not linear: only its "
                                  "linearization (activation=None) is transposed.")
    lin = _linear(params)
    bm, bn, bk = params["block_m"], params["block_n"], params["block_k"]
    ct_a = ct_b = ct_bias = None
    if isinstance(a, UndefinedPrimal):    # ct_a = ct @ b^T: (M, N) @ (N, K)
        ct_a = matmul_p.bind(ct.astype(b.dtype), _swap(b), **dict(
            lin, out_dtype=a.aval.dtype, block_n=bk, block_k=bn))
    if isinstance(b, UndefinedPrimal):    # ct_b = a^T @ ct: (K, M) @ (M, N)
        ct_b = matmul_p.bind(_swap(a), ct.astype(a.dtype), **dict(
            lin, out_dtype=b.aval.dtype, block_m=bk, block_k=bm))
    if bias and isinstance(bias[0], UndefinedPrimal):
        aval = bias[0].aval
        axes = tuple(range(ct.ndim - 1)) if aval.ndim == 1 else (ct.ndim - 2,)
        ct_bias = fnp.sum(ct, axis=axes).astype(aval.dtype)
    return [ct_a, ct_b] + ([ct_bias] if bias else [])


@matmul_p.def_batch
def _matmul_batch(args, bdims, **params):
    a, b, *bias = args
    a_d, b_d, *bias_d = bdims
    if a_d is not None and b_d is None and b.ndim == 2 and (not bias or bias_d[0] is None):
        a = fnp.moveaxis(a, a_d, 0)                       # [V, M, K] -> [V*M, K]
        size, m = a.shape[:2]
        out = matmul_p.bind(a.reshape(size * m, a.shape[2]), b, *bias, **params)
        return out.reshape(size, m, out.shape[-1]), 0
    size = next(x.shape[d] for x, d in zip(args, bdims) if d is not None)

    def front(x, d):
        return fnp.broadcast_to(x[None], (size,) + x.shape) if d is None else fnp.moveaxis(x, d, 0)
    a, b = front(a, a_d), front(b, b_d)
    if bias and bias_d[0] is not None:
        c = fnp.moveaxis(bias[0], bias_d[0], 0)
        lead = a.shape[1:-2]
        bias = [fnp.broadcast_to(c.reshape((size,) + (1,) * (len(lead) + 2 - c.ndim) + c.shape[1:]),
                                 (size,) + lead + (c.shape[-1],))]
    return matmul_p.bind(a, b, *bias, **params), 0


# --- the public function --------------------------------------------------------------------
def matmul(a, b, *, block_m=None, block_n=None, block_k=None, out_dtype=None, bias=None,
           activation=None, interpret=None, backend=None):
    """``activation(a @ b + bias)`` by a tiled Pallas kernel (float32 accumulation).

    Args:
      a: ``[..., M, K]`` float32 / bfloat16 / float16.
      b: ``[K, N]`` (``a``'s leading dims fold into ``M``) or ``[..., K, N]``
        with ``a``'s leading dims (a batched matmul); ``a``'s dtype.
      block_m, block_n, block_k: tile sizes (powers of two); default from the
        block table or the autotune cache.
      out_dtype: the result dtype (default ``a``'s).
      bias: ``[N]`` (or ``[..., N]``), added to the float32 accumulator.
      activation: None or one of ``"relu"``, ``"gelu"`` (tanh form, as
        jax.nn.gelu), ``"silu"``, ``"sigmoid"``, ``"tanh"``, fused in the epilogue.
      interpret: Pallas interpret mode (default: on CPU).
      backend: the GPU kernel: ``"triton"`` (Pallas' Triton lowering),
        ``"mosaic_gpu"`` (Hopper wgmma, :mod:`pallas_kernels.matmul_mgpu`; with
        ``interpret`` it runs under jax >= 0.11's GPU interpreter) or None: on a
        GPU, Mosaic GPU for bfloat16 / float16 where jax >= 0.11 deprecates
        Triton, else Triton. Matmuls derived from a Mosaic GPU one (its
        transposes) keep it where their tiles fit wgmma and use Triton where not.

    Returns:
      ``[..., M, N]`` in ``out_dtype``.

    Raises:
      ShapeError / FxTypeError: ranks, contracted sizes, dtypes that do not fit.
      KernelConfigError: an unknown activation or backend, a block that is not a
        power of two, float32 operands or blocks below wgmma's (64, 16, 16) with
        ``backend="mosaic_gpu"``.
      KernelUnavailableError: ``backend="mosaic_gpu"`` in interpret mode on jax 0.10.

    Example::

        >>> y = matmul(x, w, bias=b, activation="relu")

    References:
        Triton tutorial 03 "Matrix multiplication".
    """
    a, b = fnp.asarray(a), fnp.asarray(b)
    aa, ba = get_aval(a), get_aval(b)
    lead = None
    if aa.ndim > 2 and ba.ndim == 2:       # x @ W with x [..., M, K]: fold into M
        lead = aa.shape[:-1]
        a = a.reshape(-1, aa.shape[-1])
        aa = get_aval(a)
    if bias is not None:
        bias = fnp.asarray(bias)
    if aa.ndim < 2 or ba.ndim < 2:
        raise ShapeError(f"matmul: a {aa.str_short()} and b {ba.str_short()} must have rank "
                         f">= 2 ([..., M, K] @ [..., K, N]).")
    interpret = resolve_interpret(interpret)
    gpu_backend = choose_backend("matmul", backend, interpret, aa.dtype, mosaic_gpu_too_small(
        "matmul", dict(block_m=block_m, block_n=block_n, block_k=block_k)))
    m, k, n = aa.shape[-2], aa.shape[-1], ba.shape[-1]
    key = (aa.shape, ba.shape, str(aa.dtype))
    blocks = matmul_blocks(key, m, n, k, interpret, block_m, block_n, block_k,
                           mosaic_gpu=gpu_backend == "mosaic_gpu")
    operands = [a, b] + ([] if bias is None else [bias])
    params = dict(block_m=blocks.block_m, block_n=blocks.block_n, block_k=blocks.block_k,
                  out_dtype=np.dtype(aa.dtype if out_dtype is None else out_dtype),
                  activation=activation, has_bias=bias is not None, interpret=interpret,
                  num_warps=blocks.num_warps, num_stages=blocks.num_stages,
                  gpu_backend=gpu_backend)
    _matmul_aval(*[get_aval(x) for x in operands], **params)  # typed errors, eagerly too
    out = matmul_p.bind(*operands, **params)
    return out if lead is None else out.reshape(lead[:-1] + (lead[-1], n))
