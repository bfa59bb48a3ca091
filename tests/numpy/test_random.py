"""primitives.random against jax.random: for the same raw key every sample is
equal bit for bit, eager and under our jit (vs jax.jit); keys, split, fold_in
and bits are equal; vmap over keys; jvp through samplers; errors."""

import numpy as np
import jax
import jax.numpy as jnp
import pytest
from jax import tree_util

import fx
import primitives.random as frandom
import transforms as T
from fx.errors import FxTypeError, ShapeError
from oracle import groups_by_prefix

BF16 = jnp.bfloat16
KEY = jax.random.PRNGKey(1701)


def _assert_equal(got, exp, what, eps=0):
    """Exact equality of two pytrees of arrays; with ``eps``, floats may differ
    by ``eps`` machine epsilons relative to ``max(1, |expected|)``."""
    g_leaves, g_tree = tree_util.tree_flatten(got)
    e_leaves, e_tree = tree_util.tree_flatten(exp)
    assert g_tree == e_tree, what
    for g, e in zip(g_leaves, e_leaves):
        g, e = np.asarray(g), np.asarray(e)
        assert g.dtype == e.dtype and g.shape == e.shape, f"{what}: {g.dtype}{g.shape} != {e.dtype}{e.shape}"
        if eps and (g.dtype.kind in "fc" or g.dtype == BF16):
            g64, e64 = g.astype(np.complex128), e.astype(np.complex128)
            err = np.abs(g64 - e64) / np.maximum(1, np.abs(e64))
            limit = eps * float(jax.dtypes.finfo(g.dtype).eps)
            assert err.max(initial=0) <= limit, f"{what}: error {err.max()} > {limit}\n{g}\n{e}"
        else:
            np.testing.assert_array_equal(g, e, err_msg=what)


def assert_same_bits(ours, theirs, *args, eager_eps=0):
    """``ours(*args)`` and ``transforms.jit(ours)(*args)`` equal ``jax.jit(theirs)(*args)``
    (values, dtypes, shapes); the Graph typechecks.

    Under jit the equality is exact, bit for bit. Eager floats may differ by
    ``eager_eps`` epsilons (relative to max(1, |x|)) in the cases that need it:
    jax runs each sampler as one fused XLA kernel, and XLA contracts a multiply
    feeding an add (``floats * (maxval - minval) + minval`` in uniform with
    bounds, the complex division of complex normal, gumbel's
    ``high + 2**-nmant * low``) into one fused multiply-add rounded once.
    Eager fxjax runs one primitive at a time, so the product is rounded before
    the add: no sequence of separately rounded ops reproduces an FMA, so exact
    eager equality is impossible there (truncated_normal then amplifies that
    rounding through erf_inv, by up to its slope sqrt(pi/2) exp(x^2/2)).
    Under our jit XLA sees the same ops as jax's and fuses them the same way.
    """
    expected = jax.jit(theirs)(*args)  # == jax's eager result: its samplers are jitted
    _assert_equal(ours(*args), expected, "eager", eps=eager_eps)
    _assert_equal(T.jit(ours)(*args), expected, "jit")
    fx.typecheck(fx.make_graph(ours)(*args))


def assert_cases_same_bits(cases, *args):
    """assert_same_bits for many ``(name, ours, theirs[, eager_eps])`` cases: each
    case eagerly (and its Graph typechecked), all cases together in ONE
    transforms.jit vs ONE jax.jit (one compile per side). Reports every failing case."""
    cases = [(c[0], c[1], c[2], c[3] if len(c) > 3 else 0) for c in cases]
    expected = jax.jit(lambda *a: [theirs(*a) for _, _, theirs, _ in cases])(*args)
    got_jit = T.jit(lambda *a: [ours(*a) for _, ours, _, _ in cases])(*args)
    failures = []
    for (name, ours, _, eps), exp, got in zip(cases, expected, got_jit):
        for what, check in [
                ("eager", lambda: _assert_equal(ours(*args), exp, f"{name} eager", eps=eps)),
                ("jit", lambda: _assert_equal(got, exp, f"{name} jit")),
                ("graph", lambda: fx.typecheck(fx.make_graph(ours)(*args)))]:
            try:
                check()
            except Exception as e:
                failures.append(f"[{name}] {what}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)


def _both(fn_name, *a, **kw):
    """(ours, theirs) for ``frandom.<fn_name>`` / ``jax.random.<fn_name>`` with a key first."""
    return (lambda key: getattr(frandom, fn_name)(key, *a, **kw),
            lambda key: getattr(jax.random, fn_name)(key, *a, **kw))


# --- keys ----------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 42, -1, 2**31, 2**32 + 3, np.int32(-7), np.uint32(2**32 - 1)],
                         ids=lambda s: repr(s))
