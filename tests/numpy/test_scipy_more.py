"""primitives.scipy beyond special and stats against jax.scipy: optimize
(minimize: BFGS and L-BFGS iterates), the rest of linalg, integrate, ndimage,
interpolate, cluster and stats' sample statistics. Values and dtypes (eager,
jit, Graph), gradients vs JAX's, vmap vs a loop, errors."""
import numpy as np
import jax
import jax.numpy as jnp
import jax.scipy as jsp
import jax.scipy.linalg as jsl
import jax.scipy.optimize as jso
import pytest

import primitives.numpy as fnp
import primitives.random as frandom
import primitives.scipy as fsp
import primitives.scipy.linalg as fsl
import primitives.scipy.optimize as fso
from oracle import assert_cases_same_as_jax, assert_trees_close, assert_vmap_matches_loop
from transforms import grad, jit, vmap


def _arr(*shape, seed=0, lo=-2, hi=2):
    return np.random.RandomState(seed).uniform(lo, hi, shape).astype(np.float32)


A, W = _arr(3, 3), _arr(4, 3, seed=1)
B = _arr(2, 3, 3, seed=3)
V4, V5 = _arr(4, seed=4), _arr(5, seed=5)
SYM = (A + A.T) / 2
ROT = np.array([[0, -2, 1], [1, 0, 0.5], [0.3, 0.2, 1]], np.float32)  # complex eigenvalues


