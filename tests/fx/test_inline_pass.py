"""fx.passes.inline: splicing remat bodies (nested, identity outputs, literals) keeps values."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import fx
import primitives.numpy as fnp
from fx.interpreter import eval_graph
from fx.ir import typecheck
from fx.passes.inline import inline
from transforms import checkpoint
from transforms.remat import remat_p
from oracle import assert_trees_close


def _remats(graph):
    return [e for e in graph.equations if e.primitive is remat_p]


def test_inline_nested_checkpoints_keeps_values():
    def inner(x, y):
        return fnp.sin(x) * y, y          # second output: an input passed through

    def f(x, y):
        a, b = checkpoint(lambda x, y: checkpoint(inner)(x + 1.0, y))(x, y)
        return a + b * 2.0, checkpoint(lambda z: z)(a)

    x, y = jnp.arange(3.0), jnp.ones(3)
    g = fx.make_graph(f)(x, y)
    assert _remats(g.graph)
    flat = inline(g, lambda e: e.primitive is remat_p, lambda e: e.params["call"].graph)
    assert not _remats(flat.graph)
    typecheck(flat)
    assert_trees_close(eval_graph(flat, x, y), eval_graph(g, x, y))
    want = (jnp.sin(x + 1.0) * y + y * 2.0, jnp.sin(x + 1.0) * y)
    assert_trees_close(tuple(eval_graph(flat, x, y)), want)


def test_inline_without_matches_returns_the_graph():
    g = fx.make_graph(lambda x: fnp.cos(x))(np.float32(1.0))
    assert inline(g, lambda e: False, None) is g
