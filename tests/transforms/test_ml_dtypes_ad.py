"""Autodiff of the ml_dtypes types (float8, float4, bfloat16, int4) follows
JAX: every floating type has tangents (``fx.dtypes.is_float``), integer types
get float0. Before fx.dtypes, ``jvp(lambda x: x * x)`` on float8_e4m3fn
returned float0 zeros."""
from __future__ import annotations

import jax
import ml_dtypes
import numpy as np

import fx
from oracle import assert_trees_close
from transforms import grad, jvp, vmap

FLOATS = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
          "float8_e4m3b11fnuz", "bfloat16", "float16"]


def _dtypes(names):
    return [np.dtype(getattr(ml_dtypes, n, None) or getattr(np, n)) for n in names
            if hasattr(ml_dtypes, n) or hasattr(np, n)]


def test_jvp_of_square_on_every_ml_float_matches_jax():
    for dt in _dtypes(FLOATS):
        x = np.array([0.5, -1.5, 2.0], dt)
        t = np.array([1.0, 2.0, -1.0], dt)
        got = jvp(lambda v: v * v, (x,), (t,))
        exp = jax.jvp(lambda v: v * v, (x,), (t,))
        assert got[1].dtype == dt, dt
        assert_trees_close(got, exp, what=str(dt))
        assert np.any(np.asarray(got[1], np.float32) != 0), dt


def test_grad_and_vmap_of_ml_floats_match_jax():
    for dt in _dtypes(["float8_e4m3fn", "float8_e5m2", "bfloat16"]):
        x = np.array([0.5, -1.5, 2.0], dt)
        f = lambda v: (v * v).astype(np.float32).sum()  # noqa: E731
        ours, theirs = grad(f)(x), jax.grad(f)(x)
        assert_trees_close(ours, theirs, what=f"grad {dt}")
        assert_trees_close(vmap(lambda v: v * v)(x), jax.vmap(lambda v: v * v)(x), what=f"vmap {dt}")


def test_int4_has_float0_tangents_as_jax():
    x = np.array([1, 2, 3], ml_dtypes.int4)
    got = jvp(lambda v: v * v, (x,), (np.zeros(3, jax.dtypes.float0),))
    exp = jax.jvp(lambda v: v * v, (x,), (np.zeros(3, jax.dtypes.float0),))
    assert got[1].dtype == exp[1].dtype == jax.dtypes.float0
    assert_trees_close(got[0], exp[0])


def test_kinds_follow_jax_issubdtype():
    for dt in _dtypes(FLOATS + ["float4_e2m1fn", "float8_e8m0fnu"]):
        assert fx.dtypes.kind(dt) == "f" and fx.dtypes.is_float(dt), dt
    assert fx.dtypes.kind(np.dtype(ml_dtypes.int4)) == "i"
    assert fx.dtypes.kind(np.dtype(ml_dtypes.uint4)) == "u"
    assert fx.dtypes.kind(np.dtype(jax.dtypes.float0)) == "V"
    assert not fx.dtypes.is_float(np.dtype(np.int32)) and fx.dtypes.is_float(np.complex64)
