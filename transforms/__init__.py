"""Transformations of the IR: jit, jvp, vmap, ... (as the same names in jax)."""
from transforms.jit import jit, eval_shape, Jitted
from transforms.jvp import jvp, linearize
from transforms.transpose import linear_transpose
from transforms.vmap import vmap
from transforms.grad import vjp, grad, value_and_grad, jacfwd, jacrev, hessian
from primitives.custom_derivatives import custom_jvp, custom_vjp
from transforms.remat import checkpoint, remat, checkpoint_policies, saved_residuals

__all__ = ["jit", "eval_shape", "Jitted", "jvp", "linearize", "linear_transpose", "vmap", "vjp", "grad",
           "value_and_grad", "jacfwd", "jacrev", "hessian", "custom_jvp", "custom_vjp",
           "checkpoint", "remat", "checkpoint_policies", "saved_residuals"]
from transforms.shard_map import shard_map  # noqa: E402
from transforms.pmap import pmap  # noqa: E402
__all__ += ["shard_map", "pmap"]
