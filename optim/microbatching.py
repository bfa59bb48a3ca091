"""``optim.microbatching``: run a function over a batch in microbatches and
accumulate the results, as ``optax.microbatching`` (``microbatch``,
``micro_vmap``, ``micro_grad``).

The batch axis is split into ``batch_size // microbatch_size`` microbatches
with optax's strided layout (microbatch ``i`` holds examples ``i, i + n, i + 2n...``,
``n`` the number of microbatches), which a ``primitives.fori_loop`` visits one
at a time; the outputs are summed, averaged, running-averaged or
concatenated (back in the original example order). Memory is that of one
microbatch, the result that of the whole batch. ``fun`` runs inside a
``primitives.fori_loop`` on fxjax tracers (also under ``jax.jit``), so write it
with ``primitives.numpy``::

    >>> g = optim.microbatching.micro_grad(loss, microbatch_size=8)   # loss(params, batch)
    >>> grads, aux = g(params, batch)           # the sum of per-microbatch gradients
"""
from __future__ import annotations

import collections
import dataclasses
import enum
import functools
from typing import Callable

import numpy as np
from jax import tree_util

import primitives
import primitives.numpy as fnp
from transforms import eval_shape, value_and_grad, vmap

__all__ = ["Accumulator", "AccumulationType", "reshape_batch_axis", "microbatch", "micro_vmap",
           "micro_grad"]

IndividualOutputs = collections.namedtuple("Aux", ["values", "metrics", "aux"])


@dataclasses.dataclass(frozen=True)
class Accumulator:
    """How to combine microbatch outputs: ``init(shape_dtype) -> carry``,
    ``update(carry, value, index) -> carry``, ``finalize(carry) -> result``,
    and ``aggregate(values)`` (reduces a leading vmapped axis, for micro_vmap)."""
    init: Callable
    update: Callable
    finalize: Callable
    aggregate: Callable


class AccumulationType(enum.Enum):
    MEAN = enum.auto()
    SUM = enum.auto()
    RUNNING_MEAN = enum.auto()
    CONCAT = enum.auto()


def _split_axis(x, n: int, m: int, axis: int):
    """Axis ``axis`` of size n*m -> axes (n, m) with ``[a, b] = x[a + n*b]``
    (a Fortran-order reshape of that axis)."""
    shape = np.shape(x)
    y = fnp.reshape(x, shape[:axis] + (m, n) + shape[axis + 1:])
    return fnp.swapaxes(y, axis, axis + 1)


def reshape_batch_axis(tree, microbatch_size: int, axis: int = 0):
    """Each leaf's batch axis ``axis`` split into (microbatches, microbatch_size)."""
    def leaf(x):
        n = np.shape(x)[axis] // microbatch_size
        return _split_axis(x, n, microbatch_size, axis)
    return tree_util.tree_map(leaf, tree)


def _zeros(s):
    return fnp.zeros(np.shape(s), s.dtype)


def _floating_only(fn):
    def wrapper(*args):
        dtypes = tree_util.tree_leaves(tree_util.tree_map(lambda x: np.dtype(x.dtype), args))
        if not all(fnp.issubdtype(d, np.floating) for d in dtypes):
            raise ValueError("MEAN and RUNNING_MEAN Accumulators require floating-point values.")
        return fn(*args)
    return wrapper


def _lift(acc: Accumulator) -> Accumulator:
    """A leaf accumulator applied to every leaf of a tree."""
    return Accumulator(
        lambda v: tree_util.tree_map(acc.init, v),
        lambda carry, v, i: tree_util.tree_map(lambda c, x: acc.update(c, x, i), carry, v),
        lambda carry: tree_util.tree_map(acc.finalize, carry),
        lambda vs: tree_util.tree_map(acc.aggregate, vs))


def _compose(accs) -> Accumulator:
    """A tree of accumulators applied to the matching subtrees of the outputs."""
    is_acc = lambda a: isinstance(a, Accumulator)  # noqa: E731
    def over(method):
        return lambda *xs: tree_util.tree_map(lambda a, *ys: getattr(a, method)(*ys), accs, *xs,
                                              is_leaf=is_acc)

    def update(carry, v, i):
        return tree_util.tree_map(lambda a, c, x: a.update(c, x, i), accs, carry, v,
                                  is_leaf=is_acc)
    return Accumulator(over("init"), update, over("finalize"), over("aggregate"))


