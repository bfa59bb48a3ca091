"""shard_map: write the per-device program; XLA runs it on every device of a mesh.

``shard_map(f, mesh=mesh, in_specs=P('x'), out_specs=P())(x)`` traces ``f``
once on the per-shard shapes (``x``'s dimension 0 divided by the size of mesh
axis ``'x'``) to a body graph held by one ``shard_map`` equation
(``primitives.shard_map``); inside, ``P.psum(v, 'x')`` and the other
collectives act over the mesh axis. The equation lowers through
``jax.shard_map`` inside the one XLA program (eagerly: that program, compiled
once per signature), and composes with ``grad``, ``vmap`` and ``jit`` both
ways.

Example::

    >>> mesh = jax.make_mesh((8,), ('x',), axis_types=(jax.sharding.AxisType.Auto,))
    >>> f = shard_map(lambda w, x: P.psum(x @ w, 'x'), mesh=mesh,
    ...               in_specs=(P('x', None), P(None, 'x')), out_specs=P())
    >>> f(w, x)          # == x @ w, the contraction split over 8 devices

References:
    ``jax.shard_map`` (same signature and semantics).
"""
from __future__ import annotations

import functools
from typing import Callable

import jax
from jax import tree_util
from jax.sharding import PartitionSpec

from fx.core import get_aval
from fx.errors import ShapeError
from primitives.control_flow._common import flatten_fn, trace_flat, user_error
from primitives.shard_map import (check_spec, make_params, mesh_env, shard_aval, shard_map_p,
                                  spec_axes)

__all__ = ["shard_map", "shard_map_flat", "resolve_mesh"]


def _is_spec(x) -> bool:
    return x is None or isinstance(x, PartitionSpec)


def leaf_specs(what: str, specs, tree_obj) -> list:
    """One PartitionSpec per leaf of ``tree_obj`` from the prefix ``specs``."""
    n = len(tree_util.tree_leaves(tree_obj))
    if _is_spec(specs):
        return [specs or PartitionSpec()] * n
    try:
        full = tree_util.tree_map(lambda s, sub: tree_util.tree_map(lambda _: s, sub), specs,
                                  tree_obj, is_leaf=_is_spec)
        flat = tree_util.tree_structure(tree_obj).flatten_up_to(full)
    except (ValueError, TypeError) as e:
        raise user_error(f"shard_map: {what} {specs!r} is not a pytree prefix of the "
                         f"{'arguments' if what == 'in_specs' else 'outputs'} "
                         f"{tree_util.tree_structure(tree_obj)} ({e}). Fix: give one "
                         f"PartitionSpec per argument / output (or one for all).",
                         ShapeError) from None
    return [s or PartitionSpec() for s in flat]


def resolve_mesh(mesh, api: str = "shard_map"):
    """``mesh``, or the one set by ``jax.set_mesh`` (concrete if any, else abstract)."""
    if mesh is not None:
        return mesh
    m = jax.sharding.get_mesh() if hasattr(jax.sharding, "get_mesh") else None
    if m is None or m.empty:
        m = jax.sharding.get_abstract_mesh()
    if m is None or m.empty:
        raise user_error(f"{api}: no mesh was given and none is set. Fix: pass mesh=... or call "
                         f"it under `with jax.set_mesh(mesh):`.", ShapeError)
    return m


def shard_map_flat(flat_fn: Callable, leaves, in_specs, out_specs_fn: Callable, mesh, manual,
                   check_vma: bool, names=None):
    """shard_map on flat lists.

    Args:
      flat_fn: per-shard function of the flat leaves returning a flat list.
      leaves: the global arguments.
      in_specs: one PartitionSpec per leaf.
      out_specs_fn: called once the body is traced, returns one spec per output.
      mesh, manual: the mesh and its manual axis names (mesh order).
      check_vma: as jax.shard_map.
      names: optional per-leaf names for errors.

    Returns:
      The flat list of global outputs.
    """
    names = names or [f"argument {i}" for i in range(len(leaves))]
    avals = [shard_aval(get_aval(x), s, mesh, manual, n)
             for x, s, n in zip(leaves, in_specs, names)]
    if check_vma:  # an input varies over the mesh axes its spec names
        avals = [a.update(vma=frozenset(spec_axes(s)) & frozenset(manual))
                 for a, s in zip(avals, in_specs)]
    with mesh_env(mesh, manual, check_vma):
        graph, consts = trace_flat(flat_fn, avals)
    out_specs = list(out_specs_fn())
    for i, (a, s) in enumerate(zip(graph.out_avals, out_specs)):
        check_spec(s, a, mesh, manual, f"output {i} (per shard)")
    params = make_params(graph, (PartitionSpec(),) * len(consts) + tuple(in_specs), out_specs,
                         mesh, manual, check_vma)
    return shard_map_p.bind(*consts, *leaves, **params)


def shard_map(f: Callable | None = None, /, *, out_specs, in_specs=None, mesh=None,
              axis_names=frozenset(), check_vma: bool = True):
    """Map ``f`` over the shards of its arguments on a device mesh (as ``jax.shard_map``).

    Args:
      f: the per-device function; it sees per-shard arrays and may call the
        collectives of ``primitives`` over the mesh axes.
      out_specs: a PartitionSpec (or pytree prefix of the outputs): how the
        per-device outputs are stitched; a mesh axis not named means the
        output is replicated over it.
      in_specs: a PartitionSpec or a tuple with one (prefix) per positional
        argument: dimension ``d`` of an argument is split over the mesh axes
        named by entry ``d``.
      mesh: a ``jax.sharding.Mesh`` (or AbstractMesh); None: the mesh of
        ``jax.set_mesh``.
      axis_names: the manual mesh axes (default: all); the others stay
        automatic (GSPMD).
      check_vma: check that outputs claimed replicated do not vary, and
        follow jax's varying/invariant rules in reverse mode.

    Returns:
      The mapped function (works eagerly, under jit, grad and vmap).

    Raises:
      ShapeError: a spec longer than the array's rank, a dimension not
        divisible by the mesh axes, an unknown mesh axis, or (check_vma) an
        out spec claiming replication of a varying value.
    """
    if f is None:
        return functools.partial(shard_map, out_specs=out_specs, in_specs=in_specs, mesh=mesh,
                                 axis_names=axis_names, check_vma=check_vma)
    if in_specs is None:
        raise user_error("shard_map: in_specs is required (fxjax does not infer it from the "
                         "arguments' shardings). Fix: pass in_specs=P(...) per argument.",
                         ShapeError)

    @functools.wraps(f)
    def mapped(*args):
        m = resolve_mesh(mesh)
        unknown = [n for n in axis_names if n not in m.axis_names]
        if unknown:
            raise user_error(f"shard_map: axis_names {set(axis_names)} names {unknown[0]!r}, "
                             f"not an axis of the mesh {tuple(m.axis_names)}.", ShapeError)
        manual = tuple(n for n in m.axis_names if not axis_names or n in axis_names)
        leaves, in_tree = tree_util.tree_flatten(args)
        specs = leaf_specs("in_specs", in_specs, args)
        paths = [f"args{tree_util.keystr(p)}" for p, _ in tree_util.tree_flatten_with_path(args)[0]]
        box: list = []
        flat = flatten_fn(f, in_tree, box, star=True)

        def out_specs_fn():
            dummy = tree_util.tree_unflatten(box[0], [0] * box[0].num_leaves)
            return leaf_specs("out_specs", out_specs, dummy)

        outs = shard_map_flat(flat, leaves, specs, out_specs_fn, m, manual, check_vma, paths)
        return tree_util.tree_unflatten(box[0], outs)

    return mapped
