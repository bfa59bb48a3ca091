"""Every differentiable primitive: finite differences in float64 (x64 on inside
the test) of orders 1 and 2, forward and reverse mode, at several shapes; and
equality with jax.jvp / jax.vjp of the same lax function."""
import jax
import numpy as np
import pytest
from jax import lax

import primitives as P
from oracle import assert_trees_close, check_grads_numerically

SHAPES = [(), (3,), (2, 3)]


def pos(rng, shape):
    return np.abs(rng.normal(size=shape)) + 0.5


def unit(rng, shape):
    return rng.uniform(-0.8, 0.8, size=shape)


def normal(rng, shape):
    return rng.normal(size=shape)


def away_from_ints(rng, shape):
    return rng.uniform(0.1, 0.4, size=shape) + rng.integers(-3, 3, size=shape)


def distinct(rng, shape):  # no ties, for max/min/sort-like ops
    n = int(np.prod(shape)) if shape else 1
    return (rng.permutation(n).reshape(shape) * 0.37 + 0.1).astype(np.float64)


# (name, ours, jax's, arg generators)
UNARY = [("neg", P.neg, lax.neg, normal), ("sin", P.sin, lax.sin, normal),
         ("cos", P.cos, lax.cos, normal), ("tan", P.tan, lax.tan, unit),
         ("tanh", P.tanh, lax.tanh, normal), ("exp", P.exp, lax.exp, normal),
         ("exp2", P.exp2, lax.exp2, normal), ("log", P.log, lax.log, pos),
         ("log2", P.log2, getattr(lax, "log2", lambda x: lax.log(x) / np.log(2.0)), pos),
         ("one_minus_square", P.one_minus_square,
          getattr(lax, "one_minus_square", lambda x: (1.0 + x) * (1.0 - x)), unit),
         ("log1p", P.log1p, lax.log1p, pos), ("expm1", P.expm1, lax.expm1, normal),
         ("sqrt", P.sqrt, lax.sqrt, pos), ("rsqrt", P.rsqrt, lax.rsqrt, pos),
         ("cbrt", P.cbrt, lax.cbrt, pos), ("asin", P.asin, lax.asin, unit),
         ("acos", P.acos, lax.acos, unit), ("atan", P.atan, lax.atan, normal),
         ("sinh", P.sinh, lax.sinh, normal), ("cosh", P.cosh, lax.cosh, normal),
         ("asinh", P.asinh, lax.asinh, normal), ("acosh", P.acosh, lax.acosh, lambda r, s: pos(r, s) + 1.0),
         ("atanh", P.atanh, lax.atanh, unit), ("logistic", P.logistic, lax.logistic, normal),
         ("erf", P.erf, lax.erf, normal), ("erfc", P.erfc, lax.erfc, normal),
         ("erf_inv", P.erf_inv, lax.erf_inv, unit), ("square", P.square, lax.square, normal),
         ("reciprocal", P.reciprocal, lax.reciprocal, pos), ("abs", P.abs, lax.abs, pos),
         ("integer_pow3", lambda x: P.integer_pow(x, 3), lambda x: lax.integer_pow(x, 3), normal),
         ("reduce_sum", lambda x: P.reduce_sum(x, tuple(range(np.ndim(x)))), lambda x: lax.reduce_sum(x, tuple(range(np.ndim(x)))), normal),
         ("reduce_max", lambda x: P.reduce_max(x, tuple(range(np.ndim(x)))), lambda x: lax.reduce_max(x, tuple(range(np.ndim(x)))), distinct),
         ("reduce_prod", lambda x: P.reduce_prod(x, tuple(range(np.ndim(x)))), lambda x: lax.reduce_prod(x, tuple(range(np.ndim(x)))), pos),
         ("cumsum", lambda x: P.cumsum(x, 0) if np.ndim(x) else x, lambda x: lax.cumsum(x, 0) if np.ndim(x) else x, normal),
         ("cumprod", lambda x: P.cumprod(x, 0) if np.ndim(x) else x, lambda x: lax.cumprod(x, 0) if np.ndim(x) else x, pos),
         ("cummax", lambda x: P.cummax(x, 0) if np.ndim(x) else x, lambda x: lax.cummax(x, 0) if np.ndim(x) else x, distinct),
         ("sort", lambda x: P.sort(x) if np.ndim(x) else x, lambda x: lax.sort(x) if np.ndim(x) else x, distinct),
         ("rev", lambda x: P.rev(x, tuple(range(np.ndim(x)))), lambda x: lax.rev(x, tuple(range(np.ndim(x)))), normal),
         ("transpose", lambda x: P.transpose(x, tuple(reversed(range(np.ndim(x))))), lambda x: lax.transpose(x, tuple(reversed(range(np.ndim(x))))), normal),
         ("reshape", lambda x: P.reshape(x, (int(np.size(x)),)), lambda x: lax.reshape(x, (int(np.size(x)),)), normal),
         ("broadcast_in_dim", lambda x: P.broadcast_in_dim(x, (2,) + np.shape(x), tuple(range(1, np.ndim(x) + 1))), lambda x: lax.broadcast_in_dim(x, (2,) + np.shape(x), tuple(range(1, np.ndim(x) + 1))), normal),
         ("pad", lambda x: P.pad(x, 0.0, [(1, 2, 1)] * np.ndim(x)), lambda x: lax.pad(x, 0.0, [(1, 2, 1)] * np.ndim(x)), normal),
         ("convert_f32", lambda x: P.convert_element_type(x, np.float32), lambda x: lax.convert_element_type(x, np.float32), normal),
         ("stop_gradient_mix", lambda x: P.mul(x, P.stop_gradient(x)), lambda x: lax.mul(x, lax.stop_gradient(x)), normal)]

