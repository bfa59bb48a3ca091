"""The rest of jax.numpy: set operations, histograms, windows and i0, index
tricks, partial sorts and indexed writes, discrete calculus, covariance,
vector products, block/resize/rollaxis/trim_zeros, poly/polydiv/polyfit, bit
functions, dtype names, io, vectorize and ufuncs. Each family is compared with
jax.numpy (values and dtypes, eager and in one jit per side), with grad and
vmap rows where they apply."""
from __future__ import annotations

import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special

import primitives.numpy as fnp
from fx.errors import ConcretizationError
from tests.oracle import (Case, assert_cases_same_as_jax, assert_cases_vmap_matches,
                          assert_trees_close,
                          assert_vmap_matches_loop, check_grads_numerically)
from transforms import grad, jit, vmap

rng = np.random.default_rng(0)
F = rng.normal(size=(3, 5)).astype(np.float32)
A = rng.normal(size=(2, 3, 4)).astype(np.float32)
V = rng.normal(size=(20,)).astype(np.float32)
W = rng.uniform(size=(20,)).astype(np.float32)
X = np.array([3, 1, 3, 2, 7, 1, 0], np.int32)
Y = np.array([1, 5, 7, 7, 9], np.int32)
NANS = np.array([2., np.nan, 1., np.nan, 2.], np.float32)
M2 = np.array([[1, 2], [0, 1], [1, 2], [0, 0]], np.int32)
U8 = np.array([[5, 255], [128, 0]], np.uint8)


def both(name, fn_of_np, *args):
    """A case ``fn_of_np(fnp, *args)`` vs ``fn_of_np(jnp, *args)`` (args traced under jit)."""
    return Case(name, lambda *a: fn_of_np(fnp, *a), lambda *a: fn_of_np(jnp, *a), args)


def grad_matches(ours, theirs, *args, rtol=1e-5, atol=1e-5):
    """``jit(grad(ours))`` vs ``jax.jit(jax.grad(theirs))``: one compile per side (eagerly
    every op of the backward pass would compile on its own; the rules are the same)."""
    assert_trees_close(jit(grad(ours))(*args), jax.jit(jax.grad(theirs))(*args), rtol, atol,
                       what="grad")


def eager_only(cases, **kw):
    """Cases whose output shape depends on the data: eager on both sides."""
    assert_cases_same_as_jax(cases, jit=False, jax_eager=True, **kw)


# --- set operations ---------------------------------------------------------------------------
def test_setops():
    eager_only([  # (size=None computes the count, then runs the size= path tested below)
        both("unique_all_flags", lambda m, a: m.unique(a, True, True, True), X),
        both("intersect1d_idx", lambda m, a, b: m.intersect1d(a, b, return_indices=True), X, Y),
        both("setdiff1d", lambda m, a, b: m.setdiff1d(a, b), X, Y),
        both("setxor1d", lambda m, a, b: m.setxor1d(a, b), X, Y),
    ])
    assert_cases_same_as_jax([
        both("isin", lambda m, a, b: (m.isin(a, b), m.isin(a.reshape(7, 1), b, invert=True)), X, Y),
        both("unique_size", lambda m, a: m.unique(a, True, True, True, size=6, fill_value=-1), X),
        both("unique_nan", lambda m, a: m.unique(a, size=3), NANS),
        both("unique_axis0", lambda m, a: m.unique(a, True, True, True, axis=0, size=3), M2),
        both("unique_inverse", lambda m, a: tuple(m.unique_inverse(a, size=4)), M2),
        both("unique_values", lambda m, a: m.unique_values(a, size=4, fill_value=0), NANS),
        both("unique_counts", lambda m, a: tuple(m.unique_counts(a, size=3)), X),
        both("intersect_size", lambda m, a, b: m.intersect1d(a, b, return_indices=True, size=4), X, Y),
        both("intersect_unique", lambda m, a, b: m.intersect1d(
            a, b, assume_unique=True, return_indices=True, size=3), np.array([4, 1, 2]), Y[:3]),
        both("union_size", lambda m, a, b: m.union1d(a, b, size=10), X, Y),
        both("setdiff_fill", lambda m, a, b: m.setdiff1d(a, b, size=6, fill_value=-3), X, Y),
        both("setxor_size", lambda m, a, b: m.setxor1d(a, b, size=8), X, Y),
        both("setxor_unique", lambda m, a, b: m.setxor1d(a, b, assume_unique=True, size=5),
             np.array([1, 4, 3]), np.array([3, 5])),
        both("lexsort", lambda m, a: (m.lexsort(a.T), m.lexsort((a[:, 0], a[:, 1] % 2 == 0))), M2),
    ], eager="first")
    # vmap with size= matches a loop; without size under jit: JAX's concretization error
    assert_vmap_matches_loop(lambda a: fnp.unique(a, size=4, fill_value=-1), 0, M2.T.copy(),
                             jit=True)
    for fn in (fnp.unique, lambda a: fnp.setdiff1d(a, Y), lambda a: fnp.intersect1d(a, Y),
               lambda a: fnp.union1d(a, Y), lambda a: fnp.setxor1d(a, Y)):
        with pytest.raises(ConcretizationError, match="size"):
            jit(fn)(X)


