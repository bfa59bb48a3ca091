"""primitives.scipy.linalg against jax.scipy.linalg: values and dtypes (eager,
jit, Graph) in one table, gradients vs JAX's, vmap vs a loop, errors."""
import numpy as np
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import pytest

import primitives.numpy as fnp
import primitives.scipy.linalg as fsl
from oracle import assert_cases_same_as_jax, assert_trees_close, assert_vmap_matches_loop
from transforms import grad, jit


def _arr(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-2, 2, shape).astype(np.float32)


def _spd(n=3, seed=0):
    a = np.random.RandomState(seed).uniform(-1, 1, (n, n))
    return (a @ a.T + n * np.eye(n)).astype(np.float32)


A, S, W = _arr(3, 3), _spd(), _arr(4, 3, seed=1)
TRI = np.triu(_arr(3, 3, seed=2)) + 3 * np.eye(3, dtype=np.float32)
B = _arr(2, 3, 3, seed=3)
V3, V4 = _arr(3, seed=4), _arr(4, seed=5)

# (name, f(m, *args), args): m is the scipy.linalg module (ours or jax's)
TABLE = [
    ("cholesky", lambda m, x: m.cholesky(x), (S,)),
    ("cholesky_lower", lambda m, x: m.cholesky(x, lower=True), (S,)),
    ("cho_solve", lambda m, x, b: m.cho_solve(m.cho_factor(x), b), (S, W[:3])),
    ("cho_solve_lower_vec", lambda m, x, b: m.cho_solve(m.cho_factor(x, lower=True), b), (S, V3)),
    ("solve_triangular", lambda m, a, b: m.solve_triangular(a, b), (TRI, W[:3])),
    ("solve_triangular_T", lambda m, a, b: m.solve_triangular(a, b, trans="T"), (TRI, V3)),
    ("solve_triangular_lower_unit", lambda m, a, b: m.solve_triangular(
        a, b, trans=1, lower=True, unit_diagonal=True), (TRI.T, W[:3])),
    ("lu", lambda m, x: m.lu(x), (W,)), ("lu_square", lambda m, x: m.lu(x), (A,)),
    ("lu_permute_l", lambda m, x: m.lu(x, permute_l=True), (W.T,)),
    ("lu_factor", lambda m, x: m.lu_factor(x), (A,)),
    ("lu_solve", lambda m, x, b: m.lu_solve(m.lu_factor(x), b), (A, W[:3])),
    ("lu_solve_T_vec", lambda m, x, b: m.lu_solve(m.lu_factor(x), b, trans=1), (A, V3)),
    ("eigh", lambda m, x: m.eigh(x), (S,)),
    ("eigh_values_upper", lambda m, x: m.eigh(x, lower=False, eigvals_only=True), (A,)),
    ("svd", lambda m, x: m.svd(x), (W,)),
    ("svd_thin", lambda m, x: m.svd(x, full_matrices=False), (W,)),
    ("svd_values", lambda m, x: m.svd(x, compute_uv=False), (W,)),
    ("qr", lambda m, x: m.qr(x), (W,)),
    ("qr_economic", lambda m, x: m.qr(x, mode="economic"), (W,)),
    ("qr_r", lambda m, x: m.qr(x, mode="r"), (W.T,)),
    ("inv", lambda m, x: m.inv(x), (A,)), ("det", lambda m, x: m.det(x), (B,)),
    ("solve", lambda m, a, b: m.solve(a, b), (A, W[:3])),
    ("solve_pos", lambda m, a, b: m.solve(a, b, assume_a="pos"), (S, V3)),
    ("solve_pos_lower", lambda m, a, b: m.solve(a, b, lower=True, assume_a="pos"), (S, W[:3])),
    ("block_diag", lambda m, a, b, c: m.block_diag(a, b, c), (A, W, V4)),
    ("block_diag_scalar", lambda m, a: m.block_diag(a, 2.0), (W,)),
    ("block_diag_empty", lambda m: m.block_diag(), ()),
    ("expm_small", lambda m, x: m.expm(x / 8), (A,)),
    ("expm_big", lambda m, x: m.expm(x * 3), (A,)),
    ("expm_batch", lambda m, x: m.expm(x), (B,)),
    ("expm_triangular", lambda m, x: m.expm(x, upper_triangular=True), (TRI / 3,)),
    ("expm_nan", lambda m, x: m.expm(x * 1e6, max_squarings=4), (A,)),
    ("toeplitz", lambda m, c, r: m.toeplitz(c, r), (V3, V4)),
    ("toeplitz_sym", lambda m, c: m.toeplitz(c), (V4,)),
    ("hankel", lambda m, c, r: m.hankel(c, r), (V3, V4)),
    ("hankel_c", lambda m, c: m.hankel(c), (V4,)),
    ("circulant", lambda m, c: m.circulant(c), (V4,)),
    ("hilbert", lambda m: m.hilbert(4), ()),
]


