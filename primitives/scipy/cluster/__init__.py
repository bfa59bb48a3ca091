"""primitives.scipy.cluster: ``jax.scipy.cluster`` (the ``vq`` module, as JAX's).

References:
    JAX's ``jax/scipy/cluster/``.
"""
from primitives.scipy.cluster import vq  # noqa: F401
