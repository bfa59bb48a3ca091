"""Transformations of the IR: jit, grad, vmap, ... (as the same names in jax)."""
from transforms.jit import jit, eval_shape, Jitted

__all__ = ["jit", "eval_shape", "Jitted"]
