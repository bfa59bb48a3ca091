"""Discrete distributions of ``primitives.random`` (as jax.random): ``poisson``,
``binomial``, ``multinomial``, ``geometric``.

Poisson and binomial are rejection samplers, written as jax's with our
``while_loop`` (every lane draws until all are accepted; the loop's key is
split once per round): Knuth's product of uniforms for small means, Hormann's
transformed rejection (PTRS / BTRS) for large ones, both run and one selected
per element, exactly as ``jax._src.random.core`` does, so the bits are
jax.random's. Multinomial is a ``scan`` of conditional binomials.

Example::

    >>> import primitives.random as frandom
    >>> frandom.poisson(frandom.PRNGKey(0), 3.0, (4,))   # == jax.random.poisson(...)

References:
    Knuth, TAOCP vol. 2, 3.4.1; Hormann, "The transformed rejection method for
    generating Poisson random variables" (1993); Hormann, "The generation of
    binomial random variates" (1993); jax/_src/random/core.py.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import jax

import primitives as P
import primitives.numpy as fnp
from fx.core import canonical_dtype, get_aval
from fx.dtypes import kind
from fx.errors import FxTypeError
from primitives.numpy._promote import result_type_of
from primitives.prng import random_split, shape_tuple
from primitives.random_base import _check_key, _row, _shape_of, _split2, _uniform, eager_jit
from primitives.random_distributions import check_shape, convert, param

__all__ = ["poisson", "binomial", "multinomial", "geometric"]

F32 = np.dtype(np.float32)


def _split3(key):
    keys = random_split(key, (3,))
    return _row(keys, 0), _row(keys, 1), _row(keys, 2)


def _full(shape, value, dtype):
    return fnp.full(shape, value, dtype=dtype)


def _int_dtype(op: str, dtype):
    dtype = canonical_dtype(np.int64 if dtype is None else dtype)
    if kind(dtype) not in "iu":
        raise FxTypeError(f"{op}: dtype must be an integer dtype, got {dtype}.")
    return dtype


# --- poisson ---
def _poisson_knuth(key, lam, shape, dtype, max_iters):
    """Knuth: count uniforms until their product falls below exp(-lam)."""
    def body(carry):
        i, k, rng, log_prod = carry
        rng, subkey = _split2(rng)
        k = fnp.where(P.gt(log_prod, P.neg(lam)), fnp.add(k, 1), k)
        u = _uniform(subkey, shape, F32, 0., 1.)
        return fnp.add(i, 1), k, rng, P.add(log_prod, P.log(u))

    def cond(carry):
        i, log_prod = carry[0], carry[3]
        return fnp.logical_and(fnp.any(P.gt(log_prod, P.neg(lam))), fnp.less(i, max_iters))

    init = (np.int32(0), _full(shape, 0, dtype), key, _full(shape, 0, F32))
    k = P.while_loop(cond, body, init)[1]
    return P.convert_element_type(fnp.subtract(k, 1), dtype)


def _poisson_rejection(key, lam, shape, dtype, max_iters):
    """Hormann's transformed rejection (PTRS)."""
    log_lam = P.log(lam)
    b = fnp.add(0.931, fnp.multiply(2.53, P.sqrt(lam)))
    a = fnp.add(-0.059, fnp.multiply(0.02483, b))
    inv_alpha = fnp.add(1.1239, fnp.divide(1.1328, fnp.subtract(b, 3.4)))
    v_r = fnp.subtract(0.9277, fnp.divide(3.6224, fnp.subtract(b, 2)))

    def body(carry):
        i, k_out, accepted, key = carry
        key, subkey_0, subkey_1 = _split3(key)
        u = fnp.subtract(_uniform(subkey_0, shape, get_aval(lam).dtype, 0., 1.), 0.5)
        v = _uniform(subkey_1, shape, get_aval(lam).dtype, 0., 1.)
        u_shifted = fnp.subtract(0.5, fnp.abs(u))
        k = P.floor(fnp.add(fnp.add(fnp.multiply(
            fnp.add(fnp.divide(fnp.multiply(2, a), u_shifted), b), u), lam), 0.43))
        s = P.log(fnp.divide(fnp.multiply(v, inv_alpha),
                             fnp.add(fnp.divide(a, fnp.multiply(u_shifted, u_shifted)), b)))
        t = fnp.subtract(fnp.add(P.neg(lam), fnp.multiply(k, log_lam)), P.lgamma(fnp.add(k, 1)))
        accept1 = fnp.logical_and(fnp.greater_equal(u_shifted, 0.07), fnp.less_equal(v, v_r))
        reject = fnp.logical_or(fnp.less(k, 0), fnp.logical_and(fnp.less(u_shifted, 0.013),
                                                                fnp.greater(v, u_shifted)))
        accept = fnp.logical_or(accept1, fnp.logical_and(fnp.logical_not(reject),
                                                         fnp.less_equal(s, t)))
        return (fnp.add(i, 1), fnp.where(accept, k, k_out), fnp.logical_or(accepted, accept), key)

    def cond(carry):
        i, _, accepted, _ = carry
        return fnp.logical_and(fnp.any(fnp.logical_not(accepted)), fnp.less(i, max_iters))

    init = (np.int32(0), _full(shape, -1, get_aval(lam).dtype), _full(shape, False, bool), key)
    return P.convert_element_type(P.while_loop(cond, body, init)[1], dtype)


