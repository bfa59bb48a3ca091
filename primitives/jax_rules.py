"""How each jax primitive runs with our ops (the vocabulary of ``fx.from_jax``).

One row per jax primitive name: ``rule(*invals, **jax_params) -> value``.
Most rows bind our primitive of the same name with jax's params (lax's names
are ours; sharding annotations of a single-device jaxpr are dropped); the
explicit rows translate params that differ (``argmax``'s ``axes``, ``iota``),
inline call primitives (``jit``/``pjit``, ``closed_call``), rebuild control
flow with our ``switch`` / ``while_loop`` / ``scan`` on converted bodies,
keep custom derivative rules (``custom_jvp_call`` / ``custom_vjp_call``) and
checkpointing (``remat``, with jax's policy). Pooling (``reduce_window_*``),
complex numbers, fft, the special functions, linear algebra and ``random_gamma``
bind ours of the same name.

Custom rules are kept by asking jax itself: the jvp of a ``custom_jvp_call``
equation is ``jax.jvp`` of that one equation (which runs the user's rule),
converted in turn; the forward pass of a ``custom_vjp_call`` is ``jax.vjp``
of the equation, whose residuals are the leaves of the returned function,
and its backward pass applies that function to the cotangents.

References:
    JAX's lax.py / control_flow / custom_derivatives.py (the params read here).
"""
from __future__ import annotations

import importlib
import inspect
import itertools
from typing import Callable

import numpy as np
import jax
from jax import tree_util
from jax.extend import core as jcore

from fx.core import Primitive
from fx.from_jax import eval_jaxpr, jax_function, register_jax_rules
from fx.ir import as_param
from fx.tracing import make_graph
from primitives import (collectives, conv, elementwise, elementwise_math, indexing, lax_misc_ops,
                        linalg, linalg_decompositions, linalg_eig, prng, random_gamma, reductions,
                        shape, sharding, slicing, special, windowed_reductions)
from primitives.control_flow import optimization_barrier, remat_p, scan, switch, while_loop
from primitives.custom_derivatives import custom_jvp, custom_vjp
from primitives.linear_solve import custom_linear_solve

__all__ = ["JAX_RULES"]

# the families whose names the package re-exports as functions (primitives.complex,
# primitives.fft are the ops): the modules themselves
complex_ops = importlib.import_module("primitives.complex")
fft = importlib.import_module("primitives.fft")
ragged_dot = importlib.import_module("primitives.ragged_dot")

_DROPPED = ("sharding", "out_sharding")


def _params_of(prim: Primitive):
    """The params our primitive's abstract eval takes (None: any)."""
    sig = inspect.signature(prim.rule("abstract_eval"))
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    return {n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY}


def _same_name(prim: Primitive) -> Callable:
    """Bind our primitive of the same name with jax's params (minus sharding
    annotations and a None ``out_dtype``); a param ours does not take (a variant
    we lack, e.g. ``qr(pivoting=True)``) is named in a NotImplementedError."""
    accepted_box = []   # computed at the first conversion (abstract evals register at import)

    def rule(*args, **params):
        if not accepted_box:
            accepted_box.append(_params_of(prim) if prim.abstract_eval is not None else None)
        accepted = accepted_box[0]
        for k in _DROPPED:
            params.pop(k, None)
        for k in ("out_dtype", "accuracy", "algorithm", "use_magma"):  # None: the default
            if k in params and params[k] is None:
                del params[k]
        if params.get("pivoting") is False:  # qr without pivoting: ours
            del params["pivoting"]
        unknown = sorted(set(params) - accepted) if accepted is not None else []
        if unknown:
            raise NotImplementedError(
                f"jax's {prim.name} with " + ", ".join(f"{k}={params[k]!r}" for k in unknown)
                + f" has no conversion yet (ours takes {sorted(accepted)}).")
        return prim.bind(*args, **params)
    return rule


