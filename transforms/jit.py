"""jit: trace once per signature, run passes, lower the whole Graph to one XLA program.

Design: the cache-hit path is ``jax.jit``'s own C++ dispatch (pytree
flattening, signature check and executable cache are native code), so a call
costs what a ``jax.jit`` call costs. On a miss jax calls our ``_lowered``
function with abstract values: we trace the user's function to our Graph
(``fx.make_graph``), run ``dce`` and ``cse``, and evaluate each equation's
``lowering`` rule on jax's tracers, which builds one XLA computation. Our
Graphs are kept in a bounded LRU keyed by the signature (pytree structure,
avals, static args), so ``traces`` counts exactly the signature changes.
``jit(f, passes=[...])`` applies the user's graph passes (ClosedGraph ->
ClosedGraph: ``fx.passes.rewrite`` based, mixed precision, ...) after dce/cse,
before lowering; each result is typechecked and must keep the signature.

Under an outer fxjax transformation (grad, vmap, make_graph) the function is
traced inline into the outer trace, which is itself compiled as a whole when
it reaches a jit; with ``passes`` its graph is traced, passed and evaluated
under the outer transformation instead (not cached: it may close over the
outer trace's values), so the passes apply under grad and vmap too.

References:
    JAX's ``jax.jit`` (pjit) and autodidax's ``xla_call``.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Callable, Sequence

import jax
from jax import tree_util

from fx import core, passes
from fx.argnums import check_callable, resolve_static_args
from fx.core import get_aval
from fx.interpreter import eval_graph, lower_graph
from fx.ir import ClosedGraph, typecheck
from fx.tracing import make_graph

__all__ = ["jit", "eval_shape", "Jitted"]

_GRAPH_CACHE_SIZE = 256


_is_eager = core.is_eager  # a module global: one lookup less on the cache-hit path


class Jitted:
    """The function returned by :func:`jit`."""

    def __init__(self, fun, static_argnums, static_argnames, donate_argnums,
                 in_shardings, out_shardings, compiler_options=None, graph_passes=()):
        check_callable(fun, "jit")
        self._passes = tuple(graph_passes or ())
        functools.update_wrapper(self, fun)
        self._fun = fun
        self._static_argnums, self._static_argnames, donate_argnums = resolve_static_args(
            fun, static_argnums, static_argnames, donate_argnums, "jit")
        self._graphs: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.traces = 0  # how many times the Python function was traced
        kwargs = {}
        if in_shardings is not None:
            kwargs["in_shardings"] = in_shardings
        if out_shardings is not None:
            kwargs["out_shardings"] = out_shardings
        if compiler_options:
            kwargs["compiler_options"] = dict(compiler_options)
        self._jax_fn = jax.jit(self._lowered, static_argnums=self._static_argnums,
                               static_argnames=self._static_argnames,
                               donate_argnums=donate_argnums, **kwargs)

    # -- tracing (runs only when jax's cache misses)
    def graph(self, *args, **kwargs) -> ClosedGraph:
        """The optimized Graph this function compiles for these arguments."""
        statics = tuple(args[i] for i in self._static_argnums if i < len(args))
        static_kw = tuple((k, kwargs[k]) for k in self._static_argnames if k in kwargs)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self._static_argnames}
        dyn = [a for i, a in enumerate(args) if i not in self._static_argnums]
        leaves, tree = tree_util.tree_flatten((dyn, dyn_kwargs))
        # x64 too: Python scalars in the function trace to other dtypes with it (as jax.jit)
        key = (tree, tuple(get_aval(x) for x in leaves), statics, static_kw,
               bool(jax.config.jax_enable_x64))
        try:
            with self._lock:
                hit = self._graphs.get(key)
                if hit is not None:
                    self._graphs.move_to_end(key)
        except TypeError:
            raise TypeError(f"jit: static arguments must be hashable, got {statics + static_kw}. "
                            f"Pass arrays as dynamic arguments instead.") from None
        if hit is not None:
            return hit
        self.traces += 1
        g = self._trace(args, dyn_kwargs, static_kw)
        with self._lock:  # threads may trace the same function at once
            self._graphs[key] = g
            if len(self._graphs) > _GRAPH_CACHE_SIZE:
                self._graphs.popitem(last=False)
        return g

    def _trace(self, args, dyn_kwargs, static_kw) -> ClosedGraph:
        fun = self._fun
        static_kw_d = dict(static_kw)
        g = make_graph(lambda *a, **k: fun(*a, **k, **static_kw_d),
                       static_argnums=self._static_argnums)(*args, **dyn_kwargs)
        g = passes.dce(passes.cse(g))
        for p in self._passes:
            g = _apply_pass(p, g)
        return g

    def _lowered(self, *args, **kwargs):
        # The Python function runs inside jax.jit's trace; its jax computations on
        # concrete values run eagerly (as before jax's stackless tracing), so the
        # cached graph holds concrete constants, never this trace's tracers, and
        # captured or computed jax.Arrays keep deferring to our tracers.
        with jax.ensure_compile_time_eval(), core.gc_paused():
            g = self.graph(*args, **kwargs)
        dyn = [a for i, a in enumerate(args) if i not in self._static_argnums]
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self._static_argnames}
        leaves = tree_util.tree_leaves((dyn, dyn_kwargs))
        outs = lower_graph(g, *leaves)
        return tree_util.tree_unflatten(g.out_tree, outs)

    # -- calling
    def __call__(self, *args, **kwargs):
        if _is_eager():
            try:  # (no **{}: jax's C++ fast path is quicker without a kwargs dict)
                return self._jax_fn(*args, **kwargs) if kwargs else self._jax_fn(*args)
            except RecursionError:  # a deeply nested graph: trace and lower it again
                with core.deep_recursion():  # with a higher recursion limit
                    return self._jax_fn(*args, **kwargs)
        # under an outer fxjax transformation: trace inline
        if self._passes:  # (the passed graph, evaluated under the outer transformation)
            static_kw = tuple((k, kwargs[k]) for k in self._static_argnames if k in kwargs)
            dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self._static_argnames}
            g = self._trace(args, dyn_kwargs, static_kw)
            dyn = [a for i, a in enumerate(args) if i not in self._static_argnums]
            outs = eval_graph(g, *tree_util.tree_leaves((dyn, dyn_kwargs)))
            return tree_util.tree_unflatten(g.out_tree, outs)
        return self._fun(*args, **kwargs)

    def lower(self, *args, **kwargs):
        """jax's Lowered: ``.as_text()`` gives StableHLO, ``.compile()`` the executable."""
        with core.gc_paused():  # jax's lowering too (see fx.core.gc_paused)
            try:
                return self._jax_fn.lower(*args, **kwargs)
            except RecursionError:  # a deeply nested graph, as in __call__
                with core.deep_recursion():
                    return self._jax_fn.lower(*args, **kwargs)

    def eval_shape(self, *args, **kwargs):
        return eval_shape(self._fun, *args, **kwargs)

    def clear_cache(self):
        self._graphs.clear()
        self._jax_fn.clear_cache()

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return functools.partial(self, obj)


