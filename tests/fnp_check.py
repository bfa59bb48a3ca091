"""Shared checks of the fnp tests (math, creation, reductions, linalg).

Each case is ``f(m, *args)`` with ``m`` the numpy module: ``check`` runs it with
``m = fnp`` (ours) and ``m = jnp`` (theirs) through the oracle (values and dtypes,
eager, under jit and via the Graph), and also compares the weak type of every
output (our traced aval vs ``jax.eval_shape``). Where jax.numpy raises, ours
must raise too. ``check_variants`` runs one case over many inputs, and
``check_cases`` many cases: eagerly the first (or every) case, then all of them
in ONE jitted call and ONE typechecked Graph (one compile per side).
"""
from __future__ import annotations

from functools import partial

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import fx
import primitives.numpy as fnp
from oracle import assert_same_as_jax

BF16 = jnp.bfloat16
DTYPES = {"f32": np.float32, "bf16": BF16, "i32": np.int32, "bool": np.bool_}


def arr(shape, dtype=np.float32, kind="any", seed=0):
    """A small test array. ``kind``: any (-3..3), pos (0.5..3), unit (-0.9..0.9),
    gt1 (1.1..3), nz (non-zero)."""
    rs = np.random.RandomState(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return jnp.asarray(rs.rand(*shape) > 0.5)
    if dtype.kind in "iu":
        lo, hi = {"pos": (1, 6), "gt1": (2, 6), "unit": (0, 1)}.get(kind, (-5, 6))
        vals = rs.randint(lo, hi, size=shape)
        if kind == "nz":
            vals = np.where(vals == 0, 3, vals)
        return jnp.asarray(vals, dtype)
    lo, hi = {"pos": (0.5, 3.0), "unit": (-0.9, 0.9), "gt1": (1.1, 3.0)}.get(kind, (-3.0, 3.0))
    vals = rs.uniform(lo, hi, size=shape)
    if kind == "nz":
        vals = np.where(np.abs(vals) < 0.2, 1.5, vals)
    return jnp.asarray(vals, dtype)


def assert_weak_type_matches(ours, theirs, *args):
    """Our traced output avals have jax.numpy's weak types (boolean outputs
    excepted: jax.lax comparisons of weak operands give weak booleans, which
    the lax-level primitives do not track; a weak bool promotes like a bool)."""
    got = [a.weak_type and a.dtype != np.bool_
           for a in fx.make_graph(ours)(*args).out_avals]
    want = [bool(getattr(s, "weak_type", False)) and s.dtype != np.bool_
            for s in jax.tree_util.tree_leaves(jax.eval_shape(theirs, *args))]
    assert got == want, f"weak types {got} != jax.numpy's {want}"


def check(f, *args, rtol=None, atol=None, jit=True, weak=True):
    """``f(fnp, *args)`` matches ``f(jnp, *args)``; if jnp raises, ours raises too."""
    ours, theirs = partial(f, fnp), partial(f, jnp)
    try:
        jax.eval_shape(theirs, *args)
    except (TypeError, ValueError, IndexError, NotImplementedError) as e:
        with pytest.raises(Exception):
            ours(*args)
        return e
    assert_same_as_jax(ours, theirs, *args, rtol=rtol, atol=atol, jit=jit)
    if weak:
        assert_weak_type_matches(ours, theirs, *args)
    return None


def _is_py(a) -> bool:
    return type(a) in (bool, int, float, complex)


def _raises(fn, *args):
    try:
        jax.eval_shape(fn, *args)
    except (TypeError, ValueError, IndexError, NotImplementedError):
        return True
    return False


def check_variants(f, variants, rtol=None, atol=None, eager="first"):
    """``f(m, *v)`` for every ``v`` in ``variants`` (tuples of arguments); see check_cases."""
    return check_cases([(f, tuple(v)) for v in variants], rtol, atol, eager=eager)


def _describe(args) -> str:
    return ", ".join(repr(a) if _is_py(a) else f"{np.dtype(a.dtype).name}{list(np.shape(a))}"
                     for a in args)


def check_cases(cases, rtol=None, atol=None, eager="first", names=None):
    """Many ``(f, args)`` cases, each ``f(m, *args)``, at the cost of one compile per side.

    Cases jax.numpy rejects must be rejected by ours (while tracing); the
    others are compared: eagerly (values and dtypes; ``eager="first"``: the
    first accepted case only, for variants of one function; ``"all"``: every
    case), then all together in ONE jitted call (values and dtypes), with the
    traced Graph of all cases typechecked, the eager cases' Graph run through
    ``graph_to_fn``, and the weak types of all outputs. Failures name their
    case (``names``, else its index and argument types). Returns the number
    of accepted cases."""
    from transforms import jit as fjit
    from oracle import assert_trees_close
    names = list(names) if names is not None else [None] * len(cases)
    ok, ok_names = [], []
    for (f, args), name in zip(cases, names):
        if _raises(partial(f, jnp), *args):
            with pytest.raises(Exception):
                fx.make_graph(partial(f, fnp))(*args)
        else:
            ok.append((f, args))
            ok_names.append(name or f"case {len(ok) - 1} ({_describe(args)})")
    if not ok:
        return 0
    fns = [f for f, _ in ok]
    arg_sets = [args for _, args in ok]
    # Python scalars stay static (closed over): traced, they would become 0-d arrays
    dyn = [[a for a in args if not _is_py(a)] for args in arg_sets]

    def many(m, dyn, which=None):
        out = []
        for i, (f, args, d) in enumerate(zip(fns, arg_sets, dyn)):
            if which is not None and i not in which:
                continue
            it = iter(d)
            out.append(f(m, *[a if _is_py(a) else next(it) for a in args]))
        return out
    n_eager = len(ok) if eager == "all" else 1
    for (f, args), name in zip(ok[:n_eager], ok_names):
        try:  # eager; the jitted and Graph checks are below, for all cases at once
            assert_same_as_jax(partial(f, fnp), partial(f, jnp), *args, rtol=rtol, atol=atol,
                               jit=False)
        except AssertionError as e:
            raise AssertionError(f"eager: {name}: {e}") from e
    got = fjit(partial(many, fnp))(dyn)
    want = jax.jit(partial(many, jnp))(dyn)
    for g, w, name in zip(got, want, ok_names):
        assert_trees_close(g, w, rtol, atol, what=f"jit(all cases): {name}")
    graph = fx.make_graph(partial(many, fnp))(dyn)
    fx.typecheck(graph)
    eager_graph = fx.make_graph(partial(many, fnp, which=range(n_eager)))(dyn)
    want = partial(many, jnp, which=range(n_eager))(dyn)
    for g, w, name in zip(fx.graph_to_fn(eager_graph)(dyn), want, ok_names):
        assert_trees_close(g, w, rtol, atol, what=f"graph_to_fn: {name}")
    assert_weak_type_matches(partial(many, fnp), partial(many, jnp), dyn)
    return len(ok)
