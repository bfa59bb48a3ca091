"""Typed errors of the control-flow functions, and the partial-evaluation pass."""
import re

import numpy as np
import pytest

import fx
import primitives as P
import primitives.numpy as fnp
import transforms as T
from fx.errors import FxTypeError, ShapeError
from fx.passes import partial_eval_graph
from oracle import assert_trees_close

HERE = r"test_control_flow_errors_passes\.py:\d+"
X3 = np.ones(3, np.float32)


@pytest.mark.parametrize("fn,exc,pattern", [
    (lambda: P.cond(True, lambda x: (x, x), lambda x: x, X3), FxTypeError,
     r"cond: the branches must return the same pytree structure.*false_fun returns PyTreeDef\(\*\)"
     r".*true_fun returns PyTreeDef\(\(\*, \*\)\)"),
    (lambda: P.cond(True, lambda x: x[:2], lambda x: x, X3), FxTypeError,
     r"cond: the branches must return equal types.*false_fun gives f32\[3\], true_fun gives f32\[2\]"),
    (lambda: P.cond(True, lambda x: x.astype(np.int32), lambda x: x, X3), FxTypeError,
     r"false_fun gives f32\[3\], true_fun gives i32\[3\]"),
    (lambda: P.cond(np.float32(1.0), lambda: 1.0, lambda: 2.0), FxTypeError,
     r"cond: the predicate must be boolean \(or integer\), got f32\[\]"),
    (lambda: P.cond(np.array([True, False]), lambda: 1.0, lambda: 2.0), FxTypeError,
     r"cond: the predicate must be a scalar, got bool\[2\]"),
    (lambda: P.switch(np.float32(1.0), [lambda: 1.0, lambda: 2.0]), FxTypeError,
     r"switch: the branch index must be an integer scalar, got f32\[\]"),
    (lambda: P.scan(lambda c, x: (c * x, x), np.ones(3, np.int32), X3 * 1.5), FxTypeError,
     r"scan: f changes the type of the carry from i32\[3\] to f32\[3\]"),
    (lambda: P.scan(lambda c, x: (fnp.stack([c, c]), x), X3, X3), FxTypeError,
     r"scan: f changes the type of the carry from f32\[3\] to f32\[2,3\]"),
    (lambda: P.scan(lambda c, x: ({"a": c["a"] * x}, x), {"a": np.ones(2, np.int32)}, X3),
     FxTypeError, r"carry\['a'\] from i32\[2\] to f32\[2\]"),
    (lambda: P.scan(lambda c, x: c + x, 0.0, X3), FxTypeError,
     r"scan: f must return a pair \(carry, y\), got"),
    (lambda: P.scan(lambda c, x: (c, x), 0.0, (X3, np.ones(4, np.float32))), ShapeError,
     r"scan: inconsistent lengths: xs leading axes \[3, 4\]"),
    (lambda: P.scan(lambda c, x: (c, x), 0.0, None), ShapeError, r"length is not given"),
    (lambda: P.while_loop(lambda x: x < 3, lambda x: (x + 1).astype(np.float32),
                          np.int32(0)), FxTypeError,
     r"while_loop: body_fun changes the type of the carry from i32\[\] to f32\[\]"),
    (lambda: P.while_loop(lambda x: x, lambda x: x + 1.0, np.float32(0)), FxTypeError,
     r"while_loop: cond_fun must return a boolean scalar, got \(f32\[\]\)"),
    (lambda: P.while_loop(lambda x: x < 3, lambda x: (x, x), np.float32(0)), FxTypeError,
     r"while_loop: body_fun must return a carry with the structure of its input"),
    (lambda: P.fori_loop(0.0, 3, lambda i, x: x, 1.0), FxTypeError,
     r"fori_loop: lower and upper must be integer scalars, got f32\[\] and i32\[\]"),
])
def test_bad_input_is_a_typed_error_at_the_users_line(fn, exc, pattern):
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    assert re.search(pattern, msg, re.S), msg
    assert re.search(HERE, msg), msg


