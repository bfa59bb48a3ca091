"""Every batching rule against a Python loop over the batch.

ONE table: a row per primitive of every family (each family's ``__all__``),
with an operand generator. For each row and dtype (float32, and an integer
dtype where the op takes one) the test maps every combination of batched and
unbatched operands (each operand: None, axis 0 or its last axis), and checks
``vmap`` equals the stack of unbatched results (``assert_vmap_matches_loop``).
All combinations of a row run in one vmapped function (one compile).
"""
from __future__ import annotations

import importlib
import itertools
import zlib
from typing import Callable, NamedTuple

import numpy as np
import pytest
from jax import lax

import primitives as P
import primitives.random as frandom
from primitives import collectives
from oracle import assert_vmap_matches_loop
from transforms import checkpoint, vmap

B = 3
FAMILIES = ["elementwise", "elementwise_math", "shape", "indexing", "reductions", "linalg",
            "conv", "random", "collectives", "control_flow"]
# primitives without operands: never see a batched value
NO_OPERANDS = {"iota", "axis_index"}
# rows elsewhere: random_gamma's rejection loop costs a minute per in_axes table row;
# test_random_distributions.py::test_vmap_over_keys_equals_loop maps its key and its a
TESTED_ELSEWHERE = {"random_gamma"}


class Row(NamedTuple):
    prim: str                    # the primitive's name (covers it in the coverage test)
    fn: Callable                 # fn(*operands)
    make: Callable               # make(rng, dtype) -> tuple of unbatched operands
    dtypes: tuple = ("f32", "i32")
    label: str = ""


# --- operand generators ----------------------------------------------------------
def arr(rng, shape, dtype, domain="any"):
    if dtype == "i32":
        lo = 1 if domain in ("pos", "ge1") else -5
        return rng.integers(lo, 6, size=shape).astype(np.int32)
    if dtype == "bool":
        return rng.random(size=shape) < 0.5
    if dtype == "u32":
        return rng.integers(0, 2 ** 31, size=shape).astype(np.uint32)
    x = rng.normal(size=shape)
    if domain == "pos":
        x = np.abs(x) + 0.5
    elif domain == "unit":
        x = rng.uniform(-0.9, 0.9, size=shape)
    elif domain == "ge1":
        x = np.abs(x) + 1.1
    return x.astype(np.float32)


def ops(*shapes, domain="any"):
    """Operands of the given shapes, all of the row's dtype."""
    return lambda rng, dt: tuple(arr(rng, s, dt, domain) for s in shapes)


def unary(name, domain="any", dtypes=("f32", "i32"), fn=None):
    return Row(name, fn or getattr(P, name), ops((3, 4), domain=domain), dtypes)


def binary(name, domain="any", dtypes=("f32", "i32"), fn=None):
    return Row(name, fn or getattr(P, name), ops((3, 4), (3, 4), domain=domain), dtypes)


def ints(*shapes_and_ranges):
    """int32 operands: (shape, low, high) each."""
    return lambda rng, dt: tuple(rng.integers(lo, hi, size=s).astype(np.int32)
                                 for s, lo, hi in shapes_and_ranges)


def join(*makers):
    return lambda rng, dt: sum((m(rng, dt) for m in makers), ())


def const(*values):
    return lambda rng, dt: tuple(values)


def unique_rows(n, k):
    return lambda rng, dt: (rng.permutation(n)[:k, None].astype(np.int32),)


FLOAT = ("f32",)
INTS = ("i32",)
GATHER_DN = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
                                       start_index_map=(0,))
SCATTER_DN = lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                         scatter_dims_to_operand_dims=(0,))
DOT_DN = (((1,), (0,)), ((), ()))
BDOT_DN = (((2,), (1,)), ((0,), (0,)))
scatter_ops = join(ops((5, 3)), unique_rows(5, 2), ops((2, 3)))


def scatter_row(name):
    fn = getattr(P, name)
    return Row(name, lambda x, i, u: fn(x, i, u, SCATTER_DN), scatter_ops)


def keys(rng, dt):
    return (np.asarray(frandom.PRNGKey(int(rng.integers(0, 1000)))),)


def named(collective, **kw):
    """A collective over an inner named vmap: the outer (tested) vmap is another axis."""
    def fn(x):
        return vmap(lambda v: collective(v, "inner", **kw), axis_name="inner")(x)
    return fn


