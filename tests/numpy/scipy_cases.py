"""Shared checks of the scipy tests (not a test module)."""
import jax

from oracle import assert_trees_close
from transforms import grad, jit


def assert_grad_rows_same_as_jax(rows, ours, theirs, rtol=2e-4, atol=1e-5):
    """Every row ``(name, fn(module), argnums, args)``: ``grad(fn(ours))`` in ONE
    transforms.jit equals ``jax.grad(fn(theirs))`` in ONE jax.jit; all failures listed."""
    args = {name: a for name, _, _, a in rows}

    def all_grads(module, grad_fn):
        return lambda args: {name: grad_fn(fn(module), argnums)(*args[name])
                             for name, fn, argnums, _ in rows}
    got = jit(all_grads(ours, grad))(args)
    expected = jax.jit(all_grads(theirs, jax.grad))(args)
    failures = []
    for name in args:
        try:
            assert_trees_close(got[name], expected[name], rtol=rtol, atol=atol, what=name)
        except AssertionError as e:
            failures.append(f"[{name}] {e}")
    assert not failures, "\n".join(failures)