def _sum() -> Accumulator:
    return _lift(Accumulator(_zeros, lambda c, v, _: c + v, lambda c: c,
                             functools.partial(fnp.sum, axis=0)))


def _mean(n: int) -> Accumulator:
    if n <= 0:
        raise ValueError(f"num_microbatches={n} must be positive.")
    return _lift(Accumulator(_floating_only(_zeros), lambda c, v, _: c + v, lambda c: c / n,
                             functools.partial(fnp.mean, axis=0)))


def _running_mean() -> Accumulator:
    def update(c, v, i):
        p = i / (i + 1)
        return c * p + v * (1 - p)
    return _lift(Accumulator(_floating_only(_zeros), update, lambda c: c,
                             functools.partial(fnp.mean, axis=0)))


def _concat(n: int) -> Accumulator:
    if n <= 0:
        raise ValueError(f"num_microbatches={n} must be positive.")

    def init(s):
        return fnp.zeros((n,) + tuple(np.shape(s)), s.dtype)

    def update(c, v, i):
        start = (fnp.asarray(i, fnp.int32),) + (fnp.asarray(0, fnp.int32),) * np.ndim(v)
        return primitives.dynamic_update_slice(c, fnp.expand_dims(v, 0), start)

    def finalize(c):  # (n, m, ...) back to (n*m, ...) in the original example order
        if np.ndim(c) < 2:
            return c
        c = fnp.swapaxes(c, 0, 1)
        return fnp.reshape(c, (-1,) + tuple(np.shape(c)[2:]))
    return _lift(Accumulator(init, update, finalize, lambda x: x))


def _canonicalize(tree, n) -> Accumulator:
    def one(acc):
        if isinstance(acc, Accumulator):
            return acc
        makers = {AccumulationType.MEAN: lambda: _mean(n), AccumulationType.SUM: _sum,
                  AccumulationType.RUNNING_MEAN: _running_mean,
                  AccumulationType.CONCAT: lambda: _concat(n)}
        if acc not in makers:
            raise ValueError(f"Unknown accumulator: {acc}")
        return makers[acc]()
    return _compose(tree_util.tree_map(one, tree,
                                       is_leaf=lambda a: isinstance(a, Accumulator)))


def microbatch(fun: Callable, argnums, microbatch_size, accumulator=AccumulationType.SUM, *,
               argnames=(), in_axes=0, num_real_microbatches=None) -> Callable:
    """``fun`` evaluated microbatch by microbatch over the batch axes of the
    arguments ``argnums``/``argnames``, its outputs accumulated.

    Args:
      fun: the function.
      argnums: positions of the batched arguments.
      microbatch_size: examples per microbatch (must divide the batch); None: ``fun``.
      accumulator: an :class:`AccumulationType`, an :class:`Accumulator`, or a
        tree of them matching ``fun``'s output.
      argnames: names of batched keyword arguments.
      in_axes: the batch axis of each batched argument (one int: all).
      num_real_microbatches: stop after this many microbatches (may be traced).
    """
    if microbatch_size is None:
        return fun
    argnums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    argnames = (argnames,) if isinstance(argnames, str) else tuple(argnames)
    if isinstance(in_axes, int):
        in_axes = (in_axes,) * (len(argnums) + len(argnames))

    def microbatched(*args, **kwargs):
        args, kwargs = list(args), dict(kwargs)
        batched = [args[i] for i in argnums] + [kwargs[k] for k in argnames]
        sizes = tree_util.tree_leaves(tree_util.tree_map(
            lambda ax, sub: tree_util.tree_map(lambda x: np.shape(x)[ax], sub),
            tuple(in_axes), tuple(batched)))
        if len(set(sizes)) > 1:
            raise ValueError(f"Batch Arguments must have equal-size batch axes, found {sizes}.")
        batch_size = sizes[0]
        if batch_size % microbatch_size:
            raise ValueError(f"batch_size={batch_size} must be divisible by "
                             f"microbatch_size={microbatch_size}.")
        for i, ax in zip(argnums, in_axes):
            args[i] = reshape_batch_axis(args[i], microbatch_size, ax)
        for k, ax in zip(argnames, in_axes[len(argnums):]):
            kwargs[k] = reshape_batch_axis(kwargs[k], microbatch_size, ax)
        n = batch_size // microbatch_size
        acc = _canonicalize(accumulator, n)

        def f(index):
            a, kw = list(args), dict(kwargs)
            pick = lambda ax: lambda x: fnp.take(x, index, axis=ax)  # noqa: E731
            for i, ax in zip(argnums, in_axes):
                a[i] = tree_util.tree_map(pick(ax), a[i])
            for k, ax in zip(argnames, in_axes[len(argnums):]):
                kw[k] = tree_util.tree_map(pick(ax), kw[k])
            return fun(*a, **kw)

        bound = n if num_real_microbatches is None else num_real_microbatches
        init = acc.init(eval_shape(f, fnp.asarray(0, fnp.int32)))
        out = primitives.fori_loop(0, bound, lambda i, carry: acc.update(carry, f(i), i), init)
        return acc.finalize(out)
    return microbatched


