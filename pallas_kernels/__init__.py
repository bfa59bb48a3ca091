"""Pallas kernels: fused attention and matmul (to come)."""
