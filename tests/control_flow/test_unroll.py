"""unroll_scans: the unrolled graph has no selected scan left and computes the
same values as jax.lax.scan (carry, stacked outputs, consts, reverse, nesting)."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest
from jax import lax

import fx
import primitives.numpy as fnp
from fx.interpreter import eval_graph
from primitives.control_flow import scan
from primitives.control_flow.loops import scan_p
from primitives.control_flow.unroll import unroll_scans
from oracle import assert_trees_close

RNG = np.random.default_rng(0)
W = jnp.asarray(RNG.normal(size=(5, 3, 3)), jnp.float32)
X = jnp.asarray(RNG.normal(size=(3,)), jnp.float32)
C = jnp.asarray(RNG.normal(size=(3,)), jnp.float32)


def model(ns, scan_, reverse=False, nested=False):
    def f(w, x, c):
        def step(h, wi):
            if nested:     # an inner scan over the rows of wi
                h, _ = scan_(lambda g, r: (ns.tanh(g * r + c), None), h, wi)
            h = ns.tanh(h @ wi + c)
            return h, ns.sum(h) * 2.0
        return scan_(step, x, w, reverse=reverse)
    return f


def _scans(closed):
    return [e for e in closed.graph.equations if e.primitive is scan_p]


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("nested", [False, True])
def test_unrolled_graph_matches_jax(reverse, nested):
    closed = fx.make_graph(model(fnp, scan, reverse, nested))(W, X, C)
    flat = unroll_scans(closed, lambda e: True)
    assert _scans(closed) and not _scans(flat)
    fx.typecheck(flat)
    want = model(jnp, lax.scan, reverse, nested)(W, X, C)
    got = eval_graph(flat, *flat.consts, W, X, C)
    assert_trees_close(tuple(got), tuple(jax.tree.leaves(want)), rtol=1e-5)


def test_unselected_scans_are_kept():
    closed = fx.make_graph(model(fnp, scan))(W, X, C)
    assert unroll_scans(closed, lambda e: False) is closed
    assert len(_scans(unroll_scans(closed, lambda e: e.params["length"] > 10))) == 1
