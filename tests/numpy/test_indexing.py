"""NumPy indexing (``x[idx]``) and ``x.at[idx]`` of fnp against jax.numpy, one row per case.

Outside a transformation ``x[idx]`` on a jax.Array is jax's own, so the rows call
our implementation directly (``getitem(x, idx)`` / ``at(x)[idx]``) in all three
oracle modes; ``test_operator_*`` check that the Tracer operators reach it.
"""
import numpy as np
import jax.numpy as jnp
import pytest

import fx
from fx.errors import ConcretizationError
from oracle import (assert_cases_same_as_jax, assert_jvp_matches, assert_same_as_jax,
                    assert_trees_close,
                    assert_vmap_matches, chunks)
from primitives.numpy.indexing import NonConcreteBooleanIndexError, at, getitem
from transforms import jit

BF16 = jnp.bfloat16
pytestmark = pytest.mark.filterwarnings("ignore:scatter inputs have incompatible types")

X = jnp.asarray(np.arange(60).reshape(3, 4, 5) - 30, jnp.float32)
X2 = jnp.asarray(np.arange(12).reshape(3, 4), jnp.int32)
S = slice
I = lambda *v: np.array(v, np.int32)  # noqa: E731
MASK = np.array([[True, False, True, True], [False] * 4, [True, False, False, True]])
JMASK = jnp.array([False, True, True])

# --- x[idx]: (id, idx(*traced), x, traced index args) ---
GET_CASES = [
    ("int", lambda: 1, X, ()),
    ("neg int", lambda: -1, X, ()),
    ("np int", lambda: np.int32(2), X, ()),
    ("slice", lambda: S(1, None), X, ()),
    ("slice step", lambda: (S(None), S(None, None, 2)), X, ()),
    ("neg step", lambda: S(None, None, -1), X, ()),
    ("neg step bounds", lambda: (S(None), S(3, 0, -2)), X, ()),
    ("neg step big", lambda: (Ellipsis, S(-1, None, -3)), X, ()),
    ("slice past end", lambda: (S(-10, 10), S(2, 99)), X, ()),
    ("empty slice", lambda: S(2, 1), X, ()),
    ("none", lambda: (None, 0), X, ()),
    ("ellipsis", lambda: (Ellipsis, 1), X, ()),
    ("ellipsis none", lambda: (None, Ellipsis, None), X, ()),
    ("mixed basic", lambda: (1, S(None, None, -2), None, 2), X, ()),
    ("empty tuple", lambda: (), X, ()),
    ("0d none", lambda: None, jnp.float32(3), ()),
    ("int array", lambda: I(0, 2, -1, 0), X, ()),
    ("int array 2d", lambda: I([0, 1], [2, 2]), X, ()),
    ("list in tuple", lambda: ([0, 2], 1), X, ()),
    ("broadcast arrays", lambda: (I([0], [1]), I(0, 2, 3)), X, ()),
    ("adjacent after slice", lambda: (S(None), I(0, 1), I(1, 2)), X, ()),
    ("adjacent int+array", lambda: (S(None), 0, I(1, 4)), X, ()),
    ("non-adjacent", lambda: (I(0, 1), S(None), I(1, 2)), X, ()),
    ("non-adjacent int", lambda: (0, S(None), I(1, 3, 4)), X, ()),
    ("array then none", lambda: (I(0, 1), None), X, ()),
    ("none between", lambda: (I(0, 1), None, I(0, 1)), X, ()),
    ("array + step slice", lambda: (S(None, None, -1), I(3, 0), S(1, None, 2)), X, ()),
    ("ellipsis arrays", lambda: (I(0, 1), Ellipsis, I(0, 1)), X, ()),
    ("traced array", lambda i: (S(None), i), X, (jnp.array([[3, -1], [0, 2]]),)),
    ("traced arrays", lambda i, j: (i, S(1, 3), j), X, (jnp.array([2, 0]), jnp.array([4, -5]))),
    ("traced scalar", lambda i: (S(None), i), X, (jnp.int32(2),)),
    ("traced neg scalar", lambda i: (i, S(None, None, -2)), X, (jnp.int32(-1),)),
    ("traced scalar + step", lambda i: (S(None, None, 2), i, 1), X, (jnp.int32(3),)),
    ("traced scalar oob clamps", lambda i: i, X2, (jnp.int32(9),)),
    ("traced array oob clamps", lambda i: i, X2, (jnp.array([5, -7]),)),
    ("uint8 array", lambda: np.array([2, 0], np.uint8), X, ()),
    ("int8 traced", lambda i: (S(None), i), X, (jnp.array([1, -1], jnp.int8),)),
    ("mask full", lambda: MASK, X2, ()),
    ("mask axis 2", lambda: (S(None), 1, np.array([True, False, True, False, True])), X, ()),
    ("mask 2d lead", lambda: MASK, X, ()),
    ("mask + array", lambda: (np.array([True, False, True]), I(1, 3)), X2, ()),
    ("mask jax", lambda: JMASK, X2, ()),
    ("mask empty", lambda: np.zeros(3, bool), X2, ()),
    ("scalar true", lambda: True, X2, ()),
    ("scalar false", lambda: False, X2, ()),
    ("bf16 operand", lambda: (S(None, None, -1), I(0, 0, 3)), jnp.asarray(X2, BF16), ()),
    ("bool operand", lambda: (I(2, 0), S(1, None)), X2 > 3, ()),
    ("weak operand", lambda: 0, None, ()),
]


