"""``gaussian_kde``: the Gaussian kernel density estimator of jax.scipy.stats, a
pytree (so it passes through jit / vmap / grad), Scott's or Silverman's bandwidth.

Example::

    >>> import numpy as np
    >>> from primitives.scipy import stats
    >>> kde = stats.gaussian_kde(np.array([0., 1., 1.5, 3.], np.float32))
    >>> kde.pdf(np.array([1.0], np.float32))

References:
    JAX's ``jax/_src/scipy/stats/kde.py``; SciPy's ``scipy.stats.gaussian_kde``;
    Scott, "Multivariate Density Estimation" (1992).
"""
from __future__ import annotations

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
import primitives.random as frandom
from fx.core import get_aval
from fx.dtypes import is_complex
from primitives.numpy.creation import asarray
from primitives.numpy.math import promote_inexact
from primitives.scipy import linalg as _linalg, special as _special

__all__ = ["gaussian_kde"]


def _arr(x, who):
    if isinstance(x, (list, tuple)):
        raise TypeError(f"{who} requires ndarray or scalar arguments, got {type(x).__name__} "
                        f"at position 0.")
    return asarray(x) if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)) \
        else x


@tree_util.register_pytree_node_class
class gaussian_kde:
    """Gaussian kernel density estimator (as jax.scipy.stats.gaussian_kde).

    Args:
      dataset: ``(n,)`` or ``(d, n)`` real data.
      bw_method: 'scott' (default), 'silverman', a scalar, or ``callable(kde)``.
      weights: optional ``(n,)`` weights.

    Returns:
      The estimator: ``evaluate``/``pdf``/``logpdf``, ``integrate_gaussian``,
      ``integrate_box_1d``, ``integrate_kde``, ``resample``.

    References:
      jax.scipy.stats.gaussian_kde.
    """
    __slots__ = ("neff", "dataset", "weights", "covariance", "inv_cov")

    def __init__(self, dataset, bw_method=None, weights=None):
        dataset = fnp.atleast_2d(_arr(dataset, "gaussian_kde"))
        if is_complex(get_aval(dataset).dtype):
            raise NotImplementedError("gaussian_kde does not support complex data")
        if not get_aval(dataset).size > 1:
            raise ValueError("`dataset` input should have multiple elements.")
        d, n = get_aval(dataset).shape
        if weights is not None:
            dataset, weights = promote_inexact(dataset, _arr(weights, "gaussian_kde"))
            weights = fnp.atleast_1d(weights)
            weights = weights / fnp.sum(weights)
            if get_aval(weights).ndim != 1:
                raise ValueError("`weights` input should be one-dimensional.")
            if get_aval(weights).shape[0] != n:
                raise ValueError("`weights` input should be of length n")
        else:
            dataset, = promote_inexact(dataset)
            weights = fnp.full(n, 1.0 / n, dtype=get_aval(dataset).dtype)
        object.__setattr__(self, "dataset", dataset)
        object.__setattr__(self, "weights", weights)
        neff = 1 / fnp.sum(weights ** 2)
        object.__setattr__(self, "neff", neff)
        bw_method = "scott" if bw_method is None else bw_method
        if isinstance(bw_method, str) and bw_method == "scott":
            factor = fnp.power(neff, -1. / (d + 4))
        elif isinstance(bw_method, str) and bw_method == "silverman":
            factor = fnp.power(neff * (d + 2) / 4.0, -1. / (d + 4))
        elif fnp.isscalar(bw_method) and not isinstance(bw_method, str):
            factor = bw_method
        elif callable(bw_method):
            factor = bw_method(self)
        else:
            raise ValueError("`bw_method` should be 'scott', 'silverman', a scalar, or a "
                             "callable.")
        data_covariance = fnp.atleast_2d(fnp.cov(dataset, rowvar=1, bias=False,
                                                 aweights=weights))
        data_inv_cov = fnp.linalg.inv(data_covariance)
        object.__setattr__(self, "covariance", data_covariance * factor ** 2)
        object.__setattr__(self, "inv_cov", data_inv_cov / factor ** 2)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r} (gaussian_kde is frozen)")

    def tree_flatten(self):
        """The pytree children ``(neff, dataset, weights, covariance, inv_cov)``."""
        return (self.neff, self.dataset, self.weights, self.covariance, self.inv_cov), None

    @classmethod
    def tree_unflatten(cls, aux_data, children):
        """Rebuild from :meth:`tree_flatten`'s children (no re-estimation)."""
        kde = cls.__new__(cls)
        for name, value in zip(cls.__slots__, children):
            object.__setattr__(kde, name, value)
        return kde

    @property
    def d(self):
        """The number of dimensions."""
        return get_aval(self.dataset).shape[0]

    @property
    def n(self):
        """The number of data points."""
        return get_aval(self.dataset).shape[1]

    def evaluate(self, points):
        """The estimated density at ``points`` (``(d, m)``, or ``(m,)`` when d = 1)."""
        points = self._reshape_points(_arr(points, "evaluate"))
        return _gaussian_kernel_eval(False, self.dataset.T, self.weights[:, None], points.T,
                                     self.inv_cov)[:, 0]

    def __call__(self, points):
        return self.evaluate(points)

    def pdf(self, x):
        """The probability density function (= :meth:`evaluate`)."""
        return self.evaluate(x)

    def logpdf(self, x):
        """The log of the density (a logsumexp over the kernels)."""
        x = self._reshape_points(_arr(x, "logpdf"))
        return _gaussian_kernel_eval(True, self.dataset.T, self.weights[:, None], x.T,
                                     self.inv_cov)[:, 0]

    def integrate_gaussian(self, mean, cov):
        """The integral of the density times the Gaussian ``N(mean, cov)``."""
        mean = fnp.atleast_1d(fnp.squeeze(_arr(mean, "integrate_gaussian")))
        cov = fnp.atleast_2d(_arr(cov, "integrate_gaussian"))
        if get_aval(mean).shape != (self.d,):
            raise ValueError(f"mean does not have dimension {self.d}")
        if get_aval(cov).shape != (self.d, self.d):
            raise ValueError(f"covariance does not have dimension {self.d}")
        chol = _linalg.cho_factor(self.covariance + cov)
        norm = 1.0 / (fnp.sqrt(2 * np.pi) ** self.d * fnp.prod(fnp.diag(chol[0])))
        return _gaussian_kernel_convolve(chol, norm, self.dataset, self.weights, mean)

    def integrate_box_1d(self, low, high):
        """The probability mass in ``[low, high]`` (one-dimensional data)."""
        if self.d != 1:
            raise ValueError("integrate_box_1d() only handles 1D pdfs")
        if np.ndim(low) != 0 or np.ndim(high) != 0:
            raise ValueError("the limits of integration in integrate_box_1d must be scalars")
        sigma = fnp.squeeze(fnp.sqrt(self.covariance))
        low = fnp.squeeze((low - self.dataset) / sigma)
        high = fnp.squeeze((high - self.dataset) / sigma)
        return fnp.sum(self.weights * (_special.ndtr(high) - _special.ndtr(low)))

    def integrate_kde(self, other):
        """The integral of the product of two estimated densities."""
        if other.d != self.d:
            raise ValueError("KDEs are not the same dimensionality")
        chol = _linalg.cho_factor(self.covariance + other.covariance)
        norm = 1.0 / (fnp.sqrt(2 * np.pi) ** self.d * fnp.prod(fnp.diag(chol[0])))
        sm, lg = (self, other) if self.n < other.n else (other, self)
        result = fnp.vectorize(
            lambda mean: _gaussian_kernel_convolve(chol, norm, lg.dataset, lg.weights, mean),
            signature="(d)->()")(sm.dataset.T)
        return fnp.sum(result * sm.weights)

    def resample(self, key, shape=()):
        """``(d,) + shape`` samples from the estimated density."""
        ind_key, eps_key = frandom.split(key)
        ind = frandom.choice(ind_key, self.n, shape=shape, p=self.weights)
        eps = frandom.multivariate_normal(
            eps_key, fnp.zeros(self.d, get_aval(self.covariance).dtype), self.covariance,
            shape=shape, dtype=get_aval(self.dataset).dtype).T
        return self.dataset[:, ind] + eps

    def integrate_box(self, low_bounds, high_bounds, maxpts=None):
        """Not implemented (as JAX): use :meth:`integrate_box_1d`."""
        raise NotImplementedError("only 1D box integrations are supported; use "
                                  "`integrate_box_1d`")

    def set_bandwidth(self, bw_method=None):
        """Not implemented (as JAX): the estimator is immutable."""
        raise NotImplementedError("dynamically changing the bandwidth method is not supported")

    def _reshape_points(self, points):
        if is_complex(get_aval(points).dtype):
            raise NotImplementedError("gaussian_kde does not support complex coordinates")
        points = fnp.atleast_2d(points)
        d, m = get_aval(points).shape
        if d != self.d:
            if d == 1 and m == self.d:
                points = fnp.reshape(points, (self.d, 1))
            else:
                raise ValueError(f"points have dimension {d}, dataset has dimension {self.d}")
        return points


