"""Products and contractions (as jax.numpy): dot, matmul, vdot, inner, outer,
tensordot, einsum, trace, kron.

Every contraction is one ``dot_general`` (plus transposes, squeezes and
reductions), as jax.numpy lowers them. Operands are promoted to their common
jax.numpy dtype first; ``preferred_element_type`` is passed to ``dot_general``.

``einsum`` asks ``opt_einsum`` for the contraction order (as jnp.einsum does)
and turns each pairwise contraction into one ``dot_general``.
"""
from __future__ import annotations

import collections
import operator
from typing import NamedTuple

import numpy as np
import opt_einsum

import primitives as P
from fx.core import canonical_dtype, get_aval
from fx.dtypes import is_complex
from fx.errors import ShapeError
from primitives.numpy._promote import promote, result_type_of
from primitives.numpy._util import canonicalize_axis
from primitives.numpy.creation import asarray
from primitives.numpy.creation import eye
from primitives.numpy.math import multiply
from primitives.numpy.reductions import sum as _sum

__all__ = ["dot", "matmul", "vdot", "inner", "outer", "tensordot", "einsum", "einsum_path",
           "trace", "kron", "matrix_transpose"]


# --- helpers ----------------------------------------------------------------------------------
def _arr(a):
    if hasattr(a, "shape") and not isinstance(a, (np.ndarray, np.generic)):
        return a
    return asarray(a)


def _promoted(name: str, *args):
    """Operands as arrays of their common dtype."""
    return [_arr(a) for a in promote(*(_arr(a) for a in args))]


def _preferred(preferred_element_type):
    return None if preferred_element_type is None else \
        canonical_dtype(np.dtype(preferred_element_type))


def _ndim(x) -> int:
    return get_aval(x).ndim


def _shape(x) -> tuple:
    return get_aval(x).shape


def _dot_general(a, b, dims, precision, preferred):
    return P.dot_general(a, b, dims, precision=precision, preferred_element_type=preferred)


def _ravel(x):
    return P.reshape(x, (get_aval(x).size,))


def _mul(a, b):
    return multiply(a, b)


# --- dot / matmul / tensordot -----------------------------------------------------------------
def dot(a, b, *, precision=None, preferred_element_type=None):
    """As jnp.dot: contracts the last axis of ``a`` with the second-to-last of
    ``b`` (its only axis when 1-d); a 0-d operand multiplies."""
    a, b = _promoted("dot", a, b)
    preferred = _preferred(preferred_element_type)
    if _ndim(a) == 0 or _ndim(b) == 0:
        out = _mul(a, b)
        return out if preferred is None else P.convert_element_type(out, preferred)
    contract = ((_ndim(a) - 1,), (0 if _ndim(b) == 1 else _ndim(b) - 2,))
    return _dot_general(a, b, (contract, ((), ())), precision, preferred)


