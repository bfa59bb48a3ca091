"""The 8-device checks of shard_map / pmap / collectives, run in a process of their own.

``test_shard_map.py`` runs this file once with 8 simulated CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=8``, set before jax
starts); it runs every ``check_*`` function, prints one line per failure
and exits non-zero if any failed. Run it directly to debug:
``python tests/distribution/shard_map_checks.py [name-substring]``.

The reference of a shard_map is a loop over the mesh indices: slice each
argument's block, run the NumPy version of the function, and stitch the
output blocks by the out specs (JAX's shard_map test style).
"""
import os
import re
import sys
import traceback

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_force_host_platform_device_count=8").strip()
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(_HERE)))
sys.path.insert(0, os.path.dirname(_HERE))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P  # noqa: E402

jax.config.update("jax_disable_most_optimizations", True)

import primitives as L  # noqa: E402
import primitives.numpy as fnp  # noqa: E402
import transforms as T  # noqa: E402
from fx.errors import ShapeError, UnboundAxisError  # noqa: E402
from oracle import assert_trees_close  # noqa: E402

DEVICES = jax.devices()
MESHES = [(1,), (2,), (8,), (2, 2), (2, 4), (4, 2)]
NAMES = {1: ("x",), 2: ("x", "y")}


def make_mesh(shape):
    n = int(np.prod(shape))
    return Mesh(np.array(DEVICES[:n]).reshape(shape), NAMES[len(shape)])


# --- the reference: loop over mesh indices -------------------------------------------------
def _entry(e):
    return () if e is None else (tuple(e) if isinstance(e, tuple) else (e,))


def _block_index(entry, pos, sizes):
    k = 0
    for n in _entry(entry):  # row-major over the names (the first is major)
        k = k * sizes[n] + pos[n]
    return k


def _slices(shape_block, spec, pos, sizes):
    sl = [slice(None)] * len(shape_block)
    for d, e in enumerate(spec):
        if _entry(e):
            k = _block_index(e, pos, sizes)
            sl[d] = slice(k * shape_block[d], (k + 1) * shape_block[d])
    return tuple(sl)


def reference(f, mesh, in_specs, out_specs, *args):
    sizes = dict(mesh.shape)
    names = tuple(mesh.axis_names)
    outs = None
    for idx in np.ndindex(*[sizes[n] for n in names]):
        pos = dict(zip(names, idx))
        blocks = []
        for a, s in zip(args, in_specs):
            shape = list(a.shape)
            for d, e in enumerate(s):
                shape[d] //= int(np.prod([sizes[n] for n in _entry(e)]))
            blocks.append(a[_slices(shape, s, pos, sizes)])
        res = f(*blocks)
        res = res if isinstance(res, (tuple, list)) else (res,)
        if outs is None:
            outs = []
            for r, s in zip(res, out_specs):
                shape = list(np.shape(r))
                for d, e in enumerate(s):
                    shape[d] *= int(np.prod([sizes[n] for n in _entry(e)]))
                outs.append(np.zeros(shape, np.asarray(r).dtype))
        for o, r, s in zip(outs, res, out_specs):
            o[_slices(np.shape(r), s, pos, sizes)] = r
    return outs


# --- the functions (ours, NumPy's) and their specs ---------------------------------------
def _np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _fx_scan(x):
    # zeros_like varies as x[0] does (as jax's): a carry that keeps its type under check_vma
    return L.scan(lambda c, r: (c + r, c * r), fnp.zeros_like(x[0]), x)[1]


def _np_scan(x):
    c, ys = np.zeros(x.shape[1:], x.dtype), []
    for r in x:
        ys.append(c * r)
        c = c + r
    return np.stack(ys)


RNG = np.random.RandomState(0)
X = RNG.randn(8, 8).astype(np.float32)
A = RNG.randn(8, 16).astype(np.float32)
B = RNG.randn(16, 8).astype(np.float32)


def _spec_sets(names):
    """Per mesh, a few (in specs, out specs) sets covering every function; one
    program per set: the body computes every function on (X, A, B)."""
    a, b = names[0], names[-1]
    two = a != b
    un = [(P(a), P(a)), (P(None, a), P(None, a)), (P(), P())]
    tr = [(P(a), P(None, a))]
    dots = [((P(a, None), P()), P(a)), ((P(), P(None, a)), P(None, a)),
            ((P(None, a), P(a, None)), P(a))]  # contraction split: partial sums stacked
    if two:
        un += [(P(a, b), P(a, b)), (P((a, b)), P((a, b)))]
        tr += [(P(a, b), P(b, a))]
        dots += [((P(a, None), P(None, b)), P(a, b)), ((P(a, b), P(b, None)), P((a, b)))]
    for k in range(max(len(un), len(dots))):
        (sx, so), (st, sto), ((sa, sb), sd) = un[k % len(un)], tr[k % len(tr)], dots[k % len(dots)]
        yield (sx, st, sa, sb), (so, so, so, so, sto, sd, sd)


def _ours(x, t, a, b):
    import primitives.nn as pnn
    return (x, fnp.maximum(x, 0.0), pnn.softmax(x), _fx_scan(x), t.T, a @ b, fnp.sin(a @ b))


def _numpy(x, t, a, b):
    return (x, np.maximum(x, 0), _np_softmax(x), _np_scan(x), t.T, a @ b, np.sin(a @ b))