BINARY = [("add", P.add, lax.add, normal, normal), ("sub", P.sub, lax.sub, normal, normal),
          ("mul", P.mul, lax.mul, normal, normal), ("div", P.div, lax.div, normal, pos),
          ("pow", P.pow, lax.pow, pos, normal), ("atan2", P.atan2, lax.atan2, normal, pos),
          ("max", P.max, lax.max, distinct, lambda r, s: distinct(r, s) + 0.05),
          ("min", P.min, lax.min, distinct, lambda r, s: distinct(r, s) + 0.05),
          ("rem", P.rem, lax.rem, lambda r, s: pos(r, s) * 3, lambda r, s: np.full(s, 0.7)),
          ("select_n", lambda a, b: P.select_n(P.lt(a, b), a, b), lambda a, b: lax.select_n(lax.lt(a, b), a, b), distinct, lambda r, s: distinct(r, s) + 0.05),
          ("concatenate", lambda a, b: P.concatenate([a, b], 0) if np.ndim(a) else P.add(a, b), lambda a, b: lax.concatenate([a, b], 0) if np.ndim(a) else lax.add(a, b), normal, normal)]


def _args(gens, shape, seed):
    rng = np.random.default_rng(seed)
    return [np.asarray(g(rng, shape), np.float64) for g in gens]




def _last(x):
    return max(np.ndim(x) - 1, 0)


_DN = lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,))
_SDN = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
                                   scatter_dims_to_operand_dims=(0,))
_IDX = np.array([[2], [0], [2]], np.int32)


def _flat(x):
    return np.reshape(x, (-1,)) if np.ndim(x) else np.reshape(x, (1,))


