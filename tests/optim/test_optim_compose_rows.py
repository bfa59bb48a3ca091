"""Every optimizer and transformation of the table (optim_rows.py) composes:

- meta-gradients over populations: ``vmap(grad(L))`` over 2 initial parameter
  sets, where ``L(p0)`` is the squared norm of the params after 2 optimizer
  steps from ``p0``, equals central finite differences of ``L`` along a random
  direction, for each member (float64, so the differences are exact to ~1e-9);
  where ``L`` is not smooth at that scale (bf16 moments, clipping kinks) the
  member's gradient must equal ``jax.grad`` of optax's ``L`` instead;
- mixing: ours inside ``optax.chain`` and optax's inside ``optim.chain`` take
  optax's own steps.

Eager (op by op: the per-primitive executables are shared by all rows, where
a compile per row costs seconds); every row runs under our ``jit`` against
optax in test_optim_numerics, and ``jit(grad)``/``vmap`` against optax's on
adam/adamw/adafactor in test_optim_compose.
"""
from __future__ import annotations

import jax
import numpy as np
import optax
import pytest
from jax import tree_util

import optim
import primitives.numpy as fnp
from optim_cases import grad_fn, make_params, rel_err
from optim_rows import ROWS
from transforms import grad, vmap

SMALL = {"dense": (4, 3), "conv": (2, 2, 2, 3), "vector": (3,), "scalar": ()}
STEPS = 2
H = 1e-6




def _tree(seed):
    return {"a": make_params(np.float64, seed, SMALL),
            "b": make_params(np.float64, seed + 1, SMALL)}


def _run(tx, apply, params):
    state = tx.init(params)
    for _ in range(STEPS):
        updates, state = tx.update(grad_fn(params), state, params)
        params = apply(params, updates)
    return params


def _final_loss(tx, apply=optim.apply_updates):
    return lambda p0: sum(fnp.sum(x * x) for x in tree_util.tree_leaves(_run(tx, apply, p0)))


def _axpy(a, x, y):
    return tree_util.tree_map(lambda x, y: a * x + y, x, y)


def _dot(x, y):
    return sum(float(np.vdot(np.asarray(a), np.asarray(b)))
               for a, b in zip(tree_util.tree_leaves(x), tree_util.tree_leaves(y)))


@pytest.mark.parametrize("name,make", ROWS, ids=[r[0] for r in ROWS])
def test_meta_gradients_of_a_population_and_chains(name, make, x64):
    ours, theirs = make()
    members = [_tree(0), _tree(2)]
    population = tree_util.tree_map(lambda *xs: np.stack(xs), *members)
    loss = _final_loss(ours)
    grads = vmap(grad(loss))(population)
    direction = _tree(5)
    smooth = []
    for i, p0 in enumerate(members):
        g_i = tree_util.tree_map(lambda g: g[i], grads)
        fd = (float(loss(_axpy(H, direction, p0)))
              - float(loss(_axpy(-H, direction, p0)))) / (2 * H)
        smooth.append(abs(_dot(g_i, direction) - fd) <= 1e-6 * max(abs(fd), 1.0))
    if not all(smooth):  # not smooth at this scale: jax's transforms of optax are the oracle
        want = jax.jit(jax.vmap(jax.grad(_final_loss(theirs, optax.apply_updates))))(population)
        for (path, g), w in zip(tree_util.tree_flatten_with_path(grads)[0],
                                tree_util.tree_leaves(want)):
            assert rel_err(g, w) <= 1e-10, \
                f"{name}: grad{tree_util.keystr(path)} differs from jax.vmap(jax.grad) of optax's"

    p0 = members[0]
    want = _run(theirs, optax.apply_updates, p0)
    for what, got in (("ours inside optax.chain", _run(optax.chain(ours), optax.apply_updates, p0)),
                      ("optax's inside optim.chain",
                       _run(optim.chain(theirs), optim.apply_updates, p0))):
        for (path, g), w in zip(tree_util.tree_flatten_with_path(got)[0],
                                tree_util.tree_leaves(want)):
            assert rel_err(g, w) <= 1e-10, f"{name}: {what}{tree_util.keystr(path)}"
