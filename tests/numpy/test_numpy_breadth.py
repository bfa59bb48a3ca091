"""The breadth of jax.numpy: constants, predicates, comparisons, more
elementwise functions, grids, sequences, polynomials and order statistics,
each compared with jax.numpy (values and dtypes, jit in one compile per side),
plus grad and vmap rows for the differentiable ones."""
from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import primitives.numpy as fnp
from fx.errors import ConcretizationError
from tests.oracle import (Case, assert_cases_same_as_jax, assert_cases_vmap_matches,
                          assert_trees_close)
from transforms import grad, jit

rng = np.random.default_rng(0)
F = rng.normal(size=(3, 4)).astype(np.float32)
V = rng.normal(size=(5,)).astype(np.float32)
W = rng.normal(size=(5,)).astype(np.float32)
I = np.array([12, -18, 24, 0, 7], np.int32)
J = np.array([5, 10, -15, 4, 0], np.int32)
NANS = np.array([[3., 1, np.nan, 7], [2, 5, 4, 1], [np.nan] * 4], np.float32)
SORTED = np.array([-1.0, 0.0, 0.5, 2.0, 3.0], np.float32)
Q = np.array([0.1, 0.5, 0.9], np.float32)


def same(name, *args, **kw):
    """A case calling ``fnp.name`` and ``jnp.name`` with the same arguments (the
    array arguments traced, keywords static)."""
    return Case(f"{name}{'' if not kw else '_' + '_'.join(map(str, kw))}",
                lambda *a: getattr(fnp, name)(*a, **kw),
                lambda *a: getattr(jnp, name)(*a, **kw), args)


def both(name, fn_of_np, *args):
    """A case ``fn_of_np(fnp, *args)`` vs ``fn_of_np(jnp, *args)``."""
    return Case(name, lambda *a: fn_of_np(fnp, *a), lambda *a: fn_of_np(jnp, *a), args)


ELEMENTWISE = [
    same("isclose", F, F + 1e-6), same("isclose", NANS, NANS, equal_nan=True),
    same("allclose", F, F + 1e-3), same("array_equal", NANS, NANS),
    same("array_equal", NANS, NANS, equal_nan=True), both("array_equal_shape", lambda m, a: m.array_equal(a, a[:2]), F),
    same("array_equiv", F, F[:1]),
    same("copysign", F, V[:4]), same("fmax", NANS, F), same("fmin", F, NANS),
    same("ldexp", V, I % 5), same("frexp", np.array([0.3, -5.0, 0.0, np.inf, 8.0], np.float32)),
    same("gcd", I, J), same("lcm", I, J), same("logaddexp2", F, V[:4]),
    same("float_power", np.abs(F), 1.5), same("float_power", I, 2), same("modf", F * 3),
    same("left_shift", I, 2), same("right_shift", I, J % 3),
    same("bitwise_left_shift", np.uint8(3), np.array([1, 2], np.uint8)),
    same("bitwise_right_shift", np.array([200, 7], np.uint8), np.uint8(2)),
    same("nextafter", F, np.float32(0)),
    both("astype", lambda m, a: m.astype(a, m.int32), F * 4),
    both("copy", lambda m, a: m.copy(a), F),
]

