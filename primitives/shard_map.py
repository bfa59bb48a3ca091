"""shard_map: a per-shard body over a device mesh, held by one equation.

``shard_map[mesh, in_specs, out_specs, manual_axes, check_vma, body] *args``
runs ``body`` (a sub-graph over the *per-shard* avals) on every device of
``mesh``: each argument is split into blocks by its ``PartitionSpec`` (a
dimension named by mesh axes is divided by their sizes), and each output is
stitched from the per-device blocks by its out spec (a mesh axis not named in
an out spec means the output is replicated over it). Inside the body the
manual mesh axes are bound in ``fx.axis_env`` with no trace, so the
collectives of ``primitives.collectives`` are staged and lower to ``jax.lax``
collectives; the equation lowers through ``jax.shard_map`` inside the one
XLA program, and eagerly runs as that program.

Varying manual axes (``check_vma``, as jax): every value of the body varies
over a set of mesh axes (an input over the axes its spec names; ``psum``
removes axes, ``axis_index`` and ``all_gather`` add them), tracked while the
body is traced (``ShapedArray.vma``, ``fx.axis_env.vma_checked_axes``): an op
mixing values of different variation casts the less varying ones
(``Primitive.bind`` inserts ``pvary``, jax's ``pcast(..., to='varying')``)
and ``psum`` binds ``psum_invariant``. The transpose of ``psum_invariant`` is
``pvary`` (a broadcast, no communication) and that of ``pvary`` a psum, so
reverse mode follows jax's replication rules, for a ``grad`` of the whole
shard_map and for one taken inside the body (the gradient of a replicated
parameter is summed over the shards). ``vma_pass`` re-derives the variation
of a finished body (control-flow bodies, bodies transformed without the
tracking) and casts the outputs to their out specs; an out spec that claims
replication of a varying value raises ``ShapeError``.

Rules: abstract eval, lowering, jvp, partial eval (residuals leave the known
shard_map stacked over the axes they vary on), transpose, batching (vmap of
shard_map: the batch dimension is unsharded) and dce.

Example (a mesh of 2 devices along ``'i'``)::

    >>> print(fx.make_graph(transforms.shard_map(lambda x: P.psum(x, 'i'), mesh=mesh,
    ...       in_specs=P('i'), out_specs=P()))(fnp.ones(8)))
    { lambda ; a:f32[8]. let
        b:f32[4] = shard_map[mesh=Mesh('i': 2, axis_types=(Auto,)), in_specs=(P('i',),), out_specs=(P(),), manual_axes=('i',), check_vma=True, body=
            { lambda ; a:f32[4]{V:i}. let
                b:f32[4] = psum_invariant[axes=('i',)] a
              in (b,) }] a
      in (b,) }

References:
    jax/_src/shard_map.py (``_shard_map_partial_eval``, ``_shard_map_transpose``,
    vma checking); "Efficiently Scaling Transformer Inference" for the
    per-device programming model.
"""
from __future__ import annotations

import contextlib
import math
from typing import Sequence

import jax
from jax.sharding import PartitionSpec

from fx.ad import (UndefinedPrimal, Zero, backward_pass, instantiate_zero, jvp_graph, nonzero_mask,
                   tangent_aval)
from fx.axis_env import extend_axis_env
from fx.batching import batch_graph, current_spmd_axis_name, def_body_batch, moveaxis
from fx.core import Primitive, get_aval
from fx.errors import ShapeError
from fx.ir import ClosedGraph, Equation, Graph, ShapedArray, Var, map_subgraphs, subgraphs
from fx.passes.partial_eval import partial_eval_graph
from primitives.collectives import (CollectivePrimitive, axis_index_p, psum_invariant_p, psum_p,
                                    pvary_p, vma_checked_axes)
from primitives.control_flow._common import (SubGraph, dce_graph, lower_sub, split_bind,
                                             tangents_above_primals, trace_flat)
from primitives.shape import reshape_p

__all__ = ["shard_map_p", "mesh_env", "check_spec", "shard_aval", "unshard_aval", "spec_axes",
           "make_params", "vma_pass"]


