"""Type aliases of the optax protocol: ``Params``, ``Updates``, ``OptState``,
``TransformUpdateExtraArgsFn``, ``MaskOrFn`` and ``ShouldSkipUpdateFunction``
(for annotations only)."""
from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, Union

from optim.base import OptState, Params, Updates

__all__ = ["Params", "Updates", "OptState", "TransformUpdateExtraArgsFn", "MaskOrFn",
           "ShouldSkipUpdateFunction"]


class TransformUpdateExtraArgsFn(Protocol):
    """``update(updates, state, params=None, **extra_args) -> (updates, state)``."""
    def __call__(self, updates: Updates, state: OptState, params: Optional[Params] = None,
                 **extra_args: Any) -> tuple[Updates, OptState]: ...


MaskOrFn = Optional[Union[Any, Callable[[Params], Any]]]
"""A mask (a tree of bools shaped like the params), a function params -> mask, or None."""

ShouldSkipUpdateFunction = Callable[[Updates, OptState, Optional[Params]], tuple[Any, Any]]
"""``(updates, gradient_step, params) -> (should_skip, extra_state)``, as MultiSteps takes."""