def matmul(a, b, *, precision=None, preferred_element_type=None):
    """As jnp.matmul (the ``@`` operator): numpy's broadcasting of batch axes;
    1-d operands are promoted to matrices and the added axis removed."""
    a, b = _promoted("matmul", a, b)
    for i, x in enumerate((a, b)):
        if _ndim(x) < 1:
            raise ShapeError(f"matmul: input operand {i} must have ndim at least 1, but it has "
                             f"shape {get_aval(x).str_short()}. Fix: use multiply for scalars.")
    preferred = _preferred(preferred_element_type)
    a_is_mat, b_is_mat = _ndim(a) > 1, _ndim(b) > 1
    a_batch = _shape(a)[:-2] if a_is_mat else ()
    b_batch = _shape(b)[:-2] if b_is_mat else ()
    k_a, k_b = _shape(a)[-1], _shape(b)[-2 if b_is_mat else 0]
    if k_a != k_b:
        raise ShapeError(f"matmul: contracting dimensions differ: {get_aval(a).str_short()} @ "
                         f"{get_aval(b).str_short()} (the last axis of a must equal the "
                         f"{'second-to-last' if b_is_mat else 'only'} axis of b).")
    n = max(len(a_batch), len(b_batch))
    a_batch = (None,) * (n - len(a_batch)) + a_batch
    b_batch = (None,) * (n - len(b_batch)) + b_batch
    a_squeeze, b_squeeze, both_squeeze = [], [], []
    a_bdims, b_bdims = [], []
    idx_batch, idx_a_other, idx_b_other = [], [], []
    for i, (ba, bb) in enumerate(zip(a_batch, b_batch)):
        if ba is None:
            idx_b_other.append(i)
        elif bb is None:
            idx_a_other.append(i)
        elif ba == 1 and bb == 1:
            a_squeeze.append(len(idx_batch) + len(idx_a_other) + len(a_squeeze))
            b_squeeze.append(len(idx_batch) + len(idx_b_other) + len(b_squeeze))
            both_squeeze.append(i)
        elif ba == 1:
            idx_b_other.append(i)
            a_squeeze.append(len(idx_batch) + len(idx_a_other) + len(a_squeeze))
        elif bb == 1:
            idx_a_other.append(i)
            b_squeeze.append(len(idx_batch) + len(idx_b_other) + len(b_squeeze))
        elif ba == bb:
            a_bdims.append(len(idx_batch) + len(idx_a_other))
            b_bdims.append(len(idx_batch) + len(idx_b_other))
            idx_batch.append(i)
        else:
            raise ShapeError(f"matmul: batch shapes of {get_aval(a).str_short()} and "
                             f"{get_aval(b).str_short()} cannot be broadcast together "
                             f"(axis {i}: {ba} vs {bb}).")
    if a_is_mat:
        idx_a_other.append(n)
    if b_is_mat:
        idx_b_other.append(n + a_is_mat)
    perm = tuple(int(p) for p in np.argsort(idx_batch + idx_a_other + idx_b_other))
    if a_squeeze:
        a = P.squeeze(a, tuple(a_squeeze))
    if b_squeeze:
        b = P.squeeze(b, tuple(b_squeeze))
    out = _dot_general(a, b, (((_ndim(a) - 1,), (_ndim(b) - 1 - b_is_mat,)),
                              (tuple(a_bdims), tuple(b_bdims))), precision, preferred)
    if perm != tuple(range(len(perm))):
        out = P.transpose(out, perm)
    if both_squeeze:
        out = P.expand_dims(out, tuple(both_squeeze))
    return out


def _axes_list(ax, ndim, name):
    return tuple(canonicalize_axis(operator.index(i), ndim, op=name) for i in ax)


def tensordot(a, b, axes=2, *, precision=None, preferred_element_type=None):
    """As jnp.tensordot: ``axes`` is an int N (last N of a with first N of b) or a
    pair of axis sequences (or of ints)."""
    a, b = _promoted("tensordot", a, b)
    na, nb = _ndim(a), _ndim(b)
    if type(axes) is int:
        if axes > min(na, nb) or axes < 0:
            raise ShapeError(f"tensordot: number of axes ({axes}) exceeds input ranks "
                             f"({get_aval(a).str_short()} and {get_aval(b).str_short()}).")
        contract = (tuple(range(na - axes, na)), tuple(range(axes)))
    elif isinstance(axes, (tuple, list)) and len(axes) == 2:
        ax1, ax2 = axes
        if isinstance(ax1, int) and isinstance(ax2, int):
            ax1, ax2 = (ax1,), (ax2,)
        elif not (isinstance(ax1, (tuple, list)) and isinstance(ax2, (tuple, list))):
            raise TypeError(f"tensordot requires both axes lists to be either ints, tuples or "
                            f"lists, got {ax1} and {ax2}.")
        if len(ax1) != len(ax2):
            raise TypeError(f"tensordot requires axes lists to have equal length, got {ax1} "
                            f"and {ax2}.")
        contract = (_axes_list(ax1, na, "tensordot"), _axes_list(ax2, nb, "tensordot"))
    else:
        raise TypeError("tensordot axes argument must be an int, a pair of ints, or a pair of "
                        "lists/tuples of ints.")
    return _dot_general(a, b, (contract, ((), ())), precision, _preferred(preferred_element_type))