def test_errors_also_raised_under_jit_and_vmap():
    bad = lambda x: P.scan(lambda c, y: (c[None], y), x, x)  # noqa: E731
    with pytest.raises(FxTypeError, match=r"from f32\[3\] to f32\[1,3\]"):
        T.jit(bad)(X3)
    with pytest.raises(FxTypeError, match=r"from f32\[3\] to f32\[1,3\]"):
        T.vmap(bad)(np.ones((2, 3), np.float32))


# --- partial_eval_graph -------------------------------------------------------------
def _graph(f, *args):
    return fx.make_graph(f)(*args).graph


def test_partial_eval_splits_known_and_unknown_work():
    g = _graph(lambda x, t: P.mul(P.add(P.sin(x), t), P.cos(x)), np.float32(1.0), np.float32(2.0))
    pe = partial_eval_graph(g, [False, True])
    assert [e.primitive.name for e in pe.known.equations] == ["sin", "cos"]
    assert [e.primitive.name for e in pe.unknown.equations] == ["add", "mul"]
    assert pe.out_unknown == [True] and len(pe.residuals) == 2
    res = fx.eval_graph(pe.known, np.float32(1.0))
    out = fx.eval_graph(pe.unknown, *res, np.float32(2.0))
    assert_trees_close(out[0], np.float32((np.sin(1.0) + 2.0) * np.cos(1.0)), rtol=1e-6)


def test_partial_eval_instantiate_and_known_outputs():
    g = _graph(lambda x, t: (P.exp(x), P.mul(t, 2.0)), np.float32(1.0), np.float32(2.0))
    pe = partial_eval_graph(g, [False, True])
    assert pe.out_unknown == [False, True] and pe.residuals == []
    pe = partial_eval_graph(g, [False, True], instantiate=True)
    assert pe.out_unknown == [True, True] and len(pe.residuals) == 1
    assert pe.unknown.out_vars[0] is pe.residuals[0]


def test_partial_eval_recomputes_what_follows_a_barrier():
    """checkpoint's replay sits behind an optimization_barrier: it is recomputed
    on the unknown side and only the barrier's input is saved."""
    from transforms.remat import optimization_barrier

    def f(x, t):
        (y,) = optimization_barrier(x)
        return (P.mul(P.sin(P.sin(y)), t),)
    g = _graph(f, np.float32(1.0), np.float32(2.0))
    pe = partial_eval_graph(g, [False, True])
    assert [e.primitive.name for e in pe.unknown.equations] == [
        "optimization_barrier", "sin", "sin", "mul"]
    assert pe.residuals == [g.in_vars[0]]


def test_partial_eval_uses_the_control_flow_rules():
    """A cond / scan with mixed known and unknown operands splits in two."""
    def f(x, t):
        a = P.cond(x > 0, lambda x, t: (fnp.sin(x), fnp.sin(x) * t),
                   lambda x, t: (x, x * t), x, t)
        c, ys = P.scan(lambda c, xs: ((c[0] * 2.0, fnp.cos(c[0]) * c[1] + xs), c[0]),
                       (a[0], a[1]), fnp.ones(4))
        return c[1], ys
    g = _graph(f, np.float32(0.5), np.float32(2.0))
    pe = partial_eval_graph(g, [False, True])
    assert [e.primitive.name for e in pe.known.equations if e.primitive.name in ("cond", "scan")] \
        == ["cond", "scan"]
    assert [e.primitive.name for e in pe.unknown.equations if e.primitive.name in ("cond", "scan")] \
        == ["cond", "scan"]
    assert pe.out_unknown == [True, False]
    known = fx.eval_graph(pe.known, np.float32(0.5))
    n_res = len(pe.residuals)
    (unknown,) = fx.eval_graph(pe.unknown, *known[len(known) - n_res:], np.float32(2.0))
    expected = fx.graph_to_fn(fx.make_graph(f)(np.float32(0.5), np.float32(2.0)))(
        np.float32(0.5), np.float32(2.0))
    assert_trees_close((unknown, known[0]), expected, rtol=1e-6)