def check_reference_eager_and_jit():
    """id, relu, softmax, a scan, transpose, dot, sin(dot) x 6 meshes x generated specs."""
    n = 0
    for shape in MESHES:
        mesh = make_mesh(shape)
        for si, so in _spec_sets(mesh.axis_names):
            f = T.shard_map(_ours, mesh=mesh, in_specs=si, out_specs=so)
            want = reference(_numpy, mesh, si, so, X, X, A, B)
            assert_trees_close(list(f(X, X, A, B)), want, rtol=1e-5, atol=1e-5,
                               what=f"{shape} {si}->{so}")
            if shape == (2, 4):
                assert_trees_close(list(T.jit(f)(X, X, A, B)), want, rtol=1e-5, atol=1e-5)
            n += 1
    assert n >= 20, n


# --- grads against jax.shard_map + jax.grad ------------------------------------------------
def _both(body_fx, body_jx, mesh, si, so):
    return (T.shard_map(body_fx, mesh=mesh, in_specs=si, out_specs=so),
            jax.shard_map(body_jx, mesh=mesh, in_specs=si, out_specs=so))


GRAD_CASES = [
    # name, ours, jax's, in_specs, out_specs (names for a 2-axis mesh)
    ("psum(sin(dot))", lambda x, y: L.psum(fnp.sin(x @ y), "y"),
     lambda x, y: jax.lax.psum(jnp.sin(x @ y), "y"), (P("x", "y"), P("y", None)), P("x")),
    ("replicated w", lambda x, w: fnp.tanh(x @ w), lambda x, w: jnp.tanh(x @ w),
     (P("x", None), P()), P("x")),
    ("pmean(relu)", lambda x, w: L.pmean(fnp.maximum(x @ w, 0.0) ** 2, ("x", "y")),
     lambda x, w: jax.lax.pmean(jnp.maximum(x @ w, 0.0) ** 2, ("x", "y")),
     (P(("x", "y"), None), P()), P()),
    ("all_gather", lambda x, w: L.all_gather(x, "x", tiled=True) @ w,
     lambda x, w: jax.lax.all_gather(x, "x", tiled=True) @ w, (P("x", None), P(None, "y")),
     P("x", "y")),
    ("psum_scatter", lambda x, w: L.psum_scatter(x @ w, "y", scatter_dimension=0, tiled=True),
     lambda x, w: jax.lax.psum_scatter(x @ w, "y", scatter_dimension=0, tiled=True),
     (P(None, "y"), P("y", None)), P("y")),
    ("tile replicated", lambda x, w: fnp.sin(x), lambda x, w: jnp.sin(x), (P(), P()), P("x")),
    # psum of an invariant value: its transpose is a psum (of a varying one: a broadcast)
    ("psum invariant", lambda x, w: L.psum(fnp.sin(w), "x") * fnp.sum(x),
     lambda x, w: jax.lax.psum(jnp.sin(w), "x") * jnp.sum(x), (P(), P()), P()),
    ("psum mixed", lambda x, w: L.psum(x @ w, ("x", "y")),
     lambda x, w: jax.lax.psum(x @ w, ("x", "y")), (P("x", "y"), P("y")), P()),
]


def _merged(cases, mod):
    """One shard_map running every case on its own copy of the arguments."""
    def body(*args):
        return tuple(c[1 if mod is fnp else 2](*args[2 * i:2 * i + 2]) for i, c in enumerate(cases))
    si = tuple(s for c in cases for s in c[3])
    so = tuple(c[4] for c in cases)
    return body, si, so


def check_grads_order_1_and_2():
    """Every GRAD_CASE in one program: values, grad and grad of grad against jax's."""
    mesh = make_mesh((2, 4))
    x = RNG.randn(8, 16).astype(np.float32)
    w = RNG.randn(16, 8).astype(np.float32) * 0.3
    bo, si, so = _merged(GRAD_CASES, fnp)
    bj, _, _ = _merged(GRAD_CASES, jnp)
    ours, theirs = _both(bo, bj, mesh, si, so)
    args = [x, w] * len(GRAD_CASES)
    lo = lambda *a: sum(fnp.sum(fnp.sin(o)) for o in ours(*a))
    lj = lambda *a: sum(jnp.sum(jnp.sin(o)) for o in theirs(*a))
    assert_trees_close(list(T.jit(ours)(*args)), list(jax.jit(theirs)(*args)), rtol=1e-5,
                       atol=1e-5)
    every = tuple(range(len(args)))
    g1 = T.jit(T.grad(lo, argnums=every))(*args)
    assert_trees_close(g1, jax.jit(jax.grad(lj, argnums=every))(*args), rtol=1e-4, atol=1e-4)
    ws = every[1::2]
    g2 = T.jit(T.grad(lambda *a: sum(fnp.sum(g ** 2) for g in T.grad(lo, argnums=every[::2])(*a)),
                      argnums=ws))(*args)
    gj2 = jax.jit(jax.grad(lambda *a: sum(jnp.sum(g ** 2) for g in
                                          jax.grad(lj, argnums=every[::2])(*a)), argnums=ws))(*args)
    assert_trees_close(g2, gj2, rtol=1e-3, atol=1e-3)
    # eager grad (no jit) and finite differences on the first case
    ours, theirs = _both(*GRAD_CASES[0][1:3], mesh, *GRAD_CASES[0][3:])
    lo = lambda a, b: fnp.sum(fnp.sin(ours(a, b)))
    g = T.grad(lo)(x, w)
    assert_trees_close(g, jax.grad(lambda a, b: jnp.sum(jnp.sin(theirs(a, b))))(x, w),
                       rtol=1e-4, atol=1e-4)
    d = RNG.randn(*x.shape).astype(np.float32)
    eps = 1e-2
    fd = (float(lo(x + eps * d, w)) - float(lo(x - eps * d, w))) / (2 * eps)
    assert abs(fd - float(np.sum(np.asarray(g) * d))) < 2e-2 * max(1.0, abs(fd)), fd


