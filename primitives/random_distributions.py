"""Continuous distributions of ``primitives.random`` (as jax.random): each one
follows ``jax._src.random.core`` step by step (the same key splits, the same
uniform/normal/gamma draws, the same transformations in the same order), so for
the same key our samples equal jax.random's bit for bit.

Eagerly each sampler runs as one compiled program (``eager_jit``), as jax's do;
under our transforms it is traced inline. Parameters are differentiable where
jax's are: by reparameterization (``exponential``, ``laplace``, ``pareto``,
``weibull_min``, ...) and, through the ``random_gamma`` primitive's implicit
reparameterization, ``gamma``, ``loggamma``, ``beta``, ``dirichlet``,
``chisquare``, ``f``, ``t``.

Example::

    >>> import primitives.random as frandom
    >>> frandom.beta(frandom.PRNGKey(0), 2.0, 3.0, (4,))   # == jax.random.beta(...)

References:
    jax/_src/random/core.py; Devroye, "Non-Uniform Random Variate Generation" (1986);
    Mezzadri, "How to generate random matrices from the classical compact groups" (2007).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import jax

import primitives as P
import primitives.numpy as fnp
from fx.core import canonical_dtype, get_aval
from fx.dtypes import kind
from fx.errors import FxTypeError, ShapeError
from primitives.numpy._promote import result_type_of
from primitives.random_base import (_check_key, _float_dtype, _normal_real, _shape_of, _split2,
                                    _uniform, bernoulli, eager_jit, normal)
from primitives.prng import shape_tuple
from primitives.random_gamma import random_gamma

__all__ = ["exponential", "laplace", "logistic", "cauchy", "pareto", "rademacher", "maxwell",
           "double_sided_maxwell", "weibull_min", "rayleigh", "wald", "triangular", "lognormal",
           "gamma", "loggamma", "beta", "dirichlet", "chisquare", "f", "t",
           "generalized_normal", "ball", "multivariate_normal", "orthogonal"]


# --- helpers -------------------------------------------------------------------
def param(x):
    """A Python scalar parameter as the weak-typed array jax.jit makes of it
    (so ``1 / p`` rounds in float32 and ``x ** p`` is ``pow``, as in jax)."""
    return jax.device_put(x) if type(x) in (int, float, bool) else x


def check_shape(op: str, shape, *params) -> tuple:
    """jax's ``_check_broadcast_shapes``: the broadcast of the parameters'
    shapes when ``shape`` is None, else ``shape`` (which they must broadcast to)."""
    shapes = [_shape_of(p) for p in params]
    if shape is None:
        return tuple(np.broadcast_shapes(*shapes)) if shapes else ()
    shape = shape_tuple(shape)
    try:
        full = tuple(np.broadcast_shapes(shape, *shapes))
    except ValueError:
        full = None
    if full != shape:
        raise ShapeError(f"{op}: parameter shapes {shapes} must be broadcast-compatible with "
                         f"shape {shape}, and broadcast to exactly it (got {full}).")
    return shape


def convert(x, dtype):
    return P.convert_element_type(x, dtype)


def pow_traced(x, y):
    """``jnp.power(x, y)`` for a traced exponent (jax's samplers see their
    parameters as jit arguments): ``pow`` after promotion, integer exponents
    kept integer (never ``integer_pow``)."""
    shape = tuple(np.broadcast_shapes(_shape_of(x), _shape_of(y)))
    if kind(get_aval(y).dtype) not in "iu":
        dtype = result_type_of(x, y)[0]
        x, y = convert(x, dtype), convert(y, dtype)
    return P.pow(fnp.broadcast_to(x, shape), fnp.broadcast_to(y, shape))


def _const(x, value):
    return np.array(value, get_aval(x).dtype)


# --- exponential ---
@eager_jit("shape", "dtype")
def _exponential(key, shape, dtype):
    u = _uniform(key, shape, dtype, 0., 1.)
    return P.neg(P.log1p(P.neg(u)))  # log of 1 - u: the domain (0, 1]


def exponential(key, shape: Sequence[int] = (), dtype=None):
    """Standard exponential samples ``-log1p(-u)`` (as jax.random.exponential).

    Args:
      key: a raw key u32[2].
      shape: the result shape.
      dtype: a float dtype (default float32, float64 with x64).

    Returns:
      Samples of ``shape`` and ``dtype``.
    """
    return _exponential(_check_key("exponential", key), shape=shape_tuple(shape),
                        dtype=_float_dtype("exponential", dtype))


# --- laplace ---
@eager_jit("shape", "dtype")
def _laplace(key, shape, dtype):
    u = _uniform(key, shape, dtype, -1. + jax.dtypes.finfo(dtype).epsneg, 1.)
    return P.mul(P.sign(u), P.log1p(P.neg(P.abs(u))))


def laplace(key, shape: Sequence[int] = (), dtype=None):
    """Standard Laplace samples ``sign(u) log1p(-|u|)``, ``u`` in (-1, 1) (as jax.random.laplace).

    Args:
      key: a raw key u32[2].
      shape: the result shape.
      dtype: a float dtype.

    Returns:
      Samples of ``shape`` and ``dtype``.
    """
    return _laplace(_check_key("laplace", key), shape=shape_tuple(shape),
                    dtype=_float_dtype("laplace", dtype))


# --- logistic ---
@eager_jit("shape", "dtype")
def _logistic(key, shape, dtype):
    x = _uniform(key, shape, dtype, jax.dtypes.finfo(dtype).tiny, 1.)
    return P.sub(P.log(x), P.log1p(P.neg(x)))


def logistic(key, shape: Sequence[int] = (), dtype=None):
    """Standard logistic samples ``log(u) - log1p(-u)`` (as jax.random.logistic).

    Args:
      key: a raw key u32[2].
      shape: the result shape.
      dtype: a float dtype.

    Returns:
      Samples of ``shape`` and ``dtype``.
    """
    return _logistic(_check_key("logistic", key), shape=shape_tuple(shape),
                     dtype=_float_dtype("logistic", dtype))


# --- cauchy ---
@eager_jit("shape", "dtype")
def _cauchy(key, shape, dtype):
    u = _uniform(key, shape, dtype, jax.dtypes.finfo(dtype).eps, 1.)
    return P.tan(P.mul(_const(u, np.pi), P.sub(u, _const(u, 0.5))))


def cauchy(key, shape: Sequence[int] = (), dtype=None):
    """Standard Cauchy samples ``tan(pi (u - 1/2))`` (as jax.random.cauchy).

    Args:
      key: a raw key u32[2].
      shape: the result shape.
      dtype: a float dtype.

    Returns:
      Samples of ``shape`` and ``dtype``.
    """
    return _cauchy(_check_key("cauchy", key), shape=shape_tuple(shape),
                   dtype=_float_dtype("cauchy", dtype))


# --- pareto ---
@eager_jit("shape", "dtype")
def _pareto(key, b, shape, dtype):
    b = convert(b, dtype)
    e = _exponential(key, shape=shape, dtype=dtype)
    return P.exp(fnp.divide(e, b))


def pareto(key, b, shape: Sequence[int] | None = None, dtype=None):
    """Pareto samples ``exp(e / b)``, ``e`` standard exponential (as jax.random.pareto).

    Args:
      key: a raw key u32[2].
      b: the shape parameter (> 0), broadcast-compatible with ``shape``.
      shape: the result shape (default ``b.shape``).
      dtype: a float dtype.

    Returns:
      Samples of ``shape`` and ``dtype``.
    """
    key = _check_key("pareto", key)
    return _pareto(key, param(b), shape=check_shape("pareto", shape, b),
                   dtype=_float_dtype("pareto", dtype))


# --- rademacher ---
@eager_jit("shape", "dtype")
def _rademacher(key, shape, dtype):
    samples = P.convert_element_type(bernoulli(key, 0.5, shape), dtype)
    return P.convert_element_type(fnp.subtract(fnp.multiply(2, samples), 1), dtype)


def rademacher(key, shape: Sequence[int] = (), dtype=None):
    """Samples of -1 or 1 with equal probability (as jax.random.rademacher).

    Args:
      key: a raw key u32[2].
      shape: the result shape.
      dtype: the result dtype (default int32, int64 with x64).

    Returns:
      Samples of ``shape`` and ``dtype``.
    """
    key = _check_key("rademacher", key)
    dtype = canonical_dtype(np.int64 if dtype is None else dtype)
    return _rademacher(key, shape=shape_tuple(shape), dtype=dtype)


# --- maxwell ---
@eager_jit("shape", "dtype")
def _maxwell(key, shape, dtype):
    x = _normal_real(key, shape + (3,), dtype)
    return P.sqrt(fnp.sum(P.mul(x, x), axis=-1))  # jnp.linalg.norm's sqrt(sum(x conj(x)))


def maxwell(key, shape: Sequence[int] = (), dtype=None):
    """One-sided Maxwell samples: the norm of 3 standard normals (as jax.random.maxwell).

    Args:
      key: a raw key u32[2].
      shape: the result shape.
      dtype: a float dtype.

    Returns:
      Samples of ``shape`` and ``dtype``.
    """
    return _maxwell(_check_key("maxwell", key), shape=shape_tuple(shape),
                    dtype=_float_dtype("maxwell", dtype))


# --- double_sided_maxwell ---
@eager_jit("shape", "dtype")
def _double_sided_maxwell(key, loc, scale, shape, dtype):
    params_shape = tuple(np.broadcast_shapes(_shape_of(loc), _shape_of(scale)))
    shape = (shape or params_shape) + params_shape  # as jax (the parameters' shape is appended)
    maxwell_key, rademacher_key = _split2(key)
    maxwell_rvs = _maxwell(maxwell_key, shape=shape, dtype=dtype)
    random_sign = _rademacher(rademacher_key, shape=shape, dtype=dtype)
    return fnp.add(fnp.multiply(fnp.multiply(random_sign, maxwell_rvs), scale), loc)


def double_sided_maxwell(key, loc, scale, shape: Sequence[int] = (), dtype=None):
    """Double-sided Maxwell samples ``sign * maxwell * scale + loc`` (as
    jax.random.double_sided_maxwell; as there, the result shape is
    ``shape + broadcast(loc, scale).shape``, ``shape`` defaulting to the latter).

    Args:
      key: a raw key u32[2].
      loc, scale: location and scale.
      shape: the batch shape.
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("double_sided_maxwell", key)
    return _double_sided_maxwell(key, param(loc), param(scale), shape=shape_tuple(shape),
                                 dtype=_float_dtype("double_sided_maxwell", dtype))


