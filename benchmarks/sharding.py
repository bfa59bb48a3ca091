"""Sharding benchmarks on 8 simulated CPU devices: ours / JAX's same program (issue 15).

Prints, in one run: the steady-state data-parallel MLP training step
(``jit(shard_map(step))``: batch sharded over 8 devices, params replicated,
loss ``pmean``-ed, grads taken in the body; target <= 1.05x), the DP-SGD data-parallel step (each
shard clips its examples' gradients, the clipped sums are ``psum``-ed, the
noise is drawn once; target <= 1.05x), and tracing a shard_map'd
1000-equation body (``make_graph`` vs ``jax.make_jaxpr``, fresh functions;
target <= 1.0x).
Run: ``.venv/bin/python benchmarks/sharding.py``.
"""
from __future__ import annotations

import os
import sys

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_force_host_platform_device_count=8").strip()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.append(os.path.dirname(os.path.abspath(__file__)))  # after the root: optim/ wins

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.sharding import Mesh, PartitionSpec as P  # noqa: E402

import fx  # noqa: E402
import primitives as L  # noqa: E402
import primitives.nn as fnn  # noqa: E402
import primitives.numpy as fnp  # noqa: E402
import primitives.random as frandom  # noqa: E402
from optim import dp  # noqa: E402
from transforms import grad, jit, shard_map  # noqa: E402
from _timing import compare, report  # noqa: E402
from core import fresh_chain, mlp, mlp_params  # noqa: E402

B = 256
MESH = Mesh(np.array(jax.devices()[:8]), ("x",))


def _data():
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(B, 64)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 10, size=B), jnp.int32)
    return x, y


def _loss(np_, nn_, params, x, y):
    return -np_.mean(np_.sum(mlp(np_, nn_, params, x) * nn_.one_hot(y, 10), axis=-1))


def bench_data_parallel_step():
    params = mlp_params(0)
    x, y = _data()

    # jax's recipe: the shard's loss pmean-ed; the grad of the replicated params (taken
    # inside the body) is psum-ed by check_vma's implicit pvary
    def ours_step(p, x, y):
        g = grad(lambda p: L.pmean(_loss(fnp, fnn, p, x, y), "x"))(p)
        return jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)

    def jax_step(p, x, y):
        g = jax.grad(lambda p: jax.lax.pmean(_loss(jnp, jax.nn, p, x, y), "x"))(p)
        return jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)

    specs = dict(mesh=MESH, in_specs=(P(), P("x"), P("x")), out_specs=P())
    o = jit(shard_map(ours_step, **specs))
    t = jax.jit(jax.shard_map(jax_step, **specs))
    np.testing.assert_allclose(jax.tree_util.tree_leaves(o(params, x, y))[0],
                               jax.tree_util.tree_leaves(t(params, x, y))[0], rtol=1e-4,
                               atol=1e-5)
    res = compare(lambda: o(params, x, y), lambda: t(params, x, y), number=20)
    return [("data-parallel MLP step, 8 devices (B=256)", *res, 1.05)]


def bench_dp_sgd_step():
    params = mlp_params(0)
    x, y = _data()
    key = frandom.PRNGKey(0)
    C, sigma = 1.0, 1.1

    def ex_loss_o(p, ex):
        return -fnp.sum(mlp(fnp, fnn, p, ex["x"][None])[0] * fnn.one_hot(ex["y"], 10))

    def ours_sum(p, batch):
        p = L.pcast(p, "x", to="varying")  # per-shard per-example grads (not psum-ed)
        s, _ = dp.clipped_gradient_sum(ex_loss_o, p, batch, l2_norm_clip=C, method="vmap")
        return L.psum(s, "x")

    specs = dict(mesh=MESH, in_specs=(P(), P("x")), out_specs=P())
    o_sum = shard_map(ours_sum, **specs)
    o = jit(lambda p, batch: dp.noisy_mean(o_sum(p, batch), l2_norm_clip=C,
                                           noise_multiplier=sigma, key=key, divisor=float(B)))

    def ex_loss_j(p, ex):
        return -jnp.sum(mlp(jnp, jax.nn, p, ex["x"][None])[0] * jax.nn.one_hot(ex["y"], 10))

    def jax_sum(p, batch):
        p = jax.lax.pcast(p, "x", to="varying")
        g = jax.vmap(jax.grad(ex_loss_j), in_axes=(None, 0))(p, batch)
        leaves = jax.tree_util.tree_leaves(g)
        norms = jnp.sqrt(sum(jnp.sum(l.reshape(l.shape[0], -1) ** 2, 1) for l in leaves))
        scale = jnp.minimum(1.0, C / jnp.maximum(norms, 1e-12))
        s = jax.tree_util.tree_map(lambda l: jnp.tensordot(scale, l, 1), g)
        return jax.lax.psum(s, "x")

    j_sum = jax.shard_map(jax_sum, **specs)
    jkey = jax.random.key(0)

    def jax_step(p, batch):
        s = j_sum(p, batch)
        leaves, tree = jax.tree_util.tree_flatten(s)
        keys = jax.random.split(jkey, len(leaves))
        noisy = [l + sigma * C * jax.random.normal(k, l.shape) for l, k in zip(leaves, keys)]
        return jax.tree_util.tree_unflatten(tree, [l / B for l in noisy])

    t = jax.jit(jax_step)
    batch = {"x": x, "y": y}
    res = compare(lambda: o(params, batch), lambda: t(params, batch), number=20)
    return [("DP-SGD data-parallel step, 8 devices (B=256)", *res, 1.05)]


def bench_trace_shard_map_body():
    x = jnp.ones((8, 8), jnp.float32)
    specs = dict(mesh=MESH, in_specs=(P("x"), P("x")), out_specs=P("x"))
    ours = lambda: fx.make_graph(shard_map(fresh_chain((fnp.sin, fnp.multiply, fnp.add), 1000),  # noqa: E731
                                           **specs))(x, x)
    theirs = lambda: jax.make_jaxpr(jax.shard_map(  # noqa: E731
        fresh_chain((jnp.sin, jnp.multiply, jnp.add), 1000), **specs))(x, x)
    n = len(ours().equations[0].params["body"].graph.equations)
    res = compare(ours, theirs, number=3, repeats=5)
    return [(f"trace shard_map of a {n}-eqn body", *res, 1.0)]


def main():
    rows = bench_data_parallel_step() + bench_dp_sgd_step() + bench_trace_shard_map_body()
    report(rows)


if __name__ == "__main__":
    main()
