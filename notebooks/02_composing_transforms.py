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
# # Composing transformations
#
# `grad`, `jvp`, `vmap`, `jit` and `checkpoint` each take a function and return
# a function, so they stack: `vmap(grad(f))` is per-example gradients,
# `jvp(grad(f))` a Hessian-vector product, `grad` of a training loop a
# hyper-gradient, `vmap` of a training loop a population of runs. This notebook
# goes through these compositions on one small problem (logistic regression
# telling 3s from 8s in scikit-learn's bundled digits) and then looks at two
# tools for controlling what a derivative computes and stores: `custom_jvp`
# and `checkpoint`. Each result is compared with JAX at the end.

# %%
# %matplotlib inline
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from sklearn.datasets import load_digits

import fx
import optim
import primitives as P
import primitives.nn as fnn
import primitives.numpy as fnp
from transforms import (checkpoint, custom_jvp, grad, hessian, jacfwd, jacrev, jit, jvp,
                        saved_residuals, value_and_grad, vmap)

# Every program in this notebook is tiny: XLA's optimization passes would cost
# more compile time than they save at run time, so we turn most of them off (as
# the test suite does). The memory measurement in the checkpoint section turns
# them back on for the programs it measures.
jax.config.update("jax_disable_most_optimizations", True)
T_START = time.perf_counter()

# %% [markdown]
# ## The problem: logistic regression, 3 vs 8
#
# Features are the 64 pixels scaled to [0, 1] plus a constant 1 (the bias), so
# the parameters are one vector `w: f32[65]`. The loss is the mean logistic
# loss with a small L2 penalty, which makes it smooth and strongly convex: a
# good playground for second-order methods. `example_loss` is the same loss for
# one example (no batch axis); its mean over the data is `loss`.

# %%
digits = load_digits()
keep = (digits.target == 3) | (digits.target == 8)
X = (digits.data[keep] / 16.0).astype(np.float32)
X = np.concatenate([X, np.ones((len(X), 1), np.float32)], axis=1)   # bias feature
y = (digits.target[keep] == 8).astype(np.float32)                   # 1 for an 8
order = np.random.default_rng(0).permutation(len(X))
X, y = X[order], y[order]
X_tr, y_tr, X_va, y_va = X[:250], y[:250], X[250:], y[250:]
LAM = 1e-2


def example_loss(w, x, y):           # x: f32[65], y: f32[] (0. or 1.)
    z = fnp.dot(x, w)
    return fnn.softplus(z) - y * z + 0.5 * LAM * fnp.sum(w * w)


def loss(w, X, y):                   # X: f32[n, 65], y: f32[n]
    z = X @ w
    return fnp.mean(fnn.softplus(z) - y * z) + 0.5 * LAM * fnp.sum(w * w)


w_init = (0.01 * np.random.default_rng(1).normal(size=65)).astype(np.float32)
loss_and_grad = jit(value_and_grad(loss))
print(f"{len(X_tr)} training and {len(X_va)} validation examples; "
      f"loss at w_init {float(loss_and_grad(w_init, X_tr, y_tr)[0]):.4f}")

# %% [markdown]
# ## Hessian-vector products and Newton's method
#
# `grad(loss)` is a function `R^65 -> R^65`; its Jacobian is the Hessian `H`.
# `jvp` of that function at `w` in the direction `v` gives `H v`, without ever
# forming `H`: **forward-over-reverse**, one forward-mode pass through the
# gradient program, costing a small constant times one gradient.
#
# First, check it against the full Hessian (`hessian = jacfwd(jacrev(f))`),
# which is affordable here since `H` is only 65 x 65:

# %%
def hvp(w, v):
    return jvp(lambda w: grad(loss)(w, X_tr, y_tr), (w,), (v,))[1]


