"""Array manipulation (as jax.numpy): shapes, joining/splitting, flips, padding,
take, triangles and diagonals, repeat/tile.

Everything lowers to the lax-level shape/indexing primitives (reshape,
transpose, broadcast_in_dim, slice, concatenate, rev, pad, gather, select_n).

Example::

    >>> import primitives.numpy as fnp
    >>> fnp.moveaxis(fnp.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
"""
from __future__ import annotations

import math
import operator

import numpy as np

import primitives as P
from fx.core import Tracer, canonical_dtype, get_aval
from fx.errors import ShapeError
from primitives.numpy import _util
from primitives.numpy._promote import promote
from primitives.numpy._util import canonicalize_axes, canonicalize_axis, shape_of


__all__ = ["reshape", "ravel", "transpose", "permute_dims", "swapaxes",
           "moveaxis", "expand_dims", "squeeze", "broadcast_to", "broadcast_arrays",
           "atleast_1d", "atleast_2d", "atleast_3d", "concatenate", "concat", "stack", "hstack",
           "vstack", "dstack", "split", "array_split", "flip", "fliplr", "flipud", "roll"]
# ``pad`` here holds the copying modes; the public fnp.pad (all modes) is padding.pad.

_INDEX_DTYPE = np.dtype(np.int32)


# --- helpers -----------------------------------------------------------------------
def _arr(x):
    """An array-like as something the primitives accept (lists become numpy arrays)."""
    if isinstance(x, (list, tuple)):
        if any(isinstance(e, Tracer) for e in x):
            return stack(x)
        a = np.asarray(x)
        return a.astype(canonical_dtype(a.dtype))
    return x


def _size(shape) -> int:
    return int(math.prod(shape))


def _index_tuple(x) -> tuple:
    try:
        return tuple(operator.index(i) for i in x)
    except TypeError:
        return (operator.index(x),)


def _zeros_like(x, shape=None):
    """Zeros of ``x``'s dtype and weak type (``shape`` defaults to x's)."""
    aval = get_aval(x)
    z = P.broadcast_in_dim(np.zeros((), aval.dtype), aval.shape if shape is None else shape, ())
    return P.convert_element_type(z, aval.dtype, weak_type=True) if aval.weak_type else z


def _slice_axis(x, start, stop, axis):
    shape = shape_of(x)
    starts, limits = [0] * len(shape), list(shape)
    starts[axis], limits[axis] = start, stop
    if starts == [0] * len(shape) and limits == list(shape):
        return x
    return P.slice(x, starts, limits)


def _concat(parts, axis):
    parts = [p for p in parts if shape_of(p)[axis] != 0] or parts[:1]
    return parts[0] if len(parts) == 1 else P.concatenate(parts, axis)


