"""jax.numpy's inexact promotion under x64: integer/bool values up to 32 bits
compute in float32, 64-bit ones in float64 (jax's ``to_inexact_dtype``); bool
becomes int32 in numeric ops. Dtypes eager and under jit, against jax.numpy."""
import jax
import jax.numpy as jnp

import primitives.numpy as fnp
from transforms import eval_shape, jit

UNARY = ["mean", "var", "std", "sin", "sqrt", "exp", "log1p", "cbrt", "deg2rad", "sinc",
         "median", "nanmean", "average", "rint"]
BINARY = ["true_divide", "divide", "arctan2", "hypot", "logaddexp", "float_power", "heaviside",
          "fmod", "power"]




def test_int_and_bool_promotion_matches_jax_under_x64(x64):
    """Traced (eval_shape: no compile) for every input dtype, eager for int64: jax's
    dtypes come from jax.eval_shape (its eager dtypes are its abstract ones)."""
    inputs = [jnp.arange(4, dtype=jnp.int32), jnp.arange(4, dtype=jnp.int64),
              jnp.arange(4, dtype=jnp.uint8), jnp.asarray([True, False, True, True])]

    def every(lib):
        return lambda x: [getattr(lib, n)(*((x, x) if n in BINARY else (x,)))
                          for n in UNARY + BINARY]
    for x in inputs:
        want = [r.dtype for r in jax.eval_shape(every(jnp), x)]
        traced = [r.dtype for r in eval_shape(every(fnp), x)]
        eager = [r.dtype for r in every(fnp)(x)] if x.dtype == jnp.int64 else traced
        for name, o, oe, w in zip(UNARY + BINARY, traced, eager, want):
            assert o == oe == w, (name, x.dtype, o, oe, w)
    # a Python int is a weak int64 under x64: its inexact type is float64
    assert fnp.true_divide(3, 2).dtype == jnp.true_divide(3, 2).dtype
    # quantile computes in a's dtype whatever q's
    a = jnp.arange(5.0, dtype=jnp.bfloat16)
    q = jnp.asarray([0.2, 0.7])
    assert fnp.quantile(a, q).dtype == jnp.quantile(a, q).dtype


def test_switching_x64_does_not_reuse_promotions_or_graphs():
    """The promotion cache and jit's graph cache are keyed by x64 (as jax.jit)."""
    f = jit(lambda c: c / 10 + 0.5)
    c = jnp.asarray(3, jnp.int32)
    before = (fnp.true_divide(c, 10).dtype, f(c).dtype)
    jax.config.update("jax_enable_x64", True)
    try:
        under = (fnp.true_divide(3, 2).dtype, f(jnp.asarray(3, jnp.int64)).dtype, f(c).dtype)
        want = (jnp.true_divide(3, 2).dtype, (jnp.asarray(3, jnp.int64) / 10 + 0.5).dtype,
                (c / 10 + 0.5).dtype)
    finally:
        jax.config.update("jax_enable_x64", False)
    assert under == want
    assert (fnp.true_divide(c, 10).dtype, f(c).dtype) == before == (jnp.float32, jnp.float32)
