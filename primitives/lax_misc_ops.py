"""Odd jax.lax ops: ``mulhi``, the XLA random bit generators, approximate top-k.

- ``mulhi`` (elementwise high half of an integer product): a primitive, zero
  derivative, broadcasting batch rule;
- ``rng_bit_generator`` / ``rng_uniform``: primitives lowering to jax.lax's
  (not differentiable; no vmap rule, as a batched key has no XLA meaning);
- ``approx_max_k`` / ``approx_min_k``: the exact ``top_k`` JAX falls back to
  off TPU, with the output size JAX's abstract eval gives.

References:
    jax/_src/lax/lax.py (mulhi, rng_bit_generator, rng_uniform), jax/_src/lax/ann.py.
"""
from __future__ import annotations

import numpy as np
import jax
from jax import lax

from fx.ad import defjvp_zero
from fx.batching import defbroadcasting
from fx.core import Primitive, get_aval
from fx.dtypes import INT
from fx.errors import FxTypeError
from fx.ir import ShapedArray
from primitives.collectives import all_to_all, ppermute
from primitives.elementwise import naryop, neg
from primitives.reductions import top_k

__all__ = ["mulhi", "mulhi_p", "rng_bit_generator", "rng_bit_generator_p", "rng_uniform",
           "rng_uniform_p", "approx_max_k", "approx_min_k", "pshuffle", "pswapaxes"]


# --- mulhi ---
mulhi_p = naryop("mulhi", INT, lax.mulhi)
defjvp_zero(mulhi_p)
defbroadcasting(mulhi_p)


def mulhi(x, y, /):
    """Elementwise high N bits of the 2N-bit product of N-bit integers (lax.mulhi).

    Args:
      x, y: integer arrays of one dtype.

    Returns:
      The high halves.

    References:
      jax.lax.mulhi.
    """
    return mulhi_p.bind(x, y)


# --- rng_bit_generator ---
rng_bit_generator_p = Primitive("rng_bit_generator", multiple_results=True)


@rng_bit_generator_p.def_abstract_eval
def _rng_bit_generator_aval(key, *, shape, dtype, algorithm):
    if key.dtype != np.dtype(np.uint32) or key.ndim != 1:
        raise FxTypeError(f"rng_bit_generator: the key must be a 1-d uint32 array, got "
                          f"{key.str_short()}.")
    return [ShapedArray(key.shape, key.dtype), ShapedArray(shape, dtype)]


rng_bit_generator_p.def_lowering(
    lambda key, *, shape, dtype, algorithm: list(
        lax.rng_bit_generator(key, shape, dtype, algorithm)))


def rng_bit_generator(key, shape, dtype=np.uint32, algorithm=lax.RandomAlgorithm.RNG_DEFAULT, *,
                      out_sharding=None):
    """XLA's stateless random bit generator (lax.rng_bit_generator).

    Args:
      key: a 1-d uint32 key. shape: the output shape. dtype: an unsigned int dtype.
      algorithm: a lax.RandomAlgorithm. out_sharding: ignored.

    Returns:
      ``(new_key, bits)``.

    References:
      jax.lax.rng_bit_generator.
    """
    new_key, bits = rng_bit_generator_p.bind(key, shape=tuple(int(d) for d in shape),
                                             dtype=np.dtype(dtype), algorithm=algorithm)
    return new_key, bits


# --- rng_uniform ---
rng_uniform_p = Primitive("rng_uniform")


@rng_uniform_p.def_abstract_eval
def _rng_uniform_aval(a, b, *, shape):
    if a.shape != () or b.shape != () or a.dtype != b.dtype:
        raise FxTypeError(f"rng_uniform: a and b must be scalars of one dtype, got "
                          f"{a.str_short()} and {b.str_short()}.")
    return ShapedArray(shape, a.dtype)


rng_uniform_p.def_lowering(lambda a, b, *, shape: lax.rng_uniform(a, b, shape))


