"""Array sequences (as jax.numpy): rotation, column/row splitting, ``append``,
``insert``/``delete`` (static positions), ``select``/``piecewise``/``choose``,
``compress``, differences, ``cross``, and sorted-array lookups
(``searchsorted``, ``digitize``, ``bincount``, ``interp``).

Example::

    >>> import primitives.numpy as fnp
    >>> fnp.diff(fnp.array([1, 4, 9]))
    Array([3, 5], dtype=int32)
"""
from __future__ import annotations

import operator

import numpy as np

import primitives as P
from fx.core import Tracer, canonical_dtype, get_aval
from fx.dtypes import kind
from fx.errors import ConcretizationError, ShapeError
from primitives.numpy import (indexing as _ix, manipulation as _man, math as _m,
                              reductions as _red)
from primitives.numpy._promote import promote
from primitives.numpy._util import broadcast_arrays, canonicalize_axis, shape_of
from primitives.numpy.creation import asarray, zeros, zeros_like

__all__ = ["rot90", "column_stack", "hsplit", "vsplit", "dsplit", "unstack", "append", "insert",
           "delete", "select", "piecewise", "choose", "compress", "diff", "ediff1d", "cross",
           "searchsorted", "digitize", "bincount", "interp"]


def _int():
    return canonical_dtype(np.int64)


def _take_axis(x, idx, axis):
    """``x[..., idx, ...]`` with ``idx`` (int/slice) at ``axis``."""
    return _ix.getitem(x, (slice(None),) * axis + (idx,))


# --- rotation and splitting ---------------------------------------------------------------
def rot90(m, k: int = 1, axes: tuple[int, int] = (0, 1)):
    """As jnp.rot90: rotate by 90 degrees ``k`` times in the plane of ``axes``."""
    m = asarray(m)
    nd = len(shape_of(m))
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    ax1, ax2 = (canonicalize_axis(a, nd, "rot90") for a in axes)
    if ax1 == ax2:
        raise ValueError("Axes must be different")
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return _man.flip(_man.flip(m, ax1), ax2)
    perm = list(range(nd))
    perm[ax1], perm[ax2] = perm[ax2], perm[ax1]
    if k == 1:
        return _man.transpose(_man.flip(m, ax2), perm)
    return _man.flip(_man.transpose(m, perm), ax2)


def column_stack(tup):
    """As jnp.column_stack: 1-d arrays become columns, then concatenate on axis 1."""
    arrs = [asarray(a) for a in tup]
    arrs = [P.reshape(a, (shape_of(a)[0] if shape_of(a) else 1, 1)) if len(shape_of(a)) < 2
            else a for a in arrs]
    return _man.concatenate(arrs, 1)


def hsplit(ary, indices_or_sections):
    """As jnp.hsplit: split along axis 1 (axis 0 for 1-d)."""
    a = asarray(ary)
    return _man.split(a, indices_or_sections, axis=0 if len(shape_of(a)) == 1 else 1)


def _split_nd(name, min_nd, axis, ary, indices_or_sections):
    a = asarray(ary)
    if len(shape_of(a)) < min_nd:
        raise ValueError(f"{name} only works on arrays of {min_nd} or more dimensions")
    return _man.split(a, indices_or_sections, axis=axis)


def vsplit(ary, indices_or_sections):
    """As jnp.vsplit: split along axis 0 (at least 2-d)."""
    return _split_nd("vsplit", 2, 0, ary, indices_or_sections)


def dsplit(ary, indices_or_sections):
    """As jnp.dsplit: split along axis 2 (at least 3-d)."""
    return _split_nd("dsplit", 3, 2, ary, indices_or_sections)


def unstack(x, /, *, axis: int = 0):
    """As jnp.unstack: the slices of ``x`` along ``axis``, as a tuple."""
    x = asarray(x)
    if len(shape_of(x)) == 0:
        raise ValueError("Unstack requires arrays with rank > 0, however a scalar array was "
                         "passed.")
    axis = canonicalize_axis(axis, len(shape_of(x)), "unstack")
    return tuple(_take_axis(x, i, axis) for i in range(shape_of(x)[axis]))


