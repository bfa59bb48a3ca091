"""``optim.tree_utils``: the names of ``optax.tree_utils``, written with fnp.

Tree arithmetic (``tree_add``, ``tree_vdot``, ``tree_norm``...), casting,
random trees (``primitives.random``, the same bits as ``jax.random``) and the
state-inspection helpers (``tree_get``, ``tree_set``, ``tree_map_params``).
Helpers that :mod:`optim.tree` already has are re-exported from it under
optax's names. Everything runs eagerly, under ``transforms.jit``/``grad``/
``vmap`` and under ``jax.jit``.

Example::

    >>> import optim.tree_utils as otu
    >>> otu.tree_add_scale({"a": x}, 0.5, {"a": y})     # x + 0.5 * y
    >>> otu.tree_get(opt_state, "count")               # the step count of an Adam state
"""
from __future__ import annotations

import dataclasses
import functools
import operator
from typing import Callable, Optional

import numpy as np
import jax
from jax import tree_util

import primitives.numpy as fnp
import primitives.random as prandom
from optim import tree as otree

__all__ = ["NamedTupleKey", "tree_add", "tree_add_scale", "tree_allclose", "tree_batch_shape",
           "tree_bias_correction", "tree_cast", "tree_cast_like", "tree_clip", "tree_conj",
           "tree_div", "tree_dtype", "tree_full_like", "tree_get", "tree_get_all_with_path",
           "tree_map_params", "tree_max", "tree_min", "tree_mul", "tree_norm", "tree_ones_like",
           "tree_random_like", "tree_real", "tree_scale", "tree_set", "tree_size",
           "tree_split_key_like", "tree_sub", "tree_sum", "tree_unwrap_random_key_data",
           "tree_update_infinity_moment", "tree_update_moment",
           "tree_update_moment_per_elem_norm", "tree_vdot", "tree_where", "tree_zeros_like",
           "tree_scalar_mul", "tree_add_scalar_mul", "tree_l1_norm", "tree_l2_norm",
           "tree_linf_norm"]

# --- re-exported from optim.tree under optax's names ---
tree_zeros_like = otree.zeros_like
tree_full_like = otree.full_like
tree_cast = otree.cast
tree_cast_like = otree.cast_like
tree_where = otree.where
tree_update_moment = otree.update_moment
tree_update_moment_per_elem_norm = otree.update_moment_per_elem_norm
tree_bias_correction = otree.bias_correction


def tree_sum(tree, associative_reduction: bool = False):
    """Sum of all elements of all leaves (``associative_reduction`` is accepted
    for optax's signature; the leaf sums are added in flatten order either way)."""
    del associative_reduction
    return otree.tree_sum(tree)


# --- arithmetic ---
def tree_add(tree_x, tree_y, *other_trees):
    """Leaf-wise sum of two or more trees."""
    return tree_util.tree_map(lambda *xs: sum(xs), tree_x, tree_y, *other_trees)


def tree_sub(tree_x, tree_y):
    return tree_util.tree_map(operator.sub, tree_x, tree_y)


def tree_mul(tree_x, tree_y):
    return tree_util.tree_map(operator.mul, tree_x, tree_y)


def tree_div(tree_x, tree_y):
    return tree_util.tree_map(operator.truediv, tree_x, tree_y)


def tree_scale(scalar, tree):
    """``scalar * tree``."""
    return tree_util.tree_map(lambda x: scalar * x, tree)


def tree_add_scale(tree_x, scalar, tree_y):
    """``tree_x + scalar * tree_y`` (``None`` leaves of ``tree_x`` stay ``None``)."""
    scalar = fnp.asarray(scalar)
    return tree_util.tree_map(lambda x, y: None if x is None else x + scalar * y,
                              tree_x, tree_y, is_leaf=otree.is_none)


tree_scalar_mul = tree_scale            # optax's deprecated names
tree_add_scalar_mul = tree_add_scale


def tree_vdot(tree_x, tree_y):
    """Sum over leaves of ``vdot(x, y)`` (the first argument conjugated)."""
    vdots = tree_util.tree_map(lambda a, b: fnp.vdot(fnp.asarray(a), fnp.asarray(b)),
                               tree_x, tree_y)
    return tree_util.tree_reduce(operator.add, vdots, initializer=0)