def vdot(a, b, *, precision=None, preferred_element_type=None):
    """As jnp.vdot: the dot product of the flattened operands, ``a`` conjugated when
    complex."""
    a, b = _promoted("vdot", a, b)
    if is_complex(get_aval(a)):
        a = P.conj(a)
    return dot(_ravel(a), _ravel(b), precision=precision,
               preferred_element_type=preferred_element_type)


def inner(a, b, *, precision=None, preferred_element_type=None):
    """As jnp.inner: contracts the last axes of ``a`` and ``b``."""
    a, b = _promoted("inner", a, b)
    if _ndim(a) == 0 or _ndim(b) == 0:
        out = _mul(a, b)
        pref = _preferred(preferred_element_type)
        return out if pref is None else P.convert_element_type(out, pref)
    return tensordot(a, b, (-1, -1), precision=precision,
                     preferred_element_type=preferred_element_type)


def outer(a, b, out=None):
    """As jnp.outer: ``ravel(a)[:, None] * ravel(b)[None, :]``."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to outer is not supported.")
    a, b = _promoted("outer", a, b)
    a, b = _ravel(a), _ravel(b)
    shape = (_shape(a)[0], _shape(b)[0])
    return P.mul(P.broadcast_in_dim(a, shape, (0,)), P.broadcast_in_dim(b, shape, (1,)))


def kron(a, b):
    """As jnp.kron: the Kronecker product."""
    a, b = _promoted("kron", a, b)
    na, nb = _ndim(a), _ndim(b)
    if na < nb:
        a = P.reshape(a, (1,) * (nb - na) + _shape(a))
    elif nb < na:
        b = P.reshape(b, (1,) * (na - nb) + _shape(b))
    sa, sb = _shape(a), _shape(b)
    n = len(sa)
    full = tuple(d for pair in zip(sa, sb) for d in pair)
    a2 = P.broadcast_in_dim(a, full, tuple(range(0, 2 * n, 2)))
    b2 = P.broadcast_in_dim(b, full, tuple(range(1, 2 * n, 2)))
    return P.reshape(P.mul(a2, b2), tuple(x * y for x, y in zip(sa, sb)))


def matrix_transpose(x, /):
    """As jnp.matrix_transpose: swap the last two axes."""
    x = _arr(x)
    nd = _ndim(x)
    if nd < 2:
        raise ShapeError(f"matrix_transpose: x must be at least 2-d, got "
                         f"{get_aval(x).str_short()}.")
    return P.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def trace(a, offset=0, axis1: int = 0, axis2: int = 1, dtype=None, out=None):
    """As jnp.trace: the sum along a diagonal of the (axis1, axis2) planes."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to trace is not supported.")
    a = _arr(a)
    aval = get_aval(a)
    if aval.ndim < 2:
        raise ShapeError(f"trace: a must be at least 2-d, got {aval.str_short()}.")
    ax1 = canonicalize_axis(axis1, aval.ndim, op=f"trace of {aval.str_short()}")
    ax2 = canonicalize_axis(axis2, aval.ndim, op=f"trace of {aval.str_short()}")
    if ax1 == ax2:
        raise ShapeError(f"trace: axis1 and axis2 must differ, got {axis1} and {axis2}.")
    perm = tuple(i for i in range(aval.ndim) if i not in (ax1, ax2)) + (ax1, ax2)
    a = P.transpose(a, perm)
    shape = get_aval(a).shape
    mask = eye(aval.shape[ax1], aval.shape[ax2], k=operator.index(offset), dtype=bool)
    mask = P.broadcast_in_dim(mask, shape, (len(shape) - 2, len(shape) - 1))
    zeros = P.broadcast_in_dim(np.zeros((), aval.dtype), shape, ())
    return _sum(P.select_n(mask, zeros, a), axis=(-2, -1), dtype=dtype)


# --- einsum -----------------------------------------------------------------------------------
class _Dummy(NamedTuple):
    """What opt_einsum needs of an operand (it must not see our tracers)."""
    shape: tuple
    dtype: np.dtype


