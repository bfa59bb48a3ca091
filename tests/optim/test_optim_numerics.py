"""Numerics vs optax, for every optimizer and transformation (one row each).

Each row runs ours and optax's on two trees of dense, conv (4-D), 1-D and
scalar leaves, one compiled step per library and tree, each tree stepped only
as many times as it is checked (two half-size programs compile in about the
time of one; stepping the f32/bf16 tree 95 extra times, as one program for
both trees did, cost more than the 100 f64 steps):
  - float64 (``jax_enable_x64``): 100 steps; final params, last updates and
    the whole state agree leaf by leaf to 1e-10 relative error. float64 is
    where algorithms are compared: there rounding cannot hide a difference.
  - float32 and bfloat16 leaves: the first 5 steps agree to 1e-5 relative
    (two ulps in bfloat16). Over 100 steps float32 rounding differences
    (XLA fusion-level ulps, e.g. muon's Newton-Schulz on AMD CPUs) amplify
    near an optimum: not an algorithmic finding.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from optim_cases import assert_close_to_reference, make_params, trajectory
from optim_rows import ROWS
from transforms import jit


def _tree(dtype_a, dtype_b):
    """Every leaf kind twice: ``{"a": leaves in dtype_a, "b": leaves in dtype_b}``."""
    return {"a": make_params(dtype_a, 0), "b": make_params(dtype_b, 1)}


@pytest.mark.parametrize("name,make", ROWS, ids=[r[0] for r in ROWS])
def test_matches_optax_in_f64_over_100_steps_and_in_f32_over_5(name, make, x64):
    ours, theirs = make()
    for kind, tree, steps, rtol in (
            ("f64", _tree(jnp.float64, jnp.float64), 100, {"float64": 1e-10}),
            ("f32", _tree(jnp.float32, jnp.bfloat16), 5, {"float32": 1e-5})):
        got = trajectory(ours, jit, tree, steps)
        expected = trajectory(theirs, jax.jit, tree, steps)
        for what, o, t in zip(("params", "state", "last updates"), got, expected):
            assert_close_to_reference(o, t, f"{name} {kind} {what}", rtol)
