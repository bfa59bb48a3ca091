"""fx.from_jax / fx.jax_function: JAX code converted to our IR, against JAX itself.

A corpus of jax functions (jax.numpy, lax control flow, jax.nn's custom_jvp
functions, a custom_vjp, remat, nested jit, pooling, collectives) is converted;
values, our grad / vmap / jit of the converted code equal jax's of the original
(one compile per side for the whole corpus).
"""
import numpy as np
import jax
import jax.numpy as jnp
import pytest
from jax import lax

import fx
from fx.errors import JaxConversionError
from transforms import grad, jit, jvp, vmap
from tests.oracle import assert_cases_same_as_jax, assert_trees_close

_rng = np.random.default_rng(0)
X = jnp.asarray(_rng.normal(size=(4, 5)), jnp.float32)
XS = jnp.stack([X, X * 0.5 + 1.0])


@jax.custom_vjp
def _clipped_sin(x):
    return jnp.sin(x)


_clipped_sin.defvjp(lambda x: (jnp.sin(x), jnp.cos(x)),
                    lambda c, g: (jnp.clip(c * g, -0.1, 0.1),))


@jax.custom_jvp
def _closes_over(x):
    return jnp.sin(x) * X


_closes_over.defjvp(lambda p, t: (_closes_over(p[0]), 3.0 * t[0] * X))

CORPUS = {
    "numpy": lambda x: jnp.sum(jnp.tanh(x) @ x.T + jnp.mean(x ** 2, axis=0).sum()
                               * jnp.exp(-jnp.abs(x)).max()),
    "indexing": lambda x: jnp.sum(x[1:3, ::2] * 2 + x[jnp.array([0, 2])].sum()
                                  + x.at[0, 1].set(3.0).sum() + x.at[:, 2].add(x[:, 0]).sum()
                                  + x.at[1].mul(x[2]).at[2, 1:].min(0.5).at[3].max(x[0]).sum()
                                  + jnp.take(x, jnp.array([1, 3]), axis=1).sum()),
    "where_sort": lambda x: (jnp.sum(jnp.where(x > 0, x, 0.1 * x))
                             + jnp.sort(x, axis=1)[:, -1].sum() + jnp.cumsum(x, 1).sum()
                             + jnp.argmax(x, 1).astype(jnp.float32).sum()),
    "nn": lambda x: jnp.sum(jax.nn.gelu(x) + jax.nn.silu(x) + jax.nn.log_softmax(x)
                            + jax.nn.softplus(x) + jax.nn.relu6(x) + jax.nn.sigmoid(x)
                            + jax.nn.relu(x)) + jax.nn.logsumexp(x),
    # jax >= 0.11 writes log2 and arcsin's derivative (one_minus_square) as primitives
    "norm": lambda x: (jnp.linalg.norm(x + 1) + jnp.var(x) + jnp.std(x, axis=0).sum()
                       + jnp.arcsin(x * 0.1).sum() + jnp.log2(jnp.abs(x) + 1).sum()),
    "scan": lambda x: lax.scan(lambda c, r: (c * 0.9 + jnp.sin(r), c.sum()),
                               jnp.zeros(5), x)[0].sum(),
    "cond": lambda x: lax.cond(x.sum() > 0, lambda y: jnp.sin(y).sum(),
                               lambda y: jnp.cos(y).sum(), x),
    "switch": lambda x: lax.switch(2, [jnp.sin, jnp.cos, jnp.tanh], x).sum(),
    "fori": lambda x: lax.fori_loop(0, 3, lambda i, c: c * jnp.cos(c), x).sum(),
    "remat": lambda x: jax.checkpoint(lambda y: jnp.sin(jnp.sin(y)).sum())(x),
    "remat_policy": lambda x: jax.checkpoint(
        lambda y: jnp.tanh(y @ y.T).sum(), policy=jax.checkpoint_policies.dots_saveable)(x),
    "nested_jit": lambda x: jax.jit(lambda y: jax.jit(jnp.sin)(y) * 2)(x).sum(),
    "custom_vjp": lambda x: _clipped_sin(x).sum(),
    "custom_jvp_consts": lambda x: _closes_over(x).sum(),
    "split_concat": lambda x: (sum(a.sum() * i for i, a in enumerate(jnp.split(x, [1, 3])))
                               + jnp.concatenate([x, x], 1).std()
                               + sum(r.max() * i for i, r in enumerate(jnp.unstack(x, axis=1)))),
    "shapes": lambda x: ((x.reshape(2, 10).T @ jnp.ones((2, 3))).sum()
                         + jnp.expand_dims(x, 0).squeeze().max() + jnp.flip(x, 1)[0, 0]
                         + jnp.pad(x, 1).sum() + jnp.transpose(x)[0].sum()),
    "conv": lambda x: lax.conv_general_dilated(x[None, None], jnp.ones((2, 1, 2, 2)), (1, 1),
                                               "SAME").sum(),
    "pool": lambda x: (lax.reduce_window(x, -jnp.inf, lax.max, (2, 2), (1, 2), "VALID").sum()
                       + lax.reduce_window(x, 0., lax.add, (2, 3), (2, 1), "SAME").sum()
                       + lax.reduce_window(jnp.round(x), jnp.inf, lax.min, (2, 2), (1, 1),
                                           "VALID").sum()),
    "dtypes": lambda x: ((x.astype(jnp.bfloat16) * 2).astype(jnp.float32).sum()
                         + (x > 0).sum() + jnp.round(x).sum() + x.astype(jnp.int32).sum()),
}
NOT_DIFFERENTIABLE = {"while"}
CORPUS["while"] = lambda x: lax.while_loop(lambda c: c[0] < 3,
                                           lambda c: (c[0] + 1, c[1] * 1.1 + 0.1), (0, x))[1].sum()


