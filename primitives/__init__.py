"""Lax-level primitives: same names and signatures as jax.lax.

Every public op is a one-line wrapper around ``Primitive.bind``; each
primitive's rules live in one block of its family's file.
"""
from primitives.elementwise import *  # noqa: F401,F403