# --- weibull_min ---
@eager_jit("shape", "dtype")
def _weibull_min(key, scale, concentration, shape, dtype):
    u = _uniform(key, shape, dtype, 0, 1)
    return fnp.multiply(pow_traced(fnp.negative(P.log1p(P.neg(u))),
                                   fnp.true_divide(1.0, concentration)), scale)


def weibull_min(key, scale, concentration, shape: Sequence[int] = (), dtype=None):
    """Weibull samples ``(-log1p(-u)) ** (1 / concentration) * scale`` (as jax.random.weibull_min).

    Args:
      key: a raw key u32[2].
      scale: the scale (> 0).
      concentration: the concentration (> 0).
      shape: the result shape.
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("weibull_min", key)
    return _weibull_min(key, param(scale), param(concentration), shape=shape_tuple(shape),
                        dtype=_float_dtype("weibull_min", dtype))


# --- rayleigh ---
@eager_jit("shape", "dtype")
def _rayleigh(key, scale, shape, dtype):
    u = _uniform(key, shape, dtype, 0., 1.)
    scale = fnp.broadcast_to(convert(scale, dtype), shape)
    sqrt_u = P.sqrt(P.mul(P.log(u), _const(scale, -2)))
    return P.mul(scale, sqrt_u)


def rayleigh(key, scale, shape: Sequence[int] | None = None, dtype=None):
    """Rayleigh samples ``scale * sqrt(-2 log u)`` (as jax.random.rayleigh).

    Args:
      key: a raw key u32[2].
      scale: the scale (> 0), broadcast-compatible with ``shape``.
      shape: the result shape (default ``scale.shape``).
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("rayleigh", key)
    return _rayleigh(key, param(scale), shape=check_shape("rayleigh", shape, scale),
                     dtype=_float_dtype("rayleigh", dtype))


