"""The special-function primitives (primitives/special.py) against jax.lax:
values and dtypes (eager, jit, graph), jvp against jax.jvp, finite
differences to order 2 in float64, vmap against a loop, and JAX's errors for
the operands it does not differentiate."""
from __future__ import annotations

import jax
import numpy as np
import pytest
from jax import lax

import primitives as P
from tests.oracle import (Case, assert_cases_jvp_matches, assert_cases_same_as_jax,
                          assert_vmap_matches_loop, check_grads_numerically)
from transforms import grad

rng = np.random.default_rng(0)
POS = rng.uniform(0.5, 3.0, size=(2, 3)).astype(np.float32)
POS2 = rng.uniform(0.5, 3.0, size=(2, 3)).astype(np.float32)
X = rng.normal(size=(2, 3)).astype(np.float32) * 2
UNIT = rng.uniform(0.05, 0.95, size=(2, 3)).astype(np.float32)
M = np.array([[0.0, 1.0, 2.0], [3.0, 1.0, 0.0]], np.float32)
EDGE = np.array([0.0, -0.0, 1e-30, np.inf, -np.inf, np.nan], np.float32)

# (name, ours, lax's, args)
CASES = [
    ("lgamma", P.lgamma, lax.lgamma, (X,)),
    ("lgamma_edge", P.lgamma, lax.lgamma, (EDGE,)),
    ("digamma", P.digamma, lax.digamma, (X,)),
    ("polygamma", P.polygamma, lax.polygamma, (M, POS)),
    ("igamma", P.igamma, lax.igamma, (POS, POS2)),
    ("igamma_edge", P.igamma, lax.igamma, (np.float32(2.0), EDGE)),
    ("igammac", P.igammac, lax.igammac, (POS, POS2)),
    ("igamma_grad_a", P.igamma_grad_a, lax.igamma_grad_a, (POS, POS2)),
    ("random_gamma_grad", P.random_gamma_grad, lax.random_gamma_grad, (POS, POS2)),
    ("betainc", P.betainc, lax.betainc, (POS, POS2, UNIT)),
    ("bessel_i0e", P.bessel_i0e, lax.bessel_i0e, (X,)),
    ("bessel_i1e", P.bessel_i1e, lax.bessel_i1e, (X,)),
    ("bessel_i1e_edge", P.bessel_i1e, lax.bessel_i1e, (EDGE,)),
    ("zeta", P.zeta, lax.zeta, (POS + 1.5, POS2)),
    ("erf_inv", P.erf_inv, lax.erf_inv, (UNIT,)),
    ("lgamma_bf16", P.lgamma, lax.lgamma, (POS.astype(jax.numpy.bfloat16),)),
    ("igamma_scalar", P.igamma, lax.igamma, (np.float32(1.5), POS)),
]


def test_values_same_as_lax():
    assert_cases_same_as_jax([Case(*c) for c in CASES],
                             eager={"lgamma", "igamma", "betainc", "bessel_i1e_edge", "zeta"})


def _unit_t(*args):
    return tuple(np.ones_like(a) for a in args)


# jvp vs jax.jvp: every differentiable operand (the others held fixed)
JVPS = [
    ("lgamma", P.lgamma, lax.lgamma, (X,)),
    ("digamma", P.digamma, lax.digamma, (POS,)),
    ("polygamma_x", lambda x: P.polygamma(M, x), lambda x: lax.polygamma(M, x), (POS,)),
    ("igamma", P.igamma, lax.igamma, (POS, POS2)),
    ("igammac", P.igammac, lax.igammac, (POS, POS2)),
    ("betainc_x", lambda x: P.betainc(POS, POS2, x), lambda x: lax.betainc(POS, POS2, x), (UNIT,)),
    ("bessel_i0e", P.bessel_i0e, lax.bessel_i0e, (X,)),
    ("bessel_i1e", P.bessel_i1e, lax.bessel_i1e, (np.array([0.0, 1e-9, -2.0, 3.0], np.float32),)),
]


def test_jvp_same_as_jax():
    assert_cases_jvp_matches([(n, o, t, a, _unit_t(*a)) for n, o, t, a in JVPS],
                             rtol=1e-4, atol=1e-5, eager_every=4)




def test_finite_differences_orders_1_and_2(x64):
    r = np.random.default_rng(1)
    pos = r.uniform(0.8, 3.0, size=(3,))
    pos2 = r.uniform(0.8, 3.0, size=(3,))
    unit = r.uniform(0.2, 0.8, size=(3,))
    x = r.uniform(0.3, 2.5, size=(3,)) * np.array([1, -1, 1])
    m = np.array([0.0, 1.0, 2.0])
    cases = [  # (name, fn, args, order)
        ("lgamma", P.lgamma, (pos,), 2),
        ("digamma", P.digamma, (pos,), 2),
        ("polygamma_x", lambda v: P.polygamma(m, v), (pos,), 2),
        ("igamma_x", lambda v: P.igamma(pos, v), (pos2,), 2),
        ("igamma_a", lambda a: P.igamma(a, pos2), (pos,), 1),  # igamma_grad_a: no jvp (JAX)
        ("igammac_x", lambda v: P.igammac(pos, v), (pos2,), 2),
        ("igammac_a", lambda a: P.igammac(a, pos2), (pos,), 1),
        ("betainc_x", lambda v: P.betainc(pos, pos2, v), (unit,), 2),
        ("bessel_i0e", P.bessel_i0e, (x,), 2),
        ("bessel_i1e", P.bessel_i1e, (x,), 2),
    ]
    for name, fn, args, order in cases:
        try:
            check_grads_numerically(fn, args, order=order, eps=1e-6, rtol=1e-4, atol=1e-6)
        except AssertionError as e:
            raise AssertionError(f"[{name}] {e}") from None


def test_vmap_matches_loop():
    for fn, args, in_axes in [
            (P.igamma, (POS, POS2), (0, 0)),
            (P.betainc, (POS, np.float32(2.0), UNIT), (1, None, 1)),
            (P.polygamma, (M, POS), (1, 1)),
            (P.lgamma, (POS,), 1),
            (lambda x: grad(lambda v: P.bessel_i1e(v).sum())(x), (X,), 0),
            (P.zeta, (POS + 1.5, POS2[0]), (0, None))]:
        assert_vmap_matches_loop(fn, in_axes, *args, jit=True)


def test_not_differentiable_operands_raise_as_jax():
    for ours, theirs, args in [
            (lambda m: P.polygamma(m, POS).sum(), lambda m: lax.polygamma(m, POS).sum(), (M,)),
            (lambda a: P.betainc(a, POS2, UNIT).sum(), lambda a: lax.betainc(a, POS2, UNIT).sum(),
             (POS,))]:
        with pytest.raises(ValueError):
            jax.grad(theirs)(*args)
        with pytest.raises(ValueError, match="not supported"):
            grad(ours)(*args)


def test_dtype_errors():
    with pytest.raises(TypeError):
        lax.lgamma(np.array([1, 2], np.int32))
    with pytest.raises(TypeError, match="lgamma requires floating-point"):
        P.lgamma(np.array([1, 2], np.int32))
    with pytest.raises(TypeError, match="igamma requires operands of the same dtype"):
        P.igamma(np.float32(1.0), np.array([1.0], np.float16))
