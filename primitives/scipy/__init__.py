"""primitives.scipy: the public ``jax.scipy`` APIs (special, stats, linalg), built
from our primitives (as ``jax.scipy`` is built from ``jax.lax``)."""
from primitives.scipy import linalg  # noqa: E402,F401  (jax.scipy.linalg)
from primitives.scipy import special, stats  # noqa: E402,F401
from primitives.scipy import fft, signal  # noqa: E402,F401  (jax.scipy.fft / .signal)
from primitives.scipy import cluster, integrate, interpolate, ndimage, optimize  # noqa: E402,F401
