"""Forward mode: ``jvp`` and ``linearize`` (as ``jax.jvp`` / ``jax.linearize``).

The user API over ``fx.ad``: pytrees, argument checks, float0 tangents of
integer values. ``fx.ad.JVPTrace`` applies the primitives' jvp rules;
``fx.ad.linearize_flat`` stages the tangent computation into a linear graph
while the primal one runs as usual, so Python control flow on concrete primals
works under ``grad`` outside ``jit``, as in JAX.

References:
    Autodidax (JVPTrace, linearize via partial evaluation); "You Only Linearize
    Once" (Radul et al., 2022).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from jax import tree_util

from fx.ad import JVPTracer, Zero, instantiate_zero, jvp_flat, linearize_flat, tangent_aval
from fx.core import Tracer, full_lower, get_aval
from fx.dtypes import float0, float0_zeros, is_float
from fx.errors import FxTypeError
from fx.interpreter import eval_graph

__all__ = ["jvp", "linearize"]


def _check_tangent(p, t, path):
    if isinstance(t, Zero):
        return
    pa = get_aval(p)
    if getattr(t, "dtype", None) == float0:
        if is_float(pa):
            raise FxTypeError(f"jvp: float0 tangent given for the float primal {pa.str_short()} "
                              f"at {path}; float0 tangents are for integer/bool primals.")
        return
    ta = get_aval(t)
    if pa.shape != ta.shape:
        raise FxTypeError(f"jvp: tangent {ta.str_short()} does not match primal {pa.str_short()} "
                          f"at {path}: tangents must have the primals' shapes and dtypes.")
    if is_float(pa) and pa.dtype != ta.dtype:
        raise FxTypeError(f"jvp: tangent dtype {ta.dtype} does not match primal dtype {pa.dtype} "
                          f"at {path}. Fix: cast the tangent with .astype({pa.dtype.name}).")


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
    t_flat = [t if is_float(get_aval(p)) else Zero(tangent_aval(get_aval(p)))
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
    if not is_float(aval):
        return float0_zeros(aval)
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


def linearize(fun: Callable, *primals):
    """As ``jax.linearize``: returns ``(primals_out, f_jvp)`` where ``f_jvp(*tangents)``
    evaluates the staged linear map (no re-run of the primal computation)."""
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
