"""primitives.nn.dot_product_attention, log1mexp, logmeanexp, sparse_plus,
sparse_sigmoid against jax.nn: values, grads and vmap (one compile per side)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import primitives.nn as fnn
from fx.errors import ShapeError
from transforms import grad, vmap
from tests.oracle import assert_cases_same_as_jax

_rng = np.random.default_rng(0)


def _a(*shape, dtype=jnp.float32):
    return jnp.asarray(_rng.normal(size=shape), dtype)


Q, K, V = _a(2, 5, 4, 8), _a(2, 6, 2, 8), _a(2, 6, 2, 8)        # GQA: 4 query heads, 2 kv
BIAS, MASK = _a(2, 1, 5, 6), jnp.asarray(_rng.random((2, 4, 5, 6)) > 0.3)
QL, KL = jnp.array([5, 3], jnp.int32), jnp.array([6, 4], jnp.int32)
ATTENTION = {
    "plain": {}, "causal": dict(is_causal=True), "bias_mask": dict(bias=BIAS, mask=MASK),
    "seq_lengths": dict(query_seq_lengths=QL, key_value_seq_lengths=KL),
    "window": dict(local_window_size=(1, 2)), "window_int": dict(local_window_size=1),
    "scale_residual": dict(scale=0.3, return_residual=True),
    "xla": dict(implementation="xla", is_causal=True),
}


def _attention(lib, kw):
    return lambda q, k, v: lib.dot_product_attention(q, k, v, **kw)


def test_attention_and_functions_equal_jax():
    cases = [(f"attention/{n}", _attention(fnn, kw), _attention(jax.nn, kw), (Q, K, V))
             for n, kw in ATTENTION.items()]
    cases += [("attention/unbatched", _attention(fnn, {}), _attention(jax.nn, {}),
               (Q[0], K[0], V[0])),
              ("attention/mqa", _attention(fnn, {}), _attention(jax.nn, {}), (Q, K[:, :, :1],
                                                                             V[:, :, :1])),
              ("attention/grad_causal",
               grad(lambda q, k, v: fnn.dot_product_attention(q, k, v, is_causal=True).sum(),
                    argnums=(0, 1, 2)),
               jax.grad(lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=True)
                        .sum(), argnums=(0, 1, 2)), (Q, K, V)),
              ("attention/vmap", vmap(_attention(fnn, dict(is_causal=True))),
               jax.vmap(_attention(jax.nn, dict(is_causal=True))), (Q[None], K[None], V[None]))]
    x, xp = jnp.linspace(-2.5, 2.5, 11), jnp.linspace(0.01, 3.0, 9)
    m = jnp.array([[True, False, True], [True, True, False]])
    a = jnp.arange(6.0).reshape(2, 3)
    for name in ("sparse_plus", "sparse_sigmoid", "log1mexp"):
        arg = xp if name == "log1mexp" else x
        cases.append((name, getattr(fnn, name), getattr(jax.nn, name), (arg,)))
        cases.append((f"{name}/grad", vmap(grad(getattr(fnn, name))),
                      jax.vmap(jax.grad(getattr(jax.nn, name))), (arg,)))
    cases += [("logmeanexp/where", lambda a, m: fnn.logmeanexp(a, axis=1, where=m),
               lambda a, m: jax.nn.logmeanexp(a, axis=1, where=m), (a, m)),
              ("logmeanexp/all_keepdims", lambda a: fnn.logmeanexp(a, keepdims=True),
               lambda a: jax.nn.logmeanexp(a, keepdims=True), (a,))]
    assert_cases_same_as_jax(cases, rtol=2e-5, atol=2e-6,
                             eager=("attention/causal", "log1mexp", "logmeanexp/where"))


def test_attention_bf16_accumulates_in_f32():
    qb, kb, vb = (t.astype(jnp.bfloat16) for t in (Q, K, V))
    got, want = fnn.dot_product_attention(qb, kb, vb), jax.nn.dot_product_attention(qb, kb, vb)
    assert got.dtype == want.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.float32(got), np.float32(want), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("args,kw,match", [
    ((Q, K[:, :, :1].repeat(3, 2), V[:, :, :1].repeat(3, 2)), {}, "multiple of key/value heads"),
    ((Q, K, V), dict(mask=MASK.astype(jnp.int32)), "mask dtype should be bool"),
    ((Q, K, V[..., :4]), {}, "value shape should be"),
    ((Q, K, V), dict(implementation="flash"), "Unsupported implementation")],
    ids=["heads", "mask_dtype", "value_shape", "implementation"])
def test_attention_bad_input_is_a_value_error_as_jax(args, kw, match):
    with pytest.raises(ValueError):
        jax.nn.dot_product_attention(*args, **kw)
    with pytest.raises(ValueError, match=match):
        fnn.dot_product_attention(*args, **kw)
    if match != "Unsupported implementation":
        with pytest.raises(ShapeError):
            fnn.dot_product_attention(*args, **kw)