@eager_jit("shape", "dtype")
def _poisson(key, lam, shape, dtype):
    use_knuth = fnp.logical_or(fnp.isnan(lam), fnp.less(lam, 10))
    lam_knuth = fnp.where(use_knuth, lam, np.float32(0))
    lam_rejection = fnp.where(use_knuth, np.float32(1e5), lam)  # acceptance maxes out at 89%
    max_iters = dtype.type(np.iinfo(dtype).max)  # as jax: never the limit in practice
    result = fnp.where(use_knuth, _poisson_knuth(key, lam_knuth, shape, dtype, max_iters),
                       _poisson_rejection(key, lam_rejection, shape, dtype, max_iters))
    return fnp.where(fnp.equal(lam, 0), fnp.zeros_like(result), result)


def poisson(key, lam, shape: Sequence[int] | None = None, dtype=None):
    """Poisson(lam) samples (as jax.random.poisson): Knuth's algorithm for
    ``lam < 10``, transformed rejection otherwise (both in float32, as jax).

    Args:
      key: a raw key u32[2].
      lam: the rate (>= 0), broadcast-compatible with ``shape``.
      shape: the result shape (default ``lam.shape``).
      dtype: an integer dtype (default int32, int64 with x64).

    Returns:
      Samples.
    """
    key = _check_key("poisson", key)
    dtype = _int_dtype("poisson", dtype)
    shape = _shape_of(lam) if shape is None else shape_tuple(shape)
    lam = convert(fnp.broadcast_to(lam, shape), F32)
    return _poisson(key, lam, shape=shape, dtype=dtype)


# --- binomial ---
_STIRLING_TAIL = [0.0810614667953272, 0.0413406959554092, 0.0276779256849983,
                  0.02079067210376509, 0.0166446911898211, 0.0138761288230707,
                  0.0118967099458917, 0.0104112652619720, 0.00925546218271273,
                  0.00833056343336287]


def _stirling_approx_tail(k):
    """log k! minus its Stirling approximation: a table for k <= 9, a series above."""
    dtype = get_aval(k).dtype
    use_tail_values = fnp.less_equal(k, 9)
    k = P.clamp(np.array(0., dtype), k, np.array(9., dtype))
    kp1sq = fnp.multiply(fnp.add(k, 1), fnp.add(k, 1))
    approx = fnp.divide(fnp.subtract(1.0 / 12, fnp.divide(
        fnp.subtract(1.0 / 360, fnp.divide(1.0 / 1260, kp1sq)), kp1sq)), fnp.add(k, 1))
    idx = P.convert_element_type(P.floor(k), np.int32)
    tail = fnp.take(np.array(_STIRLING_TAIL, dtype), idx)
    return fnp.where(use_tail_values, tail, approx)


def _binomial_inversion(key, count, prob, shape, dtype, max_iters):
    """Sum geometric waiting times until they exceed ``count``."""
    log1minusprob = P.log1p(P.neg(prob))
    pdt = get_aval(prob).dtype

    def body(carry):
        i, num_geom, geom_sum, key = carry
        subkey, key = _split2(key)
        num_geom_out = fnp.where(fnp.less_equal(geom_sum, count), fnp.add(num_geom, 1), num_geom)
        u = _uniform(subkey, shape, pdt, 0., 1.)
        geom = P.ceil(fnp.divide(P.log(u), log1minusprob))
        return fnp.add(i, 1), num_geom_out, fnp.add(geom_sum, geom), key

    def cond(carry):
        i, geom_sum = carry[0], carry[2]
        return fnp.logical_and(fnp.any(fnp.less_equal(geom_sum, count)), fnp.less(i, max_iters))

    init = (np.int32(0), _full(shape, 0, pdt), _full(shape, 0, pdt), key)
    k = P.while_loop(cond, body, init)[1]
    return P.convert_element_type(fnp.subtract(k, 1), dtype)


