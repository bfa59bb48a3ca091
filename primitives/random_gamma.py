"""The ``random_gamma`` primitive (as jax.random's ``random_gamma_p``): standard
Gamma(a, 1) samples, one per element of ``a``, for raw threefry keys.

``random_gamma keys:u32[*B, 2] a:f[*B, *S] -> f[*B, *S]`` (``log_space``: the
log of the sample, accurate for tiny ``a``). Each key draws ``prod(S)`` samples
(split into one key per element, then Marsaglia-Tsang rejection per element).

Rules, in one block below:

- abstract eval: the aval of ``a`` (keys' batch shape a prefix of ``a.shape``);
- lowering: jax's own ``random_gamma_p`` on the keys wrapped as typed threefry
  keys, so the bits (the rejection loop of ``jax._src.random``'s ``_gamma_one``)
  equal jax.random.gamma's;
- jvp: implicit reparameterization in ``a`` (Figurnov et al. 2018), as JAX's:
  ``a_dot * random_gamma_grad(a, x)``, divided by ``x = exp(ans)`` in log space;
  keys (integers) have no tangent;
- batch: both operands' batch axes moved to the front (the keys' leading
  dimensions are their batch shape), one bind.

Example::

    >>> import primitives.random as frandom
    >>> frandom.gamma(frandom.PRNGKey(0), 2.0, (3,))   # == jax.random.gamma(...)

References:
    Marsaglia & Tsang, "A simple method for generating gamma variables" (2000);
    Figurnov, Mohamed & Mnih, "Implicit reparameterization gradients" (2018);
    jax/_src/random/core.py (``_gamma_one``, ``_gamma_grad``, ``random_gamma_p``).
"""
from __future__ import annotations

import numpy as np
import jax

from fx.ad import defjvp
from fx.batching import batch_size, bdim_at_front
from fx.core import Primitive, get_aval
from fx.dtypes import kind
from fx.errors import FxTypeError, ShapeError
from primitives.elementwise import div, eq, mul, select_n
from primitives.elementwise_math import exp
from primitives.prng import check_keys_aval
from primitives.special import random_gamma_grad

__all__ = ["random_gamma", "random_gamma_p"]


# --- random_gamma ---
random_gamma_p = Primitive("random_gamma")


@random_gamma_p.def_abstract_eval
def _random_gamma_aval(keys, a, *, log_space):
    batch = check_keys_aval("random_gamma", keys)
    if kind(a.dtype) != "f":
        raise FxTypeError(f"random_gamma: a must be floating point, got {a.str_short()}.")
    if a.shape[:len(batch)] != batch:
        raise ShapeError(f"random_gamma: the keys' batch shape {batch} must prefix the shape of "
                         f"a, got keys {keys.str_short()} and a {a.str_short()}.")
    return a.strip_weak()


@random_gamma_p.def_lowering
def _random_gamma_lowering(keys, a, *, log_space):
    typed = jax.random.wrap_key_data(keys, impl="threefry2x32")
    return jax.random.random_gamma_p.bind(typed, a, log_space=log_space)


def _random_gamma_jvp(a_dot, ans, keys, a, *, log_space):
    """d sample / d a at fixed noise (JAX's ``_gamma_grad``)."""
    if not log_space:
        return mul(a_dot, random_gamma_grad(a, ans))
    aval = get_aval(ans)
    samples = exp(ans)  # may round to 0: use the smallest normal float instead
    tiny = np.full(aval.shape, jax.dtypes.finfo(aval.dtype).tiny, aval.dtype)
    samples = select_n(eq(samples, np.zeros((), aval.dtype)), samples, tiny)
    return mul(a_dot, div(random_gamma_grad(a, samples), samples))


defjvp(random_gamma_p, None, _random_gamma_jvp)


@random_gamma_p.def_batch
def _random_gamma_batch(args, bdims, *, log_space):
    size = batch_size(args, bdims)
    keys, a = (bdim_at_front(x, d, size) for x, d in zip(args, bdims))
    return random_gamma_p.bind(keys, a, log_space=log_space), 0


def random_gamma(keys, a, *, log_space: bool = False):
    """Standard Gamma(a, 1) samples (or their logs) for keys ``u32[*B, 2]`` and
    ``a: f[*B, *S]`` (as jax's ``random_gamma_p.bind``).

    Args:
      keys: raw threefry keys whose batch shape prefixes ``a.shape``.
      a: concentration parameters (floating point), one sample each.
      log_space: return ``log(sample)``.

    Returns:
      Samples with the shape and dtype of ``a``.

    References:
      Marsaglia & Tsang (2000); jax.random.gamma.
    """
    return random_gamma_p.bind(keys, a, log_space=bool(log_space))
