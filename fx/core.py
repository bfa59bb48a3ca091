"""Primitives, bind, and the stack of traces (interpreters).

Every op is ``primitive.bind(*arrays, **params)``. ``bind`` picks the trace of
highest level among its arguments (or the dynamic trace, when ``make_graph`` is
staging everything) and lets it process the primitive:

- the bottom ``EvalTrace`` runs the primitive at once (eager execution through
  a compiled executable cached per (primitive, params); jax.jit caches per avals);
- ``fx.tracing.GraphTrace`` records an Equation;
- ``fx.ad.JVPTrace``, ``fx.batching.BatchTrace`` apply the primitive's rules.

Named axes: a primitive with an ``axis_names`` rule (collectives, and the
higher-order primitives whose bodies hold collectives) is handed to the trace
of the innermost vmap axis it names even when no operand is one of that
trace's tracers (``psum(1.0, 'i')``), as JAX's bind does.

The one upward hook: the core needs a few array ops it does not define (the
structural ops that move batch axes and un-broadcast cotangents, and the
operators of ``Tracer``). ``primitives`` and ``primitives.numpy`` register them
with ``register_structural_ops`` when imported, and ``structural(name)``
imports ``primitives.numpy`` lazily if nobody has yet (JAX's batching imports lax
lazily in the same way). No other module of ``fx`` names a module above it.

A tracer keeps its concrete value when it has one (a JVP tracer over eager
values), so Python control flow on concrete values works outside ``jit``.

References:
    Autodidax: JAX core from scratch (the trace stack, find_top_trace, full_raise).
"""
from __future__ import annotations

import gc
import os
import sys
import threading
from contextlib import contextmanager
from typing import Any, Protocol, Sequence

import numpy as np

from fx.axis_env import bound_names, checked_axes, innermost_frame
from fx.errors import (ConcretizationError, UnexpectedTracerError, UnsupportedInputError, FxError,
                       ForeignFunctionError)
from fx.ir import ShapedArray
from fx.source_info import user_frame_info, with_user_line

__all__ = ["Primitive", "Tracer", "Trace", "MainTrace", "EvalTrace", "new_main",
           "find_top_trace", "full_raise", "full_lower", "get_aval", "current_trace",
           "is_eager", "register_structural_ops", "structural", "canonical_dtype",
           "python_scalar_dtype", "AbstractEvalRule", "LoweringRule", "JVPRule",
           "TransposeRule", "BatchRule", "AxisBatchRule", "AxisNamesRule", "PartialEvalRule",
           "DCERule", "VMARule", "out_vma", "cast_vma", "def_vma_from_body"]


# --- the rule signatures, written once --------------------------------------
class AbstractEvalRule(Protocol):
    def __call__(self, *avals: ShapedArray, **params) -> ShapedArray | Sequence[ShapedArray]: ...


class LoweringRule(Protocol):
    """Takes jax values (arrays or jax tracers), returns jax value(s), using jax.lax."""
    def __call__(self, *values: Any, **params) -> Any: ...


class JVPRule(Protocol):
    """``(primals, tangents, **params) -> (primal_out, tangent_out)``; a tangent may be ``Zero``."""
    def __call__(self, primals: Sequence[Any], tangents: Sequence[Any], **params) -> tuple: ...


class TransposeRule(Protocol):
    """``(ct, *operands, **params) -> cotangents``; linear operands are ``UndefinedPrimal``."""
    def __call__(self, ct: Any, *operands: Any, **params) -> Sequence[Any]: ...


class BatchRule(Protocol):
    """``(args, bdims, **params) -> (out, out_bdim)``; an unbatched arg has bdim None."""
    def __call__(self, args: Sequence[Any], bdims: Sequence[int | None], **params) -> tuple: ...


class AxisBatchRule(Protocol):
    """A batch rule that sees the vmap axis (collectives, higher-order primitives):
    ``(args, bdims, *, axis_name, axis_size, **params) -> (out, out_bdim)``; called
    by every BatchTrace, even when no operand is batched."""
    def __call__(self, args: Sequence[Any], bdims: Sequence[int | None], *, axis_name: Any,
                 axis_size: int, **params) -> tuple: ...