def _btrs(key, count, prob, shape, dtype, max_iters):
    """Hormann's transformed rejection with squeeze (BTRS)."""
    pdt = get_aval(prob).dtype
    stddev = P.sqrt(fnp.multiply(fnp.multiply(count, prob), fnp.subtract(1, prob)))
    b = fnp.add(1.15, fnp.multiply(2.53, stddev))
    a = fnp.add(fnp.add(-0.0873, fnp.multiply(0.0248, b)), fnp.multiply(0.01, prob))
    c = fnp.add(fnp.multiply(count, prob), 0.5)
    v_r = fnp.subtract(0.92, fnp.divide(4.2, b))
    r = fnp.divide(prob, fnp.subtract(1, prob))
    alpha = fnp.multiply(fnp.add(2.83, fnp.divide(5.1, b)), stddev)
    m = P.floor(fnp.multiply(fnp.add(count, 1), prob))

    def body(carry):
        i, k_out, accepted, key = carry
        key, subkey_0, subkey_1 = _split3(key)
        u = _uniform(subkey_0, shape, pdt, 0., 1.)
        v = _uniform(subkey_1, shape, pdt, 0., 1.)
        u = fnp.subtract(u, 0.5)
        us = fnp.subtract(0.5, fnp.abs(u))
        accept1 = fnp.logical_and(fnp.greater_equal(us, 0.07), fnp.less_equal(v, v_r))
        k = P.floor(fnp.add(fnp.multiply(fnp.add(fnp.divide(fnp.multiply(2, a), us), b), u), c))
        reject = fnp.logical_or(fnp.less(k, 0), fnp.greater(k, count))
        v = P.log(fnp.divide(fnp.multiply(v, alpha),
                             fnp.add(fnp.divide(a, fnp.multiply(us, us)), b)))
        n_m1 = fnp.add(fnp.subtract(count, m), 1)
        n_k1 = fnp.add(fnp.subtract(count, k), 1)
        ub = fnp.multiply(fnp.add(m, 0.5),
                          P.log(fnp.divide(fnp.add(m, 1), fnp.multiply(r, n_m1))))
        ub = fnp.add(ub, fnp.multiply(fnp.add(count, 1), P.log(fnp.divide(n_m1, n_k1))))
        ub = fnp.add(ub, fnp.multiply(fnp.add(k, 0.5),
                                      P.log(fnp.divide(fnp.multiply(r, n_k1), fnp.add(k, 1)))))
        ub = fnp.add(ub, _stirling_approx_tail(m))
        ub = fnp.add(ub, _stirling_approx_tail(fnp.subtract(count, m)))
        ub = fnp.subtract(ub, _stirling_approx_tail(k))
        ub = fnp.subtract(ub, _stirling_approx_tail(fnp.subtract(count, k)))
        accept = fnp.logical_or(accept1, fnp.logical_and(fnp.logical_not(reject),
                                                         fnp.less_equal(v, ub)))
        return (fnp.add(i, 1), fnp.where(accept, k, k_out), fnp.logical_or(accepted, accept), key)

    def cond(carry):
        i, accepted = carry[0], carry[2]
        return fnp.logical_and(fnp.any(fnp.logical_not(accepted)), fnp.less(i, max_iters))

    init = (np.int32(0), _full(shape, -1, pdt), _full(shape, False, bool), key)
    return P.convert_element_type(P.while_loop(cond, body, init)[1], dtype)


@eager_jit("shape", "dtype")
def _binomial(key, count, prob, shape, dtype):
    shape = check_shape("binomial", shape, count, prob)
    pdt = result_type_of(prob)[0]
    pdt = pdt if kind(pdt) in "fc" else canonical_dtype(np.float64)
    prob = fnp.broadcast_to(convert(prob, pdt), shape)
    count = fnp.broadcast_to(convert(count, pdt), shape)
    p_lt_half = fnp.less(prob, 0.5)
    q = fnp.where(p_lt_half, prob, fnp.subtract(1.0, prob))
    count_nan_or_neg = fnp.logical_or(fnp.isnan(count), fnp.less(count, 0.0))
    count_inf = fnp.isinf(count)
    q_is_nan = fnp.isnan(q)
    q_l_0 = fnp.less(q, 0.0)
    q = fnp.where(fnp.logical_or(q_is_nan, q_l_0), _full(shape, 0.01, pdt), q)
    use_inversion = fnp.logical_or(count_nan_or_neg, fnp.less_equal(fnp.multiply(count, q), 10.0))
    count = P.floor(count)  # as np.random.binomial for a float count
    count_inv = fnp.where(use_inversion, count, _full(shape, 0.0, pdt))
    count_btrs = fnp.where(use_inversion, _full(shape, 1e4, pdt), count)
    q_btrs = fnp.where(use_inversion, _full(shape, 0.5, pdt), q)
    max_iters = dtype.type(jax.dtypes.finfo(dtype).max)
    samples = fnp.where(use_inversion,
                        _binomial_inversion(key, count_inv, q, shape, dtype, max_iters),
                        _btrs(key, count_btrs, q_btrs, shape, dtype, max_iters))
    invalid = fnp.logical_or(fnp.logical_or(q_l_0, q_is_nan), count_nan_or_neg)
    samples = fnp.where(invalid, _full(shape, np.nan, dtype), samples)  # nan q or bad count
    samples = fnp.where(fnp.logical_and(count_inf, fnp.logical_not(invalid)),
                        _full(shape, np.inf, dtype), samples)
    keep = fnp.logical_or(fnp.logical_or(p_lt_half, count_nan_or_neg),
                          fnp.logical_or(q_is_nan, count_inf))
    return fnp.where(keep, samples, fnp.subtract(convert(count, dtype), samples))


