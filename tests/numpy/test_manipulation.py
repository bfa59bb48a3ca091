"""fnp array manipulation and sorting against jax.numpy: values and dtypes (eager, under
jit, via the Graph), one row per case, plus errors.

Each case is written once as ``f(m, *args)`` with ``m`` the numpy module; the
oracle runs it with ``m = fnp`` (ours) and ``m = jnp`` (theirs).
"""
from functools import partial

import numpy as np
import jax.numpy as jnp
import pytest

import fx
import primitives.numpy as fnp
from fx.errors import ConcretizationError, ShapeError
from oracle import Case, assert_cases_same_as_jax, assert_same_as_jax

BF16 = jnp.bfloat16


def _a(shape, dtype=np.float32, seed=0):
    vals = np.random.RandomState(seed).randint(-9, 10, size=shape)
    return jnp.asarray(vals > 0 if dtype == np.bool_ else vals, dtype)


A234, A23, A34, A5, A1 = _a((2, 3, 4)), _a((2, 3)), _a((3, 4)), _a((5,)), _a((1, 3, 1))
I23, B23, H23 = _a((2, 3), np.int32), _a((2, 3), np.bool_), _a((2, 3), BF16)
IDX = np.array([[2, 0], [-1, 1]], np.int32)

# --- (id, f(m, *args), args) ---
CASES = [
    # shapes
    ("reshape", lambda m, x: m.reshape(x, (4, 6)), (A234,)),
    ("reshape -1", lambda m, x: m.reshape(x, (3, -1)), (A234,)),
    ("reshape int", lambda m, x: m.reshape(x, 24), (A234,)),
    ("reshape F", lambda m, x: m.reshape(x, (4, 6), order="F"), (A234,)),
    ("reshape 0d", lambda m, x: m.reshape(x, (1, 1)), (_a(()),)),
    ("ravel", lambda m, x: m.ravel(x), (A234,)),
    ("ravel F", lambda m, x: m.ravel(x, order="F"), (A23,)),
    ("transpose", lambda m, x: m.transpose(x), (A234,)),
    ("transpose axes", lambda m, x: m.transpose(x, (1, 2, 0)), (A234,)),
    ("transpose neg", lambda m, x: m.transpose(x, (-1, 0, 1)), (A234,)),
    ("permute_dims", lambda m, x: m.permute_dims(x, (2, 0, 1)), (A234,)),
    ("swapaxes", lambda m, x: m.swapaxes(x, 0, -1), (A234,)),
    ("moveaxis", lambda m, x: m.moveaxis(x, 0, -1), (A234,)),
    ("moveaxis multi", lambda m, x: m.moveaxis(x, (0, 1), (2, 0)), (A234,)),
    ("expand_dims", lambda m, x: m.expand_dims(x, 1), (A23,)),
    ("expand_dims multi", lambda m, x: m.expand_dims(x, (0, -1)), (A23,)),
    ("squeeze all", lambda m, x: m.squeeze(x), (A1,)),
    ("squeeze axis", lambda m, x: m.squeeze(x, -1), (A1,)),
    ("squeeze none to drop", lambda m, x: m.squeeze(x), (A23,)),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (4, 2, 3)), (A23,)),
    ("broadcast_to ones", lambda m, x: m.broadcast_to(x, (2, 3, 5)), (A1,)),
    ("broadcast_to scalar", lambda m, x: m.broadcast_to(x, (2, 2)), (_a(()),)),
    ("broadcast_arrays", lambda m, x, y: m.broadcast_arrays(x, y), (A34, _a((2, 1, 4)))),
    ("atleast_1d", lambda m, x: m.atleast_1d(x), (_a(()),)),
    ("atleast_1d many", lambda m, x, y: m.atleast_1d(x, y), (_a(()), A23)),
    ("atleast_2d", lambda m, x: m.atleast_2d(x), (A5,)),
    ("atleast_3d", lambda m, x: m.atleast_3d(x), (A23,)),
    # joining / splitting
    ("concatenate", lambda m, x, y: m.concatenate([x, y]), (A23, _a((4, 3)))),
    ("concatenate axis", lambda m, x, y: m.concatenate([x, y], axis=-1), (A23, _a((2, 1)))),
    ("concatenate none", lambda m, x, y: m.concatenate([x, y], axis=None), (A23, A5)),
    ("concatenate promote", lambda m, x, y: m.concatenate([x, y]), (I23, A23)),
    ("concatenate bool+bf16", lambda m, x, y: m.concatenate([x, y], 1), (B23, H23)),
    ("concatenate dtype", lambda m, x, y: m.concatenate([x, y], dtype=jnp.int32), (A23, A23)),
    ("concatenate one", lambda m, x: m.concatenate([x]), (A23,)),
    ("concat", lambda m, x, y: m.concat([x, y], axis=1), (A23, A23)),
    ("stack", lambda m, x, y: m.stack([x, y]), (A23, A23)),
    ("stack axis", lambda m, x, y: m.stack((x, y), axis=-1), (A23, A23)),
    ("stack 0d", lambda m, x, y: m.stack([x, y]), (_a(()), _a((), seed=1))),
    ("stack array", lambda m, x: m.stack(x, axis=1), (A23,)),
    ("hstack 1d", lambda m, x, y: m.hstack([x, y]), (A5, _a((2,)))),
    ("hstack 2d", lambda m, x, y: m.hstack([x, y]), (A23, A23)),
    ("vstack", lambda m, x, y: m.vstack([x, y]), (_a((3,)), A23)),
    ("dstack", lambda m, x, y: m.dstack([x, y]), (A23, A23)),
    ("split sections", lambda m, x: m.split(x, 2, axis=1), (A34,)),
    ("split indices", lambda m, x: m.split(x, [1, 3], axis=-1), (A34,)),
    ("array_split", lambda m, x: m.array_split(x, 3), (A5,)),
    ("array_split axis", lambda m, x: m.array_split(x, 3, axis=2), (A234,)),
    # flips, rolls, padding
    ("flip", lambda m, x: m.flip(x), (A234,)),
    ("flip axis", lambda m, x: m.flip(x, 1), (A234,)),
    ("flip axes", lambda m, x: m.flip(x, (0, -1)), (A234,)),
    ("fliplr", lambda m, x: m.fliplr(x), (A23,)),
    ("flipud", lambda m, x: m.flipud(x), (A23,)),
    ("roll flat", lambda m, x: m.roll(x, 5), (A234,)),
    ("roll axis", lambda m, x: m.roll(x, -1, axis=1), (A234,)),
    ("roll multi", lambda m, x: m.roll(x, (1, 7), axis=(0, 2)), (A234,)),
    ("roll traced", lambda m, x, s: m.roll(x, s, axis=1), (A234, jnp.int32(-4))),
    ("roll traced flat", lambda m, x, s: m.roll(x, s), (A23, jnp.int32(2))),
    ("pad constant", lambda m, x: m.pad(x, 1), (A23,)),
    ("pad pairs", lambda m, x: m.pad(x, ((1, 0), (2, 3))), (A23,)),
    ("pad value", lambda m, x: m.pad(x, (1, 2), constant_values=7), (I23,)),
    ("pad values per axis", lambda m, x: m.pad(x, 1, constant_values=((1, 2), (3, 4))), (A23,)),
    ("pad traced value", lambda m, x, v: m.pad(x, 1, constant_values=v), (A23, jnp.float32(5))),
    ("pad bf16", lambda m, x: m.pad(x, (0, 2), constant_values=-1.5), (H23,)),
    ("pad edge", lambda m, x: m.pad(x, ((2, 1), (0, 3)), mode="edge"), (A23,)),
    ("pad wrap", lambda m, x: m.pad(x, ((4, 1), (2, 5)), mode="wrap"), (A23,)),
    ("pad reflect", lambda m, x: m.pad(x, ((1, 1), (2, 2)), mode="reflect"), (A34,)),
    ("pad reflect wide", lambda m, x: m.pad(x, (7, 5), mode="reflect"), (A5,)),
    ("pad symmetric", lambda m, x: m.pad(x, ((3, 2), (1, 6)), mode="symmetric"), (A23,)),
    ("pad empty", lambda m, x: m.pad(x, 1, mode="empty"), (A23,)),
    # take
    ("take flat", lambda m, x: m.take(x, IDX), (A234,)),
    ("take axis", lambda m, x: m.take(x, IDX, axis=1), (A234,)),
    ("take traced idx", lambda m, x, i: m.take(x, i, axis=-1), (A234, jnp.asarray(IDX))),
    ("take oob fill", lambda m, x: m.take(x, np.array([0, 9, -9]), axis=2), (A234,)),
    ("take oob int fill", lambda m, x: m.take(x, np.array([7, 1])), (I23,)),
    ("take clip", lambda m, x: m.take(x, np.array([0, 9, -9]), axis=0, mode="clip"), (A23,)),
    ("take wrap", lambda m, x: m.take(x, np.array([0, 9, -9]), axis=1, mode="wrap"), (A23,)),
    ("take fill_value", lambda m, x: m.take(x, np.array([5]), axis=0, fill_value=-1), (A23,)),
    ("take scalar idx", lambda m, x: m.take(x, 1, axis=1), (A23,)),
    ("take empty", lambda m, x: m.take(x, np.zeros((0,), np.int32), axis=1), (A23,)),
    ("take_along_axis", lambda m, x, i: m.take_along_axis(x, i, axis=1),
     (A34, np.array([[0, 3], [1, 1], [-1, 2]], np.int32))),
    ("take_along_axis bcast", lambda m, x, i: m.take_along_axis(x, i, axis=0),
     (A34, np.array([[2], [0]], np.int32))),
    ("take_along_axis argsort", lambda m, x: m.take_along_axis(x, m.argsort(x, axis=-1), -1),
     (A234,)),
    ("take_along_axis none", lambda m, x: m.take_along_axis(x, np.array([5, 0, 2]), None),
     (A23,)),
    ("take_along_axis oob", lambda m, x: m.take_along_axis(x, np.array([[0, 7, -1]]), 1),
     (_a((1, 4)),)),
    # triangles, diagonals
    ("tril", lambda m, x: m.tril(x), (A34,)),
    ("tril k", lambda m, x: m.tril(x, 1), (A34,)),
    ("tril batch", lambda m, x: m.tril(x, -1), (A234,)),
    ("triu", lambda m, x: m.triu(x), (A34,)),
    ("triu k", lambda m, x: m.triu(x, -1), (A234,)),
    ("triu int", lambda m, x: m.triu(x, 1), (I23,)),
    ("tril bool", lambda m, x: m.tril(x), (B23,)),
    ("diag extract", lambda m, x: m.diag(x), (A34,)),
    ("diag extract k", lambda m, x: m.diag(x, -1), (A34,)),
    ("diag build", lambda m, x: m.diag(x), (A5,)),
    ("diag build k", lambda m, x: m.diag(x, 2), (_a((3,)),)),
    ("diag build -k", lambda m, x: m.diag(x, -1), (_a((3,), np.int32),)),
    ("diagonal", lambda m, x: m.diagonal(x), (A34,)),
    ("diagonal offset", lambda m, x: m.diagonal(x, 1, 0, 2), (A234,)),
    ("diagonal neg offset", lambda m, x: m.diagonal(x, -1, axis1=2, axis2=1), (A234,)),
    ("diagonal empty", lambda m, x: m.diagonal(x, 5), (A34,)),
    # repeat, tile
    ("repeat flat", lambda m, x: m.repeat(x, 2), (A23,)),
    ("repeat axis", lambda m, x: m.repeat(x, 3, axis=1), (A23,)),
    ("repeat counts", lambda m, x: m.repeat(x, np.array([1, 0, 2]), axis=1), (A23,)),
    ("repeat traced total", lambda m, x, r: m.repeat(x, r, axis=0, total_repeat_length=4),
     (A23, jnp.array([3, 1], jnp.int32))),
    ("tile", lambda m, x: m.tile(x, 2), (A23,)),
    ("tile reps", lambda m, x: m.tile(x, (2, 1, 3)), (A23,)),
    ("tile 1d", lambda m, x: m.tile(x, (2, 2)), (_a((3,)),)),
    # sorting
    ("sort", lambda m, x: m.sort(x), (A234,)),
    ("sort axis", lambda m, x: m.sort(x, axis=0), (A234,)),
    ("sort none", lambda m, x: m.sort(x, axis=None), (A23,)),
    ("sort desc", lambda m, x: m.sort(x, descending=True), (A234,)),
    ("sort int", lambda m, x: m.sort(x, axis=1), (I23,)),
    ("sort bf16", lambda m, x: m.sort(x), (H23,)),
    ("sort bool", lambda m, x: m.sort(x), (B23,)),
    ("sort nan", lambda m, x: m.sort(x), (jnp.array([3., jnp.nan, -1., 0.]),)),
    ("argsort", lambda m, x: m.argsort(x), (A234,)),
    ("argsort axis", lambda m, x: m.argsort(x, axis=1), (A234,)),
    ("argsort none", lambda m, x: m.argsort(x, axis=None), (A23,)),
    ("argsort desc stable", lambda m, x: m.argsort(x, descending=True),
     (jnp.array([1., 0., 1., 2., 0.]),)),
    ("argsort desc unstable", lambda m, x: m.argsort(x, descending=True, stable=False),
     (jnp.array([4., 0., 1., 2., 3.]),)),
    ("argsort ties", lambda m, x: m.argsort(x, axis=0), (_a((6, 2), np.int32),)),
]
IDS = [c[0] for c in CASES]
assert len(set(IDS)) == len(IDS)