# --- wald ---
@eager_jit("shape", "dtype")
def _wald(key, mean, shape, dtype):
    k1, k2 = _split2(key)
    mean = fnp.broadcast_to(convert(mean, dtype), shape)
    v = _normal_real(k1, shape, dtype)
    z = _uniform(k2, shape, dtype, 0., 1.)
    y = P.integer_pow(v, 2)
    y_sq = P.integer_pow(y, 2)
    mean_sq = P.integer_pow(mean, 2)
    sqrt_term = P.sqrt(fnp.add(fnp.multiply(fnp.multiply(4, mean), y), fnp.multiply(mean_sq, y_sq)))
    x = fnp.subtract(fnp.add(mean, fnp.divide(fnp.multiply(mean_sq, y), 2)),
                     fnp.multiply(fnp.divide(mean, 2), sqrt_term))
    return fnp.where(P.le(z, fnp.divide(mean, fnp.add(mean, x))), x, fnp.divide(mean_sq, x))


def wald(key, mean, shape: Sequence[int] | None = None, dtype=None):
    """Wald (inverse Gaussian) samples by Michael-Schucany-Haas (as jax.random.wald).

    Args:
      key: a raw key u32[2].
      mean: the mean (> 0), broadcast-compatible with ``shape``.
      shape: the result shape (default ``mean.shape``).
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("wald", key)
    return _wald(key, param(mean), shape=check_shape("wald", shape, mean),
                 dtype=_float_dtype("wald", dtype))


# --- triangular ---
@eager_jit("shape", "dtype")
def _triangular(key, left, mode, right, shape, dtype):
    left, mode, right = (fnp.broadcast_to(convert(x, dtype), shape) for x in (left, mode, right))
    fc = fnp.divide(fnp.subtract(mode, left), fnp.subtract(right, left))
    u = _uniform(key, shape, dtype, 0., 1.)
    out1 = fnp.add(left, P.sqrt(fnp.multiply(fnp.multiply(u, fnp.subtract(right, left)),
                                             fnp.subtract(mode, left))))
    out2 = fnp.subtract(right, P.sqrt(fnp.multiply(
        fnp.multiply(fnp.subtract(1, u), fnp.subtract(right, left)), fnp.subtract(right, mode))))
    return fnp.where(P.lt(u, fc), out1, out2)


def triangular(key, left, mode, right, shape: Sequence[int] | None = None, dtype=None):
    """Triangular samples on ``[left, right]`` peaking at ``mode``, by inversion
    (as jax.random.triangular).

    Args:
      key: a raw key u32[2].
      left, mode, right: the parameters, broadcast-compatible with ``shape``.
      shape: the result shape (default: their broadcast shape).
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("triangular", key)
    shape = check_shape("triangular", shape, left, mode, right)
    return _triangular(key, param(left), param(mode), param(right), shape=shape,
                       dtype=_float_dtype("triangular", dtype))