# --- optimize ------------------------------------------------------------------------------------
def _rosen(np_):
    return lambda x: np_.sum(100. * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def _quad(np_):
    return lambda x, a: np_.sum(a * (x - 1.5) ** 2) + 0.1 * np_.sum(x) ** 2


BFGS, LBFGS = "BFGS", "l-bfgs-experimental-do-not-rely-on-this"
QA = np.array([1., 3., 10.], np.float32)
X2 = np.stack([np.zeros(3, np.float32), np.full(3, 3., np.float32)])
X3 = np.array([[-1.2, 1., 0.5], [0.9, 0.8, 0.7]], np.float32)


def _opt_cases(np_, minimize, vmap_, xs, x0, lbfgs=False):
    """Each case's OptimizeResults as a plain tuple (ours and JAX's are distinct classes)."""
    out = {"rosen_bfgs_vmap": tuple(vmap_(lambda x: minimize(_rosen(np_), x, method=BFGS))(xs))}
    if lbfgs:
        out["quad_lbfgs_maxiter"] = tuple(minimize(_quad(np_), x0, (QA,), method=LBFGS,
                                                   options={"maxiter": 3, "maxcor": 2}))
    return out


def test_minimize_iterates_match_jax():
    """x, fun, jac, hess_inv, nit, nfev, njev, status, success: as JAX's, under jit (ours
    vmapped as JAX's: Rosenbrock from two starts) and eagerly (L-BFGS on a quadratic,
    stopped by maxiter). Each minimize compiles to a large program (nested while
    loops), so the cases are few."""
    want = jax.jit(lambda xs, x0: _opt_cases(jnp, jso.minimize, jax.vmap, xs, x0, True))(X3, X2[1])
    got = jit(lambda xs, x0: _opt_cases(fnp, fso.minimize, vmap, xs, x0))(X3, X2[1])
    assert_trees_close(got["rosen_bfgs_vmap"], want["rosen_bfgs_vmap"], rtol=1e-5, atol=1e-6,
                       what="vmap(minimize) under jit")
    assert list(want["rosen_bfgs_vmap"][2]) == [3, 0]     # a failed zoom, converged
    eager = fso.minimize(_quad(fnp), X2[1], (QA,), method=LBFGS,
                         options={"maxiter": 3, "maxcor": 2})
    assert_trees_close(tuple(eager), want["quad_lbfgs_maxiter"], rtol=1e-5, atol=1e-6,
                       what="eager L-BFGS")
    assert int(eager.status) == 1 and int(eager.nit) == 4 and eager.hess_inv is None
    assert isinstance(eager, fso.OptimizeResults) and eager._fields == jso.OptimizeResults._fields


def test_minimize_errors():
    with pytest.raises(TypeError, match="must be a tuple"):
        fso.minimize(_quad(fnp), X2[0], QA, method=BFGS)
    with pytest.raises(ValueError, match="not recognized"):
        fso.minimize(_quad(fnp), X2[0], (QA,), method="Nelder-Mead")
    with pytest.raises(TypeError, match="scalar"):
        fso.minimize(lambda x: x * 2, X2[0], method=BFGS)


# --- linalg --------------------------------------------------------------------------------------
LINALG = [  # (name, f(m, *args), args): m is scipy.linalg (ours or jax's)
    ("companion", lambda m, a: m.companion(a), (V4,)),
    ("companion_batch", lambda m, a: m.companion(a), (W,)),
    ("convolution_full", lambda m, a: m.convolution_matrix(a, 4), (V5,)),
    ("convolution_same", lambda m, a: m.convolution_matrix(a, 3, "same"), (W,)),
    ("convolution_valid", lambda m, a: m.convolution_matrix(a, 6, "valid"), (V4,)),
    ("fiedler", lambda m, a: m.fiedler(a), (V4,)),
    ("fiedler_int", lambda m, a: m.fiedler(a), (np.array([1, 4, 12, 45], np.int32),)),
    ("fiedler_companion", lambda m, a: m.fiedler_companion(a), (V5,)),
    ("fiedler_companion_batch", lambda m, a: m.fiedler_companion(a), (W,)),
    ("fiedler_companion_2", lambda m, a: m.fiedler_companion(a), (V4[:2],)),
    ("hadamard_helmert", lambda m: [m.hadamard(4), m.hadamard(8, jnp.float32), m.helmert(5),
                                    m.helmert(4, True)], ()),
    ("pascal", lambda m: [m.invhilbert(4), m.pascal(5), m.pascal(4, "lower"), m.invpascal(5),
                          m.invpascal(4, "upper")], ()),
    ("leslie", lambda m, f, s: m.leslie(f, s), (V4, V4[:3])),
    ("leslie_batch", lambda m, f, s: m.leslie(f, s), (W, W[:, :2])),
    ("dft", lambda m: m.dft(4), ()), ("dft_sqrtn", lambda m: m.dft(3, "sqrtn"), ()),
    ("expm_frechet", lambda m, a, e: m.expm_frechet(a / 2, e), (A, W[:3])),
    ("hessenberg", lambda m, a: m.hessenberg(a), (_arr(4, 4, seed=8),)),
    ("hessenberg_q", lambda m, a: m.hessenberg(a, calc_q=True), (B,)),
    ("polar", lambda m, a: m.polar(a), (W,)),
    ("polar_svd", lambda m, a: m.polar(a, method="svd"), (B,)),
    ("polar_svd_left", lambda m, a: m.polar(a, "left", method="svd"), (A,)),
    ("qr_multiply", lambda m, a, c: m.qr_multiply(a, c), (W, A[:2, :].repeat(2, 1)[:, :4])),
    ("qr_multiply_left", lambda m, a, c: m.qr_multiply(a, c, mode="left"), (W, A)),
    ("qr_multiply_vec", lambda m, a, c: m.qr_multiply(a, c), (W, V4)),
    ("qr_multiply_conj", lambda m, a, c: m.qr_multiply(a, c, "left", conjugate=True), (A, W.T)),
    ("eigh_tridiagonal", lambda m, d, e: m.eigh_tridiagonal(d, e, eigvals_only=True, select="i",
                                                            select_range=(1, 3)), (V5, V4)),
    ("eigh_tridiagonal_cluster", lambda m, d, e: m.eigh_tridiagonal(d, e),   # close eigenvalues
     (np.array([1., 2., 2., 2., 3.], np.float32), np.array([.5, 1e-7, 1e-7, .5], np.float32))),
    ("schur", lambda m, a: m.schur(a), (SYM,)),
    ("schur_complex", lambda m, a: m.schur(a, output="complex"), (SYM,)),
    ("sqrtm", lambda m, a: m.sqrtm(a), (SYM + 3 * np.eye(3, dtype=np.float32),)),
    ("funm", lambda m, a: m.funm(a, (jnp if m is jsl else fnp).sin, disp=False), (ROT,)),
    ("solve_sylvester", lambda m, a, b, c: m.solve_sylvester(a, b, c),
     (SYM + 4 * np.eye(3, dtype=np.float32), A[:2, :2] + 3 * np.eye(2, dtype=np.float32), W[:3, :2])),
    ("solve_sylvester_eigen", lambda m, a, b, c: m.solve_sylvester(a, b, c, method="eigen"),
     (SYM + 4 * np.eye(3, dtype=np.float32), SYM[:2, :2] + 3 * np.eye(2, dtype=np.float32),
      W[:3, :2])),
]


def test_linalg_values_match_jax():
    cases = [(name, (lambda f: lambda *a: f(fsl, *a))(f), (lambda f: lambda *a: f(jsl, *a))(f),
              args) for name, f, args in LINALG]
    assert_cases_same_as_jax(cases, rtol=2e-4, atol=2e-4, eager="first")


# --- integrate, ndimage, interpolate, cluster, stats ---------------------------------------------
IMG = np.arange(12, dtype=np.float32).reshape(3, 4)
COORDS = [np.array([-0.7, 0.5, 1.5, 2.6, 3.2], np.float32),
          np.array([-1.2, 1.5, 2.5, 3.4, 4.6], np.float32)]
GRID = (np.array([0., 1., 2.5, 4.], np.float32), np.array([-1., 0., 2.], np.float32))
GVALS = _arr(4, 3, seed=9)
XI = np.array([[0.5, -0.5], [3.9, 1.9], [2.5, 0.], [5., 0.], [1.2, 1.]], np.float32)
SAMPLES = np.array([[3., 1., 2.], [1., 1., 2.], [3., 0., 2.], [2., 0., 1.]], np.float32)
RANKS = np.array([3., 1., 3., 2., 7., 2., 3.], np.float32)
KDE1, KDE2 = _arr(7, seed=10), _arr(2, 6, seed=11)

MISC = [  # (name, f(m, *args), args): m is jax.scipy or primitives.scipy
    ("trapezoid", lambda m, y, x: [m.integrate.trapezoid(y), m.integrate.trapezoid(y, x),
                                   m.integrate.trapezoid(y, dx=0.5, axis=0)], (W, V4[:3])),
    ("map_coordinates", lambda m, img, c0, c1: [
        m.ndimage.map_coordinates(img, [c0, c1], order=o, mode=mode, cval=-1.)
        for o, mode in [(0, "constant"), (1, "constant"), (1, "nearest"), (0, "wrap"),
                        (1, "mirror"), (1, "reflect")]],
     (IMG,) + tuple(COORDS)),
    ("map_coordinates_int", lambda m, img, c0, c1: m.ndimage.map_coordinates(
        img, [c0, c1], order=1, mode="nearest"), (IMG.astype(np.int32),) + tuple(COORDS)),
    ("grid_interp", lambda m, g0, g1, v, xi: [
        m.interpolate.RegularGridInterpolator((g0, g1), v)(xi),
        m.interpolate.RegularGridInterpolator((g0, g1), v, method="nearest")(xi),
        m.interpolate.RegularGridInterpolator((g0,), v, fill_value=0.)(xi[:, :1])],
     GRID + (GVALS, XI)),
    ("vq", lambda m, o, c: [m.cluster.vq.vq(o, c), m.cluster.vq.vq(o[:, 0], c[:, 0])],
     (W, A)),
    ("mode", lambda m, s: tuple(m.stats.mode(s, axis=1, keepdims=True)), (SAMPLES,)),
    ("rankdata", lambda m, r: [m.stats.rankdata(r, method) for method in
                               ("average", "ordinal")]
     + [m.stats.rankdata(r.reshape(7, 1).repeat(2, 1), "min", axis=0),
        m.stats.rankdata((jnp if m is jsp else fnp).where(np.arange(7) == 2, np.nan, r))], (RANKS,)),
    ("sem", lambda m, s: [m.stats.sem(s), m.stats.sem(s, axis=None, ddof=0),
                          m.stats.sem(s, axis=1, keepdims=True),
                          m.stats.sem((jnp if m is jsp else fnp).where(s > 2.5, np.nan, s),
                                      nan_policy="omit")], (SAMPLES,)),
    ("gaussian_kde", lambda m, d1, d2, pts: [
        m.stats.gaussian_kde(d1, "silverman").logpdf(pts[0]),
        m.stats.gaussian_kde(d2, 0.7, weights=d1[:6] ** 2).evaluate(pts[:2]),
        m.stats.gaussian_kde(d1).integrate_box_1d(-0.5, 1.),
        m.stats.gaussian_kde(d2).integrate_gaussian(pts[:2, 0], np.eye(2, dtype=np.float32)),
        m.stats.gaussian_kde(d2).integrate_kde(m.stats.gaussian_kde(d2[:, :4] + 1.)),
        m.stats.gaussian_kde(d2).resample((jax.random if m is jsp else frandom).key(1), (3,))],
     (KDE1, KDE2, W.T)),
]


def test_misc_values_match_jax():
    cases = [(name, (lambda f: lambda *a: f(fsp, *a))(f), (lambda f: lambda *a: f(jsp, *a))(f),
              args) for name, f, args in MISC]
    assert_cases_same_as_jax(cases, rtol=2e-5, atol=2e-5,
                             eager=("trapezoid", "sem"))


def _w(shape, seed):
    return np.random.RandomState(seed + 40).uniform(-1, 1, shape).astype(np.float32)


GRAD = [  # (name, f(scipy module, numpy module, x), x): differentiable in JAX
    ("trapezoid", lambda m, np_, x: m.integrate.trapezoid(x, V4 * 3, axis=0), W),
    ("map_coordinates", lambda m, np_, x: m.ndimage.map_coordinates(
        x, [COORDS[0] * 0.9, COORDS[1] * 0.9], order=1, mode="mirror"), IMG),
    ("map_coordinates_coords", lambda m, np_, x: m.ndimage.map_coordinates(
        IMG, [x[0], x[1]], order=1, mode="nearest"), np.stack(COORDS)[:, 1:4]),
    ("grid_interp", lambda m, np_, x: m.interpolate.RegularGridInterpolator(GRID, x)(XI), GVALS),
    ("sem", lambda m, np_, x: m.stats.sem(x), W),
    ("kde_logpdf", lambda m, np_, x: m.stats.gaussian_kde(KDE1).logpdf(x), V4),
    ("companion_leslie", lambda m, np_, x: [m.linalg.companion(x), m.linalg.leslie(x, x[1:])],
     V4 + 3),
    ("polar_svd", lambda m, np_, x: m.linalg.polar(x, method="svd"), A),
    ("convolution_matrix", lambda m, np_, x: m.linalg.convolution_matrix(x, 3, "same"), V5),
]


def test_grads_match_jax():
    shapes = [[np.shape(o) for o in jax.tree_util.tree_leaves(f(jsp, jnp, x))] for _, f, x in GRAD]

    def scalar(m, np_, f, i, s):
        def g(x):
            outs = jax.tree_util.tree_leaves(f(m, np_, x), is_leaf=lambda o: hasattr(o, "shape"))
            return sum(np_.sum(o * _w(sh, i + k)) for k, (o, sh) in enumerate(zip(outs, s)))
        return g

    def run(m, np_, grad_fn):
        return lambda xs: [grad_fn(scalar(m, np_, f, i, s))(x)
                           for i, ((_, f, _), s, x) in enumerate(zip(GRAD, shapes, xs))]
    xs = [x for _, _, x in GRAD]
    got = jit(run(fsp, fnp, grad))(xs)
    want = jax.jit(run(jsp, jnp, jax.grad))(xs)
    for (name, _, _), g, w in zip(GRAD, got, want):
        assert_trees_close(g, w, rtol=2e-3, atol=2e-3, what=f"grad {name}")


def test_vmap_matches_loop():
    for name, fn, in_axes, args in [
        ("map_coordinates", lambda img, c: fsp.ndimage.map_coordinates(img, [c, c[::-1]], order=1),
         (0, 1), (np.stack([IMG, IMG * 2]), np.stack(COORDS, 1))),
        ("vq", lambda o: fsp.cluster.vq.vq(o, A), 0, (np.stack([W, W[::-1]]),)),
        ("rankdata", lambda r: fsp.stats.rankdata(r), 0, (np.stack([RANKS, RANKS[::-1]]),)),
        ("hessenberg_q", lambda a: fsl.hessenberg(a, calc_q=True), 0, (B,)),
        ("schur", lambda a: fsl.schur(a), 0, (B,)),
        ("grid_interp", lambda v: fsp.interpolate.RegularGridInterpolator(GRID, v)(XI), 2,
         (np.stack([GVALS, GVALS + 1], 2),)),
    ]:
        assert_vmap_matches_loop(fn, in_axes, *args, rtol=1e-5, atol=1e-5, jit=True,
                                 what=f"vmap vs loop: {name}")


def test_errors():
    with pytest.raises(ValueError, match="power of 2"):
        fsl.hadamard(6)
    with pytest.raises(ValueError, match="one less"):
        fsl.leslie(V4, V4)
    with pytest.raises(ValueError, match="mode must be one of"):
        fsl.convolution_matrix(V4, 3, "circular")
    with pytest.raises(ValueError, match="output"):
        fsl.schur(A, output="neither")
    with pytest.raises(NotImplementedError, match="order<=1"):
        fsp.ndimage.map_coordinates(IMG, COORDS, order=3)
    with pytest.raises(ValueError, match="unknown method"):
        fsp.stats.rankdata(RANKS, "first")
    with pytest.raises(NotImplementedError, match="not implemented"):
        fsp.stats.mode(SAMPLES, nan_policy="omit")
    with pytest.raises(ValueError, match="not defined"):
        fsp.interpolate.RegularGridInterpolator(GRID, GVALS, method="cubic")
    with pytest.raises(ValueError, match="same rank"):
        fsp.cluster.vq.vq(W, V4)
    with pytest.raises(NotImplementedError, match="select='v'"):
        fsl.eigh_tridiagonal(V4, V4[:3], select="v")
    for f in (fsl.hessenberg, fsl.schur):
        with pytest.raises(Exception, match="square"):
            f(W)
