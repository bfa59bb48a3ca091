"""One process of the 2-host x 4-CPU-device check (``test_multihost`` starts two).

Usage: ``python multihost_worker.py PROCESS_ID PORT``. Each process owns 4 CPU
devices; ``jax.distributed.initialize`` on 127.0.0.1 joins them into one
8-device mesh (jax's gloo CPU collectives). The data-parallel step
(``jit(shard_map(step))``, batch sharded, params replicated, loss pmean-ed)
must equal the one-device step; prints ``MULTIHOST OK`` on success.
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(_HERE)))
sys.path.insert(0, os.path.dirname(_HERE))

import jax  # noqa: E402

pid, port = int(sys.argv[1]), sys.argv[2]
jax.config.update("jax_num_cpu_devices", 4)
try:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
except Exception:  # newer jax: gloo is the default
    pass
jax.config.update("jax_disable_most_optimizations", True)  # compile time only (tests)
jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=pid)

import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P  # noqa: E402

import primitives as L  # noqa: E402
import primitives.numpy as fnp  # noqa: E402
import transforms as T  # noqa: E402
from oracle import assert_trees_close  # noqa: E402

assert jax.device_count() == 8 and jax.local_device_count() == 4, jax.devices()
rng = np.random.RandomState(0)  # the same data in both processes
params = {"w1": rng.randn(16, 32).astype(np.float32) * 0.2,
          "w2": rng.randn(32, 4).astype(np.float32) * 0.2}
x, y = rng.randn(32, 16).astype(np.float32), rng.randn(32, 4).astype(np.float32)


def loss(p, x, y):
    return fnp.mean((fnp.maximum(x @ p["w1"], 0.0) @ p["w2"] - y) ** 2)


def step(p, x, y):
    g = T.grad(lambda p: L.pmean(loss(p, x, y), "x"))(p)  # psum-ed over the shards (check_vma)
    return jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)


mesh = Mesh(np.array(jax.devices()), ("x",))
rows = slice(16 * pid, 16 * (pid + 1))  # this host's half of the batch
glob = lambda a, spec, local: jax.make_array_from_process_local_data(  # noqa: E731
    NamedSharding(mesh, spec), local, a.shape)
gp = jax.tree_util.tree_map(lambda a: glob(a, P(), a), params)
gx, gy = glob(x, P("x"), x[rows]), glob(y, P("x"), y[rows])
dp_step = T.jit(T.shard_map(step, mesh=mesh, in_specs=(P(), P("x"), P("x")), out_specs=P()))
out = dp_step(gp, gx, gy)
local = jax.tree_util.tree_map(lambda a: np.asarray(a.addressable_data(0)), out)
one_device = T.jit(lambda p, x, y: jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p,
                                                         T.grad(loss)(p, x, y)))
ref = jax.tree_util.tree_map(np.asarray, one_device(params, x, y))
assert_trees_close(local, ref, rtol=1e-5, atol=1e-6)
print("MULTIHOST OK", flush=True)
