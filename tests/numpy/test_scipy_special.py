"""primitives.scipy.special against jax.scipy.special: values and dtypes of
every function (eager, one jit for all, the traced graph), edge cases
(xlogy(0, 0), entr(x < 0), poles, tails), gradients against jax.grad
(custom_jvp conventions included) and vmap against a loop."""
from __future__ import annotations

import jax
import jax.scipy.special as jsp
import numpy as np
import pytest

from primitives.scipy import special as fsp
from tests.oracle import (Case, assert_cases_same_as_jax, assert_trees_close,
                          assert_vmap_matches_loop)
from scipy_cases import assert_grad_rows_same_as_jax
from transforms import grad, jit

rng = np.random.default_rng(0)
X = rng.normal(size=(2, 3)).astype(np.float32) * 2
POS = rng.uniform(0.5, 3.0, size=(2, 3)).astype(np.float32)
POS2 = rng.uniform(0.5, 3.0, size=(2, 3)).astype(np.float32)
UNIT = rng.uniform(0.05, 0.95, size=(2, 3)).astype(np.float32)
ZEROS = np.array([0.0, 0.0, 1.0, 2.0, 0.0], np.float32)
YS = np.array([0.0, np.nan, 0.0, 3.0, -1.0], np.float32)
GAMMA_EDGE = np.array([-np.inf, -2.0, -1.5, -0.0, 0.0, 0.5, 4.0, np.inf, np.nan], np.float32)
TAILS = np.array([-40.0, -12.0, -3.0, 0.0, 4.0, 7.0], np.float32)
Q = np.array([0.0, 1e-6, 0.02, 0.5, 0.97, 1.0], np.float32)
SPENCE = np.array([-1.0, 0.0, 0.3, 0.5, 1.0, 1.7, 3.0], np.float32)


def same(name, *args, tag="", **kw):
    return Case(name + tag, lambda *a: getattr(fsp, name)(*a, **kw),
                lambda *a: getattr(jsp, name)(*a, **kw), args)


CASES = [
    same("gammaln", X), same("gammaln", np.array([1, 2, 5], np.int32), tag="_int"),
    same("gammasgn", GAMMA_EDGE), same("loggamma", GAMMA_EDGE), same("gamma", GAMMA_EDGE),
    same("gamma", X, tag="_x"), same("betaln", POS, POS2 * 5), same("beta", X, POS),
    same("factorial", np.array([-1.0, 0.0, 3.0, 4.5], np.float32)),
    same("comb", np.array([5.0, 6.0, 3.0], np.float32), np.array([2.0, 7.0, -1.0], np.float32)),
    same("comb", np.array([5.0, 6.0], np.float32), np.float32(2.0), tag="_rep", repetition=True),
    same("betainc", POS, POS2, UNIT), same("digamma", X), same("gammainc", POS, POS2),
    same("gammaincc", POS, POS2), same("erf", X), same("erfc", X), same("erfinv", UNIT * 2 - 1),
    same("logit", UNIT), same("expit", X), same("logsumexp", X), same("logsumexp", X, tag="_ax", axis=1),
    same("softmax", X, tag="_ax", axis=0), same("log_softmax", X),
    same("xlogy", ZEROS, YS), same("xlog1py", ZEROS, YS), same("xlogy", 2, POS, tag="_pyint"),
    same("entr", np.array([-1.0, 0.0, 0.5, 2.0], np.float32)),
    same("kl_div", ZEROS, np.abs(YS)), same("rel_entr", ZEROS, YS),
    same("boxcox", POS, np.array([0.0, 0.5, -1.0], np.float32)),
    same("boxcox1p", POS, np.array([0.0, 0.5, -1.0], np.float32)),
    same("multigammaln", POS + 2, d=3), same("zeta", POS + 1.5, POS2),
    same("polygamma", np.array([0, 1, 3], np.int32), POS), same("ndtr", TAILS),
    same("ndtri", Q), same("log_ndtr", TAILS), same("log_ndtr", TAILS, tag="_so", series_order=5),
    same("i0", X), same("i0e", X), same("i1", X), same("i1e", X), same("spence", SPENCE),
    same("poch", POS, np.array([0.0, 1.5, 2.0], np.float32)),
    same("gammaln", 2.5, tag="_py"),
    same("erfcx", np.array([-3.0, -0.5, 0.0, 1.0, 9.0, 30.0], np.float32)),
    same("dawsn", np.array([-7.0, -4.0, -0.5, 0.0, 1.0, 3.3, 5.0, 10.0], np.float32)),
    same("bessel_jn", POS * 3, v=2, n_iter=15),
]


