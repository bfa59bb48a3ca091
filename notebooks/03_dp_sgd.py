# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # DP-SGD on the digits, end to end
#
# Differentially private SGD (Abadi et al., 2016) changes three things in an
# ordinary training step:
#
# 1. **Per-example clipping.** Each example's gradient is scaled down to norm at
#    most `C` (`l2_norm_clip`), so no single example can move the sum by more
#    than `C` (the *sensitivity*).
# 2. **Gaussian noise.** Noise of standard deviation `sigma * C` is added to the
#    clipped sum; `sigma` is the *noise multiplier*.
# 3. **Poisson sampling.** Every example joins every batch independently with
#    probability `q`; the randomness of who is in the batch *amplifies* the
#    privacy of each step.
#
# An *accountant* then turns `(q, sigma, steps)` into the `(epsilon, delta)`
# guarantee. `optim.dp` has each piece as a function, plus `dp.train`, the whole
# loop. This notebook walks through them on scikit-learn's bundled digits
# (8x8 images, 10 classes, 1797 examples):
#
# | section | API |
# |---|---|
# | the per-example loss and how it is clipped | `dp.clipping_plan` |
# | three ways to clip, timed | `dp.privatize_gradients(method=...)` |
# | Poisson batches at a fixed shape | `dp.poisson_batches`, `dp.suggested_max_batch_size` |
# | epsilon vs steps | `dp.epsilon` |
# | choosing sigma for a budget | `dp.calibrate_noise_multiplier` |
# | training | `dp.train`, and a hand-written jitted step |
# | privacy vs utility | a sweep over noise levels |

# %%
# %matplotlib inline
import time

_t_start = time.perf_counter()

import jax
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

import optim
import primitives.nn as fnn
import primitives.numpy as fnp
import primitives.random as frandom
from optim import dp
from transforms import jit

# %% [markdown]
# ## Data and model
#
# Pixels scaled to [0, 1], a fixed shuffle, 360 test examples held out. The test
# set is only used for evaluation, which spends no privacy budget: the guarantee
# is about the training set.

# %%
digits = load_digits()
x_all = (digits.data / 16.0).astype(np.float32)
y_all = digits.target.astype(np.int32)
perm = np.random.default_rng(0).permutation(len(x_all))
x_all, y_all = x_all[perm], y_all[perm]
x_test, y_test = x_all[:360], y_all[:360]
x_train, y_train = x_all[360:], y_all[360:]
N = len(x_train)
print(f"train {x_train.shape}, test {x_test.shape}")

# %% [markdown]
# A two-layer MLP (64 -> 128 -> 10) written with `primitives.numpy`. The
# parameters are a list of `{"w", "b"}` dicts (any pytree works), initialized
# on the host with numpy (He-style scaling).
#
# The one thing DP-SGD needs that ordinary training does not is a loss for
# **one example** (no batch axis, no mean): `privatize_gradients` maps it over
# the batch itself, because it needs each example's gradient (or at least its
# norm) separately.

# %%
SIZES = (64, 128, 10)


def init_params(seed, sizes=SIZES):
    rng = np.random.default_rng(seed)
    return [{"w": (rng.standard_normal((m, n)) * np.sqrt(2.0 / m)).astype(np.float32),
             "b": np.zeros(n, np.float32)}
            for m, n in zip(sizes[:-1], sizes[1:])]


def mlp(params, x):
    for layer in params[:-1]:
        x = fnn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def example_loss(params, example):
    """Cross-entropy of ONE example: example = {"x": f32[64], "y": i32[]}."""
    logp = fnn.log_softmax(mlp(params, example["x"]))
    return -fnp.sum(logp * fnn.one_hot(example["y"], 10))


predict = jit(lambda params, x: fnp.argmax(mlp(params, x), axis=-1))


def accuracy(params):
    return float(np.mean(np.asarray(predict(params, x_test)) == y_test))


params0 = init_params(0)
example0 = {"x": x_train[0], "y": y_train[0]}
print("loss of one example:", float(example_loss(params0, example0)))
print("random weights, test accuracy:", accuracy(params0))

# %% [markdown]
# ## How is each parameter clipped? `dp.clipping_plan`
#
# Clipping needs each example's gradient *norm*. The naive way forms every
# per-example gradient (`vmap(grad(loss))`: B copies of the parameters).
# `dp.clipping_plan` avoids that: it traces the per-example loss to our IR and,
# for each parameter leaf, looks at the equations that read it.

# %%
plan = dp.clipping_plan(example_loss, params0, example0)
print(plan)

