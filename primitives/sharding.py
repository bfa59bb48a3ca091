"""Sharding annotations (GSPMD): ``with_sharding_constraint``.

The primitive is the identity on values; its lowering asks XLA's SPMD
partitioner to place the value with ``sharding`` (a ``jax.sharding.Sharding``,
e.g. ``NamedSharding(mesh, PartitionSpec(...))``), and XLA propagates it.

References:
    GSPMD: General and Scalable Parallelization for ML Computation Graphs.
"""
from __future__ import annotations

import jax
from jax.sharding import NamedSharding, PartitionSpec

from fx.ad import UndefinedPrimal, Zero
from fx.batching import current_spmd_axis_name
from fx.core import Primitive

__all__ = ["with_sharding_constraint", "sharding_constraint_p"]


# --- sharding_constraint ---
sharding_constraint_p = Primitive("sharding_constraint")
sharding_constraint_p.def_abstract_eval(lambda x, *, sharding: x)
sharding_constraint_p.def_lowering(
    lambda x, *, sharding: jax.lax.with_sharding_constraint(x, sharding))


@sharding_constraint_p.def_jvp
def _sharding_constraint_jvp(primals, tangents, *, sharding):
    (x,), (t,) = primals, tangents
    out = sharding_constraint_p.bind(x, sharding=sharding)
    return out, t if isinstance(t, Zero) else sharding_constraint_p.bind(t, sharding=sharding)


sharding_constraint_p.def_transpose(
    lambda ct, x, *, sharding: [sharding_constraint_p.bind(ct, sharding=sharding)
                                if isinstance(x, UndefinedPrimal) else None])


@sharding_constraint_p.def_batch
def _sharding_constraint_batch(args, bdims, *, sharding):
    (x,), (d,) = args, bdims
    if isinstance(sharding, NamedSharding):  # the vmapped axis: vmap's spmd_axis_name
        spec = list(sharding.spec) + [None] * (len(getattr(x, "shape", ())) - 1 - len(sharding.spec))
        spec.insert(d, current_spmd_axis_name())
        sharding = NamedSharding(sharding.mesh, PartitionSpec(*spec))
        return sharding_constraint_p.bind(x, sharding=sharding), d
    raise NotImplementedError("vmap of with_sharding_constraint needs a NamedSharding "
                              f"(got {type(sharding).__name__}) so the batch axis can be added "
                              "to its PartitionSpec.")


def with_sharding_constraint(x, shardings):
    """Constrain the sharding of ``x`` (a pytree) as ``jax.lax.with_sharding_constraint``.

    Args:
      x: array or pytree of arrays.
      shardings: a ``jax.sharding.Sharding`` (or a pytree of them matching ``x``).

    Returns:
      ``x`` unchanged in value, annotated for XLA's SPMD partitioner.
    """
    leaves, tree = jax.tree_util.tree_flatten(x)
    if isinstance(shardings, jax.sharding.Sharding):
        shs = [shardings] * len(leaves)
    else:
        shs = tree.flatten_up_to(shardings)
    return jax.tree_util.tree_unflatten(
        tree, [sharding_constraint_p.bind(v, sharding=s) for v, s in zip(leaves, shs)])
