"""Convolution primitive (as jax.lax): conv_general_dilated.

One block, all its rules right below it. The wrapper normalizes string
padding to explicit ``(lo, hi)`` pairs and ``dimension_numbers`` to a
``jax.lax.ConvDimensionNumbers`` (``lhs_spec``, ``rhs_spec``, ``out_spec``:
for each, the axis of batch/out-feature, of feature/in-feature, then the
spatial axes), so every rule sees the canonical form.

Example::

    >>> import numpy as np, primitives as P
    >>> x = np.ones((1, 2, 5, 5), np.float32)    # NCHW
    >>> k = np.ones((3, 2, 3, 3), np.float32)    # OIHW
    >>> P.conv_general_dilated(x, k, (1, 1), "SAME").shape
    (1, 3, 5, 5)

The transpose rules follow JAX's ``_conv_general_dilated_transpose_lhs/_rhs``
(a convolution with the kernel flipped / the roles of strides and dilations
swapped), the batch rule JAX's ``_conv_general_dilated_batch_rule`` (the vmap
axis is folded into the conv batch axis, the feature groups or the output
features, never looped over).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import jax
from jax import lax

from fx.ad import UndefinedPrimal, bilinear_jvp, zeros
from fx.core import Primitive, get_aval
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives._rules import BOOL, NUMBER, check_kind, fmt_avals
from primitives.linalg import canonical_preferred, canonicalize_precision
from primitives.elementwise import convert_element_type
from primitives.shape import reshape
from primitives.shape import rev

__all__ = ["conv_general_dilated", "conv_general_dilated_p"]

ConvDimensionNumbers = lax.ConvDimensionNumbers


# --- helpers (shape arithmetic and the axis reshapes of JAX's conv rules) ---
def _dilate(size: int, dilation: int) -> int:
    return 0 if size == 0 else 1 + dilation * (size - 1)


def _take(shape, perm) -> tuple:
    return tuple(shape[i] for i in perm)


def _reshape_axis_into(src: int, dst: int, x):
    """Merge axis ``src`` of ``x`` into axis ``dst`` (numbered after ``src`` is
    removed), ``src`` becoming the major part."""
    shape = get_aval(x).shape
    perm = [i for i in range(len(shape)) if i != src]
    perm.insert(dst, src)
    new_shape = [s for i, s in enumerate(shape) if i != src]
    new_shape[dst] *= shape[src]
    return reshape(x, new_shape, perm)


def _reshape_axis_out_of(src: int, size1: int, x):
    """Split axis ``src`` of ``x`` into ``(size1, shape[src] // size1)``."""
    shape = list(get_aval(x).shape)
    shape[src:src + 1] = [size1, shape[src] // size1]
    return reshape(x, shape)


def _spec_transpose(spec):
    return (spec[1], spec[0]) + tuple(spec[2:])


def _vjp_lhs_padding(in_shape, window_shape, window_strides, out_shape, padding,
                     lhs_dilation, rhs_dilation):
    lhs_d = [_dilate(s, d) for s, d in zip(in_shape, lhs_dilation)]
    rhs_d = [_dilate(s, d) for s, d in zip(window_shape, rhs_dilation)]
    out_d = [_dilate(s, d) for s, d in zip(out_shape, window_strides)]
    before = [r - lo - 1 for r, (lo, _) in zip(rhs_d, padding)]
    after = [l + r - 1 - o - b for l, r, o, b in zip(lhs_d, rhs_d, out_d, before)]
    return tuple(zip(before, after))


def _vjp_rhs_padding(in_shape, window_shape, window_strides, out_shape, padding,
                     lhs_dilation, rhs_dilation):
    lhs_d = [_dilate(s, d) for s, d in zip(in_shape, lhs_dilation)]
    rhs_d = [_dilate(s, d) for s, d in zip(window_shape, rhs_dilation)]
    out_d = [_dilate(s, d) for s, d in zip(out_shape, window_strides)]
    return tuple((lo, o - l + r - lo - 1) for (lo, _), l, r, o in zip(padding, lhs_d, rhs_d, out_d))


# --- conv_general_dilated ---
conv_general_dilated_p = Primitive("conv_general_dilated")


def _conv_error(msg: str, lhs, rhs, fix: str):
    return ShapeError(f"conv_general_dilated: {msg} (lhs {lhs.str_short()}, rhs "
                      f"{rhs.str_short()}). Fix: {fix}")


def _check_groups(lhs, rhs, dnums, feature_group_count, batch_group_count):
    lhs_spec, rhs_spec, _ = dnums
    batch, in_features = lhs.shape[lhs_spec[0]], lhs.shape[lhs_spec[1]]
    kernel_out, kernel_in = rhs.shape[rhs_spec[0]], rhs.shape[rhs_spec[1]]
    if feature_group_count < 1 or batch_group_count < 1:
        raise _conv_error(f"feature_group_count={feature_group_count} and batch_group_count="
                          f"{batch_group_count} must be positive", lhs, rhs, "use counts >= 1.")
    if feature_group_count > 1 and batch_group_count > 1:
        raise _conv_error("at most one of feature_group_count and batch_group_count may be > 1",
                          lhs, rhs, "set one of them to 1.")
    if in_features % feature_group_count or in_features // feature_group_count != kernel_in:
        raise _conv_error(
            f"lhs feature size {in_features} (axis {lhs_spec[1]}) divided by feature_group_count="
            f"{feature_group_count} must equal the rhs input-feature size {kernel_in} (axis "
            f"{rhs_spec[1]})", lhs, rhs,
            "make the kernel's 'I' axis lhs_features // feature_group_count (check "
            "dimension_numbers: the default is NCHW/OIHW/NCHW).")
    for name, count in (("feature_group_count", feature_group_count),
                        ("batch_group_count", batch_group_count)):
        if kernel_out % count:
            raise _conv_error(f"rhs output-feature size {kernel_out} (axis {rhs_spec[0]}) is not "
                              f"a multiple of {name}={count}", lhs, rhs,
                              f"use a kernel 'O' size divisible by {name}.")
    if batch % batch_group_count:
        raise _conv_error(f"batch_group_count={batch_group_count} does not divide the lhs batch "
                          f"size {batch} (axis {lhs_spec[0]})", lhs, rhs,
                          "use a batch size divisible by batch_group_count.")


def _preferred_ok(dtype: np.dtype, preferred: np.dtype) -> bool:
    """jax's _validate_preferred_element_type, as a predicate."""
    sub = jax.dtypes.issubdtype
    if not (sub(dtype, np.integer) and sub(preferred, np.floating)):
        if any(sub(dtype, t) and not sub(preferred, t)
               for t in (np.integer, np.floating, np.complexfloating)):
            return False
        if sub(dtype, np.signedinteger) and not sub(preferred, np.signedinteger):
            return False
    return preferred.itemsize >= dtype.itemsize


def _conv_dtype(lhs, rhs, preferred):
    check_kind("conv_general_dilated", (lhs, rhs), NUMBER + BOOL)
    strong = {a.dtype for a in (lhs, rhs) if not a.weak_type}
    if len(strong) > 1 or (not strong and lhs.dtype != rhs.dtype):
        raise FxTypeError(f"conv_general_dilated requires operands of the same dtype, got "
                          f"{fmt_avals((lhs, rhs))}. Fix: convert one with convert_element_type.")
    dtype = strong.pop() if strong else lhs.dtype
    if preferred is None:
        return dtype, lhs.weak_type and rhs.weak_type
    if not _preferred_ok(dtype, np.dtype(preferred)):
        raise FxTypeError(f"conv_general_dilated: preferred_element_type={np.dtype(preferred).name}"
                          f" is incompatible with operands {fmt_avals((lhs, rhs))}: it must be of "
                          f"the same kind (integer->float allowed), the same signedness and not "
                          f"narrower. Fix: pass a wider type of the same kind, or None.")
    return np.dtype(preferred), False


@conv_general_dilated_p.def_abstract_eval
def _conv_general_dilated_aval(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                               dimension_numbers, feature_group_count, batch_group_count,
                               precision, preferred_element_type):
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise _conv_error("lhs and rhs must have the same rank (>= 2)", lhs, rhs,
                          "give the kernel one axis per lhs axis (batch/feature/spatial).")
    nspatial = lhs.ndim - 2
    for name, val in (("window_strides", window_strides), ("padding", padding),
                      ("lhs_dilation", lhs_dilation), ("rhs_dilation", rhs_dilation)):
        if len(val) != nspatial:
            raise _conv_error(f"{name}={val} has {len(val)} entries for {nspatial} spatial axes",
                              lhs, rhs, f"give {name} one entry per spatial axis.")
    for name, val in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                      ("rhs_dilation", rhs_dilation)):
        if any(v < 1 for v in val):
            raise _conv_error(f"{name}={val} must be positive", lhs, rhs, "use values >= 1.")
    _check_groups(lhs, rhs, dimension_numbers, feature_group_count, batch_group_count)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    lhs_sp = [_dilate(s, d) for s, d in zip(_take(lhs.shape, lhs_spec)[2:], lhs_dilation)]
    rhs_sp = [_dilate(s, d) for s, d in zip(_take(rhs.shape, rhs_spec)[2:], rhs_dilation)]
    padded = [s + lo + hi for s, (lo, hi) in zip(lhs_sp, padding)]
    if any(p < 0 for p in padded):
        raise _conv_error(f"negative padding {padding} is larger than the spatial sizes", lhs, rhs,
                          "use smaller negative padding.")
    spatial = [max(0, (p - k) // s + 1) for p, k, s in zip(padded, rhs_sp, window_strides)]
    out_canonical = [lhs.shape[lhs_spec[0]] // batch_group_count, rhs.shape[rhs_spec[0]], *spatial]
    shape = tuple(out_canonical[i] for i in np.argsort(out_spec))
    dtype, weak = _conv_dtype(lhs, rhs, preferred_element_type)
    return ShapedArray(shape, dtype, weak)


@conv_general_dilated_p.def_lowering
def _conv_general_dilated_lowering(lhs, rhs, **params):
    lhs_weak, rhs_weak = get_aval(lhs).weak_type, get_aval(rhs).weak_type
    if np.dtype(lhs.dtype) != np.dtype(rhs.dtype) and lhs_weak != rhs_weak:
        # a weak operand adopts the other's dtype
        if rhs_weak:
            rhs = lax.convert_element_type(rhs, lhs.dtype)
        else:
            lhs = lax.convert_element_type(lhs, rhs.dtype)
    return lax.conv_general_dilated(lhs, rhs, **params)


conv_general_dilated_p.def_jvp(lambda primals, tangents, **params:
                               bilinear_jvp(conv_general_dilated_p, primals, tangents, **params))


def _conv_transpose_lhs(ct, lhs_aval: ShapedArray, rhs, *, window_strides, padding, lhs_dilation,
                        rhs_dilation, dimension_numbers, feature_group_count, batch_group_count,
                        precision, preferred_element_type):
    """Cotangent of lhs: ct convolved with the spatially flipped kernel, with
    the kernel's in/out features swapped (groups moved to its output axis)."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    rhs_shape = get_aval(rhs).shape
    groups = max(feature_group_count, batch_group_count)
    if groups > 1:
        rhs = _reshape_axis_out_of(rhs_spec[0], groups, rhs)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
    trans_dnums = ConvDimensionNumbers(out_spec, _spec_transpose(rhs_spec), lhs_spec)
    pads = _vjp_lhs_padding(_take(lhs_aval.shape, lhs_spec[2:]), _take(rhs_shape, rhs_spec[2:]),
                            window_strides, _take(get_aval(ct).shape, out_spec[2:]), padding,
                            lhs_dilation, rhs_dilation)
    rhs = rev(rhs, tuple(rhs_spec[2:]))
    if get_aval(rhs).dtype != get_aval(ct).dtype:
        rhs = convert_element_type(rhs, get_aval(ct).dtype)
    out = conv_general_dilated_p.bind(
        ct, rhs, window_strides=lhs_dilation, padding=pads, lhs_dilation=window_strides,
        rhs_dilation=rhs_dilation, dimension_numbers=trans_dnums, feature_group_count=groups,
        batch_group_count=1, precision=precision, preferred_element_type=preferred_element_type)
    if get_aval(out).dtype != lhs_aval.dtype:
        out = convert_element_type(out, lhs_aval.dtype)
    if batch_group_count > 1:
        out = _reshape_axis_out_of(lhs_spec[1], batch_group_count, out)
        out = _reshape_axis_into(lhs_spec[1], lhs_spec[0], out)
    return out


def _conv_transpose_rhs(ct, lhs, rhs_aval: ShapedArray, *, window_strides, padding, lhs_dilation,
                        rhs_dilation, dimension_numbers, feature_group_count, batch_group_count,
                        precision, preferred_element_type):
    """Cotangent of rhs: lhs convolved with ct (batch and feature roles
    swapped; feature groups become batch groups and vice versa)."""
    if get_aval(ct).size == 0:  # avoid a degenerate conv with an empty kernel
        return zeros(rhs_aval)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    lhs_aval = get_aval(lhs)
    trans_dnums = ConvDimensionNumbers(_spec_transpose(lhs_spec), _spec_transpose(out_spec),
                                       _spec_transpose(rhs_spec))
    pads = _vjp_rhs_padding(_take(lhs_aval.shape, lhs_spec[2:]),
                            _take(rhs_aval.shape, rhs_spec[2:]),
                            window_strides, _take(get_aval(ct).shape, out_spec[2:]), padding,
                            lhs_dilation, rhs_dilation)
    if lhs_aval.dtype != get_aval(ct).dtype:
        lhs = convert_element_type(lhs, get_aval(ct).dtype)
    out = conv_general_dilated_p.bind(
        lhs, ct, window_strides=rhs_dilation, padding=pads, lhs_dilation=lhs_dilation,
        rhs_dilation=window_strides, dimension_numbers=trans_dnums,
        feature_group_count=batch_group_count, batch_group_count=feature_group_count,
        precision=precision, preferred_element_type=preferred_element_type)
    if get_aval(out).dtype != rhs_aval.dtype:
        out = convert_element_type(out, rhs_aval.dtype)
    return out


@conv_general_dilated_p.def_transpose
def _conv_general_dilated_transpose(ct, lhs, rhs, **params):
    lhs_undef, rhs_undef = isinstance(lhs, UndefinedPrimal), isinstance(rhs, UndefinedPrimal)
    assert not (lhs_undef and rhs_undef), "conv is bilinear: transpose one operand at a time"
    if lhs_undef:
        return [_conv_transpose_lhs(ct, lhs.aval, rhs, **params), None]
    return [None, _conv_transpose_rhs(ct, lhs, rhs.aval, **params)]


def _fold_groups_into(x, bdim: int, axis: int, groups: int):
    """Fold vmap axis ``bdim`` into ``axis`` (unbatched numbering) *inside*
    each of ``groups`` groups, groups staying outermost: (G*n) -> (G*B*n)."""
    x = _reshape_axis_out_of(axis + int(bdim <= axis), groups, x)
    x = _reshape_axis_into(bdim + int(axis < bdim), axis + 1, x)
    return _reshape_axis_into(axis, axis, x)


@conv_general_dilated_p.def_batch
def _conv_general_dilated_batch(args, bdims, **params):
    lhs, rhs = args
    lhs_bdim, rhs_bdim = bdims
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    fgc, bgc = params["feature_group_count"], params["batch_group_count"]
    size = get_aval(lhs).shape[lhs_bdim] if lhs_bdim is not None else get_aval(rhs).shape[rhs_bdim]
    if size == 0:  # the reshapes below cannot fold an empty batch
        lhs_a, rhs_a = get_aval(lhs), get_aval(rhs)
        unbatched = [a.update(shape=tuple(s for i, s in enumerate(a.shape) if i != d))
                     if d is not None else a for a, d in ((lhs_a, lhs_bdim), (rhs_a, rhs_bdim))]
        out_aval = _conv_general_dilated_aval(*unbatched, **params)
        return zeros(out_aval.update(shape=(0,) + out_aval.shape)), 0
    bind = conv_general_dilated_p.bind
    if lhs_bdim is not None and rhs_bdim is not None:
        if bgc > 1:
            lhs = _reshape_axis_into(lhs_bdim, lhs_spec[0], lhs)
            params = dict(params, batch_group_count=bgc * size)
        else:
            lhs = _reshape_axis_into(lhs_bdim, lhs_spec[1], lhs)
            params = dict(params, feature_group_count=fgc * size)
        out = bind(lhs, _reshape_axis_into(rhs_bdim, rhs_spec[0], rhs), **params)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    if lhs_bdim is not None:
        if bgc == 1:
            lhs = _reshape_axis_into(lhs_bdim, lhs_spec[0], lhs)
        else:
            lhs = _fold_groups_into(lhs, lhs_bdim, lhs_spec[0], bgc)
        out = bind(lhs, rhs, **params)
        return _reshape_axis_out_of(out_spec[0], size, out), out_spec[0]
    if fgc == 1 and bgc == 1:
        out = bind(lhs, _reshape_axis_into(rhs_bdim, rhs_spec[0], rhs), **params)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    groups = max(fgc, bgc)
    out = bind(lhs, _fold_groups_into(rhs, rhs_bdim, rhs_spec[0], groups), **params)
    out = _reshape_axis_out_of(out_spec[1], groups, out)
    out = _reshape_axis_out_of(out_spec[1] + 1, size, out)
    return _reshape_axis_into(out_spec[1], out_spec[1] + 1, out), out_spec[1]


def _norm_dimension_numbers(lhs: ShapedArray, rhs: ShapedArray, dimension_numbers):
    try:
        dnums = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    except (TypeError, ValueError) as e:
        raise _conv_error(f"bad dimension_numbers={dimension_numbers!r}: {e}", lhs, rhs,
                          "pass strings such as ('NCHW', 'OIHW', 'NCHW') with one letter per "
                          "axis of lhs/rhs/output, or a lax.ConvDimensionNumbers.") from None
    return ConvDimensionNumbers(*(tuple(int(i) for i in spec) for spec in dnums))


def _ints(vals, n: int, default: int = 1) -> tuple:
    return (default,) * n if vals is None else tuple(int(v) for v in vals)


def _norm_padding(padding, lhs, rhs, dnums, window_strides, lhs_dilation, rhs_dilation):
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation):
            raise _conv_error(f"string padding {padding!r} with lhs_dilation={lhs_dilation}",
                              lhs, rhs, "give explicit (lo, hi) padding pairs for transposed "
                              "convolutions.")
        if padding.upper() not in ("SAME", "SAME_LOWER", "VALID"):
            raise _conv_error(f"bad padding {padding!r}", lhs, rhs,
                              "use 'SAME', 'SAME_LOWER', 'VALID' or (lo, hi) pairs.")
        if any(s < 1 for s in window_strides) or len(window_strides) != lhs.ndim - 2:
            return ((0, 0),) * (lhs.ndim - 2)  # abstract eval reports the bad strides
        window = [_dilate(k, d) for k, d in zip(_take(rhs.shape, dnums.rhs_spec)[2:], rhs_dilation)]
        pads = lax.padtype_to_pads(_take(lhs.shape, dnums.lhs_spec)[2:], window, window_strides,
                                   padding)
        return tuple((int(lo), int(hi)) for lo, hi in pads)
    try:
        return tuple((int(lo), int(hi)) for lo, hi in padding)
    except (TypeError, ValueError):
        raise _conv_error(f"padding must be a string or a sequence of (lo, hi) pairs, got "
                          f"{padding!r}", lhs, rhs, "e.g. padding=((1, 1), (1, 1)).") from None


def conv_general_dilated(lhs, rhs, window_strides: Sequence[int], padding,
                         lhs_dilation: Sequence[int] | None = None,
                         rhs_dilation: Sequence[int] | None = None, dimension_numbers=None,
                         feature_group_count: int = 1, batch_group_count: int = 1,
                         precision=None, preferred_element_type=None):
    """General n-d convolution with optional dilation (lax.conv_general_dilated).

    Args:
      lhs: the input, rank n+2 (batch, feature and n spatial axes).
      rhs: the kernel, rank n+2 (out-feature, in-feature and n spatial axes).
      window_strides: n strides.
      padding: 'SAME', 'SAME_LOWER', 'VALID' or n ``(lo, hi)`` pairs.
      lhs_dilation: n input dilations (a transposed convolution), default 1s.
      rhs_dilation: n kernel dilations (atrous convolution), default 1s.
      dimension_numbers: None (NCHW/OIHW/NCHW), a triple of layout strings
        such as ``('NHWC', 'HWIO', 'NHWC')``, or a ``lax.ConvDimensionNumbers``.
      feature_group_count: grouped (e.g. depthwise) convolution.
      batch_group_count: batch-grouped convolution (used by the rhs transpose).
      precision: as in :func:`primitives.dot_general`.
      preferred_element_type: the output dtype (accumulation type), or None.

    Returns:
      The output, laid out as ``dimension_numbers``' output spec.
    """
    lhs_aval, rhs_aval = get_aval(lhs), get_aval(rhs)
    dnums = _norm_dimension_numbers(lhs_aval, rhs_aval, dimension_numbers)
    n = lhs_aval.ndim - 2
    window_strides = _ints(window_strides, n)
    lhs_dilation, rhs_dilation = _ints(lhs_dilation, n), _ints(rhs_dilation, n)
    padding = _norm_padding(padding, lhs_aval, rhs_aval, dnums, window_strides, lhs_dilation,
                            rhs_dilation)
    return conv_general_dilated_p.bind(
        lhs, rhs, window_strides=window_strides, padding=padding, lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation, dimension_numbers=dnums,
        feature_group_count=int(feature_group_count), batch_group_count=int(batch_group_count),
        precision=canonicalize_precision(precision),
        preferred_element_type=canonical_preferred(preferred_element_type))