def check_vmap_and_pmap_compositions():
    mesh = make_mesh((2, 4))
    x = RNG.randn(3, 8, 16).astype(np.float32)
    w = RNG.randn(16, 8).astype(np.float32)
    ours, theirs = _both(*GRAD_CASES[0][1:3], mesh, *GRAD_CASES[0][3:])
    # vmap(shard_map)
    assert_trees_close(T.vmap(ours, in_axes=(0, None))(x, w),
                       jax.vmap(theirs, in_axes=(0, None))(x, w), rtol=1e-5, atol=1e-5)
    assert_trees_close(T.vmap(T.grad(lambda a, b: fnp.sum(ours(a, b))), in_axes=(0, None))(x, w),
                       jax.vmap(jax.grad(lambda a, b: jnp.sum(theirs(a, b))),
                                in_axes=(0, None))(x, w), rtol=1e-4, atol=1e-4)
    # shard_map(vmap), with a vmap collective inside
    body_o = T.vmap(lambda r: fnp.sin(r) / L.psum(r * r, "b"), axis_name="b")
    body_j = lambda r: jnp.sin(r) / jnp.sum(r * r, 0)
    xs = RNG.randn(8, 4).astype(np.float32) + 3.0
    o, j = _both(body_o, body_j, mesh, (P("x", "y"),), P("x", "y"))
    assert_trees_close(o(xs), j(xs), rtol=1e-5)
    # pmap: values, grad(pmap), pmap(grad), vmap(pmap), pmap(vmap)
    f_o = lambda a: fnp.sin(a) * L.psum(a, "i")
    f_j = lambda a: jnp.sin(a) * jax.lax.psum(a, "i")
    pa = RNG.randn(8, 3).astype(np.float32)
    po, pj = T.pmap(f_o, "i"), jax.pmap(f_j, "i")
    assert_trees_close(po(pa), pj(pa), rtol=1e-5)
    assert_trees_close(T.grad(lambda a: fnp.sum(po(a)))(pa),
                       jax.grad(lambda a: jnp.sum(pj(a)))(pa), rtol=1e-5)
    assert_trees_close(T.pmap(T.grad(lambda a: fnp.sum(f_o(a))), "i")(pa),
                       jax.pmap(jax.grad(lambda a: jnp.sum(f_j(a))), "i")(pa), rtol=1e-5)
    pb = RNG.randn(2, 4, 3).astype(np.float32)
    assert_trees_close(T.vmap(T.pmap(f_o, "i"))(pb), jax.vmap(jax.pmap(f_j, "i"))(pb), rtol=1e-5)
    assert_trees_close(T.pmap(T.vmap(f_o), "i")(pb.transpose(1, 0, 2)),
                       jax.pmap(jax.vmap(f_j), "i")(pb.transpose(1, 0, 2)), rtol=1e-5)
    # in_axes / out_axes / static args / axis_size
    q = RNG.randn(3, 4).astype(np.float32)
    g_o = T.pmap(lambda a, b, k: a * b + k, "i", in_axes=(1, None, None),
                 out_axes=1, static_broadcasted_argnums=2)
    g_j = jax.pmap(lambda a, b, k: a * b + k, "i", in_axes=(1, None, None), out_axes=1,
                   static_broadcasted_argnums=2)
    assert_trees_close(g_o(q, 2.0, 1.0), g_j(q, 2.0, 1.0), rtol=1e-6)
    assert_trees_close(T.pmap(lambda: L.axis_index("i"), "i", axis_size=4)(),
                       np.arange(4, dtype=np.int32))


def check_collectives_against_jax():
    mesh = make_mesh((2, 4))
    x = RNG.randn(8, 8).astype(np.float32)
    perm = [(i, (i + 1) % 4) for i in range(4)]
    cases = [
        (lambda v: L.psum(v, "y"), lambda v: jax.lax.psum(v, "y"), P("x")),
        (lambda v: L.psum(v, ("x", "y")), lambda v: jax.lax.psum(v, ("x", "y")), P()),
        (lambda v: L.pmean(v, "x"), lambda v: jax.lax.pmean(v, "x"), P(None, "y")),
        (lambda v: L.pmax(v, "y"), lambda v: jax.lax.pmax(v, "y"), P("x")),
        (lambda v: L.pmin(v, ("x", "y")), lambda v: jax.lax.pmin(v, ("x", "y")), P()),
        (lambda v: L.all_gather(v, "y"), lambda v: jax.lax.all_gather(v, "y"), P("x", "y")),
        (lambda v: L.all_gather(v, "y", axis=1, tiled=True),
         lambda v: jax.lax.all_gather(v, "y", axis=1, tiled=True), P("x", "y")),
        (lambda v: L.psum_scatter(v, "x", scatter_dimension=0, tiled=True),
         lambda v: jax.lax.psum_scatter(v, "x", scatter_dimension=0, tiled=True), P("x", "y")),
        (lambda v: L.psum_scatter(v[:2], "x"), lambda v: jax.lax.psum_scatter(v[:2], "x"),
         P(("x", "y"))),
        (lambda v: L.ppermute(v, "y", perm), lambda v: jax.lax.ppermute(v, "y", perm),
         P("x", "y")),
        (lambda v: L.all_to_all(v, "y", 0, 1, tiled=True),
         lambda v: jax.lax.all_to_all(v, "y", 0, 1, tiled=True), P("x", "y")),
        (lambda v: v + L.axis_index(("x", "y")), lambda v: v + jax.lax.axis_index(("x", "y")),
         P("x", "y")),
        (lambda v: v * L.axis_size("y"), lambda v: v * jax.lax.axis_size("y"), P("x", "y")),
        (lambda v: L.pbroadcast(v, "y", 2),
         lambda v: jax.lax.psum(jnp.where(jax.lax.axis_index("y") == 2, v, 0.0), "y"), P("x")),
        (lambda v: L.pcast(v, "y", to="varying"),
         lambda v: jax.lax.pcast(v, "y", to="varying"), P("x", "y")),
    ]
    diff = (0, 2, 5, 6, 7, 9, 10, 14)  # differentiable: reverse mode too

    def merged(k, keep):
        def body(v, u):
            return tuple(c[k](u if i == 14 else v) for i, c in enumerate(cases) if i in keep)
        return body

    si = (P("x", "y"), P("x"))
    every = range(len(cases))
    o, j = _both(merged(0, every), merged(1, every), mesh, si, tuple(c[2] for c in cases))
    assert_trees_close(list(T.jit(o)(x, x)), list(jax.jit(j)(x, x)), rtol=1e-6)
    assert_trees_close(list(o(x, x)), list(j(x, x)), rtol=1e-6)  # eager
    o, j = _both(merged(0, diff), merged(1, diff), mesh, si, tuple(cases[i][2] for i in diff))
    lo = lambda v, u: sum(fnp.sum(fnp.sin(r)) for r in o(v, u))
    lj = lambda v, u: sum(jnp.sum(jnp.sin(r)) for r in j(v, u))
    assert_trees_close(T.jit(T.grad(lo, argnums=(0, 1)))(x, x),
                       jax.jit(jax.grad(lj, argnums=(0, 1)))(x, x), rtol=1e-5, atol=1e-5)


