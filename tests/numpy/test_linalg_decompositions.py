"""The lax-level linear-algebra primitives (primitives/linalg_decompositions.py)
against jax.lax.linalg: values and dtypes (eager, jit, Graph), jvp and vjp vs
JAX's, triangular_solve's transpose, vmap vs a loop, finite differences to
order 2 (float64), the LAPACK custom calls under jit, and typed errors."""
import itertools
import re

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import primitives as P
import primitives.numpy as fnp
from fx.errors import FxTypeError, ShapeError
from oracle import (assert_cases_jvp_matches, assert_cases_same_as_jax,
                    assert_cases_transpose_matches, assert_trees_close, assert_vmap_matches_loop,
                    check_grads_numerically)
from transforms import jit, jvp, vjp

L = jax.lax.linalg


def _arr(*shape, seed=0, dtype=np.float32):
    return np.random.RandomState(seed).uniform(-2, 2, shape).astype(dtype)


def _spd(*batch, n=3, seed=0, dtype=np.float32):
    a = _arr(*batch, n, n, seed=seed, dtype=np.float64)
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


def _tri(n=3, lower=True, seed=0, batch=()):
    a = _arr(*batch, n, n, seed=seed) + 4 * np.eye(n, dtype=np.float32)
    return np.tril(a) if lower else np.triu(a)


A33, A43, A34 = _arr(3, 3), _arr(4, 3, seed=1), _arr(3, 4, seed=2)
S33, SB = _spd(), _spd(2, seed=3)
B23 = _arr(2, 4, 3, seed=4)

TS_FLAGS = [dict(left_side=ls, lower=lo, transpose_a=tr, unit_diagonal=ud)
            for ls, lo, tr, ud in itertools.product((False, True), repeat=4)]


def _ts_args(flags, seed=0):
    a = _tri(lower=flags["lower"], seed=seed)
    b = _arr(3, 2, seed=seed + 1) if flags["left_side"] else _arr(2, 3, seed=seed + 1)
    return a, b


def _ts_name(f):
    return "ts_" + "".join(k[0] + str(int(v)) for k, v in f.items())


# (name, ours, theirs, args): the primitives and their parameters
CASES = [
    ("cholesky", P.cholesky, L.cholesky, (S33,)),
    ("cholesky_batch", P.cholesky, L.cholesky, (SB,)),
    ("cholesky_nosym", lambda x: P.cholesky(x, symmetrize_input=False),
     lambda x: L.cholesky(x, symmetrize_input=False), (S33,)),
    ("qr_full_tall", P.qr, L.qr, (A43,)),
    ("qr_full_wide", P.qr, L.qr, (A34,)),
    ("qr_reduced_tall", lambda x: P.qr(x, full_matrices=False),
     lambda x: L.qr(x, full_matrices=False), (A43,)),
    ("qr_batch", lambda x: P.qr(x, full_matrices=False),
     lambda x: L.qr(x, full_matrices=False), (B23,)),
    ("eigh", P.eigh, L.eigh, (S33,)),
    ("eigh_batch", P.eigh, L.eigh, (SB,)),
    ("eigh_upper_nosym", lambda x: P.eigh(x, lower=False, symmetrize_input=False),
     lambda x: L.eigh(x, lower=False, symmetrize_input=False), (A33,)),
    ("svd_full_tall", P.svd, L.svd, (A43,)),
    ("svd_reduced_wide", lambda x: P.svd(x, full_matrices=False),
     lambda x: L.svd(x, full_matrices=False), (A34,)),
    ("svd_values", lambda x: P.svd(x, compute_uv=False),
     lambda x: L.svd(x, compute_uv=False), (B23,)),
    ("lu_square", P.lu, L.lu, (A33,)),
    ("lu_tall", P.lu, L.lu, (A43,)),
    ("lu_wide_batch", P.lu, L.lu, (np.stack([A34, A34[::-1]]),)),
    ("pivots_to_perm", lambda p: P.lu_pivots_to_permutation(p, 5),
     lambda p: L.lu_pivots_to_permutation(p, 5), (np.array([[2, 2, 3], [1, 4, 2]], np.int32),)),
] + [(_ts_name(f), (lambda f: lambda a, b: P.triangular_solve(a, b, **f))(f),
      (lambda f: lambda a, b: L.triangular_solve(a, b, **f))(f), _ts_args(f, i))
     for i, f in enumerate(TS_FLAGS)] + [
    ("ts_vector_b", lambda a, b: P.triangular_solve(a, b, left_side=True, lower=True),
     lambda a, b: L.triangular_solve(a, b, left_side=True, lower=True), (_tri(), _arr(3))),
]


def test_values_and_dtypes_match_jax():
    eager = {name for name, *_ in CASES if not name.startswith("ts_")} | {"ts_l0l0t0u0"}
    assert_cases_same_as_jax(CASES, rtol=1e-5, atol=1e-5, eager=eager)


