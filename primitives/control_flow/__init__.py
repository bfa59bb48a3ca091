"""Control flow: cond, switch, while_loop, fori_loop, scan, map (as jax.lax).

Higher-order primitives whose branches / bodies are sub-graphs held in params
(``SubGraph``); every rule (abstract eval, lowering to one XLA program, jvp,
partial eval + transpose for reverse mode, batching, dce) lives in
``conditionals.py`` and ``loops.py``; ``remat.py`` holds checkpoint's
``remat`` and ``optimization_barrier``; ``unroll.py`` the scan-unrolling pass.
"""
from primitives.control_flow.conditionals import cond, switch, cond_p
from primitives.control_flow.loops import while_loop, fori_loop, scan, map, while_p, scan_p
from primitives.control_flow.remat import remat_p, optimization_barrier, optimization_barrier_p
from primitives.control_flow._common import SubGraph
from primitives.control_flow.unroll import unroll_scans

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map", "cond_p", "while_p",
           "scan_p", "remat_p", "optimization_barrier", "optimization_barrier_p", "SubGraph",
           "unroll_scans"]
