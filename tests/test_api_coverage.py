"""API coverage against the libraries users port from: optax's and jax.nn's public
names present in optim / primitives.nn, with the exclusions justified."""
import jax
import optax

import optim
import primitives.nn as fnn

OPTAX_EXCLUDED = {
    # namespaces of research code and experimental APIs, not optimizers people port
    "contrib", "experimental", "second_order", "perturbations", "assignment",
    "transforms", "nnls", "power_iteration", "matrix_inverse_pth_root", "multi_normal",
    # optimistic_adam_v2: optax's in-progress variant; stateful schedules: our
    # inject_hyperparams keeps no per-schedule state, so these classes describe nothing
    "optimistic_adam_v2", "InjectStatefulHyperparamsState", "WrappedSchedule",
}
JAX_NN_EXCLUDED = {
    # fp8 micro-scaled matmuls (GPU block-scaling formats)
    "scaled_matmul", "scaled_dot_general", "get_scaled_dot_general_config",
}


def _public(module):
    return {n for n in dir(module) if not n.startswith("_")}


def _coverage(theirs, ours):
    """(their public names, the ones we lack)."""
    names = _public(theirs)
    missing = {n for n in names if not hasattr(ours, n)}
    return names, missing


def test_optax_names():
    names, missing = _coverage(optax, optim)
    assert missing <= OPTAX_EXCLUDED, f"missing, not excluded: {sorted(missing - OPTAX_EXCLUDED)}"
    assert (len(names) - len(missing)) / len(names) >= 0.90
    losses, missing_losses = _coverage(optax.losses, optim.losses)
    assert not missing_losses, sorted(missing_losses)


def test_jax_nn_names():
    names, missing = _coverage(jax.nn, fnn)
    assert missing <= JAX_NN_EXCLUDED, f"missing, not excluded: {sorted(missing - JAX_NN_EXCLUDED)}"
    assert (len(names) - len(missing)) / len(names) >= 0.90
    # every initializer, orthogonal / delta_orthogonal included (on our qr)
    _, missing_inits = _coverage(jax.nn.initializers, fnn.initializers)
    assert not missing_inits, sorted(missing_inits)
