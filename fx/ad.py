"""Automatic differentiation: the JVP trace, symbolic zeros, the rule
vocabulary, linearization and the backward pass.

- ``JVPTrace`` carries (primal, tangent) pairs and applies each primitive's
  ``jvp`` rule. Tangents may be symbolic ``Zero``s (never materialized):
  integer/boolean values (``fx.dtypes.is_float`` is False) and values that do
  not depend on the inputs have them.
- ``linearize_flat`` is jvp plus partial evaluation done by the trace stack:
  the tangent inputs are tracers of a (non-dynamic) staging trace *below* the
  JVP trace, so every computation on primals runs as usual (eagerly, or
  staged into an outer graph) while every computation touching a tangent is
  recorded into a linear Graph whose constants are the residuals.
- ``backward_pass`` transposes a linear graph: the non-linear equations run
  forward (an ``Interpreter``), then the linear ones in reverse through each
  primitive's ``transpose`` rule, cotangents accumulated with ``add_any``.
- The rule vocabulary every primitive block uses: ``defjvp`` (one rule per
  operand), ``defjvp_zero`` (piecewise constant), ``deflinear`` (linear in
  some operands), ``defbilinear`` (dot_general, conv), ``deftranspose``.

Example::

    >>> outs, linear, out_zero = linearize_flat(lambda x: [P.sin(x)], [1.0])
    >>> print(linear)        # the residual cos(1.0) is a constant
    { lambda a:f32[]; b:f32[]. let
        c:f32[] = mul b a
      in (c,) }

References:
    Autodidax (JVPTrace, linearize via partial evaluation, backward_pass);
    "You Only Linearize Once" (Radul et al., 2022); JAX's ``ad.defjvp``.
"""
from __future__ import annotations

import functools
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np
from jax import lax

from fx.batching import bdim_at_front
from fx.core import Primitive, Trace, Tracer, full_lower, full_raise, get_aval, new_main, structural
from fx.dtypes import is_float
from fx.interpreter import Interpreter, equation_error, rule_error
from fx.source_info import current_source
from fx.ir import ClosedGraph, Graph, ShapedArray, Var
from fx.passes.dce import dce
from fx.tracing import trace_to_graph

__all__ = ["Zero", "UndefinedPrimal", "tangent_aval", "add_any", "add_any_p", "zeros", "zeros_p",
           "instantiate_zero", "JVPTrace", "JVPTracer", "jvp_flat", "linearize_flat",
           "backward_pass", "nonzero_mask", "jvp_graph", "defjvp", "defjvp_zero", "zero_jvp",
           "zero_tangent", "linear_jvp", "deflinear",
           "bilinear_jvp", "defbilinear", "deftranspose", "unbroadcast", "fit"]


class Zero:
    """A symbolic zero tangent / cotangent of the given aval (never materialized)."""
    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


class UndefinedPrimal:
    """Marks a linear input during transposition."""
    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.str_short()})"


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    """The aval of a tangent of a value of ``aval`` (never weakly typed)."""
    return aval.strip_weak()


# --- add_any ---
add_any_p = Primitive("add_any")


@add_any_p.def_abstract_eval
def _add_any_aval(x, y):
    return ShapedArray(x.shape, x.dtype, x.weak_type and y.weak_type)


add_any_p.def_lowering(lambda x, y: lax.add(x, lax.convert_element_type(y, x.dtype)))
add_any_p.def_jvp(lambda primals, tangents: (
    add_any(*primals),
    tangents[1] if isinstance(tangents[0], Zero) else
    tangents[0] if isinstance(tangents[1], Zero) else add_any(*tangents)))
add_any_p.def_transpose(lambda ct, x, y: [ct if isinstance(x, UndefinedPrimal) else None,
                                          ct if isinstance(y, UndefinedPrimal) else None])


@add_any_p.def_batch
def _add_any_batch(args, bdims):
    x, y = args
    dx, dy = bdims
    if dx == dy:
        return add_any(x, y), dx
    size = get_aval(x).shape[dx] if dx is not None else get_aval(y).shape[dy]
    return add_any(bdim_at_front(x, dx, size), bdim_at_front(y, dy, size)), 0


def add_any(x, y):
    """x + y for tangents/cotangents (same aval); used by the transforms."""
    return add_any_p.bind(x, y)


# --- zeros ---
zeros_p = Primitive("zeros")