class AxisNamesRule(Protocol):
    """``(**params) -> names``: the axis names an equation's collectives refer to."""
    def __call__(self, **params) -> Sequence[Any]: ...


class PartialEvalRule(Protocol):
    """``(eqn, unknowns) -> (known_eqns, unknown_eqns, out_unknowns)`` (fx.passes.partial_eval)."""
    def __call__(self, eqn: Any, unknowns: Sequence[bool]) -> tuple: ...


class DCERule(Protocol):
    """``(eqn, used_outputs) -> eqn`` with dead work inside its sub-graphs removed (fx.passes.dce)."""
    def __call__(self, eqn: Any, used_outputs: Sequence[bool]) -> Any: ...


class VMARule(Protocol):
    """``(*in_vmas, **params) -> (in_targets, out_vma)`` inside a check_vma
    shard_map body: the mesh axes each operand must vary over (``bind`` casts
    it with ``pvary``) and those the outputs vary over (one set, or a list of
    one per output). Without the rule an op's operands are cast to, and its
    outputs vary over, the union of the operands' (jax's
    ``standard_insert_pvary``); collectives and higher-order primitives
    (typed as their bodies) define their own."""
    def __call__(self, *in_vmas: frozenset, **params) -> tuple: ...


# --- Primitive ----------------------------------------------------------------
_RULES = ("abstract_eval", "lowering", "jvp", "transpose", "batch", "axis_batch", "axis_names",
          "partial_eval", "dce", "vma")


class Primitive:
    """A named op with one slot per rule.

    Args:
      name: printed in the IR.
      multiple_results: whether ``bind`` returns a list.

    Slots (None until a rule is registered; use the ``def_*`` decorators, one
    per slot, each taking a rule of the Protocol of the same name above):
      abstract_eval, lowering, jvp, transpose, batch; axis_batch and
      axis_names for primitives that see named axes; partial_eval / dce for
      higher-order primitives; vma (check_vma typing) for collectives and
      higher-order primitives. ``rule(kind)`` returns a slot or raises
      ``NotImplementedError("no <kind> rule for <name> (defined in <file>)")``.

    Attributes:
      replay_barrier: True for ``optimization_barrier``: fx.passes.partial_eval
        recomputes what follows it on the unknown side instead of saving it.
    """
    replay_barrier = False

    def __init__(self, name: str, multiple_results: bool = False):
        self.name = name
        self.multiple_results = multiple_results
        for r in _RULES:
            setattr(self, r, None)
        frame = sys._getframe(1)
        while frame.f_back is not None and frame.f_code.co_filename.endswith("_rules.py"):
            frame = frame.f_back
        self.defined_in = os.path.relpath(frame.f_code.co_filename,
                                          os.path.dirname(os.path.dirname(__file__)))
        self._impl_cache: dict = {}
        self._impl_plain = None

    def __repr__(self):
        return self.name

    def rule(self, kind: str):
        r = getattr(self, kind)
        if r is None:
            raise NotImplementedError(f"no {kind} rule for {self.name} (defined in {self.defined_in})")
        return r

    def _def(kind):
        def deco(self, fn):
            setattr(self, kind, fn)
            return fn
        return deco
    def_abstract_eval = _def("abstract_eval")
    def_lowering = _def("lowering")
    def_jvp = _def("jvp")
    def_transpose = _def("transpose")
    def_batch = _def("batch")
    def_axis_batch = _def("axis_batch")
    def_axis_names = _def("axis_names")
    def_partial_eval = _def("partial_eval")
    def_dce = _def("dce")
    def_vma = _def("vma")
    del _def

    def bind(self, *args, **params):
        if self.axis_names is not None and bound_names():
            out = _bind_to_axis(self, args, params)
            if out is not _NOT_ROUTED:
                return out
        top = _state.dynamic
        if top is _bottom:  # eager fast path: no transformation, no tracer
            for a in args:
                if isinstance(a, Tracer):
                    break
            else:
                return self.impl(*args, **params)
        if checked_axes():  # a check_vma shard_map body: invariant -> varying made explicit
            args = _insert_pvary(self, args, params)
        level = top.level
        for a in args:
            if isinstance(a, Tracer):
                main = a._trace.main
                if main.level >= level:
                    if not main.alive:
                        raise _leaked_error(a, self)
                    if main.level > level:
                        top, level = main, main.level
        if top is _bottom:
            return self.impl(*args, **params)
        trace = top.trace
        tracers = [full_raise(trace, a) for a in args]
        out = trace.process_primitive(self, tracers, params)
        if self.multiple_results:
            return [full_lower(o) for o in out]
        return full_lower(out)

    def impl(self, *args, **params):
        """Run at once: the jitted lowering, cached per params (jax.jit caches per avals)."""
        if params:
            key = tuple(params.items())
            try:
                fn = self._impl_cache[key]
            except KeyError:
                fn = self._impl_cache[key] = _make_impl(self, params)
            except TypeError:  # unhashable params: compile without caching
                fn = _make_impl(self, params)
        else:
            fn = self._impl_plain
            if fn is None:
                fn = self._impl_plain = _make_impl(self, params)
        try:
            return fn(*args)
        except FxError:
            raise
        except RecursionError:  # a deeply nested graph: compile it with a higher limit
            with deep_recursion():
                return fn(*args)
        except Exception as e:
            err = _explain_eager_failure(self, args, params, e)
            if err is not None:
                raise err from None
            raise


