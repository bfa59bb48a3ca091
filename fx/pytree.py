"""Pytrees: a thin layer over jax.tree_util (we do not write our own)."""
from jax.tree_util import (tree_flatten, tree_unflatten, tree_map, tree_leaves,  # noqa: F401
                           tree_structure, register_pytree_node, treedef_is_leaf)

__all__ = ["tree_flatten", "tree_unflatten", "tree_map", "tree_leaves", "tree_structure",
           "register_pytree_node", "treedef_is_leaf"]
