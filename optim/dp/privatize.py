"""The privatized gradient of DP-SGD: per-example gradients, clipping, noise.

``privatize_gradients`` turns a per-example loss ``loss(params, example)`` and a
batch (a pytree whose leaves have a leading batch axis) into the DP-SGD
gradient estimate

    (sum_i mask_i * clip_C(grad loss(params, x_i)) + N(0, (sigma C)^2 I)) / B_expected

and statistics about the clipping. It is written with our transforms
(``vmap(grad(loss), in_axes=(None, 0))``) and ``primitives.numpy``, so it runs
eagerly and under ``transforms.jit``; the graph does not depend on the values of
the mask, so Poisson-sampled batches padded to a fixed size compile once.

References:
    Abadi et al., 2016: Deep Learning with Differential Privacy.
    McMahan et al., 2018: A General Approach to Adding Differential Privacy to
    Iterative Training Procedures (per-layer clipping).
"""
from __future__ import annotations

import math
from numbers import Real
from typing import Any, Callable

import jax
import numpy as np
from jax import tree_util

import primitives.numpy as fnp
import primitives.random as frandom
from primitives.control_flow import scan
from fx import get_aval
from transforms import eval_shape, grad, value_and_grad, vmap
from optim.dp.clipping_plan import clipping_plan, example_of
from optim.dp.fast_clipping import bookkeeping_sum, ghost_sum, per_example_pass
from optim.dp.noise import gaussian
from optim.dp.errors import (ClipNormError, ClipTreeError, DPArgumentError,
                             NotPerExampleLossError)

__all__ = ["privatize_gradients", "clipped_gradient_sum", "noisy_mean", "per_example_gradients",
           "clip_per_example", "effective_clip_norm", "METHODS"]

METHODS = ("auto", "vmap", "ghost", "bookkeeping")


# --- validation ---
def _check_clip_value(c, where: str) -> None:
    """Reject a concrete clip norm that is not a positive finite number (traced
    values are accepted as they are)."""
    if isinstance(c, Real) or (hasattr(c, "shape") and not _is_traced(c)):
        value = np.asarray(c)
        if value.shape != () or not np.isfinite(value) or value <= 0:
            raise ClipNormError(f"privatize_gradients: l2_norm_clip{where} must be a positive "
                                f"finite scalar, got {c!r}. Fix: pass a clip norm C > 0 "
                                f"(e.g. 1.0); the noise std is noise_multiplier * C.")


def _check_mask(mask, size: int) -> None:
    """A mask must be ``(B,)`` with entries in {0, 1}: a weight w > 1 would make
    the sensitivity w * C while the noise is calibrated to C. Traced masks must
    be bool (their values cannot be checked)."""
    if mask is None:
        return
    shape = tuple(np.shape(mask))
    if shape != (size,):
        raise DPArgumentError(f"privatize_gradients: mask must have shape (B,) = ({size},), one "
                              f"entry per example of the batch, got shape {shape}. Fix: pass "
                              f"the sampler's bool mask for this batch.")
    if _is_traced(mask):
        if np.dtype(mask.dtype) != np.dtype(bool):
            raise DPArgumentError(
                f"privatize_gradients: a traced mask (inside jit/vmap) must be bool, got "
                f"{np.dtype(mask.dtype).name}: its values cannot be checked, and entries other "
                f"than 0/1 would void the privacy guarantee. Fix: pass mask.astype(bool).")
        return
    values = np.asarray(mask)
    if values.dtype != np.dtype(bool) and not np.all((values == 0) | (values == 1)):
        bad = values[(values != 0) & (values != 1)][:3]
        raise DPArgumentError(
            f"privatize_gradients: mask entries must be 0 or 1 (False/True), got values such "
            f"as {bad.tolist()}: a weight w scales an example's sensitivity to w * C while the "
            f"noise is calibrated to C. Fix: pass a bool mask (padding examples False).")


