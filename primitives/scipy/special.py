"""scipy.special as ``jax.scipy.special``, built from our primitives.

Each function promotes its arguments as jax does (``promote_args_inexact``:
integers and bools to the default float, numpy broadcasting) and follows
jax.scipy.special's formulas, edge cases (``xlogy(0, 0) = 0``, ``entr(x < 0)
= -inf``, ...) and gradient conventions: ``logit``, ``xlogy``, ``xlog1py``,
``entr``, ``zeta``, ``log_ndtr`` and ``poch`` are ``custom_jvp`` functions as
in JAX. The lax-level special functions (lgamma, igamma, betainc, ...) are
the primitives of ``primitives.special``.

Example::

    >>> from primitives.scipy import special
    >>> special.xlogy(0.0, 0.0)     # 0, not nan
    >>> special.gammaln(np.arange(1.0, 5.0))

References:
    jax/_src/scipy/special.py (formulas and edge cases); scipy.special's
    documentation; W. J. Cody, "Rational Chebyshev approximations for the
    error function" (ndtri's coefficients, via Cephes).
"""
from __future__ import annotations

import operator

import numpy as np

import primitives as P
import primitives.numpy as fnp
from fx.ad import instantiate_zero, jvp_flat
from fx.core import get_aval
from fx.dtypes import kind
from primitives.custom_derivatives import custom_jvp
from primitives import nn as _nn
from primitives.nn import logsumexp
from primitives.numpy import bessel as _bessel
from primitives.numpy.math import promote_inexact
from primitives.scipy._promote import const as _const, promote_args_inexact as _args

__all__ = [
    "gammaln", "gammasgn", "loggamma", "gamma", "betaln", "factorial", "comb", "beta",
    "betainc", "digamma", "gammainc", "gammaincc", "erf", "erfc", "erfinv", "logit", "expit",
    "logsumexp", "softmax", "log_softmax", "xlogy", "xlog1py", "entr", "boxcox", "boxcox1p",
    "multigammaln", "kl_div", "rel_entr", "zeta", "polygamma", "ndtr", "ndtri", "log_ndtr",
    "i0", "i0e", "i1", "i1e", "spence", "bernoulli", "poch", "erfcx", "dawsn", "bessel_jn"]


def _dtype(x):
    return get_aval(x).dtype


def _check_f32_f64(name, x):
    x = fnp.asarray(x)
    if _dtype(x) not in (np.float32, np.float64):
        raise TypeError(f"{name}: x.dtype={_dtype(x)} is not supported: float32 or float64 "
                        f"only (as jax.scipy.special.{name}). Fix: x.astype(jnp.float32).")
    return x


# --- the gamma family ---
def gammaln(x):
    """log |Gamma(x)| (as jax.scipy.special.gammaln).

    Args:
      x: real array-like.

    Returns:
      The elementwise log-gamma.
    """
    x, = _args("gammaln", x)
    return P.lgamma(x)


def gammasgn(x):
    """The sign of Gamma(x): nan at the poles (non-positive integers) and at nan,
    -1 at -0.0 (as jax.scipy.special.gammasgn)."""
    x, = _args("gammasgn", x)
    floor_x = fnp.floor(x)
    neg = x < 0
    dt = _dtype(x)  # numpy scalars (strong), as JAX's ``typ(np.nan)``
    return fnp.select([(neg & (x == floor_x)) | fnp.isnan(x),
                       (neg & (fnp.remainder(floor_x, 2) != 0)) | ((x == 0) & fnp.signbit(x))],
                      [np.array(np.nan, dt), np.array(-1.0, dt)], np.array(1.0, dt))


def loggamma(x):
    """log Gamma(x) on the principal branch for real x: nan for x <= 0 (as
    jax.scipy.special.loggamma; complex inputs are not supported here)."""
    x, = _args("loggamma", x)
    return fnp.where(x > 0, P.lgamma(x), _const(x, np.nan))


def gamma(x):
    """The gamma function, as ``gammasgn(x) * exp(gammaln(x))`` (jax.scipy.special.gamma)."""
    x, = _args("gamma", x)
    return gammasgn(x) * fnp.exp(P.lgamma(x))


