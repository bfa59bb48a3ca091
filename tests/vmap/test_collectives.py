"""Collectives over vmap's named axes against jax.vmap(..., axis_name=...):
values, dtypes, nested axes, jit, autodiff through them, lowering and errors."""
from __future__ import annotations

import numpy as np
import pytest
import jax
import jax.numpy as jnp
from jax import lax

import fx
import primitives as P
import primitives.numpy as fnp
from fx.axis_env import extend_axis_env
from oracle import assert_trees_close
from transforms import grad, jit, vmap

X = np.arange(24, dtype=np.float32).reshape(3, 2, 4) * 0.5 - 3.0
PERM = ((0, 1), (1, 2), (2, 0))


def _both(name, **kw):
    return (lambda x: getattr(P, name)(x, "i", **kw), lambda x: getattr(lax, name)(x, "i", **kw))


# (id, ours, theirs, arg) — the collective is over the vmapped axis "i"
CASES = [
    *[(n, *_both(n), X) for n in ("psum", "pmean", "pmax", "pmin")],
    ("psum_int", *_both("psum"), X.astype(np.int32)),
    ("pmean_int", *_both("pmean"), X.astype(np.int32)),
    ("pmax_int", *_both("pmax"), X.astype(np.int32)),
    ("psum_pytree", lambda x: P.psum({"a": x, "b": (x * 2,)}, "i"),
     lambda x: lax.psum({"a": x, "b": (x * 2,)}, "i"), X),
    ("psum_python_scalar", lambda x: P.psum(1, "i") + x, lambda x: lax.psum(1, "i") + x, X),
    ("psum_unbatched_operand", lambda x: x + P.psum(np.float32(2.0), "i"),
     lambda x: x + lax.psum(np.float32(2.0), "i"), X),
    ("normalize", lambda x: x / P.psum(x * x, "i"), lambda x: x / lax.psum(x * x, "i"), X),
    ("axis_index", lambda x: P.axis_index("i") * x, lambda x: lax.axis_index("i") * x, X),
    ("all_gather", *_both("all_gather"), X),
    ("all_gather_axis1", *_both("all_gather", axis=1), X),
    ("all_gather_neg_axis", *_both("all_gather", axis=-1), X),
    ("all_gather_tiled", *_both("all_gather", axis=1, tiled=True), X),
    ("psum_scatter", *_both("psum_scatter"), np.ones((3, 3, 2), np.float32) * X[:, :1, :2]),
    ("psum_scatter_dim1_tiled", *_both("psum_scatter", scatter_dimension=1, tiled=True),
     np.tile(X, (1, 1, 3))[:, :, :6]),
    ("ppermute", *_both("ppermute", perm=PERM), X),
    ("all_to_all_00", lambda x: P.all_to_all(x, "i", 0, 0), lambda x: lax.all_to_all(x, "i", 0, 0),
     np.arange(18, dtype=np.float32).reshape(3, 3, 2)),
    ("all_to_all_01", lambda x: P.all_to_all(x, "i", 0, 1), lambda x: lax.all_to_all(x, "i", 0, 1),
     np.arange(18, dtype=np.float32).reshape(3, 3, 2)),
    ("all_to_all_10_tiled", lambda x: P.all_to_all(x, "i", 1, 0, tiled=True),
     lambda x: lax.all_to_all(x, "i", 1, 0, tiled=True),
     np.arange(36, dtype=np.float32).reshape(3, 2, 6)),
    ("all_to_all_11_tiled", lambda x: P.all_to_all(x, "i", 1, 1, tiled=True),
     lambda x: lax.all_to_all(x, "i", 1, 1, tiled=True),
     np.arange(36, dtype=np.float32).reshape(3, 2, 6)),
]


# the per-lane shapes of the psum_scatter / all_to_all cases need in_axes=0
PARAMS = [pytest.param(*c, ia, id=f"{c[0]}-in_axes{ia}") for c in CASES for ia in (0, 1)
          if ia == 0 or not c[0].startswith(("psum_scatter", "all_to_all"))]


@pytest.mark.parametrize("name,ours,theirs,x,in_axes", PARAMS)
def test_collective_over_vmap_axis(name, ours, theirs, x, in_axes):
    if in_axes == 1:
        x = np.moveaxis(x, 0, 1).copy()
    exp = jax.jit(jax.vmap(theirs, in_axes=in_axes, axis_name="i"))(x)  # one compile
    assert_trees_close(vmap(ours, in_axes=in_axes, axis_name="i")(x), exp, what=f"{name} eager")
    assert_trees_close(jit(vmap(ours, in_axes=in_axes, axis_name="i"))(x), exp,
                       what=f"{name} jit")


def test_out_axes_with_collectives():
    f = lambda x: (P.psum(x, "i"), x - P.pmean(x, "i"))  # noqa: E731
    g = lambda x: (lax.psum(x, "i"), x - lax.pmean(x, "i"))  # noqa: E731
    assert_trees_close(vmap(f, axis_name="i", out_axes=(None, 1))(X),
                       jax.vmap(g, axis_name="i", out_axes=(None, 1))(X))


