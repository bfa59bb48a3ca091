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
from primitives import complex as _complex  # noqa: E402  (issue 13: real, imag, complex, conj)
globals().update({k: getattr(_complex, k) for k in _complex.__all__})
from primitives import windowed_reductions as _windowed  # noqa: E402  (issue 13: reduce_window)
globals().update({k: getattr(_windowed, k) for k in _windowed.__all__})
from primitives import conv_extras as _conv_extras  # noqa: E402  (issue 13: conv_transpose, ...)
globals().update({k: getattr(_conv_extras, k) for k in _conv_extras.__all__})
from primitives import fft as _fft  # noqa: E402  (issue 13: fft, FftType)
globals().update({k: getattr(_fft, k) for k in _fft.__all__})
from primitives import lax_helpers as _lax_helpers  # noqa: E402  (issue 13: full, split, Precision, ...)
globals().update({k: getattr(_lax_helpers, k) for k in _lax_helpers.__all__})
from primitives import associative_scan as _assoc  # noqa: E402  (issue 13: associative_scan)
globals().update({k: getattr(_assoc, k) for k in _assoc.__all__})
from primitives import linear_solve as _linear_solve  # noqa: E402  (issue 13: custom_linear_solve, custom_root)
globals().update({k: getattr(_linear_solve, k) for k in _linear_solve.__all__})
from primitives import generic_reduce as _generic_reduce  # noqa: E402  (issue 13: reduce, reduce_p)
globals().update({k: getattr(_generic_reduce, k) for k in _generic_reduce.__all__})
from primitives import lax_misc_ops as _lax_misc  # noqa: E402  (issue 13: mulhi, rng_*, approx_*_k)
globals().update({k: getattr(_lax_misc, k) for k in _lax_misc.__all__})
from primitives import linalg_eig as _linalg_eig  # noqa: E402  (issue 13: lax.linalg.eig)
globals().update({k: getattr(_linalg_eig, k) for k in _linalg_eig.__all__})
from primitives import ragged_dot as _ragged  # noqa: E402  (issue 13: ragged_dot, ragged_dot_general)
globals().update({k: getattr(_ragged, k) for k in _ragged.__all__})
