"""ragged_dot / ragged_dot_general (primitives/ragged_dot.py) against jax.lax:
values and dtypes (eager, jit, Graph) in the three ragged modes, with a zero
group and group sizes summing to less than m; jvp and grads of both operands vs
JAX's; finite differences to order 2 (float64); vmap vs a loop (any operand
batched or not); typed errors; JAX's unsupported cases raise as JAX's do."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest
from jax import lax

import primitives as P
from fx.errors import FxTypeError
from oracle import (Case, assert_cases_jvp_matches, assert_cases_same_as_jax,
                    assert_trees_close, assert_vmap_matches_loop, check_grads_numerically)
from transforms import grad, jit, vmap

RDN = P.RaggedDotDimensionNumbers


def _arr(*shape, seed=0, dtype=np.float32):
    return np.random.RandomState(seed).uniform(-1, 1, shape).astype(dtype)


def _gs(*sizes):
    return np.array(sizes, np.int32)


# mode 1 with a batch dim: [b, m, k] x [g, b, k, n] -> [b, m, n]
DN_BATCHED = RDN((([2], [2]), ([0], [1])), [1], [0])
# mode 1, m after k and n before k: [k, m] x [n, g, k] -> [m, n]
DN_PERMUTED = RDN((([0], [2]), ([], [])), [1], [1])
# mode 2 (contracting): [m, k] x [k, n] -> [g, m, n]
DN_CONTRACT = RDN((([1], [0]), ([], [])), [1], [])
# mode 3 (batch): [b, m, k] x [b, k, n] -> [b, m, n]
DN_BATCH = RDN((([2], [1]), ([0], [0])), [0], [])


def _rd(**kw):
    return (lambda x, y, g: P.ragged_dot(x, y, g, **kw),
            lambda x, y, g: lax.ragged_dot(x, y, g, **kw))


def _rdg(dn, **kw):
    return (lambda x, y, g: P.ragged_dot_general(x, y, g, dn, **kw),
            lambda x, y, g: lax.ragged_dot_general(x, y, g, dn, **kw))


X53, Y334 = _arr(5, 3), _arr(3, 3, 4, seed=1)
XB, YB = _arr(2, 5, 3, seed=2), _arr(3, 2, 3, 4, seed=3)
XP, YP = _arr(3, 5, seed=4), _arr(4, 3, 3, seed=5)
XC, YC = _arr(4, 6, seed=6), _arr(6, 3, seed=7)
X3, Y3 = _arr(2, 4, 3, seed=8), _arr(2, 3, 5, seed=9)
BF = jnp.bfloat16

# (name, (ours, theirs), args): the float cases are differentiable in lhs and rhs
MODE1 = [
    ("basic_zero_group", _rd(), (X53, Y334, _gs(2, 0, 3))),
    ("sum_below_m", _rd(), (X53, Y334, _gs(1, 2, 0))),
    ("all_in_last", _rd(), (X53, Y334, _gs(0, 0, 5))),
    ("highest", _rd(precision=lax.Precision.HIGHEST), (X53, Y334, _gs(3, 1, 1))),
    ("batched_gs1d", _rdg(DN_BATCHED), (XB, YB, _gs(1, 0, 3))),
    ("batched_gs2d", _rdg(DN_BATCHED), (XB, YB, np.array([[1, 0, 3], [2, 2, 0]], np.int32))),
    ("permuted", _rdg(DN_PERMUTED), (XP, YP, _gs(2, 2, 0))),
]
OTHER = [
    ("contract", _rdg(DN_CONTRACT), (XC, YC, _gs(2, 0, 3))),
    ("batch_mode", _rdg(DN_BATCH), (X3, Y3, _gs(1, 1))),
    ("bf16_pref_f32", _rd(preferred_element_type=jnp.float32),
     (X53.astype(BF), Y334.astype(BF), _gs(2, 1, 1))),
    ("bf16", _rd(), (X53.astype(BF), Y334.astype(BF), _gs(2, 1, 1))),
    ("f32_bf16_mix", _rd(), (X53, Y334.astype(BF), _gs(2, 1, 1))),
    ("int8_pref_i32", _rd(preferred_element_type=jnp.int32),
     ((X53 * 50).astype(np.int8), (Y334 * 50).astype(np.int8), _gs(1, 3, 0))),
    ("int32", _rd(), ((X53 * 50).astype(np.int32), (Y334 * 50).astype(np.int32), _gs(1, 3, 1))),
    ("gs_uint8", _rd(), (X53, Y334, np.array([2, 0, 2], np.uint8))),
]


def test_values_match_jax():
    assert_cases_same_as_jax([Case(n, o, t, a) for n, (o, t), a in MODE1 + OTHER])


def test_jvp_matches_jax():
    cases = []
    for i, (name, (ours, theirs), (x, y, g)) in enumerate(MODE1 + OTHER[:2]):
        tangents = (_arr(*x.shape, seed=30 + i), _arr(*y.shape, seed=60 + i))
        cases.append((name, lambda x, y, o=ours, g=g: o(x, y, g),
                      lambda x, y, t=theirs, g=g: t(x, y, g), (x, y), tangents))
    assert_cases_jvp_matches(cases, rtol=1e-5, atol=1e-6, eager_every=3)


def test_grads_match_jax():
    """Both operands' cotangents (JAX's transpose rules), incl. the zero rows."""
    from transforms import jit as fjit
    for name, (ours, theirs), (x, y, g) in MODE1:
        ct = _arr(*jax.eval_shape(theirs, x, y, g).shape, seed=11)
        f_ours = lambda x, y, g: (ours(x, y, g) * ct).sum()   # noqa: E731
        f_theirs = lambda x, y, g: (theirs(x, y, g) * ct).sum()   # noqa: E731
        expected = jax.grad(f_theirs, (0, 1))(x, y, g)
        assert_trees_close(grad(f_ours, (0, 1))(x, y, g), expected, rtol=1e-5, atol=1e-5,
                           what=f"{name} grad")
        assert_trees_close(fjit(grad(f_ours, (0, 1)))(x, y, g), expected, rtol=1e-5, atol=1e-5,
                           what=f"{name} jit(grad)")
    # bf16 operands, f32 output: the cotangents come back in the operands' dtypes
    xb, yb, g = X53.astype(BF), Y334.astype(BF), _gs(2, 1, 1)
    f_o = lambda x, y: P.ragged_dot(x, y, g, preferred_element_type=jnp.float32).sum()  # noqa: E731
    f_t = lambda x, y: lax.ragged_dot(x, y, g, preferred_element_type=jnp.float32).sum()  # noqa: E731
    assert_trees_close(grad(f_o, (0, 1))(xb, yb), jax.grad(f_t, (0, 1))(xb, yb), what="bf16")


def test_unsupported_like_jax():
    """JAX transposes only the non-contracting mode and has no group_offset."""
    for dn, (x, y, g) in ((DN_CONTRACT, (XC, YC, _gs(2, 0, 3))), (DN_BATCH, (X3, Y3, _gs(1, 1)))):
        with pytest.raises(NotImplementedError):
            jax.grad(lambda x: lax.ragged_dot_general(x, y, g, dn).sum())(x)
        with pytest.raises(NotImplementedError, match="transpose"):
            grad(lambda x: P.ragged_dot_general(x, y, g, dn).sum())(x)
    with pytest.raises(NotImplementedError, match="group_offset"):
        P.ragged_dot(X53, Y334, _gs(2, 0, 3), group_offset=np.array([0], np.int32))


def test_finite_differences_order_2(x64):
    r = np.random.default_rng(0)
    x, y = r.normal(size=(5, 3)), r.normal(size=(3, 3, 4))
    xb, yb = r.normal(size=(2, 5, 3)), r.normal(size=(3, 2, 3, 4))
    for name, fn, args in [
        ("ragged_dot", lambda x, y: P.ragged_dot(x, y, _gs(2, 0, 2)), (x, y)),
        ("general", lambda x, y: P.ragged_dot_general(x, y, _gs(1, 0, 3), DN_BATCHED), (xb, yb)),
        ("square", lambda x: P.ragged_dot(x, P.ragged_dot(x, y, _gs(1, 1, 1))[None, :3, :3]
                                          * np.ones((3, 1, 1)), _gs(2, 2, 1)), (x[:, :3],)),
    ]:
        try:
            check_grads_numerically(fn, args, order=2, eps=1e-6, rtol=1e-5, atol=1e-6)
        except AssertionError as e:
            raise AssertionError(f"[{name}] {e}") from None


def test_vmap_matches_loop():
    gs2 = np.array([[2, 0, 3], [1, 1, 1]], np.int32)
    x2, y2 = _arr(2, 5, 3, seed=20), _arr(2, 3, 3, 4, seed=21)
    rd = lambda x, y, g: P.ragged_dot(x, y, g)  # noqa: E731
    cases = [
        (rd, (0, 0, 0), (x2, y2, gs2)),
        (rd, (0, None, None), (x2, Y334, _gs(2, 0, 2))),
        (rd, (None, 0, None), (X53, y2, _gs(2, 0, 2))),
        (rd, (None, None, 0), (X53, Y334, gs2)),
        (rd, (1, 3, 1), (np.moveaxis(x2, 0, 1), np.moveaxis(y2, 0, 3), gs2.T)),
        (lambda x, y, g: P.ragged_dot_general(x, y, g, DN_BATCHED), (0, None, 0),
         (np.stack([XB, XB[::-1]]), YB, np.array([[1, 0, 3], [2, 2, 0]], np.int32))),
        (lambda x, y, g: P.ragged_dot_general(x, y, g, DN_BATCHED), (2, 0, None),
         (np.stack([XB, XB * 2], 2), np.stack([YB, -YB]), _gs(1, 0, 3))),
        (lambda x, y, g: P.ragged_dot_general(x, y, g, DN_CONTRACT), (0, 1, 0),
         (np.stack([XC, -XC]), np.stack([YC, 2 * YC], 1), np.array([[2, 0, 3], [6, 0, 0]],
                                                                   np.int32))),
        (lambda x, y, g: P.ragged_dot_general(x, y, g, DN_CONTRACT), (None, 0, None),
         (XC, np.stack([YC, 2 * YC]), _gs(1, 4, 0))),
        (lambda x, y, g: P.ragged_dot_general(x, y, g, DN_BATCH), (0, None, None),
         (np.stack([X3, -X3]), Y3, _gs(1, 1))),
        (lambda x, y, g: P.ragged_dot_general(x, y, g, DN_PERMUTED), (None, 1, 0),
         (XP, np.stack([YP, -YP], 1), np.array([[2, 2, 0], [0, 1, 4]], np.int32))),
    ]
    for i, (fn, in_axes, args) in enumerate(cases):
        try:
            assert_vmap_matches_loop(fn, in_axes, *args, jit=True, rtol=1e-5, atol=1e-6)
        except Exception as e:
            raise AssertionError(f"[case {i}, in_axes {in_axes}] {type(e).__name__}: {e}") from e
    # JAX's own vmap (all operands at axis 0, the only case JAX batches)
    assert_trees_close(vmap(rd)(x2, y2, gs2), jax.vmap(lax.ragged_dot)(x2, y2, gs2),
                       rtol=1e-5, atol=1e-6)
    # per-example gradients: vmap of grad of the rhs (shared weights)
    g_fn = grad(lambda y, x, g: (P.ragged_dot(x, y, g) ** 2).sum())
    assert_vmap_matches_loop(g_fn, (None, 0, 0), Y334, x2, gs2, jit=True, rtol=1e-5, atol=1e-6)


def test_typed_errors():
    g = _gs(2, 3)
    y2 = _arr(2, 3, 4)
    for args, kw, match in [
        ((X53, Y334, g), {}, r"rhs group dimension size to be 2, got 3"),
        ((X53, _arr(2, 4, 4), g), {}, r"contracting dimension sizes differ"),
        ((X53, y2, g.astype(np.float32)), {}, r"integer dtype"),
        ((X53, y2, np.int32(5)), {}, r"rank of group_sizes"),
        ((X53, y2, np.ones((3, 2), np.int32)), {}, r"group_sizes to have shape"),
        ((X53.astype(np.int32), y2.astype(np.int32), g), {"preferred_element_type": np.int8},
         r"narrower"),
    ]:
        with pytest.raises(FxTypeError, match=match):
            P.ragged_dot(*args, **kw)
        with pytest.raises(TypeError):
            lax.ragged_dot(*args, **kw)
    bad = [(RDN((([1], [1]), ([], [])), [0, 1], [0]), "exactly one lhs ragged"),
           (RDN((([1], [1]), ([], [])), [2], [0]), "out of range"),
           (RDN((([1], [1]), ([], [])), [0], []), "exactly one rhs group"),
           (RDN((([1], [1]), ([], [])), [0], [1]), "distinct from the contracting"),
           (RDN((([1], [0]), ([], [])), [1], [0]), "zero rhs group dimensions")]
    for dn, match in bad:
        with pytest.raises(FxTypeError, match=match):
            P.ragged_dot_general(X53, y2, g, dn)
    with pytest.raises(FxTypeError, match="RaggedDotDimensionNumbers"):
        P.ragged_dot_general(X53, y2, g, (((1,), (1,)), ((), ())))
    with pytest.raises(FxTypeError, match="rhs group dimension size"):   # named under jit too
        jit(P.ragged_dot)(X53, Y334, g)
