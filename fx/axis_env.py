"""Named axes: the stack of axis names bound by the mapping transforms.

``vmap(f, axis_name='i')`` binds ``'i'`` while it traces ``f``; collectives
(``psum(x, 'i')``, ``axis_index('i')``, ...) look their names up here to find
the axis size (their abstract evaluation needs it) and the trace that
implements the axis (the vmap's ``BatchTrace``: its main). A frame without a
main names an axis bound by a jax-level mapping (``shard_map``/``pmap`` lower
their bodies inside ``jax.shard_map``): collectives over it are staged and
lowered to ``jax.lax`` collectives.

Example::

    >>> with extend_axis_env("i", 8):
    ...     axis_size("i")
    8

References:
    JAX's axis environment (``jax._src.core.extend_axis_env_nd``).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, NamedTuple, Sequence

from fx.errors import UnboundAxisError
from fx.source_info import user_frame_info

__all__ = ["AxisFrame", "extend_axis_env", "lookup", "axis_size", "bound_names",
           "innermost_frame", "unbound_error", "vma_checked_axes", "checked_axes"]


class AxisFrame(NamedTuple):
    """One bound axis: its name, size and the MainTrace implementing it (or None)."""
    name: Any
    size: int
    main: Any = None


class _Frames(threading.local):
    """The bound axes, one stack per thread."""

    def __init__(self):
        self.stack: list[AxisFrame] = []
        self.checked: tuple = ()  # the mesh axes of the enclosing check_vma shard_maps


_local = _Frames()


@contextmanager
def extend_axis_env(name, size: int, main=None):
    """Bind ``name`` (of ``size``) while the block runs; inner bindings shadow outer ones."""
    _local.stack.append(AxisFrame(name, int(size), main))
    try:
        yield
    finally:
        _local.stack.pop()


def bound_names() -> list:
    """The axis names bound now, outermost first."""
    return [f.name for f in _local.stack]


def lookup(name) -> AxisFrame | None:
    """The innermost frame binding ``name``, or None."""
    for f in reversed(_local.stack):
        if f.name == name:
            return f
    return None


def unbound_error(op: str, name) -> UnboundAxisError:
    bound = ", ".join(repr(n) for n in bound_names()) or "none"
    src = user_frame_info(3)
    where = f" at {src}" if src else ""
    return UnboundAxisError(
        f"{op}: axis name {name!r} is not bound by any enclosing vmap (bound axis names: "
        f"{bound}){where}. Fix: pass axis_name={name!r} to the vmap (or pmap/shard_map) that "
        f"maps over that axis, or use one of the bound names.")


def axis_size(name, op: str = "collective") -> int:
    """The size of axis ``name`` (a tuple of names: the product); UnboundAxisError if unbound."""
    if isinstance(name, tuple):
        size = 1
        for n in name:
            size *= axis_size(n, op)
        return size
    f = lookup(name)
    if f is None:
        raise unbound_error(op, name)
    return f.size


def innermost_frame(names: Sequence) -> AxisFrame | None:
    """The innermost frame binding any of ``names`` (collectives are resolved
    from the innermost axis outwards)."""
    for f in reversed(_local.stack):
        if f.name in names:
            return f
    return None


@contextmanager
def vma_checked_axes(names):
    """While the block runs (a ``shard_map`` body with ``check_vma`` being
    traced or transformed), values track the mesh axes ``names`` they vary
    over: ``ShapedArray.vma``, set by ``fx.tracing``, with the invariant ->
    varying casts ``Primitive.bind`` inserts (jax's ``check_vma`` typing)."""
    before = _local.checked
    _local.checked = before + tuple(n for n in names if n not in before)
    try:
        yield
    finally:
        _local.checked = before


def checked_axes() -> tuple:
    """The mesh axes whose variation is tracked now (empty outside check_vma bodies)."""
    return _local.checked
