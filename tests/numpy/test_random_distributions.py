"""The distributions of primitives.random against jax.random: the same bits
for the same key (eager, and under our jit), gradients w.r.t. the parameters
equal jax's, vmap over keys equals a loop, the moments of the rejection
samplers, and the typed-key helpers.

Parameters are passed as arrays (traced by jax.jit, as jax.random's own
samplers see them): a Python-scalar parameter under an outer jax.jit is a
constant XLA may fold (``x ** (1/p)``), which moves jax's own last bits."""

import functools

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import primitives.random as frandom
import transforms as T
from fx.errors import FxTypeError, ShapeError

KEY = jax.random.PRNGKey(1701)
F = np.float32
A = np.array([0.3, 1.0, 2.5, 7.0], F)
COV = np.array([[2., .5], [.5, 1.]], F)
S = (3, 4)

# (name, fn(r, key, *params) with r = jax.random or frandom, params, eager ulps)
CASES = [
    ("exponential", lambda r, k: r.exponential(k, S), ()),
    ("laplace", lambda r, k: r.laplace(k, S), ()),
    ("logistic", lambda r, k: r.logistic(k, S), ()),
    ("cauchy", lambda r, k: r.cauchy(k, S), ()),
    ("rademacher", lambda r, k: r.rademacher(k, S), ()),
    ("maxwell", lambda r, k: r.maxwell(k, S), (), 4),  # XLA fuses jax's norm otherwise
    ("double_sided_maxwell", lambda r, k, loc, s: r.double_sided_maxwell(k, loc, s, (3,)),
     (F(0.5), F(2.)), 4),
    ("pareto", lambda r, k, b: r.pareto(k, b), (A,)),
    ("weibull_min", lambda r, k, s, c: r.weibull_min(k, s, c, S), (F(2.), F(1.5))),
    ("rayleigh", lambda r, k, s: r.rayleigh(k, s), (A,)),
    ("wald", lambda r, k, m: r.wald(k, m), (A,)),
    ("triangular", lambda r, k, a, m, b: r.triangular(k, a, m, b, S), (F(0.), F(1.), F(3.))),
    ("lognormal", lambda r, k, s: r.lognormal(k, s, S), (F(0.7),)),
    ("gamma", lambda r, k, a: r.gamma(k, a), (A,)),
    ("loggamma", lambda r, k, a: r.loggamma(k, a), (A * 0.01,)),
    ("beta", lambda r, k, a, b: r.beta(k, a, b), (A, F(2.))),
    ("dirichlet", lambda r, k, a: r.dirichlet(k, a, (2,)), (A,)),
    ("chisquare", lambda r, k, df: r.chisquare(k, df), (A,)),
    ("f", lambda r, k, a, b: r.f(k, a, b), (A, F(3.))),
    ("t", lambda r, k, df: r.t(k, df), (A,)),
    ("generalized_normal", lambda r, k, p: r.generalized_normal(k, p, (5,)), (F(1.5),)),
    ("ball", lambda r, k, p: r.ball(k, 3, p, (2,)), (F(1.5),)),
    ("multivariate_normal", lambda r, k, m, c: r.multivariate_normal(k, m, c, (3,)),
     (np.zeros(2, F), COV)),
    ("multivariate_normal_eigh", lambda r, k, m, c: r.multivariate_normal(k, m, c, (3,),
                                                                        method="eigh"),
     (np.ones(2, F), COV)),
    ("multivariate_normal_svd", lambda r, k, m, c: r.multivariate_normal(k, m, c, method="svd"),
     (np.ones((3, 2), F), COV)),
    ("orthogonal", lambda r, k: r.orthogonal(k, 3), ()),
    ("orthogonal_wide", lambda r, k: r.orthogonal(k, 2, (2,), m=4), ()),
    ("poisson", lambda r, k, lam: r.poisson(k, lam), (np.array([0., .5, 3., 12., 100.], F),)),
    ("binomial", lambda r, k, n, p: r.binomial(k, n, p),
     (np.array([5., 20., 100., 1000., -1.], F), np.array([.3, .5, .9, .02, .5], F))),
    ("multinomial", lambda r, k, n, p: r.multinomial(k, n, p), (F(10.), np.array([.2, .3, .5], F))),
    ("geometric", lambda r, k, p: r.geometric(k, p), (A / 10,)),
]
CASES = [c if len(c) == 4 else (*c, 0) for c in CASES]


