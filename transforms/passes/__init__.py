"""Graph passes that name primitives (so they live above ``primitives``, not in
``fx.passes``): mixed precision and the FLOP / byte counter.

Use them on a traced graph (``fx.make_graph(f)(*args)``) or in ``jit(f,
passes=[mixed_precision])``.
"""
from transforms.passes.mixed_precision import mixed_precision, MixedPrecision
from transforms.passes.flops import FlopCounter, FlopReport, count_flops

__all__ = ["mixed_precision", "MixedPrecision", "FlopCounter", "FlopReport", "count_flops"]
