"""Segmentation losses: (Tversky-generalized) Dice, its binary form, and the
generalized Dice loss with inverse-square class-frequency weights."""
from __future__ import annotations

import jax
import numpy as np

import primitives.numpy as fnp
import primitives.nn as fnn
from fx import Tracer
from optim.losses._checks import check_rank, check_shapes_equal

__all__ = ["dice_loss", "multiclass_generalized_dice_loss", "binary_dice_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce_classes(loss, reduction: str):
    if reduction == "mean":
        return fnp.mean(loss, axis=-1)
    if reduction == "sum":
        return fnp.sum(loss, axis=-1)
    return loss


def _check_probabilities(predictions) -> None:
    """With concrete multi-class inputs, raise unless they sum to 1 over the class axis.

    Skipped for traced inputs (values unknown; optax's check fails under jit
    there) and for a single channel, whose "distribution" is the binary
    probability itself (optax would demand it be 1 everywhere).
    """
    if np.shape(predictions)[-1] == 1 or isinstance(predictions, (Tracer, jax.core.Tracer)):
        return
    sums = np.asarray(fnp.sum(predictions, axis=-1), dtype=np.float64)
    if not np.allclose(sums, 1.0, rtol=1e-5):
        raise ValueError("When apply_softmax=False, predictions must be valid probability "
                         "distributions that sum to 1 along the class axis. Found sum range: "
                         f"[{sums.min():.6f}, {sums.max():.6f}]")


def dice_loss(predictions, targets, *, class_weights=None, smooth=1.0, alpha=0.5, beta=0.5,
              apply_softmax=True, reduction="mean", ignore_background=False, axis=None):
    r"""Soft Dice loss per class (Tversky's with ``alpha != beta``), reduced over classes.

    For class ``c``, with ``I_c = sum_i p_ic t_ic``, ``P_c = sum_i p_ic`` and
    ``T_c = sum_i t_ic`` over ``axis``:
    ``1 - (I_c + smooth) / (I_c + alpha (P_c - I_c) + beta (T_c - I_c) + smooth)``.
    ``alpha = beta = 0.5`` is the Dice coefficient; ``alpha > beta`` weighs
    false positives more.

    Args:
      predictions: logits ``[..., num_classes]`` (a sigmoid is used for one
        class, ``[..., 1]`` or ``[...]``), or probabilities with ``apply_softmax=False``.
      targets: one-hot targets of the same shape (binary ``[...]`` or ``[..., 1]``).
      class_weights: optional weights ``[num_classes]``.
      smooth: added to numerator and denominator.
      alpha: weight of the false positives.
      beta: weight of the false negatives.
      apply_softmax: map logits to probabilities (softmax, or sigmoid for one class).
      reduction: over the classes, ``"mean"``, ``"sum"`` or ``"none"``.
      ignore_background: leave out class 0 (with more than one class).
      axis: the axes summed over; None: all but the first and the last.

    Returns:
      ``[...]`` batch losses, or ``[..., num_classes]`` with ``reduction="none"``.

    Raises:
      ValueError: shapes differ, an unknown ``reduction``, ``class_weights`` not
        of rank 1, or (concrete inputs, ``apply_softmax=False``, more than one
        class) predictions that do not sum to 1 over the classes.

    Example::

        >>> logits = fnp.array([[1.0, -1.0], [0.5, 0.5]])
        >>> dice_loss(logits[..., None], fnp.array([[1., 0.], [1., 0.]])[..., None]).shape  # (2,)

    References:
      Milletari et al., `V-Net: Fully Convolutional Neural Networks for
      Volumetric Medical Image Segmentation <https://arxiv.org/abs/1606.04797>`_, 2016.

      Salehi et al., `Tversky loss function for image segmentation using 3D fully
      convolutional deep networks <https://arxiv.org/abs/1706.05721>`_, 2017.
    """
    if np.ndim(predictions) == np.ndim(targets) - 1:
        predictions = fnp.expand_dims(predictions, -1)
    if np.ndim(targets) == np.ndim(predictions) - 1:
        targets = fnp.expand_dims(targets, -1)
    check_shapes_equal(predictions, targets)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"Unsupported reduction: {reduction}")
    if not apply_softmax:
        _check_probabilities(predictions)
        probs = predictions
    elif np.shape(predictions)[-1] == 1:
        probs = fnn.sigmoid(predictions)
    else:
        probs = fnn.softmax(predictions, axis=-1)
    if axis is None:
        axis = tuple(range(1, np.ndim(probs) - 1))
    intersection = fnp.sum(probs * targets, axis=axis)
    pred_sum = fnp.sum(probs, axis=axis)
    target_sum = fnp.sum(targets, axis=axis)
    numerator = intersection + smooth
    denominator = (intersection + alpha * (pred_sum - intersection)
                   + beta * (target_sum - intersection) + smooth)
    loss = 1.0 - numerator / denominator  # [..., classes]
    if class_weights is not None:
        check_rank(class_weights, 1)
        loss = loss * class_weights
    if ignore_background and np.shape(probs)[-1] > 1:
        loss = loss[..., 1:]
    return _reduce_classes(loss, reduction)


