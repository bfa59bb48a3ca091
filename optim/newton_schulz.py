"""Muon: momentum orthogonalized by a Newton-Schulz iteration (as optax.contrib.muon).

The update of a 2-D weight is the (Nesterov) momentum replaced by the nearest
semi-orthogonal matrix, approximated by 5 steps of the quintic iteration
``X <- a X + (b A + c A A) X`` with ``A = X X^T`` and (a, b, c) =
(3.4445, -4.7750, 2.0315), then scaled by the shape. Leaves of another rank go
to AdamW unless ``weight_dimension_numbers`` says which axes form the matrix
(e.g. a conv kernel ``(h, w, in, out)`` as ``reduction_axis=(0, 1, 2)``,
``output_axis=3``), in which case the remaining axes are batch axes.

Shape scaling: by default ``sqrt(max(1, fan_out / fan_in))`` (Jordan's width
transfer). ``consistent_rms=0.2`` gives Moonshot's ``0.2 * sqrt(max(A, B))``,
which makes the update RMS match AdamW's so AdamW learning rates and weight
decay transfer.

References:
    K. Jordan et al., 2024: Muon: An optimizer for hidden layers in neural networks
    (github.com/KellerJordan/modded-nanogpt).
    Liu et al. (Moonshot AI), 2025: Muon is Scalable for LLM Training.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence, Union

from jax import tree_util

import primitives.numpy as fnp
from optim import tree as otree
from optim.base import check_state, GradientTransformation, init_empty_state, static_hyperparams
from optim.adding import add_decayed_weights
from optim.alias import adamw
from optim.combine import MaskedNode, chain, partition
from optim.errors import MuonDimensionError
from optim.scale import canonical_dtype, nesterov_mu_hat, scale_by_learning_rate

__all__ = ["MuonDimensionNumbers", "orthogonalize_via_newton_schulz", "MuonState",
           "scale_by_muon", "scale_by_shape", "muon", "DEFAULT_NS_COEFFS", "MOONSHOT_RMS"]

DEFAULT_NS_COEFFS = (3.4445, -4.7750, 2.0315)
MOONSHOT_RMS = 0.2


class MuonDimensionNumbers(NamedTuple):
    """Which axes of a leaf form the matrix: rows (reduction) and columns (output)."""
    reduction_axis: Union[Sequence[int], int] = 0
    output_axis: Union[Sequence[int], int] = 1


def _is_dim_nums(x) -> bool:
    return isinstance(x, MuonDimensionNumbers)


def _axes(x_shape, dim_nums: MuonDimensionNumbers) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ndim = len(x_shape)
    norm = lambda a: tuple(i % ndim for i in ((a,) if isinstance(a, int) else a))  # noqa: E731
    return norm(dim_nums.reduction_axis), norm(dim_nums.output_axis)


def _check_matrix(shape, dim_nums, where: str) -> MuonDimensionNumbers:
    if dim_nums is None:
        if len(shape) != 2:
            raise MuonDimensionError(
                f"{where}: muon orthogonalizes matrices, but this leaf has shape {tuple(shape)} "
                f"(rank {len(shape)}) and no dimension numbers. Pass "
                f"weight_dimension_numbers=optim.MuonDimensionNumbers(reduction_axis=..., "
                f"output_axis=...) for it (e.g. reduction_axis=(0, 1, 2), output_axis=3 for an "
                f"HWIO conv kernel), or use optim.muon, which sends non-2-D leaves to AdamW.")
        return MuonDimensionNumbers()
    if len(shape) < 2:
        raise MuonDimensionError(
            f"{where}: a leaf of shape {tuple(shape)} (rank {len(shape)}) cannot be "
            f"orthogonalized; give it None instead of {dim_nums} in weight_dimension_numbers so "
            f"that it gets AdamW.")
    red, out = _axes(shape, dim_nums)
    if set(red) & set(out) or not red or not out:
        raise MuonDimensionError(
            f"{where}: reduction axes {red} and output axes {out} of a leaf of shape "
            f"{tuple(shape)} must be non-empty and disjoint.")
    return dim_nums


def _to_batched_matrices(x, dim_nums):
    """(batch, reduction, output) view of ``x`` and the function that undoes it."""
    red, out = _axes(x.shape, dim_nums)
    batch = tuple(i for i in range(x.ndim) if i not in red and i not in out)
    perm = batch + red + out
    inv = tuple(sorted(range(x.ndim), key=lambda i: perm[i]))
    size = lambda axes: math.prod(x.shape[i] for i in axes)  # noqa: E731
    permuted_shape = tuple(x.shape[i] for i in perm)
    flat = fnp.reshape(fnp.transpose(x, perm), (size(batch), size(red), size(out)))
    return flat, lambda y: fnp.transpose(fnp.reshape(y, permuted_shape), inv)


def _newton_schulz_step(x, coeffs):
    """``a X + (b A + c A A) X`` with ``A = X X^T`` (batched over the first axis)."""
    a = fnp.matmul(x, fnp.swapaxes(x, -1, -2))
    b = coeffs[1] * a + fnp.matmul(coeffs[2] * a, a)
    return coeffs[0] * x + fnp.matmul(b, x)


def orthogonalize_via_newton_schulz(x, ns_coeffs=DEFAULT_NS_COEFFS, ns_steps: int = 5,
                                    eps=1e-8, dimension_numbers=None):
    """Approximate the semi-orthogonal factor ``U V^T`` of ``x = U S V^T``.

    Args:
      x: a matrix, or an array whose matrix axes ``dimension_numbers`` names.
      ns_coeffs: (a, b, c), or one row per step (shape (steps, 3)).
      ns_steps: iterations.
      eps: added to the Frobenius norm the input is first divided by.
      dimension_numbers: MuonDimensionNumbers for arrays that are not 2-D.

    Raises:
      MuonDimensionError: ``x`` is not 2-D and has no dimension numbers.
    """
    dim_nums = _check_matrix(x.shape, dimension_numbers, "orthogonalize_via_newton_schulz")
    coeffs = fnp.asarray(ns_coeffs).astype(x.dtype)
    flat, unflatten = _to_batched_matrices(x, dim_nums)
    transposed = flat.shape[1] > flat.shape[2]
    if transposed:
        flat = fnp.swapaxes(flat, -1, -2)
    flat = flat / (fnp.linalg.norm(flat, axis=(-2, -1), keepdims=True) + eps)
    for i in range(ns_steps):
        flat = _newton_schulz_step(flat, coeffs if coeffs.ndim == 1 else coeffs[i])
    if transposed:
        flat = fnp.swapaxes(flat, -1, -2)
    return unflatten(flat)


def _per_leaf_dim_nums(spec, updates) -> list:
    """The dimension numbers of each leaf of ``updates`` (None: the 2-D default)."""
    if callable(spec) and not _is_dim_nums(spec):
        spec = spec(updates)
    if spec is None or _is_dim_nums(spec):
        return [spec] * len(tree_util.tree_leaves(updates))
    out: list = []
    is_leaf = lambda x: x is None or _is_dim_nums(x) or isinstance(x, MaskedNode)  # noqa: E731
    otree.tree_map(lambda d, sub: out.extend([None if isinstance(d, MaskedNode) else d]
                                             * len(tree_util.tree_leaves(sub))),
                   spec, updates, is_leaf=is_leaf, names=("weight_dimension_numbers", "updates"))
    return out


# --- scale_by_muon ---
class MuonState(NamedTuple):
    """Step count, momentum, and the Newton-Schulz coefficients."""
    count: Any  # int32[]
    mu: Any
    ns_coeffs: Any  # f32[3] or f32[steps, 3]


@static_hyperparams("ns_steps")
def scale_by_muon(ns_coeffs=DEFAULT_NS_COEFFS, ns_steps: int = 5, beta=0.95, eps=1e-8,
                  mu_dtype=None, *, nesterov: bool = True,
                  weight_dimension_numbers=None) -> GradientTransformation:
    """Orthogonalize the (Nesterov) momentum of every leaf by Newton-Schulz.

    Every leaf must be a matrix or have dimension numbers; :func:`muon` routes
    the others to AdamW.

    Args:
      ns_coeffs: (a, b, c) or a (steps, 3) table.
      ns_steps: Newton-Schulz iterations.
      beta: momentum decay.
      eps: Newton-Schulz normalization epsilon.
      mu_dtype: momentum dtype (default: the params').
      nesterov: use Nesterov momentum.
      weight_dimension_numbers: MuonDimensionNumbers for all leaves, a tree of
        them (None: 2-D default), or a function updates -> such a tree.

    Raises:
      MuonDimensionError: a leaf is not 2-D and has no dimension numbers.
    """
    mu_dtype = canonical_dtype(mu_dtype)

    def init_fn(params):
        coeffs = fnp.asarray(ns_coeffs)  # f64 under x64, as optax
        if coeffs.ndim > 2 or coeffs.shape[-1] != 3:
            raise ValueError(f"ns_coeffs must have shape (3,) or (n, 3), got {coeffs.shape}")
        if coeffs.ndim == 2:
            if coeffs.shape[0] < ns_steps:
                raise ValueError(f"{coeffs.shape[0]} rows of ns_coeffs for {ns_steps} ns_steps")
            coeffs = coeffs[-ns_steps:]
        return MuonState(count=fnp.zeros([], fnp.int32),
                         mu=otree.zeros_like(params, dtype=mu_dtype), ns_coeffs=coeffs)

    def update_fn(updates, state, params=None):
        check_state(state, MuonState, "scale_by_muon")
        del params
        mu = otree.update_moment(updates, state.mu, beta, 1)
        count_inc = otree.safe_increment(state.count)
        mu_hat = (nesterov_mu_hat(mu, updates, beta, count_inc) if nesterov
                  else otree.bias_correction(mu, beta, count_inc))
        leaves, treedef = tree_util.tree_flatten(mu_hat)
        paths = [tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(mu_hat)[0]]
        dims = _per_leaf_dim_nums(weight_dimension_numbers, updates)
        new = []
        for path, x, d in zip(paths, leaves, dims):
            d = _check_matrix(x.shape, d, f"scale_by_muon leaf {path or '<root>'}")
            new.append(orthogonalize_via_newton_schulz(x, state.ns_coeffs, ns_steps, eps, d))
        return (tree_util.tree_unflatten(treedef, new),
                MuonState(count=count_inc, mu=otree.cast(mu, mu_dtype), ns_coeffs=state.ns_coeffs))
    return GradientTransformation(init_fn, update_fn)


# --- scale_by_shape ---
def _fans(shape, dim_nums):
    red, out = _axes(shape, dim_nums or MuonDimensionNumbers())
    return math.prod(shape[i] for i in red), math.prod(shape[i] for i in out)


def scale_by_shape(weight_dimension_numbers=None, consistent_rms=None) -> GradientTransformation:
    """Scale orthogonalized updates by their shape.

    Args:
      weight_dimension_numbers: as in :func:`scale_by_muon`.
      consistent_rms: None for ``sqrt(max(1, fan_out / fan_in))``; a number r
        for ``r * sqrt(max(fan_in, fan_out))`` (Moonshot: r = 0.2).
    """
    def scale_leaf(u, d):
        fan_in, fan_out = _fans(u.shape, d)
        if consistent_rms is None:
            return fnp.sqrt(fnp.maximum(1, fan_out / fan_in)) * u
        return fnp.sqrt(fnp.maximum(fan_in, fan_out)) * consistent_rms * u

    def update_fn(updates, state, params=None):
        del params
        leaves, treedef = tree_util.tree_flatten(updates)
        dims = _per_leaf_dim_nums(weight_dimension_numbers, updates)
        scaled = [scale_leaf(u, d) for u, d in zip(leaves, dims)]
        return tree_util.tree_unflatten(treedef, scaled), state
    return GradientTransformation(init_empty_state, update_fn)


@static_hyperparams("ns_steps")
def muon(learning_rate, ns_coeffs=DEFAULT_NS_COEFFS, ns_steps: int = 5, beta=0.95, eps=1e-8,
         weight_decay=0.0, weight_decay_mask=None, mu_dtype=None, *, nesterov: bool = True,
         adam_b1=0.9, adam_b2=0.999, adam_eps_root=0.0, adam_weight_decay=0.0,
         adam_learning_rate=None, muon_weight_dimension_numbers=None, consistent_rms=None):
    """Muon for matrices, AdamW for everything else (as ``optax.contrib.muon``).

    Args:
      learning_rate: a number or a schedule.
      ns_coeffs, ns_steps, beta, eps, mu_dtype, nesterov: see :func:`scale_by_muon`.
      weight_decay: decoupled weight decay of the muon leaves (times the learning rate).
      weight_decay_mask: which muon leaves to decay.
      adam_b1, adam_b2, adam_eps_root, adam_weight_decay: the AdamW of the other leaves.
      adam_learning_rate: its learning rate (default: ``learning_rate``).
      muon_weight_dimension_numbers: None (2-D leaves get muon, the rest AdamW), a
        tree with MuonDimensionNumbers at muon leaves and None at AdamW leaves,
        or a function params -> such a tree.
      consistent_rms: None for Jordan's scaling; 0.2 (``optim.MOONSHOT_RMS``)
        for Moonshot's ``0.2 * sqrt(max(A, B))``.

    Example::

        >>> tx = optim.muon(0.02)                        # as modded-nanogpt
        >>> tx = optim.muon(3e-4, weight_decay=0.1, consistent_rms=optim.MOONSHOT_RMS)
    """
    if adam_learning_rate is None:
        adam_learning_rate = learning_rate
    spec = muon_weight_dimension_numbers

    def resolve(params):
        return spec(params) if callable(spec) and not _is_dim_nums(spec) else spec

    def labels(params):
        if spec is None:
            return tree_util.tree_map(lambda x: "muon" if x.ndim == 2 else "adam", params)
        is_leaf = lambda x: x is None or _is_dim_nums(x)  # noqa: E731
        return otree.tree_map(lambda d, sub: tree_util.tree_map(
            lambda _: "adam" if d is None else "muon", sub), resolve(params), params,
            is_leaf=is_leaf, names=("muon_weight_dimension_numbers", "params"))

    def dim_nums(updates):  # updates are masked: MaskedNode where a leaf is not muon's
        return MuonDimensionNumbers() if spec is None else resolve(updates)

    return partition({
        "muon": chain(
            scale_by_muon(ns_coeffs, ns_steps, beta, eps, mu_dtype, nesterov=nesterov,
                          weight_dimension_numbers=dim_nums),
            scale_by_shape(dim_nums, consistent_rms),
            add_decayed_weights(weight_decay, weight_decay_mask),
            scale_by_learning_rate(learning_rate)),
        "adam": adamw(adam_learning_rate, b1=adam_b1, b2=adam_b2, eps=eps, eps_root=adam_eps_root,
                      weight_decay=adam_weight_decay, mu_dtype=mu_dtype, nesterov=nesterov),
    }, labels)