# --- histograms -------------------------------------------------------------------------------
def test_histograms():
    S = np.stack([V, V[::-1], W], 1)
    assert_cases_same_as_jax([
        both("bin_edges", lambda m, a: m.histogram_bin_edges(a, 5), V),
        both("bin_edges_empty_range", lambda m, a: m.histogram_bin_edges(a, 4, range=(0, 0)), V),
        both("histogram", lambda m, a: m.histogram(a), V),
        both("histogram_weights", lambda m, a, w: m.histogram(a, 4, range=(-1, 1), weights=w,
                                                              density=True), V, W),
        both("histogram_edges", lambda m, a: m.histogram(a, np.array([-2., 0, .5, 3])), V),
        both("histogram_int", lambda m: m.histogram(np.arange(10), 3)),
        both("histogram2d", lambda m, a, b: m.histogram2d(a, b, bins=3), V, W),
        both("histogram2d_w", lambda m, a, b, w: m.histogram2d(a, b, bins=(2, 4), weights=w,
                                                               density=True), V, W, W),
        both("histogram2d_edges", lambda m, a, b: m.histogram2d(a, b, np.array([-1., 0, 1])),
             V, W),
        both("histogramdd", lambda m, s: m.histogramdd(s, (2, 3, 2), [(-1, 1), None, (0, 1)]),
             S),
    ], eager="first")
    grad_matches(lambda w: fnp.histogram(V, 3, weights=w)[0][1],
                             lambda w: jnp.histogram(V, 3, weights=w)[0][1], W)


# --- windows and i0 ---------------------------------------------------------------------------
def test_windows_and_i0(x64):
    cases = [both(f"{w}_{n}", lambda m, w=w, n=n: getattr(m, w)(n))
             for w in ("bartlett", "blackman", "hamming", "hanning") for n in (0, 1, 5)]
    cases += [both("kaiser", lambda m, b: m.kaiser(6, b), np.float32(2.5)),
              both("i0", lambda m, x: m.i0(x), np.array([-2., 0., 1.5, 30.], np.float32)),
              both("i0_int", lambda m, x: m.i0(x), np.array([0, 2], np.int32))]
    with jax.enable_x64(False):
        assert_cases_same_as_jax(cases, eager="first")
        x = np.array([-2., 0., 1.5], np.float32)
        grad_matches(lambda v: fnp.i0(v).sum(),
                                 lambda v: jnp.i0(v).sum(), x)
        # I0'' = (I0 + I2) / 2 (scipy's Bessel functions), 1/2 at 0: jax >= 0.11's
        # jnp.i0 gives it too; jax <= 0.10 gave 0 at 0
        assert_trees_close(jit(vmap(grad(grad(fnp.i0))))(x),
                           (scipy.special.i0(x) + scipy.special.iv(2, x)) / 2, rtol=1e-5,
                           atol=1e-6, check_dtype=False, what="i0''")
    check_grads_numerically(fnp.i0, (np.array([-1.3, 0.4, 2.2]),), order=2, eps=1e-6,
                            rtol=1e-4, atol=1e-6)


