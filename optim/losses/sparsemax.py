"""Sparsemax losses: binary (``sparse_plus``) and multiclass (the Fenchel-Young
loss of the Gini negentropy, through the Euclidean projection on the simplex)."""
from __future__ import annotations

import primitives.numpy as fnp
import primitives.nn as fnn
from optim.projections import projection_simplex
from transforms import vmap

__all__ = ["sparsemax_loss", "multiclass_sparsemax_loss"]


def sparsemax_loss(logits, labels):
    """Binary sparsemax loss ``sparse_plus(-x if y else x)``.

    Zero if and only if ``sparse_sigmoid(logits) == labels``.

    Args:
      logits: scores of the model (floating).
      labels: integer labels in ``{0, 1}``.

    Returns:
      The elementwise losses.

    Example::

        >>> sparsemax_loss(fnp.array([0.5, 2.0]), fnp.array([1, 0]))  # [0.0625, 2.]

    References:
      Blondel, Martins and Niculae, `Learning with Fenchel-Young Losses
      <https://arxiv.org/abs/1901.02324>`_, JMLR 2020 (Sec. 4.4).
    """
    return fnn.sparse_plus(fnp.where(labels, fnp.negative(logits), logits))


def _sparsemax_loss_one(scores, label):
    scores = fnp.asarray(scores)
    proba = projection_simplex(scores, 1)
    # Fenchel conjugate of the Gini negentropy minus the label's score:
    # <p, s - s_y> + 0.5 * (1 - <p, p>), with the label's own term exactly 0
    shifted = (scores - scores[label]).at[label].set(0.0)
    return (fnp.dot(proba, fnp.where(proba, shifted, 0.0))
            + 0.5 * (1.0 - fnp.dot(proba, proba)))


def multiclass_sparsemax_loss(scores, labels):
    """Multiclass sparsemax loss.

    Args:
      scores: scores of the model, ``[batch, num_classes]``.
      labels: integer labels, ``[batch]``.

    Returns:
      The losses, ``[batch]``.

    Example::

        >>> multiclass_sparsemax_loss(fnp.array([[1., 2., 0.5]]), fnp.array([1]))  # [0.]

    References:
      Martins and Astudillo, `From Softmax to Sparsemax: A Sparse Model of
      Attention and Multi-Label Classification <https://arxiv.org/abs/1602.02068>`_, 2016.
    """
    return vmap(_sparsemax_loss_one)(scores, labels)
