"""fnp.nonzero / argwhere / flatnonzero / one-argument where against jax.numpy:
with size= under jit and vmap, without it eagerly, and the concretization error."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import primitives.numpy as fnp
from fx.errors import ConcretizationError
from transforms import jit, vmap
from tests.oracle import assert_cases_same_as_jax, assert_trees_close

A = jnp.array([[0, 3, 0], [4, 0, 5]])
B = jnp.array([0.0, 1.5, 0.0, -2.0, 0.0, 0.0])


def _both(name, *args, **kw):
    return (f"{name}/" + ",".join(f"{k}={v}" for k, v in sorted(kw.items())), lambda *a: getattr(fnp, name)(*a, **kw),
            lambda *a: getattr(jnp, name)(*a, **kw), args)


def test_traced_forms_equal_jax():
    cases = [_both("nonzero", A, size=5), _both("nonzero", A, size=2),
             _both("nonzero", A, size=5, fill_value=-1),
             _both("nonzero", A, size=4, fill_value=(7, 8)),
             _both("nonzero", B > 0, size=3),
             _both("argwhere", A, size=4), _both("argwhere", B, size=3, fill_value=-1),
             _both("flatnonzero", A, size=4, fill_value=9),
             ("where/one_arg", lambda c: fnp.where(c, size=4), lambda c: jnp.where(c, size=4),
              (A > 0,)),
             ("nonzero/vmap", vmap(lambda r: fnp.nonzero(r, size=2, fill_value=-1)[0]),
              jax.vmap(lambda r: jnp.nonzero(r, size=2, fill_value=-1)[0]), (A,))]
    assert_cases_same_as_jax(cases, eager=("nonzero/size=5", "argwhere/size=4"))


def test_eager_without_size_equals_jax():
    # JAX's values from ONE jax.jit of the sized forms at the true count: without
    # size, jnp.nonzero (argwhere, flatnonzero, where) takes size = count and runs
    # the same code (jax/_src/numpy/lax_numpy.py), each op compiled eagerly
    rows = [(name, x) for name in ("nonzero", "argwhere", "flatnonzero")
            for x in (A, B, jnp.zeros((2, 3)))] + [("where", B)]
    expected = jax.jit(lambda xs: [getattr(jnp, name)(x, size=int(np.count_nonzero(c)))
                                   for (name, c), x in zip(rows, xs)])([x for _, x in rows])
    for (name, x), want in zip(rows, expected):
        assert_trees_close(getattr(fnp, name)(x), want, what=f"{name}{x.shape}")
    assert fnp.argwhere(jnp.array(3)).shape == jnp.argwhere(jnp.array(3)).shape == (1, 0)


def test_errors_as_jax():
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(jnp.nonzero)(A)
    with pytest.raises(ConcretizationError, match="size=N"):
        jit(fnp.nonzero)(A)
    with pytest.raises(ValueError, match="0d arrays"):
        jnp.nonzero(jnp.array(3))
    with pytest.raises(ValueError, match="0d arrays"):
        fnp.nonzero(np.array(3))
