"""The oracle: one helper per kind of comparison with JAX.

- ``assert_same_as_jax(ours, theirs, *args)``: values and dtypes equal, eager
  and under jit (ours under ``transforms.jit``, JAX's under ``jax.jit``).
- ``assert_cases_same_as_jax(cases)``: the same over a table of cases, with one
  compile per side for the jitted check of all of them.
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
                       jit=True, static_argnums=(), jax_eager=False, **kwargs):
    """Compare ``ours(*args, **kwargs)`` with ``theirs(*args, **kwargs)``.

    Checks eager values and dtypes, then (with ``jit``) ``transforms.jit(ours)``
    against ``jax.jit(theirs)``, and that our traced graph typechecks. With
    ``jit``, JAX's values come from its jit alone unless ``jax_eager``: eagerly
    JAX compiles each op on its own, for the same values (one op is the same
    program; the suite compiles with XLA's reassociating passes off).
    """
    from transforms import jit as fjit
    exp_j = jax.jit(theirs, static_argnums=static_argnums)(*args, **kwargs) if jit else None
    expected = theirs(*args, **kwargs) if jax_eager or not jit else exp_j
    got = ours(*args, **kwargs)
    assert_trees_close(got, expected, rtol, atol, check_dtype, what="eager")
    if jit:
        got_j = fjit(ours, static_argnums=static_argnums)(*args, **kwargs)
        assert_trees_close(got_j, exp_j, rtol, atol, check_dtype, what="jit")
        g = fx.make_graph(ours, static_argnums=static_argnums)(*args, **kwargs)
        fx.typecheck(g)
        assert_trees_close(fx.graph_to_fn(g)(*[a for i, a in enumerate(args) if i not in
                                               (static_argnums if isinstance(static_argnums, tuple) else (static_argnums,))],
                                             **kwargs),
                           expected, rtol, atol, check_dtype, what="graph_to_fn")
    return got


class Case(tuple):
    """One row of :func:`assert_cases_same_as_jax`: ``Case(name, ours, theirs, args)``."""

    def __new__(cls, name, ours, theirs, args):
        return super().__new__(cls, (name, ours, theirs, tuple(args)))


def chunks(cases, n=10):
    """pytest params of consecutive groups of ``n`` named cases (``case[0]`` the
    name): one test per group, whose cases share one compile per side."""
    import pytest
    groups = [cases[i:i + n] for i in range(0, len(cases), n)]
    return [pytest.param(g, id=f"{g[0][0]}..{g[-1][0]}") for g in groups]


def groups_by_prefix(cases, sep):
    """pytest params of ``cases`` grouped by the part of their name (``case[0]``)
    before ``sep``: one test per group, whose cases share one compile per side."""
    import pytest
    groups = {}
    for c in cases:
        groups.setdefault(c[0].split(sep)[0], []).append(c)
    return [pytest.param(g, id=k) for k, g in groups.items()]


class _Failures(list):
    """Every failing case of a table, reported together, each named."""

    def attempt(self, name, what, thunk):
        try:
            return thunk()
        except Exception as e:  # collect: report every failing case at once
            self.append(f"[{name}] {what}: {type(e).__name__}: {e}")

    def check(self):
        assert not self, f"{len(self)} failure(s):\n" + "\n".join(self)


def _run_named(fns, tag):
    """``{name: fn(*args)}`` over ``fns`` = [(name, fn)], for one traced call of all
    cases; an exception while tracing names its case."""
    def run(all_args):
        out = {}
        for name, fn in fns:
            try:
                out[name] = fn(*all_args[name])
            except Exception as e:
                raise AssertionError(f"[{name}] {tag}: {type(e).__name__}: {e}") from e
        return out
    return run


def assert_cases_same_as_jax(cases, rtol=None, atol=None, check_dtype=True, jit=True,
                             jax_eager=False, eager="all"):
    """:func:`assert_same_as_jax` over many cases, with one jit compile per side for all.

    Args:
      cases: ``Case(name, ours, theirs, args)`` rows (or 4-tuples), distinct names.
      jit: also compare ``transforms.jit`` with ``jax.jit`` and check the traced
        Graph (typechecks; ``graph_to_fn`` gives the eager values), all cases in
        ONE traced function per side instead of one per case.
      jax_eager: JAX's eager values (what ours runs against eagerly) come from
        running each case eagerly. By default (False) they
        are taken from the one ``jax.jit`` of all cases: for single ops that is
        the very program JAX runs eagerly, and for composites the same values
        (the suite compiles with XLA's reassociating passes off), without one
        compile per op of every case.
      eager: which cases ours runs eagerly (and through ``graph_to_fn``, as
        assert_same_as_jax): ``"all"``, ``"first"`` or a collection of names.
        For variants (shapes, dtypes) of one composite function, the others
        are checked under jit (values, dtypes) and in the typechecked Graph
        only: eagerly every op of every variant compiles on its own, and the
        eager path runs the same lowering rules as jit.

    Every mismatch is collected and reported together, each with its case's
    name. Returns JAX's values by name (its eager ones where computed).
    """
    from transforms import jit as fjit
    cases = [Case(*c) for c in cases]
    names = [c[0] for c in cases]
    assert len(set(names)) == len(names), f"duplicate case names in {names}"
    all_args = {name: args for name, _, _, args in cases}
    ours_fns = [(name, ours) for name, ours, _, _ in cases]
    theirs_all = _run_named([(name, theirs) for name, _, theirs, _ in cases], "jax")
    failures = _Failures()
    attempt = failures.attempt

    exp_jit = jax.jit(theirs_all)(all_args) if jit or not jax_eager else None
    eager_names = (names if eager == "all" else names[:1] if eager == "first"
                   else [n for n in names if n in eager])
    assert eager_names, f"no case runs eagerly (eager={eager!r})"
    eager_fns = [(name, ours) for name, ours in ours_fns if name in eager_names]
    if jax_eager:
        expected = _run_named([(name, theirs) for name, _, theirs, _ in cases
                               if name in eager_names], "jax")(all_args)
    else:
        expected = exp_jit
    for name, ours in eager_fns:
        attempt(name, "eager", lambda: assert_trees_close(
            ours(*all_args[name]), expected[name], rtol, atol, check_dtype,
            what=f"[{name}] eager"))
    if jit:
        def check_all(what, got, exp):
            for name in got:
                attempt(name, what, lambda: assert_trees_close(
                    got[name], exp[name], rtol, atol, check_dtype, what=f"[{name}] {what}"))

        got = attempt("all cases", "jit",
                      lambda: fjit(_run_named(ours_fns, "transforms.jit"))(all_args))
        if got is not None:
            check_all("jit", got, exp_jit)

        def graph():
            g = fx.make_graph(_run_named(ours_fns, "make_graph"))(all_args)
            fx.typecheck(g)
            if len(eager_fns) < len(ours_fns):  # the eager cases' own Graph
                g = fx.make_graph(_run_named(eager_fns, "make_graph"))(all_args)
            return fx.graph_to_fn(g)(all_args)  # runs the ops eagerly
        got = attempt("all cases", "graph", graph)
        if got is not None:
            check_all("graph_to_fn", got, expected)
    failures.check()
    return {**(exp_jit or {}), **expected}


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


def _assert_cases_transform(cases, run_ours, run_theirs, what, rtol, atol, eager_every):
    """The core of the ``assert_cases_*_matches`` helpers.

    ``cases``: ``{name: (ours, theirs, inputs)}`` (``inputs`` a pytree of
    arrays); ``run_ours(ours, inputs)`` / ``run_theirs(theirs, inputs)`` apply
    the transformation. JAX's values of all cases come from ONE ``jax.jit``.
    Ours runs eagerly for every ``eager_every``-th case (all cases by default)
    and the other cases in ONE ``transforms.jit`` (eagerly, each small op of
    every case compiles on its own; the rules are the same); every case's
    traced transformation typechecks. All failures are reported, named.
    """
    from transforms import jit as fjit
    inputs = {name: c[2] for name, c in cases.items()}
    expected = jax.jit(_run_named([(name, lambda inp, t=c[1]: run_theirs(t, inp))
                                   for name, c in cases.items()], "jax"))(
        {name: (inp,) for name, inp in inputs.items()})
    ours_fns = [(name, lambda inp, o=c[0]: run_ours(o, inp)) for name, c in cases.items()]
    failures = _Failures()
    attempt = failures.attempt

    for i, (name, fn) in enumerate(ours_fns):
        if i % eager_every == 0:
            attempt(name, "eager", lambda: assert_trees_close(
                fn(inputs[name]), expected[name], rtol, atol, what=f"{what} (eager)"))
        attempt(name, "traced", lambda: fx.typecheck(fx.make_graph(fn)(inputs[name])))
    jitted = [(name, fn) for i, (name, fn) in enumerate(ours_fns) if i % eager_every]
    if jitted:
        got = attempt("all cases", "jit", lambda: fjit(_run_named(jitted, "transforms.jit"))(
            {name: (inputs[name],) for name, _ in jitted}))
        for name in got or ():
            attempt(name, "jit", lambda: assert_trees_close(
                got[name], expected[name], rtol, atol, what=f"{what} (jit)"))
    failures.check()


def assert_cases_jvp_matches(cases, rtol=None, atol=None, eager_every=1):
    """:func:`assert_jvp_matches` over ``(name, ours, theirs, primals, tangents)`` cases.

    JAX's jvps of all cases are computed in ONE ``jax.jit`` (one compile, not
    one per op of every case's eager jvp; no float0 tangents). Ours runs
    eagerly for every ``eager_every``-th case, the others in one
    ``transforms.jit``; its traced jvps typecheck."""
    from transforms import jvp
    _assert_cases_transform(
        {n: (o, t, (tuple(p), tuple(d))) for n, o, t, p, d in cases},
        lambda ours, pd: jvp(ours, *pd), lambda theirs, pd: jax.jvp(theirs, *pd),
        "jvp (primal out, tangent out)", rtol, atol, eager_every)


def assert_cases_vmap_matches(cases, rtol=None, atol=None, eager_every=1):
    """:func:`assert_vmap_matches` over ``(name, ours, theirs, in_axes, args[, out_axes])``
    cases: JAX's vmaps of all cases in ONE ``jax.jit``; ours eagerly for every
    ``eager_every``-th case, the others in one ``transforms.jit``; its traced
    vmaps typecheck."""
    from transforms import vmap
    axes = {c[0]: (c[3], c[5] if len(c) > 5 else 0) for c in cases}
    _assert_cases_transform(
        {c[0]: ((c[1], axes[c[0]]), (c[2], axes[c[0]]), tuple(c[4])) for c in cases},
        lambda ours, args: vmap(ours[0], in_axes=ours[1][0], out_axes=ours[1][1])(*args),
        lambda theirs, args: jax.vmap(theirs[0], in_axes=theirs[1][0],
                                      out_axes=theirs[1][1])(*args),
        "vmap", rtol, atol, eager_every)


def assert_cases_transpose_matches(cases, rtol=None, atol=None, eager_every=1):
    """:func:`assert_transpose_matches` over ``(name, ours, theirs, primals, ct)`` cases:
    JAX's transposes of all cases in ONE ``jax.jit``; ours eagerly for every
    ``eager_every``-th case, the others in one ``transforms.jit``; its traced
    transposes typecheck."""
    from transforms import linear_transpose
    _assert_cases_transform(
        {n: ((o, tuple(p)), (t, tuple(p)), ct) for n, o, t, p, ct in cases},
        lambda ours, ct: linear_transpose(ours[0], *ours[1])(ct),
        lambda theirs, ct: jax.linear_transpose(theirs[0], *theirs[1])(ct),
        "linear_transpose", rtol, atol, eager_every)


def assert_transform_matches(our_transform, jax_transform, ours, theirs, *args,
                             rtol=1e-5, atol=1e-5, jit=False):
    """``our_transform(ours)(*args)`` vs ``jax_transform(theirs)(*args)`` for any
    transform pair (grad, jacfwd, jacrev, hessian, vmap-of-grad, ...); with
    ``jit`` also under our jit.

    Ours runs eagerly (and, with ``jit``, under ``transforms.jit``); JAX's
    expected value is computed once, under ``jax.jit``: eagerly, JAX would
    compile every small op of the transformed function separately (most of
    these tests' time), and jit does not change JAX's result beyond float
    reassociation well inside the tolerances."""
    exp = jax.jit(jax_transform(theirs))(*args)
    got = our_transform(ours)(*args)
    assert_trees_close(got, exp, rtol, atol, check_dtype=True, what="transform")
    if jit:
        from transforms import jit as fjit
        assert_trees_close(fjit(our_transform(ours))(*args), exp, rtol, atol,
                           what="jit(transform)")
    return got


def check_grads_numerically(fn, args, order=2, modes=("fwd", "rev"), eps=1e-4, rtol=1e-3,
                            atol=1e-3):
    """Finite differences (float64; call under x64) vs our jvp (fwd) and vjp (rev),
    up to ``order``: each order differentiates the previous order's directional
    derivative along a random direction. ``fn`` maps arrays to an array; complex
    arrays get complex directions (reverse mode pairs ``Re(sum(ct * t))``, as JAX)."""
    from transforms import jvp, vjp
    rng = np.random.default_rng(0)

    def rand_like(x):  # complex values get complex directions
        dtype = np.asarray(x).dtype
        r = rng.normal(size=np.shape(x))
        if dtype.kind == "c":
            r = r + 1j * rng.normal(size=np.shape(x))
        return r.astype(dtype)

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
            # (JAX's pairing of a cotangent with a tangent: Re(sum(ct * t)), C as R^2)
            lhs = float(np.real(np.sum(np.asarray(ct) * numeric)))
            rhs = float(np.real(sum(np.sum(np.asarray(c) * t) for c, t in zip(cts, tangents))))
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
