"""Parameter initializers, as ``jax.nn.initializers`` (the same bits for the same key).

An initializer is ``init(key, shape, dtype=None) -> array``; the builders
(``normal(stddev)``, ``glorot_uniform()``, ``variance_scaling(...)``) return
one. Samples come from ``primitives.random``, whose bits equal jax.random's, and
the scaling is done in the target dtype as JAX does, so values match
``jax.nn.initializers`` exactly (tests/numpy/test_initializers.py).

Example::

    >>> import primitives.nn as fnn, primitives.random as frandom
    >>> w = fnn.initializers.glorot_normal()(frandom.PRNGKey(0), (64, 32))

``orthogonal`` and ``delta_orthogonal`` draw a normal matrix and take its QR
decomposition with the sign fix of ``jax.random.orthogonal`` (the same bits
as JAX for the same key). Not yet: complex dtypes.

References:
    Glorot & Bengio (2010); He et al. (2015); LeCun et al. (1998); JAX's
    ``jax/_src/nn/initializers.py``.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

import primitives.numpy as fnp
import primitives.random as frandom
from fx.core import canonical_dtype
from fx.errors import FxTypeError
from primitives.prng import shape_tuple

__all__ = ["Initializer", "zeros", "ones", "constant", "uniform", "normal", "truncated_normal",
           "variance_scaling", "glorot_uniform", "glorot_normal", "xavier_uniform",
           "xavier_normal", "lecun_uniform", "lecun_normal", "he_uniform", "he_normal",
           "kaiming_uniform", "kaiming_normal", "orthogonal", "delta_orthogonal"]

Initializer = Callable[..., object]
"""``init(key, shape, dtype=None) -> array``."""


def _dtype(dtype):
    return canonical_dtype(np.float32 if dtype is None else dtype)


def _real(op: str, dtype) -> np.dtype:
    dtype = _dtype(dtype)
    if not np.issubdtype(dtype, np.floating) and dtype.name != "bfloat16":
        raise FxTypeError(f"nn.initializers.{op}: dtype must be a real floating dtype, got "
                          f"{dtype.name} (complex initializers are not supported yet).")
    return dtype


def zeros(key, shape, dtype=None):
    """An array of zeros (the key is unused)."""
    return fnp.zeros(shape_tuple(shape), _dtype(dtype))


def ones(key, shape, dtype=None):
    """An array of ones (the key is unused)."""
    return fnp.ones(shape_tuple(shape), _dtype(dtype))


def constant(value, dtype=None) -> Initializer:
    """An initializer filling arrays with ``value``."""
    def init(key, shape, dtype=dtype):
        return fnp.full(shape_tuple(shape), value, dtype=_dtype(dtype))
    return init


def uniform(scale=1e-2, dtype=None) -> Initializer:
    """Uniform on ``[0, scale)``."""
    def init(key, shape, dtype=dtype):
        dtype = _real("uniform", dtype)
        return frandom.uniform(key, shape_tuple(shape), dtype) * fnp.asarray(scale, dtype)
    return init


def normal(stddev=1e-2, dtype=None) -> Initializer:
    """Normal with mean 0 and standard deviation ``stddev``."""
    def init(key, shape, dtype=dtype):
        dtype = _real("normal", dtype)
        return frandom.normal(key, shape_tuple(shape), dtype) * fnp.asarray(stddev, dtype)
    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0) -> Initializer:
    """A normal truncated to ``[lower, upper]`` standard deviations, times ``stddev``."""
    def init(key, shape, dtype=dtype):
        dtype = _real("truncated_normal", dtype)
        return (frandom.truncated_normal(key, lower, upper, shape_tuple(shape), dtype)
                * fnp.asarray(stddev, dtype))
    return init


def _axes_size(shape, axes) -> int:
    return shape[axes] if isinstance(axes, int) else math.prod(shape[i] for i in axes)


def _fans(shape: tuple, in_axis, out_axis, batch_axis) -> tuple[float, float]:
    """Effective fan-in / fan-out: the other axes are a convolution's receptive field."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"Can't compute input and output sizes of a {len(shape)}-dimensional "
                         f"weights tensor with default in_axis. Must be at least 2D or specify "
                         f"in_axis explicitly.")
    in_size, out_size = _axes_size(shape, in_axis), _axes_size(shape, out_axis)
    receptive = math.prod(shape) / in_size / out_size / _axes_size(shape, batch_axis)
    return in_size * receptive, out_size * receptive


_TRUNC_STD = 0.87962566103423978   # the stddev of a standard normal truncated to (-2, 2)


