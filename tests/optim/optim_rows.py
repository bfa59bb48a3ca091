"""The optimizer table of the optim tests (not a test module): one row per
optimizer or transformation, each ``(name, make)`` where ``make()`` builds
``(ours, optax's)``. Trees are ``{"a": leaves, "b": leaves}`` (the masks below
name those keys).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from optax import contrib

import optim


def _not_1d(p):
    return jax.tree.map(lambda x: x.ndim > 1, p)


def _labels(p):
    return jax.tree.map(lambda x: "matrix" if x.ndim > 1 else "other", p)


def _conv_dim_nums(mdn):
    leaves = {"dense": mdn(), "conv": mdn((0, 1, 2), 3), "vector": None, "scalar": None}
    return {"a": leaves, "b": leaves}


def _sm3_labels(p):  # optax's sm3 cannot take scalar leaves
    return jax.tree.map(lambda x: "sm3" if x.ndim else "other", p)


def _with_loss(tx):
    """``tx`` whose update gets ``value=`` (a loss of the params), for Polyak steps."""
    def update(updates, state, params=None):
        return tx.update(updates, state, params,
                         value=0.01 * optim.tree.norm(params, squared=True))
    return optim.GradientTransformation(tx.init, update)


def _raw_keys(tx):
    """optax's add_noise state holds a typed key, ours its raw u32[2] data."""
    def keys(state, f):
        return jax.tree.map(lambda x: x._replace(rng_key=f(x.rng_key))
                            if isinstance(x, optax.AddNoiseState) else x, state,
                            is_leaf=lambda x: isinstance(x, optax.AddNoiseState))

    def update(updates, state, params=None):
        updates, state = tx.update(updates, keys(state, jax.random.wrap_key_data), params)
        return updates, keys(state, jax.random.key_data)
    return optax.GradientTransformation(lambda p: keys(tx.init(p), jax.random.key_data), update)


_FREEZE_MASK = {d: {"dense": False, "conv": False, "vector": True, "scalar": True}
                for d in ("a", "b")}


def _both(build):
    """A row from one builder ``build(lib)`` called with optim and with optax."""
    return lambda: (build(optim), build(optax))


