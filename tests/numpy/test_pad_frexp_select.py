"""jnp.pad's statistic / linear_ramp / callable / odd-reflect modes, jnp.frexp
(subnormals and special values) and jnp.select (non-boolean conditions) vs JAX."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import primitives.numpy as fnp
from tests.oracle import (assert_cases_jvp_matches, assert_cases_same_as_jax, assert_same_as_jax,
                          assert_trees_close, check_grads_numerically)
from transforms import eval_shape, grad, jit, vmap

RNG = np.random.default_rng(0)
X1 = np.array([1.5, -2.0, 4.25, 0.5, 3.0], np.float32)
X2 = RNG.normal(size=(3, 4)).astype(np.float32)
I1 = np.array([1, 2, 4, 7, 8], np.int32)


def _custom_pad(row, pad_width, iaxis, kwargs):
    before, after = pad_width
    row = row.at[:before].set(kwargs.get("bv", 0))
    return row.at[row.shape[0] - after:].set(kwargs.get("av", 0) + iaxis)


PAD_CASES = [  # (name, array, pad_width, kwargs)
    ("mean", np.arange(5.0, dtype=np.float32), 2, dict(mode="mean")),
    ("ramp", np.arange(5.0, dtype=np.float32), 2, dict(mode="linear_ramp", end_values=(1, 2))),
    ("max_2d", X2, ((1, 2), (0, 3)), dict(mode="maximum")),
    ("min_2d_sl", X2, ((2, 1), (1, 1)), dict(mode="minimum", stat_length=2)),
    ("median_2d", X2, 2, dict(mode="median")),
    ("median_even_sl", X2, ((1, 1), (2, 2)), dict(mode="median", stat_length=((2, 3), (4, 1)))),
    ("mean_sl_side", X1, (2, 3), dict(mode="mean", stat_length=(1, 3))),
    ("mean_sl_clip", X1, 2, dict(mode="mean", stat_length=((10, 1),))),
    ("mean_sl_neg", X1, 2, dict(mode="mean", stat_length=-1)),
    ("mean_int_half_even", np.array([1, 2], np.int32), 1, dict(mode="mean")),
    ("mean_int_half_even2", np.array([2, 3], np.int32), 1, dict(mode="mean")),
    ("median_int_sl", I1, 2, dict(mode="median", stat_length=2)),
    ("mean_uint8", np.array([5, 10, 250], np.uint8), 1, dict(mode="mean")),
    ("max_int8", np.array([5, -10], np.int8), (0, 2), dict(mode="maximum")),
    ("mean_f16", np.array([1, 2, 3.3], np.float16), 1, dict(mode="mean")),
    ("median_bf16", jnp.array([1, 2, 3.3, 4], jnp.bfloat16), 1, dict(mode="median")),
    ("mean_bool", np.array([True, False, True]), 1, dict(mode="mean")),
    ("mean_c64", np.array([1 + 2j, 3], np.complex64), 1, dict(mode="mean")),
    ("median_nan", np.array([1.0, np.nan, 3.0], np.float32), 1, dict(mode="median")),
    ("ramp_2d", X2, ((1, 2), (2, 1)), dict(mode="linear_ramp", end_values=((1, 2), (3, 4)))),
    ("ramp_int", I1, 3, dict(mode="linear_ramp", end_values=(0, 1))),
    ("ramp_int_neg", -I1, 3, dict(mode="linear_ramp", end_values=(0.5, 1.7))),
    ("ramp_uint8", np.array([5, 9], np.uint8), 3, dict(mode="linear_ramp")),
    ("ramp_c64", np.array([1 + 2j, 3], np.complex64), 2, dict(mode="linear_ramp",
                                                              end_values=1j)),
    ("ramp_one_side", X1, ((0, 2),), dict(mode="linear_ramp", end_values=7)),
    ("reflect_odd", X1, (3, 7), dict(mode="reflect", reflect_type="odd")),
    ("symmetric_odd_2d", X2, ((5, 1), (2, 6)), dict(mode="symmetric", reflect_type="odd")),
    ("symmetric_odd_int", np.array([1, 5], np.int32), 3, dict(mode="symmetric",
                                                               reflect_type="odd")),
    ("callable_2d", X2, 1, dict(mode=_custom_pad, bv=-1.0, av=9.0)),
    ("callable_int", np.arange(3, dtype=np.int32), (1, 2), dict(mode=_custom_pad, bv=-1, av=9)),
    ("scalar", np.float32(3.0), 2, dict(mode="mean")),
]


def _pad_case(name, x, width, kw):
    return (name, lambda a: fnp.pad(a, width, **kw), lambda a: jnp.pad(a, width, **kw), (x,))


def test_pad_modes():
    """Values and dtypes of every new mode, eagerly (some) and in one jit per side;
    weak types through a Python scalar; errors of JAX's classes."""
    assert_cases_same_as_jax([_pad_case(*c) for c in PAD_CASES],
                             eager={"mean", "ramp", "median_2d", "mean_int_half_even",
                                    "ramp_int", "reflect_odd", "callable_2d", "scalar"})
    for kw in [dict(mode="mean"), dict(mode="median"), dict(mode="maximum"),
               dict(mode="linear_ramp", end_values=2), dict(mode=_custom_pad)]:
        for s in (1.0, 2):  # weak float / weak int arrays stay weak
            def ours(v, kw=kw):
                return fnp.pad(fnp.broadcast_to(v, (3,)), 1, **kw)

            def theirs(v, kw=kw):
                return jnp.pad(jnp.broadcast_to(v, (3,)), 1, **kw)
            o, t = eval_shape(ours, s), jax.eval_shape(theirs, s)
            assert (o.dtype, o.weak_type) == (t.dtype, t.weak_type), (kw, s, o, t)
    x = np.arange(5.0, dtype=np.float32)
    errors = [  # (array, pad_width, kwargs)
        (x, 2, dict(mode="mean", stat_length=0)),
        (x, 2, dict(mode="mean", stat_length=(1, 2, 3))),
        (x, 2, dict(mode="mean", stat_length=1.5)),
        (x, 2, dict(mode="linear_ramp", end_values=(1, 2, 3))),
        (x, 2, dict(mode="linear_ramp", end_values=np.array([1.0, 2.0]))),
        (np.zeros((0, 2), np.float32), 1, dict(mode="maximum")),
        (np.zeros((0, 2), np.float32), 1, dict(mode="linear_ramp")),
        (x, 2, dict(mode="mean", end_values=1)),
        (x, 2, dict(mode="foo")),
        (x, 1.5, dict(mode="mean")),
        (x, -1, dict(mode="median")),
        ([1.0, 2.0], 1, dict(mode="mean")),
    ]
    for a, w, kw in errors:
        try:
            jnp.pad(a, w, **kw)
        except Exception as e:
            want = type(e)
        else:
            raise AssertionError(f"jnp.pad{(w, kw)} raised nothing")
        try:
            fnp.pad(a, w, **kw)
        except want:
            pass
        else:
            raise AssertionError(f"fnp.pad{(w, kw)} did not raise {want.__name__}")


