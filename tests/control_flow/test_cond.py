"""cond and switch against jax.lax.cond / jax.lax.switch under every transform."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fx
import primitives as P
import primitives.numpy as fnp
import transforms as T
from control_flow_cases import Case, all_checks, run_check
from oracle import assert_trees_close

XS = np.linspace(-1.0, 1.0, 50).astype(np.float32)
V = np.array([0.5, -1.2, 2.0, 0.3], np.float32)


def piecewise(lib, lax):
    """Pred from x, operand y; the branches also close over x."""
    def f(x, y):
        return lax.cond(x > 0.1, lambda y: lib.sin(x) * y, lambda y: lib.cos(y) - x * x, y)
    return f


def gated_rnn(lib, lax):
    """RNN over 50 steps whose cell switches on the sign of the state."""
    def f(w, h0):
        def step(h, x):
            pre = w * h + x
            h = lax.cond(pre > 0, lambda p: lib.tanh(p), lambda p: 0.5 * p, pre)
            return h, h
        h, ys = lax.scan(step, h0, XS)
        return h, lib.sum(ys)
    return f


def newton_or_bisect(lib, lax):
    """One step of a fixed-point solve of x = cos(a x): Newton when close, damped otherwise."""
    def f(a, x):
        r = x - lib.cos(a * x)
        return lax.cond(lib.abs(r) < 0.5,
                        lambda x: x - r / (1.0 + a * lib.sin(a * x)),
                        lambda x: x - 0.5 * r, x)
    return f


def ode_step(lib, lax):
    """Euler step of dx/dt = -k x, split into two half steps when k dt is large."""
    def f(k, x):
        dt = 0.3
        one = lambda x: x + dt * (-k * x)  # noqa: E731
        two = lambda x: (x + 0.5 * dt * (-k * x)) * (1.0 - 0.5 * dt * k)  # noqa: E731
        return lax.cond(k * dt > 0.2, two, one, x)
    return f


def cumprod_branch(lib, lax):
    """Pytree operands and outputs; the predicate is a reduction."""
    def f(v, s):
        return lax.cond(lib.sum(v) * s > 0,
                        lambda ops: (lax.cumprod(ops[0]), ops[1] * 2.0),
                        lambda ops: (ops[0] * ops[1], -ops[1]), (v, s))
    return f


def switch_poly(lib, lax):
    """Piecewise polynomial: the index comes from floor(x) (clamped by switch)."""
    def f(x, c):
        idx = lax.convert_element_type(lib.floor(x * 2.0), np.int32)
        return lax.switch(idx, [lambda x: x * c, lambda x: x * x - c, lambda x: lib.sin(x) + c,
                                lambda x: c * c * x], x)
    return f


def select_only(lib, lax):
    """Nothing captured: the predicate alone, the operand alone, or both batched."""
    def f(p, y):
        idx = lax.convert_element_type(lib.floor(p * 2.0), np.int32)
        a = lax.cond(p > 0.5, lambda y: lib.sin(y) * 3.0, lambda y: y * y, y)
        b = lax.switch(idx, [lib.cos, lambda y: y + 1.0, lib.tanh], y)
        return a, b
    return f


BOTH = ((0, None), (None, 0), (0, 0))
CASES = [
    Case("piecewise", piecewise, (np.float32(0.7), np.float32(1.3)), BOTH),
    Case("select_only", select_only, (np.float32(0.6), np.float32(1.3)), BOTH),
    Case("piecewise_neg", piecewise, (np.float32(-0.4), np.float32(1.3)), ((0, 0),)),
    Case("gated_rnn", gated_rnn, (np.float32(0.8), np.float32(0.1)), ((0, None), (None, 0))),
    Case("newton_or_bisect", newton_or_bisect, (np.float32(1.1), np.float32(0.6)), BOTH),
    Case("ode_step", ode_step, (np.float32(0.9), np.float32(1.5)), BOTH),
    Case("cumprod_branch", cumprod_branch, (V, np.float32(0.7)), BOTH),
    Case("switch_poly", switch_poly, (np.float32(0.9), np.float32(0.4)), BOTH),
    Case("switch_clamped", switch_poly, (np.float32(7.0), np.float32(0.4)), ((None, 0),)),
]


@pytest.mark.parametrize("case,kind,extra", all_checks(CASES, grad_jit=("gated_rnn",)))
def test_cond_matches_jax(case, kind, extra):
    run_check(case, kind, extra)


def test_graph_prints_branches_indented_and_typechecks():
    g = fx.make_graph(piecewise(fnp, P))(np.float32(0.5), np.float32(1.0))
    text = str(g)
    assert "cond[branches=(\n" in text and "\n        { lambda ; a:f32[] b:f32[]. let" in text
    fx.typecheck(g)


def test_cond_on_integer_pred_and_python_values():
    f = lambda n, x: P.cond(n % 2, lambda x: x + 1.0, lambda x: x - 1.0, x)  # noqa: E731
    assert_trees_close(f(np.int32(3), np.float32(1.0)), np.float32(2.0))
    assert_trees_close(T.jit(f)(np.int32(4), np.float32(1.0)), np.float32(0.0))
    assert_trees_close(P.cond(True, lambda: 1.0, lambda: 2.0), np.float32(1.0))


def test_eager_cond_reuses_compiled_program():
    """Branch graphs compare by structure: equal conds share one executable
    (captured concrete scalars are literals, so they are operands here)."""
    f = lambda x, y: P.cond(x > 0, lambda y: fnp.sin(y) * 2.0, fnp.cos, y)  # noqa: E731
    f(np.float32(0.3), np.float32(1.0))
    n = len(P.cond_p._impl_cache)
    for x in (0.4, -0.2, 0.9):
        f(np.float32(x), np.float32(2.0))
    assert len(P.cond_p._impl_cache) == n


def test_reverse_mode_keeps_primal_branches_out_of_linear_graph():
    """The linear graph holds only a cond of tangent work: no sin/cos of primals."""
    f = piecewise(fnp, P)
    _, f_jvp = T.linearize(f, np.float32(0.7), np.float32(1.3))
    assert_trees_close(f_jvp(np.float32(1.0), np.float32(0.0)),
                       jax.linearize(piecewise(jnp, jax.lax), 0.7, 1.3)[1](1.0, 0.0), rtol=1e-5)
    g = fx.make_graph(T.grad(f, argnums=(0, 1)))(np.float32(0.7), np.float32(1.3))
    conds = [e for e in g.equations if e.primitive.name == "cond"]
    assert len(conds) == 2   # the primal cond (emitting residuals) and the transposed cond
    transposed = conds[1].params["branches"]
    names = {e.primitive.name for b in transposed for e in b.equations}
    assert not names & {"sin", "cos"}, names


def test_dce_and_cse_recurse_into_branches():
    def f(x):
        a, b = P.cond(x > 0, lambda x: (fnp.sin(x), fnp.exp(x)), lambda x: (x, x * 2.0), x)
        return a
    g = fx.make_graph(f)(np.float32(1.0))
    (c,) = [e for e in g.equations if e.primitive.name == "cond"]
    assert len(c.outputs) == 1
    assert all("exp" not in {e.primitive.name for e in b.equations} for b in c.params["branches"])

    def h(x):
        return P.cond(x > 0, lambda x: fnp.sin(x) + fnp.sin(x), lambda x: x, x)
    cg = fx.passes.cse(fx.make_graph(h)(np.float32(1.0)))
    (c,) = [e for e in cg.equations if e.primitive.name == "cond"]
    assert [e.primitive.name for e in c.params["branches"][1].equations] == ["sin", "add"]


def test_linear_transpose_of_cond():
    from oracle import assert_transpose_matches

    def make(lax):
        return lambda x, y: lax.cond(np.float32(0.3) > 0, lambda x, y: (2.0 * x - y, y * 3.0),
                                     lambda x, y: (-x, x + y), x, y)
    assert_transpose_matches(make(P), make(jax.lax), (np.float32(1.0), np.float32(2.0)),
                             (np.float32(1.0), np.float32(-2.0)))
