"""Pseudo-random numbers (as jax.random): threefry2x32 with raw ``uint32[2]`` keys.

Keys are the legacy raw keys of ``jax.random.PRNGKey``: an array ``u32[2]``.
Four primitives own the randomness (``random_seed``, ``random_bits``,
``random_split``, ``random_fold_in``); their lowerings produce jax.random's
bits for the raw key: ``primitives.threefry`` computes them on CPU with an
unrolled hash (jax's CPU lowering is a rolled loop, about 3x slower) and calls
jax.random everywhere else. Every
distribution is then built from those bits with lax-level and numpy-level ops,
mirroring ``jax._src.random.core`` step by step, so that for the same key our
samples equal jax.random's bit for bit.

The key primitives accept keys with leading batch dimensions (``u32[..., 2]``)
and lower with ``jax.vmap`` over those dimensions; that is how their batch
rules work (one bind on the stacked keys, no Python loop). The public
functions, like jax's, take a single key: use ``vmap`` to map over keys.

The module is split by concept: ``random_base`` (keys, typed-key helpers and
the basic samplers), ``random_gamma`` (the ``random_gamma`` primitive),
``random_distributions`` (continuous distributions) and ``random_discrete``
(poisson, binomial, multinomial, geometric); this module re-exports them.

Example::

    >>> import primitives.random as frandom
    >>> key = frandom.PRNGKey(0)
    >>> k1, k2 = frandom.split(key)
    >>> x = frandom.normal(k1, (3,))          # == jax.random.normal(k1, (3,))
"""

from __future__ import annotations

from primitives.prng import (random_bits, random_fold_in, random_seed,  # noqa: F401
                             random_split, random_seed_p, random_bits_p, random_split_p,
                             random_fold_in_p)
from primitives.random_base import *  # noqa: F401,F403
from primitives.random_base import __all__ as _base_all
from primitives.random_gamma import random_gamma_p  # noqa: F401
from primitives.random_distributions import *  # noqa: F401,F403
from primitives.random_distributions import __all__ as _dist_all
from primitives.random_discrete import *  # noqa: F401,F403
from primitives.random_discrete import __all__ as _discrete_all

__all__ = [*_base_all, *_dist_all, *_discrete_all, "random_gamma_p"]
