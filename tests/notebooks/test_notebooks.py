"""Every notebook in notebooks/ runs top to bottom in a fresh kernel (its own
checks at the end: accuracy, equality with JAX or with the one-device
computation, epsilon). Each kernel is its own process: 04_sharding starts its
8 simulated CPU devices itself (XLA_FLAGS in its first cell, before jax), so
this process's devices do not matter. Every ``notebooks/NN_*.py`` is collected
(notebooks/_run.py's ``notebooks()``); each runs in ~20-45 s on 2 cores."""
import importlib.util
import os

import pytest

pytest.importorskip("jupytext")
pytest.importorskip("nbclient")

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("notebook_runner",
                                               os.path.join(_ROOT, "notebooks", "_run.py"))
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)


@pytest.mark.slow
@pytest.mark.parametrize("path", runner.notebooks(), ids=os.path.basename)
def test_notebook_executes(path):
    runner.execute(path)
