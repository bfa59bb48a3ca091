"""cond and switch: one ``cond`` primitive whose branches are sub-graphs.

``cond[branches=(g0, g1, ...)] index *operands`` runs ``branches[index]``
(``index`` an int32 scalar, already clamped). Values the branch functions
capture are leading operands shared by all branches.

Example::

    >>> print(fx.make_graph(lambda x: cond(x > 0, fnp.sin, fnp.cos, x))(1.0))
    { lambda ; a:f32[]. let
        b:bool[] = gt a 0.0:f32[]
        c:i32[] = convert_element_type[new_dtype=int32, weak_type=False] b
        d:f32[] = cond[branches=(
            { lambda ; a:f32[]. let
                b:f32[] = cos a
              in (b,) }
            { lambda ; a:f32[]. let
                b:f32[] = sin a
              in (b,) })] c a
      in (d,) }

References:
    JAX's lax/control_flow/conditionals.py (cond_p, _cond_partial_eval,
    _join_cond_pe_staged_jaxpr, _cond_transpose, _cond_batching_rule).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from jax import lax, tree_util

from fx.ad import (UndefinedPrimal, Zero, backward_pass, instantiate_zero, jvp_graph, nonzero_mask,
                   tangent_aval)
from fx.batching import def_body_batch, batch_graph, moveaxis, vmap_flat
from fx.core import Primitive, get_aval
from fx.errors import FxTypeError
from fx.interpreter import eval_graph
from fx.ir import Equation, Graph, Var
from fx.passes.partial_eval import partial_eval_graph
from primitives.control_flow._common import (SubGraph, dce_graph, flatten_fn, fmt, join_consts,
                                             lower_sub, same_types, split_bind,
                                             tangents_above_primals, trace_flat, user_error,
                                             zeros_eqn)
from primitives.elementwise import clamp, convert_element_type, ne, select_n
from primitives.shape import broadcast_in_dim

__all__ = ["cond", "switch", "cond_p"]


def _branch_params(graphs: Sequence[Graph]) -> dict:
    return {"branches": tuple(SubGraph(g) for g in graphs)}


# --- cond ---
cond_p = Primitive("cond", multiple_results=True)


@cond_p.def_abstract_eval
def _cond_aval(index, *ops, branches):
    if index.shape != () or index.dtype != np.dtype(np.int32):
        raise FxTypeError(f"cond: the branch index must be an int32 scalar, got "
                          f"{index.str_short()}.")
    out0 = branches[0].out_avals
    for i, g in enumerate(branches):
        if not same_types(g.in_avals, ops):
            raise FxTypeError(f"cond: branch {i} takes {fmt(g.in_avals)} but the operands are "
                              f"{fmt(ops)}.")
        if not same_types(g.out_avals, out0):
            raise FxTypeError(f"cond: branch {i} returns {fmt(g.out_avals)} but branch 0 returns "
                              f"{fmt(out0)}; all branches must return the same types.")
    return [a.update(weak_type=all(g.out_avals[k].weak_type for g in branches))
            for k, a in enumerate(out0)]


@cond_p.def_vma
def _cond_vma(index_vma, *vmas, branches):
    """check_vma typing: an output varies as that output of any branch and as the index."""
    outs = [index_vma.union(*[b.out_avals[i].vma for b in branches])
            for i in range(len(branches[0].out_avals))]
    return [index_vma, *vmas], outs


@cond_p.def_lowering
def _cond_lowering(index, *ops, branches):
    fns = [lambda *a, g=g: lower_sub(g.graph, a) for g in branches]
    return list(lax.switch(index, fns, *ops))


@cond_p.def_jvp
def _cond_jvp(primals, tangents, *, branches):
    index, *ops = primals
    nz = nonzero_mask(ops, tangents[1:])
    first = [jvp_graph(g.graph, nz, False) for g in branches]
    out_nz = [any(f[2][k] for f in first) for k in range(len(branches[0].out_avals))]
    # a branch whose own non-zero tangents are already all of them is reused:
    # re-tracing every branch would make nested conds exponential in depth
    graphs, consts = join_consts([f[:2] if f[2] == out_nz else jvp_graph(g.graph, nz, out_nz)[:2]
                                  for f, g in zip(first, branches)])
    dots = [t for t, z in zip(tangents[1:], nz) if z]
    args = [index, *consts, *ops, *dots]
    params = _branch_params(graphs)
    n_out = len(out_nz)
    if tangents_above_primals(primals, dots):
        unknowns = [False] * (1 + len(consts) + len(ops)) + [True] * len(dots)
        outs = split_bind(cond_p, args, unknowns, params, n_out)
    else:
        outs = cond_p.bind(*args, **params)
    it = iter(outs[n_out:])
    return outs[:n_out], [next(it) if z else Zero(tangent_aval(a))
                          for z, a in zip(out_nz, branches[0].out_avals)]


@cond_p.def_transpose
def _cond_transpose(cts, index, *ops, branches):
    """A cond of the transposed branches (each a backward pass over its graph)."""
    lin = [isinstance(o, UndefinedPrimal) for o in ops]
    res = [o for o, l in zip(ops, lin) if not l]
    ct_nz = [not isinstance(c, Zero) for c in cts]
    cts_nz = [c for c, z in zip(cts, ct_nz) if z]

    def transposed(g):
        def fn(*args):
            r, c = iter(args[:len(res)]), iter(args[len(res):])
            vals = [None if l else next(r) for l in lin]
            cts_out = [next(c) if z else Zero(a) for z, a in zip(ct_nz, g.out_avals)]
            return [instantiate_zero(x) for x in backward_pass(g.graph, [], lin, vals, cts_out)]
        return trace_flat(fn, [get_aval(r) for r in res] + [get_aval(c) for c in cts_nz])

    graphs, consts = join_consts([transposed(g) for g in branches])
    outs = iter(cond_p.bind(index, *consts, *res, *cts_nz, **_branch_params(graphs)))
    return [None] + [next(outs) if l else None for l in lin]


def _cond_batch(args, bdims, *, axis_name, axis_size, branches):
    """Unbatched index: a cond of batched branches. Batched index: every branch
    runs on the whole batch and ``select_n`` picks each lane's result (as JAX)."""
    index, *ops = args
    idx_bdim, *op_bdims = bdims
    ops = [moveaxis(o, d, 0) if d is not None else o for o, d in zip(ops, op_bdims)]
    in_b = [d is not None for d in op_bdims]
    n_out = len(branches[0].out_avals)
    if idx_bdim is not None:
        index = moveaxis(index, idx_bdim, 0)
        in_dims = [0 if b else None for b in in_b]
        per_branch = [vmap_flat(lambda *a, g=g: eval_graph(g.graph, *a), ops, in_dims,
                                [0] * n_out, axis_size, axis_name) for g in branches]
        outs = []
        for k in range(n_out):
            cases = [o[k] for o in per_branch]
            shape = get_aval(cases[0]).shape
            outs.append(select_n(broadcast_in_dim(index, shape, (0,)), *cases))
        return outs, [0] * n_out
    first = [batch_graph(g.graph, in_b, axis_size, [False] * n_out, axis_name) for g in branches]
    out_b = [any(f[2][k] for f in first) for k in range(n_out)]
    # reuse a branch already batched as the union needs (nested conds stay linear)
    graphs, consts = join_consts([
        f[:2] if f[2] == out_b else batch_graph(g.graph, in_b, axis_size, out_b, axis_name)[:2]
        for f, g in zip(first, branches)])
    outs = cond_p.bind(index, *consts, *ops, **_branch_params(graphs))
    return outs, [0 if b else None for b in out_b]


