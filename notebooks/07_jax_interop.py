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
# # Bringing JAX code in: flax, equinox and optax under fxjax
#
# fxjax has its own IR and its own transformations, but a lot of useful code is
# written with `jax`: flax and equinox models, optax optimizers. Two functions
# bring it in:
#
# - `fx.jax_function(f)` makes a JAX function callable **on our tracers**.
#   Inside our `grad`, `vmap` or `jit` it asks JAX for the jaxpr of `f` (cached
#   per argument signature) and runs each jaxpr equation with our op of the same
#   lax name, so our transformations see our IR. Outside them, on concrete
#   arrays, it just calls `f`.
# - `fx.from_jax(f)(*args)` returns that converted graph itself, to print,
#   analyse or edit.
#
# In this notebook:
#
# 1. a flax.linen MLP: its converted graph, our `grad` against `jax.grad`, our
#    `vmap` and `jit`;
# 2. training it with our `jit(value_and_grad(...))` and an **optax** optimizer
#    running under our `jit` (step by step equal to the same loop in pure JAX);
# 3. an equinox MLP (`eqx.partition` / `eqx.combine` to separate the arrays);
# 4. DP-SGD on the flax model with **ghost clipping**: the clipping plan finds
#    the `Dense` kernels in the converted graph with nothing registered, and the
#    per-example norms equal `jax.vmap(jax.grad)`'s.

# %%
# %matplotlib inline
import time

_t_start = time.perf_counter()

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from sklearn.datasets import load_digits

import fx
import primitives.random as frandom
from optim import dp
from transforms import grad, jit, value_and_grad, vmap

# %% [markdown]
# The digits (8x8 images as 64 features in [0, 1]), 360 held out for testing.

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


def tree_max_diff(a, b):
    """Largest absolute difference between two pytrees of arrays."""
    return max(float(jnp.max(jnp.abs(jnp.asarray(u) - jnp.asarray(v))))
               for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


# %% [markdown]
# ## 1. A flax.linen model
#
# A plain flax MLP and a loss written the way any JAX user would: `model.apply`
# and optax's cross-entropy. Nothing here knows about fxjax.

# %%
class MLP(nn.Module):
    hidden: int = 64

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(self.hidden)(x))
        return nn.Dense(10)(x)


model = MLP()
params = jax.jit(model.init)(jax.random.PRNGKey(0), x_train[:1])
print(jax.tree_util.tree_map(jnp.shape, params))


