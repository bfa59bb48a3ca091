"""primitives.scipy.optimize: ``jax.scipy.optimize`` on our primitives.

``minimize`` with BFGS (and JAX's experimental L-BFGS), each a ``while_loop``
around a strong-Wolfe line search (itself ``while_loop``s), gradients from our
autodiff; the same iterates as JAX's.

Example::

    >>> import primitives.numpy as fnp, primitives.scipy.optimize as fso
    >>> r = fso.minimize(lambda x: fnp.sum((x - 2.) ** 2), fnp.zeros(2), method="BFGS")

References:
    JAX's ``jax/_src/scipy/optimize/``.
"""
from primitives.scipy.optimize._minimize import OptimizeResults, minimize

__all__ = ["minimize", "OptimizeResults"]
