"""Loops: ``while`` and ``scan`` primitives, and fori_loop / map built on them.

``while[cond_graph, body_graph, cond_nconsts, body_nconsts] *cond_consts *body_consts *init``
``scan[body, n_consts, n_carry, length, reverse, unroll] *consts *init *xs``

Reverse mode of ``scan`` follows JAX: the jvp of the body is partially
evaluated into a primal scan that also emits the residuals (stacked, one slice
per iteration; loop-invariant ones are hoisted out, not stacked) and a tangent
scan that reads them; the tangent scan is linear and its transpose is a scan
running the other way over the transposed body, accumulating the cotangents
of the loop constants in its carry. The graph therefore has O(1) equations in
the length. ``while_loop`` supports forward mode; its transpose raises, as JAX.

References:
    JAX's lax/control_flow/loops.py (_scan_partial_eval, _scan_transpose,
    _scan_batching_rule, _while_loop_batching_rule, _while_partial_eval).
"""
from __future__ import annotations

import builtins
from typing import Callable

import numpy as np
from jax import lax, tree_util

from fx.ad import (UndefinedPrimal, Zero, add_any, backward_pass, instantiate_zero, jvp_graph,
                   nonzero_mask, tangent_aval, zeros)
from fx.batching import batch_graph, broadcast_batch, def_body_batch, moveaxis, vmap_flat
from fx.core import ConcretizationError, Primitive, def_vma_from_body, get_aval
from fx.errors import FxTypeError, ShapeError
from fx.interpreter import eval_graph
from fx.ir import Equation, Graph, ShapedArray, Var
from fx.passes.partial_eval import partial_eval_graph
from fx.source_info import user_frame_info
from primitives.control_flow._common import (SubGraph, dce_graph, flatten_fn, fmt, lower_sub,
                                             permute, same_types, split_bind,
                                             tangents_above_primals, trace_flat, user_error)
from primitives.elementwise import add, convert_element_type, lt, select_n
from primitives.reductions import reduce_or
from primitives.shape import broadcast_in_dim, concatenate, reshape

__all__ = ["while_loop", "fori_loop", "scan", "map", "while_p", "scan_p"]


def _split(xs, *sizes):
    out, start = [], 0
    for n in sizes:
        out.append(list(xs[start:start + n]))
        start += n
    out.append(list(xs[start:]))
    return out


def _or(a, b):
    return [x or y for x, y in zip(a, b)]


def _fixpoint(flags, step):
    """Grow ``flags`` (per carry) with ``step(flags)`` until it stops changing."""
    while True:
        new = _or(flags, step(flags))
        if new == flags:
            return flags
        flags = new


# --- while ---
while_p = Primitive("while", multiple_results=True)


@while_p.def_abstract_eval
def _while_aval(*args, cond_graph, body_graph, cond_nconsts, body_nconsts):
    cc, bc, carry = _split(args, cond_nconsts, body_nconsts)
    if not same_types(cond_graph.in_avals, cc + carry):
        raise FxTypeError(f"while_loop: cond_fun takes {fmt(cond_graph.in_avals)}, got "
                          f"{fmt(cc + carry)}.")
    outs = cond_graph.out_avals
    if len(outs) != 1 or outs[0].shape != () or outs[0].dtype != np.dtype(bool):
        raise FxTypeError(f"while_loop: cond_fun must return a boolean scalar, got {fmt(outs)}.")
    if not same_types(body_graph.in_avals, bc + carry):
        raise FxTypeError(f"while_loop: body_fun takes {fmt(body_graph.in_avals)}, got "
                          f"{fmt(bc + carry)}.")
    if not same_types(body_graph.out_avals, carry):
        raise FxTypeError(f"while_loop: body_fun returns {fmt(body_graph.out_avals)} for the "
                          f"carry {fmt(carry)}; the carry type must not change.")
    return list(carry)


@while_p.def_vma
def _while_vma(*vmas, cond_graph, body_graph, cond_nconsts, body_nconsts):
    """check_vma typing: operands as they are (the tracer checked the carry keeps its
    type), a carry varies as the body returns it and as the predicate."""
    pred = cond_graph.out_avals[0].vma
    return list(vmas), [a.vma | pred for a in body_graph.out_avals]


@while_p.def_lowering
def _while_lowering(*args, cond_graph, body_graph, cond_nconsts, body_nconsts):
    cc, bc, init = _split(args, cond_nconsts, body_nconsts)
    avals = body_graph.out_avals
    init = tuple(lax.convert_element_type(x, a.dtype) if getattr(x, "dtype", None) != a.dtype
                 else x for x, a in zip(init, avals))
    out = lax.while_loop(lambda c: lower_sub(cond_graph.graph, cc + list(c))[0],
                         lambda c: tuple(lower_sub(body_graph.graph, bc + list(c))), init)
    return list(out)


def _while_params(cond_graph, body_graph, cond_nconsts, body_nconsts, origin=None):
    return dict(cond_graph=SubGraph(cond_graph), body_graph=SubGraph(body_graph, origin),
                cond_nconsts=cond_nconsts, body_nconsts=body_nconsts)


