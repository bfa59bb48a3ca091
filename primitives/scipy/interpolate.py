"""primitives.scipy.interpolate: ``RegularGridInterpolator`` (linear and nearest
interpolation on a rectilinear grid), a pytree as in JAX.

Example::

    >>> import numpy as np, primitives.scipy.interpolate as fip
    >>> x = np.linspace(0, 1, 4, dtype=np.float32)
    >>> f = fip.RegularGridInterpolator((x,), x ** 2)
    >>> f(np.array([[0.5]], np.float32))

References:
    JAX's ``jax/_src/third_party/scipy/interpolate.py``; SciPy's
    ``scipy.interpolate.RegularGridInterpolator``.
"""
from __future__ import annotations

from itertools import product

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from fx.core import get_aval
from primitives.numpy.creation import asarray
from primitives.numpy.math import promote_inexact

__all__ = ["RegularGridInterpolator"]


def _arr(x, who="RegularGridInterpolator"):
    if isinstance(x, (list, tuple)):
        raise TypeError(f"{who} requires ndarray or scalar arguments, got {type(x).__name__} "
                        f"at position 0.")
    return asarray(x) if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)) \
        else x


def _ndim_coords_from_arrays(points, ndim=None):
    """A tuple of coordinate arrays (or one array) as a ``(..., ndim)`` array."""
    if isinstance(points, tuple) and len(points) == 1:
        points = points[0]
    if isinstance(points, tuple):
        p = fnp.broadcast_arrays(*[_arr(q) for q in points])
        for other in p[1:]:
            if get_aval(other).shape != get_aval(p[0]).shape:
                raise ValueError("coordinate arrays do not have the same shape")
        out = fnp.empty(get_aval(p[0]).shape + (len(points),), dtype=float)
        for j, item in enumerate(p):
            out = out.at[..., j].set(item)
        return out
    points = _arr(points, "_ndim_coords_from_arrays")
    if get_aval(points).ndim == 1:
        points = points.reshape(-1, 1) if ndim is None else points.reshape(-1, ndim)
    return points


class RegularGridInterpolator:
    """Interpolate on a regular (rectilinear) grid, as JAX's RegularGridInterpolator.

    Each axis of ``points`` must be strictly increasing (as JAX; not checked).

    Args:
      points: N 1-d arrays, the grid coordinates.
      values: the grid values (at least N-d; trailing axes are carried along).
      method: 'linear' or 'nearest'.
      bounds_error: must be False (as JAX: no errors under jit).
      fill_value: the value outside the grid (default NaN; None extrapolates).

    Returns:
      A callable ``interp(xi, method=None)``.

    References:
      jax.scipy.interpolate.RegularGridInterpolator.
    """

    def __init__(self, points, values, method="linear", bounds_error=False,
                 fill_value=np.nan):
        if method not in ("linear", "nearest"):
            raise ValueError(f"method {method!r} is not defined")
        self.method = method
        self.bounds_error = bounds_error
        if self.bounds_error:
            raise NotImplementedError("`bounds_error` takes no effect under JIT")
        values = _arr(values)
        if len(points) > get_aval(values).ndim:
            raise ValueError(f"there are {len(points)} point arrays, but values has "
                             f"{get_aval(values).ndim} dimensions")
        values, = promote_inexact(values)
        if fill_value is not None:
            fill_value = _arr(fill_value)
            if not np.can_cast(get_aval(fill_value).dtype, get_aval(values).dtype,
                               casting="same_kind"):
                raise ValueError("fill_value must be either 'None' or of a type compatible "
                                 "with values")
        self.fill_value = fill_value
        self.grid = tuple(_arr(p) for p in points)
        self.values = values

    def __call__(self, xi, method=None):
        """Interpolated values at ``xi`` (``(..., N)`` points or a tuple of N arrays)."""
        method = self.method if method is None else method
        if method not in ("linear", "nearest"):
            raise ValueError(f"method {method!r} is not defined")
        ndim = len(self.grid)
        xi = _ndim_coords_from_arrays(xi, ndim=ndim)
        xi_shape = get_aval(xi).shape
        if xi_shape[-1] != ndim:
            raise ValueError(f"the requested sample points xi have dimension {xi_shape[1]}, "
                             f"but this RegularGridInterpolator has dimension {ndim}")
        xi = xi.reshape(-1, xi_shape[-1])
        indices, norm_distances, out_of_bounds = self._find_indices(xi.T)
        if method == "linear":
            result = self._evaluate_linear(indices, norm_distances)
        else:
            result = self._evaluate_nearest(indices, norm_distances)
        if not self.bounds_error and self.fill_value is not None:
            rs = get_aval(result).shape
            result = fnp.where(out_of_bounds.reshape(rs[:1] + (1,) * (len(rs) - 1)),
                               self.fill_value, result)
        return result.reshape(xi_shape[:-1] + get_aval(self.values).shape[ndim:])

    def _evaluate_linear(self, indices, norm_distances):
        vslice = (slice(None),) + (None,) * (get_aval(self.values).ndim - len(indices))
        values = asarray(0.)
        for edge_indices in product(*[[i, i + 1] for i in indices]):
            weight = asarray(1.)
            for ei, i, yi in zip(edge_indices, indices, norm_distances):
                weight = weight * fnp.where(ei == i, 1 - yi, yi)
            values = values + self.values[edge_indices] * weight[vslice]
        return values

    def _evaluate_nearest(self, indices, norm_distances):
        idx = [fnp.where(yi <= .5, i, i + 1) for i, yi in zip(indices, norm_distances)]
        return self.values[tuple(idx)]

    def _find_indices(self, xi):
        indices, norm_distances = [], []
        out_of_bounds = fnp.zeros((get_aval(xi).shape[1],), dtype=bool)
        for x, g in zip(xi, self.grid):
            size = get_aval(g).shape[0]
            i = fnp.searchsorted(g, x) - 1
            i = fnp.where(i < 0, 0, i)
            i = fnp.where(i > size - 2, size - 2, i)
            indices.append(i)
            norm_distances.append((x - g[i]) / (g[i + 1] - g[i]))
            out_of_bounds = out_of_bounds | (x < g[0]) | (x > g[-1])
        return indices, norm_distances, out_of_bounds


tree_util.register_pytree_node(
    RegularGridInterpolator,
    lambda obj: ((obj.grid, obj.values, obj.fill_value), (obj.method, obj.bounds_error)),
    lambda aux, children: RegularGridInterpolator(*children[:2], *aux, *children[2:]))
