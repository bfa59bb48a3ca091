"""Ghost and book-keeping clipping from a ``ClippingPlan`` (no per-example weight gradients).

One per-example pass (vmapped over the batch) runs the loss graph with a zero
"tap" added to the output of every tapped equation and takes the ``vjp``
with respect to the taps (and to the vmap-fallback parameters only): this is
the backward pass of the activations, without any weight gradient, and it
yields every tapped equation's output cotangent ``g_i``. The tapped
equations' example-dependent operands ``a_i`` come back as auxiliary outputs.
Per-example squared norms then come from ``ghost_norms`` (or a local vjp of
the one equation), summed over parameters.

The clipped sum ``sum_i c_i grad_i`` (``c_i = min(1, C / ||grad_i||)``) is then

- book-keeping: for each tapped equation, the weight gradient of the batched
  equation with the cotangent ``c_i g_i``: one weighted weight-gradient per
  layer, no second pass (Bu et al., 2023);
- ghost: a second backward pass of ``sum_i c_i loss_i`` (Li et al., 2022).

References:
    Bu et al., 2023: Differentially Private Optimization on Large Model at Small
    Cost. Li et al., 2022: Large Language Models Can Be Strong Differentially
    Private Learners. Goodfellow, 2015: Efficient Per-Example Gradient Computations.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from fx import Interpreter, bind_equation
from transforms import grad, vjp, vmap
from optim.dp.clipping_plan import ClippingPlan
from optim.dp.ghost_norms import ghost_rule, materialized_grad, shared_ghost_rule

__all__ = ["per_example_pass", "bookkeeping_sum", "ghost_sum"]


def _tapped_loss(plan: ClippingPlan, params: list, example: list, taps: dict, fb: list):
    """Evaluate the per-example loss graph with ``taps`` added to the outputs of
    the tapped equations and ``fb`` in place of the fallback parameters.

    Returns ``(loss, acts)``: ``acts[k]`` lists tapped equation k's operands that
    are computed in the graph (not params, consts or literals)."""
    params = list(params)
    for i, v in zip(plan.fallback, fb):
        params[i] = v
    tap_index = {id(eqn): k for k, eqn in enumerate(plan.closed.graph.equations) if k in taps}
    acts = {}

    class Tapped(Interpreter):
        def run_equation(self, eqn, invals):
            outs = bind_equation(eqn, invals)
            k = tap_index.get(id(eqn))
            if k is None:
                return outs
            acts[k] = [x for x, f in zip(invals, plan.fixed_inputs(k)) if f[0] == "act"]
            return [o + t for o, t in zip(outs, taps[k])]

    (out,) = Tapped(plan.closed).run(*params, *example)
    return out, acts


def _assemble(plan: ClippingPlan, k: int, acts: list, params: list, w=None, positions=()):
    """The inputs of tapped equation k from its stored operands, with ``w`` at
    ``positions`` (the parameter being differentiated)."""
    ins = []
    for j, (kind, ref) in enumerate(plan.fixed_inputs(k)):
        if j in positions:
            ins.append(w)
        elif kind == "act":
            ins.append(acts[ref])
        elif kind == "param":
            ins.append(params[ref])
        elif kind == "const":
            ins.append(plan.closed.consts[ref])
        else:
            ins.append(ref)
    return ins


def per_example_pass(plan: ClippingPlan, params: list, batch: list, per_layer: bool):
    """The vmapped per-example pass.

    Args:
      plan: the clipping plan of the per-example loss.
      params: flat parameter leaves.
      batch: flat example leaves with a leading batch axis.
      per_layer: return one squared norm per parameter leaf (else their sum).

    Returns:
      ``(losses (B,), acts, cts, fb_grads, sq)``: per tapped equation the stored
      operands and output cotangents (leading batch axis), the fallback
      parameters' per-example gradients, and the squared norms (``(B,)``, or
      a list of ``(B,)`` per parameter leaf when ``per_layer``).
    """
    graph = plan.closed.graph
    fb_idx = plan.fallback

    def one(example):
        # zeros like the example: inside a shard_map body they vary over the mesh axes the
        # example does, so their cotangents stay per example (not psum-ed over the shards)
        like = tree_util.tree_leaves(example)[0]
        taps = {k: [fnp.zeros_like(like, o.aval.dtype, o.aval.shape)
                    for o in graph.equations[k].outputs]
                for k in plan.taps}
        fb = [params[i] for i in fb_idx]

        def f(taps_, fb_):
            return _tapped_loss(plan, params, example, taps_, fb_)

        loss, f_vjp, acts = vjp(f, taps, fb, has_aux=True)
        cts, fb_grads = f_vjp(fnp.ones((), loss.dtype))
        sq = []
        for i, p in enumerate(plan.params):
            if p.kind == "ghost" and len(p.uses) == 1:
                (use,) = p.uses
                k = use.eqn_index
                eqn = graph.equations[k]
                invals = _assemble(plan, k, acts[k], params)
                sq.append(ghost_rule(eqn, use.positions).sq_norm(invals, cts[k]))
            elif p.kind == "ghost":          # one weight, several dense uses
                ks = [u.eqn_index for u in p.uses]
                rule = shared_ghost_rule([graph.equations[k] for k in ks],
                                         [u.positions for u in p.uses])
                sq.append(rule.sq_norm([(_assemble(plan, k, acts[k], params), cts[k])
                                        for k in ks]))
            elif p.kind == "materialized":
                g = None
                for use in p.uses:
                    k = use.eqn_index
                    invals = _assemble(plan, k, acts[k], params)
                    gk = materialized_grad(graph.equations[k], invals, use.positions, cts[k])
                    g = gk if g is None else g + gk
                sq.append(fnp.sum(fnp.square(g.astype(np.float32))))
            elif p.kind == "vmap":
                g = fb_grads[fb_idx.index(i)]
                sq.append(fnp.sum(fnp.square(g.astype(np.float32))))
            else:
                sq.append(fnp.zeros((), np.float32))
        if not per_layer:
            sq = sum(sq[1:], sq[0]) if sq else fnp.zeros((), np.float32)
        return loss, acts, cts, fb_grads, sq

    return vmap(one)(batch)


def _scale(x, c):
    """``c[i] * x[i]`` for a batched x (c of shape (B,))."""
    return x * c.reshape((c.shape[0],) + (1,) * (x.ndim - 1)).astype(x.dtype)


def bookkeeping_sum(plan: ClippingPlan, params: list, acts: dict, cts: dict, fb_grads: list,
                    factors: list) -> list:
    """``sum_i factors[p][i] * grad_i`` per parameter leaf p, from the stored
    operands and cotangents: each tapped use contributes the weight gradient of
    the batched equation with its cotangents scaled by the factors."""
    graph = plan.closed.graph
    out = []
    for i, p in enumerate(plan.params):
        c = factors[i]
        w = params[i]
        if p.kind in ("ghost", "materialized"):
            total = None
            for use in p.uses:
                k, pos = use.eqn_index, use.positions
                eqn = graph.equations[k]

                def batched(w_, k=k, pos=pos, eqn=eqn):
                    def one(*a):
                        ins = _assemble(plan, k, list(a), params, w_, pos)
                        return list(bind_equation(eqn, ins))
                    return vmap(one, axis_size=c.shape[0])(*acts[k])

                _, f_vjp = vjp(batched, w)
                (gw,) = f_vjp([_scale(g, c).astype(o.aval.dtype)
                               for g, o in zip(cts[k], eqn.outputs)])
                total = gw if total is None else total + gw
            out.append(total)
        elif p.kind == "vmap":
            g = fb_grads[plan.fallback.index(i)]
            out.append(fnp.tensordot(c.astype(g.dtype), g, axes=1))
        else:
            out.append(fnp.zeros(np.shape(w), w.dtype))
    return out


def ghost_sum(loss: Callable, params, batch, factor) -> object:
    """``grad(sum_i factor_i * loss(params, example_i))``: the second backward pass."""

    def weighted(p):
        losses = vmap(loss, in_axes=(None, 0))(p, batch)
        return fnp.sum(factor.astype(losses.dtype) * losses)

    return grad(weighted)(params)