def _check_divisor(expected_batch_size) -> None:
    if expected_batch_size is not None and not _is_traced(expected_batch_size):
        value = np.asarray(expected_batch_size)
        if value.shape != () or not np.isfinite(value) or value <= 0:
            raise DPArgumentError(
                f"privatize_gradients: expected_batch_size must be a positive finite number, "
                f"got {expected_batch_size!r}. Fix: pass q * dataset_size (the expected number "
                f"of sampled examples), or None to divide by the batch size.")


def _is_traced(x) -> bool:
    """An abstract value (our tracer or jax's): its contents cannot be checked."""
    return isinstance(x, jax.core.Tracer) or \
        type(x).__module__.split(".")[0] not in ("jax", "jaxlib", "numpy", "builtins")


def _check_params_vary_with_batch(params, batch) -> None:
    """Inside a check_vma shard_map body the gradient of a replicated parameter is
    summed over the shards (jax's typing): per-example gradients would then mix the
    examples of different shards before clipping, voiding the per-example bound."""
    batch_vma = frozenset().union(*[get_aval(x).vma for x in tree_util.tree_leaves(batch)])
    for path, p in tree_util.tree_flatten_with_path(params)[0]:
        missing = tuple(sorted(batch_vma - get_aval(p).vma, key=str))
        if missing:
            raise DPArgumentError(
                f"privatize_gradients: inside shard_map the batch is sharded over the mesh "
                f"axes {missing} but the parameter {tree_util.keystr(path)} is replicated over "
                f"them; the gradient of a replicated value is summed over the shards (as jax's "
                f"check_vma), so each per-example gradient would mix examples of different "
                f"shards before clipping, which voids the privacy guarantee. Fix: params = "
                f"pcast(params, {missing}, to='varying') first (primitives.pcast), then psum "
                f"the clipped sums over {missing}.")


def _clip_leaves(l2_norm_clip, params) -> list | None:
    """The per-layer clip norms as a list aligned with ``params``' leaves, or
    None for flat clipping (a scalar)."""
    if tree_util.treedef_is_leaf(tree_util.tree_structure(l2_norm_clip)):
        _check_clip_value(l2_norm_clip, "")
        return None
    p_tree = tree_util.tree_structure(params)
    c_leaves, c_tree = tree_util.tree_flatten(l2_norm_clip)
    if c_tree != p_tree:
        raise ClipTreeError(f"privatize_gradients: a per-layer l2_norm_clip must have the "
                            f"structure of params.\n  params:       {p_tree}\n  l2_norm_clip: "
                            f"{c_tree}\nFix: pass one clip norm per parameter leaf, e.g. "
                            f"jax.tree_util.tree_map(lambda _: 1.0, params), or a scalar for "
                            f"flat clipping.")
    paths = [tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(l2_norm_clip)[0]]
    for c, path in zip(c_leaves, paths):
        _check_clip_value(c, path)
    return c_leaves


def effective_clip_norm(l2_norm_clip) -> float:
    """The L2 sensitivity of one example's clipped gradient: ``C`` for flat
    clipping, ``sqrt(sum_l C_l^2)`` for a per-layer clip tree."""
    return math.sqrt(sum(float(c) ** 2 for c in tree_util.tree_leaves(l2_norm_clip)))


def leading_size(tree, who: str = "privatize_gradients", what: str = "batch",
                 fix: str = "") -> int:
    """The common leading (example) axis size of ``tree``'s leaves, or a typed
    error naming ``who`` and ``what``."""
    sizes = {np.shape(x)[0] if np.ndim(x) else None for x in tree_util.tree_leaves(tree)}
    if len(sizes) != 1 or None in sizes:
        raise NotPerExampleLossError(
            f"{who}: every leaf of {what} needs the same leading (example) axis, got leading "
            f"sizes {sorted(map(str, sizes))}. Fix: stack examples along axis 0{fix}.")
    size = sizes.pop()
    if size == 0:
        raise DPArgumentError(f"{who}: {what} is empty (0 examples). Fix: skip the step, or "
                              f"pad the batch with masked-out examples (mask False).")
    return size


