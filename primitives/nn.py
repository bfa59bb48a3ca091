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
from fx.errors import FxError, ShapeError
from primitives._rules import normalize_axis
from primitives.numpy._promote import result_type_of
from primitives.custom_derivatives import custom_jvp
from primitives import initializers  # noqa: F401  (fnn.initializers, as jax.nn.initializers)

__all__ = ["identity", "relu", "relu6", "sigmoid", "softplus", "log_sigmoid", "silu", "swish",
           "mish", "elu", "leaky_relu", "hard_tanh", "celu", "selu", "gelu", "glu", "soft_sign",
           "hard_sigmoid", "hard_silu", "hard_swish", "squareplus", "tanh", "softmax",
           "log_softmax", "logsumexp", "one_hot", "standardize", "log1mexp", "logmeanexp",
           "sparse_plus", "sparse_sigmoid", "dot_product_attention", "initializers",
           "register_attention_implementation", "AttentionImplementationError"]


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


def sparse_plus(x):
    """0 for ``x <= -1``, ``(x + 1)^2 / 4`` between, ``x`` for ``x >= 1`` (as
    jax.nn.sparse_plus; the twin of softplus, Blondel et al. 2020)."""
    x = fnp.asarray(x)
    return fnp.where(x <= -1.0, 0.0, fnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


def sparse_sigmoid(x):
    """0 for ``x <= -1``, ``(x + 1) / 2`` between, 1 for ``x >= 1``: the derivative
    of :func:`sparse_plus` (as jax.nn.sparse_sigmoid)."""
    return 0.5 * fnp.clip(fnp.asarray(x) + 1.0, 0.0, 2.0)


@custom_jvp
def log1mexp(x):
    """``log(1 - exp(-x))`` for ``x >= 0``, accurate on both sides of ``log 2``
    (as jax.nn.log1mexp).

    References:
        Mächler, "Accurately Computing log(1 - exp(-|a|))" (Rmpfr vignette, 2012).
    """
    x = fnp.asarray(x)
    return fnp.where(x < float(np.log(2.0)), fnp.log(-fnp.expm1(-x)), fnp.log1p(-fnp.exp(-x)))


log1mexp.defjvps(lambda t, ans, x: t / fnp.expm1(x))


def logmeanexp(x, axis=None, where=None, keepdims: bool = False):
    """``log(mean(exp(x)))`` = ``logsumexp(x) - log(n)`` over ``axis`` (as
    jax.nn.logmeanexp; ``n`` counts the ``where`` entries)."""
    lse = logsumexp(x, axis=axis, keepdims=keepdims, where=where)
    ones = fnp.ones_like(fnp.asarray(x), dtype=lse.dtype)
    count = fnp.sum(ones, axis=axis, keepdims=keepdims, where=where)
    return lse - fnp.log(count)


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


# --- dot_product_attention (jax.nn.dot_product_attention, the XLA path) ---
class AttentionImplementationError(FxError, RuntimeError):
    """The requested attention implementation is not available here (not
    registered, or not on this platform)."""


# implementation name -> fn(query, key, value, bias, mask, *, scale, is_causal,
# query_seq_lengths, key_value_seq_lengths, local_window_size, return_residual).
# pallas_kernels fills 'pallas' and 'cudnn' when imported (primitives import nothing above them).
_ATTENTION_IMPLEMENTATIONS: dict = {}


def register_attention_implementation(name: str, fn) -> None:
    """Make ``dot_product_attention(..., implementation=name)`` call ``fn`` (which
    takes dot_product_attention's arguments). ``import pallas_kernels`` registers
    ``'pallas'`` and ``'cudnn'``."""
    _ATTENTION_IMPLEMENTATIONS[name] = fn


def _large_negative(dtype) -> float:
    return -0.7 * min(float(np.finfo(dtype).max), float(np.finfo(np.float32).max))


def _attention_4d(x):
    x = fnp.asarray(x)
    return x.reshape((1,) * (4 - x.ndim) + x.shape) if x.ndim < 4 else x


def _check_attention_arg(name, x, shape, dtype=None):
    if x is None:
        return
    if x.ndim != len(shape):
        raise ShapeError(f"dot_product_attention: {name} ndim should be {len(shape)}, but got "
                         f"{x.ndim} (shape {x.shape}).")
    if dtype is not None and np.dtype(x.dtype) != np.dtype(dtype):
        raise ShapeError(f"dot_product_attention: {name} dtype should be {np.dtype(dtype)}, "
                          f"but got {np.dtype(x.dtype)}.")
    if any(s != -1 and d != s for d, s in zip(x.shape, shape)):
        raise ShapeError(f"dot_product_attention: {name} shape should be {tuple(shape)} (-1: "
                         f"any), but got {x.shape}.")


def _grouped(t, k: int, g: int):
    """A [B, N or 1, T, S] bias / mask as [B, K, G, T, S]."""
    if t is None:
        return None
    b, n, tq, s = t.shape
    if n == 1:
        return fnp.broadcast_to(t[:, :, None], (b, 1, g, tq, s))
    return t.reshape(b, k, g, tq, s)


def _mask(logits, mask, is_causal, q_len, kv_len, window):
    """``logits`` [B, K, G, T, S] with the masked entries set to a large negative."""
    tq, s = logits.shape[-2], logits.shape[-1]
    keep = None

    def both(a, b):
        return b if a is None else fnp.logical_and(a, b)
    if mask is not None:
        keep = both(keep, mask)
    q_pos, k_pos = fnp.arange(tq)[:, None], fnp.arange(s)[None, :]
    if is_causal:
        keep = both(keep, q_pos >= k_pos)
    if window is not None:
        left, right = window
        keep = both(keep, fnp.logical_and(q_pos <= k_pos + left, q_pos >= k_pos - right))
    if q_len is not None:
        keep = both(keep, (fnp.arange(tq)[None, :] < q_len[:, None])[:, None, None, :, None])
    if kv_len is not None:
        keep = both(keep, (fnp.arange(s)[None, :] < kv_len[:, None])[:, None, None, None, :])
    if keep is None:
        return logits
    return fnp.where(keep, logits, fnp.asarray(_large_negative(logits.dtype), logits.dtype))


def dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None,
                          is_causal: bool = False, query_seq_lengths=None,
                          key_value_seq_lengths=None, local_window_size=None,
                          implementation=None, return_residual: bool = False):
    """Scaled dot-product attention (``jax.nn.dot_product_attention``'s signature).

    Args:
      query: ``[B, T, N, H]`` (or ``[T, N, H]``).
      key, value: ``[B, S, K, H]``, ``N % K == 0``; the dtype of ``query``.
      bias: added to the logits, broadcastable to ``[B, N, T, S]``.
      mask: bool, True where attention is allowed, broadcastable to ``[B, N, T, S]``.
      scale: the logits' scale (default ``1 / sqrt(H)``).
      is_causal: a query attends to keys at positions <= its own.
      query_seq_lengths, key_value_seq_lengths: int32 ``[B]`` valid lengths
        (padded queries give zero outputs).
      local_window_size: ``w`` or ``(left, right)``: a query at ``i`` sees keys in
        ``[i - left, i + right]``.
      implementation: None or ``'xla'`` (this function, as jax's None),
        ``'pallas'`` (pallas_kernels.flash_attention) or ``'cudnn'`` (jax's
        cuDNN kernel, GPU only); the last two after ``import pallas_kernels``.
      return_residual: also return the log-sum-exp of the logits ``[B, T, N]``.

    Returns:
      The attention output with ``query``'s shape (and the residual).

    Example::

        >>> out = fnn.dot_product_attention(q, k, v, is_causal=True)
    """
    if implementation not in (None, "xla"):
        fn = _ATTENTION_IMPLEMENTATIONS.get(implementation)
        if fn is None and implementation not in ("pallas", "cudnn"):
            raise ValueError(f"Unsupported implementation option: {implementation}")
        if fn is None:
            raise AttentionImplementationError(
                f"dot_product_attention: implementation={implementation!r} is provided by "
                f"pallas_kernels, which is not imported. Fix: `import pallas_kernels` (it "
                f"registers 'pallas' and 'cudnn'), or use implementation=None / 'xla'.")
        return fn(query, key, value, bias, mask, scale=scale, is_causal=is_causal,
                  query_seq_lengths=query_seq_lengths,
                  key_value_seq_lengths=key_value_seq_lengths,
                  local_window_size=local_window_size, return_residual=return_residual)
    out_shape = get_aval(query).shape
    q, k, v = _attention_4d(query), _attention_4d(key), _attention_4d(value)
    bias = None if bias is None else _attention_4d(bias)
    mask = None if mask is None else _attention_4d(mask)
    b, s, kh, h = k.shape
    _check_attention_arg("value", v, [b, s, kh, h], k.dtype)
    _check_attention_arg("query", q, [b, -1, -1, h], k.dtype)
    _check_attention_arg("mask", mask, [-1] * 4, np.bool_)
    _check_attention_arg("bias", bias, [-1] * 4)
    q_len = None if query_seq_lengths is None else fnp.asarray(query_seq_lengths)
    kv_len = None if key_value_seq_lengths is None else fnp.asarray(key_value_seq_lengths)
    _check_attention_arg("query_seq_lengths", q_len, [b], np.int32)
    _check_attention_arg("key_value_seq_lengths", kv_len, [b], np.int32)
    n = q.shape[2]
    if n % kh:
        raise ShapeError(f"The number of query heads must be a multiple of key/value heads, "
                         f"but got {n} vs {kh}")
    if isinstance(local_window_size, int):
        local_window_size = (local_window_size, local_window_size)
    scale = 1.0 / np.sqrt(h) if scale is None else scale
    g, t = n // kh, q.shape[1]
    logits_dtype = np.promote_types(q.dtype, np.float32)
    qg = q.reshape(b, t, kh, g, h)
    logits = fnp.einsum("BTKGH,BSKH->BKGTS", qg, k, preferred_element_type=logits_dtype)
    logits = logits * fnp.asarray(scale, logits.dtype)
    if bias is not None:
        logits = (logits + _grouped(bias, kh, g)).astype(logits.dtype)
    logits = _mask(logits, _grouped(mask, kh, g), is_causal, q_len, kv_len, local_window_size)
    logits = logits.astype(np.float32)
    probs = softmax(logits, axis=-1).astype(k.dtype)
    out = fnp.einsum("BKGTS,BSKH->BTKGH", probs, v)
    if q_len is not None:
        out = out * (fnp.arange(t)[None, :] < q_len[:, None]).astype(out.dtype)[:, :, None, None,
                                                                                 None]
    out = out.reshape(b, t, n, h).reshape(out_shape)
    if not return_residual:
        return out
    lse = logsumexp(logits, axis=-1).astype(k.dtype)            # [B, K, G, T]
    lse = fnp.transpose(lse, (0, 3, 1, 2)).reshape(out_shape[:-1])
    return out, P.stop_gradient(lse)