GRAD_MODES = [  # (name, pad_width, kwargs); X2 has no ties
    ("mean", ((1, 2), (2, 1)), dict(mode="mean", stat_length=((1, 3), (2, 2)))),
    ("maximum", 2, dict(mode="maximum")),
    ("minimum", ((0, 1), (2, 0)), dict(mode="minimum", stat_length=2)),
    ("median", 2, dict(mode="median")),
    ("median_sl", 1, dict(mode="median", stat_length=((2, 3), (3, 2)))),
    ("linear_ramp", ((2, 1), (1, 3)), dict(mode="linear_ramp", end_values=((1, -1), (0, 2)))),
    ("reflect_odd", (3, 5), dict(mode="reflect", reflect_type="odd")),
    ("callable", 1, dict(mode=_custom_pad, bv=2.0)),
]


def test_pad_grads():
    """grad of a weighted sum of each mode's padding vs jax.grad (one jit per side,
    the first case eagerly too), a tie in maximum, and vmap against JAX's."""
    def losses(np_, grad_):
        def one(width, kw):
            def loss(x):
                out = np_.pad(x, width, **kw)
                w = np.arange(out.size, dtype=np.float32).reshape(out.shape) / out.size
                return (out * w).sum()
            return grad_(loss)
        return {name: one(width, kw) for name, width, kw in GRAD_MODES}
    ours, theirs = losses(fnp, grad), losses(jnp, jax.grad)
    expected = jax.jit(lambda x: {k: f(x) for k, f in theirs.items()})(X2)
    got = jit(lambda x: {k: f(x) for k, f in ours.items()})(X2)
    for name, *_ in GRAD_MODES:
        assert_trees_close(got[name], expected[name], what=f"grad {name} (jit)")
    assert_trees_close(ours["median"](X2), expected["median"], what="grad median (eager)")
    tie = np.array([1.0, 3.0, 3.0, 2.0], np.float32)
    assert_trees_close(grad(lambda x: fnp.pad(x, 2, mode="maximum").sum())(tie),
                       jax.grad(lambda x: jnp.pad(x, 2, mode="maximum").sum())(tie),
                       what="grad maximum with a tie")
    assert_trees_close(
        vmap(lambda x: fnp.pad(x, (1, 2), mode="linear_ramp", end_values=3))(X2),
        jax.vmap(lambda x: jnp.pad(x, (1, 2), mode="linear_ramp", end_values=3))(X2),
        what="vmap linear_ramp")