def _check_per_example(leaves) -> None:
    """The loss must map (params, one example) to a scalar: ``leaves`` are the
    shapes/dtypes of what it returned for one example of the batch."""
    if len(leaves) != 1 or leaves[0].shape != ():
        shapes = [f"{np.dtype(o.dtype).name}{list(o.shape)}" for o in leaves]
        raise NotPerExampleLossError(
            f"privatize_gradients: loss(params, example) must return one scalar for ONE "
            f"example, got {shapes} for an example of the batch. Fix: write the loss for a "
            f"single example (no leading batch axis, no mean over the batch); "
            f"privatize_gradients maps it over the batch itself.")


# --- the pipeline ---
def per_example_gradients(loss: Callable, params, batch):
    """``grad(loss)`` for every example: leaves shaped ``(B, *param.shape)``."""
    return vmap(grad(loss), in_axes=(None, 0))(params, batch)


def _sq_norm_per_example(g):
    return fnp.sum(fnp.square(g).reshape(g.shape[0], -1), axis=1)


def clip_per_example(per_ex_grads, l2_norm_clip, mask=None):
    """Clip each example's gradient and sum over the batch.

    Args:
      per_ex_grads: pytree of per-example gradients (leading batch axis).
      l2_norm_clip: a scalar C (flat clipping: each example's whole gradient to
        norm <= C) or a pytree of the params' structure (each layer's gradient
        to norm <= C_l).
      mask: optional bool/float ``(B,)``; masked-out examples contribute nothing.

    Returns:
      ``(clipped_sum, per_example_norms, clipped)``: the summed clipped
      gradients, each example's unclipped global gradient norm ``(B,)``, and a
      bool ``(B,)`` saying whether any of its parts was scaled down.
    """
    leaves, tree = tree_util.tree_flatten(per_ex_grads)
    sq = [_sq_norm_per_example(g) for g in leaves]
    total = sum(sq[1:], sq[0])
    flat = tree_util.treedef_is_leaf(tree_util.tree_structure(l2_norm_clip))
    factors, clipped = _factors([total] if flat else sq,
                                None if flat else tree_util.tree_leaves(l2_norm_clip),
                                l2_norm_clip, mask)
    factors = factors * len(leaves) if flat else factors
    summed = [fnp.tensordot(f.astype(g.dtype), g, axes=1) for f, g in zip(factors, leaves)]
    norms = fnp.sqrt(total)
    return tree_util.tree_unflatten(tree, summed), norms, clipped


def _add_noise(grads, std: float, key):
    """``g + std * normal`` per leaf, each leaf with its own key from ``split``
    (the bits of ``jax.random.normal``; ``noise.gaussian``)."""
    leaves, tree = tree_util.tree_flatten(grads)
    keys = frandom.split(key, len(leaves))
    noisy = [g + std * gaussian(keys[i], g.shape, g.dtype) for i, g in enumerate(leaves)]
    return tree_util.tree_unflatten(tree, noisy)


def _factors(norms: list, clip_leaves: list | None, l2_norm_clip, mask):
    """Per parameter leaf, the per-example clip factors ``min(1, C/||g||) * mask``
    (0-safe); and whether each example was clipped. ``norms`` holds the
    per-leaf squared norms (B,) for per-layer clipping, or one global one."""
    if clip_leaves is None:
        (sq,) = norms
        n = fnp.sqrt(sq)
        factors = [l2_norm_clip / fnp.maximum(n, l2_norm_clip)]
        clipped = n > l2_norm_clip
    else:
        ns = [fnp.sqrt(s) for s in norms]
        factors = [c / fnp.maximum(n, c) for c, n in zip(clip_leaves, ns)]
        clipped = fnp.any(fnp.stack([n > c for c, n in zip(clip_leaves, ns)]), axis=0)
    if mask is not None:
        factors = [f * fnp.asarray(mask).astype(f.dtype) for f in factors]
    return factors, clipped


