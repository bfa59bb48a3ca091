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
# # Sharding: one device -> 8 devices
#
# fxjax has no runtime of its own for many devices: it runs on XLA's (GSPMD,
# jax's runtime). The types are jax's (`jax.sharding.Mesh`, `PartitionSpec`,
# `NamedSharding`); what fxjax adds is the per-device program as a graph of its
# IR, which every transformation understands. Two ways to spread work over
# devices:
#
# * **write the per-device program**: `transforms.shard_map(f, mesh=..., in_specs=...,
#   out_specs=...)` runs `f` on every device's shard, and `f` calls collectives
#   (`P.psum`, `P.all_gather`, `P.ppermute`, ...) over the mesh axes;
# * **annotate**: `P.with_sharding_constraint` and `jit(..., in_shardings=,
#   out_shardings=)` say where values live, and XLA's GSPMD partitioner inserts
#   the collectives.
#
# This notebook simulates 8 CPU devices and walks through the collectives, data
# parallelism (a digits MLP trained on 8 shards), a Megatron tensor-parallel
# block, FSDP by annotations (and the all-reduce in the compiled HLO), `pmap`,
# and DP-SGD data parallel. Every result is checked against the same
# computation on one device.

# %% [markdown]
# The devices must be simulated before jax starts its CPU backend, so the flag
# goes into `XLA_FLAGS` first thing (this notebook's kernel is its own
# process; in a script, do the same at the top, or call
# `jax.config.update("jax_num_cpu_devices", 8)` before any jax operation).

# %%
import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_force_host_platform_device_count=8").strip()

# %matplotlib inline
import re
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as PS
from sklearn.datasets import load_digits

import fx
import primitives as P
import primitives.nn as fnn
import primitives.numpy as fnp
import primitives.random as frandom
from optim import dp
from transforms import grad, jit, pmap, shard_map, value_and_grad, vmap

T_START = time.perf_counter()


def max_diff(a, b):
    """Largest absolute difference between two pytrees of arrays."""
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
               for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


# we compare values here, not speed: XLA's optimization passes only cost compile time
jax.config.update("jax_disable_most_optimizations", True)
print(jax.device_count(), "devices:", jax.devices())
assert jax.device_count() == 8

# %% [markdown]
# `PartitionSpec` is imported as `PS` here because `P` is `primitives` (our
# `jax.lax`) in the other notebooks.
#
# ## A mesh and the collectives
#
# A mesh names the axes of an array of devices. A one-axis mesh of 8 devices,
# `"x"`, serves most of this notebook. Inside `shard_map`, `f` sees the
# **shard** of each argument: `in_specs=PS("x")` splits dimension 0 into 8
# blocks. `out_specs` says how the per-device results are put together:
# `PS("x")` concatenates the 8 blocks, `PS()` says the result is the same on
# every device (replicated), which `check_vma` verifies from the program: a
# value is replicated only after a collective like `psum` made it so. (As in
# jax, `all_gather`'s result is still typed as varying, so below its 8 equal
# copies are stitched with `PS("x")`; claiming `PS()` for it raises a
# `ShapeError` that says which output and which axis.)

# %%
mesh = Mesh(np.array(jax.devices()), ("x",))
print(mesh)


def collectives(x):                       # x: this device's f32[2, 3] block of f32[16, 3]
    i = P.axis_index("x")                 # which device am I (0..7)
    total = P.psum(x, "x")                # elementwise sum of the 8 blocks (all-reduce)
    everything = P.all_gather(x, "x", tiled=True)            # f32[16, 3] on every device
    right = P.ppermute(x, "x", [(j, (j + 1) % 8) for j in range(8)])  # block j -> device j+1
    return x * i, total, everything, right


x16 = np.arange(48, dtype=np.float32).reshape(16, 3)
coll = shard_map(collectives, mesh=mesh, in_specs=PS("x"),
                 out_specs=(PS("x"), PS(), PS("x"), PS("x")))
scaled, total, gathered, rolled = coll(x16)
print("psum of the 8 blocks:\n", total)

# %% [markdown]
# The result of a `shard_map` is an ordinary `jax.Array` laid out over the
# devices; `.sharding` says how:

# %%
print(scaled.sharding, "| block on device 3:", scaled.addressable_shards[3].data.tolist())