def test_prng_key(seed):
    _assert_equal(frandom.PRNGKey(seed), jax.random.PRNGKey(seed), "PRNGKey")
    _assert_equal(frandom.key(seed), jax.random.PRNGKey(seed), "key is the raw PRNGKey")


def test_prng_key_traced_seed():
    assert_same_bits(frandom.PRNGKey, jax.random.PRNGKey, np.int32(123))
    assert_same_bits(frandom.PRNGKey, jax.random.PRNGKey, np.uint32(2**31 + 5))


def test_typed_jax_key_is_unwrapped():
    typed = jax.random.key(5)
    _assert_equal(frandom.normal(typed, (3,)), jax.random.normal(jax.random.PRNGKey(5), (3,)),
                  "typed key")


KEY_CASES = [
    ("split", *_both("split")),
    ("split3", *_both("split", 3)),
    ("split_shape", *_both("split", (2, 3))),
    ("fold_in0", *_both("fold_in", 0)),
    ("fold_in_big", *_both("fold_in", 2**31 + 5)),
    ("fold_in_np_i32", *_both("fold_in", np.int32(12345))),
    ("bits", *_both("bits", (3, 5))),
    ("bits_u8", *_both("bits", (7,), jnp.uint8)),
    ("bits_u16", *_both("bits", (2, 3), jnp.uint16)),
    ("bits_0d", *_both("bits")),
]


def test_keys_and_bits():
    assert_cases_same_bits(KEY_CASES, KEY)


def test_fold_in_traced_data():
    assert_same_bits(frandom.fold_in, jax.random.fold_in, KEY, np.int32(-3))


def test_split_chain():
    k_ours, k_jax = KEY, KEY
    for i in range(3):
        k_ours, sub_ours = frandom.split(k_ours)
        k_jax, sub_jax = jax.random.split(k_jax)
        k_ours, k_jax = frandom.fold_in(k_ours, i), jax.random.fold_in(k_jax, i)
    _assert_equal(sub_ours, sub_jax, "split/fold_in chain")
    _assert_equal(k_ours, k_jax, "split/fold_in chain")


# --- distributions: (name, ours, theirs), one row per case -------------------------
LOGITS = np.log(np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1], [0.25] * 4], np.float32))
P_CHOICE = np.array([0.1, 0.0, 0.5, 0.2, 0.2], np.float32)
S = (3, 4)  # one sample shape for most cases: the eager ops compile once per dtype
ARR = np.arange(12, dtype=np.float32).reshape(3, 4)