def _algdiv(a, b):
    c0, c1, c2 = 0.0833333333333333, -0.00277777777760991, 0.00079365066682539
    c3, c4, c5 = -0.00059520293135187, 0.000837308034031215, -0.00165322962780713
    h = a / b
    c = h / (1 + h)
    x = h / (1 + h)
    d = b + (a - 0.5)
    x2 = x * x
    s3 = 1.0 + (x + x2)
    s5 = 1.0 + (x + x2 * s3)
    s7 = 1.0 + (x + x2 * s5)
    s9 = 1.0 + (x + x2 * s7)
    s11 = 1.0 + (x + x2 * s9)
    t = (1.0 / b) ** 2
    w = ((((c5 * s11 * t + c4 * s9) * t + c3 * s7) * t + c2 * s5) * t + c1 * s3) * t + c0
    w = w * (c / b)
    u = d * fnp.log1p(a / b)
    v = a * (fnp.log(b) - 1.0)
    return fnp.where(u <= v, w - v - u, w - u - v)


def betaln(a, b):
    """log |B(a, b)|, accurate for large b (as jax.scipy.special.betaln, after
    TOMS 708's algdiv)."""
    a, b = _args("betaln", a, b)
    a, b = fnp.minimum(a, b), fnp.maximum(a, b)
    small_b = P.lgamma(a) + (P.lgamma(b) - P.lgamma(a + b))
    large_b = P.lgamma(a) + _algdiv(a, b)
    return fnp.where(b < 8, small_b, large_b)


def factorial(n, exact: bool = False):
    """n! as exp(gammaln(n + 1)), 0 for n < 0 (as jax.scipy.special.factorial;
    ``exact=True`` is not supported, as in JAX)."""
    if exact:
        raise NotImplementedError("factorial with exact=True (as in JAX).")
    n, = _args("factorial", n)
    return fnp.where(n < 0, _const(n, 0), fnp.exp(P.lgamma(n + 1)))


def comb(N, k, *, repetition: bool = False):
    """N choose k through gammaln; 0 outside 0 <= k <= N (as jax.scipy.special.comb)."""
    N, k = _args("comb", N, k)
    if repetition:
        return comb(N + k - 1, k)
    cond = (k <= N) & (N >= 0) & (k >= 0)
    safe_n = fnp.where(cond, N, _const(N, 0.0))
    safe_k = fnp.where(cond, k, _const(k, 0.0))
    out = fnp.exp(gammaln(safe_n + 1) - gammaln(safe_k + 1) - gammaln(safe_n + 1 - safe_k))
    return fnp.where(cond, out, _const(out, 0.0))


def beta(a, b):
    """B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b) (as jax.scipy.special.beta)."""
    a, b = _args("beta", a, b)
    sign = gammasgn(a) * gammasgn(b) * gammasgn(a + b)
    return sign * fnp.exp(betaln(a, b))


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b) (jax.scipy.special.betainc)."""
    a, b, x = _args("betainc", a, b, x)
    return P.betainc(a, b, x)


def digamma(x):
    """psi(x), the derivative of gammaln (jax.scipy.special.digamma)."""
    x, = _args("digamma", x)
    return P.digamma(x)


def gammainc(a, x):
    """The regularized lower incomplete gamma function P(a, x) (jax.scipy.special.gammainc)."""
    a, x = _args("gammainc", a, x)
    return P.igamma(a, x)


def gammaincc(a, x):
    """The regularized upper incomplete gamma function Q(a, x) (jax.scipy.special.gammaincc)."""
    a, x = _args("gammaincc", a, x)
    return P.igammac(a, x)


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension ``d`` (a static
    int), as jax.scipy.special.multigammaln."""
    d = operator.index(d)
    a, d_ = promote_inexact(a, d)
    a = fnp.asarray(a) if type(a) is float else a
    constant = float(0.25 * d * (d - 1) * np.log(np.pi))
    b = fnp.arange(d, dtype=_dtype(a)) / 2.0
    ndim = fnp.ndim(a)
    res = fnp.sum(gammaln(fnp.expand_dims(a, -1) - fnp.expand_dims(b, tuple(range(ndim)))), -1)
    return res + _const(res, constant)


# --- error functions ---
def erf(x):
    """The error function (jax.scipy.special.erf)."""
    x, = _args("erf", x)
    return P.erf(x)


