"""Reverse mode and Jacobians: vjp, grad, value_and_grad, jacfwd, jacrev, hessian.

Reverse mode = ``linearize`` (jvp + partial evaluation by the trace stack, see
transforms/jvp.py) then ``backward_pass`` (transpose of the linear graph).

Example::

    >>> grad(lambda x: fnp.sum(fnp.sin(x)))(fnp.ones(3))   # cos(1) three times

References:
    Autodidax; JAX's ``jax.vjp``/``jax.grad``/``jax.jacfwd``/``jax.jacrev``.
"""
from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np
import jax
from jax import tree_util

from fx.ad import backward_pass, instantiate_zero, linearize_flat
from fx.core import get_aval, structural
from fx.dtypes import float0_zeros, is_complex, is_float
from fx.errors import FxTypeError
from transforms.jvp import _lower_aux, _split_aux, jvp
from transforms.vmap import vmap

__all__ = ["vjp", "grad", "value_and_grad", "jacfwd", "jacrev", "hessian", "CotangentError"]


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Vector-Jacobian product (as ``jax.vjp``).

    Args:
      fun: function of pytrees of arrays.
      *primals: the arguments.
      has_aux: ``fun`` returns ``(out, aux)``.

    Returns:
      ``(out, f_vjp)`` (plus ``aux``); ``f_vjp(ct)`` returns a tuple of cotangents,
      one per primal (float0 zeros for integer primals, as JAX).
    """
    p_flat, in_tree = tree_util.tree_flatten(primals)
    box = {}

    def flat_fun(*args):
        out = fun(*tree_util.tree_unflatten(in_tree, args))
        if has_aux:
            out, aux = _split_aux(out, "vjp")
            box["aux"] = aux
        leaves, tree = tree_util.tree_flatten(out)
        box["tree"] = tree
        return leaves

    in_avals = [get_aval(p) for p in p_flat]
    want = [is_float(a) for a in in_avals]
    outs, linear, out_zero = linearize_flat(flat_fun, p_flat, want)
    out_tree = box["tree"]
    out_avals = [get_aval(o) for o in outs]

    def f_vjp(ct):
        ct_flat, ct_tree = tree_util.tree_flatten(ct)
        if ct_tree != out_tree:
            raise FxTypeError(f"vjp: the cotangent's structure {ct_tree} does not match the "
                              f"output's {out_tree}.")
        for i, (c, a) in enumerate(zip(ct_flat, out_avals)):
            ca = get_aval(c)
            if ca.shape != a.shape or (is_float(a) and ca.dtype != a.dtype):
                raise CotangentError(
                    f"vjp: cotangent leaf {i} is {ca.str_short()} but the output is "
                    f"{a.str_short()}: the cotangent must have the output's shape and dtype. "
                    f"Fix: pass e.g. fnp.ones_like(out) or ct.astype({a.dtype.name}).")
        nz = [c for c, z in zip(ct_flat, out_zero) if not z]
        n_lin = sum(want)
        cts = backward_pass(linear.graph, linear.consts, [True] * n_lin, [None] * n_lin, nz)
        it = iter(cts)
        res = [instantiate_zero(next(it)) if w else float0_zeros(a)
               for w, a in zip(want, in_avals)]
        return tuple(tree_util.tree_unflatten(in_tree, res))

    out = tree_util.tree_unflatten(out_tree, outs)
    if has_aux:
        return out, f_vjp, _lower_aux(box["aux"])
    return out, f_vjp


class CotangentError(FxTypeError, ValueError):
    """A cotangent given to a vjp function does not match the output's shape or
    dtype (a ValueError, as jax's, and an FxTypeError)."""


def _check_argnums(argnums, n_args, who):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not isinstance(a, int) or not -n_args <= a < n_args:
            raise FxTypeError(f"{who}: argnums={argnums!r} is out of range for a function called "
                              f"with {n_args} positional argument(s). Fix: pick argnums among "
                              f"0..{n_args - 1}.")
    canon = tuple(a % n_args for a in nums)
    if len(set(canon)) != len(canon):
        raise FxTypeError(f"{who}: argnums={argnums!r} names an argument twice. Fix: list each "
                          f"argument once (e.g. argnums=(0, 1)).")
    return canon


def _check_dtypes(values, who: str, holomorphic: bool, what: str = "inputs") -> None:
    """JAX's dtype rules for the ``what`` ("inputs" / "outputs") of jacfwd's
    inputs, grad's and jacrev's outputs, and every holomorphic transform:
    complex with ``holomorphic``, otherwise real floating."""
    for x in values:
        aval = get_aval(x)
        if holomorphic:
            if not is_complex(aval):
                raise FxTypeError(f"{who} with holomorphic=True requires {what} with complex "
                                  f"dtype, but got {aval.dtype.name}. Fix: cast them to "
                                  f"complex64, or drop holomorphic=True.")
        elif not is_float(aval) or is_complex(aval):
            raise FxTypeError(
                f"{who} requires real-valued {what} ({what[:-1]} dtype that is a sub-dtype of "
                f"np.floating), but got {aval.dtype.name}. For holomorphic differentiation, "
                f"pass holomorphic=True. For integer or complex {what} use "
                f"{'jvp' if what == 'inputs' else 'vjp'} directly.")


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False):
    """As ``jax.value_and_grad``: returns ``(value, grad)`` (``((value, aux), grad)`` with has_aux).

    Args:
      fun: function whose output is a real scalar.
      argnums: which positional argument(s) to differentiate (int or tuple).
      has_aux: ``fun`` returns ``(scalar, aux)``.
      holomorphic: ``fun`` is holomorphic: complex inputs and output, the
        gradient is ``f'(z)`` (as JAX). Without it a complex output raises.
      allow_int: allow integer inputs (their gradient is float0 zeros).

    Returns:
      The function computing value and gradient.
    """
    @functools.wraps(fun)
    def vg(*args, **kwargs):
        nums = _check_argnums(argnums, len(args), "grad")
        for i in nums:
            if holomorphic:
                _check_dtypes(tree_util.tree_leaves(args[i]), "grad", True)
            for leaf in tree_util.tree_leaves(args[i]):
                aval = get_aval(leaf)
                if not is_float(aval) and not allow_int:
                    raise FxTypeError(
                        f"grad requires real- or complex-valued inputs (input dtype that is a "
                        f"sub-dtype of floating), but argument {i} has a leaf of type "
                        f"{aval.str_short()}. Fix: convert it to float, differentiate with respect "
                        f"to another argument (argnums), or pass allow_int=True.")

        def f_partial(*diff_args):
            full = list(args)
            for i, a in zip(nums, diff_args):
                full[i] = a
            return fun(*full, **kwargs)

        res = vjp(f_partial, *[args[i] for i in nums], has_aux=has_aux)
        out, f_vjp = res[0], res[1]
        leaves = tree_util.tree_leaves(out)
        aval = get_aval(leaves[0]) if len(leaves) == 1 else None
        if aval is None or aval.shape != () or not is_float(aval):
            what = (f"{aval.str_short()}" if aval is not None else
                    f"a {type(out).__name__} with {len(leaves)} leaves")
            raise FxTypeError(
                f"grad requires a real scalar output, got {what}. Fix: reduce the output "
                f"(e.g. fnp.sum/fnp.mean), use has_aux=True to return extra values, or use "
                f"jacrev/vjp for non-scalar outputs.")
        _check_dtypes(leaves, "grad", holomorphic, "outputs")
        one = np.ones((), dtype=aval.dtype)
        g = f_vjp(tree_util.tree_unflatten(tree_util.tree_structure(out), [one]))
        g = g[0] if isinstance(argnums, int) else tuple(g)
        if has_aux:
            return (out, res[2]), g
        return out, g

    return vg


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False, allow_int: bool = False):
    """As ``jax.grad``: the gradient of a real scalar function (see value_and_grad;
    same arguments, in JAX's order).

    Example::

        >>> grad(lambda x: x * x)(3.0)   # 6.0
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def g(*args, **kwargs):
        (out, g_) = vg(*args, **kwargs)
        if has_aux:
            return g_, out[1]
        return g_

    return g


def _std_basis(leaves):
    avals = [get_aval(x) for x in leaves]
    sizes = [a.size for a in avals]
    n = sum(sizes)
    dtype = jax.dtypes.result_type(*[a.dtype for a in avals]) if avals else np.float32
    eye = np.eye(n, dtype=dtype)
    basis, start = [], 0
    for a, s in zip(avals, sizes):
        basis.append(eye[:, start:start + s].reshape((n,) + a.shape).astype(a.dtype))
        start += s
    return n, basis


def jacfwd(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False):
    """As ``jax.jacfwd``: Jacobian by forward mode, vmapped over the input basis.

    Inputs must be real floats (complex ones with ``holomorphic=True``), as JAX.

    Returns:
      A function whose output has, for each output leaf of shape ``out`` and
      differentiated input leaf of shape ``in``, a block of shape ``out + in``.
    """
    def jac(*args):
        nums = _check_argnums(argnums, len(args), "jacfwd")
        diff = tuple(args[i] for i in nums)
        d_leaves, d_tree = tree_util.tree_flatten(diff)
        _check_dtypes(d_leaves, "jacfwd", holomorphic)
        n, basis = _std_basis(d_leaves)

        def f_diff(*dl):
            full = list(args)
            for i, a in zip(nums, tree_util.tree_unflatten(d_tree, dl)):
                full[i] = a
            return fun(*full)

        def push(*tangent_leaves):
            res = jvp(f_diff, list(d_leaves), list(tangent_leaves), has_aux=has_aux)
            return (res[1], res[2]) if has_aux else res[1]

        out = vmap(push, in_axes=0, out_axes=(-1, None) if has_aux else -1)(*basis)
        if has_aux:
            out, aux = out
        # out leaves: (*out_shape, n) -> split n into the input leaves' shapes
        in_avals = [get_aval(x) for x in d_leaves]
        out = tree_util.tree_map(lambda o: _split_last(o, in_avals, d_tree, nums, argnums), out)
        return (out, aux) if has_aux else out

    return jac


def _split_last(o, in_avals, d_tree, nums, argnums):
    reshape = structural("reshape")
    o_aval = get_aval(o)
    out_shape = o_aval.shape[:-1]
    blocks, start = [], 0
    for a in in_avals:
        blk = _slice_last(o, start, start + a.size)
        blocks.append(reshape(blk, out_shape + a.shape))
        start += a.size
    tree = tree_util.tree_unflatten(d_tree, blocks)
    return tree[0] if isinstance(argnums, int) else tuple(tree)


def _slice_last(o, start, stop):
    aval = get_aval(o)
    if start == 0 and stop == aval.shape[-1]:
        return o
    return structural("slice")(o, (0,) * (aval.ndim - 1) + (start,), aval.shape[:-1] + (stop,))


def jacrev(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False, allow_int: bool = False):
    """As ``jax.jacrev``: Jacobian by reverse mode, vmapped over the output basis.

    Outputs must be real floats (complex ones with ``holomorphic=True``);
    inputs floats (integers with ``allow_int``), as JAX."""
    def jac(*args):
        nums = _check_argnums(argnums, len(args), "jacrev")
        for i in nums:
            leaves = tree_util.tree_leaves(args[i])
            if holomorphic:
                _check_dtypes(leaves, "jacrev", True)
            elif not allow_int and not all(is_float(get_aval(x)) for x in leaves):
                bad = next(get_aval(x) for x in leaves if not is_float(get_aval(x)))
                raise FxTypeError(f"jacrev requires real- or complex-valued inputs (input dtype "
                                  f"that is a sub-dtype of np.floating), but got "
                                  f"{bad.dtype.name}. Fix: convert it to float, or pass "
                                  f"allow_int=True.")

        def f_diff(*diff):
            full = list(args)
            for i, a in zip(nums, diff):
                full[i] = a
            return fun(*full)

        res = vjp(f_diff, *[args[i] for i in nums], has_aux=has_aux)
        out, f_vjp = res[0], res[1]
        o_leaves, o_tree = tree_util.tree_flatten(out)
        _check_dtypes(o_leaves, "jacrev", holomorphic, "outputs")
        m, basis = _std_basis(o_leaves)

        def pull(*ct_leaves):
            return f_vjp(tree_util.tree_unflatten(o_tree, list(ct_leaves)))

        cts = vmap(pull)(*basis)  # tuple over diff args, leaves (m, *in_shape)
        reshape = structural("reshape")
        blocks_per_out = []
        start = 0
        o_avals = [get_aval(o) for o in o_leaves]
        for a in o_avals:
            def take(c, a=a, start=start):
                c_aval = get_aval(c)
                blk = c
                if not (start == 0 and a.size == c_aval.shape[0]):
                    blk = structural("slice")(c, (start,) + (0,) * (c_aval.ndim - 1),
                                  (start + a.size,) + c_aval.shape[1:])
                return reshape(blk, a.shape + c_aval.shape[1:])
            sub = tree_util.tree_map(take, cts)
            blocks_per_out.append(sub[0] if isinstance(argnums, int) else tuple(sub))
            start += a.size
        jac_tree = tree_util.tree_unflatten(o_tree, blocks_per_out)
        return (jac_tree, res[2]) if has_aux else jac_tree

    return jac


def hessian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
            holomorphic: bool = False):
    """As ``jax.hessian``: ``jacfwd(jacrev(fun))``."""
    return jacfwd(jacrev(fun, argnums, has_aux, holomorphic), argnums, has_aux, holomorphic)
