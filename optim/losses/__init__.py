"""optim.losses: optax's loss functions, written with ``primitives.numpy``.

Names, signatures, defaults, dtypes and edge cases are optax's (0.2.8): zero
target probabilities contribute 0 to the KL divergences, masked or ``-inf``
logits are handled where optax handles them, ``where=`` masks and ``axis=``
tuples work as there. Every loss traces, so it runs eagerly on jax arrays,
under our ``jit``/``grad``/``vmap``, and under ``jax.jit``/``jax.grad``.

Example::

    >>> import optim, primitives.numpy as fnp
    >>> from transforms import grad
    >>> logits, labels = fnp.array([[1.2, -0.8, -0.5]]), fnp.array([0])
    >>> optim.losses.softmax_cross_entropy_with_integer_labels(logits, labels)  # [0.2761]
    >>> loss = optim.losses.softmax_cross_entropy_with_integer_labels
    >>> grad(lambda z: loss(z, labels).sum())(logits)

Files, one family each: ``regression``, ``classification``, ``cross_entropy``,
``sparsemax``, ``divergences``, ``smoothing``, ``self_supervised``, ``ranking``,
``fenchel_young``, ``ctc``, ``segmentation``.
"""
from optim.losses.regression import (squared_error, l2_loss, huber_loss, log_cosh,
                                     cosine_similarity, cosine_distance)
from optim.losses.classification import (sigmoid_binary_cross_entropy, sigmoid_focal_loss,
                                         hinge_loss, perceptron_loss, multiclass_hinge_loss,
                                         multiclass_perceptron_loss)
from optim.losses.cross_entropy import (safe_softmax_cross_entropy, softmax_cross_entropy,
                                        softmax_cross_entropy_with_integer_labels,
                                        poly_loss_cross_entropy)
from optim.losses.sparsemax import sparsemax_loss, multiclass_sparsemax_loss
from optim.losses.divergences import (kl_divergence, kl_divergence_with_log_targets,
                                      generalized_kl_divergence, convex_kl_divergence)
from optim.losses.smoothing import smooth_labels
from optim.losses.self_supervised import ntxent, triplet_margin_loss
from optim.losses.ranking import ranking_softmax_loss
from optim.losses.fenchel_young import make_fenchel_young_loss
from optim.losses.ctc import ctc_loss, ctc_loss_with_forward_probs
from optim.losses.segmentation import (dice_loss, multiclass_generalized_dice_loss,
                                       binary_dice_loss)

__all__ = [
    "binary_dice_loss", "convex_kl_divergence", "cosine_distance", "cosine_similarity",
    "ctc_loss", "ctc_loss_with_forward_probs", "dice_loss", "generalized_kl_divergence",
    "hinge_loss", "huber_loss", "kl_divergence", "kl_divergence_with_log_targets", "l2_loss",
    "log_cosh", "make_fenchel_young_loss", "multiclass_generalized_dice_loss",
    "multiclass_hinge_loss", "multiclass_perceptron_loss", "multiclass_sparsemax_loss", "ntxent",
    "perceptron_loss", "poly_loss_cross_entropy", "ranking_softmax_loss",
    "safe_softmax_cross_entropy", "sigmoid_binary_cross_entropy", "sigmoid_focal_loss",
    "smooth_labels", "softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels",
    "sparsemax_loss", "squared_error", "triplet_margin_loss",
]
