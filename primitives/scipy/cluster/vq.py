"""primitives.scipy.cluster.vq: ``jax.scipy.cluster.vq.vq`` (nearest code-book entries).

Example::

    >>> import numpy as np
    >>> from primitives.scipy.cluster.vq import vq
    >>> code, dist = vq(np.array([[1., 2.]], np.float32),
    ...                     np.array([[0., 0.], [1., 2.5]], np.float32))   # [1], [0.5]

References:
    JAX's ``jax/_src/scipy/cluster/vq.py``; SciPy's ``scipy.cluster.vq.vq``.
"""
from __future__ import annotations

import numpy as np

import primitives.numpy as fnp
from fx.core import get_aval
from primitives.numpy.creation import asarray
from primitives.numpy.math import promote_inexact

__all__ = ["vq"]


def _arr(x):
    if isinstance(x, (list, tuple)):
        raise TypeError(f"scipy.cluster.vq.vq requires ndarray or scalar arguments, got "
                        f"{type(x).__name__}")
    return asarray(x) if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)) \
        else x


def vq(obs, code_book, check_finite: bool = True):
    """Assign each observation its nearest code (Euclidean), as jax.scipy.cluster.vq.vq.

    Args:
      obs: ``(M, N)`` observations (1-d: ``M`` scalars).
      code_book: ``(K, N)`` codes (1-d: ``K`` scalars).
      check_finite: unused.

    Returns:
      ``(code, dist)``: the nearest code's index ``(M,)`` and its distance ``(M,)``.

    References:
      jax.scipy.cluster.vq.vq.
    """
    obs_arr, cb_arr = promote_inexact(_arr(obs), _arr(code_book))
    if get_aval(obs_arr).ndim != get_aval(cb_arr).ndim:
        raise ValueError("Observation and code_book should have the same rank")
    if get_aval(obs_arr).ndim == 1:
        obs_arr, cb_arr = obs_arr[..., None], cb_arr[..., None]
    if get_aval(obs_arr).ndim != 2:
        raise ValueError("ndim different than 1 or 2 are not supported")
    dist = fnp.linalg.norm(obs_arr[:, None, :] - cb_arr[None, :, :], axis=-1)
    code = fnp.argmin(dist, axis=-1)
    return code, fnp.take_along_axis(dist, code[:, None], axis=-1)[:, 0]