# --- append / insert / delete --------------------------------------------------------------
def append(arr, values, axis: int | None = None):
    """As jnp.append: concatenate ``values`` after ``arr`` (flattened when ``axis`` is None)."""
    if axis is None:
        return _man.concatenate([_man.ravel(arr), _man.ravel(values)], 0)
    return _man.concatenate([asarray(arr), asarray(values)], axis)


def _static_positions(obj, name):
    if isinstance(obj, Tracer):
        raise ConcretizationError(f"{name}: traced positions are not supported (the result "
                                  f"shape would depend on them). Fix: pass static indices.")
    return np.asarray(obj)


def delete(arr, obj, axis: int | None = None, *, assume_unique_indices: bool = False):
    """As jnp.delete with static ``obj`` (int, slice, int array or boolean mask)."""
    a = asarray(arr)
    if axis is None:
        a, axis = _man.ravel(a), 0
    axis = canonicalize_axis(axis, len(shape_of(a)), "delete")
    n = shape_of(a)[axis]
    keep = np.ones(n, bool)
    if isinstance(obj, slice):
        keep[np.arange(n)[obj]] = False
    else:
        o = _static_positions(obj, "delete")
        if o.dtype == bool:
            if o.shape != (n,):
                raise ValueError(f"delete: boolean mask of shape {o.shape} does not match "
                                 f"axis length {n}")
            keep = ~o
        else:
            if o.dtype.kind not in "iu":
                raise IndexError("arrays used as indices must be of integer (or boolean) type")
            if np.any((o < -n) | (o >= n)):
                raise IndexError(f"delete: index out of bounds for axis {axis} with size {n}")
            keep[o % n if n else o] = False
    return _ix.take(a, asarray(np.nonzero(keep)[0].astype(_int())), axis=axis)


def insert(arr, obj, values, axis: int | None = None):
    """As jnp.insert with static ``obj`` (int, slice or int array positions)."""
    a = asarray(arr)
    values = asarray(values)
    if axis is None:
        a, axis = _man.ravel(a), 0
    axis = canonicalize_axis(axis, len(shape_of(a)), "insert")
    a, values = promote(a, values)
    values = P.convert_element_type(values, get_aval(a).dtype) \
        if get_aval(values).dtype != get_aval(a).dtype else values
    n = shape_of(a)[axis]
    o = np.arange(n + 1)[obj] if isinstance(obj, slice) else _static_positions(obj, "insert")
    if o.dtype.kind not in "iu":
        raise ValueError(f"jnp.insert(): index array must be integer typed; got {o}")
    scalar_obj = o.ndim == 0
    o = np.where(o.ravel() < 0, o.ravel() + n, o.ravel())
    if np.any((o < 0) | (o > n)):
        raise IndexError(f"insert: index out of bounds for axis {axis} with size {n}")
    vshape = list(shape_of(a))
    if scalar_obj:
        v = values
        if len(shape_of(v)) < len(vshape):
            v = _man.expand_dims(v, axis) if len(shape_of(v)) == len(vshape) - 1 else v
        vshape[axis] = shape_of(v)[axis] if len(shape_of(v)) == len(vshape) else 1
        v = _man.broadcast_to(v, vshape)
        o = np.full(vshape[axis], o[0])
    else:
        vshape[axis] = len(o)
        if len(shape_of(values)) == len(vshape) or len(shape_of(values)) == 0:
            v = _man.broadcast_to(values, vshape)
        else:
            v = _man.broadcast_to(_man.moveaxis(
                _man.broadcast_to(values, (*[1] * (len(vshape) - 1 - len(shape_of(values)) + 1),
                                           *shape_of(values))), -1, axis), vshape)
    # positions in the output: values keep their order, stable after arr's elements
    order = np.argsort(o, kind="stable")
    v = _ix.take(v, asarray(order.astype(_int())), axis=axis)
    o = o[order]
    new_pos = o + np.arange(len(o))
    is_new = np.zeros(n + len(o), bool)
    is_new[new_pos] = True
    src = np.empty(n + len(o), np.int64)
    src[is_new] = n + np.arange(len(o))
    src[~is_new] = np.arange(n)
    both = _man.concatenate([a, v], axis)
    return _ix.take(both, asarray(src.astype(_int())), axis=axis)


