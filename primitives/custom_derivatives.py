"""custom_jvp and custom_vjp (as ``jax.custom_jvp`` / ``jax.custom_vjp``).

Both stage a higher-order primitive whose ``call`` param is the traced body
(so jit lowers it and graphs keep the custom rule for later transformations):

- ``custom_jvp_call[call, jvp]``: its jvp rule runs the user's jvp function;
  reverse mode follows (the tangent computation it produces is linear).
- ``custom_vjp_call[call, fwd, bwd]``: its jvp rule runs ``fwd`` for the primal
  output and residuals and emits ``custom_lin[bwd]`` on the tangents, a linear
  primitive whose transpose calls ``bwd``. Forward mode (jvp, jacfwd) of a
  custom_vjp function therefore raises a clear error, as in JAX: evaluating
  ``custom_lin`` on concrete tangents is not possible.

Outside any transformation both simply call the function.

They live with the primitives (not in ``transforms``, which re-exports them as
the user API) because numeric code below the transforms needs them:
``primitives.nn.relu`` is a custom_jvp, as in ``jax.nn``.

References:
    JAX's custom_derivatives.py; "Custom derivative rules for JAX-transformable
    Python functions" (JAX docs).
"""
from __future__ import annotations

import functools
from typing import Callable, Sequence

from jax import tree_util

from fx.ad import JVPTrace, JVPTracer, Zero, instantiate_zero
from fx.batching import batch_body, def_body_batch, vmap_flat
from fx.core import (EvalTrace, Primitive, def_vma_from_body, find_top_trace, full_raise,
                     get_aval, is_eager)
from fx.dtypes import is_float
from fx.errors import FxTypeError
from fx.interpreter import lower_graph
from fx.ir import as_param
from fx.tracing import make_graph

__all__ = ["custom_jvp", "custom_vjp", "custom_jvp_call_p", "custom_vjp_call_p", "custom_lin_p"]


def _graph_outs(eqn_params):
    return eqn_params["call"].out_avals


def _resolve_nondiff(nondiff_argnums, args):
    nondiff = tuple(nondiff_argnums)
    static = [args[i] for i in nondiff]
    dyn = [a for i, a in enumerate(args) if i not in nondiff]
    return static, dyn


def _merge(nondiff, static, dyn):
    it_s, it_d = iter(static), iter(dyn)
    n = len(static) + len(dyn)
    return [next(it_s) if i in nondiff else next(it_d) for i in range(n)]


def _split_jvp(trace: JVPTrace, flat_args) -> tuple[list, list]:
    tracers = [full_raise(trace, x) for x in flat_args]
    return [t.primal for t in tracers], [t.tangent for t in tracers]


def _check_jvp_pair(name: str, pair, out_tree=None) -> tuple[list, list, object]:
    """Validate a custom_jvp rule's result; return flat primal and tangent outputs."""
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise FxTypeError(
            f"custom_jvp rule of {name} must produce a pair (list or tuple of "
            f"length two) of primal and tangent outputs, got {type(pair).__name__}"
            f"{' of length ' + str(len(pair)) if isinstance(pair, (tuple, list)) else ''}"
            f". Fix: return (f(x), tangent).")
    out, t_out = pair
    o_flat, o_tree = tree_util.tree_flatten(out)
    t_flat, t_tree = tree_util.tree_flatten(t_out)
    want = o_tree if out_tree is None else out_tree
    if o_tree != want or t_tree != want:
        raise FxTypeError(f"custom_jvp rule of {name} returned structures "
                          f"{o_tree} / {t_tree}, but the function returns {want}.")
    for o, t in zip(o_flat, t_flat):
        oa, ta = get_aval(o), get_aval(t)
        if oa.shape != ta.shape or (is_float(oa) and oa.dtype != ta.dtype):
            raise FxTypeError(
                f"custom_jvp rule of {name} must produce primal and tangent "
                f"outputs with corresponding shapes and dtypes: expected "
                f"{oa.strip_weak().str_short()} (the tangent type of "
                f"{oa.str_short()}), got {ta.str_short()}. Fix: cast the tangent with "
                f".astype({oa.dtype.name}).")
    return o_flat, t_flat, o_tree