def jax_batch_loss(params, x, y):
    logits = model.apply(params, x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


# %% [markdown]
# `fx.from_jax` shows what our transformations will see: JAX traced the loss to
# a jaxpr, and each equation became our op of the same name. `relu` keeps its
# custom derivative rule (a `custom_jvp_call` with the body inside), and every
# equation remembers the line that wrote it, here in flax's own source.

# %%
xb, yb = x_train[:8], y_train[:8]
graph = fx.from_jax(jax_batch_loss)(params, xb, yb)
lines = str(graph).splitlines()
print("\n".join(lines[:12]))
print(f"    ... ({len(graph.graph.equations)} equations in all)")

first_dot = next(e for e in graph.graph.equations if e.primitive.name == "dot_general")
info = first_dot.source_info
print(f"\nthe first dot_general was written at {info.file.split('site-packages/')[-1]}:"
      f"{info.line} ({info.function})")

# %% [markdown]
# ### Our `grad`, `jit` and `vmap` on the flax model
#
# `fx.jax_function(jax_batch_loss)` is an ordinary function that our transforms
# accept. Its gradient (our reverse mode on the converted graph) matches
# `jax.grad` of the original.

# %%
batch_loss = fx.jax_function(jax_batch_loss)

xb, yb = x_train[:128], y_train[:128]
g_ours = jit(grad(batch_loss))(params, xb, yb)
g_jax = jax.jit(jax.grad(jax_batch_loss))(params, xb, yb)
grad_diff = tree_max_diff(g_ours, g_jax)
print("max |our grad - jax.grad| :", grad_diff)

# %% [markdown]
# `vmap` works the same way. Here we write the model for **one** example (flax
# wants a batch axis, so we add and remove one) and let our `vmap` batch it;
# the result equals flax's own batched forward pass.

# %%
apply = fx.jax_function(model.apply)


def logits_one(params, x):          # x: f32[64], a single image
    return apply(params, x[None])[0]


logits_ours = jit(vmap(logits_one, in_axes=(None, 0)))(params, x_test)
logits_jax = model.apply(params, x_test)
vmap_diff = float(jnp.max(jnp.abs(logits_ours - logits_jax)))
print("max |our jit(vmap) logits - flax's| :", vmap_diff)

# %% [markdown]
# ## 2. Training the flax model: our `jit(value_and_grad)` + optax under our `jit`
#
# optax is written with `jax.numpy`, so its functions also go through
# `fx.jax_function`: `opt.update` and `optax.apply_updates` become callable on
# our tracers, and the whole training step is **one** program compiled by our
# `jit`.
#
# To see that nothing is lost in translation, we run the same loop in pure JAX
# (`jax.jit`, `jax.value_and_grad`, optax) for the first 20 steps, on the same
# batches, and compare the parameters.

# %%
opt = optax.adam(1e-2)
opt_update = fx.jax_function(opt.update)
apply_updates = fx.jax_function(optax.apply_updates)


@jit
def train_step(params, opt_state, x, y):
    loss, grads = value_and_grad(batch_loss)(params, x, y)
    updates, opt_state = opt_update(grads, opt_state, params)
    return apply_updates(params, updates), opt_state, loss


@jax.jit
def jax_train_step(params, opt_state, x, y):
    loss, grads = jax.value_and_grad(jax_batch_loss)(params, x, y)
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


t = time.perf_counter()
rng = np.random.default_rng(0)
p_ours = p_jax = params
s_ours = s_jax = opt.init(params)
losses = []
for i in range(300):
    idx = rng.integers(0, N, 128)
    p_ours, s_ours, loss = train_step(p_ours, s_ours, x_train[idx], y_train[idx])
    losses.append(float(loss))
    if i < 20:
        p_jax, s_jax, _ = jax_train_step(p_jax, s_jax, x_train[idx], y_train[idx])
    if i == 19:
        train_diff = tree_max_diff((p_ours, s_ours), (p_jax, s_jax))
        print(f"after 20 steps, max |ours - pure JAX| over params and optimizer state: "
              f"{train_diff:.2e}")

acc_flax = float(jnp.mean(jnp.argmax(model.apply(p_ours, x_test), -1) == y_test))
print(f"300 steps in {time.perf_counter() - t:.1f} s (compiles included); "
      f"test accuracy {acc_flax:.3f}")

fig, ax = plt.subplots(figsize=(5, 2.8))
ax.plot(losses)
ax.set_xlabel("step")
ax.set_ylabel("training loss (batch of 128)")
ax.set_yscale("log")
ax.set_title("flax MLP, our jit(value_and_grad) + optax.adam")
plt.show()

# %% [markdown]
# ## 3. An equinox model
#
# An equinox model is a pytree that mixes arrays with static structure
# (activation functions, sizes). `eqx.partition(model, eqx.is_array)` splits it
# into the arrays (what we differentiate) and the rest; `eqx.combine` puts them
# back together inside the loss. The arrays are an ordinary pytree, so they
# pass through our transformations as parameters.

# %%
emodel = eqx.nn.MLP(in_size=64, out_size=10, width_size=32, depth=2,
                    key=jax.random.PRNGKey(1))
eparams, estatic = eqx.partition(emodel, eqx.is_array)


def eqx_loss(eparams, example):      # ONE example: (f32[64], i32[])
    x, y = example
    logits = eqx.combine(eparams, estatic)(x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y)


e_loss = fx.jax_function(eqx_loss)
example0 = (x_train[0], y_train[0])

# our grad vs equinox's own filter_grad on the whole model
eg_ours = jit(grad(e_loss))(eparams, example0)
eg_eqx = eqx.filter_jit(eqx.filter_grad(
    lambda m, ex: eqx_loss(eqx.partition(m, eqx.is_array)[0], ex)))(emodel, example0)
eqx_grad_diff = tree_max_diff(eg_ours, eqx.partition(eg_eqx, eqx.is_array)[0])
print("max |our grad - eqx.filter_grad| :", eqx_grad_diff)

# our vmap of the single-example model vs jax.vmap(model)
eforward = fx.jax_function(lambda p, x: eqx.combine(p, estatic)(x))
eout_ours = jit(vmap(eforward, in_axes=(None, 0)))(eparams, x_test)
eout_jax = jax.vmap(emodel)(x_test)
eqx_vmap_diff = float(jnp.max(jnp.abs(eout_ours - eout_jax)))
print("max |our jit(vmap) outputs - jax.vmap(model)| :", eqx_vmap_diff)

# %% [markdown]
# The DP clipping plan (next section) reads the converted graph the same way
# for equinox: each `Linear` weight is a ghost-norm `dot_general`, each bias a
# local vjp.

# %%
print(dp.clipping_plan(e_loss, eparams, example0))

# %% [markdown]
# ## 4. DP-SGD with ghost clipping on the flax model
#
# DP-SGD needs the loss of **one example**. We write it in JAX (flax's `apply`
# on a batch of one, optax's cross-entropy) and wrap it with `fx.jax_function`.
# `dp.clipping_plan` traces it to our IR and decides, per parameter leaf, how
# each example's gradient norm is computed:

# %%
def jax_example_loss(params, example):
    x, y = example
    logits = model.apply(params, x[None])[0]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y)


