"""Windowed reductions (as jax.lax): reduce_window and its monoid primitives.

``reduce_window_sum`` / ``_max`` / ``_min`` reduce every (strided, padded,
dilated) window of an array; ``reduce_window(operand, init_value, computation,
...)`` dispatches to them when ``computation`` is ``add`` / ``max`` / ``min``
with the identity as ``init_value`` (as JAX) and otherwise binds the generic
``reduce_window`` primitive, whose ``computation`` is a traced sub-graph on
scalars (operands and init values may be pytrees: a variadic reduction).

The derivatives are JAX's: the sum is linear (its transpose a padded
reduce_window_sum, ``_reduce_window_sum_transpose_rule``); max/min send each
window's tangent of its selected (first extremal) element through
``select_and_gather_add``, whose transpose is ``select_and_scatter_add``
(and vice versa), so ties resolve exactly as in JAX. The generic primitive
has a jvp (a reduce_window over primal and tangent pairs) but, as in JAX, no
reverse mode.

Example::

    >>> import numpy as np, primitives as P
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> P.reduce_window(x, -np.inf, P.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID").shape
    (1, 2, 2, 1)

References:
    jax/_src/lax/windowed_reductions.py (every rule here mirrors its namesake);
    XLA operation semantics: ReduceWindow, SelectAndScatter.
"""
from __future__ import annotations

import builtins
from functools import partial
from typing import Callable, Sequence

import numpy as np
import jax
from jax import lax, tree_util

from fx.ad import Zero, deflinear, deftranspose, defjvp, jvp_graph, tangent_aval, zeros
from fx.batching import bdim_at_front, batch_size
from fx.core import Primitive, Tracer, get_aval
from fx.dtypes import is_float
from fx.errors import FxTypeError
from fx.ir import ShapedArray
from primitives._rules import ANY, NUMBER, check_kind, fmt_avals
from primitives.control_flow._common import (SubGraph, flatten_fn, lower_sub, permute,
                                             tangents_above_primals, trace_flat)
from primitives.conv import _vjp_lhs_padding
from primitives.elementwise import add, ge_p, le_p, max, min  # noqa: A004 (lax's names)
from primitives.shape import pad, slice  # noqa: A004

__all__ = ["reduce_window", "reduce_window_shape_tuple", "padtype_to_pads",
           "reduce_window_p", "reduce_window_sum_p", "reduce_window_max_p", "reduce_window_min_p",
           "select_and_gather_add_p", "select_and_scatter_add_p"]


# --- shape arithmetic ---
def _dilate_shape(shape, dilation) -> tuple:
    if not all(d > 0 for d in dilation):
        raise FxTypeError(f"All dilations must be positive, got {tuple(dilation)}.")
    dilation = (1,) * (len(shape) - len(dilation)) + tuple(dilation)
    return tuple(0 if s == 0 else 1 + d * (s - 1) for s, d in zip(shape, dilation))