def _elementwise(prim: Primitive) -> Callable:
    """As ``_same_name``, after broadcasting size-1 axes: jax's lax-level
    elementwise ops accept operands of equal rank whose sizes are 1 or the
    result's (``sub f32[4,5] f32[4,1]`` in a jaxpr); ours want equal shapes."""
    bind = _same_name(prim)

    def rule(*args, **params):
        shapes = {np.shape(a) for a in args if np.ndim(a)}
        if len(shapes) > 1:
            out = np.broadcast_shapes(*shapes)
            args = [shape.broadcast_in_dim(a, out, tuple(range(len(out))))
                    if np.ndim(a) and np.shape(a) != out else a for a in args]
        return bind(*args, **params)
    return rule


def _closed(jaxpr) -> Callable:
    """A function of our values evaluating a (Closed)Jaxpr with our ops."""
    if isinstance(jaxpr, jcore.ClosedJaxpr):
        return lambda *args: eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *args)
    return lambda *args: eval_jaxpr(jaxpr, (), *args)


# --- calls and control flow ----------------------------------------------------
def _call(*args, jaxpr=None, call_jaxpr=None, **_):
    return _closed(jaxpr if jaxpr is not None else call_jaxpr)(*args)


def _custom_linear_solve(*args, const_lengths, jaxprs, **_):
    """jax's linear solve: its four jaxprs (matvec, vecmat, solve, transpose_solve,
    each taking its constants first) rebuilt as our ``custom_linear_solve``; the
    vecmat is derived again from matvec, as jax derives it."""
    counts = list(const_lengths)
    starts = [0, *itertools.accumulate(counts)]
    consts = [args[a:b] for a, b in zip(starts, starts[1:])]
    b = list(args[starts[-1]:])
    mv, _, sv, tsv = [None if j is None else _closed(j) for j in jaxprs]
    matvec = lambda x: mv(*consts[0], *x)  # noqa: E731
    solve = lambda _, x: sv(*consts[2], *x)  # noqa: E731
    transpose_solve = None if tsv is None else (lambda _, x: tsv(*consts[3], *x))
    return custom_linear_solve(matvec, b, solve, transpose_solve)


def _cond(index, *ops, branches, **_):
    return switch(index, [_closed(b) for b in branches], *ops)


def _while(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, **_):
    c_consts, b_consts = args[:cond_nconsts], args[cond_nconsts:cond_nconsts + body_nconsts]
    init = list(args[cond_nconsts + body_nconsts:])
    cond_fn, body_fn = _closed(cond_jaxpr), _closed(body_jaxpr)
    return while_loop(lambda c: cond_fn(*c_consts, *c)[0],
                      lambda c: body_fn(*b_consts, *c), init)


def _scan_group_sizes(params):
    """``(num_consts, num_carry)`` of a jax scan equation: jax <= 0.10 names them as
    params; jax 0.11 groups the operands in a flat tree ``ft_in`` (consts, carry, xs)."""
    if "ft_in" in params:
        n_consts, n_carry, _ = (len(g) for g in params["ft_in"].unpack())
        return n_consts, n_carry
    return params["num_consts"], params["num_carry"]


def _scan(*args, jaxpr, length, reverse, unroll, **params):
    num_consts, num_carry = _scan_group_sizes(params)
    consts, init, xs = (args[:num_consts], list(args[num_consts:num_consts + num_carry]),
                        list(args[num_consts + num_carry:]))
    body = _closed(jaxpr)

    def step(carry, x):
        outs = body(*consts, *carry, *x)
        return outs[:num_carry], outs[num_carry:]
    carry, ys = scan(step, init, xs, length=length, reverse=reverse, unroll=unroll)
    return list(carry) + list(ys)


class _JaxPolicy:
    """A jax checkpoint policy asked about our equations (by primitive name)."""

    def __init__(self, policy):
        self.policy = policy

    def __call__(self, prim, *avals, **params):
        if self.policy is None:
            return False
        jax_prim = getattr(jcore.primitives, f"{prim.name}_p", None)
        return jax_prim is not None and bool(self.policy(jax_prim, *avals, **params))

    def __eq__(self, other):
        return isinstance(other, _JaxPolicy) and other.policy is self.policy

    def __hash__(self):
        return hash(id(self.policy))

    def __repr__(self):
        return getattr(self.policy, "__name__", "nothing_saveable")


