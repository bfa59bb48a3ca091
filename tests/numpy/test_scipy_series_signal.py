"""The series special functions (primitives/scipy/special_series.py),
primitives.scipy.signal and primitives.scipy.fft against jax.scipy: values and
dtypes (eager for a few cases, one jit per side for all), gradients against
jax.grad (JAX's custom_jvp rules), vmap against a loop, weak types, float64 and
JAX's errors."""
from __future__ import annotations

import jax
import jax.scipy.fft as jsf
import jax.scipy.signal as jss
import jax.scipy.special as jsp
import numpy as np
import pytest

from primitives.scipy import fft as fsf, signal as fss, special as fsp
from tests.oracle import Case, assert_cases_same_as_jax, assert_trees_close, assert_vmap_matches_loop
from scipy_cases import assert_grad_rows_same_as_jax
from transforms import jit

rng = np.random.default_rng(0)
f32 = np.float32
X = np.array([-70.0, -3.0, -0.5, 0.0, 0.3, 1.5, 2.5, 5.0, 10.0, 20.0, 40.0, 70.0], f32)
POSX = np.array([0.0, 0.05, 0.7, 1.0, 1.5, 3.0, 9.0, 30.0, 1.0, -1.0], f32)
N = np.array([0.0, 1.0, 2.0, 3.0, 5.0, 1.0, 2.0, 6000.0, -1.0, 1.0], f32)
FRES = np.array([-np.inf, -50000.0, -3.0, -0.5, 0.0, 1.2, 1.7, 4.0, 20.0, np.inf], f32)
SICI = np.array([-np.inf, -5.0, -1.0, 0.0, 0.5, 3.9, 4.5, 7.9, 9.0, 100.0, 2e9, np.inf], f32)
OWH = np.array([0.0, 0.3, -0.5, 1.0, 2.0, 0.1, 3.0, np.nan], f32)
OWA = np.array([0.5, -1.0, 2.0, 1.0, 0.3, -3.0, 0.0, 0.5], f32)
H1X = np.array([-20.0, -1.0, 0.0, 0.5, 3.0, 50.0, 150.0], f32)
H1A = np.array([1.5, 0.0, 2.0, 0.7, 3.0, 1.0, 2.0], f32)
H1B = np.array([2.5, 1.0, 2.0, 0.0, 1.5, 3.0, 4.0], f32)
H2 = [np.array(v, f32) for v in (  # series, near 1, terminating, digamma transform, edges
    [0.5, 1.0, -2.0, 1.5, 0.5, 2.0, 0.0, 1.0, 1.2, 0.3, -3.0, 1.0, 1.0],
    [1.5, 2.0, 1.0, 0.5, 1.5, 1.0, 2.0, 1.0, 0.8, -3.0, 2.0, 1.5, 1.5],
    [2.0, 3.0, 1.5, 2.0, 2.0, 3.0, 4.0, 2.0, 4.0, 2.5, 1.5, 4.5, 4.5],
    [0.2, 0.95, 0.5, 0.99, 1.0, -2.0, 0.5, 0.5, 0.97, 0.6, 0.6, 0.95, 0.99])]
Z = np.array([1 + 2j, -1 - 0.5j, 0.3 + 0j, 3 - 4j, -2 + 0.1j, 0j], np.complex64)
SPH = (np.array([0, 1, 2, 3, 3]), np.array([0, -1, 2, 1, -3]),
       np.array([0.1, 0.5, 1.0, 2.0, 3.0], f32), np.array([0.3, 1.0, 2.0, 4.0, 6.0], f32))


def same(mod_ours, mod_theirs, name, *args, tag="", **kw):
    return Case(name + tag, lambda *a: getattr(mod_ours, name)(*a, **kw),
                lambda *a: getattr(mod_theirs, name)(*a, **kw), args)


def sp(name, *args, **kw):
    return same(fsp, jsp, name, *args, **kw)


SPECIAL_CASES = [
    sp("expi", X), sp("exp1", POSX), sp("expn", N, POSX),
    sp("sici", SICI), sp("fresnel", FRES), sp("owens_t", OWH, OWA),
    sp("hyp1f1", H1A, H1B, H1X), sp("hyp2f1", *H2),
    sp("wofz", Z), sp("wofz", np.array([0.5, -2.0], f32), tag="_real"),
    Case("sph_harm_y", lambda t, p: fsp.sph_harm_y(SPH[0], SPH[1], t, p),  # n_max = max(n)
         lambda t, p: jsp.sph_harm_y(SPH[0], SPH[1], t, p), SPH[2:]),
    sp("sph_harm_y", *SPH, tag="_nmax", n_max=2),  # n clipped to n_max
]


def test_special_series_values_same_as_jax():
    assert_cases_same_as_jax(SPECIAL_CASES, rtol=2e-5, atol=1e-6,
                             eager={"owens_t"})


