"""Line searches: ``scale_by_backtracking_linesearch``, ``scale_by_zoom_linesearch``.

Both are ``GradientTransformationExtraArgs`` whose update takes the extra
arguments ``value`` (the objective at ``params``), ``grad`` (its gradient) and
``value_fn`` (the objective), plus any keyword arguments of ``value_fn``. They
search a step size ``eta`` along the incoming updates ``u`` and return
``eta * u``; the value (and gradient) at the new point are kept in the state so
that :func:`value_and_grad_from_state` reuses them at the next iteration. The
searches are ``primitives.control_flow`` loops, so they run eagerly, under our
``jit`` and under ``jax.jit``. Names, defaults and semantics are optax's
(0.2.8).

Example::

    >>> solver = optim.chain(optim.sgd(learning_rate=1.0),
    ...                      optim.scale_by_backtracking_linesearch(15, store_grad=True))
    >>> value_and_grad = optim.value_and_grad_from_state(fn)
    >>> state = solver.init(params)
    >>> value, grad = value_and_grad(params, state=state)
    >>> updates, state = solver.update(grad, state, params, value=value, grad=grad,
    ...                                value_fn=fn)

References:
    Nocedal & Wright, Numerical Optimization, 1999: Algorithms 3.5 and 3.6
    (zoom line search), Section 3.1 (backtracking, Armijo condition).
    Hager & Zhang, 2006: approximate Wolfe conditions (``approx_dec_rtol``).
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, NamedTuple, Optional

import numpy as np
from jax import tree_util

import primitives.numpy as fnp
from primitives import control_flow
import transforms
from optim import tree as otree
from optim.base import GradientTransformationExtraArgs, check_state

__all__ = ["BacktrackingLinesearchInfo", "ScaleByBacktrackingLinesearchState",
           "scale_by_backtracking_linesearch", "ZoomLinesearchInfo",
           "ScaleByZoomLinesearchState", "scale_by_zoom_linesearch", "value_and_grad_from_state"]


# --- tree helpers (optax.tree's vdot, add_scale, scale, where) ---
def _vdot(a, b):
    """Real part of the sum over leaves of ``vdot(a, b)``."""
    dots = tree_util.tree_map(lambda x, y: fnp.vdot(x, y, precision="highest"), a, b)
    return fnp.real(tree_util.tree_reduce(lambda x, y: x + y, dots, initializer=0))


def _add_scale(x, s, y):
    return tree_util.tree_map(lambda a, b: a + s * b, x, y)


def _scale(s, tree):
    return tree_util.tree_map(lambda a: s * a, tree)


def _where(cond, on_true, on_false):
    return tree_util.tree_map(lambda a, b: fnp.where(cond, a, b), on_true, on_false)


def _value_dtype(params):
    """The real dtype of the first leaf of params (values and step sizes use it)."""
    dt = np.dtype(tree_util.tree_leaves(params)[0].dtype)
    return np.dtype(np.finfo(dt).dtype) if np.issubdtype(dt, np.complexfloating) else dt


def _cast_like(tree, other):
    return tree_util.tree_map(lambda t, o: fnp.asarray(t).astype(o.dtype), tree, other)


def _split_value_fn_kwargs(value_fn, extra_args: dict, who: str) -> dict:
    """The extra args that ``value_fn`` takes; TypeError for any other (as optax)."""
    names = list(inspect.signature(value_fn).parameters)
    remaining = sorted(k for k in extra_args if k not in names)
    if remaining:
        raise TypeError(
            f"Unexpected keyword arguments passed to `{who}.update`. These arguments were "
            f"not consumed by `value_fn`: {remaining}. Ensure that all extra keyword "
            f"arguments are accepted by `value_fn`.")
    return {k: v for k, v in extra_args.items() if k in names}


def _require_extra(value, grad, value_fn, who: str) -> None:
    if value is None or grad is None or value_fn is None:
        raise TypeError(
            f"{who}.update needs the extra arguments value=, grad= and value_fn= (the "
            f"objective at params, its gradient, and the objective itself): call "
            f"tx.update(grad, state, params, value=value, grad=grad, value_fn=fn).")


# --- backtracking ---
class BacktrackingLinesearchInfo(NamedTuple):
    """Diagnostics of the last backtracking search."""
    num_linesearch_steps: Any
    decrease_error: Any


class ScaleByBacktrackingLinesearchState(NamedTuple):
    """The accepted step size, the value (and, if ``store_grad``, the gradient) at
    the new point, and diagnostics."""
    learning_rate: Any
    value: Any
    grad: Any
    info: BacktrackingLinesearchInfo


class _BacktrackingSearch(NamedTuple):
    learning_rate: Any
    new_value: Any
    new_grad: Any
    decrease_error: Any
    iter_num: Any


def scale_by_backtracking_linesearch(
        max_backtracking_steps: int, slope_rtol: float = 1e-4, decrease_factor: float = 0.8,
        increase_factor: float = 1.5, max_learning_rate: float = 1.0, atol: float = 0.0,
        rtol: float = 0.0, store_grad: bool = False,
        verbose: bool = False) -> GradientTransformationExtraArgs:
    """Backtracking line search: shrink the step until sufficient decrease (Armijo).

    Starting from ``min(increase_factor * previous step, max_learning_rate)`` the
    step ``eta`` is multiplied by ``decrease_factor`` until
    ``f(w + eta u) <= (1 + rtol) f(w) + eta * slope_rtol * <u, grad f(w)> + atol``
    or ``max_backtracking_steps`` is reached; a step giving a non-finite value
    becomes 0.

    Args:
      max_backtracking_steps: the most evaluations of ``value_fn`` per update.
      slope_rtol: the Armijo constant.
      decrease_factor: the shrink factor of each backtracking step.
      increase_factor: the growth of the initial guess over the previous step.
      max_learning_rate: the largest step tried.
      atol, rtol: absolute and relative slack of the decrease condition.
      store_grad: also keep the gradient at the new point in the state (for
        :func:`value_and_grad_from_state`).
      verbose: accepted for optax compatibility; no messages are printed.

    Returns:
      A GradientTransformationExtraArgs whose update needs ``value``, ``grad``,
      ``value_fn`` (and ``value_fn``'s other keyword arguments).
    """
    del verbose

    def init_fn(params):
        val_dtype = _value_dtype(params)
        return ScaleByBacktrackingLinesearchState(
            learning_rate=fnp.array(1.0, dtype=val_dtype),
            value=fnp.array(np.inf, dtype=val_dtype),
            grad=otree.zeros_like(params) if store_grad else None,
            info=BacktrackingLinesearchInfo(
                num_linesearch_steps=fnp.asarray(0, dtype=np.int32),
                decrease_error=fnp.array(np.inf, dtype=val_dtype)))

    def decrease_error_of(stepsize, slope, value, new_value):
        err = new_value - (1.0 + rtol) * value - stepsize * slope_rtol * slope
        err = fnp.where(fnp.isnan(err), np.inf, err)
        return fnp.maximum(err, 0.0)

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None,
                  **extra_args):
        check_state(state, ScaleByBacktrackingLinesearchState, "scale_by_backtracking_linesearch")
        _require_extra(value, grad, value_fn, "scale_by_backtracking_linesearch")
        fn_kwargs = _split_value_fn_kwargs(value_fn, extra_args,
                                           "scale_by_backtracking_linesearch")
        fn = functools.partial(value_fn, **fn_kwargs)
        slope = _vdot(updates, tree_util.tree_map(fnp.conj, grad))

        def cond_fn(s):
            return fnp.logical_not(s.decrease_error <= atol) & (s.iter_num <= max_backtracking_steps)

        def body_fn(s):
            lr = fnp.where(s.iter_num > 0, decrease_factor * s.learning_rate, s.learning_rate)
            new_params = _add_scale(params, lr, updates)
            new_value = fn(new_params)
            err = decrease_error_of(lr, slope, value, new_value)
            new_grad = s.new_grad
            if store_grad:
                new_grad = control_flow.cond(
                    (err <= atol) | (s.iter_num == max_backtracking_steps),
                    lambda p, g: transforms.grad(fn)(p), lambda p, g: g, new_params, new_grad)
            new = _BacktrackingSearch(lr, new_value, new_grad, err, s.iter_num + 1)
            return _cast_like(new, s)

        val_dtype = np.dtype(state.learning_rate.dtype)
        init = _BacktrackingSearch(
            learning_rate=fnp.minimum(increase_factor * state.learning_rate,
                                      max_learning_rate).astype(val_dtype),
            new_value=fnp.asarray(value),
            new_grad=otree.zeros_like(params),
            decrease_error=fnp.asarray(np.inf),
            iter_num=fnp.asarray(0, dtype=np.int32))
        search = control_flow.while_loop(cond_fn, body_fn, init)
        new_lr = fnp.where(fnp.isinf(search.decrease_error), 0.0, search.learning_rate)
        new_state = ScaleByBacktrackingLinesearchState(
            learning_rate=new_lr, value=search.new_value,
            grad=search.new_grad if store_grad else None,
            info=BacktrackingLinesearchInfo(num_linesearch_steps=search.iter_num,
                                            decrease_error=search.decrease_error))
        return _scale(new_lr, updates), _cast_like(new_state, state)
    return GradientTransformationExtraArgs(init_fn, update_fn)


# --- zoom ---
def _cubicmin(a, fa, fpa, b, fb, c, fc):
    """Critical point of the cubic through (a, fa), (b, fb), (c, fc) with slope
    fpa at a (NaN when there is none; scipy's ``_cubicmin``)."""
    C = fpa
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    d1 = fnp.stack([fnp.stack([dc ** 2, -(db ** 2)]), fnp.stack([-(dc ** 3), db ** 3])])
    A, B = fnp.dot(d1, fnp.stack([fb - fa - C * db, fc - fa - C * dc]),
                   precision="highest") / denom
    radical = B * B - 3.0 * A * C
    return a + (-B + fnp.sqrt(radical)) / (3.0 * A)


def _quadmin(a, fa, fpa, b, fb):
    """Critical point of the quadratic through (a, fa), (b, fb) with slope fpa at a."""
    db = b - a
    B = (fb - fa - fpa * db) / (db ** 2)
    return a - fpa / (2.0 * B)


class _ZoomState(NamedTuple):
    count: Any
    params: Any
    updates: Any
    stepsize_guess: Any
    stepsize: Any
    value: Any
    grad: Any
    slope: Any
    value_init: Any
    slope_init: Any
    decrease_error: Any
    curvature_error: Any
    error: Any
    interval_found: Any
    done: Any
    failed: Any
    low: Any
    value_low: Any
    slope_low: Any
    high: Any
    value_high: Any
    slope_high: Any
    cubic_ref: Any
    value_cubic_ref: Any
    safe_stepsize: Any
    safe_value: Any
    safe_grad: Any


class ZoomLinesearchInfo(NamedTuple):
    """Diagnostics of the last zoom search."""
    num_linesearch_steps: Any
    decrease_error: Any
    curvature_error: Any


class ScaleByZoomLinesearchState(NamedTuple):
    """The accepted step size, value and gradient at the new point, diagnostics."""
    learning_rate: Any
    value: Any
    grad: Any
    info: ZoomLinesearchInfo


def scale_by_zoom_linesearch(
        max_linesearch_steps: int, max_learning_rate: Optional[float] = None, tol: float = 0.0,
        increase_factor: float = 2.0, slope_rtol: float = 1e-4, curv_rtol: float = 0.9,
        approx_dec_rtol: Optional[float] = 1e-6, stepsize_precision: float = 1e-5,
        initial_guess_strategy: str = "keep",
        verbose: bool = False) -> GradientTransformationExtraArgs:
    """Zoom line search: a step satisfying the strong Wolfe conditions.

    First grows the step (by ``increase_factor``, from 1 or from the previous
    step per ``initial_guess_strategy``) until an interval containing a
    suitable step is bracketed, then zooms into it by cubic, quadratic or
    bisection interpolation, for at most ``max_linesearch_steps`` evaluations
    of ``value_fn`` and its gradient. If none satisfies both conditions, the
    best step with sufficient decrease is taken (as optax).

    Args:
      max_linesearch_steps: the most evaluations per update.
      max_learning_rate: the largest step tried (None: unbounded).
      tol: tolerance on the decrease and curvature errors.
      increase_factor: growth of the step while bracketing.
      slope_rtol: sufficient-decrease constant (c1).
      curv_rtol: curvature constant (c2).
      approx_dec_rtol: relative tolerance of the approximate Wolfe decrease
        condition (None: exact sufficient decrease only).
      stepsize_precision: an interval shorter than this ends the search.
      initial_guess_strategy: ``"one"`` (start at 1) or ``"keep"`` (previous step).
      verbose: accepted for optax compatibility; no messages are printed.

    Returns:
      A GradientTransformationExtraArgs whose update needs ``value``, ``grad``,
      ``value_fn`` (and ``value_fn``'s other keyword arguments).
    """
    del verbose
    if initial_guess_strategy not in ("one", "keep"):
        raise ValueError(f"Unknown initial guess strategy: {initial_guess_strategy}")

    def decrease_error_of(stepsize, value_step, slope_step, value_init, slope_init):
        err = value_step - value_init - slope_rtol * stepsize * slope_init
        if approx_dec_rtol is not None:
            approx = slope_step - (2 * slope_rtol - 1.0) * slope_init
            delta = value_step - value_init - approx_dec_rtol * fnp.abs(value_init)
            err = fnp.minimum(fnp.maximum(approx, delta), err)
        err = fnp.maximum(err, 0.0)
        return fnp.where(fnp.isnan(err), np.inf, err)

    def curvature_error_of(slope_step, slope_init):
        err = fnp.maximum(fnp.abs(slope_step) - curv_rtol * fnp.abs(slope_init), 0.0)
        return fnp.where(fnp.isnan(err), np.inf, err)

    def on_line(value_and_grad_fn, params, stepsize, updates):
        value_step, grad_step = value_and_grad_fn(_add_scale(params, stepsize, updates))
        slope_step = _vdot(tree_util.tree_map(fnp.conj, grad_step), updates)
        return value_step, grad_step, slope_step

    def try_safe_step(s):
        use_safe = (s.safe_stepsize > 0.0) | fnp.isinf(s.decrease_error)
        stepsize, value, grad = _where(use_safe, [s.safe_stepsize, s.safe_value, s.safe_grad],
                                       [s.stepsize, s.value, s.grad])
        return _cast_like(s._replace(stepsize=stepsize, grad=grad, value=value), s)

    def search_interval(s, value_and_grad_fn):
        it = s.count
        new_stepsize = fnp.where(it == 0, s.stepsize_guess, increase_factor * s.stepsize)
        if max_learning_rate is not None:
            max_reached = new_stepsize >= max_learning_rate
            new_stepsize = fnp.minimum(new_stepsize, max_learning_rate)
        else:
            max_reached = fnp.asarray(False)
        new_value, new_grad, new_slope = on_line(value_and_grad_fn, s.params, new_stepsize,
                                                 s.updates)
        dec_err = decrease_error_of(new_stepsize, new_value, new_slope, s.value_init,
                                    s.slope_init)
        curv_err = curvature_error_of(new_slope, s.slope_init)
        new_error = fnp.maximum(dec_err, curv_err)
        safe_stepsize, safe_value, safe_grad = _where(
            dec_err <= tol, [new_stepsize, new_value, new_grad],
            [s.safe_stepsize, s.safe_value, s.safe_grad])
        set_high_to_new = (dec_err > 0.0) | ((new_value >= s.value) & (it > 0))
        set_low_to_new = (new_slope >= 0.0) & fnp.logical_not(set_high_to_new)
        low, value_low, slope_low, high, value_high, slope_high = _where(
            set_low_to_new,
            [new_stepsize, new_value, new_slope, s.stepsize, s.value, s.slope],
            [s.stepsize, s.value, s.slope, new_stepsize, new_value, new_slope])
        interval_found = set_high_to_new | set_low_to_new | (new_error <= tol)
        done = (new_error <= tol) | (max_reached & fnp.logical_not(interval_found))
        failed = (it + 1 >= max_linesearch_steps) & fnp.logical_not(done)
        new = _ZoomState(
            count=otree.safe_increment(it), params=s.params, updates=s.updates,
            stepsize_guess=s.stepsize_guess, stepsize=new_stepsize, value=new_value,
            grad=new_grad, slope=new_slope, value_init=s.value_init, slope_init=s.slope_init,
            decrease_error=dec_err, curvature_error=curv_err, error=new_error,
            interval_found=fnp.asarray(interval_found), done=fnp.asarray(done),
            failed=fnp.asarray(failed), low=low, value_low=value_low, slope_low=slope_low,
            high=high, value_high=value_high, slope_high=slope_high, cubic_ref=low,
            value_cubic_ref=value_low, safe_stepsize=safe_stepsize, safe_value=safe_value,
            safe_grad=safe_grad)
        return _cast_like(new, s)

    def zoom_into_interval(s, value_and_grad_fn):
        low, value_low, slope_low = s.low, s.value_low, s.slope_low
        high, value_high, slope_high = s.high, s.value_high, s.slope_high
        delta = fnp.abs(high - low)
        left, right = fnp.minimum(high, low), fnp.maximum(high, low)
        cubic_chk, quad_chk = 0.2 * delta, 0.1 * delta
        too_small_int = delta <= stepsize_precision
        middle_cubic = _cubicmin(low, value_low, slope_low, high, value_high, s.cubic_ref,
                                 s.value_cubic_ref)
        use_cubic = (middle_cubic > left + cubic_chk) & (middle_cubic < right - cubic_chk)
        middle_quad = _quadmin(low, value_low, slope_low, high, value_high)
        use_quad = fnp.logical_not(use_cubic) & ((middle_quad > left + quad_chk)
                                                 & (middle_quad < right - quad_chk))
        use_bisection = fnp.logical_not(use_cubic) & fnp.logical_not(use_quad)
        middle = fnp.where(use_cubic, middle_cubic, s.cubic_ref)
        middle = fnp.where(use_quad, middle_quad, middle)
        middle = fnp.where(use_bisection, (low + high) / 2.0, middle)
        value_middle, grad_middle, slope_middle = on_line(value_and_grad_fn, s.params, middle,
                                                          s.updates)
        dec_err = decrease_error_of(middle, value_middle, slope_middle, s.value_init,
                                    s.slope_init)
        curv_err = curvature_error_of(slope_middle, s.slope_init)
        new_error = fnp.maximum(dec_err, curv_err)
        update_safe = (dec_err <= tol) & (value_middle < s.safe_value)
        safe_stepsize, safe_value, safe_grad = _where(
            update_safe, [middle, value_middle, grad_middle],
            [s.safe_stepsize, s.safe_value, s.safe_grad])
        done = new_error <= tol
        set_high_to_middle = (dec_err > 0.0) | (value_middle >= value_low)
        set_high_to_low = ((slope_middle * (high - low)) >= 0.0) & fnp.logical_not(
            set_high_to_middle)
        set_low_to_middle = fnp.logical_not(set_high_to_middle)
        mid = [middle, value_middle, slope_middle]
        new_high = _where(set_high_to_middle, mid, [high, value_high, slope_high])
        new_high = _where(set_high_to_low, [low, value_low, slope_low], new_high)
        new_low = _where(set_low_to_middle, mid, [low, value_low, slope_low])
        cubic_ref, value_cubic_ref = _where(set_high_to_middle | set_high_to_low,
                                            [high, value_high], [low, value_low])
        presumably_failed = fnp.asarray((s.count + 1) >= max_linesearch_steps) | (
            too_small_int & (safe_stepsize > 0.0))
        failed = presumably_failed & fnp.logical_not(done)
        new = _ZoomState(
            count=otree.safe_increment(s.count), params=s.params, updates=s.updates,
            stepsize_guess=s.stepsize_guess, stepsize=middle, value=value_middle,
            grad=grad_middle, slope=slope_middle, value_init=s.value_init,
            slope_init=s.slope_init, decrease_error=dec_err, curvature_error=curv_err,
            error=new_error, interval_found=s.interval_found, done=done, failed=failed,
            low=new_low[0], value_low=new_low[1], slope_low=new_low[2], high=new_high[0],
            value_high=new_high[1], slope_high=new_high[2], cubic_ref=cubic_ref,
            value_cubic_ref=value_cubic_ref, safe_stepsize=safe_stepsize,
            safe_value=safe_value, safe_grad=safe_grad)
        return _cast_like(new, s)

    def init_search(updates, params, value, grad, prev_stepsize):
        val_dtype = _value_dtype(params)
        stepsize_guess = (fnp.asarray(1.0) if initial_guess_strategy == "one"
                          else prev_stepsize)
        slope = _vdot(updates, grad)
        inf, zero = fnp.asarray(np.inf), fnp.asarray(0.0)
        value = fnp.asarray(value)
        return _ZoomState(
            count=fnp.asarray(0, dtype=np.int32), params=params, updates=updates,
            stepsize_guess=stepsize_guess, stepsize=fnp.asarray(0.0, dtype=val_dtype),
            value=value.astype(val_dtype), grad=grad, slope=slope, value_init=value,
            slope_init=slope, decrease_error=inf, curvature_error=inf, error=inf,
            interval_found=fnp.asarray(False), done=fnp.asarray(False),
            failed=fnp.asarray(False), low=zero, value_low=value, slope_low=slope, high=zero,
            value_high=value, slope_high=slope, cubic_ref=zero, value_cubic_ref=value,
            safe_stepsize=zero, safe_value=value, safe_grad=grad)

    def init_fn(params):
        val_dtype = _value_dtype(params)
        return ScaleByZoomLinesearchState(
            learning_rate=fnp.asarray(1.0, dtype=val_dtype),
            value=fnp.asarray(np.inf, dtype=val_dtype),
            grad=otree.zeros_like(params),
            info=ZoomLinesearchInfo(num_linesearch_steps=fnp.asarray(0, dtype=np.int32),
                                    decrease_error=fnp.asarray(np.inf),
                                    curvature_error=fnp.asarray(np.inf)))

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None,
                  **extra_args):
        check_state(state, ScaleByZoomLinesearchState, "scale_by_zoom_linesearch")
        _require_extra(value, grad, value_fn, "scale_by_zoom_linesearch")
        fn_kwargs = _split_value_fn_kwargs(value_fn, extra_args, "scale_by_zoom_linesearch")
        value_and_grad_fn = transforms.value_and_grad(functools.partial(value_fn, **fn_kwargs))

        def body(s):
            new = control_flow.cond(s.interval_found,
                                    lambda t: zoom_into_interval(t, value_and_grad_fn),
                                    lambda t: search_interval(t, value_and_grad_fn), s)
            new = control_flow.cond(new.failed, try_safe_step, lambda t: t, new)
            return _cast_like(new, s)

        init = init_search(updates, params, value, grad, state.learning_rate)
        final = control_flow.while_loop(
            lambda s: fnp.logical_not(s.done | s.failed), body, init)
        new_state = ScaleByZoomLinesearchState(
            learning_rate=final.stepsize, value=final.value, grad=final.grad,
            info=ZoomLinesearchInfo(num_linesearch_steps=final.count,
                                    decrease_error=final.decrease_error,
                                    curvature_error=final.curvature_error))
        return _scale(final.stepsize, updates), _cast_like(new_state, state)
    return GradientTransformationExtraArgs(init_fn, update_fn)


# --- value_and_grad_from_state ---
def _find_all(tree, key: str, found: list) -> None:
    if hasattr(tree, "_fields"):
        for name in tree._fields:
            if name == key:
                found.append(getattr(tree, name))
        children = list(tree)
    elif isinstance(tree, dict):
        if key in tree:
            found.append(tree[key])
        children = list(tree.values())
    elif isinstance(tree, (list, tuple)):
        children = list(tree)
    else:
        return
    for child in children:
        _find_all(child, key, found)


def _get_unique(state, key: str):
    found: list = []
    _find_all(state, key, found)
    if len(found) > 1:
        raise KeyError(f"Found multiple values for '{key}' in the optimizer state.")
    return found[0] if found else None


def value_and_grad_from_state(value_fn: Callable[..., Any]) -> Callable[..., tuple[Any, Any]]:
    """Like ``value_and_grad(value_fn)``, reusing the value and gradient a line
    search stored in the optimizer state.

    Returns a function ``(params, *args, state, **kwargs) -> (value, grad)``:
    it returns the state's ``value`` and ``grad`` when that value is finite,
    and otherwise (the first iteration) computes them with
    ``transforms.value_and_grad(value_fn)``.

    Raises:
      ValueError: the state holds no ``value`` or no ``grad`` (e.g. a line search
        without ``store_grad=True``).
      KeyError: the state holds several.
    """
    def _value_and_grad(params, *fn_args, state, **fn_kwargs):
        value = _get_unique(state, "value")
        grad = _get_unique(state, "grad")
        if value is None or grad is None:
            raise ValueError(
                "Value or gradient not found in the state. Make sure that these values are "
                "stored in the state by the optimizer.")
        return control_flow.cond(
            fnp.logical_not(fnp.isinf(value)) & fnp.logical_not(fnp.isnan(value)),
            lambda p, a, kw: (value, grad),
            lambda p, a, kw: transforms.value_and_grad(value_fn)(p, *a, **kw),
            params, fn_args, fn_kwargs)
    return _value_and_grad