# --- selection ------------------------------------------------------------------------------
def select(condlist, choicelist, default=0):
    """The choice of the first true condition, else ``default`` (as jnp.select).

    Args:
      condlist: conditions (arrays or scalars of any dtype: nonzero is true),
        mutually broadcastable.
      choicelist: one value per condition, broadcastable with the conditions.
      default: the value where no condition holds.

    Returns:
      The selected values, of the promoted dtype of ``default`` and the choices.

    References:
      jax.numpy.select; numpy.select.
    """
    if len(condlist) != len(choicelist):
        raise ValueError(f"condlist must have length equal to choicelist ({len(condlist)} vs "
                         f"{len(choicelist)})")
    if len(condlist) == 0:
        raise ValueError("condlist must be non-empty")
    for pos, x in enumerate([*condlist, *choicelist, default]):
        if isinstance(x, (list, tuple)):
            raise TypeError(f"select requires ndarray or scalar arguments, got "
                            f"{type(x)} at position {pos}.")
    conds = [asarray(c) for c in condlist]
    choices = promote(asarray(default), *[asarray(v) for v in choicelist])
    # the default first, under an always-false condition: argmax picks the first true one
    conds = _man.stack(broadcast_arrays(asarray(False), *conds, op="select"))
    if kind(get_aval(conds).dtype) != "b":
        conds = _m.not_equal(conds, np.zeros((), get_aval(conds).dtype))
    idx = _red.argmax(conds, axis=0)
    return P.select_n(*broadcast_arrays(idx, *choices, op="select"))


def piecewise(x, condlist, funclist, *args, **kw):
    """As jnp.piecewise: ``funclist[i](x)`` where ``condlist[i]`` (the last true wins;
    one extra function is the default)."""
    x = asarray(x)
    conds = [asarray(c) for c in (condlist if isinstance(condlist, (list, tuple))
                                  else [condlist])]
    if len(shape_of(conds[0])) == len(shape_of(x)) + 1 and len(conds) == 1:
        conds = list(_man.unstack(conds[0])) if hasattr(_man, "unstack") else \
            [_ix.getitem(conds[0], i) for i in range(shape_of(conds[0])[0])]
    nc, nf = len(conds), len(funclist)
    if nf == nc + 1:
        funclist = list(funclist)
        default = funclist.pop()
        nonmatched = _m.logical_not(_red.any(_man.stack(conds), axis=0))
        conds = [nonmatched] + conds
        funclist = [default] + funclist
    elif nf != nc:
        raise ValueError(f"with {nc} condition(s), either {nc} or {nc + 1} functions are "
                         f"expected; got {nf}")
    dtype = get_aval(x).dtype
    out = zeros_like(x)
    for c, f in zip(conds, funclist):
        v = f(x, *args, **kw) if callable(f) else f
        v = asarray(v)
        v = P.convert_element_type(v, dtype) if get_aval(v).dtype != dtype else v
        out = _m.where(c, v, out)
    return out


