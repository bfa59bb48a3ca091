"""fnp products, einsum and fnp.linalg.norm against jax.numpy: values, dtypes and
weak types (eager, under jit, via the Graph); one row per function (a table of
argument sets each); plus graph structure, autodiff and errors."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest

import fx
import primitives.numpy as fnp
from fx.errors import ShapeError
from fnp_check import BF16, arr, check, check_cases
from oracle import assert_vmap_matches
from transforms import grad

A3, B3 = arr((3,)), arr((3,), seed=1)
A23, A34, A234 = arr((2, 3)), arr((3, 4), seed=1), arr((2, 3, 4), seed=2)
I23, I34 = arr((2, 3), np.int32), arr((3, 4), np.int32, seed=1)
H23, H34 = arr((2, 3), BF16), arr((3, 4), BF16, seed=1)
Q23, Q34 = arr((2, 3), np.bool_), arr((3, 4), np.bool_, seed=1)

# --- binary products: name -> argument sets ---------------------------------------------------
PAIRS = {
    "dot": [(A3, B3), (A23, A34), (A234, arr((4,))), (A234, arr((5, 4, 2))), (arr(()), A23),
            (A23, 2.0), (I23, I34), (H23, H34), (Q23, Q34), (I23, A34), (H23, I34), (2, 3.0)],
    "matmul": [(A3, B3), (A23, A3), (A3, A34), (arr((5, 2, 3)), A34), (arr((5, 2, 3)),
               arr((5, 3, 4))), (arr((1, 2, 3)), arr((4, 3, 2))), (arr((2, 1, 2, 3)),
               arr((5, 3, 4))), (arr((3, 1, 2, 3)), arr((1, 3, 4))), (I23, I34), (H23, H34),
               (Q23, Q34), (I23, A34), (arr(()), A3), (arr((2, 3)), arr((4, 3)))],
    "vdot": [(A3, B3), (A23, arr((3, 2))), (I23, I23), (H23, A23)],
    "inner": [(A3, B3), (A23, arr((4, 3))), (A234, arr((2, 4))), (arr(()), A23), (A23, 3),
              (I23, A23)],
    "outer": [(A3, B3), (A23, A3), (I23, H23), (arr(()), A3), (2.0, A3)],
    "kron": [(A3, B3), (A23, arr((2, 2))), (A3, A23), (A234, arr((2,))), (I23, Q23),
             (arr(()), A23)],
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_products(name):
    assert check_cases([(lambda m, x, y: getattr(m, name)(x, y), args)
                        for args in PAIRS[name]], rtol=1e-5, atol=1e-5) > 0


TENSORDOT = [((A234, arr((3, 4, 5))), 2), ((A234, arr((4, 5))), 1), ((A23, A3), 0),
             ((A234, arr((4, 2))), ((0, 2), (1, 0))), ((A234, arr((3, 2))), (1, 0)),
             ((A234, arr((4, 3))), ([-1, 1], [0, -1])), ((I23, arr((3, 2), np.int32)), 1),
             ((A23, A34), 3)]


def test_tensordot():
    assert check_cases([((lambda ax: lambda m, x, y: m.tensordot(x, y, ax))(ax), args)
                        for args, ax in TENSORDOT], rtol=1e-5, atol=1e-5) > 0


TRACE = [dict(), dict(offset=1), dict(offset=-1), dict(axis1=1, axis2=2),
         dict(axis1=-1, axis2=0, offset=2), dict(dtype=jnp.int32), dict(offset=7)]


def test_trace():
    assert check_cases([((lambda kw: lambda m, x: m.trace(x, **kw))(kw), (x,))
                        for kw in TRACE for x in (A34, A234, I34, Q34, H34)]) > 0


# --- einsum: (spec, operands) -----------------------------------------------------------------
EINSUM = [
    ("ij,jk->ik", (A23, A34)), ("ij,jk", (A23, A34)), ("ijk,kl->ijl", (A234, arr((4, 5)))),
    ("bij,bjk->bik", (A234, arr((2, 4, 3)))), ("i,i->", (A3, B3)), ("i,i", (A3, B3)),
    ("i,j->ij", (A3, arr((2,)))), ("ij->ji", (A23,)), ("ijk->kij", (A234,)), ("ij->", (A23,)),
    ("ij->j", (A23,)), ("ii->i", (arr((3, 3)),)), ("ii", (arr((3, 3)),)),
    ("iij->j", (arr((3, 3, 2)),)), ("iji->j", (arr((3, 2, 3)),)),
    ("ij,jk,kl->il", (A23, A34, arr((4, 5)))), ("ab,bc,cd,de->ae",
                                                (A23, A34, arr((4, 2)), arr((2, 3)))),
    ("...ij,...jk->...ik", (A234, arr((2, 4, 3)))), ("...i,i->...", (A234, arr((4,)))),
    ("ij,ij->ij", (A23, arr((2, 3)))), ("ij,ij->i", (A23, arr((2, 3)))),
    ("ij,j->i", (arr((3, 1)), A3)), ("i,ij->j", (arr((1,)), A34)),
    ("ij,jk->ik", (I23, I34)), ("ij,jk->ik", (H23, H34)), ("ij,jk->ik", (I23, A34)),
    ("ij,jk->ik", (Q23, Q34)), ("ii->", (arr((3, 3), np.bool_),)), (",ij->ij", (2.0, A23)),
    ("ijk,ijk->", (A234, A234)), ("ij,kl->ijkl", (A23, A34)),
]


def test_einsum():
    cases = [((lambda s: lambda m, *ops: m.einsum(s, *ops))(spec), ops) for spec, ops in EINSUM]
    assert check_cases(cases, rtol=2e-5, atol=2e-5) == len(EINSUM)


EINSUM_OPTIONS = [
    ("optimize False", lambda m, x, y, z: m.einsum("ij,jk,kl->il", x, y, z, optimize=False),
     (A23, A34, arr((4, 5)))),
    ("optimize greedy", lambda m, x, y, z: m.einsum("ij,jk,kl->il", x, y, z, optimize="greedy"),
     (A23, A34, arr((4, 5)))),
    ("optimize True", lambda m, x, y: m.einsum("ij,jk->ik", x, y, optimize=True), (A23, A34)),
    ("preferred f32", lambda m, x, y: m.einsum("ij,jk->ik", x, y,
                                               preferred_element_type=jnp.float32), (H23, H34)),
    ("preferred i32 diag", lambda m, x: m.einsum("ii->i", x, preferred_element_type=jnp.int32),
     (arr((3, 3), jnp.int8),)),
    ("sublist format", lambda m, x, y: m.einsum(x, [0, 1, 2], y, [2, 3], [0, 1, 3]),
     (A234, arr((4, 5)))),
    ("sublist no output", lambda m, x, y: m.einsum(x, [0, 1], y, [1, 2]), (A23, A34)),
    ("precision", lambda m, x, y: m.einsum("ij,jk->ik", x, y, precision="highest"), (A23, A34)),
    ("weak scalars", lambda m, x: m.einsum(",->", x, x), (1.5,)),
    ("matmul preferred", lambda m, x, y: m.matmul(x, y, preferred_element_type=jnp.float32),
     (H23, H34)),
    ("dot preferred", lambda m, x, y: m.dot(x, y, preferred_element_type=jnp.float32),
     (I23, I34)),
    ("tensordot preferred", lambda m, x, y: m.tensordot(x, y, 1,
                                                       preferred_element_type=jnp.float32),
     (H23, H34)),
    ("matrix_transpose", lambda m, x: m.matrix_transpose(x), (A234,)),
]


@pytest.mark.parametrize("name,f,args", EINSUM_OPTIONS, ids=[c[0] for c in EINSUM_OPTIONS])
def test_contraction_options(name, f, args):
    assert check(f, *args, rtol=1e-5, atol=1e-5) is None, "jax.numpy rejected this case"


# --- norm -------------------------------------------------------------------------------------
NORM_KW = [dict(), dict(ord=1), dict(ord=2), dict(ord=np.inf), dict(ord=-np.inf), dict(ord=0),
           dict(ord=3), dict(ord=0.5), dict(axis=0), dict(axis=-1, ord=1, keepdims=True),
           dict(axis=(0, 1)), dict(axis=(0, 1), ord="fro"), dict(axis=(1, 0), ord=1),
           dict(axis=(-1, 0), ord=np.inf, keepdims=True), dict(axis=(0, -1), ord=-1),
           dict(axis=(0, 1), ord=-np.inf), dict(keepdims=True), dict(axis=(0, 1, 2))]


def test_norm():
    inputs = [A3, A34, A234, I23, H34, arr(())]
    cases = [((lambda kw: lambda m, x: m.linalg.norm(x, **kw))(kw), (x,))
             for x in inputs for kw in NORM_KW
             if not (x.ndim == 1 and np.ndim(kw.get("axis")) == 1)  # jnp: no repeat check
             and not (x.dtype == BF16 and kw == dict(ord=2))]  # LAPACK: no bf16 SVD (nor in jax)
    cases += [((lambda kw: lambda m, x: m.linalg.vector_norm(x, **kw))(kw), (x,))
              for x in (A3, A234) for kw in (dict(), dict(ord=1, axis=1), dict(keepdims=True))]
    cases += [((lambda kw: lambda m, x: m.linalg.matrix_norm(x, **kw))(kw), (x,))
              for x in (A34, A234) for kw in (dict(), dict(ord=1), dict(ord=np.inf, keepdims=True))]
    assert check_cases(cases, rtol=2e-5, atol=2e-5) > 0


# --- graph structure and transforms -----------------------------------------------------------
def _prims(f, *args):
    return [e.primitive.name for e in fx.make_graph(f)(*args).equations]


def test_each_contraction_is_one_dot_general():
    assert _prims(lambda x, y: fnp.matmul(x, y), arr((5, 2, 3)), A34) == ["dot_general"]
    assert _prims(lambda x, y: fnp.einsum("ij,jk->ik", x, y), A23, A34) == ["dot_general"]
    names = _prims(lambda x, y, z: fnp.einsum("ij,jk,kl->il", x, y, z), A23, A34, arr((4, 5)))
    assert names.count("dot_general") == 2 and set(names) <= {"dot_general", "transpose"}


def test_grad_and_vmap_through_products():
    def f(m, x, y):
        return m.linalg.norm(m.einsum("ij,jk->ik", x, y)) + m.sum(m.matmul(x, y) ** 2) \
            + m.trace(m.outer(x[0], y[:, 0]))
    for argnum in (0, 1):
        got = grad(lambda x, y: f(fnp, x, y), argnums=argnum)(A23, A34)
        want = jax.grad(lambda x, y: f(jnp, x, y), argnums=argnum)(A23, A34)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert_vmap_matches(lambda x, y: fnp.einsum("ij,jk->ik", x, y),
                        lambda x, y: jnp.einsum("ij,jk->ik", x, y), (0, None),
                        arr((5, 2, 3)), A34, rtol=1e-5, atol=1e-5)
    assert_vmap_matches(lambda x: fnp.linalg.norm(x, axis=-1), lambda x: jnp.linalg.norm(
        x, axis=-1), (1,), A234, rtol=1e-5, atol=1e-5)


# --- errors -----------------------------------------------------------------------------------
def test_error_matmul_shapes():
    with pytest.raises(ShapeError, match=r"matmul: contracting dimensions differ: f32\[2,3\] @ "
                                         r"f32\[4,3\]"):
        fnp.matmul(A23, arr((4, 3)))
    with pytest.raises(ShapeError, match=r"matmul: batch shapes.*f32\[2,2,3\].*f32\[3,3,4\]"):
        fnp.matmul(arr((2, 2, 3)), arr((3, 3, 4)))
    with pytest.raises(ShapeError, match=r"matmul: input operand 0 must have ndim at least 1"):
        fnp.matmul(2.0, A3)


def test_error_dot_shapes():
    with pytest.raises(ShapeError, match=r"dot_general.*f32\[2,3\].*f32\[4,3\]"):
        fnp.dot(A23, arr((4, 3)))


def test_error_einsum():
    with pytest.raises(ShapeError, match=r"einsum\('ij,jk->ik'\) with operands f32\[2,3\], "
                                         r"f32\[4,3\]"):
        fnp.einsum("ij,jk->ik", A23, arr((4, 3)))


def test_error_tensordot_axes():
    with pytest.raises(ShapeError, match=r"tensordot: number of axes \(3\)"):
        fnp.tensordot(A23, A34, 3)
    with pytest.raises(ShapeError, match=r"tensordot: axis 5 is out of bounds"):
        fnp.tensordot(A23, A34, (5, 0))


def test_error_norm():
    with pytest.raises(ValueError, match="Improper number of axes"):
        fnp.linalg.norm(A234, ord=1)
    with pytest.raises(ValueError, match="Invalid order 'inf' for vector norm"):
        fnp.linalg.norm(A3, ord="inf")
    with pytest.raises(ShapeError, match=r"norm of f32\[3\]: axis 1 is out of bounds"):
        fnp.linalg.norm(A3, axis=1)
