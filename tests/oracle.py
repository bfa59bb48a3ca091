"""The oracle: one helper per kind of comparison with JAX.

- ``assert_same_as_jax(ours, theirs, *args)``: values and dtypes equal, eager
  and under jit (ours under ``transforms.jit``, JAX's under ``jax.jit``).
- ``assert_trees_close(a, b)``: the underlying tree comparison.
"""
from __future__ import annotations

import numpy as np
import jax
from jax import tree_util

import fx



def _tol(dtype, rtol, atol):
    dtype = np.dtype(dtype)
    if rtol is None:
        rtol = {"bfloat16": 2e-2, "float16": 2e-3}.get(dtype.name, 1e-5 if dtype.kind in "fc" else 0)
    if atol is None:
        atol = {"bfloat16": 2e-2, "float16": 2e-3}.get(dtype.name, 1e-6 if dtype.kind in "fc" else 0)
    return rtol, atol


def assert_trees_close(ours, theirs, rtol=None, atol=None, check_dtype=True, what=""):
    """Assert two pytrees have the same structure, shapes, dtypes and close values."""
    o_leaves, o_tree = tree_util.tree_flatten(ours)
    t_leaves, t_tree = tree_util.tree_flatten(theirs)
    assert o_tree == t_tree, f"{what}: tree structure {o_tree} != JAX's {t_tree}"
    for i, (o, t) in enumerate(zip(o_leaves, t_leaves)):
        o_arr, t_arr = np.asarray(o), np.asarray(t)
        assert o_arr.shape == t_arr.shape, f"{what} leaf {i}: shape {o_arr.shape} != JAX's {t_arr.shape}"
        if check_dtype:
            assert o_arr.dtype == t_arr.dtype, f"{what} leaf {i}: dtype {o_arr.dtype} != JAX's {t_arr.dtype}"
        r, a = _tol(t_arr.dtype, rtol, atol)
        if t_arr.dtype.kind in "fc" or t_arr.dtype.name == "bfloat16":
            np.testing.assert_allclose(o_arr.astype(np.float64) if o_arr.dtype.kind != "c" else o_arr,
                                       t_arr.astype(np.float64) if t_arr.dtype.kind != "c" else t_arr,
                                       rtol=r, atol=a, equal_nan=True, err_msg=f"{what} leaf {i}")
        else:
            np.testing.assert_array_equal(o_arr, t_arr, err_msg=f"{what} leaf {i}")


def assert_same_as_jax(ours, theirs, *args, rtol=None, atol=None, check_dtype=True,
                       jit=True, static_argnums=(), **kwargs):
    """Compare ``ours(*args, **kwargs)`` with ``theirs(*args, **kwargs)``.

    Checks eager values and dtypes, then (with ``jit``) ``transforms.jit(ours)``
    against ``jax.jit(theirs)``, and that our traced graph typechecks.
    """
    from transforms import jit as fjit
    expected = theirs(*args, **kwargs)
    got = ours(*args, **kwargs)
    assert_trees_close(got, expected, rtol, atol, check_dtype, what="eager")
    if jit:
        got_j = fjit(ours, static_argnums=static_argnums)(*args, **kwargs)
        exp_j = jax.jit(theirs, static_argnums=static_argnums)(*args, **kwargs)
        assert_trees_close(got_j, exp_j, rtol, atol, check_dtype, what="jit")
        g = fx.make_graph(ours, static_argnums=static_argnums)(*args, **kwargs)
        fx.typecheck(g)
        assert_trees_close(fx.graph_to_fn(g)(*[a for i, a in enumerate(args) if i not in
                                               (static_argnums if isinstance(static_argnums, tuple) else (static_argnums,))],
                                             **kwargs),
                           expected, rtol, atol, check_dtype, what="graph_to_fn")
    return got