ARRAYS = [
    both("meshgrid", lambda m, a, b: m.meshgrid(a, b), V, W[:3]),
    both("meshgrid_ij_sparse", lambda m, a, b: m.meshgrid(a, b, a, indexing="ij", sparse=True), V, W[:3]),
    both("indices", lambda m: m.indices((2, 3))), both("indices_sparse", lambda m: m.indices((2, 3), sparse=True)),
    both("ix_", lambda m, a, b: m.ix_(a, b), I, J[:2]),
    both("mgrid", lambda m: m.mgrid[0:3, 1:5:2]), both("ogrid", lambda m: m.ogrid[0:1:4j, 0:3]),
    both("diag_indices", lambda m: m.diag_indices(3, 3)),
    both("diag_indices_from", lambda m, a: m.diag_indices_from(a), F[:3, :3]),
    both("tril_indices", lambda m: m.tril_indices(3, 1, 4)), both("triu_indices", lambda m: m.triu_indices(4, -1)),
    both("tril_indices_from", lambda m, a: m.tril_indices_from(a), F),
    both("triu_indices_from", lambda m, a: m.triu_indices_from(a, 1), F),
    same("rot90", F), same("rot90", F, k=3), same("rot90", F[None], k=2, axes=(1, 2)),
    both("column_stack", lambda m, a, b: m.column_stack((a, b)), V, W),
    both("hsplit", lambda m, a: m.hsplit(a, 2), F), both("vsplit", lambda m, a: m.vsplit(a, [1]), F),
    both("dsplit", lambda m, a: m.dsplit(a[None], 2), F), both("unstack", lambda m, a: m.unstack(a, axis=1), F),
    same("append", F, V), same("append", F, F[:1], axis=0),
    both("insert", lambda m, a, v: m.insert(a, np.array([3, 0]), v, axis=1), F, np.array([7.0, 8.0], np.float32)),
    both("insert_scalar", lambda m, a: m.insert(a, 2, 5.0), V),
    both("delete", lambda m, a: m.delete(a, np.array([0, 2]), axis=1), F),
    both("delete_slice", lambda m, a: m.delete(a, slice(1, None, 2)), V),
    both("select", lambda m, a: m.select([a > 0.5, a < -0.5], [a, a * 2], -1.0), F),
    both("piecewise", lambda m, a: m.piecewise(a, [a < 0, a > 1], [lambda v: -v, lambda v: v * 2, 7.0]), F),
    both("choose", lambda m, i, a, b: m.choose(i, [a, b], mode="wrap"), I, V, W),
    both("compress_size", lambda m, c, a: m.compress(c, a, axis=1, size=3, fill_value=-1), np.array([1, 0, 1, 1]), F),
    same("diff", F), same("diff", I, n=2), same("diff", F, axis=0, prepend=0.0),
    same("ediff1d", F), both("ediff1d_ends", lambda m, a: m.ediff1d(a, to_begin=np.array([9.0]), to_end=1.0), V),
    same("cross", F[:, :3], F[:, 1:]), same("cross", V[:2], W[:2]), same("cross", F[:, :3], F[:, 1:], axisa=0, axisb=0),
    both("logspace", lambda m, a: m.logspace(a, 2.0, 5), 0.0),
    both("logspace_base", lambda m, a: m.logspace(a, 3.0, 4, base=2.0, endpoint=False), 1.0),
    both("geomspace", lambda m, a: m.geomspace(a, 1000.0, 4), 1.0),
    both("geomspace_neg", lambda m, a: m.geomspace(a, -16.0, 5, axis=0), -1.0),
    same("vander", V), both("vander_n", lambda m, v: m.vander(v, 3, increasing=True), V),
    same("searchsorted", SORTED, F), same("searchsorted", SORTED, V, side="right"),
    same("digitize", F, SORTED), same("digitize", V, SORTED[::-1].copy(), right=True),
    both("bincount", lambda m, x, w: m.bincount(x, w, length=6), np.array([0, 1, 1, 3, 9], np.int32), V),
    same("interp", F, SORTED, W), same("interp", V, SORTED, W, left=-9.0, right=9.0),
]

NUMERIC = [
    same("polyval", V, F), same("polyadd", V, W[:3]), same("polysub", I[:2], V),
    same("polymul", V, W[:3]), both("polyder", lambda m, p: m.polyder(p, 2), V),
    both("polyint", lambda m, p, k: m.polyint(p, 2, k), V, np.float32(3.0)),
    same("trapezoid", F), both("trapezoid_x", lambda m, y, x: m.trapezoid(y, x, axis=1), F, SORTED[:4]),
    both("trapezoid_dx", lambda m, y: m.trapezoid(y, dx=0.5, axis=0), F),
    same("convolve", V, W[:3]), same("convolve", V[:2], W, mode="same"), same("convolve", V, W[:3], mode="valid"),
    same("correlate", V, W[:3]), same("correlate", V[:2], W, mode="same"), same("correlate", V, W, mode="full"),
    same("quantile", F, Q, axis=1), same("quantile", F, 0.3, method="nearest", keepdims=True),
    same("quantile", F, Q, axis=(0, 1), method="lower"), same("quantile", F, Q, axis=0, method="higher"),
    same("percentile", F, 40.0, axis=1, method="midpoint"), same("median", NANS, axis=1),
    same("median", F, keepdims=True), same("nanmedian", NANS, axis=1), same("nanmedian", NANS),
    same("nanpercentile", NANS, np.float32(75.0), axis=0), same("nanquantile", NANS, Q, axis=1, keepdims=True),
    same("nancumsum", NANS, axis=1), same("nancumprod", NANS), same("nancumsum", I),
]