def choose(a, choices, out=None, mode: str = "raise"):
    """As jnp.choose: ``choices[a]`` elementwise (mode 'raise' clamps like 'clip' under
    tracing; 'wrap' and 'clip' as numpy)."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.choose is not supported.")
    a = asarray(a)
    if kind(get_aval(a).dtype) not in "iu":
        raise ValueError("`a` array must be integer typed")
    n = len(choices)
    if mode == "raise":
        if not isinstance(a, Tracer):
            av = np.asarray(a)
            if np.any((av < 0) | (av >= n)):
                raise ValueError("invalid entry in choice array")
        a = _m.clip(a, 0, n - 1)
    elif mode == "wrap":
        a = _m.mod(a, n)
    elif mode == "clip":
        a = _m.clip(a, 0, n - 1)
    else:
        raise ValueError(f"mode={mode!r} not understood. Must be 'raise', 'wrap', or 'clip'")
    arrs = broadcast_arrays(a, *[asarray(c) for c in choices], op="choose")
    a, cs = arrs[0], promote(*arrs[1:])
    out = cs[-1]
    for i in range(n - 2, -1, -1):
        out = _m.where(_m.equal(a, i), cs[i], out)
    return out


def compress(condition, a, axis: int | None = None, *, size: int | None = None,
             fill_value=0, out=None):
    """As jnp.compress. Without ``size`` the condition must be concrete (the result
    shape depends on it): a traced one raises ConcretizationError."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.compress is not supported.")
    cond = condition
    if len(shape_of(cond)) != 1:
        raise ValueError("condition must be a 1D array")
    a = asarray(a)
    if axis is None:
        a, axis = _man.ravel(a), 0
    axis = canonicalize_axis(axis, len(shape_of(a)), "compress")
    n = shape_of(a)[axis]
    if size is None:
        if isinstance(cond, Tracer):
            raise ConcretizationError(
                "compress: a traced condition gives a data-dependent shape. Fix: pass "
                "size=N (and fill_value) for a static result length.")
        c = np.asarray(cond).astype(bool)[:n]
        idx = np.nonzero(c)[0]
        return _ix.take(a, asarray(idx.astype(_int())), axis=axis)
    c = _m.not_equal(asarray(cond), 0)
    m = shape_of(c)[0]
    if m > n:
        c = _ix.getitem(c, slice(0, n))
    elif m < n:
        c = _man.concatenate([c, asarray(np.zeros(n - m, bool))], 0)
    # stable order: selected positions first
    key = P.convert_element_type(_m.logical_not(c), np.int32)
    order = P.sort((key, P.iota(np.int32, n)), 0, True, 1)[1]
    kept = _red.sum(P.convert_element_type(c, np.int32))
    order = _ix.getitem(order, slice(0, size)) if size <= n else _man.concatenate(
        [order, asarray(np.zeros(size - n, np.int32))], 0)
    taken = _ix.take(a, order, axis=axis)
    valid = _m.less(P.iota(np.int32, size), kept)
    vshape = [1] * len(shape_of(a))
    vshape[axis] = size
    return _m.where(P.reshape(valid, tuple(vshape)), taken, fill_value)


# --- differences ----------------------------------------------------------------------------
def diff(a, n: int = 1, axis: int = -1, prepend=None, append=None):
    """As jnp.diff: the ``n``-th discrete difference along ``axis``."""
    a = asarray(a)
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if n == 0:
        return a
    nd = len(shape_of(a))
    if nd == 0:
        raise ValueError(f"diff requires input that is at least one dimensional; got {a}")
    axis = canonicalize_axis(axis, nd, "diff")
    parts = []
    for val, pos in ((prepend, 0), (append, 1)):
        if val is None:
            continue
        v = asarray(val)
        if len(shape_of(v)) == 0:
            s = list(shape_of(a))
            s[axis] = 1
            v = _man.broadcast_to(v, tuple(s))
        parts.append((pos, v))
    if parts:
        a = _man.concatenate([v for p, v in parts if p == 0] + [a] +
                             [v for p, v in parts if p == 1], axis)
    op = _m.not_equal if kind(get_aval(a).dtype) == "b" else _m.subtract
    for _ in range(n):
        a = op(_take_axis(a, slice(1, None), axis), _take_axis(a, slice(None, -1), axis))
    return a


