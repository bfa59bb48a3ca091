"""jax.Arrays captured by traced functions, used with our tracers (issue:
reliability, item 2): indexing, ``.at[...]`` and array-argument methods of a
captured table, under jit, grad and vmap, against the same program in JAX."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import primitives.numpy as fnp
from fx.errors import ForeignFunctionError
from oracle import assert_trees_close
from transforms import grad, jit, vmap

TABLE = np.arange(12.0, dtype=np.float32).reshape(4, 3)
IDX = np.array([0, 3, 1], np.int32)
X = np.array([0.5, -1.0, 2.0], np.float32)


def _programs(table, zeros, np_):
    """(name, fn, args) run identically with our transforms and with JAX's;
    ``table`` / ``zeros`` are arrays captured from outside the traced function,
    ``np_`` (fnp or jnp) builds arrays inside it."""
    return [
        ("vmap gather", lambda v, i: v(lambda j: table[j].sum())(i), (IDX,)),
        ("vmap gather, 2 indices", lambda v, i: v(lambda j: table[j, 1:] * table[:, 0][j])(i),
         (IDX,)),
        ("jit gather", lambda j, i: j(lambda k: table[k, ::-1])(i), (np.int32(2),)),
        ("grad at-set", lambda g, x: g(lambda y: (zeros.at[1].set(y) ** 2).sum() * y)(x),
         (np.float32(3.0),)),
        ("vmap at-set", lambda v, x: v(lambda y: zeros.at[1].set(y))(x), (X,)),
        ("vmap at-add traced index", lambda v, i: v(lambda j: table.at[j].add(1.0))(i), (IDX,)),
        ("jit at-get clip", lambda j, i: j(lambda k: table.at[k].get(mode="clip"))(i),
         (np.int32(7),)),
        ("jit at-mul", lambda j, x: j(lambda y: table.at[:, 0].multiply(y))(x), (X[:1],)),
        ("grad dot", lambda g, x: g(lambda y: (table.dot(y) ** 2).sum())(x), (X,)),
        ("grad matmul", lambda g, x: g(lambda y: (table @ y).sum() + (y @ table.T).sum())(x),
         (X,)),
        ("jit take clip", lambda j, x: j(lambda y: table.take(IDX).clip(0.0, y))(x),
         (np.float32(5.0),)),
        ("vmap compare", lambda v, x: v(lambda y: table[:, 0] > y)(x), (X,)),
        ("jit built inside", lambda j, i, x: j(lambda k, y: np_.zeros(4).at[k].set(y).take(
            IDX).clip(0.0, y))(i, x), (np.int32(3), np.float32(2.0))),
        ("grad built inside", lambda g, x: g(lambda y: np_.arange(3.0).dot(np_.ones(3) * y))(x),
         (np.float32(2.0),)),
    ]


def test_captured_jax_arrays_defer_to_our_tracers():
    ours = _programs(fnp.asarray(TABLE), fnp.zeros(4), fnp)
    theirs = _programs(jnp.asarray(TABLE), jnp.zeros(4), jnp)
    transforms = {"vmap": (vmap, jax.vmap), "jit": (jit, jax.jit), "grad": (grad, jax.grad)}
    # JAX's values of all programs from ONE jax.jit (eagerly, each of its ops compiles
    # on its own); ours run as written: eager transforms of captured jax.Arrays
    expected = jax.jit(lambda: [jfn(transforms[name.split()[0]][1], *args)
                                for name, jfn, args in theirs])()
    for (name, fn, args), want in zip(ours, expected):
        assert_trees_close(fn(transforms[name.split()[0]][0], *args), want, what=name)


def test_eager_use_is_still_jax():
    """Without tracers the captured array's methods are jax's own (same values, same type)."""
    t = fnp.asarray(TABLE)
    assert type(t.at[1].set(0.0)) is type(jnp.zeros(1))
    assert_trees_close(t.at[IDX].add(1.0), jnp.asarray(TABLE).at[IDX].add(1.0))
    assert_trees_close(t[IDX, 1:], TABLE[IDX, 1:])
    assert_trees_close(t.dot(X), TABLE @ X)
    # jax's own tracers are not ours: jax transformations of jax code are untouched
    assert_trees_close(jax.jit(lambda i: t[i].sum())(1), TABLE[1].sum())


def test_foreign_function_error_names_the_function():
    with pytest.raises(ForeignFunctionError, match=r"`sin`[\s\S]*primitives\.numpy\.sin"):
        jit(lambda x: jnp.sin(x))(X)
    with pytest.raises(ForeignFunctionError) as info:
        jit(lambda x: jnp.asarray(x))(X)
    assert "<name>" not in str(info.value) and "asarray" in str(info.value)
