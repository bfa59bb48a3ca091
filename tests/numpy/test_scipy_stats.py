"""primitives.scipy.stats against jax.scipy.stats: every function of every
distribution (values and dtypes, eager for a few, all of them in one jit and
one typechecked graph), inputs outside the support, gradients against
jax.grad and vmap against a loop."""
from __future__ import annotations

import inspect

import jax
import jax.scipy.stats as jst
import numpy as np
import pytest

from primitives.scipy import stats as fst
from tests.oracle import (Case, assert_cases_same_as_jax, assert_trees_close,
                          assert_vmap_matches_loop)
from scipy_cases import assert_grad_rows_same_as_jax
from transforms import grad, jit

X = np.array([-0.5, 0.2, 0.7, 1.5, 3.0], np.float32)
Q = np.array([0.0, 0.1, 0.5, 0.9, 1.0], np.float32)
K = np.array([-1.0, 0.0, 1.0, 2.0, 5.0], np.float32)
SIMPLEX = np.array([[0.2, 0.3], [0.5, 0.1], [0.3, 0.6]], np.float32)
COV = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 1.5]], np.float32)
MVN_X = np.array([[0.1, -0.3, 0.5], [1.0, 0.2, -1.0]], np.float32)

# per distribution: arguments of every function ("*"), or of one by name
ARGS = {
    "norm": {"*": (X, 0.5, 2.0), "ppf": (Q, 0.5, 2.0), "isf": (Q, 0.5, 2.0)},
    "beta": {"*": (X / 3, 2.0, 3.0)},
    "gamma": {"*": (X, 2.0)},
    "poisson": {"*": (K, 2.5), "entropy": (np.array([0.0, 1.0, 20.0, 200.0], np.float32),)},
    "bernoulli": {"*": (K, 0.3), "ppf": (Q, 0.3)},
    "binom": {"*": (K, 4.0, 0.3)},
    "t": {"*": (X, 3.0, 0.1, 2.0)},
    "laplace": {"*": (X, 0.1, 2.0)},
    "logistic": {"*": (X, 0.1, 2.0), "ppf": (Q, 0.1, 2.0), "isf": (Q, 0.1, 2.0)},
    "uniform": {"*": (X, -0.2, 2.0), "ppf": (Q, -0.2, 2.0)},
    "expon": {"*": (X, 0.1, 2.0), "ppf": (Q, 0.1, 2.0)},
    "cauchy": {"*": (X, 0.1, 2.0), "ppf": (Q, 0.1, 2.0), "isf": (Q, 0.1, 2.0)},
    "chi2": {"*": (X, 3.0)},
    "geom": {"*": (K, 0.3)},
    "nbinom": {"*": (K, 3.0, 0.4)},
    "pareto": {"*": (X + 1, 2.0), "ppf": (Q, 2.0)},
    "truncnorm": {"*": (X, -0.3, 2.0)},
    "vonmises": {"*": (X, 2.0)},
    "gumbel_l": {"*": (X, 0.1, 2.0), "ppf": (Q, 0.1, 2.0)},
    "gumbel_r": {"*": (X, 0.1, 2.0), "ppf": (Q, 0.1, 2.0)},
    "betabinom": {"*": (K, 4.0, 2.0, 3.0)},
    "gennorm": {"*": (X, 1.5)},
    "wrapcauchy": {"*": (X + 1, 0.4)},
    "dirichlet": {"*": (SIMPLEX, np.array([1.0, 2.0, 3.0], np.float32))},
    "multinomial": {"*": (np.array([1, 2, 3], np.int32), 6, np.array([0.2, 0.3, 0.5], np.float32))},
    "multivariate_normal": {"*": (MVN_X, np.zeros(3, np.float32), COV)},
}
# further rows: batched / scalar-covariance / (K - 1)-entry forms and a float64 row
EXTRA = [
    ("mvn_scalar_cov", lambda m, x: m.multivariate_normal.logpdf(x, np.zeros(3, np.float32), 2.0), (MVN_X,)),
    ("mvn_1d", lambda m, x: m.multivariate_normal.logpdf(x, 0.5, 2.0), (X,)),
    ("mvn_batched_cov", lambda m, x: m.multivariate_normal.logpdf(x, np.zeros(3, np.float32),
                                                                    np.stack([COV, 2 * COV])), (MVN_X,)),
    ("dirichlet_k_minus_1", lambda m, x: m.dirichlet.logpdf(x[:2], np.array([1.0, 2.0, 3.0], np.float32)),
     (SIMPLEX,)),
    ("norm_broadcast", lambda m, x: m.norm.logpdf(x[:, None], np.array([0.0, 1.0], np.float32)), (X,)),
    ("norm_int", lambda m, x: m.norm.cdf(x), (np.array([0, 1, 2], np.int32),)),
]


def jax_functions(module):
    """The public functions JAX defines in a distribution module."""
    return sorted(n for n in dir(module) if not n.startswith("_")
                  and inspect.isfunction(getattr(module, n))
                  and getattr(module, n).__module__.startswith("jax._src.scipy.stats"))


def _cases():
    cases = []
    for dist, args in ARGS.items():
        for fn in jax_functions(getattr(jst, dist)):
            cases.append(Case(f"{dist}.{fn}",
                              lambda *a, d=dist, f=fn: getattr(getattr(fst, d), f)(*a),
                              lambda *a, d=dist, f=fn: getattr(getattr(jst, d), f)(*a),
                              args.get(fn, args["*"])))
    cases += [Case(n, lambda *a, f=f: f(fst, *a), lambda *a, f=f: f(jst, *a), args)
              for n, f, args in EXTRA]
    return cases