SPECIAL_GRADS = [  # (name, fn of module, argnums, args)
    ("expi", lambda m: lambda x: m.expi(x).sum(), 0, (X[X != 0],)),
    ("exp1_expn", lambda m: lambda x: (m.exp1(x) + m.expn(3, x)).sum(), 0, (POSX[1:],)),
    ("sici", lambda m: lambda x: sum(v.sum() for v in m.sici(x)), 0, (SICI[1:-1][SICI[1:-1] != 0],)),
    ("fresnel", lambda m: lambda x: (m.fresnel(x)[0] + 2 * m.fresnel(x)[1]).sum(), 0, (FRES[1:-1],)),
    ("owens_t", lambda m: lambda h, a: m.owens_t(h, a).sum(), (0, 1), (OWH[:-1], OWA[:-1])),
    ("hyp1f1", lambda m: lambda a, b, x: m.hyp1f1(a, b, x).sum(), (0, 1, 2),
     (H1A[[0, 2, 4]], H1B[[0, 2, 4]] + 0.5, H1X[[1, 3, 4]])),
    ("hyp2f1_a", lambda m: lambda a, x: m.hyp2f1(a, 1.5, 2.0, x).sum(), 0,  # the a-series
     (H2[0][:2], np.array([0.2, 0.4], f32))),
    ("wofz", lambda m: lambda x: m.wofz(x).real.sum() + m.wofz(x).imag.sum(), 0, (X[1:-3],)),
]


def test_special_series_grads_same_as_jax():
    assert_grad_rows_same_as_jax(SPECIAL_GRADS, fsp, jsp, rtol=2e-4, atol=1e-5)


def test_special_series_vmap_matches_loop():
    for fn, args, in_axes in [
            (fsp.hyp1f1, (H1A, H1B, H1X), (0, 0, 0)),
            (lambda t: fsp.sph_harm_y(SPH[0], SPH[1], t, SPH[3], n_max=3), (np.stack([SPH[2]] * 2),), 0)]:
        assert_vmap_matches_loop(fn, in_axes, *args, jit=True)


def test_special_series_weak_types_and_float64():
    """Python scalars (weak) and float16 in, one jit per side: dtypes and weak types as JAX."""
    rows = [("expi", (0.5,)), ("exp1", (0.5,)), ("expn", (2, 0.5)), ("sici", (0.5,)),
            ("fresnel", (0.5,)), ("owens_t", (0.5, 0.3)), ("wofz", (0.5,)),
            ("fresnel", (np.array([0.5], np.float16),))]

    def run(m, jit_fn):
        return jit_fn(lambda args: [getattr(m, name)(*a) for (name, _), a in zip(rows, args)])(
            [a for _, a in rows])
    for (name, _), ours, theirs in zip(rows, run(fsp, jit), run(jsp, jax.jit)):
        for o, t in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
            assert (o.dtype, o.weak_type) == (t.dtype, t.weak_type), name
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=2e-5)
    with jax.enable_x64(True):
        x = np.array([0.3, 1.7, 6.0], np.float64)

        def rows(m, x):
            return [m.expi(x), m.sici(x), m.fresnel(x), m.owens_t(x, x / 2), m.wofz(x + 1j)]
        assert_trees_close(jit(lambda x: rows(fsp, x))(x), jax.jit(lambda x: rows(jsp, x))(x),
                           rtol=1e-12, atol=1e-14, what="float64")


def test_special_series_errors_as_jax():
    for call, exc in [(lambda m: m.expi(np.array([1j], np.complex64)), ValueError),
                      (lambda m: m.sici(np.array([1j], np.complex64)), ValueError),
                      (lambda m: m.fresnel(np.array([1j], np.complex64)), NotImplementedError),
                      (lambda m: m.hyp1f1(1.0, 2.0, np.array([1j], np.complex64)), ValueError),
                      (lambda m: m.sph_harm_y(SPH[0], SPH[1], SPH[2], SPH[3], diff_n=1),
                       NotImplementedError)]:
        with pytest.raises(exc):
            call(jsp)
        with pytest.raises(exc):
            call(fsp)


# --- signal and fft ---
A1 = rng.normal(size=(6,)).astype(f32)
B1 = rng.normal(size=(3,)).astype(f32)
A2 = rng.normal(size=(5, 4)).astype(f32)
B2 = rng.normal(size=(2, 3)).astype(f32)
C2 = (rng.normal(size=(4, 3)) + 1j * rng.normal(size=(4, 3))).astype(np.complex64)
SIG = rng.normal(size=(2, 40)).astype(f32)
X3 = rng.normal(size=(4, 6, 5)).astype(f32)


def sg(name, *args, **kw):
    return same(fss, jss, name, *args, **kw)


def ft(name, *args, **kw):
    return same(fsf, jsf, name, *args, **kw)


