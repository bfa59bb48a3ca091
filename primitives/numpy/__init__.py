"""The numpy API (as jax.numpy), built only from the lax-level primitives.

Submodules (one concept each) are re-exported here; ``_methods`` installs the
operators and methods of traced arrays.
"""
from __future__ import annotations

import importlib as _importlib

from primitives.numpy._promote import promote  # noqa: F401

_SUBMODULES = ["dtypes", "creation", "math", "reductions", "linalg_ops", "manipulation",
               "indexing", "sorting"]
for _name in _SUBMODULES:
    _mod = _importlib.import_module(f"primitives.numpy.{_name}")
    globals().update({k: getattr(_mod, k) for k in _mod.__all__})

from primitives.numpy import linalg  # noqa: E402,F401
from primitives.numpy import _methods  # noqa: E402,F401  (installs Tracer operators)