def test_float64_values_match_jax():
    with jax.enable_x64(True):
        a, s = A43.astype(np.float64), S33.astype(np.float64)
        assert_cases_same_as_jax([
            ("cholesky64", P.cholesky, L.cholesky, (s,)), ("qr64", P.qr, L.qr, (a,)),
            ("eigh64", P.eigh, L.eigh, (s,)), ("svd64", P.svd, L.svd, (a,)),
            ("lu64", P.lu, L.lu, (a,))], rtol=1e-12, atol=1e-12, eager="first")


def _t(x, seed):
    return _arr(*np.shape(x), seed=seed + 50).astype(np.asarray(x).dtype)


DIFF = [c for c in CASES if c[0] not in ("pivots_to_perm", "eigh_subset", "svd_full_tall",
                                         "eigh_upper_nosym")]
# jax's eigh jvp symmetrizes the input again: only symmetric inputs/tangents are meaningful
SYM_T = {"eigh", "eigh_batch", "cholesky", "cholesky_batch", "cholesky_nosym"}


def _tangent(name, x, i):
    t = _t(x, i)
    return (t + np.swapaxes(t, -1, -2)) / 2 if name in SYM_T else t


def test_jvp_matches_jax():
    cases = [(name, ours, theirs, args, tuple(_tangent(name, x, i) if x.dtype.kind == "f" else
                                              np.zeros(x.shape, jax.dtypes.float0)
                                              for x in args))
             for i, (name, ours, theirs, args) in enumerate(DIFF)]
    cases.append(("svd_full_square", P.svd, L.svd, (A33,), (_t(A33, 1),)))
    cases.append(("qr_full_tall_jvp", P.qr, L.qr, (_arr(5, 3, seed=9),), (_t(_arr(5, 3), 2),)))
    assert_cases_jvp_matches(cases, rtol=2e-4, atol=2e-4, eager_every=4)


def _scalarize(m, fn, outs_like):
    """sum_i <w_i, out_i> with fixed random weights (``m`` the numpy module): a
    scalar whose gradient is a vjp."""
    leaves = jax.tree_util.tree_leaves(outs_like)
    ws = [_arr(*np.shape(o), seed=70 + i) for i, o in enumerate(leaves)]

    def f(*args):
        leaves = [x for x in jax.tree_util.tree_leaves(fn(*args)) if x.dtype.kind == "f"]
        return sum(m.sum(leaf * w) for leaf, w in zip(leaves, ws))
    return f


def test_vjp_matches_jax():
    """Reverse mode (linearize + transpose of the jvp rules) vs jax.vjp, in one jit each side."""
    names, ours_fns, theirs_fns, all_args = [], [], [], []
    for i, (name, ours, theirs, args) in enumerate(DIFF):
        out = theirs(*args)
        sym = name in SYM_T
        def prep(m):
            return (lambda x: (x + m.swapaxes(x, -1, -2)) / 2) if sym else (lambda x: x)
        names.append(name)
        ours_fns.append(_scalarize(fnp, lambda *a, o=ours, p=prep(fnp): o(*[p(x) for x in a]),
                                   out))
        theirs_fns.append(_scalarize(jnp, lambda *a, t=theirs, p=prep(jnp): t(*[p(x) for x in a]),
                                     out))
        all_args.append(args)

    def run(fns, vjp_fn):
        def go(all_args):
            return [vjp_fn(f, *args)[1](np.float32(1.0)) for f, args in zip(fns, all_args)]
        return go
    got = jit(run(ours_fns, vjp))(all_args)
    want = jax.jit(run(theirs_fns, jax.vjp))(all_args)
    for name, g, w in zip(names, got, want):
        assert_trees_close(g, w, rtol=2e-4, atol=2e-4, what=f"vjp {name}")


def test_triangular_solve_transpose_matches_jax():
    cases = []
    for i, f in enumerate(TS_FLAGS):
        a, b = _ts_args(f, i)
        cases.append((_ts_name(f), (lambda a, f: lambda b: P.triangular_solve(a, b, **f))(a, f),
                      (lambda a, f: lambda b: L.triangular_solve(a, b, **f))(a, f), (b,),
                      _t(b, i)))
    assert_cases_transpose_matches(cases, rtol=1e-5, atol=1e-5, eager_every=4)


def test_vmap_matches_loop():
    for name, fn, in_axes, args in [
        ("cholesky", P.cholesky, 1, (np.stack([S33, S33 * 2], 1),)),
        ("qr", lambda x: P.qr(x, full_matrices=False), 0, (B23,)),
        ("qr_full_axis2", P.qr, 2, (np.moveaxis(B23, 0, 2),)),
        ("eigh", P.eigh, 0, (SB,)),
        ("svd", lambda x: P.svd(x, full_matrices=False), 1, (np.moveaxis(B23, 0, 1),)),
        ("svdvals", lambda x: P.svd(x, compute_uv=False), 0, (B23,)),
        ("lu", P.lu, 0, (B23,)),
        ("pivots", lambda p: P.lu_pivots_to_permutation(p, 4), 0,
         (np.array([[2, 2, 3], [1, 3, 2]], np.int32),)),
        ("ts_a_unbatched_left", lambda a, b: P.triangular_solve(a, b, left_side=True, lower=True),
         (None, 1), (_tri(), _arr(3, 2, 2))),
        ("ts_a_unbatched_right", lambda a, b: P.triangular_solve(a, b, transpose_a=True), (None, 0),
         (_tri(lower=False), _arr(2, 4, 3))),
        ("ts_both", lambda a, b: P.triangular_solve(a, b, left_side=True), (2, 0),
         (np.stack([_tri(lower=False), _tri(lower=False, seed=1)], 2), _arr(2, 3, 2))),
        ("ts_b_unbatched", lambda a, b: P.triangular_solve(a, b, lower=True), (0, None),
         (_tri(batch=(2,)), _arr(4, 3))),
    ]:
        assert_vmap_matches_loop(fn, in_axes, *args, rtol=1e-5, atol=1e-5, jit=True,
                                 what=f"vmap vs loop: {name}")


