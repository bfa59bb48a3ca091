"""while_loop and fori_loop against jax.lax under every transform.

Reverse mode through while_loop (and fori_loop with traced bounds) is an error
in JAX and here; fori_loop with static bounds is a scan and differentiates.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fx
import primitives as P
import primitives.numpy as fnp
import transforms as T
from control_flow_cases import Case, all_checks, run_check
from fx.errors import FxTypeError
from oracle import assert_trees_close

XS = np.linspace(-1.0, 1.0, 50).astype(np.float32)
V = np.array([0.9, 1.1, 0.8, 1.3, 0.7], np.float32)


# --- while_loop -----------------------------------------------------------------
def w_rnn(lib, lax):
    """RNN over 50 steps, the step counter in the carry."""
    def f(w, h0):
        def body(c):
            i, h = c
            return i + 1, lib.tanh(w * h + lib.asarray(XS)[i])
        return lax.while_loop(lambda c: c[0] < 50, body, (0, h0))[1]
    return f


def w_fixed_point(lib, lax):
    """x = cos(a x) iterated until converged: the predicate depends on the data."""
    def f(a, x0):
        def body(c):
            x, _, n = c
            return lib.cos(a * x), x, n + 1
        def cond(c):
            x, prev, n = c
            return (lib.abs(x - prev) > 1e-4) & (n < 100)
        return lax.while_loop(cond, body, (x0, x0 + 1.0, 0))[0]
    return f


def w_piecewise(lib, lax):
    """Grow x piecewise (doubling or adding) until it passes the limit."""
    def f(x, limit):
        body = lambda x: lax.cond(x < 1.0, lambda x: x * 2.0, lambda x: x + 0.75, x)  # noqa: E731
        return lax.while_loop(lambda x: x < limit, body, x)
    return f


def w_ode(lib, lax):
    """Euler steps of dx/dt = -k x + sin(t) until t reaches t_end."""
    def f(k, t_end):
        def body(c):
            t, x = c
            return t + 0.05, x + 0.05 * (-k * x + lib.sin(t))
        return lax.while_loop(lambda c: c[0] < t_end, body, (0.0, 1.0))[1]
    return f


def w_cumprod(lib, lax):
    """Cumulative product written as a loop over positions."""
    def f(v, s):
        def body(c):
            i, acc, out = c
            acc = acc * lib.asarray(v)[i] * s
            return i + 1, acc, out.at[i].set(acc)
        return lax.while_loop(lambda c: c[0] < v.shape[0], body, (0, 1.0, lib.zeros_like(v)))[2]
    return f


BOTH = ((0, None), (None, 0), (0, 0))
WHILE_CASES = [
    Case("w_rnn", w_rnn, (np.float32(0.7), np.float32(0.2)), BOTH, grad=False),
    Case("w_fixed_point", w_fixed_point, (np.float32(0.8), np.float32(0.3)), BOTH, grad=False),
    Case("w_piecewise", w_piecewise, (np.float32(0.3), np.float32(3.0)), BOTH, grad=False),
    Case("w_ode", w_ode, (np.float32(0.9), np.float32(1.0)), BOTH, grad=False),
    Case("w_cumprod", w_cumprod, (V, np.float32(1.1)), BOTH, grad=False),
]


@pytest.mark.parametrize("case,kind,extra", all_checks(WHILE_CASES))
def test_while_matches_jax(case, kind, extra):
    run_check(case, kind, extra)


def test_batched_predicate_freezes_finished_lanes():
    """Lanes stop at different iterations; the loop runs until all are done."""
    f = w_piecewise(fnp, P)
    limits = np.array([0.5, 2.0, 9.0], np.float32)
    got = T.vmap(f, (None, 0))(np.float32(0.3), limits)
    assert_trees_close(got, jax.vmap(w_piecewise(jnp, jax.lax), (None, 0))(0.3, limits))
    g = fx.make_graph(T.vmap(f, (None, 0)))(np.float32(0.3), limits)
    (w,) = [e for e in g.equations if e.primitive.name == "while"]
    assert "reduce_or" in [e.primitive.name for e in w.params["cond_graph"].equations]
    assert "select_n" in [e.primitive.name for e in w.params["body_graph"].equations]


@pytest.mark.parametrize("make", [w_rnn, w_fixed_point])
def test_grad_through_while_is_a_typed_error(make):
    f = make(fnp, P)
    with pytest.raises(FxTypeError, match=r"(?s)Reverse-mode differentiation does not work for "
                                          r"while_loop.*test_while_fori.py.*scan"):
        T.grad(f)(np.float32(0.7), np.float32(0.2))


def test_linearize_through_while_works_as_in_jax():
    f = w_ode(fnp, P)
    _, f_jvp = T.linearize(f, np.float32(0.9), np.float32(1.0))
    _, j_jvp = jax.linearize(w_ode(jnp, jax.lax), 0.9, 1.0)
    assert_trees_close(f_jvp(np.float32(1.0), np.float32(0.0)), j_jvp(1.0, 0.0), rtol=1e-5)


def test_jit_lowers_one_while_not_unrolled():
    text = T.jit(w_rnn(fnp, P)).lower(np.float32(0.7), np.float32(0.2)).as_text()
    assert text.count("stablehlo.while") == 1
    assert text.count("tanh") == 1


def test_dce_prunes_unused_carries():
    def f(x):
        _, y, _ = P.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 2.0, fnp.exp(c[2])),
                               (0, x, x))
        return y
    g = fx.make_graph(f)(np.float32(1.0))
    (w,) = [e for e in g.equations if e.primitive.name == "while"]
    assert len(w.outputs) == 2
    assert "exp" not in [e.primitive.name for e in w.params["body_graph"].equations]
    assert_trees_close(fx.graph_to_fn(g)(np.float32(1.0)), np.float32(32.0))


# --- fori_loop ------------------------------------------------------------------
def f_rnn(lib, lax):
    def f(w, h0):
        return lax.fori_loop(0, 50, lambda i, h: lib.tanh(w * h + lib.asarray(XS)[i]), h0)
    return f


def f_fixed_point(lib, lax):
    def f(a, x0):
        return lax.fori_loop(0, 20, lambda i, x: lib.cos(a * x), x0)
    return f


def f_piecewise(lib, lax):
    def f(x, c):
        body = lambda i, s: s + lax.cond(lib.asarray(XS)[i] > x, lambda: lib.asarray(XS)[i] * c, lambda: c * c)  # noqa: E731
        return lax.fori_loop(0, 50, body, 0.0)
    return f


def f_ode(lib, lax):
    def f(k, x0):
        def body(i, x):
            t = 0.05 * i
            return x + 0.05 * (-k * x + lib.sin(t))
        return lax.fori_loop(0, 30, body, x0)
    return f


def f_cumprod(lib, lax):
    def f(v, s):
        def body(i, c):
            acc, out = c
            acc = acc * lib.asarray(v)[i] * s
            return acc, out.at[i].set(acc)
        return lax.fori_loop(0, v.shape[0], body, (1.0, lib.zeros_like(v)))[1]
    return f


FORI_CASES = [
    Case("f_rnn", f_rnn, (np.float32(0.7), np.float32(0.2)), BOTH),
    Case("f_fixed_point", f_fixed_point, (np.float32(0.8), np.float32(0.3)), BOTH),
    Case("f_piecewise", f_piecewise, (np.float32(0.1), np.float32(0.6)), BOTH),
    Case("f_ode", f_ode, (np.float32(0.9), np.float32(1.0)), BOTH),
    Case("f_cumprod", f_cumprod, (V, np.float32(1.1)), BOTH),
]


@pytest.mark.parametrize("case,kind,extra", all_checks(FORI_CASES, grad_jit=("f_rnn",)))
def test_fori_matches_jax(case, kind, extra):
    run_check(case, kind, extra)


def dynamic_fori(lib, lax):
    def f(n, x):
        return lax.fori_loop(0, n, lambda i, x: x * 0.5 + lib.sin(x), x)
    return f


def test_fori_with_traced_bounds_is_a_while():
    f, fj = dynamic_fori(fnp, P), dynamic_fori(jnp, jax.lax)
    g = fx.make_graph(f)(np.int32(7), np.float32(0.3))
    assert [e.primitive.name for e in g.equations].count("while") == 1
    assert_trees_close(T.jit(f)(np.int32(7), np.float32(0.3)), jax.jit(fj)(7, np.float32(0.3)))
    ns = np.array([1, 4, 9], np.int32)
    xs = np.array([0.1, 0.5, 0.9], np.float32)
    assert_trees_close(T.vmap(f)(ns, xs), jax.vmap(fj)(ns, xs), rtol=1e-5)
    assert_trees_close(T.jvp(lambda x: f(np.int32(5), x), (np.float32(0.3),), (np.float32(1.0),)),
                       jax.jvp(lambda x: fj(5, x), (np.float32(0.3),), (np.float32(1.0),)),
                       rtol=1e-5)
    with pytest.raises(FxTypeError, match="fori_loop with static Python int bounds"):
        T.jit(T.grad(f, argnums=1))(np.int32(5), np.float32(0.3))


def test_fori_with_static_bounds_is_a_scan():
    g = fx.make_graph(f_ode(fnp, P))(np.float32(0.9), np.float32(1.0))
    assert [e.primitive.name for e in g.equations] == ["scan"]
