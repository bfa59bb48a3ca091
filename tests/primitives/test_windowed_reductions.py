"""reduce_window (sum / max / min / generic) against jax.lax: values, dtypes,
grads (ties included), jvp, transpose, vmap vs a loop, finite differences,
errors, and pooling under grad + vmap + jit."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp
from jax import lax

import primitives as P
import transforms as T
from fx.errors import FxTypeError
from oracle import (assert_cases_jvp_matches, assert_cases_same_as_jax,
                    assert_cases_transpose_matches, assert_trees_close, assert_vmap_matches_loop,
                    check_grads_numerically)

SHAPE = (2, 5, 6)
# (name, window_dimensions, reduce_window keyword arguments)
WINDOWS = [
    ("valid", (1, 2, 2), dict(window_strides=(1, 1, 1), padding="VALID")),
    ("same_strided", (1, 3, 2), dict(window_strides=(1, 2, 1), padding="SAME")),
    ("same_lower", (2, 2, 3), dict(window_strides=(1, 2, 2), padding="SAME_LOWER")),
    ("pairs", (1, 2, 3), dict(window_strides=(1, 1, 2), padding=((0, 1), (1, 2), (2, 0)))),
    ("default_strides", (1, 2, 2), dict(padding=((0, 0), (1, 0), (0, 1)))),
    ("base_dilation", (1, 2, 3), dict(window_strides=(1, 2, 1),
                                      padding=((0, 0), (1, 1), (0, 1)),
                                      base_dilation=(1, 3, 2))),
    ("window_dilation", (1, 2, 2), dict(window_strides=(1, 1, 2), padding="SAME",
                                        window_dilation=(1, 2, 1))),
    ("both_dilations", (1, 2, 2), dict(window_strides=(1, 1, 1), padding=((0, 0), (2, 1), (1, 1)),
                                       base_dilation=(1, 1, 2), window_dilation=(1, 2, 1))),
]
# (our computation, jax's, init value)
MONOIDS = {"sum": (P.add, lax.add, 0.0), "max": (P.max, lax.max, -np.inf),
           "min": (P.min, lax.min, np.inf)}


def _ties(shape, seed=0):
    """Small integers as floats: most windows hold tied extrema."""
    return np.random.default_rng(seed).integers(-2, 3, shape).astype(np.float32)


def _distinct(shape, seed=0):
    """A permutation of spread-out values: no ties (finite differences are valid)."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n).reshape(shape) * 0.37 - 3.0)


def _fns(kind, dims, kw):
    ours, theirs, init = MONOIDS[kind]
    return (lambda x: P.reduce_window(x, init, ours, dims, **kw),
            lambda x: lax.reduce_window(x, init, theirs, dims, **kw))


def _generic_fns(dims, kw):
    """A product (no monoid primitive): the generic reduce_window."""
    return (lambda x: P.reduce_window(x, 1.0, P.mul, dims, **kw),
            lambda x: lax.reduce_window(x, 1.0, lax.mul, dims, **kw))


