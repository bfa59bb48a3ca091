"""dot_general / dot against jax.lax: values, dtypes, errors, jvp, vmap, transpose."""
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
                    assert_cases_transpose_matches, assert_cases_vmap_matches,
                    assert_transpose_matches)

# the jvp / vmap / transpose tables: ours eagerly for every fourth case, the others
# in one transforms.jit (JAX's in one jax.jit)
EAGER_EVERY = 4

DTYPES = [np.float32, jnp.bfloat16, np.int32]
MATMUL = (((1,), (0,)), ((), ()))

# (name, lhs shape, rhs shape, dimension_numbers)
CASES = [
    ("matmul", (3, 4), (4, 5), MATMUL),
    ("matvec", (3, 4), (4,), MATMUL),
    ("vecvec", (4,), (4,), (((0,), (0,)), ((), ()))),
    ("outer", (3,), (2,), (((), ()), ((), ()))),
    ("scalars", (), (), (((), ()), ((), ()))),
    ("scalar_times_matrix", (), (2, 3), (((), ()), ((), ()))),
    ("lhs_contract_first", (4, 3), (4, 5), (((0,), (0,)), ((), ()))),
    ("rhs_contract_last", (3, 4), (5, 4), (((1,), (1,)), ((), ()))),
    ("two_contractions", (2, 3, 4), (4, 3, 5), (((1, 2), (1, 0)), ((), ()))),
    ("batched_matmul", (2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),
    ("batch_in_middle", (3, 2, 4), (4, 2, 5), (((2,), (0,)), ((1,), (1,)))),
    ("two_batch_dims", (2, 3, 4, 5), (3, 2, 5, 1), (((3,), (2,)), ((0, 1), (1, 0)))),
    ("batch_no_contract", (2, 3), (2, 4), (((), ()), ((0,), (0,)))),
    ("negative_axes", (3, 4), (4, 5), (((-1,), (-2,)), ((), ()))),
    ("int_axes", (3, 4), (4, 5), ((1, 0), ((), ()))),
]


def _rand(shape, dtype, seed=0):
    rng = np.random.default_rng(seed + len(shape) * 7 + int(np.prod(shape)))
    if np.dtype(dtype).kind == "i":
        return rng.integers(-4, 5, size=shape).astype(dtype)
    return jnp.asarray(rng.standard_normal(shape).astype(np.float32), dtype)


def _jax_dims(dims, lhs_ndim, rhs_ndim):
    """jax.lax rejects negative axes (we accept them): count them from the end."""
    def pos(axes, n):
        return tuple(a % n for a in ((axes,) if isinstance(axes, int) else axes))
    (lc, rc), (lb, rb) = dims
    return (pos(lc, lhs_ndim), pos(rc, rhs_ndim)), (pos(lb, lhs_ndim), pos(rb, rhs_ndim))


def _dot_fns(dims, **kw):
    return (lambda x, y: P.dot_general(x, y, dims, **kw),
            lambda x, y: lax.dot_general(x, y, _jax_dims(dims, np.ndim(x), np.ndim(y)), **kw))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_dot_general_matches_lax(dtype):
    """Every case eagerly, then all in one jit and one typechecked Graph."""
    assert_cases_same_as_jax([(name, *_dot_fns(dims), (_rand(ls, dtype), _rand(rs, dtype, 1)))
                              for name, ls, rs, dims in CASES], jax_eager=False)


# (name, ours, theirs, lhs, rhs): the other parameters and wrappers
OPTION_CASES = [
    ("preferred_f32_from_bf16", *_dot_fns(MATMUL, preferred_element_type=jnp.float32),
     _rand((3, 4), jnp.bfloat16), _rand((4, 2), jnp.bfloat16)),
    ("preferred_f32_from_i32", *_dot_fns(MATMUL, preferred_element_type=np.float32),
     _rand((3, 4), np.int32), _rand((4, 2), np.int32)),
    ("preferred_bf16_from_f32", *_dot_fns(MATMUL, preferred_element_type=jnp.bfloat16),
     _rand((3, 4), np.float32), _rand((4, 2), np.float32)),
    ("mixed_f32_bf16", *_dot_fns(MATMUL), _rand((3, 4), np.float32), _rand((4, 2), jnp.bfloat16)),
    ("mixed_i32_f32", *_dot_fns(MATMUL), _rand((3, 4), np.int32), _rand((4, 2), np.float32)),
    ("precision_highest", *_dot_fns(MATMUL, precision=lax.Precision.HIGHEST),
     _rand((3, 4), np.float32), _rand((4, 2), np.float32)),
    ("precision_pair_of_strings", *_dot_fns(MATMUL, precision=("highest", "default")),
     _rand((3, 4), np.float32), _rand((4, 2), np.float32)),
    ("bool", *_dot_fns(MATMUL), np.array([[True, False], [True, True]]),
     np.array([[False, True], [True, True]])),
    ("dot_matmul", P.dot, lax.dot, _rand((3, 4), np.float32), _rand((4, 2), np.float32)),
    ("dot_vecmat", P.dot, lax.dot, _rand((4,), np.float32), _rand((4, 2), np.float32)),
    ("dot_preferred", lambda x, y: P.dot(x, y, preferred_element_type=np.float32),
     lambda x, y: lax.dot(x, y, preferred_element_type=np.float32),
     _rand((3, 4), jnp.bfloat16), _rand((4, 2), jnp.bfloat16)),
    ("dot_dimension_numbers", lambda x, y: P.dot(x, y, dimension_numbers=(((0,), (0,)), ((), ()))),
     lambda x, y: lax.dot(x, y, dimension_numbers=(((0,), (0,)), ((), ()))),
     _rand((4, 3), np.float32), _rand((4, 2), np.float32)),
]


def test_dot_options_match_lax():
    assert_cases_same_as_jax([(name, ours, theirs, (x, y)) for name, ours, theirs, x, y
                              in OPTION_CASES], jax_eager=False)


def test_weak_type_follows_lax():
    out = P.dot_general(2.0, 3.0, (((), ()), ((), ())))
    expected = lax.dot_general(2.0, 3.0, (((), ()), ((), ())))
    assert jax.typeof(out).weak_type == jax.typeof(expected).weak_type


def test_dims_are_normalized_and_hashable():
    g = fx.make_graph(lambda x, y: P.dot_general(x, y, ([[-1], [0]], [[], []]), "highest"))(
        _rand((3, 4), np.float32), _rand((4, 5), np.float32))
    (eqn,) = g.graph.equations
    assert eqn.params["dimension_numbers"] == (((1,), (0,)), ((), ()))
    assert eqn.params["precision"] == (lax.Precision.HIGHEST, lax.Precision.HIGHEST)
    hash(tuple(eqn.params.items()))


f32 = np.float32
# (name, call, exception, message regex): one row per kind of bad input
ERROR_CASES = [
    ("contracting_sizes", lambda: P.dot_general(np.ones((3, 4), f32), np.ones((5, 6), f32), MATMUL),
     ShapeError, r"dot_general: contracting dimension sizes differ: "
                 r"lhs f32\[3,4\] axis 1 \(size 4\) "
                 r"vs rhs f32\[5,6\] axis 0 \(size 5\).*Fix:"),
    ("batch_sizes", lambda: P.dot_general(np.ones((2, 3), f32), np.ones((4, 3), f32),
                                          (((1,), (1,)), ((0,), (0,)))),
     ShapeError, r"dot_general: batch dimension sizes differ: lhs f32\[2,3\] axis 0 \(size 2\)"),
    ("axis_out_of_range", lambda: P.dot_general(np.ones((3, 4), f32), np.ones((4, 5), f32),
                                                (((2,), (0,)), ((), ()))),
     ShapeError, r"dot_general: lhs axes \[2\] are out of range .*f32\[3,4\]"),
    ("contract_count", lambda: P.dot_general(np.ones((3, 4), f32), np.ones((4, 3), f32),
                                             (((1, 0), (0,)), ((), ()))),
     ShapeError, r"dot_general: lhs has 2 contracting axes .* but rhs has 1"),
    ("repeated_axis", lambda: P.dot_general(np.ones((3, 3), f32), np.ones((3, 3), f32),
                                            (((1,), (0,)), ((1,), (1,)))),
     ShapeError, r"dot_general: lhs axes \(1, 1\) repeat an axis"),
    ("malformed_dims", lambda: P.dot_general(np.ones((3, 4), f32), np.ones((4, 5), f32), (1, 0)),
     ShapeError, r"dot_general: dimension_numbers must be"),
    ("preferred_narrower", lambda: P.dot_general(np.ones((3, 4), np.int32),
                                                 np.ones((4, 5), np.int32), MATMUL,
                                                 preferred_element_type=np.int16),
     FxTypeError, r"dot_general: preferred_element_type=int16 is narrower .*i32\[3,4\]"),
    ("dot_rank", lambda: P.dot(np.ones((2, 3, 4), f32), np.ones((4, 5), f32)),
     ShapeError, r"dot: .*vectors or matrices, got f32\[2,3,4\], f32\[4,5\]"),
    ("bad_precision", lambda: P.dot(np.ones((3, 4), f32), np.ones((4, 5), f32), precision="fast"),
     ValueError, r"precision must be"),
]


@pytest.mark.parametrize("name,call,exc,match", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_dot_errors(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_dot_error_under_jit_names_the_user_line():
    with pytest.raises(ShapeError, match=r"contracting dimension sizes differ(.|\n)*test_linalg"):
        T.jit(lambda x, y: P.dot(x, y))(np.ones((3, 4), f32), np.ones((5, 6), f32))


# --- transformations ---------------------------------------------------------
FLOAT_CASES = [c for c in CASES if c[0] not in ("int_axes",)]


def _jvp_cases(name, ls, rs, dims):
    ours, theirs = _dot_fns(dims)
    primals = (_rand(ls, f32), _rand(rs, f32, 1))
    tangents = (_rand(ls, f32, 2), _rand(rs, f32, 3))
    # and one operand constant: a symbolic-zero tangent on the other
    return [(name, ours, theirs, primals, tangents),
            (f"{name}-rhs_constant", lambda x: ours(x, primals[1]),
             lambda x: theirs(x, primals[1]), primals[:1], tangents[:1])]


def test_dot_general_jvp():
    assert_cases_jvp_matches([c for case in FLOAT_CASES for c in _jvp_cases(*case)],
                             eager_every=EAGER_EVERY)


def test_dot_general_jvp_integer_is_zero():
    x, y = _rand((3, 4), np.int32), _rand((4, 2), np.int32)
    _, t = T.jvp(lambda a: P.dot(a, y, preferred_element_type=np.float32), (x,),
                 (np.zeros((3, 4), jax.dtypes.float0),))
    np.testing.assert_array_equal(np.asarray(t), np.zeros((3, 2), np.float32))


def _batched_arg(shape, axis, size=3, seed=0):
    """A random array of ``shape`` with a vmap axis of ``size`` inserted at ``axis``."""
    if axis is None:
        return _rand(shape, f32, seed)
    axis = axis % (len(shape) + 1)
    return _rand(shape[:axis] + (size,) + shape[axis:], f32, seed)


IN_AXES = [(0, 0), (0, None), (None, 0), (-1, 1), (1, None), (None, -1)]


VMAP_CASES = [(*c, ax) for c in FLOAT_CASES for ax in IN_AXES
              if all(a is None or -len(s) - 1 <= a <= len(s) for a, s in zip(ax, c[1:3]))]


def test_dot_general_vmap():
    assert_cases_vmap_matches([(f"{name}-{in_axes}", *_dot_fns(dims), in_axes,
                                (_batched_arg(ls, in_axes[0]),
                                 _batched_arg(rs, in_axes[1], seed=1)))
                               for name, ls, rs, dims, in_axes in VMAP_CASES],
                              eager_every=EAGER_EVERY)


def test_dot_general_vmap_of_vmap():
    x, y = _rand((2, 3, 4, 5), f32), _rand((3, 5, 2, 6), f32)
    ours = T.vmap(T.vmap(P.dot, in_axes=(0, 1)), in_axes=(1, 0))
    theirs = jax.vmap(jax.vmap(lax.dot, in_axes=(0, 1)), in_axes=(1, 0))
    np.testing.assert_allclose(ours(x, y), theirs(x, y), rtol=1e-5, atol=1e-5)


def _transpose_cases(name, ls, rs, dims):
    ours, theirs = _dot_fns(dims)
    x, y = _rand(ls, f32), _rand(rs, f32, 1)
    ct = _rand(jax.eval_shape(theirs, x, y).shape, f32, 2)
    return [(f"{name}-lhs", lambda a: ours(a, y), lambda a: theirs(a, y), (x,), ct),
            (f"{name}-rhs", lambda b: ours(x, b), lambda b: theirs(x, b), (y,), ct)]


def test_dot_general_transpose():
    assert_cases_transpose_matches([c for case in FLOAT_CASES for c in _transpose_cases(*case)],
                                   eager_every=EAGER_EVERY)


@pytest.mark.parametrize("dtype,preferred",
                         [(jnp.bfloat16, np.float32), (np.float32, jnp.bfloat16)],
                         ids=["bf16->f32", "f32->bf16"])
def test_dot_general_transpose_preferred_element_type(dtype, preferred):
    ours, theirs = _dot_fns(MATMUL, preferred_element_type=preferred)
    x, y = _rand((3, 4), dtype), _rand((4, 2), dtype, 1)
    ct = _rand((3, 2), preferred, 2)
    assert_transpose_matches(lambda a: ours(a, y), lambda a: theirs(a, y), (x,), ct)
    assert_transpose_matches(lambda b: ours(x, b), lambda b: theirs(x, b), (y,), ct)


def test_grad_of_matmul_loss():
    x, w = _rand((4, 3), f32), _rand((3, 2), f32, 1)
    sum_sq = (((0, 1), (0, 1)), ((), ()))
    ours = T.grad(lambda w: P.dot_general(P.dot(x, w), P.dot(x, w), sum_sq))(w)
    theirs = jax.grad(lambda w: lax.dot_general(lax.dot(x, w), lax.dot(x, w), sum_sq))(w)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
