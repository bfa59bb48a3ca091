"""Neural-network functions (as jax.nn): activations, softmax, logsumexp, one_hot.

Built only from the lax-level primitives (``primitives``) and the numpy API
(``primitives.numpy``), with jax.nn's formulas step by step so values, dtypes
and numerics match: the stable forms (softplus as ``logaddexp(x, 0)``,
softmax / log_softmax / logsumexp shifted by the ``stop_gradient``-ed max).

Example::

    >>> import primitives.numpy as fnp, primitives.nn as fnn
    >>> fnn.softmax(fnp.array([1., 2., 3.]))      # == jax.nn.softmax
    >>> fnn.logsumexp(fnp.array([1000., 1000.]))  # 1000.6931, no overflow
"""
from __future__ import annotations

import numpy as np

import primitives as P
import primitives.numpy as fnp
from fx.dtypes import is_float
from fx.core import canonical_dtype, get_aval
from fx.errors import ShapeError
from primitives._rules import normalize_axis
from primitives.numpy._promote import result_type_of
from primitives.custom_derivatives import custom_jvp

__all__ = ["identity", "relu", "relu6", "sigmoid", "softplus", "log_sigmoid", "silu", "swish",
           "mish", "elu", "leaky_relu", "hard_tanh", "celu", "selu", "gelu", "glu", "soft_sign",
           "hard_sigmoid", "hard_silu", "hard_swish", "squareplus", "tanh", "softmax",
           "log_softmax", "logsumexp", "one_hot", "standardize"]


# --- helpers -------------------------------------------------------------------
def _promote_inexact(*args):
    """jax's ``promote_args_inexact``: the common jax.numpy dtype, integers and
    bools promoted to the default float (weak-typedness kept)."""
    dtype, weak = result_type_of(*args)
    if not is_float(dtype):
        dtype = canonical_dtype(np.float64)
    out = []
    for a in args:
        if type(a) in (bool, int, float):  # Python scalars stay weak literals, as in fnp.promote
            out.append(float(a) if weak else np.asarray(a, dtype))
            continue
        aval = get_aval(a)
        if aval.dtype != dtype or aval.weak_type != weak:
            a = P.convert_element_type(a, dtype, weak_type=weak)
        out.append(a)
    return out


def _dtype(x) -> np.dtype:
    return get_aval(x).dtype


def _reduction_axes(x, axis) -> tuple:
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes."""
    ndim = get_aval(x).ndim
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(sorted(normalize_axis(int(a), ndim, "reduction") for a in axes))
    if len(set(axes)) != len(axes):
        raise ShapeError(f"repeated axis in {axis} for an array of rank {ndim}.")
    return axes


def _masked(x, where, fill):
    return x if where is None else fnp.where(where, x, fill)


def _shifted_by_max(x, axis, where):
    """``x - stop_gradient(max(x, axis, keepdims))``, masked entries at -inf."""
    x_safe = _masked(x, where, -np.inf)
    x_max = fnp.max(x_safe, axis=axis, keepdims=True)
    return fnp.subtract(x_safe, P.stop_gradient(x_max))


# --- activations ------------------------------------------------------------------
def identity(x):
    """Identity activation (as jax.nn.identity)."""
    return fnp.asarray(x)


@custom_jvp
def relu(x):
    """Rectified linear unit ``max(x, 0)`` (as jax.nn.relu; a custom_jvp whose
    derivative at 0 is 0, as JAX's)."""
    return fnp.maximum(x, 0)


@relu.defjvp
def _relu_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return relu(x), fnp.where(fnp.greater(x, 0), t, fnp.zeros_like(t))


def relu6(x):
    """``min(max(x, 0), 6)`` (as jax.nn.relu6)."""
    return fnp.minimum(fnp.maximum(x, 0), 6.)


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))`` (as jax.nn.sigmoid: lax.logistic)."""
    return P.logistic(x)


@custom_jvp
def softplus(x):
    """``log(1 + exp(x))`` computed as ``logaddexp(x, 0)`` (as jax.nn.softplus).

    Stable for large ``|x|``: ``max(x, 0) + log1p(exp(-|x|))``; NaN or infinite
    inputs follow jax.numpy.logaddexp (``x + 0``). A custom_jvp gives the
    derivative ``sigmoid(x)`` directly: finite for any input, and one equation
    in the gradient graph instead of the chain through max/abs/log1p.
    """
    x, zero = _promote_inexact(x, 0)
    amax = P.max(x, zero)
    delta = P.sub(x, zero)
    stable = P.add(amax, P.log1p(P.exp(P.neg(P.abs(delta)))))
    return P.select_n(P.ne(delta, delta), stable, P.add(x, zero))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), fnp.multiply(t, sigmoid(x))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)`` (as jax.nn.log_sigmoid)."""
    return fnp.negative(softplus(fnp.negative(x)))


def silu(x):
    """SiLU / swish ``x * sigmoid(x)`` (as jax.nn.silu)."""
    return fnp.multiply(x, sigmoid(x))


swish = silu


def mish(x):
    """``x * tanh(softplus(x))`` (as jax.nn.mish)."""
    return fnp.multiply(x, fnp.tanh(softplus(x)))


