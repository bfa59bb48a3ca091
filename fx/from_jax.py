"""JAX code inside our IR: a jaxpr converted equation by equation to our ops.

``jax.make_jaxpr`` traces any JAX function (jax.numpy, flax, equinox, optax)
to a jaxpr; its equations use lax's primitives, whose names and params ours
share. :func:`eval_jaxpr` runs a jaxpr with *our* ops: each jax equation goes
to the rule registered under its primitive's name (``register_jax_rules``;
``primitives.jax_rules`` registers the whole vocabulary when ``primitives`` is
imported, as the structural ops are). Run on our tracers, that stages our
equations, so every transformation of ours applies to the converted code:

- :func:`jax_function` wraps a JAX function so that it runs on our tracers
  (converted at trace time, cached per argument signature);
- :func:`from_jax` returns the converted ClosedGraph, as ``make_graph`` does.

Example::

    >>> import jax.numpy as jnp, fx
    >>> print(fx.from_jax(lambda x: jnp.sin(x) * 2.0)(np.float32(1.0)))
    { lambda ; a:f32[]. let
        b:f32[] = sin a
        c:f32[] = mul b 2.0:f32[]
      in (c,) }

An equation whose primitive has no rule raises :class:`JaxConversionError`
naming it and the jaxpr line. Each converted equation keeps the source line
JAX recorded for it (the flax or equinox line that wrote it).

References:
    JAX's jaxpr (jax.extend.core) and ``jax.core.eval_jaxpr``, which this
    mirrors with our ops in place of jax's.
"""
from __future__ import annotations

import functools
import re
import threading
from typing import Any, Callable, Sequence

import numpy as np
import jax
from jax import tree_util
from jax.extend import core as jcore
from jax.extend import source_info_util

from fx.argnums import as_tuple
from fx.axis_env import bound_names, lookup
from fx.core import Tracer, get_aval, structural
from fx.errors import JaxConversionError
from fx.ir import SourceInfo
from fx.source_info import current_source
from fx.tracing import make_graph

__all__ = ["register_jax_rules", "eval_jaxpr", "jax_function", "from_jax", "JaxRule"]

JaxRule = Callable[..., Any]
"""``rule(*invals, **jax_params) -> value`` (a list for multiple-result primitives;
a single value is accepted for one result)."""

_rules: dict[str, JaxRule] = {}
_SUMMARY = re.compile(r"^(?P<file>.*?):(?P<line>\d+)(?::\d+)? \((?P<fn>[^)]*)\)$")


def register_jax_rules(rules: dict[str, JaxRule]) -> None:
    """Register how jax primitives (by name) run with our ops (called by
    ``primitives`` when imported: see ``primitives/jax_rules.py``)."""
    _rules.update(rules)


def _rule(eqn) -> JaxRule:
    if not _rules:
        structural("getitem")          # imports primitives, which registers the rules
    rule = _rules.get(eqn.primitive.name)
    if rule is None:
        src = _source(eqn)
        raise JaxConversionError(
            f"fxjax has no conversion for the jax primitive `{eqn.primitive.name}`, in the "
            f"jaxpr equation\n    {_eqn_text(eqn)}\n"
            f"{f'  written at {src}' + chr(10) if src else ''}Fix: write this part with our ops "
            f"(primitives / primitives.numpy), or register a rule with "
            f"fx.from_jax.register_jax_rules({{'{eqn.primitive.name}': rule}}).")
    return rule


def _eqn_text(eqn) -> str:
    text = str(eqn).strip().splitlines()
    return text[0] if len(text) == 1 else text[0] + " ..."


def _source(eqn) -> SourceInfo | None:
    m = _SUMMARY.match(source_info_util.summarize(eqn.source_info))
    return SourceInfo(m["file"], int(m["line"]), m["fn"].rsplit(".", 1)[-1]) if m else None


def _literal(lit):
    return np.asarray(lit.val, dtype=lit.aval.dtype)


def eval_jaxpr(jaxpr, consts: Sequence[Any], *args) -> list:
    """Evaluate a jaxpr (``jax.extend.core.Jaxpr``, or a ClosedJaxpr, whose
    consts are used) with our ops on ``args`` (our tracers or arrays).

    Args:
      jaxpr: the jaxpr.
      consts: values of its constvars (ignored for a ClosedJaxpr).
      *args: values of its invars.

    Returns:
      The list of output values.
    """
    if isinstance(jaxpr, jcore.ClosedJaxpr):
        jaxpr, consts = jaxpr.jaxpr, jaxpr.consts
    env: dict = {}

    def read(v):
        return _literal(v) if isinstance(v, jcore.Literal) else env[v]

    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x
    outer = current_source.info
    try:
        for eqn in jaxpr.eqns:
            rule = _rule(eqn)
            current_source.info = _source(eqn) or outer
            try:
                outs = rule(*map(read, eqn.invars), **eqn.params)
            except JaxConversionError:
                raise
            except NotImplementedError as e:
                src = _source(eqn)
                raise JaxConversionError(f"{e}\n  converting the jaxpr equation\n    "
                                         f"{_eqn_text(eqn)}{f'{chr(10)}  written at {src}' if src else ''}"
                                         ) from e
            if not eqn.primitive.multiple_results or not isinstance(outs, (list, tuple)):
                outs = (outs,)
            for v, o in zip(eqn.outvars, outs):
                if not isinstance(v, jcore.DropVar):
                    env[v] = o
    finally:
        current_source.info = outer
    return [read(v) for v in jaxpr.outvars]


