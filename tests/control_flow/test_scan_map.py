"""scan and map against jax.lax.scan / jax.lax.map under every transform,
reverse mode with O(1) equations in the length, and checkpoint in a scan body."""
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

R = np.random.default_rng(0)
XS = R.normal(size=(50, 3)).astype(np.float32)
W = (R.normal(size=(3, 3)) * 0.5).astype(np.float32)
H0 = R.normal(size=(3,)).astype(np.float32)
TS = np.linspace(0.0, 2.0, 40).astype(np.float32)
V = np.array([0.9, 1.1, 0.8, 1.3, 0.7, 1.2], np.float32)


# --- scan -------------------------------------------------------------------------
def s_rnn(lib, lax):
    """Elman RNN over 50 steps; pytree carry, pytree ys."""
    def f(w, h0, xs):
        def step(c, x):
            h, n = c
            h = lib.tanh(h @ w + x)
            return (h, n + 1.0), {"h": h, "norm": lib.sum(h * h)}
        (h, _), ys = lax.scan(step, (h0, 0.0), xs)
        return h, ys
    return f


def s_fixed_point(lib, lax):
    """30 iterations of x = cos(a x); the ys record the residuals."""
    def f(a, x0):
        def step(x, _):
            nx = lib.cos(a * x)
            return nx, nx - x
        return lax.scan(step, x0, None, length=30)
    return f


def s_piecewise(lib, lax):
    """A switch inside the body, chosen per step from the data."""
    def f(c, xs):
        def step(s, x):
            idx = lax.convert_element_type(lib.floor(x + 1.5), np.int32)
            y = lax.switch(idx, [lambda x: x * c, lambda x: lib.sin(x) * c, lambda x: c * c - x],
                           x)
            return s + y, y
        return lax.scan(step, 0.0, xs)
    return f


def s_ode(lib, lax):
    """Euler integration of dx/dt = -k x + sin(t) over given times (reverse=False)."""
    def f(k, x0, ts):
        def step(x, t):
            x = x + 0.05 * (-k * x + lib.sin(t))
            return x, x
        return lax.scan(step, x0, ts)
    return f


def s_cumprod(lib, lax):
    """Cumulative product, scanned from the end and unrolled by 2."""
    def f(v, s):
        return lax.scan(lambda acc, x: (acc * x * s, acc * x), 1.0, v, reverse=True, unroll=2)
    return f


SCAN_CASES = [
    Case("s_rnn", s_rnn, (W, H0, XS), ((0, None, None), (None, 0, None), (None, None, 1),
                                       (0, 0, 0))),
    Case("s_fixed_point", s_fixed_point, (np.float32(0.8), np.float32(0.3)),
         ((0, None), (None, 0), (0, 0))),
    Case("s_piecewise", s_piecewise, (np.float32(0.6), XS[:, 0]), ((0, None), (None, 0), (0, 0))),
    Case("s_ode", s_ode, (np.float32(0.9), np.float32(1.0), TS),
         ((0, None, None), (None, 0, None), (None, None, 0))),
    Case("s_cumprod", s_cumprod, (V, np.float32(1.1)), ((0, None), (None, 0), (1, 0))),
]


@pytest.mark.parametrize("case,kind,extra", all_checks(SCAN_CASES, grad_jit=("s_rnn",)))
def test_scan_matches_jax(case, kind, extra):
    run_check(case, kind, extra)


def _rnn_loss(lib, lax):
    def f(w, xs):
        h, _ = lax.scan(lambda h, x: (lib.tanh(h @ w + x), None), H0, xs)
        return lib.sum(h)
    return f


def test_reverse_mode_has_o1_equations_in_the_length():
    loss = _rnn_loss(fnp, P)
    counts = {}
    for n in (10, 1000):
        xs = R.normal(size=(n, 3)).astype(np.float32)
        g = fx.make_graph(T.grad(loss, argnums=(0, 1)))(W, xs)
        fx.typecheck(g)
        counts[n] = len(g.equations)
    assert counts[10] == counts[1000], counts
    xs = R.normal(size=(1000, 3)).astype(np.float32) * 0.3
    assert_trees_close(T.jit(T.grad(loss, argnums=(0, 1)))(W, xs),
                       jax.jit(jax.grad(_rnn_loss(jnp, jax.lax), argnums=(0, 1)))(W, xs),
                       rtol=1e-4, atol=1e-5)


def test_residuals_are_stacked_and_invariants_hoisted():
    """The weight (a const) is not stacked; a value computed from consts only is
    computed once outside the loop; the state is stacked once per step."""
    def f(w, xs):
        h, _ = P.scan(lambda h, x: (fnp.tanh(h @ (w * 2.0) + x), None), H0, xs)
        return fnp.sum(h)
    res = T.saved_residuals(f, W, XS)
    shapes = sorted(r.aval.shape for r in res)
    assert (50, 3, 3) not in shapes, shapes
    assert (50, 3) in shapes
    assert_trees_close(T.grad(f)(W, XS),
                       jax.grad(lambda w, xs: jnp.sum(jax.lax.scan(
                           lambda h, x: (jnp.tanh(h @ (w * 2.0) + x), None), H0, xs)[0]))(W, XS),
                       rtol=1e-4, atol=1e-5)


def _deep_step(lib, cp):
    @cp
    def step(h, x):
        for _ in range(3):
            h = lib.sin(h * 1.1 + x)
        return h, None
    return step