def check_grad_inside_body_as_jax():
    """A grad taken inside a check_vma body: replicated params get the psum-ed
    gradient (the transpose of their implicit pvary), pcast-ed (varying) params
    the per-shard one; grad of a grad inside; a scan over varying data; the carry
    typing error. Values against jax.shard_map running the same program."""
    mesh = make_mesh((2, 4))
    w = RNG.randn(6, 3).astype(np.float32) * 0.5
    x = RNG.randn(8, 6).astype(np.float32)

    def bodies(mod, lax_mod, grad):
        loss = lambda w, x: mod.sum(mod.tanh(x @ w) ** 2)

        def body(w, x):
            g_sum = grad(loss)(w, x)                                    # invariant: psum-ed
            g_mean = lax_mod.pmean(grad(loss)(w, x), ("x", "y"))        # pmean of invariant
            g_loss = grad(lambda w: lax_mod.pmean(loss(w, x), ("x", "y")))(w)
            g_own = grad(loss)(lax_mod.pcast(w, ("x", "y"), to="varying"), x)   # per shard
            g_y = grad(lambda w: lax_mod.psum(loss(w, x), "y"))(w)
            gg = grad(lambda w: mod.sum(grad(loss)(w, x) ** 2))(w)     # order 2

            def step(c, r):
                return mod.sin(c @ w) @ w.T + r, mod.sum(c * w[:, 0])
            init = lax_mod.pcast(mod.zeros(6, np.float32), ("x", "y"), to="varying")
            g_scan = grad(lambda w: mod.sum(lax_mod.scan(step, init, x)[1]))(w)

            def step2(c, r):  # a replicated carry, mixed with the shard's rows in y only
                return c * 1.01, mod.sum(c * r)
            g_scan2 = grad(lambda w: mod.sum(lax_mod.scan(step2, w[:, 0], x)[1]))(w)
            return g_sum, g_mean, g_loss, g_own, g_y, gg, g_scan, g_scan2
        return body

    si = (P(), P(("x", "y")))
    so = (P(), P(), P(), P(("x", "y")), P("x"), P(), P(), P())
    ours, theirs = _both(bodies(fnp, L, T.grad), bodies(jnp, jax.lax, jax.grad), mesh, si, so)
    assert_trees_close(list(T.jit(ours)(w, x)), list(jax.jit(theirs)(w, x)), rtol=2e-5,
                       atol=2e-5)

    def grows(c, r):
        return c + r, None
    _raises(TypeError, ["carry", "'x'", "pcast"],
            lambda: T.shard_map(lambda v: L.scan(grows, fnp.zeros(6), v)[0], mesh=mesh,
                                in_specs=P("x"), out_specs=P("x"))(x))
    _raises(TypeError, ["carry", "invariant", "'x'", "pcast"],
            lambda: T.shard_map(lambda v: L.scan(lambda c, r: (L.psum(c, "x"), None), v[0], v)[0],
                                mesh=mesh, in_specs=P("x"), out_specs=P())(x))
    # compositions around a body that takes a grad: vmap(shard_map), shard_map(vmap),
    # grad(shard_map) (second order through the implicit psum)
    W = RNG.randn(3, 6, 3).astype(np.float32)

    def inner(mod, lax_mod, grad):
        return lambda w, x: grad(lambda w: lax_mod.pmean(mod.sum(mod.tanh(x @ w) ** 2),
                                                         ("x", "y")))(w)
    io, ij = inner(fnp, L, T.grad), inner(jnp, jax.lax, jax.grad)
    sm_o = lambda f: T.shard_map(f, mesh=mesh, in_specs=si, out_specs=P())  # noqa: E731
    sm_j = lambda f: jax.shard_map(f, mesh=mesh, in_specs=si, out_specs=P())  # noqa: E731
    got = T.jit(lambda W, w, x: (
        T.vmap(sm_o(io), in_axes=(0, None))(W, x),
        sm_o(lambda W, x: T.vmap(io, in_axes=(0, None))(W, x))(W, x),
        T.grad(lambda w: fnp.sum(sm_o(io)(w, x) ** 2))(w)))(W, w, x)
    want = jax.jit(lambda W, w, x: (
        jax.vmap(sm_j(ij), in_axes=(0, None))(W, x),
        sm_j(lambda W, x: jax.vmap(ij, in_axes=(0, None))(W, x))(W, x),
        jax.grad(lambda w: jnp.sum(sm_j(ij)(w, x) ** 2))(w)))(W, w, x)
    assert_trees_close(list(got), list(want), rtol=2e-5, atol=2e-5)
    # a custom_vjp bwd giving a varying cotangent for a replicated argument: jax's ValueError
    @T.custom_vjp
    def scale(w, r):
        return w * r
    scale.defvjp(lambda w, r: (scale(w, r), (w, r)),
                 lambda res, g: (fnp.sum(g * res[1], 0), g * res[0]))
    _raises(ValueError, ["custom_vjp bwd", "invariant", "psum"],
            lambda: T.shard_map(lambda w, x: T.grad(lambda w: fnp.sum(scale(w[:, 0], x)))(w),
                                mesh=mesh, in_specs=si, out_specs=P())(w, x))
    # grad OUTSIDE of a shard_map whose scan mixes a replicated carry with sharded rows
    o2 = T.shard_map(lambda w, x: L.scan(lambda c, r: (c * 1.01, fnp.sum(c * r)), w[:, 0], x)[1],
                     mesh=mesh, in_specs=si, out_specs=P(("x", "y")))
    j2 = jax.shard_map(lambda w, x: jax.lax.scan(lambda c, r: (c * 1.01, jnp.sum(c * r)),
                                                 w[:, 0], x)[1],
                       mesh=mesh, in_specs=si, out_specs=P(("x", "y")))
    assert_trees_close(T.jit(T.grad(lambda w: fnp.sum(o2(w, x))))(w),
                       jax.jit(jax.grad(lambda w: jnp.sum(j2(w, x))))(w), rtol=2e-5, atol=2e-5)