class _FlatFn:
    """A hashable-by-identity flat wrapper carried in params."""
    __slots__ = ("fn", "name")

    def __init__(self, fn, name):
        self.fn = fn
        self.name = name

    def __call__(self, *a):
        return self.fn(*a)

    def __repr__(self):
        return self.name


# --- custom_jvp_call ---
custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)
custom_jvp_call_p.def_abstract_eval(lambda *avals, call, jvp, n_consts: call.out_avals)
def_vma_from_body(custom_jvp_call_p, "call")
custom_jvp_call_p.def_lowering(lambda *args, call, jvp, n_consts: lower_graph(call, *args))


@custom_jvp_call_p.def_jvp
def _custom_jvp_call_jvp(primals, tangents, *, call, jvp, n_consts):
    consts, args = primals[:n_consts], primals[n_consts:]
    if any(not isinstance(t, Zero) for t in tangents[:n_consts]):
        raise FxTypeError("custom_jvp: the function closes over a value that is being "
                          "differentiated; pass it as an explicit argument instead.")
    t_args = [instantiate_zero(t) for t in tangents[n_consts:]]
    outs, t_outs = jvp(list(consts), list(args), t_args)
    return outs, t_outs


def _custom_jvp_call_batch(args, bdims, *, axis_name, axis_size, call, jvp, n_consts):
    """Batch the body and the jvp rule separately (as JAX), keeping the custom rule."""
    args, in_dims, batched = batch_body(call, args, bdims, axis_size, axis_name)
    n_out, n_new = len(call.out_avals), len(batched.consts)
    c_in, a_in = in_dims[:n_consts], in_dims[n_consts:]

    def batched_jvp(consts, primals, tangents):
        consts = consts[n_new:]
        n_p = len(primals)

        def flat(*xs):
            o, t = jvp(list(xs[:n_consts]), list(xs[n_consts:n_consts + n_p]),
                       list(xs[n_consts + n_p:]))
            return list(o) + list(t)
        res = vmap_flat(flat, list(consts) + list(primals) + list(tangents),
                        c_in + a_in + a_in, [0] * (2 * n_out), axis_size, axis_name)
        return res[:n_out], res[n_out:]

    outs = custom_jvp_call_p.bind(*batched.consts, *args, call=as_param(batched),
                                  jvp=_FlatFn(batched_jvp, f"batched({jvp!r})"),
                                  n_consts=n_new + n_consts)
    return outs, [0] * n_out


def_body_batch(custom_jvp_call_p, _custom_jvp_call_batch)