def_body_batch(cond_p, _cond_batch)


def _merge_residuals(res_avals_per_branch):
    """Residual slots shared across branches by type (JAX's _merge_branch_residuals)."""
    tagged = []
    for avals in res_avals_per_branch:
        counts = {}
        row = []
        for a in avals:
            k = (a.shape, a.dtype, a.weak_type)
            counts[k] = counts.get(k, -1) + 1
            row.append((k, counts[k], a))
        tagged.append(row)
    slots, index = [], {}
    for row in tagged:
        for k, c, a in row:
            if (k, c) not in index:
                index[(k, c)] = len(slots)
                slots.append(a)
    return slots, [[index[(k, c)] for k, c, _ in row] for row in tagged]


def _cond_partial_eval(eqn, unknowns):
    """Known cond (known operands -> known outputs + residuals, zero-filled in
    the slots of other branches) and unknown cond (residuals + unknown
    operands -> unknown outputs). An unknown index makes everything unknown."""
    branches = eqn.params["branches"]
    n_out = len(eqn.outputs)
    if unknowns[0]:
        return [], [eqn], [True] * n_out
    ops_uk = list(unknowns[1:])
    first = [partial_eval_graph(g.graph, ops_uk) for g in branches]
    out_uk = [any(pe.out_unknown[k] for pe in first) for k in range(n_out)]
    # a branch split as the union needs is reused (nested conds stay linear in depth)
    pes = [pe if pe.out_unknown == out_uk else
           partial_eval_graph(g.graph, ops_uk, instantiate=out_uk)
           for pe, g in zip(first, branches)]
    slots, slot_idx = _merge_residuals([[v.aval for v in pe.residuals] for pe in pes])
    n_known_out = n_out - sum(out_uk)
    known_graphs, unknown_graphs = [], []
    for pe, idx in zip(pes, slot_idx):
        kg = pe.known
        outs, res = list(kg.out_vars[:n_known_out]), list(kg.out_vars[n_known_out:])
        extra, fill = [], [None] * len(slots)
        for i, v in zip(idx, res):
            fill[i] = v
        for i, a in enumerate(slots):
            if fill[i] is None:
                e, fill[i] = zeros_eqn(a)
                extra.append(e)
        known_graphs.append(Graph(kg.in_vars, list(kg.equations) + extra, outs + fill))
        ug = pe.unknown
        ins = [Var(a) for a in slots]
        for i, v in zip(idx, ug.in_vars[:len(idx)]):
            ins[i] = v
        unknown_graphs.append(Graph(ins + list(ug.in_vars[len(idx):]), ug.equations, ug.out_vars))
    ops = eqn.inputs[1:]
    res_vars = [Var(a) for a in slots]
    known_eqn = Equation(cond_p, (eqn.inputs[0],) + tuple(x for x, u in zip(ops, ops_uk) if not u),
                         _branch_params(known_graphs),
                         tuple(v for v, u in zip(eqn.outputs, out_uk) if not u) + tuple(res_vars),
                         eqn.source_info)
    unknown_eqn = Equation(cond_p, (eqn.inputs[0], *res_vars, *[x for x, u in zip(ops, ops_uk) if u]),
                           _branch_params(unknown_graphs),
                           tuple(v for v, u in zip(eqn.outputs, out_uk) if u), eqn.source_info)
    return [known_eqn], [unknown_eqn], out_uk


