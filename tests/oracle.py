"""The oracle: one helper per kind of comparison with JAX.

- ``assert_same_as_jax(ours, theirs, *args)``: values and dtypes equal, eager
  and under jit (ours under ``transforms.jit``, JAX's under ``jax.jit``).
- ``assert_trees_close(a, b)``: the underlying tree comparison.
- ``assert_jvp_matches`` / ``assert_vmap_matches`` / ``assert_transpose_matches``:
  transforms.jvp / vmap / linear_transpose vs jax.jvp / jax.vmap / jax.linear_transpose.
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


def _traced_typechecks(fn, *args):
    """The transformed function also stages to a Graph that typechecks (the
    batched / differentiated primitives' abstract evals agree with their outputs)."""
    fx.typecheck(fx.make_graph(fn)(*args))


def assert_jvp_matches(ours, theirs, primals, tangents, rtol=None, atol=None):
    """``transforms.jvp(ours)`` vs ``jax.jvp(theirs)``: primal and tangent outputs."""
    from transforms import jvp
    primals, tangents = tuple(primals), tuple(tangents)
    got = jvp(ours, primals, tangents)
    exp = jax.jvp(theirs, primals, tangents)
    assert_trees_close(got[0], exp[0], rtol, atol, what="jvp primal out")
    assert_trees_close(got[1], exp[1], rtol, atol, what="jvp tangent out")
    _traced_typechecks(lambda *a: jvp(ours, a[:len(primals)], a[len(primals):]),
                       *primals, *tangents)
    return got


def assert_vmap_matches(ours, theirs, in_axes, *args, out_axes=0, rtol=None, atol=None):
    """``transforms.vmap(ours, in_axes, out_axes)(*args)`` vs ``jax.vmap(theirs, ...)``."""
    from transforms import vmap
    got = vmap(ours, in_axes=in_axes, out_axes=out_axes)(*args)
    exp = jax.vmap(theirs, in_axes=in_axes, out_axes=out_axes)(*args)
    assert_trees_close(got, exp, rtol, atol, what="vmap")
    _traced_typechecks(vmap(ours, in_axes=in_axes, out_axes=out_axes), *args)
    return got


def assert_transpose_matches(ours, theirs, primals, ct, rtol=None, atol=None):
    """``transforms.linear_transpose(ours, *primals)(ct)`` vs ``jax.linear_transpose``
    (``ours``/``theirs`` linear in their arguments)."""
    from transforms import linear_transpose
    got = linear_transpose(ours, *primals)(ct)
    exp = jax.linear_transpose(theirs, *primals)(ct)
    assert_trees_close(got, exp, rtol, atol, what="linear_transpose")
    _traced_typechecks(linear_transpose(ours, *primals), ct)
    return got


def assert_transform_matches(our_transform, jax_transform, ours, theirs, *args,
                             rtol=1e-5, atol=1e-5, jit=False):
    """``our_transform(ours)(*args)`` vs ``jax_transform(theirs)(*args)`` for any
    transform pair (grad, jacfwd, jacrev, hessian, vmap-of-grad, ...); with
    ``jit`` also under our jit vs jax.jit."""
    got = our_transform(ours)(*args)
    exp = jax_transform(theirs)(*args)
    assert_trees_close(got, exp, rtol, atol, check_dtype=True, what="transform")
    if jit:
        from transforms import jit as fjit
        assert_trees_close(fjit(our_transform(ours))(*args), jax.jit(jax_transform(theirs))(*args),
                           rtol, atol, what="jit(transform)")
    return got


def check_grads_numerically(fn, args, order=2, modes=("fwd", "rev"), eps=1e-4, rtol=1e-3,
                            atol=1e-3):
    """Finite differences (float64; call under x64) vs our jvp (fwd) and vjp (rev),
    up to ``order``: each order differentiates the previous order's directional
    derivative along a random direction. ``fn`` maps arrays to an array."""
    from transforms import jvp, vjp
    rng = np.random.default_rng(0)

    def rand_like(x):
        return rng.normal(size=np.shape(x)).astype(np.asarray(x).dtype)

    def check(f, xs, level):
        tangents = [rand_like(x) for x in xs]
        plus = f(*[x + eps * t for x, t in zip(xs, tangents)])
        minus = f(*[x - eps * t for x, t in zip(xs, tangents)])
        numeric = (np.asarray(plus) - np.asarray(minus)) / (2 * eps)
        if "fwd" in modes:
            _, t_out = jvp(f, tuple(xs), tuple(tangents))
            np.testing.assert_allclose(np.asarray(t_out), numeric, rtol=rtol, atol=atol,
                                       err_msg=f"forward mode, order {level}")
        if "rev" in modes:
            out, f_vjp = vjp(f, *xs)
            ct = rand_like(out)
            cts = f_vjp(ct)
            lhs = float(np.sum(np.asarray(ct) * numeric))
            rhs = float(sum(np.sum(np.asarray(c) * t) for c, t in zip(cts, tangents)))
            np.testing.assert_allclose(rhs, lhs, rtol=rtol, atol=atol,
                                       err_msg=f"reverse mode, order {level}")
        if level < order:
            def df(*ys):
                return jvp(f, tuple(ys), tuple(tangents))[1]
            check(df, xs, level + 1)

    check(fn, list(args), 1)


def _slice_tree(tree, axes, b):
    """Element ``b`` of the mapped axes of ``tree`` (``axes``: an int/None prefix)."""
    def one(ax, sub):
        return tree_util.tree_map(lambda x: x if ax is None else np.take(np.asarray(x), b, axis=ax),
                                  sub)
    return tree_util.tree_map(one, axes, tree, is_leaf=lambda x: x is None)


def _stack_tree(outs, axes):
    """Stack the per-example outputs along ``out_axes`` (None: all equal, keep one)."""
    tree = tree_util.tree_structure(outs[0])
    leaf_axes = _leaf_axes(outs[0], axes)
    per_leaf = zip(*[tree_util.tree_leaves(o) for o in outs])
    stacked = []
    for ax, xs in zip(leaf_axes, per_leaf):
        xs = [np.asarray(x) for x in xs]
        if ax is None:
            for x in xs[1:]:
                np.testing.assert_array_equal(x, xs[0], err_msg="out_axes=None output varies")
            stacked.append(xs[0])
        else:
            stacked.append(np.stack(xs, axis=ax))
    return tree_util.tree_unflatten(tree, stacked)


def assert_vmap_matches_loop(fn, in_axes, *args, out_axes=0, rtol=None, atol=None, jit=False,
                             what="vmap vs loop"):
    """``transforms.vmap(fn, in_axes, out_axes)(*args)`` equals a Python loop over
    the batch: ``fn`` applied to each example (the mapped axes sliced with numpy),
    the results stacked along ``out_axes`` (values and dtypes).

    Args:
      fn: the function (of pytrees of arrays).
      in_axes: an int, None, or a tuple with one int/None prefix per argument.
      *args: the batched arguments.
      out_axes: int, None or a pytree prefix of the output.
      jit: run the vmapped function under ``transforms.jit`` and the loop
        (all examples) under one ``transforms.jit`` too: one compile each,
        which keeps large tables fast. Otherwise both run eagerly and the
        vmapped function's graph is also typechecked.
    """
    from transforms import jit as fjit, vmap
    per_arg = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    per_arg = tuple(tuple(a) if isinstance(a, list) else a for a in per_arg)
    sizes = [np.shape(x)[ax] for a, ax in zip(args, per_arg)
             for x, ax in zip(tree_util.tree_leaves(a), _leaf_axes(a, ax)) if ax is not None]
    assert sizes, "assert_vmap_matches_loop: no mapped argument"
    examples = [tuple(_slice_tree(a, ax, b) for a, ax in zip(args, per_arg))
                for b in range(sizes[0])]
    batched = vmap(fn, in_axes=in_axes, out_axes=out_axes)
    if jit:
        got = fjit(batched)(*args)
        outs = fjit(lambda exs: [fn(*ex) for ex in exs])(examples)
    else:
        got = batched(*args)
        outs = [fn(*ex) for ex in examples]
        _traced_typechecks(batched, *args)
    expected = _stack_tree(outs, out_axes)
    assert_trees_close(got, expected, rtol, atol, what=what)
    return got


def _leaf_axes(tree, ax):
    full = tree_util.tree_map(lambda a, sub: tree_util.tree_map(lambda _: a, sub), ax, tree,
                              is_leaf=lambda x: x is None)
    return tree_util.tree_structure(tree).flatten_up_to(full)
