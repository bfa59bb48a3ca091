"""Functional programming helpers (as jax.numpy): ``vectorize``,
``apply_along_axis``, ``apply_over_axes``, ``fromfunction``, ``ufunc`` and
``frompyfunc``.

As in JAX, ``vectorize``/``apply_along_axis``/``fromfunction`` are vmaps: they
are built on ``fx.batching.vmap_flat`` (the vmap interpreter of the core), so the
function is traced once, whatever the batch size, and everything composes with
jit/grad/vmap. ``ufunc.reduce``/``accumulate``/``at`` run the binary function
in a ``scan``, as JAX's.

Example::

    >>> fnp.vectorize(lambda a, b: a @ b, signature="(n),(n)->()")(fnp.ones((3, 2)),
    ...                                                           fnp.ones(2))
    Array([2., 2., 2.], dtype=float32)
"""
from __future__ import annotations

import functools
import re

import numpy as np
from jax import tree_util

from fx.batching import vmap_flat
from fx.core import get_aval
from primitives.control_flow.loops import scan
from primitives.numpy import indexing as _ix, manipulation as _man, math as _m
from primitives.numpy._util import broadcast_shapes, canonicalize_axis, shape_of
from primitives.numpy.creation import arange, asarray

__all__ = ["vectorize", "apply_along_axis", "apply_over_axes", "fromfunction", "ufunc",
           "frompyfunc"]


def _vmap(fn, in_axes, out_axes=0):
    """A vmap over positional array arguments (``in_axes``: int/None per argument)."""
    def mapped(*args):
        args = [asarray(a) if ax is not None else a for a, ax in zip(args, in_axes)]
        dims = [None if ax is None else canonicalize_axis(ax, len(shape_of(a)), "vmap")
                for a, ax in zip(args, in_axes)]
        size = next(shape_of(a)[d] for a, d in zip(args, dims) if d is not None)
        tree = []

        def flat_fun(*xs):
            leaves, treedef = tree_util.tree_flatten(fn(*xs))
            tree.append(treedef)
            return leaves
        outs = vmap_flat(flat_fun, list(args), dims,
                         lambda: [out_axes] * tree[0].num_leaves, size)
        return tree_util.tree_unflatten(tree[0], outs)
    return mapped


# --- vectorize (a port of jax.numpy.vectorize) -------------------------------------------------
_DIM = r"\w+"
_CORE_DIMS = "(?:{0:}(?:,{0:})*)?".format(_DIM)
_ARGUMENT = rf"\({_CORE_DIMS}\)"
_ARGUMENT_LIST = "{0:}(?:,{0:})*".format(_ARGUMENT)
_SIGNATURE = "^{0:}->{0:}$".format(_ARGUMENT_LIST)


def _parse_signature(signature):
    if not re.match(_SIGNATURE, signature):
        raise ValueError(f"not a valid gufunc signature: {signature}")
    return ([tuple(re.findall(_DIM, arg)) for arg in re.findall(_ARGUMENT, part)]
            for part in signature.split("->"))


def _update_dim_sizes(dim_sizes, shape, core_dims, context, *, is_input):
    n = len(core_dims)
    if is_input and len(shape) < n:
        raise ValueError(f"input with shape {shape!r} does not have enough dimensions for all "
                         f"core dimensions {core_dims!r} {context}")
    if not is_input and len(shape) != n:
        raise ValueError(f"output shape {shape!r} does not match core dimensions "
                         f"{core_dims!r} {context}")
    for dim, size in zip(core_dims, shape[len(shape) - n:] if core_dims else ()):
        if dim not in dim_sizes:
            dim_sizes[dim] = size
        elif size != dim_sizes[dim]:
            raise ValueError(f"inconsistent size for core dimension {dim!r}: {size!r} vs "
                             f"{dim_sizes[dim]!r} {context}")


def _checked(func, dim_sizes, out_core_dims, context):
    def wrapped(*args):
        out = func(*args)
        shapes = [shape_of(o) for o in (out if isinstance(out, tuple) else [out])]
        if len(out_core_dims) > 1 and not isinstance(out, tuple):
            raise TypeError(f"output must be a tuple when multiple outputs are expected, got: "
                            f"{out!r}\n{context}")
        if len(shapes) != len(out_core_dims):
            raise TypeError(f"wrong number of output arguments: expected {len(out_core_dims)}, "
                            f"got {len(shapes)} {context}")
        sizes = dict(dim_sizes)
        for shape, core in zip(shapes, out_core_dims):
            _update_dim_sizes(sizes, shape, core, context, is_input=False)
        return out
    return wrapped


