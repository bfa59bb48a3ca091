"""The editing API (fx.edit), fx.Transformer, the views and jit(passes=...).

Every edited graph goes back through ``fx.graph_to_fn`` into grad, vmap and
jit and is compared with the JAX function computing what the edit means.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, PartitionSpec as PS

import fx
import primitives as P
import primitives.control_flow as cf
import primitives.numpy as fnp
import optim.dp as dp
from fx.passes import rewrite
from oracle import assert_trees_close
from transforms import grad, jit, shard_map, vmap

X = np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3)


def model(x):
    a = fnp.sin(x)
    b = a * 2.0
    return fnp.sum(fnp.exp(b) + x)


def model_jax(x, sin=jnp.sin):
    return jnp.sum(jnp.exp(sin(x) * 2.0) + x)


def check_all_transforms(closed, reference, x=X, what=""):
    """Values, grad, vmap and jit (and jit of grad) of the edited graph vs JAX."""
    fn = fx.graph_to_fn(closed)
    xs = np.stack([x, x * 0.5])
    assert_trees_close(fn(x), reference(x), what=f"{what} value")
    assert_trees_close(grad(fn)(x), jax.grad(reference)(x), what=f"{what} grad")
    assert_trees_close(vmap(fn)(xs), jax.vmap(reference)(xs), what=f"{what} vmap")
    assert_trees_close(jit(grad(fn))(x), jax.grad(reference)(x), what=f"{what} jit(grad)")


def test_find_by_primitive_params_and_source_line():
    g = fx.make_graph(model)(X)
    line = g.equations[0].source_info.line
    assert [e.primitive.name for e in fx.find(g, "sin")] == ["sin"]
    assert fx.find(g, P.exp_p)[0].primitive is P.exp_p
    assert len(fx.find(g, ["sin", "exp"])) == 2
    assert [e.primitive.name for e in fx.find(g, params={"axes": (0, 1)})] == ["reduce_sum"]
    assert len(fx.find(g, params={"axes": lambda a: 1 in a})) == 1
    assert [e.primitive.name for e in fx.find(g, file="test_edit.py", line=line)] == ["sin"]
    assert len(fx.find(g, function="model")) == len(g.equations)
    assert fx.find(g, function="nothing") == []
    # inside sub-graphs
    h = fx.make_graph(lambda x: cf.cond(x[0, 0] > 0, lambda y: fnp.sin(y), lambda y: fnp.cos(y), x))(X)
    assert fx.find(h, "sin") == []
    assert sorted(e.primitive.name for e in fx.find(h, ["sin", "cos"], recursive=True)) == ["cos", "sin"]


def test_edit_ops_round_trip_through_transforms():
    g = fx.make_graph(model)(X)

    # bind + replace_all_uses + erase: sin -> cos
    ed = fx.Editor(g)
    (eqn,) = ed.find("sin")
    y = ed.bind(P.cos_p, *eqn.inputs, before=eqn)
    ed.replace_all_uses(eqn.outputs[0], y)
    ed.erase(eqn)
    g_cos = ed.build()
    assert "cos" in str(g_cos) and "sin" not in str(g_cos)
    assert fx.find(g_cos, "cos")[0].source_info == eqn.source_info   # keeps the user's line
    check_all_transforms(g_cos, lambda x: model_jax(x, jnp.cos), what="sin->cos")

    # insert after an equation (x*2 becomes tanh(x*2)): tanh keeps reading x*2
    ed = fx.Editor(g)
    (mul,) = ed.find("mul")
    t = ed.bind(P.tanh_p, mul.outputs[0], after=mul)
    ed.replace_all_uses(mul.outputs[0], t)
    assert [e.primitive.name for e in ed.users(t)] == ["exp"]
    check_all_transforms(ed.build(), lambda x: jnp.sum(jnp.exp(jnp.tanh(jnp.sin(x) * 2.0)) + x),
                         what="insert tanh")
    # replace_equation with a scalar literal operand
    ed = fx.Editor(g)
    (mul,) = ed.find("mul")
    ed.replace_equation(mul, mul.replace(inputs=(mul.inputs[0], ed.bind(P.add_p, 1.5, 1.5))))
    check_all_transforms(ed.build(), lambda x: jnp.sum(jnp.exp(jnp.sin(x) * 3.0) + x),
                         what="literal")

    # splice a traced graph (b -> b * 3 + 1) and use its output
    part = fx.make_graph(lambda b: b * 3.0 + 1.0)(X)
    ed = fx.Editor(g)
    (mul,) = ed.find("mul")
    (out,) = ed.splice(part, [mul.outputs[0]], after=mul)
    ed.replace_all_uses(mul.outputs[0], out)
    g_spliced = ed.build()
    check_all_transforms(g_spliced, lambda x: jnp.sum(jnp.exp(jnp.sin(x) * 2.0 * 3.0 + 1.0) + x),
                         what="splice")
    # the one-shot form, spliced twice: stays single-assignment
    g2, (o1,) = fx.splice(g, part, [g.in_vars[0]])
    g3, (o2,) = fx.splice(g2, part, [o1])
    assert o1 is not o2 and len(g3.equations) == len(g.equations) + 2 * len(part.equations)
    fx.typecheck(g3)

    # replace_all_uses with an input: exp(b) -> exp(x)
    ed = fx.Editor(g)
    (exp,) = ed.find("exp")
    ed.replace_all_uses(exp.inputs[0], g.in_vars[0])
    check_all_transforms(ed.build(dce=True), lambda x: jnp.sum(jnp.exp(x) + x), what="rewire")
    assert len(ed.build(dce=True).equations) == len(g.equations) - 2

    # extract the sub-graph of an intermediate value (and cut at an inner one)
    sub = fx.graph_to_fn(fx.extract(g, [exp.outputs[0]]))
    assert_trees_close(sub(X), jnp.exp(jnp.sin(X) * 2.0))
    assert_trees_close(jit(grad(lambda x: fnp.sum(sub(x))))(X),
                       jax.grad(lambda x: jnp.sum(jnp.exp(jnp.sin(x) * 2.0)))(X))
    cut = fx.extract(g, [exp.outputs[0]], inputs=[exp.inputs[0]])
    assert [e.primitive.name for e in cut.equations] == ["exp"]
    assert_trees_close(fx.graph_to_fn(cut)(X), jnp.exp(X))

    # erase a dead equation; set_outputs / add_input
    ed = fx.Editor(g)
    dead = ed.bind(P.cos_p, g.in_vars[0])
    ed.erase(ed.equations[-1])
    assert len(ed.build().equations) == len(g.equations)
    ed = fx.Editor(g)
    w = ed.add_input(fx.ShapedArray((2, 3), np.float32))
    (mul,) = ed.find("mul")
    ed.replace_equation(mul, mul.replace(inputs=(mul.inputs[0], w)))
    g_w = ed.build()
    assert g_w.in_tree is None and len(g_w.in_vars) == 2
    assert_trees_close(fx.graph_to_fn(g_w)(X, X), jnp.sum(jnp.exp(jnp.sin(X) * X) + X))
    assert dead is not None


def test_edit_errors_name_the_equation():
    g = fx.make_graph(model)(X)
    ed = fx.Editor(g)
    (sin,) = ed.find("sin")
    ed.erase(sin)
    with pytest.raises(fx.IRTypeError, match=r"(?s)mul.*reads a value whose equation was erased:  .*sin"):
        ed.build()
    with pytest.raises(ValueError, match="is not in this graph"):
        ed.erase(sin)

    ed = fx.Editor(g)
    (red,) = ed.find("reduce_sum")
    with pytest.raises(fx.IRTypeError, match=r"f32\[2,3\] replaced by f32\[\].*types differ"):
        ed.replace_all_uses(red.inputs[0], red.outputs[0])

    ed = fx.Editor(g)
    with pytest.raises(fx.ShapeError, match=r"while inserting .*add.*f32\[2,3\], f32\[3\]"):
        ed.bind(P.add_p, g.in_vars[0], fx.Var(fx.ShapedArray((3,), np.float32)))

    ed = fx.Editor(g)
    (mul,) = ed.find("mul")
    ed.replace_equation(mul, mul.replace(outputs=(fx.Var(fx.ShapedArray((3, 2), np.float32)),)))
    with pytest.raises(fx.IRTypeError, match="ill-formed"):
        ed.build()
    ed = fx.Editor(g)
    (red,) = ed.find("reduce_sum")
    ed.replace_equation(red, red.replace(params={"axes": (0,)}))
    with pytest.raises(fx.IRTypeError, match=r"(?s)disagree with reduce_sum.s abstract eval.*test_edit"):
        ed.build()

    # a cycle: sin reads a value computed from sin
    ed = fx.Editor(g)
    (exp,) = ed.find("exp")
    (sin,) = ed.find("sin")
    ed.replace_equation(sin, sin.replace(inputs=exp.outputs))
    with pytest.raises(fx.IRTypeError, match="used before it is defined"):
        ed.build()

    with pytest.raises(fx.IRTypeError, match="not among the inputs"):
        fx.extract(g, list(g.graph.out_vars), inputs=[sin.outputs[0]])   # the add reads x


def test_transformer_rebuilds_a_graph():
    class SinToCos(fx.Transformer):
        def run_equation(self, eqn, invals):
            if eqn.primitive is P.sin_p:
                return [P.cos(invals[0])]
            return super().run_equation(eqn, invals)

    g = fx.make_graph(lambda d: {"out": model(d["x"])})({"x": X})
    new = SinToCos(g).transform()
    assert "cos" in str(new) and "sin" not in str(new)
    assert new.equations[0].source_info == g.equations[0].source_info
    assert fx.graph_to_fn(new)({"x": X})["out"].shape == ()     # the pytrees are kept
    check_all_transforms(SinToCos(fx.make_graph(model)(X)).transform(),
                         lambda x: model_jax(x, jnp.cos), what="Transformer")
    # the default Transformer copies the graph
    same = fx.Transformer(g).transform()
    assert str(same) == str(g)


def test_views():
    def f(x):
        y = cf.scan(lambda c, a: (c + fnp.sin(a), c * 2.0), 0.0, x)[1]
        return fnp.sum(y)
    g = fx.make_graph(f)(np.ones(4, np.float32))
    html = g._repr_html_()
    assert "<details" in html and "scan.body" in html and "sin" in html
    assert 'title="' in html and "test_edit.py" in html and "f32[4]" in html
    text = str(g)
    assert "<" not in text                                    # the printer is unchanged
    dot = fx.dot_source(g)
    assert dot.startswith('digraph "graph" {') and "cluster_" in dot and "sin" in dot
    try:
        import graphviz  # noqa: F401
        has_graphviz = True
    except ImportError:
        has_graphviz = False
    if not has_graphviz:
        with pytest.raises(ImportError, match="graphviz"):
            fx.to_dot(g)


def test_jit_passes():
    calls = []

    def sin_to_cos(closed):
        calls.append(1)
        ed = fx.Editor(closed)
        for eqn in ed.find("sin"):
            y = ed.bind(P.cos_p, *eqn.inputs, before=eqn)
            ed.replace_all_uses(eqn.outputs[0], y)
            ed.erase(eqn)
        return ed.build()

    f = jit(model, passes=[sin_to_cos])
    ref = lambda x: model_jax(x, jnp.cos)   # noqa: E731
    assert_trees_close(f(X), ref(X))
    assert_trees_close(f(X + 1), ref(X + 1))
    assert len(calls) == 1 and f.traces == 1          # cached per signature
    assert_trees_close(f(X[:1]), ref(X[:1]))
    assert len(calls) == 2
    assert_trees_close(grad(f)(X), jax.grad(ref)(X))  # the pass applies under grad and vmap
    assert_trees_close(vmap(f)(np.stack([X, X])), jax.vmap(ref)(np.stack([X, X])))
    assert "cos" in str(f.graph(X))

    bad = jit(model, passes=[lambda g: (g, [])])
    with pytest.raises(TypeError, match="not a ClosedGraph"):
        bad(X)
    changes_sig = jit(model, passes=[lambda g: fx.extract(g, [g.equations[0].outputs[0]])])
    with pytest.raises(TypeError, match="changed the graph's signature"):
        changes_sig(X)


def test_edited_graphs_in_shard_map_and_dp_clipping():
    # shard_map of an edited graph (a one-device mesh: the graph's shapes are per shard)
    g = fx.make_graph(model)(X)
    g_cos = rewrite(g, lambda a: fnp.sin(a), lambda a: fnp.cos(a))[0]
    mesh = Mesh(np.array(jax.devices()[:1]), ("d",))
    fn = fx.graph_to_fn(g_cos)
    sm = shard_map(lambda x: P.psum(fn(x), "d"), mesh=mesh, in_specs=PS("d"), out_specs=PS())
    assert_trees_close(jit(sm)(X), model_jax(X, jnp.cos))
    assert_trees_close(grad(sm)(X), jax.grad(lambda x: model_jax(x, jnp.cos))(X))

    # the DP clipping plan on an edited per-example loss (tanh -> sin, by rewrite)
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3, 2)).astype(np.float32),
              "b": rng.normal(size=(2,)).astype(np.float32)}
    batch = rng.normal(size=(4, 3)).astype(np.float32)

    def loss(p, x):
        return fnp.sum(fnp.tanh(x @ p["w"] + p["b"]) ** 2)

    def loss_ref(p, x):
        return jnp.sum(jnp.sin(x @ p["w"] + p["b"]) ** 2)
    edited = rewrite(fx.make_graph(loss)(params, batch[0]), lambda a: fnp.tanh(a),
                     lambda a: fnp.sin(a))[0]
    per_ex = jax.vmap(jax.grad(loss_ref), in_axes=(None, 0))(params, batch)
    norms = np.sqrt(sum(np.sum(np.reshape(v, (4, -1)) ** 2, axis=1) for v in per_ex.values()))
    scale = np.minimum(1.0, 0.5 / norms)
    want = {k: np.tensordot(scale, v, axes=1) for k, v in per_ex.items()}
    for method in ("bookkeeping", "vmap"):
        summed, _ = dp.clipped_gradient_sum(fx.graph_to_fn(edited), params, batch,
                                            l2_norm_clip=0.5, method=method)
        assert_trees_close(summed, want, rtol=1e-5, atol=1e-6, what=method)
