"""Complex numbers (primitives/complex.py, primitives/numpy/complex_ops.py and
complex operands of the elementwise, reduction and dot primitives) against
JAX: values and dtypes (eager, jit, graph), jvp, reverse mode with JAX's
convention (``grad`` of a real function of ``z`` is what ``jax.grad`` gives,
e.g. ``grad(abs)(3+4j) == 0.6-0.8j``), holomorphic grad / jacfwd / jacrev,
finite differences to order 2, vmap against a loop; and ``linalg.eig`` /
``eigvals`` / ``roots``."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import primitives as P
import primitives.numpy as fnp
from fx.errors import ConcretizationError, FxTypeError, ShapeError
from tests.oracle import (Case, assert_cases_jvp_matches, assert_cases_same_as_jax,
                          assert_trees_close, assert_vmap_matches_loop,
                          check_grads_numerically)
from transforms import grad, jacfwd, jacrev, jit, vjp

rng = np.random.default_rng(0)
Z = (rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))).astype(np.complex64)
Z2 = (rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))).astype(np.complex64)
T = (rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))).astype(np.complex64)
X = rng.normal(size=(2, 3)).astype(np.float32)
Y = rng.normal(size=(2, 3)).astype(np.float32)
SMALL = (Z * 0.4).astype(np.complex64)   # inside the principal branches of asin/atanh/...
Z1 = np.array([3 + 4j, 0j, -1 + 0.5j, 2 - 1j, 2 + 1j], np.complex64)


def _principal_arccosh(z):
    """arccosh as log(z + sqrt(z - 1) sqrt(z + 1)) (the principal branch), which
    jax <= 0.10 differentiates right: its own arccosh jvp, 1 / sqrt(z**2 - 1), has
    the wrong sign where re(z) < 0 (fixed in jax 0.11, which we follow)."""
    return jnp.log(z + jnp.sqrt(z - 1) * jnp.sqrt(z + 1))


# the oracle of arccosh's derivatives on complex numbers
JAX_ARCCOSH = jnp.arccosh if jax.__version_info__ >= (0, 11) else _principal_arccosh

# unary elementwise ops on complex: (name, ours, jax's)
UNARY = [
    ("neg", fnp.negative, jnp.negative), ("exp", fnp.exp, jnp.exp), ("log", fnp.log, jnp.log),
    ("sqrt", fnp.sqrt, jnp.sqrt), ("rsqrt", P.rsqrt, lax.rsqrt), ("sin", fnp.sin, jnp.sin),
    ("cos", fnp.cos, jnp.cos), ("tan", fnp.tan, jnp.tan), ("sinh", fnp.sinh, jnp.sinh),
    ("cosh", fnp.cosh, jnp.cosh), ("tanh", fnp.tanh, jnp.tanh),
    ("arcsin", fnp.arcsin, jnp.arcsin), ("arccos", fnp.arccos, jnp.arccos),
    ("arctan", fnp.arctan, jnp.arctan), ("arcsinh", fnp.arcsinh, jnp.arcsinh),
    ("arccosh", fnp.arccosh, JAX_ARCCOSH), ("arctanh", fnp.arctanh, jnp.arctanh),
    ("abs", fnp.abs, jnp.abs), ("sign", fnp.sign, jnp.sign), ("expm1", fnp.expm1, jnp.expm1),
    ("log1p", fnp.log1p, jnp.log1p), ("square", fnp.square, jnp.square),
    ("reciprocal", fnp.reciprocal, jnp.reciprocal), ("exp2", fnp.exp2, jnp.exp2),
    ("log10", fnp.log10, jnp.log10),
    ("integer_pow3", lambda x: P.integer_pow(x, 3), lambda x: lax.integer_pow(x, 3)),
    ("integer_pow-2", lambda x: P.integer_pow(x, -2), lambda x: lax.integer_pow(x, -2)),
    ("power_float", lambda x: fnp.power(x, 2.5), lambda x: jnp.power(x, 2.5)),
    ("power_self", lambda x: fnp.power(x, x), lambda x: jnp.power(x, x)),
    ("real", fnp.real, jnp.real), ("imag", fnp.imag, jnp.imag), ("conj", fnp.conj, jnp.conj),
    ("angle", fnp.angle, jnp.angle), ("angle_deg", lambda x: fnp.angle(x, deg=True),
                                      lambda x: jnp.angle(x, deg=True)),
    ("sum", fnp.sum, jnp.sum), ("prod", lambda x: fnp.prod(x, axis=0),
                                lambda x: jnp.prod(x, axis=0)),
    ("cumsum", lambda x: fnp.cumsum(x, axis=1), lambda x: jnp.cumsum(x, axis=1)),
    ("cumprod", lambda x: fnp.cumprod(x, axis=1), lambda x: jnp.cumprod(x, axis=1)),
    ("mean", fnp.mean, jnp.mean), ("matmul", lambda x: x @ x.T, lambda x: x @ x.T),
    ("where", lambda x: fnp.where(fnp.real(x) > 0, x, 2 * x),
     lambda x: jnp.where(jnp.real(x) > 0, x, 2 * x)),
    ("to_real", lambda x: P.convert_element_type(x, np.float32),
     lambda x: lax.real(x)),  # (the same value, without numpy's ComplexWarning)
    ("lax_conj_real", lambda x: P.conj(P.real(x)), lambda x: lax.conj(lax.real(x))),
    ("lax_complex", lambda x: P.complex(P.imag(x), P.real(x)),
     lambda x: lax.complex(lax.imag(x), lax.real(x))),
]
BINARY = [
    ("add", fnp.add, jnp.add), ("subtract", fnp.subtract, jnp.subtract),
    ("multiply", fnp.multiply, jnp.multiply), ("divide", fnp.divide, jnp.divide),
    ("power", fnp.power, jnp.power), ("equal", fnp.equal, jnp.equal),
    ("not_equal", fnp.not_equal, jnp.not_equal),
    ("dot_general", lambda a, b: P.dot_general(a, b, (((1,), (1,)), ((), ()))),
     lambda a, b: lax.dot_general(a, b, (((1,), (1,)), ((), ())))),
]


def _safe(name):
    return SMALL if name.startswith(("arc", "tan")) else Z


def test_grad_abs_at_3_plus_4j_is_jax_s():
    """The issue's case: jax.grad(abs)(3+4j) == conj(z)/|z| == 0.6-0.8j (not its conjugate)."""
    got = grad(lambda z: fnp.abs(z))(3 + 4j)
    assert_trees_close(got, jax.grad(jnp.abs)(3 + 4j))
    assert complex(got) == pytest.approx(0.6 - 0.8j)
    # at 0 JAX's |x| is replaced by 1 (no NaN), and a vjp with a real cotangent
    assert_trees_close(grad(fnp.abs)(np.complex64(0)), jax.grad(jnp.abs)(np.complex64(0)))
    assert_trees_close(vjp(fnp.abs, Z1)[1](np.abs(Z1))[0],
                       jax.vjp(jnp.abs, Z1)[1](np.abs(Z1))[0])