def _reduce_leaves(tree, leaf_fn, combine, initial):
    parts = tree_util.tree_map(lambda a: None if np.size(a) == 0 else leaf_fn(a), tree)
    return tree_util.tree_reduce(combine, parts, initializer=initial)


def tree_max(tree):
    """The largest element of the tree (``-inf`` when empty)."""
    return _reduce_leaves(tree, fnp.max, fnp.maximum, -float("inf"))


def tree_min(tree):
    """The smallest element of the tree (``inf`` when empty)."""
    return _reduce_leaves(tree, fnp.min, fnp.minimum, float("inf"))


def tree_size(tree) -> int:
    """How many elements the leaves hold."""
    return sum(int(np.size(x)) for x in tree_util.tree_leaves(tree))


def tree_conj(tree):
    return tree_util.tree_map(fnp.conj, tree)


def tree_real(tree):
    return tree_util.tree_map(fnp.real, tree)


def _abs_square(x):
    x = fnp.asarray(x)
    if fnp.issubdtype(x.dtype, np.complexfloating):
        return fnp.square(fnp.real(x)) + fnp.square(fnp.imag(x))
    return fnp.square(x)


def tree_norm(tree, ord=None, squared: bool = False):  # noqa: A002 (optax's name)
    """The L2 (``ord=None``/2), L1 (``ord=1``) or L-infinity (``ord='inf'``) norm
    of all leaves together; ``squared`` returns its square."""
    if ord is None or ord == 2:
        sq = tree_sum(tree_util.tree_map(_abs_square, tree))
        return fnp.array(sq if squared else fnp.sqrt(sq))
    if ord == 1:
        out = tree_sum(tree_util.tree_map(fnp.abs, tree))
    elif ord == float("inf") or ord in ("inf", "infinity"):
        out = tree_max(tree_util.tree_map(fnp.abs, tree))
    else:
        raise ValueError(f"Unsupported ord: {ord!r}; use None, 1, 2 or 'inf'.")
    return fnp.array(_abs_square(fnp.asarray(out)) if squared else out)


tree_l1_norm = functools.partial(tree_norm, ord=1)
tree_l2_norm = functools.partial(tree_norm, ord=2)
tree_linf_norm = functools.partial(tree_norm, ord="inf")


def tree_batch_shape(tree, shape: tuple = ()):
    """Each leaf broadcast to ``(*shape, *leaf.shape)``."""
    return tree_util.tree_map(lambda x: fnp.broadcast_to(x, (*shape, *np.shape(x))), tree)


def tree_ones_like(tree, dtype=None):
    return tree_util.tree_map(lambda x: fnp.ones_like(x, dtype=dtype), tree)


def tree_clip(tree, min_value=None, max_value=None):
    """Each element clipped to ``[min_value, max_value]`` (``None``: no bound)."""
    return tree_util.tree_map(lambda g: fnp.clip(g, min_value, max_value), tree)


def tree_update_infinity_moment(updates, moments, decay, eps):
    """``max(|g| + eps, decay * m)`` leaf-wise (Adamax's second moment)."""
    return tree_util.tree_map(
        lambda g, t: None if g is None else fnp.maximum(fnp.abs(g) + eps, decay * t),
        updates, moments, is_leaf=otree.is_none)


def tree_allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan: bool = False):
    """Whether every pair of leaves is close (``|a - b| <= atol + rtol * |b|``)."""
    def close(x, y):
        x, y = fnp.asarray(x), fnp.asarray(y)
        dt = fnp.promote_types(fnp.promote_types(x.dtype, y.dtype), np.float32)
        x, y = x.astype(dt), y.astype(dt)
        ok = fnp.abs(x - y) <= atol + rtol * fnp.abs(y)
        ok = fnp.logical_or(ok, x == y)  # equal infinities
        if equal_nan:
            ok = fnp.logical_or(ok, fnp.logical_and(fnp.isnan(x), fnp.isnan(y)))
        return fnp.all(ok)
    return functools.reduce(operator.and_, tree_util.tree_leaves(
        tree_util.tree_map(close, a, b)), True)


# --- dtypes ---
def _lower_dtype(d1, d2):
    promoted = fnp.promote_types(d1, d2)
    if promoted == d1:
        return d2
    if promoted == d2:
        return d1
    raise ValueError(f"Cannot compare dtype of dtype1={d1} and dtype2={d2}. Neither {d1} nor "
                     f"{d2} can be promoted to the other.")


