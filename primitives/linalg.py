"""Contraction primitives (as jax.lax): dot_general and its wrapper dot.

One block per primitive, all its rules right below it.

Example::

    >>> import numpy as np, primitives as P
    >>> x, y = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    >>> P.dot_general(x, y, (((1,), (0,)), ((), ()))).shape
    (2, 4)

In the IR a matmul prints as::

    c:f32[2,4] = dot_general[dimension_numbers=(((1,), (0,)), ((), ())), precision=None,
                             preferred_element_type=None] a b
"""
from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
import jax
from jax import lax

from fx.ad import UndefinedPrimal, bilinear_jvp
from fx.dtypes import is_float
from fx.core import Primitive, canonical_dtype, get_aval
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives._rules import fmt_avals
from primitives.elementwise import convert_element_type
from primitives.shape import transpose

__all__ = ["dot_general", "dot", "dot_general_p"]


# --- shared parameter normalization (dot_general and conv_general_dilated) ---
_PRECISION_NAMES = ({p.name.lower() for p in lax.Precision}
                    | {"bfloat16", "tensorfloat32", "float32"})


def _one_precision(p):
    if isinstance(p, lax.Precision):
        return p
    if isinstance(p, str) and p.lower() in _PRECISION_NAMES:
        return lax.Precision(p)
    raise ValueError(f"precision must be None, a lax.Precision, one of {sorted(_PRECISION_NAMES)}, "
                     f"a pair of those, or a lax.DotAlgorithm(Preset); got {p!r}.")


def canonicalize_precision(precision):
    """Normalize ``precision`` to a hashable param, as jax.lax does: None, a
    pair of ``lax.Precision``, or a ``lax.DotAlgorithm``/``DotAlgorithmPreset``."""
    if precision is None or isinstance(precision, (lax.DotAlgorithm, lax.DotAlgorithmPreset)):
        return precision
    if isinstance(precision, str) and precision in lax.DotAlgorithmPreset.__members__:
        return lax.DotAlgorithmPreset[precision]
    if isinstance(precision, (list, tuple)) and len(precision) == 2:
        return tuple(_one_precision(p) for p in precision)
    p = _one_precision(precision)
    return (p, p)


def canonical_preferred(preferred_element_type):
    return None if preferred_element_type is None else canonical_dtype(preferred_element_type)


# --- dot_general ---
dot_general_p = Primitive("dot_general")


def _dims_error(what: str, lhs, rhs, dimension_numbers, fix: str):
    shapes = "" if lhs.str_short() in what else f"lhs {lhs.str_short()}, rhs {rhs.str_short()}, "
    return ShapeError(f"dot_general: {what} ({shapes}dimension_numbers={dimension_numbers}). "
                      f"Fix: {fix}")


def _check_dot_dims(lhs: ShapedArray, rhs: ShapedArray, dimension_numbers) -> None:
    (lc, rc), (lb, rb) = dimension_numbers
    for side, aval, dims in (("lhs", lhs, lc + lb), ("rhs", rhs, rc + rb)):
        bad = [d for d in dims if not 0 <= d < aval.ndim]
        if bad:
            raise _dims_error(f"{side} axes {bad} are out of range for {side} of rank {aval.ndim}",
                              lhs, rhs, dimension_numbers,
                              f"use axes in -{aval.ndim}..{aval.ndim - 1}.")
        if len(set(dims)) != len(dims):
            raise _dims_error(f"{side} axes {dims} repeat an axis (an axis is contracted or "
                              f"batched at most once)", lhs, rhs, dimension_numbers,
                              "list each axis once, either as contracting or as batch axis.")
    for kind, l, r in (("contracting", lc, rc), ("batch", lb, rb)):
        if len(l) != len(r):
            raise _dims_error(f"lhs has {len(l)} {kind} axes {l} but rhs has {len(r)} {r}",
                              lhs, rhs, dimension_numbers,
                              f"give the same number of {kind} axes for lhs and rhs.")
        for li, ri in zip(l, r):
            if lhs.shape[li] != rhs.shape[ri]:
                raise _dims_error(
                    f"{kind} dimension sizes differ: lhs {lhs.str_short()} axis {li} (size "
                    f"{lhs.shape[li]}) vs rhs {rhs.str_short()} axis {ri} (size {rhs.shape[ri]})",
                    lhs, rhs, dimension_numbers,
                    f"pair {kind} axes of equal size (check dimension_numbers, or transpose/"
                    f"reshape an operand so the paired axes match).")


