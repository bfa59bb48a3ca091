"""dce and cse remove what they should and nothing else."""
import jax.numpy as jnp

import fx
import primitives as P
from fx.passes import cse, dce
from oracle import assert_trees_close


def names(g):
    return [e.primitive.name for e in g.equations]


def test_dce_removes_only_dead_equations():
    def f(x):
        dead = P.sin(P.mul(x, x))  # noqa: F841  (unused chain)
        live = P.add(x, 1.0)
        return P.mul(live, 2.0)
    g = fx.make_graph(f, dce=False)(jnp.ones(3))
    assert names(g) == ["mul", "sin", "add", "mul"]
    d = dce(g)
    assert names(d) == ["add", "mul"]
    assert_trees_close(fx.graph_to_fn(d)(jnp.ones(3)), f(jnp.ones(3)))
    assert names(dce(d)) == names(d)  # idempotent


def test_dce_keeps_everything_live_and_prunes_consts_on_request():
    c = jnp.arange(3.0)
    g = fx.make_graph(lambda x: (P.sin(x), P.mul(x, 2.0), P.sin(c)[0:0] if False else P.add(x, x)),
                      dce=False)(jnp.ones(3))
    assert names(dce(g)) == names(g)
    g2 = fx.make_graph(lambda x: (P.mul(c, 1.0), x)[1], dce=False)(jnp.ones(3))
    assert len(g2.consts) == 1
    pruned = dce(g2, prune_inputs=True)
    assert len(pruned.consts) == 0 and names(pruned) == []


def test_cse_merges_duplicates_only():
    def f(x, y):
        a = P.sin(x)
        b = P.sin(x)          # duplicate of a
        c = P.sin(y)          # different input: kept
        d = P.add(a, 2.0)
        e = P.add(b, 2.0)     # becomes a duplicate after renaming b -> a
        h = P.add(a, 3.0)     # different literal: kept
        return P.mul(d, e), c, h
    g = fx.make_graph(f, dce=False)(jnp.ones(2), jnp.ones(2))
    cg = cse(g)
    assert names(cg) == ["sin", "sin", "add", "add", "mul"]
    assert_trees_close(fx.graph_to_fn(cg)(jnp.ones(2), jnp.zeros(2)), f(jnp.ones(2), jnp.zeros(2)))


def test_cse_respects_params():
    g = fx.make_graph(lambda x: (P.convert_element_type(x, jnp.int32),
                                 P.convert_element_type(x, jnp.float16)), dce=False)(jnp.ones(2))
    assert len(cse(g).equations) == 2
