"""Shape primitives vs jax.lax: values/dtypes (eager, jit, graph), errors, and
the jvp / vmap / transpose rules vs jax.jvp / jax.vmap / jax.linear_transpose."""
from functools import partial

import numpy as np
import pytest
import jax
import jax.numpy as jnp
from jax import lax

import fx
import primitives as P
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from oracle import (assert_cases_jvp_matches, assert_cases_same_as_jax,
                    assert_cases_transpose_matches, assert_cases_vmap_matches, assert_jvp_matches,
                    assert_vmap_matches)

# the jvp / vmap / transpose tables: ours eagerly for every fourth case, the others
# in one transforms.jit (JAX's in one jax.jit)
EAGER_EVERY = 4

F32, BF16, I32, BOOL = np.float32, jnp.bfloat16, np.int32, np.bool_
_rng = np.random.default_rng(0)


def arr(shape, dtype=F32):
    """A small random array (integer-valued, so every dtype holds it exactly)."""
    x = _rng.integers(-4, 5, size=shape)
    return (x > 0) if dtype is BOOL else np.asarray(x, dtype)


# --- values: one row per op/case: (id, name, array args, static params) ---------
CASES = [
    ("broadcast_in_dim-0d", "broadcast_in_dim", (arr((), F32),),
     dict(shape=(2, 3), broadcast_dimensions=())),
    ("broadcast_in_dim-row", "broadcast_in_dim", (arr((3,), BF16),),
     dict(shape=(2, 3), broadcast_dimensions=(1,))),
    ("broadcast_in_dim-unit", "broadcast_in_dim", (arr((3, 1), I32),),
     dict(shape=(3, 4), broadcast_dimensions=(0, 1))),
    ("broadcast_in_dim-bool", "broadcast_in_dim", (arr((1,), BOOL),),
     dict(shape=(2, 2), broadcast_dimensions=(0,))),
    ("reshape", "reshape", (arr((2, 3), F32),), dict(new_sizes=(3, 2))),
    ("reshape-dimensions", "reshape", (arr((2, 3, 4), I32),),
     dict(new_sizes=(4, 6), dimensions=(2, 0, 1))),
    ("reshape-0d", "reshape", (arr((), BF16),), dict(new_sizes=(1, 1))),
    ("reshape-empty", "reshape", (arr((0, 3), BOOL),), dict(new_sizes=(3, 0))),
    ("transpose", "transpose", (arr((2, 3, 4), F32),), dict(permutation=(2, 0, 1))),
    ("transpose-0d", "transpose", (arr((), I32),), dict(permutation=())),
    ("transpose-bool", "transpose", (arr((2, 3), BOOL),), dict(permutation=(1, 0))),
    ("squeeze", "squeeze", (arr((1, 3, 1), F32),), dict(dimensions=(0, 2))),
    ("squeeze-to-0d", "squeeze", (arr((1,), I32),), dict(dimensions=(0,))),
    ("squeeze-negative", "squeeze", (arr((2, 1), BF16),), dict(dimensions=(-1,))),
    ("expand_dims-0d", "expand_dims", (arr((), F32),), dict(dimensions=(0,))),
    ("expand_dims-negative", "expand_dims", (arr((3,), BOOL),), dict(dimensions=(0, -1))),
    ("expand_dims-middle", "expand_dims", (arr((2, 3), I32),), dict(dimensions=(1,))),
    ("rev", "rev", (arr((2, 3), F32),), dict(dimensions=(0, 1))),
    ("rev-int", "rev", (arr((4,), I32),), dict(dimensions=(0,))),
    ("rev-none", "rev", (arr((2, 3), BF16),), dict(dimensions=())),
    ("rev-0d-bool", "rev", (arr((), BOOL),), dict(dimensions=())),
    ("pad", "pad", (arr((3,), F32), np.float32(7)), dict(padding_config=((1, 2, 0),))),
    ("pad-negative-interior", "pad", (arr((3, 4), I32), np.int32(-9)),
     dict(padding_config=((-1, 2, 1), (0, -2, 2)))),
    ("pad-empty-interior", "pad", (arr((0,), F32), np.float32(1)),
     dict(padding_config=((1, 1, 3),))),
    ("pad-0d", "pad", (arr((), BF16), np.asarray(2, BF16)), dict(padding_config=())),
    ("pad-bool", "pad", (arr((2,), BOOL), np.bool_(True)), dict(padding_config=((1, 0, 1),))),
    ("concatenate", "concatenate", ([arr((2, 3), F32), arr((1, 3), F32)],), dict(dimension=0)),
    ("concatenate-three", "concatenate", ([arr((2, 3), I32)] * 3,), dict(dimension=1)),
    ("concatenate-empty-bool", "concatenate", ([arr((2,), BOOL), arr((0,), BOOL)],),
     dict(dimension=0)),
    ("concatenate-bf16", "concatenate", ([arr((2, 1, 3), BF16), arr((2, 2, 3), BF16)],),
     dict(dimension=1)),
    ("slice", "slice", (arr((5,), F32),), dict(start_indices=(1,), limit_indices=(4,))),
    ("slice-strides", "slice", (arr((4, 6), I32),),
     dict(start_indices=(1, 0), limit_indices=(3, 6), strides=(1, 4))),
    ("slice-empty-bool", "slice", (arr((3,), BOOL),), dict(start_indices=(2,), limit_indices=(2,))),
    ("slice-bf16-strides", "slice", (arr((5, 5), BF16),),
     dict(start_indices=(0, 1), limit_indices=(5, 5), strides=(2, 3))),
    ("dynamic_slice", "dynamic_slice", (arr((5,), F32), [np.int32(2)]), dict(slice_sizes=(3,))),
    ("dynamic_slice-negative-clamp", "dynamic_slice", (arr((4, 5), I32), [np.int32(-1), 3]),
     dict(slice_sizes=(2, 2))),
    ("dynamic_slice-clamp-bool", "dynamic_slice", (arr((3,), BOOL), [np.int32(9)]),
     dict(slice_sizes=(2,))),
    ("dynamic_slice-0d", "dynamic_slice", (arr((), F32), []), dict(slice_sizes=())),
    ("dynamic_slice-uint-bf16", "dynamic_slice", (arr((4, 4), BF16), [np.uint32(1), np.uint32(3)]),
     dict(slice_sizes=(2, 2))),
    ("dynamic_update_slice-clamp", "dynamic_update_slice",
     (arr((5,), F32), arr((2,), F32), [np.int32(4)]), {}),
    ("dynamic_update_slice-negative", "dynamic_update_slice",
     (arr((3, 4), I32), arr((2, 2), I32), [np.int32(1), np.int32(-1)]), {}),
    ("dynamic_update_slice-bool", "dynamic_update_slice",
     (arr((3,), BOOL), arr((1,), BOOL), [np.int32(0)]), {}),
    ("dynamic_update_slice-0d", "dynamic_update_slice", (arr((), BF16), arr((), BF16), []), {}),
    ("iota-f32", "iota", (), dict(dtype=np.float32, size=4)),
    ("iota-empty-i32", "iota", (), dict(dtype=np.int32, size=0)),
    ("broadcasted_iota", "broadcasted_iota", (), dict(dtype=np.int32, shape=(2, 3), dimension=1)),
    ("broadcasted_iota-bf16", "broadcasted_iota", (), dict(dtype=BF16, shape=(3,), dimension=0)),
]