ROWS = [
    # elementwise
    *[binary(n) for n in ("add", "sub", "mul", "max", "min", "eq", "ne", "lt", "le", "gt", "ge")],
    Row("add", P.add, ops((3, 4), ()), label="add_scalar"),
    binary("div", domain="pos"), binary("rem", domain="pos"),
    *[unary(n) for n in ("neg", "abs", "sign", "square", "stop_gradient")],
    unary("reciprocal", "pos", FLOAT),
    Row("integer_pow", lambda x: P.integer_pow(x, 3), ops((3, 4))),
    Row("select_n", P.select_n, join(lambda rng, dt: (arr(rng, (3, 4), "bool"),),
                                     ops((3, 4), (3, 4)))),
    Row("clamp", P.clamp, ops((3, 4), (3, 4), (3, 4))),
    *[binary(n, dtypes=INTS + ("bool",), fn=getattr(P, "bitwise_" + n)) for n in ("and", "or", "xor")],
    unary("not", dtypes=INTS + ("bool",), fn=P.bitwise_not),
    *[Row(n, getattr(P, n), join(ops((3, 4)), ints(((3, 4), 0, 31))), INTS)
      for n in ("shift_left", "shift_right_logical", "shift_right_arithmetic")],
    unary("population_count", dtypes=INTS), unary("clz", dtypes=INTS),
    Row("convert_element_type", lambda x: P.convert_element_type(x, np.float32), ops((3, 4)),
        ("i32", "bool")),
    Row("convert_element_type", lambda x: P.convert_element_type(x, np.int32), ops((3, 4)),
        FLOAT, "convert_to_int"),
    Row("bitcast_convert_type", lambda x: P.bitcast_convert_type(x, np.int32), ops((3, 4)),
        FLOAT),
    Row("reduce_precision", lambda x: P.reduce_precision(x, 5, 10), ops((3, 4)), FLOAT),
    # elementwise_math
    *[unary(n, dtypes=FLOAT) for n in ("exp", "exp2", "expm1", "sin", "cos", "tan", "tanh",
                                        "atan", "sinh", "cosh", "asinh", "logistic", "erf",
                                        "erfc", "cbrt", "floor", "ceil", "round", "is_finite")],
    *[unary(n, "pos", FLOAT) for n in ("log", "log2", "log1p", "sqrt", "rsqrt")],
    unary("one_minus_square"),
    *[unary(n, "unit", FLOAT) for n in ("asin", "acos", "atanh", "erf_inv")],
    unary("acosh", "ge1", FLOAT),
    binary("pow", "pos", FLOAT), binary("atan2", dtypes=FLOAT), binary("nextafter", dtypes=FLOAT),
    # shape
    Row("broadcast_in_dim", lambda x: P.broadcast_in_dim(x, (2, 3, 4), (1, 2)), ops((3, 4))),
    Row("reshape", lambda x: P.reshape(x, (2, 6)), ops((3, 4))),
    Row("reshape", lambda x: P.reshape(x, (12,), dimensions=(1, 0)), ops((3, 4)),
        label="reshape_dimensions"),
    Row("transpose", lambda x: P.transpose(x, (2, 0, 1)), ops((2, 3, 4))),
    Row("squeeze", lambda x: P.squeeze(x, (1,)), ops((3, 1, 4))),
    Row("expand_dims", lambda x: P.expand_dims(x, (1,)), ops((3, 4))),
    Row("rev", lambda x: P.rev(x, (0,)), ops((3, 4))),
    Row("pad", lambda x, v: P.pad(x, v, ((1, 2, 0), (0, 1, 1))), ops((3, 4), ())),
    Row("pad", lambda x, v: P.pad(x, v, ((-1, 1, 1), (0, 0, 0))), ops((3, 4), ()),
        label="pad_negative_interior"),
    Row("concatenate", lambda a, b: P.concatenate([a, b], 1), ops((3, 2), (3, 4))),
    Row("slice", lambda x: P.slice(x, (1, 0), (4, 5), (1, 2)), ops((5, 6))),
    Row("dynamic_slice", lambda x, i, j: P.dynamic_slice(x, (i, j), (2, 3)),
        join(ops((5, 6)), ints(((), -1, 6), ((), 0, 5)))),
    Row("dynamic_update_slice", lambda x, u, i, j: P.dynamic_update_slice(x, u, (i, j)),
        join(ops((5, 6), (2, 3)), ints(((), 0, 5), ((), -1, 6)))),
    # indexing
    Row("gather", lambda x, i: P.gather(x, i, GATHER_DN, (1, 3)),
        join(ops((5, 3)), ints(((2, 1), 0, 5)))),
    Row("gather", lambda x, i: P.gather(x, i, GATHER_DN, (1, 3), mode="fill"),
        join(ops((5, 3)), ints(((2, 1), -2, 7))), label="gather_fill"),
    *[scatter_row(n) for n in ("scatter_add", "scatter_sub", "scatter_mul", "scatter_min",
                               "scatter_max", "scatter")],
    # reductions
    *[Row(n, lambda x, f=getattr(P, n): f(x, (1,)), ops((3, 4)))
      for n in ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod")],
    Row("reduce_sum", lambda x: P.reduce_sum(x, (0, 2)), ops((2, 3, 4)), label="reduce_sum_02"),
    *[Row(n, lambda x, f=getattr(P, n): f(x, (0,)), ops((3, 4)), INTS + ("bool",))
      for n in ("reduce_and", "reduce_or", "reduce_xor")],
    *[Row(n, lambda x, f=getattr(P, n): f(x, 1, np.int32), ops((3, 4))) for n in ("argmax", "argmin")],
    *[Row(n, lambda x, f=getattr(P, n): f(x, axis=1), ops((3, 4)))
      for n in ("cumsum", "cumprod", "cummax", "cummin")],
    Row("cumsum", lambda x: P.cumsum(x, axis=0, reverse=True), ops((3, 4)), label="cumsum_rev"),
    Row("cumlogsumexp", lambda x: P.cumlogsumexp(x, axis=1), ops((3, 4)), FLOAT),
    Row("sort", lambda x: P.sort(x, dimension=1), ops((3, 4))),
    Row("sort", lambda k, v: P.sort((k, v), dimension=0, num_keys=1), ops((3, 4), (3, 4)),
        label="sort_multi"),
    Row("top_k", lambda x: tuple(P.top_k(x, 2)), ops((3, 5))),
    # linalg
    Row("dot_general", lambda a, b: P.dot_general(a, b, DOT_DN), ops((3, 4), (4, 5))),
    Row("dot_general", lambda a, b: P.dot_general(a, b, BDOT_DN), ops((2, 3, 4), (2, 4, 5)),
        label="dot_general_batch_dims"),
    Row("dot_general", lambda a, b: P.dot_general(a, b, (((0,), (0,)), ((), ()))),
        ops((4,), (4,)), label="dot_general_vectors"),
    # conv
    Row("conv_general_dilated", lambda x, w: P.conv_general_dilated(x, w, (1, 1), "SAME"),
        ops((1, 2, 5, 5), (3, 2, 3, 3)), FLOAT),
    Row("conv_general_dilated", lambda x, w: P.conv_general_dilated(
        x, w, (2, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=2), ops((2, 6, 5, 4), (3, 2, 2, 6)), FLOAT, "conv_grouped_nhwc"),
    # random (keys are u32[2])
    Row("random_seed", lambda s: frandom.random_seed(s), ints(((), 0, 100)), INTS),
    Row("random_bits", lambda k: frandom.random_bits(k, 32, (3,)), keys, ("u32",)),
    Row("random_split", lambda k: frandom.random_split(k, (2,)), keys, ("u32",)),
    Row("random_fold_in", lambda k, d: frandom.random_fold_in(k, d),
        join(keys, lambda rng, dt: (np.uint32(rng.integers(0, 100)),)), ("u32",)),
    # control flow (batched predicates become selects / masked loops)
    Row("cond", lambda p, x, y: P.cond(p, lambda a, b: a * b + 1, lambda a, b: a - b, x, y),
        join(lambda rng, dt: (arr(rng, (), "bool"),), ops((3, 4), (3, 4)))),
    Row("cond", lambda i, x: P.switch(i, [lambda a: a + 1, lambda a: a * a, lambda a: -a], x),
        join(ints(((), -1, 4)), ops((3, 4))), label="switch"),
    Row("while", lambda n, x: P.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 2 - 1),
                                           (np.int32(0), x))[1],
        join(ints(((), 0, 4)), ops((3, 4)))),
    Row("while", lambda n, x: P.fori_loop(0, n, lambda i, c: c + i, x),
        join(ints(((), 0, 4)), ops((3, 4))), label="fori_loop_dynamic"),
    Row("scan", lambda c, xs: P.scan(lambda c, x: (c + x, c * x), c, xs), ops((4,), (3, 4))),
    Row("scan", lambda c, xs: P.scan(lambda c, x: (c * 2 - x, None), c, xs, reverse=True),
        ops((4,), (3, 4)), label="scan_reverse"),
    Row("remat", lambda x, y: checkpoint(lambda a, b: P.max(a, b) * b)(x, y), ops((3, 4), (3, 4))),
    Row("optimization_barrier", lambda x, y: P.optimization_barrier(x, y)[0] * 2,
        ops((3, 4), (3, 4))),
    # collectives: the tested vmap is not the collective's axis (elementwise path);
    # the named-axis path is compared with jax.vmap in test_collectives.py
    *[Row(n, named(getattr(P, n)), ops((3, 4)))
      for n in ("psum", "pmax", "pmin")],
    Row("all_gather", named(P.all_gather, axis=1), ops((3, 4))),
    # the check_vma forms shard_map binds (psum of a varying value, invariant -> varying)
    Row("psum_invariant", named(lambda v, ax: collectives.psum_invariant_p.bind(v, axes=(ax,))),
        ops((3, 4))),
    Row("pvary", named(lambda v, ax: collectives.pvary_p.bind(v, axes=(ax,)) * 2), ops((3, 4))),
    Row("psum_scatter", named(P.psum_scatter, scatter_dimension=0), ops((3, 3, 2))),
    Row("ppermute", named(P.ppermute, perm=((0, 1), (1, 2))), ops((3, 4))),
    Row("all_to_all", named(P.all_to_all, split_axis=0, concat_axis=1),
        ops((3, 3, 2))),
]


