"""Shared machinery for the control-flow tests.

Each test function is written once as ``make(np_module, lax_module)`` so the
same code runs on fxjax (``primitives.numpy``, ``primitives``) and on JAX
(``jax.numpy``, ``jax.lax``); ``Case`` rows hold a maker, example arguments
and the vmap ``in_axes`` combinations to try. ``check_*`` compare one
transformation of ours against JAX's through the oracle helpers.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import primitives as P
import primitives.numpy as fnp
import transforms as T
from oracle import (assert_cases_jvp_matches, assert_cases_vmap_matches, assert_same_as_jax,
                    assert_transform_matches)

RTOL = 2e-5
ATOL = 2e-5


class Case(NamedTuple):
    name: str
    make: Callable            # make(np_module, lax_module) -> function of args
    args: tuple               # example arguments (float arrays / scalars)
    vmap_axes: tuple = ()     # in_axes tuples to try under vmap
    grad: bool = True         # reverse mode supported (False: JAX raises too)

    def fns(self):
        return self.make(fnp, P), self.make(jnp, jax.lax)


def rng_like(x, seed):
    r = np.random.default_rng(seed)
    return np.asarray(r.uniform(0.2, 0.8, size=np.shape(x)), np.float32)


def batched(args, in_axes, size=3):
    """Stack ``size`` perturbed copies of each argument mapped by ``in_axes``."""
    out = []
    for i, (a, ax) in enumerate(zip(args, in_axes)):
        if ax is None:
            out.append(a)
            continue
        a = np.asarray(a, np.float32)
        copies = [a * (1.0 + 0.15 * k) - 0.05 * k for k in range(size)]
        out.append(np.stack(copies, axis=ax))
    return tuple(out)


def _sum_all(lib, out):
    return sum(lib.sum(leaf) for leaf in jax.tree_util.tree_leaves(out))


def check_values(case: Case):
    ours, theirs = case.fns()
    assert_same_as_jax(ours, theirs, *case.args, rtol=RTOL, atol=ATOL)


def check_jvp(case: Case):
    ours, theirs = case.fns()
    tangents = tuple(rng_like(a, i) for i, a in enumerate(case.args))
    # (JAX's jvp under jax.jit: one compile, not one per op)
    assert_cases_jvp_matches([(case.name, ours, theirs, case.args, tangents)], rtol=1e-4,
                             atol=1e-4)


def check_grad(case: Case, jit: bool = False):
    ours, theirs = case.fns()
    argnums = tuple(range(len(case.args)))
    assert_transform_matches(
        lambda f: T.grad(lambda *a: _sum_all(fnp, f(*a)), argnums=argnums),
        lambda f: jax.grad(lambda *a: _sum_all(jnp, f(*a)), argnums=argnums),
        ours, theirs, *case.args, rtol=1e-4, atol=1e-4, jit=jit)


def check_vmap(case: Case, in_axes):
    ours, theirs = case.fns()
    assert_cases_vmap_matches([(case.name, ours, theirs, in_axes, batched(case.args, in_axes))],
                              rtol=1e-4, atol=1e-4)  # (JAX's vmap under jax.jit)


def all_checks(cases, grad_jit=()):
    """pytest params (case, kind, extra) for every check of every case."""
    import pytest
    params = []
    for c in cases:
        params.append(pytest.param(c, "values", None, id=f"{c.name}-values"))
        params.append(pytest.param(c, "jvp", None, id=f"{c.name}-jvp"))
        if c.grad:
            params.append(pytest.param(c, "grad", c.name in grad_jit, id=f"{c.name}-grad"))
        for ax in c.vmap_axes:
            params.append(pytest.param(c, "vmap", ax, id=f"{c.name}-vmap{ax}"))
    return params


def run_check(case: Case, kind: str, extra: Any):
    if kind == "values":
        check_values(case)
    elif kind == "jvp":
        check_jvp(case)
    elif kind == "grad":
        check_grad(case, jit=bool(extra))
    else:
        check_vmap(case, extra)