# --- lognormal ---
@eager_jit("shape", "dtype")
def _lognormal(key, sigma, shape, dtype):
    sigma = convert(sigma, dtype)
    return fnp.exp(fnp.multiply(normal(key, shape, dtype), sigma))


def lognormal(key, sigma=np.float32(1), shape: Sequence[int] | None = None, dtype=None):
    """Log-normal samples ``exp(sigma * normal)`` (as jax.random.lognormal).

    Args:
      key: a raw key u32[2].
      sigma: the standard deviation of the underlying normal.
      shape: the result shape (default ``sigma.shape``).
      dtype: a float or complex dtype.

    Returns:
      Samples.
    """
    key = _check_key("lognormal", key)
    return _lognormal(key, param(sigma), shape=check_shape("lognormal", shape, sigma),
                      dtype=_float_dtype("lognormal", dtype, kinds="fc"))


# --- gamma / loggamma ---
@eager_jit("shape", "dtype", "log_space")
def _gamma(key, a, shape, dtype, log_space=False):
    shape = _shape_of(a) if shape is None else check_shape("gamma", shape, a)
    a = convert(a, dtype)
    if _shape_of(a) != shape:
        a = fnp.broadcast_to(a, shape)
    return random_gamma(key, a, log_space=log_space)


def gamma(key, a, shape: Sequence[int] | None = None, dtype=None):
    """Standard Gamma(a, 1) samples (as jax.random.gamma): the ``random_gamma``
    primitive, differentiable in ``a`` (implicit reparameterization).

    Args:
      key: a raw key u32[2].
      a: the concentration (> 0), broadcast-compatible with ``shape``.
      shape: the result shape (default ``a.shape``).
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("gamma", key)
    return _gamma(key, param(a), shape=None if shape is None else shape_tuple(shape),
                  dtype=_float_dtype("gamma", dtype))


def loggamma(key, a, shape: Sequence[int] | None = None, dtype=None):
    """Logs of standard Gamma(a, 1) samples, computed in log space (accurate for
    ``a << 1``) (as jax.random.loggamma).

    Args:
      key: a raw key u32[2].
      a: the concentration (> 0), broadcast-compatible with ``shape``.
      shape: the result shape (default ``a.shape``).
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("loggamma", key)
    return _gamma(key, param(a), shape=None if shape is None else shape_tuple(shape),
                  dtype=_float_dtype("loggamma", dtype), log_space=True)


