"""primitives.scipy.stats: the distributions of ``jax.scipy.stats``, one small
module each, with every function JAX has for it (logpdf/pdf, cdf/logcdf,
sf/logsf, ppf/isf, logpmf/pmf, entropy), JAX's formulas and edge cases.

Example::

    >>> from primitives.scipy import stats
    >>> stats.norm.logpdf(np.array([0.0, 1.0]), loc=0.0, scale=2.0)
"""
from primitives.scipy.stats import (bernoulli, beta, betabinom, binom, cauchy, chi2,  # noqa: F401
                                    dirichlet, expon, gamma, gennorm, geom, gumbel_l,
                                    gumbel_r, laplace, logistic, multinomial,
                                    multivariate_normal, nbinom, norm, pareto, poisson, t,
                                    truncnorm, uniform, vonmises, wrapcauchy)
from primitives.scipy.stats._sample import ModeResult, mode, rankdata, sem  # noqa: E402,F401
from primitives.scipy.stats.kde import gaussian_kde  # noqa: E402,F401
