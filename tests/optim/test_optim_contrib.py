"""optim.contrib against optax.contrib where the shared table (optim_rows.py) cannot
reach: Sophia with its default Hutchinson estimator (random signs and a jvp of a
grad, which need one params dtype and the ``obj_fn`` update argument) and
schedule_free_eval_params. The table's rows cover the update arithmetic."""
import numpy as np
import jax
import jax.numpy as jnp
import optax
import pytest
from jax import tree_util

import optim
import primitives.numpy as fnp
from transforms import jit
from tests.oracle import assert_trees_close


def _quartic(p):
    """A loss with a non-diagonal Hessian (else Hutchinson's estimate is exact)."""
    leaves = tree_util.tree_leaves(p)
    return (0.01 * sum(fnp.sum(x ** 4) for x in leaves)
            + 0.05 * sum(fnp.sum(x) for x in leaves) ** 2)


def _params(dtype):
    rng = np.random.default_rng(0)
    return {"w": jnp.asarray(rng.normal(size=(3, 4)), dtype),
            "b": jnp.asarray(rng.normal(size=(4,)), dtype)}


def _run(tx, jit_fn, params, steps=5):
    def step(p, s):
        g = jax.tree.map(lambda x: 0.04 * x ** 3, p)  # the field need not be obj_fn's grad
        u, s = tx.update(g, s, p, obj_fn=_quartic)
        return optim.apply_updates(p, u), s
    step = jit_fn(step)
    state = tx.init(params)
    for _ in range(steps):
        params, state = step(params, state)
    return params, state


def test_sophia_hutchinson_matches_optax():
    for dtype, rtol in ((jnp.float32, 1e-5), (jnp.float64, 1e-12)):
        with jax.enable_x64(dtype == jnp.float64):
            params = _params(dtype)
            key = jax.random.PRNGKey(3)
            ours = _run(optim.contrib.sophia(
                1e-1, hessian_diagonal_fn=optim.contrib.hutchinson_estimator_diag_hessian(
                    key), update_interval=2), jit, params)
            theirs = _run(optax.contrib.sophia(
                1e-1, hessian_diagonal_fn=optax.contrib.hutchinson_estimator_diag_hessian(
                    key), update_interval=2), jax.jit, params)
            assert type(ours[1][0])._fields == type(theirs[1][0])._fields
            assert_trees_close(jax.tree.leaves(ours), jax.tree.leaves(theirs), rtol=rtol,
                               atol=rtol, what=f"sophia {dtype}")
    params = _params(jnp.float32)
    with pytest.raises(ValueError, match="obj_fn"):
        tx = optim.contrib.sophia(1e-1)
        tx.update(params, tx.init(params), params)


def test_schedule_free_eval_params_matches_optax():
    params = _params(jnp.float32)
    ours, st_o = _run(optim.contrib.schedule_free_adamw(1e-1, warmup_steps=2), jit, params)
    theirs, st_t = _run(optax.contrib.schedule_free_adamw(1e-1, warmup_steps=2), jax.jit,
                        params)
    assert_trees_close(optim.contrib.schedule_free_eval_params(st_o, ours),
                       optax.contrib.schedule_free_eval_params(st_t, theirs),
                       rtol=1e-5, atol=1e-6, what="schedule_free_eval_params")
    with pytest.raises(ValueError, match="ScheduleFreeState"):
        optim.contrib.schedule_free_eval_params(optim.adam(1.0).init(params), params)