# --- beta ---
@eager_jit("shape", "dtype")
def _beta(key, a, b, shape, dtype):
    key_a, key_b = _split2(key)
    a = fnp.broadcast_to(convert(a, dtype), shape)
    b = fnp.broadcast_to(convert(b, dtype), shape)
    log_gamma_a = _gamma(key_a, a, shape=shape, dtype=dtype, log_space=True)
    log_gamma_b = _gamma(key_b, b, shape=shape, dtype=dtype, log_space=True)
    log_max = P.max(log_gamma_a, log_gamma_b)  # a / (a + b) without losing precision
    gamma_a_scaled = P.exp(P.sub(log_gamma_a, log_max))
    gamma_b_scaled = P.exp(P.sub(log_gamma_b, log_max))
    return P.div(gamma_a_scaled, P.add(gamma_a_scaled, gamma_b_scaled))


def beta(key, a, b, shape: Sequence[int] | None = None, dtype=None):
    """Beta(a, b) samples from two log-gamma samples (as jax.random.beta).

    Args:
      key: a raw key u32[2].
      a, b: the parameters (> 0), broadcast-compatible with ``shape``.
      shape: the result shape (default: their broadcast shape).
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("beta", key)
    return _beta(key, param(a), param(b), shape=check_shape("beta", shape, a, b),
                 dtype=_float_dtype("beta", dtype))


# --- dirichlet ---
def _softmax(x, axis: int):
    """jax.nn.softmax (the max subtracted without gradient; the same derivative
    as its custom jvp)."""
    unnormalized = P.exp(fnp.subtract(x, P.stop_gradient(fnp.max(x, axis, keepdims=True))))
    return fnp.divide(unnormalized, fnp.sum(unnormalized, axis, keepdims=True))


@eager_jit("shape", "dtype")
def _dirichlet(key, alpha, shape, dtype):
    alpha = convert(alpha, dtype)
    log_gamma_samples = _gamma(key, alpha, shape=shape + _shape_of(alpha)[-1:], dtype=dtype,
                               log_space=True)  # log space: small alpha behaves
    return _softmax(log_gamma_samples, -1)


def dirichlet(key, alpha, shape: Sequence[int] | None = None, dtype=None):
    """Dirichlet(alpha) samples: normalized log-gamma samples (as jax.random.dirichlet).

    Args:
      key: a raw key u32[2].
      alpha: concentrations ``(..., n)``.
      shape: the batch shape, broadcast-compatible with ``alpha.shape[:-1]``
        (the default); the result is ``shape + (n,)``.
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("dirichlet", key)
    alpha_shape = _shape_of(alpha)
    if not alpha_shape:
        raise ShapeError(f"dirichlet requires alpha.ndim >= 1, got {get_aval(alpha).str_short()}.")
    shape = alpha_shape[:-1] if shape is None else check_shape("dirichlet", shape,
                                                               np.empty(alpha_shape[:-1]))
    return _dirichlet(key, alpha, shape=shape, dtype=_float_dtype("dirichlet", dtype))


# --- chisquare ---
@eager_jit("shape", "dtype")
def _chisquare(key, df, shape, dtype):
    df = convert(df, dtype)
    two = _const(df, 2)
    log_g = _gamma(key, P.div(df, two), shape=shape, dtype=dtype, log_space=True)
    return P.mul(P.exp(log_g), two)