def test_nested_vmaps_with_different_axis_names():
    y = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

    def body(ns, x):
        return (ns.psum(x, ("i", "j")) + ns.axis_index(("i", "j")) + ns.psum(x, "j") *
                ns.axis_index("i") - ns.pmax(x, "i") + ns.all_gather(x, "j").sum(0))

    ours = lambda x: body(P, x)  # noqa: E731
    theirs = lambda x: body(lax, x)  # noqa: E731
    for ia_outer, ia_inner in [(0, 0), (2, 1), (1, 0)]:
        got = vmap(vmap(ours, in_axes=ia_inner, axis_name="j"), in_axes=ia_outer, axis_name="i")(y)
        exp = jax.jit(jax.vmap(jax.vmap(theirs, in_axes=ia_inner, axis_name="j"),
                               in_axes=ia_outer, axis_name="i"))(y)
        assert_trees_close(got, exp, what=f"in_axes {ia_outer}, {ia_inner}")
    # an unnamed vmap between the named one and the collective passes it through
    got = vmap(vmap(lambda x: P.psum(x, "i")), axis_name="i")(y)
    exp = jax.vmap(jax.vmap(lambda x: lax.psum(x, "i")), axis_name="i")(y)
    assert_trees_close(got, exp, what="unnamed inner vmap")
    # shadowing: the inner binding of a name wins
    got = vmap(vmap(lambda x: P.psum(x, "i"), axis_name="i"), axis_name="i")(y)
    exp = jax.vmap(jax.vmap(lambda x: lax.psum(x, "i"), axis_name="i"), axis_name="i")(y)
    assert_trees_close(got, exp, what="shadowed name")


GRAD_CASES = [
    ("psum_sq", lambda ns, x: (ns.psum(x, "i") ** 2).sum()),
    ("pmean_mul", lambda ns, x: (ns.pmean(x * x, "i") * x).sum()),
    ("all_gather", lambda ns, x: (ns.all_gather(x, "i") ** 2 * np.arange(3, dtype=np.float32)[:, None]).sum()),
    ("all_gather_tiled", lambda ns, x: ns.sin(ns.all_gather(x, "i", tiled=True)).sum()),
    ("ppermute", lambda ns, x: (ns.ppermute(x, "i", PERM) * x ** 2).sum()),
    ("psum_scatter", lambda ns, x: (ns.psum_scatter(x.reshape(3, 1), "i") ** 3).sum()),
    ("all_to_all", lambda ns, x: (ns.all_to_all(x.reshape(3, 1), "i", 0, 1) ** 2 *
                                  np.arange(3, dtype=np.float32)).sum()),
]


@pytest.mark.parametrize("name,f", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_autodiff_through_collectives(name, f):
    lane = 3 if name in ("psum_scatter", "all_to_all") else 2
    x = np.linspace(-1.0, 2.0, 3 * lane, dtype=np.float32).reshape(3, lane)
    ours = lambda v: f(P, v)  # noqa: E731
    theirs = lambda v: f(lax, v)  # noqa: E731
    # JAX's vmap(grad) and grad(vmap) in one jax.jit (one compile)
    exp_vmap_grad, exp_grad_vmap = jax.jit(lambda x: (
        jax.vmap(jax.grad(theirs), axis_name="i")(x),
        jax.grad(lambda v: jnp.sum(jax.vmap(theirs, axis_name="i")(v)))(x)))(x)
    # vmap of grad (per-lane gradients; psum's transpose is psum, as in JAX)
    assert_trees_close(vmap(grad(ours), axis_name="i")(x), exp_vmap_grad, 1e-5, 1e-5,
                       what="vmap(grad)")
    # grad of vmap
    assert_trees_close(grad(lambda v: fnp.sum(vmap(ours, axis_name="i")(v)))(x), exp_grad_vmap,
                       1e-5, 1e-5, what="grad(vmap)")


def test_jit_graph_of_named_vmap_has_no_collective():
    g = fx.make_graph(vmap(lambda x: x / P.psum(x, "i") + P.axis_index("i"), axis_name="i"))(X)
    names = {e.primitive.name for e in g.graph.equations}
    assert not names & {"psum", "axis_index"}, names
    fx.typecheck(g)


def test_staged_collective_lowers_under_jax_shard_map():
    """With the axis bound by a jax-level mapping (a frame without a trace), the
    collective is staged; its lowering is jax.lax's, valid inside jax.shard_map."""
    x = np.arange(4, dtype=np.float32)
    with extend_axis_env("d", 1):
        g = fx.make_graph(lambda v: P.psum(v, "d") * 2.0 + P.axis_index("d"))(x)
    assert "psum" in str(g)
    mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("d",))
    spec = jax.sharding.PartitionSpec("d")
    f = jax.shard_map(lambda v: fx.lower_graph(g, v)[0], mesh=mesh, in_specs=spec,
                      out_specs=spec)
    np.testing.assert_allclose(np.asarray(jax.jit(f)(x)), x * 2.0)
    with pytest.raises(NotImplementedError, match=r"psum over axis \('d',\).*lowering"):
        jax.jit(lambda v: fx.lower_graph(g, v)[0])(x)


def test_pmax_has_no_derivative_as_in_jax():
    with pytest.raises(NotImplementedError, match="no jvp rule for pmax"):
        vmap(grad(lambda x: P.pmax(x, "i")), axis_name="i")(np.ones(3, np.float32))


def test_collective_errors():
    with pytest.raises(fx.ShapeError, match=r"psum_scatter: dimension 0 of f32\[2\] must equal "
                                            r"the axis size 3"):
        vmap(lambda x: P.psum_scatter(x, "i"), axis_name="i")(np.ones((3, 2), np.float32))
    with pytest.raises(fx.ShapeError, match=r"ppermute: perm=\(\(0, 3\),\) .* 3 lanes"):
        vmap(lambda x: P.ppermute(x, "i", [(0, 3)]), axis_name="i")(np.ones(3, np.float32))
    with pytest.raises(fx.FxTypeError, match=r"psum requires numeric operands, got bool\[\]"):
        vmap(lambda x: P.psum(x > 0, "i"), axis_name="i")(np.ones(3, np.float32))
    with pytest.raises(fx.ShapeError, match=r"all_gather: axis=2 is out of range .*f32\[\]"):
        vmap(lambda x: P.all_gather(x, "i", axis=2), axis_name="i")(np.ones(3, np.float32))
