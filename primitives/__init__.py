"""Lax-level primitives: same names and signatures as jax.lax.

Every public op is a one-line wrapper around ``Primitive.bind``; each
primitive's rules live in one block of its family's file. ``primitives.numpy``,
``primitives.nn`` and ``primitives.random`` are built from these.

Importing this package registers the structural ops ``fx`` uses generically
(``fx.core.register_structural_ops``: the one upward hook of the core).
"""
from fx.core import register_structural_ops as _register
from primitives import (elementwise, elementwise_math, shape, slicing, indexing, reductions,
                        linalg, conv, collectives, control_flow, sharding)

_FAMILIES = (elementwise, elementwise_math, shape, slicing, indexing, reductions, linalg, conv,
             collectives, control_flow, sharding)
for _mod in _FAMILIES:
    globals().update({k: getattr(_mod, k) for k in _mod.__all__})

_register({k: globals()[k] for k in ("transpose", "broadcast_in_dim", "reshape", "reduce_sum",
                                     "convert_element_type", "squeeze", "expand_dims", "slice",
                                     "add", "mul")})

from primitives import jax_rules  # noqa: E402,F401  (registers fx.from_jax's conversions)
from primitives.shard_map import shard_map_p  # noqa: E402,F401  (the shard_map primitive)
from primitives import special as _special  # noqa: E402  (lgamma, igamma, betainc, ...)
globals().update({k: getattr(_special, k) for k in _special.__all__})
from primitives import linalg_decompositions as _linalg_dec  # noqa: E402  (issue 13: lax.linalg)
globals().update({k: getattr(_linalg_dec, k) for k in _linalg_dec.__all__})