def jit(fun: Callable | None = None, *, static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (), donate_argnums: int | Sequence[int] = (),
        in_shardings=None, out_shardings=None, compiler_options: dict | None = None,
        passes: Sequence[Callable[[ClosedGraph], ClosedGraph]] = ()):
    """Compile ``fun`` to one XLA program per signature (as ``jax.jit``).

    Args:
      fun: a function of arrays (any pytrees).
      static_argnums: positions passed as hashable Python values; a new value retraces.
      static_argnames: names of parameters treated the same way. As jax.jit, both
        are resolved through ``fun``'s signature (a static parameter is static
        whether passed by position or by keyword); a number or name matching no
        parameter raises ValueError at once.
      donate_argnums: positions whose buffers XLA may reuse for outputs.
      in_shardings / out_shardings: as ``jax.jit`` (GSPMD shardings).
      compiler_options: XLA options for this function's compilations only (as
        ``jax.jit``), e.g. ``{"xla_cpu_prefer_vector_width": 512}`` on AVX-512
        CPUs, where it makes the threefry hash of our PRNG ~1.5x faster.
      passes: graph passes ``ClosedGraph -> ClosedGraph`` applied, in order, to
        the traced graph before lowering (e.g. ``transforms.passes.mixed_precision``,
        ``lambda g: fx.passes.rewrite(g, pattern, replacement)[0]``); each must
        keep the input and output types. Not part of JAX's jit.

    Returns:
      A :class:`Jitted` callable with ``.lower(*args)`` (``.as_text()``,
      ``.compile()``), ``.graph(*args)`` (our optimized IR) and ``.traces``.

    Example::

        >>> f = jit(lambda x: fnp.sin(x) * 2.0)
        >>> f(fnp.ones(3))
    """
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums,
                                 static_argnames=static_argnames, donate_argnums=donate_argnums,
                                 in_shardings=in_shardings, out_shardings=out_shardings,
                                 compiler_options=compiler_options, passes=passes)
    return Jitted(fun, static_argnums, static_argnames, donate_argnums, in_shardings, out_shardings,
                  compiler_options, passes)


def _apply_pass(p: Callable, g: ClosedGraph) -> ClosedGraph:
    """``p(g)``, checked: a typechecked ClosedGraph of the same signature (the
    pytree structures are carried over when the pass dropped them)."""
    name = getattr(p, "__name__", repr(p))
    new = p(g)
    if not isinstance(new, ClosedGraph):
        raise TypeError(f"jit: the graph pass {name} returned {type(new).__name__}, not a "
                        f"ClosedGraph. Fix: return the new ClosedGraph (rewrite returns "
                        f"(graph, matches): take [0]).")
    sig = [(a.shape, a.dtype) for a in g.in_avals], [(a.shape, a.dtype) for a in g.out_avals]
    new_sig = ([(a.shape, a.dtype) for a in new.in_avals],
               [(a.shape, a.dtype) for a in new.out_avals])
    if new_sig != sig:
        raise TypeError(f"jit: the graph pass {name} changed the graph's signature from "
                        f"{sig} to {new_sig} (inputs, outputs). Fix: passes must keep the input "
                        f"and output shapes and dtypes.")
    typecheck(new)
    if new.in_tree is None or new.out_tree is None:
        new = ClosedGraph(new.graph, new.consts, g.in_tree, g.out_tree)
    return new


def eval_shape(fun: Callable, *args, **kwargs):
    """Shapes and dtypes of ``fun``'s outputs, without running it (as ``jax.eval_shape``).

    Args accept arrays or ``jax.ShapeDtypeStruct``s.

    Returns:
      A pytree of ``jax.ShapeDtypeStruct``.
    """
    g = make_graph(fun)(*args, **kwargs)
    return tree_util.tree_unflatten(g.out_tree, [a.to_struct() for a in g.out_avals])