DTYPE_CASES = ["transpose axes", "concatenate", "stack", "pad edge", "roll multi", "take axis",
               "tril batch", "diag build", "repeat counts", "tile", "split indices", "sort",
               "argsort"]
DTYPES = {"bf16": BF16, "i32": np.int32, "bool": np.bool_}  # float32: the case itself


def _with_dtype(args, dtype):
    return tuple(jnp.asarray(a, dtype) if getattr(a, "dtype", None) == np.float32 else a
                 for a in args)


def _groups():
    """The cases grouped by function (the id's first word), with the DTYPE_CASES
    also in bf16, int32 and bool: one test, one compile per side, per group."""
    groups = {}
    for name, f, args in CASES:
        group = groups.setdefault(name.split()[0], [])
        group.append(Case(name, partial(f, fnp), partial(f, jnp), args))
        if name in DTYPE_CASES:
            group += [Case(f"{name} [{dt}]", partial(f, fnp), partial(f, jnp), _with_dtype(args, d))
                      for dt, d in DTYPES.items()]
    return [pytest.param(cases, id=key) for key, cases in groups.items()]


@pytest.mark.parametrize("cases", _groups())
def test_manipulation(cases):
    """Every case eagerly (values and dtypes vs jax.numpy's), then all the group's
    cases in one jit and one typechecked Graph. Data movement only (no
    arithmetic), so jax's values under jit are its eager ones."""
    assert_cases_same_as_jax(cases, jax_eager=False)