def test_reduce_window_values_match_lax():
    """Every window config x sum/max/min/generic, on tied values; eagerly, then all
    in one jit and one typechecked Graph."""
    x = _ties(SHAPE)
    cases = [(f"{kind}-{name}", *_fns(kind, dims, kw), (x,))
             for name, dims, kw in WINDOWS for kind in MONOIDS]
    cases += [(f"prod-{name}", *_generic_fns(dims, kw), (x * 0.5,)) for name, dims, kw in WINDOWS]
    xi = (x * 3).astype(np.int32)
    extras = [
        ("max-int32", lambda v: P.reduce_window(v, -2 ** 31, P.max, (1, 2, 2), (1, 1, 1), "SAME"),
         lambda v: lax.reduce_window(v, -2 ** 31, lax.max, (1, 2, 2), (1, 1, 1), "SAME"), (xi,)),
        ("sum-int32", lambda v: P.reduce_window(v, 0, P.add, (1, 3, 2), (1, 2, 1), "VALID"),
         lambda v: lax.reduce_window(v, 0, lax.add, (1, 3, 2), (1, 2, 1), "VALID"), (xi,)),
        ("sum-bf16", *_fns("sum", (1, 2, 3), dict(window_strides=(1, 1, 1), padding="SAME")),
         (x.astype(jnp.bfloat16),)),
        ("max-bool", lambda v: P.reduce_window(v, False, P.max, (1, 2, 2), (1, 1, 1), "VALID"),
         lambda v: lax.reduce_window(v, False, lax.max, (1, 2, 2), (1, 1, 1), "VALID"),
         (x > 0,)),
        ("generic-variadic", lambda a, b: P.reduce_window(
            (a, b), (-np.inf, 0.0), lambda l, r: (P.max(l[0], r[0]), P.add(l[1], r[1])),
            (1, 2, 2), (1, 1, 1), "SAME"),
         lambda a, b: lax.reduce_window(
             (a, b), (-np.inf, 0.0), lambda l, r: (lax.max(l[0], r[0]), lax.add(l[1], r[1])),
             (1, 2, 2), (1, 1, 1), "SAME"), (x, x * 2)),
        ("jax-lax-add-dispatch", lambda v: P.reduce_window(v, 0.0, lax.add, (1, 2, 2)),
         lambda v: lax.reduce_window(v, 0.0, lax.add, (1, 2, 2)), (x,)),
    ]
    eager = {c[0] for c in cases if c[0].endswith(("-valid", "-base_dilation"))}
    assert_cases_same_as_jax(cases + extras, eager=eager | {c[0] for c in extras})


def test_monoids_bind_their_primitives():
    import fx
    x = _ties(SHAPE)
    for kind, prim in (("sum", P.reduce_window_sum_p), ("max", P.reduce_window_max_p),
                       ("min", P.reduce_window_min_p)):
        g = fx.make_graph(_fns(kind, (1, 2, 2), dict(window_strides=(1, 1, 1),
                                                     padding="SAME"))[0])(x)
        assert [e.primitive for e in g.graph.equations] == [prim]
    g = fx.make_graph(lambda v: P.reduce_window(v, 1.0, P.max, (1, 2, 2)))(x)  # not the identity
    assert [e.primitive for e in g.graph.equations] == [P.reduce_window_p]


def test_grads_match_jax_with_ties():
    """jax.grad of a weighted sum of every config x sum/max/min (ties go where JAX
    sends them), ours all in one transforms.jit, two cases eagerly too; window
    dilation with max/min raises NotImplementedError in both."""
    x = _ties(SHAPE)
    ours, theirs, failing = {}, {}, []
    for name, dims, kw in WINDOWS:
        for kind in MONOIDS:
            o, t = _fns(kind, dims, kw)
            w = np.random.default_rng(len(ours)).standard_normal(
                jax.eval_shape(t, x).shape).astype(np.float32)
            if kind != "sum" and "window_dilation" in kw:
                failing.append((o, t, w))
                continue
            ours[f"{kind}-{name}"] = lambda v, o=o, w=w: T.grad(lambda y: P.reduce_sum(
                P.mul(o(y), w), tuple(range(3))))(v)
            theirs[f"{kind}-{name}"] = lambda v, t=t, w=w: jax.grad(lambda y: jnp.sum(t(y) * w))(v)
    expected = jax.jit(lambda v: {k: f(v) for k, f in theirs.items()})(x)
    got = T.jit(lambda v: {k: f(v) for k, f in ours.items()})(x)
    assert_trees_close(got, expected, 1e-6, 1e-6, what="grad (jit)")
    for key in ("max-base_dilation", "sum-both_dilations"):
        assert_trees_close(ours[key](x), expected[key], 1e-6, 1e-6, what=f"grad {key} (eager)")
    assert len(failing) == 4
    for o, t, w in failing[:2]:
        with pytest.raises(NotImplementedError, match="window dilation"):
            jax.grad(lambda y: jnp.sum(t(y) * w))(x)
        with pytest.raises(NotImplementedError, match="window dilation"):
            T.grad(lambda y: P.reduce_sum(P.mul(o(y), w), (0, 1, 2)))(x)