def test_values_same_as_jax():
    cases = [Case(n, o, t, (_safe(n),)) for n, o, t in UNARY]
    cases += [Case(n, o, t, (Z, Z2)) for n, o, t in BINARY]
    cases += [
        Case("complex", P.complex, lax.complex, (X, Y)),
        Case("complex_weak", lambda x: P.complex(x, 2.0), lambda x: lax.complex(x, 2.0), (X,)),
        Case("conj_of_float", P.conj, lax.conj, (X,)),
        Case("fnp_conj_of_float", fnp.conj, jnp.conj, (X,)),
        Case("real_of_float", fnp.real, jnp.real, (X,)),
        Case("imag_of_int", fnp.imag, jnp.imag, (np.arange(3, dtype=np.int32),)),
        Case("angle_of_int", fnp.angle, jnp.angle, (np.array([-1, 0, 2], np.int32),)),
        Case("angle_of_float_scalar", fnp.angle, jnp.angle, (np.float32(-2.0),)),
        Case("iscomplex", fnp.iscomplex, jnp.iscomplex, (Z1,)),
        Case("isreal", fnp.isreal, jnp.isreal, (Z1,)),
        Case("isreal_of_float", fnp.isreal, jnp.isreal, (X,)),
        Case("sort_complex", fnp.sort_complex, jnp.sort_complex, (Z1,)),
        Case("sort_complex_int", fnp.sort_complex, jnp.sort_complex,
             (np.array([[5, 3, 4], [6, 9, 2]], np.int32),)),
        Case("promote_float_complex", fnp.add, jnp.add, (X, Z)),
        Case("promote_int_complex", fnp.multiply, jnp.multiply, (np.arange(3, dtype=np.int32), Z)),
        Case("promote_python_complex", lambda x: x * 1j + 2, lambda x: x * 1j + 2, (X,)),
        Case("float_to_complex", lambda x: P.convert_element_type(x, np.complex64),
             lambda x: lax.convert_element_type(x, np.complex64), (X,)),
        Case("methods", lambda z: (z.real, z.imag, z.conj(), z.conjugate()),
             lambda z: (z.real, z.imag, z.conj(), z.conjugate()), (Z,)),
    ]
    assert_cases_same_as_jax(cases, rtol=1e-5, atol=1e-5, eager={"abs", "sin", "complex", "angle",
                                                               "sort_complex", "methods"})
    assert fnp.asarray(1, fnp.complex64).dtype == np.complex64
    assert fnp.complex128 is not None and fnp.complex_ is fnp.complex128
    assert fnp.iscomplexobj(Z) and fnp.isrealobj(X) and not fnp.iscomplexobj(X)