def _by_op():
    groups = {}
    for case, name, args, params in CASES:
        groups.setdefault(name, []).append(
            (case, partial(getattr(P, name), **params), partial(getattr(lax, name), **params), args))
    return [pytest.param(cases, id=name) for name, cases in groups.items()]


@pytest.mark.parametrize("cases", _by_op())
def test_same_as_lax(cases):
    """Each case eagerly, then the op's cases in one jit and one typechecked Graph."""
    assert_cases_same_as_jax(cases, jax_eager=False)


def test_lenient_inputs():
    """Where we accept more than lax: negative rev axes, weak Python-scalar padding
    values and updates adopting the operand's dtype, mixed index dtypes, 1-d start arrays."""
    x = arr((2, 3), BF16)
    np.testing.assert_array_equal(P.rev(x, (-1,)), lax.rev(x, (1,)))
    np.testing.assert_array_equal(P.pad(x, 0.5, [(1, 0, 0), (0, 1, 0)]),
                                  lax.pad(x, BF16(0.5), [(1, 0, 0), (0, 1, 0)]))
    assert P.pad(x, 0.5, [(0, 0, 0)] * 2).dtype == BF16
    np.testing.assert_array_equal(P.dynamic_slice(x, jnp.array([1, 1]), (1, 2)), x[1:, 1:])
    np.testing.assert_array_equal(P.dynamic_slice(x, [np.uint32(1), 1], (1, 2)), x[1:, 1:])
    y = fx.graph_to_fn(fx.make_graph(lambda x, s: P.dynamic_slice(x, s, (1, 2)))(
        x, jnp.array([1, 1])))(x, jnp.array([1, 1]))
    np.testing.assert_array_equal(y, x[1:, 1:])