@while_p.def_jvp
def _while_jvp(primals, tangents, *, cond_graph, body_graph, cond_nconsts, body_nconsts):
    """One loop over (primal, tangent) carries. Under linearize, the primal loop
    runs alone and the jvp loop (recomputing the primal) is what gets staged;
    transposing it raises (see _while_transpose)."""
    cc, bc, init = _split(primals, cond_nconsts, body_nconsts)
    _, bc_dot, init_dot = _split(tangents, cond_nconsts, body_nconsts)
    bc_nz, init_nz = nonzero_mask(bc, bc_dot), nonzero_mask(init, init_dot)
    nb, nc = len(bc), len(init)
    carry_nz = _fixpoint(init_nz, lambda nz: jvp_graph(body_graph.graph, bc_nz + nz, nz)[2])
    g, tc, _ = jvp_graph(body_graph.graph, bc_nz + carry_nz, carry_nz)
    n_bdot = sum(bc_nz)
    # jvp inputs: tc, bc, carry, bc_dot, carry_dot -> tc, bc, bc_dot, carry, carry_dot
    t0 = len(tc)
    order = (list(range(t0 + nb)) + list(range(t0 + nb + nc, t0 + nb + nc + n_bdot))
             + list(range(t0 + nb, t0 + nb + nc)) + list(range(t0 + nb + nc + n_bdot, len(g.in_vars))))
    body = permute(g, order)
    c_dot_avals = [tangent_aval(get_aval(x)) for x, z in zip(init, carry_nz) if z]
    cg = cond_graph.graph
    cond = Graph(list(cg.in_vars) + [Var(a) for a in c_dot_avals], cg.equations, cg.out_vars)
    dots = [t for t, z in zip(bc_dot, bc_nz) if z]
    c_dots = [instantiate_zero(Zero(tangent_aval(get_aval(p)))) if isinstance(t, Zero) else t
              for p, t, z in zip(init, init_dot, carry_nz) if z]
    args = [*cc, *tc, *bc, *dots, *init, *c_dots]
    params = _while_params(cond, body, len(cc), len(tc) + nb + len(dots), user_frame_info(2))
    if tangents_above_primals(primals, dots + c_dots):
        unknowns = [False] * (len(cc) + len(tc) + nb) + [True] * len(dots) + \
                   [False] * nc + [True] * len(c_dots)
        outs = split_bind(while_p, args, unknowns, params, nc)
    else:
        outs = while_p.bind(*args, **params)
    it = iter(outs[nc:])
    return outs[:nc], [next(it) if z else Zero(tangent_aval(get_aval(p)))
                       for p, z in zip(init, carry_nz)]


@while_p.def_transpose
def _while_transpose(cts, *args, cond_graph, body_graph, cond_nconsts, body_nconsts):
    where = f" (the loop at {body_graph.origin})" if body_graph.origin else ""
    raise FxTypeError(
        f"Reverse-mode differentiation does not work for while_loop or fori_loop with dynamic "
        f"start/stop values{where}: the number of iterations is unknown, so the residuals "
        f"cannot be stored. Fix: use scan, or fori_loop with static Python int bounds (which "
        f"becomes a scan); forward mode (jvp, jacfwd) works.")


def _while_batch(args, bdims, *, axis_name, axis_size, cond_graph, body_graph, cond_nconsts,
                 body_nconsts):
    """Carries batched to a fixed point. A batched predicate makes every carry
    batched; the loop then runs while any lane is active and each lane keeps
    its value once its own predicate is false (select_n)."""
    args = [moveaxis(a, d, 0) if d is not None else a for a, d in zip(args, bdims)]
    cc, bc, init = _split(args, cond_nconsts, body_nconsts)
    cc_b, bc_b, init_b = _split([d is not None for d in bdims], cond_nconsts, body_nconsts)
    nc = len(init)
    carry_b = _fixpoint(init_b, lambda b: batch_graph(body_graph.graph, bc_b + b, axis_size, b,
                                                      axis_name)[2])
    pred_b = batch_graph(cond_graph.graph, cc_b + carry_b, axis_size, [False], axis_name)[2][0]
    if pred_b:
        carry_b = [True] * nc
    init = [broadcast_batch(x, axis_size, 0) if b and not ib else x
            for x, b, ib in zip(init, carry_b, init_b)]
    body, b_consts, _ = batch_graph(body_graph.graph, bc_b + carry_b, axis_size, carry_b, axis_name)
    cond, c_consts, _ = batch_graph(cond_graph.graph, cc_b + carry_b, axis_size, [pred_b], axis_name)
    c_ops, b_ops = c_consts + cc, b_consts + bc
    if pred_b:
        cond, c_ops, body, b_ops = _masked_loop(cond, c_ops, body, b_ops)
    outs = while_p.bind(*c_ops, *b_ops, *init,
                        **_while_params(cond, body, len(c_ops), len(b_ops)))
    return outs, [0 if b else None for b in carry_b]


def_body_batch(while_p, _while_batch)


def _masked_loop(cond, c_ops, body, b_ops):
    """Loop while any lane's predicate holds; lanes that are done keep their carry.

    Returns the new (cond graph, cond operands, body graph, body operands)."""
    n_c, n_b = len(c_ops), len(b_ops)

    def new_cond(*args):
        return [reduce_or(eval_graph(cond, *args)[0], (0,))]

    def new_body(*args):
        cconsts, bconsts, carry = _split(args, n_c, n_b)
        pred = eval_graph(cond, *cconsts, *carry)[0]
        new = eval_graph(body, *bconsts, *carry)
        return [select_n(broadcast_in_dim(pred, get_aval(c).shape, (0,)), c, n)
                for c, n in zip(carry, new)]

    cond2, cc2 = trace_flat(new_cond, cond.in_avals)
    body2, bc2 = trace_flat(new_body, list(cond.in_avals[:n_c]) + list(body.in_avals))
    return cond2, cc2 + c_ops, body2, bc2 + c_ops + b_ops