def _fast_clipped_sum(loss, params, batch, clip_leaves, l2_norm_clip, mask, method, plan):
    p_leaves, p_tree = tree_util.tree_flatten(params)
    b_leaves = tree_util.tree_leaves(batch)
    per_layer = clip_leaves is not None
    views = plan.views
    x_leaves = views.expand(p_leaves)        # stacked layers: one leaf per layer
    losses, acts, cts, fb_grads, sq = per_example_pass(plan, x_leaves, b_leaves, per_layer)
    if per_layer:     # squared norms add up over a parameter's disjoint views
        groups = views.groups
        sq_list = [sum(s for s, g in zip(sq, groups) if g == i) for i in range(len(p_leaves))]
    else:
        sq_list = [sq]
    global_sq = sum(sq_list[1:], sq_list[0])
    factors, clipped = _factors(sq_list, clip_leaves, l2_norm_clip, mask)
    if method == "ghost":
        summed = ghost_sum(loss, params, batch, factors[0])
    else:
        per_leaf = ([factors[g] for g in views.groups] if per_layer
                    else factors * len(x_leaves))
        sums = bookkeeping_sum(plan, x_leaves, acts, cts, fb_grads, per_leaf)
        summed = tree_util.tree_unflatten(p_tree, views.collapse(p_leaves, sums))
    return summed, fnp.sqrt(global_sq), clipped, losses


def _vmap_clipped_sum(loss, params, batch, clip, mask):
    losses, per_ex = vmap(value_and_grad(loss), in_axes=(None, 0))(params, batch)
    summed, norms, clipped = clip_per_example(per_ex, clip, mask)
    return summed, norms, clipped, losses


def resolve_method(method: str, plan) -> str:
    """``"auto"``: book-keeping when the graph pass recognises at least one
    parameter, else vmap (every parameter would fall back anyway)."""
    if method != "auto":
        return method
    return "vmap" if all(k in ("vmap", "unused") for k in plan.kinds()) else "bookkeeping"


def clipped_gradient_sum(loss: Callable, params, batch, *, l2_norm_clip, mask=None,
                         method: str = "auto", microbatch_size: int | None = None):
    """The clipped per-example gradient SUM (no noise, no division) and stats.

    The building block of ``privatize_gradients``; call it directly to
    accumulate a logical ("virtual") batch larger than memory over several
    physical batches, then add the noise once with ``noisy_mean``.

    Args:
      loss, params, batch, l2_norm_clip, mask, method, microbatch_size: as in
        ``privatize_gradients``.

    Returns:
      ``(summed, stats)``: the params-structured sum of the clipped (and
      masked) per-example gradients; stats as ``privatize_gradients``'s plus
      ``"clipped"`` (bool ``(B,)``).
    """
    if method not in METHODS:
        raise DPArgumentError(f"privatize_gradients: method must be one of {METHODS}, got "
                              f"{method!r}.")
    c_leaves = _clip_leaves(l2_norm_clip, params)
    _check_params_vary_with_batch(params, batch)
    size = leading_size(batch)
    _check_mask(mask, size)
    example, plan = example_of(batch), None
    if method != "vmap" and microbatch_size is None:
        plan = clipping_plan(loss, params, example)     # traces the loss once, for both
        _check_per_example(plan.closed.out_avals)
    else:
        _check_per_example(tree_util.tree_leaves(eval_shape(loss, params, example)))
    if method == "ghost" and c_leaves is not None:
        raise DPArgumentError(
            "privatize_gradients: method='ghost' reweights whole per-example losses, so it "
            "needs flat clipping (a scalar l2_norm_clip), got a per-layer clip tree. Fix: "
            "use method='bookkeeping' (or 'auto'), which clips each layer separately.")
    if microbatch_size is not None:
        return _microbatched(loss, params, batch, l2_norm_clip, mask, method,
                             microbatch_size, size)
    clip = l2_norm_clip if c_leaves is None else tree_util.tree_unflatten(
        tree_util.tree_structure(params), c_leaves)
    if plan is not None:
        method = resolve_method(method, plan)
    if method == "vmap":
        summed, norms, clipped, losses = _vmap_clipped_sum(loss, params, batch, clip, mask)
    else:
        summed, norms, clipped, losses = _fast_clipped_sum(
            loss, params, batch, c_leaves, l2_norm_clip, mask, method, plan)
    return summed, {"per_example_norms": norms, "clipped": clipped, "per_example_loss": losses}