example_loss = fx.jax_function(jax_example_loss)
plan = dp.clipping_plan(example_loss, params, example0)
print(plan)

# %% [markdown]
# Both `Dense` kernels are `ghost` rows: for one example, a dense layer's
# kernel gradient is the outer product of its input and its output cotangent,
# so its norm is `||input|| * ||cotangent||` and the 64x64 per-example gradient
# is never formed. The biases are formed locally (a vjp of the one `reshape`
# that reads each of them in flax's `Dense`). Nothing about flax is registered
# in fxjax: the pass only sees `dot_general` and `reshape` equations.
#
# `method="ghost"` computes those norms in one backward pass of the activations,
# then the clipped sum by a second backward pass of the reweighted losses
# `sum_i min(1, C / ||g_i||) loss_i`. We check both against JAX: per-example
# gradients from `jax.vmap(jax.grad(...))`, their norms, and the clipped mean
# formed from them. With `noise_multiplier=0.0` (no privacy, for this check
# only) `dp.privatize_gradients` returns exactly that clipped mean.

# %%
B, C = 64, 1.0
xb, yb = x_train[:B], y_train[:B]


@jit
def ghost_clipped(params, x, y):
    grads, stats = dp.privatize_gradients(example_loss, params, (x, y), l2_norm_clip=C,
                                          noise_multiplier=0.0, method="ghost")
    return grads, stats["per_example_norms"]


@jax.jit
def jax_clipped(params, x, y):
    per_example = jax.vmap(jax.grad(jax_example_loss), in_axes=(None, 0))(params, (x, y))
    sq = sum(jnp.sum(g.reshape(B, -1) ** 2, axis=1)
             for g in jax.tree_util.tree_leaves(per_example))
    norms = jnp.sqrt(sq)
    factors = jnp.minimum(1.0, C / norms)
    mean = jax.tree_util.tree_map(lambda g: jnp.tensordot(factors, g, axes=1) / B, per_example)
    return mean, norms


mean_ours, norms_ours = ghost_clipped(params, xb, yb)
mean_jax, norms_jax = jax_clipped(params, xb, yb)
norm_diff = float(jnp.max(jnp.abs(norms_ours - norms_jax)))
mean_diff = tree_max_diff(mean_ours, mean_jax)
print(f"per-example norms: max |ghost - jax.vmap(jax.grad)| = {norm_diff:.2e} "
      f"(norms range {float(norms_jax.min()):.2f} .. {float(norms_jax.max()):.2f})")
print(f"clipped mean:      max |ghost - jax reference|     = {mean_diff:.2e}")

# %% [markdown]
# ### Training
#
# The DP step: a Poisson batch padded to a fixed size (`dp.poisson_batches`),
# `dp.privatize_gradients(..., method="ghost")` (clip, sum, add noise of std
# `sigma * C`, divide by the expected batch size), then optax's Adam under our
# `jit` as before. One compiled program for every step.

# %%
q = 128 / N
steps = 150
sigma = 1.2
delta = 1e-5
M = dp.suggested_max_batch_size(N, q)
X, Y = jax.device_put(x_train), jax.device_put(y_train)
dp_opt = optax.adam(1e-2)
dp_opt_update = fx.jax_function(dp_opt.update)