def _converted(f, *args):
    """The converted graph as a function (eager: our ops one by one)."""
    return fx.graph_to_fn(fx.from_jax(f)(*args))


def test_corpus_values_equal_jax():
    cases = [(n, _converted(f, X), f, (X,)) for n, f in CORPUS.items()]
    assert_cases_same_as_jax(cases, eager=("numpy", "nn", "cond", "custom_vjp", "pool"))


def test_corpus_grad_and_vmap_equal_jax():
    cases = []
    for n, f in CORPUS.items():
        ours = fx.jax_function(f)
        cases.append((f"{n}/vmap", vmap(ours), jax.vmap(f), (XS,)))
        if n not in NOT_DIFFERENTIABLE:
            cases.append((f"{n}/grad", grad(ours), jax.grad(f), (X,)))
            cases.append((f"{n}/vmap(grad)", vmap(grad(ours)), jax.vmap(jax.grad(f)), (XS,)))
    assert_cases_same_as_jax(cases, eager=("nn/grad", "custom_vjp/grad", "pool/grad",
                                           "remat/grad", "scan/vmap(grad)"))


def test_forward_mode_and_second_order():
    def f(x):
        return jnp.sum(jax.nn.softplus(x) * jax.nn.gelu(x) + jax.nn.relu(x) ** 3)
    ours = fx.jax_function(f)
    t = jnp.ones_like(X)
    assert_trees_close(jit(lambda x, t: jvp(ours, (x,), (t,)))(X, t), jax.jvp(f, (X,), (t,)),
                       rtol=2e-5, atol=2e-5)
    assert_trees_close(jit(grad(lambda x: grad(ours)(x).sum()))(X),
                       jax.grad(lambda x: jax.grad(f)(x).sum())(X), rtol=2e-5, atol=2e-5)


def test_graph_is_ours_and_keeps_custom_rules():
    g = fx.from_jax(lambda x: jax.nn.relu(x) * 2.0)(X)
    fx.typecheck(g)
    text = str(g)
    assert "custom_jvp_call" in text and "jvp=jvp_of_relu" in text and "mul" in text
    assert g.in_tree == jax.tree_util.tree_structure(((X,), {}))
    # relu'(0) = 0 by jax.nn.relu's custom rule (max's own derivative would give 0.5)
    assert float(grad(fx.jax_function(lambda x: jax.nn.relu(x).sum()))(jnp.zeros(3))[0]) == 0.0


def test_converted_equations_keep_jax_source_lines():
    def model(x):
        return jnp.sin(x)  # THE LINE
    g = fx.from_jax(model)(X)
    src = g.graph.equations[0].source_info
    assert src.file.endswith("test_from_jax.py") and src.function == "model"


def test_pytrees_static_args_and_kwargs():
    def f(params, x, *, scale):
        return {"y": jnp.tanh(x @ params["w"] + params["b"]) * scale}
    params = {"w": jnp.ones((5, 3)), "b": jnp.zeros(3)}
    got = jit(lambda p, x: fx.jax_function(f)(p, x, scale=2.0))(params, X)
    assert_trees_close(got, f(params, X, scale=2.0))
    g = fx.from_jax(lambda n, x: jnp.tile(x, n), static_argnums=0)(2, X)
    assert g.out_avals[0].shape == (4, 10)


