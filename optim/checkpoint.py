"""Checkpoints of params and optimizer state as numpy ``.npz`` files.

Why .npz rather than orbax-checkpoint: our states are small pytrees of
arrays on one host, and .npz needs nothing beyond numpy (orbax brings
tensorstore, asyncio machinery and multi-host coordination we do not use
here). Each leaf is stored under its jax key path (``['opt'][0].mu['w']``),
so a checkpoint is readable with ``numpy.load`` alone and a mismatch names
the leaf. Arrays are written as raw bits (bfloat16 and other ml_dtypes as
same-width unsigned integers, their dtype recorded), so the round trip is
bit-exact. The tree structure is not pickled (NamedTuple classes would tie
the file to our code's module paths): restoring takes a template tree of the
same structure (``like=``), as orbax's restore does with a target — e.g. the
output of ``tx.init(params)``. For sharded multi-host training use orbax.

Example::

    >>> optim.save_checkpoint("ckpt.npz", {"params": params, "opt": state, "step": step})
    >>> restored = optim.load_checkpoint("ckpt.npz", like={"params": params,
    ...                                                     "opt": tx.init(params), "step": 0})
"""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from optim.errors import CheckpointError

__all__ = ["save_checkpoint", "load_checkpoint"]

_META = "__fxjax_meta__"
_NATIVE_KINDS = "biufc"


def _encode(x) -> tuple[np.ndarray, str]:
    arr = np.asarray(x)
    name = arr.dtype.name
    if arr.dtype.kind in _NATIVE_KINDS and arr.dtype.isnative:
        return arr, name
    return arr.view(np.dtype(f"u{arr.dtype.itemsize}")), name  # bfloat16, float8: raw bits


def _decode(raw: np.ndarray, name: str) -> np.ndarray:
    if raw.dtype.name == name:
        return raw
    return raw.view(fnp.dtype(name))


def save_checkpoint(path: str | os.PathLike, tree: Any) -> None:
    """Write every leaf of ``tree`` (arrays or Python scalars) to ``path`` (.npz).

    Args:
      path: file name; written atomically (to a temporary name, then renamed).
      tree: any pytree, e.g. ``{"params": params, "opt_state": state}``.
    """
    leaves = tree_util.tree_flatten_with_path(tree)[0]
    arrays, dtypes = {}, {}
    for i, (key_path, leaf) in enumerate(leaves):
        key = f"{i:05d}{tree_util.keystr(key_path)}"
        arrays[key], dtypes[key] = _encode(leaf)
    meta = {"dtypes": dtypes, "treedef": str(tree_util.tree_structure(tree))}
    arrays[_META] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    path = os.fspath(path)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, like: Any) -> Any:
    """Read a checkpoint into the structure of ``like`` (bit-exact, as jax arrays).

    Args:
      path: a file written by :func:`save_checkpoint`.
      like: a tree of the same structure, shapes and dtypes (its values are unused).

    Raises:
      CheckpointError: the checkpoint's leaves do not match ``like``'s (names the leaf).
    """
    with np.load(os.fspath(path)) as data:
        meta = json.loads(bytes(data[_META]).decode())
        keys = [k for k in data.files if k != _META]
        template, treedef = tree_util.tree_flatten_with_path(like)
        expected = [f"{i:05d}{tree_util.keystr(p)}" for i, (p, _) in enumerate(template)]
        if keys != expected:
            missing = [k[5:] for k in expected if k not in keys]
            extra = [k[5:] for k in keys if k not in expected]
            raise CheckpointError(
                f"checkpoint {path} does not have the structure of `like`.\n"
                f"  missing from the checkpoint: {missing[:6]}\n  not in `like`: {extra[:6]}\n"
                f"  checkpoint tree: {meta['treedef'][:300]}\nPass as `like` a tree built the "
                f"same way as the saved one (same params, same optimizer's init).")
        out = []
        for key, (_, ref) in zip(keys, template):
            arr = _decode(data[key], meta["dtypes"][key])
            ref_shape, ref_dtype = np.shape(ref), np.dtype(getattr(ref, "dtype", arr.dtype))
            if arr.shape != ref_shape or (hasattr(ref, "dtype") and arr.dtype != ref_dtype):
                raise CheckpointError(
                    f"checkpoint leaf {key[5:]}: stored {arr.dtype}{list(arr.shape)} but `like` "
                    f"has {ref_dtype}{list(ref_shape)}. Restore into a tree of the saved "
                    f"shapes/dtypes.")
            out.append(fnp.asarray(arr) if hasattr(ref, "dtype") else arr.item())
    return tree_util.tree_unflatten(treedef, out)