@zeros_p.def_abstract_eval
def _zeros_aval(*, shape, dtype):
    return ShapedArray(shape, dtype)


zeros_p.def_lowering(lambda *, shape, dtype: lax.full(shape, 0, dtype))
zeros_p.def_jvp(lambda primals, tangents, *, shape, dtype: (
    zeros(ShapedArray(shape, dtype)), Zero(ShapedArray(shape, dtype))))
zeros_p.def_batch(lambda args, bdims, *, shape, dtype: (zeros(ShapedArray(shape, dtype)), None))


def zeros(aval: ShapedArray):
    """An array of zeros of ``aval``'s shape and dtype (the one zero maker)."""
    return zeros_p.bind(shape=tuple(aval.shape), dtype=np.dtype(aval.dtype))


def instantiate_zero(t):
    """Materialize a symbolic Zero; other values pass through."""
    return zeros(t.aval) if isinstance(t, Zero) else t


def nonzero_mask(primals, tangents) -> list:
    """Which (primal, tangent) pairs carry a real tangent (not Zero, float primal)."""
    return [not isinstance(t, Zero) and is_float(get_aval(p)) for p, t in zip(primals, tangents)]


# --- the JVP trace ---------------------------------------------------------------
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
        try:
            primal_out, tangent_out = primitive.rule("jvp")(primals, tangents, **params)
        except Exception as e:
            raise rule_error(e, primitive, [t.aval for t in tracers], params,
                             "differentiating (jvp rule)") from e.__cause__
        if primitive.multiple_results:
            return [JVPTracer(self, p, t) for p, t in zip(primal_out, tangent_out)]
        return JVPTracer(self, primal_out, tangent_out)


def jvp_flat(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any]):
    """jvp on flat lists; tangents may contain ``Zero``. Returns (primals_out, tangents_out)
    with symbolic zeros kept."""
    with new_main(JVPTrace) as main:
        trace = main.trace
        in_tracers = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
        outs = fun(*in_tracers)
        out_tracers = [full_raise(trace, o) for o in outs]
        return [t.primal for t in out_tracers], [t.tangent for t in out_tracers]


def linearize_flat(fun: Callable, primals: Sequence[Any],
                   want_tangent: Sequence[bool] | None = None):
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
    t_avals = [tangent_aval(get_aval(p)) for p, w in zip(primals, want_tangent) if w]
    box = []

    def linear_part(*t_in):
        it = iter(t_in)
        tangents = [next(it) if w else Zero(tangent_aval(get_aval(p)))
                    for p, w in zip(primals, want_tangent)]
        outs, touts = jvp_flat(fun, primals, tangents)
        out_zero = [isinstance(t, Zero) for t in touts]
        box.append((outs, out_zero))
        return [t for t in touts if not isinstance(t, Zero)]

    graph, consts = trace_to_graph(linear_part, t_avals, dynamic=False)
    outs, out_zero = box[0]
    return outs, ClosedGraph(graph, consts), out_zero


def jvp_graph(graph: Graph, nonzeros: Sequence[bool], instantiate) -> tuple[Graph, list, list]:
    """The jvp of ``graph`` as a graph (control-flow jvp rules apply it to bodies).

    Args:
      graph: the graph (all inputs explicit).
      nonzeros: which inputs have a (non-zero) tangent.
      instantiate: bool or per-output bools: outputs whose tangent is
        materialized even when it is a symbolic zero (float outputs only).

    Returns:
      ``(jvp, consts, out_nonzeros)``: jvp's inputs are ``consts``, the primals,
      then the non-zero tangents; its outputs the primal outputs then the
      non-zero output tangents.
    """
    n = len(graph.in_vars)
    out_avals = graph.out_avals
    inst = [instantiate] * len(out_avals) if isinstance(instantiate, bool) else list(instantiate)
    t_avals = [tangent_aval(v.aval) for v, nz in zip(graph.in_vars, nonzeros) if nz]
    box = []

    def fn(*args):
        it = iter(args[n:])
        tangents = [next(it) if nz else Zero(tangent_aval(v.aval))
                    for v, nz in zip(graph.in_vars, nonzeros)]
        outs, touts = jvp_flat(lambda *a: Interpreter(graph).run(*a), list(args[:n]), tangents)
        out_nz = [(not isinstance(t, Zero) or force) and is_float(a)
                  for t, force, a in zip(touts, inst, out_avals)]
        box.append(out_nz)
        return list(outs) + [instantiate_zero(t) for t, nz in zip(touts, out_nz) if nz]

    g, consts = trace_to_graph(fn, list(graph.in_avals) + t_avals)
    return dce(g), consts, box[0]


