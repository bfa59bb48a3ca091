"""optim: a functional optimizer library following the optax protocol.

An optimizer is a ``GradientTransformation(init, update)``; named optimizers
are ``chain``s of ``scale_by_*`` transformations; schedules are functions
``step -> value`` accepted wherever a learning rate is. Written with
``primitives.numpy``, so updates run eagerly on jax arrays, under our
``jit``/``grad``/``vmap``, and under ``jax.jit``/``jax.grad``; states are
pytrees of arrays.

Example::

    >>> import optim, primitives.numpy as fnp
    >>> from transforms import jit, grad
    >>> tx = optim.adamw(optim.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 10_000))
    >>> params = {"w": fnp.zeros((4, 2))}
    >>> state = tx.init(params)
    >>> @jit
    ... def step(params, state, x):
    ...     grads = grad(lambda p: fnp.sum((x @ p["w"]) ** 2))(params)
    ...     updates, state = tx.update(grads, state, params)
    ...     return optim.apply_updates(params, updates), state
"""
from optim.errors import (OptimError, NotATransformationError, TreeMismatchError, MaskError,
                          MissingParamsError, MuonDimensionError, CheckpointError)
from optim.base import (GradientTransformation, GradientTransformationExtraArgs, EmptyState,
                        TransformInitFn, TransformUpdateFn, Schedule, ScalarOrSchedule,
                        init_empty_state, identity, set_to_zero, stateless,
                        stateless_with_tree_map, with_extra_args_support, apply_updates)
from optim import tree
from optim.scale import (scale, scale_by_learning_rate, ScaleByScheduleState, scale_by_schedule,
                         ScaleByAdamState, scale_by_adam, scale_by_radam, ScaleByLionState,
                         scale_by_lion, scale_by_param_block_rms, scale_by_sign)
from optim.accumulation import (TraceState, trace, EmaState, ema, MultiStepsState, MultiSteps,
                                skip_not_finite, skip_large_updates)
from optim.clipping import clip, clip_by_block_rms, clip_by_global_norm, global_norm
from optim.combine import (chain, named_chain, MaskedState, MaskedNode, masked, PartitionState,
                           partition, multi_transform)
from optim.adding import WeightDecayScheduleState, add_decayed_weights
from optim.hyperparams import InjectHyperparamsState, inject_hyperparams
from optim.factorized import FactoredState, scale_by_factored_rms
from optim.alias import sgd, momentum, adam, nadam, adamw, nadamw, radam, lion, adafactor
from optim.adaptive import (ScaleByRssState, scale_by_rss, ScaleByRmsState,
                            ScaleByRmsWithCountState, scale_by_rms, ScaleByRStdDevState,
                            ScaleByRStdDevWithCountState, scale_by_stddev, ScaleByAdaDeltaState,
                            scale_by_adadelta)
from optim.adam_variants import (scale_by_adamax, ScaleByAmsgradState, scale_by_amsgrad,
                                 ScaleByBeliefState, scale_by_belief, scale_by_yogi,
                                 ScaleByNovogradState, scale_by_novograd)
from optim.alias_more import (rmsprop, adagrad, adadelta, adamax, adamaxw, amsgrad, adabelief,
                              yogi, novograd)
from optim.trust_ratio import safe_norm, scale_by_trust_ratio, lamb, lars, fromage
from optim.sign_and_rprop import sign_sgd, ScaleByRpropState, scale_by_rprop, rprop
from optim.optimistic import (ScaleByOptimisticGradientState, scale_by_optimistic_gradient,
                              optimistic_gradient_descent, optimistic_adam)
from optim.sm3 import ScaleBySM3State, scale_by_sm3, sm3
from optim.polyak import scale_by_polyak, polyak_sgd
from optim.noise import AddNoiseState, add_noise, noisy_sgd
from optim.newton_schulz import (MuonDimensionNumbers, orthogonalize_via_newton_schulz, MuonState,
                        scale_by_muon, scale_by_shape, muon, MOONSHOT_RMS, DEFAULT_NS_COEFFS)
from optim.schedule import (constant_schedule, polynomial_schedule, linear_schedule,
                            piecewise_constant_schedule, exponential_decay, cosine_decay_schedule,
                            piecewise_interpolate_schedule, linear_onecycle_schedule,
                            cosine_onecycle_schedule, warmup_constant_schedule,
                            warmup_cosine_decay_schedule, warmup_exponential_decay_schedule,
                            sgdr_schedule, join_schedules, cyclical_schedule)