def _while_partial_eval(eqn, unknowns):
    """Known carries (not depending on unknown ones, predicate known) are computed
    by a loop of the known part; the unknown outputs by the whole loop again."""
    p = eqn.params
    ncc, nbc = p["cond_nconsts"], p["body_nconsts"]
    cc_uk, bc_uk, carry_uk = _split(unknowns, ncc, nbc)
    n_out = len(eqn.outputs)
    all_unknown = ([], [eqn], [True] * n_out)
    if any(cc_uk):
        return all_unknown
    body = p["body_graph"].graph
    carry_uk = _fixpoint(carry_uk, lambda uk: partial_eval_graph(body, bc_uk + uk, uk).out_unknown)
    if partial_eval_graph(p["cond_graph"].graph, cc_uk + carry_uk).out_unknown[0] or all(carry_uk):
        return all_unknown
    pe = partial_eval_graph(body, bc_uk + carry_uk, carry_uk)
    n_known = n_out - sum(carry_uk)
    known_body, _ = dce_graph(pe.known, [True] * n_known + [False] * len(pe.residuals))
    cg = p["cond_graph"].graph
    known_cond = Graph([v for v, u in zip(cg.in_vars, cc_uk + carry_uk) if not u],
                       cg.equations, cg.out_vars)
    cc, bc, carry = _split(eqn.inputs, ncc, nbc)
    known_eqn = Equation(
        while_p, tuple(cc) + tuple(x for x, u in zip(bc, bc_uk) if not u)
        + tuple(x for x, u in zip(carry, carry_uk) if not u),
        _while_params(known_cond, known_body, ncc, nbc - sum(bc_uk), p["body_graph"].origin),
        tuple(v for v, u in zip(eqn.outputs, carry_uk) if not u), eqn.source_info)
    unknown_eqn = eqn.replace(outputs=tuple(v if u else Var(v.aval)
                                            for v, u in zip(eqn.outputs, carry_uk)))
    return [known_eqn], [unknown_eqn], carry_uk


while_p.def_partial_eval(_while_partial_eval)


def _while_dce(eqn, used_outputs):
    p = eqn.params
    ncc, nbc = p["cond_nconsts"], p["body_nconsts"]
    cg, body = p["cond_graph"].graph, p["body_graph"].graph
    _, cond_used = dce_graph(cg, [True])
    cc_used, carry_by_cond = cond_used[:ncc], cond_used[ncc:]
    used = _fixpoint(_or(list(used_outputs), carry_by_cond),
                     lambda u: dce_graph(body, u)[1][nbc:])
    body2, body_used = dce_graph(body, used)
    bc_used = body_used[:nbc]
    body2 = Graph([v for v, u in zip(body2.in_vars, bc_used + used) if u], body2.equations,
                  body2.out_vars)
    cond2 = Graph([v for v, u in zip(cg.in_vars, cc_used + used) if u], cg.equations, cg.out_vars)
    cc, bc, carry = _split(eqn.inputs, ncc, nbc)
    keep = lambda xs, flags: tuple(x for x, f in zip(xs, flags) if f)  # noqa: E731
    return eqn.replace(inputs=keep(cc, cc_used) + keep(bc, bc_used) + keep(carry, used),
                       outputs=keep(eqn.outputs, used),
                       params=_while_params(cond2, body2, sum(cc_used), sum(bc_used),
                                            p["body_graph"].origin))


while_p.def_dce(_while_dce)


# --- scan ---
scan_p = Primitive("scan", multiple_results=True)


def _x_aval(aval: ShapedArray) -> ShapedArray:
    return aval.update(shape=aval.shape[1:])


def_vma_from_body(scan_p, "body")  # check_vma typing: the carry and ys as the body's


@scan_p.def_abstract_eval
def _scan_aval(*args, body, n_consts, n_carry, length, reverse, unroll):
    consts, carry, xs = _split(args, n_consts, n_carry)
    for x in xs:
        if not x.shape or x.shape[0] != length:
            raise ShapeError(f"scan: every xs must have a leading axis of the length {length}, "
                             f"got {x.str_short()}.")
    want = consts + carry + [_x_aval(x) for x in xs]
    if not same_types(body.in_avals, want):
        raise FxTypeError(f"scan: the body takes {fmt(body.in_avals)}, got {fmt(want)}.")
    outs = body.out_avals
    if not same_types(outs[:n_carry], carry):
        raise FxTypeError(f"scan: the body returns the carry {fmt(outs[:n_carry])} for the "
                          f"carry {fmt(carry)}; the carry type must not change.")
    return list(carry) + [a.update(shape=(length,) + a.shape) for a in outs[n_carry:]]


@scan_p.def_lowering
def _scan_lowering(*args, body, n_consts, n_carry, length, reverse, unroll):
    consts, init, xs = _split(args, n_consts, n_carry)
    avals = body.out_avals[:n_carry]
    init = tuple(lax.convert_element_type(x, a.dtype) if getattr(x, "dtype", None) != a.dtype
                 else x for x, a in zip(init, avals))

    def f(carry, x):
        outs = lower_sub(body.graph, consts + list(carry) + list(x))
        return tuple(outs[:n_carry]), tuple(outs[n_carry:])

    carry, ys = lax.scan(f, init, tuple(xs), length=length, reverse=reverse, unroll=unroll)
    return list(carry) + list(ys)