def _remat(*args, jaxpr, prevent_cse, policy, **_):
    closed = make_graph(_closed(jaxpr))(*args)
    return remat_p.bind(*closed.consts, *args, call=as_param(closed), policy=_JaxPolicy(policy),
                        prevent_cse=prevent_cse)


# --- custom derivative rules ---------------------------------------------------
def _eqn_fn(eqn_params: dict, call_jaxpr, jax_prim) -> Callable:
    """``f(*args)`` in jax: the custom-rule equation itself, re-bound through a
    one-equation jaxpr (so jax applies its custom rule under jax.jvp / jax.vjp)."""
    invars = [jcore.Var(a) for a in call_jaxpr.in_avals]
    outvars = [jcore.Var(a) for a in call_jaxpr.out_avals]
    eqn = jcore.new_jaxpr_eqn(invars, outvars, jax_prim, eqn_params, jcore.no_effects)
    jaxpr = jcore.ClosedJaxpr(jcore.Jaxpr((), invars, outvars, [eqn],
                                         debug_info=call_jaxpr.jaxpr.debug_info), ())
    return jcore.jaxpr_as_fun(jaxpr)


def _named(fn: Callable, call_jaxpr) -> Callable:
    """``fn`` named after the jax function that defined the custom rule."""
    info = getattr(call_jaxpr.jaxpr, "debug_info", None)
    fn.__name__ = getattr(info, "func_name", None) or "jax_function"
    return fn


def _custom_jvp_call(*args, call_jaxpr, num_consts, _prim, **params):
    f = _eqn_fn(dict(params, call_jaxpr=call_jaxpr, num_consts=num_consts), call_jaxpr, _prim)
    consts = args[:num_consts]

    @jax_function
    def jvp_in_jax(consts, primals, tangents):
        return jax.jvp(lambda *p: f(*consts, *p), primals, tangents)

    fun = custom_jvp(_named(lambda *a: _closed(call_jaxpr)(*consts, *a), call_jaxpr))
    fun.defjvp(lambda primals, tangents: tuple(jvp_in_jax(consts, primals, tangents)))
    return fun(*args[num_consts:])


def _custom_vjp_call(*args, call_jaxpr, num_consts, _prim, **params):
    f = _eqn_fn(dict(params, call_jaxpr=call_jaxpr, num_consts=num_consts), call_jaxpr, _prim)
    consts = args[:num_consts]
    pullback_tree: list = []

    @jax_function
    def fwd_in_jax(consts, primals):
        out, pullback = jax.vjp(lambda *p: f(*consts, *p), *primals)
        residuals, tree = tree_util.tree_flatten(pullback)
        pullback_tree[:] = [tree]
        return out, residuals

    @jax_function
    def bwd_in_jax(residuals, cts):
        return tree_util.tree_unflatten(pullback_tree[0], residuals)(cts)

    fun = custom_vjp(_named(lambda *a: _closed(call_jaxpr)(*consts, *a), call_jaxpr))
    fun.defvjp(lambda *primals: fwd_in_jax(consts, primals),
               lambda residuals, cts: tuple(bwd_in_jax(residuals, cts)))
    return fun(*args[num_consts:])


def _with_prim(rule, prim):
    return lambda *args, **params: rule(*args, _prim=prim, **params)


# --- params that differ --------------------------------------------------------
def _iota(*, dtype, dimension, **params):  # (params["shape"]: the name of our shape module)
    return shape.broadcasted_iota(dtype, params["shape"], dimension)


def _arg_reduction(fn):
    return lambda x, *, axes, index_dtype: fn(x, axes[0], index_dtype)


def _split(x, *, sizes, axis):
    starts = [0, *itertools.accumulate(sizes)]
    out = []
    for lo, hi in zip(starts[:-1], starts[1:]):
        start, limit = [0] * x.ndim, list(x.shape)
        start[axis], limit[axis] = lo, hi
        out.append(shape.slice(x, start, limit))
    return out


