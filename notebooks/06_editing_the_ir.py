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
# # Editing the IR
#
# A jaxpr is not meant to be edited, and torch.fx graphs do not go back
# through `grad` and `vmap`. In fxjax a traced graph is an ordinary,
# immutable value: you can search it, edit it, rewrite patterns in it and run
# passes over it, and `fx.graph_to_fn(edited)` turns the result back into a
# function that every transformation takes (`grad`, `vmap`, `jit`,
# `shard_map`, the DP clipping plan). Every edit ends in the typechecker, so
# a broken edit fails with an error naming the equation, not later in XLA.
#
# On a small transformer-ish classifier of the digits, this notebook:
#
# 1. finds equations and edits them by hand with `fx.Editor`;
# 2. rewrites a pattern (a numerically unstable log-sum-exp) with `fx.passes.rewrite`;
# 3. folds constants with `fx.passes.fold_constants`;
# 4. writes a pass as an `fx.Transformer` subclass (and an `fx.Interpreter` that
#    records activations);
# 5. counts FLOPs per primitive and per source line (`count_flops`);
# 6. trains an MLP in bfloat16 with the `mixed_precision` pass (`jit(passes=...)`);
# 7. replaces the attention by the flash-attention kernel (`fuse_attention`)
#    and checks the gradient of the edited graph;
# 8. shows the HTML view of a graph.

# %%
import time

import jax
import jax.numpy as jnp
import numpy as np
from IPython.display import display
from sklearn.datasets import load_digits

import fx
import optim
import primitives as P
import primitives.nn as fnn
import primitives.numpy as fnp
from fx.passes import fold_constants, rewrite
from pallas_kernels import fuse_attention
from transforms import grad, jit, value_and_grad
from transforms.passes import count_flops, mixed_precision

T_START = time.perf_counter()
# we compare values here, not speed: XLA's optimization passes only cost compile time
jax.config.update("jax_disable_most_optimizations", True)