# --- specs and per-shard avals ---------------------------------------------------------
def _entry_names(entry) -> tuple:
    if entry is None:
        return ()
    return tuple(entry) if isinstance(entry, (tuple, list)) else (entry,)


def spec_axes(spec) -> tuple:
    """The mesh axis names a PartitionSpec mentions, in order."""
    return tuple(n for e in (spec or ()) for n in _entry_names(e))


def check_spec(spec, aval: ShapedArray, mesh, manual: Sequence, what: str) -> None:
    if spec is not None and not isinstance(spec, PartitionSpec):
        raise ShapeError(f"shard_map: the spec of {what} must be a jax.sharding.PartitionSpec, "
                         f"got {spec!r}.")
    spec = spec or ()
    if len(spec) > aval.ndim:
        raise ShapeError(f"shard_map: the spec {spec} of {what} has {len(spec)} entries but "
                         f"{what} is {aval.str_short()}, of rank {aval.ndim}. Fix: give at most "
                         f"one entry per dimension.")
    seen = set()
    for d, entry in enumerate(spec):
        for n in _entry_names(entry):
            if n not in mesh.shape:
                raise ShapeError(f"shard_map: the spec {spec} of {what} names the mesh axis "
                                 f"{n!r}, which is not an axis of the mesh (axes: "
                                 f"{tuple(mesh.axis_names)}).")
            if n not in manual:
                raise ShapeError(f"shard_map: the spec {spec} of {what} names the mesh axis "
                                 f"{n!r}, which is not one of the manual axes {tuple(manual)} "
                                 f"(axis_names).")
            if n in seen:
                raise ShapeError(f"shard_map: the spec {spec} of {what} names the mesh axis "
                                 f"{n!r} twice.")
            seen.add(n)


def _entry_size(mesh, entry) -> int:
    return math.prod(mesh.shape[n] for n in _entry_names(entry))


def shard_aval(aval: ShapedArray, spec, mesh, manual: Sequence, what: str) -> ShapedArray:
    """The per-shard aval of a global ``aval`` split by ``spec`` (typed errors
    name ``what``, the axis and the shape)."""
    check_spec(spec, aval, mesh, manual, what)
    shape = list(aval.shape)
    for d, entry in enumerate(spec or ()):
        n = _entry_size(mesh, entry)
        if shape[d] % n:
            raise ShapeError(f"shard_map: dimension {d} of {what} ({aval.str_short()}) has size "
                             f"{shape[d]}, which is not divisible by the size {n} of the mesh "
                             f"axis {entry!r} its spec {spec} maps it over. Fix: pad it to a "
                             f"multiple of {n} or shard another dimension.")
        shape[d] //= n
    return aval.update(shape=tuple(shape))


def unshard_aval(aval: ShapedArray, spec, mesh) -> ShapedArray:
    """The global aval stitched from per-shard blocks of ``aval`` by ``spec``."""
    shape = list(aval.shape)
    for d, entry in enumerate(spec or ()):
        shape[d] *= _entry_size(mesh, entry)
    return aval.update(shape=tuple(shape), vma=())


@contextlib.contextmanager
def mesh_env(mesh, manual: Sequence, check_vma: bool = False):
    """Bind the manual mesh axes (no trace: jax.shard_map implements them); with
    ``check_vma`` their psums bind ``psum_invariant``."""
    with contextlib.ExitStack() as stack:
        for n in manual:
            stack.enter_context(extend_axis_env(n, mesh.shape[n]))
        if check_vma:
            stack.enter_context(vma_checked_axes(tuple(manual)))
        yield


# --- varying manual axes ---------------------------------------------------------------
_REDUCING = ("psum", "psum_invariant", "pmax", "pmin")