def test_checkpoint_inside_scan_body():
    def make(lib, lax, cp):
        return lambda xs: lib.sum(lax.scan(_deep_step(lib, cp), H0, xs)[0])
    ours_ck, theirs = make(fnp, P, T.checkpoint), make(jnp, jax.lax, jax.checkpoint)
    assert_trees_close(T.grad(ours_ck)(XS), jax.grad(theirs)(XS), rtol=1e-4, atol=1e-5)
    assert_trees_close(T.jit(T.grad(ours_ck))(XS), jax.grad(theirs)(XS), rtol=1e-4, atol=1e-5)
    plain = make(fnp, P, lambda f: f)
    size = lambda f: sum(int(np.prod(r.aval.shape)) for r in T.saved_residuals(f, XS))  # noqa: E731
    assert size(ours_ck) < size(plain)


def test_scan_graph_and_lowering_are_not_unrolled():
    f = s_ode(fnp, P)
    g = fx.make_graph(f)(np.float32(0.9), np.float32(1.0), TS)
    assert [e.primitive.name for e in g.equations] == ["scan"]
    assert "body=\n        { lambda" in str(g)
    text = T.jit(f).lower(np.float32(0.9), np.float32(1.0), TS).as_text()
    assert text.count("stablehlo.while") == 1 and text.count("stablehlo.sine") == 1


def test_dce_and_cse_recurse_into_scan_body():
    def f(xs):
        (a, b), ys = P.scan(lambda c, x: ((c[0] + x, fnp.exp(c[1])), fnp.sin(x) + fnp.sin(x)),
                            (0.0, 1.0), xs)
        return a
    g = fx.passes.cse(fx.make_graph(f)(XS[:, 0]))
    (s,) = [e for e in g.equations if e.primitive.name == "scan"]
    assert s.params["n_carry"] == 1 and len(s.outputs) == 1
    assert [e.primitive.name for e in s.params["body"].equations] == ["add"]
    assert_trees_close(fx.graph_to_fn(g)(XS[:, 0]), np.sum(XS[:, 0]), rtol=1e-5)


def test_nested_scans_grad_and_vmap():
    def make(lib, lax):
        def f(w, xs):
            def outer(c, x):
                d, ds = lax.scan(lambda d, y: (d * w + y * x, d), c, xs[:5])
                return lib.sin(d), lib.sum(ds)
            c, ys = lax.scan(outer, 1.0, xs)
            return c + lib.sum(ys)
        return f
    ours, theirs = make(fnp, P), make(jnp, jax.lax)
    xs = XS[:8, 0]
    assert_trees_close(T.grad(ours, (0, 1))(np.float32(0.5), xs),
                       jax.grad(theirs, (0, 1))(np.float32(0.5), xs), rtol=1e-4, atol=1e-5)
    ws = np.array([0.3, 0.5], np.float32)
    assert_trees_close(T.vmap(T.grad(ours), (0, None))(ws, xs),
                       jax.vmap(jax.grad(theirs), (0, None))(ws, xs), rtol=1e-4, atol=1e-5)


# --- map ----------------------------------------------------------------------------
def m_rnn(lib, lax):
    def f(w, xs):
        return lax.map(lambda x: lax.scan(lambda h, xi: (lib.tanh(h * w + xi), None), 0.0, x)[0],
                       xs)
    return f


def m_fixed_point(lib, lax):
    def f(a):
        return lax.map(lambda ai: lax.fori_loop(0, 15, lambda i, x: lib.cos(ai * x), 0.5), a)
    return f


def m_piecewise(lib, lax):
    def f(xs, c):
        return lax.map(lambda x: lax.cond(x > 0, lambda x: x * c, lambda x: lib.sin(x), x), xs)
    return f


def m_ode(lib, lax):
    def f(ks, x0):
        def solve(k):
            return lax.scan(lambda x, t: (x + 0.05 * (-k * x + lib.sin(t)), None), x0, TS)[0]
        return lax.map(solve, ks, batch_size=3)
    return f


def m_cumprod(lib, lax):
    def f(rows):
        return lax.map(lambda r: lax.cumprod(r), rows, batch_size=2)
    return f


MAP_CASES = [
    Case("m_rnn", m_rnn, (np.float32(0.7), XS[:4, :]), ((0, None), (None, 1))),
    Case("m_fixed_point", m_fixed_point, (V,), ((0,),)),
    Case("m_piecewise", m_piecewise, (XS[:7, 1], np.float32(0.4)), ((None, 0), (1, 0))),
    Case("m_ode", m_ode, (V[:5] + 0.5, np.float32(1.0)), ((None, 0),)),
    Case("m_cumprod", m_cumprod, (XS[:5, :] * 0.5 + 1.0,), ((0,),)),
]


@pytest.mark.parametrize("case,kind,extra", all_checks(MAP_CASES))
def test_map_matches_jax(case, kind, extra):
    run_check(case, kind, extra)


def test_linear_transpose_of_scan():
    from oracle import assert_transpose_matches

    def make(lax):
        def f(c0, xs):
            return lax.scan(lambda c, x: (c * 0.5 + x, c - 2.0 * x), c0, xs)
        return f
    c0 = np.zeros(3, np.float32)
    assert_transpose_matches(make(P), make(jax.lax), (c0, XS[:6]),
                             (np.ones(3, np.float32), XS[:6] * 0.5), rtol=1e-5, atol=1e-6)