def test_jvp_same_as_jax():
    cases = [(n, o, t, (_safe(n),), (T,)) for n, o, t in UNARY if n not in ("sign",)]
    cases += [(n, o, t, (Z, Z2), (T, T[::-1])) for n, o, t in BINARY
              if n not in ("equal", "not_equal")]
    cases += [("complex", P.complex, lax.complex, (X, Y), (Y, X)),
              ("conj_of_float", P.conj, lax.conj, (X,), (Y,))]
    assert_cases_jvp_matches(cases, rtol=1e-4, atol=1e-4, eager_every=25)


def test_grad_of_real_functions_same_as_jax():
    """Reverse mode: grad of ``sum(|f(z)|**2 + re(f(z)))`` (real) for every op, one jit per side."""
    def loss(f, m, z):
        y = f(z)
        return m.sum(m.abs(y) ** 2 + m.real(y) * 0.5)

    fns = [(n, o, t, _safe(n)) for n, o, t in UNARY]
    ours = jit(lambda: {n: grad(lambda z, f=o: loss(f, fnp, z))(z) for n, o, _, z in fns})()
    theirs = jax.jit(lambda: {n: jax.grad(lambda z, f=t: loss(f, jnp, z))(z)
                              for n, _, t, z in fns})()
    assert_trees_close(ours, theirs, rtol=2e-4, atol=2e-4, what="grad")
    # eagerly too for a few, and a real input feeding complex values
    for n, o, t in UNARY[1:2]:
        assert_trees_close(grad(lambda z: loss(o, fnp, z))(Z), jax.grad(lambda z: loss(t, jnp, z))(Z),
                           rtol=2e-4, atol=2e-4, what=n)

    def r2c(m):
        return lambda x: m.sum(m.abs(m.exp(1j * x)) ** 2 + m.real(x * (2 + 3j)) ** 2
                               + m.imag(m.sin(x + 1j)))
    assert_trees_close(grad(r2c(fnp))(X), jax.grad(r2c(jnp))(X), rtol=1e-4, atol=1e-4)


def test_holomorphic_and_dtype_errors():
    def f(m):
        return lambda z: m.sin(z) * z + m.exp(z) ** 2
    z = Z[0]
    assert_trees_close(grad(lambda z: fnp.sum(f(fnp)(z)), holomorphic=True)(z),
                       jax.grad(lambda z: jnp.sum(f(jnp)(z)), holomorphic=True)(z), rtol=1e-4)
    assert_trees_close(jacfwd(f(fnp), holomorphic=True)(z),
                       jax.jacfwd(f(jnp), holomorphic=True)(z), rtol=1e-4, atol=1e-5)
    assert_trees_close(jacrev(f(fnp), holomorphic=True)(z),
                       jax.jacrev(f(jnp), holomorphic=True)(z), rtol=1e-4, atol=1e-5)
    # as JAX: a complex output needs holomorphic=True, which needs complex inputs;
    # jacfwd needs real inputs and jacrev real outputs unless holomorphic
    with pytest.raises(TypeError, match="real-valued outputs"):
        grad(lambda z: fnp.sum(z * z))(z)
    with pytest.raises(TypeError, match="complex"):
        grad(lambda x: fnp.sum(x), holomorphic=True)(X[0])
    with pytest.raises(TypeError, match="real-valued inputs"):
        jacfwd(fnp.sin)(z)
    with pytest.raises(TypeError, match="real-valued outputs"):
        jacrev(lambda x: x * 1j)(X[0])
    # lax-level dtype errors (as lax's TypeErrors)
    for bad in (lambda: P.real(X), lambda: P.imag(X), lambda: P.complex(X, Z.real.astype(np.float16)),
                lambda: P.conj(np.arange(3)), lambda: P.lt(Z, Z)):
        with pytest.raises(FxTypeError):
            bad()