def variance_scaling(scale, mode: str, distribution: str,
                     in_axis: int | Sequence[int] = -2, out_axis: int | Sequence[int] = -1,
                     batch_axis: int | Sequence[int] = (), dtype=None) -> Initializer:
    """Samples with variance ``scale / n``, ``n`` the fan chosen by ``mode``.

    Args:
      scale: the variance's numerator.
      mode: ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``.
      distribution: ``"truncated_normal"``, ``"normal"`` or ``"uniform"``.
      in_axis, out_axis, batch_axis: the axes of the input / output / batch
        dimensions; the others form the receptive field.
      dtype: the default dtype.
    """
    def init(key, shape, dtype=dtype):
        shape, dtype = shape_tuple(shape), _real("variance_scaling", dtype)
        fan_in, fan_out = _fans(shape, in_axis, out_axis, batch_axis)
        denominator = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
                       "fan_geo_avg": (fan_in * fan_out) ** 0.5}.get(mode)
        if denominator is None:
            raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
        variance = fnp.asarray(scale / denominator, dtype)
        if distribution == "truncated_normal":
            stddev = fnp.sqrt(variance) / fnp.asarray(_TRUNC_STD, dtype)
            return frandom.truncated_normal(key, -2, 2, shape, dtype) * stddev
        if distribution == "normal":
            return frandom.normal(key, shape, dtype) * fnp.sqrt(variance)
        if distribution == "uniform":
            return frandom.uniform(key, shape, dtype, -1) * fnp.sqrt(3 * variance)
        raise ValueError(f"invalid distribution for variance scaling initializer: "
                         f"{distribution}")
    return init


def _named(scale: float, mode: str, distribution: str, doc: str):
    def builder(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)
    builder.__doc__ = doc
    builder.__name__ = builder.__qualname__ = doc.split(" ")[0].lower().replace("/", "")
    return builder


glorot_uniform = xavier_uniform = _named(1.0, "fan_avg", "uniform",
                                         "Glorot / Xavier uniform: variance 2 / (fan_in + fan_out).")
glorot_normal = xavier_normal = _named(1.0, "fan_avg", "truncated_normal",
                                       "Glorot / Xavier (truncated) normal.")
lecun_uniform = _named(1.0, "fan_in", "uniform", "LeCun uniform: variance 1 / fan_in.")
lecun_normal = _named(1.0, "fan_in", "truncated_normal", "LeCun (truncated) normal.")
he_uniform = kaiming_uniform = _named(2.0, "fan_in", "uniform",
                                      "He / Kaiming uniform: variance 2 / fan_in.")
he_normal = kaiming_normal = _named(2.0, "fan_in", "truncated_normal",
                                    "He / Kaiming (truncated) normal.")


def _random_orthogonal(key, n: int, m: int, dtype):
    """``jax.random.orthogonal(key, n, (), dtype, m)``: QR of a normal draw, signs fixed."""
    z = frandom.normal(key, (max(n, m), min(n, m)), dtype)
    q, r = fnp.linalg.qr(z)
    x = q * fnp.expand_dims(fnp.sign(fnp.linalg.diagonal(r)), -2)
    return fnp.matrix_transpose(x) if n < m else x


def orthogonal(scale=1.0, column_axis: int = -1, dtype=None) -> Initializer:
    """A uniformly random orthogonal matrix (rows or columns orthonormal) times ``scale``.

    Args:
      scale: the multiplier.
      column_axis: the axis of the columns; the other axes are flattened into rows.
      dtype: the default dtype.

    References:
        Saxe et al., "Exact solutions to the nonlinear dynamics of learning in
        deep linear neural networks" (2014).
    """
    def init(key, shape, dtype=dtype):
        shape, dtype = shape_tuple(shape), _real("orthogonal", dtype)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if any(d == 0 for d in shape):
            return fnp.zeros(shape, dtype)
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols
        q = _random_orthogonal(key, n_rows, n_cols, dtype)
        q = fnp.reshape(q, tuple(np.delete(shape, column_axis)) + (n_cols,))
        q = fnp.moveaxis(q, -1, column_axis)
        return fnp.asarray(scale, dtype) * q
    return init


def delta_orthogonal(scale=1.0, column_axis: int = -1, dtype=None) -> Initializer:
    """Delta-orthogonal kernels for 1-3 d convolutions: an orthogonal matrix at
    the spatial centre, zeros elsewhere (shape 3-d, 4-d or 5-d, ``fan_in <= fan_out``).

    References:
        Xiao et al., "Dynamical isometry and a mean field theory of CNNs" (2018).
    """
    def init(key, shape, dtype=dtype):
        shape, dtype = shape_tuple(shape), _real("delta_orthogonal", dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
        ortho = orthogonal(scale=scale, column_axis=column_axis, dtype=dtype)(key, shape[-2:])
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        return fnp.zeros(shape, dtype).at[centre].set(ortho)
    return init