def _scan_params(body, n_consts, n_carry, length, reverse, unroll):
    return dict(body=SubGraph(body), n_consts=n_consts, n_carry=n_carry, length=length,
                reverse=reverse, unroll=unroll)


@scan_p.def_jvp
def _scan_jvp(primals, tangents, *, body, n_consts, n_carry, length, reverse, unroll):
    consts, init, xs = _split(primals, n_consts, n_carry)
    c_dot, i_dot, x_dot = _split(tangents, n_consts, n_carry)
    c_nz, i_nz, x_nz = nonzero_mask(consts, c_dot), nonzero_mask(init, i_dot), nonzero_mask(xs, x_dot)
    n_ys = len(body.out_avals) - n_carry
    g0 = body.graph
    carry_nz = _fixpoint(i_nz, lambda nz: jvp_graph(g0, c_nz + nz + x_nz,
                                                    nz + [False] * n_ys)[2][:n_carry])
    g, tc, out_nz = jvp_graph(g0, c_nz + carry_nz + x_nz, carry_nz + [False] * n_ys)
    ys_nz = out_nz[n_carry:]
    nk, nx = len(consts), len(xs)
    ncd, nid, nxd = sum(c_nz), sum(carry_nz), sum(x_nz)
    t0 = len(tc)
    p0 = t0 + nk + n_carry + nx  # first tangent input
    r = lambda a, n: list(range(a, a + n))  # noqa: E731
    in_order = (r(0, t0 + nk) + r(p0, ncd) + r(t0 + nk, n_carry) + r(p0 + ncd, nid)
                + r(t0 + nk + n_carry, nx) + r(p0 + ncd + nid, nxd))
    n_out = n_carry + n_ys
    out_order = r(0, n_carry) + r(n_out, nid) + r(n_carry, n_ys) + r(n_out + nid, sum(ys_nz))
    jbody = permute(g, in_order, out_order)
    dots_c = [t for t, z in zip(c_dot, c_nz) if z]
    dots_i = [instantiate_zero(Zero(tangent_aval(get_aval(p)))) if isinstance(t, Zero) else t
              for p, t, z in zip(init, i_dot, carry_nz) if z]
    dots_x = [t for t, z in zip(x_dot, x_nz) if z]
    args = [*tc, *consts, *dots_c, *init, *dots_i, *xs, *dots_x]
    params = _scan_params(jbody, t0 + nk + ncd, n_carry + nid, length, reverse, unroll)
    if tangents_above_primals(primals, dots_c + dots_i + dots_x):
        unknowns = ([False] * (t0 + nk) + [True] * ncd + [False] * n_carry + [True] * nid
                    + [False] * nx + [True] * nxd)
        outs = split_bind(scan_p, args, unknowns, params, n_carry)
    else:
        outs = scan_p.bind(*args, **params)
    carry, carry_dot, ys, ys_dot = _split(outs, n_carry, nid, n_ys)
    cd, yd = iter(carry_dot), iter(ys_dot)
    out_avals = _scan_aval(*[get_aval(a) for a in primals], body=body, n_consts=n_consts,
                           n_carry=n_carry, length=length, reverse=reverse, unroll=unroll)
    t_out = [next(cd) if z else Zero(tangent_aval(a))
             for z, a in zip(carry_nz, out_avals[:n_carry])]
    t_out += [next(yd) if z else Zero(tangent_aval(a)) for z, a in zip(ys_nz, out_avals[n_carry:])]
    return carry + ys, t_out


@scan_p.def_transpose
def _scan_transpose(cts, *args, body, n_consts, n_carry, length, reverse, unroll):
    """A scan running the other way over the transposed body. Carries are
    linear; consts and xs are linear where they are UndefinedPrimal, residuals
    otherwise. Cotangents of linear consts accumulate in the carry."""
    consts, init, xs = _split(args, n_consts, n_carry)
    c_lin = [isinstance(c, UndefinedPrimal) for c in consts]
    x_lin = [isinstance(x, UndefinedPrimal) for x in xs]
    res_c = [c for c, l in zip(consts, c_lin) if not l]
    res_x = [x for x, l in zip(xs, x_lin) if not l]
    ct_carry = [instantiate_zero(Zero(a.strip_weak())) if isinstance(c, Zero) else c
                for c, a in zip(cts[:n_carry], body.out_avals[:n_carry])]
    ct_ys = cts[n_carry:]
    y_nz = [not isinstance(c, Zero) for c in ct_ys]
    lin_c_avals = [c.aval.strip_weak() for c, l in zip(consts, c_lin) if l]
    g = body.graph
    lin_flags = c_lin + [True] * n_carry + x_lin
    y_avals = body.out_avals[n_carry:]
    nrc, nlc = len(res_c), len(lin_c_avals)

    def tbody(*a):
        rc, acc, ctc, cty, rx = _split(a, nrc, nlc, n_carry, sum(y_nz))
        rci, rxi = iter(rc), iter(rx)
        vals = ([None if l else next(rci) for l in c_lin] + [None] * n_carry
                + [None if l else next(rxi) for l in x_lin])
        cyi = iter(cty)
        cts_out = list(ctc) + [next(cyi) if z else Zero(av) for z, av in zip(y_nz, y_avals)]
        ct_in = backward_pass(g, [], lin_flags, vals, cts_out)
        ct_lc, ct_carry_in, ct_lx = _split(ct_in, nlc, n_carry)
        new_acc = [s if isinstance(c, Zero) else add_any(s, c) for s, c in zip(acc, ct_lc)]
        return new_acc + [instantiate_zero(c) for c in ct_carry_in] + \
            [instantiate_zero(c) for c in ct_lx]

    avals = ([get_aval(c) for c in res_c] + lin_c_avals + [get_aval(c) for c in ct_carry]
             + [_x_aval(get_aval(c)) for c, z in zip(ct_ys, y_nz) if z]
             + [_x_aval(get_aval(x)) for x in res_x])
    tgraph, tconsts = trace_flat(tbody, avals)
    acc0 = [zeros(a) for a in lin_c_avals]
    outs = scan_p.bind(*tconsts, *res_c, *acc0, *ct_carry, *[c for c, z in zip(ct_ys, y_nz) if z],
                       *res_x, **_scan_params(tgraph, len(tconsts) + nrc, nlc + n_carry, length,
                                              not reverse, unroll))
    ct_consts, ct_init, ct_xs = _split(outs, nlc, n_carry)
    ci, xi = iter(ct_consts), iter(ct_xs)
    return ([next(ci) if l else None for l in c_lin]
            + [c if isinstance(x, UndefinedPrimal) else None for c, x in zip(ct_init, init)]
            + [next(xi) if l else None for l in x_lin])