def vma_pass(graph: Graph, in_vma: Sequence, manual: Sequence,
             out_target: Sequence | None = None) -> tuple[Graph, list]:
    """Make the invariant -> varying casts of ``graph`` explicit (as jax's check_vma).

    Args:
      graph: a shard_map body.
      in_vma: per input, the mesh axes it varies over.
      manual: the manual mesh axes.
      out_target: per output, the axes its out spec names (outputs varying over
        fewer are cast); None to leave the outputs alone.

    Returns:
      ``(graph with pvary equations and psum -> psum_invariant, out_vma)``.
    """
    manual_set = frozenset(manual)
    vma = {id(v): frozenset(s) & manual_set for v, s in zip(graph.in_vars, in_vma)}
    eqns: list = []

    def get(x):
        return vma.get(id(x), frozenset()) if type(x) is Var else frozenset()

    def cast(x, target):
        have = get(x)
        missing = tuple(a for a in manual if a in target and a not in have)
        if not missing or type(x) is not Var:
            return x
        out = Var(x.aval.update(vma=have | frozenset(missing)))
        eqns.append(Equation(pvary_p, (x,), {"axes": missing}, (out,), None))
        vma[id(out)] = have | frozenset(missing)
        return out

    for eqn in graph.equations:
        prim = eqn.primitive
        if prim is pvary_p:
            out_v = get(eqn.inputs[0]) | (frozenset(eqn.params["axes"]) & manual_set)
        elif isinstance(prim, CollectivePrimitive) and prim is not axis_index_p and eqn.inputs:
            axes = frozenset(eqn.params["axes"]) & manual_set
            ins = (cast(eqn.inputs[0], get(eqn.inputs[0]) | axes),) + tuple(eqn.inputs[1:])
            base = get(eqn.inputs[0]) | axes
            out_v = base - axes if prim.name in _REDUCING else base
            if prim is psum_p:
                prim = psum_invariant_p
            eqn = eqn.replace(primitive=prim, inputs=ins)
        elif prim is axis_index_p:
            out_v = frozenset(eqn.params["axes"]) & manual_set
        elif prim.vma is not None and not subgraphs(eqn):  # typed by its own rule (custom_lin)
            in_t, out_v = prim.vma(*[get(x) for x in eqn.inputs], **eqn.params)
            eqn = eqn.replace(inputs=tuple(cast(x, t) for x, t in zip(eqn.inputs, in_t)))
        elif prim.name in _TYPED_BODIES:
            eqn, in_t, out_v = _TYPED_BODIES[prim.name](eqn, [get(x) for x in eqn.inputs], manual)
            eqn = eqn.replace(inputs=tuple(cast(x, t) for x, t in zip(eqn.inputs, in_t)))
        elif prim is not shard_map_p and subgraphs(eqn):
            eqn, out_v = _vma_bodies(eqn, frozenset().union(*[get(x) for x in eqn.inputs]),
                                     manual)
            eqn = eqn.replace(inputs=tuple(cast(x, out_v) for x in eqn.inputs))
        else:
            out_v = frozenset().union(*[get(x) for x in eqn.inputs])
            if any(get(x) != out_v for x in eqn.inputs if type(x) is Var):
                eqn = eqn.replace(inputs=tuple(cast(x, out_v) for x in eqn.inputs))
        eqns.append(eqn)
        for o, v in zip(eqn.outputs, out_v if isinstance(out_v, list) else
                        [out_v] * len(eqn.outputs)):
            vma[id(o)] = v
    outs = list(graph.out_vars)
    out_vma = [get(v) for v in outs]
    if out_target is not None:
        outs = [cast(v, frozenset(t)) for v, t in zip(outs, out_target)]
    return Graph(graph.in_vars, eqns, outs), out_vma


def _typed_body(g, in_vma, manual, out_target=None):
    """``vma_pass`` on a sub-graph param: (the new param, its outputs' variation)."""
    graph = g.graph if isinstance(g, ClosedGraph) else g
    new, out_vma = vma_pass(graph, in_vma, manual, out_target)
    return (g.replace(graph=new) if isinstance(g, ClosedGraph) else new), out_vma


def _vma_remat(eqn, in_v, manual):
    """remat and the custom-rule calls: the ``call`` body typed on the operands."""
    call, out_v = _typed_body(eqn.params["call"], in_v, manual)
    return eqn.replace(params={**eqn.params, "call": call}), in_v, out_v