def check_collectives_in_control_flow():
    """psum / pmean inside scan, cond and checkpoint bodies: values and reverse mode."""
    mesh = make_mesh((2, 4))
    x = RNG.randn(8, 8).astype(np.float32) * 0.5
    s = np.float32(0.7)

    def body_o(v, t):
        def step(c, r):
            return fnp.sin(c + L.psum(r, "y") * c), L.pmean(r * c, "x")
        init = L.pcast(fnp.ones(v.shape[1:], v.dtype), ("x", "y"), to="varying")
        c, ys = L.scan(step, init, v)
        z = L.cond(t > 0, lambda a: L.psum(a, "x"), lambda a: a * 2.0, c)
        return z + T.checkpoint(lambda a: fnp.sin(L.psum(a, "y")))(c), ys

    def body_j(v, t):
        def step(c, r):
            return jnp.sin(c + jax.lax.psum(r, "y") * c), jax.lax.pmean(r * c, "x")
        init = jax.lax.pcast(jnp.ones(v.shape[1:], v.dtype), ("x", "y"), to="varying")
        c, ys = jax.lax.scan(step, init, v)
        z = jax.lax.cond(t > 0, lambda a: jax.lax.pcast(jax.lax.psum(a, "x"), "x", to="varying"),
                         lambda a: a * 2.0, c)
        return z + jax.checkpoint(lambda a: jnp.sin(jax.lax.psum(a, "y")))(c), ys

    o, j = _both(body_o, body_j, mesh, (P("x", "y"), P()), (P(("x", "y")), P("x", "y")))
    assert_trees_close(list(T.jit(o)(x, s)), list(jax.jit(j)(x, s)), rtol=1e-5, atol=1e-6)
    lo = lambda v: sum(fnp.sum(fnp.sin(r)) for r in o(v, s))
    lj = lambda v: sum(jnp.sum(jnp.sin(r)) for r in j(v, s))
    assert_trees_close(T.jit(T.grad(lo))(x), jax.jit(jax.grad(lj))(x), rtol=1e-4, atol=1e-5)


def check_collectives_in_custom_rules_and_while():
    """Collectives inside custom_vjp / custom_jvp rules and a while_loop of a
    shard_map body: values and reverse mode against jax.shard_map's."""
    mesh = make_mesh((2, 4))
    x = RNG.randn(8, 8).astype(np.float32) * 0.5

    def make(mod, lax_mod, cvjp, cjvp, while_loop):
        @cvjp
        def f(v):  # invariant over 'y': its cotangent is psum-ed over 'y' before bwd
            return lax_mod.psum(mod.sin(v), "y")

        f.defvjp(lambda v: (f(v), mod.cos(v)), lambda c, g: (c * g,))

        @cjvp
        def h(v):
            return lax_mod.pmean(mod.tanh(v), "x")

        h.defjvp(lambda p, t: (h(p[0]), lax_mod.pmean((1 - mod.tanh(p[0]) ** 2) * t[0], "x")))

        def body(v):
            def cond(c):
                return lax_mod.pmax(mod.max(mod.abs(c[0])), ("x", "y")) < 4.0

            w, n = while_loop(cond, lambda c: (c[0] * 1.5, c[1] + 1), (v, 0))
            return f(v) * h(v), w, n  # n: invariant (the loop's carries are typed one by one)
        return body

    bo = make(fnp, L, T.custom_vjp, T.custom_jvp, L.while_loop)
    bj = make(jnp, jax.lax, jax.custom_vjp, jax.custom_jvp, jax.lax.while_loop)
    so = (P("x", "y"), P("x", "y"), P())
    o, j = _both(bo, bj, mesh, P("x", "y"), so)
    assert_trees_close(list(T.jit(o)(x)), list(jax.jit(j)(x)), rtol=1e-5, atol=1e-6)
    lo = lambda v: fnp.sum(fnp.sin(o(v)[0]))
    lj = lambda v: jnp.sum(jnp.sin(j(v)[0]))
    assert_trees_close(T.jit(T.grad(lo))(x), jax.jit(jax.grad(lj))(x), rtol=1e-4, atol=1e-5)