def erfc(x):
    """1 - erf(x), accurate for large x (jax.scipy.special.erfc)."""
    x, = _args("erfc", x)
    return P.erfc(x)


def erfinv(x):
    """The inverse error function (jax.scipy.special.erfinv)."""
    x, = _args("erfinv", x)
    return P.erf_inv(x)


# --- logistic ---
@custom_jvp
def logit(x):
    """log(x / (1 - x)) with the derivative 1 / (x (1 - x)) (as jax.scipy.special.logit)."""
    x, = _args("logit", x)
    return fnp.log(x / (1 - x))


logit.defjvps(lambda g, ans, x: g / (x * (1 - x)))


def expit(x):
    """The logistic sigmoid 1 / (1 + exp(-x)) (jax.scipy.special.expit)."""
    x, = _args("expit", x)
    return P.logistic(x)


def softmax(x, /, *, axis=None):
    """exp(x) / sum(exp(x), axis) over ``axis`` (None: all axes, scipy's default;
    as jax.scipy.special.softmax)."""
    return _nn.softmax(x, axis=axis)


def log_softmax(x, /, *, axis=None):
    """x - logsumexp(x, axis) over ``axis`` (None: all axes, scipy's default;
    as jax.scipy.special.log_softmax)."""
    return _nn.log_softmax(x, axis=axis)


# --- x log y and entropies ---
@custom_jvp
def xlogy(x, y):
    """x * log(y), 0 where x == 0 (unless y is nan), as jax.scipy.special.xlogy;
    a custom_jvp: d/dx = log(y), d/dy = x / y."""
    x, y = _args("xlogy", x, y)
    return fnp.where((x != 0.0) | fnp.isnan(y), x * fnp.log(y), _const(x, 0.0))


@xlogy.defjvp
def _xlogy_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = xlogy(x, y)
    return out, (x_dot * fnp.log(y) + y_dot * x / y).astype(_dtype(out))


@custom_jvp
def xlog1py(x, y):
    """x * log1p(y), 0 where x == 0 (unless y is nan), as jax.scipy.special.xlog1py."""
    x, y = _args("xlog1py", x, y)
    return fnp.where((x != 0.0) | fnp.isnan(y), x * fnp.log1p(y), _const(x, 0.0))


@xlog1py.defjvp
def _xlog1py_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = xlog1py(x, y)
    return out, (x_dot * fnp.log1p(y) + y_dot * x / (1 + y)).astype(_dtype(out))


@custom_jvp
def _xlogx(x):
    return xlogy(x, x)


@_xlogx.defjvp
def _xlogx_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return _xlogx(x), x_dot * (fnp.log(x) + 1)


def entr(x):
    """-x log x for x >= 0 (0 at 0), -inf for x < 0 (as jax.scipy.special.entr)."""
    x, = _args("entr", x)
    return fnp.where(x < 0, _const(x, -np.inf), -_xlogx(x))


def rel_entr(p, q):
    """p log(p / q) for p, q > 0; 0 at p == 0, q >= 0; inf otherwise (as
    jax.scipy.special.rel_entr)."""
    p, q = _args("rel_entr", p, q)
    both_pos = (p > 0) & (q > 0)
    one_zero = (p == 0) & (q >= 0)
    safe_p = fnp.where(both_pos, p, _const(p, 1))
    safe_q = fnp.where(both_pos, q, _const(q, 1))
    log_val = _xlogx(safe_p) - xlogy(safe_p, safe_q)
    return fnp.where(both_pos, log_val,
                     fnp.where(one_zero, _const(p, 0.0), _const(p, np.inf)))


def kl_div(p, q):
    """rel_entr(p, q) - p + q (as jax.scipy.special.kl_div)."""
    p, q = _args("kl_div", p, q)
    return rel_entr(p, q) - p + q


def boxcox(x, lmbda):
    """The Box-Cox transform (x ** lmbda - 1) / lmbda, log(x) at lmbda == 0."""
    x, lmbda = _args("boxcox", x, lmbda)
    return _boxcox(fnp.log(x), lmbda)


def boxcox1p(x, lmbda):
    """The Box-Cox transform of 1 + x (as jax.scipy.special.boxcox1p)."""
    x, lmbda = _args("boxcox1p", x, lmbda)
    return _boxcox(fnp.log1p(x), lmbda)