def _vma_cond(eqn, in_v, manual):
    """A branch's outputs are cast to the variation of that output of any branch
    (and of the index), inside the branch."""
    branches = eqn.params["branches"]
    outs = [_typed_body(b, in_v[1:], manual)[1] for b in branches]
    u = [in_v[0].union(*col) for col in zip(*outs)]
    new = tuple(_typed_body(b, in_v[1:], manual, u)[0] for b in branches)
    return eqn.replace(params={**eqn.params, "branches": new}), in_v, u


def _loop_fixpoint(in_v, carry_at: slice, run):
    """Grow the carries' variation to what the body returns (the loop's carry
    operands are then cast before the loop, as jax's fix); ``run(in_v)`` gives
    the carries' and the other outputs' variation."""
    in_v = list(in_v)
    while True:
        carry_out, extra = run(in_v)
        grown = [c | o for c, o in zip(in_v[carry_at], carry_out)]
        if grown == in_v[carry_at]:
            return in_v, extra
        in_v[carry_at] = grown


def _vma_scan(eqn, in_v, manual):
    p = eqn.params
    n_c, n_k = p["n_consts"], p["n_carry"]
    carry_at = slice(n_c, n_c + n_k)

    def run(v):
        outs = _typed_body(p["body"], v, manual)[1]
        return outs[:n_k], outs[n_k:]
    in_v, ys = _loop_fixpoint(in_v, carry_at, run)
    body, _ = _typed_body(p["body"], in_v, manual, in_v[carry_at] + ys)
    return eqn.replace(params={**p, "body": body}), in_v, in_v[carry_at] + ys


def _vma_while(eqn, in_v, manual):
    p = eqn.params
    ncc, nbc = p["cond_nconsts"], p["body_nconsts"]
    carry_at = slice(ncc + nbc, len(in_v))

    def run(v):
        pred = _typed_body(p["cond_graph"], v[:ncc] + v[carry_at], manual)[1][0]
        outs = _typed_body(p["body_graph"], v[ncc:], manual)[1]
        return [o | pred for o in outs], None
    in_v, _ = _loop_fixpoint(in_v, carry_at, run)
    cond, _ = _typed_body(p["cond_graph"], in_v[:ncc] + in_v[carry_at], manual)
    body, _ = _typed_body(p["body_graph"], in_v[ncc:], manual, in_v[carry_at])
    return (eqn.replace(params={**p, "cond_graph": cond, "body_graph": body}), in_v,
            in_v[carry_at])


# the higher-order primitives typed per operand and per output (as their vma rules at
# trace time); others have every operand cast to one variation (``_vma_bodies``)
_TYPED_BODIES = {"remat": _vma_remat, "custom_jvp_call": _vma_remat,
                 "custom_vjp_call": _vma_remat, "cond": _vma_cond, "scan": _vma_scan,
                 "while": _vma_while}


def _vma_bodies(eqn: Equation, u: frozenset, manual: Sequence) -> tuple[Equation, frozenset]:
    """Apply the vma pass inside a control-flow equation's bodies. Every input
    is cast to one variation ``u`` (so a loop's carry keeps its type); ``u``
    grows until no body output varies over more."""
    while True:
        seen: list = []

        def one(g):
            graph = g.graph if isinstance(g, ClosedGraph) else g
            n_out = len(graph.out_vars)
            new, out_vma = vma_pass(graph, [u] * len(graph.in_vars), manual, [u] * n_out)
            seen.extend(out_vma)
            return g.replace(graph=new) if isinstance(g, ClosedGraph) else new

        new_eqn = map_subgraphs(eqn, one)
        grown = u.union(*seen)
        if grown == u:
            return new_eqn, u
        u = grown