ROWS = [
    ("sgd_nesterov", _both(lambda o: o.sgd(0.05, momentum=0.9, nesterov=True))),
    ("adam", _both(lambda o: o.adam(1e-2))),
    ("adamw_masked", _both(lambda o: o.adamw(1e-2, weight_decay=0.1, mask=_not_1d))),
    ("nadam", _both(lambda o: o.nadam(1e-2))),
    ("nadamw_eps_root_mu_bf16", _both(lambda o: o.nadamw(1e-2, eps_root=1e-8, mu_dtype=jnp.bfloat16,
                                                          weight_decay=0.05))),
    ("radam", _both(lambda o: o.radam(1e-2))),
    ("lion", _both(lambda o: o.lion(1e-3, weight_decay=0.01))),
    ("adafactor", _both(lambda o: o.adafactor())),
    ("adafactor_lr_momentum_wd_4d_factored", _both(lambda o: o.adafactor(
        1e-2, min_dim_size_to_factor=8, momentum=0.9, weight_decay_rate=1e-3))),
    ("muon", lambda: (optim.muon(1e-2), contrib.muon(1e-2))),
    ("muon_moonshot_wd_conv_dim_nums", lambda: tuple(lib.muon(
        1e-2, weight_decay=0.1, consistent_rms=0.2,
        muon_weight_dimension_numbers=_conv_dim_nums(lib.MuonDimensionNumbers))
        for lib in (optim, contrib))),
    ("clip_decay_schedules", _both(lambda o: o.chain(
        o.clip_by_global_norm(3.0), o.clip(0.5), o.trace(0.8),
        o.add_decayed_weights(o.exponential_decay(1e-2, 10, 0.5)),
        o.scale_by_schedule(o.warmup_cosine_decay_schedule(0.0, 0.05, 10, 100))))),
    ("ema_block_rms", _both(lambda o: o.chain(o.ema(0.9), o.clip_by_block_rms(0.5),
                                              o.scale_by_param_block_rms(), o.scale(-0.02)))),
    ("partition", _both(lambda o: o.partition(
        {"matrix": o.adam(1e-2), "other": o.sgd(0.05)}, _labels))),  # plain sgd here
    ("inject_hyperparams", _both(lambda o: o.inject_hyperparams(o.adamw)(
        learning_rate=o.linear_onecycle_schedule(100, 0.05), b1=0.8, weight_decay=1e-3))),
    ("multisteps", lambda: (optim.MultiSteps(optim.adam(1e-2), 3),
                            optax.MultiSteps(optax.adam(1e-2), 3))),
    ("rmsprop", _both(lambda o: o.rmsprop(1e-2))),
    ("rmsprop_bias_correction_initial_scale", _both(lambda o: o.rmsprop(
        1e-2, initial_scale=0.1, bias_correction=True))),
    ("rmsprop_centered_momentum_eps_outside", _both(lambda o: o.rmsprop(
        1e-2, centered=True, momentum=0.9, nesterov=True, eps_in_sqrt=False))),
    # eps 1e-2: after one bias-corrected step nu_hat - mu_hat**2 is 0 up to f32 rounding,
    # so with a tiny eps the sign (NaN or not under the sqrt) is rounding noise
    ("scale_by_stddev_bias_correction", _both(lambda o: o.chain(
        o.scale_by_stddev(0.8, eps=1e-2, bias_correction=True), o.scale(-1e-2)))),
    ("adagrad", _both(lambda o: o.adagrad(0.05))),
    ("adadelta_wd", _both(lambda o: o.adadelta(1.0, weight_decay=1e-3, weight_decay_mask=_not_1d))),
    ("adamax", _both(lambda o: o.adamax(1e-2))),
    ("adamaxw", _both(lambda o: o.adamaxw(1e-2, weight_decay=0.1, mask=_not_1d))),
    ("amsgrad", _both(lambda o: o.amsgrad(1e-2))),
    ("amsgrad_mu_bf16_no_bias_correction", _both(lambda o: o.amsgrad(
        1e-2, eps_root=1e-8, mu_dtype=jnp.bfloat16, bias_correction_mu=False,
        bias_correction_nu=False))),
    ("adabelief", _both(lambda o: o.adabelief(1e-2))),
    ("adabelief_nesterov", _both(lambda o: o.adabelief(1e-2, nesterov=True))),
    ("yogi", _both(lambda o: o.yogi(1e-2))),
    ("scale_by_yogi_eps_root", _both(lambda o: o.chain(
        o.scale_by_yogi(eps_root=1e-8, initial_accumulator_value=1e-3), o.scale(-1e-2)))),
    ("novograd_wd", _both(lambda o: o.novograd(1e-2, weight_decay=1e-3))),
    ("lamb", _both(lambda o: o.lamb(1e-2, weight_decay=0.01, mask=_not_1d))),
    ("lars_nesterov_masks", _both(lambda o: o.lars(0.1, weight_decay=1e-3,
                                                   trust_ratio_mask=_not_1d, nesterov=True))),
    ("scale_by_trust_ratio_min_norm_eps", _both(lambda o: o.chain(
        o.scale_by_trust_ratio(min_norm=1e-2, trust_coefficient=0.5, eps=1e-6),
        o.scale(-1e-2)))),
    ("fromage", _both(lambda o: o.fromage(1e-2))),
    ("fromage_schedule", _both(lambda o: o.fromage(o.exponential_decay(1e-2, 10, 0.5)))),
    ("sign_sgd", _both(lambda o: o.sign_sgd(1e-3))),
    ("rprop", _both(lambda o: o.rprop(1e-3))),
    ("optimistic_gradient_descent", _both(lambda o: o.optimistic_gradient_descent(
        1e-2, alpha=0.5, beta=0.8))),
    ("optimistic_adam", _both(lambda o: o.optimistic_adam(1e-2))),
    ("sm3_partitioned", _both(lambda o: o.partition(
        {"sm3": o.sm3(1e-2), "other": o.sgd(0.05)}, _sm3_labels))),
    ("polyak_sgd", _both(lambda o: _with_loss(o.polyak_sgd(0.1, scaling=0.5)))),
    ("scale_by_polyak_sps_plus", _both(lambda o: _with_loss(o.chain(
        o.scale_by_polyak(f_min=50.0, max_learning_rate=0.05, eps=1e-3, variant="sps+"),
        o.scale(-1.0))))),
    ("noisy_sgd", lambda: (optim.noisy_sgd(1e-2, eta=0.1, key=3),
                           _raw_keys(optax.noisy_sgd(1e-2, eta=0.1, key=3)))),
    # optax wrappers and filters (optim/conditionality.py, constraining.py, ...)
    ("adan_wd_masked", _both(lambda o: o.adan(1e-2, weight_decay=1e-3, mask=_not_1d))),
    ("scale_by_adan", _both(lambda o: o.chain(o.scale_by_adan(), o.scale(-1e-2)))),
    ("signum", _both(lambda o: o.signum(1e-3))),
    ("centralize_sgd", _both(lambda o: o.chain(o.centralize(), o.sgd(1e-2)))),
    ("apply_every_3", _both(lambda o: o.chain(o.apply_every(3), o.sgd(1e-2)))),
    ("normalize_by_update_norm", _both(lambda o: o.chain(
        o.normalize_by_update_norm(scale_factor=0.5), o.scale(-1e-2)))),
    ("scale_by_param_block_norm", _both(lambda o: o.chain(
        o.scale_by_param_block_norm(), o.scale(-1e-3)))),
    ("adaptive_grad_clip", _both(lambda o: o.chain(o.adaptive_grad_clip(0.05), o.sgd(1e-2)))),
    ("zero_nans_adam", _both(lambda o: o.chain(o.zero_nans(), o.adam(1e-2)))),
    ("keep_params_nonnegative", _both(lambda o: o.chain(o.sgd(0.5),
                                                        o.keep_params_nonnegative()))),
    ("freeze", _both(lambda o: o.chain(o.adam(1e-2), o.freeze(_not_1d)))),
    ("selective_transform", _both(lambda o: o.selective_transform(
        o.adam(1e-2), freeze_mask=_FREEZE_MASK))),
    ("flatten_adam", _both(lambda o: o.flatten(o.adam(1e-2)))),
    ("conditionally_transform", _both(lambda o: o.conditionally_transform(
        o.adam(1e-2), lambda step: step % 3 != 1))),
    ("conditionally_mask", _both(lambda o: o.conditionally_mask(
        o.adam(1e-2), lambda step: step % 3 != 1))),
    ("apply_if_finite", _both(lambda o: o.apply_if_finite(o.adam(1e-2), 2))),
    ("snapshot_monitor", _both(lambda o: o.chain(
        o.snapshot("norm", o.tree.norm),
        o.monitor({"norm": o.tree.norm, "ema": o.measure_with_ema(o.tree.norm, 0.9)}),
        o.sgd(1e-2)))),
    # optax.contrib's schedule-free and learning-rate-free optimizers
    ("schedule_free_adamw", _both(lambda o: o.contrib.schedule_free_adamw(
        1e-2, warmup_steps=3, weight_decay=1e-2))),
    ("schedule_free_sgd", _both(lambda o: o.contrib.schedule_free_sgd(
        1e-2, warmup_steps=3, weight_decay=1e-2))),
    ("schedule_free_adam", _both(lambda o: o.contrib.schedule_free(
        o.adam(1e-2, b1=0.0), 1e-2, b1=0.95))),
    ("prodigy", _both(lambda o: o.contrib.prodigy(1e-1))),
    ("prodigy_safeguard_wd", _both(lambda o: o.contrib.prodigy(
        o.linear_schedule(1.0, 0.1, 50), weight_decay=1e-2, safeguard_warmup=True))),
    ("dadapt_adamw", _both(lambda o: o.contrib.dadapt_adamw(1e-1, weight_decay=1e-2))),
    # Hutchinson's jvp needs one dtype (the f32 case mixes in bf16): a squared-gradient
    # Hessian estimate here, Hutchinson's in tests/optim/test_optim_contrib.py
    ("sophia", _both(lambda o: o.contrib.sophia(1e-2, update_interval=3, hessian_diagonal_fn=(
        o.stateless(lambda g, p: jax.tree.map(lambda x: x * x, g)))))),
]