# --- transposition -----------------------------------------------------------------
def backward_pass(graph: Graph, consts: Sequence[Any], linear_in: Sequence[bool],
                  args: Sequence[Any], cts_out: Sequence[Any]) -> list:
    """Transpose ``graph`` with respect to its linear inputs.

    Args:
      graph: its inputs are ``consts`` followed by the other inputs.
      consts: values of the constant inputs.
      linear_in: for each non-const input, whether it is linear (transposed).
      args: values of the non-linear non-const inputs (ignored for linear ones).
      cts_out: one cotangent per graph output (``Zero`` allowed).

    Returns:
      One cotangent per linear input (``Zero`` where nothing flowed back).
    """
    n_const = len(consts)
    linear = {id(v) for v, is_lin in zip(graph.in_vars[n_const:], linear_in) if is_lin}
    fwd_eqns, lin_eqns = [], []
    for eqn in graph.equations:
        if any(type(x) is Var and id(x) in linear for x in eqn.inputs):
            lin_eqns.append(eqn)
            linear.update(id(v) for v in eqn.outputs)
        else:
            fwd_eqns.append(eqn)
    # forward: evaluate what does not depend on linear inputs
    forward = Interpreter(Graph([], fwd_eqns, []))
    env = forward.env
    for v, c in zip(graph.in_vars[:n_const], consts):
        env[id(v)] = c
    for v, is_lin, a in zip(graph.in_vars[n_const:], linear_in, args):
        if not is_lin:
            env[id(v)] = a
    forward.run()
    read = forward.read

    ct_env = {}

    def write_ct(v, ct):
        if type(v) is not Var or id(v) not in linear or type(ct) is Zero or ct is None:
            return
        prev = ct_env.get(id(v))
        ct_env[id(v)] = ct if prev is None else add_any(prev, ct)

    for v, ct in zip(graph.out_vars, cts_out):
        write_ct(v, ct)

    outer = current_source.info
    try:
        for eqn in reversed(lin_eqns):
            cts = [ct_env.pop(id(v), None) for v in eqn.outputs]
            if all(c is None for c in cts):
                continue
            invals = [UndefinedPrimal(x.aval) if type(x) is Var and id(x) in linear else read(x)
                      for x in eqn.inputs]
            # the backward ops report the line of the forward op they transpose (as JAX)
            current_source.info = eqn.source_info or outer
            try:
                rule = eqn.primitive.rule("transpose")
                if eqn.primitive.multiple_results:
                    cts = [Zero(v.aval) if c is None else c for v, c in zip(eqn.outputs, cts)]
                    cts_in = rule(cts, *invals, **eqn.params)
                else:
                    cts_in = rule(cts[0], *invals, **eqn.params)
            except Exception as e:
                raise equation_error(e, eqn, "transposing") from e.__cause__
            for x, ct in zip(eqn.inputs, cts_in):
                write_ct(x, ct)
    finally:
        current_source.info = outer

    result = []
    for v, is_lin in zip(graph.in_vars[n_const:], linear_in):
        if is_lin:
            ct = ct_env.get(id(v))
            result.append(Zero(v.aval) if ct is None else ct)
    return result


# --- the rule vocabulary ---------------------------------------------------------------
def fit(t, aval: ShapedArray):
    """Give a tangent/cotangent term ``aval``'s dtype and shape (rank-0 terms are broadcast)."""
    t_aval = get_aval(t)
    if t_aval.dtype != aval.dtype:
        t = structural("convert_element_type")(t, aval.dtype)
    if t_aval.shape != aval.shape:
        t = structural("broadcast_in_dim")(t, aval.shape, ())
    return t


def _jvp_nary(prim, rules, primals, tangents, **params):
    ans = prim.bind(*primals, **params)
    t_aval = tangent_aval(get_aval(ans))
    if not is_float(t_aval):
        return ans, Zero(t_aval)
    terms = [fit(rule(t, ans, *primals, **params), t_aval)
             for rule, x, t in zip(rules, primals, tangents)
             if rule is not None and not isinstance(t, Zero) and is_float(get_aval(x))]
    if not terms:
        return ans, Zero(t_aval)
    return ans, functools.reduce(structural("add"), terms)