def _scan_batch(args, bdims, *, axis_name, axis_size, body, n_consts, n_carry, length, reverse,
                unroll):
    """Consts and carries batched in front, xs on axis 1 (axis 0 is scanned);
    which carries are batched is iterated to a fixed point."""
    consts, init, xs = _split(args, n_consts, n_carry)
    cd, idims, xd = _split(bdims, n_consts, n_carry)
    consts = [moveaxis(c, d, 0) if d is not None else c for c, d in zip(consts, cd)]
    xs = [moveaxis(x, d, 1) if d is not None else x for x, d in zip(xs, xd)]
    c_b, i_b, x_b = ([d is not None for d in ds] for ds in (cd, idims, xd))
    n_ys = len(body.out_avals) - n_carry
    g = body.graph
    carry_b = _fixpoint(i_b, lambda b: batch_graph(g, c_b + b + x_b, axis_size, b + [False] * n_ys,
                                                   axis_name)[2][:n_carry])
    init = [moveaxis(x, d, 0) if d is not None else (broadcast_batch(x, axis_size, 0) if b else x)
            for x, d, b in zip(init, idims, carry_b)]
    bgraph, bconsts, out_b = batch_graph(g, c_b + carry_b + x_b, axis_size, carry_b + [False] * n_ys,
                                         axis_name)
    outs = scan_p.bind(*bconsts, *consts, *init, *xs,
                       **_scan_params(bgraph, len(bconsts) + n_consts, n_carry, length, reverse,
                                      unroll))
    return outs, [0 if b else None for b in carry_b] + [1 if b else None for b in out_b[n_carry:]]


def_body_batch(scan_p, _scan_batch)


def _scan_partial_eval(eqn, unknowns):
    """Known scan (emitting the residuals) and unknown scan (reading them).

    Residuals that are known consts are passed to the unknown scan as consts,
    residuals that are known xs are passed as the same xs, and residuals that
    only depend on known consts are computed once, outside the loop; the
    others are stacked outputs of the known scan.
    """
    p = eqn.params
    n_consts, n_carry, length = p["n_consts"], p["n_carry"], p["length"]
    body = p["body"].graph
    c_uk, i_uk, x_uk = _split(unknowns, n_consts, n_carry)
    n_ys = len(body.out_vars) - n_carry
    carry_uk = _fixpoint(i_uk, lambda uk: partial_eval_graph(
        body, c_uk + uk + x_uk, uk + [False] * n_ys).out_unknown[:n_carry])
    pe = partial_eval_graph(body, c_uk + carry_uk + x_uk, carry_uk + [False] * n_ys)
    if all(pe.out_unknown):
        return [], [eqn], [True] * len(eqn.outputs)
    consts, init, xs = _split(eqn.inputs, n_consts, n_carry)
    b_consts, b_carry, b_xs = _split(body.in_vars, n_consts, n_carry)
    outer = {id(v): x for v, x, u in zip(b_consts, consts, c_uk) if not u}
    outer_x = {id(v): x for v, x, u in zip(b_xs, xs, x_uk) if not u}
    known = pe.known
    n_known_out = len(known.out_vars) - len(pe.residuals)
    invariant = _invariant_vars(known, set(outer))
    hoisted = [r for r in pe.residuals if id(r) in invariant and id(r) not in outer]
    hoist_eqns, hoist_map = _hoist(known, hoisted, outer)
    const_res = [r for r in pe.residuals if id(r) in outer or id(r) in hoist_map]
    xs_res = [r for r in pe.residuals if id(r) in outer_x]
    stacked = [r for r in pe.residuals if r not in const_res and r not in xs_res]
    known_body = Graph(known.in_vars, known.equations, list(known.out_vars[:n_known_out]) + stacked)
    known_body, _ = dce_graph(known_body, [True] * len(known_body.out_vars))
    stacked_vars = [Var(r.aval.update(shape=(length,) + r.aval.shape)) for r in stacked]
    k_consts = [x for x, u in zip(consts, c_uk) if not u]
    k_carry = [x for x, u in zip(init, carry_uk) if not u]
    k_xs = [x for x, u in zip(xs, x_uk) if not u]
    out_carry, out_ys = _split(eqn.outputs, n_carry)
    out_uk = carry_uk + pe.out_unknown[n_carry:]
    known_eqn = Equation(scan_p, tuple(k_consts + k_carry + k_xs),
                         _scan_params(known_body, len(k_consts), len(k_carry), length,
                                      p["reverse"], p["unroll"]),
                         tuple(v for v, u in zip(eqn.outputs, out_uk) if not u) + tuple(stacked_vars),
                         eqn.source_info)
    ug = pe.unknown
    nres = len(pe.residuals)
    u_consts, u_carry, u_xs = _split(list(ug.in_vars[nres:]), sum(c_uk), sum(carry_uk))
    ubody = Graph(const_res + u_consts + u_carry + stacked + xs_res + u_xs, ug.equations, ug.out_vars)
    const_ops = [outer[id(r)] if id(r) in outer else hoist_map[id(r)] for r in const_res]
    uk_in = lambda xs_, flags: [x for x, u in zip(xs_, flags) if u]  # noqa: E731
    unknown_eqn = Equation(
        scan_p, tuple(const_ops + uk_in(consts, c_uk) + uk_in(init, carry_uk) + stacked_vars
                      + [outer_x[id(r)] for r in xs_res] + uk_in(xs, x_uk)),
        _scan_params(ubody, len(const_ops) + sum(c_uk), sum(carry_uk), length, p["reverse"],
                     p["unroll"]),
        tuple(v for v, u in zip(eqn.outputs, out_uk) if u), eqn.source_info)
    return hoist_eqns + [known_eqn], [unknown_eqn], out_uk