def test_values_same_as_jax():
    assert_cases_same_as_jax(CASES, rtol=2e-5, atol=1e-6,
                             eager={"gammaln", "xlogy", "ndtri", "log_ndtr", "zeta", "spence"})


def jax_grad_of(m):
    """d/dz J_1(z) by our grad (module fsp) or jax.grad (jsp): through the scan."""
    g = grad if m is fsp else jax.grad
    return lambda x: g(lambda z: m.bessel_jn(z, v=1)[1].sum())(x)


def test_weak_types_and_x64_dtypes():
    """A Python scalar gives a weak result as in JAX; float64 inputs stay float64."""
    for name, args in [("gammaln", (2.5,)), ("xlogy", (2.0, 3.0)), ("expit", (0.5,)),
                       ("gammainc", (2.0, 1.0)), ("gamma", (0.4,)), ("ndtr", (0.4,)),
                       ("boxcox", (2.5, 0.5)), ("poch", (2.5, 0.5)), ("entr", (0.5,))]:
        # JAX's eager result type is its abstract eval's: eval_shape, no compile
        ours, theirs = getattr(fsp, name)(*args), jax.eval_shape(getattr(jsp, name), *args)
        assert ours.weak_type == theirs.weak_type and ours.dtype == theirs.dtype, name
    with jax.enable_x64(True):  # one jit per side
        x = np.array([0.3, 1.7], np.float64)

        def rows(m, x):
            return [m.gammaln(x), m.ndtri(x / 2), m.log_ndtr(x - 20), m.erfinv(x / 2), m.i1e(x),
                    m.bessel_jn(x * 4, v=3), jax_grad_of(m)(x)]
        assert_trees_close(jit(lambda x: rows(fsp, x))(x), jax.jit(lambda x: rows(jsp, x))(x),
                           rtol=1e-12, atol=1e-14, what="float64")


GRADS = [  # (name, fn of module, argnums, args)
    ("gammaln", lambda m: lambda x: m.gammaln(x).sum(), 0, (POS,)),
    ("gamma", lambda m: lambda x: m.gamma(x).sum(), 0, (X,)),
    ("betaln", lambda m: lambda a, b: m.betaln(a, b).sum(), (0, 1), (POS, POS2 * 5)),
    ("gammainc", lambda m: lambda a, x: m.gammainc(a, x).sum(), (0, 1), (POS, POS2)),
    ("betainc_x", lambda m: lambda x: m.betainc(POS, POS2, x).sum(), 0, (UNIT,)),
    ("logit", lambda m: lambda x: m.logit(x).sum(), 0, (UNIT,)),
    ("xlogy_at_zero", lambda m: lambda x, y: m.xlogy(x, y).sum(), (0, 1), (ZEROS, POS2[0, :1] + YS * 0 + 1)),
    ("xlogy", lambda m: lambda x, y: m.xlogy(x, y).sum(), (0, 1), (POS, POS2)),
    ("xlog1py", lambda m: lambda x, y: m.xlog1py(x, y).sum(), (0, 1), (ZEROS, np.abs(YS[[0, 2, 2, 3, 3]]))),
    ("entr", lambda m: lambda x: m.entr(x).sum(), 0, (np.array([0.0, 0.5, 2.0], np.float32),)),
    ("rel_entr", lambda m: lambda p, q: m.rel_entr(p, q).sum(), (0, 1), (POS, POS2)),
    ("zeta", lambda m: lambda x, q: m.zeta(x, q).sum(), (0, 1), (POS + 1.5, POS2)),
    ("polygamma", lambda m: lambda x: m.polygamma(np.array([0, 1, 2], np.int32), x).sum(), 0, (POS,)),
    ("ndtr", lambda m: lambda x: m.ndtr(x).sum(), 0, (TAILS,)),
    ("ndtri", lambda m: lambda q: m.ndtri(q).sum(), 0, (Q[1:-1],)),
    ("log_ndtr", lambda m: lambda x: m.log_ndtr(x).sum(), 0, (TAILS,)),
    ("i0_i1", lambda m: lambda x: (m.i0(x) + m.i1e(x) + m.i0e(x) + m.i1(x)).sum(), 0, (X,)),
    ("poch", lambda m: lambda z, n: m.poch(z, n).sum(), (0, 1), (POS, POS2)),
    ("multigammaln", lambda m: lambda a: m.multigammaln(a, 3).sum(), 0, (POS + 2,)),
    ("logsumexp", lambda m: lambda x: m.logsumexp(x, axis=1).sum(), 0, (X,)),
    ("boxcox", lambda m: lambda x, lm: m.boxcox(x, lm).sum(), (0, 1), (POS, UNIT)),
    ("spence", lambda m: lambda x: m.spence(x).sum(), 0, (SPENCE[2:],)),
    ("erfcx_dawsn", lambda m: lambda x: (m.erfcx(x) + m.dawsn(x)).sum(), 0, (X,)),
]


