"""Sparsemax losses: binary (``sparse_plus``) and multiclass (the Fenchel-Young
loss of the Gini negentropy, through the Euclidean projection on the simplex)."""
from __future__ import annotations

import primitives.numpy as fnp
import primitives.nn as fnn
from transforms import custom_jvp, vmap

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


@custom_jvp
def _projection_unit_simplex(values):
    """argmin_p ||values - p||^2 s.t. p >= 0, sum(p) = 1, for a vector (sort-based)."""
    n = values.shape[0]
    u = fnp.flip(fnp.sort(values))  # descending
    cumsum_u = fnp.cumsum(u)
    ind = fnp.arange(n) + 1
    cond = 1 / ind + (u - cumsum_u / ind) > 0
    idx = fnp.count_nonzero(cond)  # size of the support, >= 1
    return fnn.relu(1 / idx + (values - cumsum_u[idx - 1] / idx))


@_projection_unit_simplex.defjvp
def _projection_unit_simplex_jvp(primals, tangents):
    (values,), (values_dot,) = primals, tangents
    out = _projection_unit_simplex(values)
    supp = out > 0
    card = fnp.count_nonzero(supp)
    # the projection is affine on its support: center the tangent there
    out_dot = supp * values_dot - (fnp.dot(supp, values_dot) / card) * supp
    return out, out_dot


def projection_simplex(values, scale=1.0):
    """Euclidean projection of a vector on the simplex ``{p >= 0, sum(p) = scale}``.

    Args:
      values: a vector ``[n]``.
      scale: the sum of the projection.

    Returns:
      The projection, ``[n]``; its jvp is the (finite) derivative of the
      piecewise-affine projection.

    References:
      Martins and Astudillo, `From Softmax to Sparsemax
      <https://arxiv.org/abs/1602.02068>`_, 2016.
    """
    return scale * _projection_unit_simplex(values / scale)


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