cond_p.def_partial_eval(_cond_partial_eval)


def _cond_dce(eqn, used_outputs):
    branches = eqn.params["branches"]
    pruned = [dce_graph(g.graph, used_outputs) for g in branches]
    used_in = [any(col) for col in zip(*[used for _, used in pruned])]
    graphs = [Graph([v for v, u in zip(g.in_vars, used_in) if u], g.equations, g.out_vars)
              for g, _ in pruned]
    ops = [x for x, u in zip(eqn.inputs[1:], used_in) if u]
    return eqn.replace(inputs=(eqn.inputs[0], *ops), params=_branch_params(graphs),
                       outputs=tuple(v for v, u in zip(eqn.outputs, used_outputs) if u))


cond_p.def_dce(_cond_dce)


# --- the user-facing functions ---
def _trace_branches(fns, operands, api: str, names: Sequence[str]):
    """Trace each branch on the operands' avals; check the outputs agree."""
    leaves, in_tree = tree_util.tree_flatten(tuple(operands))
    avals = [get_aval(x) for x in leaves]

    def trace_all(cast_to=None):
        traced, trees = [], []
        for fn in fns:
            box = []
            flat = flatten_fn(fn, in_tree, box, star=True)
            if cast_to is not None:
                flat = _casting(flat, cast_to)
            traced.append(trace_flat(flat, avals))
            trees.append(box[0])
        return traced, trees

    traced, trees = trace_all()
    for name, tree in zip(names[1:], trees[1:]):
        if tree != trees[0]:
            raise user_error(f"{api}: the branches must return the same pytree structure, but "
                             f"{names[0]} returns {trees[0]} and {name} returns {tree}. Fix: "
                             f"return the same containers from every branch.")
    out0 = traced[0][0].out_avals
    for name, (g, _) in zip(names[1:], traced[1:]):
        if not same_types(g.out_avals, out0):
            diffs = [f"output {i}: {names[0]} gives {a.str_short()}, {name} gives {b.str_short()}"
                     for i, (a, b) in enumerate(zip(out0, g.out_avals))
                     if (a.shape, a.dtype) != (b.shape, b.dtype)]
            raise user_error(f"{api}: the branches must return equal types, but they differ: "
                             f"{'; '.join(diffs)}. Fix: cast with .astype(...) or reshape so that "
                             f"every branch returns the same shapes and dtypes.")
    weak = [all(g.out_avals[k].weak_type for g, _ in traced) for k in range(len(out0))]
    if any(g.out_avals[k].weak_type != w for g, _ in traced for k, w in enumerate(weak)):
        traced, _ = trace_all([a.update(weak_type=w) for a, w in zip(out0, weak)])
    graphs, consts = join_consts(traced)
    return graphs, consts, leaves, trees[0]


