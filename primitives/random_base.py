"""Keys, the typed-key helpers and the basic samplers of ``primitives.random``
(as jax.random: threefry2x32 with raw ``uint32[2]`` keys; the design is in
``primitives.random``'s docstring). ``primitives.random`` re-exports these with
the distributions of ``random_distributions`` / ``random_discrete``.
"""
from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np
import jax

import primitives as P
import primitives.numpy as fnp
from fx.dtypes import kind
from fx.core import canonical_dtype, get_aval, is_eager
from fx import passes
from fx.errors import FxTypeError, ShapeError
from fx.interpreter import lower_graph
from fx.tracing import make_graph
from primitives._rules import INT, check_kind
from primitives.prng import (UINT_DTYPES, check_keys_aval, random_bits, random_fold_in, random_seed,
                             random_split, shape_tuple, random_seed_p, random_bits_p,
                             random_split_p, random_fold_in_p)

__all__ = ["PRNGKey", "key", "key_data", "wrap_key_data", "key_impl", "key_dtype", "clone",
           "split", "fold_in", "bits", "uniform", "normal",
           "truncated_normal", "bernoulli", "gumbel", "categorical", "randint",
           "permutation", "choice",
           "random_seed_p", "random_bits_p", "random_split_p", "random_fold_in_p"]


# --- helpers of the public functions ------------------------------------------
def _shape_of(x) -> tuple:
    return tuple(get_aval(x).shape)


def _check_key(op: str, key):
    """A single raw key u32[2]; a typed jax key (jax.random.key) is unwrapped."""
    if isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    aval = get_aval(key)
    check_keys_aval(op, aval)
    if aval.shape != (2,):
        raise ShapeError(f"{op} accepts a single key u32[2], but was given a key array "
                         f"{aval.str_short()}. Fix: use vmap to map over keys.")
    return key


def _float_dtype(op: str, dtype, kinds: str = "f"):
    dtype = canonical_dtype(np.float64 if dtype is None else dtype)
    if kind(dtype) not in kinds:
        raise FxTypeError(f"{op}: dtype must be a floating-point dtype, got {dtype}.")
    return dtype


def _row(x, i: int):
    """``x[i]`` for an array of rank >= 1 (a lax slice and reshape)."""
    shape = _shape_of(x)
    start = (i,) + (0,) * (len(shape) - 1)
    limit = (i + 1,) + shape[1:]
    return P.reshape(P.slice(x, start, limit), shape[1:])


def _prefix(x, n: int, axis: int):
    """``x[..., :n, ...]`` with the slice on ``axis`` (a lax slice)."""
    shape = _shape_of(x)
    limit = shape[:axis] + (n,) + shape[axis + 1:]
    return P.slice(x, (0,) * len(shape), limit)


def _split2(key):
    keys = random_split(key, (2,))
    return _row(keys, 0), _row(keys, 1)


def _broadcast(x, shape, op):
    """``x`` (already of the final dtype) broadcast to ``shape``, numpy rules."""
    xs = _shape_of(x)
    if xs == tuple(shape):
        return x
    try:
        full = np.broadcast_shapes(xs, shape)
    except ValueError:
        full = None
    if full != tuple(shape):
        raise ShapeError(f"{op}: parameter shape {xs} must broadcast to the requested shape "
                         f"{tuple(shape)} (numpy rules, without enlarging it).")
    return fnp.broadcast_to(x, shape)


def _const(value, dtype):
    return np.array(value, dtype)


# --- PRNGKey / key ---
def PRNGKey(seed) -> jax.Array:
    """A raw threefry key ``u32[2]`` from an integer seed (as jax.random.PRNGKey).

    A Python int seed is read as int64 as jax does (only its low 32 bits count
    unless jax x64 is enabled).

    Args:
      seed: a scalar integer (Python int, numpy/jax integer, or traced).

    Returns:
      The key, ``u32[2]``.
    """
    if isinstance(seed, (bool, np.bool_)) or (not isinstance(seed, (int, np.integer)) and
                                               not hasattr(seed, "dtype")):
        raise FxTypeError(f"PRNGKey accepts an integer seed, got {seed!r:.60}.")
    if isinstance(seed, int):
        seed = np.int64(seed)
        if canonical_dtype(np.int64) != np.int64:
            seed = np.uint32(int(seed) & 0xFFFFFFFF)
    if get_aval(seed).ndim:
        raise ShapeError(f"PRNGKey accepts a scalar seed, got {get_aval(seed).str_short()}. "
                         f"Fix: use vmap to make many keys.")
    return random_seed(seed)


