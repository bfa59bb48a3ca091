"""Label smoothing (optax's ``smooth_labels``)."""
from __future__ import annotations

import numpy as np

import primitives.numpy as fnp
from optim.losses._checks import axes_size, check_floating

__all__ = ["smooth_labels"]


def smooth_labels(labels, alpha, *, axis=-1, where=None):
    """Mix one-hot ``labels`` with the uniform distribution: ``(1 - alpha) * labels + alpha / K``.

    ``K`` is the number of categories along ``axis`` or, with ``where``, the
    number of included ones.

    Args:
      labels: floating one-hot labels.
      alpha: the smoothing factor.
      axis: axis or tuple of axes of the categories (None: all).
      where: optional mask of the categories that count in ``K``.

    Returns:
      The smoothed labels, of the shape of ``labels``.

    Example::

        >>> smooth_labels(fnp.array([0., 1.]), 0.2)   # [0.1, 0.9]

    References:
      Müller et al., `When does label smoothing help?
      <https://arxiv.org/abs/1906.02629>`_, 2019.
    """
    check_floating(labels)
    if where is None:
        num_categories = axes_size(np.shape(labels), axis)
    else:
        num_categories = fnp.sum(where, axis=axis, keepdims=True)
    # operators, not fnp calls: Python scalars stay Python (weak) numbers, as in optax
    return (1.0 - alpha) * fnp.asarray(labels) + alpha / num_categories
