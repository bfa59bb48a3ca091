"""More named optimizers: the adaptive family (RMSProp, AdaGrad, AdaDelta, AdaMax,
AdaMaxW, AMSGrad, AdaBelief, Yogi, NovoGrad). Each is only a ``chain``.

Defaults and update formulas are optax's; learning rates may be numbers,
traced arrays or schedules. (LAMB, LARS and Fromage live in optim.trust_ratio;
sign_sgd and rprop in optim.sign_and_rprop; the optimistic ones in
optim.optimistic; sm3 in optim.sm3; polyak_sgd in optim.polyak.)
"""
from __future__ import annotations

from optim.accumulation import trace
from optim.adam_variants import (scale_by_adamax, scale_by_amsgrad, scale_by_belief,
                                 scale_by_novograd, scale_by_yogi)
from optim.adaptive import scale_by_adadelta, scale_by_rms, scale_by_rss, scale_by_stddev
from optim.adding import add_decayed_weights
from optim.alias import MaskOrFn
from optim.base import GradientTransformationExtraArgs, identity
from optim.combine import chain
from optim.scale import scale_by_learning_rate

__all__ = ["rmsprop", "adagrad", "adadelta", "adamax", "adamaxw", "amsgrad", "adabelief",
           "yogi", "novograd"]


def rmsprop(learning_rate, decay=0.9, eps=1e-8, initial_scale=0.0, eps_in_sqrt: bool = True,
            centered: bool = False, momentum=None, nesterov: bool = False,
            bias_correction: bool = False) -> GradientTransformationExtraArgs:
    """RMSProp (``centered``: by the standard deviation), then optional momentum
    applied after the learning rate."""
    by = scale_by_stddev if centered else scale_by_rms
    return chain(by(decay=decay, eps=eps, initial_scale=initial_scale, eps_in_sqrt=eps_in_sqrt,
                    bias_correction=bias_correction),
                 scale_by_learning_rate(learning_rate),
                 trace(decay=momentum, nesterov=nesterov) if momentum is not None
                 else identity())


def adagrad(learning_rate, initial_accumulator_value=0.1,
            eps=1e-7) -> GradientTransformationExtraArgs:
    """AdaGrad: steps divided by the root of the sum of squared gradients."""
    return chain(scale_by_rss(initial_accumulator_value=initial_accumulator_value, eps=eps),
                 scale_by_learning_rate(learning_rate))


def adadelta(learning_rate=None, rho=0.9, eps=1e-6, weight_decay=0.0,
             weight_decay_mask: MaskOrFn = None) -> GradientTransformationExtraArgs:
    """AdaDelta (weight decay added to the gradient first; learning rate None: 1)."""
    return chain(add_decayed_weights(weight_decay, mask=weight_decay_mask),
                 scale_by_adadelta(rho=rho, eps=eps),
                 scale_by_learning_rate(learning_rate))


def adamax(learning_rate, b1=0.9, b2=0.999, eps=1e-8) -> GradientTransformationExtraArgs:
    """AdaMax: Adam with the infinity norm."""
    return chain(scale_by_adamax(b1=b1, b2=b2, eps=eps), scale_by_learning_rate(learning_rate))


def adamaxw(learning_rate, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-4,
            mask: MaskOrFn = None) -> GradientTransformationExtraArgs:
    """AdaMaxW: AdaMax plus decoupled weight decay."""
    return chain(scale_by_adamax(b1=b1, b2=b2, eps=eps), add_decayed_weights(weight_decay, mask),
                 scale_by_learning_rate(learning_rate))


def amsgrad(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, mu_dtype=None,
            bias_correction_mu: bool = True,
            bias_correction_nu: bool = True) -> GradientTransformationExtraArgs:
    """AMSGrad: Adam with the running maximum of the second moment."""
    return chain(scale_by_amsgrad(b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype,
                                  bias_correction_mu=bias_correction_mu,
                                  bias_correction_nu=bias_correction_nu),
                 scale_by_learning_rate(learning_rate))


def adabelief(learning_rate, b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16, *,
              nesterov: bool = False) -> GradientTransformationExtraArgs:
    """AdaBelief: Adam scaled by the belief in the gradient's prediction."""
    return chain(scale_by_belief(b1=b1, b2=b2, eps=eps, eps_root=eps_root, nesterov=nesterov),
                 scale_by_learning_rate(learning_rate))


def yogi(learning_rate, b1=0.9, b2=0.999, eps=1e-3) -> GradientTransformationExtraArgs:
    """Yogi: Adam with an additive second-moment update."""
    return chain(scale_by_yogi(b1=b1, b2=b2, eps=eps), scale_by_learning_rate(learning_rate))


def novograd(learning_rate, b1=0.9, b2=0.25, eps=1e-6, eps_root=0.0,
             weight_decay=0.0) -> GradientTransformationExtraArgs:
    """NovoGrad: layer-wise normalized gradients with momentum."""
    return chain(scale_by_novograd(b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                                   weight_decay=weight_decay),
                 scale_by_learning_rate(learning_rate))
