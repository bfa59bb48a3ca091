"""Softmax cross-entropies: with probability labels (plain and ``0 log 0 = 0``
safe), with integer labels, and the PolyLoss variant."""
from __future__ import annotations

import numpy as np

import primitives.numpy as fnp
import primitives.nn as fnn
from transforms import custom_jvp
from optim.losses._checks import check_floating, check_integer, normalize_axes, normalize_axis

__all__ = ["safe_softmax_cross_entropy", "softmax_cross_entropy",
           "softmax_cross_entropy_with_integer_labels", "poly_loss_cross_entropy"]


# --- safe_softmax_cross_entropy ---
@custom_jvp
def _weighted_log_softmax(x, weights):
    """``weights * log_softmax(x)`` over the last axis, 0 where ``weights == 0``
    (even where ``x = -inf``); its jvp is the finite ``w * (x_dot - <softmax, x_dot>)``."""
    log_p = fnn.log_softmax(x, axis=-1)
    return fnp.where(fnp.not_equal(weights, 0.0), fnp.multiply(weights, log_p),
                     fnp.zeros_like(log_p))


@_weighted_log_softmax.defjvp
def _weighted_log_softmax_jvp(primals, tangents):
    (x, weights), (x_dot, weights_dot) = primals, tangents
    log_p = fnn.log_softmax(x, axis=-1)
    out = fnp.where(fnp.not_equal(weights, 0.0), fnp.multiply(weights, log_p),
                    fnp.zeros_like(log_p))
    mean_x_dot = fnp.sum(fnp.multiply(x_dot, fnn.softmax(x, axis=-1)), axis=-1, keepdims=True)
    out_dot = (fnp.multiply(weights, x_dot) - fnp.multiply(weights, mean_x_dot)
               + fnp.multiply(weights_dot, log_p))
    return out, out_dot


def safe_softmax_cross_entropy(logits, labels):
    """Softmax cross-entropy over the last axis with ``0 * log 0 = 0``.

    Unlike :func:`softmax_cross_entropy`, a ``-inf`` logit whose label is 0
    contributes 0 to the loss and to its gradient instead of NaN.

    Args:
      logits: floating unnormalized log-probabilities ``[..., num_classes]``.
      labels: probability distributions broadcastable to ``[..., num_classes]``.

    Returns:
      The cross-entropies, of shape ``[...]``.

    Example::

        >>> safe_softmax_cross_entropy(fnp.array([0., -float("inf")]), fnp.array([1., 0.]))  # 0.0

    References:
      `Cross-entropy <https://en.wikipedia.org/wiki/Cross-entropy>`_, Wikipedia.
    """
    check_floating(logits)
    return fnp.negative(fnp.sum(_weighted_log_softmax(logits, labels), axis=-1))


# --- softmax_cross_entropy ---
def _expand_where(where, logits, axis):
    """A ``[batch]`` mask made ``logits``-shaped along ``axis`` (optax's convention)."""
    if where is not None and np.ndim(where) != np.ndim(logits):
        where = fnp.expand_dims(where, axis)
    return where


def softmax_cross_entropy(logits, labels, axis=-1, where=None):
    """``-sum(labels * log_softmax(logits))`` along ``axis`` (categorical cross-entropy).

    Args:
      logits: floating unnormalized log-probabilities ``[batch, num_classes]``.
      labels: probability distributions (e.g. one-hot) of the same shape.
      axis: axis or tuple of axes of the classes (None: all).
      where: optional mask of the elements to include, of shape ``[batch]``
        or ``logits.shape``; masked logits may be ``-inf``.

    Returns:
      The cross-entropies, of shape ``[batch]``.

    Example::

        >>> logits = fnp.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]])
        >>> softmax_cross_entropy(logits, fnp.array([[1., 0., 0.], [0., 1., 0.]]))
        ... # [0.2761, 2.9518]

    References:
      `Cross-entropy <https://en.wikipedia.org/wiki/Cross-entropy>`_, Wikipedia.

      `Multinomial logistic regression
      <https://en.wikipedia.org/wiki/Multinomial_logistic_regression>`_, Wikipedia.
    """
    check_floating(logits)
    where = _expand_where(where, logits, axis)
    log_probs = fnn.log_softmax(logits, axis, where)
    return fnp.negative(fnp.sum(fnp.multiply(labels, log_probs), axis=axis, where=where))


