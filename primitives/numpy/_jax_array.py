"""jax.Arrays captured by traced functions, used with fxjax tracers.

``fnp`` returns plain ``jax.Array`` values, so a table built outside a
transformation and read inside it (``table[idx]``, ``zeros.at[i].set(x)``,
``table.dot(x)``) calls jax's own methods with one of our tracers as an
argument. jax cannot see our tracers: those calls would fail. jax's binary
operators already defer (they return ``NotImplemented`` for an unknown operand,
and Python then calls the tracer's reflected operator); this module gives the
indexing, ``.at[...]`` and the array-argument methods the same deferral.

Mechanism: the concrete array class (``type(jax.numpy.zeros(()))``) gets thin
wrappers around ``__getitem__``, ``at`` and the methods listed in
``_DEFERRED``. A wrapper scans its arguments; when one of them is an fxjax
tracer it calls our ``fnp`` function of the same meaning, otherwise jax's
original method, unchanged (the cost on the eager path is one argument scan).
jax's own tracers are a different class and are not touched. We chose this over
an fxjax array type wrapping ``jax.Array``: every ``fnp`` result stays a real
``jax.Array`` (zero-copy interop with jax, optax, flax), and eager dispatch
keeps its speed.

Example::

    >>> table = fnp.arange(12.).reshape(4, 3)
    >>> vmap(lambda i: table[i].sum())(fnp.array([0, 3]))
    Array([ 3., 30.], dtype=float32)

References:
    jax.Array's deferral of binary operators: ``_defer_to_unrecognized_arg`` in
    jax/_src/numpy/array_methods.py.
"""
from __future__ import annotations

import functools

import jax.numpy as jnp

from fx.core import Tracer, structural
from primitives.numpy import indexing as _indexing

__all__: list[str] = []

# jax.Array methods taking array arguments, deferred to ``Tracer.<name>`` when one is traced.
_DEFERRED = ("dot", "take", "clip", "repeat", "searchsorted", "compress", "choose")


def _has_tracer(obj) -> bool:
    """Whether ``obj`` (an index, a value, or a tuple/list/dict of them) holds a tracer."""
    if isinstance(obj, Tracer):
        return True
    if isinstance(obj, (tuple, list)):
        return any(_has_tracer(o) for o in obj)
    if isinstance(obj, dict):
        return any(_has_tracer(o) for o in obj.values())
    return False


def _defer_method(name, original):
    @functools.wraps(original)
    def method(self, *args, **kwargs):
        if _has_tracer(args) or _has_tracer(kwargs):
            return structural("method:" + name)(self, *args, **kwargs)
        return original(self, *args, **kwargs)
    return method


def _defer_getitem(original):
    @functools.wraps(original)
    def __getitem__(self, idx):
        if _has_tracer(idx):
            return _indexing.getitem(self, idx)
        return original(self, idx)
    return __getitem__


class _DeferringRef(_indexing._IndexUpdateRef):
    """``jax_array.at[idx]``: our update when ``idx`` or the values hold a tracer, else jax's."""
    __slots__ = ()

    def _jax(self, name, values, kwargs):
        ref = _JAX_AT.fget(self.array)[self.index]
        return getattr(ref, name)(*values, **kwargs)


def _deferring_update(name):
    ours = getattr(_indexing._IndexUpdateRef, name)

    @functools.wraps(ours)
    def update(self, *values, **kwargs):
        if _has_tracer(self.index) or _has_tracer(values) or _has_tracer(kwargs):
            return ours(self, *values, **kwargs)
        return self._jax(name, values, kwargs)
    return update


for _name in ("get", "set", "add", "subtract", "multiply", "mul", "divide", "power", "min",
              "max"):
    setattr(_DeferringRef, _name, _deferring_update(_name))


class _DeferringHelper(_indexing._IndexUpdateHelper):
    __slots__ = ()

    def __getitem__(self, index):
        return _DeferringRef(self.array, index)


_ARRAY = type(jnp.zeros(()))
_JAX_AT = _ARRAY.at
_ARRAY.__getitem__ = _defer_getitem(_ARRAY.__getitem__)
_ARRAY.at = property(_DeferringHelper, doc=_JAX_AT.__doc__)
for _name in _DEFERRED:
    setattr(_ARRAY, _name, _defer_method(_name, getattr(_ARRAY, _name)))
