"""The key primitives of the threefry PRNG (as jax's prng module): raw keys
``u32[..., 2]`` in, keys or random bits out; ``primitives.random`` builds the
samplers on them, and ``primitives.jax_rules`` maps jax's ``random_*``
primitives onto them.

Every primitive accepts leading batch dimensions on its operands, so the batch
rule moves the batch axis to the front and binds once; outputs are integers,
so their tangents are symbolic zeros.

References:
    Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC 2011);
    JAX's prng.py.
"""
from __future__ import annotations

from functools import partial
from typing import Sequence

import numpy as np
import jax

from primitives import threefry
from fx.ad import Zero, tangent_aval
from fx.batching import batch_size, bdim_at_front
from fx.core import Primitive, canonical_dtype, get_aval
from fx.errors import FxTypeError
from fx.ir import ShapedArray
from primitives._rules import INT, check_kind

__all__ = ["random_seed", "random_bits", "random_split", "random_fold_in", "check_keys_aval", "shape_tuple", "UINT_DTYPES",
           "random_seed_p", "random_bits_p", "random_split_p", "random_fold_in_p"]

UINT_DTYPES = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: np.dtype(np.uint32),
                64: np.dtype(np.uint64)}


# --- rules shared by the key primitives ---------------------------------------
def _vmap_leading(fn, nbatch: int):
    """``fn`` mapped (with jax.vmap, inside a lowering) over ``nbatch`` leading axes
    of every argument."""
    for _ in range(nbatch):
        fn = jax.vmap(fn)
    return fn


def check_keys_aval(op: str, keys: ShapedArray) -> tuple:
    """The batch shape of a ``u32[..., 2]`` key array, or a typed error."""
    if keys.dtype != np.uint32 or keys.ndim < 1 or keys.shape[-1] != 2:
        raise FxTypeError(f"{op}: expected raw threefry keys u32[..., 2] (from frandom.PRNGKey / "
                          f"split / fold_in), got {keys.str_short()}.")
    return keys.shape[:-1]


def _integer_output_jvp(prim: Primitive, primals, tangents, **params):
    """Outputs are integers (keys, bits): their tangent is a symbolic zero."""
    out = prim.bind(*primals, **params)
    return out, Zero(tangent_aval(get_aval(out)))


def _leading_batch(prim: Primitive, args, bdims, **params):
    """Batch rule of a key primitive: it accepts leading batch dims on every
    operand, so move each batch axis to the front (broadcasting unbatched
    operands) and bind once."""
    size = batch_size(args, bdims)
    return prim.bind(*[bdim_at_front(x, d, size) for x, d in zip(args, bdims)], **params), 0


def _key_primitive(name: str) -> Primitive:
    p = Primitive(name)
    p.def_jvp(partial(_integer_output_jvp, p))
    p.def_batch(partial(_leading_batch, p))
    return p


# --- random_seed ---
random_seed_p = _key_primitive("random_seed")


@random_seed_p.def_abstract_eval
def _random_seed_aval(seeds):
    check_kind("random_seed", (seeds,), INT)
    return ShapedArray(seeds.shape + (2,), np.uint32)


@random_seed_p.def_lowering
def _random_seed_lowering(seeds):
    return _vmap_leading(jax.random.PRNGKey, np.ndim(seeds))(seeds)


def random_seed(seeds):
    """Raw keys ``u32[..., 2]`` from integer seeds of shape ``(...)`` (as jax.random.PRNGKey)."""
    return random_seed_p.bind(seeds)


# --- random_bits ---
random_bits_p = _key_primitive("random_bits")


@random_bits_p.def_abstract_eval
def _random_bits_aval(keys, *, bit_width, shape):
    batch = check_keys_aval("random_bits", keys)
    dtype = UINT_DTYPES.get(bit_width)
    if dtype is None or canonical_dtype(dtype) != dtype:
        raise FxTypeError(f"random_bits: bit_width must be 8, 16, 32 (or 64 with jax x64 "
                          f"enabled), got {bit_width}.")
    return ShapedArray(batch + shape, dtype)


@random_bits_p.def_lowering
def _random_bits_lowering(keys, *, bit_width, shape):
    one = partial(threefry.random_bits, bit_width=bit_width, shape=shape)
    return _vmap_leading(one, np.ndim(keys) - 1)(keys)


def random_bits(keys, bit_width: int, shape: Sequence[int]):
    """Uniform random bits ``uint{bit_width}[..., *shape]`` for keys ``u32[..., 2]``."""
    return random_bits_p.bind(keys, bit_width=int(bit_width), shape=shape_tuple(shape))


# --- random_split ---
random_split_p = _key_primitive("random_split")


@random_split_p.def_abstract_eval
def _random_split_aval(keys, *, shape):
    batch = check_keys_aval("random_split", keys)
    return ShapedArray(batch + shape + (2,), np.uint32)


@random_split_p.def_lowering
def _random_split_lowering(keys, *, shape):
    return _vmap_leading(partial(threefry.split, shape=shape), np.ndim(keys) - 1)(keys)


def random_split(keys, shape: Sequence[int]):
    """New keys ``u32[..., *shape, 2]`` split from keys ``u32[..., 2]`` (as jax.random.split)."""
    return random_split_p.bind(keys, shape=shape_tuple(shape))


# --- random_fold_in ---
random_fold_in_p = _key_primitive("random_fold_in")


@random_fold_in_p.def_abstract_eval
def _random_fold_in_aval(keys, data):
    batch = check_keys_aval("random_fold_in", keys)
    if data.dtype != np.uint32 or data.shape != batch:
        raise FxTypeError(f"random_fold_in: data must be u32 with the keys' batch shape "
                          f"{batch}, got keys {keys.str_short()} and data {data.str_short()}.")
    return keys.strip_weak()


@random_fold_in_p.def_lowering
def _random_fold_in_lowering(keys, data):
    return _vmap_leading(threefry.fold_in, np.ndim(keys) - 1)(keys, data)


def random_fold_in(keys, data):
    """Keys ``u32[..., 2]`` with uint32 ``data`` (shape ``(...)``) folded in (as jax.random.fold_in)."""
    return random_fold_in_p.bind(keys, data)



def shape_tuple(shape) -> tuple:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)