def _invariant_vars(graph: Graph, const_ids: set) -> set:
    """Vars of ``graph`` computed from its const inputs only (loop invariants)."""
    inv = set(const_ids)
    for e in graph.equations:
        if all(type(x) is not Var or id(x) in inv for x in e.inputs):
            inv.update(id(v) for v in e.outputs)
    return inv


def _hoist(graph: Graph, targets, outer: dict):
    """Copy the equations computing ``targets`` out of the loop body, renaming
    the body's const inputs to the outer operands; returns (eqns, {id(target): outer var})."""
    if not targets:
        return [], {}
    sub, _ = dce_graph(Graph(graph.in_vars, graph.equations, targets), [True] * len(targets))
    env = dict(outer)
    eqns = []
    for e in sub.equations:
        outs = tuple(Var(v.aval) for v in e.outputs)
        eqns.append(e.replace(inputs=tuple(env.get(id(x), x) if type(x) is Var else x
                                           for x in e.inputs), outputs=outs))
        env.update({id(v): o for v, o in zip(e.outputs, outs)})
    return eqns, {id(t): env[id(t)] for t in targets}


scan_p.def_partial_eval(_scan_partial_eval)


def _scan_dce(eqn, used_outputs):
    p = eqn.params
    n_consts, n_carry = p["n_consts"], p["n_carry"]
    body = p["body"].graph
    used_carry, used_ys = _split(list(used_outputs), n_carry)
    used_carry = _fixpoint(used_carry, lambda u: dce_graph(body, u + used_ys)[1][n_consts:n_consts + n_carry])
    g, used_in = dce_graph(body, used_carry + used_ys)
    c_used, _, x_used = _split(used_in, n_consts, n_carry)
    in_flags = c_used + used_carry + x_used
    g = Graph([v for v, u in zip(g.in_vars, in_flags) if u], g.equations, g.out_vars)
    keep = lambda xs, flags: tuple(x for x, f in zip(xs, flags) if f)  # noqa: E731
    return eqn.replace(inputs=keep(eqn.inputs, in_flags),
                       outputs=keep(eqn.outputs, used_carry + used_ys),
                       params=_scan_params(g, sum(c_used), sum(used_carry), p["length"],
                                           p["reverse"], p["unroll"]))


scan_p.def_dce(_scan_dce)


# --- the user-facing functions ---
def _carry_paths(tree_leaves_with_path):
    return [tree_util.keystr(p) for p, _ in tree_leaves_with_path]


def _trace_loop_body(trace_once, init_leaves, paths, api: str, what: str):
    """Trace a loop body, promoting weak-typed initial carries to the type the
    body returns (as JAX); a carry whose type still changes is a typed error."""
    for _ in range(len(init_leaves) + 1):
        in_avals = [get_aval(x) for x in init_leaves]
        traced, out_avals = trace_once(in_avals)
        changed = False
        for i, (a, b) in enumerate(zip(in_avals, out_avals)):
            if (a.shape, a.dtype) == (b.shape, b.dtype) and not (a.weak_type and not b.weak_type):
                continue
            if a.weak_type and a.shape == b.shape:
                init_leaves[i] = convert_element_type(init_leaves[i], b.dtype, weak_type=False)
                changed = True
                continue
            raise user_error(f"{api}: {what} changes the type of the carry{paths[i]} from "
                             f"{a.str_short()} to {b.str_short()}; the carry must keep its "
                             f"shape and dtype. Fix: cast the new value (.astype({a.dtype.name})) "
                             f"or give the initial value the type the body returns.")
        _check_carry_vma(in_avals, out_avals, paths, api, what)
        if not changed:
            return traced, init_leaves
    raise AssertionError("carry promotion did not converge")