def defjvp(prim: Primitive, *rules) -> None:
    """jvp from one rule per operand: ``rule(t, ans, *primals, **params)`` gives
    that operand's (linear in ``t``) contribution; None = not differentiable.
    Contributions of symbolic-zero tangents and of integer operands are skipped;
    integer outputs get Zero."""
    prim.def_jvp(partial(_jvp_nary, prim, rules))


def zero_tangent(primal) -> Zero:
    """The symbolic zero tangent of ``primal``."""
    return Zero(tangent_aval(get_aval(primal)))


def zero_jvp(prim, primals, tangents, **params):
    """jvp of a piecewise-constant / integer-valued op: symbolic Zero tangents."""
    ans = prim.bind(*primals, **params)
    if prim.multiple_results:
        return ans, [zero_tangent(a) for a in ans]
    return ans, zero_tangent(ans)


def defjvp_zero(prim: Primitive) -> None:
    """Piecewise-constant / integer-valued op: the output tangent is a symbolic Zero."""
    prim.def_jvp(partial(zero_jvp, prim))


def linear_jvp(prim: Primitive, linear, primals, tangents, **params):
    """jvp of a primitive linear in the operands at positions ``linear`` (all if
    None): apply it to their tangents, passing the other operands (start
    indices, padding values of int dtype) as primals. A non-float output or
    all-zero tangents give a Zero."""
    linear = range(len(primals)) if linear is None else linear
    ans = prim.bind(*primals, **params)
    t_aval = tangent_aval(get_aval(ans))
    if not is_float(t_aval) or all(isinstance(tangents[i], Zero) for i in linear):
        return ans, Zero(t_aval)
    args = [instantiate_zero(tangents[i]) if i in linear else p for i, p in enumerate(primals)]
    return ans, prim.bind(*args, **params)


def deflinear(prim: Primitive, linear: Sequence[int] | None = None) -> None:
    """jvp of an op linear in the operands at ``linear`` (default: all)."""
    prim.def_jvp(partial(linear_jvp, prim, None if linear is None else tuple(linear)))


def bilinear_jvp(prim, primals, tangents, **params):
    """jvp of a primitive bilinear in its two operands (dot_general, conv):
    ``d(x * y) = dx * y + x * dy``, skipping the terms of symbolic-zero or
    integer operands' tangents. Outputs that are not floating point get a
    Zero tangent."""
    x, y = primals
    x_dot, y_dot = tangents
    out = prim.bind(x, y, **params)
    out_aval = get_aval(out)
    terms = []
    if is_float(out_aval):
        if not isinstance(x_dot, Zero) and is_float(get_aval(x)):
            terms.append(prim.bind(x_dot, y, **params))
        if not isinstance(y_dot, Zero) and is_float(get_aval(y)):
            terms.append(prim.bind(x, y_dot, **params))
    if not terms:
        return out, Zero(tangent_aval(out_aval))
    return out, terms[0] if len(terms) == 1 else structural("add")(*terms)


def defbilinear(prim: Primitive) -> None:
    """jvp of an op bilinear in its two operands (see ``bilinear_jvp``)."""
    prim.def_jvp(partial(bilinear_jvp, prim))


def unbroadcast(ct, aval: ShapedArray):
    """The cotangent of an operand of ``aval`` from the output's ``ct``: summed
    when the operand was a broadcast rank-0 value, cast to the operand's dtype."""
    if get_aval(ct).shape != aval.shape:
        ct = structural("reduce_sum")(ct, tuple(range(get_aval(ct).ndim)))
    if get_aval(ct).dtype != aval.dtype:
        ct = structural("convert_element_type")(ct, aval.dtype, weak_type=aval.weak_type)
    return ct


def _transpose_linear(ct_fns, ct, *operands, **params):
    return [unbroadcast(f(ct, *operands, **params), x.aval)
            if f is not None and isinstance(x, UndefinedPrimal) else None
            for x, f in zip(operands, ct_fns)]


def deftranspose(prim: Primitive, *ct_fns) -> None:
    """Transpose from one function per operand: ``f(ct, *operands, **params)``
    gives that operand's cotangent when it is the linear (UndefinedPrimal) one;
    None = the op is not linear in it."""
    prim.def_transpose(partial(_transpose_linear, ct_fns))