from optim.averaging import SWAState, swa, swa_params, swa_lr_schedule
from optim.checkpoint import save_checkpoint, load_checkpoint
from optim import losses
from optim.losses import (convex_kl_divergence, cosine_distance, cosine_similarity, ctc_loss,
                          ctc_loss_with_forward_probs, generalized_kl_divergence, hinge_loss,
                          huber_loss, kl_divergence, l2_loss, log_cosh, ntxent,
                          safe_softmax_cross_entropy, sigmoid_binary_cross_entropy,
                          sigmoid_focal_loss, smooth_labels, softmax_cross_entropy,
                          softmax_cross_entropy_with_integer_labels, squared_error)

__all__ = [
    # errors
    "OptimError", "NotATransformationError", "TreeMismatchError", "MaskError",
    "MissingParamsError", "MuonDimensionError", "CheckpointError",
    # protocol
    "GradientTransformation", "GradientTransformationExtraArgs", "EmptyState",
    "TransformInitFn", "TransformUpdateFn", "Schedule", "ScalarOrSchedule", "init_empty_state",
    "identity", "set_to_zero", "stateless", "stateless_with_tree_map",
    "with_extra_args_support", "apply_updates", "tree",
    # transformations
    "scale", "scale_by_learning_rate", "ScaleByScheduleState", "scale_by_schedule",
    "ScaleByAdamState", "scale_by_adam", "scale_by_radam", "ScaleByLionState", "scale_by_lion",
    "scale_by_param_block_rms", "scale_by_sign", "TraceState", "trace", "EmaState", "ema",
    "MultiStepsState", "MultiSteps", "skip_not_finite", "skip_large_updates", "clip",
    "clip_by_block_rms", "clip_by_global_norm", "global_norm", "chain", "named_chain",
    "MaskedState", "MaskedNode", "masked", "PartitionState", "partition", "multi_transform",
    "WeightDecayScheduleState", "add_decayed_weights", "InjectHyperparamsState",
    "inject_hyperparams", "FactoredState", "scale_by_factored_rms",
    # optimizers
    "sgd", "momentum", "adam", "nadam", "adamw", "nadamw", "radam", "lion", "adafactor",
    "ScaleByRssState", "scale_by_rss", "ScaleByRmsState", "ScaleByRmsWithCountState",
    "scale_by_rms", "ScaleByRStdDevState", "ScaleByRStdDevWithCountState", "scale_by_stddev",
    "ScaleByAdaDeltaState", "scale_by_adadelta", "scale_by_adamax", "ScaleByAmsgradState",
    "scale_by_amsgrad", "ScaleByBeliefState", "scale_by_belief", "scale_by_yogi",
    "ScaleByNovogradState", "scale_by_novograd", "safe_norm", "scale_by_trust_ratio",
    "ScaleByRpropState", "scale_by_rprop", "ScaleByOptimisticGradientState",
    "scale_by_optimistic_gradient", "ScaleBySM3State", "scale_by_sm3", "scale_by_polyak",
    "rmsprop", "adagrad", "adadelta", "adamax", "adamaxw", "amsgrad", "adabelief", "yogi",
    "novograd", "lamb", "lars", "fromage", "sign_sgd", "rprop", "optimistic_gradient_descent",
    "optimistic_adam", "sm3", "polyak_sgd", "AddNoiseState", "add_noise", "noisy_sgd",
    "MuonDimensionNumbers", "orthogonalize_via_newton_schulz", "MuonState", "scale_by_muon",
    "DEFAULT_NS_COEFFS",
    "scale_by_shape", "muon", "MOONSHOT_RMS", "SWAState", "swa", "swa_params",
    # schedules
    "constant_schedule", "polynomial_schedule", "linear_schedule", "piecewise_constant_schedule",
    "exponential_decay", "cosine_decay_schedule", "piecewise_interpolate_schedule",
    "linear_onecycle_schedule", "cosine_onecycle_schedule", "warmup_constant_schedule",
    "warmup_cosine_decay_schedule", "warmup_exponential_decay_schedule", "sgdr_schedule",
    "join_schedules", "cyclical_schedule", "swa_lr_schedule",
    # checkpoints
    "save_checkpoint", "load_checkpoint",
    # losses (optim.losses has them all; these are optax's top-level aliases)
    "losses", "convex_kl_divergence", "cosine_distance", "cosine_similarity", "ctc_loss",
    "ctc_loss_with_forward_probs", "generalized_kl_divergence", "hinge_loss", "huber_loss",
    "kl_divergence", "l2_loss", "log_cosh", "ntxent", "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy", "sigmoid_focal_loss", "smooth_labels",
    "softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels", "squared_error",
]
from optim import dp
