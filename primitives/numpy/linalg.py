"""fnp.linalg (as jax.numpy.linalg)."""
__all__ = []