def check_gspmd_annotations_under_transforms():
    """with_sharding_constraint inside scan and cond, under grad, vmap and jit."""
    import fx
    mesh = make_mesh((8,))
    sh = NamedSharding(mesh, P("x"))
    xs = RNG.randn(3, 8, 4).astype(np.float32)

    def make(lib, wsc, scan, cond):
        def f(xs):
            def step(c, r):
                c = wsc(lib.sin(c) + r, sh)
                return c, c * 2.0
            c, ys = scan(step, xs[0] * 0.0, xs)
            return cond(c.sum() > 0, lambda a: wsc(a * 3.0, sh), lambda a: a, c) + ys.sum(0)
        return f

    fo = make(fnp, L.with_sharding_constraint, L.scan, L.cond)
    fj = make(jnp, jax.lax.with_sharding_constraint, jax.lax.scan, jax.lax.cond)
    assert_trees_close(T.jit(fo)(xs), jax.jit(fj)(xs), rtol=1e-5)
    assert_trees_close(T.jit(T.grad(lambda v: fnp.sum(fo(v) ** 2)))(xs),
                       jax.jit(jax.grad(lambda v: jnp.sum(fj(v) ** 2)))(xs), rtol=1e-5)
    vs = np.stack([xs, -xs])
    assert_trees_close(T.jit(T.vmap(fo))(vs), jax.jit(jax.vmap(fj))(vs), rtol=1e-5)
    text = T.jit(fo).lower(xs).as_text()
    assert "mhlo.sharding" in text or "sdy.sharding" in text, "no sharding in the HLO"
    assert "sharding=NamedSharding" in str(fx.make_graph(fo)(xs))


def _raises(cls, words, fn):
    try:
        fn()
    except cls as e:
        msg = str(e)
        missing = [w for w in words if w not in msg]
        assert not missing, f"{cls.__name__} message lacks {missing}: {msg}"
        return
    raise AssertionError(f"expected {cls.__name__} mentioning {words}")


def check_vmap_spmd_axis_name():
    """vmap(spmd_axis_name=): the batch dimension of a sharding constraint, and of a
    shard_map (whose body then maps its share of the batch), sharded over that mesh
    axis: the values and the output shardings equal jax.vmap's; in a scan body too."""
    mesh = make_mesh((2, 4))
    xs = RNG.randn(4, 8, 3).astype(np.float32)

    def constrained(lib, wsc, scan):
        def f(a):
            c, ys = scan(lambda c, r: (wsc(lib.sin(c) + r, NamedSharding(mesh, P("y"))), c),
                         a[0], a)
            return c * 2.0, ys
        return f

    fo = constrained(fnp, L.with_sharding_constraint, L.scan)
    fj = constrained(jnp, jax.lax.with_sharding_constraint, jax.lax.scan)
    ours = T.jit(T.vmap(fo, spmd_axis_name="x"))(xs)
    theirs = jax.jit(jax.vmap(fj, spmd_axis_name="x"))(xs)
    assert_trees_close(ours, theirs, rtol=1e-5)
    for o, t in zip(ours, theirs):
        assert o.sharding.spec == t.sharding.spec and o.sharding.spec[0] == "x", \
            (o.sharding.spec, t.sharding.spec)
    # without spmd_axis_name the batch dimension stays unsharded, as in JAX
    plain = T.jit(T.vmap(fo))(xs)[0].sharding.spec
    assert plain == jax.jit(jax.vmap(fj))(xs)[0].sharding.spec, plain
    # vmap of shard_map, a collective over the other axis inside
    so = T.shard_map(lambda r: r * L.psum(r, "y"), mesh=mesh, in_specs=P("y"), out_specs=P("y"))
    sj = jax.shard_map(lambda r: r * jax.lax.psum(r, "y"), mesh=mesh, in_specs=P("y"),
                       out_specs=P("y"))
    zs = RNG.randn(6, 8).astype(np.float32)
    ours = T.jit(T.vmap(so, spmd_axis_name="x"))(zs)
    theirs = jax.jit(jax.vmap(sj, spmd_axis_name="x"))(zs)
    assert_trees_close(ours, theirs, rtol=1e-5)
    assert ours.sharding.spec == theirs.sharding.spec, (ours.sharding.spec, theirs.sharding.spec)
    assert_trees_close(T.vmap(so, spmd_axis_name="x")(zs), theirs, rtol=1e-5)  # eager
    _raises(ValueError, ["spmd_axis_name", "in_specs"],
            lambda: T.vmap(so, spmd_axis_name="y")(zs[:4]))
    _raises(ShapeError, ["not divisible"], lambda: T.vmap(so, spmd_axis_name="x")(zs[:3]))


def check_typed_errors():
    mesh = make_mesh((2, 4))
    x = np.ones((6, 8), np.float32)
    sm = lambda f, si, so: T.shard_map(f, mesh=mesh, in_specs=si, out_specs=so)
    _raises(ShapeError, ["rank 2", "f32[6,8]"], lambda: sm(lambda v: v, P("x", "y", None),
                                                           P())(x))
    _raises(ShapeError, ["dimension 1", "not divisible", "'x'"],
            lambda: sm(lambda v: v, P(None, ("x", "y")), P())(np.ones((4, 4), np.float32)))
    _raises(ShapeError, ["'z'", "not an axis"], lambda: sm(lambda v: v, P("z"), P())(x))
    _raises(UnboundAxisError, ["'z'"], lambda: sm(lambda v: L.psum(v, "z"), P(), P())(x))
    _raises(ShapeError, ["out_specs[0]", "'y'", "replicated"],
            lambda: sm(lambda v: v, P(None, "y"), P())(x))
    _raises(ValueError, ["already varies", "'x'"],
            lambda: sm(lambda v: L.pcast(v, ("x", "y"), to="varying"), P("x"), P("x", "y"))(x))
    _raises(ValueError, ["allowed"], lambda: sm(lambda v: L.pcast(v, "x", to="foo"), P(), P())(x))
    _raises(TypeError, ["tuple or a str"],
            lambda: sm(lambda v: L.pcast(v, {"x"}, to="varying"), P(), P("x"))(x))
    _raises(ShapeError, ["only 8 device", "16"], lambda: T.pmap(lambda v: v)(np.ones((16, 2))))
    _raises(ShapeError, ["inconsistent", "size 4", "size 3"],
            lambda: T.pmap(lambda a, b: a + b)(np.ones((4, 2)), np.ones((3, 2))))