def elu(x, alpha=1.0):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)`` (as jax.nn.elu)."""
    positive = fnp.greater(x, 0)
    return fnp.where(positive, x, fnp.multiply(alpha, fnp.expm1(fnp.where(positive, 0., x))))


def leaky_relu(x, negative_slope=1e-2):
    """``x`` if ``x >= 0`` else ``negative_slope * x`` (as jax.nn.leaky_relu)."""
    return fnp.where(fnp.greater_equal(x, 0), x, fnp.multiply(negative_slope, x))


def hard_tanh(x):
    """``x`` clipped to ``[-1, 1]`` (as jax.nn.hard_tanh)."""
    return fnp.where(fnp.greater(x, 1), 1, fnp.where(fnp.less(x, -1), -1, x))


def celu(x, alpha=1.0):
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)`` (as jax.nn.celu)."""
    neg = fnp.expm1(fnp.true_divide(fnp.minimum(x, 0.), alpha))
    return fnp.add(fnp.maximum(x, 0.), fnp.multiply(alpha, neg))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """Scaled ELU ``scale * elu(x, alpha)`` (as jax.nn.selu)."""
    return fnp.multiply(_SELU_SCALE, elu(x, _SELU_ALPHA))


def gelu(x, approximate: bool = True):
    """Gaussian error linear unit (as jax.nn.gelu).

    Args:
      approximate: the tanh form ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``
        (default) or the exact ``x/2 erfc(-x/sqrt(2))``.
    """
    [x] = _promote_inexact(x)
    dtype = _dtype(x)
    if approximate:
        sqrt_2_over_pi = np.sqrt(2 / np.pi).astype(dtype)
        inner = fnp.multiply(sqrt_2_over_pi,
                             fnp.add(x, fnp.multiply(0.044715, P.integer_pow(x, 3))))
        cdf = fnp.multiply(0.5, fnp.add(1.0, fnp.tanh(inner)))
        return fnp.multiply(x, cdf)
    sqrt_half = np.sqrt(0.5).astype(dtype)
    erfc = P.erfc(fnp.multiply(fnp.negative(x), sqrt_half))
    return P.convert_element_type(fnp.multiply(fnp.multiply(0.5, x), erfc), dtype)


def glu(x, axis: int = -1):
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves of ``x`` along ``axis``
    (as jax.nn.glu)."""
    size = get_aval(x).shape[axis]
    if size % 2:
        raise ShapeError(f"glu: the size of axis {axis} of {get_aval(x).str_short()} must be "
                         f"divisible by 2.")
    a, b = fnp.split(x, 2, axis)
    return fnp.multiply(a, sigmoid(b))


def soft_sign(x):
    """``x / (|x| + 1)`` (as jax.nn.soft_sign)."""
    return fnp.true_divide(x, fnp.add(fnp.abs(x), 1))


def hard_sigmoid(x):
    """``relu6(x + 3) / 6`` (as jax.nn.hard_sigmoid)."""
    return fnp.true_divide(relu6(fnp.add(x, 3.)), 6.)


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (as jax.nn.hard_silu)."""
    return fnp.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def squareplus(x, b=4):
    """``(x + sqrt(x^2 + b)) / 2`` (as jax.nn.squareplus)."""
    return fnp.true_divide(fnp.add(x, fnp.sqrt(fnp.add(fnp.square(x), b))), 2)


def tanh(x):
    """Hyperbolic tangent (as jax.nn.tanh, i.e. jax.numpy.tanh)."""
    return fnp.tanh(x)


# --- normalizations -----------------------------------------------------------------
def softmax(x, axis=-1, where=None):
    """``exp(x) / sum(exp(x), axis)``, shifted by the max for stability (as jax.nn.softmax).

    Args:
      axis: int, tuple of ints or None (all axes).
      where: optional mask of the elements to include; masked outputs are 0.
    """
    unnormalized = fnp.exp(_shifted_by_max(x, axis, where))
    total = fnp.sum(_masked(unnormalized, where, 0), axis=axis, keepdims=True)
    return _masked(fnp.true_divide(unnormalized, total), where, 0)


def log_softmax(x, axis=-1, where=None):
    """``x - logsumexp(x, axis)``, computed shifted (as jax.nn.log_softmax).

    Args:
      axis: int, tuple of ints or None (all axes).
      where: optional mask of the elements to include; masked outputs are -inf.
    """
    shifted = _shifted_by_max(x, axis, where)
    total = fnp.sum(_masked(fnp.exp(shifted), where, 0), axis=axis, keepdims=True)
    return _masked(fnp.subtract(shifted, fnp.log(total)), where, -np.inf)