# %% [markdown]
# Reading the table, one row per parameter leaf (its key path in the pytree):
#
# - **`ghost` / `ghost dense: dot_general#k`** — the weight matrices. Equation
#   `k` of the traced graph is the product `a @ W`. For one example its weight
#   gradient is the outer product `a g^T` (`g` the cotangent of the layer's
#   output), whose norm is `||a|| * ||g||`: computable from the activation and
#   the output cotangent alone, without forming the 64x128 gradient. That is
#   the *ghost norm* (Goodfellow 2015; Li et al. 2022).
# - **`materialized` / `local vjp: add#k`** — the biases. Their per-example
#   gradient is small (the output cotangent itself), so it is formed locally by
#   a vjp of that one `add` equation.
# - Other kinds you may meet: `vmap` (the parameter is used inside a
#   control-flow or custom-rule body: per-example gradients for that leaf
#   only) and `unused`.
#
# No layer types are registered anywhere: the pass works on whatever graph the
# loss traces to. The equation numbers refer to `plan.closed`, the traced loss;
# here are the equations the plan taps, with the source line that wrote them:

# %%
eqns = plan.closed.graph.equations
for k in plan.taps:
    e = eqns[k]
    ins = ", ".join(v.aval.str_short() for v in e.inputs if hasattr(v, "aval"))
    outs = ", ".join(v.aval.str_short() for v in e.outputs)
    print(f"#{k:<2d} {e.primitive.name:12s} ({ins}) -> {outs}   line {e.source_info.line} "
          f"({e.source_info.function})")

# %% [markdown]
# ## Three ways to compute the privatized gradient
#
# `dp.privatize_gradients(loss, params, batch, l2_norm_clip=C, noise_multiplier=sigma, key=...)`
# returns `(sum_i clip_C(g_i) + N(0, (sigma C)^2 I)) / B` and statistics. Its
# `method` argument picks how the clipped sum is computed:
#
# | method | per-example norms | clipped sum |
# |---|---|---|
# | `"vmap"` | form every `g_i` with `vmap(grad(loss))` | weighted sum of the `g_i` |
# | `"ghost"` | ghost norms from one backward pass of the activations | a second backward pass of the reweighted losses `sum_i c_i loss_i` |
# | `"bookkeeping"` (what `"auto"` picks here) | same | one weighted weight-gradient per layer from the stored activations and cotangents |
#
# We jit one privatized step per method on a batch of 256 and time it. The
# noise is drawn from the same key, so all three must return the same gradient
# up to float rounding in the clipped sum.
#
# *Timings are machine-dependent* (they come from whatever machine runs this
# notebook, often a small shared CPU); the ratios, not the absolute numbers, are the
# point, and nothing below
# asserts on them.

# %%
B = 256
batch = {"x": x_train[:B], "y": y_train[:B]}
METHODS = ("ghost", "bookkeeping", "vmap")


def make_step(method):
    def step(params, batch, key):
        grads, stats = dp.privatize_gradients(
            example_loss, params, batch, l2_norm_clip=1.0, noise_multiplier=1.0, key=key,
            method=method)
        return grads, stats["per_example_norms"]
    return jit(step)


results, timings = {}, {}
for method in METHODS:
    step = make_step(method)
    results[method] = jax.block_until_ready(step(params0, batch, frandom.PRNGKey(1)))  # compile
    runs = []
    for _ in range(15):
        t = time.perf_counter()
        jax.block_until_ready(step(params0, batch, frandom.PRNGKey(1)))
        runs.append(time.perf_counter() - t)
    timings[method] = 1e3 * float(np.median(runs))

print(f"{'method':12s} {'median ms':>10s}")
for method in METHODS:
    print(f"{method:12s} {timings[method]:10.2f}")