def _apply_excluded(func, excluded, args, kwargs):
    if not excluded:
        return func, args, kwargs
    dynamic = [a for i, a in enumerate(args) if i not in excluded]
    dyn_kwargs = {k: v for k, v in kwargs.items() if k not in excluded}
    static = [(i, args[i]) for i in sorted(e for e in excluded if isinstance(e, int))
              if i < len(args)]
    static_kwargs = {k: v for k, v in kwargs.items() if k in excluded}

    def new_func(*args, **kwargs):
        args = list(args)
        for i, a in static:
            args.insert(i, a)
        return func(*args, **kwargs, **static_kwargs)
    return new_func, dynamic, dyn_kwargs


def vectorize(pyfunc, *, excluded=frozenset(), signature=None):
    """A function mapped over the leading (broadcast) axes of its arguments (as jnp.vectorize).

    Args:
      pyfunc: the function of core-shaped arrays.
      excluded: positions / names of arguments passed through unmapped.
      signature: a gufunc signature such as ``"(n),(n)->()"`` (default: scalars).

    Returns:
      The vectorized function (a nest of vmaps, as JAX's).

    References:
      jax.numpy.vectorize; numpy.vectorize.
    """
    if any(not isinstance(e, (str, int)) for e in excluded):
        raise TypeError("jax.numpy.vectorize can only exclude integer or string arguments, "
                        f"but excluded={excluded!r}")
    if any(isinstance(e, int) and e < 0 for e in excluded):
        raise ValueError(f"excluded={excluded!r} contains negative numbers")

    @functools.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        context = f"on vectorized function with excluded={excluded!r} and signature={signature!r}"
        func, args, kwargs = _apply_excluded(pyfunc, excluded, args, kwargs)
        if signature is not None:
            in_core, out_core = _parse_signature(signature)
        else:
            in_core, out_core = [()] * len(args), None
        none_args = {i for i, a in enumerate(args) if a is None}
        if none_args:
            if any(in_core[i] != () for i in none_args):
                raise ValueError(f"Cannot pass None at locations {none_args} with "
                                 f"signature={signature!r}")
            func, args, _ = _apply_excluded(func, none_args, args, {})
            in_core = [d for i, d in enumerate(in_core) if i not in none_args]
        args = tuple(asarray(a) for a in args)
        if len(args) != len(in_core):
            raise TypeError(f"wrong number of positional arguments: expected {len(in_core)}, "
                            f"got {len(args)} {context}")
        dim_sizes, shapes = {}, []
        for a, core in zip(args, in_core):
            _update_dim_sizes(dim_sizes, shape_of(a), core, context, is_input=True)
            shapes.append(shape_of(a)[:len(shape_of(a)) - len(core)])
        bshape = broadcast_shapes(*shapes, op="vectorize")
        f = (lambda *a: func(*a, **kwargs))
        f = f if out_core is None else _checked(f, dim_sizes, out_core, context)
        squeezed, rev_shapes = [], []
        for a, core in zip(args, in_core):
            noncore = shape_of(a)[:len(shape_of(a)) - len(core)]
            rev_shapes.append(((len(bshape) - len(noncore)) * (1,) + noncore)[::-1])
            squeeze = tuple(i for i, s in enumerate(noncore) if s == 1)
            squeezed.append(_man.squeeze(a, axis=squeeze) if squeeze else a)
        expand = []
        for negdim, sizes in enumerate(zip(*rev_shapes)):
            in_axes = tuple(None if s == 1 else 0 for s in sizes)
            if all(ax is None for ax in in_axes):
                expand.append(len(bshape) - 1 - negdim)
            else:
                f = _vmap(f, in_axes)
        result = f(*squeezed)
        if not expand:
            return result
        if isinstance(result, tuple):
            return tuple(_man.expand_dims(r, tuple(expand)) for r in result)
        return _man.expand_dims(result, tuple(expand))
    return wrapped


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """Apply a function of 1-D slices along ``axis`` (as jnp.apply_along_axis).

    Args:
      func1d: maps a 1-D array to an array.
      axis: the axis of the slices.
      arr: the input array.
      *args, **kwargs: passed to ``func1d``.

    Returns:
      The results, with ``func1d``'s output axes in place of ``axis``.

    References:
      jax.numpy.apply_along_axis; numpy.apply_along_axis.
    """
    arr = asarray(arr)
    ndim = len(shape_of(arr))
    axis = canonicalize_axis(axis, ndim, "apply_along_axis")

    def func(a):
        return func1d(a, *args, **kwargs)
    for i in range(1, ndim - axis):
        func = _vmap(func, (i,), out_axes=-1)
    for _ in range(axis):
        func = _vmap(func, (0,), out_axes=0)
    return func(arr)