def _dot_general_shape(lhs_shape, rhs_shape, dimension_numbers) -> tuple:
    (lc, rc), (lb, rb) = dimension_numbers
    batch = tuple(lhs_shape[i] for i in lb)
    lhs_kept = tuple(s for i, s in enumerate(lhs_shape) if i not in lc and i not in lb)
    rhs_kept = tuple(s for i, s in enumerate(rhs_shape) if i not in rc and i not in rb)
    return batch + lhs_kept + rhs_kept


def _type_rank(dtype) -> tuple:
    """XLA's HigherPrecisionType order (jax's _dot_general_dtype_rule)."""
    dt = np.dtype(dtype)
    is_complex = jax.dtypes.issubdtype(dt, np.complexfloating)
    real = np.finfo(dt).dtype if is_complex else dt
    is_float = jax.dtypes.issubdtype(real, np.floating)
    fi = jax.dtypes.finfo(real) if is_float else None
    bits = 1 if real == np.dtype(bool) else (fi.bits if is_float else np.iinfo(real).bits)
    return (is_complex, fi.maxexp if is_float else -1, fi.nmant if is_float else -1, bits,
            not jax.dtypes.issubdtype(real, np.unsignedinteger))


def _bit_width(dtype) -> int:
    dt = np.dtype(dtype)
    return 1 if dt == np.dtype(bool) else dt.itemsize * 8


def _dot_dtype(lhs: ShapedArray, rhs: ShapedArray, preferred) -> np.dtype:
    lp, rp = _type_rank(lhs.dtype), _type_rank(rhs.dtype)
    if lp == rp and lhs.dtype != rhs.dtype:
        raise FxTypeError(f"dot_general cannot mix dtypes {fmt_avals((lhs, rhs))}. Fix: convert "
                          f"one operand with convert_element_type.")
    result = lhs.dtype if lp >= rp else rhs.dtype
    if preferred is None or preferred == result:
        return result
    if not is_float(result) and _bit_width(preferred) < _bit_width(result):
        raise FxTypeError(f"dot_general: preferred_element_type={np.dtype(preferred).name} is "
                          f"narrower than the result dtype {np.dtype(result).name} of operands "
                          f"{fmt_avals((lhs, rhs))}. Fix: pass a type at least as wide, or None.")
    return np.dtype(preferred)


@dot_general_p.def_abstract_eval
def _dot_general_aval(lhs, rhs, *, dimension_numbers, precision, preferred_element_type):
    _check_dot_dims(lhs, rhs, dimension_numbers)
    shape = _dot_general_shape(lhs.shape, rhs.shape, dimension_numbers)
    dtype = _dot_dtype(lhs, rhs, preferred_element_type)
    weak = lhs.weak_type and rhs.weak_type and preferred_element_type is None
    return ShapedArray(shape, dtype, weak)