def test_values_match_jax():
    cases = [(name, (lambda f: lambda *a: f(fsl, *a))(f), (lambda f: lambda *a: f(jsl, *a))(f),
              args) for name, f, args in TABLE]
    assert_cases_same_as_jax(cases, rtol=5e-5, atol=5e-5, eager="first")


def test_float64_expm():
    with jax.enable_x64(True):
        cases = [("det64", fsl.det, jsl.det, (A.astype(np.float64),))]  # the eager one
        cases += [(f"expm64_{s}", (lambda s: lambda x: fsl.expm(x * s))(s),
                   (lambda s: lambda x: jsl.expm(x * s))(s), (A.astype(np.float64),))
                  for s in (0.005, 0.5, 3.0)]
        assert_cases_same_as_jax(cases, rtol=1e-10, atol=1e-10, eager="first")


def _w(shape, seed):
    return np.random.RandomState(seed + 40).uniform(-1, 1, shape).astype(np.float32)


GRAD = [
    ("cho_solve", lambda m, x: m.cho_solve(m.cho_factor(x), W[:3]), S),
    ("solve_triangular", lambda m, x: m.solve_triangular(x, W[:3], lower=False), TRI),
    ("lu_solve", lambda m, x: m.lu_solve(m.lu_factor(x), V3), A),
    ("lu", lambda m, x: m.lu(x), W), ("solve_pos", lambda m, x: m.solve(x, V3, assume_a="pos"), S),
    ("expm", lambda m, x: m.expm(x / 2), A), ("block_diag", lambda m, x: m.block_diag(x, x.T), W),
    ("toeplitz", lambda m, x: m.toeplitz(x[0], x[1]), W),
]


def test_grads_match_jax():
    shapes = [[np.shape(o) for o in jax.tree_util.tree_leaves(f(jsl, x))] for _, f, x in GRAD]

    def scalar(m, npm, f, i, s):
        def g(x):
            outs = jax.tree_util.tree_leaves(f(m, x), is_leaf=lambda o: hasattr(o, "shape"))
            return sum(npm.sum(o * _w(sh, i + k)) for k, (o, sh) in enumerate(zip(outs, s)))
        return g

    def run(m, npm, grad_fn):
        return lambda xs: [grad_fn(scalar(m, npm, f, i, s))(x)
                           for i, ((_, f, _), s, x) in enumerate(zip(GRAD, shapes, xs))]
    xs = [x for _, _, x in GRAD]
    got = jit(run(fsl, fnp, grad))(xs)
    want = jax.jit(run(jsl, jnp, jax.grad))(xs)
    for (name, _, _), g, w in zip(GRAD, got, want):
        if name == "cho_solve" and jax.__version_info__ < (0, 11):
            # cho_factor reads the upper triangle only: its gradient is zero below the
            # diagonal (ours, jax >= 0.11); jax <= 0.10 spread it over both triangles,
            # with the same sums g[i, j] + g[j, i]
            g, w = np.asarray(g), np.asarray(w)
            assert not np.tril(g, -1).any(), "grad cho_solve: nonzero below the diagonal"
            g, w = g + g.T, w + w.T
        assert_trees_close(g, w, rtol=2e-3, atol=2e-3, what=f"grad {name}")


def test_vmap_matches_loop():
    for name, fn, in_axes, args in [
        ("cho_solve", lambda x, b: fsl.cho_solve(fsl.cho_factor(x), b), (None, 0), (S, _arr(2, 3))),
        ("lu_solve", lambda x, b: fsl.lu_solve(fsl.lu_factor(x), b), (0, 0), (B, _arr(2, 3, 2))),
        ("solve_triangular", lambda a, b: fsl.solve_triangular(a, b), (0, None),
         (np.stack([TRI, TRI.T.T * 2]), V3)),
        ("expm", lambda x: fsl.expm(x / 4), 0, (B,)),
        ("lu", fsl.lu, 0, (B,)),
    ]:
        assert_vmap_matches_loop(fn, in_axes, *args, rtol=1e-4, atol=1e-4, jit=True,
                                 what=f"vmap vs loop: {name}")


def test_errors():
    with pytest.raises(ValueError, match="Invalid 'trans'"):
        fsl.solve_triangular(TRI, V3, trans=3)
    with pytest.raises(ValueError, match="assume_a"):
        fsl.solve(A, V3, assume_a="banded")
    with pytest.raises(ValueError, match="Unsupported QR decomposition mode"):
        fsl.qr(W, mode="raw")
    with pytest.raises(ValueError, match="at most 2 dimensions"):
        fsl.block_diag(B)
    with pytest.raises(ValueError, match="square matrix"):
        fsl.expm(W)
    with pytest.raises(NotImplementedError, match="b=None"):
        fsl.eigh(S, S)
