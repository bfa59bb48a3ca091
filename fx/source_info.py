"""Find the user's line: the first stack frame outside fxjax, jax and the stdlib helpers."""
from __future__ import annotations

import os
import sys

from fx.ir import SourceInfo

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_INTERNAL_DIRS = tuple(os.path.join(_ROOT, d) + os.sep for d in
                       ("fx", "primitives", "transforms", "optim", "pallas_kernels"))
_LIBRARY_MARKERS = (os.sep + "jax" + os.sep, os.sep + "jaxlib" + os.sep,
                    os.sep + "contextlib.py", os.sep + "functools.py", os.sep + "optax" + os.sep)
_is_internal_cache: dict = {}


def _is_internal(code) -> bool:
    hit = _is_internal_cache.get(code)
    if hit is None:
        fn = code.co_filename
        hit = fn.startswith(_INTERNAL_DIRS) or any(m in fn for m in _LIBRARY_MARKERS)
        _is_internal_cache[code] = hit
    return hit


def user_frame_info(depth: int = 2) -> SourceInfo | None:
    """Return the SourceInfo of the innermost frame that is the user's code."""
    f = sys._getframe(depth)
    while f is not None:
        code = f.f_code
        if not _is_internal(code):
            return SourceInfo(code.co_filename, f.f_lineno, code.co_name)
        f = f.f_back
    return None


def add_internal_dir(path: str) -> None:
    """Treat files under ``path`` as library code (tests use it for helpers)."""
    global _INTERNAL_DIRS
    _INTERNAL_DIRS = _INTERNAL_DIRS + (os.path.abspath(path) + os.sep,)
    _is_internal_cache.clear()
