"""Histograms (as jax.numpy): ``histogram_bin_edges``, ``histogram``,
``histogram2d``, ``histogramdd``.

Bins are found with ``searchsorted(edges, x, side='right')`` (the last edge
closes the last bin) and counted with a scatter-add / ``bincount``, as JAX;
integer ``bins`` must be concrete, the data and ``range`` may be traced.

Example::

    >>> fnp.histogram(fnp.array([1.0, 2.0, 2.5, 4.0]), bins=3)[0]
    Array([1., 2., 1.], dtype=float32)
"""
from __future__ import annotations

import math as _math
import operator

import numpy as np

from fx.core import get_aval
from primitives.numpy import indexing as _ix, manipulation as _man, math as _m
from primitives.numpy import reductions as _red
from primitives.numpy._promote import promote
from primitives.numpy._util import shape_of
from primitives.numpy.creation import asarray, linspace, ones_like, zeros
from primitives.numpy.grids import ix_
from primitives.numpy.index_tricks import ravel_multi_index
from primitives.numpy.sequences import bincount, diff, searchsorted

__all__ = ["histogram_bin_edges", "histogram", "histogram2d", "histogramdd"]


def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """The bin edges :func:`histogram` uses (as jnp.histogram_bin_edges).

    Args:
      a: input data.
      bins: a concrete number of equal bins, or the edges (1-D).
      range: (low, high), default (a.min(), a.max()); widened by 0.5 if empty.
      weights: unused (string bins are not supported), as JAX.

    Returns:
      The ``bins + 1`` edges, in a's inexact dtype.

    References:
      jax.numpy.histogram_bin_edges; numpy.histogram_bin_edges.
    """
    del weights
    if isinstance(bins, str):
        raise NotImplementedError("string values for `bins` not implemented.")
    arr, = _m.promote_inexact(asarray(a))
    dtype = get_aval(arr).dtype
    if np.ndim(bins) == 1 or (hasattr(bins, "shape") and len(shape_of(bins)) == 1):
        return asarray(bins, dtype=dtype)
    bins_int = operator.index(bins)
    if range is None:
        range = [_red.min(arr), _red.max(arr)]
    range = asarray(range if not isinstance(range, (list, tuple)) else
                    _man.stack([asarray(r, dtype=dtype) for r in range]), dtype=dtype)
    if shape_of(range) != (2,):
        raise ValueError(f"`range` must be either None or a sequence of scalars, got {range}")
    empty = _red.ptp(range) == 0
    lo = _m.where(empty, range[0] - 0.5, range[0])
    hi = _m.where(empty, range[1] + 0.5, range[1])
    return linspace(lo, hi, bins_int + 1, dtype=dtype)


def histogram(a, bins=10, range=None, weights=None, density=None):
    """A 1-D histogram (as jnp.histogram).

    Args:
      a: input data (flattened).
      bins: a concrete number of bins, or the edges.
      range: (low, high) of the bins (default: the data's min and max).
      weights: per-element weights (a's shape).
      density: normalize to a probability density.

    Returns:
      (counts, bin_edges).

    References:
      jax.numpy.histogram; numpy.histogram.
    """
    if weights is None:
        a, = _m.promote_inexact(asarray(a))
        weights = ones_like(a)
    else:
        a, weights = asarray(a), asarray(weights)
        if shape_of(a) != shape_of(weights):
            raise ValueError("weights should have the same shape as a.")
        a, weights = _m.promote_inexact(a, weights)
    edges = histogram_bin_edges(a, bins, range, weights)
    n_edges = shape_of(edges)[0]
    idx = searchsorted(edges, a, side="right")
    idx = _m.where(a == edges[-1], n_edges - 1, idx)
    counts = _ix.at(zeros(n_edges, get_aval(weights).dtype))[idx].add(weights)[1:]
    if density:
        counts = counts / diff(edges) / _red.sum(counts)
    return counts, edges


def histogramdd(sample, bins=10, range=None, weights=None, density=None):
    """A D-dimensional histogram of ``sample[N, D]`` (as jnp.histogramdd).

    Args:
      sample: ``[N, D]`` points.
      bins: a concrete int, or one per dimension (ints or edge arrays).
      range: None or one (low, high) pair (or None) per dimension.
      weights: one weight per point.
      density: normalize to a probability density.

    Returns:
      (hist of shape ``[bins_0, ..., bins_{D-1}]``, list of D edge arrays).

    References:
      jax.numpy.histogramdd; numpy.histogramdd.
    """
    if weights is None:
        sample, = _m.promote_inexact(asarray(sample))
    else:
        sample, weights = asarray(sample), asarray(weights)
        if shape_of(weights) != shape_of(sample)[:1]:
            raise ValueError("should have one weight for each sample.")
        sample, weights = _m.promote_inexact(sample, weights)
    N, D = shape_of(sample)
    if range is not None and (len(range) != D or any(r is not None and np.shape(r)[0] != 2
                                                     for r in range)):
        raise ValueError(f"For sample.shape={(N, D)}, range must be a sequence of {D} pairs "
                         f"or Nones; got range={range}")
    try:
        per_dim = list(bins)
    except TypeError:
        per_dim = D * [bins]
    else:
        if len(per_dim) != D:
            raise ValueError("should be a bin for each dimension.")
    idx_by_dim, edges_by_dim = [], []
    for i in _builtin_range(D):
        col = sample[:, i]
        edges = histogram_bin_edges(col, per_dim[i], None if range is None else range[i],
                                    weights)
        idx = searchsorted(edges, col, side="right")
        idx_by_dim.append(_m.where(col == edges[-1], idx - 1, idx))
        edges_by_dim.append(edges)
    nbins = tuple(shape_of(e)[0] + 1 for e in edges_by_dim)
    xy = ravel_multi_index(tuple(idx_by_dim), nbins, mode="clip")
    hist = _man.reshape(bincount(xy, weights, length=_math.prod(nbins)), nbins)
    hist = _ix.getitem(hist, D * (slice(1, -1),))
    if density:
        hist = hist.astype(get_aval(sample).dtype)
        hist = hist / _red.sum(hist)
        for norm in ix_(*[diff(e) for e in edges_by_dim]):
            hist = hist / norm
    return hist, edges_by_dim


_builtin_range = range


def histogram2d(x, y, bins=10, range=None, weights=None, density=None):
    """A 2-D histogram (as jnp.histogram2d).

    Args:
      x, y: the points' coordinates.
      bins: an int, a pair of ints, edge arrays, or one edge array for both.
      range: None or ((xmin, xmax), (ymin, ymax)).
      weights: one weight per point.
      density: normalize to a probability density.

    Returns:
      (hist, x_edges, y_edges).

    References:
      jax.numpy.histogram2d; numpy.histogram2d.
    """
    x, y = asarray(x), asarray(y)
    try:
        n = len(bins)
    except TypeError:
        n = 1
    if n != 1 and n != 2:
        edges = asarray(bins)
        bins = [edges, edges]
    sample = _man.stack(list(promote(x, y)), axis=1)
    hist, edges = histogramdd(sample, bins, range, weights, density)
    return hist, edges[0], edges[1]