# --- index tricks -----------------------------------------------------------------------------
def test_index_tricks():
    I = np.array([[0, 1, 2], [2, 0, 1]], np.int32)
    assert_cases_same_as_jax([
        both("r_", lambda m, a: m.r_[a, 0, 4:6], np.array([1, 2], np.int32)),
        both("r_directive", lambda m, a, b: m.r_["0,2", a, b], V[:2], W[:2]),
        both("r_trans", lambda m, a, b: m.r_["-1,2,0", a, b], V[:2], W[:2]),
        both("r_matrix", lambda m: m.r_["r", 1:3]), both("r_linspace", lambda m: m.r_[0:1:5j]),
        both("c_", lambda m, a, b: m.c_[a, b], V[:3], W[:3]),
        both("c_2d", lambda m, a: m.c_[a, np.zeros((3, 1), np.float32)], F),
        both("ravel_multi_index", lambda m, i, j: m.ravel_multi_index((i, j), (3, 4),
                                                                      mode="clip"), I[0], I[1]),
        both("ravel_multi_clip_F", lambda m, i, j: m.ravel_multi_index(
            (i, j + 5), (3, 4), mode="clip", order="F"), I[0], I[1]),
        both("ravel_multi_wrap", lambda m, i, j: m.ravel_multi_index((i - 4, j), (3, 4),
                                                                     mode="wrap"), I[0], I[1]),
        both("unravel_index", lambda m, i: m.unravel_index(i, (3, 4)),
             np.array([0, 5, 11, 13, -3], np.int32)),
        both("mask_indices", lambda m: m.mask_indices(3, m.tril, size=7)),
        both("fill_diagonal", lambda m, a: m.fill_diagonal(a, 5.0, inplace=False), F),
        both("fill_diagonal_3d", lambda m, v: m.fill_diagonal(np.zeros((3, 3, 3), np.int32), v,
                                                              inplace=False), np.array([1, 2])),
        both("diagflat", lambda m, v: m.diagflat(v), F[:2, :2]),
        both("diagflat_k", lambda m, v: m.diagflat(v, -2), V[:2]),
    ], eager="first")
    assert fnp.s_[1:2, None] == jnp.s_[1:2, None] and fnp.index_exp[3] == jnp.index_exp[3]
    assert_trees_close(fnp.mask_indices(3, fnp.triu, 1), jnp.mask_indices(3, jnp.triu, 1))
    assert_trees_close(fnp.ravel_multi_index(tuple(I), (3, 4)), jnp.ravel_multi_index(tuple(I), (3, 4)))
    with pytest.raises(ValueError, match="invalid entry"):
        fnp.ravel_multi_index((I[0] + 3, I[1]), (3, 4))
    with pytest.raises(ConcretizationError, match="mode='wrap'"):
        jit(lambda i: fnp.ravel_multi_index((i, i), (3, 4)))(I[0])
    with pytest.raises(NotImplementedError, match="inplace=False"):
        fnp.fill_diagonal(F, 1.0)