def ediff1d(ary, to_end=None, to_begin=None):
    """As jnp.ediff1d: differences of the flattened array, with optional ends."""
    arr = _man.ravel(ary)
    result = _m.subtract(_ix.getitem(arr, slice(1, None)), _ix.getitem(arr, slice(None, -1)))
    if to_begin is not None:
        result = _man.concatenate([_man.ravel(asarray(to_begin, get_aval(arr).dtype)),
                                   result], 0)
    if to_end is not None:
        result = _man.concatenate([result, _man.ravel(asarray(to_end, get_aval(arr).dtype))],
                                  0)
    return result


def cross(a, b, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None):
    """As jnp.cross: cross product of 2- or 3-vectors along the given axes."""
    a, b = promote(asarray(a), asarray(b))
    if axis is not None:
        axisa = axisb = axisc = axis
    a = _man.moveaxis(a, axisa, -1)
    b = _man.moveaxis(b, axisb, -1)
    if shape_of(a)[-1] not in (2, 3) or shape_of(b)[-1] not in (2, 3):
        raise ValueError("Dimension must be either 2 or 3 for cross product")
    if shape_of(a)[-1] == 2 and shape_of(b)[-1] == 2:
        a0, a1 = (_take_axis(a, i, len(shape_of(a)) - 1) for i in range(2))
        b0, b1 = (_take_axis(b, i, len(shape_of(b)) - 1) for i in range(2))
        return _m.subtract(_m.multiply(a0, b1), _m.multiply(a1, b0))
    za = _ix.getitem(a, (Ellipsis, slice(0, 1)))
    zb = _ix.getitem(b, (Ellipsis, slice(0, 1)))
    a = _man.concatenate([a, zeros_like(za)], -1) if shape_of(a)[-1] == 2 else a
    b = _man.concatenate([b, zeros_like(zb)], -1) if shape_of(b)[-1] == 2 else b
    a0, a1, a2 = (_ix.getitem(a, (Ellipsis, i)) for i in range(3))
    b0, b1, b2 = (_ix.getitem(b, (Ellipsis, i)) for i in range(3))
    c = _man.stack(broadcast_arrays(
        _m.subtract(_m.multiply(a1, b2), _m.multiply(a2, b1)),
        _m.subtract(_m.multiply(a2, b0), _m.multiply(a0, b2)),
        _m.subtract(_m.multiply(a0, b1), _m.multiply(a1, b0))), 0)
    return _man.moveaxis(c, 0, axisc)


# --- sorted lookups ---------------------------------------------------------------------
def searchsorted(a, v, side: str = "left", sorter=None, *, method: str = "scan"):
    """As jnp.searchsorted (int32 indices). Every method is computed by comparing
    each query with every element (``compare_all``): the same values."""
    if side not in ("left", "right"):
        raise ValueError(f"{side!r} is an invalid value for keyword 'side'. "
                         "Expected one of ['left', 'right']")
    if method not in ("scan", "scan_unrolled", "sort", "compare_all"):
        raise ValueError(f"{method!r} is an invalid value for keyword 'method'.")
    a, v = promote(asarray(a), asarray(v))
    if len(shape_of(a)) != 1:
        raise ValueError("a should be 1-dimensional")
    if sorter is not None:
        a = _ix.take(a, sorter)
    if shape_of(a)[0] == 0:
        return P.broadcast_in_dim(np.asarray(0, np.int32), shape_of(v), ())
    cmp = _m.less if side == "left" else _m.less_equal
    hits = cmp(_man.expand_dims(a, tuple(range(len(shape_of(v))))) if shape_of(v) else a,
               _man.expand_dims(v, -1))
    return P.convert_element_type(_red.sum(P.convert_element_type(hits, np.int32), axis=-1),
                                  np.int32)


def digitize(x, bins, right: bool = False, *, method: str | None = None):
    """As jnp.digitize: the bin index of each ``x`` (bins increasing or decreasing)."""
    x, bins = asarray(x), asarray(bins)
    if len(shape_of(bins)) != 1:
        raise ValueError(f"digitize: bins must be a 1-dimensional array; got {bins}")
    if shape_of(bins)[0] == 0:
        return zeros_like(x, dtype=np.int32)
    side = "right" if not right else "left"
    kw = {} if method is None else {"method": method}
    inc = _m.greater_equal(_ix.getitem(bins, -1), _ix.getitem(bins, 0))
    return _m.where(inc, searchsorted(bins, x, side=side, **kw),
                    _m.subtract(np.int32(shape_of(bins)[0]),
                                searchsorted(_man.flip(bins), x, side=side, **kw)))