def rng_uniform(a, b, shape):
    """Stateful uniform samples in [a, b) from XLA's RNG (lax.rng_uniform; not reproducible
    across backends, as jax's).

    Args:
      a, b: scalar bounds of one dtype. shape: the output shape.

    Returns:
      The samples.

    References:
      jax.lax.rng_uniform.
    """
    return rng_uniform_p.bind(a, b, shape=tuple(int(d) for d in shape))


# --- approx_max_k / approx_min_k ---
def _approx_size(operand, k, reduction_dimension, recall_target, reduction_input_size_override,
                 aggregate_to_topk) -> int:
    aval = get_aval(operand)
    out = jax.eval_shape(lambda x: lax.approx_max_k(
        x, k, reduction_dimension, recall_target, reduction_input_size_override,
        aggregate_to_topk), jax.ShapeDtypeStruct(aval.shape, aval.dtype))
    return out[0].shape[reduction_dimension]


def _approx_k(operand, k, reduction_dimension, recall_target, reduction_input_size_override,
              aggregate_to_topk, is_max):
    size = _approx_size(operand, k, reduction_dimension, recall_target,
                        reduction_input_size_override, aggregate_to_topk)
    if is_max:
        return list(top_k(operand, size, axis=reduction_dimension))
    values, idx = top_k(neg(operand), size, axis=reduction_dimension)
    return [neg(values), idx]


def approx_max_k(operand, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
                 reduction_input_size_override: int = -1, aggregate_to_topk: bool = True):
    """The ``k`` largest values and their indices along ``reduction_dimension``
    (lax.approx_max_k): exact here, as JAX's fallback off TPU.

    Args:
      operand: the array. k: how many. reduction_dimension: the axis.
      recall_target, reduction_input_size_override, aggregate_to_topk: as jax's
        (they set the output size as JAX's abstract eval does).

    Returns:
      ``[values, indices]`` (a list, as jax's), sorted descending.

    References:
      jax.lax.approx_max_k.
    """
    return _approx_k(operand, k, reduction_dimension, recall_target,
                     reduction_input_size_override, aggregate_to_topk, True)


def approx_min_k(operand, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
                 reduction_input_size_override: int = -1, aggregate_to_topk: bool = True):
    """The ``k`` smallest values and their indices along ``reduction_dimension``
    (lax.approx_min_k; exact, as JAX's fallback off TPU).

    Args:
      operand: the array. k: how many. reduction_dimension: the axis.
      recall_target, reduction_input_size_override, aggregate_to_topk: as jax's.

    Returns:
      ``[values, indices]`` (a list, as jax's), sorted ascending.

    References:
      jax.lax.approx_min_k.
    """
    return _approx_k(operand, k, reduction_dimension, recall_target,
                     reduction_input_size_override, aggregate_to_topk, False)


# --- collectives written on ppermute / all_to_all ---
def pshuffle(x, axis_name, perm):
    """Device ``i`` of ``axis_name`` receives ``x`` from device ``perm[i]`` (lax.pshuffle).

    Args:
      x: the array. axis_name: the mapped axis. perm: a permutation of its indices.

    Returns:
      The shuffled array (a ppermute).

    References:
      jax.lax.pshuffle.
    """
    perm = [int(p) for p in perm]
    if sorted(perm) != list(range(len(perm))):
        raise ValueError(f"`perm` does not represent a permutation: {perm}")
    return ppermute(x, axis_name, list(zip(perm, range(len(perm)))))


def pswapaxes(x, axis_name, axis, *, axis_index_groups=None):
    """Swap the mapped axis ``axis_name`` with the positional ``axis`` (lax.pswapaxes).

    Args:
      x: the array. axis_name: the mapped axis. axis: the positional axis (its size
        must equal the mapped axis size). axis_index_groups: as all_to_all's.

    Returns:
      The array (an all_to_all with split and concat axes ``axis``).

    References:
      jax.lax.pswapaxes.
    """
    return all_to_all(x, axis_name, axis, axis, axis_index_groups=axis_index_groups)