def key(seed) -> jax.Array:
    """A key from an integer seed (as jax.random.key, with one difference).

    Differs from jax: jax.random.key returns a *typed* key array (dtype
    ``key<fry>``); ours returns the same raw ``u32[2]`` threefry key as
    :func:`PRNGKey`, which every function here accepts. Typed jax keys passed to
    our functions are unwrapped to their raw data.
    """
    return PRNGKey(seed)


# --- typed-key helpers: key_data / wrap_key_data / key_impl / key_dtype / clone ---
_IMPL = "threefry2x32"


def _is_typed_key(keys) -> bool:
    return isinstance(keys, jax.Array) and jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)


def _check_impl(op: str, impl, dtype):
    if impl is not None and dtype is not None:
        raise ValueError(f"Cannot specify both `impl` and `dtype` arguments to {op}.")
    spec = dtype if dtype is not None else impl
    if spec is None:
        return
    name = getattr(getattr(spec, "_impl", None), "name", spec)
    if name != _IMPL:
        raise NotImplementedError(f"{op}: only the threefry2x32 PRNG is implemented, got {spec!r}.")


def key_data(keys):
    """The raw ``u32[..., 2]`` data of keys (as jax.random.key_data).

    Our keys already are that data, so raw keys come back unchanged (as in
    jax); a typed jax key array is unwrapped.

    Args:
      keys: raw keys ``u32[..., 2]`` or a typed jax key array.

    Returns:
      ``u32[..., 2]``.
    """
    if _is_typed_key(keys):
        return jax.random.key_data(keys)
    check_keys_aval("key_data", get_aval(keys))
    return keys


def wrap_key_data(key_bits_array, *, impl=None, dtype=None):
    """Keys from their raw bits (as jax.random.wrap_key_data, with one difference).

    Differs from jax: jax returns a typed key array (dtype ``key<fry>``); ours
    returns the raw threefry data ``u32[..., 2]`` itself, the key type every
    function here takes (see :func:`key`). Only threefry2x32 is implemented.

    Args:
      key_bits_array: ``u32[..., 2]``.
      impl, dtype: the PRNG implementation (None or "threefry2x32"; not both).

    Returns:
      The keys, ``u32[..., 2]``.
    """
    _check_impl("wrap_key_data", impl, dtype)
    check_keys_aval("wrap_key_data", get_aval(key_bits_array))
    return key_bits_array


def key_impl(keys):
    """The PRNG implementation of keys (as jax.random.key_impl): "threefry2x32".

    Args:
      keys: raw keys ``u32[..., 2]`` or a typed jax key array.

    Returns:
      The implementation's name.
    """
    if _is_typed_key(keys):
        return jax.random.key_impl(keys)
    check_keys_aval("key_impl", get_aval(keys))
    return _IMPL


def key_dtype(impl_spec=None):
    """The typed-key dtype jax uses for a PRNG implementation (as jax.random.key_dtype).

    Our own keys are raw ``uint32`` data (see :func:`key`); this is the dtype
    of the equivalent typed jax keys, e.g. for jax.random.wrap_key_data.

    Args:
      impl_spec: None or "threefry2x32".

    Returns:
      jax's key dtype (``key<fry>``).
    """
    _check_impl("key_dtype", impl_spec, None)
    return jax.random.key_dtype(_IMPL)


def clone(key):
    """A copy of a key for reuse (as jax.random.clone): the identity, as in jax
    outside key-reuse checking.

    Args:
      key: raw keys ``u32[..., 2]`` or a typed jax key array.

    Returns:
      ``key``.
    """
    if _is_typed_key(key):
        return jax.random.clone(key)
    check_keys_aval("clone", get_aval(key))
    return key


