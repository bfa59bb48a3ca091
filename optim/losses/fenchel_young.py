"""Fenchel-Young losses built from a max function (optax's ``make_fenchel_young_loss``)."""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np

import primitives.numpy as fnp
from transforms import vmap

__all__ = ["MaxFun", "make_fenchel_young_loss"]


class MaxFun(Protocol):
    """A (regularized) max of a score vector ``[n] -> []``, e.g. ``fnn.logsumexp``."""

    def __call__(self, scores, *args, **kwargs: Any):
        ...


def _over_last_axis(fn, x):
    """``fn`` (a ``[n] -> []`` function) on every vector along the last axis of ``x``."""
    x = fnp.asarray(x)
    batch_shape = np.shape(x)[:-1]
    if not batch_shape:
        return fn(x)
    flat = fnp.reshape(x, (-1, np.shape(x)[-1]))
    return fnp.reshape(vmap(fn)(flat), batch_shape)


def make_fenchel_young_loss(max_fun: MaxFun):
    """The Fenchel-Young loss ``max_fun(scores) - <targets, scores>`` of a max function.

    Args:
      max_fun: a function ``[n] -> []`` (a regularized max of a score vector,
        e.g. ``fnn.logsumexp`` for the cross-entropy), written with
        ``primitives.numpy`` so that it traces.

    Returns:
      ``fenchel_young_loss(scores, targets, *args, **kwargs)``: ``max_fun`` is
      applied to each vector along the last axis of ``scores`` (leading axes
      are batch axes) and gets ``*args, **kwargs`` unbatched; ``targets`` must
      broadcast with ``scores``. The result has the leading shape. (optax's
      loss, through ``jnp.vectorize``, drops keyword arguments and rejects
      positional ones.)

    Example::

        >>> fy_loss = make_fenchel_young_loss(fnn.logsumexp)
        >>> fy_loss(fnp.array([[1., 2.]]), fnp.array([[0., 1.]]))  # == softmax cross-entropy

    References:
      Blondel, Martins and Niculae, `Learning with Fenchel-Young Losses
      <https://arxiv.org/pdf/1901.02324.pdf>`_, JMLR 2020.
    """

    def fenchel_young_loss(scores, targets, *args, **kwargs):
        max_value = _over_last_axis(lambda s: max_fun(s, *args, **kwargs), scores)
        return max_value - fnp.einsum("...n,...n->...", targets, scores)

    return fenchel_young_loss
