"""optim: a functional optimizer library following the optax protocol (to come)."""
