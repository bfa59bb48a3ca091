"""with_sharding_constraint: identity on values under every transform; lowers to GSPMD."""
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import primitives as P
import primitives.numpy as fnp
import transforms as T
from oracle import assert_same_as_jax, assert_trees_close

MESH = Mesh(np.array(jax.devices()[:1]), ("d",))
SH = NamedSharding(MESH, PartitionSpec("d"))
X = np.arange(6, dtype=np.float32).reshape(2, 3)


def test_values_and_lowering():
    ours = lambda x: P.with_sharding_constraint(x * 2.0, SH)
    theirs = lambda x: jax.lax.with_sharding_constraint(x * 2.0, SH)
    assert_same_as_jax(ours, theirs, X)
    assert "sharding" in T.jit(ours).lower(X).as_text()


def test_grad_and_vmap():
    f = lambda x: fnp.sum(P.with_sharding_constraint(fnp.sin(x), SH))
    g = lambda x: jnp.sum(jax.lax.with_sharding_constraint(jnp.sin(x), SH))
    assert_trees_close(T.grad(f)(X), jax.grad(g)(X), rtol=1e-6)
    assert_trees_close(T.vmap(lambda r: P.with_sharding_constraint(r, NamedSharding(MESH, PartitionSpec())))(X), X)