v = np.random.default_rng(2).normal(size=65).astype(np.float32)
Hv = jit(hvp)(w_init, v)
H = np.asarray(jit(hessian(loss))(w_init, X_tr, y_tr))
np.testing.assert_allclose(Hv, H @ v, rtol=1e-4, atol=1e-5)
eigs = np.linalg.eigvalsh(H)
print(f"H v == hessian @ v;  eigenvalues of H in [{eigs[0]:.4f}, {eigs[-1]:.3f}], "
      f"condition number {eigs[-1] / eigs[0]:.0f}")

# %% [markdown]
# A **Newton step** solves `H d = g` and moves to `w - d`. With only `H v`
# available, we solve with conjugate gradients, 20 iterations in a
# `P.fori_loop` (as `jax.lax.fori_loop`), all inside one `jit`: "Newton-CG",
# the method of choice when `H` is too big to store. For comparison we run
# gradient descent with the step size `1 / lambda_max(H)`, 150 steps in a `P.scan`.

# %%
@jit
def newton_cg_step(w):
    g = grad(loss)(w, X_tr, y_tr)

    def cg_iteration(i, state):                       # standard CG on H d = g
        d, r, p, rr = state
        Hp = hvp(w, p)
        alpha = rr / fnp.vdot(p, Hp)
        d, r = d + alpha * p, r - alpha * Hp
        rr_new = fnp.vdot(r, r)
        return d, r, p * (rr_new / rr) + r, rr_new

    d, *_ = P.fori_loop(0, 20, cg_iteration, (fnp.zeros_like(g), g, g, fnp.vdot(g, g)))
    return w - d


GD_LR = float(1.0 / eigs[-1])


@jit
def gradient_descent(w):
    def step(w, _):
        value, g = value_and_grad(loss)(w, X_tr, y_tr)
        return w - GD_LR * g, value
    return P.scan(step, w, None, length=150)


w, newton_losses = w_init, []
for i in range(6):
    value, g = loss_and_grad(w, X_tr, y_tr)
    newton_losses.append(float(value))
    print(f"Newton iteration {i}: loss {value:.8f}  |grad| {float(np.linalg.norm(g)):.2e}")
    w = newton_cg_step(w)
w_star = w
loss_star = float(loss_and_grad(w_star, X_tr, y_tr)[0])
w_gd, gd_losses = gradient_descent(w_init)

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.semilogy(np.maximum(np.array(gd_losses) - loss_star, 1e-9), label="gradient descent, lr = 1/L")
ax.semilogy(np.maximum(np.array(newton_losses) - loss_star, 1e-9), "o-", label="Newton-CG (hvp)")
ax.set_xlabel("iteration")
ax.set_ylabel("loss - min loss")
ax.legend()
ax.set_title("Newton converges quadratically")
plt.show()
accuracy_va = float(np.mean(((X_va @ np.asarray(w_star)) > 0) == (y_va > 0.5)))
print(f"validation accuracy at the optimum: {accuracy_va:.3f}")

# %% [markdown]
# What to notice: the gap to the minimum shrinks by a constant factor per
# gradient-descent step (linear convergence, governed by the condition number),
# while each Newton step roughly squares it; after 4 or 5 steps it is at float32
# round-off.
#
# ## Per-example gradients: `vmap(grad)`
#
# `grad(example_loss)` is the gradient for **one** example; `vmap` over the
# example axis (and not over `w`: `in_axes=(None, 0, 0)`) gives all of them at
# once, as one batched program, no Python loop. This is the core of DP-SGD
# (`optim.dp` clips each of these before averaging) and of data-influence
# diagnostics.
#
# At the optimum the *mean* gradient is zero, but the per-example gradients are
# not: their norms single out the examples the model finds hard. The largest
# ones (right) are digits it gets wrong or nearly wrong, `p(8)` close to 0.5 or
# on the wrong side of it.

# %%
per_example_grads = jit(vmap(grad(example_loss), in_axes=(None, 0, 0)))
G = np.asarray(per_example_grads(w_star, X_tr, y_tr))
print("per-example gradients:", G.shape)
full_grad = np.asarray(loss_and_grad(w_star, X_tr, y_tr)[1])
np.testing.assert_allclose(G.mean(axis=0), full_grad, atol=1e-5)
print(f"|mean of per-example grads| = {np.linalg.norm(G.mean(0)):.1e}   "
      f"(= |grad of the mean loss| = {np.linalg.norm(full_grad):.1e})")