def _boxcox(log_x, lmbda):
    zero = lmbda == 0
    safe = fnp.where(zero, _const(lmbda, 1), lmbda)
    return fnp.where(zero, log_x, fnp.expm1(safe * log_x) / safe)


# --- zeta and polygamma ---
_BERNOULLI_COEFS = np.array([
    12, -720, 30240, -1209600, 47900160, -1307674368000 / 691, 74724249600,
    -10670622842880000 / 3617, 5109094217170944000 / 43867,
    -802857662698291200000 / 174611, 14101100039391805440000 / 77683,
    -1693824136731743669452800000 / 236364091, 186134520519971831808000000 / 657931,
    -37893265687455865519472640000000 / 3392780147,
    759790291646040068357842010112000000 / 1723168255201,
    -134196726836183700385281186201600000000 / 7709321041217])


@custom_jvp
def zeta(x, q=None):
    """The Hurwitz zeta function sum_n (n + q) ** -x (as jax.scipy.special.zeta;
    ``q=None``, the Riemann zeta function, raises NotImplementedError as in JAX).
    Differentiable in both arguments through its Euler-Maclaurin series, as JAX's."""
    if q is None:
        raise NotImplementedError("Riemann zeta function not implemented; pass q != None "
                                  "to compute the Hurwitz zeta function (as in JAX).")
    x, q = _args("zeta", x, q)
    return P.zeta(x, q)


def _zeta_series(x, q=None):
    """The Euler-Maclaurin expansion of zeta (its derivative is zeta's jvp, as in JAX)."""
    s, a = _args("zeta", x, q)
    dt = _dtype(a)
    n = m = 8 if dt == np.float32 else 16
    s_, a_ = fnp.expand_dims(s, -1), fnp.expand_dims(a, -1)
    k = fnp.expand_dims(np.arange(n, dtype=dt), tuple(range(fnp.ndim(a))))
    total = fnp.sum((a_ + k) ** (-s_), -1)
    integral = (a + n) ** (1 - s) / (s - 1)
    t0 = (a + n) ** (-s)
    mm = fnp.expand_dims(np.arange(2 * m, dtype=dt), tuple(range(fnp.ndim(s))))
    t1 = fnp.cumprod((s_ + mm) / (a_ + n), -1)[..., ::2]
    t1 = fnp.clip(t1, max=np.finfo(dt).max)
    coefs = np.expand_dims(np.array(_BERNOULLI_COEFS[:t1.shape[-1]], dtype=dt),
                           tuple(range(fnp.ndim(a))))
    t = t0 * (0.5 + fnp.sum(t1 / coefs, -1))
    return total + integral + t


@zeta.defjvp
def _zeta_jvp(primals, tangents):
    # the directional derivative of the series (fx's jvp: transforms live above us)
    _, [t_out] = jvp_flat(lambda *a: [_zeta_series(*a)], list(primals), list(tangents))
    return zeta(*primals), instantiate_zero(t_out)


def polygamma(n, x):
    """psi^(n)(x), the n-th derivative of digamma; ``n`` must be of integer dtype
    (as jax.scipy.special.polygamma)."""
    if kind(fnp.result_type(n)) not in "iu":
        raise ValueError(f"Argument `n` to polygamma must be of integer type. Got dtype "
                         f"{fnp.result_type(n)} (as in JAX).")
    n, x = _args("polygamma", n, x)
    return P.polygamma(n, x)


# --- the normal distribution function ---
def ndtr(x):
    """The standard normal CDF (as jax.scipy.special.ndtr: float32/float64 only)."""
    x = _check_f32_f64("ndtr", x)
    return _ndtr(x)


def _ndtr(x):
    dt = _dtype(x).type  # numpy scalars (strong), as JAX's
    half_sqrt_2 = dt(0.5) * np.sqrt(2.0, dtype=dt)
    w = x * half_sqrt_2
    z = fnp.abs(w)
    y = fnp.where(z < half_sqrt_2, dt(1.0) + P.erf(w),
                  fnp.where(w > dt(0.0), dt(2.0) - P.erfc(z), P.erfc(z)))
    return dt(0.5) * y