def _struct(x) -> jax.ShapeDtypeStruct:
    aval = get_aval(x)
    return jax.ShapeDtypeStruct(aval.shape, aval.dtype, weak_type=aval.weak_type)


def _in_fresh_thread(fn: Callable, *args):
    """``fn(*args)`` in a new thread: jax's trace context there is the default one.
    Our ``jit`` traces under ``jax.ensure_compile_time_eval`` (so jax code on
    concrete values folds to constants); JAX code converted there would fold its
    own ``jax.eval_shape`` checks into real computations (flax evaluates every
    parameter initializer that way: seconds per trace). Conversions are cached,
    so the thread costs once per signature."""
    box: list = []

    def run():
        try:
            box.append((True, fn(*args)))
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box.append((False, e))
    worker = threading.Thread(target=run, name="fx.from_jax")
    worker.start()
    worker.join()
    ok, value = box[0]
    if not ok:
        raise value
    return value


class _Converted(threading.local):
    """Per-thread cache of converted jaxprs, keyed by argument signature."""

    def __init__(self):
        self.cache: dict = {}


def jax_function(fun: Callable, *, static_argnums: int | Sequence[int] = ()) -> Callable:
    """Make a JAX function callable on our tracers (a flax ``apply``, an equinox
    module, a jax.numpy function, an optax ``update``).

    On our tracers (inside our ``grad``, ``vmap``, ``jit``, ...) the call traces
    ``fun`` with ``jax.make_jaxpr`` on the arguments' shapes (cached per
    signature) and runs the jaxpr with our ops (:func:`eval_jaxpr`), so our
    transformations see our primitives. Axis names bound by an enclosing
    ``vmap(..., axis_name=)`` are visible to its collectives (``lax.psum``). On concrete arrays, outside our
    transformations, it simply calls ``fun``.

    Args:
      fun: a function of pytrees of arrays, written with jax.
      static_argnums: positions of arguments that are Python values (hashable),
        passed to ``fun`` as they are and part of the cache key.

    Returns:
      A function with ``fun``'s signature.

    Example::

        >>> model = flax.linen.Dense(3)
        >>> apply = fx.jax_function(model.apply)
        >>> g = transforms.grad(lambda p, x: fnp.sum(apply(p, x) ** 2))(params, x)

    Use ``jax_function`` to call JAX code from code of ours (it stays a Python
    function); use :func:`from_jax` to get the converted graph itself (to print,
    edit, or hand to ``fx.graph_to_fn``).
    """
    static = as_tuple(static_argnums)
    converted = _Converted()

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        dyn = tuple(a for i, a in enumerate(args) if i not in static)
        leaves, in_tree = tree_util.tree_flatten((dyn, kwargs))
        if not any(isinstance(x, Tracer) for x in leaves):
            return fun(*args, **kwargs)
        fixed = tuple((i, a) for i, a in enumerate(args) if i in static)
        axis_env = tuple((name, lookup(name).size) for name in bound_names())
        key = (in_tree, tuple(get_aval(x) for x in leaves), fixed, axis_env)
        hit = converted.cache.get(key)
        if hit is None:
            def flat(*flat_args):
                d, kw = tree_util.tree_unflatten(in_tree, flat_args)
                it = iter(d)
                full = [a if i in static else next(it) for i, a in enumerate(args)]
                return fun(*full, **kw)
            closed, out_shape = _in_fresh_thread(
                jax.make_jaxpr(flat, axis_env=list(axis_env) or None, return_shape=True),
                *map(_struct, leaves))
            hit = converted.cache[key] = (closed, tree_util.tree_structure(out_shape))
        closed, out_tree = hit
        outs = eval_jaxpr(closed.jaxpr, closed.consts, *leaves)
        return tree_util.tree_unflatten(out_tree, outs)

    return wrapped


def from_jax(fun: Callable, *, static_argnums: int | Sequence[int] = ()) -> Callable:
    """Convert a JAX function to our IR (as ``make_graph`` traces ours).

    Args:
      fun: a function written with jax (any pytrees in and out).
      static_argnums: positions of Python-value arguments.

    Returns:
      A function ``(*args, **kwargs) -> ClosedGraph`` (with ``in_tree`` and
      ``out_tree``); ``fx.graph_to_fn`` turns the graph back into a function
      that every transformation of ours takes.

    Raises:
      JaxConversionError: a primitive of the jaxpr has no conversion (the
        message names it and the equation).
    """
    return make_graph(jax_function(fun, static_argnums=static_argnums),
                      static_argnums=static_argnums)
