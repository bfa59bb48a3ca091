"""primitives.threefry (the unrolled CPU hash) against jax.random: the same bits,
split keys and folded keys for every width, shape and key, under both settings
of ``jax_threefry_partitionable``; and it is what the CPU lowering runs."""
import numpy as np
import jax
import pytest

import primitives.random as frandom
import transforms as T
from primitives import threefry

KEYS = [jax.random.PRNGKey(s) for s in (0, 1, 1701, 2**31 - 1)]
SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 4), (1001,), (2, 4097)]
WIDTHS = {8: np.uint8, 16: np.uint16, 32: np.uint32}


def _same(got, exp, what):
    got, exp = np.asarray(got), np.asarray(exp)
    assert got.dtype == exp.dtype and got.shape == exp.shape, what
    np.testing.assert_array_equal(got, exp, err_msg=what)


@pytest.mark.parametrize("partitionable", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_bits_equal_jax(shape, partitionable):
    """Every width in one jitted function (one compile per side), run on every key."""
    with jax.threefry_partitionable(partitionable):
        ours = jax.jit(lambda k: [threefry.random_bits(k, w, shape) for w in WIDTHS])
        theirs = jax.jit(lambda k: [jax.random.bits(k, shape, d) for d in WIDTHS.values()])
        for key in KEYS:
            for width, got, exp in zip(WIDTHS, ours(key), theirs(key)):
                _same(got, exp, f"{width}-bit {shape} key {np.asarray(key)}")


@pytest.mark.parametrize("partitionable", [True, False])
@pytest.mark.parametrize("shape", [(1,), (2,), (6,), (3, 4), (1000,)])
def test_split_and_fold_in_equal_jax(shape, partitionable):
    with jax.threefry_partitionable(partitionable):
        split, fold_in = jax.jit(lambda k: threefry.split(k, shape)), jax.jit(threefry.fold_in)
        for key in KEYS:
            _same(split(key), jax.random.split(key, shape), f"split {shape} key {np.asarray(key)}")
            for d in (0, 1, 12345, 2**32 - 1):
                d = np.uint32(d)
                _same(fold_in(key, d), jax.random.fold_in(key, d), f"fold_in {d}")


def test_public_samplers_use_it_and_vmap():
    """frandom's bits / split / fold_in (eager, jit, vmap over keys) equal jax.random's."""
    key = KEYS[2]
    _same(T.jit(lambda k: frandom.bits(k, (5, 3), np.uint32))(key),
          jax.random.bits(key, (5, 3), np.uint32), "bits")
    keys = jax.random.split(key, 4)
    _same(T.vmap(lambda k: frandom.split(k, 3))(np.asarray(keys)),
          jax.vmap(lambda k: jax.random.split(k, 3))(keys), "vmap split")
    _same(T.vmap(lambda k: frandom.fold_in(k, 7))(np.asarray(keys)),
          jax.vmap(lambda k: jax.random.fold_in(k, 7))(keys), "vmap fold_in")


def test_cpu_lowering_is_unrolled():
    """On CPU the hash is fused (no while loop), unlike jax's rolled CPU lowering."""
    if jax.default_backend() != "cpu":
        pytest.skip("the unrolled lowering is the CPU one")
    text = T.jit(lambda k: frandom.normal(k, (1000,))).lower(KEYS[0]).as_text()
    assert "while" not in text
    assert "while" in jax.jit(lambda k: jax.random.normal(k, (1000,))).lower(KEYS[0]).as_text()
