"""Find the user's line: the first stack frame outside fxjax, jax and the stdlib helpers."""
from __future__ import annotations

import os
import sys
import threading

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


class _CurrentSource(threading.local):
    """The source line of the equation an Interpreter is re-binding (None when
    ops come from the user's code directly); one per thread."""

    def __init__(self):
        self.info: SourceInfo | None = None


current_source = _CurrentSource()


def user_frame_info(depth: int = 2) -> SourceInfo | None:
    """Return the SourceInfo of the innermost frame that is the user's code, or,
    while an Interpreter re-binds a graph's equation (a transformation of a
    traced graph), that equation's own source line."""
    if current_source.info is not None:
        return current_source.info
    f = sys._getframe(depth)
    while f is not None:
        code = f.f_code
        if not _is_internal(code):
            return SourceInfo(code.co_filename, f.f_lineno, code.co_name)
        f = f.f_back
    return None


def with_user_line(err: Exception, depth: int = 3) -> Exception:
    """``err`` (an fxjax typed error) with the user's line appended to its
    message, once: an error of the same class, marked as located."""
    if getattr(err, "_fx_located", False):
        return err
    src = user_frame_info(depth)
    new = type(err)(f"{err}\n  at {src}" if src else str(err))
    new._fx_located = True
    return new