def apply_over_axes(func, a, axes):
    """Apply ``func(a, axis)`` repeatedly over ``axes``, keeping dims (as jnp.apply_over_axes).

    Args:
      func: maps (array, axis) to an array of the same or one fewer dimension.
      a: the input array.
      axes: the axes, in order.

    Returns:
      The result, of ``a``'s rank.

    References:
      jax.numpy.apply_over_axes; numpy.apply_over_axes.
    """
    a = asarray(a)
    for axis in axes:
        b = func(a, axis)
        nd_b, nd_a = len(shape_of(b)), len(shape_of(a))
        if nd_b == nd_a:
            a = b
        elif nd_b == nd_a - 1:
            a = _man.expand_dims(b, axis)
        else:
            raise ValueError("function is not returning an array of the correct shape")
    return a


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """An array whose entry at each index is ``function(*index)`` (as jnp.fromfunction).

    Args:
      function: called once on coordinate arrays, vmapped over every axis (as JAX).
      shape: the (concrete) output shape.
      dtype: the coordinates' dtype.
      **kwargs: passed to ``function``.

    Returns:
      ``function``'s output over the grid.

    References:
      jax.numpy.fromfunction; numpy.fromfunction.
    """
    shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    f = functools.partial(function, **kwargs) if kwargs else function
    for i in range(len(shape)):
        in_axes = [0 if i == j else None for j in range(len(shape))]
        f = _vmap(f, tuple(in_axes[::-1]))
    return f(*(arange(s, dtype=dtype) for s in shape))


