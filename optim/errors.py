"""Typed errors of the optimizer library (subclasses of fx.errors.FxError).

Each says what was wrong with the input and what to pass instead.
"""
from __future__ import annotations

from fx.errors import FxError, ShapeError

__all__ = ["OptimError", "NotATransformationError", "TreeMismatchError", "MaskError",
           "MissingParamsError", "MuonDimensionError", "CheckpointError"]


class OptimError(FxError):
    """Base class of the errors raised by ``optim``."""


class NotATransformationError(OptimError, TypeError):
    """Something that is not an ``(init, update)`` pair (a schedule, a number)
    was given where a GradientTransformation is expected, or the reverse."""


class TreeMismatchError(OptimError, ValueError):
    """Two pytrees that must match (updates/params, updates/state) do not."""


class MaskError(TreeMismatchError):
    """A mask (or label) tree does not fit the params tree, or has non-bool leaves."""


class MissingParamsError(OptimError, ValueError):
    """A transformation that reads the parameters was updated without ``params``."""


class MuonDimensionError(OptimError, ShapeError):
    """Muon was given a leaf it cannot orthogonalize as a matrix."""


class CheckpointError(OptimError, ValueError):
    """A checkpoint does not fit the tree it is restored into."""
