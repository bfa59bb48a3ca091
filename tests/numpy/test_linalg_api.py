"""fnp.linalg (decompositions, solvers, array-API names, SVD norms) against
jax.numpy.linalg: values, dtypes and weak types (eager, jit, Graph) in one
table, gradients vs JAX's (det's and pinv's custom jvps included), vmap vs a
loop, and errors. Results that JAX returns as NamedTuples are compared as
tuples (the classes differ)."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest

import primitives.numpy as fnp
from fnp_check import arr, check_cases
from oracle import assert_trees_close, assert_vmap_matches_loop
from transforms import grad, jit


def _spd(*batch, n=3, seed=0):
    a = np.random.RandomState(seed).uniform(-1, 1, batch + (n, n))
    return jnp.asarray(a @ np.swapaxes(a, -1, -2) + n * np.eye(n), np.float32)


A33, A44, A43, A34 = arr((3, 3)), arr((4, 4), seed=1), arr((4, 3), seed=2), arr((3, 4), seed=3)
S33, SB = _spd(), _spd(2, seed=4)
B233, B243 = arr((2, 3, 3), seed=5), arr((2, 4, 3), seed=6)
V3, V4 = arr((3,), seed=7), arr((4,), seed=8)
RANK2 = jnp.asarray(np.outer([1., 2., 3., 4.], [1., 0., 2.]) + np.outer([0., 1., 0., 1.],
                                                                        [3., 1., 1.]), np.float32)
I33 = jnp.asarray([[4, 1, 0], [1, 3, 1], [0, 1, 2]], np.int32)


def T(f):
    """Compare NamedTuple results as plain tuples."""
    def g(m, *args):
        out = f(m, *args)
        return tuple(out) if isinstance(out, tuple) else out
    return g


def la(name, *static, **kw):
    """``m.linalg.<name>(*arrays, *static, **kw)`` (NamedTuples as tuples)."""
    return T(lambda m, *x: getattr(m.linalg, name)(*x, *static, **kw))


C22, C11 = A33[:2, :2], A33[:1, :1]
CASES = [
    # decompositions
    (la("cholesky"), (S33,)), (la("cholesky"), (SB,)), (la("cholesky", upper=True), (S33,)),
    (la("cholesky", symmetrize_input=False), (I33,)),
    (la("qr"), (A43,)), (la("qr", mode="complete"), (A43,)), (la("qr", mode="complete"), (A34,)),
    (la("qr", mode="r"), (B243,)),
    (la("svd"), (A43,)), (la("svd", False), (B243,)), (la("svd", compute_uv=False), (A34,)),
    (la("svd", hermitian=True), (S33,)), (la("svd", compute_uv=False, hermitian=True), (S33,)),
    (la("svdvals"), (B243,)),
    (la("eigh"), (S33,)), (la("eigh", UPLO="U"), (SB,)),
    (la("eigh", symmetrize_input=False), (I33,)),
    (la("eigvalsh"), (S33,)), (la("eigvalsh", "U"), (A33,)),
    # solvers
    (la("solve"), (A33, A34)), (la("solve"), (A33, V3)), (la("solve"), (B233, A34)),
    (la("solve"), (A33, B233)), (la("solve"), (I33, V3)), (la("solve"), (A33, V4)),
    (la("inv"), (A33,)), (la("inv"), (B233,)), (la("inv"), (A43,)),
    (la("det"), (C22,)), (la("det"), (A33,)), (la("det"), (A44,)), (la("det"), (B233,)),
    (la("det"), (I33,)),
    (la("slogdet"), (C11,)), (la("slogdet"), (C22,)), (la("slogdet"), (A44,)),
    (la("slogdet"), (B233,)), (la("slogdet"), (-S33,)),
    (la("lstsq"), (A43, V4)), (la("lstsq"), (A43, A43)), (la("lstsq", rcond=0.5), (RANK2, V4)),
    (la("pinv"), (A43,)), (la("pinv"), (B243,)), (la("pinv", hermitian=True), (S33,)),
    (la("pinv", rtol=0.3), (RANK2,)),
    # powers, ranks, condition numbers, tensors
    *[(la("matrix_power", n), (A33 / 2,)) for n in (0, 1, 2, 3, 5, -1, -3)],
    (la("matrix_power", 4), (I33,)),
    (la("matrix_rank"), (RANK2,)), (la("matrix_rank"), (B243,)),
    (la("matrix_rank", tol=1.0), (RANK2,)),
    (la("matrix_rank"), (V3,)),
    *[(la("cond", p), (A33,)) for p in (None, 2, -2, 1, -1, np.inf, "fro")],
    (la("cond"), (B243,)),
    (lambda m, a, b, c: m.linalg.multi_dot([a, b, c]), (A43, A33, A34)),
    (lambda m, a, b, c, d: m.linalg.multi_dot([a, b, c, d]), (V4, A43, A34, V4)),
    (lambda m, a, b: m.linalg.multi_dot([a, b]), (A34, V4)),
    (la("tensorinv", ind=2), (A44.reshape(2, 2, 4),)),
    (la("tensorinv", ind=1), (A44.reshape(4, 2, 2),)),
    (la("tensorsolve"), (A44.reshape(2, 2, 4), C22)),
    (la("tensorsolve", axes=(0,)), (A44.reshape(4, 2, 2), C22)),
    # array-API names
    (la("matrix_transpose"), (B243,)), (la("outer"), (V3, V4)),
    (la("cross"), (A43, V3)), (la("cross", axis=0), (A34, V3)),
    (la("vecdot"), (A43, V3)), (la("vecdot", axis=0), (A43, V4)),
    (la("matmul"), (B243, A34)), (la("tensordot", axes=1), (A43, A34)),
    (la("trace"), (B243,)), (la("trace", offset=1, dtype=jnp.int32), (I33,)),
    (la("diagonal"), (B243,)), (la("diagonal", offset=-1), (A43,)),
    # SVD norms
    *[(la("norm", **kw), (x,))
      for kw in (dict(ord=2), dict(ord=-2), dict(ord="nuc"), dict(ord=2, axis=(2, 0)),
                 dict(ord="nuc", axis=(0, 1), keepdims=True),
                 dict(ord=-2, axis=(-1, -2), keepdims=True))
      for x in (A43, B243) if "axis" not in kw or x.ndim == 3],
    (la("matrix_norm", ord=2), (B243,)), (la("matrix_norm", ord="nuc", keepdims=True), (A34,)),
]


def test_values_dtypes_and_weak_types_match_jax():
    assert check_cases(CASES, rtol=2e-4, atol=2e-4) == len(CASES) - 5  # 5 bad-input cases


def test_float64():
    with jax.enable_x64(True):
        a, s = A43.astype(np.float64), S33.astype(np.float64)
        cases = [(lambda m, x: m.linalg.pinv(x), (a,)), (lambda m, x: m.linalg.det(x), (s,)),
                 (lambda m, x, y: m.linalg.solve(x, y), (s, a.T)),
                 (T(lambda m, x: m.linalg.eigh(x)), (s,)), (lambda m, x: m.linalg.norm(x, 2), (a,))]
        assert check_cases(cases, rtol=1e-10, atol=1e-10) == len(cases)


def _w(shape, seed):
    return np.random.RandomState(seed + 30).uniform(-1, 1, shape).astype(np.float32)


GRAD = [  # (name, f(m, x) -> array(s), x): gradients of <w, f(x)>
    ("cholesky", lambda m, x: m.linalg.cholesky(x), S33),
    ("qr", lambda m, x: m.linalg.qr(x), A43),
    ("qr_complete", lambda m, x: m.linalg.qr(x, "complete"), A43),
    ("svd", lambda m, x: m.linalg.svd(x, full_matrices=False), A43),
    ("svdvals", lambda m, x: m.linalg.svdvals(x), A34),
    ("eigh", lambda m, x: m.linalg.eigh(x), S33),
    ("eigvalsh", lambda m, x: m.linalg.eigvalsh(x), A33),
    ("solve", lambda m, x: m.linalg.solve(x, x[:, :2] + 1), A33),
    ("inv", lambda m, x: m.linalg.inv(x), A44),
    ("det2", lambda m, x: m.linalg.det(x), A33[:2, :2]),
    ("det3", lambda m, x: m.linalg.det(x), A33),
    ("det4", lambda m, x: m.linalg.det(x), A44),
    ("det_batch", lambda m, x: m.linalg.det(x), B233),
    ("det_singular", lambda m, x: m.linalg.det(x),  # rank n-1: the cofactor solve's case
     jnp.asarray(np.outer([1., 2, 3, 4], [1., 1, 2, 3]) + np.diag([0., 1, 1, 1]), np.float32)),
    ("slogdet", lambda m, x: m.linalg.slogdet(x)[1], A44),
    ("pinv", lambda m, x: m.linalg.pinv(x), A43),
    ("pinv_wide", lambda m, x: m.linalg.pinv(x), A34),
    ("pinv_herm", lambda m, x: m.linalg.pinv(x, hermitian=True), S33),
    ("lstsq", lambda m, x: m.linalg.lstsq(x, x[:, 0] + 1)[0], A43),
    ("matrix_power", lambda m, x: m.linalg.matrix_power(x, -3), A33),
    ("cond", lambda m, x: m.linalg.cond(x), A33),
    ("norm_nuc", lambda m, x: m.linalg.norm(x, "nuc"), A43),
]


def _scalar(m, f, w_seed, shapes):
    def g(x):
        outs = f(m, x)
        outs = list(outs) if isinstance(outs, tuple) else [outs]
        return sum(m.sum(o * _w(s, w_seed + i)) for i, (o, s) in enumerate(zip(outs, shapes)))
    return g


def test_grads_match_jax():
    """grad of <w, f(x)> vs JAX's (custom jvps of det, slogdet, pinv included): ours in
    one transforms.jit, JAX's in one jax.jit."""
    shapes = [[np.shape(o) for o in jax.tree_util.tree_leaves(f(jnp, x))] for _, f, x in GRAD]

    def run(m, grad_fn):
        def go(xs):
            return [grad_fn(_scalar(m, f, i, s))(x) for i, ((_, f, _), s, x) in
                    enumerate(zip(GRAD, shapes, xs))]
        return go
    xs = [x for _, _, x in GRAD]
    got = jit(run(fnp, grad))(xs)
    want = jax.jit(run(jnp, jax.grad))(xs)
    for (name, _, _), g, w in zip(GRAD, got, want):
        assert_trees_close(g, w, rtol=2e-3, atol=2e-3, what=f"grad {name}")