@jit
def dp_step(params, opt_state, indices, mask, key):
    grads, stats = dp.privatize_gradients(
        example_loss, params, (X[indices], Y[indices]), l2_norm_clip=C,
        noise_multiplier=sigma, key=key, expected_batch_size=q * N, mask=mask,
        method="ghost")
    updates, opt_state = dp_opt_update(grads, opt_state, params)
    return apply_updates(params, updates), opt_state, stats["fraction_clipped"]


def test_accuracy(p):
    return float(jnp.mean(jnp.argmax(model.apply(p, x_test), -1) == y_test))


t = time.perf_counter()
p_dp, s_dp = params, dp_opt.init(params)
noise_key = frandom.PRNGKey(7)
curve = []
for i, (idx, mask) in enumerate(dp.poisson_batches(0, N, q, M, steps)):
    p_dp, s_dp, frac = dp_step(p_dp, s_dp, idx, mask, frandom.fold_in(noise_key, i))
    if (i + 1) % 30 == 0:
        curve.append((i + 1, test_accuracy(p_dp), float(frac)))
eps_dp = dp.epsilon(steps, q, sigma, delta)
acc_dp = curve[-1][1]
print(f"{steps} DP steps in {time.perf_counter() - t:.1f} s (compile included)")
print(f"{'step':>5s} {'test acc':>9s} {'clipped':>8s}")
for step_, acc_, frac_ in curve:
    print(f"{step_:5d} {acc_:9.3f} {frac_:8.2f}")
print(f"\nDP-SGD (ghost clipping, optax adam): test accuracy {acc_dp:.3f} at "
      f"epsilon = {eps_dp:.2f}, delta = {delta:g} (non-private run above: {acc_flax:.3f})")

fig, ax = plt.subplots(figsize=(5, 2.8))
ax.plot([c[0] for c in curve], [c[1] for c in curve], "o-", label=f"DP-SGD, eps={eps_dp:.1f}")
ax.axhline(acc_flax, color="k", ls="--", label="non-private (section 2)")
ax.set_xlabel("DP step")
ax.set_ylabel("test accuracy")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# ## Checks
#
# The notebook fails if any of these does not hold.

# %%
import logging

import dp_accounting

logging.getLogger("absl").setLevel(logging.ERROR)  # dp_accounting's RDP convergence notes

# 1. the converted graph: flax's dense layers are there as dot_generals
assert sum(e.primitive.name == "dot_general" for e in graph.graph.equations) == 2
assert "flax" in info.file

# 2. flax under our transforms equals JAX
assert grad_diff < 1e-6, grad_diff
assert vmap_diff < 1e-5, vmap_diff
assert train_diff < 1e-5, train_diff           # 20 steps of adam, ours vs pure JAX

# 3. equinox under our transforms equals JAX / equinox
assert eqx_grad_diff < 1e-6, eqx_grad_diff
assert eqx_vmap_diff < 1e-5, eqx_vmap_diff
eqx_rows = str(dp.clipping_plan(e_loss, eparams, example0)).splitlines()[1:]
assert all(("ghost" in r) == ("weight" in r) for r in eqx_rows), eqx_rows

# 4. the clipping plan: ghost rows for the Dense kernels, a local vjp for the biases
rows = str(plan).splitlines()[1:]
assert all(("ghost" in r) == ("kernel" in r) for r in rows), rows
assert sum("ghost" in r for r in rows) == 2

# 5. ghost clipping equals the jax.vmap(jax.grad) reference
assert norm_diff < 1e-4 * float(norms_jax.max()), norm_diff
assert mean_diff < 1e-5, mean_diff

# 6. epsilon: dp.epsilon equals dp_accounting's RDP accountant on the same event
event = dp_accounting.SelfComposedDpEvent(
    dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)
eps_direct = dp_accounting.rdp.RdpAccountant().compose(event).get_epsilon(delta)
assert abs(eps_direct - eps_dp) < 1e-9 * eps_dp, (eps_direct, eps_dp)

# 7. accuracy (measured: ~0.98 non-private, ~0.94 DP; margins for other seeds/BLAS)
assert acc_flax > 0.93, acc_flax
assert acc_dp > 0.85, acc_dp

print(f"all checks passed; flax {acc_flax:.3f}, DP-SGD {acc_dp:.3f} at epsilon {eps_dp:.2f}; "
      f"notebook ran in {time.perf_counter() - _t_start:.1f} s")