def make_params(graph: Graph, in_specs: Sequence, out_specs: Sequence, mesh, manual: Sequence,
                check_vma: bool) -> dict:
    """The params of a shard_map equation for ``graph`` (with check_vma: the
    vma pass applied, and out specs claiming replication of varying values
    rejected)."""
    in_specs, out_specs = tuple(in_specs), tuple(out_specs)
    manual = tuple(manual)
    if check_vma:
        targets = [frozenset(spec_axes(s)) for s in out_specs]
        graph, out_vma = vma_pass(graph, [spec_axes(s) for s in in_specs], manual, targets)
        for i, (v, t, s) in enumerate(zip(out_vma, targets, out_specs)):
            extra = [a for a in manual if a in v and a not in t]
            if extra:
                aval = graph.out_avals[i]
                raise ShapeError(
                    f"shard_map: out_specs[{i}]={s} claims output {i} (per shard "
                    f"{aval.str_short()}) is replicated over the mesh axis "
                    f"{', '.join(map(repr, extra))}, but it varies over it (it depends on an "
                    f"input sharded over {extra[0]!r} with no psum / all_gather over it). Fix: "
                    f"reduce it (psum / pmean over {extra[0]!r}), name {extra[0]!r} in its out "
                    f"spec, or pass check_vma=False.")
    return {"mesh": mesh, "in_specs": in_specs, "out_specs": out_specs, "manual_axes": manual,
            "check_vma": bool(check_vma), "body": SubGraph(graph)}


def _res_axes(known: Graph, known_specs, manual, check_vma, n_res: int) -> list:
    """The mesh axes each residual varies over (all manual axes without check_vma)."""
    if not check_vma:
        return [tuple(manual)] * n_res
    _, vma = vma_pass(known, [spec_axes(s) for s in known_specs], manual)
    return [tuple(a for a in manual if a in v) for v in vma[len(vma) - n_res:]]


# --- the primitive ---------------------------------------------------------------------
shard_map_p = Primitive("shard_map", multiple_results=True)


def _env(params):
    return mesh_env(params["mesh"], params["manual_axes"], params["check_vma"])


@shard_map_p.def_abstract_eval
def _shard_map_aval(*avals, mesh, in_specs, out_specs, manual_axes, check_vma, body):
    for i, (a, s, b) in enumerate(zip(avals, in_specs, body.in_avals)):
        got = shard_aval(a, s, mesh, manual_axes, f"argument {i}")
        if (got.shape, got.dtype) != (b.shape, b.dtype):
            raise ShapeError(f"shard_map: argument {i} is {a.str_short()}, whose blocks by "
                             f"{s} are {got.str_short()}, but the body takes {b.str_short()}.")
    return [unshard_aval(a, s, mesh) for a, s in zip(body.out_avals, out_specs)]


@shard_map_p.def_lowering
def _shard_map_lowering(*args, mesh, in_specs, out_specs, manual_axes, check_vma, body):
    def per_shard(*xs):
        return tuple(lower_sub(body.graph, xs))
    all_axes = len(manual_axes) == len(mesh.axis_names)
    f = jax.shard_map(per_shard, mesh=mesh, in_specs=tuple(in_specs), out_specs=tuple(out_specs),
                      axis_names=frozenset() if all_axes else frozenset(manual_axes),
                      check_vma=check_vma)
    return list(f(*args))


def _same(params, graph, in_specs, out_specs) -> dict:
    return make_params(graph, in_specs, out_specs, params["mesh"], params["manual_axes"],
                       params["check_vma"])


@shard_map_p.def_jvp
def _shard_map_jvp(primals, tangents, **params):
    body = params["body"]
    nz = nonzero_mask(primals, tangents)
    with _env(params):
        g, consts, out_nz = jvp_graph(body.graph, nz, False)
    in_specs, out_specs = params["in_specs"], params["out_specs"]
    new = _same(params, g,
                (PartitionSpec(),) * len(consts) + in_specs
                + tuple(s for s, z in zip(in_specs, nz) if z),
                out_specs + tuple(s for s, z in zip(out_specs, out_nz) if z))
    dots = [t for t, z in zip(tangents, nz) if z]
    args = [*consts, *primals, *dots]
    n_out = len(out_specs)
    if tangents_above_primals(primals, dots):
        unknowns = [False] * (len(consts) + len(primals)) + [True] * len(dots)
        outs = split_bind(shard_map_p, args, unknowns, new, n_out)
    else:
        outs = shard_map_p.bind(*args, **new)
    it = iter(outs[n_out:])
    return outs[:n_out], [next(it) if z else Zero(tangent_aval(get_aval(o)))
                          for z, o in zip(out_nz, outs[:n_out])]