SIGNAL_CASES = [c for m in ("full", "same", "valid") for c in [
    sg("convolve", B1, A1, tag=f"_{m}_fft", mode=m, method="fft"),
    sg("correlate", A1, B1, tag=f"_{m}", mode=m),
    sg("convolve2d", A2, B2, tag=f"_{m}", mode=m),
    sg("correlate2d", A2, B2, tag=f"_{m}", mode=m),
    sg("correlate2d", B2, A2, tag=f"_{m}_swap", mode=m)]] + [
    sg("convolve", A1, B1, tag="_full"), sg("fftconvolve", A2, B2, tag="_same", mode="same"),
    sg("correlate", C2, C2[:2, :2], tag="_complex"),
    sg("convolve", np.array([1, 2, 3]), np.array([1, 1]), tag="_int"),
    sg("fftconvolve", A2, A2[:, :2], tag="_axes", axes=1),
    sg("detrend", SIG), sg("detrend", SIG, tag="_const", type="constant", axis=0),
    sg("detrend", SIG, tag="_bp", bp=[10, 25]),
    sg("welch", SIG, nperseg=16),
    sg("welch", SIG, tag="_twosided", nperseg=10, noverlap=3, nfft=12, scaling="spectrum",
       return_onesided=False),
    sg("csd", SIG, SIG[::-1], nperseg=8, average="median"),
    sg("stft", SIG, nperseg=8),
    sg("stft", SIG, tag="_odd", nperseg=9, boundary="odd", detrend="constant"),
    sg("istft", np.asarray(jss.stft(SIG, nperseg=8)[2]), nperseg=8),
    ft("dct", X3), ft("dct", X3, tag="_n_ortho", n=4, axis=0, norm="ortho"),
    ft("dct", X3, tag="_pad", n=8), ft("dct", C2, tag="_complex"),
    ft("idct", X3), ft("idct", X3, tag="_ortho", norm="ortho", axis=1, n=3),
    ft("dctn", X3), ft("dctn", X3, tag="_s", s=[3, 7]),
    ft("dctn", X3, tag="_ortho", axes=[0, 2], norm="ortho"),
    ft("idctn", X3), ft("idctn", X3, tag="_s", s=[2], axes=[0]),
]


def test_signal_fft_values_same_as_jax():
    assert_cases_same_as_jax(SIGNAL_CASES, rtol=2e-5, atol=2e-5,
                             eager={"convolve_full", "dct"})


SIGNAL_GRADS = [
    ("convolve", lambda m: lambda a, b: m.convolve(a, b, mode="same").sum() ** 2, (0, 1), (A1, B1)),
    ("correlate2d", lambda m: lambda a, b: (m.correlate2d(a, b) ** 2).sum(), (0, 1), (A2, B2)),
    ("fftconvolve", lambda m: lambda a: (m.fftconvolve(a, B2, mode="valid") ** 2).sum(), 0, (A2,)),
    ("detrend", lambda m: lambda x: (m.detrend(x, bp=[20]) ** 2).sum(), 0, (SIG,)),
    ("welch", lambda m: lambda x: m.welch(x, nperseg=8)[1].sum(), 0, (SIG,)),
    ("stft", lambda m: lambda x: abs(m.stft(x, nperseg=8)[2]).sum(), 0, (SIG,)),
]
FFT_GRADS = [
    ("dctn", lambda m: lambda x: (m.dctn(x, norm="ortho") * X3).sum(), 0, (X3,)),
    ("idct", lambda m: lambda x: (m.idct(x, n=4) ** 2).sum(), 0, (X3,)),
]


def test_signal_fft_grads_same_as_jax():
    assert_grad_rows_same_as_jax(SIGNAL_GRADS, fss, jss, rtol=2e-4, atol=2e-4)
    assert_grad_rows_same_as_jax(FFT_GRADS, fsf, jsf, rtol=2e-4, atol=2e-4)


def test_signal_fft_vmap_matches_loop():
    for fn, args, in_axes in [
            (lambda a, b: fss.convolve(a, b, mode="same"), (A2[:2], B2), (0, 0)),
            (lambda a: fss.correlate2d(a, B2), (np.stack([A2, A2 * 2]),), 0),
            (lambda x: fss.welch(x, nperseg=8)[1], (SIG,), 0),
            (lambda x: fsf.dctn(x), (X3,), 2)]:
        assert_vmap_matches_loop(fn, in_axes, *args, jit=True)


def test_signal_fft_errors_as_jax():
    for call, exc in [(lambda s, f: s.convolve(A1, B1, mode="bad"), ValueError),
                      (lambda s, f: s.convolve(A1, B1, method="bad"), ValueError),
                      (lambda s, f: s.convolve(A2, B1), ValueError),
                      (lambda s, f: s.convolve(A2, A2.T), ValueError),
                      (lambda s, f: s.convolve2d(A2, B2, boundary="wrap"), NotImplementedError),
                      (lambda s, f: s.correlate2d(A1, B1), ValueError),
                      (lambda s, f: s.detrend(SIG, type="quadratic"), ValueError),
                      (lambda s, f: s.welch(SIG, nperseg=8, noverlap=8), ValueError),
                      (lambda s, f: s.istft(A1), ValueError),
                      (lambda s, f: f.dct(X3, type=3), NotImplementedError),
                      (lambda s, f: f.dctn(X3, norm="forward"), ValueError)]:
        with pytest.raises(exc):
            call(jss, jsf)
        with pytest.raises(exc):
            call(fss, fsf)
