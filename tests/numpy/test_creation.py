"""fnp array creation and dtypes against jax.numpy: values, dtypes and weak types
(eager, under jit, via the Graph); one row per case; plus errors."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest

import fx
from oracle import chunks
import primitives.numpy as fnp
from fx.errors import ConcretizationError, ShapeError
from fnp_check import BF16, arr, check_cases
from transforms import jit as fjit, vmap, grad

X23, H4, I3 = arr((2, 3)), arr((4,), BF16), arr((3,), np.int32)

# --- (id, f(m, *args), args) ------------------------------------------------------------------
CASES = [
    # zeros / ones / full / empty
    ("zeros int shape", lambda m: m.zeros(3), ()),
    ("zeros tuple", lambda m: m.zeros((2, 3)), ()),
    ("zeros 0d", lambda m: m.zeros(()), ()),
    ("zeros empty axis", lambda m: m.zeros((2, 0)), ()),
    ("zeros dtype", lambda m: m.zeros((2,), m.int32), ()),
    ("zeros bf16", lambda m: m.zeros(3, dtype=m.bfloat16), ()),
    ("zeros python dtype", lambda m: m.zeros(2, dtype=float), ()),
    ("zeros string dtype", lambda m: m.zeros(2, dtype="bool"), ()),
    ("ones", lambda m: m.ones((3, 1)), ()),
    ("ones int", lambda m: m.ones(4, int), ()),
    ("empty", lambda m: m.empty((2, 2)), ()),
    ("full weak float", lambda m: m.full((2, 2), 1.5), ()),
    ("full int", lambda m: m.full(3, 7), ()),
    ("full bool", lambda m: m.full((2,), True), ()),
    ("full dtype", lambda m: m.full((2, 3), 2, dtype=m.float16), ()),
    ("full traced value", lambda m, v: m.full((2, 3), v), (jnp.float32(3.5),)),
    ("full traced bf16", lambda m, v: m.full((2,), v, m.float32), (jnp.bfloat16(2),)),
    ("full array value", lambda m, v: m.full((2, 3), v), (arr((3,)),)),
    ("full numpy value", lambda m: m.full((2,), np.float16(1.5)), ()),
    # *_like
    ("zeros_like", lambda m, x: m.zeros_like(x), (X23,)),
    ("zeros_like bf16", lambda m, x: m.zeros_like(x), (H4,)),
    ("zeros_like dtype", lambda m, x: m.zeros_like(x, dtype=m.int32), (X23,)),
    ("zeros_like shape", lambda m, x: m.zeros_like(x, shape=(4,)), (I3,)),
    ("zeros_like weak", lambda m, x: m.zeros_like(x), (2.5,)),
    ("ones_like", lambda m, x: m.ones_like(x), (I3,)),
    ("ones_like bool", lambda m, x: m.ones_like(x), (arr((2,), np.bool_),)),
    ("ones_like weak int", lambda m, x: m.ones_like(x), (3,)),
    ("full_like", lambda m, x: m.full_like(x, 4), (X23,)),
    ("full_like float into int", lambda m, x: m.full_like(x, 2.7), (I3,)),
    ("full_like array value", lambda m, x: m.full_like(x, m.arange(3.0)), (X23,)),
    ("full_like traced value", lambda m, x, v: m.full_like(x, v), (X23, jnp.float32(-1))),
    ("full_like weak bf16", lambda m, x: m.full_like(x * 0 + 1.0, 3.0), (H4,)),
    ("empty_like", lambda m, x: m.empty_like(x), (H4,)),
    # arange
    ("arange stop", lambda m: m.arange(5), ()),
    ("arange start stop", lambda m: m.arange(2, 7), ()),
    ("arange step", lambda m: m.arange(1, 10, 3), ()),
    ("arange negative step", lambda m: m.arange(5, -2, -2), ()),
    ("arange float", lambda m: m.arange(0.0, 1.0, 0.25), ()),
    ("arange float stop", lambda m: m.arange(2.5), ()),
    ("arange dtype", lambda m: m.arange(4, dtype=m.float32), ()),
    ("arange bf16 step", lambda m: m.arange(0, 2, 0.5, dtype=m.bfloat16), ()),
    ("arange empty", lambda m: m.arange(3, 1), ()),
    ("arange numpy scalar", lambda m: m.arange(np.int32(4)), ()),
    # linspace
    ("linspace", lambda m: m.linspace(0, 1, 5), ()),
    ("linspace default num", lambda m: m.linspace(-1.0, 1.0), ()),
    ("linspace no endpoint", lambda m: m.linspace(0, 1, 4, endpoint=False), ()),
    ("linspace num 1", lambda m: m.linspace(2, 3, 1), ()),
    ("linspace num 0", lambda m: m.linspace(2, 3, 0), ()),
    ("linspace int dtype", lambda m: m.linspace(0, 10, 4, dtype=m.int32), ()),
    ("linspace bf16", lambda m: m.linspace(0, 1, 7, dtype=m.bfloat16), ()),
    ("linspace arrays", lambda m, a, b: m.linspace(a, b, 3), (arr((2,)), arr((2,), seed=1))),
    ("linspace arrays axis", lambda m, a, b: m.linspace(a, b, 4, axis=-1),
     (arr((2, 1)), arr((3,), seed=1))),
    ("linspace retstep", lambda m: m.linspace(0, 2, 5, retstep=True), ()),
    ("linspace traced", lambda m, a: m.linspace(a, 2 * a, 3), (jnp.float32(1.5),)),
    # eye / identity / tri
    ("eye", lambda m: m.eye(3), ()),
    ("eye rect k", lambda m: m.eye(3, 4, k=1), ()),
    ("eye negative k", lambda m: m.eye(4, k=-2, dtype=m.int32), ()),
    ("eye bool", lambda m: m.eye(2, 3, dtype=bool), ()),
    ("eye zero", lambda m: m.eye(0), ()),
    ("identity", lambda m: m.identity(3, dtype=m.bfloat16), ()),
    ("tri", lambda m: m.tri(3), ()),
    ("tri rect k", lambda m: m.tri(3, 5, k=1, dtype=m.int32), ()),
    ("tri negative k", lambda m: m.tri(4, k=-1, dtype=bool), ()),
    # array / asarray
    ("array list", lambda m: m.array([1, 2, 3]), ()),
    ("array mixed list", lambda m: m.array([1, 2.5]), ()),
    ("array nested", lambda m: m.array([[1.0, 2.0], [3.0, 4.0]]), ()),
    ("array bool list", lambda m: m.array([True, False]), ()),
    ("array python float", lambda m: m.array(1.5), ()),
    ("array python int", lambda m: m.asarray(3), ()),
    ("array python bool", lambda m: m.asarray(True), ()),
    ("array numpy f64", lambda m: m.asarray(np.arange(3.0)), ()),
    ("array numpy i64", lambda m: m.asarray(np.arange(3)), ()),
    ("array numpy int8 scalar", lambda m: m.asarray(np.int8(3)), ()),
    ("array dtype", lambda m: m.array([1, 2], dtype=m.float16), ()),
    ("array ndmin", lambda m: m.array([1, 2], ndmin=3), ()),
    ("array empty list", lambda m: m.array([]), ()),
    ("array of array", lambda m, x: m.array(x), (X23,)),
    ("asarray dtype of array", lambda m, x: m.asarray(x, m.int32), (X23,)),
    ("asarray bf16", lambda m, x: m.asarray(x), (H4,)),
    ("array traced list", lambda m, x, y: m.array([x, y]), (jnp.float32(1), jnp.float32(2))),
    ("array traced nested", lambda m, x: m.array([[x, 1.0], [2.0, x]]), (jnp.float32(3),)),
    ("array traced rows", lambda m, x: m.array([x, x]), (I3,)),
    ("array traced promote", lambda m, x, y: m.array([x, y]), (jnp.int32(1), jnp.float32(2))),
    ("array traced weak", lambda m, x: m.array([x, x]), (1.5,)),
    ("array traced dtype", lambda m, x: m.array([x, 2], dtype=m.int32), (jnp.float32(3.7),)),
    ("scalar type call", lambda m, x: m.float32(x), (I3,)),
    ("scalar type call python", lambda m: m.int32(3.9), ()),
    ("scalar type bf16", lambda m: m.bfloat16(1.1), ()),
    ("scalar type bool", lambda m, x: m.bool_(x), (I3,)),
]
IDS = [c[0] for c in CASES]
assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("cases", chunks(CASES))
def test_creation(cases):
    """Each case eagerly, then the group in one jit and one typechecked Graph."""
    assert check_cases([(f, args) for _, f, args in cases], eager="all",
                       names=[name for name, _, _ in cases]) == len(cases), \
        "jax.numpy rejected a case"


# --- dtypes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bool_", "uint8", "uint32", "int8", "int32", "bfloat16",
                                  "float16", "float32", "float64", "int64", "complex64"])
def test_scalar_types_as_dtypes(name):
    ours, theirs = getattr(fnp, name), getattr(jnp, name)
    assert np.dtype(ours) == np.dtype(theirs) and ours.dtype == theirs.dtype
    assert ours == theirs.dtype.type and hash(ours) == hash(theirs.dtype.type)
    assert jnp.zeros(2, ours).dtype == jnp.zeros(2, theirs).dtype
    assert fnp.zeros(2, ours).dtype == jnp.zeros(2, theirs).dtype


@pytest.mark.parametrize("args", [
    (fnp.int32, 1.0), (fnp.bfloat16, 1), (fnp.int8, np.int16), (float,), (int, fnp.int8),
    (np.ones(2, np.int8), 1), ("bfloat16", fnp.float16), (True, 1), (fnp.uint8, fnp.int8),
], ids=str)
def test_result_type(args):
    assert fnp.result_type(*args) == jnp.result_type(*args)


def test_result_type_of_tracers_and_weak_flag():
    def f(x, y):
        assert fnp.result_type(x, y) == jnp.bfloat16
        assert fnp.result_type(x, 2.0, return_weak_type_flag=True) == (np.dtype(np.float32), True)
        return x
    fx.make_graph(f)(1.0, H4)
    assert fnp.dtype(1) == np.int32 and fnp.dtype(float) == np.float32
    assert fnp.dtype(H4) == jnp.bfloat16 and fnp.dtype("int8") == np.int8


def test_finfo_iinfo_issubdtype():
    assert fnp.finfo(fnp.bfloat16).eps == jnp.finfo(jnp.bfloat16).eps
    assert fnp.iinfo(fnp.int8).min == -128
    assert fnp.issubdtype(fnp.bfloat16, fnp.floating) and fnp.issubdtype(fnp.int32, fnp.integer)
    assert not fnp.issubdtype(fnp.float32, fnp.integer)
    assert fnp.promote_types(fnp.bfloat16, fnp.float16) == np.float32


# --- behaviour under transformations ----------------------------------------------------------
def test_constants_inside_jit_are_staged_not_leaked():
    f = fjit(lambda x: x + fnp.arange(3.0) + fnp.asarray(np.ones(3)) + fnp.eye(3)[0])
    for _ in range(2):
        out = f(jnp.ones(3))
    np.testing.assert_allclose(out, [3.0, 3.0, 4.0])
    g = fx.make_graph(lambda x: x + fnp.asarray(np.arange(3.0)))(jnp.ones(3))
    assert len(g.consts) == 1


def test_creation_under_vmap_and_grad():
    out = vmap(lambda x: fnp.zeros_like(x) + fnp.full((3,), x[0]))(arr((4, 3)))
    np.testing.assert_allclose(out, np.broadcast_to(np.asarray(arr((4, 3)))[:, :1], (4, 3)))
    g = grad(lambda a: fnp.sum(fnp.linspace(a, 2 * a, 5) ** 2))(1.5)
    assert np.allclose(g, jax.grad(lambda a: jnp.sum(jnp.linspace(a, 2 * a, 5) ** 2))(1.5))
    g = grad(lambda x: fnp.sum(fnp.array([x, 2 * x, 3.0]) ** 2))(1.0)
    assert np.allclose(g, 10.0)


# --- errors -----------------------------------------------------------------------------------
def test_error_negative_shape():
    with pytest.raises(ShapeError, match=r"zeros: negative dimensions.*\(2, -1\)"):
        fnp.zeros((2, -1))


def test_error_bad_shape_type():
    with pytest.raises(TypeError, match="shape must be an int or a sequence of ints"):
        fnp.ones(2.5)


def test_error_arange_traced():
    with pytest.raises(ConcretizationError, match=r"arange: argument 'stop'.*i32\[\]"):
        fx.make_graph(lambda n: fnp.arange(n))(jnp.int32(3))


def test_error_arange_zero_step():
    with pytest.raises(ValueError, match="step must not be zero"):
        fnp.arange(0, 3, 0)


def test_error_ragged_traced_list():
    with pytest.raises(ShapeError, match="ragged"):
        fx.make_graph(lambda x: fnp.array([x, 1.0]))(arr((2,)))


def test_error_full_bad_broadcast():
    with pytest.raises(ShapeError, match=r"full.*\(3,\).*\(2, 2\)"):
        fnp.full((2, 2), np.ones(3, np.float32))


def test_error_linspace_negative_num():
    with pytest.raises(ValueError, match="non-negative"):
        fnp.linspace(0, 1, -1)


def test_like_functions_of_weak_values_are_weak_eagerly_and_under_jit():
    # a weak result keeps a float16 operand's dtype in promotion (a strong one gives float32)
    import primitives as P
    cases = [("zeros_like", lambda m: m.zeros_like(2.5)), ("ones_like", lambda m: m.ones_like(2)),
             ("full_like", lambda m: m.full_like(2.5, 3)),
             ("promotes", lambda m: m.zeros_like(2.5) + m.float16(1))]
    for name, fn in cases:
        want = fn(jnp)
        for got in (fn(fnp), fjit(lambda: fn(fnp))()):
            assert (got.dtype, got.weak_type) == (want.dtype, want.weak_type), name
    x = P.convert_element_type(np.float32(2.0), np.float32, weak_type=True)
    assert x.weak_type and x.dtype == np.float32 and float(x) == 2.0
