"""The series special functions of ``jax.scipy.special``: exponential, sine and
cosine integrals (Cephes rational approximations and continued fractions),
Fresnel integrals, the confluent and Gauss hypergeometric functions (Taylor
and asymptotic series in while loops), Owen's T (13-point quadrature), the
Faddeeva function (Weideman's rational approximation) and spherical
harmonics (normalized associated Legendre recurrences).

Each one is JAX's algorithm on our primitives, with JAX's derivative rules:
``expi``, ``expn`` (and so ``exp1``), ``sici``, ``fresnel``, ``hyp1f1``,
``hyp2f1``, ``owens_t`` and ``wofz`` are ``custom_jvp`` functions as in JAX.
The loops of expn / hyp1f1 / hyp2f1 run per element through ``fnp.vectorize``
(a batched while loop freezes converged lanes), as JAX's ``jnp.vectorize``.

Example::

    >>> from primitives.scipy import special
    >>> special.expi(np.array([-1.0, 0.5, 3.0], np.float32))
    >>> special.hyp1f1(1.0, 2.0, np.float32(0.5))

References:
    jax/_src/scipy/special.py and jax/_src/third_party/scipy/special.py
    (algorithms and coefficients); Cephes ei.c, expn.c, sici.c, fresnl.c;
    Pearson, Olver & Porter, "Numerical methods for the computation of the
    confluent and Gauss hypergeometric functions" (2014); Patefield & Tandy
    (2000) Owen's T; Weideman (1994) for the Faddeeva function.
"""
from __future__ import annotations

import numpy as np

import primitives as P
import primitives.numpy as fnp
from fx.core import get_aval
from fx.dtypes import kind
from primitives.custom_derivatives import custom_jvp
from primitives.numpy.complex_ops import _to_complex_dtype
from primitives.numpy.math import promote_inexact
from primitives.scipy._promote import const as _c, promote_args_inexact as _args

__all__ = ["expi", "exp1", "expn", "sici", "fresnel", "hyp1f1", "hyp2f1", "owens_t",
           "wofz", "sph_harm_y"]


def _dtype(x):
    return get_aval(x).dtype


def _eps(x):
    return _c(x, np.finfo(_dtype(x)).eps)


def _real_only(name, x):
    if kind(_dtype(x)) == "c":
        raise ValueError(f"{name} does not support complex-valued inputs (as in JAX).")


def _gamma(x):
    """special.gamma for real x (gammasgn * exp(gammaln)); special.py re-exports this
    module, so it cannot be imported here."""
    floor_x = fnp.floor(x)
    neg = x < 0
    sign = fnp.where((neg & (x == floor_x)) | fnp.isnan(x), _c(x, np.nan),
                     fnp.where((neg & (fnp.remainder(floor_x, 2) != 0)) |
                               ((x == 0) & fnp.signbit(x)), _c(x, -1.0), _c(x, 1.0)))
    return sign * fnp.exp(P.lgamma(x))


def _poly(coefs, x):
    return fnp.polyval(np.array(coefs, _dtype(x)), x)


# --- exponential integrals (Cephes ei.c / expn.c) ---
_EXPINT1 = ([-5.350447357812542947283e0, 2.185049168816613393830e2, -4.176572384826693777058e3,
             5.541176756393557601232e4, -3.313381331178144034309e5, 1.592627163384945414220e6],
            [1.0, -5.250547959112862969197e1, 1.259616186786790571525e3,
             -1.756549581973534652631e4, 1.493062117002725991967e5,
             -7.294949239640527645655e5, 1.592627163384945429726e6])
_EXPINT_K = [  # (A, B) on (2, 4], (4, 8], (8, 16], (16, 32], (32, 64], (64, inf)
    ([1.981808503259689673238e-2, -1.271645625984917501326e0, -2.088160335681228318920e0,
      2.755544509187936721172e0, -4.409507048701600257171e-1, 4.665623805935891391017e-2,
      -1.545042679673485262580e-3, 7.059980605299617478514e-5],
     [1.0, 1.476498670914921440652e0, 5.629177174822436244827e-1, 1.699017897879307263248e-1,
      2.291647179034212017463e-2, 4.450150439728752875043e-3, 1.727439612206521482874e-4,
      3.953167195549672482304e-5]),
    ([-1.373215375871208729803e0, -7.084559133740838761406e-1, 1.580806855547941010501e0,
      -2.601500427425622944234e-1, 2.994674694113713763365e-2, -1.038086040188744005513e-3,
      4.371064420753005429514e-5, 2.141783679522602903795e-6],
     [1.0, 8.585231423622028380768e-1, 4.483285822873995129957e-1, 7.687932158124475434091e-2,
      2.449868241021887685904e-2, 8.832165941927796567926e-4, 4.590952299511353531215e-4,
      -4.729848351866523044863e-6, 2.665195537390710170105e-6]),
    ([-2.106934601691916512584e0, 1.732733869664688041885e0, -2.423619178935841904839e-1,
      2.322724180937565842585e-2, 2.372880440493179832059e-4, -8.343219561192552752335e-5,
      1.363408795605250394881e-5, -3.655412321999253963714e-7, 1.464941733975961318456e-8,
      6.176407863710360207074e-10],
     [1.0, -2.298062239901678075778e-1, 1.105077041474037862347e-1,
      -1.566542966630792353556e-2, 2.761106850817352773874e-3, -2.089148012284048449115e-4,
      1.708528938807675304186e-5, -4.459311796356686423199e-7, 1.394634930353847498145e-8,
      6.150865933977338354138e-10]),
    ([-2.458119367674020323359e-1, -1.483382253322077687183e-1, 7.248291795735551591813e-2,
      -1.348315687380940523823e-2, 1.342775069788636972294e-3, -7.942465637159712264564e-5,
      2.644179518984235952241e-6, -4.239473659313765177195e-8],
     [1.0, -1.044225908443871106315e-1, -2.676453128101402655055e-1,
      9.695000254621984627876e-2, -1.601745692712991078208e-2, 1.496414899205908021882e-3,
      -8.462452563778485013756e-5, 2.728938403476726394024e-6, -4.239462431819542051337e-8]),
    ([1.212561118105456670844e-1, -5.823133179043894485122e-1, 2.348887314557016779211e-1,
      -3.040034318113248237280e-2, 1.510082146865190661777e-3, -2.523137095499571377122e-5],
     [1.0, -1.002252150365854016662e0, 2.928709694872224144953e-1,
      -3.337004338674007801307e-2, 1.560544881127388842819e-3, -2.523137093603234562648e-5]),
    ([-7.657847078286127362028e-1, 6.886192415566705051750e-1, -2.132598113545206124553e-1,
      3.346107552384193813594e-2, -3.076541477344756050249e-3, 1.747119316454907477380e-4,
      -6.103711682274170530369e-6, 1.218032765428652199087e-7, -1.086076102793290233007e-9],
     [1.0, -1.888802868662308731041e0, 1.066691687211408896850e0, -2.751915982306380647738e-1,
      3.930852688233823569726e-2, -3.414684558602365085394e-3, 1.866844370703555398195e-4,
      -6.345146083130515357861e-6, 1.239754287483206878024e-7, -1.086076102793126632978e-9]),
]