def binomial(key, n, p, shape: Sequence[int] | None = None, dtype=None):
    """Binomial(n, p) samples as floats (as jax.random.binomial): geometric
    inversion when ``n min(p, 1-p) <= 10``, BTRS rejection otherwise.

    Args:
      key: a raw key u32[2].
      n: the number of trials (floats; floored), broadcast-compatible with ``shape``.
      p: the success probability.
      shape: the result shape (default: the broadcast of ``n`` and ``p``).
      dtype: a float dtype.

    Returns:
      Samples (nan for invalid ``n`` or ``p``, inf for infinite ``n``).
    """
    key = _check_key("binomial", key)
    dtype = canonical_dtype(np.float64 if dtype is None else dtype)
    if kind(dtype) != "f":
        raise FxTypeError(f"binomial: dtype must be a float dtype, got {dtype}.")
    return _binomial(key, param(n), param(p), shape=None if shape is None else shape_tuple(shape),
                     dtype=dtype)


# --- multinomial ---
def multinomial(key, n, p, *, shape: Sequence[int] | None = None, dtype=None,
                unroll: int | bool = 1):
    """Multinomial(n, p) counts (as jax.random.multinomial): a scan over the
    outcomes drawing each count from a binomial of the trials left.

    Args:
      key: a raw key u32[2].
      n: the number of trials, broadcast-compatible with ``p.shape[:-1]``.
      p: outcome probabilities, outcomes along the last axis.
      shape: the result shape, outcomes last (default ``p.shape``; as jax's
        code, it includes the last axis).
      dtype: a float dtype.
      unroll: the scan's unroll.

    Returns:
      Counts of ``shape``.
    """
    key = _check_key("multinomial", key)
    dt = result_type_of(n, p)[0]
    dt = dt if kind(dt) in "fc" else canonical_dtype(np.float64)
    n, p = convert(n, dt), convert(p, dt)
    shape = _shape_of(p) if shape is None else shape_tuple(shape)
    n = fnp.broadcast_to(n, shape[:-1])
    p = fnp.broadcast_to(p, shape)

    def step(remainder, ratio_key):
        ratio, key = ratio_key
        count = binomial(key, remainder, fnp.clip(ratio, 0, 1), dtype=get_aval(remainder).dtype)
        return fnp.subtract(remainder, count), count

    p = fnp.moveaxis(p, -1, 0)
    remaining_probs = P.cumsum(p, 0, reverse=True)
    ratios = fnp.divide(p, fnp.where(fnp.equal(remaining_probs, 0), 1, remaining_probs))
    keys = random_split(key, (_shape_of(ratios)[0],))
    _, counts = P.scan(step, n, (ratios, keys), unroll=unroll)
    dtype = canonical_dtype(np.float64 if dtype is None else dtype)
    return P.convert_element_type(fnp.moveaxis(counts, 0, -1), dtype)


# --- geometric ---
@eager_jit("shape", "dtype")
def _geometric(key, p, shape, dtype):
    pdt = result_type_of(p)[0]
    pdt = pdt if kind(pdt) in "fc" else canonical_dtype(np.float64)
    p = convert(p, pdt)
    u = _uniform(key, shape, pdt, 0., 1.)
    u = fnp.where(fnp.equal(u, 0), 1, u)  # as jax: u = 0 maps to 1 (no inf)
    log_one_minus_p = fnp.broadcast_to(P.log1p(P.neg(p)), shape)
    g = fnp.add(P.floor(P.div(P.log(u), log_one_minus_p)), 1)
    return P.convert_element_type(g, dtype)


def geometric(key, p, shape: Sequence[int] | None = None, dtype=None):
    """Geometric(p) samples on {1, 2, ...}, by inversion (as jax.random.geometric).

    Args:
      key: a raw key u32[2].
      p: the success probability, broadcast-compatible with ``shape``.
      shape: the result shape (default ``p.shape``).
      dtype: an integer dtype (default int32, int64 with x64).

    Returns:
      Samples.
    """
    key = _check_key("geometric", key)
    return _geometric(key, param(p), shape=check_shape("geometric", shape, p),
                      dtype=_int_dtype("geometric", dtype))