def _casting(flat, avals):
    def fn(*args):
        return [o if w.weak_type or not get_aval(o).weak_type
                else convert_element_type(o, w.dtype, weak_type=False)
                for o, w in zip(flat(*args), avals)]
    return fn


def _bind_cond(index, fns, operands, api, names):
    graphs, consts, leaves, out_tree = _trace_branches(fns, operands, api, names)
    outs = cond_p.bind(index, *consts, *leaves, **_branch_params(graphs))
    return tree_util.tree_unflatten(out_tree, outs)


def cond(pred, true_fun: Callable, false_fun: Callable, *operands):
    """Run ``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)`` (lax.cond).

    Both branches are traced; the one taken is chosen at run time (under jit,
    inside one XLA program). Differentiable in both modes; under vmap a batched
    ``pred`` runs both branches and selects per lane, as in JAX.

    Args:
      pred: a boolean (or integer, compared with 0) scalar.
      true_fun, false_fun: functions of ``operands`` returning the same pytree
        structure with equal shapes and dtypes.
      *operands: pytrees of arrays passed to the branch taken.

    Returns:
      The output of the branch taken.

    Raises:
      FxTypeError: for a non-scalar or floating-point ``pred`` (unlike JAX,
        which compares floats with 0), or branches whose outputs differ.

    Example::

        >>> cond(x > 0, lambda x: x * 2.0, lambda x: -x, x)
    """
    if not (callable(true_fun) and callable(false_fun)):
        raise user_error("cond: true_fun and false_fun must be callable.")
    aval = get_aval(pred)
    if aval.shape != ():
        raise user_error(f"cond: the predicate must be a scalar, got {aval.str_short()}. Fix: "
                         f"reduce it (fnp.any / fnp.all), or use fnp.where for elementwise "
                         f"selection.")
    if aval.dtype.kind in "iu":
        pred = ne(pred, 0)
    elif aval.dtype.kind != "b":
        raise user_error(f"cond: the predicate must be boolean (or integer), got "
                         f"{aval.str_short()}. Fix: compare it, e.g. `x > 0`.")
    index = convert_element_type(pred, np.int32)
    return _bind_cond(index, (false_fun, true_fun), operands, "cond", ("false_fun", "true_fun"))


def switch(index, branches: Sequence[Callable], *operands):
    """Run ``branches[index](*operands)``, with ``index`` clamped to the valid
    range (lax.switch).

    Args:
      index: an integer scalar.
      branches: a sequence of functions returning equal types.
      *operands: pytrees of arrays passed to the chosen branch.

    Example::

        >>> switch(i, [fnp.sin, fnp.cos, fnp.tanh], x)
    """
    branches = tuple(branches)
    if not branches or not all(callable(b) for b in branches):
        raise user_error("switch: branches must be a non-empty sequence of callables.")
    aval = get_aval(index)
    if aval.shape != () or aval.dtype.kind not in "iu":
        raise user_error(f"switch: the branch index must be an integer scalar, got "
                         f"{aval.str_short()}.")
    if len(branches) == 1:
        return branches[0](*operands)
    index = clamp(np.int32(0), convert_element_type(index, np.int32), np.int32(len(branches) - 1))
    names = [f"branch {i}" for i in range(len(branches))]
    return _bind_cond(index, branches, operands, "switch", names)