# --- shapes -------------------------------------------------------------------------
def _infer_shape(shape, size: int, op="reshape") -> tuple:
    shape = _index_tuple(shape)
    if shape.count(-1) > 1:
        raise ShapeError(f"{op}: can only specify one unknown dimension (-1), got {shape}")
    if -1 in shape:
        rest = _size(d for d in shape if d != -1)
        if rest == 0 or size % rest:
            raise ShapeError(f"{op}: cannot reshape an array of size {size} into shape {shape}")
        shape = tuple(size // rest if d == -1 else d for d in shape)
    if _size(shape) != size:
        raise ShapeError(f"{op}: cannot reshape an array of size {size} into shape {shape} "
                         f"({_size(shape)} elements). Fix: keep the number of elements, or use "
                         f"-1 for one inferred axis.")
    return shape


def reshape(a, shape, order="C", *, copy=None):
    """Give ``a`` a new shape with the same elements (as jnp.reshape).

    Args:
      a: array.
      shape: new shape; one entry may be -1 (inferred).
      order: 'C' (row-major) or 'F' (column-major).
      copy: ignored (arrays are immutable).
    """
    a = _arr(a)
    a_shape = shape_of(a)
    shape = _infer_shape(shape, _size(a_shape))
    if order == "C":
        return a if shape == a_shape else P.reshape(a, shape)
    if order == "F":
        return transpose(P.reshape(transpose(a), shape[::-1]))
    raise NotImplementedError(f"reshape: order={order!r} is not supported (use 'C' or 'F')")


def ravel(a, order="C"):
    """Flatten ``a`` to one dimension (as jnp.ravel)."""
    return reshape(a, (-1,), order=order)


def transpose(a, axes=None):
    """Permute the axes of ``a`` (reverse them when ``axes`` is None), as jnp.transpose."""
    a = _arr(a)
    nd = len(shape_of(a))
    perm = tuple(range(nd))[::-1] if axes is None else tuple(
        canonicalize_axis(int(ax), nd, "transpose") for ax in axes)
    if sorted(perm) != list(range(nd)):
        raise ShapeError(f"transpose: axes {tuple(axes)} are not a permutation of the axes of an "
                         f"array of shape {shape_of(a)}")
    return a if perm == tuple(range(nd)) else P.transpose(a, perm)


def permute_dims(a, /, axes):
    """Array-API name of :func:`transpose` with explicit ``axes``."""
    return transpose(a, axes)


def swapaxes(a, axis1, axis2):
    """Interchange two axes (as jnp.swapaxes)."""
    a = _arr(a)
    nd = len(shape_of(a))
    perm = list(range(nd))
    i, j = canonicalize_axis(axis1, nd, "swapaxes"), canonicalize_axis(axis2, nd, "swapaxes")
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def moveaxis(a, source, destination):
    """Move axes ``source`` to positions ``destination`` (as jnp.moveaxis)."""
    a = _arr(a)
    nd = len(shape_of(a))
    src = tuple(canonicalize_axis(s, nd, "moveaxis") for s in _index_tuple(source))
    dst = tuple(canonicalize_axis(d, nd, "moveaxis") for d in _index_tuple(destination))
    if len(src) != len(dst):
        raise ShapeError(f"moveaxis: source {source} and destination {destination} must have the "
                         f"same number of elements")
    perm = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return transpose(a, perm)


def expand_dims(a, axis):
    """Insert size-1 axes at positions ``axis`` of the result (as jnp.expand_dims)."""
    a = _arr(a)
    shape = shape_of(a)
    out_nd = len(shape) + len(_index_tuple(axis))
    axes = canonicalize_axes(_index_tuple(axis), out_nd, "expand_dims")
    it = iter(shape)
    return P.reshape(a, tuple(1 if i in axes else next(it) for i in range(out_nd)))


def squeeze(a, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``), as jnp.squeeze."""
    a = _arr(a)
    shape = shape_of(a)
    if axis is None:
        axes = tuple(i for i, d in enumerate(shape) if d == 1)
    else:
        axes = canonicalize_axes(_index_tuple(axis), len(shape), "squeeze")
        bad = [i for i in axes if shape[i] != 1]
        if bad:
            raise ShapeError(f"squeeze: cannot squeeze axes {tuple(bad)} of an array of shape "
                             f"{shape}: only axes of size 1 can be removed")
    if not axes:
        return a
    return P.reshape(a, tuple(d for i, d in enumerate(shape) if i not in axes))


def broadcast_to(array, shape):
    """Broadcast ``array`` to ``shape`` with numpy rules (as jnp.broadcast_to)."""
    shape = _index_tuple(shape)
    array = _arr(array)
    if type(array) in (bool, int, float, complex):
        return P.broadcast_in_dim(array, shape, ())
    return _util.broadcast_to(array, shape)


def broadcast_arrays(*args):
    """Broadcast arrays against each other (as jnp.broadcast_arrays).

    Returns:
      The broadcast arrays: a list with jax <= 0.10, a tuple with jax >= 0.11
      (the installed jax's ``jnp.broadcast_arrays``).
    """
    args = [_arr(a) for a in args]
    shape = _util.broadcast_shapes(*[shape_of(a) for a in args], op="broadcast_arrays")
    return _util.ARRAYS_OUT(broadcast_to(a, shape) for a in args)


def _atleast(nd, lead_pad, arys):
    out = []
    for a in arys:
        a = _arr(a)
        shape = shape_of(a)
        if len(shape) < nd:
            new = lead_pad(shape)
            out.append(P.reshape(a, new))
        else:
            out.append(a)
    return out[0] if len(out) == 1 else out


def atleast_1d(*arys):
    """View inputs as arrays with at least one dimension (as jnp.atleast_1d)."""
    return _atleast(1, lambda s: (1,), arys)


def atleast_2d(*arys):
    """View inputs as arrays with at least two dimensions (as jnp.atleast_2d)."""
    return _atleast(2, lambda s: (1,) * (2 - len(s)) + s, arys)


def atleast_3d(*arys):
    """View inputs as arrays with at least three dimensions (as jnp.atleast_3d)."""
    return _atleast(3, lambda s: {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)], arys)


# --- joining and splitting ---------------------------------------------------------------
def _as_list(arrays, op):
    if isinstance(arrays, (np.ndarray, Tracer)) or hasattr(arrays, "shape"):
        n = shape_of(arrays)[0] if shape_of(arrays) else 0
        return [arrays[i] for i in range(n)] if shape_of(arrays) else [arrays]
    arrays = [_arr(a) for a in arrays]
    if not arrays:
        raise ValueError(f"{op}: need at least one array to {op}")
    return arrays


def _cast_all(arrays, dtype):
    if dtype is None:
        return promote(*arrays)
    dtype = canonical_dtype(dtype)
    return [a if get_aval(a).dtype == dtype and not get_aval(a).weak_type
            else P.convert_element_type(a, dtype) for a in arrays]


def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing axis (as jnp.concatenate; dtypes promoted).

    Args:
      arrays: sequence of arrays with equal shapes except along ``axis``.
      axis: the axis (None: flatten all inputs first).
      dtype: optional result dtype.
    """
    arrays = _as_list(arrays, "concatenate")
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    shapes = [shape_of(a) for a in arrays]
    if any(len(s) == 0 for s in shapes):
        raise ShapeError("concatenate: zero-dimensional arrays cannot be concatenated. Fix: use "
                         "fnp.stack, or fnp.atleast_1d on the inputs.")
    axis = canonicalize_axis(axis, len(shapes[0]), "concatenate")
    for s in shapes:
        if len(s) != len(shapes[0]) or any(d != e for i, (d, e) in enumerate(zip(s, shapes[0]))
                                           if i != axis):
            raise ShapeError(f"concatenate: all input shapes must match except along axis {axis}"
                             f", got {', '.join(str(x) for x in shapes)}")
    arrays = list(_cast_all(arrays, dtype))
    return arrays[0] if len(arrays) == 1 else P.concatenate(arrays, axis)


def concat(arrays, /, *, axis=0):
    """Array-API name of :func:`concatenate`."""
    return concatenate(arrays, axis=axis)


def stack(arrays, axis=0, out=None, dtype=None):
    """Join arrays along a new axis (as jnp.stack; all shapes must be equal)."""
    if out is not None:
        raise NotImplementedError("stack: the 'out' argument is not supported")
    arrays = _as_list(arrays, "stack")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ShapeError(f"stack: all input arrays must have the same shape, got "
                         f"{', '.join(str(s) for s in sorted(shapes))}")
    nd = len(shapes.pop()) + 1
    axis = canonicalize_axis(axis, nd, "stack")
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis, dtype=dtype)


def hstack(tup, dtype=None):
    """Stack arrays horizontally (axis 0 for 1-D inputs, else 1), as jnp.hstack."""
    arrs = [atleast_1d(a) for a in _as_list(tup, "hstack")]
    return concatenate(arrs, axis=0 if len(shape_of(arrs[0])) == 1 else 1, dtype=dtype)


def vstack(tup, dtype=None):
    """Stack arrays vertically (as jnp.vstack: inputs made at least 2-D)."""
    return concatenate([atleast_2d(a) for a in _as_list(tup, "vstack")], axis=0, dtype=dtype)


def dstack(tup, dtype=None):
    """Stack arrays along the third axis (as jnp.dstack)."""
    return concatenate([atleast_3d(a) for a in _as_list(tup, "dstack")], axis=2, dtype=dtype)


def _split(op, ary, indices_or_sections, axis):
    ary = _arr(ary)
    shape = shape_of(ary)
    axis = canonicalize_axis(operator.index(axis), len(shape), op)
    size = shape[axis]
    if isinstance(indices_or_sections, (list, tuple)) or np.ndim(indices_or_sections) > 0:
        cuts = [0] + [operator.index(int(i)) for i in np.asarray(indices_or_sections)] + [size]
        bounds = [slice(a, b).indices(size)[:2] for a, b in zip(cuts[:-1], cuts[1:])]
    else:
        n = operator.index(int(indices_or_sections))
        if n <= 0:
            raise ValueError(f"{op}: number of sections must be larger than 0, got {n}")
        part, r = divmod(size, n)
        if r and op == "split":
            raise ShapeError(f"split: array split does not result in an equal division: axis "
                             f"{axis} of shape {shape} has size {size}, not divisible by {n}. "
                             f"Fix: use fnp.array_split for unequal parts.")
        sizes = [part + 1] * r + [part] * (n - r)
        ends = np.cumsum([0] + sizes)
        bounds = list(zip(ends[:-1].tolist(), ends[1:].tolist()))
    return [_slice_axis(ary, a, max(a, b), axis) for a, b in bounds]


def split(ary, indices_or_sections, axis=0):
    """Split into equal sections or at indices (as jnp.split); returns a list."""
    return _split("split", ary, indices_or_sections, axis)


def array_split(ary, indices_or_sections, axis=0):
    """Like :func:`split`, allowing sections of unequal size (as jnp.array_split)."""
    return _split("array_split", ary, indices_or_sections, axis)


# --- flips, rolls, padding -------------------------------------------------------------
def flip(m, axis=None):
    """Reverse the order of elements along ``axis`` (all axes if None), as jnp.flip."""
    m = _arr(m)
    axes = canonicalize_axes(axis, len(shape_of(m)), "flip")
    return P.rev(m, axes) if axes else m


def fliplr(m):
    """Reverse along axis 1 (as jnp.fliplr)."""
    return flip(m, 1)


def flipud(m):
    """Reverse along axis 0 (as jnp.flipud)."""
    return flip(m, 0)


def _static_shift(shift):
    if isinstance(shift, Tracer):
        v = shift.concrete_value()
        if v is None:
            return None
        shift = v
    try:
        return _index_tuple(np.asarray(shift).tolist() if np.ndim(shift) else shift)
    except TypeError:
        return None


def roll(a, shift, axis=None):
    """Roll elements along ``axis`` by ``shift`` (static or traced), as jnp.roll."""
    a = _arr(a)
    shape = shape_of(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), shape)
    axes = tuple(canonicalize_axis(ax, len(shape), "roll") for ax in _index_tuple(axis))
    static = _static_shift(shift)
    if static is not None:
        for ax, s in zip(*np.broadcast_arrays(axes, static)):
            n = shape[ax]
            if n:
                i = int(-s) % n
                a = _concat([_slice_axis(a, i, n, ax), _slice_axis(a, 0, i, ax)], ax)
        return a
    shift = _util.broadcast_to(shift, np.broadcast_shapes(np.shape(axes), shape_of(shift)))
    for k, ax in enumerate(np.broadcast_to(axes, shape_of(shift))):
        n = shape[ax]
        s = P.convert_element_type(shift[k] if shape_of(shift) else shift, _INDEX_DTYPE)
        r = P.rem(s, max(n, 1))
        r = P.select_n(P.lt(r, 0), r, P.add(r, n))
        doubled = P.concatenate([a, a], int(ax))
        starts = [np.int32(0)] * len(shape)
        starts[ax] = P.sub(np.int32(n), r)
        a = P.dynamic_slice(doubled, starts, shape)
    return a