# --- HLO and recipes -------------------------------------------------------------------
def _mlp_params(d=16, h=32):
    return {"w1": RNG.randn(d, h).astype(np.float32) * 0.2,
            "w2": RNG.randn(h, d).astype(np.float32) * 0.2}


def _mlp(p, x):
    return fnp.maximum(x @ p["w1"], 0.0) @ p["w2"]


def check_data_parallel_training_and_hlo():
    mesh = make_mesh((8,))
    p = _mlp_params()
    x, y = RNG.randn(32, 16).astype(np.float32), RNG.randn(32, 16).astype(np.float32)
    loss = lambda p, x, y: fnp.mean((_mlp(p, x) - y) ** 2)

    # jax's recipe: the loss is pmean-ed inside the body, so the grad of the replicated
    # params (check_vma: psum-ed by the transpose of their implicit pvary) is the
    # one-device gradient
    def step(p, x, y):
        g = T.grad(lambda p: L.pmean(loss(p, x, y), "x"))(p)
        return jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)

    dp = T.jit(T.shard_map(step, mesh=mesh, in_specs=(P(), P("x"), P("x")), out_specs=P()))
    ref = jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p,
                                 T.grad(loss)(p, x, y))
    assert_trees_close(dp(p, x, y), ref, rtol=1e-5, atol=1e-6)
    assert "all-reduce" in dp.lower(p, x, y).compile().as_text() or \
        "all_reduce" in dp.lower(p, x, y).as_text()


def check_tensor_parallel_mlp_and_hlo():
    mesh = make_mesh((8,))
    p = _mlp_params()
    x = RNG.randn(4, 16).astype(np.float32)

    def block(w1, w2, x):  # Megatron: w1 split by columns, w2 by rows, one psum
        return L.psum(fnp.maximum(x @ w1, 0.0) @ w2, "x")

    tp = T.jit(T.shard_map(lambda w1, w2, x: block(w1, w2, block(w1, w2, x)), mesh=mesh,
                           in_specs=(P(None, "x"), P("x", None), P()), out_specs=P()))
    want = np.asarray(_mlp(p, _mlp(p, x)))
    assert_trees_close(tp(p["w1"], p["w2"], x), want, rtol=1e-4, atol=1e-5)
    text = tp.lower(p["w1"], p["w2"], x).as_text()
    assert text.count("all_reduce") == 2, text.count("all_reduce")
    # its gradient equals the one-device gradient
    g = T.grad(lambda w1, w2: fnp.sum(tp(w1, w2, x) ** 2), argnums=(0, 1))(p["w1"], p["w2"])
    gr = T.grad(lambda w1, w2: fnp.sum(_mlp({"w1": w1, "w2": w2}, _mlp({"w1": w1, "w2": w2}, x))
                                       ** 2), argnums=(0, 1))(p["w1"], p["w2"])
    assert_trees_close(g, gr, rtol=1e-4, atol=1e-5)


def _collectives(hlo):
    return sorted(set(re.findall(r"(all-gather|reduce-scatter|all-reduce)(?:-start)?\(", hlo)))


def check_fsdp_annotations_and_hlo():
    """FSDP / ZeRO-3 with annotations only (GSPMD inserts the collectives: the
    same ones as jax's same program), and with shard_map (all_gather forward,
    its transpose psum_scatter backward: all-gather and reduce-scatter)."""
    import fx
    mesh = make_mesh((8,))
    p = _mlp_params()
    x, y = RNG.randn(32, 16).astype(np.float32), RNG.randn(32, 16).astype(np.float32)
    shard = NamedSharding(mesh, P("x"))
    repl = NamedSharding(mesh, P())

    def make(lib, wsc, grad):
        def step(p, x, y):
            def loss(p):
                full = wsc(p, repl)  # all-gather the params
                h = lib.maximum(x @ full["w1"], 0.0) @ full["w2"]
                return lib.mean((h - y) ** 2)
            g = wsc(grad(loss)(p), shard)  # reduce(-scatter) the grads
            return jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)
        return step

    step = make(fnp, L.with_sharding_constraint, T.grad)
    f = T.jit(step, in_shardings=(shard, shard, shard), out_shardings=shard)
    fj = jax.jit(make(jnp, jax.lax.with_sharding_constraint, jax.grad),
                 in_shardings=(shard, shard, shard), out_shardings=shard)
    ref = jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p,
                                 T.grad(lambda p: fnp.mean((_mlp(p, x) - y) ** 2))(p))
    assert_trees_close(f(p, x, y), ref, rtol=1e-5, atol=1e-6)
    ours = _collectives(f.lower(p, x, y).compile().as_text())
    theirs = _collectives(fj.lower(p, x, y).compile().as_text())
    assert "all-gather" in ours and ours == theirs, (ours, theirs)
    assert "sharding=NamedSharding" in str(fx.make_graph(step)(p, x, y))  # printed IR

    def body(p, x, y):  # the same step written per device
        def loss(p):
            full = jax.tree_util.tree_map(lambda w: L.all_gather(w, "x", tiled=True), p)
            return L.pmean(fnp.mean((_mlp(full, x) - y) ** 2), "x")
        g = T.grad(loss)(p)
        return jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)

    sm = T.jit(T.shard_map(body, mesh=mesh, in_specs=P("x"), out_specs=P("x")))
    assert_trees_close(sm(p, x, y), ref, rtol=1e-5, atol=1e-6)
    found = _collectives(sm.lower(p, x, y).compile().as_text())
    assert "all-gather" in found and "reduce-scatter" in found, found


