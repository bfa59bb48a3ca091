"""pmap: map a function over devices (as ``jax.pmap``), built on shard_map + jit.

``pmap(f, axis_name='i')(x)`` runs ``f`` on slice ``x[k]`` on device ``k``
for every ``k`` of ``x``'s mapped axis; collectives over ``'i'`` communicate
between the devices. As JAX 0.10 does, it is a ``shard_map`` over a
one-axis mesh of the devices (each argument sharded along its ``in_axes``
dimension, which the body squeezes; ``check_vma=False``) compiled by ``jit``.
Under an outer transformation (grad, vmap) it is traced inline.

Example::

    >>> pmap(lambda x: x / P.psum(x, 'i'), axis_name='i')(fnp.arange(1.0, 5.0))

References:
    ``jax.pmap`` (jax/_src/pmap.py: ``_cached_shard_map``).
"""
from __future__ import annotations

import functools
import itertools
from typing import Callable, Sequence

import jax
import numpy as np
from jax import tree_util
from jax.sharding import Mesh, PartitionSpec

from fx.core import get_aval
from fx.errors import ShapeError
from primitives.control_flow._common import user_error
from primitives.shape import expand_dims, squeeze
from transforms.jit import jit
from transforms.shard_map import shard_map_flat

__all__ = ["pmap"]


_anonymous_axes = itertools.count()


def _is_ax(x) -> bool:
    return x is None or isinstance(x, int)


def _leaf_axes(what: str, axes, tree_obj) -> list:
    if _is_ax(axes):
        return [axes] * len(tree_util.tree_leaves(tree_obj))
    try:
        full = tree_util.tree_map(lambda a, sub: tree_util.tree_map(lambda _: a, sub), axes,
                                  tree_obj, is_leaf=lambda x: x is None)
        return tree_util.tree_structure(tree_obj).flatten_up_to(full)
    except (ValueError, TypeError) as e:
        raise user_error(f"pmap: {what} {axes!r} is not a pytree prefix of the values "
                         f"({tree_util.tree_structure(tree_obj)}): {e}", ShapeError) from None


def _spec(name, ax, ndim: int):
    if ax is None:
        return PartitionSpec()
    entries = [None] * ndim
    entries[ax] = name
    return PartitionSpec(*entries)


