"""Random small programs, ours against JAX (issue: reliability, fuzzing).

hypothesis draws a program (a list of steps over a value stack: elementwise
unary and binary ops with broadcasting and dtype promotion, Python-scalar
operands, keepdims reductions, flips, cumulative sums, ``clip``, ``where``,
``cond``, ``fori_loop``, ``while_loop`` and ``scan``) and two inputs (shapes;
float32 / float16 / bfloat16 / int32). The same program is built once from our
functions and once from jax's, and compared for value (eager), ``jit``,
``grad`` of the summed output and ``vmap`` over a batch; where JAX rejects a
program (a loop carry changing dtype, reverse mode through ``while_loop``)
ours must raise too.

``make test`` runs a few derandomized examples; ``pytest tests/fuzz --fuzz``
runs many more (random seeds, longer programs).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jax import lax

import primitives.control_flow as fcf
import primitives.numpy as fnp
from oracle import assert_trees_close
from transforms import grad, jit, vmap

UNARY = ("sin", "tanh", "exp_neg_square", "log1p_abs", "sqrt_abs", "negative", "square",
         "abs", "flip", "cumsum", "sum_keep", "max_keep", "mean_keep", "scalar_mul",
         "scalar_add", "clip", "sign", "cond", "fori", "while", "scan")
BINARY = ("add", "subtract", "multiply", "maximum", "minimum", "where_gt", "div_safe")
SHAPES = ((), (3,), (2, 3), (1, 3), (2, 1))
DTYPES = ("float32", "float16", "bfloat16", "int32")


class _Ops:
    """One program builder over a numpy-like module and a lax-like control-flow module."""

    def __init__(self, np_, cond, fori_loop, while_loop, scan):
        self.np, self.cond, self.fori_loop, self.scan = np_, cond, fori_loop, scan
        self.while_loop = while_loop

    def unary(self, name, a):
        np_ = self.np
        if name == "exp_neg_square":
            return np_.exp(-a * a)
        if name == "log1p_abs":
            return np_.log1p(np_.abs(a))
        if name == "sqrt_abs":
            return np_.sqrt(np_.abs(a) + 1.0)
        if name in ("sin", "tanh", "negative", "square", "abs", "sign"):
            return getattr(np_, name)(a)
        if name == "flip":
            return np_.flip(a, axis=-1) if a.ndim else a
        if name == "cumsum":
            return np_.cumsum(a, axis=-1) if a.ndim else a
        if name in ("sum_keep", "max_keep", "mean_keep"):
            return getattr(np_, name[:-5])(a, axis=-1, keepdims=True) if a.ndim else a
        if name == "scalar_mul":
            return a * 0.5
        if name == "scalar_add":
            return 1 + a
        if name == "cond":
            return self.cond(np_.sum(a) > 0, lambda v: np_.sin(v) * 2.0, lambda v: v - 1.0, a)
        if name == "clip":
            return np_.clip(a, -0.5, 0.5)
        if name == "while":  # reverse mode of while_loop is an error in both
            return self.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 0.9),
                                   (0, a))[1]
        if name == "fori":
            return self.fori_loop(0, 3, lambda i, v: v * 0.5 + np_.tanh(v), a)
        if name == "scan":
            if not a.ndim:
                return a

            def body(c, row):
                c = c * 0.9 + row
                return c, np_.sin(c)
            carry, ys = self.scan(body, np_.zeros_like(a[0]), a)
            return ys + carry
        raise ValueError(name)

    def binary(self, name, a, b):
        np_ = self.np
        if name == "where_gt":
            return np_.where(a > b, a, b * 2.0)
        if name == "div_safe":
            return a / (np_.abs(b) + 1.0)
        return getattr(np_, name)(a, b)

    def program(self, steps):
        def fn(x, y):
            stack = [x, y]
            for kind, name, i, j in steps:
                a = stack[i % len(stack)]
                if kind == "u":
                    stack.append(self.unary(name, a))
                else:
                    stack.append(self.binary(name, a, stack[j % len(stack)]))
            return stack[-1]
        return fn


OURS = _Ops(fnp, fcf.cond, fcf.fori_loop, fcf.while_loop, fcf.scan)
JAXS = _Ops(jnp, lax.cond, lax.fori_loop, lax.while_loop, lax.scan)

_step = st.one_of(
    st.tuples(st.just("u"), st.sampled_from(UNARY), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("b"), st.sampled_from(BINARY), st.integers(0, 9), st.integers(0, 9)))


def _tol(*dtypes):
    low = any(d in ("float16", "bfloat16") for d in dtypes)
    return dict(rtol=5e-2, atol=5e-2) if low else dict(rtol=2e-5, atol=2e-5)


def _same(run_ours, run_theirs, what, **tol):
    """Equal results, or an error from ours wherever JAX raises one."""
    try:
        expected = run_theirs()
    except Exception as e:  # noqa: BLE001  (JAX rejects the program: so must we)
        with pytest.raises(Exception):
            run_ours()
        return type(e).__name__
    assert_trees_close(run_ours(), expected, what=what, **tol)


def check_program(steps, x_shape, y_shape, x_dtype, y_dtype, seed):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.normal(size=x_shape) * 3, x_dtype)
    y = jnp.asarray(rng.normal(size=y_shape) * 3, y_dtype)
    ours, theirs = OURS.program(steps), JAXS.program(steps)
    tol = _tol(x_dtype, y_dtype)
    what = f"program {steps} on {x_dtype}{list(x_shape)}, {y_dtype}{list(y_shape)}"
    _same(lambda: ours(x, y), lambda: theirs(x, y), what + " (eager)", **tol)
    _same(lambda: jit(ours)(x, y), lambda: jax.jit(theirs)(x, y), what + " (jit)", **tol)
    # grad of the summed output, in float32 (low-precision grads differ by rounding)
    x32, y32 = x.astype(jnp.float32), y.astype(jnp.float32)
    loss = lambda f: lambda a, b: f(a, b).astype(jnp.float32).sum()  # noqa: E731
    _same(lambda: jit(grad(loss(ours), argnums=(0, 1)))(x32, y32),
          lambda: jax.jit(jax.grad(loss(theirs), argnums=(0, 1)))(x32, y32),
          what + " (grad)", rtol=1e-4, atol=1e-4)
    # vmap over a batch of x (y broadcast)
    xb = jnp.asarray(rng.normal(size=(2,) + tuple(x_shape)) * 3, x_dtype)
    _same(lambda: vmap(ours, in_axes=(0, None))(xb, y),
          lambda: jax.vmap(theirs, in_axes=(0, None))(xb, y), what + " (vmap)", **tol)


@pytest.fixture(scope="module")
def fuzz_settings(request):
    if request.config.getoption("--fuzz"):
        return dict(max_examples=400, max_len=8)
    return dict(max_examples=6, max_len=4)


def test_random_programs_match_jax(fuzz_settings):
    n, max_len = fuzz_settings["max_examples"], fuzz_settings["max_len"]
    fuzzing = n > 6

    @settings(max_examples=n, deadline=None, derandomize=not fuzzing, database=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(steps=st.lists(_step, min_size=1, max_size=max_len),
           x_shape=st.sampled_from(SHAPES), y_shape=st.sampled_from(SHAPES),
           x_dtype=st.sampled_from(DTYPES), y_dtype=st.sampled_from(DTYPES),
           seed=st.integers(0, 2**16))
    def run(steps, x_shape, y_shape, x_dtype, y_dtype, seed):
        check_program(steps, x_shape, y_shape, x_dtype, y_dtype, seed)
    run()