_NDTRI_P0 = [-59.96335010141079, 98.00107541859997, -56.67628574690703, 13.931260938727968,
             -1.2391658386738125]
_NDTRI_Q0 = [1.0, 1.9544885833814176, 4.676279128988815, 86.36024213908905,
             -225.46268785411937, 200.26021238006066, -82.03722561683334, 15.90562251262117,
             -1.1833162112133]
_NDTRI_P1 = [4.0554489230596245, 31.525109459989388, 57.16281922464213, 44.08050738932008,
             14.684956192885803, 2.1866330685079025, -0.1402560791713545,
             -0.03504246268278482, -0.0008574567851546854]
_NDTRI_Q1 = [1.0, 15.779988325646675, 45.39076351288792, 41.3172038254672, 15.04253856929075,
             2.504649462083094, -0.14218292285478779, -0.03808064076915783,
             -0.0009332594808954574]
_NDTRI_P2 = [3.2377489177694603, 6.915228890689842, 3.9388102529247444, 1.3330346081580755,
             0.20148538954917908, 0.012371663481782003, 0.00030158155350823543,
             2.6580697468673755e-06, 6.239745391849833e-09]
_NDTRI_Q2 = [1.0, 6.02427039364742, 3.6798356385616087, 1.3770209948908132,
             0.21623699359449663, 0.013420400608854318, 0.00032801446468212774,
             2.8924786474538068e-06, 6.790194080099813e-09]


def ndtri(p):
    """The inverse of ndtr: the standard normal quantile (as jax.scipy.special.ndtri,
    Cephes' rational approximations; -inf at 0, inf at 1)."""
    p = _check_f32_f64("ndtri", p)
    dt = _dtype(p)
    poly = lambda c, v: fnp.polyval(np.array(c, dt), v)  # noqa: E731
    mcp = fnp.where(p > dt.type(-np.expm1(-2.0)), 1.0 - p, p)
    mcp = fnp.where(mcp == 0.0, fnp.full_like(p, 0.5), mcp)
    w = mcp - 0.5
    ww = w * w
    x_big = (w + w * ww * (poly(_NDTRI_P0, ww) / poly(_NDTRI_Q0, ww))) * -dt.type(np.sqrt(2 * np.pi))
    z = fnp.sqrt(-2.0 * fnp.log(mcp))
    first = z - fnp.log(z) / z
    x_small = first - poly(_NDTRI_P2, 1 / z) / poly(_NDTRI_Q2, 1 / z) / z
    x_other = first - poly(_NDTRI_P1, 1 / z) / poly(_NDTRI_Q1, 1 / z) / z
    x = fnp.where(mcp > dt.type(np.exp(-2.0)), x_big, fnp.where(z >= 8.0, x_small, x_other))
    x = fnp.where(p > dt.type(1.0 - np.exp(-2.0)), x, -x)
    inf = fnp.full_like(p, np.inf)
    return fnp.where(p == 0.0, -inf, fnp.where(p == 1.0, inf, x))


def _log_ndtr_checked(x, series_order):
    if not isinstance(series_order, int):
        raise TypeError("series_order must be a Python integer.")
    if series_order < 0:
        raise ValueError("series_order must be non-negative.")
    if series_order > 30:
        raise ValueError("series_order must be <= 30.")
    x = fnp.asarray(x)
    if _dtype(x) == np.float64:
        return x, np.float64(-20), np.float64(8)
    if _dtype(x) == np.float32:
        return x, np.float32(-10), np.float32(5)
    raise TypeError(f"log_ndtr: x.dtype={_dtype(x)} is not supported (float32/float64).")


def _log_ndtr(x, series_order=3):
    x, lower, upper = _log_ndtr_checked(x, series_order)
    above = x > upper
    res = _ndtr(fnp.where(above, -x, fnp.maximum(x, lower)))
    return fnp.where(above, -res, fnp.where(x > lower, fnp.log(res),
                                            _log_ndtr_lower(fnp.minimum(x, lower), series_order)))


_log_ndtr_cj = custom_jvp(_log_ndtr, nondiff_argnums=(1,))