def max_diff(a, b):
    """Largest absolute difference between two pytrees of arrays."""
    return max(float(jnp.max(jnp.abs(jnp.asarray(x, jnp.float32) - jnp.asarray(y, jnp.float32))))
               for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


digits = load_digits()
x_all = (digits.data / 16.0).astype(np.float32)
y_all = digits.target.astype(np.int32)
perm = np.random.default_rng(0).permutation(len(x_all))
x_all, y_all = x_all[perm], y_all[perm]
x_test, y_test = x_all[:360], y_all[:360]
x_train, y_train = x_all[360:], y_all[360:]

# %% [markdown]
# ## The model
#
# Each 8x8 image is a sequence of 8 tokens (its rows). The model embeds them,
# adds a sinusoidal position encoding (computed from `arange` inside the
# model, as people write it), applies one attention layer written with
# `einsum` on the `[batch, seq, heads, head_dim]` layout and a `tanh` MLP,
# mean-pools and classifies. The loss computes the log-partition function
# the naive way, `log(sum(exp(logits)))`: we will fix that with a rewrite.

# %%
D_MODEL, HEADS = 16, 2
DH = D_MODEL // HEADS


def position_encoding(t, d):
    pos = fnp.arange(t, dtype=np.float32)[:, None]
    freq = fnp.exp(fnp.arange(0, d, 2, dtype=np.float32) * (-float(np.log(1e4)) / d))
    angles = pos * freq[None, :]
    return fnp.concatenate([fnp.sin(angles), fnp.cos(angles)], axis=-1)      # [t, d]


def attention(q, k, v):                                      # [b, t, h, dh]
    s = fnp.einsum("bqhd,bkhd->bhqk", q, k) * DH ** -0.5
    return fnp.einsum("bhqk,bkhd->bqhd", fnn.softmax(s, axis=-1), v)


def model(params, x):                                        # x: f32[b, 64]
    b = x.shape[0]
    h = x.reshape(b, 8, 8) @ params["embed"] + position_encoding(8, D_MODEL)
    q, k, v = ((h @ params[n]).reshape(b, 8, HEADS, DH) for n in ("wq", "wk", "wv"))
    h = h + attention(q, k, v).reshape(b, 8, D_MODEL) @ params["wo"]
    h = h + fnp.tanh(h @ params["w1"]) @ params["w2"]
    return fnp.mean(h, axis=1) @ params["head"]


def loss(params, x, y):
    logits = model(params, x)
    log_z = fnp.log(fnp.sum(fnp.exp(logits), axis=-1))      # naive: overflows for large logits
    return fnp.mean(log_z - fnp.sum(logits * fnn.one_hot(y, 10), axis=-1))


def init(rng):
    def dense(m, n):
        return (rng.normal(size=(m, n)) / np.sqrt(m)).astype(np.float32)
    return {"embed": dense(8, D_MODEL), "wq": dense(D_MODEL, D_MODEL), "wk": dense(D_MODEL, D_MODEL),
            "wv": dense(D_MODEL, D_MODEL), "wo": dense(D_MODEL, D_MODEL),
            "w1": dense(D_MODEL, 32), "w2": dense(32, D_MODEL), "head": dense(D_MODEL, 10)}


params = init(np.random.default_rng(0))
xb, yb = x_train[:32], y_train[:32]
g = fx.make_graph(loss)(params, xb, yb)
print(f"{len(g.equations)} equations; the first ten:")
print("\n".join(str(g).splitlines()[:11]))

# %% [markdown]
# ## 1. Finding and editing equations
#
# `fx.find(graph, primitive, params=..., file=..., line=..., function=...)`
# returns equations; every equation remembers the source line that created it.

# %%
dots = fx.find(g, "dot_general")
print(len(dots), "dot_generals; lines:", sorted({e.source_info.line for e in dots}))
(tanh_eqn,) = fx.find(g, "tanh")
print("tanh at", tanh_eqn.source_info.function, "line", tanh_eqn.source_info.line)
print("dot_generals written in the function `attention`:",
      len(fx.find(g, "dot_general", function="attention")))

# %% [markdown]
# `fx.Editor(graph)` holds a working copy: `bind` inserts a new equation (its
# output type comes from the primitive's abstract evaluation),
# `replace_all_uses` reroutes the users, `erase` removes an equation and
# `build()` typechecks and returns a new graph (the original is untouched).
# Here the MLP's `tanh` becomes a `sin`:

# %%
ed = fx.Editor(g)
(t,) = ed.find("tanh")
s = ed.bind(P.sin_p, *t.inputs, before=t)
ed.replace_all_uses(t.outputs[0], s)
ed.erase(t)
g_sin = ed.build()
print([e.primitive.name for e in g_sin.equations if e.primitive.name in ("tanh", "sin")],
      "(the first sin is the position encoding's)")

# %% [markdown]
# The edited graph is a function again, of the same pytrees; we check it
# against the model written with `sin` in `jax.numpy`, values and gradients
# (our `grad` of the edited graph against `jax.grad`):

# %%
def jax_model(params, x, act=jnp.tanh, stable=False):
    b = x.shape[0]
    pos = jnp.arange(8, dtype=jnp.float32)[:, None]
    freq = jnp.exp(jnp.arange(0, D_MODEL, 2, dtype=jnp.float32) * (-float(np.log(1e4)) / D_MODEL))
    pe = jnp.concatenate([jnp.sin(pos * freq), jnp.cos(pos * freq)], axis=-1)
    h = x.reshape(b, 8, 8) @ params["embed"] + pe
    q, k, v = ((h @ params[n]).reshape(b, 8, HEADS, DH) for n in ("wq", "wk", "wv"))
    a = jax.nn.dot_product_attention(q, k, v).reshape(b, 8, D_MODEL)
    h = h + a @ params["wo"]
    h = h + act(h @ params["w1"]) @ params["w2"]
    return jnp.mean(h, axis=1) @ params["head"]


def jax_loss(params, x, y, act=jnp.tanh):
    logits = jax_model(params, x, act)
    return jnp.mean(jax.nn.logsumexp(logits, -1) - jnp.sum(logits * jax.nn.one_hot(y, 10), -1))


loss_sin = fx.graph_to_fn(g_sin)
edit_diff = max_diff(jit(value_and_grad(loss_sin))(params, xb, yb),
                     jax.jit(jax.value_and_grad(lambda p, x, y: jax_loss(p, x, y, jnp.sin)))(
                         params, xb, yb))
print(f"max |edited graph (value, grad) - jax model with sin| = {edit_diff:.1e}")

# %% [markdown]
# ## 2. Rewriting a pattern
#
# `fx.passes.rewrite(graph, pattern, replacement)` has torch.fx's
# `replace_pattern` semantics: the pattern is a function whose inputs are
# wildcards, every non-overlapping match is replaced by the replacement
# traced at the match's types. Unlike torch.fx the pattern is written once
# for every shape and dtype (`example_args` only fixes its rank). Our loss's
# `log(sum(exp(z)))` overflows to `inf` as soon as a logit passes ~88; the
# replacement is the stable `logsumexp`:

# %%
def naive_lse(z):
    return fnp.log(fnp.sum(fnp.exp(z), axis=-1))


def stable_lse(z):
    return fnn.logsumexp(z, axis=-1)


g_stable, matches = rewrite(g, naive_lse, stable_lse, example_args=(np.zeros((2, 3), np.float32),))
print(f"{len(matches)} match(es); the equations the match covered:",
      [e.primitive.name for e in matches[0].equations])

big = {**params, "head": params["head"] * 300.0}           # logits in the thousands
naive_value = float(jit(loss)(big, xb, yb))
stable_jit = jit(fx.graph_to_fn(g_stable))
stable_value = float(stable_jit(big, xb, yb))
jax_value = float(jax.jit(jax_loss)(big, xb, yb))
print(f"loss with large logits: naive {naive_value}, rewritten {stable_value:.4f}, "
      f"jax.nn.logsumexp {jax_value:.4f}")

# %% [markdown]
# ## 3. Folding constants
#
# The position encoding depends on no input: `fold_constants` evaluates those
# equations once, at trace time, and the graph carries the `[8, 16]` result as
# a constant instead of recomputing it at each step.

# %%
g_folded = fold_constants(g_stable)
print(f"equations: {len(g_stable.equations)} -> {len(g_folded.equations)} after folding; "
      f"constants: {len(g_stable.consts)} -> {len(g_folded.consts)}")
print("sin/cos/exp left:", [e.primitive.name for e in g_folded.equations
                           if e.primitive.name in ("sin", "cos", "exp")])
fold_diff = max_diff(jit(fx.graph_to_fn(g_folded))(params, xb, yb),
                     stable_jit(params, xb, yb))

# %% [markdown]
# ## 4. Passes as interpreters
#
# `fx.Interpreter` evaluates a graph equation by equation; override
# `run_equation(eqn, invals)` to do something else along the way. An
# interpreter that records the range of every `tanh`'s input, which it returns
# with the loss. The interpreter binds primitives, so it runs under our
# transformations like any function: under `jit` it records traced values,
# and the whole evaluation is one compiled program instead of one small
# program per equation:

# %%
class ActivationRanges(fx.Interpreter):
    def __init__(self, graph):
        super().__init__(graph)
        self.ranges = {}

    def run_equation(self, eqn, invals):
        if eqn.primitive.name == "tanh":
            x = invals[0]
            self.ranges[f"line {eqn.source_info.line}"] = (fnp.min(x), fnp.max(x))
        return super().run_equation(eqn, invals)


@jit
def loss_and_ranges(params, x, y):
    recorder = ActivationRanges(g)
    (value,) = recorder.run(*jax.tree_util.tree_leaves((params, x, y)))
    return value, recorder.ranges


rec_loss, ranges = loss_and_ranges(params, xb, yb)
print(f"loss {float(rec_loss):.4f}; tanh input ranges:",
      {k: (round(float(lo), 3), round(float(hi), 3)) for k, (lo, hi) in ranges.items()})

# %% [markdown]
# `fx.Transformer` (torch.fx's Transformer) builds a **new graph**: the
# equations `run_equation` passes to `super()` are copied, the others bind
# whatever you return. A pass replacing every `tanh` by a hard tanh
# `clip(x, -1, 1)`:

# %%
class HardTanh(fx.Transformer):
    def run_equation(self, eqn, invals):
        if eqn.primitive.name == "tanh":
            return [fnp.clip(invals[0], -1.0, 1.0)]
        return super().run_equation(eqn, invals)


g_hard = HardTanh(g_stable).transform()
print("new primitives:", sorted({e.primitive.name for e in g_hard.equations}
                               - {e.primitive.name for e in g_stable.equations}))


def jax_hard_loss(p, x, y):
    return jax_loss(p, x, y, lambda z: jnp.clip(z, -1.0, 1.0))


hard_diff = max_diff(jit(grad(fx.graph_to_fn(g_hard)))(params, xb, yb),
                     jax.jit(jax.grad(jax_hard_loss))(params, xb, yb))
print(f"max |grad of the hard-tanh graph - jax.grad of the jax model with clip| = {hard_diff:.1e}")

# %% [markdown]
# ## 5. Counting FLOPs
#
# `count_flops` reads each equation's types (nothing is evaluated): a matmul
# costs `2 * |out| * |contracted|`, an elementwise op one FLOP per element, data
# movement none. The report is a table per primitive and per source line;
# here for the loss on a batch of 32:

# %%
fwd_report = count_flops(loss)(params, xb, yb)
print(fwd_report)

# %% [markdown]
# and, per primitive, for its gradient (the whole backward pass):

# %%
report = count_flops(grad(loss))(params, xb, yb)
print(report.table(top=8).split("\n\n")[0])

# %% [markdown]
# The forward matmuls by hand: embedding, q/k/v/o projections, the two
# attention einsums, the MLP and the head; the backward pass of each matmul
# costs twice its forward (one product per operand, less the input `x`'s,
# which needs no gradient):

# %%
b_, t_ = xb.shape[0], 8
fwd_dots = {"embed": 2 * b_ * t_ * 8 * D_MODEL, "wq,wk,wv,wo": 4 * 2 * b_ * t_ * D_MODEL ** 2,
            "scores, p @ v": 2 * 2 * b_ * HEADS * t_ * t_ * DH,
            "mlp": 2 * 2 * b_ * t_ * D_MODEL * 32, "head": 2 * b_ * D_MODEL * 10}
fwd_total = sum(fwd_dots.values())
bwd_total = 2 * fwd_total - fwd_dots["embed"]          # no gradient for x
print(f"dot_general FLOPs of the loss: counted {fwd_report.by_primitive['dot_general'][1]:,}, "
      f"by hand {fwd_total:,}\n"
      f"dot_general FLOPs of its gradient: counted {report.by_primitive['dot_general'][1]:,}, "
      f"by hand {fwd_total + bwd_total:,}")

# %% [markdown]
# ## 6. Mixed precision
#
# `mixed_precision(graph)` rewrites every float32 `dot_general` (and
# convolution) into bfloat16 operands with float32 accumulation
# (`preferred_element_type=float32`), the rest unchanged: the softmax, the
# loss and the optimizer stay in float32. As a pass of `jit`
# (`jit(step, passes=[mixed_precision])`) it applies to the graph of the
# whole training step, backward pass included. We train the digits MLP both
# ways for 30 steps from the same initialization on the same batches:

# %%
def mlp(params, x):
    h = fnn.relu(x @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def mlp_loss(params, x, y):
    logits = mlp(params, x)
    return -fnp.mean(fnp.sum(fnn.log_softmax(logits) * fnn.one_hot(y, 10), axis=-1))


rng = np.random.default_rng(1)
mlp_params = {"w1": (rng.normal(size=(64, 64)) * np.sqrt(2 / 64)).astype(np.float32),
              "b1": np.zeros(64, np.float32),
              "w2": (rng.normal(size=(64, 10)) * np.sqrt(1 / 64)).astype(np.float32),
              "b2": np.zeros(10, np.float32)}
tx = optim.adam(1e-2)


def train_step(params, opt_state, x, y):
    l, gr = value_and_grad(mlp_loss)(params, x, y)
    updates, opt_state = tx.update(gr, opt_state, params)
    return optim.apply_updates(params, updates), opt_state, l


steps = {"f32": jit(train_step), "bf16": jit(train_step, passes=[mixed_precision])}
bf16_lines = [ln.strip()[:120] for ln in str(steps["bf16"].graph(mlp_params, tx.init(mlp_params),
                                                                 xb, yb)).splitlines() if "bf16" in ln]
print(f"{len(bf16_lines)} lines of the step's graph mention bf16; the first four:",
      *bf16_lines[:4], sep="\n")
batches = np.random.default_rng(2).integers(0, len(x_train), size=(30, 128))
final = {}
for name, step in steps.items():
    p, s_ = mlp_params, tx.init(mlp_params)
    for idx in batches:
        p, s_, _ = step(p, s_, x_train[idx], y_train[idx])
    final[name] = (float(jit(mlp_loss)(p, x_train, y_train)),
                   float(np.mean(np.argmax(jit(mlp)(p, x_test), -1) == y_test)))
    print(f"{name:5s}: training loss {final[name][0]:.4f}, test accuracy {final[name][1]:.3f}")
    if name == "f32":
        p_f32 = p
mp_rel = abs(final["bf16"][0] - final["f32"][0]) / final["f32"][0]
print(f"relative difference of the final losses: {100 * mp_rel:.2f}%")

# %% [markdown]
# The two runs drift apart slowly as training goes on (each step's rounding
# changes the next step's input); at the *same* parameters the bfloat16 loss
# is within a fraction of a percent of the float32 one:

# %%
loss_f32 = float(jit(mlp_loss)(p_f32, x_train, y_train))
loss_bf16 = float(jit(mlp_loss, passes=[mixed_precision])(p_f32, x_train, y_train))
mp_same_rel = abs(loss_bf16 - loss_f32) / loss_f32
print(f"at the f32-trained parameters: f32 loss {loss_f32:.5f}, bf16 loss {loss_bf16:.5f} "
      f"({100 * mp_same_rel:.3f}%)")

# %% [markdown]
# ## 7. Attention -> the flash-attention kernel
#
# `pallas_kernels.fuse_attention` is a set of `rewrite` patterns: the
# spellings of `softmax(q kᵀ * scale + bias/mask) v` (einsum, `@` with
# transposes, `fnn.dot_product_attention`) each replaced by
# `flash_attention` (FlashAttention-2 in Pallas; interpret mode on this CPU).
# The model was written plainly, and is not edited:

# %%
g_fused, counts = fuse_attention(g_stable, return_matches=True)
print("matched:", counts)
print("flash attention in the new graph:",
      [e.primitive.name for e in fx.find(g_fused, ["flash_attention_fwd"], recursive=True)],
      f"| exp equations: {len(fx.find(g_stable, 'exp'))} -> {len(fx.find(g_fused, 'exp'))} "
      f"(the softmax's is gone)")

# %% [markdown]
# The gradient of the edited graph goes through the kernel's backward pass
# (`flash_attention_bwd`); it equals the gradient of the original graph:

# %%
fused_loss = fx.graph_to_fn(g_fused)
stable_loss = fx.graph_to_fn(g_stable)
v_fused, g_fused_grad = jit(value_and_grad(fused_loss))(params, xb, yb)
v_orig, g_orig_grad = jit(value_and_grad(stable_loss))(params, xb, yb)
fuse_diff = max_diff((v_fused, g_fused_grad), (v_orig, g_orig_grad))
grad_eqns = fx.make_graph(grad(fused_loss))(params, xb, yb)
print(f"max |value and grad, fused - original| = {fuse_diff:.1e}; backward kernel in the "
      f"gradient graph: {bool(fx.find(grad_eqns, 'flash_attention_bwd', recursive=True))}")

# %% [markdown]
# ## 8. Viewing a graph
#
# `print(graph)` is the stable text form. In a notebook, a graph at the end of
# a cell renders as HTML (`ClosedGraph._repr_html_`): one line per equation,
# types in green, the source line of each equation on the right (and on
# hover), sub-graphs (the custom derivative rules, the kernel's `custom_vjp`)
# folded in `<details>` blocks. `fx.dot_source(graph)` gives Graphviz DOT text.

# %%
small = fx.make_graph(lambda p, x: mlp(p, x))(mlp_params, xb[:2])
html = small._repr_html_()
dot = fx.dot_source(small)
print(f"HTML: {len(html)} characters; DOT: {len(dot.splitlines())} lines")
display(small)

# %% [markdown]
# ## Checks
#
# The notebook fails if any of these does not hold.

# %%
assert edit_diff < 1e-5, edit_diff                      # Editor: tanh -> sin == jax with sin
assert not fx.find(g_sin, "tanh") and len(fx.find(g_sin, "sin")) == len(fx.find(g, "sin")) + 1
assert len(matches) == 1                                # rewrite
assert not np.isfinite(naive_value) and abs(stable_value - jax_value) < 1e-3 * abs(jax_value)
assert len(g_folded.equations) < len(g_stable.equations) and fold_diff < 1e-6   # fold
assert not fx.find(g_folded, ["sin", "cos"])
assert len(ranges) == 1 and hard_diff < 1e-5            # Interpreter, Transformer
assert abs(float(rec_loss) - float(jax.jit(jax_loss)(params, xb, yb))) < 1e-5
assert fwd_report.by_primitive["dot_general"][1] == fwd_total              # FLOP count
assert report.by_primitive["dot_general"][1] == fwd_total + bwd_total
assert mp_rel < 0.01, final                             # bf16 training within 1% of f32
assert mp_same_rel < 0.01, (loss_f32, loss_bf16)
assert final["bf16"][1] > 0.85, final
assert sum(counts.values()) == 1 and fuse_diff < 1e-5   # fuse_attention, grads equal
assert len(fx.find(g_fused, "exp")) == len(fx.find(g_stable, "exp")) - 1
assert "<details" in html or "<div" in html
print(f"all checks passed; notebook ran in {time.perf_counter() - T_START:.1f} s")

# %% [markdown]
# The whole loss graph, as the notebook shows it:

# %%
g_fused