def _promote(v: Var, axes: tuple, mesh, eqns: list, back: bool) -> Var:
    """A scalar residual varying over ``axes`` travels as shape (1,) (stacked
    along dimension 0); ``back`` undoes it on the unknown side."""
    if not axes or v.aval.ndim:
        return v
    if back:
        new = Var(v.aval.update(shape=(1,)))
        eqns.append(Equation(reshape_p, (new,), {"new_sizes": (), "dimensions": None}, (v,), None))
        return new
    new = Var(v.aval.update(shape=(1,)))
    eqns.append(Equation(reshape_p, (v,), {"new_sizes": (1,), "dimensions": None}, (new,), None))
    return new


def _shard_map_partial_eval(eqn, unknowns):
    """A known shard_map (known inputs -> known outputs + residuals) and an
    unknown one (residuals + unknown inputs -> unknown outputs); a residual
    leaves the known one stacked over the mesh axes it varies on."""
    p = eqn.params
    mesh, manual = p["mesh"], p["manual_axes"]
    body = p["body"].graph
    with _env(p):
        pe = partial_eval_graph(body, list(unknowns))
    n_res = len(pe.residuals)
    in_specs, out_specs = p["in_specs"], p["out_specs"]
    k_specs = [s for s, u in zip(in_specs, unknowns) if not u]
    u_specs = [s for s, u in zip(in_specs, unknowns) if u]
    res_axes = _res_axes(pe.known, k_specs, manual, p["check_vma"], n_res)
    n_kout = len(pe.known.out_vars) - n_res
    k_eqns, u_eqns = list(pe.known.equations), []
    k_res = [_promote(v, a, mesh, k_eqns, False)
             for v, a in zip(pe.known.out_vars[n_kout:], res_axes)]
    u_res = [_promote(v, a, mesh, u_eqns, True)
             for v, a in zip(pe.unknown.in_vars[:n_res], res_axes)]
    res_specs = [PartitionSpec(a) if a else PartitionSpec() for a in res_axes]
    known = Graph(pe.known.in_vars, k_eqns, list(pe.known.out_vars[:n_kout]) + k_res)
    unknown = Graph(u_res + list(pe.unknown.in_vars[n_res:]), u_eqns + list(pe.unknown.equations),
                    pe.unknown.out_vars)
    out_uk = pe.out_unknown
    k_out_specs = [s for s, u in zip(out_specs, out_uk) if not u]
    u_out_specs = [s for s, u in zip(out_specs, out_uk) if u]
    res_vars = [Var(unshard_aval(v.aval, s, mesh)) for v, s in zip(k_res, res_specs)]
    known_eqn = Equation(shard_map_p, tuple(x for x, u in zip(eqn.inputs, unknowns) if not u),
                         _same(p, known, k_specs, k_out_specs + res_specs),
                         tuple(v for v, u in zip(eqn.outputs, out_uk) if not u) + tuple(res_vars),
                         eqn.source_info)
    unknown_eqn = Equation(shard_map_p,
                           tuple(res_vars) + tuple(x for x, u in zip(eqn.inputs, unknowns) if u),
                           _same(p, unknown, res_specs + u_specs, u_out_specs),
                           tuple(v for v, u in zip(eqn.outputs, out_uk) if u), eqn.source_info)
    return [known_eqn], [unknown_eqn], list(out_uk)


shard_map_p.def_partial_eval(_shard_map_partial_eval)


@shard_map_p.def_transpose
def _shard_map_transpose(cts, *args, **params):
    """A shard_map of the transposed body: residuals and cotangents in, the
    cotangents of the linear inputs out (with their in specs as out specs)."""
    body = params["body"]
    in_specs, out_specs = params["in_specs"], params["out_specs"]
    lin = [isinstance(a, UndefinedPrimal) for a in args]
    res = [a for a, l in zip(args, lin) if not l]
    ct_nz = [not isinstance(c, Zero) for c in cts]
    cts_nz = [c for c, z in zip(cts, ct_nz) if z]
    res_avals = [a for a, l in zip(body.in_avals, lin) if not l]
    ct_avals = [a for a, z in zip(body.out_avals, ct_nz) if z]

    def fn(*a):
        r, c = iter(a[:len(res)]), iter(a[len(res):])
        vals = [None if l else next(r) for l in lin]
        cts_out = [next(c) if z else Zero(tangent_aval(av)) for z, av in zip(ct_nz, body.out_avals)]
        return [instantiate_zero(x) for x in backward_pass(body.graph, [], lin, vals, cts_out)]

    with _env(params):
        g, consts = trace_flat(fn, res_avals + ct_avals)
    new = _same(params, g,
                (PartitionSpec(),) * len(consts) + tuple(s for s, l in zip(in_specs, lin) if not l)
                + tuple(s for s, z in zip(out_specs, ct_nz) if z),
                tuple(s for s, l in zip(in_specs, lin) if l))
    outs = iter(shard_map_p.bind(*consts, *res, *cts_nz, **new))
    return [next(outs) if l else None for l in lin]


