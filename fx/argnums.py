"""Static and donated arguments resolved through the function's signature, as jax.jit.

``static_argnames`` also covers the parameter when it is passed positionally
and ``static_argnums`` when it is passed by keyword; a number or name that
matches no parameter raises at once, listing the parameters.
"""
from __future__ import annotations

import inspect
from typing import Callable

__all__ = ["as_tuple", "check_callable", "resolve_static_args"]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def as_tuple(x) -> tuple:
    """``None`` -> (), a single int or str -> (x,), else tuple(x)."""
    if x is None:
        return ()
    if isinstance(x, (int, str)):
        return (x,)
    return tuple(x)


def check_callable(fun, api: str) -> None:
    """A TypeError (jax's wording) when ``fun`` is not callable."""
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun!r:.80}: {api} takes a function "
                        f"(e.g. {api}(f) or @{api}).")


def _signature(fun: Callable) -> inspect.Signature | None:
    try:
        return inspect.signature(fun)
    except (TypeError, ValueError):
        return None


def resolve_static_args(fun: Callable, static_argnums=(), static_argnames=(),
                        donate_argnums=(), api: str = "jit") -> tuple[tuple, tuple, tuple]:
    """Resolve static / donated arguments of ``fun`` as jax.jit does.

    Args:
      fun: the function.
      static_argnums, static_argnames, donate_argnums: as given by the user (an
        int / str, a sequence, or None).
      api: the caller's name, for messages.

    Returns:
      ``(static_argnums, static_argnames, donate_argnums)``: numbers made
      non-negative, each static parameter present under its number and its
      name (where it has both).

    Raises:
      ValueError: a number beyond the positional parameters or a name that no
        parameter has (unless ``fun`` takes ``*args`` / ``**kwargs``).
    """
    nums, names, donate = (as_tuple(static_argnums), as_tuple(static_argnames),
                           as_tuple(donate_argnums))
    sig = _signature(fun)
    if sig is None:
        return nums, names, donate
    params = list(sig.parameters.values())
    positional = [p.name for p in params if p.kind in _POSITIONAL]
    var_args = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    listing = f"{getattr(fun, '__name__', 'the function')}{sig}"

    def check_nums(what, ns):
        if var_args:
            return tuple(ns)
        out = []
        for n in ns:
            if not -len(positional) <= n < len(positional):
                raise ValueError(
                    f"{api}: {what}={ns} but the function accepts {len(positional)} positional "
                    f"argument(s): {listing}. Fix: give positions 0..{len(positional) - 1} "
                    f"(negative ones count from the end)"
                    f"{', or name keyword-only parameters in static_argnames' if what.startswith('static') and api == 'jit' else ''}.")
            out.append(n % len(positional))
        return tuple(out)

    nums, donate = check_nums("static_argnums", nums), check_nums("donate_argnums", donate)
    known = {p.name for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL}
    bad = [n for n in names if n not in known]
    if bad and not var_kw:
        raise ValueError(f"{api}: static_argnames {bad} match no parameter of {listing}. Fix: "
                         f"use the parameters' own names.")
    nums = nums + tuple(positional.index(n) for n in names
                        if n in positional and positional.index(n) not in nums)
    names = names + tuple(positional[n] for n in nums
                          if n < len(positional) and positional[n] not in names)
    return tuple(sorted(set(nums))), names, donate