# --- eager_jit: samplers run eagerly as one compiled program ---
def eager_jit(*static_argnames: str):
    """Decorator: eagerly, run the sampler as ONE compiled program, as jax.random's
    samplers run (a jax.jit of the sampler's Graph lowered whole, as
    ``transforms.jit`` does; the keyword arguments ``static_argnames`` are static);
    under our transforms it is traced inline.

    XLA contracts a multiply feeding an add into a fused multiply-add inside one
    program; op by op the product is rounded first, so only a compiled program
    reproduces jax's bits eagerly.
    """
    def wrap(fn):
        def lowered(*args, **static):
            with jax.ensure_compile_time_eval():
                g = passes.dce(passes.cse(make_graph(functools.partial(fn, **static))(*args)))
            outs = lower_graph(g, *jax.tree_util.tree_leaves(args))
            return jax.tree_util.tree_unflatten(g.out_tree, outs)
        jitted = jax.jit(lowered, static_argnames=static_argnames)

        @functools.wraps(fn)
        def run(*args, **static):
            return (jitted if is_eager() else fn)(*args, **static)
        return run
    return wrap


# --- split / fold_in / bits ---
def split(key, num: int | Sequence[int] = 2):
    """Split a key into ``num`` new keys ``u32[*num, 2]`` (as jax.random.split).

    Args:
      key: a raw key u32[2].
      num: number of keys (int) or their batch shape (tuple).
    """
    return random_split(_check_key("split", key), shape_tuple(num))


def fold_in(key, data):
    """A new key with the 32-bit integer ``data`` folded in (as jax.random.fold_in)."""
    key = _check_key("fold_in", key)
    if isinstance(data, (int, np.integer)):
        data = np.uint32(data)  # negative Python ints raise OverflowError, as in jax
    elif get_aval(data).ndim:
        raise ShapeError(f"fold_in accepts scalar data, got {get_aval(data).str_short()}. "
                         f"Fix: use vmap to fold in many values.")
    else:
        check_kind("fold_in", (get_aval(data),), INT)
        data = P.convert_element_type(data, np.uint32)
    return random_fold_in(key, data)


def bits(key, shape: Sequence[int] = (), dtype=None):
    """Uniform random unsigned integers (as jax.random.bits; default dtype uint32)."""
    key = _check_key("bits", key)
    dtype = canonical_dtype(np.uint64 if dtype is None else dtype)
    if dtype.kind != "u":
        raise FxTypeError(f"bits: dtype must be an unsigned integer dtype, got {dtype}.")
    return random_bits(key, dtype.itemsize * 8, shape)


# --- uniform ---
def _uniform(key, shape, dtype, minval, maxval):
    """jax's ``_uniform``: random mantissa bits with exponent 0 give [1, 2); minus 1."""
    finfo = jax.dtypes.finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    rng_bits = 8 if nmant < 8 else nbits
    uint_dtype = UINT_DTYPES[nbits]
    minval = _broadcast(P.convert_element_type(minval, dtype), shape, "uniform")
    maxval = _broadcast(P.convert_element_type(maxval, dtype), shape, "uniform")
    raw = random_bits(key, rng_bits, shape)
    if rng_bits != nbits:
        raw = P.convert_element_type(raw, uint_dtype)
    float_bits = P.shift_right_logical(raw, _const(rng_bits - nmant, uint_dtype))
    float_bits = P.bitwise_or(float_bits, np.array(1.0, dtype).view(uint_dtype))
    floats = P.sub(P.bitcast_convert_type(float_bits, dtype), _const(1.0, dtype))
    return P.max(minval, P.add(P.mul(floats, P.sub(maxval, minval)), minval))