_NOT_ROUTED = object()
_NO_VMA = frozenset()


def _vmas(prim: Primitive, vmas: list, params: dict) -> tuple:
    """(per operand, the axes it must vary over; the axes the outputs vary over)."""
    if prim.vma is not None:
        return prim.vma(*vmas, **params)
    u = _NO_VMA.union(*vmas)
    return [u] * len(vmas), u


def _insert_pvary(prim: Primitive, args, params):
    """Cast the traced operands of ``prim`` that vary over fewer mesh axes than
    the op needs (``pvary``: identity forward, psum in reverse, so a gradient
    taken inside a shard_map body sums over the shards as jax's check_vma)."""
    vmas = [a.aval.vma if isinstance(a, Tracer) else _NO_VMA for a in args]
    if prim.vma is None and (len(args) < 2 or all(v == vmas[0] for v in vmas)):
        return args
    targets, _ = _vmas(prim, vmas, params)
    out = list(args)
    for i, (a, v, t) in enumerate(zip(args, vmas, targets)):
        if isinstance(a, Tracer) and not t <= v:
            out[i] = cast_vma(a, t)
    return out


def cast_vma(x, vma):
    """``x`` cast (``pvary``) to vary over the mesh axes ``vma`` (a no-op when it does)."""
    have = get_aval(x).vma
    missing = tuple(n for n in checked_axes() if n in vma and n not in have)
    return structural("pvary")(x, missing) if missing else x


def def_vma_from_body(prim: Primitive, param: str) -> None:
    """Give a higher-order primitive jax's check_vma typing of calls: its operands
    are not cast (its sub-graph ``params[param]`` was traced on their types) and
    each output varies as that sub-graph's output does."""
    prim.def_vma(lambda *vmas, **params: (list(vmas),
                                          [a.vma for a in params[param].out_avals]))


def out_vma(prim: Primitive, avals_in, params: dict):
    """The mesh axes the outputs of ``prim`` on ``avals_in`` vary over: one set
    for every output, or a list (higher-order primitives type each output as
    their bodies do); fx.tracing sets them on the output avals inside check_vma
    bodies."""
    vma = _vmas(prim, [a.vma for a in avals_in], params)[1]
    checked = frozenset(checked_axes())
    return [v & checked for v in vma] if isinstance(vma, list) else vma & checked