def multiclass_generalized_dice_loss(predictions, targets, *, smooth=1.0, apply_softmax=True,
                                     ignore_background=False):
    """Generalized Dice loss: :func:`dice_loss` weighted by inverse squared class frequencies.

    The weights ``1 / (f_c^2 + 1e-7)`` (``f_c`` the class's target mass over
    all but the last axis) are normalized to sum to the number of classes.

    Args:
      predictions: logits ``[..., num_classes]``.
      targets: one-hot targets, same shape.
      smooth: added to numerator and denominator.
      apply_softmax: apply a softmax to ``predictions``.
      ignore_background: leave out class 0.

    Returns:
      The scalar loss, the mean over batch and classes.

    Example::

        >>> multiclass_generalized_dice_loss(fnp.array([[[2., 0.], [0., 2.]]]),
        ...                                  fnp.array([[[1., 0.], [0., 1.]]]))  # 0.0596

    References:
      Sudre et al., `Generalised Dice overlap as a deep learning loss function
      for highly unbalanced segmentations <https://arxiv.org/abs/1707.03237>`_, 2017.
    """
    check_shapes_equal(predictions, targets)
    class_frequencies = fnp.sum(targets, axis=tuple(range(np.ndim(targets) - 1)))
    class_weights = 1.0 / (class_frequencies ** 2 + 1e-7)
    num_classes = np.shape(class_weights)[0]
    class_weights = class_weights / fnp.sum(class_weights) * num_classes
    return fnp.mean(dice_loss(predictions, targets, class_weights=class_weights, smooth=smooth,
                              apply_softmax=apply_softmax, reduction="none",
                              ignore_background=ignore_background))


def binary_dice_loss(predictions, targets, *, smooth=1.0, apply_sigmoid=True):
    """Dice loss of binary segmentations (a sigmoid on logits, one channel).

    Args:
      predictions: logits (probabilities with ``apply_sigmoid=False``),
        ``[...]`` or ``[..., 1]``.
      targets: binary targets, ``[...]`` or ``[..., 1]``.
      smooth: added to numerator and denominator.
      apply_sigmoid: apply a sigmoid to ``predictions``.

    Returns:
      The losses, ``[...]`` (batch axes only).

    Example::

        >>> binary_dice_loss(fnp.array([[3., -3.]]), fnp.array([[1., 0.]]))  # [0.0237]

    References:
      Milletari et al., `V-Net <https://arxiv.org/abs/1606.04797>`_, 2016.
    """
    if np.ndim(predictions) == np.ndim(targets) and np.shape(predictions)[-1] != 1:
        predictions = fnp.expand_dims(predictions, -1)
        targets = fnp.expand_dims(targets, -1)
    return dice_loss(predictions, targets, smooth=smooth, apply_softmax=apply_sigmoid,
                     reduction="mean")