def _pad_pairs(values, nd, name, cast=int):
    """numpy's pad-argument broadcasting: scalar, (v,), (before, after) or one pair per axis."""
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        raise TypeError(f"pad: `{name}` entries must be the same shape: {values}")
    if arr.shape == (nd, 2):
        return tuple(tuple(cast(v) for v in row) for row in arr)
    if arr.shape in ((1, 2), (2,)):
        return ((cast(arr.flat[0]), cast(arr.flat[1])),) * nd
    if arr.shape in ((), (1,), (1, 1)):
        return ((cast(arr.flat[0]),) * 2,) * nd
    raise ShapeError(f"pad: {name} {values} cannot be broadcast to shape ({nd}, 2) for an "
                     f"array with {nd} dimensions")


def _pad_value(value, aval):
    """A scalar padding value of the array's dtype (a weak Python scalar for weak arrays)."""
    if isinstance(value, Tracer) or (hasattr(value, "shape") and not isinstance(value, np.ndarray)):
        value_aval = get_aval(value)
        if value_aval.dtype != aval.dtype or value_aval.weak_type != aval.weak_type:
            value = P.convert_element_type(value, aval.dtype, weak_type=aval.weak_type)
        return value
    value = np.asarray(value, aval.dtype)
    return value.item() if aval.weak_type else value