# --- partial sorts and indexed writes ---------------------------------------------------------
def test_selection():
    Xs = np.array([5, 1, 4, 1, 3, 2, 2], np.int32)
    U = np.array([3, 0, 2, 0, 1], np.uint8)
    assert_cases_same_as_jax([
        both("partition", lambda m, a: m.partition(a, 2), Xs),
        both("partition_axis", lambda m, a: m.partition(a, -1, axis=0), F),
        both("partition_uint", lambda m, a: m.partition(a, 1), U),
        both("argpartition", lambda m, a: m.argpartition(a, 3), Xs),
        both("argpartition_axis", lambda m, a: m.argpartition(a, 1, axis=0), F),
        both("argpartition_uint", lambda m, a: m.argpartition(a, 2), U),
        both("put", lambda m, a, v: m.put(a, np.array([0, 7, 14]), v, inplace=False), F, V[:2]),
        both("put_clip", lambda m, a: m.put(a, np.array([0, 9]), 7, mode="clip", inplace=False), Xs),
        both("put_wrap", lambda m, a, i: m.put(a, i, np.array([7, 8]), mode="wrap", inplace=False),
             Xs, np.array([-1, 9])),
        both("put_drop", lambda m, a: m.put(a, np.array([1, 90]), np.array([7, 8]), inplace=False), Xs),
        both("put_along_axis", lambda m, a, i: m.put_along_axis(a, i, 9., axis=1, inplace=False),
             F, np.array([[0], [2], [4]])),
        both("put_along_none", lambda m, a, v: m.put_along_axis(a, np.array([0, 3, 14]), v,
                                                                axis=None, inplace=False),
             F.ravel(), V[:3]),
        both("place", lambda m, a, v: m.place(a, a > 0, v, inplace=False), F, V[:2]),
        both("extract_size", lambda m, a: m.extract(a > 0, a, size=10, fill_value=-1), F),
    ], eager="first")
    eager_only([both("extract", lambda m, a: m.extract(a > 0, a), F)])
    assert_cases_vmap_matches([
        ("partition", lambda a: fnp.partition(a, 1), lambda a: jnp.partition(a, 1), 0, (F,)),
        ("argpartition", lambda a: fnp.argpartition(a, 2), lambda a: jnp.argpartition(a, 2), 1, (F,)),
        ("put", lambda a, v: fnp.put(a, np.array([1, 3]), v, inplace=False),
         lambda a, v: jnp.put(a, np.array([1, 3]), v, inplace=False), (0, 0), (F, F[:, :2])),
    ])
    grad_matches(
                             lambda a: fnp.partition(a, 2).dot(np.arange(5.0, dtype=np.float32)),
                             lambda a: jnp.partition(a, 2).dot(np.arange(5.0, dtype=np.float32)),
                             F[0])
    for fn in (lambda: fnp.put(F, 0, 1.0), lambda: fnp.place(F, F > 0, 1.0),
               lambda: fnp.put_along_axis(F, np.zeros((3, 1), np.int32), 1.0, axis=1)):
        with pytest.raises(ValueError, match="inplace=False"):
            fn()


# --- discrete calculus and covariance ---------------------------------------------------------
def test_calculus_and_covariance():
    xs = np.cumsum(rng.uniform(0.5, 1, size=5)).astype(np.float32)
    phase = np.array([0., 3, 6.5, 0.2, 7, -4], np.float32)
    fw, aw = np.array([1, 2, 1, 3, 1]), np.array([.1, .2, .3, .4, .5], np.float32)
    assert_cases_same_as_jax([
        both("gradient", lambda m, a: m.gradient(a), F),
        both("gradient_axis", lambda m, a: m.gradient(a, 2.0, axis=1), F),
        both("gradient_coords", lambda m, a, x: m.gradient(a, 0.5, x), F, xs),
        both("gradient_int", lambda m, a: m.gradient(a), np.array([1, 4, 9, 16])),
        both("unwrap", lambda m, p: m.unwrap(p), phase),
        both("unwrap_axis", lambda m, p: m.unwrap(p * 5, axis=0, discont=4.0), F),
        both("unwrap_int", lambda m, p: m.unwrap(p, period=6), np.array([0, 5, 9, 2])),
        both("cumulative_prod", lambda m, a: m.cumulative_prod(a), np.array([1, 2, 3], np.int8)),
        both("cumulative_prod_init", lambda m, a: m.cumulative_prod(a, axis=0,
                                                                    include_initial=True), F),
        both("cumulative_prod_bool", lambda m, a: m.cumulative_prod(a, dtype=np.float32),
             np.array([True, False])),
        both("cov", lambda m, a: m.cov(a), F),
        both("cov_y", lambda m, a: m.cov(a, a[:, :2], rowvar=False, bias=True), F),
        both("cov_1d", lambda m, a: m.cov(a), xs),
        both("cov_weights", lambda m, a, f, w: m.cov(a, fweights=f, aweights=w, ddof=2), F, fw, aw),
        both("cov_int", lambda m, a: m.cov(a, dtype=np.float32), np.array([[1, 2, 4], [3, 1, 0]])),
        both("corrcoef", lambda m, a: m.corrcoef(a), F),
        both("corrcoef_1d", lambda m, a: m.corrcoef(a), xs),
        both("corrcoef_y", lambda m, a: m.corrcoef(a, a[:1] * 2), F),
    ], rtol=2e-5, atol=1e-5, eager="first")
    for ours, theirs in ((fnp.cov, jnp.cov), (fnp.corrcoef, jnp.corrcoef),
                         (fnp.gradient, jnp.gradient), (fnp.unwrap, jnp.unwrap)):
        grad_matches(lambda a, f=ours: (f(a) ** 2).sum(),
                                 lambda a, f=theirs: (f(a) ** 2).sum(), F if ours is not fnp.gradient
                                 else F[0], rtol=1e-4, atol=1e-5)