# --- softmax_cross_entropy_with_integer_labels ---
def softmax_cross_entropy_with_integer_labels(logits, labels, axis=-1, where=None):
    """Cross-entropy of ``softmax(logits)`` with integer class labels.

    Computes ``logsumexp(logits) - logits[label]`` (the normalizer is
    subtracted from the label's logit only).

    Args:
      logits: floating unnormalized log-probabilities ``[batch, num_classes]``.
      labels: integer classes in ``[0, num_classes)``, of shape ``[batch]``.
      axis: int, or a tuple of axes whose slice is the (flattened, row-major)
        class axis: a label is then a flat index into ``logits[axis]``.
      where: optional mask of shape ``[batch]`` or ``logits.shape``; rows with
        nothing included give 0.

    Returns:
      The cross-entropies, of shape ``[batch]``.

    Raises:
      TypeError: non-floating logits, non-integer labels.
      ValueError: ``axis`` is neither an int nor a tuple, or out of range.

    Example::

        >>> logits = fnp.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]])
        >>> softmax_cross_entropy_with_integer_labels(logits, fnp.array([0, 1]))
        ... # [0.2761, 2.9518]

    References:
      `Cross-entropy <https://en.wikipedia.org/wiki/Cross-entropy>`_, Wikipedia.
    """
    check_floating(logits)
    check_integer(labels)
    where = _expand_where(where, logits, axis)
    ndim = np.ndim(logits)
    if isinstance(axis, (int, np.integer)):
        axis = normalize_axis(axis, ndim)
    elif isinstance(axis, tuple):
        # move the class axes last (in order) and flatten them into one
        class_axes = normalize_axes(axis, ndim)
        batch_axes = tuple(a for a in range(ndim) if a not in class_axes)
        axis = len(batch_axes)

        def flatten_classes(x):
            x = fnp.transpose(x, batch_axes + class_axes)
            return fnp.reshape(x, np.shape(x)[:axis] + (-1,))
        logits = flatten_classes(logits)
        if where is not None:
            where = flatten_classes(where)
    else:
        raise ValueError("Keyword argument 'axis' must be of type 'int' or 'tuple[int, ...]' "
                         f"but actual type is {type(axis)}.")
    label_logits = fnp.take_along_axis(logits, fnp.expand_dims(labels, axis), axis=axis)
    label_logits = fnp.squeeze(label_logits, axis=axis)
    log_normalizers = fnn.logsumexp(logits, axis=axis, where=where)
    out = fnp.subtract(log_normalizers, label_logits)
    if where is not None:
        out = fnp.where(fnp.any(where, axis=axis), out, 0.0)
    return out


# --- poly_loss_cross_entropy ---
def poly_loss_cross_entropy(logits, labels, *, epsilon=2.0, axis=-1, where=None):
    """PolyLoss-1: ``cross_entropy + epsilon * (1 - p_t)``.

    ``1 - p_t`` is ``sum(labels * (1 - softmax(logits)))``; the paper recommends
    ``epsilon = 2`` for ImageNet classification and ``-1`` for detection.

    Args:
      logits: floating unnormalized log-probabilities ``[..., num_classes]``.
      labels: floating probability distributions broadcastable to ``[..., num_classes]``.
      epsilon: coefficient of the first polynomial term.
      axis: axis or tuple of axes of the classes (None: all).
      where: optional mask of the elements to include.

    Returns:
      The losses, of shape ``[...]``.

    Example::

        >>> poly_loss_cross_entropy(fnp.array([[1., 2., 0.5]]),
        ...                         fnp.array([[0., 1., 0.]]))  # [1.2073]

    References:
      Leng et al., `PolyLoss: A Polynomial Expansion Perspective of
      Classification Loss Functions <https://arxiv.org/pdf/2204.12511.pdf>`_, 2022.
    """
    check_floating(logits, labels)
    p = fnn.softmax(logits, axis=axis, where=where)
    one_minus_pt = fnp.sum(fnp.multiply(labels, 1 - p), axis=axis, where=where)
    cross_entropy = softmax_cross_entropy(logits, labels, axis=axis, where=where)
    return cross_entropy + fnp.multiply(epsilon, one_minus_pt)
