"""shard_map, pmap and the collectives over mesh axes.

The multi-device checks need 8 simulated CPU devices, set before jax starts,
while the rest of the suite runs with one: ``test_eight_devices`` runs them
all in ONE subprocess (``shard_map_checks.py``, which reports each failure
with its traceback). The tests below it run in-process on a 1-device mesh.
"""
import os
import socket
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, PartitionSpec as P

import fx
import primitives as L
import primitives.numpy as fnp
import transforms as T
from fx.errors import ShapeError
from oracle import assert_trees_close

_HERE = os.path.dirname(os.path.abspath(__file__))
MESH1 = Mesh(np.array(jax.devices()[:1]), ("x",))


def test_eight_devices():
    proc = subprocess.run([sys.executable, os.path.join(_HERE, "shard_map_checks.py")],
                          capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and " 0 failed" in out, out[-20000:]


def test_one_device_values_grad_and_printing():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    ours = T.shard_map(lambda v: L.psum(fnp.sin(v), "x"), mesh=MESH1, in_specs=P("x"),
                       out_specs=P())
    theirs = jax.shard_map(lambda v: jax.lax.psum(jnp.sin(v), "x"), mesh=MESH1,
                           in_specs=P("x"), out_specs=P())
    assert_trees_close(ours(x), theirs(x), rtol=1e-6)
    assert_trees_close(T.grad(lambda v: fnp.sum(ours(v) ** 2))(x),
                       jax.grad(lambda v: jnp.sum(theirs(v) ** 2))(x), rtol=1e-5)
    text = str(fx.make_graph(ours)(x))
    assert "shard_map[" in text and "psum_invariant[axes=('x',)]" in text
    assert "\n        { lambda ; a:f32[4,3]{V:x}. let" in text  # the body, indented, typed


def test_check_vma_error_names_axis_and_shape():
    f = T.shard_map(lambda v: v * 2.0, mesh=MESH1, in_specs=P("x"), out_specs=P())
    with pytest.raises(ShapeError, match=r"out_specs\[0\].*'x'"):
        f(np.ones((4, 3), np.float32))
    g = T.shard_map(lambda v: v * 2.0, mesh=MESH1, in_specs=P("x"), out_specs=P(),
                    check_vma=False)
    assert_trees_close(g(np.ones((4, 3), np.float32)), np.full((4, 3), 2.0, np.float32))


def test_pmap_without_axis_name_on_one_device():
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    assert_trees_close(T.pmap(lambda v: fnp.sin(v) * 2.0)(x), jax.pmap(lambda v: jnp.sin(v) * 2.0)(x),
                       rtol=1e-6)


def test_multihost_two_processes():
    """2 processes x 4 CPU devices joined by jax.distributed on 127.0.0.1: the
    data-parallel step equals the one-device step."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    worker = os.path.join(_HERE, "multihost_worker.py")
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    procs = [subprocess.Popen([sys.executable, worker, str(i), port], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env) for i in range(2)]
    outs = []
    for p in procs:
        try:
            outs.append(p.communicate(timeout=300)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
    for p, out in zip(procs, outs):
        assert p.returncode == 0 and "MULTIHOST OK" in out, out[-5000:]