def _bind_to_axis(prim: Primitive, args, params):
    """Hand the op to the trace of the innermost vmap axis it names when that
    trace is above every operand's (or return _NOT_ROUTED)."""
    frame = innermost_frame(tuple(prim.axis_names(**params)))
    if frame is None or frame.main is None or not frame.main.alive:
        return _NOT_ROUTED
    top = find_top_trace(args)
    if frame.main.level <= top.main.level:
        return _NOT_ROUTED
    trace = frame.main.trace
    out = trace.process_primitive(prim, [full_raise(trace, a) for a in args], params)
    return [full_lower(o) for o in out] if prim.multiple_results else full_lower(out)


def _make_impl(prim: Primitive, params: dict):
    import jax
    lowering = prim.rule("lowering")
    if params:
        def f(*args):
            return lowering(*args, **params)
    else:
        f = lowering
    return jax.jit(f)


def _explain_eager_failure(prim, args, params, err):
    """jax rejected the op: rerun our abstract eval so the user gets our typed error."""
    if prim.abstract_eval is None:
        return None
    try:
        avals = [get_aval(a) for a in args]
        prim.abstract_eval(*avals, **params)  # raises our typed error if the shapes are bad
    except FxError as e:
        return with_user_line(e, 4)
    except Exception:
        return None
    return None


def _leaked_error(tracer, prim):
    return UnexpectedTracerError(
        f"{prim.name} received a tracer ({tracer.aval.str_short()}) that escaped the "
        f"transformation that created it ({type(tracer._trace).__name__}), at "
        f"{user_frame_info(3)}. A traced value was stored outside the function being "
        f"transformed (a global, a list, self.x) and used after the transformation ended. "
        f"Fix: return the value from the transformed function instead of storing it.")


# --- traces ------------------------------------------------------------------
class MainTrace:
    """One level of the trace stack."""
    __slots__ = ("level", "trace_type", "global_data", "alive", "trace")

    def __init__(self, level: int, trace_type, global_data=None):
        self.level = level
        self.trace_type = trace_type
        self.global_data = global_data
        self.alive = True
        self.trace = trace_type(self)

    def __repr__(self):
        return f"MainTrace({self.level}, {self.trace_type.__name__})"


class Trace:
    """An interpreter of primitives at one level."""
    __slots__ = ("main",)

    def __init__(self, main: MainTrace):
        self.main = main

    def pure(self, val):
        raise NotImplementedError

    def lift(self, val):
        return self.pure(val)

    def process_primitive(self, primitive, tracers, params):
        raise NotImplementedError


class EvalTrace(Trace):
    """The bottom of the stack: run primitives now."""
    __slots__ = ()

    def pure(self, val):
        return val

    lift = pure

    def process_primitive(self, primitive, values, params):
        return primitive.impl(*values, **params)


class _State(threading.local):
    """The trace stack, one per thread (as JAX's trace state): a data loader or a
    server thread traces without seeing another thread's tracers."""

    def __init__(self):
        self.trace_stack = [_bottom]
        self.dynamic = _bottom


_bottom = MainTrace(0, EvalTrace)  # stateless: shared by every thread's stack
_state = _State()


def is_eager() -> bool:
    """True when no transformation is active: ops run at once."""
    return _state.dynamic is _bottom and len(_state.trace_stack) == 1


def current_trace() -> Trace:
    """The trace every op goes to when no operand is a tracer: the staging trace
    while ``make_graph``/``jit`` traces, else the eager one."""
    return _state.dynamic.trace


def no_dynamic_trace() -> bool:
    """True when ops on plain arrays run at once (no staging trace is active);
    the cheap test the eager fast paths use."""
    return _state.dynamic is _bottom


@contextmanager
def new_main(trace_type, global_data=None, dynamic: bool = False):
    """Push a new level; with ``dynamic=True`` it also becomes the dynamic trace
    (every op is processed by it, as make_graph needs)."""
    level = len(_state.trace_stack)
    main = MainTrace(level, trace_type, global_data)
    _state.trace_stack.append(main)
    prev = _state.dynamic
    if dynamic:
        _state.dynamic = main
    try:
        yield main
    finally:
        _state.dynamic = prev
        _state.trace_stack.pop()
        main.alive = False


def find_top_trace(args) -> Trace:
    top = _state.dynamic
    for a in args:
        if isinstance(a, Tracer) and a._trace.main.level > top.level:
            top = a._trace.main
    return top.trace