def _unique(cases):
    """Numbered names where a function has several rows."""
    seen = {}
    out = []
    for c in cases:
        k = seen[c[0]] = seen.get(c[0], 0) + 1
        out.append(Case(c[0] if k == 1 else f"{c[0]}#{k}", *c[1:]))
    return out


@pytest.mark.parametrize("cases", [_unique(ELEMENTWISE), _unique(ARRAYS), _unique(NUMERIC)],
                         ids=["elementwise", "arrays", "numeric"])
def test_same_as_jax(cases):
    eager = {"isclose", "gcd", "frexp", "meshgrid", "insert", "quantile_1", "convolve",
             "bincount", "interp"}
    assert_cases_same_as_jax(cases, eager=eager & {c[0] for c in cases} or "first")


GRADS = [
    ("copysign", lambda x: fnp.sum(fnp.copysign(x, -1.0)), lambda x: jnp.sum(jnp.copysign(x, -1.0)), F),
    ("fmax", lambda x: fnp.sum(fnp.fmax(x, 0.2)), lambda x: jnp.sum(jnp.fmax(x, 0.2)), F),
    ("logaddexp2", lambda x: fnp.sum(fnp.logaddexp2(x, 0.5)), lambda x: jnp.sum(jnp.logaddexp2(x, 0.5)), F),
    ("float_power", lambda x: fnp.sum(fnp.float_power(fnp.abs(x) + 1, 1.5)),
     lambda x: jnp.sum(jnp.float_power(jnp.abs(x) + 1, 1.5)), F),
    ("ldexp", lambda x: fnp.sum(fnp.ldexp(x, 3)), lambda x: jnp.sum(jnp.ldexp(x, 3)), V),
    ("rot90", lambda x: fnp.sum(fnp.rot90(x) * fnp.arange(12.0).reshape(4, 3)),
     lambda x: jnp.sum(jnp.rot90(x) * jnp.arange(12.0).reshape(4, 3)), F),
    ("insert", lambda x: fnp.sum(fnp.insert(x, 2, 5.0) ** 2), lambda x: jnp.sum(jnp.insert(x, 2, 5.0) ** 2), V),
    ("select", lambda x: fnp.sum(fnp.select([x > 0], [x ** 2], 0.0)),
     lambda x: jnp.sum(jnp.select([x > 0], [x ** 2], 0.0)), F),
    ("diff", lambda x: fnp.sum(fnp.diff(x, 2) ** 2), lambda x: jnp.sum(jnp.diff(x, 2) ** 2), V),
    ("cross", lambda x: fnp.sum(fnp.cross(x[:3], x[2:]) ** 2), lambda x: jnp.sum(jnp.cross(x[:3], x[2:]) ** 2), V),
    ("polyval", lambda p: fnp.sum(fnp.polyval(p, F)), lambda p: jnp.sum(jnp.polyval(p, F)), V),
    ("convolve", lambda x: fnp.sum(fnp.convolve(x, W) ** 2), lambda x: jnp.sum(jnp.convolve(x, W) ** 2), V),
    ("trapezoid", lambda x: fnp.trapezoid(x ** 2, SORTED), lambda x: jnp.trapezoid(x ** 2, SORTED), V),
    ("interp", lambda x: fnp.sum(fnp.interp(x, SORTED, W)), lambda x: jnp.sum(jnp.interp(x, SORTED, W)), F),
    ("quantile", lambda x: fnp.sum(fnp.quantile(x, Q, axis=1)), lambda x: jnp.sum(jnp.quantile(x, Q, axis=1)), F),
    ("nanmedian", lambda x: fnp.nanmedian(x), lambda x: jnp.nanmedian(x), F),
    ("nancumsum", lambda x: fnp.sum(fnp.nancumsum(x, axis=0) ** 2), lambda x: jnp.sum(jnp.nancumsum(x, axis=0) ** 2), F),
]