@functools.lru_cache(maxsize=None)
def _expected():
    """jax.random's samples for every case, in ONE jax.jit (parameters traced)."""
    params = [c[2] for c in CASES]
    return jax.jit(lambda k, ps: [fn(jax.random, k, *p) for (_, fn, _, _), p in
                                  zip(CASES, ps)])(KEY, params)


def _check(name, got, exp, ulps=0):
    got, exp = np.asarray(got), np.asarray(exp)
    assert got.dtype == exp.dtype and got.shape == exp.shape, \
        f"{name}: {got.dtype}{got.shape} != {exp.dtype}{exp.shape}"
    if ulps:
        np.testing.assert_allclose(got, exp, rtol=ulps * np.finfo(got.dtype).eps, err_msg=name)
    else:
        np.testing.assert_array_equal(got, exp, err_msg=name)


# the samplers built on rejection loops: each eager call compiles its own loop (seconds
# each), so they are checked together in one jit, and gamma alone eagerly
LOOPS = ("loggamma", "beta", "dirichlet", "chisquare", "f", "t", "poisson", "binomial",
         "multinomial")


def test_bits_match_jax_eager():
    failures = []
    for (name, fn, params, ulps), exp in zip(CASES, _expected()):
        if name in LOOPS:
            continue
        try:
            _check(name, fn(frandom, KEY, *params), exp, ulps)
        except Exception as e:  # report every failing sampler
            failures.append(f"[{name}] {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)


def test_bits_match_jax_under_jit():
    names = ("laplace", "wald", "orthogonal", "multivariate_normal") + LOOPS
    cases = [(c, e) for c, e in zip(CASES, _expected()) if c[0] in names]
    got = T.jit(lambda k, ps: [fn(frandom, k, *p) for ((_, fn, _, _), _), p in zip(cases, ps)])(
        KEY, [c[2] for c, _ in cases])
    for ((name, _, _, ulps), exp), g in zip(cases, got):
        _check(name + " (jit)", g, exp, ulps)


# (name, fn(r, key, theta) -> scalar): gradients w.r.t. the parameter theta
GRADS = [
    ("gamma", lambda r, k, a: r.gamma(k, a).sum(), A),
    ("loggamma", lambda r, k, a: r.loggamma(k, a).sum(), A),
    ("beta", lambda r, k, a: r.beta(k, a, 2.).sum(), A),
    ("dirichlet", lambda r, k, a: (r.dirichlet(k, a) * jnp.arange(4.)).sum(), A),
    ("pareto", lambda r, k, b: r.pareto(k, b).sum(), A),
    ("weibull_min", lambda r, k, c: r.weibull_min(k, 2., c, (4,)).sum(), F(1.5)),
    ("lognormal", lambda r, k, s: r.lognormal(k, s, (4,)).sum(), F(0.7)),
]


def test_grad_wrt_parameters_matches_jax():
    for name, fn, theta in GRADS:
        got = T.grad(lambda th: fn(frandom, KEY, th))(theta)
        exp = jax.grad(lambda th: fn(jax.random, KEY, th))(theta)
        np.testing.assert_allclose(got, exp, rtol=2e-5, atol=1e-6, err_msg=name)


def test_random_gamma_grad_finite_differences():
    """The implicit-reparameterization jvp of the primitive: dx/da = -(dP/da)/(dP/dx)
    at the sample x, with P(a, x) the gamma CDF (central differences in a)."""
    a = np.array([0.7, 1.3, 4.0], np.float64)
    with jax.enable_x64(True):
        for log_space in (False, True):
            f = functools.partial(frandom.loggamma if log_space else frandom.gamma, KEY,
                                  dtype=np.float64)
            ans, tangent = T.jvp(f, (a,), (np.ones(3),))
            x = np.exp(ans) if log_space else np.asarray(ans)
            h = 1e-6
            dp_da = (jax.scipy.special.gammainc(a + h, x) -
                     jax.scipy.special.gammainc(a - h, x)) / (2 * h)
            dx_da = -dp_da / np.exp(jax.scipy.stats.gamma.logpdf(x, a))
            expected = dx_da / x if log_space else dx_da
            np.testing.assert_allclose(tangent, expected, rtol=1e-5, err_msg=f"log={log_space}")


VMAPS = [
    ("gamma", lambda k: frandom.gamma(k, A)),
    ("poisson", lambda k: frandom.poisson(k, np.array([1., 30.], F))),
    ("laplace", lambda k: frandom.laplace(k, (3,))),
]


def test_vmap_over_keys_equals_loop():
    keys = jax.random.split(KEY, 3)
    for name, fn in VMAPS:
        got = T.vmap(fn)(keys)
        loop = np.stack([np.asarray(fn(k)) for k in keys])
        np.testing.assert_allclose(got, loop, rtol=4 * np.finfo(F).eps, err_msg=name)
    # the gamma primitive's batch rule with an unbatched key and batched a
    a = np.stack([A, A + 1])
    got = T.vmap(lambda ai: frandom.gamma(KEY, ai))(a)
    np.testing.assert_array_equal(got, np.stack([frandom.gamma(KEY, ai) for ai in a]))


def test_moments():
    key_p, key_b, key_g = jax.random.split(KEY, 3)
    x = np.asarray(frandom.poisson(key_p, np.array([[3.], [40.]], F), (2, 2000)), np.float64)
    np.testing.assert_allclose(x.mean(1), [3., 40.], rtol=0.05)
    np.testing.assert_allclose(x.var(1), [3., 40.], rtol=0.15)
    x = np.asarray(frandom.binomial(key_b, np.array([[10.], [200.]], F), 0.3, (2, 2000)))
    np.testing.assert_allclose(x.mean(1), [3., 60.], rtol=0.05)
    np.testing.assert_allclose(x.var(1), [2.1, 42.], rtol=0.15)
    x = np.asarray(frandom.gamma(key_g, 2.5, (2000,)), np.float64)
    np.testing.assert_allclose([x.mean(), x.var()], [2.5, 2.5], rtol=0.1)


def test_typed_keys():
    raw = frandom.key(7)
    typed = jax.random.key(7)
    np.testing.assert_array_equal(frandom.key_data(raw), jax.random.key_data(typed))
    np.testing.assert_array_equal(frandom.key_data(typed), jax.random.key_data(typed))
    keys = frandom.split(raw, 3)
    assert frandom.wrap_key_data(keys) is keys
    assert frandom.key_impl(raw) == jax.random.key_impl(typed) == "threefry2x32"
    assert frandom.key_dtype() == jax.random.key_dtype() == typed.dtype
    assert frandom.clone(raw) is raw
    np.testing.assert_array_equal(frandom.uniform(frandom.clone(raw)), frandom.uniform(raw))
    with pytest.raises(ValueError, match="both"):
        frandom.wrap_key_data(keys, impl="threefry2x32", dtype=jax.random.key_dtype())
    with pytest.raises(NotImplementedError, match="threefry2x32"):
        frandom.wrap_key_data(keys, impl="rbg")
    with pytest.raises(FxTypeError, match="key_data: expected raw threefry keys"):
        frandom.key_data(np.zeros(3, np.float32))


def test_errors():
    with pytest.raises(ShapeError, match=r"pareto: parameter shapes \[\(4,\)\].*shape \(3,\)"):
        frandom.pareto(KEY, A, (3,))
    with pytest.raises(FxTypeError, match="gamma: dtype must be a floating-point"):
        frandom.gamma(KEY, 1., dtype=jnp.int32)
    with pytest.raises(FxTypeError, match="poisson: dtype must be an integer"):
        frandom.poisson(KEY, 1., dtype=jnp.float32)
    with pytest.raises(ShapeError, match="dirichlet requires alpha.ndim >= 1"):
        frandom.dirichlet(KEY, F(1.))
    with pytest.raises(ValueError, match="method must be one of"):
        frandom.multivariate_normal(KEY, np.zeros(2, F), COV, method="qr")
    with pytest.raises(ShapeError, match=r"cov.shape == \(\.\.\., n, n\)"):
        frandom.multivariate_normal(KEY, np.zeros(3, F), COV)
    with pytest.raises(ShapeError, match="single key"):
        frandom.gamma(jax.random.split(KEY), 1.)