def _getitem_case(name, idx, x, extra):
    return name, lambda y, *a: getitem(y, idx(*a)), lambda y, *a: y[idx(*a)], (x, *extra)


@pytest.mark.parametrize("cases", chunks([c for c in GET_CASES if c[2] is not None]))
def test_getitem(cases):
    """Each case eagerly, then the group in one jit and one typechecked Graph. Pure
    data movement: jax's values under jit are its eager ones."""
    assert_cases_same_as_jax([_getitem_case(*c) for c in cases], jax_eager=False)


def test_getitem_weak_operand():
    """A weak-typed operand (a Python-scalar product)."""
    (idx,) = [c[1] for c in GET_CASES if c[2] is None]
    ours = lambda y: getitem(y * jnp.ones(3), idx())  # noqa: E731
    theirs = lambda y: (y * jnp.ones(3))[idx()]  # noqa: E731
    assert_same_as_jax(ours, theirs, 2.0)


@pytest.mark.parametrize("idx", [(True, 1), (1, True), (None, True), (np.bool_(True), 1),
                                 (S(None), True, [0, 1]), ([0, 1], True), (False, I(0))],
                         ids=str)
def test_scalar_bools_match_numpy(idx):
    """Scalar booleans add an axis as numpy does (jnp asserts on np.bool_ and
    gets (None, True) wrong, so numpy is the oracle here)."""
    expected = np.asarray(X2)[idx]
    for got in (getitem(X2, idx), jit(lambda x: x[idx])(X2)):
        np.testing.assert_array_equal(np.asarray(got), expected)


def test_operator_getitem_and_iteration():
    f = lambda x, i: (x[1:, ::-2, None][i], x[..., I(0, 4)], [r for r in x[0]], x[X2[0, 0] + 1])
    assert_same_as_jax(f, f, X, jnp.array([1, 0]))


def test_basic_indexing_stages_no_gather():
    g = fx.make_graph(lambda x, i: (x[1, ::-2, None, 2:], x[i, :2]))(X, jnp.int32(1))
    names = {e.primitive.name for e in g.graph.equations}
    assert "gather" not in names and {"slice", "rev", "dynamic_slice"} <= names


# --- x.at[idx].<op>(v): (id, method, idx(*traced), v, x, traced index args, kwargs) ---
REP = I(0, 2, 0, 0)  # repeated indices
AT_CASES = [
    ("set int", "set", lambda: 1, 7.0, X2, (), {}),
    ("set slice step", "set", lambda: (S(None), S(None, None, -2)), -1, X2, (), {}),
    ("set broadcast row", "set", lambda: S(0, 2), jnp.array([1, 2, 3, 4]), X2, (), {}),
    ("set none", "set", lambda: (None, 1), jnp.array([[5, 6, 7, 8]]), X2, (), {}),
    ("set all", "set", lambda: Ellipsis, 3, X2, (), {}),
    ("set repeated", "set", lambda: REP, 9, X2, (), {}),
    ("set mask", "set", lambda: MASK, 0, X2, (), {}),
    ("set scalar bool", "set", lambda: True, jnp.arange(4), X2, (), {}),
    ("set float into int", "set", lambda: (0, I(1, 2)), 2.7, X2, (), {}),
    ("set f32 into bf16", "set", lambda: 1, jnp.float32(1.5), jnp.asarray(X2, BF16), (), {}),
    ("set traced", "set", lambda i: (i, S(None, 2)), jnp.array([[1], [2]]), X2,
     (jnp.array([2, -1]),), {}),
    ("set traced scalar", "set", lambda i: (S(None), i), 0, X2, (jnp.int32(-2),), {}),
    ("set oob dropped", "set", lambda i: i, 100, X2, (jnp.array([1, 3]),), {}),
    ("set clip", "set", lambda i: i, 100, X2, (jnp.array([7]),), {"mode": "clip"}),
    ("add repeated", "add", lambda: REP, 1, X2, (), {}),
    ("add 2d repeated", "add", lambda: (I(0, 0, 2), I(1, 1, 3)), 5, X2, (), {}),
    ("add traced values", "add", lambda: (S(None), REP), jnp.arange(5.), X, (), {}),
    ("subtract", "subtract", lambda: REP, 2, X2, (), {}),
    ("mul repeated", "mul", lambda: REP, 3, X2, (), {}),
    ("multiply", "multiply", lambda: (Ellipsis, I(0, 0)), 2.0, X, (), {}),
    ("divide", "divide", lambda: REP, 2.0, jnp.asarray(X2, jnp.float32), (), {}),
    ("power", "power", lambda: I(1, 1), 2.0, jnp.asarray(X2, jnp.float32), (), {}),
    ("min repeated", "min", lambda: REP, jnp.array([3, -1, 9, 1]), X2, (), {}),
    ("max repeated", "max", lambda: (S(None), REP), jnp.array([3, -1, 9, 100]), X2, (), {}),
    ("max bf16", "max", lambda: REP, 4.5, jnp.asarray(X2, BF16), (), {}),
    ("get", "get", lambda: (I(2, 0), 1), None, X, (), {}),
    ("get fill", "get", lambda i: i, None, X, (jnp.array([0, 5]),),
     {"mode": "fill", "fill_value": -1.0}),
    ("get fill nan", "get", lambda: I(0, 3), None, X, (), {"mode": "fill"}),
    ("get clip", "get", lambda: (S(None), I(-9, 9)), None, X2, (), {"mode": "clip"}),
    ("get sorted unique", "get", lambda: I(0, 2), None, X2, (),
     {"indices_are_sorted": True, "unique_indices": True}),
]