# thin wrappers of the incomplete gamma / beta primitives, whose XLA loops make
# large programs slow to compile: checked eagerly (each primitive compiles once),
# two of them under jit as well
LOOPS = {"beta.cdf", "beta.logcdf", "beta.sf", "beta.logsf", "gamma.logcdf", "gamma.sf",
         "gamma.logsf", "chi2.cdf", "chi2.logcdf", "chi2.sf", "chi2.logsf", "poisson.cdf",
         "gennorm.cdf"}


def test_every_function_same_as_jax():
    cases = _cases()
    assert_cases_same_as_jax([c for c in cases if c[0] not in LOOPS], rtol=2e-5, atol=1e-6,
                             eager={"truncnorm.logcdf", "multivariate_normal.logpdf"})
    assert_cases_same_as_jax([c for c in cases if c[0] in LOOPS], rtol=2e-5, atol=1e-6,
                             jit=False, jax_eager=True)


def test_float64():
    """float64 inputs give float64 results of float64 accuracy (one jit per side)."""
    def rows(m, x):
        return {"norm.logcdf": m.norm.logcdf(x * 10), "gamma.cdf": m.gamma.cdf(x, 2.0),
                "t.logpdf": m.t.logpdf(x, 3.0), "truncnorm.logpdf": m.truncnorm.logpdf(x, -0.3, 2.0)}
    with jax.enable_x64(True):
        x = X.astype(np.float64)
        assert_trees_close(jit(lambda x: rows(fst, x))(x), jax.jit(lambda x: rows(jst, x))(x),
                           rtol=1e-12, atol=1e-12, what="float64")


GRADS = [  # (name, fn of the module, argnums, args)
    ("norm.logpdf", lambda m: lambda x, mu, s: m.norm.logpdf(x, mu, s).sum(), (0, 1, 2), (X, 0.5, 2.0)),
    ("norm.logcdf", lambda m: lambda x: m.norm.logcdf(x * 10).sum(), 0, (X,)),
    ("beta.logpdf", lambda m: lambda x, a, b: m.beta.logpdf(x, a, b).sum(), (0, 1, 2), (X[1:3], 2.0, 3.0)),
    ("gamma.logpdf", lambda m: lambda x, a, s: m.gamma.logpdf(x, a, 0.0, s).sum(), (0, 1, 2), (X[1:], 2.0, 1.5)),
    ("gamma.cdf", lambda m: lambda x, a: m.gamma.cdf(x, a).sum(), (0, 1), (X[1:], 2.0)),
    ("beta.cdf", lambda m: lambda x: m.beta.cdf(x, 2.0, 3.0).sum(), 0, (X[1:3],)),
    ("t.logpdf", lambda m: lambda x, df: m.t.logpdf(x, df).sum(), (0, 1), (X, 3.0)),
    ("binom.logpmf", lambda m: lambda p: m.binom.logpmf(K, 4.0, p).sum(), 0, (0.3,)),
    ("truncnorm.logpdf", lambda m: lambda x, a: m.truncnorm.logpdf(x, a, 2.0).sum(), (0, 1), (X[1:3], -0.3)),
    ("dirichlet.logpdf", lambda m: lambda x, al: m.dirichlet.logpdf(x, al).sum(), (0, 1),
     (SIMPLEX, np.array([1.0, 2.0, 3.0], np.float32))),
    ("mvn.logpdf", lambda m: lambda x, mu, c: m.multivariate_normal.logpdf(x, mu, c).sum(), (0, 1, 2),
     (MVN_X, np.zeros(3, np.float32), COV)),
    ("vonmises.logpdf", lambda m: lambda x, k: m.vonmises.logpdf(x, k).sum(), (0, 1), (X, 2.0)),
]


def test_grads_same_as_jax():
    """Every row's gradient: ours in ONE transforms.jit, JAX's in ONE jax.jit."""
    assert_grad_rows_same_as_jax(GRADS, fst, jst)


def test_vmap_matches_loop():
    for fn, args, in_axes in [
            (fst.norm.logpdf, (X[:2], X[:2], np.float32(2.0)), (0, 0, None)),
            (lambda x, mu: fst.multivariate_normal.logpdf(x, mu, COV), (MVN_X, MVN_X), (0, 0)),
            (fst.dirichlet.logpdf, (SIMPLEX, np.array([1.0, 2.0, 3.0], np.float32)), (1, None)),
            (lambda x, a: grad(lambda u: fst.gamma.logpdf(u, a).sum())(x), (X[:2] + 4, X[:2] + 4),
             (0, 0)),
            (fst.truncnorm.logcdf, (X[:2], np.full(2, -0.3, np.float32), np.float32(2.0)),
             (0, 0, None))]:
        assert_vmap_matches_loop(fn, in_axes, *args, jit=True)


def test_errors_as_jax():
    for call, exc in [
            (lambda m: m.multivariate_normal.logpdf(MVN_X, np.zeros(3), np.eye(2)), ValueError),
            (lambda m: m.multivariate_normal.logpdf(MVN_X, np.zeros(3), COV, allow_singular=True),
             NotImplementedError),
            (lambda m: m.dirichlet.logpdf(SIMPLEX, np.ones((3, 1))), ValueError),
            (lambda m: m.dirichlet.logpdf(SIMPLEX[:1], np.ones(3)), ValueError)]:
        with pytest.raises(exc):
            call(jst)
        with pytest.raises(exc):
            call(fst)
    with pytest.raises(TypeError):  # JAX: ValueError; ours is typed FxTypeError
        fst.multinomial.logpmf(np.array([1.0, 2.0]), 3.0, np.array([0.5, 0.5]))
