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
from optim.linesearch import (BacktrackingLinesearchInfo, ScaleByBacktrackingLinesearchState,
                             scale_by_backtracking_linesearch, ZoomLinesearchInfo,
                             ScaleByZoomLinesearchState, scale_by_zoom_linesearch,
                             value_and_grad_from_state)
from optim.lbfgs import ScaleByLBFGSState, scale_by_lbfgs, lbfgs
from optim import losses
from optim.losses import (convex_kl_divergence, cosine_distance, cosine_similarity, ctc_loss,
                          ctc_loss_with_forward_probs, generalized_kl_divergence, hinge_loss,
                          huber_loss, kl_divergence, l2_loss, log_cosh, ntxent,
                          safe_softmax_cross_entropy, sigmoid_binary_cross_entropy,
                          sigmoid_focal_loss, smooth_labels, softmax_cross_entropy,
                          softmax_cross_entropy_with_integer_labels, squared_error)

from optim.types import (Params, Updates, OptState, TransformUpdateExtraArgsFn, MaskOrFn,
                         ShouldSkipUpdateFunction)
from optim import tree_utils, projections, schedules
from optim.tree_utils import tree_map_params
from optim.schedules import inject_stateful_hyperparams
from optim import microbatching
from optim.microbatching import microbatch
from optim.numerics import (safe_increment, safe_int32_increment, safe_root_mean_squares,
                            bias_correction, update_moment, update_moment_per_elem_norm,
                            update_infinity_moment, incremental_update, periodic_update)
from optim.conditionality import (ConditionallyTransformState, conditionally_transform,
                                  ConditionallyMaskState, conditionally_mask, ApplyIfFiniteState,
                                  apply_if_finite)
from optim.constraining import (NonNegativeParamsState, keep_params_nonnegative, ZeroNansState,
                                zero_nans)
from optim.freezing import freeze, selective_transform
from optim.layouts import flatten
from optim.gradient_filters import centralize, ApplyEvery, apply_every, normalize_by_update_norm
from optim.block_scaling import scale_by_param_block_norm, scale_by_distance_over_gradients
from optim.adaptive_clipping import (AdaptiveGradClipState, ClipState, ClipByGlobalNormState,
                                     adaptive_grad_clip)
from optim.per_example_clipping import per_example_global_norm_clip, per_example_layer_norm_clip
from optim.lookahead import LookaheadState, LookaheadParams, lookahead
from optim.adan import ScaleByAdanState, scale_by_adan, adan
from optim.signum import signum
from optim.monitoring import SnapshotState, snapshot, MonitorState, monitor, measure_with_ema
from optim.gradient_scaling import scale_gradient
from optim.state_aliases import (AddDecayedWeightsState, ScaleState, ScaleByTrustRatioState,
                                 MultiTransformState)
from optim import contrib
from optim.contrib import (ScheduleFreeState, schedule_free_eval_params, schedule_free,
                           schedule_free_sgd, schedule_free_adamw, ProdigyState, prodigy,
                           DAdaptAdamWState, dadapt_adamw, HutchinsonState,
                           hutchinson_estimator_diag_hessian, SophiaState, scale_by_sophia,
                           sophia)

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
    # L-BFGS and line searches
    "BacktrackingLinesearchInfo", "ScaleByBacktrackingLinesearchState",
    "scale_by_backtracking_linesearch", "ZoomLinesearchInfo", "ScaleByZoomLinesearchState",
    "scale_by_zoom_linesearch", "value_and_grad_from_state", "ScaleByLBFGSState",
    "scale_by_lbfgs", "lbfgs",
    # checkpoints
    "save_checkpoint", "load_checkpoint",
    # losses (optim.losses has them all; these are optax's top-level aliases)
    "losses", "convex_kl_divergence", "cosine_distance", "cosine_similarity", "ctc_loss",
    "ctc_loss_with_forward_probs", "generalized_kl_divergence", "hinge_loss", "huber_loss",
    "kl_divergence", "l2_loss", "log_cosh", "ntxent", "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy", "sigmoid_focal_loss", "smooth_labels",
    "softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels", "squared_error",
    # optax utilities and wrappers
    "Params", "Updates", "OptState", "TransformUpdateExtraArgsFn", "MaskOrFn",
    "ShouldSkipUpdateFunction", "tree_utils",
    "projections", "schedules", "tree_map_params", "inject_stateful_hyperparams",
    "microbatching", "microbatch",
    "safe_increment", "safe_int32_increment",
    "safe_root_mean_squares", "bias_correction", "update_moment", "update_moment_per_elem_norm",
    "update_infinity_moment", "incremental_update", "periodic_update",
    "ConditionallyTransformState", "conditionally_transform", "ConditionallyMaskState",
    "conditionally_mask", "ApplyIfFiniteState", "apply_if_finite", "NonNegativeParamsState",
    "keep_params_nonnegative", "ZeroNansState", "zero_nans", "freeze", "selective_transform",
    "flatten", "centralize", "ApplyEvery", "apply_every", "normalize_by_update_norm",
    "scale_by_param_block_norm", "scale_by_distance_over_gradients", "AdaptiveGradClipState",
    "ClipState", "ClipByGlobalNormState", "adaptive_grad_clip", "per_example_global_norm_clip",
    "per_example_layer_norm_clip", "LookaheadState", "LookaheadParams", "lookahead",
    "ScaleByAdanState", "scale_by_adan", "adan", "signum", "SnapshotState", "snapshot",
    "MonitorState", "monitor", "measure_with_ema", "scale_gradient", "AddDecayedWeightsState",
    "ScaleState", "ScaleByTrustRatioState", "MultiTransformState",
    # optax.contrib (also under optim.contrib)
    "contrib", "ScheduleFreeState", "schedule_free_eval_params", "schedule_free",
    "schedule_free_sgd", "schedule_free_adamw", "ProdigyState", "prodigy", "DAdaptAdamWState",
    "dadapt_adamw", "HutchinsonState", "hutchinson_estimator_diag_hessian", "SophiaState",
    "scale_by_sophia", "sophia",
]
from optim import dp