def _pad_constant(array, widths, constant_values):
    aval = get_aval(array)
    if np.ndim(constant_values) == 0 if not isinstance(constant_values, Tracer) else \
            constant_values.ndim == 0:
        return P.pad(array, _pad_value(constant_values, aval), [(lo, hi, 0) for lo, hi in widths])
    pairs = _pad_pairs(constant_values, len(widths), "constant_values", cast=lambda v: v)
    for ax, ((lo, hi), (vlo, vhi)) in enumerate(zip(widths, pairs)):
        for w, v, before in ((lo, vlo, True), (hi, vhi, False)):
            if w:
                cfg = [(0, 0, 0)] * len(widths)
                cfg[ax] = (w, 0, 0) if before else (0, w, 0)
                array = P.pad(array, _pad_value(v, aval), cfg)
    return array


def _edge_block(array, ax, width, before):
    n = shape_of(array)[ax]
    edge = _slice_axis(array, 0, 1, ax) if before else _slice_axis(array, n - 1, n, ax)
    shape = list(shape_of(array))
    shape[ax] = width
    return _util.broadcast_to(edge, shape)


def _pad_axis(array, ax, lo, hi, mode, reflect_type="even"):
    n = shape_of(array)[ax]
    if n == 0:
        if lo or hi:
            raise ShapeError(f"pad: cannot apply '{mode}' padding to empty axis {ax}")
        return array
    if mode == "edge":
        return _concat([_edge_block(array, ax, lo, True), array, _edge_block(array, ax, hi, False)],
                       ax)
    if mode == "wrap":
        (lrep, lrem), (rrep, rrem) = divmod(lo, n), divmod(hi, n)
        parts = [_slice_axis(array, n - lrem, n, ax)] if lrem else []
        parts += [array] * (lrep + rrep + 1)
        parts += [_slice_axis(array, 0, rrem, ax)] if rrem else []
        return _concat(parts, ax)
    # reflect / symmetric: repeatedly mirror, as numpy does for wide pads; 'odd'
    # reflects through the edge value (2 * edge - mirrored), the edge moving outwards
    offset = 1 if (mode == "reflect" and n > 1) else 0
    for width, before in ((lo, True), (hi, False)):
        size = shape_of(array)[ax]
        edge = _slice_axis(array, 0, 1, ax) if before else _slice_axis(array, size - 1, size, ax)
        while width > 0:
            cur = min(width, n - offset)
            width -= cur
            size = shape_of(array)[ax]
            if before:
                piece = _slice_axis(array, offset, offset + cur, ax)
            else:
                stop = size if (mode == "symmetric" or n == 1) else size - 1
                piece = _slice_axis(array, stop - cur, stop, ax)
            piece = P.rev(piece, (ax,))
            if reflect_type == "odd":
                twice = P.mul(edge, _pad_value(2, get_aval(edge)))
                piece = P.sub(_util.broadcast_to(twice, shape_of(piece)), piece)
                if n > 1:
                    k = shape_of(piece)[ax]
                    edge = (_slice_axis(piece, 0, 1, ax) if before
                            else _slice_axis(piece, k - 1, k, ax))
            array = _concat([piece, array] if before else [array, piece], ax)
    return array


