"""Operators and methods of traced arrays (installed into fx.core.Tracer)."""
