"""Student's t distribution (as jax.scipy.stats.t)."""
from __future__ import annotations

from primitives.scipy.stats._common import P, const, fnp, np, promote_args_inexact

__all__ = ["logpdf", "pdf"]


def logpdf(x, df, loc=0, scale=1):
    """log t(x; df, loc, scale)."""
    x, df, loc, scale = promote_args_inexact("t.logpdf", x, df, loc, scale)
    scaled_x = (x - loc) / scale
    df_over_two = df / const(x, 2)
    df_plus_one_over_two = df_over_two + const(x, 0.5)
    normalize = fnp.log(scale * scale * const(x, np.pi) * df) / const(x, 2)
    normalize = P.lgamma(df_over_two) + normalize - P.lgamma(df_plus_one_over_two)
    return -(normalize + df_plus_one_over_two * fnp.log1p(scaled_x * scaled_x / df))


def pdf(x, df, loc=0, scale=1):
    """The t density."""
    return fnp.exp(logpdf(x, df, loc, scale))
