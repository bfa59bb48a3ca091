"""Execute the jupytext notebooks (``notebooks/NN_name.py``) in a fresh kernel.

``make notebooks`` writes the executed ``.ipynb`` files (outputs and plots) to
``notebooks/_build/``; the test suite (tests/notebooks) executes each one and
fails on any error, including the checks each notebook ends with.

Run: ``.venv/bin/python notebooks/_run.py [--write DIR] [NAME ...]``.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def notebooks() -> list[str]:
    """The notebook sources, in order."""
    return sorted(glob.glob(os.path.join(HERE, "[0-9][0-9]_*.py")))


def execute(path: str, write_dir: str | None = None, timeout: int = 600,
            env: dict | None = None):
    """Run the notebook at ``path`` top to bottom in a new python3 kernel (cwd: the
    repository root, so the packages import as in the README); raise
    ``nbclient.exceptions.CellExecutionError`` on the first failing cell.

    Returns:
      The executed notebook (``nbformat.NotebookNode``); with ``write_dir`` also
      written there as ``<name>.ipynb``.
    """
    nb = jupytext.read(path)
    kernel_env = dict(os.environ if env is None else env)
    kernel_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (ROOT, kernel_env.get("PYTHONPATH")) if p)
    kernel_env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # plots kept inline
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": ROOT}})
    client.execute(env=kernel_env)
    if write_dir is not None:
        os.makedirs(write_dir, exist_ok=True)
        name = os.path.splitext(os.path.basename(path))[0] + ".ipynb"
        nbformat.write(nb, os.path.join(write_dir, name))
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")
    parser.add_argument("--write", default=os.path.join(HERE, "_build"),
                        help="where the executed .ipynb files go")
    args = parser.parse_args()
    for path in notebooks():
        name = os.path.basename(path)
        if args.names and not any(n in name for n in args.names):
            continue
        t0 = time.perf_counter()
        execute(path, args.write)
        print(f"{name}: executed in {time.perf_counter() - t0:.1f} s -> {args.write}", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