def _check_carry_vma(in_avals, out_avals, paths, api: str, what: str) -> None:
    """In a check_vma shard_map body a carry must keep the mesh axes it varies
    over; one that starts replicated and becomes varying (or the reverse)
    raises jax's TypeError (with jax's fix: cast the initial value)."""
    for i, (a, b) in enumerate(zip(in_avals, out_avals)):
        grown = tuple(sorted(b.vma - a.vma, key=str))
        lost = tuple(sorted(a.vma - b.vma, key=str))
        if lost and not grown:
            raise user_error(
                f"{api}: {what} returns the carry{paths[i]} ({a.str_short()}) invariant over the "
                f"mesh axes {lost} of the enclosing shard_map, but its initial value varies over "
                f"them; the carry must keep its type. Fix: apply pcast(new, {lost}, "
                f"to='varying') (jax.lax.pcast) to the value the body returns.")
        if grown:
            raise user_error(
                f"{api}: {what} makes the carry{paths[i]} ({a.str_short()}) vary over the mesh "
                f"axes {grown} of the enclosing shard_map, but its initial value is invariant "
                f"(replicated) over them; the carry must keep its type. Fix: apply "
                f"pcast(init, {grown}, to='varying') (jax.lax.pcast) to the initial carry value.")


def _check_tree(api, what, in_tree, out_tree):
    if in_tree != out_tree:
        raise user_error(f"{api}: {what} must return a carry with the structure of its input "
                         f"{in_tree}, got {out_tree}. Fix: return the same containers.")


def while_loop(cond_fun: Callable, body_fun: Callable, init_val):
    """Repeat ``val = body_fun(val)`` while ``cond_fun(val)`` (lax.while_loop).

    Forward mode (jvp) and vmap work (a batched predicate runs until every lane
    is done, freezing finished lanes). Reverse mode raises: use ``scan`` or
    ``fori_loop`` with static bounds.

    Args:
      cond_fun: carry -> boolean scalar.
      body_fun: carry -> carry of the same structure, shapes and dtypes.
      init_val: the initial carry (any pytree of arrays).

    Returns:
      The final carry.

    Example::

        >>> while_loop(lambda x: x < 10.0, lambda x: x * 2.0, 1.0)   # 16.0
    """
    if not (callable(cond_fun) and callable(body_fun)):
        raise user_error("while_loop: cond_fun and body_fun must be callable.")
    leaves, tree = tree_util.tree_flatten(init_val)
    paths = _carry_paths(tree_util.tree_flatten_with_path(init_val)[0])

    def trace_body(avals):
        box = []
        g, consts = trace_flat(flatten_fn(body_fun, tree, box), avals)
        _check_tree("while_loop", "body_fun", tree, box[0])
        return (g, consts), g.out_avals

    (body, b_consts), leaves = _trace_loop_body(trace_body, list(leaves), paths, "while_loop",
                                                "body_fun")
    box = []
    cond, c_consts = trace_flat(flatten_fn(cond_fun, tree, box), [get_aval(x) for x in leaves])
    outs = cond.out_avals
    if (len(outs) != 1 or not tree_util.treedef_is_leaf(box[0]) or outs[0].shape != ()
            or outs[0].dtype != np.dtype(bool)):
        got = fmt(outs) if len(outs) == 1 and tree_util.treedef_is_leaf(box[0]) else \
            f"pytree {box[0]}"
        raise user_error(f"while_loop: cond_fun must return a boolean scalar, got {got}. Fix: "
                         f"return one bool (not a tuple); reduce it (fnp.all / fnp.any) or "
                         f"compare (x < n).")
    outs = while_p.bind(*c_consts, *b_consts, *leaves,
                        **_while_params(cond, body, len(c_consts), len(b_consts)))
    return tree_util.tree_unflatten(tree, outs)


def fori_loop(lower, upper, body_fun: Callable, init_val, *, unroll=None):
    """``for i in range(lower, upper): val = body_fun(i, val)`` (lax.fori_loop).

    With concrete (static) bounds it is a ``scan`` and so differentiable in
    reverse mode; with traced bounds a ``while_loop`` (forward mode only).

    Example::

        >>> fori_loop(0, 5, lambda i, x: x + i, 0.0)   # 10.0
    """
    la, ua = get_aval(lower), get_aval(upper)
    if la.dtype.kind not in "iu" or ua.dtype.kind not in "iu" or la.shape or ua.shape:
        raise user_error(f"fori_loop: lower and upper must be integer scalars, got "
                         f"{la.str_short()} and {ua.str_short()}.")
    try:
        lo, hi = int(lower), int(upper)
    except (ConcretizationError, TypeError):
        static = False
    else:
        static = True
    if static:
        def step(carry, _):
            i, x = carry
            return (add(i, 1), body_fun(i, x)), None
        (_, result), _ = scan(step, (lo, init_val), None,
                              length=builtins.max(hi - lo, 0),
                              unroll=1 if unroll is None else unroll)
        return result
    if unroll not in (None, 1, False):
        raise user_error("fori_loop: unroll needs static (Python int) bounds.")
    if la.dtype != ua.dtype:
        if la.weak_type and not ua.weak_type:
            lower = convert_element_type(lower, ua.dtype)
        elif ua.weak_type and not la.weak_type:
            upper = convert_element_type(upper, la.dtype)
        else:
            raise user_error(f"fori_loop: lower and upper must have equal types, got "
                             f"{la.str_short()} and {ua.str_short()}.")
    _, _, result = while_loop(lambda c: lt(c[0], c[1]),
                              lambda c: (add(c[0], 1), c[1], body_fun(c[0], c[2])),
                              (lower, upper, init_val))
    return result


