"""Operators and methods of traced arrays (installed into fx.core.Tracer).

``fx.core.Tracer`` forwards its Python operators to the names registered here
("add", "matmul", "getitem", ...) and attribute access ``x.name`` to
"method:name" (T, mT, at, real, imag are properties: called with ``x`` alone).
Each entry calls the ``primitives.numpy`` function of the same meaning (this
module is imported last by ``primitives/numpy/__init__.py``).

Example::

    >>> from transforms import jit
    >>> jit(lambda x: (x.T @ x).sum(axis=0) / x.shape[0])(fnp.ones((2, 3)))
    Array([3., 3., 3.], dtype=float32)
"""
from __future__ import annotations

import numpy as np

import primitives as P
from fx.core import canonical_dtype, get_aval, register_structural_ops
from primitives.numpy import (creation, dtypes, indexing as _indexing, linalg_ops, manipulation,
                              math, reductions, sorting, tiling)

__all__: list[str] = []


# the primitives.numpy namespace (this module is imported by primitives/numpy/__init__.py)
_FNP = {k: getattr(m, k) for m in (dtypes, creation, math, reductions, linalg_ops, manipulation,
                                   tiling, _indexing, sorting) for k in m.__all__}


def _forward(name):
    """An op calling ``fnp.<name>``."""
    fn = _FNP[name]

    def op(*args, **kwargs):
        return fn(*args, **kwargs)
    op.__name__ = name
    return op


# --- operators ----------------------------------------------------------------------
_OPERATORS = {
    "add": "add", "subtract": "subtract", "multiply": "multiply", "true_divide": "true_divide",
    "floor_divide": "floor_divide", "remainder": "remainder", "power": "power",
    "matmul": "matmul", "bitwise_and": "bitwise_and", "bitwise_or": "bitwise_or",
    "bitwise_xor": "bitwise_xor", "less": "less", "less_equal": "less_equal",
    "greater": "greater", "greater_equal": "greater_equal", "equal": "equal",
    "not_equal": "not_equal", "negative": "negative", "abs": "abs", "invert": "invert",
}


# --- methods with their own argument conventions ------------------------------------------
def _shape_args(args):
    """``x.reshape(2, 3)`` and ``x.reshape((2, 3))`` both mean shape (2, 3)."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        return args[0]
    return args


def _reshape(x, *shape, order="C", **kwargs):
    if "shape" in kwargs:
        shape = (kwargs.pop("shape"),)
    if kwargs:
        raise TypeError(f"reshape() got unexpected keyword arguments {sorted(kwargs)}")
    return _FNP["reshape"](x, _shape_args(shape), order=order)


def _transpose(x, *axes):
    return _FNP["transpose"](x, _shape_args(axes) if axes else None)


def _astype(x, dtype, copy=False, device=None):
    """Cast to ``dtype`` (as jax.Array.astype: the result is strongly typed)."""
    dtype = canonical_dtype(dtype)
    aval = get_aval(x)
    if aval.dtype == dtype and not aval.weak_type:
        return x
    return P.convert_element_type(x, dtype, weak_type=False)


def _flatten(x, order="C"):
    return _FNP["ravel"](x, order=order)


def _copy(x):
    return x


def _matrix_transpose(x):
    return _FNP["matrix_transpose"](x)


def _full_transpose(x):
    return _FNP["transpose"](x)


# Methods that are ``fnp.<name>(x, *args, **kwargs)``.
_FORWARDED = ("sum", "mean", "var", "std", "max", "min", "prod", "argmax", "argmin", "cumsum",
              "cumprod", "clip", "round", "any", "all", "take", "swapaxes", "dot", "squeeze",
              "ravel", "sort", "argsort", "diagonal", "trace", "repeat", "conj", "conjugate")

_METHODS = {
    "reshape": _reshape, "transpose": _transpose, "astype": _astype, "flatten": _flatten,
    "copy": _copy, "T": _full_transpose, "mT": _matrix_transpose,
    "at": _indexing.at,
    "real": _forward("real"), "imag": _forward("imag"),
}

register_structural_ops({
    **{key: _forward(name) for key, name in _OPERATORS.items()},
    "getitem": _indexing.getitem,
    **{f"method:{name}": _forward(name) for name in _FORWARDED},
    **{f"method:{name}": fn for name, fn in _METHODS.items()},
})