@dot_general_p.def_lowering
def _dot_general_lowering(lhs, rhs, *, dimension_numbers, precision, preferred_element_type):
    (lc, rc), (lb, rb) = dimension_numbers
    ls, rs = np.shape(lhs), np.shape(rhs)
    l_free = [d for d in range(len(ls)) if d not in lc and d not in lb]
    r_free = [d for d in range(len(rs)) if d not in rc and d not in rb]
    if 1 not in tuple(ls) + tuple(rs):
        return lax.dot_general(lhs, rhs, dimension_numbers, precision=precision,
                               preferred_element_type=preferred_element_type)
    # Size-1 dims (common after vmap of per-example code written on a batch of one)
    # are reshaped away first: XLA:CPU otherwise copies the dot's operands and
    # results between layouts that differ only in where the unit dims sit.
    out_shape = [ls[d] for d in lb] + [ls[d] for d in l_free] + [rs[d] for d in r_free]
    l_keep = [d for d in range(len(ls)) if ls[d] != 1]
    r_keep = [d for d in range(len(rs)) if rs[d] != 1]
    l_new, r_new = {d: i for i, d in enumerate(l_keep)}, {d: i for i, d in enumerate(r_keep)}
    pairs = lambda a, b: [(l_new[x], r_new[y]) for x, y in zip(a, b) if ls[x] != 1]  # noqa: E731
    con, bat = pairs(lc, rc), pairs(lb, rb)
    dn = ((tuple(x for x, _ in con), tuple(y for _, y in con)),
          (tuple(x for x, _ in bat), tuple(y for _, y in bat)))
    out = lax.dot_general(lhs.reshape([ls[d] for d in l_keep]),
                          rhs.reshape([rs[d] for d in r_keep]), dn, precision=precision,
                          preferred_element_type=preferred_element_type)
    return out.reshape(out_shape)


dot_general_p.def_jvp(lambda primals, tangents, **params:
                      bilinear_jvp(dot_general_p, primals, tangents, **params))


def _ranges_like(*xs):
    start = 0
    for x in xs:
        yield tuple(range(start, start + len(x)))
        start += len(x)


def _remaining(n: int, *removed) -> list:
    gone = set(itertools.chain(*removed))
    return [i for i in range(n) if i not in gone]