def chisquare(key, df, shape: Sequence[int] | None = None, dtype=None):
    """Chi-square samples ``2 Gamma(df / 2)`` (as jax.random.chisquare).

    Args:
      key: a raw key u32[2].
      df: degrees of freedom (> 0), broadcast-compatible with ``shape``.
      shape: the result shape (default ``df.shape``).
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("chisquare", key)
    return _chisquare(key, param(df), shape=check_shape("chisquare", shape, df),
                      dtype=_float_dtype("chisquare", dtype))


# --- f ---
@eager_jit("shape", "dtype")
def _f(key, dfnum, dfden, shape, dtype):
    dfden, dfnum = convert(dfden, dtype), convert(dfnum, dtype)
    key_dfd, key_dfn = _split2(key)
    chi2_dfn = _chisquare(key_dfn, dfnum, shape=shape, dtype=dtype)
    chi2_dfd = _chisquare(key_dfd, dfden, shape=shape, dtype=dtype)
    return fnp.divide(fnp.divide(chi2_dfn, dfnum), fnp.divide(chi2_dfd, dfden))


def f(key, dfnum, dfden, shape: Sequence[int] | None = None, dtype=None):
    """F-distribution samples, a ratio of scaled chi-squares (as jax.random.f).

    Args:
      key: a raw key u32[2].
      dfnum, dfden: degrees of freedom of numerator and denominator.
      shape: the result shape (default: their broadcast shape).
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("f", key)
    return _f(key, param(dfnum), param(dfden), shape=check_shape("f", shape, dfnum, dfden),
              dtype=_float_dtype("f", dtype))


# --- t ---
@eager_jit("shape", "dtype")
def _t(key, df, shape, dtype):
    df = convert(df, dtype)
    key_n, key_g = _split2(key)
    n = _normal_real(key_n, shape, dtype)
    half_df = P.div(df, _const(n, 2))
    g = _gamma(key_g, half_df, shape=shape, dtype=dtype)
    return fnp.multiply(n, fnp.sqrt(fnp.divide(half_df, g)))


def t(key, df, shape: Sequence[int] | None = None, dtype=None):
    """Student's t samples ``normal * sqrt((df/2) / Gamma(df/2))`` (as jax.random.t).

    Args:
      key: a raw key u32[2].
      df: degrees of freedom (> 0), broadcast-compatible with ``shape``.
      shape: the result shape (default ``df.shape``).
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("t", key)
    return _t(key, param(df), shape=check_shape("t", shape, df), dtype=_float_dtype("t", dtype))


# --- generalized_normal ---
@eager_jit("shape", "dtype")
def _generalized_normal(key, p, shape, dtype):
    k0, k1 = _split2(key)
    inv_p = fnp.true_divide(1, p)
    g = _gamma(k0, inv_p, shape=shape, dtype=dtype)
    r = _rademacher(k1, shape=shape, dtype=dtype)
    return fnp.multiply(r, pow_traced(g, inv_p))


def generalized_normal(key, p, shape: Sequence[int] = (), dtype=None):
    """Samples of density proportional to ``exp(-|x|^p)``: a random sign times
    ``Gamma(1/p) ** (1/p)`` (as jax.random.generalized_normal).

    Args:
      key: a raw key u32[2].
      p: the shape parameter (> 0).
      shape: the result shape.
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("generalized_normal", key)
    return _generalized_normal(key, param(p), shape=shape_tuple(shape),
                               dtype=_float_dtype("generalized_normal", dtype))


# --- ball ---
@eager_jit("d", "shape", "dtype")
def _ball(key, p, d, shape, dtype):
    k1, k2 = _split2(key)
    g = _generalized_normal(k1, p, shape=(*shape, d), dtype=dtype)
    e = _exponential(k2, shape=shape, dtype=dtype)
    norm = pow_traced(fnp.add(fnp.sum(pow_traced(fnp.abs(g), p), -1), e), fnp.true_divide(1, p))
    return fnp.divide(g, fnp.expand_dims(norm, -1))


def ball(key, d: int, p: float = 2, shape: Sequence[int] = (), dtype=None):
    """Uniform samples from the unit Lp ball in ``d`` dimensions (as jax.random.ball).

    Args:
      key: a raw key u32[2].
      d: the dimension (a nonnegative int).
      p: the p of the Lp norm.
      shape: the batch shape; the result is ``(*shape, d)``.
      dtype: a float dtype.

    Returns:
      Samples.
    """
    key = _check_key("ball", key)
    return _ball(key, param(p), d=int(d), shape=shape_tuple(shape),
                 dtype=_float_dtype("ball", dtype))


