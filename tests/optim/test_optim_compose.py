"""optim composes: grad through optimizer steps (meta-learning), vmap over a
population of learning rates, driven by plain jax.jit/jax.grad, mixed with optax
transformations both ways; state sizes; checkpoint round trip.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim
import primitives.numpy as fnp
from fx.errors import ForeignFunctionError
from optim_cases import grad_fn, make_mixed_params, rel_err
from transforms import grad, jit, vmap

_rng = np.random.default_rng(0)
X = jnp.asarray(_rng.normal(size=(16, 3)), jnp.float32)
Y = jnp.asarray(_rng.normal(size=(16, 2)), jnp.float32)
PARAMS0 = {"w": jnp.asarray(_rng.normal(size=(3, 2)), jnp.float32), "b": jnp.zeros((2,))}


def loss(params):
    return fnp.mean((X @ params["w"] + params["b"] - Y) ** 2)


def _unroll(tx, params, steps, grad_fn_, apply):
    state = tx.init(params)
    for _ in range(steps):
        updates, state = tx.update(grad_fn_(loss)(params), state, params)
        params = apply(params, updates)
    return params, state


# --- meta-gradient ---
def test_meta_gradient_through_5_adam_steps():
    def ours(lr):
        return loss(_unroll(optim.adam(lr), PARAMS0, 5, grad, optim.apply_updates)[0])

    def theirs(lr):
        return loss(_unroll(optax.adam(lr), PARAMS0, 5, jax.grad, optax.apply_updates)[0])

    lr = jnp.float32(0.05)
    expected = jax.jit(jax.grad(theirs))(lr)
    np.testing.assert_allclose(grad(ours)(lr), expected, rtol=1e-5)
    np.testing.assert_allclose(jit(grad(ours))(lr), expected, rtol=1e-5)
    # our optimizer inside plain jax.grad (jax tracers through fnp; under jax.jit:
    # eagerly jax would compile each of its ops on its own, for the same tracers)
    def ours_under_jax(lr):
        return loss(_unroll(optim.adam(lr), PARAMS0, 5, jax.grad, optim.apply_updates)[0])
    np.testing.assert_allclose(jax.jit(jax.grad(ours_under_jax))(lr), expected, rtol=1e-5)


# --- vmap over learning rates ---
LRS = jnp.asarray([1e-3, 3e-3, 1e-2, 2e-2, 3e-2, 5e-2, 1e-1, 2e-1], jnp.float32)


def _population_member(lib, grad_fn_, apply):
    opt = lib.inject_hyperparams(lib.adamw)(learning_rate=0.0, weight_decay=1e-2)

    def train(lr):
        state = opt.init(PARAMS0)
        state.hyperparams["learning_rate"] = lr
        params = PARAMS0
        for _ in range(10):
            updates, state = opt.update(grad_fn_(loss)(params), state, params)
            params = apply(params, updates)
        return params, loss(params), state.hyperparams["learning_rate"]
    return train


def test_vmap_over_8_learning_rates_equals_8_runs():
    train = _population_member(optim, grad, optim.apply_updates)
    params, losses, lrs = jit(vmap(train))(LRS)
    np.testing.assert_array_equal(np.asarray(lrs), np.asarray(LRS))
    single = jit(train)
    for i, lr in enumerate(LRS):
        p_i, loss_i, _ = single(lr)
        assert rel_err(params["w"][i], p_i["w"]) <= 1e-6 and rel_err(losses[i], loss_i) <= 1e-6
    reference = jax.jit(jax.vmap(_population_member(optax, jax.grad, optax.apply_updates)))(LRS)
    assert rel_err(losses, reference[1]) <= 1e-6
    assert len(set(np.round(np.asarray(losses), 6))) == 8  # 8 different members


# --- plain JAX drives optim ---
def _steps(tx, params, apply, n=3):
    state = tx.init(params)
    for _ in range(n):
        updates, state = tx.update(grad_fn(params), state, params)
        params = apply(params, updates)
    return params


def test_driven_by_jax_jit_and_eager():
    params = make_mixed_params()  # f32 and bf16 leaves, factored and not
    got = jax.jit(lambda p: _steps(optim.adafactor(1e-2), p, optim.apply_updates))(params)
    expected = jax.jit(lambda p: _steps(optax.adafactor(1e-2), p, optax.apply_updates))(params)
    for kind in ("f32", "bf16"):
        for k in got[kind]:
            assert rel_err(got[kind][k], expected[kind][k]) <= 1e-6, (kind, k)
    # eager, no jit at all: fnp runs op by op on jax arrays. Op-by-op rounding
    # differs from a fused program by ulps (optax's own eager and jitted runs
    # differ as much), hence 1e-5 here.
    got = _steps(optim.adamw(1e-2), PARAMS0, optim.apply_updates)
    expected = _steps(optax.adamw(1e-2), PARAMS0, optax.apply_updates)
    assert all(rel_err(got[k], expected[k]) <= 1e-5 for k in got)


# --- mixing with optax ---
def test_optim_inside_optax_chain_and_optax_inside_optim_chain():
    params = {"w": jnp.asarray(_rng.normal(size=(4, 3)), jnp.float32)}
    grads = {"w": jnp.asarray(_rng.normal(size=(4, 3)), jnp.float32)}
    reference = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))
    mixed = [optax.chain(optax.clip_by_global_norm(1.0), optim.scale_by_adam(), optax.scale(-1e-2)),
             optim.chain(optax.clip_by_global_norm(1.0), optim.scale_by_adam(),
                         optax.scale_by_learning_rate(1e-2)),
             optim.chain(optim.clip_by_global_norm(1.0), optax.adam(1e-2))]

    def run(tx, n=4):
        s, p = tx.init(params), params
        for _ in range(n):
            u, s = tx.update(grads, s, p)
            p = optax.apply_updates(p, u)
        return p
    expected = jax.jit(lambda: run(reference))()
    for tx in mixed:
        assert rel_err(jax.jit(lambda: run(tx))()["w"], expected["w"]) <= 1e-6
    # extra args reach the transformations that take them
    tx = optim.chain(optim.scale_by_adam(), optax.scale(-0.1))
    tx.update(grads, tx.init(params), params, value=1.0)


def test_optax_code_cannot_run_under_our_jit():
    """optax's jnp calls cannot see our tracers: a typed error, not a crash deep in jax."""
    tx = optim.chain(optax.scale_by_adam())
    with pytest.raises(ForeignFunctionError, match="primitives.numpy"):
        jit(lambda g: tx.update(g, tx.init(g))[0])({"w": jnp.ones(3)})


