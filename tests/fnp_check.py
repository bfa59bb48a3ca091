"""Shared checks of the fnp tests (math, creation, reductions, linalg).

Each case is ``f(m, *args)`` with ``m`` the numpy module: ``check`` runs it with
``m = fnp`` (ours) and ``m = jnp`` (theirs) through the oracle (values and dtypes,
eager, under jit and via the Graph), and also compares the weak type of every
output (our traced aval vs ``jax.eval_shape``). Where jax.numpy raises, ours
must raise too. ``check_variants`` runs one case over many inputs: the full
oracle on the first, then all of them in ONE jitted call (one compile per side).
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


def check_variants(f, variants, rtol=None, atol=None):
    """``f(m, *v)`` for every ``v`` in ``variants`` (tuples of arguments); see check_cases."""
    return check_cases([(f, tuple(v)) for v in variants], rtol, atol)


def check_cases(cases, rtol=None, atol=None):
    """Many ``(f, args)`` cases, each ``f(m, *args)``, at the cost of one compile.

    Cases jax.numpy rejects must be rejected by ours (while tracing); the
    others are compared: the first with the full oracle, all together in one
    jitted call, plus weak types. Returns the number of accepted cases."""
    ok = []
    for f, args in cases:
        if _raises(partial(f, jnp), *args):
            with pytest.raises(Exception):
                fx.make_graph(partial(f, fnp))(*args)
        else:
            ok.append((f, args))
    if not ok:
        return 0
    check(ok[0][0], *ok[0][1], rtol=rtol, atol=atol, weak=False)
    fns = [f for f, _ in ok]
    arg_sets = [args for _, args in ok]
    # Python scalars stay static (closed over): traced, they would become 0-d arrays
    dyn = [[a for a in args if not _is_py(a)] for args in arg_sets]

    def many(m, dyn):
        out = []
        for f, args, d in zip(fns, arg_sets, dyn):
            it = iter(d)
            out.append(f(m, *[a if _is_py(a) else next(it) for a in args]))
        return out
    from transforms import jit as fjit
    from oracle import assert_trees_close
    got = fjit(partial(many, fnp))(dyn)
    want = jax.jit(partial(many, jnp))(dyn)
    assert_trees_close(got, want, rtol, atol, what="jit(all cases)")
    assert_weak_type_matches(partial(many, fnp), partial(many, jnp), dyn)
    return len(ok)