# %% [markdown]
# The whole mapped computation is **one** equation of our IR, `shard_map`,
# holding the per-device body (traced once, at the per-shard shapes
# `f32[2,3]`): the collectives are equations of that body, and `psum` appears
# as `psum_invariant` because `check_vma` tracks which values vary over `"x"`.

# %%
print(fx.make_graph(coll)(x16))

# %% [markdown]
# The reference is a loop over the devices in numpy:

# %%
blocks = x16.reshape(8, 2, 3)
np.testing.assert_array_equal(scaled, np.concatenate([b * i for i, b in enumerate(blocks)]))
np.testing.assert_array_equal(total, blocks.sum(0))
np.testing.assert_array_equal(gathered, np.tile(x16, (8, 1)))   # 8 copies of x
np.testing.assert_array_equal(rolled, np.roll(blocks, 1, axis=0).reshape(16, 3))
print("collectives equal the numpy loop over devices")

# %% [markdown]
# ## Data parallel: the digits MLP on 8 shards
#
# Each device gets 1/8 of the batch and a full copy of the parameters. The
# loss is its shard's mean loss `pmean`-ed over the 8 devices, so it is the
# full batch's mean (with equal shards), the same on every device. Its
# gradient with respect to the replicated parameters is taken *inside* the
# body: as in jax (`check_vma=True`), the replicated parameters are cast to
# per-device values where they meet the sharded batch (`pvary`, printed in the
# IR), and the transpose of that cast sums their gradient over the devices
# (one all-reduce). Every device applies the same update, the parameters stay
# replicated (`out_specs=PS()`): the step equals the one-device step on the
# whole batch.

# %%
digits = load_digits()
x_all = (digits.data / 16.0).astype(np.float32)
y_all = digits.target.astype(np.int32)
perm = np.random.default_rng(0).permutation(len(x_all))
x_all, y_all = x_all[perm], y_all[perm]
x_test, y_test = x_all[:360], y_all[:360]
x_train, y_train = x_all[360:], y_all[360:]


def init_mlp(rng, sizes=(64, 64, 10)):
    return [{"w": (rng.normal(size=(m, n)) * np.sqrt(2.0 / m)).astype(np.float32),
             "b": np.zeros(n, np.float32)}
            for m, n in zip(sizes[:-1], sizes[1:])]


def mlp(params, x):
    for layer in params[:-1]:
        x = fnn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss(params, x, y):
    logits = mlp(params, x)
    return -fnp.mean(fnp.sum(fnn.log_softmax(logits) * fnn.one_hot(y, 10), axis=-1))


LR = 0.5


def sgd(params, g):
    return jax.tree_util.tree_map(lambda p, g: p - LR * g, params, g)


def dp_body(params, x, y):                  # the per-device program
    l, g = value_and_grad(lambda p: P.pmean(loss(p, x, y), "x"))(params)
    return sgd(params, g), l


dp_step = jit(shard_map(dp_body, mesh=mesh, in_specs=(PS(), PS("x"), PS("x")),
                        out_specs=(PS(), PS())))


@jit
def one_device_step(params, x, y):
    l, g = value_and_grad(loss)(params, x, y)
    return sgd(params, g), l


params0 = init_mlp(np.random.default_rng(0))
params, ref_params = params0, params0
batches = np.random.default_rng(1).integers(0, len(x_train), size=(40, 128))
dp_losses, max_param_diff = [], 0.0
t0 = time.perf_counter()
for idx in batches:
    params, l = dp_step(params, x_train[idx], y_train[idx])
    ref_params, ref_l = one_device_step(ref_params, x_train[idx], y_train[idx])
    dp_losses.append(float(l))
    max_param_diff = max(max_param_diff, max_diff(params, ref_params))
print(f"{len(batches)} steps in {time.perf_counter() - t0:.1f} s; loss {dp_losses[0]:.3f} -> "
      f"{np.mean(dp_losses[-5:]):.3f}; max |8-device params - 1-device params| = "
      f"{max_param_diff:.1e}")
dp_acc = float(np.mean(np.argmax(jit(mlp)(params, x_test), -1) == y_test))
print(f"test accuracy after {len(batches)} steps: {dp_acc:.3f}")
print("parameters:", params[0]["w"].sharding)

