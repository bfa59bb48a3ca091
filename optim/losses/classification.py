"""Classification losses on scores: sigmoid cross-entropy, focal, hinge and
perceptron (binary and multiclass)."""
from __future__ import annotations

import numpy as np

import primitives.numpy as fnp
import primitives.nn as fnn
from optim.losses._checks import check_floating, check_shapes_equal

__all__ = ["sigmoid_binary_cross_entropy", "sigmoid_focal_loss", "hinge_loss", "perceptron_loss",
           "multiclass_hinge_loss", "multiclass_perceptron_loss"]


def _as_dtype_of(labels, logits):
    return fnp.asarray(labels).astype(fnp.asarray(logits).dtype)


def sigmoid_binary_cross_entropy(logits, labels):
    """Elementwise ``-y log sigmoid(x) - (1 - y) log(1 - sigmoid(x))``, computed stably.

    Each element is an independent binary prediction, so this serves binary and
    multi-label classification alike (``logits`` and ``labels`` must agree:
    binary labels go with class-1 logits, per-class targets with per-class logits).

    Args:
      logits: floating logits of the positive class.
      labels: labels in ``{0, 1}`` or target probabilities, broadcastable to
        ``logits`` (cast to its dtype).

    Returns:
      The cross-entropy of each binary prediction, of the shape of ``logits``.

    Example::

        >>> sigmoid_binary_cross_entropy(fnp.array([0.0]), fnp.array([1.0]))  # [log 2]

    References:
      Goodfellow et al., `Deep Learning
      <http://www.deeplearningbook.org/contents/prob.html>`_, 2016.
    """
    check_floating(logits)
    labels = _as_dtype_of(labels, logits)
    log_p = fnn.log_sigmoid(logits)
    log_not_p = fnn.log_sigmoid(fnp.negative(logits))  # log(1 - sigmoid(x)), stably
    return fnp.negative(labels) * log_p - (1.0 - labels) * log_not_p


def sigmoid_focal_loss(logits, labels, *, alpha=None, gamma=2.0):
    """Focal loss ``-alpha_t (1 - p_t)^gamma log(p_t)`` for sigmoid predictions.

    ``(1 - p_t)^gamma`` is computed in log space, ``exp(gamma * log(1 - p_t))``
    with ``log(1 - p_t) = logsumexp([log p, log(1 - p)], b=[1 - y, y])``, so it
    stays finite for any logit and for soft labels.

    Args:
      logits: floating logits, ``[...]``.
      labels: labels in ``{0, 1}`` or soft targets in ``[0, 1]``, broadcastable
        to ``logits``.
      alpha: optional weight of the positive class in ``(0, 1)``
        (``1 - alpha`` for the negative); None: no weighting.
      gamma: exponent of the modulating factor ``1 - p_t``.

    Returns:
      The focal losses, of the shape of ``logits``.

    Example::

        >>> sigmoid_focal_loss(fnp.array([2.0, -1.0]), fnp.array([1., 1.]))  # [0.0018, 0.7019]

    References:
      Lin et al., `Focal Loss for Dense Object Detection
      <https://arxiv.org/abs/1708.02002>`_, 2017.
    """
    check_floating(logits)
    labels = _as_dtype_of(labels, logits)
    ce_loss = sigmoid_binary_cross_entropy(logits, labels)
    log_p = fnn.log_sigmoid(logits)
    log_q = fnn.log_sigmoid(fnp.negative(logits))
    log_one_minus_p_t = fnn.logsumexp(fnp.stack([log_p, log_q], axis=-1), axis=-1,
                                      b=fnp.stack([1 - labels, labels], axis=-1))
    loss = ce_loss * fnp.exp(fnp.multiply(gamma, log_one_minus_p_t))
    if alpha is None:
        return loss
    return (alpha * labels + (1.0 - alpha) * (1.0 - labels)) * loss


def hinge_loss(predictor_outputs, targets):
    """Binary hinge loss ``max(0, 1 - outputs * targets)``.

    Args:
      predictor_outputs: outputs of the decision function.
      targets: targets in ``{-1, 1}``.

    Returns:
      The elementwise losses.

    Example::

        >>> hinge_loss(fnp.array([0.5, -2.0]), fnp.array([1., 1.]))  # [0.5, 3.]

    References:
      `Hinge loss <https://en.wikipedia.org/wiki/Hinge_loss>`_, Wikipedia.
    """
    return fnp.maximum(0, fnp.subtract(1, fnp.multiply(predictor_outputs, targets)))


def perceptron_loss(predictor_outputs, targets):
    """Binary perceptron loss ``max(0, -outputs * targets)``.

    Args:
      predictor_outputs: scores of the model.
      targets: targets in ``{-1, 1}``, of the same shape.

    Returns:
      The elementwise losses.

    Raises:
      ValueError: the shapes differ.

    Example::

        >>> perceptron_loss(fnp.array([0.5, -2.0]), fnp.array([1., 1.]))  # [0., 2.]

    References:
      `Perceptron <https://en.wikipedia.org/wiki/Perceptron>`_, Wikipedia.
    """
    check_shapes_equal(predictor_outputs, targets)
    return fnp.maximum(0, fnp.multiply(fnp.negative(predictor_outputs), targets))


def _score_of_label(scores, one_hot_labels):
    """``<scores, one_hot>`` over the last axis (optax's vectorized ``jnp.dot``)."""
    return fnp.einsum("...n,...n->...", scores, one_hot_labels)


def multiclass_hinge_loss(scores, labels):
    """Multiclass hinge loss ``max_k(scores_k + 1 - [k = y]) - scores_y``.

    Args:
      scores: scores of the model, ``[..., num_classes]``.
      labels: integer labels, ``[...]``.

    Returns:
      The losses, of shape ``[...]``.

    Example::

        >>> multiclass_hinge_loss(fnp.array([[1., 2., 0.5]]), fnp.array([0]))  # [2.]

    References:
      `Hinge loss <https://en.wikipedia.org/wiki/Hinge_loss>`_, Wikipedia.
    """
    one_hot_labels = fnn.one_hot(labels, np.shape(scores)[-1])
    margins = fnp.max(fnp.subtract(fnp.add(scores, 1.0), one_hot_labels), axis=-1)
    return fnp.subtract(margins, _score_of_label(scores, one_hot_labels))


def multiclass_perceptron_loss(scores, labels):
    """Multiclass perceptron loss ``max_k scores_k - scores_y``.

    Args:
      scores: scores of the model, ``[..., num_classes]``.
      labels: integer labels, ``[...]``.

    Returns:
      The losses, of shape ``[...]``.

    Example::

        >>> multiclass_perceptron_loss(fnp.array([[1., 2., 0.5]]), fnp.array([0]))  # [1.]

    References:
      Collins, Discriminative training methods for Hidden Markov Models: Theory
      and experiments with perceptron algorithms, EMNLP 2002.
    """
    one_hot_labels = fnn.one_hot(labels, np.shape(scores)[-1])
    return fnp.subtract(fnp.max(scores, axis=-1), _score_of_label(scores, one_hot_labels))
