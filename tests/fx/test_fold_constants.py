"""fx.passes.fold_constants: what does not depend on the inputs is computed once."""
import jax
import jax.numpy as jnp
import numpy as np

import fx
import primitives.control_flow as cf
import primitives.numpy as fnp
from fx.passes import fold_constants
from oracle import assert_trees_close
from transforms import grad, jit, vmap

X = np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3)
W = np.arange(6, dtype=np.float32).reshape(3, 2) / 6


def test_fold_constants_values_and_transforms():
    def f(x):
        scale = fnp.exp(fnp.float32(0.5)) + 1.0            # scalar chain -> one literal
        table = fnp.sin(fnp.arange(6.0).reshape(2, 3))      # iota-based array -> a const
        w = fnp.transpose(W) * 2.0                          # const array chain -> a const
        return fnp.sum(fnp.tanh(x * scale + table) @ fnp.transpose(w))

    def ref(x):
        scale = jnp.exp(jnp.float32(0.5)) + 1.0
        table = jnp.sin(jnp.arange(6.0).reshape(2, 3))
        return jnp.sum(jnp.tanh(x * scale + table) @ (W * 2.0))

    g = fx.make_graph(f)(X)
    folded = fold_constants(g)
    names = [e.primitive.name for e in folded.equations]
    assert "exp" not in names and "sin" not in names and "iota" not in names
    assert "transpose" not in names               # w's transposes are computed once
    fx.typecheck(folded)
    fn = fx.graph_to_fn(folded)
    assert_trees_close(fn(X), ref(X), rtol=1e-6)
    assert_trees_close(jit(grad(fn))(X), jax.grad(ref)(X), rtol=1e-5)
    assert_trees_close(vmap(fn)(np.stack([X, -X])), jax.vmap(ref)(np.stack([X, -X])), rtol=1e-6)
    # every remaining equation reads the input (directly or not)
    dep = {id(folded.in_vars[0])}
    for e in folded.equations:
        assert any(type(x) is fx.Var and id(x) in dep for x in e.inputs), e
        dep.update(id(v) for v in e.outputs)
    # the unused consts are dropped; nothing left to fold is a no-op
    assert len(folded.consts) == 3 and not any(c is W for c in folded.consts)
    assert fold_constants(folded) is folded


def test_fold_constants_limits_and_sub_graphs():
    g = fx.make_graph(lambda x: x + fnp.ones((64, 64)) * 2.0)(np.ones((64, 64), np.float32))
    kept = fold_constants(g, max_size=100)            # too big to carry as a constant
    assert [e.primitive.name for e in kept.equations] == [e.primitive.name for e in g.equations]
    assert len(fold_constants(g).equations) == 1
    # a plain Graph folds scalars only (it has nowhere to keep arrays)
    g = fx.make_graph(lambda x: x * (fnp.float32(2.0) * 3.0) + fnp.ones(3))(np.ones(3, np.float32))
    plain = fold_constants(g.graph)
    assert [e.primitive.name for e in g.equations][:2] == ["convert_element_type", "mul"]
    assert [e.primitive.name for e in plain.equations] == ["broadcast_in_dim", "mul",
                                                          "broadcast_in_dim", "add"]
    assert_trees_close(fx.graph_to_fn(plain)(np.ones(3, np.float32)), np.full(3, 7.0, np.float32))

    # inside a scan body: the body's constant scalar math is folded
    def f(xs):
        return cf.scan(lambda c, x: (c + x * (fnp.exp(fnp.float32(0.0)) * 2.0), None), 0.0, xs)[0]
    xs = np.arange(4, dtype=np.float32)
    g = fx.make_graph(f)(xs)
    folded = fold_constants(g)
    body = fx.subgraphs(folded.equations[0])[0]
    body = body.graph if isinstance(body, fx.ClosedGraph) else body
    assert "exp" not in [e.primitive.name for e in body.equations]
    assert_trees_close(fx.graph_to_fn(folded)(xs), np.float32(2 * xs.sum()))
