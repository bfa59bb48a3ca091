"""checkpoint / remat: trade compute for memory in reverse mode (as ``jax.checkpoint``).

``checkpoint(f, policy)`` stages ``remat[call, policy]`` (the primitive and
its rules are in ``primitives/control_flow/remat.py``): under ``grad`` every
value the policy does not save is recomputed inside the backward pass, and
only the inputs (and the saveable values) become residuals.

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

from jax import tree_util

from fx.ad import linearize_flat
from fx.argnums import as_tuple, check_callable, resolve_static_args
from fx.core import current_trace, get_aval, is_eager
from fx.ir import as_param
from fx.tracing import GraphTracer, make_graph
from primitives.control_flow.remat import optimization_barrier, remat_p

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
    check_callable(fun, "checkpoint")
    policy = nothing_saveable if policy is None else policy
    static_argnums = as_tuple(static_argnums)
    if static_argnums:
        resolve_static_args(fun, static_argnums, api="checkpoint")  # out of range: raises now

    @functools.wraps(fun)
    def wrapped(*args):
        if any(not -len(args) <= i < len(args) for i in static_argnums):
            raise ValueError(f"checkpoint: static_argnums={static_argnums} is out of range for a "
                             f"call with {len(args)} positional argument(s); each must be in "
                             f"{-len(args)}..{len(args) - 1} (as jax.checkpoint).")
        statics = {i % len(args) for i in static_argnums}
        if is_eager():
            return fun(*args)
        dyn = [a for i, a in enumerate(args) if i not in statics]
        flat, in_tree = tree_util.tree_flatten(dyn)

        def flat_fun(*fl):
            d = iter(tree_util.tree_unflatten(in_tree, fl))
            return fun(*[a if i in statics else next(d) for i, a in enumerate(args)])
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
    flat, in_tree = tree_util.tree_flatten(args)
    found: list[Residual] = []

    def wrapper(*fl):
        staged = current_trace()
        in_vars = {}

        def f(*xs):
            return tree_util.tree_leaves(fun(*tree_util.tree_unflatten(in_tree, xs)))
        for i, x in enumerate(fl):
            in_vars[id(x.node)] = i
        outs, linear, _ = linearize_flat(f, list(fl))
        producers = {}
        for eqn in staged.equations():
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