def uniform(key, shape: Sequence[int] = (), dtype=None, minval=0., maxval=1.):
    """Uniform floats in ``[minval, maxval)`` (as jax.random.uniform).

    Args:
      key: a raw key u32[2].
      shape: the result shape.
      dtype: a float dtype (default float32, float64 with x64).
      minval, maxval: bounds broadcast-compatible with ``shape``.
    """
    key = _check_key("uniform", key)
    return _uniform(key, shape_tuple(shape), _float_dtype("uniform", dtype), minval, maxval)


# --- normal ---
def _normal_real(key, shape, dtype):
    lo = np.nextafter(np.array(-1., dtype), np.array(0., dtype), dtype=dtype)
    u = _uniform(key, shape, dtype, lo, np.array(1., dtype))
    return P.mul(_const(np.sqrt(2), dtype), P.erf_inv(u))


def normal(key, shape: Sequence[int] = (), dtype=None):
    """Standard normal samples (as jax.random.normal): ``sqrt(2) * erf_inv(u)``
    for ``u`` uniform in ``(-1, 1)``; complex dtypes get ``(re + 1j im) / sqrt(2)``."""
    key = _check_key("normal", key)
    shape = shape_tuple(shape)
    dtype = _float_dtype("normal", dtype, kinds="fc")
    if dtype.kind != "c":
        return _normal_real(key, shape, dtype)
    key_re, key_im = _split2(key)
    real_dtype = np.array(0, dtype).real.dtype
    re = P.convert_element_type(_normal_real(key_re, shape, real_dtype), dtype)
    im = P.convert_element_type(_normal_real(key_im, shape, real_dtype), dtype)
    return fnp.true_divide(fnp.add(re, fnp.multiply(1j, im)), _const(np.sqrt(2), dtype))


# --- truncated_normal ---
def truncated_normal(key, lower, upper, shape: Sequence[int] | None = None, dtype=None):
    """Standard normal samples truncated to ``(lower, upper)`` (as jax.random.truncated_normal).

    Inverse-CDF sampling: ``sqrt(2) erf_inv(u)`` for ``u`` uniform in
    ``[erf(lower/sqrt2), erf(upper/sqrt2))``, clamped into the open interval.
    Eagerly it runs as one compiled program, as jax.random's (a jax.jit): XLA
    fuses erf_inv's polynomial there, and op by op its last bit would differ.
    """
    if is_eager():
        shape = None if shape is None else shape_tuple(shape)
        return _truncated_normal_jit(key, lower, upper, shape, dtype)
    return _truncated_normal(key, lower, upper, shape, dtype)


def _truncated_normal(key, lower, upper, shape, dtype):
    key = _check_key("truncated_normal", key)
    dtype = _float_dtype("truncated_normal", dtype)
    bshape = tuple(np.broadcast_shapes(_shape_of(lower), _shape_of(upper)))
    shape = bshape if shape is None else shape_tuple(shape)
    sqrt2 = _const(np.sqrt(2), dtype)
    lower = P.convert_element_type(lower, dtype)
    upper = P.convert_element_type(upper, dtype)
    a = P.erf(P.div(lower, sqrt2))
    b = P.erf(P.div(upper, sqrt2))
    out = P.mul(sqrt2, P.erf_inv(_uniform(key, shape, dtype, a, b)))
    lo = P.nextafter(P.stop_gradient(lower), _const(np.inf, dtype))
    hi = P.nextafter(P.stop_gradient(upper), _const(-np.inf, dtype))
    return fnp.clip(out, lo, hi)


_truncated_normal_jit = jax.jit(_truncated_normal, static_argnums=(3, 4))


