"""The ``fft`` primitive (primitives/fft.py) and fnp.fft (primitives/numpy/fft.py)
against jax.lax.fft / jax.numpy.fft: every function x every norm (eager on
a few, all under one jit), lengths / axes variants, the frequency helpers,
jvp and transposes against JAX, finite differences to order 2 for the four
transform types, vmap against a loop, and JAX's errors."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import primitives as P
import primitives.numpy as fnp
from fx.errors import FxTypeError, ShapeError
from tests.oracle import (Case, assert_cases_jvp_matches, assert_cases_same_as_jax,
                          assert_cases_transpose_matches, assert_trees_close,
                          assert_vmap_matches_loop, check_grads_numerically)
from transforms import grad

rng = np.random.default_rng(0)
X = rng.normal(size=(3, 4, 5)).astype(np.float32)
Z = (X + 1j * rng.normal(size=X.shape)).astype(np.complex64)
X4 = rng.normal(size=(2, 3, 2, 4)).astype(np.float32)

NAMES = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
         "fftn", "ifftn", "rfftn", "irfftn"]
REAL_INPUT = ("rfft", "ihfft", "rfft2", "rfftn")
NORMS = (None, "backward", "ortho", "forward")


def _input(name):
    return X if name in REAL_INPUT else Z


def _variants(name):
    """(suffix, kwargs): default, a cropped/padded length, other axes."""
    if name.endswith(("2", "n")):
        return [("", {}), ("_s", {"s": (3, 6)}), ("_axes", {"axes": (0, 2)})]
    return [("", {}), ("_n", {"n": 6}), ("_axis", {"axis": 0}), ("_n3", {"n": 3, "axis": 1})]


def test_every_function_and_norm_same_as_jax():
    cases = []
    for name in NAMES:
        ours, theirs = getattr(fnp.fft, name), getattr(jnp.fft, name)
        for norm in NORMS:
            for suffix, kw in _variants(name) if norm == "ortho" else [("", {})]:
                cases.append(Case(f"{name}_{norm}{suffix}",
                                  lambda a, o=ours, n=norm, k=kw: o(a, norm=n, **k),
                                  lambda a, t=theirs, n=norm, k=kw: t(a, norm=n, **k),
                                  (_input(name),)))
    cases += [
        Case("fftn_4d", fnp.fft.fftn, jnp.fft.fftn, (X4,)),
        Case("irfftn_4d", fnp.fft.irfftn, jnp.fft.irfftn, (X4.astype(np.complex64),)),
        Case("rfftn_5_axes_s", lambda a: fnp.fft.rfftn(a[None], s=(1, 2, 3, 2, 4)),
             lambda a: jnp.fft.rfftn(a[None], s=(1, 2, 3, 2, 4)), (X4,)),
        Case("fft_of_int", fnp.fft.fft, jnp.fft.fft, (np.arange(4, dtype=np.int32),)),
        Case("fftfreq", lambda: fnp.fft.fftfreq(7, 0.5), lambda: jnp.fft.fftfreq(7, 0.5), ()),
        Case("fftfreq_even", lambda: fnp.fft.fftfreq(8), lambda: jnp.fft.fftfreq(8), ()),
        Case("fftfreq_dtype", lambda: fnp.fft.fftfreq(5, dtype=np.complex64),
             lambda: jnp.fft.fftfreq(5, dtype=np.complex64), ()),
        Case("rfftfreq", lambda: fnp.fft.rfftfreq(7, 0.5), lambda: jnp.fft.rfftfreq(7, 0.5), ()),
        Case("rfftfreq_even", lambda: fnp.fft.rfftfreq(8), lambda: jnp.fft.rfftfreq(8), ()),
        Case("fftshift", fnp.fft.fftshift, jnp.fft.fftshift, (X,)),
        Case("fftshift_axis", lambda a: fnp.fft.fftshift(a, 1),
             lambda a: jnp.fft.fftshift(a, 1), (X,)),
        Case("ifftshift_axes", lambda a: fnp.fft.ifftshift(a, (0, 2)),
             lambda a: jnp.fft.ifftshift(a, (0, 2)), (X,)),
        Case("lax_fft_names", lambda a, z: (P.fft(z, "fft", (5,)), P.fft(z, "IFFT", (4, 5)),
                                            P.fft(a, "rfft", (3, 4, 5)),
                                            P.fft(z, P.FftType.IRFFT, (4, 8)),
                                            P.fft(a, "fft", ())),
             lambda a, z: (lax.fft(z, "fft", (5,)), lax.fft(z, "IFFT", (4, 5)),
                           lax.fft(a, "rfft", (3, 4, 5)), lax.fft(z, lax.FftType.IRFFT, (4, 8)),
                           lax.fft(a, "fft", ())), (X, Z)),
    ]
    assert_cases_same_as_jax(cases, rtol=1e-4, atol=1e-4,
                             eager={"fft_ortho", "irfft_forward", "rfft2_ortho_s",
                                    "ihfft_ortho_n3", "hfft_ortho_axis", "fftn_4d", "fftfreq",
                                    "rfftfreq", "fftshift", "lax_fft_names"})


def test_jvp_transpose_and_grad_same_as_jax():
    jvps = []
    for name in NAMES:
        ours, theirs = getattr(fnp.fft, name), getattr(jnp.fft, name)
        a = _input(name)
        t = (rng.normal(size=a.shape) + (0 if name in REAL_INPUT else
                                         1j * rng.normal(size=a.shape))).astype(a.dtype)
        jvps.append((name, lambda a, o=ours: o(a, norm="ortho"),
                     lambda a, th=theirs: th(a, norm="ortho"), (a,), (t,)))
    assert_cases_jvp_matches(jvps, rtol=1e-4, atol=1e-4, eager_every=14)
    # the primitive's transposes (JAX's RFFT / IRFFT masks and scalings), odd and even lengths
    transposes = []
    for typ, a, lengths in [("fft", Z, (4, 5)), ("ifft", Z, (5,)), ("rfft", X, (4, 5)),
                            ("rfft", X[..., :4], (4,)), ("irfft", Z, (4, 8)),
                            ("irfft", Z, (9,))]:
        out = lax.fft(a, typ, lengths)
        ct = np.asarray(out) * (1.5 - 0.5j if np.iscomplexobj(out) else 1.5)
        transposes.append((f"{typ}{lengths}", lambda a, t=typ, n=lengths: P.fft(a, t, n),
                           lambda a, t=typ, n=lengths: lax.fft(a, t, n), (a,),
                           ct.astype(out.dtype)))
    assert_cases_transpose_matches(transposes, rtol=1e-4, atol=1e-3, eager_every=6)
    # grad of a real loss (reverse mode with JAX's convention)
    for name in ("rfft", "irfft"):
        def loss(m, f):
            def fn(a):
                y = f(a, norm="ortho")
                if name in ("irfft", "hfft"):   # real outputs
                    return m.sum(y ** 3)
                return m.sum(m.abs(y) ** 2 + m.real(y) * m.imag(y))
            return fn
        assert_trees_close(grad(loss(fnp, getattr(fnp.fft, name)))(_input(name)),
                           jax.jit(jax.grad(loss(jnp, getattr(jnp.fft, name))))(_input(name)),
                           rtol=1e-3, atol=1e-3, what=name)


def test_finite_differences_orders_1_and_2(x64):
    x = rng.normal(size=(2, 6))
    z = x + 1j * rng.normal(size=(2, 6))
    for typ, a, lengths in [("fft", z, (6,)), ("ifft", z, (2, 6)), ("rfft", x, (6,)),
                            ("rfft", x[:, :5], (5,)), ("irfft", z[:, :4], (6,)),
                            ("irfft", z, (2, 11))]:
        check_grads_numerically(lambda a, t=typ, n=lengths: P.fft(a, t, n), (a,), order=2,
                                eps=1e-6, rtol=1e-5, atol=1e-5)


def test_vmap_same_as_loop():
    for fn, arg, axes in [(lambda a: P.fft(a, "fft", (5,)), Z, 1),
                          (lambda a: P.fft(a, "rfft", (4, 5)), X, 0),
                          (lambda a: fnp.fft.irfft2(a, norm="ortho"), Z, 2),
                          (lambda a: fnp.fft.hfft(a, n=5, axis=0), Z, 1)]:
        assert_vmap_matches_loop(fn, axes, arg, jit=True, rtol=1e-5, atol=1e-5)


def test_errors_as_jax():
    with pytest.raises(ValueError, match="only real valued"):
        fnp.fft.rfft(Z)
    with pytest.raises(ValueError, match="Invalid norm"):
        fnp.fft.fft(Z, norm="bad")
    with pytest.raises(ValueError, match="multiple axes"):
        fnp.fft.fft(Z, axis=(0, 1))
    with pytest.raises(ValueError, match="only supports 2 axes"):
        fnp.fft.fft2(Z, axes=(0, 1, 2))
    with pytest.raises(ValueError, match="repeated axes"):
        fnp.fft.fftn(Z, axes=(1, 1))
    with pytest.raises(ValueError, match="Shape should be positive"):
        fnp.fft.fft(Z, n=0)
    with pytest.raises(ValueError, match="Unknown FFT type"):
        P.fft(Z, "dft", (5,))
    with pytest.raises(ShapeError, match="trailing axes"):
        P.fft(Z, "fft", (4,))
    with pytest.raises(ShapeError, match="at least 4 axes"):
        P.fft(Z, "fft", (3, 4, 5, 6))
    with pytest.raises(FxTypeError, match="float32 or float64"):
        P.fft_p.bind(Z, fft_type=P.FftType.RFFT, fft_lengths=(5,))