fig, ax = plt.subplots(figsize=(5, 2.6))
ax.plot(dp_losses)
ax.set_xlabel("step")
ax.set_ylabel("training loss")
ax.set_title("digits MLP, data parallel over 8 devices")
plt.show()

# %% [markdown]
# The graph of the step: one `shard_map` whose body holds the forward pass,
# the backward pass and the `pmean`s (`psum` then a division by 8) of the
# gradients:

# %%
step_graph = fx.make_graph(dp_step)(params0, x_train[:128], y_train[:128])
body = step_graph.equations[0].params["body"]
print(sorted({e.primitive.name for e in body.graph.equations}))
print(*[ln for ln in str(body).splitlines() if "psum" in ln], sep="\n")

# %% [markdown]
# ## Tensor parallel: a Megatron MLP block
#
# For layers too big for one device, split the weights instead of the batch.
# In Megatron-LM's MLP block `relu(x @ w1) @ w2`, `w1` is split by columns and
# `w2` by rows: each device computes `relu(x @ w1[:, block])` with no
# communication (the ReLU is elementwise), multiplies by its rows of `w2`, and
# one `psum` adds the 8 partial products.

# %%
rng = np.random.default_rng(2)
x_tp = rng.normal(size=(16, 32)).astype(np.float32)
w1 = (rng.normal(size=(32, 128)) / np.sqrt(32)).astype(np.float32)
w2 = (rng.normal(size=(128, 32)) / np.sqrt(128)).astype(np.float32)


def mlp_block(w1, w2, x):
    return fnn.relu(x @ w1) @ w2


tp_block = jit(shard_map(lambda w1, w2, x: P.psum(mlp_block(w1, w2, x), "x"), mesh=mesh,
                         in_specs=(PS(None, "x"), PS("x", None), PS()), out_specs=PS()))
tp_out = tp_block(w1, w2, x_tp)
tp_ref = jit(mlp_block)(w1, w2, x_tp)
tp_diff = max_diff(tp_out, tp_ref)
print(f"per device: w1 {w1.shape} -> {(32, 128 // 8)}, w2 {w2.shape} -> {(128 // 8, 32)}; "
      f"max |tensor parallel - one device| = {tp_diff:.1e}")

# %% [markdown]
# Its gradient goes through the same `shard_map`: our `grad` transposes the
# body (the transpose of the `psum` of a varying value is a broadcast, no
# communication), and the weight gradients come back split like the weights.

# %%
def tp_loss(w1, w2, x):
    return fnp.sum(tp_block(w1, w2, x) ** 2)


def ref_loss(w1, w2, x):
    return fnp.sum(mlp_block(w1, w2, x) ** 2)


g_tp = jit(grad(tp_loss, argnums=(0, 1)))(w1, w2, x_tp)
g_ref = jit(grad(ref_loss, argnums=(0, 1)))(w1, w2, x_tp)
tp_grad_diff = max_diff(g_tp, g_ref)
print("dw1:", g_tp[0].sharding.spec, " dw2:", g_tp[1].sharding.spec,
      f" max |grad tensor parallel - one device| = {tp_grad_diff:.1e}")

# %% [markdown]
# ## FSDP by annotations: GSPMD inserts the collectives
#
# Fully-sharded data parallelism (ZeRO-3) keeps parameters, gradients and
# optimizer state sharded; each device gathers a layer's weights when it needs
# them. With annotations, we only say *where* values live:
# `jit(in_shardings=, out_shardings=)` for the inputs and outputs (parameters
# sharded by rows over the 8 devices, the batch by examples), and
# `P.with_sharding_constraint` inside (the parameters replicated where the
# forward pass uses them, the gradients sharded again). XLA's SPMD partitioner
# works out the collectives.

# %%
shard, repl = NamedSharding(mesh, PS("x")), NamedSharding(mesh, PS())


def fsdp_step(params, x, y):
    def constrained_loss(p):
        return loss(P.with_sharding_constraint(p, repl), x, y)   # gather the weights
    g = P.with_sharding_constraint(grad(constrained_loss)(params), shard)  # scatter the grads
    return sgd(params, g)


# the 10-wide output layer does not split into 8: shard the 64-row weights, replicate the rest
param_shardings = [{"w": shard, "b": repl}, {"w": shard, "b": repl}]
fsdp = jit(fsdp_step, in_shardings=(param_shardings, shard, shard),
           out_shardings=param_shardings)