# (name, ours, theirs[, eager_eps]): eager_eps as in assert_same_bits (FMA contraction)
DISTRIBUTIONS = [
    ("uniform", *_both("uniform")),
    ("uniform_shape", *_both("uniform", S)),
    ("uniform_bf16", *_both("uniform", S, BF16)),
    ("uniform_f16", *_both("uniform", S, jnp.float16)),
    ("uniform_bounds", *_both("uniform", S, minval=-2., maxval=5.), 2),
    ("uniform_array_bounds", *_both("uniform", S, minval=np.array([0., 1., 2., 3.], np.float32),
                                    maxval=np.float32(10.)), 2),
    ("uniform_2d_bounds", *_both("uniform", (2, 3), minval=np.zeros((2, 1), np.float32),
                                 maxval=np.array([1., 2., 3.], np.float32)), 2),
    ("normal", *_both("normal")),
    ("normal_shape", *_both("normal", S)),
    ("normal_bf16", *_both("normal", S, BF16)),
    ("normal_f16", *_both("normal", S, jnp.float16)),
    ("normal_complex", *_both("normal", S, jnp.complex64), 1),
    ("truncated_normal", *_both("truncated_normal", -1., 2., S), 8),
    ("truncated_normal_arrays", *_both("truncated_normal", np.array([-3., 0., 1.], np.float32),
                                       np.float32(2.)), 8),
    ("truncated_normal_bf16", *_both("truncated_normal", -0.5, 0.5, S, BF16)),
    ("bernoulli", *_both("bernoulli")),
    ("bernoulli_p_shape", *_both("bernoulli", 0.3, S)),
    ("bernoulli_p_array", *_both("bernoulli", np.array([0.1, 0.5, 0.9], np.float32))),
    ("bernoulli_broadcast", *_both("bernoulli", np.array([0.1, 0.5, 0.9], np.float32), (2, 3))),
    ("bernoulli_high", *_both("bernoulli", 1e-3, S, mode="high")),
    ("gumbel", *_both("gumbel", S)),
    ("gumbel_bf16", *_both("gumbel", S, BF16)),
    ("gumbel_high", *_both("gumbel", S, mode="high"), 1),
    ("categorical", *_both("categorical", LOGITS)),
    ("categorical_axis0", *_both("categorical", LOGITS, axis=0)),
    ("categorical_shape", *_both("categorical", LOGITS, shape=(5, 3))),
    ("categorical_no_replace", *_both("categorical", LOGITS, shape=(2, 3), replace=False)),
    ("randint", *_both("randint", S, 0, 10)),
    ("randint_negative", *_both("randint", S, -50, 50)),
    ("randint_full_range", *_both("randint", S, -2**31, 2**31 - 1)),
    ("randint_empty_range", *_both("randint", S, 5, 5)),
    ("randint_array_bounds", *_both("randint", (2, 3), np.array([0, 10, 100], np.int32),
                                    np.array([5, 20, 1000], np.int32))),
    ("randint_uint8", *_both("randint", S, 0, 256, jnp.uint8)),
    ("randint_int8", *_both("randint", S, -100, 100, jnp.int8)),
    ("randint_int16", *_both("randint", S, 0, 1000, jnp.int16)),
    ("randint_uint32", *_both("randint", S, 0, 7, jnp.uint32)),
    ("permutation_int", *_both("permutation", 10)),
    ("permutation_1d", *_both("permutation", np.arange(8, dtype=np.float32) * 2)),
    ("permutation_2d", *_both("permutation", ARR)),
    ("permutation_axis1", *_both("permutation", ARR, axis=1)),
    ("permutation_independent", *_both("permutation", ARR, axis=1, independent=True)),
    ("choice", *_both("choice", 5, (3,))),
    ("choice_array", *_both("choice", ARR, (2,))),
    ("choice_no_replace", *_both("choice", 10, (4,), replace=False)),
    ("choice_no_replace_axis1", *_both("choice", ARR, (2,), replace=False, axis=1)),
    ("choice_p", *_both("choice", 5, (2, 3), p=P_CHOICE)),
    ("choice_p_no_replace", *_both("choice", 5, (3,), replace=False, p=P_CHOICE)),
]


@pytest.mark.parametrize("cases", groups_by_prefix(DISTRIBUTIONS, "_"))  # by sampler
def test_distribution_bits_match_jax(cases):
    assert_cases_same_bits(cases, KEY)


# (name, ours, theirs, dynamic args after the key, eager_eps): parameters as traced arguments
TRACED_PARAMS = [
    ("uniform", lambda k, lo, hi: frandom.uniform(k, S, minval=lo, maxval=hi),
     lambda k, lo, hi: jax.random.uniform(k, S, minval=lo, maxval=hi),
     (np.float32(-1.), np.float32(3.)), 2),
    ("truncated_normal", lambda k, lo, hi: frandom.truncated_normal(k, lo, hi, S),
     lambda k, lo, hi: jax.random.truncated_normal(k, lo, hi, S),
     (np.float32(-2.), np.float32(0.5)), 8),
    ("bernoulli", frandom.bernoulli, jax.random.bernoulli,
     (np.array([0.2, 0.5, 0.7], np.float32),), 0),
    ("randint", lambda k, lo, hi: frandom.randint(k, S, lo, hi),
     lambda k, lo, hi: jax.random.randint(k, S, lo, hi), (np.int32(-3), np.int32(40)), 0),
    ("categorical", frandom.categorical, jax.random.categorical, (LOGITS,), 0),
    ("permutation", frandom.permutation, jax.random.permutation, (ARR,), 0),
]


@pytest.mark.parametrize("name,ours,theirs,args,eager_eps", TRACED_PARAMS,
                         ids=[c[0] for c in TRACED_PARAMS])
def test_traced_parameters(name, ours, theirs, args, eager_eps):
    assert_same_bits(ours, theirs, KEY, *args, eager_eps=eager_eps)


@pytest.mark.parametrize("seed", [0, 7, 2**20 + 1])
def test_other_keys(seed):
    key = jax.random.PRNGKey(seed)
    for name in ("uniform", "normal", "gumbel"):
        _assert_equal(getattr(frandom, name)(key, S), getattr(jax.random, name)(key, S), name)