def _microbatched(loss, params, batch, l2_norm_clip, mask, method, m, size):
    """Scan over ``size // m`` chunks of m examples, summing the clipped sums."""
    if not isinstance(m, int) or m <= 0 or size % m:
        raise DPArgumentError(f"privatize_gradients: microbatch_size must be a positive int "
                              f"dividing the batch size {size}, got {m!r}. Fix: pad the batch "
                              f"(with mask=False rows) to a multiple of microbatch_size.")
    n = size // m
    chunks = tree_util.tree_map(lambda x: fnp.asarray(x).reshape((n, m) + tuple(x.shape[1:])),
                                batch)
    # bool chunks: a traced (scanned) mask must be bool (the user's was checked above)
    mask = fnp.ones((size,), bool) if mask is None else fnp.asarray(mask).astype(bool)
    masks = mask.reshape(n, m)
    # zeros like the params: inside a shard_map body the sum varies as they do
    zero = tree_util.tree_map(fnp.zeros_like, params)

    def body(acc, xs):
        chunk, mk = xs
        s, st = clipped_gradient_sum(loss, params, chunk, l2_norm_clip=l2_norm_clip, mask=mk,
                                     method=method)
        acc = tree_util.tree_map(lambda a, b: a + b, acc, s)
        return acc, (st["per_example_norms"], st["clipped"], st["per_example_loss"])

    summed, (norms, clipped, losses) = scan(body, zero, (chunks, masks))
    return summed, {"per_example_norms": norms.reshape(size), "clipped": clipped.reshape(size),
                    "per_example_loss": losses.reshape(size)}


def noisy_mean(summed, *, l2_norm_clip, noise_multiplier: float, key=None,
               divisor: float):
    """Add ``N(0, (noise_multiplier * C)^2)`` to a clipped sum and divide.

    Args:
      summed: params-structured clipped gradient sum (``clipped_gradient_sum``).
      l2_norm_clip: the clip norm (scalar) or per-layer clip tree; the noise
        std uses the effective norm ``sqrt(sum C_l^2)``.
      noise_multiplier: sigma >= 0 (0: no noise).
      key: raw PRNG key, required when sigma > 0.
      divisor: the expected batch size (must not depend on the drawn batch).

    Returns:
      The DP gradient estimate.
    """
    if not (isinstance(noise_multiplier, Real) and noise_multiplier == 0):
        if key is None:
            raise DPArgumentError("privatize_gradients: noise_multiplier > 0 needs a key "
                                  "(frandom.PRNGKey(seed)); pass a fresh one every step.")
        flat = tree_util.treedef_is_leaf(tree_util.tree_structure(l2_norm_clip))
        sens = l2_norm_clip if flat else _tree_clip_norm(tree_util.tree_leaves(l2_norm_clip))
        summed = _add_noise(summed, noise_multiplier * sens, key)
    return tree_util.tree_map(lambda g: g / divisor, summed)