# --- multivariate_normal ---
@eager_jit("shape", "dtype", "method")
def _multivariate_normal(key, mean, cov, shape, dtype, method):
    mean_shape, cov_shape = _shape_of(mean), _shape_of(cov)
    if len(mean_shape) < 1 or len(cov_shape) < 2:
        raise ShapeError(f"multivariate_normal requires mean.ndim >= 1 and cov.ndim >= 2, got "
                         f"mean {mean_shape} and cov {cov_shape}.")
    n = mean_shape[-1]
    if cov_shape[-2:] != (n, n):
        raise ShapeError(f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, "
                         f"but got cov.shape == {cov_shape}.")
    batch = np.empty(mean_shape[:-1]), np.empty(cov_shape[:-2])
    shape = check_shape("multivariate_normal", shape, *batch) if shape is not None else \
        tuple(np.broadcast_shapes(mean_shape[:-1], cov_shape[:-2]))
    if method == "svd":
        u, s, _ = fnp.linalg.svd(cov)
        factor = fnp.multiply(u, fnp.sqrt(fnp.expand_dims(s, -2)))
    elif method == "eigh":
        w, v = fnp.linalg.eigh(cov)
        factor = fnp.multiply(v, fnp.sqrt(fnp.expand_dims(w, -2)))
    else:
        factor = fnp.linalg.cholesky(cov)
    normal_samples = normal(key, shape + mean_shape[-1:], dtype)
    return fnp.add(mean, fnp.einsum("...ij,...j->...i", factor, normal_samples))


def multivariate_normal(key, mean, cov, shape: Sequence[int] | None = None, dtype=None,
                        method: str = "cholesky"):
    """Multivariate normal samples ``mean + factor @ normal`` with ``factor
    factor^T = cov`` (as jax.random.multivariate_normal).

    Args:
      key: a raw key u32[2].
      mean: means ``(..., n)``.
      cov: covariances ``(..., n, n)``.
      shape: the batch shape (default: the broadcast of the batch shapes of
        ``mean`` and ``cov``); the result is ``shape + (n,)``.
      dtype: a float dtype (default: the dtype of ``mean``).
      method: "cholesky", "eigh" or "svd" (the latter two for singular ``cov``).

    Returns:
      Samples.
    """
    key = _check_key("multivariate_normal", key)
    if method not in ("svd", "eigh", "cholesky"):
        raise ValueError("multivariate_normal: method must be one of {'svd', 'eigh', 'cholesky'}, "
                         f"got {method!r}.")
    mean, cov = fnp.asarray(mean), fnp.asarray(cov)
    dt = result_type_of(mean, cov)[0]
    if kind(dt) not in "fc":
        dt = canonical_dtype(np.float64)
    mean, cov = convert(mean, dt), convert(cov, dt)
    dtype = dt if dtype is None else canonical_dtype(dtype)
    if kind(dtype) != "f":
        raise FxTypeError(f"multivariate_normal: dtype must be a float dtype, got {dtype}.")
    return _multivariate_normal(key, mean, cov, shape=None if shape is None else
                                shape_tuple(shape), dtype=dtype, method=method)


# --- orthogonal ---
@eager_jit("n", "m", "shape", "dtype")
def _orthogonal(key, n, m, shape, dtype):
    z = _normal_real(key, (*shape, max(n, m), min(n, m)), dtype)
    q, r = fnp.linalg.qr(z)
    d = fnp.linalg.diagonal(r)
    x = fnp.multiply(q, fnp.expand_dims(fnp.sign(d), -2))
    return fnp.swapaxes(x, -1, -2) if n < m else x


def orthogonal(key, n: int, shape: Sequence[int] = (), dtype=None, m: int | None = None):
    """Haar-uniform samples of the orthogonal group (orthonormal rows or
    columns of an ``n x m`` matrix): QR of a normal matrix, signs fixed by
    ``diag(R)`` (as jax.random.orthogonal).

    Args:
      key: a raw key u32[2].
      n: the number of rows.
      shape: the batch shape; the result is ``(*shape, n, m)``.
      dtype: a float dtype.
      m: the number of columns (default ``n``).

    Returns:
      Samples.
    """
    key = _check_key("orthogonal", key)
    n = int(n)
    m = n if m is None else int(m)
    return _orthogonal(key, n=n, m=m, shape=shape_tuple(shape),
                       dtype=_float_dtype("orthogonal", dtype))