def test_bernoulli_is_bool_and_mean():
    x = frandom.bernoulli(KEY, 0.25, (4000,))
    assert x.dtype == np.bool_
    assert abs(float(np.mean(np.asarray(x))) - 0.25) < 0.03


# --- transforms ------------------------------------------------------------------
VMAP_CASES = [
    ("uniform", *_both("uniform", S)),
    ("normal_bf16", *_both("normal", S, BF16)),
    ("split", *_both("split", 3)),
    ("randint", *_both("randint", S, 0, 9)),
    ("permutation", *_both("permutation", 6)),
    ("categorical", *_both("categorical", LOGITS)),
]


@pytest.mark.parametrize("name,ours,theirs", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
def test_vmap_over_keys(name, ours, theirs):
    """The key primitives' batch rules: one bind on the stacked keys."""
    keys = jax.random.split(KEY, 4)
    _assert_equal(T.vmap(ours)(keys), jax.jit(jax.vmap(theirs))(keys), f"vmap {name}", eps=2)


def test_vmap_fold_in_and_seed():
    data = np.arange(4, dtype=np.int32)
    keys = jax.random.split(KEY, 4)
    _assert_equal(T.vmap(frandom.fold_in, in_axes=(None, 0))(KEY, data),
                  jax.vmap(jax.random.fold_in, in_axes=(None, 0))(KEY, data), "data batched")
    _assert_equal(T.vmap(frandom.fold_in, in_axes=(0, None))(keys, np.int32(3)),
                  jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, np.int32(3)), "key batched")
    _assert_equal(T.vmap(frandom.fold_in)(keys, data), jax.vmap(jax.random.fold_in)(keys, data),
                  "both batched")
    _assert_equal(T.vmap(frandom.PRNGKey)(data), jax.vmap(jax.random.PRNGKey)(data), "PRNGKey")


def test_nested_vmap_over_keys():
    keys = jax.random.split(KEY, (2, 3))
    ours, theirs = _both("normal", S)
    _assert_equal(T.vmap(T.vmap(ours))(keys), jax.jit(jax.vmap(jax.vmap(theirs)))(keys),
                  "vmap vmap")
    keys_t = jax.random.split(KEY, 3).T  # u32[2, 3]: the batch axis of the keys is 1
    _assert_equal(T.vmap(T.jit(ours), in_axes=1)(keys_t),
                  jax.jit(jax.vmap(theirs, in_axes=1))(keys_t), "vmap of jit, batch axis 1")


def test_jvp_through_sampler():
    """Keys and bits carry symbolic zero tangents; the bounds are differentiable."""
    def ours(lo):
        return frandom.uniform(KEY, (3,), minval=lo, maxval=lo + 2.)

    def theirs(lo):
        return jax.random.uniform(KEY, (3,), minval=lo, maxval=lo + 2.)
    got = T.jvp(ours, (np.float32(0.5),), (np.float32(1.),))
    exp = jax.jvp(theirs, (np.float32(0.5),), (np.float32(1.),))
    _assert_equal(got, exp, "jvp uniform")


# --- errors ----------------------------------------------------------------------
def test_errors():
    with pytest.raises(ShapeError, match=r"uniform accepts a single key.*u32\[3,2\].*vmap"):
        frandom.uniform(jax.random.split(KEY, 3))
    with pytest.raises(FxTypeError, match=r"normal: expected raw threefry keys.*f32\[2\]"):
        frandom.normal(jnp.zeros(2))
    with pytest.raises(FxTypeError, match="uniform: dtype must be a floating-point dtype"):
        frandom.uniform(KEY, (2,), jnp.int32)
    with pytest.raises(FxTypeError, match="randint: dtype must be an integer"):
        frandom.randint(KEY, (2,), 0, 3, jnp.float32)
    with pytest.raises(FxTypeError, match=r"bernoulli: probability p must have a floating.*i32"):
        frandom.bernoulli(KEY, np.int32(1))
    with pytest.raises(ShapeError, match=r"PRNGKey accepts a scalar seed.*i32\[2\]"):
        frandom.PRNGKey(np.zeros(2, np.int32))
    with pytest.raises(ShapeError, match=r"uniform: parameter shape \(3,\).*\(2,\)"):
        frandom.uniform(KEY, (2,), minval=np.zeros(3, np.float32))
    with pytest.raises(FxTypeError, match=r"random_bits: bit_width must be"):
        frandom.random_bits(KEY, 12, (2,))