def reduce_window_shape_tuple(operand_shape, window_dimensions, window_strides, padding,
                              base_dilation=None, window_dilation=None) -> tuple:
    """The output shape of a windowed reduction (lax.reduce_window_shape_tuple).

    Args:
      operand_shape: the operand's shape.
      window_dimensions, window_strides: one int per axis.
      padding: one ``(lo, hi)`` pair per axis.
      base_dilation, window_dilation: one int per axis, or None (no dilation).

    Returns:
      The output shape, a tuple of ints.

    References:
      jax/_src/lax/windowed_reductions.py (reduce_window_shape_tuple).
    """
    if base_dilation is not None:
        operand_shape = _dilate_shape(operand_shape, base_dilation)
    if window_dilation is not None:
        window_dimensions = _dilate_shape(window_dimensions, window_dilation)
    padded = tuple(d + lo + hi for d, (lo, hi) in zip(operand_shape, padding))
    return tuple(builtins.max(0, (d - w) // s + 1)
                 for d, w, s in zip(padded, window_dimensions, window_strides))


def padtype_to_pads(in_shape, window_shape, window_strides, padding) -> list:
    """Explicit ``(lo, hi)`` pads for a padding string (lax.padtype_to_pads).

    Args:
      in_shape: the (spatial) input shape.
      window_shape: the (dilated) window shape.
      window_strides: the strides.
      padding: 'SAME' (odd padding goes to the end), 'SAME_LOWER' (to the
        start) or 'VALID' (none); or jax's ``PaddingType`` enum.

    Returns:
      A list of ``(lo, hi)`` int pairs, one per axis.

    References:
      jax/_src/lax/lax.py (padtype_to_pads).
    """
    if isinstance(padding, str):
        name = padding.upper()
        if name not in ("VALID", "SAME", "SAME_LOWER"):
            raise RuntimeError(f"Unrecognized padding type: expected 'VALID', 'SAME', or "
                               f"'SAME_LOWER', got {padding}.")
    else:  # jax's PaddingType enum
        name = getattr(padding, "name", None)
    if name in ("SAME", "SAME_LOWER"):
        out = [-(-int(d) // int(s)) for d, s in zip(in_shape, window_strides)]
        sizes = [builtins.max(0, (o - 1) * int(s) + int(w) - int(d))
                 for o, s, w, d in zip(out, window_strides, window_shape, in_shape)]
        if name == "SAME":
            return [(p // 2, p - p // 2) for p in sizes]
        return [(p - p // 2, p // 2) for p in sizes]
    if name == "VALID":
        return [(0, 0)] * len(in_shape)
    raise TypeError(f"Unknown padding type: {padding}.")


def _check_shapelike(arg_name: str, obj, positive: bool) -> None:
    if not isinstance(obj, (tuple, list, np.ndarray)):
        raise FxTypeError(f"reduce_window {arg_name} must be of type tuple/list/ndarray, got "
                          f"{type(obj)}.")
    bound, word = (1, "strictly positive") if positive else (0, "nonnegative")
    if not all(isinstance(d, (int, np.integer)) and d >= bound for d in obj):
        raise FxTypeError(f"reduce_window {arg_name} must have every element be {word} "
                          f"integers, got {tuple(obj)}.")


def _window_shape(op: str, operand: ShapedArray, window_dimensions, window_strides, padding,
                  base_dilation, window_dilation) -> tuple:
    """JAX's _common_reduce_window_shape_rule, with typed errors naming the op."""
    _check_shapelike("window_dimensions", window_dimensions, True)
    _check_shapelike("window_strides", window_strides, True)
    _check_shapelike("base_dilation", base_dilation, False)
    _check_shapelike("window_dilation", window_dilation, False)
    n = len(window_dimensions)
    if operand.ndim != n:
        raise FxTypeError(f"{op}: got the wrong number of window_dimensions for the operand: "
                          f"operand {operand.str_short()} with window_dimensions "
                          f"{tuple(window_dimensions)}. Fix: give one window size per axis "
                          f"(1 for the axes not pooled over, e.g. batch and channels).")
    for name, val in (("window_strides", window_strides), ("padding", padding),
                      ("base_dilation", base_dilation), ("window_dilation", window_dilation)):
        if len(val) != n:
            raise FxTypeError(f"{op}: {name}={tuple(val)} is inconsistent with window_dimensions="
                              f"{tuple(window_dimensions)} (operand {operand.str_short()}). Fix: "
                              f"give one entry per axis.")
    return reduce_window_shape_tuple(operand.shape, window_dimensions, window_strides, padding,
                                     base_dilation, window_dilation)


def _max_identity(dtype) -> np.ndarray:
    return _identity(dtype, True)


def _min_identity(dtype) -> np.ndarray:
    return _identity(dtype, False)


def _identity(dtype, lowest: bool) -> np.ndarray:
    """lax._get_max_identity (lowest) / _get_min_identity: -inf/+inf (finfo min/max
    where the type has no infinity), iinfo min/max, False/True."""
    dtype = np.dtype(dtype)
    if jax.dtypes.issubdtype(dtype, np.inexact):
        inf = np.array(np.inf, dtype)
        if np.isinf(inf.astype(np.float32)) if dtype.kind != "c" else True:
            return np.array(-np.inf if lowest else np.inf, dtype)
        info = jax.dtypes.finfo(dtype)
        return np.array(info.min if lowest else info.max, dtype)
    if jax.dtypes.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.array(info.min if lowest else info.max, dtype)
    if dtype == np.bool_:
        return np.array(not lowest, np.bool_)
    raise FxTypeError(f"reduce_window: unsupported dtype {dtype.name} for max/min.")


def _window_params(window_dimensions, window_strides, padding, base_dilation,
                   window_dilation) -> dict:
    n = len(window_dimensions)
    ints = lambda v: tuple(int(d) for d in v)  # noqa: E731
    return dict(window_dimensions=ints(window_dimensions),
                window_strides=ints(window_strides),
                padding=tuple((int(lo), int(hi)) for lo, hi in padding),
                base_dilation=(1,) * n if base_dilation is None else ints(base_dilation),
                window_dilation=(1,) * n if window_dilation is None else ints(window_dilation))


def _insert_unit_axis(params: dict, axis: int) -> dict:
    """The window params with a size-1, unstrided, unpadded window on a new axis."""
    out = {}
    for k, v in params.items():
        if k in ("window_dimensions", "window_strides", "padding", "base_dilation",
                 "window_dilation"):
            unit = (0, 0) if k == "padding" else 1
            out[k] = v[:axis] + (unit,) + v[axis:]
        else:
            out[k] = v
    return out


def _monoid_lowering(reducer, identity, x, *, window_dimensions, window_strides, padding,
                     base_dilation, window_dilation):
    # lax.reduce_window dispatches to reduce_window_{sum,max,min}_p for these (op, identity)
    return lax.reduce_window(x, identity(x.dtype), reducer, window_dimensions, window_strides,
                             padding, base_dilation, window_dilation)


def _monoid_batch(prim, args, bdims, **params):
    """JAX's _reduce_window_batch_rule: a unit window on the batch axis."""
    (x,), (bdim,) = args, bdims
    return prim.bind(x, **_insert_unit_axis(params, bdim)), bdim


def _monoid_primitive(name: str, kinds: str, reducer, identity) -> Primitive:
    prim = Primitive(name)

    @prim.def_abstract_eval
    def _aval(x, **params):
        check_kind(name, (x,), kinds)
        return ShapedArray(_window_shape(name, x, **params), x.dtype, x.weak_type)

    prim.def_lowering(partial(_monoid_lowering, reducer, identity))
    prim.def_batch(partial(_monoid_batch, prim))
    return prim


# --- reduce_window_sum ---
reduce_window_sum_p = _monoid_primitive("reduce_window_sum", NUMBER, lax.add,
                                        lambda dtype: np.array(0, dtype))
deflinear(reduce_window_sum_p)


def _reduce_window_sum_transpose(ct, operand, *, window_dimensions, window_strides, padding,
                                 base_dilation, window_dilation):
    """JAX's _reduce_window_sum_transpose_rule: the cotangent, dilated by the
    strides and padded, summed over windows strided by the base dilation."""
    in_shape = operand.aval.shape
    pads = _vjp_lhs_padding(in_shape, window_dimensions, window_strides, get_aval(ct).shape,
                            padding, base_dilation, window_dilation)
    config = tuple((lo, hi, s - 1) for (lo, hi), s in zip(pads, window_strides))
    padded = pad(ct, np.zeros((), get_aval(ct).dtype), config)
    ones = (1,) * len(in_shape)
    return reduce_window_sum_p.bind(padded, window_dimensions=window_dimensions,
                                    window_strides=base_dilation,
                                    padding=((0, 0),) * len(in_shape), base_dilation=ones,
                                    window_dilation=window_dilation)


deftranspose(reduce_window_sum_p, _reduce_window_sum_transpose)


def _chooser_jvp(select_prim, t, ans, operand, **params):
    return select_and_gather_add_p.bind(t, operand, select_prim=select_prim, **params)


# --- reduce_window_max ---
reduce_window_max_p = _monoid_primitive("reduce_window_max", ANY, lax.max, _max_identity)
defjvp(reduce_window_max_p, partial(_chooser_jvp, ge_p))

# --- reduce_window_min ---
reduce_window_min_p = _monoid_primitive("reduce_window_min", ANY, lax.min, _min_identity)
defjvp(reduce_window_min_p, partial(_chooser_jvp, le_p))


# --- select_and_gather_add ---
select_and_gather_add_p = Primitive("select_and_gather_add")


@select_and_gather_add_p.def_abstract_eval
def _select_and_gather_add_aval(tangents, operand, *, select_prim, **params):
    if tangents.shape != operand.shape:
        raise FxTypeError(f"select_and_gather_add: tangents and operand shapes must match, got "
                          f"{fmt_avals((tangents, operand))}.")
    return ShapedArray(_window_shape("select_and_gather_add", operand, **params), tangents.dtype,
                       tangents.weak_type)


def _select_lowering_pairs(select_prim, operand, tangents, params):
    """Each window's (extremum, its tangent): a variadic reduce_window whose
    reducer keeps the left pair when it is ``select_prim`` (ge/le) the right
    one, as JAX's _select_and_gather_add_using_variadic_reducewindow."""
    cmp = lax.ge if select_prim is ge_p else lax.le

    def reducer(x, y):
        (kx, vx), (ky, vy) = x, y
        which = cmp(kx, ky)
        return lax.select(which, kx, ky), lax.select(which, vx, vy)

    init = -np.inf if select_prim is ge_p else np.inf
    _, out = lax.reduce_window((operand, tangents),
                               (np.array(init, operand.dtype), np.array(0, tangents.dtype)),
                               reducer, params["window_dimensions"], params["window_strides"],
                               params["padding"], params["base_dilation"],
                               params["window_dilation"])
    return out


select_and_gather_add_p.def_lowering(
    lambda tangents, operand, *, select_prim, **params:
    _select_lowering_pairs(select_prim, operand, tangents, params))
deflinear(select_and_gather_add_p, (0,))


def _select_and_gather_add_transpose(ct, tangents, operand, *, select_prim, window_dimensions,
                                     window_strides, padding, base_dilation, window_dilation):
    """JAX's _select_and_gather_add_transpose: scatter each window's cotangent
    to its selected element (base dilation: the operand padded with the
    select identity, the result strided back)."""
    if any(d != 1 for d in window_dilation):
        raise NotImplementedError(
            f"VJP not implemented for select_and_gather (MaxPool) with window dilation, got "
            f"window_dilation={window_dilation} (as in JAX). Fix: differentiate in forward mode "
            f"(jvp / jacfwd), or pool without window dilation.")
    has_base_dilation = any(d != 1 for d in base_dilation)
    if has_base_dilation:
        fill = (_max_identity if select_prim is ge_p else _min_identity)(get_aval(operand).dtype)
        operand = pad(operand, fill, tuple((0, 0, d - 1) for d in base_dilation))
    result = select_and_scatter_add_p.bind(ct, operand, select_prim=select_prim,
                                           window_dimensions=window_dimensions,
                                           window_strides=window_strides, padding=padding)
    if has_base_dilation:
        shape = get_aval(result).shape
        result = slice(result, (0,) * len(shape), shape, base_dilation)
    return result


deftranspose(select_and_gather_add_p, _select_and_gather_add_transpose, None)


def _front_batch(prim, args, bdims, **params):
    """Both operands' batch axes to the front; a unit window there."""
    size = batch_size(args, bdims)
    args = [bdim_at_front(a, d, size) for a, d in zip(args, bdims)]
    return prim.bind(*args, **_insert_unit_axis(params, 0)), 0


select_and_gather_add_p.def_batch(partial(_front_batch, select_and_gather_add_p))


# --- select_and_scatter_add ---
select_and_scatter_add_p = Primitive("select_and_scatter_add")


@select_and_scatter_add_p.def_abstract_eval
def _select_and_scatter_add_aval(source, operand, *, select_prim, window_dimensions,
                                 window_strides, padding):
    n = len(window_dimensions)
    ones = (1,) * n
    out = _window_shape("select_and_scatter_add", operand, window_dimensions, window_strides,
                        padding, ones, ones)
    if source.shape != out:
        raise FxTypeError(f"select_and_scatter_add: source {source.str_short()} must have the "
                          f"windowed shape {out} of operand {operand.str_short()}.")
    return ShapedArray(operand.shape, source.dtype, source.weak_type)


@select_and_scatter_add_p.def_lowering
def _select_and_scatter_add_lowering(source, operand, *, select_prim, window_dimensions,
                                     window_strides, padding):
    # XLA's SelectAndScatter as JAX emits it: the vjp of its reduce_window max/min
    # (the forward reduction is dead code XLA removes)
    chooser, identity = ((lax.max, _max_identity) if select_prim is ge_p
                         else (lax.min, _min_identity))
    _, vjp = jax.vjp(lambda x: lax.reduce_window(x, identity(x.dtype), chooser,
                                                 window_dimensions, window_strides, padding),
                     operand)
    return vjp(source.astype(operand.dtype))[0].astype(source.dtype)


deflinear(select_and_scatter_add_p, (0,))


def _select_and_scatter_add_transpose(ct, source, operand, *, select_prim, window_dimensions,
                                      window_strides, padding):
    ones = (1,) * len(window_dimensions)
    return select_and_gather_add_p.bind(ct, operand, select_prim=select_prim,
                                        window_dimensions=window_dimensions,
                                        window_strides=window_strides, padding=padding,
                                        base_dilation=ones, window_dilation=ones)


deftranspose(select_and_scatter_add_p, _select_and_scatter_add_transpose, None)
select_and_scatter_add_p.def_batch(partial(_front_batch, select_and_scatter_add_p))


# --- reduce_window (generic) ---
class _Const:
    """A concrete array the computation captured, held in params (hashable)."""
    __slots__ = ("val", "_key")

    def __init__(self, val):
        self.val = np.asarray(val)
        self._key = (self.val.shape, self.val.dtype.str, self.val.tobytes())

    def __eq__(self, other):
        return isinstance(other, _Const) and self._key == other._key

    def __hash__(self):
        return hash(self._key)

    def __repr__(self):
        return f"const{self.val.dtype.name}{list(self.val.shape)}"


reduce_window_p = Primitive("reduce_window", multiple_results=True)


@reduce_window_p.def_abstract_eval
def _reduce_window_aval(*avals, jaxpr, consts, window_dimensions, window_strides, padding,
                        base_dilation, window_dilation):
    n = len(avals) // 2
    operands, inits = avals[:n], avals[n:]
    if any(o.dtype != i.dtype for o, i in zip(operands, inits)):
        raise FxTypeError(f"reduce_window got inconsistent dtypes for operands and init_values: "
                          f"got operands {fmt_avals(operands)} and init_values "
                          f"{fmt_avals(inits)}. Fix: give init_value the operand's dtype.")
    if any(i.shape != () for i in inits):
        raise FxTypeError(f"reduce_window expected init_values to be scalars but got "
                          f"{fmt_avals(inits)}.")
    if any(o.shape != operands[0].shape for o in operands):
        raise FxTypeError(f"reduce_window: the operands must have equal shapes, got "
                          f"{fmt_avals(operands)}.")
    shape = _window_shape("reduce_window", operands[0], window_dimensions, window_strides,
                          padding, base_dilation, window_dilation)
    return [ShapedArray(shape, o.dtype, o.weak_type) for o in operands]


@reduce_window_p.def_lowering
def _reduce_window_lowering(*args, jaxpr, consts, window_dimensions, window_strides, padding,
                            base_dilation, window_dilation):
    n = len(args) // 2
    const_vals = [c.val for c in consts]

    def computation(x, y):
        return tuple(lower_sub(jaxpr.graph, [*const_vals, *x, *y]))

    out = lax.reduce_window(tuple(args[:n]), tuple(args[n:]), computation, window_dimensions,
                            window_strides, padding, base_dilation, window_dilation)
    return list(out)


@reduce_window_p.def_jvp
def _reduce_window_jvp(primals, tangents, *, jaxpr, consts, **params):
    """JAX's reduce_window_jvp: one reduce_window over (primal, tangent) pairs with
    the jvp of the computation (the init values' tangents must be zero)."""
    n = len(primals) // 2
    if not all(isinstance(t, Zero) for t in tangents[n:]):
        raise FxTypeError("reduce_window jvp does not support non-zero init_value tangents. "
                          "Fix: wrap the init values in stop_gradient.")
    avals = [get_aval(p) for p in primals[:n]]
    nz = [is_float(a) and not isinstance(t, Zero) for a, t in zip(avals, tangents[:n])]
    if not any(nz):
        outs = reduce_window_p.bind(*primals, jaxpr=jaxpr, consts=consts, **params)
        return outs, [Zero(tangent_aval(get_aval(o))) for o in outs]
    nc = len(consts)
    while True:  # the carried tangents: a fixpoint (a tangent may flow into another slot)
        g, jconsts, out_nz = jvp_graph(jaxpr.graph, [False] * nc + nz + nz, nz)
        new = [a or b for a, b in zip(nz, out_nz)]
        if new == nz:
            break
        nz = new
    if any(isinstance(c, Tracer) for c in jconsts):
        raise NotImplementedError("reduce_window: the jvp of the computation captured a tracer.")
    k = sum(nz)
    nj = len(jconsts)
    # g's inputs: jconsts, consts, xs, ys, x-tangents, y-tangents -> (xs, x-tangents), (ys, ...)
    base = nj + nc
    order = (list(range(base)) + list(range(base, base + n))
             + list(range(base + 2 * n, base + 2 * n + k)) + list(range(base + n, base + 2 * n))
             + list(range(base + 2 * n + k, base + 2 * n + 2 * k)))
    new_jaxpr = SubGraph(permute(g, order))
    new_consts = tuple(_Const(c) for c in jconsts) + tuple(consts)
    dots = [t if not isinstance(t, Zero) else zeros(tangent_aval(get_aval(p)))
            for p, t, z in zip(primals[:n], tangents[:n], nz) if z]
    t_inits = [np.zeros((), a.dtype) for a, z in zip(avals, nz) if z]
    args = [*primals[:n], *dots, *primals[n:], *t_inits]
    if tangents_above_primals(primals, dots):
        # under linearize: the primal reduction stays known; only the pairs are staged
        outs = reduce_window_p.bind(*primals, jaxpr=jaxpr, consts=consts, **params)
        touts = reduce_window_p.bind(*args, jaxpr=new_jaxpr, consts=new_consts, **params)[n:]
    else:
        both = reduce_window_p.bind(*args, jaxpr=new_jaxpr, consts=new_consts, **params)
        outs, touts = both[:n], both[n:]
    it = iter(touts)
    return list(outs), [next(it) if z else Zero(tangent_aval(get_aval(o)))
                        for z, o in zip(nz, outs)]


@reduce_window_p.def_transpose
def _reduce_window_transpose(cts, *args, **params):
    raise NotImplementedError(
        "reduce_window with a generic computation has no reverse-mode rule (as in JAX). Fix: "
        "use add / max / min with their identity as init_value (reduce_window_sum/max/min are "
        "differentiable), or forward mode (jvp, jacfwd).")


@reduce_window_p.def_batch
def _reduce_window_batch(args, bdims, **params):
    n = len(args) // 2
    if any(d is not None for d in bdims[n:]):
        raise NotImplementedError("reduce_window batching is not implemented for initial values "
                                  "(as in JAX). Fix: pass an unbatched init_value.")
    size = batch_size(args, bdims)
    operands = [bdim_at_front(a, d, size) for a, d in zip(args[:n], bdims[:n])]
    outs = reduce_window_p.bind(*operands, *args[n:], **_insert_unit_axis(params, 0))
    return outs, [0] * n


def _concrete_scalar(x):
    """The value of a concrete scalar (Python, numpy, jax array, or a tracer that
    knows its value), else None."""
    if isinstance(x, Tracer):
        x = x.concrete_value()
        if x is None:
            return None
    try:
        val = np.asarray(x)
    except Exception:  # an abstract jax tracer
        return None
    return val if val.shape == () else None


_MONOIDS = {add: "sum", lax.add: "sum", max: "max", lax.max: "max", min: "min", lax.min: "min"}


def _monoid(computation, init_leaves):
    """JAX's _get_monoid_window_reducer: the primitive for add/max/min with the
    identity as the (single, concrete, scalar) init value, else None."""
    if len(init_leaves) != 1:
        return None
    kind = _MONOIDS.get(computation) if _hashable(computation) else None
    if kind is None:
        return None
    val = _concrete_scalar(init_leaves[0])
    if val is None:
        return None
    dtype = get_aval(init_leaves[0]).dtype
    if kind == "sum":
        return reduce_window_sum_p if val == 0 else None
    if kind == "max":
        return reduce_window_max_p if val == _max_identity(dtype) else None
    return reduce_window_min_p if val == _min_identity(dtype) else None


def _hashable(x) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def reduce_window(operand, init_value, computation: Callable, window_dimensions: Sequence[int],
                  window_strides: Sequence[int] | None = None, padding="VALID",
                  base_dilation: Sequence[int] | None = None,
                  window_dilation: Sequence[int] | None = None):
    """Reduce every window of ``operand`` with ``computation`` (lax.reduce_window).

    ``add`` / ``max`` / ``min`` (ours or jax.lax's) with their identity as
    ``init_value`` bind ``reduce_window_sum`` / ``_max`` / ``_min`` (fully
    differentiable); any other computation binds the generic ``reduce_window``
    primitive (forward-mode differentiable only, as in JAX).

    Args:
      operand: an array or a pytree of arrays of equal shapes.
      init_value: a scalar, or a pytree of scalars like ``operand``.
      computation: ``(acc, x) -> acc`` on pytrees of scalars like ``init_value``.
      window_dimensions: the window size on every axis.
      window_strides: the strides (default 1s).
      padding: 'VALID', 'SAME', 'SAME_LOWER' or one ``(lo, hi)`` pair per axis.
      base_dilation: the operand's dilation (default 1s).
      window_dilation: the window's dilation (default 1s).

    Returns:
      The reduced array(s), with ``operand``'s structure.

    References:
      jax/_src/lax/windowed_reductions.py (reduce_window).

    Example::

        >>> reduce_window(x, 0.0, P.add, (2, 2), (2, 2), "VALID")   # 2x2 sum pooling
    """
    flat_ops, op_tree = tree_util.tree_flatten(operand)
    flat_inits, init_tree = tree_util.tree_flatten(init_value)
    if op_tree != init_tree:
        raise ValueError(f"Operands must have the same tree structure as init_values: "
                         f"{op_tree} vs. {init_tree}")
    if not flat_ops:
        raise ValueError("reduce_window must have at least one operand.")
    if isinstance(padding, str):
        window = (window_dimensions if window_dilation is None
                  else _dilate_shape(window_dimensions, window_dilation))
        padding = padtype_to_pads(get_aval(flat_ops[0]).shape, window, window_strides or [],
                                  padding)
    if window_strides is None:
        window_strides = (1,) * len(window_dimensions)
    params = _window_params(window_dimensions, window_strides, padding, base_dilation,
                            window_dilation)
    prim = _monoid(computation, flat_inits)
    if prim is not None:
        return tree_util.tree_unflatten(op_tree, [prim.bind(flat_ops[0], **params)])
    init_avals = [get_aval(v).update(shape=()) for v in flat_inits]
    box = []
    flat = flatten_fn(lambda xy: computation(*xy), tree_util.tree_structure((init_value,
                                                                              init_value)), box)
    graph, consts = trace_flat(flat, init_avals + init_avals)
    if box[0] != op_tree:
        raise ValueError(f"reduce_window output must have the same tree structure as the "
                         f"operands {op_tree} vs. {box[0]}")
    if any(isinstance(c, Tracer) for c in consts):
        raise NotImplementedError("reduce_window: the computation can't close over tracers (as "
                                  "in JAX). Fix: make the captured values constants, or pass "
                                  "them as extra operands.")
    outs = reduce_window_p.bind(*flat_ops, *flat_inits, jaxpr=SubGraph(graph),
                                consts=tuple(_Const(c) for c in consts), **params)
    return tree_util.tree_unflatten(op_tree, outs)