def test_collectives_see_enclosing_vmap_axes():
    def f(x):
        return x / lax.psum(x, "i") + lax.axis_index("i") + lax.pmax(x, "i") + lax.pmean(x, "i")
    x = jnp.arange(1.0, 5.0)
    assert_trees_close(vmap(fx.jax_function(f), axis_name="i")(x),
                       jax.vmap(f, axis_name="i")(x))


def test_jax_random_bits_equal_jax():
    def f(key, x):
        k1, k2 = jax.random.split(key)
        return (jax.random.normal(k1, (3,)) * x + jax.random.uniform(k2, (3,))
                + jax.random.bernoulli(jax.random.fold_in(key, 2), 0.5, (3,)))
    key = jax.random.PRNGKey(3)
    np.testing.assert_array_equal(jit(fx.jax_function(f))(key, 2.0), jax.jit(f)(key, 2.0))


def test_other_direction_converted_graph_under_jax_transforms():
    f = CORPUS["nn"]
    ours = _converted(f, X)
    assert_trees_close(jax.jit(jax.grad(ours))(X), jax.grad(f)(X), rtol=2e-5, atol=2e-5)


def test_unknown_primitive_names_it_and_the_equation():
    def f(x):
        return lax.linalg.tridiagonal(x)[0]  # TRIDIAGONAL LINE
    with pytest.raises(JaxConversionError) as e:
        fx.from_jax(f)(np.eye(3, dtype=np.float32))
    msg = str(e.value)
    assert "`tridiagonal`" in msg and "= tridiagonal" in msg and "register_jax_rules" in msg
    assert "test_from_jax.py" in msg


def test_unsupported_param_names_the_equation():
    def f(x):
        return lax.linalg.qr(x, pivoting=True)[0]
    with pytest.raises(JaxConversionError, match=r"pivoting=True[\s\S]*= qr"):
        fx.from_jax(f)(X)


def test_complex_fft_pooling_special_linalg_and_gamma_convert():
    """jax programs using complex numbers, fft, pooling (base dilation included),
    the special functions, the decompositions, linear solves (custom_linear_solve)
    and gamma sampling convert: values, jit and grad as jax's."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 6)).astype(np.float32)
    m = rng.normal(size=(4, 4)).astype(np.float32)
    spd = m @ m.T + 4 * np.eye(4, dtype=np.float32)

    def prog(x, spd):
        z = lax.complex(x, x * 2)
        a = jnp.abs(jnp.fft.fft(z)).sum() + jnp.real(jnp.conj(z) * z).sum() + jnp.imag(z).sum()
        p = lax.reduce_window(x, 0.0, lax.add, (2, 2), (1, 1), "VALID", base_dilation=(2, 1))
        q = lax.reduce_window(x, -jnp.inf, lax.max, (2, 3), (2, 1), "SAME")
        s = jax.scipy.special.gammaln(jnp.abs(x) + 1) + jax.scipy.special.digamma(jnp.abs(x) + 1)
        d = (jnp.linalg.cholesky(spd).sum() + jnp.linalg.eigh(spd)[0].sum()
             + jnp.linalg.svd(spd)[1].sum() + jnp.linalg.qr(spd)[1].sum())
        t = jax.scipy.linalg.solve_triangular(spd, x[:, :4], lower=True).sum() \
            + jnp.linalg.solve(spd, x).sum()
        g = jax.random.gamma(jax.random.PRNGKey(0), jnp.abs(x) + 0.5).sum()
        return a + p.sum() + q.sum() + s.sum() + d + t + g

    ours = fx.jax_function(prog)   # (on concrete arrays it would just call prog: jit it)
    assert_trees_close(jit(ours)(x, spd), jax.jit(prog)(x, spd), rtol=1e-4)
    assert_trees_close(grad(ours)(x, spd), jax.grad(prog)(x, spd), rtol=1e-3, atol=1e-4)
    eigvals = lambda a: jnp.linalg.eigvals(a).real.sum()  # noqa: E731
    assert_trees_close(jit(fx.jax_function(eigvals))(m), eigvals(m), rtol=1e-4)
    moe = lambda a, w: lax.ragged_dot(a, w, np.array([1, 3], np.int32))  # noqa: E731
    w = rng.normal(size=(2, 4, 3)).astype(np.float32)
    assert_trees_close(jit(fx.jax_function(moe))(spd, w), moe(spd, w), rtol=1e-5)


def test_concrete_arguments_call_jax_directly():
    f = CORPUS["numpy"]
    assert fx.jax_function(f)(X) == f(X)
