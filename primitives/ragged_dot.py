"""The ``ragged_dot_general`` primitive (as ``jax.lax.ragged_dot_general``) and
its common case ``ragged_dot`` (a grouped matmul, as in mixture-of-experts).

``lhs`` has one ragged dimension cut into ``g`` consecutive groups of sizes
``group_sizes`` (rows past ``sum(group_sizes)`` give zeros, as JAX). Three modes,
by the kind of the lhs ragged dimension (JAX's ``RaggedDotMode``):

1. non-contracting: ``[b,m,k], [g,b,k,n], [b,g] -> [b,m,n]``: group ``i`` of
   ``m`` is multiplied by ``rhs``'s group ``i`` (``rhs_group_dimensions``);
2. contracting: ``[b,m,k], [b,k,n], [b,g] -> [g,b,m,n]``: one partial product
   per group of ``k``;
3. batch: ``[b,m,k], [b,k,n], [g] -> [b,m,n]`` (a plain dot_general).

One block: abstract eval (JAX's shape and dtype rules, typed errors), lowering
to ``jax.lax.ragged_dot_general``, jvp (bilinear in lhs and rhs; group_sizes is
integer), JAX's transpose (``_ragged_dot_general_transpose_rule``: mode 1 only,
as JAX; the rhs cotangent is a mode-2 ragged dot) and the batch rule (JAX's
``_ragged_dot_general_batch_rule`` generalized: JAX raises unless every operand
is batched at axis 0; we move the vmapped axes where needed instead).

Example::

    >>> import primitives as P
    >>> P.ragged_dot(np.ones((5, 3), np.float32), np.ones((2, 3, 4), np.float32),
    ...              np.array([2, 3], np.int32)).shape
    (5, 4)

References:
    jax/_src/lax/lax.py (ragged_dot, ragged_dot_general and their rules).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from jax import lax

from fx.ad import UndefinedPrimal, Zero, add_any, tangent_aval
from fx.batching import batch_size, bdim_at_front
from fx.core import Primitive, get_aval
from fx.dtypes import is_float, is_integer
from fx.errors import FxTypeError, ShapeError
from fx.ir import ShapedArray
from primitives.elementwise import convert_element_type
from primitives.lax_helpers import RaggedDotDimensionNumbers
from primitives.linalg import (_check_dot_dims, _dot_dtype, _ranges_like, _remaining,
                               canonical_preferred, canonicalize_precision)
from primitives.shape import broadcast_in_dim, transpose

__all__ = ["ragged_dot", "ragged_dot_general", "ragged_dot_general_p"]

# lax.ragged_dot's dimension numbers: [m, k] x [g, k, n] -> [m, n], m ragged
_BASIC_DIMENSION_NUMBERS = RaggedDotDimensionNumbers(
    dot_dimension_numbers=(([1], [1]), ([], [])), lhs_ragged_dimensions=[0],
    rhs_group_dimensions=[0])
NONCONTRACTING, CONTRACTING, BATCH = "noncontracting", "contracting", "batch"


def _mode_and_dim(lhs_ndim: int, dims: RaggedDotDimensionNumbers) -> tuple[str, int]:
    """The ragged mode and the lhs ragged dimension (JAX's _ragged_dot_mode_and_dim)."""
    ragged = dims.lhs_ragged_dimensions[0]
    (lhs_contract, _), (lhs_batch, _) = dims.dot_dimension_numbers
    if ragged in lhs_contract:
        return CONTRACTING, ragged
    if ragged in lhs_batch:
        return BATCH, ragged
    return NONCONTRACTING, ragged


def _prefix_dims(mode: str, ndim: int, ragged: int, batch, contract) -> list:
    """The lhs dims ``group_sizes``' leading axes stand for (JAX's
    _ragged_dot_prefix_dims): [b..., x...] of ``group_sizes: [b..., x..., g]``."""
    batch, contract = list(batch), list(contract)
    if mode == NONCONTRACTING:
        kept = _remaining(ndim, contract, batch)
        return batch + kept[:kept.index(ragged)]
    if mode == CONTRACTING:
        return batch + contract[:contract.index(ragged)]
    return batch[:batch.index(ragged)]


def _expected_group_sizes_shape(lhs_shape, dims, num_groups) -> tuple:
    mode, ragged = _mode_and_dim(len(lhs_shape), dims)
    (lhs_contract, _), (lhs_batch, _) = dims.dot_dimension_numbers
    prefix = _prefix_dims(mode, len(lhs_shape), ragged, lhs_batch, lhs_contract)
    return tuple(lhs_shape[i] for i in prefix) + (num_groups,)


# --- ragged_dot_general ---
ragged_dot_general_p = Primitive("ragged_dot_general")


def _error(cls, what: str, lhs, rhs, group_sizes, dims, fix: str):
    return cls(f"ragged_dot_general: {what} (lhs {lhs.str_short()}, rhs {rhs.str_short()}, "
               f"group_sizes {group_sizes.str_short()}, {dims}). Fix: {fix}")


def _check_ragged_dims(lhs, rhs, group_sizes, dims) -> str:
    """JAX's _ragged_dot_general_shape_rule checks, in its order; returns the mode.
    Every error is a TypeError (FxTypeError), as JAX's, shapes included."""
    err = lambda what, fix: _error(FxTypeError, what, lhs, rhs, group_sizes, dims, fix)  # noqa: E731
    if len(dims.lhs_ragged_dimensions) != 1:
        raise err("expects exactly one lhs ragged dimension, got "
                  f"{dims.lhs_ragged_dimensions}", "pass lhs_ragged_dimensions=[d].")
    for name, d, aval in (("lhs ragged dimension", dims.lhs_ragged_dimensions[0], lhs),
                          *(("rhs group dimension", d, rhs) for d in dims.rhs_group_dimensions)):
        if not 0 <= d < aval.ndim:
            raise err(f"the {name} {d} is out of range for a rank-{aval.ndim} operand",
                      f"use a nonnegative axis below {aval.ndim}.")
    mode, ragged = _mode_and_dim(lhs.ndim, dims)
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dims.dot_dimension_numbers
    if group_sizes.ndim == 0:
        raise err("expected rank of group_sizes to be >= 1", "pass group_sizes of shape [g].")
    num_groups = group_sizes.shape[-1]
    if group_sizes.ndim != 1:
        expected = _expected_group_sizes_shape(lhs.shape, dims, num_groups)
        if tuple(group_sizes.shape) != expected:
            raise err(f"expected group_sizes to have shape {expected}, got "
                      f"{tuple(group_sizes.shape)}", f"pass shape [{num_groups}] or {expected}.")
    group_dims = dims.rhs_group_dimensions
    if mode != NONCONTRACTING and len(group_dims) != 0:
        raise err(f"requires zero rhs group dimensions when the lhs ragged dimension is "
                  f"{mode}, got {group_dims}", "pass rhs_group_dimensions=[].")
    if mode == NONCONTRACTING:
        if len(group_dims) != 1:
            raise err(f"requires exactly one rhs group dimension when the lhs ragged dimension "
                      f"is non-contracting, got {group_dims}", "pass rhs_group_dimensions=[d].")
        if group_dims[0] in rhs_batch or group_dims[0] in rhs_contract:
            raise err("requires the rhs group dimension to be distinct from the contracting "
                      "and batch dimensions", "name a free rhs axis as the group dimension.")
        if rhs.shape[group_dims[0]] != num_groups:
            raise err(f"expected rhs group dimension size to be {num_groups}, got "
                      f"{rhs.shape[group_dims[0]]}",
                      "give rhs one slice per group (rhs.shape[group_dim] == len(group_sizes)).")
    return mode


def _out_shape(lhs_shape, rhs_shape, dims, mode: str, num_groups: int) -> tuple:
    (lc, rc), (lb, rb) = dims.dot_dimension_numbers
    batch = tuple(lhs_shape[i] for i in lb)
    lhs_kept = tuple(lhs_shape[i] for i in _remaining(len(lhs_shape), lc, lb))
    rhs_kept = tuple(rhs_shape[i] for i in _remaining(len(rhs_shape), rc, rb,
                                                      dims.rhs_group_dimensions))
    return ((num_groups,) if mode == CONTRACTING else ()) + batch + lhs_kept + rhs_kept


@ragged_dot_general_p.def_abstract_eval
def _ragged_dot_general_aval(lhs, rhs, group_sizes, *, ragged_dot_dimension_numbers, precision,
                             preferred_element_type, group_offset):
    dims = ragged_dot_dimension_numbers
    mode = _check_ragged_dims(lhs, rhs, group_sizes, dims)
    try:
        _check_dot_dims(lhs, rhs, dims.dot_dimension_numbers)
        dtype = _dot_dtype(lhs, rhs, preferred_element_type)
    except (ShapeError, FxTypeError) as e:
        raise FxTypeError(f"ragged_{e} (group_sizes {group_sizes.str_short()})") from None
    if not is_integer(group_sizes):
        raise _error(FxTypeError, "requires group_sizes of an integer dtype", lhs, rhs,
                     group_sizes, dims, "convert group_sizes to int32.")
    shape = _out_shape(lhs.shape, rhs.shape, dims, mode, group_sizes.shape[-1])
    # JAX's standard weak-type rule: weak when every operand is weak
    return ShapedArray(shape, dtype, lhs.weak_type and rhs.weak_type and group_sizes.weak_type)


@ragged_dot_general_p.def_lowering
def _ragged_dot_general_lowering(lhs, rhs, group_sizes, *, ragged_dot_dimension_numbers,
                                 precision, preferred_element_type, group_offset):
    return lax.ragged_dot_general(lhs, rhs, group_sizes, ragged_dot_dimension_numbers,
                                  precision=precision,
                                  preferred_element_type=preferred_element_type,
                                  group_offset=group_offset)


@ragged_dot_general_p.def_jvp
def _ragged_dot_general_jvp(primals, tangents, **params):
    """Bilinear in lhs and rhs (JAX's _ragged_dot_general_jvp_rule); no tangent
    flows through the integer group_sizes."""
    lhs, rhs, group_sizes = primals
    lhs_dot, rhs_dot, _ = tangents
    out = ragged_dot_general_p.bind(lhs, rhs, group_sizes, **params)
    out_aval = get_aval(out)
    terms = []
    if is_float(out_aval):
        if not isinstance(lhs_dot, Zero) and is_float(get_aval(lhs)):
            terms.append(ragged_dot_general_p.bind(lhs_dot, rhs, group_sizes, **params))
        if not isinstance(rhs_dot, Zero) and is_float(get_aval(rhs)):
            terms.append(ragged_dot_general_p.bind(lhs, rhs_dot, group_sizes, **params))
    if not terms:
        return out, Zero(tangent_aval(out_aval))
    return out, terms[0] if len(terms) == 1 else add_any(*terms)


def _ragged_grad(lhs, rhs, group_sizes, dims, unsorted_axes, aval: ShapedArray, params):
    out = ragged_dot_general_p.bind(lhs, rhs, group_sizes, ragged_dot_dimension_numbers=dims,
                                    **params)
    out = transpose(out, tuple(int(a) for a in np.argsort(unsorted_axes)))
    if get_aval(out).dtype != aval.dtype:
        out = convert_element_type(out, aval.dtype)
    return out


@ragged_dot_general_p.def_transpose
def _ragged_dot_general_transpose(ct, x, y, group_sizes, *, ragged_dot_dimension_numbers,
                                  **params):
    """JAX's _ragged_dot_general_transpose_rule: in the non-contracting mode the
    lhs cotangent is a mode-1 ragged dot of ``ct`` with ``rhs``, the rhs
    cotangent a mode-2 (contracting) one of ``lhs`` with ``ct``; JAX has no
    transpose for the other modes and neither do we."""
    dims = ragged_dot_dimension_numbers
    (x_contract, y_contract), (x_batch, y_batch) = dims.dot_dimension_numbers
    x_aval = x.aval if isinstance(x, UndefinedPrimal) else get_aval(x)
    y_aval = y.aval if isinstance(y, UndefinedPrimal) else get_aval(y)
    mode, ragged = _mode_and_dim(x_aval.ndim, dims)
    if mode != NONCONTRACTING:
        raise NotImplementedError(f"ragged_dot_general: no transpose in the {mode} mode (the "
                                  f"lhs ragged dimension is a {mode} dimension), as in JAX.")
    x_kept = _remaining(x_aval.ndim, x_contract, x_batch)
    y_group = tuple(dims.rhs_group_dimensions)
    y_kept = _remaining(y_aval.ndim, y_contract, y_batch, y_group)
    x_bar = y_bar = None
    if isinstance(x, UndefinedPrimal):
        ans_batch, _, ans_y = _ranges_like(x_batch, x_kept, y_kept)
        x_dims = RaggedDotDimensionNumbers(
            dot_dimension_numbers=((ans_y, y_kept), (ans_batch, y_batch)),
            lhs_ragged_dimensions=[len(x_batch) + x_kept.index(ragged)],
            rhs_group_dimensions=y_group)
        x_contract_by_y = [x_contract[i] for i in np.argsort(y_contract)]
        x_bar = _ragged_grad(ct, y, group_sizes, x_dims,
                             list(x_batch) + x_kept + x_contract_by_y, x_aval, params)
    if isinstance(y, UndefinedPrimal):
        ans_batch, ans_x, _ = _ranges_like(x_batch, x_kept, y_kept)
        y_dims = RaggedDotDimensionNumbers(
            dot_dimension_numbers=((x_kept, ans_x), (x_batch, ans_batch)),
            lhs_ragged_dimensions=[ragged], rhs_group_dimensions=[])
        y_contract_by_x = [y_contract[i] for i in np.argsort(x_contract)]
        y_bar = _ragged_grad(x, ct, group_sizes, y_dims,
                             list(y_group) + list(y_batch) + y_contract_by_x + y_kept,
                             y_aval, params)
    return [x_bar, y_bar, None]


def _bump(dims: Sequence[int], b: int) -> tuple:
    return tuple(int(d) + (d >= b) for d in dims)


def _ragged_batch_dims(ndims, bdims, dims: RaggedDotDimensionNumbers):
    """The dimension numbers and output batch axis once lhs / rhs carry vmapped
    axes (JAX's _dot_general_batch_dim_nums for RaggedDotDimensionNumbers): both
    batched -> a new leading dot batch axis; one -> a free axis of that operand."""
    lhs_ndim, rhs_ndim = ndims  # ranks of the batched operands
    lbd, rbd = bdims
    (lc, rc), (lb, rb) = dims.dot_dimension_numbers
    ragged, group = tuple(dims.lhs_ragged_dimensions), tuple(dims.rhs_group_dimensions)
    if lbd is not None and rbd is not None:
        lb, rb = (lbd,) + _bump(lb, lbd), (rbd,) + _bump(rb, rbd)
        lc, rc = _bump(lc, lbd), _bump(rc, rbd)
        out_bdim = 0
    elif lbd is not None:
        lhs_kept = _remaining(lhs_ndim - 1, lb, lc)
        out_bdim = len(lb) + sum(d < lbd for d in lhs_kept)
        lb, lc = _bump(lb, lbd), _bump(lc, lbd)
    else:
        rhs_kept = _remaining(rhs_ndim - 1, rb, rc, group)
        out_bdim = lhs_ndim - len(lc) + sum(d < rbd for d in rhs_kept)
        rb, rc = _bump(rb, rbd), _bump(rc, rbd)
    if lbd is not None:
        ragged = _bump(ragged, lbd)
    if rbd is not None:
        group = _bump(group, rbd)
    new = RaggedDotDimensionNumbers(dot_dimension_numbers=((lc, rc), (lb, rb)),
                                    lhs_ragged_dimensions=ragged, rhs_group_dimensions=group)
    return new, out_bdim


@ragged_dot_general_p.def_batch
def _ragged_dot_general_batch(args, bdims, *, ragged_dot_dimension_numbers, **params):
    """Unbatched 1-D group_sizes: JAX's rule (the vmapped axes of lhs / rhs as in
    dot_general; group_sizes broadcasts over the new axes). Otherwise every
    operand gets its vmapped axis in front (broadcast if unbatched), the new
    leading dot batch axis, and group_sizes the matching [B, ..., g] shape."""
    lhs, rhs, group_sizes = args
    lbd, rbd, gbd = bdims
    dims = ragged_dot_dimension_numbers
    mode, _ = _mode_and_dim(get_aval(lhs).ndim - (lbd is not None), dims)
    if gbd is None and get_aval(group_sizes).ndim == 1 and (lbd, rbd) != (None, None):
        ndims = (get_aval(lhs).ndim, get_aval(rhs).ndim)
        new_dims, out_bdim = _ragged_batch_dims(ndims, (lbd, rbd), dims)
    else:
        size = batch_size(args, bdims)
        lhs, rhs = bdim_at_front(lhs, lbd, size), bdim_at_front(rhs, rbd, size)
        new_dims, out_bdim = _ragged_batch_dims((get_aval(lhs).ndim, get_aval(rhs).ndim),
                                                (0, 0), dims)
        if gbd is not None or get_aval(group_sizes).ndim > 1:
            group_sizes = bdim_at_front(group_sizes, gbd, size)
            expected = _expected_group_sizes_shape(get_aval(lhs).shape, new_dims,
                                                   get_aval(group_sizes).shape[-1])
            if get_aval(group_sizes).shape != expected:  # [B, g] for [B, b..., x..., g]
                group_sizes = broadcast_in_dim(group_sizes, expected, (0, len(expected) - 1))
    out = ragged_dot_general_p.bind(lhs, rhs, group_sizes, ragged_dot_dimension_numbers=new_dims,
                                    **params)
    return out, out_bdim + (mode == CONTRACTING)


def ragged_dot_general(lhs, rhs, group_sizes, ragged_dot_dimension_numbers, precision=None,
                       preferred_element_type=None, group_offset=None):
    """Ragged matrix multiplication with general dimension numbers (lax.ragged_dot_general).

    Args:
      lhs: an array with one ragged dimension (``lhs_ragged_dimensions``).
      rhs: an array; in the non-contracting mode one axis indexes the groups.
      group_sizes: integer array ``[g]`` or ``[b..., x..., g]``: the group sizes.
      ragged_dot_dimension_numbers: a ``RaggedDotDimensionNumbers``.
      precision: as ``dot_general``'s.
      preferred_element_type: the output (accumulation) dtype, or None.
      group_offset: must be None (JAX 0.10.2 implements no group_offset either).

    Returns:
      ``dot_general``'s result shape (without the rhs group axis), with a
      leading axis of size ``g`` when the ragged dimension is contracting.

    References:
      ``jax.lax.ragged_dot_general``.
    """
    if not isinstance(ragged_dot_dimension_numbers, RaggedDotDimensionNumbers):
        raise FxTypeError(f"ragged_dot_general: ragged_dot_dimension_numbers must be a "
                          f"lax.RaggedDotDimensionNumbers, got {ragged_dot_dimension_numbers!r}. "
                          f"Fix: wrap them, e.g. RaggedDotDimensionNumbers((([1], [1]), ([], [])),"
                          f" [0], [0]).")
    if group_offset is not None:
        raise NotImplementedError("ragged_dot_general: group_offset is not supported (JAX's "
                                  "rules raise 'Unimplemented group_offset support' too). Fix: "
                                  "slice group_sizes and rhs instead.")
    return ragged_dot_general_p.bind(
        lhs, rhs, group_sizes, ragged_dot_dimension_numbers=ragged_dot_dimension_numbers,
        precision=canonicalize_precision(precision),
        preferred_element_type=canonical_preferred(preferred_element_type), group_offset=None)


def ragged_dot(lhs, rhs, group_sizes, precision=None, preferred_element_type=None,
               group_offset=None):
    """Grouped matmul (lax.ragged_dot): rows ``[start_i, start_i + group_sizes[i])``
    of ``lhs`` times ``rhs[i]``; rows past ``sum(group_sizes)`` are zero.

    Args:
      lhs: ``[m, k]``.
      rhs: ``[g, k, n]``.
      group_sizes: integer ``[g]``.
      precision: as ``dot_general``'s.
      preferred_element_type: the output dtype, or None.
      group_offset: must be None (as in JAX 0.10.2).

    Returns:
      ``[m, n]``.

    References:
      ``jax.lax.ragged_dot``.
    """
    return ragged_dot_general(lhs, rhs, group_sizes, _BASIC_DIMENSION_NUMBERS,
                              precision=precision, preferred_element_type=preferred_element_type,
                              group_offset=group_offset)