def test_finite_differences_orders_1_and_2(x64):
    z = (rng.normal(size=(3,)) + 1j * rng.normal(size=(3,))).astype(np.complex128)
    x, y = rng.normal(size=(3,)), rng.normal(size=(3,))
    for fn, args in [(P.real, (z,)), (P.imag, (z,)), (P.conj, (z,)), (P.complex, (x, y)),
                     (lambda x: P.conj(x), (x,)),
                     (lambda z: fnp.abs(z) * P.conj(z), (z,)),
                     (lambda z: fnp.angle(z) * fnp.sin(z), (z,))]:
        check_grads_numerically(fn, args, order=2, eps=1e-6, rtol=1e-4, atol=1e-4)


def test_vmap_same_as_loop():
    zz = np.stack([Z, Z2])
    for fn, args, axes in [(P.real, (zz,), 0), (P.imag, (zz,), 1), (P.conj, (zz,), 2),
                           (P.complex, (X, Y[0]), (0, None)), (P.complex, (X, 2.0), (1, None)),
                           (lambda z: fnp.angle(z) + fnp.abs(z), (zz,), 0)]:
        assert_vmap_matches_loop(fn, axes, *args, jit=True)


# --- eig / eigvals / roots -------------------------------------------------------------------
A = rng.normal(size=(3, 3)).astype(np.float32)
AC = (rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))).astype(np.complex64)
AB = rng.normal(size=(2, 3, 3)).astype(np.float32)
P0 = np.array([0.0, 1.0, -3.0, 2.0], np.float32)


def _eig_lax(**kw):
    return (lambda a: P.eig(a, **kw)), (lambda a: jax.lax.linalg.eig(a, **kw))


def test_eig_same_as_jax():
    ours_l, theirs_l = _eig_lax(compute_left_eigenvectors=True)

    def eig_ours(a):   # (EigResult is a NamedTuple of its own)
        return tuple(fnp.linalg.eig(a))

    def eig_theirs(a):
        return tuple(jnp.linalg.eig(a))
    cases = [
        Case("eig", eig_ours, eig_theirs, (A,)),
        Case("eig_complex", eig_ours, eig_theirs, (AC,)),
        Case("eig_batch", eig_ours, eig_theirs, (AB,)),
        Case("eigvals_int", fnp.linalg.eigvals, jnp.linalg.eigvals,
             (np.array([[2, 1], [1, 3]], np.int32),)),
        Case("lax_eig_left", ours_l, theirs_l, (A,)),
        Case("roots_keep_zeros", lambda p: fnp.roots(p, strip_zeros=False),
             lambda p: jnp.roots(p, strip_zeros=False),
             (np.array([0.0, 1.0, -3.0, 2.0], np.float32),)),
    ]
    assert_cases_same_as_jax(cases, rtol=1e-4, atol=1e-4, eager={"eig", "lax_eig_left"})
    for p in (P0, np.float32(3.0), np.array([1, 2, 1], np.int32)):   # strip_zeros: eager only
        assert_trees_close(fnp.roots(p), jnp.roots(p), rtol=1e-4, atol=1e-4)
    assert isinstance(fnp.linalg.eig(A), tuple) and fnp.linalg.eig(A).eigenvectors.shape == (3, 3)
    with pytest.raises(ConcretizationError, match="strip_zeros=False"):
        jit(fnp.roots)(P0)