def test_finite_differences_order_2():
    """Each primitive's derivatives (jvp and vjp, to order 2) against central
    differences in float64."""
    with jax.enable_x64(True):
        rs = np.random.RandomState(3)
        a43 = rs.uniform(-1, 1, (4, 3))
        a34 = a43.T.copy()
        spd = a43.T @ a43 + 3 * np.eye(3)
        sym = lambda x: (x + x.T) / 2  # noqa: E731
        tri = np.triu(rs.uniform(-1, 1, (3, 3))) + 3 * np.eye(3)
        b32 = rs.uniform(-1, 1, (3, 2))
        cases = [
            ("cholesky", lambda x: P.cholesky(sym(x)), (spd,)),
            ("qr_tall", lambda x: fnp.concatenate([fnp.ravel(o)
                                                   for o in P.qr(x, full_matrices=False)]),
             (a43,)),
            ("qr_wide", lambda x: fnp.concatenate([fnp.ravel(o) for o in P.qr(x)]), (a34,)),
            ("eigh", lambda x: (lambda v, w: fnp.concatenate([w, fnp.ravel(v * v)]))(
                *P.eigh(sym(x))), (spd,)),
            ("svd", lambda x: (lambda u, s, vh: fnp.concatenate([s, fnp.ravel(u * u),
                                                                 fnp.ravel(vh * vh)]))(
                *P.svd(x, full_matrices=False)), (a43,)),
            ("lu", lambda x: P.lu(x)[0], (a43,)),
            ("triangular_solve", lambda a, b: P.triangular_solve(a, b.T, transpose_a=True,
                                                                 unit_diagonal=True), (tri, b32)),
        ]
        for name, fn, args in cases:
            try:
                check_grads_numerically(jit(fn), args, order=2, eps=1e-5, rtol=1e-4, atol=1e-6)
            except AssertionError as e:
                raise AssertionError(f"{name}: {e}") from e


def test_lapack_custom_calls_under_jit():
    """Under jit the linalg ops lower to the LAPACK custom calls JAX uses."""
    def targets(text):
        return set(re.findall(r'custom_call @?"?(\w+)', text)) | \
            set(re.findall(r'call_target_name = "(\w+)"', text))
    for ours, theirs, x in [(P.cholesky, L.cholesky, S33), (P.qr, L.qr, A43), (P.eigh, L.eigh, S33),
                            (P.svd, L.svd, A43), (P.lu, L.lu, A43)]:
        got = targets(jit(ours).lower(x).as_text())
        want = targets(jax.jit(theirs).lower(x).as_text())
        assert want and got == want, (ours, got, want)


def test_errors_are_typed():
    with pytest.raises(ShapeError, match=r"cholesky requires square matrices.*f32\[4,3\]"):
        P.cholesky(A43)
    with pytest.raises(ShapeError, match=r"eigh requires square"):
        jit(P.eigh)(A43)
    with pytest.raises(ShapeError, match=r"rank >= 2"):
        P.svd(np.ones(3, np.float32))
    with pytest.raises(FxTypeError, match=r"qr requires a floating-point matrix.*i32"):
        P.qr(np.ones((3, 3), np.int32))
    with pytest.raises(FxTypeError, match=r"lu requires a floating-point matrix.*bool"):
        P.lu(np.ones((3, 3), np.bool_))
    with pytest.raises(ShapeError, match=r"triangular_solve: incompatible shapes"):
        P.triangular_solve(A33, _arr(4, 2), left_side=True)
    with pytest.raises(FxTypeError, match=r"one dtype"):
        P.triangular_solve(A33, jnp.ones((3, 3), jnp.bfloat16), left_side=True)
    with pytest.raises(ShapeError, match=r"permutation_size 2 is smaller"):
        P.lu_pivots_to_permutation(np.zeros(3, np.int32), 2)
    with pytest.raises(NotImplementedError, match="subset_by_index"):  # as JAX on CPU
        P.eigh(S33, subset_by_index=(1, 3))
    with pytest.raises(NotImplementedError, match="pivoting"):
        P.qr(A33, pivoting=True)
    with pytest.raises(NotImplementedError, match="full matrices"):
        jvp(P.svd, (A43,), (A43,))
