"""fnp reductions against jax.numpy: values, dtypes and weak types (eager, under jit,
via the Graph) over f32/bf16/i32/int8/bool arrays, 0-d arrays and Python scalars,
with axis None/int/negative/tuple, keepdims, dtype, ddof, where, initial; one row
per function (each row is a table of argument sets); plus errors and transforms."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest

import fx
import primitives.numpy as fnp
from fx.errors import ShapeError
from fnp_check import BF16, arr, check_cases
from oracle import assert_jvp_matches, assert_vmap_matches, chunks
from transforms import grad

INPUTS = [arr((2, 3, 4)), arr((3, 4), BF16, seed=1), arr((2, 3), np.int32, seed=2),
          arr((3, 4), np.bool_, seed=3), arr((), seed=4), 2.5]
AXES = [dict(), dict(axis=1), dict(axis=-1), dict(axis=(-1, 0)), dict(axis=0, keepdims=True),
        dict(keepdims=True), dict(axis=())]


def _cases(name, extra=(), axes=AXES, inputs=INPUTS):
    """One case per (input, kwargs): ``m.<name>(x, **kwargs)``."""
    def make(kw):
        return lambda m, x: getattr(m, name)(x, **kw)
    return [(make(kw), (x,)) for x in inputs for kw in list(axes) + list(extra)]


def _where(m, x):
    return m.greater(x, 0)


ROWS = {
    "sum": [dict(dtype=jnp.float32), dict(dtype=jnp.int32, axis=0), dict(initial=10),
            dict(promote_integers=False)],
    "prod": [dict(dtype=jnp.float32), dict(initial=2, axis=-1)],
    "max": [dict(initial=-1.0, axis=0)],
    "min": [dict(initial=0, axis=-1, keepdims=True)],
    "amax": [], "amin": [], "ptp": [],
    "any": [], "all": [],
    "mean": [dict(dtype=jnp.float32, axis=0), dict(dtype=BF16)],
    "var": [dict(ddof=1), dict(ddof=1, axis=0, keepdims=True), dict(correction=2, axis=-1),
            dict(dtype=jnp.float32)],
    "std": [dict(ddof=1, axis=-1), dict(correction=0.5)],
    "count_nonzero": [],
    "nansum": [], "nanmean": [], "nanmax": [], "nanmin": [], "nanprod": [],
    "nanvar": [dict(ddof=1)], "nanstd": [],
}
ARG_AXES = [dict(), dict(axis=1), dict(axis=-1), dict(axis=0, keepdims=True),
            dict(keepdims=True)]
CUM_AXES = [dict(), dict(axis=-1), dict(axis=0, dtype=jnp.float32), dict(axis=0, dtype=bool)]


NAN_AXES = [dict(), dict(axis=1), dict(axis=(-1, 0), keepdims=True)]  # (the nan-variants
NAN_INPUTS = INPUTS[:3] + INPUTS[5:]                                  # reuse the code above)


@pytest.mark.parametrize("name", list(ROWS))
def test_reduction(name):
    if name.startswith("nan"):
        cases = _cases(name, ROWS[name], NAN_AXES, NAN_INPUTS)
    else:
        cases = _cases(name, ROWS[name])
    assert check_cases(cases) > 0


@pytest.mark.parametrize("name", ["argmax", "argmin", "nanargmax", "nanargmin"])
def test_arg_reduction(name):
    assert check_cases(_cases(name, axes=ARG_AXES)) > 0


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative(name):
    assert check_cases(_cases(name, axes=CUM_AXES)) > 0


# --- special cases: (id, f(m, *args), args) ---------------------------------------------------
NANS = jnp.array([[1.0, jnp.nan, 3.0], [jnp.nan, jnp.nan, jnp.nan]], jnp.float32)
X = arr((2, 3, 4))
CASES = [
    ("sum where", lambda m, x: m.sum(x, axis=1, where=_where(m, x)), (X,)),
    ("sum where bool", lambda m, x: m.sum(x, where=_where(m, x)), (arr((3,), np.bool_),)),
    ("sum where broadcast", lambda m, x, w: m.sum(x, axis=0, where=w),
     (X, jnp.array([True, False, True, True]))),
    ("prod where", lambda m, x: m.prod(x, axis=-1, where=_where(m, x)), (X,)),
    ("max where initial", lambda m, x: m.max(x, axis=0, where=_where(m, x), initial=-5.0),
     (X,)),
    ("min where initial int", lambda m, x: m.min(x, where=_where(m, x), initial=100),
     (arr((5,), np.int32),)),
    ("any where", lambda m, x: m.any(x, axis=1, where=_where(m, x)), (X,)),
    ("all where", lambda m, x: m.all(x, where=_where(m, x)), (X,)),
    ("mean where", lambda m, x: m.mean(x, axis=-1, where=_where(m, x)), (X,)),
    ("mean where int", lambda m, x: m.mean(x, where=_where(m, x), keepdims=True),
     (arr((2, 3), np.int32),)),
    ("var where", lambda m, x: m.var(x, axis=0, where=_where(m, x)), (X,)),
    ("std where ddof", lambda m, x: m.std(x, axis=(0, 2), ddof=1, where=_where(m, x)), (X,)),
    ("var too few", lambda m, x: m.var(x, ddof=1), (arr((1,)),)),
    ("var given mean", lambda m, x: m.var(x, axis=1, mean=m.mean(x, 1, keepdims=True)), (X,)),
    ("max nan propagates", lambda m, x: m.max(x, axis=1), (NANS,)),
    ("argmax nan", lambda m, x: m.argmax(x, axis=1), (NANS,)),
    ("argmax ties first", lambda m, x: m.argmax(x), (jnp.array([1, 3, 3, 0], jnp.int32),)),
    ("argmin bool", lambda m, x: m.argmin(x), (jnp.array([True, False, False]),)),
    ("nanmax all nan", lambda m, x: m.nanmax(x, axis=1), (NANS,)),
    ("nanmean", lambda m, x: m.nanmean(x, axis=0), (NANS,)),
    ("nanvar", lambda m, x: m.nanvar(x, axis=1), (NANS,)),
    ("nansum keepdims", lambda m, x: m.nansum(x, keepdims=True), (NANS,)),
    ("nanargmin", lambda m, x: m.nanargmin(x, axis=1), (NANS,)),
    ("cumsum bool", lambda m, x: m.cumsum(x), (arr((2, 3), np.bool_),)),
    ("cumsum int8", lambda m, x: m.cumsum(x), (jnp.asarray([100, 100, 100], jnp.int8),)),
    ("cumprod 0d", lambda m, x: m.cumprod(x), (arr(()),)),
    ("cumulative_sum", lambda m, x: m.cumulative_sum(x, axis=1, include_initial=True), (X,)),
    ("sum uint8 promotes", lambda m, x: m.sum(x), (jnp.asarray([200, 100], jnp.uint8),)),
    ("sum int8 promotes", lambda m, x: m.sum(x, axis=0), (jnp.asarray([[100], [100]], jnp.int8),)),
    ("mean int8", lambda m, x: m.mean(x, keepdims=True), (jnp.asarray([3, -2, 7], jnp.int8),)),
    ("prod int8 dtype", lambda m, x: m.prod(x, dtype=jnp.int8), (jnp.asarray([3, -2, 7], jnp.int8),)),
    ("sum f16 accumulates f32", lambda m, x: m.sum(x), (arr((1000,), jnp.float16),)),
    ("sum empty", lambda m, x: m.sum(x, axis=0), (jnp.zeros((0, 3)),)),
    ("mean empty is nan", lambda m, x: m.mean(x, axis=0), (jnp.zeros((0, 3)),)),
    ("max empty initial", lambda m, x: m.max(x, axis=0, initial=1.0), (jnp.zeros((0, 3)),)),
    ("average", lambda m, x: m.average(x), (X,)),
    ("average axis", lambda m, x: m.average(x, axis=(0, 2), keepdims=True), (X,)),
    ("average weights", lambda m, x, w: m.average(x, axis=1, weights=w),
     (X, arr((3,), kind="pos", seed=1))),
    ("average full weights returned", lambda m, x, w: m.average(x, weights=w, returned=True),
     (arr((2, 3)), arr((2, 3), np.int32, "pos", seed=1))),
    ("average int", lambda m, x: m.average(x, axis=0, returned=True),
     (arr((2, 3), np.int32),)),
    ("count_nonzero floats", lambda m, x: m.count_nonzero(x, axis=0),
     (jnp.array([[0.0, 1.0], [0.0, -0.0]]),)),
    ("ptp int", lambda m, x: m.ptp(x, axis=1, keepdims=True), (arr((2, 3), np.int32),)),
    ("product", lambda m, x: m.sum(m.prod(x, axis=0)), (arr((3, 2), kind="pos"),)),
]
IDS = [c[0] for c in CASES]
assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("cases", chunks(CASES))
def test_special_cases(cases):
    """Each case eagerly, then the group in one jit and one typechecked Graph."""
    assert check_cases([(f, args) for _, f, args in cases], eager="all",
                       names=[name for name, _, _ in cases]) == len(cases), \
        "jax.numpy rejected a case"


def test_graph_is_one_reduction():
    g = fx.make_graph(lambda x: fnp.sum(x, axis=(0, -1), keepdims=True))(X)
    assert [e.primitive.name for e in g.equations] == ["reduce_sum", "reshape"]


# --- transforms through the reductions --------------------------------------------------------
def test_jvp_and_vmap_through_reductions():
    f = lambda m, x: m.var(x, axis=1) + m.mean(x, axis=1) * m.max(x, axis=1)
    assert_jvp_matches(lambda x: f(fnp, x), lambda x: f(jnp, x), (X,), (arr((2, 3, 4), seed=5),),
                       rtol=1e-4, atol=1e-5)
    assert_vmap_matches(lambda x: f(fnp, x), lambda x: f(jnp, x), (1,), X, rtol=1e-5, atol=1e-5)
    g = lambda m, x: m.sum(m.cumsum(x, axis=-1) * m.prod(x, axis=-1, keepdims=True))
    np.testing.assert_allclose(grad(lambda x: g(fnp, x))(X), jax.grad(lambda x: g(jnp, x))(X),
                               rtol=1e-4, atol=1e-5)


# --- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [fnp.sum, fnp.mean, fnp.max, fnp.var, fnp.argmax, fnp.cumsum,
                                fnp.any, fnp.std, fnp.count_nonzero])
def test_error_axis_out_of_range(fn):
    name = fn.__name__
    with pytest.raises(ShapeError, match=rf"{name} of f32\[2,3,4\]: axis 3 is out of bounds"):
        fn(X, axis=3)
    with pytest.raises(ShapeError, match=rf"{name} of f32\[2,3,4\]: axis -4"):
        fx.make_graph(lambda x: fn(x, axis=-4))(X)


def test_error_repeated_axis():
    with pytest.raises(ShapeError, match=r"sum of f32\[2,3,4\]: repeated axis"):
        fnp.sum(X, axis=(1, -2))


def test_error_empty_max():
    with pytest.raises(ValueError, match="zero-size array to reduction operation max"):
        fnp.max(jnp.zeros((0, 3)), axis=0)
    with pytest.raises(ValueError, match="argmax of an empty sequence"):
        fnp.argmax(jnp.zeros((0,)))


def test_error_where_without_initial():
    with pytest.raises(ValueError, match="min.*initial"):
        fnp.min(X, where=X > 0)


def test_error_ddof_and_correction():
    with pytest.raises(ValueError, match="ddof and correction"):
        fnp.var(X, ddof=1, correction=1)
