"""The primitives of ``checkpoint``: ``remat`` and ``optimization_barrier``.

``remat[call, policy, prevent_cse]`` holds the body graph. Its jvp rule runs
the primal body once, keeping only the values the policy calls saveable,
then replays the body for the tangents *at the level of the tangents*: under
``grad`` that level is the linear graph being staged, so every value the
policy did not save is recomputed inside the backward pass, and only the
inputs (and the saveable values) become residuals. An
``optimization_barrier`` on the replay's inputs keeps XLA from merging it
with the forward pass (and tells ``fx.passes.partial_eval`` that what follows
it belongs to the unknown side: ``replay_barrier``).

``transforms.checkpoint`` is the user API.

References:
    Chen et al., "Training Deep Nets with Sublinear Memory Cost" (2016); JAX's
    ad_checkpoint.py.
"""
from __future__ import annotations

from jax import lax

from fx.ad import Zero
from fx.batching import batch_body, def_body_batch
from fx.core import Primitive, def_vma_from_body, find_top_trace, full_raise
from fx.interpreter import Interpreter, bind_equation, lower_graph
from fx.ir import Literal, as_param

__all__ = ["remat_p", "optimization_barrier", "optimization_barrier_p"]


# --- optimization_barrier ---
optimization_barrier_p = Primitive("optimization_barrier", multiple_results=True)
optimization_barrier_p.replay_barrier = True
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
def_vma_from_body(remat_p, "call")


def _is_saveable(policy, eqn) -> bool:
    return bool(policy(eqn.primitive, *[x.aval for x in eqn.inputs], **eqn.params))


class _Replay(Interpreter):
    """Evaluates (primal, tangent) pairs: each equation's jvp rule, or, where
    every tangent is zero, its primal alone; values the policy saved come from
    the primal pass (lifted to ``trace``, they become residuals)."""

    def __init__(self, graph, saved: dict, trace):
        super().__init__(graph)
        self.saved, self.trace = saved, trace

    def read(self, x):
        if type(x) is Literal:
            return x.val, Zero(x.aval.strip_weak())
        return self.env[id(x)]

    def run_equation(self, eqn, invals):
        pin = [p for p, _ in invals]
        tin = [t for _, t in invals]
        saved = self.saved.get(id(eqn))
        if all(isinstance(t, Zero) for t in tin):
            pout = (bind_equation(eqn, pin) if saved is None
                    else [full_raise(self.trace, v) for v in saved])
            tout = [Zero(v.aval.strip_weak()) for v in eqn.outputs]
        else:
            pout, tout = eqn.primitive.rule("jvp")(pin, tin, **eqn.params)
            if not eqn.primitive.multiple_results:
                pout, tout = [pout], [tout]
            if saved is not None:  # saved values enter the tangent level as residuals
                pout = [full_raise(self.trace, v) for v in saved]
        return list(zip(pout, tout))


@remat_p.def_jvp
def _remat_jvp(primals, tangents, *, call, policy, prevent_cse):
    saved = {}

    class Primal(Interpreter):
        def run_equation(self, eqn, invals):
            outs = bind_equation(eqn, invals)
            if _is_saveable(policy, eqn):
                saved[id(eqn)] = outs
            return outs

    primal_outs = Primal(call.graph).run(*primals)

    # replay for tangents at the tangents' level (the linear graph under grad)
    nz = [t for t in tangents if not isinstance(t, Zero)]
    trace = find_top_trace(list(primals) + nz)
    lifted = [full_raise(trace, p) for p in primals]
    if prevent_cse and lifted:
        lifted = optimization_barrier(*lifted)
    outs = _Replay(call.graph, saved, trace).run(*zip(lifted, tangents))
    tangent_outs = [Zero(v.aval.strip_weak()) if type(v) is Literal else pair[1]
                    for v, pair in zip(call.graph.out_vars, outs)]
    return primal_outs, tangent_outs


def _remat_batch(args, bdims, *, axis_name, axis_size, call, policy, prevent_cse):
    args, _, batched = batch_body(call, args, bdims, axis_size, axis_name)
    outs = remat_p.bind(*batched.consts, *args, call=as_param(batched), policy=policy,
                        prevent_cse=prevent_cse)
    return outs, [0] * len(call.out_avals)


def_body_batch(remat_p, _remat_batch)