# more primitives: contractions, slicing, indexing, other reductions and scans
UNARY += [
    ("dot_general", lambda x: P.dot_general(x, x, (((tuple(range(np.ndim(x)))), tuple(range(np.ndim(x)))), ((), ()))),
     lambda x: lax.dot_general(x, x, (((tuple(range(np.ndim(x)))), tuple(range(np.ndim(x)))), ((), ()))), normal),
    ("slice", lambda x: P.slice(x, (0,) * np.ndim(x), np.shape(x)) if np.ndim(x) == 0 else P.slice(x, (0,) * np.ndim(x), tuple(max(d - 1, 1) for d in np.shape(x))),
     lambda x: lax.slice(x, (0,) * np.ndim(x), np.shape(x)) if np.ndim(x) == 0 else lax.slice(x, (0,) * np.ndim(x), tuple(max(d - 1, 1) for d in np.shape(x))), normal),
    ("expand_squeeze", lambda x: P.squeeze(P.expand_dims(x, (0,)), (0,)), lambda x: lax.squeeze(lax.expand_dims(x, (0,)), (0,)), normal),
    ("dynamic_slice", lambda x: P.dynamic_slice(x, (1,) * np.ndim(x), (1,) * np.ndim(x)),
     lambda x: lax.dynamic_slice(x, (1,) * np.ndim(x), (1,) * np.ndim(x)), normal),
    ("reduce_min", lambda x: P.reduce_min(x, tuple(range(np.ndim(x)))), lambda x: lax.reduce_min(x, tuple(range(np.ndim(x)))), distinct),
    ("cummin", lambda x: P.cummin(x, _last(x)) if np.ndim(x) else x, lambda x: lax.cummin(x, _last(x)) if np.ndim(x) else x, distinct),
    ("cumlogsumexp", lambda x: P.cumlogsumexp(x, _last(x)) if np.ndim(x) else x, lambda x: lax.cumlogsumexp(x, _last(x)) if np.ndim(x) else x, normal),
    ("gather", lambda x: P.gather(_flat(x), _IDX % max(np.size(x), 1), _DN, (1,)), lambda x: lax.gather(jnp_flat(x), _IDX % max(np.size(x), 1), _DN, (1,)), normal),
    ("clamp", lambda x: P.clamp(-0.5, x, 0.5), lambda x: lax.clamp(-0.5, x, 0.5), unit),
]
BINARY += [
    ("dynamic_update_slice", lambda a, b: P.dynamic_update_slice(a, P.mul(b, 2.0)[tuple(slice(0, 1) for _ in np.shape(b))] if np.ndim(b) else P.mul(b, 2.0), (0,) * np.ndim(a)),
     lambda a, b: lax.dynamic_update_slice(a, lax.mul(b, 2.0)[tuple(slice(0, 1) for _ in np.shape(b))] if np.ndim(b) else lax.mul(b, 2.0), (0,) * np.ndim(a)), normal, normal),
    ("scatter_add", lambda a, b: P.scatter_add(_flat(a), _IDX % max(np.size(a), 1), P.broadcast_in_dim(P.reduce_sum(b, tuple(range(np.ndim(b)))), (3,), ()), _SDN),
     lambda a, b: lax.scatter_add(jnp_flat(a), _IDX % max(np.size(a), 1), lax.broadcast_in_dim(lax.reduce_sum(b, tuple(range(np.ndim(b)))), (3,), ()), _SDN), normal, normal),
    ("conv", lambda a, b: P.conv_general_dilated(P.reshape(a, (1, 1, int(np.size(a)))), P.reshape(b, (1, 1, int(np.size(b)))), (1,), "SAME"),
     lambda a, b: lax.conv_general_dilated(lax.reshape(a, (1, 1, int(np.size(a)))), lax.reshape(b, (1, 1, int(np.size(b)))), (1,), "SAME"), normal, normal),
]

def _uidx(a):  # unique in-bounds indices (scatter / scatter_mul transposes need them)
    return np.array([[2], [0]] if np.size(a) > 2 else [[0]], np.int32)