class custom_jvp:
    """Give ``fun`` a custom JVP rule (as ``jax.custom_jvp``).

    Args:
      fun: the primal function.
      nondiff_argnums: positions of arguments that are not differentiated
        (Python values or arrays; passed first to the jvp rule, as in JAX).

    Example::

        >>> @custom_jvp
        ... def f(x):
        ...     return fnp.sin(x)
        >>> @f.defjvp
        ... def f_jvp(primals, tangents):
        ...     (x,), (t,) = primals, tangents
        ...     return f(x), fnp.cos(x) * t
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp: Callable, symbolic_zeros: bool = False):
        """Register ``jvp(primals, tangents) -> (primal_out, tangent_out)``."""
        self.jvp = jvp
        return jvp

    def defjvps(self, *tangent_fns):
        """Register one ``tangent_fn(t_i, primal_out, *primals)`` per argument (None = zero)."""
        def jvp(primals, tangents):
            out = self.fun(*primals)
            terms = [fn(t, out, *primals) for fn, t in zip(tangent_fns, tangents) if fn is not None]
            total = terms[0]
            for t in terms[1:]:
                total = tree_util.tree_map(lambda a, b: a + b, total, t)
            return out, total
        self.jvp = jvp   # returns None, as jax's defjvps

    def __call__(self, *args):
        if self.jvp is None:
            raise FxTypeError(f"custom_jvp function {self.fun.__name__} has no jvp rule: call "
                              f".defjvp(...) before using it.")
        if is_eager():
            return self.fun(*args)
        static, dyn = _resolve_nondiff(self.nondiff_argnums, args)
        nd = self.nondiff_argnums
        dyn_flat, in_tree = tree_util.tree_flatten(dyn)
        fun, user_jvp = self.fun, self.jvp
        # The trace about to process the arguments: the eval trace (nothing traced or
        # staged) calls the function; a JVP trace applies the rule right away to the
        # primal values (concrete outside jit, so the rule's Python control flow works,
        # as JAX's process_custom_jvp_call); the others stage the function first.
        trace = find_top_trace(dyn_flat)
        if isinstance(trace, EvalTrace):
            return fun(*args)
        if isinstance(trace, JVPTrace):
            primals, tangents = _split_jvp(trace, dyn_flat)
            p = tuple(tree_util.tree_unflatten(in_tree, primals))
            if all(isinstance(t, Zero) for t in tangents):
                return self(*_merge(nd, static, p))
            t = tuple(tree_util.tree_unflatten(in_tree, [instantiate_zero(x) for x in tangents]))
            o_flat, t_flat, o_tree = _check_jvp_pair(fun.__name__, user_jvp(*static, p, t))
            return tree_util.tree_unflatten(o_tree, [JVPTracer(trace, o, to)
                                                     for o, to in zip(o_flat, t_flat)])
        closed = make_graph(lambda *d: fun(*_merge(nd, static, tree_util.tree_unflatten(in_tree, d))))(*dyn_flat)
        out_tree = closed.out_tree
        n_consts = len(closed.consts)

        def flat_jvp(consts, primals, tangents):
            p = tuple(tree_util.tree_unflatten(in_tree, primals))
            t = tuple(tree_util.tree_unflatten(in_tree, tangents))
            o_flat, t_flat, _ = _check_jvp_pair(fun.__name__, user_jvp(*static, p, t), out_tree)
            return o_flat, t_flat

        outs = custom_jvp_call_p.bind(*closed.consts, *dyn_flat, call=as_param(closed),
                                      jvp=_FlatFn(flat_jvp, f"jvp_of_{fun.__name__}"),
                                      n_consts=n_consts)
        return tree_util.tree_unflatten(out_tree, outs)


# --- custom_lin ---
custom_lin_p = Primitive("custom_lin", multiple_results=True)
custom_lin_p.def_abstract_eval(lambda *avals, n_res, bwd, out_avals: list(out_avals))
# check_vma typing: residuals and tangents as they are (bwd sees the fwd's own values),
# the output tangents as the primal outputs
custom_lin_p.def_vma(lambda *vmas, out_avals, **_: (list(vmas), [a.vma for a in out_avals]))


def _custom_lin_forward(*args, **params):
    raise FxTypeError("can't apply forward-mode autodiff (jvp/jacfwd) to a custom_vjp function: "
                      "it only defines reverse mode. Fix: use grad/vjp/jacrev, or define the "
                      "function with custom_jvp.")


custom_lin_p.def_lowering(_custom_lin_forward)
custom_lin_p.def_jvp(lambda primals, tangents, **params: _custom_lin_forward())
custom_lin_p.def_batch(lambda args, bdims, **params: _custom_lin_forward())


@custom_lin_p.def_transpose
def _custom_lin_transpose(cts, *args, n_res, bwd, out_avals):
    res = args[:n_res]
    cts = [instantiate_zero(c) for c in cts]
    cts_in = bwd(list(res), cts)
    return [None] * n_res + list(cts_in)


# --- custom_vjp_call ---
custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
custom_vjp_call_p.def_abstract_eval(lambda *avals, call, fwd, bwd, n_consts: call.out_avals)
def_vma_from_body(custom_vjp_call_p, "call")
custom_vjp_call_p.def_lowering(lambda *args, call, fwd, bwd, n_consts: lower_graph(call, *args))


@custom_vjp_call_p.def_jvp
def _custom_vjp_call_jvp(primals, tangents, *, call, fwd, bwd, n_consts):
    if any(not isinstance(t, Zero) for t in tangents[:n_consts]):
        raise FxTypeError("custom_vjp: the function closes over a value that is being "
                          "differentiated; pass it as an explicit argument instead.")
    args = primals[n_consts:]
    outs, res = fwd(list(args))
    t_in = [instantiate_zero(t) for t in tangents[n_consts:]]
    out_avals = tuple(get_aval(o).strip_weak() for o in outs)
    t_out = custom_lin_p.bind(*res, *t_in, n_res=len(res), bwd=bwd, out_avals=out_avals)
    return outs, t_out


def _custom_vjp_call_batch(args, bdims, *, axis_name, axis_size, call, fwd, bwd, n_consts):
    """Batch the body, fwd and bwd separately (every output batched at axis 0)."""
    args, in_dims, batched = batch_body(call, args, bdims, axis_size, axis_name)
    n_out, n_new = len(call.out_avals), len(batched.consts)
    a_in = in_dims[n_consts:]
    n_res_box = []

    def batched_fwd(primals):
        def flat(*p):
            o, r = fwd(list(p))
            n_res_box.append(len(r))
            return list(o) + list(r)
        res = vmap_flat(flat, list(primals), a_in,
                        lambda: [0] * (n_out + n_res_box[-1]), axis_size, axis_name)
        return res[:n_out], res[n_out:]

    def batched_bwd(res, cts):
        n_res = len(res)

        def flat(*rc):
            return [instantiate_zero(c) for c in bwd(list(rc[:n_res]), list(rc[n_res:]))]
        return vmap_flat(flat, list(res) + list(cts), [0] * (n_res + len(cts)),
                         [0] * len(a_in), axis_size, axis_name)

    outs = custom_vjp_call_p.bind(*batched.consts, *args, call=as_param(batched),
                                  fwd=_FlatFn(batched_fwd, f"batched({fwd!r})"),
                                  bwd=_FlatFn(batched_bwd, f"batched({bwd!r})"),
                                  n_consts=n_new + n_consts)
    return outs, [0] * n_out


def_body_batch(custom_vjp_call_p, _custom_vjp_call_batch)


class custom_vjp:
    """Give ``fun`` a custom VJP rule (as ``jax.custom_vjp``).

    ``defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` (residuals any
    pytree), ``bwd(*nondiff_args, residuals, ct_out) -> tuple of cotangents``
    (one per differentiable argument, same structure). Works under jit, grad,
    vjp, jacrev and vmap; forward mode (jvp, jacfwd) raises a clear error as in JAX.
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd: Callable, bwd: Callable):
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        if self.fwd is None:
            raise FxTypeError(f"custom_vjp function {self.fun.__name__} has no rule: call "
                              f".defvjp(fwd, bwd) before using it.")
        if is_eager():
            return self.fun(*args)
        nd = self.nondiff_argnums
        static, dyn = _resolve_nondiff(nd, args)
        dyn_flat, in_tree = tree_util.tree_flatten(dyn)
        fun, user_fwd, user_bwd = self.fun, self.fwd, self.bwd
        name = fun.__name__
        out_tree_box = []      # the function's output structure, once traced
        res_tree_box = []
        in_avals = [get_aval(x) for x in dyn_flat]

        def flat_fwd(primals):
            p = tree_util.tree_unflatten(in_tree, primals)
            pair = user_fwd(*_merge(nd, static, p))
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise FxTypeError(f"custom_vjp fwd of {name} must return (output, residuals), "
                                  f"got {type(pair).__name__}.")
            out, res = pair
            o_flat, o_tree = tree_util.tree_flatten(out)
            if out_tree_box and o_tree != out_tree_box[0]:
                raise FxTypeError(f"custom_vjp fwd of {name} returned output structure {o_tree}, "
                                  f"but the function returns {out_tree_box[0]}.")
            out_tree_box[:] = [o_tree]
            r_flat, r_tree = tree_util.tree_flatten(res)
            res_tree_box.append(r_tree)
            return o_flat, r_flat

        def flat_bwd(res, cts):
            r = tree_util.tree_unflatten(res_tree_box[-1], res)
            ct = tree_util.tree_unflatten(out_tree_box[0], cts)
            cts_in = user_bwd(*static, r, ct)
            if not isinstance(cts_in, (tuple, list)) or len(cts_in) != len(dyn):
                raise FxTypeError(
                    f"custom_vjp bwd of {name} must return a tuple with one cotangent per "
                    f"differentiable argument ({len(dyn)}), got "
                    f"{type(cts_in).__name__}{' of length ' + str(len(cts_in)) if isinstance(cts_in, (tuple, list)) else ''}. "
                    f"Fix: return a tuple, e.g. `return (ct_x,)` for one argument.")
            c_flat, c_tree = tree_util.tree_flatten(tuple(cts_in), is_leaf=lambda x: x is None)
            want_tree = tree_util.tree_structure(tuple(dyn))
            if len(c_flat) != len(in_avals):
                raise FxTypeError(f"custom_vjp bwd of {name} returned cotangents structured as "
                                  f"{c_tree}, but the differentiable arguments are {want_tree}.")
            out = []
            for i, (c, a) in enumerate(zip(c_flat, in_avals)):
                if c is None:
                    out.append(Zero(a.strip_weak()))
                    continue
                if get_aval(c).shape != a.shape:
                    raise FxTypeError(f"custom_vjp bwd of {name}: cotangent {i} is "
                                      f"{get_aval(c).str_short()} but its argument is "
                                      f"{a.str_short()}.")
                extra = tuple(sorted(get_aval(c).vma - a.vma, key=str))
                if extra:  # jax's ValueError: a replicated argument needs a replicated ct
                    raise ValueError(
                        f"custom_vjp bwd of {name}: cotangent {i} ({a.str_short()}) varies over "
                        f"the mesh axes {extra} of the enclosing shard_map, but its argument is "
                        f"invariant (replicated) over them: the bwd rule must return a "
                        f"cotangent of its argument's type. Fix: psum it over {extra} in bwd.")
                out.append(c)
            return out

        trace = find_top_trace(dyn_flat)   # as in custom_jvp.__call__
        if isinstance(trace, EvalTrace):
            return fun(*args)
        if isinstance(trace, JVPTrace):   # fwd on the primal values (concrete outside jit)
            primals, tangents = _split_jvp(trace, dyn_flat)
            if all(isinstance(t, Zero) for t in tangents):
                return self(*_merge(nd, static, tree_util.tree_unflatten(in_tree, primals)))
            o_flat, r_flat = flat_fwd(primals)
            t_out = custom_lin_p.bind(
                *r_flat, *[instantiate_zero(t) for t in tangents], n_res=len(r_flat),
                bwd=_FlatFn(flat_bwd, f"bwd_of_{name}"),
                out_avals=tuple(get_aval(o).strip_weak() for o in o_flat))
            return tree_util.tree_unflatten(out_tree_box[0], [
                JVPTracer(trace, o, t) for o, t in zip(o_flat, t_out)])
        closed = make_graph(lambda *d: fun(*_merge(nd, static, tree_util.tree_unflatten(in_tree, d))))(*dyn_flat)
        out_tree_box[:] = [closed.out_tree]
        outs = custom_vjp_call_p.bind(*closed.consts, *dyn_flat, call=as_param(closed),
                                      fwd=_FlatFn(flat_fwd, f"fwd_of_{name}"),
                                      bwd=_FlatFn(flat_bwd, f"bwd_of_{name}"),
                                      n_consts=len(closed.consts))
        return tree_util.tree_unflatten(out_tree_box[0], outs)
