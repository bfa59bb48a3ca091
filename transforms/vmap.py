"""vmap: vectorizing map by batching rules (as ``jax.vmap``).

The user API over ``fx.batching``: in_axes / out_axes specifications (pytree
prefixes, negative axes, typed errors naming the path), the mapped size and
the axis name. ``fx.batching.BatchTrace`` applies each primitive's ``batch``
rule once for the whole batch; ``vmap(f, axis_name='i')`` binds ``'i'`` so
that collectives inside (``P.psum(x, 'i')``) reduce over the batch.

Example::

    >>> vmap(lambda x: x - P.pmean(x, 'i'), axis_name='i')(fnp.arange(4.0))
    [-1.5, -0.5, 0.5, 1.5]

References:
    Autodidax (BatchTrace); JAX's ``jax.vmap``.
"""
from __future__ import annotations

import functools
from typing import Callable

from jax import tree_util

from fx.batching import vmap_flat
from fx.core import get_aval
from fx.errors import ShapeError

__all__ = ["vmap"]


# --- in_axes / out_axes specifications ----------------------------------------
def _is_axis_leaf(ax) -> bool:
    return ax is None or (isinstance(ax, int) and not isinstance(ax, bool))


def _describe(tree) -> str:
    if isinstance(tree, dict):
        return f"a dict with keys {sorted(tree, key=repr)}"
    if isinstance(tree, (tuple, list)):
        return f"a {type(tree).__name__} of length {len(tree)}"
    try:
        return f"an array {get_aval(tree).str_short()}"
    except Exception:
        return f"a {type(tree).__name__}"


def _mismatch(axes, tree, path: str):
    """The first place where ``axes`` is not a prefix of ``tree``: (path, axes_sub, tree_sub)."""
    if _is_axis_leaf(axes):
        return None
    if isinstance(axes, dict):
        if not isinstance(tree, dict) or set(axes) != set(tree):
            return path, axes, tree
        items = [(axes[k], tree[k], f"{path}[{k!r}]") for k in axes]
    elif isinstance(axes, (tuple, list)):
        if not isinstance(tree, (tuple, list)) or len(axes) != len(tree) or \
                type(axes) is not type(tree):
            return path, axes, tree
        items = [(a, t, f"{path}[{i}]") for i, (a, t) in enumerate(zip(axes, tree))]
    else:
        return path, axes, tree
    for a, t, p in items:
        hit = _mismatch(a, t, p)
        if hit is not None:
            return hit
    return None


def _broadcast_prefix(what: str, axes, tree, root: str) -> list:
    """The axis of each leaf of ``tree`` from the prefix specification ``axes``."""
    try:
        full = tree_util.tree_map(lambda ax, sub: tree_util.tree_map(lambda _: ax, sub),
                                  axes, tree, is_leaf=lambda x: x is None)
        dims = tree_util.tree_structure(tree).flatten_up_to(full)
    except (ValueError, TypeError):
        dims = None
    bad = [d for d in dims if not _is_axis_leaf(d)] if dims is not None else []
    if dims is not None and not bad:
        return dims
    hit = _mismatch(axes, tree, root)
    if hit is None and bad:
        hit = (root, bad[0], None)
    path, sub_axes, sub_tree = hit if hit is not None else (root, axes, tree)
    if not (_is_axis_leaf(sub_axes) or isinstance(sub_axes, (dict, tuple, list))):
        raise ShapeError(f"vmap: {what} at {path} is {sub_axes!r}; each entry must be an int, "
                         f"None, or a container of them matching the value.")
    raise ShapeError(f"vmap: {what} does not match the structure of {path}: the specification "
                     f"there is {sub_axes!r} but the value is {_describe(sub_tree)}. {what} must be "
                     f"an int, None, or a pytree prefix of the value (same containers, keys and "
                     f"lengths).")


def _leaf_paths(tree, root: str) -> list[str]:
    return [root + tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(tree)[0]]


