"""Regression losses: squared error, L2, Huber, log-cosh, cosine similarity/distance.

All are elementwise (or reduce one axis, for the cosine ones) and written with
``primitives.numpy``, so they run eagerly, under ``jit``/``grad``/``vmap`` and
under ``jax.jit``, with optax's values and dtypes.

Example::

    >>> import optim, primitives.numpy as fnp
    >>> optim.losses.huber_loss(fnp.array([0.5, 3.0]), delta=1.0)   # [0.125, 2.5]
"""
from __future__ import annotations

import primitives.numpy as fnp
from optim.losses._checks import check_floating, check_shapes_equal

__all__ = ["squared_error", "l2_loss", "huber_loss", "log_cosh", "cosine_similarity",
           "cosine_distance"]


def _errors(predictions, targets):
    return predictions if targets is None else fnp.subtract(predictions, targets)


def squared_error(predictions, targets=None):
    """Elementwise squared error ``(predictions - targets) ** 2``.

    Mean squared error is ``squared_error(a, b).mean()``.

    Args:
      predictions: floating array of any shape ``[...]``.
      targets: array of the same shape as ``predictions`` (no broadcasting);
        ``None`` means zeros.

    Returns:
      The elementwise squared differences, of the shape of ``predictions``.

    Raises:
      TypeError: ``predictions`` is not floating.
      ValueError: ``targets`` has another shape.

    Example::

        >>> squared_error(fnp.array([1., 2.]), fnp.array([0., 4.]))  # [1., 4.]

    References:
      Bishop, Pattern Recognition and Machine Learning, 2006 (the 0.5 of
      :func:`l2_loss` is his convention).
    """
    check_floating(predictions)
    if targets is not None:
        check_shapes_equal(predictions, targets)
    return fnp.power(_errors(fnp.asarray(predictions), targets), 2)


def l2_loss(predictions, targets=None):
    """Elementwise ``0.5 * (predictions - targets) ** 2``.

    Args:
      predictions: floating array of any shape ``[...]``.
      targets: array of the same shape as ``predictions``; ``None`` means zeros.

    Returns:
      Half the squared differences, of the shape of ``predictions``.

    Example::

        >>> l2_loss(fnp.array([1., 2.]), fnp.array([0., 4.]))  # [0.5, 2.]

    References:
      Bishop, Pattern Recognition and Machine Learning, 2006.
    """
    return 0.5 * squared_error(fnp.asarray(predictions), targets)


def huber_loss(predictions, targets=None, *, delta=1.0):
    """Huber loss: quadratic for ``|error| <= delta``, linear beyond.

    ``0.5 * e**2`` if ``|e| <= delta`` else ``0.5 * delta**2 + delta * (|e| - delta)``;
    its gradient is the L2 gradient clipped to ``[-delta, delta]``.

    Args:
      predictions: floating array of any shape ``[...]``.
      targets: array broadcastable to ``predictions``; ``None`` means zeros.
      delta: where the loss turns from quadratic to linear.

    Returns:
      The elementwise Huber losses.

    References:
      `Huber loss <https://en.wikipedia.org/wiki/Huber_loss>`_, Wikipedia.
    """
    check_floating(predictions)
    abs_errors = fnp.abs(_errors(predictions, targets))
    quadratic = fnp.minimum(abs_errors, delta)
    # |e| - min(|e|, delta) rather than max(|e| - delta, 0): one gradient path at the kink
    linear = fnp.subtract(abs_errors, quadratic)
    return 0.5 * fnp.power(quadratic, 2) + fnp.multiply(delta, linear)


def log_cosh(predictions, targets=None):
    """Elementwise ``log(cosh(predictions - targets))``, computed without overflow.

    About ``e**2 / 2`` for small errors and ``|e| - log 2`` for large ones: a
    twice-differentiable alternative to :func:`huber_loss`.

    Args:
      predictions: floating array of any shape ``[...]``.
      targets: array broadcastable to ``predictions``; ``None`` means zeros.

    Returns:
      The elementwise log-cosh losses.

    Example::

        >>> log_cosh(fnp.array([0.5, 10.]))  # [0.1201, 9.3069]

    References:
      Chen et al., `Log Hyperbolic Cosine Loss Improves Variational
      Auto-Encoder <https://openreview.net/pdf?id=rkglvsC9Ym>`_, 2019.
    """
    check_floating(predictions)
    errors = fnp.asarray(_errors(predictions, targets))
    # log((e^x + e^-x) / 2) = logaddexp(x, -x) - log 2
    log2 = fnp.log(2.0).astype(errors.dtype)
    return fnp.subtract(fnp.logaddexp(errors, fnp.negative(errors)), log2)


def cosine_similarity(predictions, targets, *, epsilon=0.0, axis=-1, where=None):
    """Cosine of the angle between ``predictions`` and ``targets`` along ``axis``.

    Each vector is divided by ``sqrt(max(|v|^2, epsilon))`` before the inner product.

    Args:
      predictions: floating array ``[..., dim]``.
      targets: floating array ``[..., dim]``.
      epsilon: lower bound on the squared norms in the denominator.
      axis: axis or tuple of axes holding the vectors (None: all).
      where: optional mask of the elements to include.

    Returns:
      The cosine similarities, of shape ``[...]``.

    Example::

        >>> cosine_similarity(fnp.array([1., 0.]), fnp.array([1., 1.]))  # 0.7071

    References:
      `Cosine similarity <https://en.wikipedia.org/wiki/Cosine_similarity>`_, Wikipedia.
    """
    check_floating(predictions, targets)

    def unit(v):
        norm2 = fnp.sum(fnp.square(v), axis=axis, where=where, keepdims=True)
        return fnp.true_divide(v, fnp.sqrt(fnp.clip(norm2, epsilon)))
    return fnp.sum(fnp.multiply(unit(predictions), unit(targets)), axis=axis, where=where)


def cosine_distance(predictions, targets, *, epsilon=0.0, axis=-1, where=None):
    """``1 - cosine_similarity(predictions, targets)``.

    Args:
      predictions: floating array ``[..., dim]``.
      targets: floating array ``[..., dim]``.
      epsilon: lower bound on the squared norms in the denominator.
      axis: axis or tuple of axes holding the vectors (None: all).
      where: optional mask of the elements to include.

    Returns:
      The cosine distances, of shape ``[...]``.

    Example::

        >>> cosine_distance(fnp.array([1., 0.]), fnp.array([1., 1.]))  # 0.2929

    References:
      `Cosine distance <https://en.wikipedia.org/wiki/Cosine_similarity#Cosine_distance>`_,
      Wikipedia.
    """
    check_floating(predictions, targets)
    return 1.0 - cosine_similarity(predictions, targets, epsilon=epsilon, axis=axis, where=where)