def test_jvp_matches_jax():
    """Forward mode for every config x sum/max/min/generic (window dilation included)."""
    x, t = _ties(SHAPE), _ties(SHAPE, 1) * 0.3
    cases = [(f"{kind}-{name}", *_fns(kind, dims, kw), (x,), (t,))
             for name, dims, kw in WINDOWS for kind in MONOIDS]
    cases += [(f"prod-{name}", *_generic_fns(dims, kw), (x * 0.5,), (t,))
              for name, dims, kw in WINDOWS[:3]]
    assert_cases_jvp_matches(cases, rtol=1e-5, atol=1e-5, eager_every=9)


def test_sum_transpose_matches_jax():
    x = _ties(SHAPE)
    cases = []
    for name, dims, kw in WINDOWS:
        o, t = _fns("sum", dims, kw)
        ct = _ties(jax.eval_shape(t, x).shape, 2)
        cases.append((name, o, t, (x,), ct))
    assert_cases_transpose_matches(cases, eager_every=4)


def test_vmap_matches_loop():
    """Every config x sum/max/min/generic under vmap (batch axis 1), and its grad
    per example, against a loop: one jit each."""
    xs = np.stack([_ties(SHAPE, s) for s in range(3)], axis=1)

    def all_configs(x):
        out = {f"{k}-{n}": _fns(k, d, kw)[0](x) for n, d, kw in WINDOWS for k in MONOIDS}
        out.update({f"prod-{n}": _generic_fns(d, kw)[0](x) for n, d, kw in WINDOWS})
        out["grad-max"] = T.grad(lambda y: P.reduce_sum(_fns("max", *WINDOWS[1][1:])[0](y) ** 2,
                                                        (0, 1, 2)))(x)
        out["grad-sum"] = T.grad(lambda y: P.reduce_sum(_fns("sum", *WINDOWS[5][1:])[0](y) ** 2,
                                                        (0, 1, 2)))(x)
        return out

    assert_vmap_matches_loop(all_configs, 1, xs, jit=True)
    # eagerly, one config per primitive (the batch rules outside jit)
    assert_vmap_matches_loop(_fns("min", *WINDOWS[2][1:])[0], 1, xs)
    assert_vmap_matches_loop(_generic_fns(*WINDOWS[3][1:])[0], 0, xs)


def test_finite_differences_orders_1_and_2(x64):
    """The new primitives' rules (sum, max/min through select_and_gather_add and
    select_and_scatter_add, the generic jvp) to order 2, on tie-free inputs."""
    x = _distinct(SHAPE)
    # windows that always hold an element (no infinite identities in the outputs)
    for kind, (name, dims, kw) in zip(MONOIDS, (WINDOWS[5], WINDOWS[1], WINDOWS[2])):
        f = _fns(kind, dims, kw)[0]
        check_grads_numerically(lambda v: P.mul(f(v), f(v)), (x,), order=2, eps=1e-6,
                                    rtol=1e-5, atol=1e-6)
    g = _generic_fns(*WINDOWS[1][1:])[0]
    check_grads_numerically(g, (x * 0.3,), order=2, modes=("fwd",), eps=1e-6, rtol=1e-5,
                            atol=1e-6)