def test_weak_type_kept():
    """A weak-typed input (from a Python scalar) stays weak, as in jnp."""
    f = lambda m, x: m.pad(m.tile(m.reshape(x * 1.0, (1,)), 3), 1, constant_values=2)
    assert_same_as_jax(lambda x: f(fnp, x), lambda x: f(jnp, x), 3.0)


def test_graph_uses_slices_not_gathers():
    g = fx.make_graph(lambda x: fnp.roll(fnp.flip(x, 0), 1, axis=1))(A23)
    names = [e.primitive.name for e in g.graph.equations]
    assert "gather" not in names and "rev" in names and "concatenate" in names


# --- errors: (id, call, exception, message regex) ---
ERRORS = [
    ("reshape size", lambda: fnp.reshape(A23, (4, 2)), ShapeError, r"size 6 into shape \(4, 2\)"),
    ("reshape two -1", lambda: fnp.reshape(A23, (-1, -1)), ShapeError, "one unknown"),
    ("transpose perm", lambda: fnp.transpose(A23, (0, 0)), ShapeError,
     r"not a permutation.*\(2, 3\)"),
    ("axis range", lambda: fnp.swapaxes(A23, 0, 2), ShapeError, "axis 2 is out of bounds"),
    ("squeeze size", lambda: fnp.squeeze(A23, 0), ShapeError, r"squeeze.*\(2, 3\)"),
    ("broadcast_to", lambda: fnp.broadcast_to(A23, (3, 3)), ShapeError,
     r"broadcast_to.*\(2, 3\), \(3, 3\)"),
    ("concatenate shapes", lambda: fnp.concatenate([A23, A34]), ShapeError,
     r"concatenate.*\(2, 3\), \(3, 4\)"),
    ("concatenate 0d", lambda: fnp.concatenate([_a(()), _a(())]), ShapeError, "zero-dimensional"),
    ("stack shapes", lambda: fnp.stack([A23, A34]), ShapeError, "same shape"),
    ("split unequal", lambda: fnp.split(A5, 2), ShapeError, "equal division.*array_split"),
    ("pad negative", lambda: fnp.pad(A23, -1), ValueError, "negative"),
    ("pad mode", lambda: fnp.pad(A23, 1, mode="foo"), NotImplementedError, "foo"),
    ("pad width shape", lambda: fnp.pad(A23, ((1, 2, 3),)), ShapeError, "pad_width"),
    ("take_along_axis rank", lambda: fnp.take_along_axis(A23, np.zeros((2,), np.int32), 1),
     ShapeError, "same number of dimensions"),
    ("tril 1d", lambda: fnp.tril(A5), ShapeError, r"tril.*2-D.*\(5,\)"),
    ("diagonal 1d", lambda: fnp.diagonal(A5), ShapeError, "two dimensions"),
    ("diag 3d", lambda: fnp.diag(A234), ShapeError, r"1-D or 2-D.*\(2, 3, 4\)"),
    ("sort kind", lambda: fnp.sort(A5, kind="heapsort"), TypeError, "stable"),
]


