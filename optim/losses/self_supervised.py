"""Self-supervised (metric learning) losses: NT-Xent and the triplet margin loss."""
from __future__ import annotations

import numpy as np

import primitives as P
import primitives.numpy as fnp
from optim.losses._checks import check_floating
from optim.losses.regression import cosine_similarity

__all__ = ["ntxent", "triplet_margin_loss"]


def ntxent(embeddings, labels, temperature=0.07):
    """Normalized temperature-scaled cross-entropy (NT-Xent, SimCLR's loss).

    For every positive pair ``(i, j)`` (same label, ``i != j``) it is the
    cross-entropy of picking ``j`` among ``j`` and all of ``i``'s negatives,
    with cosine similarities divided by ``temperature`` as logits; the result
    is averaged over positive pairs.

    Args:
      embeddings: floating embeddings, ``[batch, features]``.
      labels: group labels, ``[batch]``: equal labels mark positive pairs
        (e.g. ``[0, 0, 1, 1]``).
      temperature: the temperature dividing the similarities.

    Returns:
      The scalar loss.

    Raises:
      ValueError: ``labels`` and ``embeddings`` differ in their leading dimension.

    Example::

        >>> emb = fnp.array([[1., 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9]])
        >>> ntxent(emb, fnp.array([0, 0, 1, 1]))  # 1.1e-05: positives far closer than negatives

    References:
      Chen et al., `A Simple Framework for Contrastive Learning of Visual
      Representations <http://arxiv.org/abs/2002.05709>`_, 2020.

      `NTXentLoss <https://kevinmusgrave.github.io/pytorch-metric-learning/losses/#ntxentloss>`_,
      pytorch-metric-learning.
    """
    check_floating(embeddings)
    n, n_labels = np.shape(embeddings)[0], np.shape(labels)[0]
    if n_labels != n:
        raise ValueError(f"Labels and embeddings must have the same leading dimension, found "
                         f"{n_labels} for labels and {n} for embeddings.")
    eps = fnp.finfo(fnp.result_type(embeddings)).eps
    similarity = cosine_similarity(fnp.expand_dims(embeddings, 0), fnp.expand_dims(embeddings, 1),
                                   epsilon=eps) / temperature
    same = fnp.equal(fnp.expand_dims(labels, 1), fnp.expand_dims(labels, 0))
    positives = fnp.logical_and(same, fnp.logical_not(fnp.eye(n, dtype=bool)))  # no self pairs
    negatives = fnp.logical_not(same)
    sim_neg = fnp.where(negatives, similarity, -np.inf)
    sim_pos = fnp.where(positives, similarity, -np.inf)
    # shift by the row max (a constant) for stability
    row_max = fnp.max(fnp.concatenate([sim_neg, sim_pos], axis=-1), axis=1, keepdims=True)
    row_max = P.stop_gradient(row_max)
    shifted_neg, shifted_pos = sim_neg - row_max, sim_pos - row_max
    denominator = (fnp.sum(fnp.exp(shifted_neg), axis=1, keepdims=True)
                   + fnp.exp(shifted_pos))
    log_softmax = shifted_pos - fnp.log(denominator)
    total = fnp.sum(fnp.where(positives, log_softmax, 0.0))
    return fnp.negative(total) / fnp.sum(positives)


def triplet_margin_loss(anchors, positives, negatives, axis=-1, norm_degree=2, margin=1.0,
                        eps=1e-6):
    """Triplet loss ``max(d(a, p) - d(a, n) + margin, 0)``.

    ``d(x, y) = (sum((x - y) ** norm_degree, axis) + eps) ** (1 / norm_degree)``;
    as in optax the differences are not made absolute, so odd ``norm_degree``
    values are not norms.

    Args:
      anchors: floating anchor embeddings, ``[batch, features]``.
      positives: floating embeddings similar to the anchors, same shape.
      negatives: floating embeddings dissimilar to the anchors, same shape.
      axis: the feature axis.
      norm_degree: the degree of the distance.
      margin: how much closer the positives should be than the negatives.
      eps: added inside the root for stability (and a finite gradient at 0).

    Returns:
      The losses, ``[batch]``.

    Example::

        >>> a = fnp.array([[0., 0.], [1., 1.]])
        >>> triplet_margin_loss(a, a + 0.1, fnp.array([[1., 0.], [0., 1.]]))  # [0.1414, 0.1414]

    References:
      Balntas et al., `Learning shallow convolutional feature descriptors with
      triplet losses <https://bmva-archive.org.uk/bmvc/2016/papers/paper119/abstract119.pdf>`_,
      BMVC 2016.
    """
    check_floating(anchors, positives, negatives)

    def distance(x, y):
        powered = fnp.sum(fnp.power(fnp.subtract(x, y), norm_degree), axis=axis)
        return fnp.power(powered + eps, 1 / norm_degree)
    return fnp.maximum(distance(anchors, positives) - distance(anchors, negatives) + margin, 0)