def _dot_transpose_lhs(ct, x_aval: ShapedArray, y, *, dimension_numbers, precision,
                       preferred_element_type, swap_ans=False):
    """Cotangent of ``x`` in ``dot_general(x, y)``: a dot_general of ``ct`` with
    ``y`` followed by a transpose (JAX's ``_dot_general_transpose_lhs``)."""
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    x_kept = _remaining(x_aval.ndim, x_contract, x_batch)
    y_kept = _remaining(get_aval(y).ndim, y_contract, y_batch)
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(x_batch, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(x_batch, x_kept, y_kept)
    dims = ((ans_y, tuple(y_kept)), (ans_batch, tuple(y_batch)))
    x_contract_sorted_by_y = [x_contract[i] for i in np.argsort(y_contract)]
    out_axes = np.argsort(list(x_batch) + x_kept + x_contract_sorted_by_y)
    x_bar = dot_general_p.bind(ct, y, dimension_numbers=dims, precision=precision,
                               preferred_element_type=preferred_element_type)
    x_bar = transpose(x_bar, tuple(int(a) for a in out_axes))
    if get_aval(x_bar).dtype != x_aval.dtype:
        x_bar = convert_element_type(x_bar, x_aval.dtype)
    return x_bar


def _dot_transpose_rhs(ct, x, y_aval: ShapedArray, *, dimension_numbers, **params):
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    swapped = ((y_contract, x_contract), (y_batch, x_batch))
    return _dot_transpose_lhs(ct, y_aval, x, dimension_numbers=swapped, swap_ans=True, **params)


@dot_general_p.def_transpose
def _dot_general_transpose(ct, lhs, rhs, **params):
    lhs_undef, rhs_undef = isinstance(lhs, UndefinedPrimal), isinstance(rhs, UndefinedPrimal)
    assert not (lhs_undef and rhs_undef), "dot_general is bilinear: transpose one operand at a time"
    if lhs_undef:
        return [_dot_transpose_lhs(ct, lhs.aval, rhs, **params), None]
    return [None, _dot_transpose_rhs(ct, lhs, rhs.aval, **params)]


def _bump(dims: Sequence[int], b: int) -> tuple:
    return tuple(int(d) + (d >= b) for d in dims)


def _dot_general_batch_dims(ndims, bdims, dimension_numbers):
    """New dimension numbers and output batch axis when vmapped axes are
    present (JAX's ``_dot_general_batch_dim_nums``): both batched -> a new
    dot_general batch axis in front; one batched -> a free (kept) axis."""
    lhs_ndim, _ = ndims  # ranks of the batched operands
    lbd, rbd = bdims
    (lc, rc), (lb, rb) = dimension_numbers
    if lbd is not None and rbd is not None:
        lb, rb = (lbd,) + _bump(lb, lbd), (rbd,) + _bump(rb, rbd)
        lc, rc = _bump(lc, lbd), _bump(rc, rbd)
        out_bdim = 0
    elif lbd is not None:
        lhs_kept = _remaining(lhs_ndim - 1, lb, lc)
        out_bdim = len(lb) + sum(d < lbd for d in lhs_kept)
        lb, lc = _bump(lb, lbd), _bump(lc, lbd)
    else:
        rhs_kept = _remaining(ndims[1] - 1, rb, rc)
        out_bdim = lhs_ndim - len(lc) + sum(d < rbd for d in rhs_kept)
        rb, rc = _bump(rb, rbd), _bump(rc, rbd)
    return ((lc, rc), (lb, rb)), out_bdim


@dot_general_p.def_batch
def _dot_general_batch(args, bdims, *, dimension_numbers, **params):
    lhs, rhs = args
    ndims = (get_aval(lhs).ndim, get_aval(rhs).ndim)
    new_dims, out_bdim = _dot_general_batch_dims(ndims, bdims, dimension_numbers)
    return dot_general_p.bind(lhs, rhs, dimension_numbers=new_dims, **params), out_bdim


def _norm_axes(axes, ndim: int) -> tuple:
    """Ints or sequences of ints -> tuple of ints; negative axes counted from
    the end (out-of-range ones are kept for abstract eval to report)."""
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    return tuple(int(a) + ndim if -ndim <= int(a) < 0 else int(a) for a in axes)


def _norm_dimension_numbers(dimension_numbers, lhs_ndim: int, rhs_ndim: int):
    try:
        (lc, rc), (lb, rb) = dimension_numbers
    except (TypeError, ValueError):
        raise ShapeError(f"dot_general: dimension_numbers must be ((lhs_contracting, "
                         f"rhs_contracting), (lhs_batch, rhs_batch)), got {dimension_numbers!r}. "
                         f"Fix: e.g. (((1,), (0,)), ((), ())) for a matmul.") from None
    return ((_norm_axes(lc, lhs_ndim), _norm_axes(rc, rhs_ndim)),
            (_norm_axes(lb, lhs_ndim), _norm_axes(rb, rhs_ndim)))


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """General contraction (lax.dot_general).

    Args:
      lhs, rhs: arrays of the same dtype (or dtypes jax.lax accepts together).
      dimension_numbers: ``((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))``,
        each a sequence of axes. Unlike jax.lax, negative axes are accepted
        (counted from the end).
      precision: None, a ``lax.Precision`` (or its name), a pair of them, or a
        ``lax.DotAlgorithm``/``DotAlgorithmPreset``.
      preferred_element_type: the output dtype (accumulation type), or None.

    Returns:
      An array with the batch axes first, then lhs's free axes, then rhs's.
    """
    dims = _norm_dimension_numbers(dimension_numbers, get_aval(lhs).ndim, get_aval(rhs).ndim)
    return dot_general_p.bind(lhs, rhs, dimension_numbers=dims,
                              precision=canonicalize_precision(precision),
                              preferred_element_type=canonical_preferred(preferred_element_type))


def dot(lhs, rhs, precision=None, preferred_element_type=None, *, dimension_numbers=None):
    """Vector/matrix product (lax.dot): contracts the last axis of ``lhs``
    (rank 1 or 2) with the first of ``rhs`` (rank 1 or 2). With
    ``dimension_numbers`` it is ``dot_general`` (as jax.lax.dot in jax >= 0.6)."""
    if dimension_numbers is None:
        la, ra = get_aval(lhs), get_aval(rhs)
        if not (1 <= la.ndim <= 2 and 1 <= ra.ndim <= 2):
            raise ShapeError(f"dot: without dimension_numbers the operands must be vectors or "
                             f"matrices, got {fmt_avals((la, ra))}. Fix: pass dimension_numbers "
                             f"or use dot_general / fnp.matmul / fnp.einsum.")
        dimension_numbers = (((la.ndim - 1,), (0,)), ((), ()))
    return dot_general(lhs, rhs, dimension_numbers, precision, preferred_element_type)