def _mapped_size(leaves, paths, dims, axis_size):
    """Canonical in_dims and the common mapped size (typed errors name the paths)."""
    canon, sizes = [], []
    for x, path, d in zip(leaves, paths, dims):
        if d is None:
            canon.append(None)
            continue
        aval = get_aval(x)
        nd = aval.ndim
        if not -nd <= d < nd:
            raise ShapeError(f"vmap: in_axes={d} is out of range for {path} of shape "
                             f"{aval.str_short()} (rank {nd}); valid axes are "
                             f"{-nd}..{nd - 1} or None." if nd else
                             f"vmap: in_axes={d} given for the scalar {path} "
                             f"({aval.str_short()}), which has no axis to map. Fix: use None "
                             f"for it in in_axes.")
        canon.append(d % nd)
        sizes.append((aval.shape[d % nd], d % nd, path))
    if not sizes:
        if axis_size is None:
            raise ShapeError("vmap: no argument is mapped (all in_axes are None) and axis_size "
                             "is not given. Fix: pass axis_size=...")
        return canon, axis_size
    size = sizes[0][0]
    if any(s != size for s, _, _ in sizes) or (axis_size is not None and axis_size != size):
        lines = "\n".join(f"  * axis {d} of {p} has size {s}" for s, d, p in sizes)
        extra = f"\n  * axis_size={axis_size} was given" if axis_size is not None else ""
        raise ShapeError(f"vmap got inconsistent sizes for the mapped axes "
                         f"({sorted({s for s, _, _ in sizes})}):\n{lines}{extra}\nAll mapped axes "
                         f"must have the same size.")
    return canon, size


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_name=None, axis_size=None,
         spmd_axis_name=None):
    """Vectorizing map (as ``jax.vmap``).

    Args:
      fun: function of pytrees of arrays.
      in_axes: int, None, or a tuple with one entry per positional argument,
        each an int, None or a pytree prefix of that argument (negative axes
        count from the end).
      out_axes: same for the outputs; None for outputs that are not batched.
      axis_name: name for collectives inside (``P.psum(x, axis_name)``, ...).
      axis_size: needed only when no input is mapped.
      spmd_axis_name: a mesh axis name (or tuple of names): the batch dimension
        of every ``with_sharding_constraint`` and ``shard_map`` inside is sharded
        over it (under ``jit`` with a mesh), as ``jax.vmap``'s.

    Returns:
      The batched function.

    Raises:
      ShapeError: in_axes/out_axes not matching the arguments/outputs (the
        message names the path, e.g. ``args[1]['w']``), an axis out of range,
        or mapped axes of different sizes (all listed).

    Example::

        >>> vmap(lambda x: x @ x)(fnp.ones((8, 3)))   # shape (8,)
    """
    ia = tuple(in_axes) if isinstance(in_axes, list) else in_axes
    if not (_is_axis_leaf(ia) or type(ia) is tuple):
        raise ShapeError(f"vmap: in_axes must be an int, None, or a tuple with one entry per "
                         f"positional argument, got {in_axes!r}. Fix: wrap it in a tuple, e.g. "
                         f"in_axes=({in_axes!r},).")

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        if kwargs:
            raise TypeError("vmap: keyword arguments are not mapped; pass arrays positionally "
                            "(or close over them).")
        if isinstance(ia, tuple) and len(ia) != len(args):
            raise ShapeError(f"vmap: in_axes {in_axes!r} has {len(ia)} entries but the "
                             f"function was called with {len(args)} positional argument(s). "
                             f"in_axes must be an int, None, or a tuple of the same length as "
                             f"the arguments.")
        per_arg = ia if isinstance(ia, tuple) else (ia,) * len(args)
        leaves, in_tree = tree_util.tree_flatten(args)
        dims, paths = [], []
        for i, (a, ax) in enumerate(zip(args, per_arg)):
            dims += _broadcast_prefix("in_axes", ax, a, f"args[{i}]")
            paths += _leaf_paths(a, f"args[{i}]")
        canon, size = _mapped_size(leaves, paths, dims, axis_size)
        out_box = []

        def flat_fun(*flat):
            out = fun(*tree_util.tree_unflatten(in_tree, flat))
            o_leaves, o_tree = tree_util.tree_flatten(out)
            out_box.append((out, o_tree))
            return o_leaves

        def out_dims():
            return _broadcast_prefix("out_axes", out_axes, out_box[-1][0], "output")

        results = vmap_flat(flat_fun, leaves, canon, out_dims, size, axis_name,
                            out_paths=lambda: _leaf_paths(out_box[-1][0], "output"),
                            spmd_axis_name=spmd_axis_name)
        return tree_util.tree_unflatten(out_box[-1][1], results)

    return batched
