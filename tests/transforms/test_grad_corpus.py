"""grad / jacfwd / jacrev / hessian of a corpus of composite functions equal JAX's.

value_and_grad runs every case eagerly and under transforms.jit; jacfwd / jacrev /
hessian run under transforms.jit, and eagerly for every fourth case. JAX's
values are computed under jax.jit (see oracle.assert_transform_matches)."""
import functools

import jax
import numpy as np
import pytest

from corpus import CORPUS, jax_ns, ours_ns
from oracle import assert_transform_matches
import transforms as T

OURS, THEIRS = ours_ns(), jax_ns()
IDS = [c.name for c in CORPUS]


def _pair(case):
    return functools.partial(case.fn, OURS), functools.partial(case.fn, THEIRS)


def _argnums(args):
    return tuple(range(len(args)))


@pytest.mark.parametrize("case", CORPUS, ids=IDS)
def test_value_and_grad(case):
    args = case.make_args(np.random.default_rng(0))
    ours, theirs = _pair(case)
    n = _argnums(args)
    assert_transform_matches(lambda f: T.value_and_grad(f, argnums=n),
                             lambda f: jax.value_and_grad(f, argnums=n), ours, theirs, *args,
                             rtol=1e-5, atol=1e-5, jit=True)


def _ours_jitted_except_every_fourth(k, transform):
    """Ours under transforms.jit (one compile), and eagerly for every fourth case
    (as in tests/vmap/test_corpus.py): eagerly each small op of the transformed
    function compiles on its own; test_value_and_grad runs every case eagerly."""
    if k % 4 == 0:
        return transform
    return lambda f: T.jit(transform(f))


@pytest.mark.parametrize("k,case", list(enumerate(CORPUS)), ids=IDS)
def test_jacfwd_jacrev(k, case):
    args = case.make_args(np.random.default_rng(1))
    ours, theirs = _pair(case)
    for our_transform, jax_transform in [(T.jacfwd, jax.jacfwd), (T.jacrev, jax.jacrev)]:
        assert_transform_matches(_ours_jitted_except_every_fourth(k, our_transform),
                                 jax_transform, ours, theirs, *args, rtol=1e-5, atol=1e-5)


HESSIAN_CASES = [c for c in CORPUS if c.name in {
    "sum_sin", "poly", "exp_log", "tanh_chain", "div", "broadcast_add", "logsumexp",
    "matmul", "attention", "layernorm", "mlp", "softmax_xent", "index_slices", "at_add_repeated",
    "cumsum", "where", "norm", "activations", "transformer_block", "conv_net"}]


@pytest.mark.parametrize("k,case", list(enumerate(HESSIAN_CASES)),
                         ids=[c.name for c in HESSIAN_CASES])
def test_hessian(k, case):
    args = case.make_args(np.random.default_rng(2))
    ours, theirs = _pair(case)
    assert_transform_matches(_ours_jitted_except_every_fourth(k, T.hessian), jax.hessian, ours,
                             theirs, *args, rtol=1e-4, atol=1e-4)


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 40