def _expint1(x):  # 0 < x <= 2
    a, b = _EXPINT1
    return x * (_poly(a, x) / _poly(b, x)) + np.euler_gamma + fnp.log(x)


def _expint_k(a, b):
    def f(x):
        one = _c(x, 1.0)
        w = one / x
        g = w * (_poly(a, w) / _poly(b, w)) + one
        return fnp.exp(x) * w * g
    return f


def _expi_pos(x):
    conds = [(_c(x, 0) < x) & (x <= _c(x, 2))] + [
        (_c(x, 2 ** i) < x) & (x <= _c(x, 2 ** (i + 1))) for i in range(1, 6)]
    return fnp.piecewise(x, conds, [_expint1] + [_expint_k(a, b) for a, b in _EXPINT_K])


@custom_jvp
def expi(x):
    """The exponential integral Ei(x) = int_{-inf}^x e^t / t dt (as
    jax.scipy.special.expi: Cephes' rational approximations; a custom_jvp,
    d/dx = e^x / x).

    Args:
      x: real array-like.

    Returns:
      Ei(x), elementwise.

    References:
      jax.scipy.special.expi; Cephes ei.c.
    """
    x, = _args("expi", x)
    _real_only("expi", x)
    return fnp.piecewise(x, [x < 0], [lambda v: -exp1(-v), _expi_pos])


@expi.defjvp
def _expi_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return expi(x), fnp.exp(x) / x * x_dot


def _expn_series(x, n):  # x <= 1 (Cephes expn.c, the power series)
    one, zero = _c(x, 1.0), _c(x, 0.0)
    _, psi = P.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] + one / c[0]),
                          (fnp.ones_like(n), -np.euler_gamma - fnp.log(x)))
    n1 = fnp.where(n == 1, one + one, n)
    init = dict(xk=zero, yk=one, pk=one - n, ans=fnp.where(n == 1, zero, one / (one - n1)),
                t=_c(x, np.inf))

    def body(d):
        xk, pk = d["xk"] + one, d["pk"] + one
        yk = d["yk"] * (-x) / xk
        ans = d["ans"] + fnp.where(pk != zero, yk / pk, zero)
        t = fnp.where(ans != zero, fnp.abs(yk / ans), one)
        return dict(xk=xk, yk=yk, pk=pk, ans=ans, t=t)

    d = P.while_loop(lambda d: (x > zero) & (d["t"] > _eps(x)), body, init)
    return (-x) ** (n - 1) * psi / fnp.exp(P.lgamma(n)) - d["ans"]


def _expn_cfrac(x, n):  # x > 1 (Cephes expn.c, the continued fraction)
    big = _c(x, 1.44115188075855872e17)
    one, zero = _c(x, 1.0), _c(x, 0.0)
    init = dict(k=fnp.ones_like(n), pkm2=one, qkm2=x, pkm1=one, qkm1=x + n,
                ans=one / (x + n), t=_c(x, np.inf), r=zero)

    def body(d):
        k = d["k"] + 1
        odd = k % 2 == 1
        yk = fnp.where(odd, one, x)
        xk = fnp.where(odd, n + (k - 1) / 2, k / 2)
        pk = d["pkm1"] * yk + d["pkm2"] * xk
        qk = d["qkm1"] * yk + d["qkm2"] * xk
        nz = qk != zero
        r = fnp.where(nz, pk / qk, d["r"])
        t = fnp.where(nz, fnp.abs((d["ans"] - r) / r), one)
        ans = fnp.where(nz, r, d["ans"])
        is_big = fnp.abs(pk) > big
        scale = lambda v: fnp.where(is_big, v / big, v)  # noqa: E731
        return dict(k=k, pkm2=scale(d["pkm1"]), pkm1=scale(pk), qkm2=scale(d["qkm1"]),
                    qkm1=scale(qk), ans=ans, t=t, r=r)

    d = P.while_loop(lambda d: (x > d["k"] * 0) & (d["t"] > _eps(x)), body, init)
    return d["ans"] * fnp.exp(-x)


def _expn_large_n(x, n):  # n >= 5000
    one = _c(x, 1.0)
    xk = x + n
    yk = one / (xk * xk)
    ans = yk * n * (6 * x * x - 8 * n * x + n * n)
    ans = yk * (ans + n * (n - 2 * x))
    ans = yk * (ans + n)
    return (ans + one) * fnp.exp(-x) / xk


def _expn_scalar(n, x):
    n, x = _args("expn", n, x)
    _real_only("expn", x)
    zero, one = _c(x, 0), _c(x, 1)
    conds = [(n < 0) | (x < zero), (x == zero) & (n < 2), (x == zero) & (n >= 2),
             (n == 0) & (x >= zero), n >= 5000, x > one]
    n1 = fnp.where(n == 1, n + n, n)
    return fnp.piecewise(x, conds, [np.nan, np.inf, one / n1, fnp.exp(-x) / x, _expn_large_n,
                                    _expn_cfrac, _expn_series], n=n)


def _expn_elementwise(n, x):
    return fnp.vectorize(_expn_scalar)(n, x)


_expn_cj = custom_jvp(_expn_elementwise, nondiff_argnums=(0,))


