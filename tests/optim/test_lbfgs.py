"""L-BFGS and the line searches against optax 0.2.8, step by step.

Each case runs optax's documented loop (``value_and_grad_from_state`` then
``update(grad, state, params, value=, grad=, value_fn=)``) with ours under
``transforms.jit`` and with optax under ``jax.jit``, comparing params, values
and line-search step counts at every step.
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim
import primitives.numpy as fnp
from transforms import jit

STEPS = 15


def quadratic(x):
    return 0.5 * fnp.sum(fnp.arange(1.0, 6.0) * x ** 2) + fnp.sum(x)


def quadratic_j(x):
    return 0.5 * jnp.sum(jnp.arange(1.0, 6.0) * x ** 2) + jnp.sum(x)


def rosenbrock(x):
    return fnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_j(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _steps(make, value_and_grad_from_state, apply_updates, f, jit_fn, x0, n):
    opt = make()
    value_and_grad = value_and_grad_from_state(f)

    @jit_fn
    def step(params, state):
        value, grad = value_and_grad(params, state=state)
        updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=f)
        return apply_updates(params, updates), state, value

    params, state = jnp.asarray(x0), opt.init(jnp.asarray(x0))
    out = []
    for _ in range(n):
        params, state, value = step(params, state)
        ls = state[-1]
        out.append((np.asarray(params), float(value),
                    int(ls.info.num_linesearch_steps), float(ls.learning_rate)))
    return out


def _compare(make_ours, make_optax, f, f_j, x0, n=STEPS):
    ours = _steps(make_ours, optim.value_and_grad_from_state, optim.apply_updates, f, jit,
                  x0, n)
    theirs = _steps(make_optax, optax.value_and_grad_from_state, optax.apply_updates, f_j,
                    jax.jit, x0, n)
    for k, ((p, v, ls, lr), (q, w, lt, lq)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6, err_msg=f"params, step {k}")
        np.testing.assert_allclose(v, w, rtol=1e-5, atol=1e-6, err_msg=f"value, step {k}")
        np.testing.assert_allclose(lr, lq, rtol=1e-5, err_msg=f"step size, step {k}")
        assert ls == lt, f"line-search steps differ at step {k}: {ls} vs {lt}"
    return ours


X_QUAD = np.array([1.0, -2.0, 3.0, 0.5, -1.0], np.float32)
X_ROSEN = np.array([-1.2, 1.0, -0.5, 0.8], np.float32)


def test_lbfgs_quadratic_matches_optax():
    ours = _compare(optim.lbfgs, optax.lbfgs, quadratic, quadratic_j, X_QUAD)
    # converges to the minimizer -1 / diag
    np.testing.assert_allclose(ours[-1][0], -1.0 / np.arange(1.0, 6.0), atol=1e-4)


def test_lbfgs_rosenbrock_matches_optax():
    ours = _compare(lambda: optim.lbfgs(memory_size=3), lambda: optax.lbfgs(memory_size=3),
                    rosenbrock, rosenbrock_j, X_ROSEN, n=25)
    assert ours[-1][1] < 0.1 * ours[0][1]


def test_lbfgs_under_jax_jit_and_eagerly():
    """The same optimizer also runs under plain jax.jit and eagerly (3 steps)."""
    theirs = _steps(optax.lbfgs, optax.value_and_grad_from_state, optax.apply_updates,
                    rosenbrock_j, jax.jit, X_ROSEN, 3)
    for jit_fn in (jax.jit, lambda f: f):
        ours = _steps(optim.lbfgs, optim.value_and_grad_from_state, optim.apply_updates,
                      rosenbrock, jit_fn, X_ROSEN, 3)
        for (p, v, *_), (q, w, *_) in zip(ours, theirs):
            np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(v, w, rtol=1e-5)


def test_zoom_linesearch_zooms_like_optax():
    """sgd + zoom line search from a large step: the interval search and the
    zoom (cubic / quadratic / bisection) branches both run."""
    ours = _compare(
        lambda: optim.chain(optim.sgd(1.0), optim.scale_by_zoom_linesearch(15)),
        lambda: optax.chain(optax.sgd(1.0), optax.scale_by_zoom_linesearch(15)),
        rosenbrock, rosenbrock_j, X_ROSEN, n=8)
    assert max(step[2] for step in ours) > 2


@pytest.mark.parametrize("store_grad", [True, False])
def test_backtracking_sgd_matches_optax(store_grad):
    """optax's documented example: sgd(1.) + backtracking(15) on sum(x**2)."""
    def fn(x):
        return fnp.sum(x ** 2)

    def fn_j(x):
        return jnp.sum(x ** 2)

    def vg_from_state(f):   # without store_grad the state holds no grad
        if store_grad:
            return (optim if f is fn else optax).value_and_grad_from_state(f)
        from transforms import value_and_grad
        return lambda p, state: (value_and_grad if f is fn else jax.value_and_grad)(f)(p)

    x0 = np.array([1.0, 2.0, 3.0], np.float32)
    ours = _steps(lambda: optim.chain(optim.sgd(1.0), optim.scale_by_backtracking_linesearch(
        15, store_grad=store_grad)), vg_from_state, optim.apply_updates, fn, jit, x0, 5)
    theirs = _steps(lambda: optax.chain(optax.sgd(1.0), optax.scale_by_backtracking_linesearch(
        15, store_grad=store_grad)), vg_from_state, optax.apply_updates, fn_j, jax.jit, x0, 5)
    for (p, v, ls, lr), (q, w, lt, lq) in zip(ours, theirs):
        np.testing.assert_allclose(p, q, rtol=1e-5)
        np.testing.assert_allclose(v, w, rtol=1e-5)
        assert (ls, lr) == (lt, pytest.approx(lq, rel=1e-6))
    # the documented printout: 5.04, 1.81, 0.653, 0.235, 0.0847
    values = [float(np.sum(p ** 2)) for p, *_ in ours]
    np.testing.assert_allclose(values, [5.04, 1.81, 0.653, 0.235, 0.0847], rtol=5e-3)


def test_state_classes_and_errors():
    params = {"w": fnp.ones((2, 3)), "b": fnp.zeros((3,))}
    state = optim.scale_by_lbfgs(memory_size=4).init(params)
    assert isinstance(state, optim.ScaleByLBFGSState)
    assert state._fields == optax.ScaleByLBFGSState._fields
    assert state.diff_params_memory["w"].shape == (4, 2, 3)
    assert optim.ScaleByZoomLinesearchState._fields == optax.ScaleByZoomLinesearchState._fields
    assert optim.ZoomLinesearchInfo._fields == optax.ZoomLinesearchInfo._fields
    assert (optim.ScaleByBacktrackingLinesearchState._fields
            == optax.ScaleByBacktrackingLinesearchState._fields)
    with pytest.raises(ValueError):
        optim.scale_by_lbfgs(memory_size=0)
    with pytest.raises(ValueError):
        optim.scale_by_zoom_linesearch(5, initial_guess_strategy="bad")
    ls = optim.scale_by_backtracking_linesearch(5)
    s = ls.init(params)
    with pytest.raises(TypeError, match="not consumed by `value_fn`"):
        ls.update(params, s, params, value=fnp.asarray(1.0), grad=params,
                  value_fn=lambda p: 0.0, extra=1)
    with pytest.raises(ValueError, match="not found"):
        optim.value_and_grad_from_state(lambda p: 0.0)(params, state=optim.sgd(0.1).init(params))
