"""Operators and methods of traced arrays against jax.Array's, one row per case.

The same Python function runs on both sides: under our jit / make_graph its
argument is our Tracer (so our operators and methods run), under jax.jit a jax
tracer. (Eagerly both sides see jax.Arrays, so the eager check is jax vs jax.)
"""
import numpy as np
import jax.numpy as jnp
import pytest

import fx
from oracle import assert_cases_same_as_jax, chunks
from transforms import jit

BF16 = jnp.bfloat16


def _a(shape, dtype=np.float32, seed=0, low=-9, high=10):
    vals = np.random.RandomState(seed).randint(low, high, size=shape)
    return jnp.asarray(vals > 0 if dtype == np.bool_ else vals, dtype)


F, G = _a((2, 3)), _a((2, 3), seed=1, low=1)          # G has no zeros (division)
M, V = _a((3, 4), seed=2), _a((4,), seed=3)
IA, IB = _a((2, 3), np.int32), _a((2, 3), np.int32, seed=1, low=1)
BA, BB = _a((2, 3), np.bool_), _a((2, 3), np.bool_, seed=1)
H = _a((2, 3), BF16)
T3 = _a((2, 3, 4), seed=4)

# --- operators: (id, f, args) ---
OPERATORS = [
    ("add", lambda x, y: x + y, (F, G)),
    ("add scalar", lambda x: x + 1, (IA,)),
    ("radd float", lambda x: 0.5 + x, (IA,)),
    ("sub", lambda x, y: x - y, (F, G)),
    ("rsub", lambda x: 2 - x, (H,)),
    ("mul broadcast", lambda x, y: x * y, (M, V)),
    ("rmul", lambda x: 3 * x, (F,)),
    ("truediv", lambda x, y: x / y, (F, G)),
    ("truediv int", lambda x, y: x / y, (IA, IB)),
    ("rtruediv", lambda x: 1.0 / x, (G,)),
    ("floordiv", lambda x, y: x // y, (F, G)),
    ("floordiv int", lambda x, y: x // y, (IA, IB)),
    ("rfloordiv", lambda x: 7 // x, (IB,)),
    ("mod", lambda x, y: x % y, (F, G)),
    ("mod int", lambda x, y: x % y, (IA, IB)),
    ("rmod", lambda x: 5.5 % x, (G,)),
    ("pow", lambda x: x ** 2, (F,)),
    ("pow arrays", lambda x, y: x ** y, (G, F)),
    ("rpow", lambda x: 2.0 ** x, (F,)),
    ("matmul", lambda x, y: x @ y, (M, V)),
    ("matmul 2d", lambda x, y: x @ y, (F, M)),
    ("rmatmul", lambda x: np.ones((4, 2), np.float32).T @ x.T, (M,)),
    ("and", lambda x, y: x & y, (BA, BB)),
    ("or int", lambda x, y: x | y, (IA, IB)),
    ("xor", lambda x, y: x ^ y, (BA, BB)),
    ("rand", lambda x: True & x, (BA,)),
    ("lt", lambda x, y: x < y, (F, G)),
    ("le scalar", lambda x: x <= 0, (F,)),
    ("gt", lambda x, y: x > y, (IA, IB)),
    ("ge", lambda x: x >= 1.5, (IA,)),
    ("eq", lambda x, y: x == y, (IA, IB)),
    ("ne", lambda x, y: x != y, (BA, BB)),
    ("reflected compare", lambda x: 0 < x, (F,)),
    ("neg", lambda x: -x, (H,)),
    ("pos", lambda x: +x, (F,)),
    ("abs", lambda x: abs(x), (IA,)),
    ("invert bool", lambda x: ~x, (BA,)),
    ("invert int", lambda x: ~x, (IA,)),
    ("chain", lambda x, y: (x - y) * (x + 1) / 2 - x ** 2 // 3, (F, G)),
]


@pytest.mark.parametrize("cases", chunks(OPERATORS))
def test_operators(cases):
    """Each case eagerly, then the group in one jit and one typechecked Graph."""
    assert_cases_same_as_jax([(name, f, f, args) for name, f, args in cases])


# --- methods and properties: (id, f, args) ---
METHODS = [
    ("shape ndim size dtype",
     lambda x: x * (x.shape[0] + x.ndim + x.size) + (x.dtype == jnp.float32), (T3,)),
    ("reshape tuple", lambda x: x.reshape((4, 6)), (T3,)),
    ("reshape varargs", lambda x: x.reshape(6, -1), (T3,)),
    ("reshape F", lambda x: x.reshape(4, 6, order="F"), (T3,)),
    ("astype", lambda x: x.astype(jnp.int32), (F,)),
    ("astype bool", lambda x: x.astype(bool), (F,)),
    ("astype bf16", lambda x: x.astype(jnp.bfloat16), (IA,)),
    ("astype weak", lambda x: (x * 2.0).astype(jnp.float32) + jnp.ones(3, BF16),
     (jnp.asarray(1.0),)),
    ("sum", lambda x: x.sum(), (T3,)),
    ("sum axis", lambda x: x.sum(axis=(0, 2), keepdims=True), (T3,)),
    ("mean", lambda x: x.mean(axis=-1), (T3,)),
    ("var", lambda x: x.var(axis=0), (T3,)),
    ("std ddof", lambda x: x.std(ddof=1), (T3,)),
    ("max", lambda x: x.max(axis=1), (T3,)),
    ("min", lambda x: x.min(), (IA,)),
    ("prod", lambda x: x.prod(axis=0), (IA,)),
    ("argmax", lambda x: x.argmax(axis=1), (T3,)),
    ("argmin", lambda x: x.argmin(), (T3,)),
    ("transpose", lambda x: x.transpose(), (T3,)),
    ("transpose varargs", lambda x: x.transpose(2, 0, 1), (T3,)),
    ("transpose tuple", lambda x: x.transpose((1, 0, 2)), (T3,)),
    ("T", lambda x: x.T, (T3,)),
    ("mT", lambda x: x.mT, (T3,)),
    ("squeeze", lambda x: x.reshape(1, 6, 1).squeeze(), (F,)),
    ("squeeze axis", lambda x: x.reshape(1, 6, 1).squeeze(axis=0), (F,)),
    ("ravel", lambda x: x.ravel(), (T3,)),
    ("flatten", lambda x: x.flatten(), (T3,)),
    ("dot", lambda x, y: x.dot(y), (M, V)),
    ("cumsum", lambda x: x.cumsum(axis=1), (T3,)),
    ("cumprod", lambda x: x.cumprod(axis=0), (IA,)),
    ("clip", lambda x: x.clip(-2, 3), (F,)),
    ("clip kw", lambda x: x.clip(max=1), (IA,)),
    ("round", lambda x: (x / 3).round(2), (F,)),
    ("any", lambda x: x.any(axis=0), (BA,)),
    ("all", lambda x: x.all(), (BA,)),
    ("take", lambda x: x.take(np.array([1, 0, 5])), (F,)),
    ("take axis", lambda x: x.take(np.array([2, 0]), axis=1), (F,)),
    ("swapaxes", lambda x: x.swapaxes(0, 2), (T3,)),
    ("sort", lambda x: x.sort(axis=0), (T3,)),
    ("argsort", lambda x: x.argsort(), (T3,)),
    ("diagonal", lambda x: x.diagonal(), (M,)),
    ("repeat", lambda x: x.repeat(2, axis=0), (F,)),
    ("conj", lambda x: x.conj(), (F,)),
    ("real imag", lambda x: x.real + x.imag, (F,)),
    ("copy", lambda x: x.copy() + 0, (F,)),
    ("at", lambda x: x.at[0, ::-1].set(x[1]).at[:, np.array([1, 1])].add(1.0), (F,)),
    ("getitem", lambda x: x[..., 1:, None, ::-2], (T3,)),
    ("len and iter", lambda x: sum(row for row in x) * len(x), (F,)),
]


@pytest.mark.parametrize("cases", chunks(METHODS))
def test_methods(cases):
    """Each case eagerly, then the group in one jit and one typechecked Graph."""
    assert_cases_same_as_jax([(name, f, f, args) for name, f, args in cases])


def test_methods_stage_to_fnp_ops():
    g = fx.make_graph(lambda x: x.T.reshape(-1).sum())(F)
    assert [e.primitive.name for e in g.graph.equations][:2] == ["transpose", "reshape"]


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="no attribute 'frobnicate'"):
        jit(lambda x: x.frobnicate())(F)


def test_jax_function_on_tracer_points_to_fnp():
    from fx.errors import ForeignFunctionError
    with pytest.raises(ForeignFunctionError, match="primitives.numpy"):
        jit(lambda x: jnp.sin(x))(F)