# --- products, manipulation, polynomials ------------------------------------------------------
def test_products_manipulation_polynomials():
    x = np.linspace(0, 1, 8).astype(np.float32)
    y = (1 + 2 * x - x ** 2 + 0.01 * rng.normal(size=8)).astype(np.float32)
    assert_cases_same_as_jax([
        both("vecdot", lambda m, a, b: m.vecdot(a, b), A, F[:, :4]),
        both("vecdot_axis", lambda m, a: m.vecdot(a, a, axis=0), A),
        both("vecdot_complex", lambda m, a, b: m.vecdot(a + 1j * b, b * 2j), F, F[::-1]),
        both("vecmat", lambda m, v, a: m.vecmat(v, a), F[0, :3], A),
        both("matvec", lambda m, a, v: m.matvec(a, v), A, F[:2, :4]),
        both("block", lambda m, a: m.block([[a, a[:, :1]], [a[:1], np.ones((1, 1), np.float32)]]), F),
        both("block_1d", lambda m, a: m.block([a[0], 1.0]), F),
        both("block_3d", lambda m, a: m.block([[a], [a]]), A),
        both("resize", lambda m, a: m.resize(a, (5, 4)), F),
        both("resize_0", lambda m, a: m.resize(a, 0), F),
        both("resize_int", lambda m: m.resize(np.arange(3), 7)),
        both("rollaxis", lambda m, a: m.rollaxis(a, 2), A),
        both("rollaxis_start", lambda m, a: m.rollaxis(a, 0, 3), A),
        both("rollaxis_neg", lambda m, a: m.rollaxis(a, -1, -2), A),
        both("poly", lambda m, r: m.poly(r), np.array([1., 2, -3], np.float32)),
        both("poly_int", lambda m, r: m.poly(r), np.array([1, 2])),
        both("poly_empty", lambda m: m.poly(np.zeros(0))),
        both("polydiv", lambda m, u, v: m.polydiv(u, v), np.array([1., 3, 2, 5], np.float32),
             np.array([1., 1], np.float32)),
        both("polyfit", lambda m, a, b: m.polyfit(a, b, 2), x, y),
        both("polyfit_2d_w", lambda m, a, b: m.polyfit(a, b, 1, w=np.ones(8, np.float32)),
             x, np.stack([y, 2 * y], 1)),
        both("polyfit_full", lambda m, a, b: m.polyfit(a, b, 2, full=True), x, y),
        both("polyfit_cov", lambda m, a, b: m.polyfit(a, b, 2, cov=True), x, y),
        both("polyfit_cov_unscaled", lambda m, a, b: m.polyfit(a, b, 2, cov="unscaled"),
             x, np.stack([y, y], 1)),
    ], rtol=1e-4, atol=1e-4, eager="first")
    eager_only([
        both("trim_zeros", lambda m, a: m.trim_zeros(a), np.array([0, 0, 1, 2, 0, 3, 0])),
        both("trim_zeros_f", lambda m, a: m.trim_zeros(a, "f"), np.array([0, 0, 1, 0])),
        both("trim_zeros_axis", lambda m, a: m.trim_zeros(a, axis=0), np.eye(3)[1:2].repeat(3, 0) * 0
             + np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]])),
        both("trim_zeros_all", lambda m, a: m.trim_zeros(a), np.zeros(3)),
        both("polydiv_trim", lambda m, u, v: m.polydiv(u, v, trim_leading_zeros=True),
             np.array([1., 3, 2]), np.array([1., 1])),
    ])
    assert_cases_vmap_matches([
        ("vecdot", fnp.vecdot, jnp.vecdot, (0, None), (A, F[0, :4])),
        ("matvec", fnp.matvec, jnp.matvec, (1, 0), (A, F[:3, :4])),
    ])
    grad_matches(lambda b: fnp.polyfit(x, b, 2).sum(),
                             lambda b: jnp.polyfit(x, b, 2).sum(), y, rtol=1e-3, atol=1e-3)
    with pytest.raises(ConcretizationError):
        jit(fnp.trim_zeros)(V)