def _at_case(name, method, idx, v, x, extra, kw):
    args = () if v is None else (v,)

    def ours(y, *a):
        return getattr(at(y)[idx(*a)], method)(*args, **kw)

    def theirs(y, *a):
        return getattr(y.at[idx(*a)], method)(*args, **kw)
    return name, ours, theirs, (x, *extra)


@pytest.mark.parametrize("cases", chunks(AT_CASES))
def test_at(cases):
    """Each case eagerly, then the group in one jit and one typechecked Graph."""
    assert_cases_same_as_jax([_at_case(*c) for c in cases])


def test_operator_at():
    f = lambda x: x.at[1:, ::-1].add(x[0]).at[I(0, 0)].mul(2).at[0, 1].get()
    assert_same_as_jax(f, f, X2)


# --- transforms through indexing (rules of gather/scatter/slice/...) ---
@pytest.mark.parametrize("name,f", [
    ("basic", lambda x: x[1:, ::-2, None] * 2.0),
    ("advanced", lambda x: x[I(0, 2, 0), ..., I(1, 4, 1)]),
    ("at add", lambda x: x.at[I(1, 1), :2].add(x[0, :2, :] * 3.0)),
    ("at set", lambda x: x.at[:, 0].set(x[:, 1])),
], ids=lambda v: v if isinstance(v, str) else "")
def test_transforms(name, f):
    assert_jvp_matches(f, f, (X,), (X * 0.5 + 1.0,))
    assert_vmap_matches(f, f, 0, jnp.stack([X, -X]))


# --- errors: (id, call, exception, message regex) ---
def _traced(f, *args):
    return lambda: jit(f)(*args)


ERRORS = [
    ("static int oob", lambda: getitem(X2, 3), IndexError,
     r"index 3 is out of bounds for axis 0 with size 3 \(array shape \(3, 4\)\)"),
    ("static neg oob", _traced(lambda x: x[0, -5], X2), IndexError,
     r"index -5 .* axis 1 with size 4"),
    ("at set oob", lambda: at(X2)[1, 4].set(0), IndexError, "index 4 is out of bounds"),
    ("too many", _traced(lambda x: x[0, 1, 2], X2), IndexError,
     r"too many indices.*\(3, 4\).*2-dimensional, but 3"),
    ("two ellipses", lambda: getitem(X, (Ellipsis, 0, Ellipsis)), IndexError, "single ellipsis"),
    ("traced mask", _traced(lambda x, m: x[m], X2, X2 > 3), NonConcreteBooleanIndexError,
     r"(?s)traced mask bool\[3,4\].*fnp.where"),
    ("traced mask at", _traced(lambda x, m: x.at[m].set(0), X2, X2 > 3),
     NonConcreteBooleanIndexError, "fnp.where"),
    ("mask shape", lambda: getitem(X2, np.array([True, False])), IndexError,
     r"boolean index did not match.*\(2,\).*\(3,\)"),
    ("float index", lambda: getitem(X2, 1.0), TypeError, "integer or boolean"),
    ("float array", lambda: getitem(X2, np.array([0.5])), TypeError, "float"),
    ("list index", lambda: getitem(X2, [0, 1]), TypeError, "non-tuple sequence"),
    ("traced slice", _traced(lambda x, i: x[i:], X2, jnp.int32(1)), IndexError,
     "static integers.*dynamic_slice"),
    ("string", lambda: getitem(X2, "a"), TypeError, "string"),
    ("at shape", lambda: at(X2)[0].set(jnp.ones(3)), ValueError, r"\(3,\).*\(4,\)"),
]


@pytest.mark.parametrize("name,call,exc,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_jnp_mask_built_in_jit_is_concrete():
    """Deviation from JAX (which raises NonConcreteBooleanIndexError under its jit):
    our jit runs jax code on concrete values at trace time, as make_graph and eager
    calls do, so a mask built with jax.numpy inside the function is a constant."""
    got = jit(lambda x: x[jnp.array([True, False, True])])(X2)
    assert_trees_close(got, X2[np.array([True, False, True])])


def test_traced_mask_error_is_a_concretization_error():
    assert issubclass(NonConcreteBooleanIndexError, ConcretizationError)
    assert issubclass(NonConcreteBooleanIndexError, IndexError)