def scan(f: Callable, init, xs=None, length: int | None = None, reverse: bool = False,
         unroll: int | bool = 1):
    """Loop ``f`` over the leading axis of ``xs`` carrying a state (lax.scan).

    Semantics::

        def scan(f, init, xs, length=None):
            carry, ys = init, []
            for x in xs:
                carry, y = f(carry, x)
                ys.append(y)
            return carry, stack(ys)

    All transformations work; reverse mode stores one slice of residuals per
    iteration (``checkpoint`` inside ``f`` reduces them) and the graph has the
    same number of equations for any length.

    Args:
      f: ``(carry, x) -> (carry, y)``; the carry keeps its structure and types.
      init: the initial carry (pytree).
      xs: pytree of arrays scanned along axis 0, or None (then give ``length``).
      length: the number of iterations (checked against xs).
      reverse: scan from the end.
      unroll: iterations per XLA loop step (int; True unrolls fully).

    Returns:
      ``(final carry, stacked ys)``.
    """
    if not callable(f):
        raise user_error("scan: f must be callable.")
    x_leaves, x_tree = tree_util.tree_flatten(xs)
    x_avals = [get_aval(x) for x in x_leaves]
    for a in x_avals:
        if not a.shape:
            raise user_error(f"scan: xs leaves must have a leading axis to scan over, got the "
                             f"scalar {a.str_short()}.", ShapeError)
    lengths = {a.shape[0] for a in x_avals}
    if length is not None:
        length = int(length)
        lengths.add(length)
    if len(lengths) > 1:
        raise user_error(f"scan: inconsistent lengths: xs leading axes "
                         f"{[a.shape[0] for a in x_avals]}"
                         f"{'' if length is None else f' and length={length}'}; they must agree.",
                         ShapeError)
    if not lengths:
        raise user_error("scan: xs is None (or empty) and length is not given. Fix: pass "
                         "length=...", ShapeError)
    length = lengths.pop()
    i_leaves, i_tree = tree_util.tree_flatten(init)
    paths = _carry_paths(tree_util.tree_flatten_with_path(init)[0])
    n_carry = len(i_leaves)
    y_box = []

    def flat_body(*args):
        carry = tree_util.tree_unflatten(i_tree, args[:n_carry])
        x = tree_util.tree_unflatten(x_tree, args[n_carry:])
        out = f(carry, x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise user_error(f"scan: f must return a pair (carry, y), got {type(out).__name__}.")
        c_leaves, c_tree = tree_util.tree_flatten(out[0])
        _check_tree("scan", "f", i_tree, c_tree)
        y_leaves, y_tree = tree_util.tree_flatten(out[1])
        y_box.append(y_tree)
        return c_leaves + y_leaves

    def trace_body(avals):
        g, consts = trace_flat(flat_body, avals + [_x_aval(a) for a in x_avals])
        return (g, consts), g.out_avals[:n_carry]

    (body, consts), i_leaves = _trace_loop_body(trace_body, list(i_leaves), paths, "scan", "f")
    outs = scan_p.bind(*consts, *i_leaves, *x_leaves,
                       **_scan_params(body, len(consts), n_carry, length, bool(reverse), unroll))
    carry = tree_util.tree_unflatten(i_tree, outs[:n_carry])
    return carry, tree_util.tree_unflatten(y_box[-1], outs[n_carry:])


def _vmap_leading(f: Callable, xs):
    """``f`` mapped over the leading axis of every leaf of ``xs`` (vmap, in_axes=0)."""
    leaves, tree = tree_util.tree_flatten(xs)
    box = []

    def flat(*ls):
        out_leaves, out_tree = tree_util.tree_flatten(f(tree_util.tree_unflatten(tree, ls)))
        box.append(out_tree)
        return out_leaves
    outs = vmap_flat(flat, leaves, [0] * len(leaves), lambda: [0] * box[-1].num_leaves,
                     get_aval(leaves[0]).shape[0])
    return tree_util.tree_unflatten(box[-1], outs)


def map(f: Callable, xs, batch_size: int | None = None):  # noqa: A001 (lax.map)
    """``stack([f(x) for x in xs])`` as a scan (lax.map); with ``batch_size``,
    ``f`` is vmapped over chunks of that size (the remainder in one more call).

    Example::

        >>> map(lambda x: x @ x, fnp.ones((5, 3)))   # shape (5,)
    """
    if batch_size is None:
        return scan(lambda _, x: ((), f(x)), (), xs)[1]
    leaves = tree_util.tree_leaves(xs)
    n = get_aval(leaves[0]).shape[0]
    n_full = (n // batch_size) * batch_size
    head = tree_util.tree_map(
        lambda x: reshape(x[:n_full], (n // batch_size, batch_size) + tuple(x.shape[1:])), xs)
    ys = None
    if n_full:
        ys = scan(lambda _, x: ((), _vmap_leading(f, x)), (), head)[1]
        ys = tree_util.tree_map(lambda y: reshape(y, (n_full,) + tuple(y.shape[2:])), ys)
    if n_full < n:
        rest = _vmap_leading(f, tree_util.tree_map(lambda x: x[n_full:], xs))
        ys = rest if ys is None else tree_util.tree_map(lambda a, b: concatenate([a, b], 0),
                                                         ys, rest)
    return ys