@_expn_cj.defjvp
def _expn_jvp(n, primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return _expn_cj(n, x), -x_dot * _expn_cj(n - _c(n, 1), x)


def expn(n, x):
    """The generalized exponential integral E_n(x) = int_1^inf e^{-x t} / t^n dt (as
    jax.scipy.special.expn: Cephes' power series for x <= 1, continued fraction
    above, asymptotic for n >= 5000; nan for n < 0 or x < 0; a custom_jvp in x,
    d/dx = -E_{n-1}(x), not differentiable in n).

    Args:
      n: real array-like order.
      x: real array-like.

    Returns:
      E_n(x), broadcast over n and x.

    References:
      jax.scipy.special.expn; Cephes expn.c.
    """
    return _expn_cj(n, x)


def exp1(x):
    """The exponential integral E_1(x) = expn(1, x) (as jax.scipy.special.exp1).

    Args:
      x: real array-like.

    Returns:
      E_1(x), elementwise.

    References:
      jax.scipy.special.exp1.
    """
    x, = _args("exp1", x)
    _real_only("exp1", x)
    return expn(1, x)


# --- sine and cosine integrals (Cephes sici.c) ---
_SICI = {
    "SN": [-8.39167827910303881427E-11, 4.62591714427012837309E-8, -9.75759303843632795789E-6,
           9.76945438170435310816E-4, -4.13470316229406538752E-2, 1.00000000000000000302E0],
    "SD": [2.03269266195951942049E-12, 1.27997891179943299903E-9, 4.41827842801218905784E-7,
           9.96412122043875552487E-5, 1.42085239326149893930E-2, 9.99999999999999996984E-1],
    "CN": [2.02524002389102268789E-11, -1.35249504915790756375E-8, 3.59325051419993077021E-6,
           -4.74007206873407909465E-4, 2.89159652607555242092E-2, -1.00000000000000000080E0],
    "CD": [4.07746040061880559506E-12, 3.06780997581887812692E-9, 1.23210355685883423679E-6,
           3.17442024775032769882E-4, 5.10028056236446052392E-2, 4.00000000000000000080E0],
    "FN4": [4.23612862892216586994E0, 5.45937717161812843388E0, 1.62083287701538329132E0,
            1.67006611831323023771E-1, 6.81020132472518137426E-3, 1.08936580650328664411E-4,
            5.48900223421373614008E-7],
    "FD4": [1, 8.16496634205391016773E0, 7.30828822505564552187E0, 1.86792257950184183883E0,
            1.78792052963149907262E-1, 7.01710668322789753610E-3, 1.10034357153915731354E-4,
            5.48900252756255700982E-7],
    "GN4": [8.71001698973114191777E-2, 6.11379109952219284151E-1, 3.97180296392337498885E-1,
            7.48527737628469092119E-2, 5.38868681462177273157E-3, 1.61999794598934024525E-4,
            1.97963874140963632189E-6, 7.82579040744090311069E-9],
    "GD4": [1, 1.64402202413355338886E0, 6.66296701268987968381E-1, 9.88771761277688796203E-2,
            6.22396345441768420760E-3, 1.73221081474177119497E-4, 2.02659182086343991969E-6,
            7.82579218933534490868E-9],
    "FN8": [4.55880873470465315206E-1, 7.13715274100146711374E-1, 1.60300158222319456320E-1,
            1.16064229408124407915E-2, 3.49556442447859055605E-4, 4.86215430826454749482E-6,
            3.20092790091004902806E-8, 9.41779576128512936592E-11, 9.70507110881952024631E-14],
    "FD8": [1.0, 9.17463611873684053703E-1, 1.78685545332074536321E-1, 1.22253594771971293032E-2,
            3.58696481881851580297E-4, 4.92435064317881464393E-6, 3.21956939101046018377E-8,
            9.43720590350276732376E-11, 9.70507110881952025725E-14],
    "GN8": [6.97359953443276214934E-1, 3.30410979305632063225E-1, 3.84878767649974295920E-2,
            1.71718239052347903558E-3, 3.48941165502279436777E-5, 3.47131167084116673800E-7,
            1.70404452782044526189E-9, 3.85945925430276600453E-12, 3.14040098946363334640E-15],
    "GD8": [1.0, 1.68548898811011640017E0, 4.87852258695304967486E-1, 4.67913194259625806320E-2,
            1.90284426674399523638E-3, 3.68475504442561108162E-5, 3.57043223443740838771E-7,
            1.72693748966316146736E-9, 3.87830166023954706752E-12, 3.14040098946363335242E-15],
}


def _sici_series(x):  # 0 <= x <= 4
    t = x * x
    si = (x * _poly(_SICI["SN"], t)) / _poly(_SICI["SD"], t)
    ci = np.euler_gamma + fnp.log(x) + t * _poly(_SICI["CN"], t) / _poly(_SICI["CD"], t)
    return fnp.where(x == 0, 0.0, si), fnp.where(x == 0, -np.inf, ci)


def _sici_asympt(x):  # 4 < x <= 1e9
    s, c, z = fnp.sin(x), fnp.cos(x), 1.0 / (x * x)
    k = {name: _poly(v, z) for name, v in _SICI.items() if name[0] in "FG"}
    small = x < 8.0
    f = fnp.where(small, k["FN4"] / (x * k["FD4"]), k["FN8"] / (x * k["FD8"]))
    g = fnp.where(small, z * k["GN4"] / k["GD4"], z * k["GN8"] / k["GD8"])
    return (np.pi / 2) - f * c - g * s, f * s - g * c


def _sici_approx(x):  # x > 1e9
    inf = fnp.isposinf(x)
    return (fnp.where(inf, np.pi / 2, (np.pi / 2) - fnp.cos(x) / x),
            fnp.where(inf, 0.0, fnp.sin(x) / x))


@custom_jvp
def sici(x):
    """The sine and cosine integrals Si(x) = int_0^x sin t / t dt and
    Ci(x) = gamma + log x + int_0^x (cos t - 1) / t dt (as jax.scipy.special.sici:
    Cephes' rational approximations; a custom_jvp, d/dx = (sinc(x / pi), cos x / x)).

    Args:
      x: real array-like.

    Returns:
      The tuple (Si(x), Ci(x)); Ci is nan at -inf (and Ci(x < 0) is Ci(|x|), as JAX).

    References:
      jax.scipy.special.sici; Cephes sici.c.
    """
    x, = _args("sici", x)
    if kind(_dtype(x)) == "c":
        raise ValueError(f"Argument `x` to sici must be real-valued. Got dtype {_dtype(x)}.")
    ax = fnp.abs(x)
    parts = [_sici_series(ax), _sici_asympt(ax), _sici_approx(ax)]
    conds = [ax <= 4, (ax > 4) & (ax <= 1e9)]
    si = fnp.select(conds, [p[0] for p in parts[:2]], parts[2][0])
    ci = fnp.select(conds, [p[1] for p in parts[:2]], parts[2][1])
    return fnp.sign(x) * si, fnp.where(fnp.isneginf(x), np.nan, ci)


@sici.defjvp
def _sici_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return sici(x), (fnp.sinc(x / np.pi) * t, fnp.cos(x) / x * t)


# --- Fresnel integrals (Cephes fresnl.c, via SciPy's C++ port) ---
_FRESNEL32 = {
    "sn": [1.647629463788700e-9, -1.522754752581096e-7, 8.424748808502400e-6,
           -3.120693124703272e-4, 7.244727626597022e-3, -9.228055941124598e-2,
           5.235987735681432e-1],
    "cn": [1.416802502367354e-8, -1.157231412229871e-6, 5.387223446683264e-5,
           -1.604381798862293e-3, 2.818489036795073e-2, -2.467398198317899e-1,
           9.999999760004487e-1],
    "fn": [-1.903009855649792e12, 1.355942388050252e11, -4.158143148511033e9,
           7.343848463587323e7, -8.732356681548485e5, 8.560515466275470e3,
           -1.032877601091159e2, 2.999401847870011e0],
    "gn": [-1.860843997624650e11, 1.278350673393208e10, -3.779387713202229e8,
           6.492611570598858e6, -7.787789623358162e4, 8.602931494734327e2,
           -1.493439396592284e1, 9.999841934744914e-1],
}
_FRESNEL64 = {
    "sn": [-2.99181919401019853726e3, 7.08840045257738576863e5, -6.29741486205862506537e7,
           2.54890880573376359104e9, -4.42979518059697779103e10, 3.18016297876567817986e11],
    "sd": [1.0, 2.81376268889994315696e2, 4.55847810806532581675e4, 5.17343888770096400730e6,
           4.19320245898111231129e8, 2.24411795645340920940e10, 6.07366389490084639049e11],
    "cn": [-4.98843114573573548651e-8, 9.50428062829859605134e-6, -6.45191435683965050962e-4,
           1.88843319396703850064e-2, -2.05525900955013891793e-1, 9.99999999999999998822e-1],
    "cd": [3.99982968972495980367e-12, 9.15439215774657478799e-10, 1.25001862479598821474e-7,
           1.22262789024179030997e-5, 8.68029542941784300606e-4, 4.12142090722199792936e-2,
           1.00000000000000000118e0],
    "fn": [4.21543555043677546506e-1, 1.43407919780758885261e-1, 1.15220955073585758835e-2,
           3.45017939782574027900e-4, 4.63613749287867322088e-6, 3.05568983790257605827e-8,
           1.02304514164907233465e-10, 1.72010743268161828879e-13, 1.34283276233062758925e-16,
           3.76329711269987889006e-20],
    "fd": [1.0, 7.51586398353378947175e-1, 1.16888925859191382142e-1, 6.44051526508858611005e-3,
           1.55934409164153020873e-4, 1.84627567348930545870e-6, 1.12699224763999035261e-8,
           3.60140029589371370404e-11, 5.88754533621578410010e-14, 4.52001434074129701496e-17,
           1.25443237090011264384e-20],
    "gn": [5.04442073643383265887e-1, 1.97102833525523411709e-1, 1.87648584092575249293e-2,
           6.84079380915393090172e-4, 1.15138826111884280931e-5, 9.82852443688422223854e-8,
           4.45344415861750144738e-10, 1.08268041139020870318e-12, 1.37555460633261799868e-15,
           8.36354435630677421531e-19, 1.86958710162783235106e-22],
    "gd": [1.0, 1.47495759925128324529e0, 3.37748989120019970451e-1, 2.53603741420338795122e-2,
           8.14679107184306179049e-4, 1.27545075667729118702e-5, 1.04314589657571990585e-7,
           4.60680728146520428211e-10, 1.10273215066240270757e-12, 1.38796531259578871258e-15,
           8.39158816283118707363e-19, 1.86958710162783236342e-22],
}


def _sincospi_sq_half(x):
    """sin and cos of pi x^2 / 2, reduced exactly (SciPy's sinpi / cospi)."""
    x = fnp.abs(x)
    s = fnp.fmod(x, 2.0)
    r = fnp.fmod(s * (x - s / 2), 2.0)
    sinpi = fnp.where(r < 0.5, fnp.sin(np.pi * r),
                      fnp.where(r > 1.5, fnp.sin(np.pi * (r - 2.0)), -fnp.sin(np.pi * (r - 1.0))))
    cospi = fnp.where(r == 0.5, 0.0, fnp.where(r < 1.0, -fnp.sin(np.pi * (r - 0.5)),
                                               fnp.sin(np.pi * (r - 1.5))))
    return sinpi, cospi


@custom_jvp
def fresnel(x):
    """The Fresnel integrals S(x) = int_0^x sin(pi t^2 / 2) dt and C(x) (cos), as
    jax.scipy.special.fresnel: Cephes' expansions (fresnlf's for float32; half
    precision computed in float32); a custom_jvp, d/dx = (sin, cos)(pi x^2 / 2).

    Args:
      x: real array-like.

    Returns:
      The tuple (S(x), C(x)).

    References:
      jax.scipy.special.fresnel; Cephes fresnl.c; SciPy's fresnl.h.
    """
    if kind(fnp.result_type(x)) == "c":
        raise NotImplementedError("Support for complex-valued inputs is not implemented yet.")
    xxa, = _args("fresnel", x)
    xxa = fnp.asarray(xxa)
    dt = _dtype(xxa)
    if dt in (np.float32, np.float16) or dt.name == "bfloat16":
        xxa = xxa.astype(np.float32)
    elif dt != np.float64:
        raise NotImplementedError(f"Support for {dt} dtype is not implemented yet.")
    single = _dtype(xxa) == np.float32
    k = {n: np.array(v, _dtype(xxa)) for n, v in (_FRESNEL32 if single else _FRESNEL64).items()}
    x = fnp.abs(xxa)
    x2 = x * x
    t = x2 * x2
    if single:
        s_small, c_small = x * x2 * fnp.polyval(k["sn"], t), x * fnp.polyval(k["cn"], t)
    else:
        s_small = x * x2 * fnp.polyval(k["sn"], t) / fnp.polyval(k["sd"], t)
        c_small = x * fnp.polyval(k["cn"], t) / fnp.polyval(k["cd"], t)
    sinpi, cospi = _sincospi_sq_half(x)
    if single:
        c_large = s_large = 0.5
    else:
        c_large = 0.5 + 1 / (np.pi * x) * sinpi
        s_large = 0.5 - 1 / (np.pi * x) * cospi
    t = np.pi * x2
    u = 1.0 / (t * t)
    t = 1.0 / t
    if single:
        f, g = 1.0 - u * fnp.polyval(k["fn"], u), t * fnp.polyval(k["gn"], u)
    else:
        f = 1.0 - u * fnp.polyval(k["fn"], u) / fnp.polyval(k["fd"], u)
        g = t * fnp.polyval(k["gn"], u) / fnp.polyval(k["gd"], u)
    t = np.pi * x
    c_other = 0.5 + (f * sinpi - g * cospi) / t
    s_other = 0.5 - (f * cospi + g * sinpi) / t
    isinf, small, large = fnp.isinf(xxa), x2 < 2.5625, x > 36974.0
    s = fnp.where(isinf, 0.5, fnp.where(small, s_small, fnp.where(large, s_large, s_other)))
    c = fnp.where(isinf, 0.5, fnp.where(small, c_small, fnp.where(large, c_large, c_other)))
    neg = xxa < 0.0
    s, c = fnp.where(neg, -s, s), fnp.where(neg, -c, c)
    if dt != _dtype(xxa):
        s, c = s.astype(dt), c.astype(dt)
    return s, c


@fresnel.defjvp
def _fresnel_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    sinpi, cospi = _sincospi_sq_half(x)
    return fresnel(x), (sinpi * x_dot, cospi * x_dot)


# --- the confluent hypergeometric function 1F1 ---
def _series_loop(term_step, add, init_term, x, start=1.0, total=1.0):
    """``while k < 250 and |term| / |sum| > eps: sum += add(term, k); term *= step(k)``
    (the loop shape of JAX's hypergeometric series); returns the sum."""
    def body(state):
        serie, k, term = state
        return serie + add(term, k), k + 1, term * term_step(k)

    def cond(state):
        serie, k, term = state
        return (k < 250) & (fnp.abs(term) / fnp.abs(serie) > _eps(x))

    init = (fnp.full_like(x, total), fnp.full_like(x, start), init_term)
    return P.while_loop(cond, body, init)[0]


def _hyp1f1_serie(a, b, x):
    return _series_loop(lambda k: (a + k) / (b + k) * x / (k + 1), lambda t, k: t, a / b * x, x)


def _hyp1f1_asymptotic(a, b, x):
    serie = _series_loop(lambda k: (b - a + k) * (1 - a + k) / (k + 1) / x, lambda t, k: t,
                         (b - a) * (1 - a) / x, x)
    return _gamma(b) / _gamma(a) * fnp.exp(x) * x ** (a - b) * serie


def _hyp1f1_scalar(a, b, x):
    a, b, x = _args("hyp1f1", a, b, x)
    _real_only("hyp1f1", x)
    result = P.cond(fnp.abs(x) < 100, _hyp1f1_serie, _hyp1f1_asymptotic, a, b, x)
    index = (a == 0) * 1 + ((a == b) & (a != 0)) * 2 + ((b == 0) & (a != 0)) * 3
    return P.select_n(index, result, fnp.ones_like(result), fnp.exp(x),
                      fnp.full_like(result, np.inf))


def _hyp1f1_da(a, b, x):
    a, b, x = _args("hyp1f1", a, b, x)
    return _series_loop(lambda k: (a + k) / (b + k) * x / (k + 1),
                        lambda t, k: t * (P.digamma(a + k) - P.digamma(a)), a / b * x, x, total=0.0)


def _hyp1f1_db(a, b, x):
    a, b, x = _args("hyp1f1", a, b, x)
    return _series_loop(lambda k: (a + k) / (b + k) * x / (k + 1),
                        lambda t, k: t * (P.digamma(b) - P.digamma(b + k)), a / b * x, x, total=0.0)


@custom_jvp
def hyp1f1(a, b, x):
    """The confluent hypergeometric function 1F1(a; b; x) = sum_k (a)_k / (b)_k x^k / k!
    (as jax.scipy.special.hyp1f1: Taylor series for |x| < 100, asymptotic series
    above; 1 at a == 0 (also a == b == 0), exp(x) at a == b, inf at b == 0; a
    custom_jvp with series derivatives in a and b, a / b 1F1(a+1; b+1; x) in x).

    Args:
      a, b, x: real array-like (broadcast together).

    Returns:
      1F1(a; b; x).

    References:
      jax.scipy.special.hyp1f1; Pearson, Olver & Porter (2014), eqs. 3.2 and 3.8.
    """
    return fnp.vectorize(_hyp1f1_scalar)(a, b, x)


hyp1f1.defjvps(
    lambda a_dot, out, a, b, x: fnp.vectorize(_hyp1f1_da)(a, b, x) * a_dot,
    lambda b_dot, out, a, b, x: fnp.vectorize(_hyp1f1_db)(a, b, x) * b_dot,
    lambda x_dot, out, a, b, x: a / b * hyp1f1(a + 1, b + 1, x) * x_dot)


# --- the Gauss hypergeometric function 2F1 ---
def _hyp2f1_terminal(a, b, c, x):
    """The terminating Taylor series (a or b a non-positive integer)."""
    eps = _eps(x) * 50
    ib = fnp.round(b)
    mask = (b < a) & (fnp.abs(b - ib) < eps) & ~((c % 1 == 0) & (c <= 0) & (c > b))
    a, b = fnp.where(mask, b, a), fnp.where(mask, a, b)
    a = fnp.abs(a)

    def body(state):
        i, serie, term = state
        term = term * (-(a - i + 1) / (c + i - 1) * (b + i - 1) / i * x)
        return i + 1, serie + term, term

    one = fnp.ones_like(x)
    return P.while_loop(lambda s: s[0] < a + 1, body, (fnp.ones_like(a), one, one))[1]


def _hyp2f1_serie(a, b, c, x):
    def cond(state):
        serie, k, term = state
        return (k < 250) & (fnp.abs(term) > _eps(x) * fnp.abs(serie))

    def body(state):
        serie, k, term = state
        return serie + term, k + 1, term * ((a + k - 1) * (b + k - 1) / (c + k - 1) / k * x)

    return P.while_loop(cond, body, (fnp.zeros_like(x), fnp.ones_like(x), fnp.ones_like(x)))[0]


def _hyp2f1_digamma_transform(a, b, c, x):
    """AMS55 15.3.10-12: the expansion about x = 1 when c - a - b is an integer."""
    d, s = c - a - b, 1 - x
    rd = fnp.round(d)
    pos = rd >= 0
    e = fnp.where(pos, d, -d)
    d1 = fnp.where(pos, d, fnp.zeros_like(d))
    d2 = fnp.where(pos, fnp.zeros_like(d), d)
    ard = fnp.where(pos, rd, -rd).astype(np.int32)
    ax = fnp.log(s)
    psi = P.digamma
    y = psi(_c(x, 1.0)) + psi(1.0 + e) - psi(a + d1) - psi(b + d1) - ax
    y = y / _gamma(e + 1.0)
    p = (a + d1) * (b + d1) * s / _gamma(e + 2.0)

    def cond(state):
        p, q, t, y = state
        return (t < 250) & (fnp.abs(q) >= _eps(x) * fnp.abs(y))

    def body(state):
        p, q, t, y = state
        r = psi(1.0 + t) + psi(1.0 + t + e) - psi(a + t + d1) - psi(b + t + d1) - ax
        q = p * r
        p = p * (s * (a + t + d1) / (t + 1.0))
        p = p * ((b + t + d1) / (t + 1.0 + e))
        return p, q, t + 1.0, y + q

    _, _, _, y = P.while_loop(cond, body, (p, y, fnp.ones_like(x), y))

    def sum_body(state):
        i, p, t, y1 = state
        p = p * (s * (a + t + d2) * (b + t + d2) / (1.0 - e + t))
        t = t + 1.0
        p = p / t
        return i + 1, p, t, y1 + p

    y1 = P.while_loop(lambda st: st[0] < ard, sum_body,
                      (fnp.ones_like(ard), fnp.ones_like(x), fnp.zeros_like(x),
                       fnp.ones_like(x)))[3]
    g = _gamma(c)
    y1 = y1 * (_gamma(e) * g / (_gamma(a + d1) * _gamma(b + d1)))
    y2 = y * (g / (_gamma(a + d2) * _gamma(b + d2)))
    y2 = fnp.where((ard & 1) != 0, -y2, y2)
    q = s ** rd
    summed = fnp.where(rd > 0, y2 * q + y1, y2 + y1 * q)
    return fnp.where(rd == 0, y * _gamma(c) / (_gamma(a) * _gamma(b)), summed)


def _hyp2f1_terminal_or_serie(a, b, c, x):
    eps = _eps(x) * 50
    d = c - a - b
    neg_int_a = (a <= 0) & (fnp.abs(a - fnp.round(a)) < eps)
    neg_int_b = (b <= 0) & (fnp.abs(b - fnp.round(b)) < eps)
    neg_int = neg_int_a | neg_int_b
    index = fnp.where((x > 0.9) & ~neg_int, fnp.where(fnp.abs(d - fnp.round(d)) >= eps, 0, 1),
                      fnp.where(neg_int, 2, 0))
    return P.select_n(index, _hyp2f1_serie(a, b, c, x), _hyp2f1_digamma_transform(a, b, c, x),
                      _hyp2f1_terminal(a, b, c, x))


def _hyp2f1_scalar(a, b, c, x):
    a, b, c, x = _args("hyp2f1", a, b, c, x)
    eps = _eps(x) * 50
    d, s, ca, cb = c - a - b, 1 - x, c - a, c - b
    idd = fnp.round(d)
    w = fnp.where
    index = w((x == 0) | (((a == 0) | (b == 0)) & (c != 0)), 0,
              w((c == 0) | ((c < 0) & (c % 1 == 0)), 1,
                w((d <= -1) & ~((fnp.abs(d - idd) >= eps) & (s < 0)), 2,
                  w((d <= 0) & (x == 1), 1,
                    w((x < 1) & (b == c), 3,
                      w((x < 1) & (a == c), 4,
                        w(x > 1, 1, w(x == 1, 5, 6))))))))
    return P.select_n(index, fnp.ones_like(x), fnp.full_like(x, np.inf),
                      s ** d * _hyp2f1_terminal_or_serie(ca, cb, c, x), s ** (-a), s ** (-b),
                      _gamma(c) * _gamma(d) / (_gamma(ca) * _gamma(cb)),
                      _hyp2f1_terminal_or_serie(a, b, c, x))


def _hyp2f1_dparam(which):
    """The series derivative of 2F1 in a (0), b (1) or c (2)."""
    def scalar(a, b, c, x):
        a, b, c, x = _args("hyp2f1", a, b, c, x)
        psi = P.digamma
        add = [lambda t, k: t * (psi(a + k) - psi(a)), lambda t, k: t * (psi(b + k) - psi(b)),
               lambda t, k: t * (psi(c) - psi(c + k))][which]
        return _series_loop(lambda k: (a + k) * (b + k) / (c + k) / (k + 1) * x, add,
                            a * b / c * x, x, total=0.0)
    return fnp.vectorize(scalar)


@custom_jvp
def hyp2f1(a, b, c, x):
    """The Gauss hypergeometric function 2F1(a, b; c; x) = sum_k (a)_k (b)_k / (c)_k
    x^k / k! (as jax.scipy.special.hyp2f1: Taylor series, terminating series,
    the linear transformations and AMS55 15.3.10-12 near x = 1; inf for x > 1;
    a custom_jvp with series derivatives in a, b, c and a b / c 2F1(a+1, b+1;
    c+1; x) in x).

    Args:
      a, b, c, x: real array-like (broadcast together).

    Returns:
      2F1(a, b; c; x).

    References:
      jax.scipy.special.hyp2f1; Pearson, Olver & Porter (2014), section 4.
    """
    return fnp.vectorize(_hyp2f1_scalar)(a, b, c, x)


hyp2f1.defjvps(
    lambda a_dot, out, a, b, c, x: _hyp2f1_dparam(0)(a, b, c, x) * a_dot,
    lambda b_dot, out, a, b, c, x: _hyp2f1_dparam(1)(a, b, c, x) * b_dot,
    lambda c_dot, out, a, b, c, x: _hyp2f1_dparam(2)(a, b, c, x) * c_dot,
    lambda x_dot, out, a, b, c, x: a * b / c * hyp2f1(a + 1, b + 1, c + 1, x) * x_dot)


# --- Owen's T (Patefield & Tandy method T5: 13-point quadrature) ---
_OWENS_T_PTS = np.array([
    0.0035082039676451715, 0.031279042338030754, 0.085266826283219451, 0.16245071730812277,
    0.25851196049125435, 0.36807553840697534, 0.48501092905604697, 0.60277514152618577,
    0.71477884217753227, 0.81475510988760099, 0.89711029755948966, 0.95723808085944262,
    0.99178832974629704])
_OWENS_T_WTS = np.array([
    0.018831438115323503, 0.018567086243977649, 0.018042093461223386, 0.017263829606398753,
    0.016243219975989857, 0.014994592034116705, 0.013535474469662088, 0.011886351605820165,
    0.010070377242777432, 0.0081130545742299587, 0.0060419009528470239, 0.0038862217010742058,
    0.0016793031084546090])


def _owens_t_quadrature(h, a):
    # fresh numpy copies of the float64 tables (x32: float32, x64: float64, as JAX's):
    # jax 0.10 caches a numpy constant captured by a jit by identity, not by x64
    # mode, so the same module-level array captured under x32 and later under x64
    # lowers as float32 (``jax.jit(lambda a: a * C)`` fails the same way)
    pts = fnp.expand_dims(np.array(_OWENS_T_PTS), tuple(range(fnp.ndim(a))))
    r = fnp.square(a)[..., None] * pts
    integrand = fnp.exp(-0.5 * fnp.square(h)[..., None] * (1. + r)) / (1. + r)
    return a * fnp.matmul(integrand, np.array(_OWENS_T_WTS))


@custom_jvp
def _owens_t(h, a):
    h, abs_a = fnp.abs(h), fnp.abs(a)
    root_2 = _c(h, np.sqrt(2))
    h_normed = h / root_2
    mod_a = fnp.where(abs_a <= 1., abs_a, fnp.reciprocal(abs_a))
    mod_h = fnp.where(abs_a <= 1., h, abs_a * h)
    result = _owens_t_quadrature(mod_h, mod_a)
    result = fnp.where(mod_h == 0., fnp.arctan(mod_a) / (2 * np.pi), result)
    result = fnp.where(mod_a == 1., 0.125 * P.erfc(-mod_h / root_2) * P.erfc(mod_h / root_2),
                       result)
    normh, normah = P.erfc(h_normed), P.erfc(abs_a * h_normed)
    result = fnp.where(abs_a > 1., fnp.where(
        abs_a * h <= 0.67, 0.25 - 0.25 * P.erf(h_normed) * P.erf(abs_a * h_normed) - result,
        0.25 * (normh + normah - normh * normah) - result), result)
    result = P.sign(a) * result
    return fnp.where(fnp.isnan(a) | fnp.isnan(h), fnp.full_like(result, np.nan), result)


@_owens_t.defjvp
def _owens_t_jvp(primals, tangents):
    (h, a), (dh, da) = primals, tangents
    result = _owens_t(h, a)
    root_2 = _c(h, np.sqrt(2))
    dout_dh = (-fnp.exp(-0.5 * fnp.square(h)) * P.erf(a * h / root_2)
               / (2. * _c(h, np.sqrt(2. * np.pi))))
    dout_da = fnp.exp(-0.5 * (fnp.square(a) + 1.) * fnp.square(h)) / (
        2. * np.pi * (fnp.square(a) + 1.))
    return result, (dout_dh * dh + dout_da * da).astype(_dtype(result))


def owens_t(h, a):
    """Owen's T function T(h, a) = 1 / (2 pi) int_0^a exp(-h^2 (1 + x^2) / 2) / (1 + x^2) dx
    (as jax.scipy.special.owens_t: 13-point quadrature, exact at h = 0 and a = 1,
    the reciprocal identity for |a| > 1; a custom_jvp with the closed-form partials).

    Args:
      h, a: real array-like (broadcast together).

    Returns:
      T(h, a).

    References:
      jax.scipy.special.owens_t; Patefield & Tandy (2000), method T5.
    """
    h, a = _args("owens_t", h, a)
    return _owens_t(h, a)


# --- the Faddeeva function (Weideman's N=32 rational approximation) ---
_WOFZ_L = 4.7568284600108841
_WOFZ_C = np.array([
    -1.3034426067909105e-12, 3.7411838373738471e-12, 8.030427700497756e-12,
    -2.1543593557490879e-11, -5.5442449963237932e-11, 1.165824698850374e-10,
    4.1537441121999766e-10, -5.2310202114920615e-10, -3.2080151339721323e-09,
    8.1248864216535907e-10, 2.3797556530014025e-08, 2.2930438438915445e-08,
    -1.4813078929137642e-07, -4.1840763750512053e-07, 4.2558331397138446e-07,
    4.4015317312832251e-06, 6.8210319443575151e-06, -2.1409619201999998e-05,
    -0.00013075449254579421, -0.00024532980270038237, 0.00039259136070109705,
    0.0045195411053493093, 0.019006155784845501, 0.057304403529837282, 0.14060716226893755,
    0.29544451071508743, 0.54601397206393376, 0.9019254893648001, 1.3455441692345449,
    1.8256696296324815, 2.2635372999002676, 2.5722534081245696])


def _wofz_upper(z):
    re = P.real(z)
    big_l = P.complex(_c(re, _WOFZ_L), _c(re, 0.))
    iz = P.complex(-P.imag(z), re)
    denom = big_l - iz
    zz = (big_l + iz) / denom
    p = fnp.polyval(np.asarray(_WOFZ_C, _dtype(zz)), zz)
    inv_sqrt_pi = P.complex(_c(re, 1. / np.sqrt(np.pi)), _c(re, 0.))
    return 2 * p / (denom * denom) + inv_sqrt_pi / denom


@custom_jvp
def _wofz(z):
    upper = P.imag(z) >= _c(P.real(z), 0.)
    w_upper = _wofz_upper(fnp.where(upper, z, -z))
    return fnp.where(upper, w_upper, 2 * fnp.exp(-(z * z)) - w_upper)


_wofz.defjvps(lambda g, ans, z: g * (-(2 * z * ans) + P.complex(
    _c(P.real(z), 0.), _c(P.real(z), 2. / np.sqrt(np.pi)))))


def wofz(z):
    """The Faddeeva function w(z) = exp(-z^2) erfc(-i z) (as jax.scipy.special.wofz:
    Weideman's rational approximation in the upper half plane, reflected below; a
    custom_jvp, dw/dz = -2 z w + 2 i / sqrt(pi)).

    Args:
      z: real or complex array-like (promoted to complex).

    Returns:
      w(z), complex.

    References:
      jax.scipy.special.wofz; J. A. C. Weideman, "Computation of the complex error
      function", SIAM J. Numer. Anal. 31 (1994).
    """
    z, = promote_inexact(z)
    z = fnp.asarray(z)
    z = z.astype(_to_complex_dtype(_dtype(z)))
    return _wofz(z)


# --- spherical harmonics (normalized associated Legendre functions) ---
def _legendre_recurrence_masks(l_max, dtype):
    m_mat, l_mat = np.meshgrid(np.arange(l_max + 1, dtype=dtype),
                               np.arange(l_max + 1, dtype=dtype), indexing="ij")
    c0, c1, c2, c3 = l_mat * l_mat, m_mat * m_mat, 2.0 * l_mat, (l_mat - 1.0) * (l_mat - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d0 = np.sqrt((4.0 * c0 - 1.0) / (c0 - c1))
        d1 = np.sqrt(((c2 + 1.0) * (c3 - c1)) / ((c2 - 3.0) * (c0 - c1)))
    d0_mask = np.where(np.triu(np.ones_like(d0, bool), 1), d0, 0).astype(dtype)
    d1_mask = np.where(np.triu(np.ones_like(d1, bool), 2), d1, 0).astype(dtype)
    i, j, k = np.ogrid[:l_max + 1, :l_max + 1, :l_max + 1]
    mask = (i + j - k == 0).astype(dtype)
    return d0_mask[None] * mask, d1_mask[None] * mask


def _normalized_legendre(l_max, x):
    """The normalized ALFs P_l^m(x), shape (l_max + 1, l_max + 1, len(x)) (JAX's
    ``_gen_associated_legendre`` with is_normalized=True)."""
    dt = _dtype(x)
    nx = get_aval(x).shape[0]
    p = fnp.zeros((l_max + 1, l_max + 1, nx), dtype=dt)
    a_idx = np.arange(1, l_max + 1, dtype=dt)
    b_idx = np.arange(l_max, dtype=dt)
    initial = 0.5 / fnp.sqrt(np.pi)  # weak, as JAX's ``0.5 / jnp.sqrt(np.pi)``
    f_a = fnp.cumprod(fnp.asarray(-1 * np.sqrt(1.0 + 0.5 / a_idx)))
    f_b = fnp.sqrt(2.0 * fnp.asarray(b_idx) + 3.0)
    p = p.at[0, 0].set(initial)
    y = fnp.cumprod(fnp.broadcast_to(fnp.sqrt(1.0 - x * x), (l_max, nx)), axis=0)
    p_diag = initial * fnp.einsum("i,ij->ij", f_a, y)
    diag = np.diag_indices(l_max + 1)
    p = p.at[diag[0][1:], diag[1][1:]].set(p_diag)
    p_off = fnp.einsum("ij,ij->ij", fnp.einsum("i,j->ij", f_b, x), p[np.diag_indices(l_max)])
    p = p.at[diag[0][:l_max], diag[1][:l_max] + 1].set(p_off)
    d0_mask, d1_mask = _legendre_recurrence_masks(l_max, dt)
    d0_mask, d1_mask = fnp.asarray(d0_mask), fnp.asarray(d1_mask)

    def body(i, p_val):
        h = (fnp.einsum("ij,ijk->ijk", d0_mask[i],
                        fnp.einsum("ijk,k->ijk", fnp.roll(p_val, shift=1, axis=1), x))
             - fnp.einsum("ij,ijk->ijk", d1_mask[i], fnp.roll(p_val, shift=2, axis=1)))
        return p_val + h

    if l_max > 1:
        p = P.fori_loop(2, l_max + 1, body, p)
    return p


def sph_harm_y(n, m, theta, phi, diff_n=None, n_max=None):
    """The spherical harmonics Y_n^m(theta, phi) = N P_n^|m|(cos theta) e^{i m phi}
    (as jax.scipy.special.sph_harm_y: ``n`` clipped to ``n_max``; diff_n unsupported).

    Args:
      n: degrees (int array, n >= 0).
      m: orders (int array, |m| <= n).
      theta: polar (colatitude) angles in [0, pi].
      phi: azimuthal angles in [0, 2 pi].
      diff_n: unsupported (must be None), as in JAX.
      n_max: the static maximum degree (default: max(n), which must be concrete).

    Returns:
      A 1-D complex array of the harmonics.

    References:
      jax.scipy.special.sph_harm_y; scipy.special.sph_harm_y.
    """
    if diff_n is not None:
        raise NotImplementedError(
            "The 'diff_n' argument to jax.scipy.special.sph_harm_y is not supported.")
    if np.isscalar(theta):
        theta = fnp.array([theta])
    if n_max is None:
        n_max = np.max(np.asarray(n))
    n_max = int(n_max)
    n, m, theta, phi = (fnp.asarray(v) for v in (n, m, theta, phi))
    legendre = _normalized_legendre(n_max, fnp.cos(theta))
    val = legendre.at[abs(m), n, fnp.arange(get_aval(n).shape[0])].get(mode="clip")
    angle = abs(m) * phi
    harm = P.complex(val * fnp.cos(angle), val * fnp.sin(angle))
    return fnp.where(m < 0, (-1.0) ** abs(m) * fnp.conjugate(harm), harm)
