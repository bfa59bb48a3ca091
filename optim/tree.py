"""Pytree helpers of the optimizer library (as ``optax.tree``), written with fnp.

Pytrees are jax's (``jax.tree_util``); leaves are jax Arrays or fxjax tracers,
so every helper runs eagerly, under ``transforms.jit``/``grad``/``vmap`` and
under ``jax.jit``/``jax.grad`` alike. ``None`` leaves (absent updates) pass
through the moment helpers untouched, as in optax.

:func:`tree_map` is ``jax.tree_util.tree_map`` with a typed error: when the
trees do not match it raises :class:`optim.errors.TreeMismatchError` naming the
key paths that differ, instead of jax's ``Custom node type mismatch``.
"""
from __future__ import annotations

import functools
import operator
from typing import Callable, Sequence

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from fx.errors import ShapeError
from optim.errors import TreeMismatchError

__all__ = ["tree_map", "describe_mismatch", "check_match", "check_same_shapes", "zeros_like",
           "full_like", "cast", "cast_like", "update_moment", "update_moment_per_elem_norm",
           "bias_correction", "safe_increment", "tree_sum", "norm", "where", "dtype", "abs_sq",
           "num_elements", "is_none"]


def is_none(x) -> bool:
    return x is None


def _paths(tree, is_leaf=None) -> list[str]:
    return [tree_util.keystr(p) for p, _ in
            tree_util.tree_flatten_with_path(tree, is_leaf=is_leaf)[0]]


def describe_mismatch(first, second, names: Sequence[str] = ("updates", "params")) -> str:
    """A message naming the key paths in which two trees differ."""
    a, b = _paths(first, is_none), _paths(second, is_none)
    set_a, set_b = set(a), set(b)
    only_a = [p for p in a if p not in set_b]
    only_b = [p for p in b if p not in set_a]
    lines = [f"the {names[0]} tree and the {names[1]} tree have different structures."]
    if only_a:
        lines.append(f"  only in {names[0]}: {', '.join(only_a[:6]) or '<root>'}")
    if only_b:
        lines.append(f"  only in {names[1]}: {', '.join(only_b[:6]) or '<root>'}")
    if not only_a and not only_b:
        lines.append(f"  {names[0]}: {tree_util.tree_structure(first, is_leaf=is_none)}")
        lines.append(f"  {names[1]}: {tree_util.tree_structure(second, is_leaf=is_none)}")
    return "\n".join(lines)


def tree_map(fn: Callable, tree, *rest, names: Sequence[str] | None = None,
             is_leaf: Callable | None = None, fix: str = ""):
    """``jax.tree_util.tree_map`` raising TreeMismatchError on structure mismatch.

    Args:
      fn: applied leaf-wise.
      tree: the first tree (may be a prefix of the others).
      *rest: trees of the same structure.
      names: what the trees are, for the message (default updates, state...).
      is_leaf: as in jax.
      fix: a sentence appended to the message saying how to fix the call.
    """
    try:
        return tree_util.tree_map(fn, tree, *rest, is_leaf=is_leaf)
    except ValueError:
        bad = _first_mismatch(tree, rest, is_leaf)
        if bad is None:
            raise
        names = list(names or ["updates"] + [f"tree {i + 2}" for i in range(len(rest))])
        msg = describe_mismatch(tree, rest[bad], (names[0], names[min(bad + 1, len(names) - 1)]))
        raise TreeMismatchError(msg + ("\n" + fix if fix else "")) from None


def _first_mismatch(tree, rest, is_leaf) -> int | None:
    """Index of the first tree in ``rest`` that ``tree`` is not a prefix of."""
    treedef = tree_util.tree_structure(tree, is_leaf=is_leaf)
    for i, r in enumerate(rest):
        try:
            treedef.flatten_up_to(r)
        except (ValueError, TypeError):
            return i
    return None


def check_match(first, second, names: Sequence[str] = ("updates", "params"), fix: str = "",
                is_leaf: Callable | None = is_none) -> None:
    """Raise TreeMismatchError unless ``first`` is a prefix of (or equal to) ``second``."""
    if _first_mismatch(first, (second,), is_leaf) is not None:
        raise TreeMismatchError(describe_mismatch(first, second, names)
                                + ("\n" + fix if fix else ""))