def test_grads_same_as_jax():
    """Every row's gradient: ours in ONE transforms.jit, JAX's in ONE jax.jit."""
    assert_grad_rows_same_as_jax(GRADS, fsp, jsp)


EDGE_GRADS = [  # JAX's conventions at the edges (custom_jvp rules)
    ("xlogy_dy_at_x0", lambda m, g: g(lambda y: m.xlogy(0.0, y))(2.0)),   # 0
    ("xlogy_dx_at_x0", lambda m, g: g(lambda x: m.xlogy(x, 2.0))(0.0)),   # log 2
    ("xlogy_dx_at_00", lambda m, g: g(lambda x: m.xlogy(x, 0.0))(0.0)),   # -inf
    ("entr_at_0", lambda m, g: g(lambda x: m.entr(x))(0.0)),              # -inf
    ("logit_at_half", lambda m, g: g(lambda x: m.logit(x))(0.5)),
    ("log_ndtr_far_tail", lambda m, g: g(lambda x: m.log_ndtr(x))(np.float32(-50.0))),
]


def test_custom_jvp_edges():
    # JAX's values from one jax.jit (eagerly each op of each grad compiles on its own)
    expected = jax.jit(lambda: [fn(jsp, jax.grad) for _, fn in EDGE_GRADS])()
    for (name, fn), want in zip(EDGE_GRADS, expected):
        assert_trees_close(fn(fsp, grad), want, rtol=1e-5, what=name)


def test_vmap_matches_loop():
    for fn, args, in_axes in [
            (fsp.xlogy, (ZEROS, np.abs(YS)), (0, 0)),
            (lambda a: fsp.multigammaln(a, 2), (POS + 1,), 1),
            (fsp.log_ndtr, (TAILS,), 0),
            (lambda x, y: grad(lambda u: fsp.xlogy(u, y).sum())(x), (ZEROS, YS + 2), (0, 0)),
            (fsp.poch, (POS, POS2), (1, 1)),
            (lambda z: fsp.bessel_jn(z, v=1, n_iter=15), (POS,), 1)]:
        assert_vmap_matches_loop(fn, in_axes, *args, jit=True)


def test_errors_as_jax():
    for call, exc in [(lambda m: m.zeta(2.0), NotImplementedError),
                      (lambda m: m.polygamma(1.5, 2.0), ValueError),
                      (lambda m: m.ndtr(np.array([1, 2], np.int32)), TypeError),
                      (lambda m: m.log_ndtr(np.float32(1.0), series_order=-1), ValueError),
                      (lambda m: m.log_ndtr(np.float32(1.0), series_order=1.5), TypeError),
                      (lambda m: m.factorial(3, exact=True), NotImplementedError),
                      (lambda m: m.bernoulli(-1), ValueError)]:
        with pytest.raises(exc):
            call(jsp)
        with pytest.raises(exc):
            call(fsp)


def test_bernoulli_numbers():
    for n in (2, 7):
        assert_trees_close(fsp.bernoulli(n), jsp.bernoulli(n), rtol=1e-5, what=f"bernoulli({n})")
