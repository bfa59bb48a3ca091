import os
import sys

# XLA's CPU compile time is most of the suite (thousands of small programs):
# its older codegen path compiles small programs ~25% faster. Set before the
# backend starts; jaxlib 0.10's XLA knows these flags (an unknown flag aborts,
# so later versions keep their defaults).
if os.environ.get("FXJAX_TEST_OPTIMIZED", "0") != "1":
    from importlib.metadata import version
    if version("jaxlib").startswith("0.10."):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_use_fusion_emitters"
                                   "=false --xla_cpu_parallel_codegen_split_count=1").strip()

import jax  # noqa: E402
import pytest  # noqa: E402

# Tests compare our programs with JAX's under the same compiler settings, so
# XLA's optimization passes only cost compile time here (about 30% of the
# suite): skip most of them. FXJAX_TEST_OPTIMIZED=1 runs the suite optimized.
# Performance is measured by benchmarks/, which compile with the defaults.
_XLA_OPT_OFF = os.environ.get("FXJAX_TEST_OPTIMIZED", "0") != "1"
jax.config.update("jax_disable_most_optimizations", _XLA_OPT_OFF)

_TESTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_TESTS))
sys.path.insert(0, _TESTS)
# helper modules that live next to the tests of one area (e.g. control_flow_cases.py)
for _d in sorted(os.listdir(_TESTS)):
    if os.path.isdir(os.path.join(_TESTS, _d)) and not _d.startswith(("_", ".")):
        sys.path.append(os.path.join(_TESTS, _d))


def pytest_addoption(parser):
    parser.addoption("--fuzz", action="store_true", default=False,
                     help="run the hypothesis fuzz tests (tests/fuzz) with many examples")


@pytest.fixture
def x64():
    """Run this test with ``jax_enable_x64`` on (restored after)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def xla_optimized():
    """Compile this test's programs with XLA's optimizations on (for comparisons
    whose tolerance was set against optimized programs)."""
    jax.config.update("jax_disable_most_optimizations", False)
    yield
    jax.config.update("jax_disable_most_optimizations", _XLA_OPT_OFF)
