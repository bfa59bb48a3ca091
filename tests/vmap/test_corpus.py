"""vmap equals jax.vmap on a corpus of functions (tests/corpus.py, written once
against a namespace) with varied in_axes (0, None, last axis, pytree prefixes),
plus functions with array outputs under out_axes != 0 and pytree out_axes."""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import pytest
import jax

from corpus import CORPUS, f32, jax_ns, mlp, mlp_params, ours_ns
from oracle import assert_trees_close
from transforms import jit, vmap

B = 3
BROKEN = {}
OURS, THEIRS = ours_ns(), jax_ns()


def _stack_examples(examples, in_axes):
    """Stack per-example argument tuples along each argument's in_axes (an
    int/None prefix per argument); unmapped leaves come from the first example."""
    out = []
    for k, ax in enumerate(in_axes):
        full = jax.tree_util.tree_map(lambda a, sub: jax.tree_util.tree_map(lambda _: a, sub),
                                      ax, examples[0][k], is_leaf=lambda x: x is None)
        axes = jax.tree_util.tree_structure(examples[0][k]).flatten_up_to(full)
        per_leaf = zip(*[jax.tree_util.tree_leaves(ex[k]) for ex in examples])
        leaves = [xs[0] if a is None else np.stack(xs, axis=a) for a, xs in zip(axes, per_leaf)]
        out.append(jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(examples[0][k]),
                                                leaves))
    return tuple(out)


def _in_axes_variants(n_args: int, k: int) -> tuple:
    """Cycle through: all mapped at 0; first argument unmapped; all at the last axis."""
    if k % 3 == 0 or n_args == 1 and k % 3 == 1:
        return (0,) * n_args
    if k % 3 == 1:
        return (None,) + (0,) * (n_args - 1)
    return (-1,) * n_args


def _check(ours, theirs, in_axes, args, out_axes=0, use_jit=True):
    # JAX's under jax.jit: one compile, not one per op of its eager vmap
    exp = jax.jit(jax.vmap(theirs, in_axes=in_axes, out_axes=out_axes))(*args)
    got = (jit(vmap(ours, in_axes=in_axes, out_axes=out_axes)) if use_jit else
           vmap(ours, in_axes=in_axes, out_axes=out_axes))(*args)
    assert_trees_close(got, exp, 2e-5, 2e-5, what="vmap vs jax.vmap")


@pytest.mark.parametrize("k,case", list(enumerate(CORPUS)), ids=[c.name for c in CORPUS])
def test_corpus_matches_jax_vmap(k, case):
    if case.name in BROKEN:
        pytest.skip(BROKEN[case.name])
    rng = np.random.default_rng(k)
    examples = [case.make_args(rng) for _ in range(B)]
    in_axes = _in_axes_variants(len(examples[0]), k)
    if in_axes[0] == -1 and any(np.ndim(x) == 0 for x in jax.tree_util.tree_leaves(examples[0])):
        in_axes = (0,) * len(in_axes)
    args = _stack_examples(examples, in_axes)
    _check(lambda *a: case.fn(OURS, *a), lambda *a: case.fn(THEIRS, *a), in_axes, args,
           use_jit=k % 4 != 0)  # every fourth case also runs eagerly


class OutCase(NamedTuple):
    name: str
    fn: Callable          # fn(ns, *args)
    in_axes: object
    out_axes: object
    make: Callable        # make(rng) -> args (already batched)


def _mlp_args(rng):
    params = mlp_params(rng)
    return params, f32(rng, B, 6)


OUT_CASES = [
    OutCase("out_axes_1", lambda ns, x: ns.np.tanh(x) * 2.0, 0, 1, lambda r: (f32(r, B, 3, 4),)),
    OutCase("out_axes_neg1", lambda ns, x, y: x @ y, (0, None), -1,
            lambda r: (f32(r, B, 2, 3), f32(r, 3, 4))),
    OutCase("out_axes_tuple_none", lambda ns, x, w: (x @ w, ns.np.sum(w)), (1, None), (2, None),
            lambda r: (f32(r, 2, B, 3), f32(r, 3, 5))),
    OutCase("out_axes_dict", lambda ns, x: {"s": ns.np.sin(x), "c": ns.np.cumsum(x, axis=0)}, 1,
            {"s": 0, "c": -1}, lambda r: (f32(r, 4, B),)),
    OutCase("unbatched_output_broadcast", lambda ns, x, y: (x + 1.0, y * 2.0), (0, None), 1,
            lambda r: (f32(r, B, 2), f32(r, 2, 3))),
    OutCase("pytree_in_axes_mlp", lambda ns, p, x: mlp(ns, p, x), ([(None, 0), (None, None)], 0),
            0, lambda r: ([(f32(r, 6, 8), f32(r, B, 8)), (f32(r, 8, 4), f32(r, 4))], f32(r, B, 6))),
    OutCase("pytree_in_axes_dict", lambda ns, d, x: d["w"] @ x + d["b"][0],
            ({"w": None, "b": (1,)}, 0), 0,
            lambda r: ({"w": f32(r, 2, 3), "b": (f32(r, 2, B),)}, f32(r, B, 3))),
    OutCase("params_unmapped_mlp", lambda ns, p, x: mlp(ns, p, x), (None, 0), 1, _mlp_args),
    OutCase("in_axes_list", lambda ns, x, y: ns.np.maximum(x, y), [0, 1], 0,
            lambda r: (f32(r, B, 4), f32(r, 4, B))),
    OutCase("softmax_out_axes_neg", lambda ns, x: ns.nn.softmax(x, axis=0), -1, -2,
            lambda r: (f32(r, 5, 2, B),)),
    OutCase("nested_out", lambda ns, x: [x, (x.T, {"m": ns.np.mean(x)})], 0, [0, (1, {"m": 0})],
            lambda r: (f32(r, B, 2, 3),)),
]


@pytest.mark.parametrize("case", OUT_CASES, ids=[c.name for c in OUT_CASES])
def test_out_axes_and_pytree_in_axes(case):
    args = case.make(np.random.default_rng(0))
    _check(lambda *a: case.fn(OURS, *a), lambda *a: case.fn(THEIRS, *a), case.in_axes, args,
           case.out_axes, use_jit=False)


def test_corpus_size():
    assert len(CORPUS) + len(OUT_CASES) >= 40
