"""conv_general_dilated against jax.lax: values, dtypes, shapes, errors, jvp, vmap, transpose."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp
from jax import lax

import fx
import primitives as P
import transforms as T
from fx.errors import FxTypeError, ShapeError
from oracle import (assert_cases_jvp_matches, assert_cases_same_as_jax,
                    assert_cases_transpose_matches, assert_cases_vmap_matches, assert_jvp_matches,
                    assert_transpose_matches, assert_vmap_matches)

# the jvp / vmap / transpose tables: ours eagerly for every fourth case, the others
# in one transforms.jit (JAX's in one jax.jit)
EAGER_EVERY = 4

NHWC = ("NHWC", "HWIO", "NHWC")

# (name, lhs shape, rhs shape, conv keyword arguments)
CASES = [
    ("nchw_same", (2, 3, 6, 5), (4, 3, 3, 3), dict(window_strides=(1, 1), padding="SAME")),
    ("nchw_valid_strided", (2, 3, 7, 6), (4, 3, 3, 2),
     dict(window_strides=(2, 2), padding="VALID")),
    ("nhwc_same_strided", (2, 6, 5, 3), (3, 3, 3, 4),
     dict(window_strides=(1, 2), padding="SAME", dimension_numbers=NHWC)),
    ("nhwc_in_nchw_out", (2, 6, 5, 3), (4, 3, 3, 2),
     dict(window_strides=(1, 1), padding="VALID", dimension_numbers=("NHWC", "OIHW", "NCHW"))),
    ("explicit_padding", (1, 2, 6, 6), (3, 2, 3, 3),
     dict(window_strides=(2, 1), padding=((1, 2), (0, 1)))),
    ("negative_padding", (1, 2, 7, 6), (3, 2, 2, 2),
     dict(window_strides=(1, 1), padding=((-1, 0), (1, -2)))),
    ("same_lower_strided", (1, 2, 6, 7), (3, 2, 2, 3),
     dict(window_strides=(2, 2), padding="SAME_LOWER")),
    ("rhs_dilation", (2, 2, 7, 7), (3, 2, 3, 2),
     dict(window_strides=(1, 1), padding="SAME", rhs_dilation=(2, 3))),
    ("lhs_dilation", (1, 2, 4, 5), (3, 2, 3, 3),
     dict(window_strides=(1, 1), padding=((2, 2), (1, 2)), lhs_dilation=(2, 2))),
    ("all_dilations_strided", (1, 2, 6, 5), (2, 2, 2, 3),
     dict(window_strides=(2, 3), padding=((1, 0), (2, 1)), lhs_dilation=(2, 1),
          rhs_dilation=(1, 2))),
    ("feature_groups", (2, 4, 5, 5), (6, 2, 3, 3),
     dict(window_strides=(1, 1), padding="SAME", feature_group_count=2)),
    ("depthwise_nhwc", (1, 5, 5, 3), (3, 3, 1, 6),
     dict(window_strides=(2, 2), padding="SAME", dimension_numbers=NHWC, feature_group_count=3)),
    ("batch_groups", (4, 3, 5, 5), (6, 3, 3, 3),
     dict(window_strides=(1, 1), padding="VALID", batch_group_count=2)),
    ("conv1d_nwc", (2, 8, 3), (3, 3, 4),
     dict(window_strides=(2,), padding="SAME", dimension_numbers=("NWC", "WIO", "NWC"))),
    ("conv3d", (1, 2, 4, 4, 3), (3, 2, 2, 2, 2), dict(window_strides=(1, 1, 1), padding="VALID")),
    ("one_by_one", (2, 3, 4, 4), (5, 3, 1, 1), dict(window_strides=(1, 1), padding="VALID")),
]
IDS = [c[0] for c in CASES]


def _rand(shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed + 13 * len(shape) + int(np.prod(shape)))
    return jnp.asarray(rng.standard_normal(shape).astype(np.float32), dtype)


def _conv_fns(**kw):
    return (lambda x, k: P.conv_general_dilated(x, k, **kw),
            lambda x, k: lax.conv_general_dilated(x, k, **kw))


# bf16 on a few representative layouts only (the lowering is dtype-agnostic; keeps the file fast)
BF16 = ("nchw_same", "nhwc_same_strided", "lhs_dilation", "depthwise_nhwc", "batch_groups")
VALUE_CASES = ([(*c, np.float32, c[0] + "-f32") for c in CASES] +
               [(*c, jnp.bfloat16, c[0] + "-bf16") for c in CASES if c[0] in BF16])


def test_conv_matches_lax():
    """Every case eagerly, then all in one jit and one typechecked Graph."""
    assert_cases_same_as_jax([(case, *_conv_fns(**kw), (_rand(ls, dtype), _rand(rs, dtype, 1)))
                              for _, ls, rs, kw, dtype, case in VALUE_CASES], jax_eager=False)


@pytest.mark.parametrize("name,ls,rs,kw", CASES, ids=IDS)
def test_conv_abstract_eval_matches_jax_eval_shape(name, ls, rs, kw):
    args = (jax.ShapeDtypeStruct(ls, np.float32), jax.ShapeDtypeStruct(rs, np.float32))
    (aval,) = fx.make_graph(_conv_fns(**kw)[0])(*args).out_avals
    expected = jax.eval_shape(_conv_fns(**kw)[1], *args)
    assert (aval.shape, aval.dtype) == (expected.shape, expected.dtype)


OPTION_CASES = [
    ("preferred_f32_from_bf16", dict(preferred_element_type=np.float32), jnp.bfloat16),
    ("preferred_f32_from_i32", dict(preferred_element_type=np.float32), np.int32),
    ("int32", {}, np.int32),
    ("bool", {}, np.bool_),
    ("precision_highest", dict(precision=lax.Precision.HIGHEST), np.float32),
    ("precision_string", dict(precision="highest"), np.float32),
    ("dimension_numbers_object",
     dict(dimension_numbers=lax.conv_dimension_numbers((2, 5, 5, 3), (3, 3, 3, 4), NHWC)),
     np.float32),
]


def _option_case(name, kw, dtype):
    nhwc = "dimension_numbers" in kw
    ls, rs = ((2, 5, 5, 3), (3, 3, 3, 4)) if nhwc else ((2, 3, 5, 5), (4, 3, 3, 3))
    ours, theirs = _conv_fns(window_strides=(1, 1), padding="SAME", **kw)
    x, k = _rand(ls), _rand(rs, seed=1)
    if np.dtype(dtype).kind in "ib":
        x, k = (x * 3).astype(dtype), (k * 3).astype(dtype)
    return name, ours, theirs, (x.astype(dtype), k.astype(dtype))


def test_conv_options_match_lax():
    assert_cases_same_as_jax([_option_case(*c) for c in OPTION_CASES], jax_eager=False)


def test_params_are_canonical_and_hashable():
    g = fx.make_graph(lambda x, k: P.conv_general_dilated(x, k, [2, 2], "SAME",
                                                          dimension_numbers=NHWC))(
        _rand((1, 5, 5, 2)), _rand((3, 3, 2, 4)))
    (eqn,) = g.graph.equations
    p = eqn.params
    assert p["padding"] == ((1, 1), (1, 1)) and p["window_strides"] == (2, 2)
    assert p["lhs_dilation"] == (1, 1) and p["rhs_dilation"] == (1, 1)
    assert p["dimension_numbers"] == lax.conv_dimension_numbers((1, 5, 5, 2), (3, 3, 2, 4), NHWC)
    hash(tuple(p.items()))


f32 = np.float32
X, K = np.ones((2, 4, 5, 5), f32), np.ones((6, 2, 3, 3), f32)
conv = P.conv_general_dilated
# (name, call, exception, message regex): one row per kind of bad input
ERROR_CASES = [
    ("feature_mismatch", lambda: conv(X, K, (1, 1), "SAME"), ShapeError,
     r"conv_general_dilated: lhs feature size 4 .* must equal the rhs input-feature size 2 "
     r".*f32\[2,4,5,5\], rhs f32\[6,2,3,3\].*Fix:"),
    ("rank_mismatch", lambda: conv(X, np.ones((6, 4, 3), f32), (1, 1), "SAME"), ShapeError,
     r"conv_general_dilated: bad dimension_numbers.*f32\[2,4,5,5\], rhs f32\[6,4,3\]"),
    ("bad_dimension_numbers",
     lambda: conv(X, K, (1, 1), "SAME", dimension_numbers=("NHWC", "OIHW")),
     ShapeError, r"conv_general_dilated: bad dimension_numbers"),
    ("groups_do_not_divide", lambda: conv(X, K, (1, 1), "SAME", feature_group_count=3),
     ShapeError, r"feature_group_count=3"),
    ("out_features_not_multiple", lambda: conv(X, np.ones((5, 2, 3, 3), f32), (1, 1), "SAME",
                                               feature_group_count=2),
     ShapeError, r"rhs output-feature size 5 .* not a multiple of feature_group_count=2"),
    ("both_groups", lambda: conv(X, np.ones((6, 4, 3, 3), f32), (1, 1), "SAME",
                                 feature_group_count=2, batch_group_count=2),
     ShapeError, r"at most one of feature_group_count and batch_group_count"),
    ("batch_groups_do_not_divide", lambda: conv(np.ones((3, 2, 5, 5), f32), K, (1, 1), "SAME",
                                                batch_group_count=2),
     ShapeError, r"batch_group_count=2 does not divide the lhs batch size 3"),
    ("strides_length", lambda: conv(X, np.ones((6, 4, 3, 3), f32), (1,), "VALID"), ShapeError,
     r"window_strides=\(1,\) has 1 entries for 2 spatial axes"),
    ("zero_stride", lambda: conv(X, np.ones((6, 4, 3, 3), f32), (0, 1), "VALID"), ShapeError,
     r"window_strides=\(0, 1\) must be positive"),
    ("padding_type", lambda: conv(X, np.ones((6, 4, 3, 3), f32), (1, 1), 3), ShapeError,
     r"padding must be a string or a sequence of \(lo, hi\) pairs"),
    ("padding_name", lambda: conv(X, np.ones((6, 4, 3, 3), f32), (1, 1), "FULL"), ShapeError,
     r"bad padding 'FULL'"),
    ("string_padding_with_lhs_dilation", lambda: conv(X, np.ones((6, 4, 3, 3), f32), (1, 1), "SAME",
                                                      lhs_dilation=(2, 2)),
     ShapeError, r"string padding 'SAME' with lhs_dilation=\(2, 2\)"),
    ("too_negative_padding",
     lambda: conv(X, np.ones((6, 4, 3, 3), f32), (1, 1), ((-3, -3), (0, 0))),
     ShapeError, r"negative padding"),
    ("dtype_mismatch", lambda: conv(X, np.ones((6, 4, 3, 3), jnp.bfloat16), (1, 1), "SAME"),
     FxTypeError, r"conv_general_dilated requires operands of the same dtype, got f32\[2,4,5,5\], "
                  r"bf16\[6,4,3,3\]"),
    ("preferred_narrower", lambda: conv(X, np.ones((6, 4, 3, 3), f32), (1, 1), "SAME",
                                        preferred_element_type=jnp.bfloat16),
     FxTypeError, r"preferred_element_type=bfloat16 is incompatible"),
]


@pytest.mark.filterwarnings("ignore:divide by zero")  # jax's own shape rule, on zero strides
@pytest.mark.parametrize("name,call,exc,match", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_conv_errors(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_conv_error_under_jit_names_the_user_line():
    with pytest.raises(ShapeError, match=r"lhs feature size 4(.|\n)*test_conv"):
        T.jit(lambda x, k: P.conv_general_dilated(x, k, (1, 1), "SAME"))(X, K)


# --- transformations ---------------------------------------------------------
def test_conv_jvp():
    assert_cases_jvp_matches([(name, *_conv_fns(**kw), (_rand(ls), _rand(rs, seed=1)),
                               (_rand(ls, seed=2), _rand(rs, seed=3)))
                              for name, ls, rs, kw in CASES],
                             rtol=1e-4, atol=1e-4, eager_every=EAGER_EVERY)


def test_conv_jvp_constant_operand():
    """A constant operand has a symbolic-zero tangent: only one term is formed."""
    ours, theirs = _conv_fns(window_strides=(1, 1), padding="SAME")
    x, k = _rand((1, 2, 4, 4)), _rand((3, 2, 3, 3), seed=1)
    assert_jvp_matches(lambda a: ours(a, k), lambda a: theirs(a, k), (x,), (_rand((1, 2, 4, 4)),))
    assert_jvp_matches(lambda b: ours(x, b), lambda b: theirs(x, b), (k,), (_rand((3, 2, 3, 3)),))
    jaxpr = fx.make_graph(lambda a, t: T.jvp(lambda a: ours(a, k), (a,), (t,)))(x, x)
    assert [e.primitive.name for e in jaxpr.graph.equations].count("conv_general_dilated") == 2


def _insert(shape, axis, size=2):
    return None if axis is None else shape[:axis] + (size,) + shape[axis:]


# lhs only / rhs only / both batched (the three branches of the batch rule)
IN_AXES = [(1, None), (None, 2), (0, 3)]


VMAP_CASES = [(*c, ax) for c in CASES for ax in IN_AXES
              if all(a is None or a <= len(s) for a, s in zip(ax, c[1:3]))]


def test_conv_vmap():
    assert_cases_vmap_matches([(f"{name}-{in_axes}", *_conv_fns(**kw), in_axes,
                                (_rand(_insert(ls, in_axes[0]) or ls),
                                 _rand(_insert(rs, in_axes[1]) or rs, seed=1)))
                               for name, ls, rs, kw, in_axes in VMAP_CASES],
                              rtol=1e-4, atol=1e-4, eager_every=EAGER_EVERY)


def test_conv_vmap_empty_batch():
    ours, theirs = _conv_fns(window_strides=(1, 1), padding="SAME")
    x, k = np.zeros((0, 2, 3, 5, 5), f32), np.ones((4, 3, 3, 3), f32)
    assert_vmap_matches(ours, theirs, (0, None), x, k)


def _transpose_cases(name, ls, rs, kw):
    ours, theirs = _conv_fns(**kw)
    x, k = _rand(ls), _rand(rs, seed=1)
    ct = _rand(jax.eval_shape(theirs, x, k).shape, seed=2)
    return [(f"{name}-lhs", lambda a: ours(a, k), lambda a: theirs(a, k), (x,), ct),
            (f"{name}-rhs", lambda b: ours(x, b), lambda b: theirs(x, b), (k,), ct)]


def test_conv_transpose():
    assert_cases_transpose_matches([c for case in CASES for c in _transpose_cases(*case)],
                                   rtol=1e-4, atol=1e-4, eager_every=EAGER_EVERY)


def test_conv_transpose_preferred_element_type():
    ours, theirs = _conv_fns(window_strides=(1, 1), padding="SAME",
                             preferred_element_type=np.float32)
    x, k = _rand((1, 2, 4, 4), jnp.bfloat16), _rand((3, 2, 3, 3), jnp.bfloat16, 1)
    ct = _rand((1, 3, 4, 4), seed=2)
    assert_transpose_matches(lambda a: ours(a, k), lambda a: theirs(a, k), (x,), ct)
    assert_transpose_matches(lambda b: ours(x, b), lambda b: theirs(x, b), (k,), ct)


def test_grad_of_conv_loss_per_example():
    """The DP-SGD pattern: per-example kernel gradients (vmap of grad of a conv)."""
    x, k = _rand((3, 1, 2, 5, 5)), _rand((4, 2, 3, 3), seed=1)
    sum_sq = (((0, 1, 2, 3), (0, 1, 2, 3)), ((), ()))

    def loss(conv, dot):
        return lambda k, x: dot(conv(x, k, (1, 1), "SAME"), conv(x, k, (1, 1), "SAME"), sum_sq)

    ours = T.vmap(T.grad(loss(P.conv_general_dilated, P.dot_general)), in_axes=(None, 0))(k, x)
    theirs = jax.vmap(jax.grad(loss(lax.conv_general_dilated, lax.dot_general)),
                      in_axes=(None, 0))(k, x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