def test_generic_reduce_window_reverse_mode_and_errors():
    x = _ties(SHAPE)
    prod = _generic_fns((1, 2, 2), dict(window_strides=(1, 1, 1), padding="VALID"))[0]
    with pytest.raises(NotImplementedError, match="no reverse-mode rule"):
        T.grad(lambda v: P.reduce_sum(prod(v), (0, 1, 2)))(x)
    with pytest.raises(NotImplementedError, match="close over tracers"):
        T.jit(lambda v, c: P.reduce_window(v, 0.0, lambda a, b: P.add(a, P.mul(b, c)),
                                           (1, 2, 2)))(x, 2.0)
    # a captured constant is fine (as in JAX)
    c = np.float32(2.0)
    got = P.reduce_window(x, 0.0, lambda a, b: P.add(a, P.mul(b, c)), (1, 2, 2))
    np.testing.assert_allclose(got, lax.reduce_window(x, 0.0, lambda a, b: a + b * c, (1, 2, 2)))
    with pytest.raises(NotImplementedError, match="initial values"):
        T.vmap(lambda v, i: P.reduce_window(v, i, P.mul, (1, 2, 2)))(np.stack([x, x]),
                                                                      np.ones(2, np.float32))
    with pytest.raises(FxTypeError, match="inconsistent dtypes"):
        P.reduce_window(x, np.int32(1), P.mul, (1, 2, 2))
    with pytest.raises(FxTypeError, match="wrong number of window_dimensions"):
        P.reduce_window(x, 0.0, P.add, (2, 2))
    with pytest.raises(FxTypeError, match="window_strides=.* inconsistent"):
        P.reduce_window(x, -np.inf, P.max, (1, 2, 2), (1, 1))
    with pytest.raises(FxTypeError, match="strictly positive"):
        P.reduce_window(x, 0.0, P.add, (1, 0, 2))
    with pytest.raises(RuntimeError, match="Unrecognized padding type"):
        P.reduce_window(x, 0.0, P.add, (1, 2, 2), (1, 1, 1), "FULL")
    with pytest.raises(ValueError, match="same tree structure"):
        P.reduce_window((x, x), 0.0, P.add, (1, 2, 2))
    with pytest.raises(FxTypeError, match="reduce_window_sum does not accept|bool"):
        P.reduce_window(x > 0, False, P.add, (1, 2, 2))


def test_shape_utilities_match_lax():
    for shape, dims, strides, pads, bd, wd in [
            ((5, 6), (2, 3), (1, 2), ((0, 1), (2, 0)), None, None),
            ((5, 6), (2, 2), (2, 1), ((1, 1), (0, 0)), (2, 1), (1, 3)),
            ((7,), (3,), (3,), ((0, 0),), (1,), (2,))]:
        assert P.reduce_window_shape_tuple(shape, dims, strides, pads, bd, wd) == tuple(
            lax.reduce_window_shape_tuple(shape, dims, strides, pads, bd, wd))
    for padding in ("SAME", "SAME_LOWER", "VALID", "same"):
        for in_shape, window, strides in [((5, 6), (2, 3), (1, 2)), ((7, 4), (4, 1), (3, 3))]:
            assert P.padtype_to_pads(in_shape, window, strides, padding) == [
                tuple(int(v) for v in p) for p in lax.padtype_to_pads(in_shape, window, strides,
                                                                      padding)]


def test_pooling_per_example_grads_under_jit():
    """avg_pool / max_pool in NHWC, per-example grads (vmap of grad) under jit."""
    x = _ties((3, 1, 6, 6, 2))
    w = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)

    def loss(red, add, mx, dot, mean):
        def f(w, x):
            avg = red(x, 0.0, add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID") / 4.0
            mxp = red(x, -np.inf, mx, (1, 3, 3, 1), (1, 2, 2, 1), "SAME")
            return mean(dot(avg, w) ** 2) + mean(dot(mxp, w) ** 2)
        return f

    ours = T.jit(T.vmap(T.grad(loss(P.reduce_window, P.add, P.max, lambda a, b: a @ b,
                                    lambda v: v.mean()), argnums=(0, 1)), in_axes=(None, 0)))
    theirs = jax.jit(jax.vmap(jax.grad(loss(lax.reduce_window, lax.add, lax.max,
                                            lambda a, b: a @ b, jnp.mean), argnums=(0, 1)),
                              in_axes=(None, 0)))
    assert_trees_close(ours(w, x), theirs(w, x), 1e-5, 1e-5, what="per-example pooling grads")
