"""Forward mode: ``jvp`` and ``linearize``.

``JVPTrace`` carries (primal, tangent) pairs and applies each primitive's
``jvp`` rule. Tangents may be symbolic ``Zero``s (never materialized):
integer/boolean values and values that do not depend on the inputs have them.

``linearize`` is jvp plus partial evaluation done by the trace stack: the
tangent inputs are tracers of a (non-dynamic) staging trace *below* the JVP
trace, so every computation on primals runs as usual (eagerly, or staged into
an outer graph) while every computation touching a tangent is recorded into a
linear Graph; primal values it uses become that graph's constants (the
residuals). Python control flow on concrete primals therefore works under
``grad`` outside ``jit``, as in JAX.

References:
    Autodidax (JVPTrace, linearize via partial evaluation); "You Only Linearize
    Once" (Radul et al., 2022).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from jax import tree_util

from fx.core import (Tracer, Trace, Zero, new_main, full_raise, full_lower, get_aval)
from fx.builtins import instantiate_zero
from fx.errors import FxTypeError
from fx.ir import ClosedGraph, Graph, ShapedArray
from fx.tracing import GraphTrace, _Builder

__all__ = ["jvp", "linearize", "JVPTrace", "JVPTracer", "linearize_flat", "tangent_aval"]


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    return aval.strip_weak()


def _float0():
    import jax
    return jax.dtypes.float0


def _is_float(aval) -> bool:
    return aval.dtype.kind in "fc" or aval.dtype.name == "bfloat16"


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self):
        return get_aval(self.primal)

    def concrete_value(self):
        p = self.primal
        return p.concrete_value() if isinstance(p, Tracer) else p

    def full_lower(self):
        if isinstance(self.tangent, Zero):
            return full_lower(self.primal)
        return self


class JVPTrace(Trace):
    __slots__ = ()

    def pure(self, val):
        return JVPTracer(self, val, Zero(tangent_aval(get_aval(val))))

    lift = pure

    def process_primitive(self, primitive, tracers, params):
        primals = [t.primal for t in tracers]
        tangents = [t.tangent for t in tracers]
        if all(type(t) is Zero for t in tangents):
            out = primitive.bind(*primals, **params)
            if primitive.multiple_results:
                return [JVPTracer(self, o, Zero(tangent_aval(get_aval(o)))) for o in out]
            return JVPTracer(self, out, Zero(tangent_aval(get_aval(out))))
        rule = primitive.rule("jvp")
        primal_out, tangent_out = rule(primals, tangents, **params)
        if primitive.multiple_results:
            return [JVPTracer(self, p, t) for p, t in zip(primal_out, tangent_out)]
        return JVPTracer(self, primal_out, tangent_out)


def _check_tangent(p, t, path):
    if isinstance(t, Zero):
        return
    pa = get_aval(p)
    if getattr(t, "dtype", None) == _float0():
        if _is_float(pa):
            raise FxTypeError(f"jvp: float0 tangent given for the float primal {pa.str_short()} "
                              f"at {path}; float0 tangents are for integer/bool primals.")
        return
    ta = get_aval(t)
    if pa.shape != ta.shape:
        raise FxTypeError(f"jvp: tangent {ta.str_short()} does not match primal {pa.str_short()} "
                          f"at {path}: tangents must have the primals' shapes and dtypes.")
    if _is_float(pa) and pa.dtype != ta.dtype:
        raise FxTypeError(f"jvp: tangent dtype {ta.dtype} does not match primal dtype {pa.dtype} "
                          f"at {path}. Fix: cast the tangent with .astype({pa.dtype.name}).")


def jvp_flat(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any]):
    """jvp on flat lists; tangents may contain ``Zero``. Returns (primals_out, tangents_out)
    with symbolic zeros kept."""
    with new_main(JVPTrace) as main:
        trace = main.trace
        in_tracers = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
        outs = fun(*in_tracers)
        out_tracers = [full_raise(trace, o) for o in outs]
        return [t.primal for t in out_tracers], [t.tangent for t in out_tracers]


def jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False):
    """Jacobian-vector product (as ``jax.jvp``).

    Args:
      fun: function of pytrees of arrays.
      primals: tuple/list of the positional arguments.
      tangents: same structure as ``primals``.
      has_aux: ``fun`` returns ``(out, aux)``; aux is returned unchanged.

    Returns:
      ``(primals_out, tangents_out)`` (plus ``aux`` with has_aux).

    Example::

        >>> jvp(fnp.sin, (0.0,), (1.0,))   # (0.0, 1.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists of the arguments, "
                        f"got {type(primals).__name__} and {type(tangents).__name__}.")
    p_flat, p_tree = tree_util.tree_flatten(tuple(primals))
    t_flat, t_tree = tree_util.tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise TypeError(f"jvp: primal and tangent structures differ: {p_tree} vs {t_tree}.")
    for i, (p, t) in enumerate(zip(p_flat, t_flat)):
        _check_tangent(p, t, f"leaf {i}")
    aux_box = []

    def flat_fun(*args):
        out = fun(*tree_util.tree_unflatten(p_tree, args))
        if has_aux:
            out, aux = _split_aux(out, "jvp")
            aux_box.append(aux)
        leaves, tree = tree_util.tree_flatten(out)
        aux_box.insert(0, tree)
        return leaves

    # integer/bool primals (float0 tangents, as JAX) get symbolic zeros
    t_flat = [t if _is_float(get_aval(p)) else Zero(tangent_aval(get_aval(p)))
              for p, t in zip(p_flat, t_flat)]
    outs, touts = jvp_flat(flat_fun, p_flat, t_flat)
    out_tree = aux_box[0]
    touts = [_tangent_out(o, t) for o, t in zip(outs, touts)]
    res = (tree_util.tree_unflatten(out_tree, outs), tree_util.tree_unflatten(out_tree, touts))
    if has_aux:
        return res + (_lower_aux(aux_box[1]),)
    return res


