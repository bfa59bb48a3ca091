"""The IR: golden printing, typecheck, closure conversion, graph_to_fn."""
import textwrap

import numpy as np
import jax.numpy as jnp
import pytest

import fx
import primitives as P
from fx.core import Primitive
from fx.ir import Equation, Graph, IRTypeError, ShapedArray, Var
from oracle import assert_trees_close


def golden(text):
    return textwrap.dedent(text).strip("\n")


def test_print_simple_graph():
    g = fx.make_graph(lambda x, y: P.sin(P.mul(x, y)))(jnp.ones(3), jnp.ones(3))
    assert str(g) == golden("""
        { lambda ; a:f32[3] b:f32[3]. let
            c:f32[3] = mul a b
            d:f32[3] = sin c
          in (d,) }
    """)


def test_print_consts_literals_and_params():
    c = jnp.arange(3.0)
    g = fx.make_graph(lambda x: P.convert_element_type(P.add(P.mul(x, c), 2.0), np.int32))(jnp.ones(3))
    assert str(g) == golden("""
        { lambda a:f32[3]; b:f32[3]. let
            c:f32[3] = mul b a
            d:f32[3] = add c 2.0:f32[]
            e:i32[3] = convert_element_type[new_dtype=int32, weak_type=False] d
          in (e,) }
    """)
    assert len(g.consts) == 1 and g.consts[0] is c


def test_print_pytree_outputs_and_many_vars():
    def f(x):
        for _ in range(28):
            x = P.sin(x)
        return {"a": x, "b": (x,)}
    g = fx.make_graph(f)(1.0)
    text = str(g)
    assert "ba:f32[] = sin z" in text  # names continue past z
    assert text.splitlines()[-1] == "  in (bc bc) }"


def test_subgraph_params_print_indented():
    inner = fx.make_graph(lambda x: P.sin(x))(1.0)
    call_p = Primitive("call")
    call_p.def_abstract_eval(lambda x, *, body: body.out_avals[0])
    g = fx.make_graph(lambda x: call_p.bind(x, body=inner))(1.0)
    assert str(g) == golden("""
        { lambda ; a:f32[]. let
            b:f32[] = call[body=
                { lambda ; a:f32[]. let
                    b:f32[] = sin a
                  in (b,) }] a
          in (b,) }
    """)
    fx.typecheck(g)


def test_source_info_points_to_user_line():
    def f(x):
        return P.sin(x)  # THIS LINE
    g = fx.make_graph(f)(1.0)
    src = g.equations[0].source_info
    assert src.file == __file__ and src.function == "f"
    assert "THIS LINE" in open(__file__).read().splitlines()[src.line - 1]


def test_typecheck_catches_bad_graphs():
    a, b = Var(ShapedArray((3,), np.float32)), Var(ShapedArray((3,), np.float32))
    used_before = Graph([a], [Equation(P.sin_p, (b,), {}, (Var(b.aval),))], [a])
    with pytest.raises(IRTypeError, match="used before"):
        fx.typecheck(used_before)
    wrong_type = Graph([a], [Equation(P.sin_p, (a,), {}, (Var(ShapedArray((4,), np.float32)),))], [a])
    with pytest.raises(IRTypeError, match="disagree"):
        fx.typecheck(wrong_type)


def test_graph_to_fn_roundtrip_with_pytrees():
    def f(d, y):
        return {"s": P.sin(d["x"]), "p": P.mul(d["x"], y)}
    args = ({"x": jnp.arange(3.0)}, jnp.full(3, 2.0))
    g = fx.make_graph(f)(*args)
    assert_trees_close(fx.graph_to_fn(g)(*args), f(*args))


def test_edited_graph_runs():
    g = fx.make_graph(lambda x: P.sin(x))(jnp.ones(2))
    eqn = g.equations[0]
    edited = g.replace(graph=g.graph.replace(equations=[eqn.replace(primitive=P.mul_p, inputs=(eqn.inputs[0], eqn.inputs[0]))]))
    fx.typecheck(edited)
    assert_trees_close(fx.graph_to_fn(edited)(jnp.full(2, 3.0)), jnp.full(2, 9.0))


def test_closure_over_outer_tracer_becomes_const():
    from transforms import jvp
    seen = {}

    def outer(x):
        g = fx.make_graph(lambda y: P.mul(x, y))(1.0)
        seen["g"] = g
        return fx.graph_to_fn(g)(2.0)
    _, t = jvp(outer, (3.0,), (1.0,))
    assert float(t) == 2.0
    assert len(seen["g"].consts) == 1