def max_abs_diff(a, b):
    return max(float(np.max(np.abs(np.asarray(u) - np.asarray(v))))
               for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


# grads = (clipped sum + noise) / B with the same noise: B * difference = clipped-sum difference
sum_diffs = {m: B * max_abs_diff(results[m][0], results["vmap"][0]) for m in METHODS}
norm_diffs = {m: max_abs_diff(results[m][1], results["vmap"][1]) for m in METHODS}
print("\nmax |clipped sum - vmap's|:", {m: f"{d:.1e}" for m, d in sum_diffs.items()})
print("max |per-example norm - vmap's|:", {m: f"{d:.1e}" for m, d in norm_diffs.items()})

fig, ax = plt.subplots(figsize=(5, 2.8))
ax.bar(METHODS, [timings[m] for m in METHODS], color=["tab:green", "tab:blue", "tab:gray"])
ax.set_ylabel("ms per privatized step")
ax.set_title(f"one jitted DP step, MLP {SIZES}, B={B} (machine-dependent)")
plt.show()

# %% [markdown]
# What to expect: `vmap` materializes B copies of every weight gradient, so it
# is the slowest and the most memory-hungry, and the gap widens with the layer
# width. `ghost` and `bookkeeping` share the first pass (activations, output
# cotangents, ghost norms); `ghost` then runs a second backward pass of the
# reweighted loss, while `bookkeeping` reuses the stored activations and
# cotangents for one weighted matmul per layer (no second pass, which is why
# `"auto"` picks it). On a model this small the two are within timing noise of
# each other. The differences between the three clipped sums are float
# rounding.
#
# The per-example norms are a by-product worth looking at: with `C = 1` the
# fraction of clipped examples at initialization tells you whether `C` is in a
# sensible range (clipping everything is fine for DP-SGD; clipping nothing
# wastes privacy budget on noise that is larger than the signal needs).

# %%
norms0 = np.asarray(results["bookkeeping"][1])
print(f"per-example gradient norms at init: median {np.median(norms0):.2f}, "
      f"fraction above C=1: {np.mean(norms0 > 1.0):.2f}")

# %% [markdown]
# ## Poisson sampling at a fixed shape: `dp.poisson_batches`
#
# The accountant's amplification-by-sampling assumes Poisson sampling: batch
# sizes vary from step to step. A jitted step would recompile for every new
# size, so `poisson_batches` pads each batch to a fixed `max_batch_size` and
# returns a bool mask; padded slots hold index 0 with mask `False` and
# contribute nothing to the clipped sum. The divisor is the *expected* batch
# size `q N`, never the drawn one (dividing by the drawn size would leak it).
#
# A draw larger than `max_batch_size` must be truncated, which costs privacy;
# `suggested_max_batch_size` picks the smallest cap whose overflow probability
# is below 1e-12, so that never happens in practice.

# %%
q = 256 / N
M = dp.suggested_max_batch_size(N, q)
sampler = dp.poisson_batches(0, N, q, M, steps=400)
draws = [(idx, mask) for idx, mask in sampler]
sizes = np.array([mask.sum() for _, mask in draws])
idx0, mask0 = draws[0]
print(f"q = {q:.4f}, expected batch size q N = {sampler.expected_batch_size:.1f}, "
      f"max_batch_size M = {M}")
print(f"first batch: {mask0.sum()} real examples, {M - mask0.sum()} padding slots "
      f"(indices there: {set(idx0[~mask0].tolist())})")
print(f"400 draws: mean size {sizes.mean():.1f}, std {sizes.std():.1f} "
      f"(binomial std {np.sqrt(N * q * (1 - q)):.1f}), truncated steps: {sampler.truncated_steps}")

fig, ax = plt.subplots(figsize=(5, 2.8))
ax.hist(sizes, bins=20, color="tab:blue", alpha=0.8)
ax.axvline(q * N, color="k", ls="--", label="q N")
ax.axvline(M, color="tab:red", label="max_batch_size")
ax.set_xlabel("drawn batch size")
ax.legend()
plt.show()

# %% [markdown]
# ## How much privacy do the steps spend? `dp.epsilon`
#
# `dp.epsilon(steps, q, sigma, delta)` asks `dp_accounting`'s RDP accountant
# (or `accountant="pld"`, tighter and slower) for the epsilon of `steps`
# Poisson-subsampled Gaussian steps. We take `delta = 1e-5`, well below
# `1 / N`. More noise buys more steps for the same epsilon; epsilon grows
# sublinearly in the number of steps.

# %%
delta = 1e-5
step_grid = [20, 100, 200, 500]
sigma_grid = [1.0, 2.0, 4.0]
eps_curves = {s: [dp.epsilon(t, q, s, delta) for t in step_grid] for s in sigma_grid}

fig, ax = plt.subplots(figsize=(5, 3))
for s, eps in eps_curves.items():
    ax.plot(step_grid, eps, "o-", label=f"sigma = {s}")
ax.set_xlabel("steps")
ax.set_ylabel(f"epsilon (delta = {delta:g})")
ax.set_yscale("log")
ax.set_title(f"RDP accountant, q = {q:.3f}")
ax.legend()
plt.show()

eps_rdp = eps_curves[2.0][1]
eps_pld = dp.epsilon(100, q, 2.0, delta, accountant="pld")
print(f"100 steps, sigma 2: epsilon {eps_rdp:.3f} (RDP) vs {eps_pld:.3f} (PLD, tighter)")

# %% [markdown]
# **What truncation would cost.** With a cap only one standard deviation above
# `q N`, about one draw in six overflows and is cut down to a random subset.
# Only the PLD accountant models that mechanism (`dataset_size=` and
# `max_batch_size=`), and it charges for it: an added example can now also
# displace another one.

# %%
M_small = int(q * N + np.sqrt(N * q * (1 - q)))
small = dp.poisson_batches(0, N, q, M_small, steps=400)
for _ in small:
    pass
eps_truncated = dp.epsilon(100, q, 2.0, delta, accountant="pld", dataset_size=N,
                           max_batch_size=M_small)
print(f"max_batch_size {M_small}: {small.truncated_steps} of 400 steps truncated; "
      f"100 steps, sigma 2: epsilon {eps_truncated:.3f} (PLD, truncated) vs {eps_pld:.3f} "
      f"at M = {M}")

# %% [markdown]
# ## Choosing sigma for a budget: `dp.calibrate_noise_multiplier`
#
# Usually the budget comes first: "epsilon = 2 at delta = 1e-5 after 10
# epochs". `calibrate_noise_multiplier` searches for the smallest sigma whose
# epsilon is at most the target.

# %%
target_epsilon = 2.0
epochs = 10
steps = int(epochs / q)
sigma = dp.calibrate_noise_multiplier(target_epsilon, delta, steps, q)
eps_at_sigma = dp.epsilon(steps, q, sigma, delta)
eps_below = dp.epsilon(steps, q, 0.99 * sigma, delta)
print(f"{steps} steps at q = {q:.3f}: sigma = {sigma:.4f} gives epsilon = {eps_at_sigma:.4f} "
      f"(target {target_epsilon}); 1% less noise gives {eps_below:.4f}")

# %% [markdown]
# ## Training with `dp.train`
#
# `dp.train` is the whole recipe: Poisson batches padded to `M`, one jitted
# step (privatized gradient + optimizer update, compiled once), and a history
# with the training loss, the fraction of clipped examples, epsilon spent so far
# and our `eval_fn` (test accuracy, which is not private data). Adam with a
# larger learning rate than usual works well with noisy, clipped gradients.

# %%
t = time.perf_counter()
params_dp, history = dp.train(
    example_loss, init_params(0), optim.adam(2e-2),
    {"x": x_train, "y": y_train}, l2_norm_clip=1.0, noise_multiplier=sigma,
    sampling_rate=q, steps=steps, key=1, delta=delta, eval_fn=accuracy,
    eval_every=max(1, steps // 4), progress=False)
print(f"dp.train: {steps} steps in {time.perf_counter() - t:.1f} s (compile included)")
print(f"{'step':>5s} {'loss':>7s} {'clipped':>8s} {'epsilon':>8s} {'test acc':>9s}")
for r in history:
    print(f"{r['step']:5d} {r['loss']:7.3f} {r['fraction_clipped']:8.2f} {r['epsilon']:8.3f} "
          f"{r['accuracy']:9.3f}")
acc_dp = accuracy(params_dp)

# %% [markdown]
# ## Privacy vs utility
#
# To sweep over noise levels without recompiling, we write the step ourselves,
# `dp.make_train_step`-style, but with `sigma` as an **argument** of the jitted
# function (it is a traced scalar, so one compiled program serves every noise
# level; `sigma = 0` is the non-private baseline with the same clipping). The
# data lives on the device and each step gathers its batch by index.
#
# First a sanity check: with `dp.train`'s keys (its `key` is split into a
# sampling key and a noise key; step `t` uses `fold_in(noise_key, t)`) the
# hand-written loop reproduces `dp.train`'s parameters.

# %%
X, Y = jax.device_put(x_train), jax.device_put(y_train)
opt = optim.adam(2e-2)


@jit
def dp_step(params, opt_state, indices, mask, key, noise_multiplier):
    batch = {"x": X[indices], "y": Y[indices]}
    grads, _ = dp.privatize_gradients(
        example_loss, params, batch, l2_norm_clip=1.0, noise_multiplier=noise_multiplier,
        key=key, expected_batch_size=q * N, mask=mask)
    updates, opt_state = opt.update(grads, opt_state, params)
    return optim.apply_updates(params, updates), opt_state


def train_by_hand(noise_multiplier, seed):
    sample_key, noise_key = frandom.split(frandom.PRNGKey(seed))
    params = init_params(0)
    opt_state = opt.init(params)
    for t, (idx, mask) in enumerate(dp.poisson_batches(np.asarray(sample_key), N, q, M, steps)):
        params, opt_state = dp_step(params, opt_state, idx, mask,
                                    frandom.fold_in(noise_key, t), np.float32(noise_multiplier))
    return params


params_hand = train_by_hand(sigma, seed=1)
hand_vs_train = max_abs_diff(params_hand, params_dp)
print(f"max |hand-written - dp.train| over the parameters: {hand_vs_train:.2e}")

# %% [markdown]
# Now the sweep: the same number of steps (10 epochs) at several noise levels,
# each with its epsilon from the accountant.

# %%
t = time.perf_counter()
sweep_sigmas = [0.0, 0.8, 1.5, 2.5, 4.0, 6.0, 10.0]
sweep = []
for s in sweep_sigmas:
    acc = accuracy(train_by_hand(s, seed=2))
    eps = dp.epsilon(steps, q, s, delta) if s > 0 else float("inf")
    sweep.append((s, eps, acc))
print(f"sweep: {len(sweep_sigmas)} runs of {steps} steps in {time.perf_counter() - t:.1f} s")
print(f"{'sigma':>6s} {'epsilon':>9s} {'test acc':>9s}")
for s, eps, acc in sweep:
    print(f"{s:6.1f} {eps:9.3f} {acc:9.3f}")

acc_nonprivate = sweep[0][2]
fig, ax = plt.subplots(figsize=(5, 3))
private = [(e, a) for s, e, a in sweep if s > 0]
ax.plot(*zip(*private), "o-", label="sweep (hand-written step)")
ax.plot([history[-1]["epsilon"]], [acc_dp], "r*", ms=12, label="dp.train, calibrated")
ax.axhline(acc_nonprivate, color="k", ls="--", label="sigma = 0 (no privacy)")
ax.set_xscale("log")
ax.set_xlabel(f"epsilon (delta = {delta:g})")
ax.set_ylabel("test accuracy")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# The digits are an easy task: a few epochs reach ~0.9 accuracy at epsilon
# around 1-2, and more noise (smaller epsilon) costs accuracy gradually. On
# harder tasks the gap to the non-private model is larger, and the knobs are
# the same: more data (smaller `q` for the same batch), fewer but larger
# batches, and the clip norm.
#
# ## Checks
#
# The notebook fails if any of these does not hold.

# %%
import logging

import dp_accounting

logging.getLogger("absl").setLevel(logging.ERROR)  # dp_accounting's RDP convergence notes

# 1. the three clipping methods agree (same clipped sum, same per-example norms)
for m in METHODS:
    assert sum_diffs[m] < 1e-3, (m, sum_diffs[m])
    assert norm_diffs[m] < 1e-4, (m, norm_diffs[m])

# 2. Poisson batches: padding masked, mean size near q N, no truncation at M
assert all(np.all(idx[~mask] == 0) for idx, mask in draws)
assert abs(sizes.mean() - q * N) < 5 * np.sqrt(N * q * (1 - q) / len(sizes))
assert sampler.truncated_steps == 0

# 3. dp.epsilon equals dp_accounting's RDP accountant on the same event
event = dp_accounting.SelfComposedDpEvent(
    dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(2.0)), 100)
eps_direct = dp_accounting.rdp.RdpAccountant().compose(event).get_epsilon(delta)
assert abs(eps_direct - eps_rdp) < 1e-9 * eps_rdp, (eps_direct, eps_rdp)
assert eps_pld <= eps_rdp
assert small.truncated_steps > 0 and eps_truncated > eps_pld
for s, eps in eps_curves.items():              # epsilon grows with steps ...
    assert all(a < b for a, b in zip(eps, eps[1:])), (s, eps)
for t in range(len(step_grid)):                # ... and shrinks with more noise
    col = [eps_curves[s][t] for s in sigma_grid]
    assert all(a > b for a, b in zip(col, col[1:])), col

# 4. calibration: the target is met, and it is (nearly) the smallest such sigma
assert eps_at_sigma <= target_epsilon + 1e-9, eps_at_sigma
assert eps_below > target_epsilon, eps_below
assert abs(history[-1]["epsilon"] - eps_at_sigma) < 1e-9
assert history[-1]["step"] == steps

# 5. utility (measured: ~0.92 DP at epsilon 2, ~0.95 without noise; margins for other seeds/BLAS)
assert acc_dp > 0.85, acc_dp
assert acc_nonprivate > 0.92, acc_nonprivate
assert all(acc > 0.6 for s, eps, acc in sweep), sweep
assert hand_vs_train < 1e-4, hand_vs_train

print(f"all checks passed; DP test accuracy {acc_dp:.3f} at epsilon {history[-1]['epsilon']:.3f}; "
      f"notebook ran in {time.perf_counter() - _t_start:.1f} s")