def logsumexp(a, axis=None, b=None, keepdims: bool = False, return_sign: bool = False,
              where=None):
    """``log(sum(b * exp(a), axis))`` without overflow (as jax.nn.logsumexp).

    The max over ``axis`` (0 where it is not finite) is subtracted before the
    exp and added back after the log; it is a ``stop_gradient`` constant.

    Args:
      a: input array.
      axis: int, tuple of ints or None (all axes).
      b: optional scale factors, broadcast-compatible with ``a``.
      keepdims: keep the reduced axes with size 1.
      return_sign: return ``(log|sum|, sign(sum))``; otherwise a negative sum
        gives NaN (only possible with ``b``).
      where: optional mask of the elements to include.

    Returns:
      The result, or ``(result, sign)`` with ``return_sign``.
    """
    if where is None and b is None and not return_sign:
        [a] = _promote_inexact(a)
        return _logsumexp(a, _reduction_axes(a, axis), bool(keepdims))
    if where is not None:
        a = fnp.where(where, a, 0)
    if b is not None:
        a, b = _promote_inexact(a, b)
        a = fnp.where(fnp.not_equal(b, 0), a, -np.inf)
    else:
        [a] = _promote_inexact(a)
    dims = _reduction_axes(a, axis)
    amax = fnp.max(_masked(a, where, -np.inf), axis=dims, keepdims=True)
    amax = P.stop_gradient(fnp.where(fnp.isfinite(amax), amax, 0))
    exp_a = fnp.exp(fnp.subtract(a, amax))
    if b is not None:
        exp_a = fnp.multiply(exp_a, b)
    sumexp = fnp.sum(_masked(exp_a, where, 0), axis=dims, keepdims=keepdims)
    sign = P.sign(sumexp)
    sumexp = fnp.abs(sumexp)
    if not keepdims:
        amax = fnp.squeeze(amax, axis=dims)
    out = fnp.add(fnp.log(sumexp), amax)
    if return_sign:
        return out, sign
    if b is not None:
        out = fnp.where(fnp.less(sign, 0), np.array(np.nan, _dtype(out)), out)
    return out


def _logsumexp_impl(a, dims, keepdims):
    amax = fnp.max(a, axis=dims, keepdims=True)
    amax = P.stop_gradient(fnp.where(fnp.isfinite(amax), amax, 0))
    sumexp = fnp.sum(fnp.exp(fnp.subtract(a, amax)), axis=dims, keepdims=keepdims)
    if not keepdims:
        amax = fnp.squeeze(amax, axis=dims)
    return fnp.add(fnp.log(sumexp), amax)


# a custom_jvp: the derivative is softmax(a) (finite everywhere, one small graph)
_logsumexp = custom_jvp(_logsumexp_impl, nondiff_argnums=(1, 2))


@_logsumexp.defjvp
def _logsumexp_jvp(dims, keepdims, primals, tangents):
    (a,), (t,) = primals, tangents
    out = _logsumexp(a, dims, keepdims)
    out_k = out if keepdims else fnp.expand_dims(out, dims)
    soft = fnp.exp(fnp.subtract(a, out_k))
    return out, fnp.sum(fnp.multiply(soft, t), axis=dims, keepdims=keepdims)


def one_hot(x, num_classes: int, *, dtype=None, axis: int = -1):
    """One-hot encode integer indices (as jax.nn.one_hot); out-of-range indices
    (negative or >= num_classes) give all-zero rows.

    Args:
      x: integer indices.
      num_classes: size of the new axis.
      dtype: output dtype (default float32).
      axis: position of the new axis in the output.
    """
    x = fnp.asarray(x)
    xa = get_aval(x)
    num_classes = int(num_classes)
    out_axis = normalize_axis(axis, xa.ndim + 1, "one_hot")
    dtype = canonical_dtype(np.float64 if dtype is None else dtype)
    lhs = fnp.expand_dims(x, out_axis)
    rhs_shape = [1] * xa.ndim
    rhs_shape.insert(out_axis, num_classes)
    rhs = fnp.reshape(fnp.arange(num_classes, dtype=xa.dtype), rhs_shape)
    return P.convert_element_type(fnp.equal(lhs, rhs), dtype)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None, *,
                algorithm: str = "fast"):
    """``(x - mean) / sqrt(variance + epsilon)`` along ``axis`` (as jax.nn.standardize).

    Args:
      axis: int, tuple of ints or None.
      mean, variance: statistics to use instead of computing them.
      epsilon: added to the variance.
      where: optional mask of the elements the statistics use.
      algorithm: "fast" (``E[x^2] - E[x]^2``, clipped at 0; jax's default) or
        "stable" (``E[(x - E[x])^2]``).
    """
    kw = {} if where is None else {"where": where}
    if mean is None:
        mean = fnp.mean(x, axis=axis, keepdims=True, **kw)
    if variance is None:
        if algorithm == "stable":
            variance = fnp.mean(fnp.square(fnp.subtract(x, mean)), axis=axis, keepdims=True, **kw)
        elif algorithm == "fast":
            variance = fnp.subtract(fnp.mean(fnp.square(x), axis=axis, keepdims=True, **kw),
                                    fnp.square(mean))
            variance = fnp.clip(variance, 0)
        else:
            raise ValueError(f"standardize: unknown algorithm {algorithm!r}; expected 'fast' "
                             f"or 'stable'.")
    return fnp.multiply(fnp.subtract(x, mean), P.rsqrt(fnp.add(variance, epsilon)))