def _gaussian_kernel_convolve(chol, norm, target, weights, mean):
    diff = target - mean[:, None]
    alpha = _linalg.cho_solve(chol, diff)
    arg = 0.5 * fnp.sum(diff * alpha, axis=0)
    return norm * fnp.sum(fnp.exp(-arg) * weights)


def _gaussian_kernel_eval(in_log, points, values, xi, precision):
    """Sum (or logsumexp) over the data of the whitened Gaussian kernels at each ``xi``."""
    points, values, xi, precision = promote_inexact(points, values, xi, precision)
    d = get_aval(points).shape[1]
    if get_aval(xi).shape[1] != d:
        raise ValueError("points and xi must have same trailing dim")
    if get_aval(precision).shape != (d, d):
        raise ValueError("precision matrix must match data dims")
    whitening = _linalg.cholesky(precision, lower=True)
    points = fnp.dot(points, whitening)
    xi = fnp.dot(xi, whitening)
    log_norm = fnp.sum(fnp.log(fnp.diag(whitening))) - 0.5 * d * fnp.log(2 * np.pi)
    arg = log_norm - 0.5 * fnp.sum(fnp.square(points[None, :, :] - xi[:, None, :]), axis=-1)
    if in_log:
        return _special.logsumexp(fnp.log(values)[None, :, :] + arg[:, :, None], axis=1)
    return fnp.sum(values[None, :, :] * fnp.exp(arg)[:, :, None], axis=1)