def bincount(x, weights=None, minlength: int = 0, *, length: int | None = None):
    """As jnp.bincount. Without ``length`` the output length is ``max(x) + 1``, which
    needs a concrete ``x``: a traced one raises ConcretizationError."""
    x = asarray(x)
    if kind(get_aval(x).dtype) not in "iu":
        raise TypeError(f"x argument to bincount must have an integer type; got "
                        f"{get_aval(x).dtype}")
    if len(shape_of(x)) != 1:
        raise ValueError("only 1-dimensional input supported.")
    minlength = operator.index(minlength)
    if length is None:
        if isinstance(x, Tracer):
            raise ConcretizationError(
                "The error occurred because of argument 'x' of jnp.bincount: the output length "
                "max(x) + 1 depends on traced values. Fix: pass length=N (a static int).")
        xv = np.asarray(x)
        length = max(minlength, int(xv.max()) + 1 if xv.size else 0)
    else:
        length = operator.index(length)
    if weights is None:
        weights = np.asarray(1, _int())
    else:
        weights = asarray(weights)
        if shape_of(weights) != shape_of(x):
            raise ValueError("shape of weights must match shape of x.")
    out = zeros((length,), get_aval(asarray(weights)).dtype)
    return _ix.at(out)[_m.clip(x, 0)].add(weights, mode="drop")


def interp(x, xp, fp, left=None, right=None, period=None):
    """As jnp.interp: one-dimensional piecewise-linear interpolation (``xp`` increasing)."""
    x, xp, fp = (asarray(v) for v in (x, xp, fp))
    if len(shape_of(xp)) != 1 or len(shape_of(fp)) != 1:
        raise ValueError("xp and fp must be one-dimensional")
    if shape_of(xp)[0] != shape_of(fp)[0]:
        raise ValueError("xp and fp must have the same length")
    if not shape_of(xp)[0]:
        raise ValueError("xp must be non-empty")
    if period is not None:
        raise NotImplementedError("interp: period is not supported (see report)")
    x, xp = _m.promote_inexact(x, xp)   # fp on its own (it may be complex), as JAX
    fp, = _m.promote_inexact(fp)
    if kind(get_aval(x).dtype) == "c":
        raise ValueError("jnp.interp: complex x values not supported.")
    n = shape_of(xp)[0]
    i = _m.clip(searchsorted(xp, x, side="right"), 1, n - 1)
    fp_i, fp_i1 = _ix.take(fp, i), _ix.take(fp, _m.subtract(i, 1))
    xp_i, xp_i1 = _ix.take(xp, i), _ix.take(xp, _m.subtract(i, 1))
    df = _m.subtract(fp_i, fp_i1)
    dx = _m.subtract(xp_i, xp_i1)
    delta = _m.subtract(x, xp_i1)
    eps = np.spacing(np.finfo(get_aval(xp).dtype).eps)
    dx0 = _m.less_equal(_m.abs(dx), eps)
    f = _m.where(dx0, fp_i1, _m.add(fp_i1, _m.multiply(_m.divide(delta, _m.where(dx0, 1, dx)),
                                                       df)))
    if not (isinstance(left, str) or isinstance(right, str)):
        f = _m.where(_m.less(x, _ix.getitem(xp, 0)),
                     _ix.getitem(fp, 0) if left is None else left, f)
        f = _m.where(_m.greater(x, _ix.getitem(xp, -1)),
                     _ix.getitem(fp, -1) if right is None else right, f)
    else:
        raise NotImplementedError("interp: left/right='extrapolate' is not supported")
    return f


del ShapeError