def _combos(n_ops: int, ranks) -> list[tuple]:
    """Every assignment of None / 0 / last axis to the operands (3**n - 1 of them,
    deduplicated: for a scalar operand axis 0 is its last axis)."""
    choices = [(None, 0) if r == 0 else (None, 0, -1) for r in ranks]
    return [c for c in itertools.product(*choices) if any(a is not None for a in c)]


def _batched(samples, axis):
    """Stack B examples of one operand along ``axis`` (None: the first example)."""
    if axis is None:
        return samples[0]
    return np.stack(samples, axis=axis)


def _params():
    for row in ROWS:
        for dt in row.dtypes:
            yield pytest.param(row, dt, id=f"{row.label or row.prim}-{dt}")


@pytest.mark.parametrize("row,dtype", list(_params()))
def test_batch_rule_matches_loop(row, dtype):
    rng = np.random.default_rng(zlib.crc32(f"{row.prim}{row.label}{dtype}".encode()))
    examples = [row.make(rng, dtype) for _ in range(B)]
    n = len(examples[0])
    combos = _combos(n, [np.ndim(x) for x in examples[0]])
    args, in_axes = [], []
    for combo in combos:
        for k, ax in enumerate(combo):
            args.append(_batched([ex[k] for ex in examples], ax))
            in_axes.append(ax)

    def all_combos(*flat):  # every combination at once: one compile for the row
        return tuple(row.fn(*flat[i * n:(i + 1) * n]) for i in range(len(combos)))

    assert_vmap_matches_loop(all_combos, tuple(in_axes), *args, jit=True,
                             rtol=2e-5, atol=2e-5, what=f"{row.prim} in_axes combos {combos}")


def test_table_covers_every_primitive():
    """Each family's __all__ primitives (with operands) have a row."""
    covered = {r.prim for r in ROWS}
    missing = []
    for fam in FAMILIES:
        mod = importlib.import_module(f"primitives.{fam}")
        for name in mod.__all__:
            if name.endswith("_p"):
                prim = getattr(mod, name)
                if prim.name not in covered | NO_OPERANDS | TESTED_ELSEWHERE:
                    missing.append(f"{fam}.{name}")
    assert not missing, f"batch rules without a row in the table: {missing}"


def test_eager_matches_loop_on_a_sample():
    """The table runs under jit; the same rules also run eagerly (concrete values)."""
    for row in (ROWS[0], ROWS[-1]):
        rng = np.random.default_rng(0)
        examples = [row.make(rng, "f32") for _ in range(B)]
        args = [np.stack([ex[k] for ex in examples], axis=-1) for k in range(len(examples[0]))]
        assert_vmap_matches_loop(row.fn, -1, *args)