def pmap(fun: Callable, axis_name=None, *, in_axes=0, out_axes=0,
         static_broadcasted_argnums: int | Sequence[int] = (), devices=None, backend=None,
         axis_size=None, donate_argnums: int | Sequence[int] = ()):
    """Parallel map over devices (as ``jax.pmap``).

    Args:
      fun: function of arrays (pytrees); it sees one slice per device.
      axis_name: the name collectives use for the mapped axis.
      in_axes: int, None, or a tuple with one (prefix) entry per positional
        argument: the mapped dimension of each (None: broadcast).
      out_axes: where the mapped dimension goes in the outputs (None: the
        output is the same on every device; one copy is returned).
      static_broadcasted_argnums: positions passed as static Python values.
      devices: the devices to map over (default: the first ``n`` of
        ``jax.devices()``).
      backend: accepted for compatibility (ignored).
      axis_size: the mapped size when no argument is mapped.
      donate_argnums: as jax.pmap.

    Returns:
      The mapped function; its outputs have the mapped dimension at ``out_axes``.

    Raises:
      ShapeError: mapped axes of different sizes, or more slices than devices.
    """
    del backend
    static = (static_broadcasted_argnums,) if isinstance(static_broadcasted_argnums, int) \
        else tuple(static_broadcasted_argnums)
    # jax's meshes need string axis names: a unique one no user code can name
    name = axis_name if axis_name is not None else f"<pmap axis {next(_anonymous_axes)}>"

    def mapped(*args):
        dyn_pos = [i for i in range(len(args)) if i not in static]
        dyn = tuple(args[i] for i in dyn_pos)
        ia = in_axes
        if isinstance(ia, (tuple, list)) and not static:
            ia = tuple(ia)
        elif isinstance(ia, (tuple, list)):
            ia = tuple(a for i, a in enumerate(ia) if i not in static)
        if isinstance(ia, tuple) and len(ia) != len(dyn):
            raise user_error(f"pmap: in_axes {in_axes!r} has {len(ia)} entries but the function "
                             f"was called with {len(dyn)} mapped argument(s).", ShapeError)
        leaves, in_tree = tree_util.tree_flatten(dyn)
        axes = _leaf_axes("in_axes", ia, dyn)
        paths = [f"args{tree_util.keystr(p)}" for p, _ in tree_util.tree_flatten_with_path(dyn)[0]]
        sizes = []
        for x, ax, path in zip(leaves, axes, paths):
            if ax is not None:
                aval = get_aval(x)
                if not -aval.ndim <= ax < aval.ndim:
                    raise user_error(f"pmap: in_axes={ax} is out of range for {path} "
                                     f"({aval.str_short()}).", ShapeError)
                sizes.append((aval.shape[ax % aval.ndim], path, aval))
        axes = [None if ax is None else ax % get_aval(x).ndim for x, ax in zip(leaves, axes)]
        n = sizes[0][0] if sizes else axis_size
        if n is None:
            raise user_error("pmap: no argument is mapped (all in_axes are None) and axis_size "
                             "is not given. Fix: pass axis_size=...", ShapeError)
        if any(s != n for s, _, _ in sizes) or (axis_size is not None and axis_size != n):
            lines = "; ".join(f"{p} ({a.str_short()}) has size {s}" for s, p, a in sizes)
            raise user_error(f"pmap got inconsistent sizes for the mapped axes of axis "
                             f"{name!r}: {lines}" + (f"; axis_size={axis_size}" if axis_size
                                                     is not None else "")
                             + ". All mapped axes must have the same size.", ShapeError)
        devs = list(devices) if devices is not None else jax.devices()
        if n > len(devs):
            raise user_error(f"pmap: the mapped axis {name!r} has size {n} (e.g. {sizes[0][1]} "
                             f"is {sizes[0][2].str_short()}) but only {len(devs)} device(s) are "
                             f"available. Fix: map over at most {len(devs)} slices (reshape to "
                             f"({len(devs)}, -1, ...) and vmap inside), or start more devices "
                             f"(XLA_FLAGS=--xla_force_host_platform_device_count=N on CPU)."
                             if sizes else f"pmap: axis_size={n} but only {len(devs)} device(s) "
                             f"are available.", ShapeError)
        mesh = Mesh(np.array(devs[:n]), (name,))
        specs = [_spec(name, ax, get_aval(x).ndim) for x, ax in zip(leaves, axes)]
        box: list = []

        def body(*flat):
            xs = [x if ax is None else squeeze(x, (ax,)) for x, ax in zip(flat, axes)]
            dyn_args = iter(tree_util.tree_unflatten(in_tree, xs))
            call = [args[i] if i in static else next(dyn_args) for i in range(len(args))]
            out = fun(*call)
            o_leaves, o_tree = tree_util.tree_flatten(out)
            o_axes = _leaf_axes("out_axes", out_axes, out)
            o_axes = [None if a is None else a % (get_aval(o).ndim + 1)
                      for o, a in zip(o_leaves, o_axes)]
            box.append((o_tree, o_axes))
            return [o if a is None else expand_dims(o, (a,)) for o, a in zip(o_leaves, o_axes)]

        def out_specs():
            return [_spec(name, a, a + 1 if a is not None else 0) for a in box[0][1]]

        outs = shard_map_flat(body, leaves, specs, out_specs, mesh, (name,), False, paths)
        return tree_util.tree_unflatten(box[0][0], outs)

    functools.update_wrapper(mapped, fun)
    return jit(mapped, static_argnums=static, donate_argnums=donate_argnums)
