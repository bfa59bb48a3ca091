"""optim.dp: differentially private SGD (per-example clipping, noise, sampling, accounting).

The privatized gradient plugs into any ``optim`` optimizer::

    >>> import optim, primitives.random as frandom
    >>> from optim import dp
    >>> tx = optim.adamw(1e-3)
    >>> grads, stats = dp.privatize_gradients(loss, params, batch, l2_norm_clip=1.0,
    ...     noise_multiplier=1.1, key=frandom.PRNGKey(step), mask=mask,
    ...     expected_batch_size=sampler.expected_batch_size)
    >>> updates, state = tx.update(grads, state, params)
    >>> dp.epsilon(steps, q, 1.1, delta=1e-5)
"""
from optim.dp.errors import (DPError, DPArgumentError, ClipNormError, ClipTreeError,
                             NotPerExampleLossError, SamplingError, DeltaError,
                             UnreachableEpsilonError, AccountantError)
from optim.dp.privatize import (privatize_gradients, clipped_gradient_sum, noisy_mean,
                                per_example_gradients, clip_per_example, effective_clip_norm,
                                METHODS)
from optim.dp.clipping_plan import ClippingPlan, clipping_plan
from optim.dp.sampling import PoissonBatches, poisson_batches, suggested_max_batch_size
from optim.dp.accounting import dp_sgd_event, epsilon, calibrate_noise_multiplier, ACCOUNTANTS
from optim.dp.training import train, make_train_step

__all__ = [
    "DPError", "DPArgumentError", "ClipNormError", "ClipTreeError", "NotPerExampleLossError",
    "SamplingError", "DeltaError", "UnreachableEpsilonError", "AccountantError",
    "privatize_gradients", "clipped_gradient_sum", "noisy_mean", "METHODS", "ClippingPlan",
    "clipping_plan", "per_example_gradients", "clip_per_example", "effective_clip_norm",
    "PoissonBatches", "poisson_batches", "suggested_max_batch_size",
    "dp_sgd_event", "epsilon", "calibrate_noise_multiplier", "ACCOUNTANTS",
    "train", "make_train_step",
]