def test_graph_printing():
    g = fx.make_graph(lambda x: P.pad(P.rev(x, (0,)), 0.0, [(1, 0, 1)]))(jnp.ones(3))
    assert "rev[dimensions=(0,)]" in str(g) and "pad[padding_config=((1, 0, 1),)]" in str(g)


# --- errors: (id, function, args, expected message) -----------------------------
X23 = jax.ShapeDtypeStruct((2, 3), np.float32)
ERRORS = [
    ("reshape-size", lambda x: P.reshape(x, (4, 2)), ShapeError, r"reshape.*f32\[2,3\].*\(4, 2\)"),
    ("broadcast_in_dim", lambda x: P.broadcast_in_dim(x, (3, 3), (0, 1)), ShapeError,
     r"broadcast_in_dim.*f32\[2,3\]"),
    ("transpose-perm", lambda x: P.transpose(x, (0, 0)), ShapeError, r"transpose.*f32\[2,3\]"),
    ("squeeze-not-1", lambda x: P.squeeze(x, (0,)), ShapeError, r"squeeze.*f32\[2,3\].*size 1"),
    ("squeeze-axis", lambda x: P.squeeze(x, (2,)), ShapeError, r"squeeze.*\(2,\).*f32\[2,3\]"),
    ("expand_dims-axis", lambda x: P.expand_dims(x, (4,)), ShapeError,
     r"expand_dims.*\(4,\).*f32\[2,3\]"),
    ("expand_dims-repeat", lambda x: P.expand_dims(x, (0, 0)), ShapeError,
     r"expand_dims.*distinct"),
    ("rev-axis", lambda x: P.rev(x, (-3,)), ShapeError, r"rev.*\(-3,\).*f32\[2,3\]"),
    ("pad-config-len", lambda x: P.pad(x, 0.0, [(1, 1, 0)]), ShapeError, r"pad.*f32\[2,3\]"),
    ("pad-negative-size", lambda x: P.pad(x, 0.0, [(-2, -1, 0), (0, 0, 0)]), ShapeError,
     r"pad.*f32\[2,3\].*\(-1, 3\)"),
    ("pad-interior", lambda x: P.pad(x, 0.0, [(0, 0, -1), (0, 0, 0)]), ShapeError,
     r"pad.*interior"),
    ("pad-value-dtype", lambda x: P.pad(x, np.int32(0), [(0, 0, 0)] * 2), FxTypeError,
     r"pad.*f32\[2,3\], i32\[\]"),
    ("pad-value-shape", lambda x: P.pad(x, x, [(0, 0, 0)] * 2), ShapeError, r"pad.*scalar"),
    ("concatenate-shapes", lambda x: P.concatenate([x, P.transpose(x, (1, 0))], 0), ShapeError,
     r"concatenate.*f32\[2,3\], f32\[3,2\]"),
    ("concatenate-rank", lambda x: P.concatenate([x, P.reshape(x, (6,))], 0), ShapeError,
     r"concatenate.*f32\[2,3\], f32\[6\]"),
    ("concatenate-dim", lambda x: P.concatenate([x, x], 2), ShapeError,
     r"concatenate.*dimension=2"),
    ("concatenate-dtype", lambda x: P.concatenate([x, np.ones((2, 3), np.int32)], 0), FxTypeError,
     r"concatenate.*f32\[2,3\], i32\[2,3\]"),
    ("slice-bounds", lambda x: P.slice(x, (0, 1), (2, 4)), ShapeError,
     r"slice.*\(2, 4\).*f32\[2,3\]"),
    ("slice-rank", lambda x: P.slice(x, (0,), (2,)), ShapeError, r"slice.*f32\[2,3\]"),
    ("slice-stride", lambda x: P.slice(x, (0, 0), (2, 3), (0, 1)), ShapeError, r"slice.*strides"),
    ("dynamic_slice-size", lambda x: P.dynamic_slice(x, (0, 0), (3, 1)), ShapeError,
     r"dynamic_slice.*\(3, 1\).*f32\[2,3\]"),
    ("dynamic_slice-count", lambda x: P.dynamic_slice(x, (0,), (1, 1)), ShapeError,
     r"dynamic_slice.*1 start indices.*f32\[2,3\]"),
    ("dynamic_slice-float-index", lambda x: P.dynamic_slice(x, (0, 1.0), (1, 1)), FxTypeError,
     r"dynamic_slice.*integer scalars"),
    ("dynamic_slice-index-dtypes",
     lambda x: P.dynamic_slice(x, (np.int32(0), np.uint32(1)), (1, 1)), FxTypeError, r"dynamic_slice.*i32\[\], u32\[\]"),
    ("dynamic_update_slice-fit",
     lambda x: P.dynamic_update_slice(x, P.transpose(x, (1, 0)), (0, 0)), ShapeError, r"dynamic_update_slice.*f32\[3,2\].*f32\[2,3\]"),
    ("dynamic_update_slice-dtype",
     lambda x: P.dynamic_update_slice(x, np.ones((1, 1), np.int32), (0, 0)), FxTypeError,
     r"dynamic_update_slice.*f32\[2,3\], i32\[1,1\]"),
    ("iota-bool", lambda x: P.iota(np.bool_, 3), FxTypeError, r"iota.*bool"),
    ("broadcasted_iota-dimension", lambda x: P.broadcasted_iota(np.int32, (2,), 1), ShapeError,
     r"iota.*dimension=1"),
]