def _spmd_split(params, axis_size: int):
    """(the batch dimension's spec entry, the per-shard batch size) under the
    running vmap's ``spmd_axis_name`` (None, axis_size without one)."""
    spmd = current_spmd_axis_name()
    if spmd is None:
        return None, axis_size
    names = tuple(spmd) if isinstance(spmd, (tuple, list)) else (spmd,)
    mesh = params["mesh"]
    unknown = [n for n in names if n not in mesh.shape]
    if unknown:
        raise ShapeError(f"vmap: spmd_axis_name {spmd!r} names {unknown}, not an axis of the "
                         f"shard_map's mesh {dict(mesh.shape)}.")
    used = {n for s in params["in_specs"] + params["out_specs"] for n in _spec_names(s)}
    if used & set(names):
        raise ValueError(f"vmap: spmd_axis_name {spmd!r} cannot appear in the in_specs / "
                         f"out_specs of the shard_map it maps (they use {sorted(used)}). Fix: "
                         f"give vmap a mesh axis the shard_map does not shard over.")
    k = math.prod(mesh.shape[n] for n in names)
    if axis_size % k:
        raise ShapeError(f"vmap: the mapped size {axis_size} is not divisible by the size {k} "
                         f"of spmd_axis_name {spmd!r}.")
    return (names[0] if len(names) == 1 else names), axis_size // k


def _spec_names(spec) -> set:
    names = set()
    for e in spec or ():
        names.update(e if isinstance(e, tuple) else () if e is None else (e,))
    return names


def _shard_map_batch(args, bdims, *, axis_name, axis_size, **params):
    """vmap of shard_map: the batch dimension leads, sharded over vmap's
    ``spmd_axis_name`` when it has one (the body then maps its share of it)."""
    body = params["body"]
    args = [moveaxis(a, d, 0) if d is not None else a for a, d in zip(args, bdims)]
    in_b = [d is not None for d in bdims]
    n_out = len(body.out_avals)
    entry, body_size = _spmd_split(params, axis_size)
    with _env(params):
        g, consts, out_b = batch_graph(body.graph, in_b, body_size, [False] * n_out, axis_name,
                                       spmd_axis_name=None)

    def lead(s, b):
        return PartitionSpec(entry, *(s or ())) if b else s

    new = _same(params, g, (PartitionSpec(),) * len(consts)
                + tuple(lead(s, b) for s, b in zip(params["in_specs"], in_b)),
                tuple(lead(s, b) for s, b in zip(params["out_specs"], out_b)))
    outs = shard_map_p.bind(*consts, *args, **new)
    return outs, [0 if b else None for b in out_b]


def_body_batch(shard_map_p, _shard_map_batch)


def _shard_map_dce(eqn, used_outputs):
    p = eqn.params
    g, used_in = dce_graph(p["body"].graph, used_outputs)
    g = Graph([v for v, u in zip(g.in_vars, used_in) if u], g.equations, g.out_vars)
    new = dict(p, body=SubGraph(g),
               in_specs=tuple(s for s, u in zip(p["in_specs"], used_in) if u),
               out_specs=tuple(s for s, u in zip(p["out_specs"], used_outputs) if u))
    return eqn.replace(inputs=tuple(x for x, u in zip(eqn.inputs, used_in) if u), params=new,
                       outputs=tuple(v for v, u in zip(eqn.outputs, used_outputs) if u))


shard_map_p.def_dce(_shard_map_dce)