@pytest.mark.parametrize("name,call,exc,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_traced_repeats_need_total_length():
    from transforms import jit
    with pytest.raises(ConcretizationError, match="total_repeat_length"):
        jit(lambda x, r: fnp.repeat(x, r))(A5, jnp.array([1, 2, 1, 1, 1]))


# --- transforms through the compositions (the primitives' jvp / batch rules) ---
TRANSFORM_CASES = ["transpose axes", "concatenate axis", "stack axis", "split indices",
                   "roll multi", "pad reflect", "pad edge", "take axis", "take_along_axis",
                   "tril batch", "diag build", "diagonal offset", "repeat counts", "tile reps",
                   "sort axis"]


@pytest.mark.parametrize("name", TRANSFORM_CASES)
def test_transforms(name):
    from oracle import assert_jvp_matches, assert_vmap_matches
    f, args = {c[0]: c[1:] for c in CASES}[name]
    ours, theirs = partial(f, fnp), partial(f, jnp)
    x, rest = args[0], args[1:]
    assert_jvp_matches(lambda x: ours(x, *rest), lambda x: theirs(x, *rest), (x,), (x * 0.5 + 1,))
    assert_vmap_matches(lambda x: ours(x, *rest), lambda x: theirs(x, *rest), 0,
                        jnp.stack([x, x * 2 - 1]))
