"""checkpoint / remat: trade compute for memory in reverse mode (as ``jax.checkpoint``).

``checkpoint(f, policy)`` stages ``remat[call, policy]``. Its jvp rule runs the
primal body once, keeping only the values the policy calls saveable, then
replays the body for the tangents *at the level of the tangents*: under
``grad`` that level is the linear graph being staged, so every value the policy
did not save is recomputed inside the backward pass, and only the inputs (and
the saveable values) become residuals. An ``optimization_barrier`` on the
recomputation's inputs keeps XLA from merging it with the forward pass.

Policies have JAX's signature ``policy(prim, *avals, **params) -> bool``:
``everything_saveable``, ``nothing_saveable`` (the default, as JAX),
``dots_saveable`` (outputs of dot_general), ``dots_with_no_batch_dims_saveable``.
``saved_residuals(f, *args)`` lists what a gradient of ``f`` keeps.

References:
    Chen et al., "Training Deep Nets with Sublinear Memory Cost" (2016); JAX's
    ad_checkpoint.py.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

from jax import lax, tree_util

from fx import core
from fx.core import Primitive, Zero, find_top_trace, full_raise, get_aval
from fx.interpreter import lower_graph, walk
from fx.ir import Literal
from fx.tracing import GraphTracer, make_graph
from transforms._subgraph import as_param, batch_body
from transforms.vmap import def_axis_batch

__all__ = ["checkpoint", "remat", "checkpoint_policies", "saved_residuals", "remat_p",
           "optimization_barrier"]


# --- policies ---
def everything_saveable(prim, *avals, **params) -> bool:
    return True


def nothing_saveable(prim, *avals, **params) -> bool:
    return False


def dots_saveable(prim, *avals, **params) -> bool:
    return prim.name == "dot_general"


def dots_with_no_batch_dims_saveable(prim, *avals, **params) -> bool:
    if prim.name != "dot_general":
        return False
    (_, _), (lhs_b, _) = params["dimension_numbers"]
    return not lhs_b


class checkpoint_policies:  # noqa: N801  (namespace, as jax.checkpoint_policies)
    everything_saveable = staticmethod(everything_saveable)
    nothing_saveable = staticmethod(nothing_saveable)
    dots_saveable = staticmethod(dots_saveable)
    checkpoint_dots = staticmethod(dots_saveable)
    dots_with_no_batch_dims_saveable = staticmethod(dots_with_no_batch_dims_saveable)


# --- optimization_barrier ---
optimization_barrier_p = Primitive("optimization_barrier", multiple_results=True)
optimization_barrier_p.def_abstract_eval(lambda *avals: list(avals))
optimization_barrier_p.def_lowering(lambda *xs: list(lax.optimization_barrier(tuple(xs))))
optimization_barrier_p.def_jvp(lambda primals, tangents: (optimization_barrier(*primals),
                                                          list(tangents)))
optimization_barrier_p.def_batch(lambda args, bdims: (optimization_barrier(*args), list(bdims)))


def optimization_barrier(*xs):
    """Identity that XLA may not optimize across (keeps recomputation separate)."""
    return optimization_barrier_p.bind(*xs)


# --- remat ---
remat_p = Primitive("remat", multiple_results=True)
remat_p.def_abstract_eval(lambda *avals, call, policy, prevent_cse: call.out_avals)
remat_p.def_lowering(lambda *args, call, policy, prevent_cse: lower_graph(call, *args))


def _is_saveable(policy, eqn) -> bool:
    return bool(policy(eqn.primitive, *[x.aval for x in eqn.inputs], **eqn.params))


@remat_p.def_jvp
def _remat_jvp(primals, tangents, *, call, policy, prevent_cse):
    saved = {}

    def primal_apply(eqn, invals):
        outs = eqn.primitive.bind(*invals, **eqn.params)
        outs = outs if eqn.primitive.multiple_results else [outs]
        if _is_saveable(policy, eqn):
            saved[id(eqn)] = outs
        return outs

    primal_outs = walk(call.graph, list(primals), primal_apply)

    # replay for tangents at the tangents' level (the linear graph under grad)
    nz = [t for t in tangents if not isinstance(t, Zero)]
    trace = find_top_trace(list(primals) + nz)
    lifted = [full_raise(trace, p) for p in primals]
    if prevent_cse and lifted:
        lifted = optimization_barrier(*lifted)
    env_p, env_t = {}, {}
    for v, p, t in zip(call.graph.in_vars, lifted, tangents):
        env_p[id(v)], env_t[id(v)] = p, t

    def read(env, x, zero_ok):
        if type(x) is Literal:
            return Zero(x.aval.strip_weak()) if zero_ok else x.val
        return env[id(x)]

    for eqn in call.graph.equations:
        pin = [read(env_p, x, False) for x in eqn.inputs]
        tin = [read(env_t, x, True) for x in eqn.inputs]
        multi = eqn.primitive.multiple_results
        if all(isinstance(t, Zero) for t in tin):
            if id(eqn) in saved:
                pout = [full_raise(trace, v) for v in saved[id(eqn)]]
            else:
                pout = eqn.primitive.bind(*pin, **eqn.params)
                pout = pout if multi else [pout]
            tout = [Zero(v.aval.strip_weak()) for v in eqn.outputs]
        else:
            pout, tout = eqn.primitive.rule("jvp")(pin, tin, **eqn.params)
            pout, tout = (list(pout), list(tout)) if multi else ([pout], [tout])
            if id(eqn) in saved:  # saved values enter the tangent level as residuals
                pout = [full_raise(trace, v) for v in saved[id(eqn)]]
        for v, p, t in zip(eqn.outputs, pout, tout):
            env_p[id(v)], env_t[id(v)] = p, t
    tangent_outs = [read(env_t, v, True) for v in call.graph.out_vars]
    return primal_outs, tangent_outs


def _remat_batch(args, bdims, *, axis_name, size, call, policy, prevent_cse):
    args, _, batched = batch_body(call, args, bdims, size, axis_name)
    outs = remat_p.bind(*batched.consts, *args, call=as_param(batched), policy=policy,
                        prevent_cse=prevent_cse)
    return outs, [0] * len(call.out_avals)


def_axis_batch(remat_p, _remat_batch)


def checkpoint(fun: Callable | None = None, *, policy: Callable | None = None,
               prevent_cse: bool = True, static_argnums=()):
    """Rematerialize ``fun``'s intermediates in reverse mode (as ``jax.checkpoint``).

    Args:
      fun: the function.
      policy: which intermediates may be saved (see ``checkpoint_policies``);
        default saves none (everything is recomputed from the inputs).
      prevent_cse: put an optimization barrier so XLA cannot merge the
        recomputation with the forward pass.
      static_argnums: arguments passed as Python values.

    Returns:
      A function with ``fun``'s values and gradients and lower residual memory.
    """
    if fun is None:
        return functools.partial(checkpoint, policy=policy, prevent_cse=prevent_cse,
                                 static_argnums=static_argnums)
    policy = nothing_saveable if policy is None else policy
    static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def wrapped(*args):
        if core.is_eager():
            return fun(*args)
        dyn = [a for i, a in enumerate(args) if i not in static_argnums]
        flat, in_tree = tree_util.tree_flatten(dyn)

        def flat_fun(*fl):
            d = iter(tree_util.tree_unflatten(in_tree, fl))
            return fun(*[a if i in static_argnums else next(d) for i, a in enumerate(args)])
        closed = make_graph(flat_fun)(*flat)
        outs = remat_p.bind(*closed.consts, *flat, call=as_param(closed), policy=policy,
                            prevent_cse=prevent_cse)
        return tree_util.tree_unflatten(closed.out_tree, outs)

    return wrapped


remat = checkpoint


class Residual(NamedTuple):
    """One value a gradient keeps from the forward pass to the backward pass."""
    aval: Any
    source: str

    def __str__(self):
        return f"{self.aval.str_short()} {self.source}"


def saved_residuals(fun: Callable, *args) -> list[Residual]:
    """What reverse mode of ``fun`` at ``args`` saves for the backward pass.

    Returns:
      A list of ``Residual(aval, source)``; source is "from argument i" or
      "output of <primitive> at <file:line>".
    """
    from transforms.jvp import linearize_flat
    flat, in_tree = tree_util.tree_flatten(args)
    found: list[Residual] = []

    def wrapper(*fl):
        builder = core._state.dynamic.global_data
        in_vars = {}

        def f(*xs):
            return tree_util.tree_leaves(fun(*tree_util.tree_unflatten(in_tree, xs)))
        for i, x in enumerate(fl):
            in_vars[id(x.node)] = i
        outs, linear, _ = linearize_flat(f, list(fl))
        producers = {}
        for eqn in builder.equations:
            for v in eqn.outputs:
                producers[id(v)] = eqn
        for c in linear.consts:
            aval = get_aval(c)
            if isinstance(c, GraphTracer) and id(c.node) in in_vars:
                found.append(Residual(aval, f"from argument {in_vars[id(c.node)]}"))
            elif isinstance(c, GraphTracer) and id(c.node) in producers:
                eqn = producers[id(c.node)]
                found.append(Residual(aval, f"output of {eqn.primitive.name} at {eqn.source_info}"))
            else:
                found.append(Residual(aval, "constant"))
        return outs

    make_graph(wrapper)(*flat)
    return found
