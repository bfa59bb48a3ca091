"""Typed errors of the DP-SGD pipeline (subclasses of fx.errors.FxError).

Each says what was wrong with the input and what to pass instead.
"""
from __future__ import annotations

from fx.errors import FxError, ShapeError

__all__ = ["DPError", "DPArgumentError", "ClipNormError", "ClipTreeError", "NotPerExampleLossError",
           "SamplingError", "DeltaError", "UnreachableEpsilonError", "AccountantError"]


class DPError(FxError):
    """Base class of the errors raised by ``optim.dp``."""


class DPArgumentError(DPError, ValueError):
    """A bad option of the pipeline: unknown method, negative noise multiplier,
    noise without a key."""


class ClipNormError(DPError, ValueError):
    """A clip norm is not a positive finite number."""


class ClipTreeError(DPError, ValueError):
    """A per-layer clip tree does not have the structure of the params tree."""


class NotPerExampleLossError(DPError, ShapeError):
    """The loss does not return one scalar per example (it returns a batch vector,
    or the batch has leaves with different leading sizes)."""


class SamplingError(DPError, ValueError):
    """Bad Poisson-sampling arguments (q outside (0, 1], a non-positive size)."""


class DeltaError(DPError, ValueError):
    """``delta`` is not in (0, 1)."""


class UnreachableEpsilonError(DPError, ValueError):
    """No noise multiplier in the searched range reaches the target epsilon."""


class AccountantError(DPError, ValueError):
    """An unknown accountant, or one that cannot account for the given events."""