@pytest.mark.parametrize("fn,err,match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_traced(fn, err, match):
    with pytest.raises(err, match=match):
        fx.make_graph(fn)(X23)


EAGER_ERRORS = [e for e in ERRORS if e[0] in (
    "reshape-size", "broadcast_in_dim", "squeeze-not-1", "pad-value-dtype", "concatenate-shapes",
    "concatenate-dtype", "slice-bounds", "dynamic_slice-size", "dynamic_slice-index-dtypes",
    "dynamic_update_slice-dtype")]


@pytest.mark.parametrize("fn,err,match", [e[1:] for e in EAGER_ERRORS],
                         ids=[e[0] for e in EAGER_ERRORS])
def test_errors_eager(fn, err, match):
    """Eagerly lax rejects the op first; the user still gets our typed error."""
    with pytest.raises(err, match=match):
        fn(np.ones((2, 3), np.float32))


# --- rules: linear functions of float operands (indices closed over) ------------
# (id, ours, theirs, float args); theirs = the same call on jax.lax.
def _pair(name, *static, **params):
    """ours/theirs for op ``name`` with its array args first, then ``static``."""
    return (lambda *a: getattr(P, name)(*a, *static, **params),
            lambda *a: getattr(lax, name)(*a, *static, **params))


def _dus(starts):
    return (lambda x, u: P.dynamic_update_slice(x, u, starts),
            lambda x, u: lax.dynamic_update_slice(x, u, starts))


RULES = [
    ("broadcast_in_dim", *_pair("broadcast_in_dim", (2, 3, 4), (0, 2)), (arr((2, 4)),)),
    ("broadcast_in_dim-unit", *_pair("broadcast_in_dim", (3, 2, 4), (1, 2)), (arr((1, 4)),)),
    ("broadcast_in_dim-0d", *_pair("broadcast_in_dim", (3,), ()), (arr(()),)),
    ("reshape", *_pair("reshape", (6, 2)), (arr((3, 4)),)),
    ("reshape-dimensions", *_pair("reshape", (4, 6), (2, 0, 1)), (arr((2, 3, 4)),)),
    ("transpose", *_pair("transpose", (2, 0, 1)), (arr((2, 3, 4)),)),
    ("squeeze", *_pair("squeeze", (0, 2)), (arr((1, 3, 1)),)),
    ("expand_dims", *_pair("expand_dims", (0, 2)), (arr((3, 4)),)),
    ("rev", *_pair("rev", (1,)), (arr((3, 4)),)),
    ("pad", lambda x, v: P.pad(x, v, ((1, -1, 1), (-1, 2, 0))),
     lambda x, v: lax.pad(x, v, ((1, -1, 1), (-1, 2, 0))), (arr((3, 4)), np.float32(2))),
    ("pad-const-value", lambda x: P.pad(x, 3.0, ((2, 0, 2),)),
     lambda x: lax.pad(x, np.float32(3), ((2, 0, 2),)), (arr((3,)),)),
    ("concatenate", lambda a, b: P.concatenate([a, b], 1),
     lambda a, b: lax.concatenate([a, b], 1), (arr((2, 3)), arr((2, 1)))),
    ("concatenate-const", lambda a: P.concatenate([np.ones((1, 3), F32), a], 0),
     lambda a: lax.concatenate([np.ones((1, 3), F32), a], 0), (arr((2, 3)),)),
    ("slice", *_pair("slice", (1, 0), (3, 4)), (arr((4, 4)),)),
    ("slice-strides", *_pair("slice", (0, 1), (5, 5), (2, 3)), (arr((5, 6)),)),
    ("dynamic_slice", *_pair("dynamic_slice", (np.int32(-1), np.int32(1)), (2, 2)),
     (arr((4, 5)),)),
    ("dynamic_update_slice", *_dus((np.int32(3), np.int32(1))), (arr((4, 5)), arr((2, 2)))),
]


def test_jvp():
    assert_cases_jvp_matches([(name, ours, theirs, args, tuple(arr(np.shape(a)) for a in args))
                              for name, ours, theirs, args in RULES], eager_every=EAGER_EVERY)


def test_transpose():
    assert_cases_transpose_matches([(name, ours, theirs, args,
                                     arr(jax.eval_shape(theirs, *args).shape))
                                    for name, ours, theirs, args in RULES], eager_every=EAGER_EVERY)


def test_vmap():
    cases = []
    for name, ours, theirs, args in RULES:
        batched = tuple(arr((3,) + np.shape(a)) for a in args)
        cases.append((f"{name}-all0", ours, theirs, 0, batched))
        # The last operand mapped along its last axis, the others unbatched.
        mixed = args[:-1] + (np.moveaxis(batched[-1], 0, -1),)
        axes = (None,) * (len(args) - 1) + (-1,)
        cases.append((f"{name}-last-1", ours, theirs, axes, mixed, -1))
    assert_cases_vmap_matches(cases, eager_every=EAGER_EVERY)


# vmap with batched start indices / padding values (gather, scatter, select paths).
_starts = np.array([0, -1, 3, 7], np.int32)
VMAP_INDEX = [
    ("dynamic_slice-batched-starts", lambda x, i: P.dynamic_slice(x, (i, 1), (2, 2)),
     lambda x, i: lax.dynamic_slice(x, (i, 1), (2, 2)), (0, 0), (arr((4, 5, 5)), _starts)),
    ("dynamic_slice-only-starts", lambda x, i: P.dynamic_slice(x, (2, i), (3, 2)),
     lambda x, i: lax.dynamic_slice(x, (2, i), (3, 2)), (None, 0), (arr((5, 5), I32), _starts)),
    ("dynamic_slice-bdim1", lambda x, i: P.dynamic_slice(x, (i,), (2,)),
     lambda x, i: lax.dynamic_slice(x, (i,), (2,)), (1, 0), (arr((5, 4), BOOL), _starts)),
    ("dynamic_update_slice-batched-starts", lambda x, u, i: P.dynamic_update_slice(x, u, (i, 0)),
     lambda x, u, i: lax.dynamic_update_slice(x, u, (i, 0)), (0, 0, 0),
     (arr((4, 5, 3)), arr((4, 2, 3)), _starts)),
    ("dynamic_update_slice-only-starts", lambda x, u, i: P.dynamic_update_slice(x, u, (1, i)),
     lambda x, u, i: lax.dynamic_update_slice(x, u, (1, i)), (None, None, 0),
     (arr((3, 5), I32), arr((1, 2), I32), _starts)),
    ("dynamic_update_slice-update-only", lambda x, u: P.dynamic_update_slice(x, u, (1,)),
     lambda x, u: lax.dynamic_update_slice(x, u, (1,)), (None, 1), (arr((5,)), arr((2, 4)))),
    ("pad-batched-value", lambda x, v: P.pad(x, v, ((1, 1, 1),)),
     lambda x, v: lax.pad(x, v, ((1, 1, 1),)), (0, 0), (arr((4, 3)), arr((4,)))),
    ("pad-only-value", lambda x, v: P.pad(x, v, ((0, 2, 0),)),
     lambda x, v: lax.pad(x, v, ((0, 2, 0),)), (None, 0), (arr((3,), I32), arr((4,), I32))),
    ("concatenate-mixed", lambda a, b: P.concatenate([a, b], 0),
     lambda a, b: lax.concatenate([a, b], 0), (None, 1), (arr((2, 3)), arr((1, 4, 3)))),
]


def test_vmap_special():
    assert_cases_vmap_matches(VMAP_INDEX, eager_every=EAGER_EVERY)


def test_jvp_zero_tangents():
    """Integer outputs and iota get symbolic-zero tangents; a Zero input tangent
    stays Zero through the linear rules (jvp returns zeros)."""
    from fx.ad import Zero
    _, t = P.dynamic_slice_p.jvp((np.ones(3, F32), np.int32(1)),
                                 (Zero(ShapedArray((3,), F32)),
                                  Zero(ShapedArray((), I32))), slice_sizes=(2,))
    assert isinstance(t, Zero) and t.aval.shape == (2,)
    out, t = P.iota_p.jvp((), (), dtype=np.dtype(F32), shape=(3,), dimension=0)
    assert isinstance(t, Zero) and t.aval.dtype == F32
    from transforms import jvp
    _, t = jvp(lambda x: P.add(x, P.iota(np.float32, 3)), (np.ones(3, F32),), (np.ones(3, F32),))
    np.testing.assert_array_equal(t, np.ones(3))


def test_per_example_grad_of_dynamic_slice():
    """vmap of grad with per-example start indices: the transpose emits a
    dynamic_update_slice with batched starts (the scatter path)."""
    from transforms import grad, vmap
    loss = lambda x, i: (P.dynamic_slice(x, (i, 0), (2, 3)) ** 2).sum()  # noqa: E731
    x, starts = arr((4, 5, 3)), np.array([0, 4, -1, 2], np.int32)
    theirs = jax.vmap(jax.grad(lambda x, i: (lax.dynamic_slice(x, (i, 0), (2, 3)) ** 2).sum()))
    np.testing.assert_allclose(vmap(grad(loss))(x, starts), theirs(x, starts))


def test_broadcast_in_dim_permuted_dims_rules():
    """broadcast_dimensions need not increase (as in lax). jax.linear_transpose fails
    on this case (jax 0.10.2: its rule skips the permutation), so compare with numpy."""
    ours, theirs = _pair("broadcast_in_dim", (4, 2, 3), (2, 0))
    x, ct = arr((3, 4)), arr((4, 2, 3))
    assert_jvp_matches(ours, theirs, (x,), (arr((3, 4)),))
    assert_vmap_matches(ours, theirs, 1, arr((3, 5, 4)))
    from transforms import linear_transpose
    np.testing.assert_array_equal(linear_transpose(ours, x)(ct)[0], ct.sum(1).T)


def test_pad_transpose_value_only():
    """Cotangent of the padding value alone (jax 0.10.2's rule fails here: it
    subtracts the operand's cotangent without computing it)."""
    from transforms import linear_transpose
    x, ct = arr((2, 3)), arr((3, 7))
    config = ((1, -1, 1), (0, 2, 1))
    (ct_v,) = linear_transpose(lambda v: P.pad(x, v, config), np.float32(0))(ct)
    mask = np.asarray(lax.pad(np.zeros((2, 3), F32), np.float32(1), config))
    np.testing.assert_allclose(ct_v, (ct * mask).sum())