def einsum_path(subscripts, /, *operands, optimize="auto"):
    """As jnp.einsum_path: opt_einsum's contraction path and report."""
    if isinstance(optimize, bool):
        optimize = "optimal" if optimize else _Unoptimized()
    dummies = [_Dummy(get_aval(o).shape, get_aval(o).dtype) if not isinstance(o, (str, list))
               else o for o in operands]
    return opt_einsum.contract_path(subscripts, *dummies, optimize=optimize)


class _Unoptimized(opt_einsum.paths.PathOptimizer):
    """Contract left to right (jnp's optimize=False)."""

    def __call__(self, inputs, output, size_dict, memory_limit=None):
        return [(0, 1)] * (len(inputs) - 1)


def einsum(subscripts, /, *operands, out=None, optimize="auto", precision=None,
           preferred_element_type=None):
    """As jnp.einsum: opt_einsum picks the pairwise order; each pair becomes one
    dot_general, repeated indices (diagonals) a mask and a sum."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to einsum is not supported.")
    path_type = "optimal" if optimize is True else _Unoptimized() if optimize is False \
        else optimize
    args = (subscripts,) + operands
    if isinstance(subscripts, str):
        is_array = [False] + [True] * len(operands)
    else:  # interleaved: einsum(x0, sublist0, x1, sublist1, ..., [sublist_out])
        is_array = [i % 2 == 0 and not (i == len(args) - 1 and len(args) % 2 == 1)
                    for i in range(len(args))]
    arrays, dummies, ids = [], [], {}
    for x, array_like in zip(args, is_array):
        if not array_like:
            dummies.append(x)
            continue
        x = _arr(x)
        d = _Dummy(get_aval(x).shape, get_aval(x).dtype)
        ids[id(d)] = len(arrays)
        arrays.append(x)
        dummies.append(d)
    try:
        op_dummies, contractions = opt_einsum.contract_path(
            *dummies, einsum_call=True, use_blas=True, optimize=path_type)
    except ValueError as e:
        shapes = ", ".join(get_aval(x).str_short() for x in arrays)
        raise ShapeError(f"einsum({subscripts!r}) with operands {shapes}: {e}") from None
    ordered = [arrays[ids[id(d)]] for d in op_dummies]
    contractions = tuple((a, frozenset(b), c) for a, b, c, *_ in contractions)
    return _einsum(ordered, contractions, precision, _preferred(preferred_element_type))


def _removechars(s: str, chars) -> str:
    return s.translate(str.maketrans(dict.fromkeys(chars)))


def _delta(shape: tuple, axes: list):
    """Boolean mask: True where the indices along ``axes`` are all equal."""
    base = tuple(shape[a] for a in axes)
    iotas = [P.broadcasted_iota(np.dtype(np.int32), base, i) for i in range(len(base))]
    eye = P.eq(iotas[0], iotas[1])
    for i1, i2 in zip(iotas[1:-1], iotas[2:]):
        eye = P.bitwise_and(eye, P.eq(i1, i2))
    return P.broadcast_in_dim(eye, shape, tuple(axes))


def _einsum(operands, contractions, precision, preferred):
    """jnp's ``_einsum`` loop, on lax-level primitives."""
    out_dtype, out_weak = result_type_of(*operands)
    operands = [_arr(o) for o in promote(*operands)] if len(operands) > 1 else list(operands)
    if preferred is None:
        preferred, acc = None, out_dtype
    else:
        acc, out_weak = preferred, False

    def reduce_sum(x, axes):
        if get_aval(x).dtype != acc and get_aval(x).dtype != np.bool_:
            x = P.convert_element_type(x, acc)
        if get_aval(x).dtype == np.bool_:
            return P.reduce_or(x, tuple(axes))
        return P.reduce_sum(x, tuple(axes))

    def sum_uniques(operand, names, uniques):
        if uniques:
            operand = reduce_sum(operand, [names.index(n) for n in uniques])
            names = _removechars(names, uniques)
        return operand, names

    def sum_repeats(operand, names, counts, keep_names):
        for name, count in counts.items():
            if count > 1:
                axes = [i for i, n in enumerate(names) if n == name]
                shape = get_aval(operand).shape
                zeros = P.broadcast_in_dim(np.zeros((), get_aval(operand).dtype), shape, ())
                operand = P.select_n(_delta(shape, axes), zeros, operand)
                if name not in keep_names:
                    operand = reduce_sum(operand, axes)
                    names = names.replace(name, "")
                else:
                    operand = reduce_sum(operand, axes[:-1])
                    names = names.replace(name, "", count - 1)
        return operand, names

    def filter_singleton_dims(operand, names, other_shape, other_names):
        shape = get_aval(operand).shape
        keep = [shape[i] != 1 or j == -1 or other_shape[j] == 1
                for i, j in enumerate(map(other_names.find, names))]
        squeeze = tuple(i for i, k in enumerate(keep) if not k)
        if squeeze:
            operand = P.squeeze(operand, squeeze)
        return operand, "".join(n for n, k in zip(names, keep) if k)

    for operand_indices, contracted_set, einstr in contractions:
        contracted = sorted(contracted_set)
        input_str, result_names = einstr.split("->")
        input_names = input_str.split(",")
        if len(operand_indices) == 1:
            operand = operands.pop(operand_indices[0])
            names, = input_names
            counts = collections.Counter(names)
            uniques = [n for n in contracted if counts[n] == 1]
            operand, names = sum_uniques(operand, names, uniques)
            operand, names = sum_repeats(operand, names, counts, result_names)
        elif len(operand_indices) == 2:
            lhs, rhs = map(operands.pop, operand_indices)
            lhs_names, rhs_names = input_names
            lhs, lhs_names = filter_singleton_dims(lhs, lhs_names, _shape(rhs), rhs_names)
            rhs, rhs_names = filter_singleton_dims(rhs, rhs_names, _shape(lhs), lhs_names)
            lhs_counts = collections.Counter(lhs_names)
            rhs_counts = collections.Counter(rhs_names)
            lhs, lhs_names = sum_uniques(lhs, lhs_names, [
                n for n in contracted if lhs_counts[n] == 1 and rhs_counts[n] == 0])
            rhs, rhs_names = sum_uniques(rhs, rhs_names, [
                n for n in contracted if rhs_counts[n] == 1 and lhs_counts[n] == 0])
            lhs, lhs_names = sum_repeats(lhs, lhs_names, lhs_counts, result_names + rhs_names)
            rhs, rhs_names = sum_repeats(rhs, rhs_names, rhs_counts, result_names + lhs_names)
            both = set(lhs_names) | set(rhs_names)
            contracted = [n for n in contracted if n in both]
            common = set(lhs_names) & set(rhs_names)
            batch_names = [n for n in result_names if n in common]
            lhs_batch = tuple(lhs_names.find(n) for n in batch_names)
            rhs_batch = tuple(rhs_names.find(n) for n in batch_names)
            batch_str = "".join(batch_names)
            lhs_cont = tuple(lhs_names.index(n) for n in contracted)
            rhs_cont = tuple(rhs_names.index(n) for n in contracted)
            deleted = batch_str + "".join(contracted)
            rem_lhs, rem_rhs = _removechars(lhs_names, deleted), _removechars(rhs_names, deleted)
            names = batch_str + rem_rhs + rem_lhs
            if names == result_names:
                operand = _dot_general(rhs, lhs, ((rhs_cont, lhs_cont), (rhs_batch, lhs_batch)),
                                       precision, preferred)
            else:
                names = batch_str + rem_lhs + rem_rhs
                operand = _dot_general(lhs, rhs, ((lhs_cont, rhs_cont), (lhs_batch, rhs_batch)),
                                       precision, preferred)
        else:
            raise NotImplementedError("einsum does not support simultaneous contraction of 3 "
                                      "or more operands (an unsupported optimize path?).")
        if names != result_names:
            perm = tuple(names.index(n) for n in result_names)
            operand = P.transpose(operand, perm)
        operands.append(operand)
    result = operands[0]
    aval = get_aval(result)
    if aval.dtype != acc or aval.weak_type != out_weak:
        result = P.convert_element_type(result, acc, weak_type=out_weak)
    return result