# --- bits, dtypes, io -------------------------------------------------------------------------
def test_bits_dtypes_io():
    bits = np.array([[1, 0, 1, 1, 0], [0, 0, 1, 0, 1]], np.int32)
    assert_cases_same_as_jax([
        both("packbits", lambda m, a: m.packbits(a), bits),
        both("packbits_little", lambda m, a: m.packbits(a, axis=1, bitorder="little"), bits),
        both("packbits_bool", lambda m, a: m.packbits(a > 0, axis=0), bits),
        both("unpackbits", lambda m, a: m.unpackbits(a), U8),
        both("unpackbits_count", lambda m, a: m.unpackbits(a, axis=1, count=10,
                                                           bitorder="little"), U8),
        both("unpackbits_short", lambda m, a: m.unpackbits(a, axis=0, count=3), U8),
        both("bitwise_count", lambda m, a: m.bitwise_count(a), np.array([-3, 7, 0, 255], np.int32)),
        both("bitwise_count_u8", lambda m, a: m.bitwise_count(a), U8),
        both("bitwise_count_bool", lambda m, a: m.bitwise_count(a), np.array([True, False])),
        both("spacing", lambda m, a: m.spacing(a),
             np.array([1.0, -2.0, 0.0, 1e-40, np.inf], np.float32)),
        both("spacing_f16", lambda m, a: m.spacing(a), np.array([1.0, 0.0, -3], np.float16)),
        both("spacing_int", lambda m, a: m.spacing(a), np.array([1, 2])),
    ], eager="first")
    for name in ("int4", "uint4", "int2", "uint2", "int1", "uint1", "float8_e3m4", "float8_e4m3",
                 "float8_e4m3b11fnuz", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
                 "float4_e2m1fn", "float6_e2m3fn", "float6_e3m2fn", "object_", "flexible",
                 "character"):
        ours, theirs = getattr(fnp, name), getattr(jnp, name)
        assert ours == theirs or np.dtype(ours) == np.dtype(theirs), name
    assert fnp.int4(3).dtype == jnp.int4(3).dtype
    for dt, kind in ((fnp.int4, "integral"), (np.float32, ("real floating", fnp.int4)),
                     (fnp.float32, fnp.float32), (fnp.uint8, "signed integer"),
                     (fnp.float8_e4m3, "numeric")):
        assert fnp.isdtype(dt, kind) == jnp.isdtype(np.dtype(dt), kind if not isinstance(
            kind, tuple) else ("real floating", jnp.int4)), (dt, kind)
    f = io.BytesIO()
    fnp.save(f, jnp.array([1, 2], jnp.bfloat16))
    f.seek(0)
    assert_trees_close(fnp.load(f), jnp.array([1, 2], jnp.bfloat16))
    assert_trees_close(fnp.frombuffer(b"\x01\x02", dtype=np.uint8),
                       jnp.frombuffer(b"\x01\x02", dtype=np.uint8))
    assert_trees_close(fnp.fromstring("1 2", dtype=int, sep=" "),
                       jnp.fromstring("1 2", dtype=int, sep=" "))
    assert_trees_close(fnp.from_dlpack(jnp.arange(3)), jnp.arange(3))
    for fn in (fnp.fromfile, fnp.fromiter):
        with pytest.raises(NotImplementedError):
            fn("x")
    with fnp.printoptions(precision=2):
        assert fnp.get_printoptions()["precision"] == jnp.get_printoptions()["precision"] == 2
    assert fnp.array_str(np.arange(3)) == jnp.array_str(np.arange(3))