def log_ndtr(x, series_order: int = 3):
    """log of the standard normal CDF, accurate far in both tails (as
    jax.scipy.special.log_ndtr: asymptotic series below -20 (f64) / -10 (f32));
    a custom_jvp whose derivative is exp(norm.logpdf(x) - log_ndtr(x)).

    Args:
      x: float32 or float64 array-like.
      series_order: terms of the asymptotic series (0..30).
    """
    return _log_ndtr_cj(x, series_order)


@_log_ndtr_cj.defjvp
def _log_ndtr_jvp(series_order, primals, tangents):
    (x,), (t,) = primals, tangents
    ans = _log_ndtr_cj(x, series_order)
    return ans, t * fnp.exp(_norm_logpdf(x) - ans)


def _log_ndtr_lower(x, series_order):
    x_2 = x * x
    log_scale = -0.5 * x_2 - fnp.log(-x) - float(0.5 * np.log(2.0 * np.pi))
    return log_scale + fnp.log(_log_ndtr_series(x, series_order))


def _log_ndtr_series(x, series_order):
    dt = _dtype(x)
    if series_order <= 0:
        return np.array(1, dt)
    x_2 = x * x
    even, odd, x_2n = fnp.zeros_like(x), fnp.zeros_like(x), x_2
    for n in range(1, series_order + 1):
        y = np.array(np.prod(np.arange(2 * n - 1, 1, -2)), dt) / x_2n
        if n % 2:
            odd = odd + y
        else:
            even = even + y
        x_2n = x_2n * x_2
    return 1.0 + even - odd


def _norm_logpdf(x):
    return -0.5 * (x * x) - _const(x, np.log(np.sqrt(2 * np.pi)))


# --- Bessel functions ---
def i0e(x):
    """exp(-|x|) I0(x) (jax.scipy.special.i0e)."""
    x, = _args("i0e", x)
    return P.bessel_i0e(x)


def i0(x):
    """The modified Bessel function of order 0, exp(|x|) i0e(x) (jax.scipy.special.i0),
    with derivatives of every order (``primitives.numpy.bessel``)."""
    x, = _args("i0", x)
    return _bessel.i0(x)


def i1e(x):
    """exp(-|x|) I1(x) (jax.scipy.special.i1e)."""
    x, = _args("i1e", x)
    return P.bessel_i1e(x)


def i1(x):
    """The modified Bessel function of order 1, exp(|x|) i1e(x) (jax.scipy.special.i1),
    with derivatives of every order (``primitives.numpy.bessel``)."""
    x, = _args("i1", x)
    return _bessel.i1(x)


# --- spence, bernoulli, poch ---
_SPENCE_A = [4.6512858607399003e-05, 0.007315890452380947, 0.13384763957830903,
             0.8796913117545303, 2.7114985119655346, 4.256971560081218, 3.297713409852251, 1.0]
_SPENCE_B = [0.0006909904889125533, 0.02540437639325444, 0.2829748606025681,
             1.4117259775183106, 3.6380053334513707, 5.03278880143317, 3.547713409852251, 1.0]


def _spence_calc(x):
    dt = _dtype(x)
    gt2 = x > 2.0
    x = fnp.where(gt2, 1.0 / x, x)
    gt15, lt05 = x > 1.5, x < 0.5
    gt2 = gt2 | gt15
    w = fnp.where(gt15, 1.0 / x - 1.0, fnp.where(lt05, -x, x - 1.0))
    y = -w * fnp.polyval(np.array(_SPENCE_A, dt), w) / fnp.polyval(np.array(_SPENCE_B, dt), w)
    y = fnp.where(lt05, np.pi ** 2 / 6.0 - fnp.log(x) * fnp.log(1.0 - x) - y, y)
    return fnp.where(gt2, -0.5 * fnp.log(x) ** 2 - y, y)


def spence(x):
    """Spence's function (the dilogarithm Li2(1 - x)) for real x >= 0, nan below
    (as jax.scipy.special.spence: float32/float64 only)."""
    x = _check_f32_f64("spence", x)
    safe = fnp.where((x < 0.0) | (x == 1.0) | (x == 0.0), fnp.full_like(x, 0.5), x)
    y = _spence_calc(safe)
    return fnp.where(x < 0.0, _const(x, np.nan),
                     fnp.where(x == 1.0, _const(x, 0.0),
                               fnp.where(x == 0.0, _const(x, np.pi ** 2 / 6), y)))


