"""Ranking losses: the listwise softmax loss.

A ranking loss scores the ranking induced by item ``logits`` against the one
induced by relevance ``labels``, along the last axis (the list); leading axes
are batch axes.
"""
from __future__ import annotations

import numpy as np

import jax.numpy as jnp  # only to recognize reduce_fn=jnp.mean / jnp.sum; never called

import primitives.numpy as fnp
import primitives.nn as fnn
from optim.losses._checks import check_floating

__all__ = ["ranking_softmax_loss"]

# optax's callers pass jax.numpy's reductions; ours do the same on every input
_OURS = {id(jnp.mean): fnp.mean, id(jnp.sum): fnp.sum}


def _safe_reduce(a, where=None, reduce_fn=None):
    """``reduce_fn(a, where=where)``; a mean over nothing is 0 instead of NaN
    (unless ``a`` itself has NaNs); without ``reduce_fn``, masked entries are 0."""
    output = reduce_fn(a, where=where) if reduce_fn is not None else a
    if reduce_fn is fnp.mean:
        input_is_valid = fnp.logical_not(fnp.any(fnp.isnan(a)))
        output = fnp.where(fnp.logical_and(fnp.isnan(output), input_is_valid), 0.0, output)
    if reduce_fn is None and where is not None:
        output = fnp.where(where, output, 0.0)
    return output


def ranking_softmax_loss(logits, labels, *, where=None, weights=None, reduce_fn=fnp.mean):
    r"""Listwise softmax loss ``-sum_i y_i log softmax(s)_i`` over the last axis.

    Args:
      logits: floating scores of the items, ``[..., list_size]``.
      labels: relevance labels, ``[..., list_size]`` (cast to the logits' dtype).
      where: optional mask of the valid items, ``[..., list_size]``; lists
        without any valid item are left out of the reduction.
      weights: optional per-item weights, ``[..., list_size]``.
      reduce_fn: ``fnp.mean`` (default), ``fnp.sum``, any function taking
        ``where=``, or None for the per-list losses (masked lists give 0).
        ``jnp.mean`` / ``jnp.sum`` are accepted and mean ours.

    Returns:
      The reduced loss, or ``[...]`` losses when ``reduce_fn`` is None.

    Example::

        >>> ranking_softmax_loss(fnp.array([2., 1., 3.]), fnp.array([1., 0., 0.]))  # 1.408

    References:
      Cao et al., `Learning to Rank: From Pairwise Approach to Listwise Approach
      <https://dl.acm.org/doi/10.1145/1273496.1273513>`_, ICML 2007.
    """
    check_floating(logits)
    reduce_fn = _OURS.get(id(reduce_fn), reduce_fn)
    labels = fnp.asarray(labels).astype(fnp.asarray(logits).dtype)
    if where is not None:  # masked items: no label mass, probability 0
        labels = fnp.where(where, labels, fnp.zeros_like(labels))
        logits = fnp.where(where, logits, -np.inf)
    if weights is not None:
        labels = labels * weights
    log_softmax = fnn.log_softmax(logits, axis=-1)
    loss = fnp.negative(fnp.sum(labels * log_softmax, axis=-1, where=where))
    if where is not None:
        where = fnp.any(where, axis=-1)
    return _safe_reduce(loss, where=where, reduce_fn=reduce_fn)