def _frexp_inputs(dtype):
    fi = jnp.finfo(dtype)
    vals = [fi.smallest_subnormal, -3 * fi.smallest_subnormal, float(fi.tiny) / 2,
            -float(fi.tiny) * 0.75, fi.tiny, 0.0, -0.0, np.inf, -np.inf, np.nan, -3.5, 6.0,
            0.1, fi.max, -fi.max, 1.0]
    return np.array(vals, dtype=np.float64).astype(dtype)


def test_frexp():
    """Subnormals, zeros, infinities, NaN, negatives in float16 / bfloat16 / float32
    (and float64 under x64), eagerly and in one jit; jvp; numerical grads; vmap."""
    # One program per dtype on each side: XLA:CPU's subnormal results depend on the
    # program (JAX's own frexp gives (x, 0) or (+-0.5, -149) for float32 subnormals
    # with its optimizations off or on), and ours is JAX's op for op.
    for d in (np.float16, jnp.bfloat16, np.float32):
        assert_same_as_jax(fnp.frexp, jnp.frexp, _frexp_inputs(d), jax_eager=True)
    assert_same_as_jax(fnp.frexp, jnp.frexp, np.array([0, 3, -8], np.int32), jit=False)
    sub = np.float32(1e-40)
    assert [float(fnp.frexp(sub)[0]), int(fnp.frexp(sub)[1])] == \
        [float(jnp.frexp(sub)[0]), int(jnp.frexp(sub)[1])]
    x = np.array([0.3, -3.0, 5.5, 1e-3], np.float32)
    assert_cases_jvp_matches([("frexp", lambda v: fnp.frexp(v)[0], lambda v: jnp.frexp(v)[0],
                               (x,), (np.ones_like(x),))])
    assert_trees_close(vmap(fnp.frexp)(X2), jax.vmap(jnp.frexp)(X2), what="vmap frexp")
    try:
        fnp.frexp(np.array([1j]))
    except TypeError:
        pass
    else:
        raise AssertionError("complex frexp should raise TypeError, as jnp.frexp")
    with jax.enable_x64(True):
        x64 = _frexp_inputs(np.float64)
        assert_same_as_jax(fnp.frexp, jnp.frexp, x64, jax_eager=True)
        check_grads_numerically(lambda v: fnp.frexp(v)[0], (np.array([0.3, -3.0, 5.5]),),
                                order=2)


def test_select():
    """Integer / float / complex / Python-scalar conditions (nonzero is true, NaN is
    true), broadcasting, result dtypes, and JAX's errors."""
    x = np.arange(4, dtype=np.int32)
    cases = [  # (name, condlist, choicelist, default)
        ("int_conds", [x % 2, x > 5], [x, x * 10.0], -1),
        ("float_nan", [np.array([0.0, np.nan, 2.0, 0.0], np.float32)], [x], 7),
        ("py_scalar_cond", [True, x > 1], [1, x], 0),
        ("complex_cond", [np.array([0j, 1j], np.complex64)], [np.array([1, 2], np.int32)], 0),
        ("bcast", [np.array([[True], [False]])], [np.arange(3, dtype=np.float32)],
         np.float32(9)),
        ("uint8_cond", [np.array([0, 3], np.uint8), np.array([True, True])],
         [np.array([1, 2], np.int8), np.int8(4)], 0),
        ("f16_default", [x > 1], [np.float16(2)], 0.5),
        ("bool", [x > 0, x > 2], [x < 3, x > 0], False),
    ]
    assert_cases_same_as_jax([(n, lambda c, v, d: fnp.select(c, v, d),
                               lambda c, v, d: jnp.select(c, v, d), (c, v, d))
                              for n, c, v, d in cases], eager={"int_conds", "float_nan"})
    o = eval_shape(lambda c: fnp.select([c > 0], [c], 0), 1.0)
    t = jax.eval_shape(lambda c: jnp.select([c > 0], [c], 0), 1.0)
    assert (o.dtype, o.weak_type) == (t.dtype, t.weak_type)
    g = grad(lambda v: fnp.select([v > 0.5, v < -1], [v * 2, v ** 2], 3.0).sum())(X2)
    assert_trees_close(g, jax.grad(lambda v: jnp.select([v > 0.5, v < -1], [v * 2, v ** 2],
                                                         3.0).sum())(X2), what="grad select")
    for args in [([x > 1], [x, x]), ([], []), ([[True, False]], [x[:2]]),
                 ([x > 1], [(1, 2, 3, 4)]), ([np.ones(3, bool)], [np.ones(2)])]:
        try:
            jnp.select(*args)
        except Exception as e:
            want = type(e)
        else:
            raise AssertionError(f"jnp.select{args} raised nothing")
        try:
            fnp.select(*args)
        except want:
            pass
        else:
            raise AssertionError(f"fnp.select{args} did not raise {want.__name__}")
