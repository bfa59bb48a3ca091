"""A lowering or rule failure inside jit, grad, vmap or a transpose names the
equation (as the IR prints it) and the user's file:line, and keeps the
error's class."""
from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
from jax import lax

import fx
import primitives as P
import primitives.numpy as fnp
from fx.core import Primitive
from transforms import grad, jit, linear_transpose, vmap

HERE = re.escape(__file__)

# a primitive whose lowering is wrong for the avals its abstract eval claims,
# and which has no jvp, transpose or batch rule
broken_p = Primitive("broken_op")
broken_p.def_abstract_eval(lambda x, *, k: x)
broken_p.def_lowering(lambda x, *, k: lax.add(x, lax.full((k,), 1.0, x.dtype)))


def broken(x):
    return broken_p.bind(P.sin(x), k=7)  # the user's line every message must name


LINE = broken.__code__.co_firstlineno + 1


def _check(err, doing: str):
    msg = str(err) + "".join(getattr(err, "__notes__", []))
    assert f"while {doing} equation  " in msg, msg
    assert re.search(r"b:f32\[3\] = broken_op\[k=7\] a  \(inputs: f32\[3\]\)", msg) or \
        re.search(r"_ = broken_op\[k=7\] a  \(inputs: f32\[3\]\)", msg), msg
    assert re.search(rf"written at {HERE}:{LINE} \(broken\)", msg), msg


def test_lowering_failure_inside_jit():
    with pytest.raises(TypeError) as e:   # jax's own error class is kept
        jit(broken)(np.ones(3, np.float32))
    _check(e.value, "lowering")
    assert "incompatible shapes" in str(e.value)


def test_missing_jvp_rule_inside_grad():
    with pytest.raises(NotImplementedError, match="no jvp rule for broken_op") as e:
        grad(lambda x: broken(x).sum())(np.ones(3, np.float32))
    _check(e.value, "differentiating (jvp rule)")


def test_missing_batch_rule_inside_vmap():
    with pytest.raises(NotImplementedError, match="no batch rule for broken_op") as e:
        vmap(broken)(np.ones((2, 3), np.float32))
    _check(e.value, "batching (vmap rule)")


def test_missing_transpose_rule():
    lin_p = Primitive("broken_op")
    lin_p.def_abstract_eval(lambda x, *, k: x)
    with pytest.raises(NotImplementedError, match="no transpose rule") as e:
        linear_transpose(lambda x: lin_p.bind(x, k=7), np.ones(3, np.float32))(
            np.ones(3, np.float32))
    assert "while transposing equation  _ = broken_op[k=7] a" in str(e.value) or \
        "while transposing equation  b:f32[3] = broken_op[k=7] a" in str(e.value)


def test_evaluating_an_edited_graph():
    g = fx.make_graph(lambda x: P.sin(x) * 2.0)(np.ones(3, np.float32))
    eqns = [e._replace(primitive=broken_p, params={"k": 7}, inputs=e.inputs[:1])
            if e.primitive.name == "mul" else e for e in g.equations]
    bad = fx.graph_to_fn(g.replace(graph=g.graph.replace(equations=eqns)))
    with pytest.raises(TypeError, match=r"while lowering equation  b:f32\[3\] = broken_op") as e:
        jit(bad)(np.ones(3, np.float32))
    # re-traced equations keep the line they were written at (the make_graph lambda)
    assert f"{__file__}:{test_evaluating_an_edited_graph.__code__.co_firstlineno + 1}" in \
        str(e.value)


def test_typed_errors_keep_their_class_and_message_start():
    with pytest.raises(fx.ShapeError, match=r"^add got incompatible shapes"):
        jit(lambda x, y: P.add(x, y))(np.ones(3, np.float32), np.ones(4, np.float32))


def test_backward_equations_report_the_forward_line():
    """As JAX: the ops of the backward pass carry the line of the forward op they
    transpose, not the line that called grad."""
    def loss(w, x):
        h = fnp.tanh(x @ w)
        return fnp.sum(h * h)
    first = inspect.getsourcelines(loss)[1]
    w, x = np.ones((4, 3), np.float32), np.ones((2, 4), np.float32)
    graph = fx.make_graph(grad(loss))(w, x)
    lines = {e.source_info.line for e in graph.graph.equations}
    assert lines == {first + 1, first + 2}, lines