def micro_vmap(fun: Callable, in_axes=0, out_axes=0, *, microbatch_size=None,
               vmap_fn: Callable = vmap, accumulator=AccumulationType.CONCAT,
               num_real_microbatches=None) -> Callable:
    """``vmap(fun, in_axes)`` run one microbatch at a time (outputs concatenated
    by default: the same result as the vmap, with a microbatch's memory)."""
    if out_axes != 0:
        raise NotImplementedError("out_axis != 0 is not currently supported")
    in_axes = (in_axes,) if isinstance(in_axes, int) else tuple(in_axes)

    def vmap_reduce(*args, kwargs):
        output = vmap_fn(fun, in_axes, out_axes)(*args, **kwargs)
        size = np.shape(tree_util.tree_leaves(output)[0])[0]
        return _canonicalize(accumulator, size).aggregate(output)

    inner = microbatch(vmap_reduce, argnums=tuple(i for i, ax in enumerate(in_axes)
                                                  if ax is not None),
                       argnames="kwargs", microbatch_size=microbatch_size,
                       accumulator=accumulator,
                       in_axes=tuple(ax for ax in in_axes if ax is not None) + (0,),
                       num_real_microbatches=num_real_microbatches)
    return lambda *args, **kwargs: inner(*args, kwargs=kwargs)


def micro_grad(fun: Callable, has_aux: bool = False, argnums=0, *, batch_argnums=1,
               keep_batch_dim: bool = True, microbatch_size=None,
               accumulator=AccumulationType.SUM, transform_fn: Callable = lambda x: x,
               metrics_fn: Callable = lambda x: None, num_real_microbatches=None) -> Callable:
    """Per-example gradients of ``fun`` (``transform_fn`` applied to each, e.g.
    clipping), accumulated over the batch microbatch by microbatch.

    Returns:
      A function of ``fun``'s arguments returning ``(accumulated_grads, aux)``
      where ``aux`` is ``Aux(values, metrics, aux)``, per example.
    """
    batch_argnums = (batch_argnums,) if isinstance(batch_argnums, int) else tuple(batch_argnums)
    if not has_aux:
        fun_aux = lambda *a, **k: (fun(*a, **k), None)  # noqa: E731
    else:
        fun_aux = fun
    vg = value_and_grad(fun_aux, argnums, has_aux=True)

    def grad_fn(*args, **kwargs):
        (value, aux), g = vg(*args, **kwargs)
        return transform_fn(g), IndividualOutputs(values=value, metrics=metrics_fn(g), aux=aux)

    in_axes = [None] * (max(batch_argnums) + 1)
    for i in batch_argnums:
        in_axes[i] = 0
    micro = micro_vmap(grad_fn, in_axes=in_axes, accumulator=(accumulator,
                                                              AccumulationType.CONCAT),
                       microbatch_size=microbatch_size,
                       num_real_microbatches=num_real_microbatches)
    if not keep_batch_dim:
        return micro

    def with_group_axis(*args, **kwargs):
        args = list(args)
        for i in batch_argnums:
            args[i] = tree_util.tree_map(lambda x: fnp.expand_dims(x, 1), args[i])
        return micro(*args, **kwargs)
    return with_group_axis