# --- bernoulli ---
def bernoulli(key, p=0.5, shape: Sequence[int] | None = None, mode: str = "low"):
    """Boolean samples that are True with probability ``p`` (as jax.random.bernoulli).

    Args:
      key: a raw key u32[2].
      p: float probability (array), broadcast-compatible with ``shape``.
      shape: result shape (default ``p.shape``).
      mode: "low" (``uniform < p``) or "high" (two uniforms: correct for tiny p).
    """
    if mode not in ("high", "low"):
        raise ValueError(f"bernoulli: got mode={mode!r}, expected 'high' or 'low'.")
    key = _check_key("bernoulli", key)
    p_aval = get_aval(p)
    dtype = canonical_dtype(p_aval.dtype)
    if kind(dtype) != "f":
        raise FxTypeError(f"bernoulli: probability p must have a floating dtype, got "
                          f"{p_aval.str_short()}.")
    p = P.convert_element_type(p, dtype)
    shape = p_aval.shape if shape is None else shape_tuple(shape)
    _broadcast(p, shape, "bernoulli")  # shape check
    if mode == "low":
        return fnp.less(_uniform(key, shape, dtype, 0., 1.), p)
    u = _uniform(key, (2,) + shape, dtype, 0., 1.)
    u1, u2 = _row(u, 0), _row(u, 1)
    u2 = fnp.multiply(u2, 2. ** -jax.dtypes.finfo(dtype).nmant)
    return fnp.less(u2, fnp.subtract(p, u1))


# --- gumbel ---
def gumbel(key, shape: Sequence[int] = (), dtype=None, mode: str | None = None):
    """Standard Gumbel samples ``-log(-log(u))`` (as jax.random.gumbel).

    Args:
      mode: "low" (default) or "high" (two uniforms: a larger dynamic range).
        jax's "highest" is not implemented.
    """
    key = _check_key("gumbel", key)
    shape = shape_tuple(shape)
    dtype = _float_dtype("gumbel", dtype)
    if mode is None:
        mode = "high" if jax.config.jax_high_dynamic_range_gumbel else "low"
    if mode not in ("high", "low"):
        raise NotImplementedError(f"gumbel: mode={mode!r} is not supported (use 'low' or 'high').")
    info = jax.dtypes.finfo(dtype)
    if mode == "low":
        u = _uniform(key, shape, dtype, info.tiny, 1.)
        return fnp.negative(fnp.log(fnp.negative(fnp.log(u))))
    u = _uniform(key, (2,) + shape, dtype, 0., 1.)
    high, low = _row(u, 0), _row(u, 1)
    x = fnp.where(fnp.greater_equal(high, 0.5), high,
                  fnp.add(fnp.add(high, fnp.multiply(2. ** -info.nmant, low)), info.tiny))
    return fnp.negative(fnp.log(fnp.negative(fnp.log1p(fnp.negative(x)))))


# --- categorical ---
def categorical(key, logits, axis: int = -1, shape: Sequence[int] | None = None,
                replace: bool = True, mode: str | None = None):
    """Samples from categorical distributions given by ``logits`` (as jax.random.categorical).

    With replacement: the Gumbel-max trick (argmax of logits + Gumbel noise);
    without: the Gumbel top-k trick.

    Args:
      logits: unnormalized log probabilities; ``axis`` indexes the categories.
      shape: result shape, broadcast-compatible with the batch shape
        ``np.delete(logits.shape, axis)`` (the default).
    """
    key = _check_key("categorical", key)
    lshape = _shape_of(logits)
    ndim = len(lshape)
    batch_shape = tuple(np.delete(lshape, axis))
    shape = batch_shape if shape is None else shape_tuple(shape)
    dtype = get_aval(logits).dtype
    prefix = shape[:len(shape) - len(batch_shape)]
    if replace:
        if axis >= 0:
            axis -= ndim
        logits_shape = list(shape[len(shape) - len(batch_shape):])
        logits_shape.insert(axis % ndim, lshape[axis])
        noise = gumbel(key, (*prefix, *logits_shape), dtype, mode=mode)
        expanded = P.reshape(logits, (1,) * len(prefix) + lshape)
        return fnp.argmax(fnp.add(noise, expanded), axis=axis)
    noisy = fnp.add(logits, gumbel(key, lshape, dtype, mode=mode))
    k = math.prod(prefix)
    if k > lshape[axis]:
        raise ValueError(f"categorical: number of samples without replacement ({k}) cannot "
                         f"exceed the number of categories ({lshape[axis]}).")
    _, indices = P.top_k(fnp.moveaxis(noisy, axis, -1), k)
    return P.reshape(indices, shape, (len(batch_shape),) + tuple(range(len(batch_shape))))