def bernoulli(n: int):
    """The first n + 1 Bernoulli numbers B_0..B_n (as jax.scipy.special.bernoulli;
    ``n`` a static non-negative int)."""
    n = operator.index(n)
    if n < 0:
        raise ValueError("n must be a non-negative integer.")
    dt = fnp.result_type(float)
    b3 = np.array([1, -1 / 2, 1 / 6], dt)
    if n < 3:
        return fnp.asarray(b3[:n + 1])
    m = np.arange(4, n + 1, 2, dtype=dt)
    q1 = 1.0 / np.pi ** 2 * fnp.cumprod(fnp.asarray(-(m - 1) * m / 4 / np.pi ** 2))
    k = np.arange(2, 50, dtype=dt)
    q2 = fnp.sum(fnp.asarray(k[:, None]) ** fnp.asarray(-m[None, :]), axis=0)
    bn = fnp.zeros(n + 1, dt).at[:3].set(b3)
    return bn.at[4::2].set(q1 * (1 + q2))


@custom_jvp
def poch(z, m):
    """The Pochhammer symbol (z)_m = Gamma(z + m) / Gamma(z), 1 at m == 0 (as
    jax.scipy.special.poch; a custom_jvp with digamma derivatives)."""
    z, m = _args("poch", z, m)
    return fnp.where(m == 0.0, np.array(1, _dtype(z)), gamma(z + m) / gamma(z))


poch.defjvps(lambda z_dot, ans, z, m: (digamma(z + m) - digamma(z)) * poch(z, m) * z_dot,
             lambda m_dot, ans, z, m: digamma(z + m) * poch(z, m) * m_dot)


# --- erfcx and dawsn (rational / asymptotic approximations, real inputs) ---
def erfcx(x):
    """The scaled complementary error function exp(x ** 2) erfc(x), with an
    asymptotic series where exp(x ** 2) would overflow (as jax.scipy.special.erfcx
    for real inputs; a custom_jvp: d/dx = 2 x erfcx(x) - 2 / sqrt(pi))."""
    x, = _args("erfcx", x)
    return _erfcx(x)


@custom_jvp
def _erfcx(x):
    dt = _dtype(x)
    if dt in (np.float32, np.float64):
        return _erfcx_impl(x, 9 if dt == np.float64 else 5)
    return _erfcx_impl(x.astype(np.float32), 5).astype(dt)


_erfcx.defjvps(lambda g, ans, x: g * (2 * x * ans - _const(x, 2.0 / np.sqrt(np.pi))))

_ERFCX_COEFFS = [7918.06640625, -1055.7421875, 162.421875, -29.53125, 6.5625, -1.875, 0.75,
                 -0.5, 1.0]


def _erfcx_impl(x, nterms):
    dt = _dtype(x)
    large = x > _const(x, np.sqrt(np.log(np.finfo(dt).max)))
    safe_x = fnp.where(large, fnp.ones_like(x), x)
    direct = fnp.exp(safe_x * safe_x) * P.erfc(safe_x)
    t = _const(x, 1.0) / (x * x)
    asymp = fnp.polyval(np.array(_ERFCX_COEFFS[-nterms:], dt), t) / (x * _const(x, np.sqrt(np.pi)))
    return fnp.where(large, asymp, direct)


def dawsn(x):
    """Dawson's integral exp(-x ** 2) int_0^x exp(t ** 2) dt (Cephes' rational
    approximations, as jax.scipy.special.dawsn; a custom_jvp: d/dx = 1 - 2 x dawsn(x))."""
    x, = _args("dawsn", x)
    return _dawsn(x)


@custom_jvp
def _dawsn(x):
    dt = _dtype(x)
    if dt in (np.float32, np.float64):
        return _dawsn_impl(x)
    return _dawsn_impl(x.astype(np.float32)).astype(dt)


_dawsn.defjvps(lambda g, ans, x: g * (_const(x, 1.0) - _const(x, 2.0) * x * ans))

