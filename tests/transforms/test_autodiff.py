"""Autodiff: nesting, closures, control flow outside jit, graph_to_fn, errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fx
import primitives as P
import primitives.numpy as fnp
import transforms as T
from fx.errors import ConcretizationError, FxTypeError
from oracle import assert_trees_close


def f_ours(x):
    return fnp.sum(fnp.sin(x) * x ** 2)


def f_jax(x):
    return jnp.sum(jnp.sin(x) * x ** 2)


X = np.linspace(-1.0, 1.0, 5).astype(np.float32)


@pytest.mark.parametrize("compose", [
    lambda g, f: g.grad(g.grad(lambda x: g_sum(g, f(x)))),
    lambda g, f: g.jacfwd(g.jacrev(f)),
    lambda g, f: g.jacrev(g.jacfwd(f)),
    lambda g, f: g.grad(g.jit(g.grad(lambda x: g_sum(g, f(x))))),
    lambda g, f: g.jit(g.grad(g.grad(lambda x: g_sum(g, f(x))))),
    lambda g, f: g.hessian(f),
], ids=["grad_grad", "jacfwd_jacrev", "jacrev_jacfwd", "grad_jit_grad", "jit_grad_grad", "hessian"])
def test_nesting_any_order(compose):
    ours = compose(T, lambda x: fnp.sin(x) * x ** 2)
    theirs = compose(jax, lambda x: jnp.sin(x) * x ** 2)
    for x in (0.3, -1.2):
        assert_trees_close(ours(np.float32(x)), theirs(np.float32(x)), rtol=1e-5, atol=1e-5)


def g_sum(g, y):
    return (fnp if g is T else jnp).sum(y)


def test_perturbation_confusion_classic():
    # d/dx [x * d/dy (x + y)] at any x = 1, not 2
    def f(x):
        return x * T.grad(lambda y: x + y)(1.0)
    assert float(T.grad(f)(2.0)) == 1.0
    assert float(T.jit(T.grad(f))(2.0)) == 1.0
    def g(x):
        return x * T.jvp(lambda y: x * y, (2.0,), (1.0,))[1]
    assert float(T.grad(g)(3.0)) == float(jax.grad(lambda x: x * jax.jvp(lambda y: x * y, (2.0,), (1.0,))[1])(3.0))


def test_closure_over_outer_differentiated_value():
    def outer(a):
        inner = lambda b: fnp.sin(a * b)
        return T.grad(inner)(0.5) * a
    def outer_j(a):
        return jax.grad(lambda b: jnp.sin(a * b))(0.5) * a
    assert_trees_close(T.grad(outer)(1.3), jax.grad(outer_j)(1.3), rtol=1e-6)


def test_grad_of_graph_to_fn_and_of_edited_graph():
    g = fx.make_graph(f_ours)(X)
    assert_trees_close(T.grad(fx.graph_to_fn(g))(X), jax.grad(f_jax)(X), rtol=1e-6)
    # edit: replace sin by cos; the edited graph differentiates too
    eqns = [e.replace(primitive=P.cos_p) if e.primitive is P.sin_p else e for e in g.equations]
    edited = g.replace(graph=g.graph.replace(equations=eqns))
    fx.typecheck(edited)
    assert_trees_close(T.grad(fx.graph_to_fn(edited))(X),
                       jax.grad(lambda x: jnp.sum(jnp.cos(x) * x ** 2))(X), rtol=1e-6)


def test_python_control_flow_on_concrete_values_outside_jit():
    def f(x):
        if x > 0:
            return x * x
        return -3.0 * x
    assert float(T.grad(f)(2.0)) == 4.0
    assert float(T.grad(f)(-1.0)) == -3.0
    with pytest.raises(ConcretizationError, match="static_argnums"):
        T.jit(T.grad(f))(2.0)


def test_has_aux_argnums_and_value_and_grad():
    def loss(w, b, x):
        y = fnp.sum((x * w + b) ** 2)
        return y, {"y": y}
    def loss_j(w, b, x):
        y = jnp.sum((x * w + b) ** 2)
        return y, {"y": y}
    args = (np.float32(0.5), np.float32(0.1), X)
    got = T.value_and_grad(loss, argnums=(0, 1), has_aux=True)(*args)
    exp = jax.value_and_grad(loss_j, argnums=(0, 1), has_aux=True)(*args)
    assert_trees_close(got, exp, rtol=1e-6)
    g, aux = T.grad(loss, has_aux=True)(*args)
    assert_trees_close(g, jax.grad(loss_j, has_aux=True)(*args)[0], rtol=1e-6)


def test_vjp_and_linearize_match_jax():
    f = lambda x, y: {"a": fnp.sin(x) * y, "b": x @ y}
    fj = lambda x, y: {"a": jnp.sin(x) * y, "b": x @ y}
    x, y = X, X[::-1].copy()
    out, f_vjp = T.vjp(f, x, y)
    out_j, f_vjp_j = jax.vjp(fj, x, y)
    ct = {"a": np.ones(5, np.float32), "b": np.float32(2.0)}
    assert_trees_close(f_vjp(ct), f_vjp_j(ct), rtol=1e-6)
    y_out, f_jvp = T.linearize(f, x, y)
    assert_trees_close(f_jvp(x, y), jax.linearize(fj, x, y)[1](x, y), rtol=1e-6)


def test_stop_gradient():
    f = lambda x: fnp.sum(P.stop_gradient(x) * x)
    assert_trees_close(T.grad(f)(X), X, rtol=1e-6)


def test_integer_inputs_symbolic_zero_tangents():
    f = lambda x, n: fnp.sum(x * n)
    assert_trees_close(T.grad(f)(X, np.int32(3)), jax.grad(lambda x, n: jnp.sum(x * n))(X, np.int32(3)))
    g = T.grad(f, argnums=(0, 1), allow_int=True)(X, np.int32(3))
    assert g[1].dtype == jax.dtypes.float0
    t_out = T.jvp(lambda x: fnp.argmax(x), (X,), (X,))[1]
    assert t_out.dtype == jax.jvp(lambda x: jnp.argmax(x), (X,), (X,))[1].dtype == jax.dtypes.float0


# --- bad input ---------------------------------------------------------------
def test_grad_of_non_scalar_output():
    with pytest.raises(FxTypeError, match="real scalar output.*f32\\[5\\].*jacrev"):
        T.grad(lambda x: x * 2.0)(X)


def test_grad_of_integer_input_without_allow_int():
    with pytest.raises(FxTypeError, match="allow_int=True"):
        T.grad(lambda n: n * 2.0)(np.int32(3))


def test_argnums_out_of_range():
    with pytest.raises(FxTypeError, match="argnums=3 is out of range.*2 positional"):
        T.grad(lambda a, b: a * b, argnums=3)(1.0, 2.0)


def test_has_aux_with_non_pair_output():
    with pytest.raises(TypeError, match="must return a pair"):
        T.grad(lambda x: x * 2.0, has_aux=True)(1.0)


def test_make_graph_of_grad_is_dce_d():
    g = fx.make_graph(T.grad(f_ours))(X)
    live = fx.passes.dce(g)
    assert len(live.equations) == len(g.equations)


@pytest.mark.parametrize("which", ["mlp", "attention"])
def test_grad_graph_size_close_to_jax(which):
    from corpus import CORPUS, jax_ns, ours_ns
    import functools
    case = next(c for c in CORPUS if c.name == which)
    args = case.make_args(np.random.default_rng(0))
    ours = fx.make_graph(T.grad(functools.partial(case.fn, ours_ns())))(*args)
    theirs = jax.make_jaxpr(jax.grad(functools.partial(case.fn, jax_ns())))(*args)
    assert len(fx.passes.dce(ours).equations) == len(ours.equations)
    assert len(ours.equations) <= 1.5 * len(theirs.jaxpr.eqns)