xb, yb = x_train[:128], y_train[:128]
fsdp_params = fsdp(params0, xb, yb)
fsdp_ref, _ = one_device_step(params0, xb, yb)
fsdp_diff = max_diff(fsdp_params, fsdp_ref)
print("w0 after the step:", fsdp_params[0]["w"].sharding,
      f"\nmax |FSDP step - one-device step| = {fsdp_diff:.1e}")

# %% [markdown]
# The annotations are equations of the IR (`sharding_constraint`), so they
# survive `grad` and are printed:

# %%
fsdp_graph = fx.make_graph(fsdp_step)(params0, xb, yb)
print(*[ln[:150] for ln in str(fsdp_graph).splitlines() if "sharding_constraint" in ln][:4],
      "...", sep="\n")

# %% [markdown]
# The collectives GSPMD chose are in the compiled (partitioned) HLO: the
# module is the per-device program, and the communication shows up as
# `all-reduce`, `all-gather`, `reduce-scatter` ... instructions. Here: an
# `all-gather` of each row-sharded weight before the forward pass uses it,
# and an `all-reduce` adding up the gradient contributions of the 8 batch
# shards, of which each device then keeps its own rows.

# %%
hlo = fsdp.lower(params0, xb, yb).compile().as_text()
fsdp_collectives = sorted(set(re.findall(r"\b(all-reduce|all-gather|reduce-scatter|"
                                         r"all-to-all|collective-permute)\b", hlo)))
print("collectives in the compiled FSDP step:", fsdp_collectives)
for kind in fsdp_collectives:      # the first instruction of each kind
    print(next(ln.strip()[:150] for ln in hlo.splitlines() if f" {kind}(" in ln))

# %% [markdown]
# The data-parallel `shard_map` step written by hand compiles to the same kind
# of program: its `pmean`s are `all-reduce`s (XLA combines the five of them,
# one per parameter and one for the loss, into one instruction over a tuple).

# %%
dp_hlo = dp_step.lower(params0, xb, yb).compile().as_text()
n_all_reduce = len(re.findall(r" all-reduce(?:-start)?\(", dp_hlo))
print(f"all-reduce instructions in the data-parallel step: {n_all_reduce}")

# %% [markdown]
# ## `pmap`
#
# `pmap` is the older spelling: map a function over the leading axis of its
# arguments, one slice per device. As in jax 0.10 it is a `shard_map` over a
# one-axis mesh, compiled by `jit`. Here a per-device normalization, and
# per-example gradients on 8 devices, which equal `vmap`'s on one device
# (`pmap` has `vmap`'s interface: `in_axes`, `out_axes`, `axis_name`):

# %%
xs = np.random.default_rng(3).normal(size=(8, 5)).astype(np.float32)
normalized = pmap(lambda v: v / P.psum(fnp.sum(v), "i"), axis_name="i")(xs)
np.testing.assert_allclose(normalized, xs / xs.sum(), rtol=1e-5, atol=1e-6)

xs8, ys8 = x_train[:8, None], y_train[:8, None]        # 8 slices: f32[1, 64] and i32[1]
per_example = pmap(grad(loss), axis_name="i", in_axes=(None, 0, 0))(params0, xs8, ys8)
per_example_ref = jit(vmap(grad(loss), in_axes=(None, 0, 0)))(params0, xs8, ys8)   # one device
pmap_diff = max_diff(per_example, per_example_ref)
print("per-example gradient shapes:", [layer["w"].shape for layer in per_example],
      f"max |pmap - one device| = {pmap_diff:.1e}")

# %% [markdown]
# ## DP-SGD data parallel
#
# DP-SGD clips **each example's** gradient, so data parallelism is natural:
# each device clips the gradients of its own examples and sums them
# (`dp.clipped_gradient_sum`), one `psum` adds the 8 clipped sums, and the
# noise is drawn **once**, outside the `shard_map`, with the step's key
# (`dp.noisy_mean`). The result is the one-device DP-SGD gradient, up to the
# order of the summation, noise included.

# %%
C, SIGMA, B = 1.0, 1.1, 128


def example_loss(params, ex):
    logits = mlp(params, ex["x"][None])[0]
    return -fnp.sum(fnn.log_softmax(logits) * fnn.one_hot(ex["y"], 10))


