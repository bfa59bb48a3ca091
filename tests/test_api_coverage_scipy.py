"""API coverage against jax.scipy.special and jax.scipy.stats: their public
names present in primitives.scipy (and every function of each distribution),
with the exclusions justified."""
import inspect

import jax.scipy.special
import jax.scipy.stats

from primitives.scipy import special, stats

SPECIAL_EXCLUDED: set = set()  # every jax.scipy.special function is ported
STATS_EXCLUDED: set = set()


def _public(module):
    return {n for n in dir(module) if not n.startswith("_")}


def test_jax_scipy_special_names():
    names = _public(jax.scipy.special)
    missing = {n for n in names if not hasattr(special, n)}
    assert missing <= SPECIAL_EXCLUDED, f"missing, not excluded: {sorted(missing - SPECIAL_EXCLUDED)}"
    assert not (SPECIAL_EXCLUDED - names), "excluded names JAX does not have"
    assert (len(names) - len(missing)) / len(names) >= 0.75
    differ = [n for n in sorted(names - missing)
              if list(inspect.signature(getattr(special, n)).parameters)
              != list(inspect.signature(getattr(jax.scipy.special, n)).parameters)]
    assert not differ, f"parameters differ from JAX's: {differ}"


def test_jax_scipy_stats_names_and_functions():
    names = _public(jax.scipy.stats)
    missing = {n for n in names if not hasattr(stats, n)}
    assert missing <= STATS_EXCLUDED, f"missing, not excluded: {sorted(missing - STATS_EXCLUDED)}"
    assert (len(names) - len(missing)) / len(names) >= 0.85
    lacking = []
    for dist in sorted(names - STATS_EXCLUDED):
        theirs = getattr(jax.scipy.stats, dist)
        for fn in _public(theirs):
            f = getattr(theirs, fn)
            if inspect.isfunction(f) and f.__module__.startswith("jax._src.scipy.stats"):
                ours = getattr(getattr(stats, dist), fn, None)
                if ours is None:
                    lacking.append(f"{dist}.{fn}")
                    continue
                want = list(inspect.signature(f).parameters)
                got = list(inspect.signature(ours).parameters)
                if got != want:
                    lacking.append(f"{dist}.{fn} signature {got} != JAX's {want}")
    assert not lacking, lacking


# jax.scipy's other modules, each name present in ours with JAX's parameters.
MORE_MODULES = ("linalg", "optimize", "integrate", "ndimage", "interpolate", "cluster",
                "cluster.vq")
MORE_EXCLUDED: dict = {
    # {module: {names}}: none; every public name of these modules is present, with
    # JAX's parameters (some options raise NotImplementedError: eigh_tridiagonal's
    # eigenvectors, qr_multiply(pivoting=True); see primitives/scipy/linalg_more.py)
}


def test_jax_scipy_more_modules_names_and_signatures():
    import importlib

    import primitives.scipy  # noqa: F401  (binds the submodules)
    missing, differ, checked = [], [], 0
    for mod in MORE_MODULES:
        theirs = importlib.import_module(f"jax.scipy.{mod}")
        ours = importlib.import_module(f"primitives.scipy.{mod}")
        for name in sorted(_public(theirs)):
            if name in MORE_EXCLUDED.get(mod, ()):
                continue
            if not hasattr(ours, name):
                missing.append(f"{mod}.{name}")
                continue
            t, o = getattr(theirs, name), getattr(ours, name)
            if inspect.ismodule(t):
                assert inspect.ismodule(o), f"{mod}.{name} is a module in JAX"
                continue
            try:
                want = list(inspect.signature(t).parameters)
            except (TypeError, ValueError):
                continue
            checked += 1
            if list(inspect.signature(o).parameters) != want:
                differ.append(f"{mod}.{name}: {list(inspect.signature(o).parameters)} != {want}")
    assert not missing, f"missing, not excluded: {missing}"
    assert checked >= 45, checked   # the walk is not vacuous
    assert not differ, f"parameters differ from JAX's: {differ}"


def test_jax_scipy_signal_and_fft_names():
    """jax.scipy.signal and jax.scipy.fft: every public function, JAX's parameters."""
    import jax.scipy.fft
    import jax.scipy.signal

    from primitives.scipy import fft, signal
    for theirs, ours in [(jax.scipy.signal, signal), (jax.scipy.fft, fft)]:
        names = _public(theirs)
        assert names, theirs
        missing = sorted(n for n in names if not hasattr(ours, n))
        assert not missing, f"{theirs.__name__}: missing {missing}"
        differ = [n for n in sorted(names)
                  if list(inspect.signature(getattr(ours, n)).parameters)
                  != list(inspect.signature(getattr(theirs, n)).parameters)]
        assert not differ, f"{theirs.__name__}: parameters differ from JAX's: {differ}"