def privatize_gradients(loss: Callable, params, batch, *, l2_norm_clip, noise_multiplier: float,
                        key=None, expected_batch_size: float | None = None, mask=None,
                        method: str = "auto",
                        microbatch_size: int | None = None) -> tuple[Any, dict]:
    """The DP-SGD gradient of ``loss`` on ``batch`` and clipping statistics.

    Args:
      loss: ``loss(params, example) -> scalar`` for ONE example (no batch axis).
      params: pytree of float arrays.
      batch: pytree of arrays with a common leading example axis of size B.
      l2_norm_clip: C > 0 (flat clipping) or a pytree of the params' structure
        with one C_l > 0 per leaf (per-layer clipping; the sensitivity is then
        ``sqrt(sum C_l^2)``, see ``effective_clip_norm``).
      noise_multiplier: sigma >= 0; the Gaussian noise added to the clipped sum
        has std ``sigma * C`` (C the effective clip norm). 0 turns noise off.
      key: a raw key (``frandom.PRNGKey``); required when sigma > 0. Each
        parameter leaf gets its own key from ``frandom.split``.
      expected_batch_size: the divisor, ``q * N`` under Poisson sampling (it must
        not depend on the drawn batch, or the division leaks its size). Default:
        B, the padded batch size.
      mask: optional ``(B,)`` bool or 0/1 floats; padding examples (False/0)
        contribute nothing (see ``poisson_batches``).
      method: how per-example norms and the clipped sum are computed:
        ``"vmap"``: per-example gradients ``vmap(grad(loss))`` (memory B x params);
        ``"bookkeeping"``: the graph pass (``clipping_plan``) finds where each
        parameter enters the loss; one backward pass of the activations gives
        the output cotangents of those equations, ghost norms (or a local vjp of
        the one equation) give each example's norm, and the clipped sum is one
        weighted weight-gradient per layer (Bu et al. 2023);
        ``"ghost"``: the same norms, then a second backward pass of the
        reweighted losses (flat clipping only; Li et al. 2022);
        ``"auto"`` (default): book-keeping, with ``vmap(grad)`` for the
        parameters the pass does not recognise (see ``clipping_plan``).
        Unlike Opacus, no layer types are registered: any function traced to
        our IR works.
      microbatch_size: process the batch in chunks of this many examples (a
        ``scan``: the graph holds one chunk), bounding memory for large batches;
        the result is the same.

    Returns:
      ``(grads, stats)``: grads has the params' structure; stats is a dict with
      ``"per_example_norms"`` ``(B,)`` (unclipped global norms),
      ``"per_example_loss"`` ``(B,)`` and ``"fraction_clipped"`` (among the
      unmasked examples).

    Example::

        >>> def loss(p, ex):
        ...     return fnp.sum((ex["x"] @ p["w"] - ex["y"]) ** 2)
        >>> g, stats = privatize_gradients(loss, params, {"x": xs, "y": ys},
        ...     l2_norm_clip=1.0, noise_multiplier=1.1, key=frandom.PRNGKey(0))

    References:
        Abadi et al., 2016; Li et al., 2022; Bu et al., 2023.
    """
    if isinstance(noise_multiplier, Real) and not (noise_multiplier >= 0
                                                   and math.isfinite(noise_multiplier)):
        raise DPArgumentError(f"privatize_gradients: noise_multiplier must be >= 0 and "
                              f"finite, got {noise_multiplier!r}. Fix: pass sigma (e.g. 1.1; "
                              f"0 turns noise off: no privacy).")
    _check_divisor(expected_batch_size)
    noisy = not (isinstance(noise_multiplier, Real) and noise_multiplier == 0)
    if noisy and key is None:
        raise DPArgumentError("privatize_gradients: noise_multiplier > 0 needs a key "
                              "(frandom.PRNGKey(seed)); pass a fresh one every step.")
    summed, st = clipped_gradient_sum(loss, params, batch, l2_norm_clip=l2_norm_clip, mask=mask,
                                      method=method, microbatch_size=microbatch_size)
    size = leading_size(batch)
    divisor = size if expected_batch_size is None else expected_batch_size
    grads = noisy_mean(summed, l2_norm_clip=l2_norm_clip, noise_multiplier=noise_multiplier,
                       key=key, divisor=divisor)
    weights = (fnp.ones((size,), np.float32) if mask is None
               else fnp.asarray(mask).astype(np.float32))
    n_real = fnp.maximum(fnp.sum(weights), 1.0)
    stats = {"per_example_norms": st["per_example_norms"],
             "per_example_loss": st["per_example_loss"],
             "fraction_clipped": fnp.sum(weights * st["clipped"].astype(np.float32)) / n_real}
    return grads, stats


def _tree_clip_norm(c_leaves):
    if all(isinstance(c, Real) for c in c_leaves):
        return math.sqrt(sum(float(c) ** 2 for c in c_leaves))
    return fnp.sqrt(sum(fnp.square(c) for c in c_leaves))