def check_same_shapes(first, second, names: Sequence[str] = ("updates", "params")) -> None:
    """Raise ShapeError when two matching trees have leaves of different shapes."""
    a = tree_util.tree_flatten_with_path(first, is_leaf=is_none)[0]
    b = tree_util.tree_leaves(second, is_leaf=is_none)
    for (path, x), y in zip(a, b):
        if x is None or y is None:
            continue
        sx, sy = np.shape(x), np.shape(y)
        if sx != sy:
            raise ShapeError(
                f"leaf {tree_util.keystr(path) or '<root>'}: {names[0]} has shape {sx} but "
                f"{names[1]} has shape {sy}. Each update must have the shape of its "
                f"parameter: compute the updates from gradients of these params.")


def zeros_like(tree, dtype=None):
    """A tree of zeros shaped like ``tree`` (leaves cast to ``dtype`` if given)."""
    return tree_util.tree_map(lambda x: fnp.zeros_like(x, dtype=dtype), tree)


def full_like(tree, fill_value, dtype=None):
    return tree_util.tree_map(lambda x: fnp.full_like(x, fill_value, dtype=dtype), tree)


def cast(tree, dtype):
    """Cast every leaf to ``dtype``; ``None`` leaves the tree unchanged."""
    if dtype is None:
        return tree
    return tree_util.tree_map(lambda t: t.astype(dtype), tree)


def cast_like(tree, other):
    """Cast each leaf of ``tree`` to the dtype of the matching leaf of ``other``."""
    return tree_util.tree_map(lambda t, o: t.astype(o.dtype) if hasattr(o, "dtype") else t,
                              tree, other)


def update_moment(updates, moments, decay, order: int):
    """EMA of the ``order``-th power: ``(1 - decay) * g**order + decay * m``."""
    return tree_map(lambda g, t: None if g is None else (1 - decay) * (g ** order) + decay * t,
                    updates, moments, is_leaf=is_none, names=("updates", "optimizer state"),
                    fix="Initialize the optimizer state with init(params) of these params.")


def abs_sq(x):
    """``|x|**2`` (``x * x`` for real x)."""
    if fnp.issubdtype(x.dtype, np.complexfloating):
        return fnp.real(fnp.conj(x) * x)
    return x * x


def update_moment_per_elem_norm(updates, moments, decay, order: int):
    """EMA of ``|g|**order`` (the element-wise norm; ``g**order`` for real g)."""
    def norm_pow(g):
        if not fnp.issubdtype(g.dtype, np.complexfloating):
            return g ** order
        half = order / 2
        return abs_sq(g) ** (int(half) if float(half).is_integer() else half)
    return tree_map(lambda g, t: None if g is None else (1 - decay) * norm_pow(g) + decay * t,
                    updates, moments, is_leaf=is_none, names=("updates", "optimizer state"),
                    fix="Initialize the optimizer state with init(params) of these params.")


def bias_correction(moment, decay, count):
    """``moment / (1 - decay**count)``, the power computed in f32 then cast to the
    moment's dtype (so bf16 moments stay bf16 without rounding ``decay**count`` to 1)."""
    if isinstance(count, int):
        count = fnp.asarray(count)
    correction = 1 - decay ** count
    return tree_util.tree_map(lambda t: t / correction.astype(t.dtype), moment)


def safe_increment(count):
    """``count + 1``, saturating at the dtype's maximum instead of overflowing."""
    dt = np.dtype(count.dtype) if hasattr(count, "dtype") else np.dtype(np.int32)
    max_value = (np.iinfo(dt).max if np.issubdtype(dt, np.integer) else
                 np.finfo(dt).max)
    max_value = fnp.array(max_value, dt)
    return fnp.where(count < max_value, count + fnp.array(1, dt), max_value)


def tree_sum(tree):
    """Sum of all elements of all leaves (leaf sums added in flatten order)."""
    sums = tree_util.tree_map(fnp.sum, tree)
    return tree_util.tree_reduce(operator.add, sums, initializer=0)


def norm(tree, squared: bool = False):
    """Global L2 norm of a tree (as ``optax.tree.norm``)."""
    sq = tree_sum(tree_util.tree_map(abs_sq, tree))
    return fnp.asarray(sq if squared else fnp.sqrt(sq))


def where(condition, tree_x, tree_y):
    return tree_util.tree_map(lambda x, y: fnp.where(condition, x, y), tree_x, tree_y)


def dtype(tree):
    """The highest dtype among the leaves (float32 for an empty tree)."""
    leaves = tree_util.tree_leaves(tree)
    if not leaves:
        return np.dtype(np.float32)
    return np.dtype(functools.reduce(fnp.promote_types, [np.dtype(x.dtype) for x in leaves]))


def num_elements(tree) -> int:
    """How many numbers the leaves of ``tree`` hold (state sizes)."""
    return int(sum(int(np.prod(np.shape(x))) for x in tree_util.tree_leaves(tree)))
