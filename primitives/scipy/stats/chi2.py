"""The chi-squared distribution (as jax.scipy.stats.chi2)."""
from __future__ import annotations

from primitives.scipy.stats._common import (P, const, fnp, inf_like, np, promote_args_inexact,
                                            special)

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def logpdf(x, df, loc=0, scale=1):
    """log chi2(x; df) of ``(x - loc) / scale``; -inf below loc."""
    x, df, loc, scale = promote_args_inexact("chi2.logpdf", x, df, loc, scale)
    one, two = const(x, 1), const(x, 2)
    y = (x - loc) / scale
    df_on_two = df / two
    kernel = (df_on_two - one) * fnp.log(y) - y / two
    nrml_cnst = -(P.lgamma(df_on_two) + fnp.log(two) * df / two)
    log_probs = nrml_cnst - fnp.log(scale) + kernel
    return fnp.where(x < loc, inf_like(x, -1), log_probs)


def pdf(x, df, loc=0, scale=1):
    """The chi-squared density."""
    return fnp.exp(logpdf(x, df, loc, scale))


def _half_y(x, loc, scale):
    return fnp.clip((x - loc) / (scale * const(scale, 2)), const(x, 0), const(x, np.inf))


def cdf(x, df, loc=0, scale=1):
    """The CDF ``gammainc(df / 2, max(y / 2, 0))``."""
    x, df, loc, scale = promote_args_inexact("chi2.cdf", x, df, loc, scale)
    return special.gammainc(df / const(scale, 2), _half_y(x, loc, scale))


def logcdf(x, df, loc=0, scale=1):
    """log CDF."""
    return fnp.log(cdf(x, df, loc, scale))


def sf(x, df, loc=0, scale=1):
    """The survival function ``gammaincc(df / 2, max(y / 2, 0))``."""
    x, df, loc, scale = promote_args_inexact("chi2.sf", x, df, loc, scale)
    return special.gammaincc(df / const(scale, 2), _half_y(x, loc, scale))


def logsf(x, df, loc=0, scale=1):
    """log survival function."""
    return fnp.log(sf(x, df, loc, scale))