class ufunc:
    """A universal function from a scalar function (as jnp.ufunc).

    Args:
      func: the elementwise function of ``nin`` scalars.
      nin, nout: its numbers of inputs and outputs.
      name: the ufunc's name.
      nargs: ``nin + nout`` by default (unused otherwise, as JAX).
      identity: the identity of a binary function (for empty reductions).
      call, reduce, accumulate, at, reduceat: optional faster implementations.

    Returns:
      A callable with ``outer``, and for binary functions ``reduce``,
      ``accumulate``, ``at`` (each a ``scan``, as JAX) and ``reduceat``.

    References:
      jax.numpy.ufunc; numpy.ufunc.
    """

    def __init__(self, func, /, nin, nout, *, name=None, nargs=None, identity=None, call=None,
                 reduce=None, accumulate=None, at=None, reduceat=None):
        self._func = func
        self.__name__ = name or getattr(func, "__name__", "ufunc")
        self.nin, self.nout = int(nin), int(nout)
        self.nargs = self.nin + self.nout if nargs is None else int(nargs)
        self.identity = identity
        self._call, self._reduce, self._accumulate = call, reduce, accumulate
        self._at, self._reduceat = at, reduceat

    def __repr__(self):
        return f"<fnp.ufunc '{self.__name__}'>"

    def __call__(self, *args, out=None, where=None):
        if out is not None:
            raise NotImplementedError(f"out argument of {self}")
        if where is not None:
            raise NotImplementedError(f"where argument of {self}")
        if len(args) != self.nin:
            raise TypeError(f"{self.__name__}() takes {self.nin} positional argument(s) but "
                            f"{len(args)} were given")
        call = self._call or vectorize(self._func)
        return call(*args)

    def _binary(self, what):
        if self.nin != 2:
            raise ValueError(f"{what} only supported for binary ufuncs")
        if self.nout != 1:
            raise ValueError(f"{what} only supported for functions returning a single value")

    def outer(self, A, B, /):
        """``func(a, b)`` for every pair (as jnp.ufunc.outer): shape ``A.shape + B.shape``."""
        self._binary("outer")
        A, B = asarray(A), asarray(B)
        a = _man.reshape(A, shape_of(A) + (1,) * len(shape_of(B)))
        return self(a, B)

    def reduce(self, a, axis=0, dtype=None, out=None, keepdims=False, initial=None,
               where=None):
        """Reduce ``a`` along ``axis`` with the binary function (as jnp.ufunc.reduce)."""
        self._binary("reduce")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.reduce()")
        if self._reduce is not None and where is None:
            return self._reduce(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial)
        a = asarray(a)
        if where is not None:
            if initial is None and self.identity is None:
                raise ValueError(f"reduction operation {self.__name__!r} does not have an "
                                 f"identity, so to use a where mask one has to specify "
                                 f"'initial'.")
            fill = self.identity if initial is None else initial
            a = _m.where(asarray(where), a, asarray(fill, get_aval(a).dtype))
        shape = shape_of(a)
        if axis is None:
            axes, moved = tuple(range(len(shape))), _man.ravel(a)
        else:
            axes = (canonicalize_axis(axis, len(shape), f"{self.__name__}.reduce"),)
            moved = _man.moveaxis(a, axes[0], 0)
        if dtype is not None:
            moved = moved.astype(dtype)
        n = shape_of(moved)[0]
        if initial is None and n == 0:
            if self.identity is None:
                raise ValueError(f"zero-size array to reduction operation {self.__name__} "
                                 f"which has no identity")
            initial = self.identity
        if initial is None:
            init, xs = moved[0], moved[1:]
        else:
            init = _man.broadcast_to(asarray(initial, get_aval(moved).dtype),
                                     shape_of(moved)[1:])
            xs = moved
        result = scan(lambda c, x: (self(c, x), None), init, xs)[0] if shape_of(xs)[0] else init
        if keepdims:
            result = _man.reshape(result, tuple(1 if i in axes else d
                                                for i, d in enumerate(shape)))
        return result

    def accumulate(self, a, axis=0, dtype=None, out=None):
        """The running reduction along ``axis`` (as jnp.ufunc.accumulate)."""
        self._binary("accumulate")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.accumulate()")
        if self._accumulate is not None:
            return self._accumulate(a, axis=axis, dtype=dtype)
        a = asarray(a)
        axis = canonicalize_axis(axis, len(shape_of(a)), f"{self.__name__}.accumulate")
        moved = _man.moveaxis(a, axis, 0)
        if dtype is not None:
            moved = moved.astype(dtype)
        if shape_of(moved)[0] == 0:
            return a

        def step(c, x):
            c = self(c, x)
            return c, c
        _, rest = scan(step, moved[0], moved[1:])
        return _man.moveaxis(_man.concatenate([moved[:1], rest]), 0, axis)

    def at(self, a, indices, b=None, /, *, inplace=True):
        """``a`` with ``a[i] = func(a[i], b)`` applied at each index in turn (as jnp.ufunc.at;
        ``inplace=False`` required)."""
        if inplace:
            raise NotImplementedError("jnp.ufunc.at does not support inplace=True")
        if b is None:
            raise NotImplementedError(f"{self.__name__}.at: unary ufuncs are not supported "
                                      f"(pass b)")
        self._binary("at")
        if self._at is not None:
            return self._at(a, indices, b)
        a = asarray(a)
        idx = asarray(indices)
        flat_idx = _man.ravel(idx)
        vals = _man.ravel(_man.broadcast_to(asarray(b), shape_of(idx) + shape_of(a)[1:]))
        vals = _man.reshape(vals, (shape_of(flat_idx)[0],) + shape_of(a)[1:])

        def step(acc, iv):
            i, v = iv
            cur = _ix.getitem(acc, i)
            return _ix.at(acc)[i].set(self(cur, v).astype(get_aval(acc).dtype)), None
        return scan(step, a, (flat_idx, vals))[0]

    def reduceat(self, a, indices, axis=0, dtype=None, out=None):
        """The reduction over slices ``[indices[i], indices[i+1])`` (as jnp.ufunc.reduceat)."""
        self._binary("reduceat")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.reduceat()")
        if self._reduceat is not None:
            return self._reduceat(a, indices, axis=axis, dtype=dtype)
        a = asarray(a)
        idx = np.asarray(indices)
        if idx.ndim != 1:
            raise ValueError("reduceat: expected 1-D static indices")
        axis = canonicalize_axis(axis, len(shape_of(a)), f"{self.__name__}.reduceat")
        n = shape_of(a)[axis]
        pieces = []
        for k, start in enumerate(idx):
            stop = idx[k + 1] if k + 1 < len(idx) else n
            sl = [slice(None)] * len(shape_of(a))
            sl[axis] = slice(int(start), int(stop)) if stop > start else slice(int(start),
                                                                              int(start) + 1)
            pieces.append(self.reduce(a[tuple(sl)], axis=axis, dtype=dtype, keepdims=True))
        return _man.concatenate(pieces, axis=axis)


def frompyfunc(func, /, nin, nout, *, identity=None):
    """A :class:`ufunc` from a scalar function (as jnp.frompyfunc).

    Args:
      func: the function of ``nin`` scalars.
      nin, nout: its numbers of inputs and outputs.
      identity: the identity of a binary function.

    Returns:
      A ufunc.

    References:
      jax.numpy.frompyfunc; numpy.frompyfunc.
    """
    return ufunc(func, nin, nout, identity=identity)