def full_raise(trace: Trace, val):
    if not isinstance(val, Tracer):
        return trace.pure(val)
    level = trace.main.level
    vmain = val._trace.main
    if vmain is trace.main:
        return val
    if vmain.level < level:
        return trace.lift(val)
    if not vmain.alive:
        raise _leaked_error(val, type("op", (), {"name": "an op"}))
    raise UnexpectedTracerError(
        f"a tracer of a deeper transformation ({type(val._trace).__name__}) reached an outer "
        f"one ({type(trace).__name__}) at {user_frame_info(3)}: a value from an inner "
        f"transformation escaped it (perturbation/level confusion).")


def full_lower(val):
    if isinstance(val, Tracer):
        return val.full_lower()
    return val


# --- deep graphs ---------------------------------------------------------------------------
_DEEP_LIMIT = 20000
_deep_lock = threading.Lock()
_deep = {"depth": 0, "saved": None}


@contextmanager
def deep_recursion():
    """Raise Python's recursion limit while graphs are traced or lowered: each
    level of nested control flow (a cond inside a cond ...) costs tens of
    frames of ours and jax's, so the default limit of 1000 stops at ~80
    levels. Re-entrant and thread-safe; the old limit comes back when the
    outermost block ends."""
    with _deep_lock:
        if _deep["depth"] == 0:
            _deep["saved"] = sys.getrecursionlimit()
            if _deep["saved"] < _DEEP_LIMIT:
                sys.setrecursionlimit(_DEEP_LIMIT)
        _deep["depth"] += 1
    try:
        yield
    finally:
        with _deep_lock:
            _deep["depth"] -= 1
            if _deep["depth"] == 0:
                sys.setrecursionlimit(_deep["saved"])


_gc_lock = threading.Lock()
_gc = {"depth": 0, "was_enabled": False}


@contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while a graph is traced or
    lowered. Tracing allocates many long-lived objects (tracers, vars,
    equations), and each allocation burst triggers a full collection that
    walks all of them: without the pause a 50k-equation graph spends about a
    third of its tracing and lowering time in the collector. Re-entrant and
    thread-safe; the collector resumes (if it was enabled) when the outermost
    block ends, and collects what the block left as usual."""
    with _gc_lock:
        if _gc["depth"] == 0:
            _gc["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc["depth"] -= 1
            if _gc["depth"] == 0 and _gc["was_enabled"]:
                gc.enable()


# --- abstract values of inputs -------------------------------------------------
_PY_SCALAR = {bool: np.dtype(bool), int: np.dtype(np.int32), float: np.dtype(np.float32),
              complex: np.dtype(np.complex64)}


def _x64() -> bool:
    import jax
    return bool(jax.config.jax_enable_x64)


def python_scalar_dtype(val) -> np.dtype:
    t = type(val)
    if _x64() and t in (int, float, complex):
        return {int: np.dtype(np.int64), float: np.dtype(np.float64),
                complex: np.dtype(np.complex128)}[t]
    return _PY_SCALAR[t]


def canonical_dtype(dtype) -> np.dtype:
    """The dtype jax would store (64-bit types narrowed unless x64 is on)."""
    dtype = np.dtype(dtype)
    if dtype.itemsize == 8 and dtype.kind in "iufc" and not _x64():
        return {"i": np.dtype(np.int32), "u": np.dtype(np.uint32), "f": np.dtype(np.float32),
                "c": np.dtype(np.complex64)}[dtype.kind] if dtype.kind != "c" else np.dtype(np.complex64)
    if dtype.itemsize == 16 and dtype.kind == "c" and not _x64():
        return np.dtype(np.complex64)
    return dtype


def get_aval(x) -> ShapedArray:
    """The ShapedArray of any accepted input: our tracers, jax Arrays (and jax
    tracers), numpy arrays and scalars, Python scalars (weak-typed)."""
    if isinstance(x, Tracer):
        return x.aval
    t = type(x)
    if t in _PY_SCALAR:
        return ShapedArray((), python_scalar_dtype(x), weak_type=True)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(np.shape(x), canonical_dtype(x.dtype), False)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        weak = getattr(x, "weak_type", None)
        if weak is None:
            import jax
            weak = getattr(jax.typeof(x), "weak_type", False)
        return ShapedArray(x.shape, x.dtype, bool(weak))
    raise UnsupportedInputError(
        f"{type(x).__name__} is not a valid fxjax array value (got {x!r:.80}). Pass jax/numpy "
        f"arrays or Python scalars; other objects must be marked static with static_argnums.")


# --- Tracer --------------------------------------------------------------------
_structural_ops: dict = {}


def register_structural_ops(ops: dict) -> None:
    """Register the array ops the core needs but does not define (called by
    ``primitives`` when it is imported): the structural ops the transforms use
    generically (transpose, broadcast_in_dim, reduce_sum, reshape, slice,
    convert_element_type, add, mul, ...) and the operators / methods of
    ``Tracer`` (keys ``"getitem"``, ``"add"``, ``"method:sum"``, ...)."""
    _structural_ops.update(ops)


def structural(name: str):
    """The registered op ``name`` (see register_structural_ops); the one upward
    hook of fx: it imports ``primitives.numpy`` (which registers the operators,
    and loads ``primitives``, which registers the rest) if nothing has yet."""
    try:
        return _structural_ops[name]
    except KeyError:
        if "getitem" not in _structural_ops:
            import importlib
            importlib.import_module("primitives.numpy")
            return _structural_ops[name]
        raise


def _ops():
    if "getitem" not in _structural_ops:
        structural("getitem")
    return _structural_ops


def _binop(name, reflected=False):
    if reflected:
        def method(self, other):
            return _ops()[name](other, self)
    else:
        def method(self, other):
            return _ops()[name](self, other)
    method.__name__ = f"__{'r' if reflected else ''}{name}__"
    return method


class Tracer:
    """A value inside a transformation. Subclasses define ``aval`` and ``full_lower``.

    Supports the jax.Array operators and methods listed in API.md; Python
    conversions (bool/int/float/index) work when the tracer has a concrete
    value and raise ConcretizationError otherwise.
    """
    __slots__ = ("_trace",)
    __array_priority__ = 1000

    aval: ShapedArray

    def full_lower(self):
        return self

    def concrete_value(self):
        """The concrete value carried by this tracer, or None (abstract)."""
        return None

    # -- attributes
    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: len(self.aval.shape))
    size = property(lambda self: self.aval.size)
    weak_type = property(lambda self: self.aval.weak_type)

    def __len__(self):
        if not self.aval.shape:
            raise TypeError("len() of unsized object (a 0-d traced array)")
        return self.aval.shape[0]

    def __iter__(self):
        if not self.aval.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.aval.shape[0]))

    def __hash__(self):
        raise TypeError(f"unhashable type: traced array {self.aval.str_short()} "
                        f"(arrays are not hashable; use a static Python value as a key)")

    def __repr__(self):
        v = self.concrete_value()
        extra = f" with value {v}" if v is not None else ""
        return f"Traced<{self.aval.str_short()}>{extra} ({type(self._trace).__name__})"

    # -- Python conversions
    def _concrete(self, what):
        v = self.concrete_value()
        if v is None:
            raise ConcretizationError(
                f"{what} was applied to an abstract traced value {self.aval.str_short()} at "
                f"{user_frame_info(3)}.\nInside jit (and make_graph) values are abstract: "
                f"their shape and dtype are known, not their contents.\nFix: pass the value "
                f"as a static argument (jit(f, static_argnums=...) / static_argnames=...), "
                f"or replace the Python branch with primitives.cond / fnp.where.")
        return v

    def __bool__(self):
        return bool(self._concrete("bool()"))

    def __int__(self):
        return int(self._concrete("int()"))

    def __float__(self):
        return float(self._concrete("float()"))

    def __complex__(self):
        return complex(self._concrete("complex()"))

    def __index__(self):
        return int(self._concrete("an index conversion (__index__)"))

    def __array__(self, dtype=None, copy=None):
        v = self.concrete_value()
        if v is None:
            raise ConcretizationError(
                f"numpy conversion (np.asarray) of the abstract traced value "
                f"{self.aval.str_short()} at {user_frame_info(2)}. numpy functions cannot see "
                f"traced values: use the primitives.numpy (fnp) function of the same name.")
        return np.asarray(v, dtype=dtype)

    @property
    def __jax_array__(self):
        # jax.Array binops probe this first: answer "absent" so Python falls back
        # to our reflected operator. Any other caller is a jax.numpy function
        # applied to our tracer: tell the user which of our functions to use.
        caller = sys._getframe(1).f_code.co_filename
        if caller.endswith("array_methods.py"):
            return None
        return _jax_numpy_on_tracer(self)

    # -- methods and operators (installed by primitives.numpy)
    def __getattr__(self, name):
        ops = _ops()
        fn = ops.get("method:" + name)
        if fn is None:
            raise AttributeError(f"traced array has no attribute {name!r}")
        return fn(self) if name in ("T", "mT", "at", "real", "imag") else (
            lambda *a, **k: fn(self, *a, **k))

    def __getitem__(self, idx):
        return _ops()["getitem"](self, idx)

    def __neg__(self):
        return _ops()["negative"](self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops()["abs"](self)

    def __invert__(self):
        return _ops()["invert"](self)

    __add__, __radd__ = _binop("add"), _binop("add", True)
    __sub__, __rsub__ = _binop("subtract"), _binop("subtract", True)
    __mul__, __rmul__ = _binop("multiply"), _binop("multiply", True)
    __truediv__, __rtruediv__ = _binop("true_divide"), _binop("true_divide", True)
    __floordiv__, __rfloordiv__ = _binop("floor_divide"), _binop("floor_divide", True)
    __mod__, __rmod__ = _binop("remainder"), _binop("remainder", True)
    __pow__, __rpow__ = _binop("power"), _binop("power", True)
    __matmul__, __rmatmul__ = _binop("matmul"), _binop("matmul", True)
    __and__, __rand__ = _binop("bitwise_and"), _binop("bitwise_and", True)
    __or__, __ror__ = _binop("bitwise_or"), _binop("bitwise_or", True)
    __xor__, __rxor__ = _binop("bitwise_xor"), _binop("bitwise_xor", True)
    __lt__, __le__ = _binop("less"), _binop("less_equal")
    __gt__, __ge__ = _binop("greater"), _binop("greater_equal")
    __eq__, __ne__ = _binop("equal"), _binop("not_equal")


def _jax_numpy_on_tracer(tracer):
    # The jax function the user called: a public name in the jax frames' locals
    # (jit-wrapped jax.numpy functions), else the outermost jax frame's name.
    fn_name = outer = None
    f = sys._getframe(2)
    while f is not None and (os.sep + "jax" + os.sep) in f.f_code.co_filename:
        loc = f.f_locals
        cand = loc.get("fun_name") or getattr(loc.get("fun"), "__name__", None) or \
            getattr(loc.get("self"), "__name__", None)
        if fn_name is None and isinstance(cand, str) and not cand.startswith("_") and \
                cand not in ("cache_miss", "wrapper"):
            fn_name = cand
        if not f.f_code.co_name.startswith(("_", "<")) and \
                not f.f_code.co_filename.endswith("traceback_util.py"):
            outer = f.f_code.co_name
        f = f.f_back
    fn_name = fn_name or outer
    what = f"a jax function (`{fn_name}`)" if fn_name else "a jax function"
    fix = (f"use our function of the same name: primitives.numpy.{fn_name} (fnp), "
           f"primitives.nn.{fn_name} or primitives.{fn_name} (lax level)" if fn_name else
           "use the primitives.numpy (fnp), primitives.nn or primitives (lax level) function "
           "of the same name")
    raise ForeignFunctionError(
        f"{what} was called on an fxjax tracer ({tracer.aval.str_short()}) at "
        f"{user_frame_info(2)}. jax cannot see inside fxjax transformations.\nFix: {fix}.")