def _tangent_out(primal, t):
    """Materialize an output tangent; integer/bool outputs get float0 zeros, as JAX."""
    aval = get_aval(primal)
    if not _is_float(aval):
        import jax
        return np.zeros(aval.shape, jax.dtypes.float0)
    return instantiate_zero(t)


def _split_aux(out, who):
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"{who}(has_aux=True): the function must return a pair (output, aux), "
                        f"got {type(out).__name__}"
                        f"{' of length ' + str(len(out)) if isinstance(out, (tuple, list)) else ''}.")
    return out[0], out[1]


def _lower_aux(aux):
    return tree_util.tree_map(lambda x: _primal_of(x) if isinstance(x, Tracer) else x, aux)


def _primal_of(x):
    x = full_lower(x)
    while isinstance(x, JVPTracer):
        x = full_lower(x.primal)
    return x


def linearize_flat(fun: Callable, primals: Sequence[Any], want_tangent: Sequence[bool] | None = None):
    """Run ``fun``'s primal computation and stage its linear (tangent) part.

    Args:
      fun: flat function (arrays in, list of arrays out).
      primals: flat primal values.
      want_tangent: which inputs get a tangent (default: all).

    Returns:
      ``(primals_out, linear, out_zero)`` where ``linear`` is a ClosedGraph from
      the tangent inputs (those with ``want_tangent``) to the non-zero output
      tangents, whose consts are the residuals, and ``out_zero[i]`` says output
      i has a symbolic zero tangent (it is not an output of ``linear``).
    """
    if want_tangent is None:
        want_tangent = [True] * len(primals)
    builder = _Builder()
    with new_main(GraphTrace, builder) as staging:
        s_trace = staging.trace
        t_in = [s_trace.new_arg(tangent_aval(get_aval(p))) if w else None
                for p, w in zip(primals, want_tangent)]
        tangents = [t if t is not None else Zero(tangent_aval(get_aval(p)))
                    for p, t in zip(primals, t_in)]
        outs, touts = jvp_flat(fun, primals, tangents)
        out_zero = [isinstance(t, Zero) for t in touts]
        t_out = [full_raise(s_trace, t) for t in touts if not isinstance(t, Zero)]
    const_vars = [v for v, _ in builder.consts]
    consts = [c for _, c in builder.consts]
    graph = Graph(const_vars + [t.node for t in t_in if t is not None], builder.equations,
                  [t.node for t in t_out])
    return outs, ClosedGraph(graph, consts), out_zero


def linearize(fun: Callable, *primals):
    """As ``jax.linearize``: returns ``(primals_out, f_jvp)`` where ``f_jvp(*tangents)``
    evaluates the staged linear map (no re-run of the primal computation)."""
    from fx.interpreter import eval_graph
    p_flat, p_tree = tree_util.tree_flatten(primals)
    out_tree_box = []

    def flat_fun(*args):
        out = fun(*tree_util.tree_unflatten(p_tree, args))
        leaves, tree = tree_util.tree_flatten(out)
        out_tree_box.append(tree)
        return leaves

    outs, linear, out_zero = linearize_flat(flat_fun, p_flat)
    out_tree = out_tree_box[0]
    out_avals = [tangent_aval(get_aval(o)) for o in outs]

    def f_jvp(*tangents):
        t_flat, t_tree = tree_util.tree_flatten(tangents)
        if t_tree != p_tree:
            raise TypeError(f"linearize: f_jvp expects tangents structured like the primals "
                            f"{p_tree}, got {t_tree}.")
        nz = iter(eval_graph(linear, *t_flat))
        res = [instantiate_zero(Zero(a)) if z else next(nz) for a, z in zip(out_avals, out_zero)]
        return tree_util.tree_unflatten(out_tree, res)

    return tree_util.tree_unflatten(out_tree, outs), f_jvp