_DAWSN = {  # Cephes dawsn.c: |x| < 3.25 (A), < 6.25 (B), beyond (C)
    "AN": [1.1368149897175597e-11, 8.492622676674738e-10, 1.9443420417555306e-08,
           9.531517412544844e-07, 3.078283098749132e-06, 0.00035251336852028877,
           -0.0008501498467244109, 0.04226182230055466, -0.09174803717734524, 1.0],
    "AD": [2.403720730667626e-11, 1.488646813684934e-09, 5.212652810105416e-08,
           1.2725847827318697e-06, 2.324902498207895e-05, 0.00032552474182605793,
           0.003488058146571626, 0.027944853119882897, 0.15887424196012057,
           0.5749186294893204, 1.0],
    "BN": [0.5089551564179009, -0.24475441814269785, 0.09415123353035344,
           -0.021871125514203903, 0.003662076123295692, -0.0004232091144603888,
           3.5964130479389666e-05, -2.1464035171996896e-06, 9.100107800763914e-08,
           -2.4027452082825098e-09, 3.592333854409284e-11],
    "BD": [1.0, -0.6318398698733682, 0.2367067882282487, -0.053180636700322324,
           0.008480417185862954, -0.0009479967684866654, 7.810255929445524e-05,
           -4.558751532524426e-06, 1.8910035811142186e-07, -4.913246913319206e-09,
           7.184664032357345e-11],
    "CN": [-0.5905928605347732, 0.6292352427243688, -0.17285897538038814,
           0.016483704782518965, -0.0004868276130204627],
    "CD": [1.0, -2.698200571975449, 1.7327079904594784, -0.3937085822819395,
           0.03442789240412334, -0.0009736552260409412],
}


def _dawsn_impl(x):
    dt = _dtype(x)
    c = {k: np.array(v, dt) for k, v in _DAWSN.items()}
    one, half = _const(x, 1.0), _const(x, 0.5)
    ax = fnp.abs(x)
    t = one / (ax * ax)
    r1 = ax < _const(x, 3.25)
    r2 = (ax >= _const(x, 3.25)) & (ax < _const(x, 6.25))
    r3 = ax >= _const(x, 6.25)
    ones = fnp.ones_like(ax)
    a1 = fnp.where(r1, ax, ones)
    val1 = a1 * fnp.polyval(c["AN"], a1 * a1) / fnp.polyval(c["AD"], a1 * a1)
    t2, a2 = fnp.where(r2, t, ones), fnp.where(r2, ax, ones)
    val2 = half / a2 * (one + t2 * fnp.polyval(c["BN"], t2) / fnp.polyval(c["BD"], t2))
    t3, a3 = fnp.where(r3, t, ones), fnp.where(r3, ax, ones)
    val3 = half / a3 * (one + t3 * fnp.polyval(c["CN"], t3) / fnp.polyval(c["CD"], t3))
    return fnp.sign(x) * fnp.where(r1, val1, fnp.where(ax < _const(x, 6.25), val2, val3))


# --- bessel_jn (Miller's backward recurrence) ---
def bessel_jn(z, *, v: int, n_iter: int = 50):
    """Bessel functions of the first kind J_0..J_v at ``z`` by backward recurrence
    (as jax.scipy.special.bessel_jn: result of shape ``(v + 1,) + z.shape``).

    Args:
      z: real array-like.
      v: the highest order (a static non-negative int).
      n_iter: recurrence steps (static); more are needed for larger ``z``.
    """
    v, n_iter = operator.index(v), operator.index(n_iter)
    z, = _args("bessel_jn", fnp.asarray(z))
    zero = fnp.zeros_like(z)

    def body(carry, k):  # elementwise in z (JAX vmaps a scalar body over z's axes)
        f0, f1, bs = carry
        f = 2.0 * (k + 1.0) * f1 / z - f0
        bs = fnp.where(fnp.remainder(k, 2) == 0, bs + 2.0 * f, bs)
        return (f1, f, bs), f

    ks = fnp.arange(n_iter + 1, dtype=_dtype(z))
    (_, _, bs), j_vals = P.scan(body, (zero, zero + 1e-16, zero), ks, reverse=True)
    return j_vals[:v + 1] / (bs - j_vals[0])


# the series special functions (exp1, expi, expn, fresnel, hyp1f1, hyp2f1, owens_t,
# sici, sph_harm_y, wofz): their own module
from primitives.scipy.special_series import *  # noqa: E402,F401,F403
from primitives.scipy.special_series import __all__ as _series_all  # noqa: E402

__all__ += _series_all