# --- vectorize, apply_*, fromfunction, ufunc --------------------------------------------------
def test_functional():
    def dot_sig(m):
        return m.vectorize(lambda a, b: (a * b).sum(), signature="(n),(n)->()")
    add_mul = (lambda a, b: a * 2 + b, 2, 1)
    assert_cases_same_as_jax([
        both("vectorize", lambda m, a, b: m.vectorize(lambda u, v: u * 2 + v)(a, b), F, F[0]),
        both("vectorize_sig", lambda m, a, b: dot_sig(m)(a, b), A, F[:, :4]),
        both("vectorize_two_outs", lambda m, a: m.vectorize(
            lambda u: (u.sum(), u * 2), signature="(n)->(),(n)")(a), A),
        both("vectorize_excluded", lambda m, a: m.vectorize(lambda u, p: u ** p,
                                                            excluded={1})(a, 2), F),
        both("vectorize_bcast", lambda m, a: m.vectorize(lambda u, v: u - v)(a[:, :1], a[:1]), F),
        both("apply_along_axis", lambda m, a: m.apply_along_axis(
            lambda v: m.sort(v)[::-1][:2], 1, a), A),
        both("apply_along_axis_args", lambda m, a: m.apply_along_axis(
            lambda v, s: v.sum() * s, 0, a, 3.0), F),
        both("apply_over_axes", lambda m, a: m.apply_over_axes(m.sum, a, [0, 2]), A),
        both("fromfunction", lambda m: m.fromfunction(lambda i, j: i * 10 + j, (3, 4),
                                                      dtype=np.int32)),
        both("ufunc_call", lambda m, a, b: m.frompyfunc(*add_mul)(a, b), F, F[0]),
        both("ufunc_outer", lambda m, a, b: m.frompyfunc(lambda u, v: u - v, 2, 1).outer(a, b),
             F[0], F[1, :2]),
        both("ufunc_reduce", lambda m, a: m.frompyfunc(*add_mul).reduce(a, axis=1), F),
        both("ufunc_reduce_none", lambda m, a: m.frompyfunc(
            lambda u, v: u * v, 2, 1, identity=1).reduce(a, axis=None, keepdims=True), F),
        both("ufunc_reduce_initial", lambda m, a: m.frompyfunc(
            lambda u, v: m.maximum(u, v), 2, 1).reduce(a, initial=0.5), F),
        both("ufunc_reduce_where", lambda m, a: m.frompyfunc(
            lambda u, v: u + v, 2, 1, identity=0).reduce(a, where=a > 0), F),
        both("ufunc_accumulate", lambda m, a: m.frompyfunc(
            lambda u, v: u - v, 2, 1).accumulate(a, axis=1), F),
        both("ufunc_at", lambda m, a: m.frompyfunc(*add_mul).at(
            a, np.array([0, 2, 0]), np.float32(1), inplace=False), F[0]),
        both("ufunc_reduceat", lambda m, a: m.frompyfunc(lambda u, v: u + v, 2, 1).reduceat(
            a, np.array([0, 2, 1])), F[0]),
    ], eager="first")
    grad_matches(
                             lambda a: dot_sig(fnp)(a, a[0]).sum(),
                             lambda a: dot_sig(jnp)(a, a[0]).sum(), F)
    assert_trees_close(vmap(lambda a: dot_sig(fnp)(a, a))(A), jax.vmap(
        lambda a: dot_sig(jnp)(a, a))(A))
    assert isinstance(fnp.frompyfunc(*add_mul), fnp.ufunc)