def _unstack(x, *, axis):
    """jax's ``unstack``: ``split`` into size-1 pieces, the axis dropped."""
    return [shape.squeeze(piece, (axis,))
            for piece in _split(x, sizes=(1,) * x.shape[axis], axis=axis)]


def _tile(x, *, reps):
    lead = (1,) * (len(reps) - x.ndim)
    dims = lead + tuple(x.shape)
    x = shape.reshape(x, dims) if lead else x
    wide = tuple(d for pair in zip(reps, dims) for d in pair)
    x = shape.broadcast_in_dim(x, wide, tuple(range(1, 2 * len(dims), 2)))
    return shape.reshape(x, tuple(r * d for r, d in zip(reps, dims)))


def _gather(x, idx, **params):
    params.pop("sharding", None)
    return indexing.gather(x, idx, **params)


def _scatter(fn):
    def rule(x, idx, updates, *, dimension_numbers, indices_are_sorted, unique_indices, mode,
             **_):
        return fn(x, idx, updates, dimension_numbers, indices_are_sorted=indices_are_sorted,
                  unique_indices=unique_indices, mode=mode)
    return rule


def _psum_like(fn):
    """psum / pmax / pmin: variadic in some jax versions, unary in others."""
    def rule(*xs, axes, axis_index_groups=None, **_):
        outs = [fn(x, axes, axis_index_groups=axis_index_groups) for x in xs]
        return outs[0] if len(outs) == 1 else outs
    return rule


def _identity(*xs, **_):
    return list(xs)


def _table() -> dict:
    rules: dict = {}
    for mod in (elementwise, elementwise_math, shape, slicing, indexing, reductions, linalg, conv,
                collectives, sharding, prng, complex_ops, fft, special, linalg_decompositions,
                linalg_eig, windowed_reductions, lax_misc_ops, random_gamma, ragged_dot):
        for name in mod.__all__:
            prim = getattr(mod, name)
            if isinstance(prim, Primitive):
                family = _elementwise if mod in (elementwise, elementwise_math) else _same_name
                rules[prim.name] = family(prim)
    jax_prims = {p.name: p for p in vars(jcore.primitives).values() if isinstance(p, jcore.Primitive)}
    rules.update({
        "pjit": _call, "jit": _call, "closed_call": _call, "core_call": _call,
        "cond": _cond, "while": _while, "scan": _scan,
        "custom_linear_solve": _custom_linear_solve,
        "remat2": _remat, "checkpoint": _remat,
        "iota": _iota,
        "argmax": _arg_reduction(reductions.argmax), "argmin": _arg_reduction(reductions.argmin),
        "split": _split, "unstack": _unstack,
        "xla_metadata_call": _call, "program_order": _call,
        "xla_metadata_value": lambda x, **_: x, "relayout": lambda x, **_: x,
        "gather": _gather,
        "scatter": _scatter(indexing.scatter), "scatter-add": _scatter(indexing.scatter_add),
        "scatter-mul": _scatter(indexing.scatter_mul), "scatter-sub": _scatter(indexing.scatter_sub),
        "scatter-min": _scatter(indexing.scatter_min), "scatter-max": _scatter(indexing.scatter_max),
        "add_any": elementwise.add, "tile": _tile,
        "axis_index": lambda *, axis_name: collectives.axis_index(axis_name),
        "psum": _psum_like(collectives.psum), "pmax": _psum_like(collectives.pmax), "pmin": _psum_like(collectives.pmin),
        "copy": lambda x: x, "copy_p": lambda x: x, "name": lambda x, **_: x,
        "device_put": _identity, "optimization_barrier": lambda *xs: optimization_barrier(*xs),
        "sharding_constraint": lambda x, **_: x,
        "random_wrap": lambda x, **_: x, "random_unwrap": lambda x: x,
        "random_seed": lambda x, **_: prng.random_seed(x),
    })
    for name in ("custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr"):
        if name in jax_prims:
            rule = _custom_jvp_call if name == "custom_jvp_call" else _custom_vjp_call
            rules[name] = _with_prim(rule, jax_prims[name])
    return rules


JAX_RULES = _table()
register_jax_rules(JAX_RULES)
