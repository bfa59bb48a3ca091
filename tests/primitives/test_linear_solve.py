"""custom_linear_solve / custom_root (primitives/linear_solve.py) against jax.lax:
values (eager, jit, Graph), jvp and grads to order 2 vs JAX's, finite differences
to order 2 (float64), vmap vs a loop, has_aux, symmetric, typed errors."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest

import primitives as P
import primitives.numpy as fnp
from fx.errors import FxTypeError
from oracle import (Case, assert_cases_same_as_jax, assert_trees_close, assert_vmap_matches_loop,
                    check_grads_numerically)
from transforms import grad, jacfwd, jit, jvp

L = jax.lax
_rng = np.random.RandomState(0)
A = (_rng.randn(3, 3) + 3 * np.eye(3)).astype(np.float32)
B = _rng.randn(3).astype(np.float32)


def _solve_ours(a, b, symmetric=False, has_aux=False):
    def solve(mv, r):
        x = fnp.linalg.solve(a, r)
        return (x, {"n": P.reduce_sum(r, (0,))}) if has_aux else x

    def tsolve(vm, r):
        x = fnp.linalg.solve(a.T, r)
        return (x, {"n": P.reduce_sum(r, (0,))}) if has_aux else x
    return P.custom_linear_solve(lambda x: fnp.dot(a, x), b, solve,
                                 None if symmetric else tsolve, symmetric=symmetric,
                                 has_aux=has_aux)


def _solve_jax(a, b, symmetric=False, has_aux=False):
    def solve(mv, r):
        x = jnp.linalg.solve(a, r)
        return (x, {"n": jnp.sum(r)}) if has_aux else x

    def tsolve(vm, r):
        x = jnp.linalg.solve(a.T, r)
        return (x, {"n": jnp.sum(r)}) if has_aux else x
    return L.custom_linear_solve(lambda x: jnp.dot(a, x), b, solve,
                                 None if symmetric else tsolve, symmetric=symmetric,
                                 has_aux=has_aux)


def _tree_ours(a, b):   # b a pytree; matvec captures a
    mv = lambda x: {"u": fnp.dot(a, x["u"]), "s": 2.0 * x["s"]}
    sol = lambda m, r: {"u": fnp.linalg.solve(a, r["u"]), "s": r["s"] / 2.0}
    tsol = lambda m, r: {"u": fnp.linalg.solve(a.T, r["u"]), "s": r["s"] / 2.0}
    return P.custom_linear_solve(mv, b, sol, tsol)


def _tree_jax(a, b):
    mv = lambda x: {"u": jnp.dot(a, x["u"]), "s": 2.0 * x["s"]}
    sol = lambda m, r: {"u": jnp.linalg.solve(a, r["u"]), "s": r["s"] / 2.0}
    tsol = lambda m, r: {"u": jnp.linalg.solve(a.T, r["u"]), "s": r["s"] / 2.0}
    return L.custom_linear_solve(mv, b, sol, tsol)


SPD = (A @ A.T + np.eye(3)).astype(np.float32)
TREE_B = {"u": B, "s": np.float32(3.0)}


def _loss(solver, np_mod):
    return lambda a, b: np_mod.sum(solver(a, b) ** 2 * np_mod.arange(1.0, 4.0))


def test_custom_linear_solve_values():
    assert_cases_same_as_jax([
        Case("plain", _solve_ours, _solve_jax, (A, B)),
        Case("symmetric", lambda a, b: _solve_ours(a, b, True), lambda a, b: _solve_jax(a, b, True),
             (SPD, B)),
        Case("aux", lambda a, b: _solve_ours(a, b, has_aux=True),
             lambda a, b: _solve_jax(a, b, has_aux=True), (A, B)),
        Case("tree", _tree_ours, _tree_jax, (A, TREE_B)),
    ], eager={"plain", "aux", "tree"}, rtol=1e-5, atol=1e-5)


def test_custom_linear_solve_derivatives():
    lo, lj = _loss(_solve_ours, fnp), _loss(_solve_jax, jnp)
    exp1 = jax.grad(lj, argnums=(0, 1))(A, B)
    assert_trees_close(grad(lo, argnums=(0, 1))(A, B), exp1, rtol=1e-4, atol=1e-5)
    assert_trees_close(jit(grad(lo, argnums=(0, 1)))(A, B), exp1, rtol=1e-4, atol=1e-5)
    # order 2: jacfwd of grad, in both arguments
    exp2 = jax.jacfwd(jax.grad(lj, argnums=(0, 1)), argnums=(0, 1))(A, B)
    assert_trees_close(jit(jacfwd(grad(lo, argnums=(0, 1)), argnums=(0, 1)))(A, B), exp2,
                       rtol=1e-4, atol=1e-5)
    # forward mode and a tree right-hand side, and the symmetric variant
    got = jvp(_tree_ours, (A, TREE_B), (A, TREE_B))
    exp = jax.jvp(_tree_jax, (A, TREE_B), (A, TREE_B))
    assert_trees_close(got, exp, rtol=1e-4, atol=1e-5)
    ls, lsj = _loss(lambda a, b: _solve_ours(a, b, True), fnp), _loss(
        lambda a, b: _solve_jax(a, b, True), jnp)
    assert_trees_close(jit(grad(ls, argnums=(0, 1)))(SPD, B),
                       jax.grad(lsj, argnums=(0, 1))(SPD, B), rtol=1e-4, atol=1e-5)
    with jax.enable_x64(True):
        check_grads_numerically(jit(_solve_ours), [A.astype(np.float64), B.astype(np.float64)],
                                order=2, eps=1e-5, rtol=1e-4, atol=1e-6)


def test_custom_linear_solve_vmap():
    As = np.stack([A, A.T, SPD])
    Bs = np.stack([B, 2 * B, -B])
    assert_vmap_matches_loop(_solve_ours, (0, None), As, B, rtol=1e-5, atol=1e-5)
    assert_vmap_matches_loop(_solve_ours, (None, 0), A, Bs, rtol=1e-5, atol=1e-5)
    # vmap of grad: the transposed solve batched
    lo = _loss(_solve_ours, fnp)
    assert_vmap_matches_loop(grad(lo, argnums=(0, 1)), (0, 0), As, Bs, rtol=1e-4, atol=1e-5,
                             jit=True)


def _sqrt_ours(a):
    f = lambda x: x * x - a
    solve = lambda f, x0: P.fori_loop(0, 20, lambda i, x: 0.5 * (x + a / x), x0)
    return P.custom_root(f, fnp.ones_like(a), solve, lambda g, y: y / g(1.0))


def _sqrt_jax(a):
    f = lambda x: x * x - a
    solve = lambda f, x0: L.fori_loop(0, 20, lambda i, x: 0.5 * (x + a / x), x0)
    return L.custom_root(f, jnp.ones_like(a), solve, lambda g, y: y / g(1.0))


def _vec_root_ours(p):   # x - p * tanh(x) = 1 (componentwise), fixed point iteration
    f = lambda x: {"x": x["x"] - p * fnp.tanh(x["x"]) - 1.0}
    solve = lambda f, x0: (P.fori_loop(0, 60, lambda i, x: {"x": 1.0 + p * fnp.tanh(x["x"])}, x0),
                           np.float32(60.0))
    tsolve = lambda g, y: {"x": y["x"] / g({"x": fnp.ones_like(p)})["x"]}
    return P.custom_root(f, {"x": fnp.zeros_like(p)}, solve, tsolve, has_aux=True)


def _vec_root_jax(p):
    f = lambda x: {"x": x["x"] - p * jnp.tanh(x["x"]) - 1.0}
    solve = lambda f, x0: (L.fori_loop(0, 60, lambda i, x: {"x": 1.0 + p * jnp.tanh(x["x"])}, x0),
                           np.float32(60.0))
    tsolve = lambda g, y: {"x": y["x"] / g({"x": jnp.ones_like(p)})["x"]}
    return L.custom_root(f, {"x": jnp.zeros_like(p)}, solve, tsolve, has_aux=True)


def test_custom_root():
    a = np.float32(2.0)
    p = np.array([0.3, 0.5], np.float32)
    assert_cases_same_as_jax([Case("sqrt", _sqrt_ours, _sqrt_jax, (a,)),
                              Case("vec_aux", _vec_root_ours, _vec_root_jax, (p,))],
                             eager={"sqrt"})
    assert_trees_close(grad(_sqrt_ours)(a), jax.grad(_sqrt_jax)(a))
    assert_trees_close(jit(grad(grad(_sqrt_ours)))(a), jax.grad(jax.grad(_sqrt_jax))(a))
    vo = lambda p: fnp.sum(_vec_root_ours(p)[0]["x"] ** 2)
    vj = lambda p: jnp.sum(_vec_root_jax(p)[0]["x"] ** 2)
    assert_trees_close(jit(grad(vo))(p), jax.grad(vj)(p), rtol=1e-4, atol=1e-5)
    assert_trees_close(jit(jacfwd(grad(vo)))(p), jax.jacfwd(jax.grad(vj))(p), rtol=1e-4,
                       atol=1e-5)
    assert_vmap_matches_loop(_sqrt_ours, 0, np.array([2.0, 3.0, 0.5], np.float32), jit=True)
    assert_vmap_matches_loop(grad(_sqrt_ours), 0, np.array([2.0, 3.0], np.float32), jit=True)


def test_errors():
    no_t = lambda a, b: P.custom_linear_solve(lambda x: fnp.dot(a, x), b,
                                              lambda m, r: fnp.linalg.solve(a, r))
    np.testing.assert_allclose(no_t(A, B), np.linalg.solve(A, B), rtol=1e-5)
    with pytest.raises(Exception, match="transpose_solve required"):
        grad(lambda b: fnp.sum(no_t(A, b)))(B)
    with pytest.raises(Exception, match="output shapes must match"):
        P.custom_linear_solve(lambda x: fnp.dot(A, x), B, lambda m, r: r[:2])
    with pytest.raises(FxTypeError, match="pytree structure"):
        P.custom_root(lambda x: x - 1.0, 0.0, lambda f, x: (x, x), lambda g, y: y)
