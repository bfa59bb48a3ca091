"""Lax-level primitives: same names and signatures as jax.lax.

Every public op is a one-line wrapper around ``Primitive.bind``; each
primitive's rules live in one block of its family's file. ``primitives.numpy``,
``primitives.nn`` and ``primitives.random`` are built from these.
"""
import importlib as _importlib

_FAMILIES = ["elementwise", "elementwise_math", "shape", "indexing", "reductions", "linalg",
             "conv", "collectives", "control_flow", "sharding"]
for _name in _FAMILIES:
    _mod = _importlib.import_module(f"primitives.{_name}")
    globals().update({k: getattr(_mod, k) for k in _mod.__all__})

from fx.core import register_structural_ops as _register  # noqa: E402

_register({k: globals()[k] for k in ("transpose", "broadcast_in_dim", "reshape", "reduce_sum",
                                     "convert_element_type", "squeeze", "expand_dims", "slice")
           if k in globals()})