_PAD_MODES = ("constant", "edge", "wrap", "reflect", "symmetric", "empty")


def pad(array, pad_width, mode="constant", **kwargs):
    """Pad an array by copying (jnp.pad's copying modes; the public ``fnp.pad``,
    with the statistic, ramp and callable modes too, is :mod:`primitives.numpy.padding`).

    Args:
      array: array to pad.
      pad_width: int, (before, after), or ((before, after),) per axis.
      mode: 'constant' (``constant_values``, default 0), 'edge', 'wrap',
        'reflect', 'symmetric' (``reflect_type`` 'even' or 'odd'), or 'empty' (zeros).

    Returns:
      The padded array.

    References:
      jax.numpy.pad; numpy.pad.
    """
    array = _arr(array)
    nd = len(shape_of(array))
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; supported modes: "
                                  f"{', '.join(_PAD_MODES)}")
    allowed = {"constant": {"constant_values"}, "reflect": {"reflect_type"},
               "symmetric": {"reflect_type"}}.get(mode, set())
    if set(kwargs) - allowed:
        raise ValueError(f"pad: unsupported keyword arguments for mode '{mode}': "
                         f"{sorted(set(kwargs) - allowed)}")
    reflect_type = kwargs.get("reflect_type", "even")
    if reflect_type not in ("even", "odd"):
        raise ValueError(f"pad: reflect_type must be 'even' or 'odd', got {reflect_type!r}")
    if nd == 0:
        return array
    widths = _pad_pairs(pad_width, nd, "pad_width")
    if any(w < 0 for pair in widths for w in pair):
        raise ValueError(f"pad: pad_width can't contain negative values, got {pad_width}")
    if mode in ("constant", "empty"):
        return _pad_constant(array, widths, kwargs.get("constant_values", 0))
    for ax, (lo, hi) in enumerate(widths):
        array = _pad_axis(array, ax, lo, hi, mode, reflect_type)
    return array
