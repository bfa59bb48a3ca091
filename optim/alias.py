"""Named optimizers: each is only a ``chain`` of ``scale_by_*`` transformations.

Defaults and update formulas are optax's. Every learning rate (and weight
decay) may be a number, a traced array (meta-learning) or a schedule.

References:
    Kingma & Ba, 2015 (Adam); Loshchilov & Hutter, 2019 (AdamW); Dozat, 2016
    (NAdam); Liu et al., 2020 (RAdam); Chen et al., 2023 (Lion); Shazeer &
    Stern, 2018 (Adafactor); Sutskever et al., 2013 (momentum).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

from optim.accumulation import ema, trace
from optim.factorized import scale_by_factored_rms
from optim.adding import add_decayed_weights
from optim.base import GradientTransformationExtraArgs, identity, static_hyperparams
from optim.clipping import clip_by_block_rms
from optim.combine import chain
from optim.scale import (scale, scale_by_adam, scale_by_learning_rate, scale_by_lion,
                         scale_by_param_block_rms, scale_by_radam)

__all__ = ["sgd", "momentum", "adam", "nadam", "adamw", "nadamw", "radam", "lion", "adafactor"]

MaskOrFn = Optional[Union[Any, Callable[[Any], Any]]]


def sgd(learning_rate, momentum: Optional[float] = None, nesterov: bool = False,
        accumulator_dtype=None) -> GradientTransformationExtraArgs:
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Example::

        >>> tx = optim.sgd(0.1, momentum=0.9, nesterov=True)
    """
    head = trace(momentum, nesterov, accumulator_dtype) if momentum is not None else identity()
    return chain(head, scale_by_learning_rate(learning_rate))


def momentum(learning_rate, beta: float = 0.9, nesterov: bool = False,
             accumulator_dtype=None) -> GradientTransformationExtraArgs:
    """SGD with momentum ``beta`` (``sgd(learning_rate, momentum=beta, ...)``)."""
    return sgd(learning_rate, beta, nesterov, accumulator_dtype)


def adam(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, mu_dtype=None, *,
         nesterov: bool = False) -> GradientTransformationExtraArgs:
    """Adam: ``-lr * mu_hat / (sqrt(nu_hat + eps_root) + eps)``.

    Example::

        >>> tx = optim.adam(optim.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 10_000))
    """
    return chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
                 scale_by_learning_rate(learning_rate))


def nadam(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, mu_dtype=None, *,
          nesterov: bool = True) -> GradientTransformationExtraArgs:
    """NAdam: Adam with Dozat's Nesterov momentum."""
    return adam(learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov)


def adamw(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, mu_dtype=None,
          weight_decay=1e-4, mask: MaskOrFn = None, *,
          nesterov: bool = False) -> GradientTransformationExtraArgs:
    """AdamW: Adam plus decoupled weight decay (``weight_decay * lr * params``).

    Args:
      mask: bool tree (or function of params) of the leaves to decay.
    """
    return chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
                 add_decayed_weights(weight_decay, mask),
                 scale_by_learning_rate(learning_rate))


def nadamw(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, mu_dtype=None,
           weight_decay=1e-4, mask: MaskOrFn = None, *,
           nesterov: bool = True) -> GradientTransformationExtraArgs:
    """NAdamW: AdamW with Nesterov momentum."""
    return adamw(learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay, mask,
                 nesterov=nesterov)


def radam(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, threshold=5.0, *,
          nesterov: bool = False) -> GradientTransformationExtraArgs:
    """Rectified Adam."""
    return chain(scale_by_radam(b1, b2, eps, eps_root, threshold, nesterov=nesterov),
                 scale_by_learning_rate(learning_rate))


def lion(learning_rate, b1=0.9, b2=0.99, mu_dtype=None, weight_decay=1e-3,
         mask: MaskOrFn = None) -> GradientTransformationExtraArgs:
    """Lion: the sign of interpolated momentum, plus decoupled weight decay."""
    return chain(scale_by_lion(b1, b2, mu_dtype), add_decayed_weights(weight_decay, mask),
                 scale_by_learning_rate(learning_rate))


@static_hyperparams("min_dim_size_to_factor")
def adafactor(learning_rate=None, min_dim_size_to_factor: int = 128, decay_rate=0.8,
              decay_offset=0, multiply_by_parameter_scale: bool = True,
              clipping_threshold: Optional[float] = 1.0, momentum: Optional[float] = None,
              dtype_momentum=np.float32, weight_decay_rate=None, eps=1e-30,
              factored: bool = True, weight_decay_mask: MaskOrFn = None
              ) -> GradientTransformationExtraArgs:
    """Adafactor: factored second moments, update clipping, relative step sizes.

    Args:
      learning_rate: None for relative steps only (the parameter scale).
      min_dim_size_to_factor: factor a leaf if its second-largest dim is at least this.
      decay_rate: second-moment decay exponent.
      decay_offset: step offset of the decay schedule.
      multiply_by_parameter_scale: scale updates by the RMS of the parameter.
      clipping_threshold: block-RMS clipping (None: off).
      momentum: optional EMA of the updates (stored in ``dtype_momentum``).
      weight_decay_rate: optional decoupled weight decay.
      eps: added to squared gradients.
      factored: allow factoring at all.
      weight_decay_mask: leaves to decay.
    """
    txs = [scale_by_factored_rms(factored, decay_rate, decay_offset, min_dim_size_to_factor, eps)]
    if clipping_threshold is not None:
        txs.append(clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        txs.append(scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        txs.append(scale_by_param_block_rms())
    if momentum is not None:
        txs.append(ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        txs.append(add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    txs.append(scale(-1))
    return chain(*txs)