def _higher_dtype(d1, d2):
    return d2 if _lower_dtype(d1, d2) == d1 else d1


def tree_dtype(tree, mixed_dtype_handler: Optional[str] = None):
    """The dtype of the leaves: all equal (``None``, else ValueError), or their
    ``'promote'``d, ``'highest'`` or ``'lowest'`` dtype."""
    leaves = tree_util.tree_leaves(tree)
    if not leaves:
        return np.dtype(np.float32)
    dtypes = [np.dtype(fnp.asarray(x).dtype) for x in leaves]
    if mixed_dtype_handler is None:
        paths = tree_util.tree_flatten_with_path(tree)[0]
        errors = [f"Expected dtype={dtypes[0]} for {tree_util.keystr(p)} but got {d}."
                  for (p, _), d in zip(paths, dtypes) if d != dtypes[0]]
        if errors:
            raise ValueError("\n".join(errors))
        return dtypes[0]
    combine = {"promote": fnp.promote_types, "highest": _higher_dtype,
               "lowest": _lower_dtype}.get(mixed_dtype_handler)
    if combine is None:
        raise ValueError(f"Invalid value for mixed_dtype_handler={mixed_dtype_handler!r}, "
                         f"possible values are: None, \"promote\", \"highest\", \"lowest\".")
    return np.dtype(functools.reduce(combine, dtypes))


# --- random trees ---
def tree_split_key_like(rng_key, target_tree):
    """One key per leaf of ``target_tree`` (``split(rng_key, num_leaves)``)."""
    treedef = tree_util.tree_structure(target_tree)
    keys = prandom.split(rng_key, treedef.num_leaves)
    return tree_util.tree_unflatten(treedef, [keys[i] for i in range(treedef.num_leaves)])


def tree_random_like(rng_key, target_tree, sampler: Callable = prandom.normal, dtype=None):
    """A random tree shaped like ``target_tree``: ``sampler(key, shape, dtype)``
    per leaf with the keys of :func:`tree_split_key_like` (the bits of
    ``optax.tree_utils.tree_random_like`` with ``jax.random`` samplers)."""
    keys = tree_split_key_like(rng_key, target_tree)
    return tree_util.tree_map(lambda leaf, key: sampler(key, np.shape(leaf), dtype or leaf.dtype),
                              target_tree, keys)


def tree_unwrap_random_key_data(input_tree):
    """Typed PRNG keys replaced by their raw ``uint32`` data."""
    def unwrap(x):   # typed keys are jax arrays: only jax.random reads their data
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return jax.random.key_data(x)
        return x
    return tree_util.tree_map(unwrap, input_tree)


# --- state inspection: tree_get / tree_set / tree_map_params ---
@dataclasses.dataclass(frozen=True)
class NamedTupleKey:
    """A key-path entry naming a NamedTuple field (``ScaleByAdamState.mu``)."""
    tuple_name: str
    name: str

    def __str__(self):
        return f"{self.tuple_name}.{self.name}"


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _leaves_with_path(tree, is_leaf=None):
    """``tree_leaves_with_path`` that steps into NamedTuples with NamedTupleKeys
    and stops at nodes where ``is_leaf`` holds."""
    stop = is_leaf or (lambda _: False)
    out = []
    for path, node in tree_util.tree_leaves_with_path(
            tree, is_leaf=lambda x: stop(x) or _is_namedtuple(x)):
        if stop(node) or not _is_namedtuple(node):
            out.append((path, node))
            continue
        name = type(node).__name__
        for field in node._fields:
            out += [((*path, NamedTupleKey(name, field), *sub), v)
                    for sub, v in _leaves_with_path(getattr(node, field), is_leaf)]
    return out


def _has_keys(node, keys) -> bool:
    if _is_namedtuple(node):
        return type(node).__name__ in keys or any(k in node._fields for k in keys)
    return isinstance(node, dict) and any(k in node for k in keys)


def _children(path, node):
    if _is_namedtuple(node):
        name = type(node).__name__
        return [((*path, NamedTupleKey(name, f)), getattr(node, f)) for f in node._fields]
    if isinstance(node, dict):
        return [((*path, tree_util.DictKey(k)), v) for k, v in node.items()]
    raise ValueError(f"Subtree must be a dict or a NamedTuple. Got {type(node)}")