# --- memory: state sizes ---
def test_state_sizes():
    n, m = 256, 192
    params = {"w": jnp.ones((n, m)), "b": jnp.ones((m,))}
    size = optim.tree.num_elements
    assert size(optim.adam(1e-3).init(params)) == 2 * size(params) + 1  # mu, nu, count
    factored = optim.adafactor().init(params)[0]
    assert size((factored.v_row["w"], factored.v_col["w"], factored.v["w"])) == n + m
    assert size(factored.v["b"]) == m  # a vector keeps its full second moment
    muon_state = optim.muon(1e-2).init({"w": params["w"]}).inner_states["muon"].inner_state[0]
    assert size(muon_state.mu) == n * m


# --- checkpoints ---
def test_checkpoint_round_trip_is_bit_exact_and_resumes(tmp_path):
    tx = optim.chain(optim.clip_by_global_norm(1.0),
                     optim.inject_hyperparams(optim.adamw)(
                         learning_rate=optim.cosine_decay_schedule(1e-2, 100), weight_decay=1e-3),
                     optim.swa(optim.identity(), start_step=2))
    tx = optim.MultiSteps(tx, 2)
    step = jit(lambda p, s: (lambda u_s: (optim.apply_updates(p, u_s[0]), u_s[1]))(
        tx.update(grad_fn(p), s, p)))
    params = make_mixed_params()
    state = tx.init(params)
    for _ in range(5):
        params, state = step(params, state)
    path = tmp_path / "ckpt.npz"
    optim.save_checkpoint(path, {"params": params, "opt": state, "step": 5})
    restored = optim.load_checkpoint(path, like={"params": make_mixed_params(1),
                                                 "opt": tx.init(params), "step": 0})
    assert restored["step"] == 5

    def bits(tree):
        return [np.asarray(x).tobytes() for x in jax.tree.leaves(tree)]
    assert bits(restored["params"]) == bits(params) and bits(restored["opt"]) == bits(state)
    p1, s1, p2, s2 = params, state, restored["params"], restored["opt"]
    for _ in range(5):
        p1, s1 = step(p1, s1)
        p2, s2 = step(p2, s2)
    assert bits((p1, s1)) == bits((p2, s2))
    with pytest.raises(optim.CheckpointError, match="missing from the checkpoint"):
        optim.load_checkpoint(path, like={"params": params, "opt": optim.adam(1e-3).init(params),
                                          "step": 0})
    with pytest.raises(optim.CheckpointError,
                       match=r"\[.bf16.\]\[.conv.\]: stored bfloat16\[3, 3, 16, 8\]"):
        wrong = jax.tree.map(lambda x: x.astype(jnp.float32), make_mixed_params())
        optim.load_checkpoint(path, like={"params": wrong, "opt": tx.init(params), "step": 0})