def test_grads_same_as_jax():
    """Our grad of every row under ONE jit vs JAX's under one jax.jit."""
    got = jit(lambda xs: [grad(o)(x) for (_, o, _, _), x in zip(GRADS, xs)])([g[3] for g in GRADS])
    exp = jax.jit(lambda xs: [jax.grad(t)(x) for (_, _, t, _), x in zip(GRADS, xs)])(
        [g[3] for g in GRADS])
    for (name, *_), a, b in zip(GRADS, got, exp):
        assert_trees_close(a, b, rtol=1e-4, atol=1e-5, what=f"grad {name}")


def test_vmap_same_as_jax():
    assert_cases_vmap_matches([
        ("isclose", fnp.isclose, jnp.isclose, (0, 0), (F, F + 1e-6)),
        ("polyval", fnp.polyval, jnp.polyval, (0, None), (F, V)),
        ("searchsorted", fnp.searchsorted, jnp.searchsorted, (None, 0), (SORTED, F)),
        ("median", lambda x: fnp.median(x), lambda x: jnp.median(x), (0,), (F,)),
        ("diff", lambda x: fnp.diff(x), lambda x: jnp.diff(x), (1,), (F,)),
        ("gcd", fnp.gcd, jnp.gcd, (0, 0), (I[:, None] * np.ones((5, 2), np.int32), J[:, None] + 1)),
    ], eager_every=100)


def test_constants_and_predicates():
    for name in ("pi", "e", "inf", "euler_gamma", "newaxis"):
        assert getattr(fnp, name) == getattr(jnp, name)
    assert np.isnan(fnp.nan)
    assert fnp.ndarray is jnp.ndarray
    assert isinstance(fnp.ones(2), fnp.ndarray)
    for x in (1, 2.0, F, np.float32(1), [1, 2], fnp.zeros(()), jnp.zeros((2,)), "s", None, 1j):
        for name in ("isscalar", "iscomplexobj", "isrealobj", "iterable"):
            assert getattr(fnp, name)(x) == getattr(jnp, name)(x), (name, x)
    for x in (F, 3.0, [1, 2, 3]):
        assert fnp.ndim(x) == jnp.ndim(x) and fnp.shape(x) == jnp.shape(x)
        assert fnp.size(x) == jnp.size(x)
    assert fnp.size(F, 1) == jnp.size(F, 1) == 4
    assert fnp.broadcast_shapes((2, 1), (3,), 1) == jnp.broadcast_shapes((2, 1), (3,), 1)
    assert fnp.broadcast_shapes() == jnp.broadcast_shapes() == ()

    def traced(x):  # static predicates also hold of traced values
        assert fnp.ndim(x) == 2 and fnp.shape(x) == (3, 4) and fnp.size(x) == 12
        assert not fnp.isscalar(x) and fnp.isrealobj(x) and fnp.isscalar(x[0, 0])
        return fnp.astype(x, fnp.float16)
    assert jit(traced)(F).dtype == jnp.float16


def test_errors_as_jax():
    with pytest.raises(ConcretizationError):
        jit(lambda x: fnp.bincount(x))(I % 4)
    with pytest.raises(ConcretizationError):
        jit(lambda c, x: fnp.compress(c, x))(np.array([True, False, True, False, True]), V)
    np.testing.assert_array_equal(fnp.bincount(np.array([0, 1, 1, 3]), minlength=6),
                                  jnp.bincount(np.array([0, 1, 1, 3]), minlength=6))
    np.testing.assert_array_equal(fnp.compress(np.array([True, False, True]), F, axis=0),
                                  jnp.compress(np.array([True, False, True]), F, axis=0))
    assert not bool(fnp.array_equiv(F, F[:, :2]))  # numpy's answer (jax.numpy raises here)
    for name, args, err in [("gcd", (F, F), ValueError), ("copysign", (1j, 1.0), TypeError),
                            ("ldexp", (F, F), ValueError), ("frexp", (np.complex64(1j),), TypeError),
                            ("bincount", (V,), TypeError), ("meshgrid", (F,), ValueError),
                            ("quantile", (F, Q[None]), ValueError)]:
        with pytest.raises(err):
            getattr(jnp, name)(*args)
        with pytest.raises(err):
            getattr(fnp, name)(*args)
    with pytest.raises(ValueError):
        fnp.quantile(F, 0.5, method="bogus")
    with pytest.raises(ValueError):
        fnp.select([F > 0], [F, F])