# --- randint ---
def _convert_and_clip_integer(val, dtype):
    """Cast integer ``val`` to ``dtype``, clipping to its range instead of wrapping."""
    vdt = get_aval(val).dtype
    lo = max(jax.dtypes.iinfo(dtype).min, jax.dtypes.iinfo(vdt).min)
    hi = min(jax.dtypes.iinfo(dtype).max, jax.dtypes.iinfo(vdt).max)
    clipped = fnp.clip(val, _const(lo, vdt), _const(hi, vdt))
    return P.convert_element_type(clipped, dtype)


def _as_int_array(x):
    """jnp.asarray for randint's bounds: Python ints become int arrays, floats truncate."""
    if isinstance(x, (int, float, np.number)) or not hasattr(x, "dtype"):
        x = np.asarray(x)
        x = x.astype(canonical_dtype(x.dtype)) if x.dtype.kind in "iu" else x
    if get_aval(x).dtype.kind not in "iu":
        x = P.convert_element_type(x, canonical_dtype(np.int64))
    return x


def _randint(key, shape, minval, maxval, dtype):
    minval, maxval = _as_int_array(minval), _as_int_array(maxval)
    nbits = jax.dtypes.iinfo(dtype).bits
    top = _convert_and_clip_integer(_const(jax.dtypes.iinfo(dtype).max, dtype),
                                    get_aval(maxval).dtype)
    maxval_out_of_range = _broadcast(fnp.greater(maxval, top), shape, "randint")
    minval = _broadcast(_convert_and_clip_integer(minval, dtype), shape, "randint")
    maxval = _broadcast(_convert_and_clip_integer(maxval, dtype), shape, "randint")
    k1, k2 = _split2(key)
    higher_bits, lower_bits = random_bits(k1, nbits, shape), random_bits(k2, nbits, shape)
    udt = UINT_DTYPES[nbits]
    span = P.convert_element_type(P.sub(maxval, minval), udt)
    one = _const(1, udt)
    span = fnp.where(P.le(maxval, minval), one, span)  # maxval <= minval: always minval
    span = fnp.where(fnp.logical_and(maxval_out_of_range, P.gt(maxval, minval)),
                     P.add(span, one), span)
    multiplier = P.rem(_const(2 ** (nbits // 2), udt), span)
    multiplier = P.rem(P.mul(multiplier, multiplier), span)
    offset = P.add(P.mul(P.rem(higher_bits, span), multiplier), P.rem(lower_bits, span))
    offset = P.rem(offset, span)
    return P.add(minval, P.convert_element_type(offset, dtype))


def randint(key, shape: Sequence[int], minval, maxval, dtype=None):
    """Uniform integers in ``[minval, maxval)`` (as jax.random.randint).

    Two words of random bits per value reduced modulo the span (slightly
    biased when the span is not a power of 2, as in jax). 8/16-bit dtypes are
    sampled in int32 and cast.
    """
    key = _check_key("randint", key)
    shape = shape_tuple(shape)
    dtype = canonical_dtype(np.int64 if dtype is None else dtype)
    if dtype.kind not in "iu":
        raise FxTypeError(f"randint: dtype must be an integer dtype, got {dtype}.")
    info = jax.dtypes.iinfo(dtype)
    if info.bits >= 32:
        return _randint(key, shape, minval, maxval, dtype)
    i32 = np.dtype(np.int32)
    minval = fnp.clip(P.convert_element_type(_as_int_array(minval), i32),
                      int(info.min), int(info.max))
    maxval = fnp.clip(P.convert_element_type(_as_int_array(maxval), i32),
                      int(info.min), int(info.max) + 1)
    return P.convert_element_type(_randint(key, shape, minval, maxval, i32), dtype)


# --- permutation ---
def _shuffle(key, x, axis: int):
    """jax's shuffle: sort by fresh random 32-bit keys, enough rounds (``3 log n /
    log 2^32``) that collisions do not bias the result."""
    size = get_aval(x).size
    num_rounds = int(np.ceil(3 * np.log(max(1, size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(num_rounds):
        key, subkey = _split2(key)
        sort_keys = random_bits(subkey, 32, _shape_of(x))
        _, x = P.sort((sort_keys, x), dimension=axis, is_stable=True, num_keys=1)
    return x


def permutation(key, x, axis: int = 0, independent: bool = False):
    """A random permutation of ``arange(x)`` (int x) or of ``x`` along ``axis``
    (as jax.random.permutation).

    Args:
      independent: shuffle each slice along ``axis`` independently.
    """
    key = _check_key("permutation", key)
    if isinstance(x, (int, np.integer)) or not _shape_of(x):
        if get_aval(x).dtype.kind not in "iu":
            raise FxTypeError("permutation: x must be an integer or at least 1-dimensional.")
        return _shuffle(key, fnp.arange(int(x)), 0)
    ndim = len(_shape_of(x))
    axis = axis % ndim if -ndim <= axis < ndim else None
    if axis is None:
        raise ShapeError(f"permutation: axis out of range for {get_aval(x).str_short()}.")
    if independent or ndim == 1:
        return _shuffle(key, x, axis)
    ind = _shuffle(key, fnp.arange(_shape_of(x)[axis]), 0)
    return fnp.take(x, ind, axis=axis)


# --- choice ---
def choice(key, a, shape: Sequence[int] = (), replace: bool = True, p=None, axis: int = 0,
           mode: str | None = None):
    """Random samples from ``a`` (or ``arange(a)`` for an int) (as jax.random.choice).

    Args:
      shape: output sample shape.
      replace: sample with replacement.
      p: optional probabilities, one per entry of ``a`` along ``axis``.
      axis: the axis of ``a`` sampled along.
      mode: gumbel mode for ``replace=False`` with ``p``.
    """
    key = _check_key("choice", key)
    shape = shape_tuple(shape)
    a_shape = _shape_of(a)
    scalar = not a_shape
    n_inputs = int(a) if scalar else a_shape[axis % len(a_shape)]
    axis = 0 if scalar else axis % len(a_shape)
    n_draws = math.prod(shape)
    if n_draws == 0:
        return fnp.zeros(shape, dtype=get_aval(a).dtype)
    if n_inputs <= 0:
        raise ValueError("choice: a must be greater than 0 unless no samples are taken.")
    if not replace and n_draws > n_inputs:
        raise ValueError(f"choice: cannot take a larger sample (size {n_draws}) than the "
                         f"population (size {n_inputs}) when replace=False.")
    if p is None:
        if replace:
            ind = randint(key, shape, 0, n_inputs)
        else:
            perm = permutation(key, n_inputs if scalar else a, axis)
            ind = None
            result = _prefix(perm, n_draws, axis)
    else:
        p = fnp.asarray(p)
        if get_aval(p).dtype.kind in "biu":
            p = P.convert_element_type(p, canonical_dtype(np.float64))
        if _shape_of(p) != (n_inputs,):
            raise ShapeError(f"choice: p must be None or a 1D vector with the same size as "
                             f"a.shape[axis]; p has shape {_shape_of(p)} and a.shape[axis] is "
                             f"{n_inputs}.")
        if replace:
            p_cuml = fnp.cumsum(p)
            total = _row(p_cuml, n_inputs - 1)
            u = uniform(key, shape, dtype=get_aval(p).dtype)
            r = fnp.multiply(total, fnp.subtract(1, u))
            # searchsorted(p_cuml, r, side="left") == #{i: p_cuml[i] < r}
            ind = fnp.sum(fnp.less(p_cuml, fnp.expand_dims(r, -1)), axis=-1,
                          dtype=canonical_dtype(np.int64))
        else:
            g = fnp.add(gumbel(key, (n_inputs,), dtype=get_aval(p).dtype, mode=mode), fnp.log(p))
            _, ind = P.top_k(g, n_draws)
    if ind is not None:
        result = ind if scalar else fnp.take(a, ind, axis=axis)
    out_shape = shape if scalar else a_shape[:axis] + shape + a_shape[axis + 1:]
    return fnp.reshape(result, out_shape)