def test_eig_derivatives_and_vmap():
    t = rng.normal(size=A.shape).astype(np.float32)
    cases = [("eigvals", fnp.linalg.eigvals, jnp.linalg.eigvals, (A,), (t,))]
    for left, right in [(True, True), (False, True), (True, False)]:
        o, th = _eig_lax(compute_left_eigenvectors=left, compute_right_eigenvectors=right,
                         enable_eigvec_derivs=True)
        cases.append((f"eig_vecs_{left}_{right}", o, th, (A,), (t,)))
    assert_cases_jvp_matches(cases, rtol=1e-3, atol=1e-4, eager_every=4)

    def loss(m):
        return lambda a: m.sum(m.abs(m.linalg.eigvals(a)) ** 2 + m.real(m.linalg.eigvals(a)))
    assert_trees_close(grad(loss(fnp))(A), jax.jit(jax.grad(loss(jnp)))(A), rtol=1e-3, atol=1e-4)
    with pytest.raises(NotImplementedError, match="enable_eigvec_derivs"):
        grad(lambda a: fnp.sum(fnp.abs(fnp.linalg.eig(a)[1])))(A)
    assert_vmap_matches_loop(fnp.linalg.eigvals, 0, AB, jit=True, rtol=1e-5, atol=1e-5)
    assert_vmap_matches_loop(lambda a: P.eig(a)[1:], 2, np.moveaxis(AB, 0, 2), jit=True,
                             rtol=1e-5, atol=1e-5)


def test_eig_finite_differences(x64):
    a = rng.normal(size=(3, 3)) + 2 * np.diag([1.0, 2.0, 3.0])   # distinct eigenvalues
    check_grads_numerically(fnp.linalg.eigvals, (a,), order=1, eps=1e-6, rtol=1e-4, atol=1e-5)
    # second order needs the eigenvectors' derivatives (as JAX)
    check_grads_numerically(
        lambda a: P.eig(a, compute_left_eigenvectors=False, compute_right_eigenvectors=False,
                        enable_eigvec_derivs=True)[0], (a,), order=2, eps=1e-6, rtol=1e-4,
        atol=1e-5)
    with pytest.raises(ShapeError, match="square"):
        P.eig(np.ones((2, 3)))


def test_norms_variances_and_dots_of_complex_values():
    """|z|**2 is real(z * conj(z)) (norm, var, std: real results) and vdot / vecdot
    conjugate their first operand; nan_to_num works on each part: values (eager and
    jit) and gradients as jax.numpy's."""
    rng = np.random.default_rng(3)
    z = (rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))).astype(np.complex64)
    w = (rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))).astype(np.complex64)
    zn = z.copy()
    zn[0, 0], zn[1, 1] = np.nan + 1j * np.inf, -np.inf + 1j * np.nan
    cases = {
        "vdot": lambda m: m.vdot(z, w), "linalg.vecdot": lambda m: m.linalg.vecdot(z, w),
        "vecdot": lambda m: m.vecdot(z, w), "norm": lambda m: m.linalg.norm(z),
        "norm_axis": lambda m: m.linalg.norm(z, axis=1),
        "norm_fro": lambda m: m.linalg.norm(z, "fro"),
        "vector_norm": lambda m: m.linalg.vector_norm(z), "var": lambda m: m.var(z, axis=0),
        "std": lambda m: m.std(z, ddof=1), "var_c64": lambda m: m.var(z, dtype=np.complex64),
        "nan_to_num": lambda m: m.nan_to_num(zn),
        "nan_to_num_args": lambda m: m.nan_to_num(zn, nan=1., posinf=2.),
    }
    got = {n: f(fnp) for n, f in cases.items()}
    assert_trees_close(got, {n: f(jnp) for n, f in cases.items()}, rtol=1e-5, atol=1e-6)
    assert_trees_close(jit(lambda: {n: f(fnp) for n, f in cases.items()})(), got,
                       rtol=1e-5, atol=1e-6)

    def loss(m):
        return lambda a: m.linalg.norm(a) + m.var(a) + m.std(a) + m.real(m.vdot(a, w))
    assert_trees_close(grad(loss(fnp))(z), jax.grad(loss(jnp))(z), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="real dtype"):
        fnp.var(z, dtype=np.float32)
