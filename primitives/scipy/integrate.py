"""primitives.scipy.integrate: ``jax.scipy.integrate`` (the trapezoidal rule).

Example::

    >>> import numpy as np, primitives.scipy.integrate as fsi
    >>> fsi.trapezoid(np.array([1., 2., 3.], np.float32))   # 4.0

References:
    JAX's ``jax/_src/scipy/integrate.py``; SciPy's ``scipy.integrate.trapezoid``.
"""
from __future__ import annotations

from primitives.numpy import trapezoid as _trapezoid

__all__ = ["trapezoid"]


def trapezoid(y, x=None, dx=1.0, axis: int = -1):
    """Integrate ``y`` along ``axis`` by the composite trapezoidal rule (as JAX).

    Args:
      y: the samples.
      x: the sample points (default: equally spaced by ``dx``).
      dx: the spacing when ``x`` is None.
      axis: the axis to integrate along.

    Returns:
      The integral.

    References:
      jax.scipy.integrate.trapezoid (= jnp.trapezoid).
    """
    return _trapezoid(y, x, dx, axis)