def check_dp_sgd_data_parallel():
    from optim import dp
    import primitives.random as frandom
    mesh = make_mesh((8,))
    p = {"w": RNG.randn(4, 2).astype(np.float32), "b": np.zeros(2, np.float32)}
    batch = {"x": RNG.randn(16, 4).astype(np.float32), "y": RNG.randn(16, 2).astype(np.float32)}
    loss = lambda p, ex: fnp.sum((ex["x"] @ p["w"] + p["b"] - ex["y"]) ** 2)
    key = frandom.PRNGKey(3)

    def shard_sum(p, batch):
        # per-shard (varying) params: each shard's per-example gradients stay its own
        # (replicated params would have them psum-ed across shards, as jax's check_vma)
        p = L.pcast(p, "x", to="varying")
        s, _ = dp.clipped_gradient_sum(loss, p, batch, l2_norm_clip=1.0)
        return L.psum(s, "x")

    summed_fn = T.shard_map(shard_sum, mesh=mesh, in_specs=(P(), P("x")), out_specs=P())
    # replicated params with a sharded batch: per-example grads would mix shards: refused
    _raises(dp.DPArgumentError, ["replicated", "'x'", "pcast"],
            lambda: T.shard_map(lambda p, b: L.psum(dp.clipped_gradient_sum(
                loss, p, b, l2_norm_clip=1.0)[0], "x"), mesh=mesh, in_specs=(P(), P("x")),
                out_specs=P())(p, batch))
    ours = T.jit(lambda p, b: dp.noisy_mean(summed_fn(p, b), l2_norm_clip=1.0,
                                            noise_multiplier=1.1, key=key, divisor=16.0))(p, batch)
    one = T.jit(lambda p, b: dp.privatize_gradients(loss, p, b, l2_norm_clip=1.0,
                                                    noise_multiplier=1.1, key=key)[0])(p, batch)
    assert_trees_close(ours, one, rtol=1e-5, atol=1e-6)
    # microbatched DP under pmap: 8 devices x 2 examples each, in microbatches of 1
    per_dev = jax.tree_util.tree_map(lambda a: a.reshape(8, 2, *a.shape[1:]), batch)
    summed = T.pmap(lambda p, b: L.psum(dp.clipped_gradient_sum(
        loss, p, b, l2_norm_clip=1.0, microbatch_size=1)[0], "i"), "i",
        in_axes=(None, 0))(p, per_dev)
    summed = jax.tree_util.tree_map(lambda a: a[0], summed)
    assert_trees_close(dp.noisy_mean(summed, l2_norm_clip=1.0, noise_multiplier=1.1, key=key,
                                     divisor=16.0), one, rtol=1e-5, atol=1e-6)


def check_printed_and_mesh_context():
    import fx
    mesh = make_mesh((2, 4))
    # dce: an unused output of the shard_map and its body's work are dropped
    two = T.shard_map(lambda v: (fnp.sin(v), L.psum(fnp.cos(v), "x")), mesh=mesh,
                      in_specs=P("x", "y"), out_specs=(P("x", "y"), P(None, "y")))
    g = T.jit(lambda v: two(v)[1]).graph(np.ones((8, 8), np.float32))
    body = g.equations[0].params["body"].graph
    assert [e.primitive.name for e in body.equations] == ["cos", "psum_invariant"], body
    assert len(g.equations[0].outputs) == 1
    f = T.shard_map(lambda v: L.psum(v, "x"), mesh=mesh, in_specs=P("x", "y"),
                    out_specs=P(None, "y"))
    text = str(fx.make_graph(f)(np.ones((8, 8), np.float32)))
    assert "shard_map[" in text and "psum_invariant[axes=('x',)]" in text and "\n        {" in text
    # partial manual: only 'x' is manual, 'y' stays automatic (GSPMD)
    x = np.arange(64, dtype=np.float32).reshape(8, 8)
    o = T.shard_map(lambda v: L.psum(fnp.sin(v), "x"), mesh=mesh, in_specs=P("x"), out_specs=P(),
                    axis_names={"x"})
    j = jax.shard_map(lambda v: jax.lax.psum(jnp.sin(v), "x"), mesh=mesh, in_specs=P("x"),
                      out_specs=P(), axis_names={"x"})
    assert_trees_close(T.jit(T.grad(lambda v: fnp.sum(o(v) ** 2)))(x),
                       jax.jit(jax.grad(lambda v: jnp.sum(j(v) ** 2)))(x), rtol=1e-5)
    with jax.set_mesh(mesh):
        g = T.shard_map(lambda v: L.psum(v, "x"), in_specs=P("x", "y"), out_specs=P(None, "y"))
        assert_trees_close(g(np.ones((8, 8), np.float32)), np.full((4, 8), 2.0, np.float32))


def main(argv):
    pat = argv[1] if len(argv) > 1 else ""
    checks = [(k, v) for k, v in globals().items() if k.startswith("check_") and pat in k]
    failed = []
    import time
    for name, fn in checks:
        try:
            t0 = time.perf_counter()
            fn()
            print(f"ok   {name} ({time.perf_counter() - t0:.1f} s)", flush=True)
        except Exception:
            failed.append(name)
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
