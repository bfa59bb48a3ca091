"""Inputs JAX rejects are rejected here too, with JAX's error classes (our
typed errors subclass them) and messages that name the problem; before,
each returned a silently wrong value (issue: reliability, item 4)."""
from __future__ import annotations

import jax
import numpy as np
import pytest

import primitives as P
from oracle import assert_trees_close
from transforms import checkpoint, custom_jvp, grad, hessian, jacfwd, jacrev, jvp, vjp

Z = np.complex64(1 + 2j)


def test_grad_argnums_twice():
    with pytest.raises(TypeError, match="names an argument twice"):
        grad(lambda x, y: x * y, argnums=(0, 0))(2.0, 3.0)


def test_grad_of_a_complex_output_needs_holomorphic():
    with pytest.raises(TypeError, match="real-valued outputs.*holomorphic=True"):
        grad(lambda x: x * (1 + 2j))(2.0)
    with pytest.raises(TypeError, match="holomorphic=True requires inputs with complex"):
        grad(lambda x: x * x, holomorphic=True)(2.0)


def test_holomorphic_derivatives_match_jax():
    f = lambda z: z * z * (1 + 1j) + z  # noqa: E731
    for ours, theirs in ((grad, jax.grad), (jacfwd, jax.jacfwd), (jacrev, jax.jacrev)):
        assert_trees_close(ours(f, holomorphic=True)(Z), theirs(f, holomorphic=True)(Z),
                           what=ours.__name__)
    assert_trees_close(hessian(f, holomorphic=True)(Z), jax.hessian(f, holomorphic=True)(Z))


def test_jacfwd_of_an_integer_input_and_jacrev_of_an_integer_output():
    with pytest.raises(TypeError, match="jacfwd requires real-valued inputs.*int32"):
        jacfwd(lambda x: x * 2)(np.int32(3))
    with pytest.raises(TypeError, match="jacrev requires real-valued outputs.*int32"):
        jacrev(lambda x: (x * 2).astype(np.int32))(3.0)
    with pytest.raises(TypeError, match="jacrev requires real- or complex-valued inputs"):
        jacrev(lambda x: x * 2.0)(np.int32(3))


def test_vjp_cotangent_of_the_wrong_dtype():
    _, f_vjp = vjp(lambda x: x * 2, np.float32(3.0))
    with pytest.raises(ValueError, match="cotangent leaf 0 is f16\\[\\] but the output is f32"):
        f_vjp(np.float16(1.0))


def test_custom_jvp_rule_results_are_checked():
    @custom_jvp
    def f(x):
        return x * 2

    f.defjvp(lambda p, t: (f(p[0]), t[0].astype(np.float16)))
    with pytest.raises(TypeError, match="corresponding shapes and dtypes: expected f32"):
        jvp(f, (np.float32(1.0),), (np.float32(1.0),))

    @custom_jvp
    def g(x):
        return x * 2

    g.defjvp(lambda p, t: (g(p[0]),))
    with pytest.raises(TypeError, match="must produce a pair .* got tuple of length 1"):
        jvp(g, (np.float32(1.0),), (np.float32(1.0),))


def test_while_loop_cond_returning_a_tuple():
    with pytest.raises(TypeError, match="cond_fun must return a boolean scalar, got pytree"):
        P.while_loop(lambda c: (c < 3,), lambda c: c + 1, 0)


def test_checkpoint_static_argnums_out_of_range():
    with pytest.raises(ValueError, match=r"static_argnums=\(3,\) but the function accepts 1 positional"):
        grad(checkpoint(lambda x: x, static_argnums=(3,)))(1.0)