def test_vmap_matches_loop():
    for name, fn, in_axes, args in [
        ("solve", lambda a, b: fnp.linalg.solve(a, b), (0, None), (B233, V3)),
        ("solve_both", lambda a, b: fnp.linalg.solve(a, b), (0, 1), (B233, arr((3, 2, 4)))),
        ("det", fnp.linalg.det, 0, (arr((2, 4, 4), seed=9),)),
        ("slogdet", lambda x: tuple(fnp.linalg.slogdet(x)), 0, (arr((2, 4, 4), seed=9),)),
        ("pinv", fnp.linalg.pinv, 0, (B243,)),
        ("eigh", lambda x: tuple(fnp.linalg.eigh(x)), 0, (SB,)),
        ("svd", lambda x: tuple(fnp.linalg.svd(x, full_matrices=False)), 1,
         (jnp.moveaxis(B243, 0, 1),)),
        ("qr", lambda x: tuple(fnp.linalg.qr(x)), 0, (B243,)),
        ("lstsq", lambda a, b: fnp.linalg.lstsq(a, b)[0], (0, 0), (B243, arr((2, 4), seed=3))),
        ("norm2", lambda x: fnp.linalg.norm(x, 2), 0, (B243,)),
    ]:
        assert_vmap_matches_loop(fn, in_axes, *args, rtol=1e-4, atol=1e-4, jit=True,
                                 what=f"vmap vs loop: {name}")


def test_errors():
    with pytest.raises(ValueError, match="must have shape"):
        fnp.linalg.det(A43)
    with pytest.raises(ValueError, match="Unsupported QR decomposition mode"):
        fnp.linalg.qr(A43, mode="bad")
    with pytest.raises(ValueError, match="UPLO"):
        fnp.linalg.eigh(S33, UPLO="X")
    with pytest.raises(TypeError, match="exponent must be an integer"):
        fnp.linalg.matrix_power(A33, 1.5)
    with pytest.raises(ValueError, match="at least two arrays"):
        fnp.linalg.multi_dot([A33])
    with pytest.raises(ValueError, match="3-dimensional vectors"):
        fnp.linalg.cross(A43, V4)
    with pytest.raises(ValueError, match="only one of rtol and rcond"):
        fnp.linalg.pinv(A43, rtol=0.1, rcond=0.1)