# --- inject_hyperparams wraps every optimizer ---
FACTORIES = [(optim.adam, {}), (optim.adamw, {}), (optim.nadam, {}), (optim.radam, {}),
             (optim.lion, {}), (optim.sgd, {"momentum": 0.9}), (optim.adafactor, {}),
             (optim.muon, {})]


def test_inject_hyperparams_equals_plain():
    """Every optimizer can be wrapped; structural ints (muon's ns_steps,
    adafactor's min_dim_size_to_factor) stay static without static_args.

    Injected hyperparameters are f32 arrays, so ``1 - b2`` is computed in f32
    rather than in Python's double precision: ~1e-5 apart after one Adam step
    (optax's inject_hyperparams does the same; the numerics table checks ours
    against it at 1e-6).
    """
    plain = [f(1e-2, **kw) for f, kw in FACTORIES]
    injected = [optim.inject_hyperparams(f)(1e-2, **kw) for f, kw in FACTORIES]
    grads = grad_fn(PARAMS0)

    def updates(txs):  # all in one program: one compile
        return [tx.update(grads, tx.init(PARAMS0), PARAMS0) for tx in txs]
    for (f, _), (u_plain, _), (u_inj, state) in zip(FACTORIES, jit(lambda: updates(plain))(),
                                                     jit(lambda: updates(injected))()):
        assert float(state.hyperparams["learning_rate"]) == pytest.approx(1e-2)
        for k in u_plain:
            assert rel_err(u_inj[k], u_plain[k]) <= 1e-4, f.__name__


def test_multisteps_skips_non_finite_like_optax():
    ours = optim.MultiSteps(optim.sgd(0.5), 2, should_skip_update_fn=optim.skip_not_finite)
    theirs = optax.MultiSteps(optax.sgd(0.5), 2, should_skip_update_fn=optax.skip_not_finite)
    s_ours, s_theirs = ours.init(PARAMS0), theirs.init(PARAMS0)
    good = grad_fn(PARAMS0)
    bad = jax.tree.map(lambda g: g.at[0].set(jnp.nan), good)
    step_ours, step_theirs = jit(ours.update), jax.jit(theirs.update)  # one trace each
    for grads in (good, bad, good, good, bad, good):
        u_ours, s_ours = step_ours(grads, s_ours, PARAMS0)
        u_theirs, s_theirs = step_theirs(grads, s_theirs, PARAMS0)
        assert all(rel_err(u_ours[k], u_theirs[k]) <= 1e-6 for k in u_ours)
        assert int(s_ours.mini_step) == int(s_theirs.mini_step)
        assert bool(ours.has_updated(s_ours)) == bool(theirs.has_updated(s_theirs))


def test_state_of_another_optimizer_raises_tree_mismatch():
    """Updating with another optimizer's state: TreeMismatchError (optax: AttributeError)."""
    params = {"w": jnp.ones(3)}
    with pytest.raises(optim.TreeMismatchError, match=r"scale_by_adam\.update got a state of type"):
        optim.adam(1e-3).update(params, optim.sgd(0.1, momentum=0.9).init(params), params)
    with pytest.raises(optim.TreeMismatchError, match="ScaleByLionState"):
        optim.scale_by_lion().update(params, optim.scale_by_adam().init(params), params)
    # optax's state of the same transformation (same fields) is accepted
    optim.adam(1e-3).update(params, optax.adam(1e-3).init(params), params)