def _get_all(tree, key):
    has = functools.partial(_has_keys, keys=(key,))
    found, subtrees = [], [(p, n) for p, n in _leaves_with_path(tree, has) if has(n)]
    for path, node in subtrees:
        if _is_namedtuple(node) and type(node).__name__ == key:
            found.append((path, node))
        elif _is_namedtuple(node):
            found.append(((*path, NamedTupleKey(type(node).__name__, key)), getattr(node, key)))
        else:
            found.append(((*path, tree_util.DictKey(key)), node[key]))
    for path, node in subtrees:
        for child_path, child in _children(path, node):
            found += [((*child_path, *p), v) for p, v in _get_all(child, key)]
    return found


def tree_get_all_with_path(tree, key, filtering: Optional[Callable] = None):
    """All ``(path, value)`` whose last key is ``key`` (a dict key, a NamedTuple
    field, or a NamedTuple's class name), optionally kept by ``filtering(path, value)``."""
    found = _get_all(tree, key)
    if filtering:
        found = [(p, v) for p, v in found if filtering(p, v)]
    return found


def tree_get(tree, key, default=None, filtering: Optional[Callable] = None):
    """The one value named ``key`` in ``tree`` (``default`` if none; KeyError if several)."""
    found = tree_get_all_with_path(tree, key, filtering=filtering)
    if len(found) > 1:
        raise KeyError(f"Found multiple values for '{key}' in {tree}.")
    return found[0][1] if found else default


def _key_of(entry):
    if isinstance(entry, tree_util.DictKey):
        if isinstance(entry.key, (str, int)):
            return entry.key
        raise KeyError("Hashable keys not supported")
    for attr in ("name", "idx", "key"):   # NamedTupleKey/GetAttrKey, SequenceKey, FlattenedIndexKey
        if hasattr(entry, attr):
            return getattr(entry, attr)
    raise KeyError(f"Tree key '{entry}' of type '{type(entry)}' not valid.")


def tree_set(tree, filtering: Optional[Callable] = None, /, **kwargs):
    """A copy of ``tree`` with the values named by ``kwargs``' keys replaced
    (KeyError if a key is not found), optionally only where ``filtering(path, value)``."""
    for key in kwargs:
        if not tree_get_all_with_path(tree, key, filtering):
            where = " given the filtering operation" if filtering else ""
            raise KeyError(f"Found no values matching '{key}'{where} in {tree}")
    has = functools.partial(_has_keys, keys=tuple(kwargs))
    keep = lambda path, v: filtering is None or filtering(path, v)  # noqa: E731

    def replace(path, node):
        if not has(node):
            return node
        if _is_namedtuple(node) and type(node).__name__ in kwargs and keep(path, node):
            return kwargs[type(node).__name__]
        new = {}
        for child_path, child in _children(path, node):
            k = _key_of(child_path[-1])
            if k in kwargs and keep(child_path, child):
                new[k] = kwargs[k]
            elif isinstance(child, (dict, list, tuple)):
                new[k] = replace(child_path, child)
            else:
                new[k] = child
        return node._replace(**new) if _is_namedtuple(node) else new

    treedef = tree_util.tree_structure(tree, is_leaf=has)
    return tree_util.tree_unflatten(treedef, [replace(p, n) for p, n in
                                              _leaves_with_path(tree, is_leaf=has)])


@tree_util.register_pytree_node_class
class _ParamsPlaceholder:
    def tree_flatten(self):
        return (), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls()


def tree_map_params(initable, f: Callable, state, /, *rest,
                    transform_non_params: Optional[Callable] = None,
                    is_leaf: Optional[Callable] = None):
    """Apply ``f`` to the parts of an optimizer ``state`` shaped like the params
    (found by running ``initable``'s init on a placeholder), and
    ``transform_non_params`` (if given) to the other leaves."""
    placeholder = _ParamsPlaceholder()
    init = initable.init if callable(getattr(initable, "init", None)) else initable
    skeleton = init(placeholder)
    is_ph = lambda v: isinstance(v, _ParamsPlaceholder)  # noqa: E731

    def map_params(marker, value):
        if is_ph(marker):
            return tree_util.tree_map(f, value, *rest, is_leaf=is_leaf)
        return transform_non_params(value) if transform_non_params is not None else value
    return tree_util.tree_map(map_params, skeleton, state, is_leaf=is_ph)