norms = np.linalg.norm(G, axis=1)
print(f"per-example gradient norms: median {np.median(norms):.3f}, max {norms.max():.3f}")

hardest = np.argsort(norms)[::-1][:6]
fig, axes = plt.subplots(1, 7, figsize=(10, 1.8), gridspec_kw={"width_ratios": [3, 1, 1, 1, 1, 1, 1]})
axes[0].hist(norms, bins=40)
axes[0].set_yscale("log")
axes[0].set_xlabel("per-example gradient norm")
for ax, i in zip(axes[1:], hardest):
    p8 = 1 / (1 + np.exp(-X_tr[i] @ np.asarray(w_star)))
    ax.imshow(X_tr[i, :64].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"{'8' if y_tr[i] else '3'}: p(8)={p8:.2f}", fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Jacobians: `jacfwd` and `jacrev`
#
# For `f: R^n -> R^m`, `jacfwd` pushes the `n` basis tangents through `jvp`
# (a `vmap` of `jvp`), `jacrev` pulls the `m` basis cotangents through `vjp`
# (a `vmap` of `vjp`). Same matrix, different cost: forward mode is cheaper for
# wide Jacobians (`m > n`), reverse mode for tall ones. Here `f` maps the 65
# weights to the predicted probabilities of 5 validation images, so
# `jacrev` needs 5 passes and `jacfwd` 65. `hessian` is `jacfwd(jacrev(f))`.

# %%
def probabilities(w):
    return fnn.sigmoid(X_va[:5] @ w)


J_fwd = jit(jacfwd(probabilities))(w_star)
J_rev = jit(jacrev(probabilities))(w_star)
print("Jacobian shape:", J_fwd.shape)
np.testing.assert_allclose(J_fwd, J_rev, rtol=1e-5, atol=1e-7)
print("jacfwd == jacrev;  d p / d bias for the 5 images:", np.round(np.asarray(J_rev[:, -1]), 4))

# %% [markdown]
# ## Differentiating through an optimizer: meta-learning the learning rate
#
# `optim` optimizers are pure functions written with `primitives.numpy`, so a
# training loop is just another function we can transform. `train_then_validate`
# runs `K = 20` Adam steps (in a `P.scan`, so the program does not grow with
# `K`) from `w_init` with learning rate `exp(log_lr)` and returns the
# **validation** loss of the final weights, plus the training curve as
# auxiliary output.
#
# `grad` of it with respect to `log_lr` is a *hyper-gradient*: it
# differentiates through all 20 steps, Adam's moment estimates included.
# We then tune `log_lr` by gradient descent on the validation loss, using
# another Adam (from `optim`) as the outer optimizer, with less momentum and a
# cosine-decaying step size (an `optim` schedule) so that it settles at the
# minimum instead of overshooting it.

# %%
K = 20


def train_then_validate(log_lr):
    tx = optim.adam(fnp.exp(log_lr))

    def step(carry, _):
        w, opt_state = carry
        value, g = value_and_grad(loss)(w, X_tr, y_tr)
        updates, opt_state = tx.update(g, opt_state, w)
        return (optim.apply_updates(w, updates), opt_state), value

    (w, _), train_curve = P.scan(step, (w_init, tx.init(w_init)), None, length=K)
    return loss(w, X_va, y_va), train_curve


meta_value_and_grad = jit(value_and_grad(train_then_validate, has_aux=True))

outer = optim.adam(optim.cosine_decay_schedule(0.3, decay_steps=40), b1=0.5)
outer_update = jit(outer.update)
log_lr = np.float32(np.log(1e-3))
outer_state = outer.init(log_lr)
meta_path = []
for it in range(40):
    (val, _), hypergrad = meta_value_and_grad(log_lr)
    meta_path.append((float(np.exp(log_lr)), float(val)))
    updates, outer_state = outer_update(hypergrad, outer_state, log_lr)
    log_lr = optim.apply_updates(log_lr, updates)
    if it % 8 == 0:
        print(f"outer step {it:2d}: lr {np.exp(log_lr):.4f}  validation loss {float(val):.4f}  "
              f"d val / d log_lr {float(hypergrad):+.4f}")
meta_lr = float(np.exp(log_lr))
print(f"meta-learned learning rate: {meta_lr:.4f}")

# %% [markdown]
# ## `vmap` over a population of optimizers
#
# The same function, `vmap`ped over `log_lr`, trains 32 models with 32
# learning rates in one program: the optimizer state, the weights and the
# training curve all gain a leading population axis. Composed with
# `value_and_grad`, the same one program also returns the hyper-gradient at
# every learning rate. The curve lets us
# check the meta-learner: it should have stopped near the bottom of the
# validation curve, where the hyper-gradient crosses zero.

# %%
log_lrs = np.linspace(np.log(1e-3), np.log(1.0), 32).astype(np.float32)
population = jit(vmap(value_and_grad(train_then_validate, has_aux=True)))
(val_losses, train_curves), hypergrads = population(log_lrs)
print("population shapes:", val_losses.shape, train_curves.shape, hypergrads.shape)
best_lr = float(np.exp(log_lrs[np.argmin(val_losses)]))
print(f"best of the population: lr {best_lr:.4f} (val loss {float(np.min(val_losses)):.4f}); "
      f"meta-learned: lr {meta_lr:.4f}")

lrs = np.exp(log_lrs)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
colors = plt.cm.viridis(np.linspace(0, 1, len(lrs)))
for curve, c in zip(np.asarray(train_curves), colors):
    axes[0].plot(curve, color=c)
axes[0].set_yscale("log")
axes[0].set_xlabel("Adam step")
axes[0].set_ylabel("training loss")
axes[0].set_title("32 runs, one vmapped program (lr: purple -> yellow)")
axes[1].semilogx(lrs, val_losses, ".-", label="population (vmap)")
path = np.array(meta_path)
axes[1].semilogx(path[:, 0], path[:, 1], "x", color="C3", label="meta-learning path (grad)")
axes[1].set_xlabel("learning rate")
axes[1].set_ylabel(f"validation loss after {K} steps")
axes[1].legend()
axes[2].semilogx(lrs, hypergrads, ".-")
axes[2].axhline(0, color="gray", lw=0.8)
axes[2].axvline(meta_lr, color="C3", ls="--", label="meta-learned lr")
axes[2].set_xlabel("learning rate")
axes[2].set_ylabel("d val loss / d log lr")
axes[2].set_title("vmap(value_and_grad(training loop))")
axes[2].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# Past the best learning rate, 20 steps of Adam start to oscillate and the
# validation loss becomes a bumpy function of the learning rate, and its
# hyper-gradient an erratic one: the usual reason to differentiate through
# short horizons and small steps only.
#
# A note on Adam from a point where some gradient entry is exactly 0: Adam
# divides by `sqrt(nu)`, and `nu` is 0 there. The derivative of `sqrt` at 0 is
# `inf` (in fxjax as in JAX), which turns the hyper-gradient into NaN; optax's
# and our `eps_root` argument exists for this. We start from a small random
# `w_init`, so no gradient entry is exactly 0.
#
# ## `custom_jvp`: a numerically stable function with its own derivative
#
# `softplus(x) = log(1 + exp(x))` overflows for large `x`. The usual stable form
# picks a branch with `where`. Its *value* is fine everywhere, but its gradient
# is NaN for large `|x|`: `where` differentiates **both** branches and
# multiplies the unselected one's derivative by 0, and `0 * inf = NaN`.
#
# `custom_jvp` fixes this by giving the function its own derivative rule
# (`sigmoid(x) * x_dot`, which is stable), exactly as `fnn.relu` and
# `fnn.softplus` are defined. The rule is used by every transformation:
# `grad` transposes it, `vmap` batches it.

# %%
def softplus_where(x):
    return fnp.where(x > 0, x + fnp.log1p(fnp.exp(-x)), fnp.log1p(fnp.exp(x)))


@custom_jvp
def softplus_stable(x):
    return fnp.where(x > 0, x + fnp.log1p(fnp.exp(-x)), fnp.log1p(fnp.exp(x)))


@softplus_stable.defjvp
def softplus_stable_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return softplus_stable(x), fnn.sigmoid(x) * x_dot


xs = np.linspace(-150, 150, 601).astype(np.float32)
d_where = np.asarray(jit(vmap(grad(softplus_where)))(xs))
d_stable = np.asarray(jit(vmap(grad(softplus_stable)))(xs))
print(f"grad of the where-version is NaN at {np.isnan(d_where).sum()} of {len(xs)} points "
      f"(|x| > {np.abs(xs[np.isnan(d_where)]).min():.0f}); custom_jvp version: "
      f"{np.isnan(d_stable).sum()} NaNs")
print(fx.make_graph(softplus_stable)(np.float32(1.0)))
print("and its gradient program is just the rule:")
print(fx.make_graph(grad(softplus_stable))(np.float32(1.0)))

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(xs, d_stable, label="custom_jvp: sigmoid(x)")
ax.plot(xs, np.where(np.isnan(d_where), 0.5, np.nan), "r.", ms=3, label="where-version: NaN")
ax.set_xlabel("x")
ax.set_ylabel("d softplus / dx")
ax.legend()
plt.show()

# %% [markdown]
# ## `checkpoint`: trading compute for memory
#
# Reverse mode stores the intermediates of the forward pass (residuals) for the
# backward pass, so memory grows with depth. `checkpoint(f)` stores only `f`'s
# inputs and recomputes the rest of `f` inside the backward pass.
#
# The model: 16 residual blocks `h + tanh(tanh(h W1) W2)` of width 64 with a
# hidden width of 256, applied to 512 digits with `P.scan` over the stacked
# weights. `saved_residuals` lists what a gradient keeps, without compiling:

# %%
LAYERS, D, HIDDEN = 16, 64, 256
rng = np.random.default_rng(3)
deep_params = ((rng.normal(size=(LAYERS, D, HIDDEN)) / np.sqrt(D)).astype(np.float32),
               (rng.normal(size=(LAYERS, HIDDEN, D)) / np.sqrt(HIDDEN)).astype(np.float32))
x_deep = (digits.data[:512] / 16.0).astype(np.float32)


def block(h, w):
    w1, w2 = w
    return h + fnp.tanh(fnp.tanh(h @ w1) @ w2)


def deep_loss(params, x, remat=False):
    body = checkpoint(block) if remat else block
    h, _ = P.scan(lambda h, w: (body(h, w), None), x, params)
    return fnp.mean(h ** 2)


for remat in (False, True):
    print(f"remat={remat}:")
    for r in saved_residuals(lambda p, x: deep_loss(p, x, remat), deep_params, x_deep):
        print("   ", r)

# %% [markdown]
# Without `checkpoint`, the scan stacks four residuals per layer: two
# `f32[512, 64]` and two `f32[512, 256]` (the wide hidden layer), about 20 MiB
# for 16 layers. With it, only the block inputs (the scan carries,
# `f32[16, 512, 64]`, 2 MiB) are kept, besides the weights and the loss's own
# residual, which both versions need.
#
# To measure it, we ask XLA: `jit(f).lower(*args)` is JAX's `Lowered`, and
# `.compile().memory_analysis()` reports the compiled program's buffers. `temp`
# is the scratch memory live during the call: here mostly the residuals. We
# compile the same gradient written in `jax.numpy` with `jax.checkpoint` and
# `jax.lax.scan` for reference.

# %%
def jax_block(h, w):
    w1, w2 = w
    return h + jnp.tanh(jnp.tanh(h @ w1) @ w2)


def jax_deep_loss(params, x, remat=False):
    body = jax.checkpoint(jax_block) if remat else jax_block
    h, _ = jax.lax.scan(lambda h, w: (body(h, w), None), x, params)
    return jnp.mean(h ** 2)


jax.config.update("jax_disable_most_optimizations", False)   # measure the real, optimized programs
compiled, temp_mb = {}, {}
for remat in (False, True):
    compiled["ours", remat] = jit(grad(lambda p, x: deep_loss(p, x, remat))).lower(
        deep_params, x_deep).compile()
    compiled["jax", remat] = jax.jit(jax.grad(lambda p, x: jax_deep_loss(p, x, remat))).lower(
        deep_params, x_deep).compile()
jax.config.update("jax_disable_most_optimizations", True)
for key, exe in compiled.items():
    temp_mb[key] = exe.memory_analysis().temp_size_in_bytes / 2**20
    print(f"{key[0]:4s} checkpoint={key[1]!s:5s}: temp {temp_mb[key]:6.2f} MiB")
activation = x_deep.size * 4 / 2**20
print(f"(one f32[512, 64] activation is {activation:.3f} MiB; one f32[512, 256] is {4 * activation:.3f} MiB)")

fig, ax = plt.subplots(figsize=(5.5, 3.2))
labels = ["no checkpoint", "checkpoint(block)"]
for j, who in enumerate(("ours", "jax")):
    vals = [temp_mb[who, False], temp_mb[who, True]]
    bars = ax.bar(np.arange(2) + 0.38 * j, vals, width=0.36, label="fxjax" if who == "ours" else "JAX")
    ax.bar_label(bars, fmt="%.1f")
ax.set_xticks(np.arange(2) + 0.19)
ax.set_xticklabels(labels)
ax.set_ylabel("XLA temp memory (MiB)")
ax.set_title(f"grad of {LAYERS} scanned residual blocks")
ax.margins(y=0.15)
ax.legend()
plt.show()

# %% [markdown]
# The gradients are the same either way (checked below); what changed is what is
# stored and what is recomputed. Two things to notice:
#
# * Inside a `scan`, the recomputation happens inside each iteration of the
#   backward loop, so only one block's intermediates are alive at a time. In an
#   unrolled Python loop, XLA's scheduler is free to hoist recomputations
#   earlier; on CPU checkpointing each layer of an unrolled loop need not lower
#   the peak at all, so measure, as here, rather than assume.
# * `checkpoint(block, policy=...)` chooses what may still be saved (for
#   example `checkpoint_policies.dots_saveable` keeps matmul outputs and
#   recomputes only the cheap `tanh`s).
#
# ## Checks
#
# Every result above against JAX (`jax.grad`, `jax.vmap`, `jax.jvp`,
# `jax.hessian`, `jax.jacrev`, optax) on the same functions written with
# `jax.numpy`.

# %%
def jax_loss(w, X, y):
    z = X @ w
    return jnp.mean(jax.nn.softplus(z) - y * z) + 0.5 * LAM * jnp.sum(w * w)


def jax_example_loss(w, x, y):
    z = jnp.dot(x, w)
    return jax.nn.softplus(z) - y * z + 0.5 * LAM * jnp.sum(w * w)


# Hessian and Hessian-vector product
jax_H = np.asarray(jax.jit(jax.hessian(jax_loss))(w_init, X_tr, y_tr))
np.testing.assert_allclose(H, jax_H, rtol=1e-4, atol=1e-6)
jax_hv = jax.jit(lambda w, v: jax.jvp(lambda w: jax.grad(jax_loss)(w, X_tr, y_tr), (w,), (v,))[1])(w_init, v)
np.testing.assert_allclose(Hv, jax_hv, rtol=1e-4, atol=1e-6)

# Newton: the first Newton-CG step equals the exact Newton step with JAX's Hessian and gradient;
# at the end the gradient vanishes and Newton beat 150 steps of gradient descent
jax_grad = jax.jit(jax.grad(jax_loss))
exact_step = np.linalg.solve(jax_H.astype(np.float64), np.asarray(jax_grad(w_init, X_tr, y_tr), np.float64))
np.testing.assert_allclose(newton_cg_step(w_init), w_init - exact_step, rtol=1e-3, atol=1e-4)
assert np.linalg.norm(jax_grad(w_star, X_tr, y_tr)) < 1e-4
assert newton_losses[5] - loss_star < 1e-6 < float(gd_losses[-1]) - loss_star
assert accuracy_va > 0.9, accuracy_va

# per-example gradients == jax.vmap(jax.grad)
jax_G = jax.jit(jax.vmap(jax.grad(jax_example_loss), in_axes=(None, 0, 0)))(w_star, X_tr, y_tr)
np.testing.assert_allclose(G, jax_G, rtol=1e-4, atol=1e-6)

# Jacobians == jax.jacrev
jax_J = jax.jit(jax.jacrev(lambda w: jax.nn.sigmoid(X_va[:5] @ w)))(w_star)
np.testing.assert_allclose(J_fwd, jax_J, rtol=1e-4, atol=1e-7)
np.testing.assert_allclose(J_rev, jax_J, rtol=1e-4, atol=1e-7)


# meta-learning and the population: JAX + optax, the same K Adam steps
def jax_train_then_validate(log_lr):
    tx = optax.adam(jnp.exp(log_lr))

    def step(carry, _):
        w, opt_state = carry
        value, g = jax.value_and_grad(jax_loss)(w, X_tr, y_tr)
        updates, opt_state = tx.update(g, opt_state, w)
        return (optax.apply_updates(w, updates), opt_state), value

    (w, _), curve = jax.lax.scan(step, (jnp.asarray(w_init), tx.init(jnp.asarray(w_init))), None, length=K)
    return jax_loss(w, X_va, y_va), curve


(jax_vals, jax_curves), jax_hypergrads = jax.jit(jax.vmap(
    jax.value_and_grad(jax_train_then_validate, has_aux=True)))(log_lrs)
np.testing.assert_allclose(val_losses, jax_vals, rtol=1e-4, atol=1e-5)
np.testing.assert_allclose(train_curves, jax_curves, rtol=1e-4, atol=1e-5)
np.testing.assert_allclose(hypergrads, jax_hypergrads, rtol=2e-3, atol=2e-4)
# the meta-learner ended within a factor 2 of the population's best learning rate
assert 0.5 < meta_lr / best_lr < 2.0, (meta_lr, best_lr)
assert meta_path[-1][1] < 1.05 * float(np.min(val_losses)), (meta_path[-1], float(np.min(val_losses)))

# custom_jvp: our gradient == jax.grad of jax.nn.softplus; the where-version is NaN where JAX's is
np.testing.assert_allclose(d_stable, jax.jit(jax.vmap(jax.grad(jax.nn.softplus)))(xs), rtol=1e-5, atol=1e-30)
jax_where = jax.jit(jax.vmap(jax.grad(lambda x: jnp.where(x > 0, x + jnp.log1p(jnp.exp(-x)), jnp.log1p(jnp.exp(x))))))(xs)
np.testing.assert_array_equal(np.isnan(d_where), np.isnan(jax_where))
assert np.isnan(d_where).any() and not np.isnan(d_stable).any()

# checkpoint: same gradients with and without, equal to JAX's; much less memory
g_plain = compiled["ours", False](deep_params, x_deep)
g_remat = compiled["ours", True](deep_params, x_deep)
g_jax = compiled["jax", True](deep_params, x_deep)
for a, b, c in zip(g_plain, g_remat, g_jax):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, c, rtol=1e-4, atol=1e-5)
assert temp_mb["ours", True] < 0.35 * temp_mb["ours", False], temp_mb
assert temp_mb["ours", True] <= 1.25 * temp_mb["jax", True], temp_mb
print(f"all checks passed; notebook ran in {time.perf_counter() - T_START:.1f} s")
