"""The numpy API (as jax.numpy), built only from the lax-level primitives.

Submodules (one concept each) are re-exported here; ``_methods`` installs the
operators and methods of traced arrays.
"""
from __future__ import annotations

from primitives.numpy._promote import promote  # noqa: F401
from primitives.numpy import (dtypes, creation, math, reductions, linalg_ops, manipulation,
                              tiling, indexing, sorting, constants, comparisons,
                              elementwise_more, grids, sequences, polynomials, statistics,
                              nonzero, complex_ops)
from primitives.numpy import (setops, histograms, windows, index_tricks, selection,
                              calculus, covariance, products, manipulation_more,
                              polynomial_fit, bits, dtype_names, io, functional, padding)

for _mod in (dtypes, creation, math, reductions, linalg_ops, manipulation, tiling, indexing,
             sorting, constants, comparisons, elementwise_more, grids, sequences, polynomials,
             statistics, complex_ops, setops, histograms, windows, index_tricks, selection,
             calculus, covariance, products, manipulation_more, polynomial_fit, bits,
             dtype_names, io, functional, padding, nonzero):   # nonzero last: its one-argument-aware `where` wins
    globals().update({k: getattr(_mod, k) for k in _mod.__all__})

from primitives.numpy import linalg  # noqa: E402,F401
from primitives.numpy import fft  # noqa: E402,F401  (fnp.fft, as jnp.fft)
from primitives.numpy import _methods  # noqa: E402,F401  (installs Tracer operators)
from primitives.numpy import _jax_array  # noqa: E402,F401  (jax.Array defers to our tracers)