BINARY += [
    ("scatter", lambda a, b: P.scatter(_flat(a), _uidx(a), P.broadcast_in_dim(P.reduce_sum(b, tuple(range(np.ndim(b)))), (len(_uidx(a)),), ()), _SDN, unique_indices=True),
     lambda a, b: lax.scatter(jnp_flat(a), _uidx(a), lax.broadcast_in_dim(lax.reduce_sum(b, tuple(range(np.ndim(b)))), (len(_uidx(a)),), ()), _SDN, unique_indices=True), normal, normal),
    ("scatter_mul", lambda a, b: P.scatter_mul(_flat(a), _uidx(a), P.broadcast_in_dim(P.reduce_sum(b, tuple(range(np.ndim(b)))), (len(_uidx(a)),), ()), _SDN, unique_indices=True),
     lambda a, b: lax.scatter_mul(jnp_flat(a), _uidx(a), lax.broadcast_in_dim(lax.reduce_sum(b, tuple(range(np.ndim(b)))), (len(_uidx(a)),), ()), _SDN, unique_indices=True), normal, normal),
]
UNARY += [
    ("top_k", lambda x: P.top_k(_flat(x), 1)[0], lambda x: lax.top_k(jnp_flat(x), 1)[0], distinct),
    ("reduce_precision", lambda x: P.reduce_precision(x, 11, 52), lambda x: lax.reduce_precision(x, 11, 52), normal),
]


def jnp_flat(x):
    import jax.numpy as jnp
    return jnp.reshape(x, (-1,)) if np.ndim(x) else jnp.reshape(x, (1,))


CASES = [(n, o, t, g) for n, o, t, g in UNARY] + [(n, o, t, (g1, g2)) for n, o, t, g1, g2 in BINARY]


def _gens(g):
    return g if isinstance(g, tuple) else (g,)


# convert to f32 loses the f64 precision finite differences need; stop_gradient's
# derivative is by definition not the numerical one (both are checked against jax below)
FD_CASES = [c for c in CASES if c[0] not in ("convert_f32", "stop_gradient_mix")]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,ours,theirs,gens", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_finite_differences_orders_1_and_2(x64, name, ours, theirs, gens, shape):
    args = _args(_gens(gens), shape, 0)
    order = 1 if name in ("reduce_max", "cummax", "sort", "max", "min", "select_n", "abs", "rem",
                         "reduce_min", "cummin", "clamp", "top_k") else 2
    check_grads_numerically(ours, args, order=order, eps=1e-5, rtol=1e-4, atol=1e-6)


def test_jvp_and_vjp_equal_jax():
    """Every case's jvp and vjp (eagerly, case by case) vs JAX's, computed for all
    cases in one jax.jit (one compile instead of one per op of every case)."""
    from transforms import jvp, vjp
    cases = {}
    for name, ours, theirs, gens in CASES:
        args = [a.astype(np.float32) for a in _args(_gens(gens), (2, 3), 1)]
        tangents = [a.astype(np.float32) for a in _args([normal] * len(args), (2, 3), 2)]
        ct = np.ones(jax.eval_shape(theirs, *args).shape, np.float32)
        cases[name] = (ours, theirs, tuple(args), tuple(tangents), ct)

    def jax_side(inputs):
        out = {}
        for name, (_, theirs, _, _, _) in cases.items():
            args, tangents, ct = inputs[name]
            out[name] = jax.jvp(theirs, args, tangents), jax.vjp(theirs, *args)[1](ct)
        return out
    expected = jax.jit(jax_side)({n: (a, t, ct) for n, (_, _, a, t, ct) in cases.items()})
    failures = []
    for name, (ours, _, args, tangents, ct) in cases.items():
        try:
            exp_jvp, exp_ct = expected[name]
            assert_trees_close(jvp(ours, args, tangents), exp_jvp, rtol=1e-5, atol=1e-5,
                               what="jvp")
            out, f_vjp = vjp(ours, *args)
            assert_trees_close(f_vjp(ct), exp_ct, rtol=1e-5, atol=1e-5, what="vjp")
        except Exception as e:
            failures.append(f"[{name}] {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)
