"""Typed errors. Each says what happened, where (the user's line) and how to fix it."""
from __future__ import annotations

__all__ = ["FxError", "ShapeError", "FxTypeError", "ConcretizationError",
           "UnexpectedTracerError", "UnsupportedInputError", "ForeignFunctionError",
           "UnboundAxisError", "JaxConversionError"]


class FxError(Exception):
    """Base class of fxjax's errors."""


class ShapeError(FxError, ValueError):
    """Operand shapes do not fit the op (mismatched add/dot, bad reshape, bad axis)."""


class FxTypeError(FxError, TypeError):
    """Operand dtypes or kinds do not fit the op."""


class ConcretizationError(FxError, TypeError):
    """A traced (abstract) value was used where Python needs a concrete one."""


class UnexpectedTracerError(FxError, RuntimeError):
    """A tracer escaped the transformation that created it and was used later."""


class UnsupportedInputError(FxError, TypeError):
    """A value fxjax cannot trace (a jax.numpy function called on our tracer, an object)."""


class ForeignFunctionError(FxError, RuntimeError):
    """A jax.numpy / jax.lax function was called on an fxjax tracer.

    (Not a TypeError on purpose: jax.jit turns TypeErrors raised while it reads
    its arguments into its own, less helpful message.)"""


class UnboundAxisError(FxError, NameError):
    """A collective (psum, axis_index, ...) names an axis no enclosing vmap/pmap binds."""


class JaxConversionError(FxError, NotImplementedError):
    """A jaxpr equation has no conversion to our IR (fx.from_jax / fx.jax_function):
    the message names the jax primitive and the equation."""
