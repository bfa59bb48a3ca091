"""custom_linear_solve and custom_root: solves differentiated implicitly (as jax.lax).

``custom_linear_solve[const_lengths, jaxprs] *consts *b`` is a higher-order
primitive (JAX's ``linear_solve_p``): ``jaxprs`` holds four sub-graphs
(``matvec``, ``vecmat``, ``solve``, ``transpose_solve``; the last two may be
None), each taking its captured values (its slice of ``consts``) then ``b``'s
leaves. Its value is ``solve(b)``; its rules never differentiate through
``solve``:

- jvp (``A x = b``):  ``x_dot = solve(b_dot - A_dot x)``, where ``A_dot x`` is
  the jvp of ``matvec`` with respect to its captured values;
- transpose (linear in ``b``): the same primitive with the transposed tuple
  (``vecmat``, ``matvec``, ``transpose_solve``, ``solve``) on the cotangent;
- batch: every sub-graph vmapped, iterating to the fixed point of which parts
  of ``x`` and ``b`` are batched (as JAX's rule).

``vecmat`` is ``matvec`` transposed by ``fx.ad.backward_pass``. ``custom_root``
is a ``custom_jvp`` whose jvp applies the implicit function theorem, with the
user's ``tangent_solve`` solving the linearized system.

Example::

    >>> x = P.custom_linear_solve(lambda v: a @ v, b, lambda mv, r: fnp.linalg.solve(a, r),
    ...                           symmetric=True)

References:
    jax/_src/lax/control_flow/solves.py (linear_solve_p and its rules, custom_root).
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

import numpy as np
from jax import tree_util

from fx.ad import UndefinedPrimal, Zero, add_any, backward_pass, instantiate_zero, jvp_flat, tangent_aval
from fx.batching import batch_graph, broadcast_batch, def_body_batch, moveaxis
from fx.core import Primitive, get_aval
from fx.dtypes import is_float
from fx.errors import FxTypeError, ShapeError
from fx.interpreter import eval_graph
from fx.ir import ShapedArray
from primitives.control_flow._common import SubGraph, lower_sub, trace_flat
from primitives.custom_derivatives import custom_jvp
from primitives.elementwise import neg

__all__ = ["custom_linear_solve", "custom_root", "linear_solve_p"]

_MATVEC, _VECMAT, _SOLVE, _TR_SOLVE = range(4)


def _split(args, const_lengths):
    """``(per-graph consts lists, b)`` from the flat operands."""
    out, i = [], 0
    for n in const_lengths:
        out.append(list(args[i:i + n]))
        i += n
    return out, list(args[i:])


def _transposed(t):
    """The (matvec, vecmat, solve, transpose_solve) tuple of the transposed system."""
    return (t[_VECMAT], t[_MATVEC], t[_TR_SOLVE], t[_SOLVE])


def _flat(xs):
    return [x for sub in xs for x in sub]


# --- custom_linear_solve ---
linear_solve_p = Primitive("custom_linear_solve", multiple_results=True)


@linear_solve_p.def_abstract_eval
def _linear_solve_aval(*avals, const_lengths, jaxprs):
    b = avals[sum(const_lengths):]
    solve = jaxprs[_SOLVE]
    n_aux = len(solve.out_avals) - len(jaxprs[_MATVEC].out_avals)
    return [a.strip_weak() for a in b] + list(solve.out_avals[len(solve.out_avals) - n_aux:]
                                              if n_aux else [])


@linear_solve_p.def_lowering
def _linear_solve_lowering(*args, const_lengths, jaxprs):
    consts, b = _split(args, const_lengths)
    return lower_sub(jaxprs[_SOLVE].graph, consts[_SOLVE] + b)


def _matvec_tangent(matvec: SubGraph, consts, consts_dot, x):
    """``A_dot x``: the jvp of ``matvec`` in its captured values (x held fixed)."""
    zeros = [Zero(tangent_aval(get_aval(v))) for v in x]
    _, t_out = jvp_flat(lambda *a: eval_graph(matvec.graph, *a), list(consts) + list(x),
                        list(consts_dot) + zeros)
    return t_out


@linear_solve_p.def_jvp
def _linear_solve_jvp(primals, tangents, *, const_lengths, jaxprs):
    params = dict(const_lengths=const_lengths, jaxprs=jaxprs)
    x = linear_solve_p.bind(*primals, **params)
    consts, _ = _split(primals, const_lengths)
    consts_dot, b_dot = _split(tangents, const_lengths)
    n_x = len(b_dot)
    rhs = [instantiate_zero(t) if not isinstance(t, Zero) else t for t in b_dot]
    if any(not isinstance(t, Zero) for t in consts_dot[_MATVEC]):
        mv_dot = _matvec_tangent(jaxprs[_MATVEC], consts[_MATVEC], consts_dot[_MATVEC], x[:n_x])
        rhs = [m if isinstance(r, Zero) and isinstance(m, Zero) else
               neg(m) if isinstance(r, Zero) else
               r if isinstance(m, Zero) else add_any(r, neg(m))
               for r, m in zip(rhs, mv_dot)]
    if all(isinstance(r, Zero) for r in rhs):
        return x, [Zero(tangent_aval(get_aval(o))) for o in x]
    rhs = [instantiate_zero(r) for r in rhs]
    x_dot = linear_solve_p.bind(*_flat(consts), *rhs, **params)
    return x, list(x_dot[:n_x]) + [Zero(tangent_aval(get_aval(o))) for o in x[n_x:]]


@linear_solve_p.def_transpose
def _linear_solve_transpose(cts, *operands, const_lengths, jaxprs):
    if jaxprs[_TR_SOLVE] is None:
        raise FxTypeError("transpose_solve required for backwards mode automatic "
                          "differentiation of custom_linear_solve. Fix: pass "
                          "transpose_solve=..., or symmetric=True for a symmetric matvec.")
    consts, b = _split(operands, const_lengths)
    if any(isinstance(c, UndefinedPrimal) for c in _flat(consts)):
        raise NotImplementedError("custom_linear_solve: transposing with respect to the "
                                  "values matvec/solve capture is not supported (as in JAX).")
    n_b = len(b)
    x_ct = [instantiate_zero(c) for c in cts[:n_b]]
    ct_b = linear_solve_p.bind(*_flat(_transposed(consts)), *x_ct,
                               const_lengths=_transposed(const_lengths),
                               jaxprs=_transposed(jaxprs))
    return [None] * sum(const_lengths) + list(ct_b[:n_b])


def _linear_solve_batch(args, bdims, *, axis_name, axis_size, const_lengths, jaxprs):
    """vmap every sub-graph, at the fixed point of which x / b parts are batched."""
    consts, b = _split(args, const_lengths)
    c_dims, b_dims = _split(bdims, const_lengths)
    c_bat = [[d is not None for d in ds] for ds in c_dims]
    orig_b_bat = [d is not None for d in b_dims]
    matvec, vecmat, solve, solve_t = jaxprs
    n_x = len(matvec.out_avals)
    n_aux = len(solve.out_avals) - n_x

    def batch(g, which, in_bat, force):
        if g is None:
            return None, None
        bg, new_consts, out_bat = batch_graph(g.graph, c_bat[which] + list(in_bat), axis_size,
                                              force, axis_name)
        return (bg, new_consts), out_bat

    b_bat, x_bat = list(orig_b_bat), [False] * len(solve.out_avals)
    for _ in range(2 + len(b_bat) + len(x_bat)):
        solve_b, solve_x_bat = batch(solve, _SOLVE, b_bat, x_bat)
        if vecmat is None:
            vecmat_b, x_bat_out = None, solve_x_bat
        else:
            vecmat_b, vm_bat = batch(vecmat, _VECMAT, b_bat, b_bat)
            x_bat_out = [a or s for a, s in zip(vm_bat + [True] * n_aux, solve_x_bat)]
        x_noaux = x_bat_out[:n_x]
        matvec_b, mv_bat = batch(matvec, _MATVEC, x_noaux, b_bat)
        if solve_t is None:
            solve_t_b, b_bat_out = None, [m or o for m, o in zip(mv_bat, orig_b_bat)]
        else:
            solve_t_b, st_bat = batch(solve_t, _TR_SOLVE, x_noaux, x_bat_out)
            b_bat_out = [m or s or o for m, s, o in zip(mv_bat, st_bat[:len(b)], orig_b_bat)]
        if x_bat_out == x_bat and b_bat_out == b_bat:
            break
        x_bat, b_bat = x_bat_out, b_bat_out
    else:
        raise AssertionError("custom_linear_solve batching: no fixed point reached")

    new_graphs, new_lengths, new_consts = [], [], []
    for k, gb in enumerate((matvec_b, vecmat_b, solve_b, solve_t_b)):
        if gb is None:
            new_graphs.append(None)
            new_lengths.append(0)
            continue
        bg, extra = gb
        moved = [moveaxis(c, d, 0) if d is not None else c for c, d in zip(consts[k], c_dims[k])]
        new_graphs.append(SubGraph(bg))
        new_lengths.append(len(extra) + len(moved))
        new_consts.append(list(extra) + moved)
    new_b = [broadcast_batch(x, axis_size, 0) if now and d is None else
             moveaxis(x, d, 0) if now else x
             for x, d, now in zip(b, b_dims, b_bat)]
    outs = linear_solve_p.bind(*_flat(new_consts), *new_b, const_lengths=tuple(new_lengths),
                               jaxprs=tuple(new_graphs))
    return outs, [0 if bat else None for bat in x_bat]


def_body_batch(linear_solve_p, _linear_solve_batch)


def _check_shapes(fn_name: str, got, want) -> None:
    got_s = [tuple(get_aval(g).shape) for g in got]
    want_s = [tuple(a.shape) for a in want]
    if got_s != want_s:
        raise ShapeError(f"{fn_name}() output shapes must match b, got {got_s} and {want_s}")


def _trace(fn: Callable, name: str, b_tree, b_avals, has_aux: bool = False, aux_box=None):
    """Trace ``fn`` (a function of a pytree like b) to a SubGraph and its captured values
    (the aux output's tree is appended to ``aux_box``)."""
    def flat(*leaves):
        out = fn(tree_util.tree_unflatten(b_tree, leaves))
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise FxTypeError(f"{name} with has_aux=True must return (solution, aux), got "
                                  f"{type(out).__name__}.")
            out, aux = out
            if aux_box is not None:
                aux_box.append(tree_util.tree_structure(aux))
        sol_leaves, sol_tree = tree_util.tree_flatten(out)
        if sol_tree != b_tree:
            raise FxTypeError(f"{name}() output pytree structure must match b, got {sol_tree} "
                              f"and {b_tree}.")
        _check_shapes(name, sol_leaves, b_avals)
        return sol_leaves + (tree_util.tree_leaves(aux) if has_aux else [])
    graph, consts = trace_flat(flat, b_avals)
    return SubGraph(graph), consts


def custom_linear_solve(matvec: Callable, b: Any, solve: Callable,
                        transpose_solve: Callable | None = None, symmetric: bool = False,
                        has_aux: bool = False):
    """Solve ``matvec(x) = b`` with ``solve``, differentiated implicitly (lax.custom_linear_solve).

    Gradients never go through ``solve``: the jvp solves again with the tangent
    right-hand side ``b_dot - matvec_dot(x)``; reverse mode solves the transposed
    system with ``transpose_solve`` (``vecmat`` is ``matvec`` transposed
    automatically).

    Args:
      matvec: the linear map (differentiable in the values it captures).
      b: the right-hand side, a pytree of arrays.
      solve: ``solve(matvec, b) -> x`` (need not be differentiable).
      transpose_solve: ``transpose_solve(vecmat, b) -> x`` for reverse mode.
      symmetric: the map is symmetric: ``transpose_solve`` defaults to ``solve``
        and ``vecmat`` is ``matvec``.
      has_aux: ``solve`` / ``transpose_solve`` return ``(x, aux)``.

    Returns:
      ``solve(matvec, b)`` (with ``aux``, as ``(x, aux)``, when ``has_aux``).

    References:
      jax.lax.custom_linear_solve.
    """
    if transpose_solve is None and symmetric:
        transpose_solve = solve
    b_leaves, b_tree = tree_util.tree_flatten(b)
    b_avals = [get_aval(x).strip_weak() for x in b_leaves]
    mv_graph, mv_consts = _trace(matvec, "matvec", b_tree, b_avals)
    aux_box = []
    solve_graph, solve_consts = _trace(partial(solve, matvec), "solve", b_tree, b_avals, has_aux,
                                       aux_box)
    if transpose_solve is None:
        vm_graph = tr_graph = None
        vm_consts, tr_consts = [], []
    else:
        if symmetric:
            vecmat, vm_graph, vm_consts = matvec, mv_graph, mv_consts
        else:
            vecmat = _vecmat_of(mv_graph, mv_consts, b_tree, b_avals)
            vm_graph, vm_consts = _trace(vecmat, "vecmat", b_tree, b_avals)
        tr_graph, tr_consts = _trace(partial(transpose_solve, vecmat), "transpose_solve",
                                     b_tree, b_avals, has_aux)
    all_consts = [mv_consts, vm_consts, solve_consts, tr_consts]
    outs = linear_solve_p.bind(*_flat(all_consts), *b_leaves,
                               const_lengths=tuple(len(c) for c in all_consts),
                               jaxprs=(mv_graph, vm_graph, solve_graph, tr_graph))
    x = tree_util.tree_unflatten(b_tree, outs[:len(b_leaves)])
    if has_aux:
        return x, tree_util.tree_unflatten(aux_box[0], outs[len(b_leaves):])
    return x


def _vecmat_of(mv_graph: SubGraph, mv_consts, b_tree, b_avals):
    """The transpose of the linear ``matvec`` (a function of a pytree like b)."""
    def vecmat(y):
        res = backward_pass(mv_graph.graph, list(mv_consts), [True] * len(b_avals),
                            [None] * len(b_avals), tree_util.tree_leaves(y))
        return tree_util.tree_unflatten(b_tree, [instantiate_zero(r) for r in res])
    return vecmat


# --- custom_root ---
@partial(custom_jvp, nondiff_argnums=(0, 1))
def _custom_root(const_lengths, graphs, *args):
    (_, solve_c, _), guess = _split(args, const_lengths)
    return tuple(eval_graph(graphs[1].graph, *solve_c, *guess))


@_custom_root.defjvp
def _custom_root_jvp(const_lengths, graphs, primals, tangents):
    (f_c, _, ls_c), _ = _split(primals, const_lengths)
    (f_c_dot, _, _), _ = _split(tangents, const_lengths)
    sol = _custom_root(const_lengths, graphs, *primals)
    n_x = len(graphs[0].out_avals)
    solution, aux = list(sol[:n_x]), list(sol[n_x:])
    f_dot = [t if is_float(get_aval(p)) else Zero(tangent_aval(get_aval(p)))
             for p, t in zip(f_c, f_c_dot)]
    _, rhs = jvp_flat(lambda *c: eval_graph(graphs[0].graph, *c, *solution), list(f_c), f_dot)
    rhs = [instantiate_zero(r) for r in rhs]
    sol_dot = [neg(v) for v in eval_graph(graphs[2].graph, *ls_c, *solution, *rhs)]
    aux_dot = [np.zeros(get_aval(a).shape, get_aval(a).dtype) for a in aux]
    return sol, tuple(sol_dot) + tuple(aux_dot)


def custom_root(f: Callable, initial_guess: Any, solve: Callable, tangent_solve: Callable,
                has_aux: bool = False):
    """Find a root of ``f`` with ``solve``, differentiated implicitly (lax.custom_root).

    Gradients with respect to the values ``f`` captures follow the implicit function
    theorem at the solution: ``x_dot = -(df/dx)^{-1} (df/dparams · params_dot)``, the
    inverse applied by ``tangent_solve(g, y)`` with ``g`` = ``f`` linearized at the root.

    Args:
      f: a function of a pytree like ``initial_guess`` returning one like it.
      initial_guess: the starting point.
      solve: ``solve(f, initial_guess) -> root`` (need not be differentiable).
      tangent_solve: ``tangent_solve(g, y) -> x`` with ``g(x) = y``, ``g`` linear
        (``lambda g, y: y / g(1.0)`` for scalars).
      has_aux: ``solve`` returns ``(root, aux)``; ``aux`` gets zero derivatives.

    Returns:
      ``solve(f, initial_guess)``.

    References:
      jax.lax.custom_root.
    """
    g_leaves, g_tree = tree_util.tree_flatten(initial_guess)
    g_avals = [get_aval(x) for x in g_leaves]

    def tree_fn(fn, name, aux=False):
        box = []

        def flat(*leaves):
            out = fn(tree_util.tree_unflatten(g_tree, leaves))
            if aux:
                out, a = out
                box.append(tree_util.tree_structure(a))
            o_leaves, o_tree = tree_util.tree_flatten(out)
            if o_tree != g_tree:
                raise FxTypeError(f"custom_root: {name}() output pytree structure must match "
                                  f"initial_guess, got {o_tree} and {g_tree}.")
            return o_leaves + (tree_util.tree_leaves(a) if aux else [])
        return flat, box

    f_flat, _ = tree_fn(f, "f")
    f_graph, f_consts = trace_flat(f_flat, g_avals)
    solve_flat, aux_box = tree_fn(partial(solve, f), "solve", has_aux)
    solve_graph, solve_consts = trace_flat(solve_flat, g_avals)

    def linearize_and_solve(*xb):
        n = len(g_leaves)
        x, rhs = list(xb[:n]), list(xb[n:])

        def g(t):
            t_leaves = tree_util.tree_leaves(t)
            _, out = jvp_flat(lambda *a: f_flat(*a), x, t_leaves)
            return tree_util.tree_unflatten(g_tree, [instantiate_zero(o) for o in out])
        out = tangent_solve(g, tree_util.tree_unflatten(g_tree, rhs))
        o_leaves, o_tree = tree_util.tree_flatten(out)
        if o_tree != g_tree:
            raise FxTypeError(f"custom_root: tangent_solve() output pytree structure must "
                              f"match initial_guess, got {o_tree} and {g_tree}.")
        return o_leaves
    t_avals = [ShapedArray(a.shape, a.dtype) for a in g_avals]
    ls_graph, ls_consts = trace_flat(linearize_and_solve, t_avals + t_avals)
    all_consts = [f_consts, solve_consts, ls_consts]
    graphs = (SubGraph(f_graph), SubGraph(solve_graph), SubGraph(ls_graph))
    outs = _custom_root(tuple(len(c) for c in all_consts), graphs, *_flat(all_consts),
                        *g_leaves)
    x = tree_util.tree_unflatten(g_tree, list(outs[:len(g_leaves)]))
    if has_aux:
        return x, tree_util.tree_unflatten(aux_box[0], list(outs[len(g_leaves):]))
    return x