def clipped_sum_body(params, batch):
    # per-device parameters (jax's pcast): each device's per-example gradients stay its
    # own; replicated ones would have them summed over the devices, as in jax
    params = P.pcast(params, "x", to="varying")
    s, _ = dp.clipped_gradient_sum(example_loss, params, batch, l2_norm_clip=C)
    return P.psum(s, "x")


clipped_sum = shard_map(clipped_sum_body, mesh=mesh, in_specs=(PS(), PS("x")), out_specs=PS())


@jit
def dp_sgd_grad_8(params, batch, key):
    return dp.noisy_mean(clipped_sum(params, batch), l2_norm_clip=C, noise_multiplier=SIGMA,
                         key=key, divisor=B)


@jit
def dp_sgd_grad_1(params, batch, key):
    s, _ = dp.clipped_gradient_sum(example_loss, params, batch, l2_norm_clip=C)
    return dp.noisy_mean(s, l2_norm_clip=C, noise_multiplier=SIGMA, key=key, divisor=B)


batch = {"x": x_train[:B], "y": y_train[:B]}
key = frandom.PRNGKey(0)
g8 = dp_sgd_grad_8(params0, batch, key)
g1 = dp_sgd_grad_1(params0, batch, key)
dpsgd_diff = max_diff(g8, g1)
print(f"max |8-device DP-SGD gradient - 1-device| = {dpsgd_diff:.1e} "
      f"(the noise std per coordinate is sigma*C/B = {SIGMA * C / B:.4f})")

# %% [markdown]
# And the same privatized gradient without the noise (`noise_multiplier=0`)
# against clipping computed from `jax.vmap(jax.grad)` per-example gradients:

# %%
@jit
def dp_clipped_mean_8(params, batch):
    return dp.noisy_mean(clipped_sum(params, batch), l2_norm_clip=C, noise_multiplier=0.0,
                         divisor=B)


def jax_example_loss(params, ex):
    h = ex["x"][None]
    for layer in params[:-1]:
        h = jax.nn.relu(h @ layer["w"] + layer["b"])
    logits = (h @ params[-1]["w"] + params[-1]["b"])[0]
    return -jnp.sum(jax.nn.log_softmax(logits) * jax.nn.one_hot(ex["y"], 10))


@jax.jit
def jax_clipped_mean(params, batch):
    g = jax.vmap(jax.grad(jax_example_loss), in_axes=(None, 0))(params, batch)
    leaves = jax.tree_util.tree_leaves(g)
    norms = jnp.sqrt(sum(jnp.sum(v.reshape(B, -1) ** 2, 1) for v in leaves))
    scale = jnp.minimum(1.0, C / norms)
    return jax.tree_util.tree_map(lambda v: jnp.tensordot(scale, v, 1) / B, g)


clip_diff = max_diff(dp_clipped_mean_8(params0, batch), jax_clipped_mean(params0, batch))
print(f"max |8-device clipped mean - jax.vmap(jax.grad) reference| = {clip_diff:.1e}")

# %% [markdown]
# ## Checks
#
# The notebook fails if any of these does not hold.

# %%
# data parallel == one device, step by step; and it trained
assert max_param_diff < 1e-4, max_param_diff
assert np.mean(dp_losses[-5:]) < 0.5 * dp_losses[0], dp_losses
assert dp_acc > 0.8, dp_acc
assert {e.primitive.name for e in body.graph.equations} >= {"psum_invariant", "dot_general"}
# tensor parallel == one device, values and gradients; gradients sharded like the weights
assert tp_diff < 1e-4, tp_diff
assert tp_grad_diff < 1e-3 * max(float(np.max(np.abs(g))) for g in g_ref), tp_grad_diff
# FSDP by annotations == one device; the compiled program communicates
assert fsdp_diff < 1e-5, fsdp_diff
assert fsdp_params[0]["w"].sharding.spec == PS("x")
assert fsdp_collectives, "no collective in the FSDP HLO"
assert n_all_reduce >= 1, n_all_reduce
# pmap
assert pmap_diff < 1e-5, pmap_diff
# DP-SGD data parallel == one-device DP-SGD (noise included) == the jax reference
assert dpsgd_diff < 1e-5, dpsgd_diff
assert clip_diff < 1e-5, clip_diff
print(f"all checks passed; notebook ran in {time.perf_counter() - T_START:.1f} s")
