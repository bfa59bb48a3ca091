"""Convolution helpers built on ``conv_general_dilated`` (as jax.lax).

``conv``, ``conv_with_general_padding`` and ``conv_transpose`` (a fractionally
strided convolution), ``conv_general_dilated_patches`` (a grouped convolution
with a one-hot kernel that lays every patch out along the feature axis) and
``conv_general_dilated_local`` (an unshared convolution: patches contracted
with a per-position kernel), plus the pure shape utilities
(``conv_dimension_numbers``, ``conv_general_permutations``,
``conv_shape_tuple``, ...). No new primitive: every function is a composite of
``conv_general_dilated`` / ``dot_general`` / shape ops, so it differentiates,
batches and jits through their rules.

Example::

    >>> import numpy as np, primitives as P
    >>> x = np.ones((1, 4, 4, 2), np.float32)                   # NHWC
    >>> k = np.ones((3, 3, 2, 5), np.float32)                   # HWIO
    >>> P.conv_transpose(x, k, (2, 2), "SAME").shape
    (1, 8, 8, 5)

References:
    jax/_src/lax/convolution.py and jax/_src/lax/other.py (each function
    mirrors its namesake).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from jax import lax

from fx.core import get_aval
from fx.errors import FxTypeError
from primitives.conv import conv_general_dilated
from primitives.elementwise import convert_element_type, eq
from primitives.linalg import canonicalize_precision, dot_general
from primitives.shape import broadcast_in_dim, broadcasted_iota, reshape, rev, transpose
from primitives.windowed_reductions import padtype_to_pads

__all__ = ["conv", "conv_with_general_padding", "conv_transpose", "conv_general_dilated_patches",
           "conv_general_dilated_local", "conv_dimension_numbers", "conv_general_permutations",
           "conv_shape_tuple", "conv_general_shape_tuple", "conv_transpose_shape_tuple",
           "ConvDimensionNumbers", "ConvGeneralDilatedDimensionNumbers"]

# JAX's own types: a user's ConvDimensionNumbers works with either library
ConvDimensionNumbers = lax.ConvDimensionNumbers
ConvGeneralDilatedDimensionNumbers = lax.ConvGeneralDilatedDimensionNumbers


# --- shape utilities ---
def conv_general_permutations(dimension_numbers) -> tuple:
    """The (lhs, rhs, out) axis permutations of layout strings (lax.conv_general_permutations).

    Args:
      dimension_numbers: ``(lhs_spec, rhs_spec, out_spec)`` strings, e.g.
        ``("NHWC", "HWIO", "NHWC")``.

    Returns:
      Three tuples: (batch/out-feature axis, feature/in-feature axis, spatial
      axes in the order of ``rhs_spec``).

    References:
      jax/_src/lax/convolution.py (conv_general_permutations).
    """
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    charpairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (a, b) in enumerate(charpairs):
        if not dimension_numbers[i].count(a) == dimension_numbers[i].count(b) == 1:
            raise FxTypeError(f"convolution dimension_numbers[{i}] must contain the characters "
                              f"'{a}' and '{b}' exactly once, got {dimension_numbers[i]}.")
        if len(dimension_numbers[i]) != len(set(dimension_numbers[i])):
            raise FxTypeError(f"convolution dimension_numbers[{i}] cannot have duplicate "
                              f"characters, got {dimension_numbers[i]}.")
    if not (set(lhs_spec) - set("NC") == set(rhs_spec) - set("OI") == set(out_spec) - set("NC")):
        raise FxTypeError(f"convolution dimension_numbers elements must each have the same set "
                          f"of spatial characters, got {dimension_numbers}.")

    def getperm(spec, charpair):
        spatial = [i for i, c in enumerate(spec) if c not in charpair]
        if spec is not rhs_spec:
            spatial = sorted(spatial, key=lambda i: rhs_spec.index(spec[i]))
        return (spec.index(charpair[0]), spec.index(charpair[1])) + tuple(spatial)

    return tuple(getperm(s, c) for s, c in zip(dimension_numbers, charpairs))


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """Canonical ``ConvDimensionNumbers`` (lax.conv_dimension_numbers).

    Args:
      lhs_shape, rhs_shape: the input and kernel shapes.
      dimension_numbers: None (NCHW/OIHW/NCHW), three layout strings, or a
        ``ConvDimensionNumbers`` (returned as is).

    Returns:
      A ``ConvDimensionNumbers`` of axis-index tuples.

    References:
      jax/_src/lax/convolution.py (conv_dimension_numbers).
    """
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    if len(lhs_shape) != len(rhs_shape):
        raise FxTypeError(f"convolution requires lhs and rhs ndim to be equal, got "
                          f"{len(lhs_shape)} and {len(rhs_shape)}.")
    if dimension_numbers is None:
        iota = tuple(range(len(lhs_shape)))
        return ConvDimensionNumbers(iota, iota, iota)
    if not isinstance(dimension_numbers, (list, tuple)):
        raise FxTypeError(f"convolution dimension_numbers must be tuple/list or None, got "
                          f"{type(dimension_numbers)}.")
    if len(dimension_numbers) != 3:
        raise FxTypeError(f"convolution dimension_numbers list/tuple must be length 3, got "
                          f"{len(dimension_numbers)}.")
    if not all(isinstance(s, str) for s in dimension_numbers):
        raise FxTypeError(f"convolution dimension_numbers elements must be strings, got "
                          f"{tuple(map(type, dimension_numbers))}.")
    for i, spec in enumerate(dimension_numbers):
        if len(spec) != len(lhs_shape):
            raise FxTypeError(f"convolution dimension_numbers[{i}] must have len equal to the "
                              f"ndim of lhs and rhs, got {len(spec)} for lhs and rhs shapes "
                              f"{tuple(lhs_shape)} and {tuple(rhs_shape)}.")
    return ConvDimensionNumbers(*conv_general_permutations(dimension_numbers))


def conv_shape_tuple(lhs_shape, rhs_shape, strides, pads, batch_group_count=1) -> tuple:
    """The output shape of a conv in canonical (NCHW/OIHW) layout (lax.conv_shape_tuple).

    Args:
      lhs_shape, rhs_shape: canonical input and kernel shapes.
      strides: the window strides.
      pads: a padding string or ``(lo, hi)`` pairs.
      batch_group_count: as in ``conv_general_dilated``.

    Returns:
      The canonical output shape.

    References:
      jax/_src/lax/convolution.py (conv_shape_tuple).
    """
    if isinstance(pads, str):
        pads = padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    if len(pads) != len(lhs_shape) - 2:
        raise FxTypeError(f"Wrong number of explicit pads for convolution: expected "
                          f"{len(lhs_shape) - 2}, got {len(pads)}.")
    padded = [int(d) + int(lo) + int(hi) for d, (lo, hi) in zip(lhs_shape[2:], pads)]
    if any(p < 0 for p in padded):
        raise ValueError(f"Negative padding is larger than the size of the corresponding "
                         f"dimension: got padding={pads} for lhs_shape[2:]={lhs_shape[2:]}")
    space = tuple(max(0, (p - int(k)) // int(s) + 1)
                  for p, k, s in zip(padded, rhs_shape[2:], strides))
    batch = int(lhs_shape[0]) // batch_group_count if batch_group_count > 1 else int(lhs_shape[0])
    return (batch, int(rhs_shape[0])) + space


def _take(shape, perm) -> tuple:
    return tuple(int(shape[i]) for i in perm)


def _untake(canonical, perm) -> tuple:
    return tuple(canonical[i] for i in np.argsort(perm))


def conv_general_shape_tuple(lhs_shape, rhs_shape, window_strides, padding,
                             dimension_numbers) -> tuple:
    """The output shape of ``conv_general_dilated`` without dilation, for layout
    strings (lax.conv_general_shape_tuple).

    Args:
      lhs_shape, rhs_shape: the input and kernel shapes.
      window_strides: the strides.
      padding: a padding string or ``(lo, hi)`` pairs.
      dimension_numbers: ``(lhs_spec, rhs_spec, out_spec)`` strings.

    Returns:
      The output shape in ``out_spec`` layout.

    References:
      jax/_src/lax/convolution.py (conv_general_shape_tuple).
    """
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    out = conv_shape_tuple(_take(lhs_shape, lhs_perm), _take(rhs_shape, rhs_perm),
                           window_strides, padding)
    return _untake(out, out_perm)


def _conv_transpose_padding(k: int, s: int, padding) -> tuple:
    """(before, after) padding of one axis of a transposed conv (JAX's rule)."""
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else int(np.ceil(pad_len / 2))
    elif padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    elif isinstance(padding, tuple):
        pads = tuple(k - p - 1 for p in padding)
        pad_a, pad_len = pads[0], sum(pads)
    else:
        raise ValueError(f"Invalid padding mode: {padding}")
    return pad_a, pad_len - pad_a


def conv_transpose_shape_tuple(lhs_shape, rhs_shape, window_strides, padding,
                               dimension_numbers) -> tuple:
    """The output shape of ``conv_transpose`` (lax.conv_transpose_shape_tuple).

    Args:
      lhs_shape, rhs_shape: the input and kernel shapes.
      window_strides: the (fractional) strides.
      padding: 'SAME', 'VALID' or ``(lo, hi)`` pairs.
      dimension_numbers: ``(lhs_spec, rhs_spec, out_spec)`` strings.

    Returns:
      The output shape in ``out_spec`` layout.

    References:
      jax/_src/lax/convolution.py (conv_transpose_shape_tuple).
    """
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    lhs_t, rhs_t = _take(lhs_shape, lhs_perm), _take(rhs_shape, rhs_perm)
    if isinstance(padding, str):
        padding = [_conv_transpose_padding(k, s, padding)
                   for k, s in zip(rhs_t[2:], window_strides)]
    totals = [int(np.sum(p)) for p in padding]
    space = [(i - 1) * s - k + 2 + p
             for i, k, s, p in zip(lhs_t[2:], rhs_t[2:], window_strides, totals)]
    return _untake((lhs_t[0], rhs_t[0], *space), out_perm)


# --- convolutions ---
def conv(lhs, rhs, window_strides: Sequence[int], padding, precision=None,
         preferred_element_type=None):
    """``conv_general_dilated`` in NCHW/OIHW layout without dilation (lax.conv).

    Args:
      lhs: the input (N, C, spatial...).
      rhs: the kernel (O, I, spatial...).
      window_strides: the strides.
      padding: 'SAME', 'VALID' (or ``(lo, hi)`` pairs).
      precision, preferred_element_type: as in ``conv_general_dilated``.

    Returns:
      The convolution (N, O, spatial...).

    References:
      jax/_src/lax/convolution.py (conv).
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides: Sequence[int], padding,
                              lhs_dilation: Sequence[int] | None,
                              rhs_dilation: Sequence[int] | None, precision=None,
                              preferred_element_type=None):
    """``conv_general_dilated`` in NCHW/OIHW layout (lax.conv_with_general_padding).

    Args:
      lhs, rhs: the input and kernel.
      window_strides: the strides.
      padding: a padding string or ``(lo, hi)`` pairs.
      lhs_dilation, rhs_dilation: dilations or None.
      precision, preferred_element_type: as in ``conv_general_dilated``.

    Returns:
      The convolution.

    References:
      jax/_src/lax/convolution.py (conv_with_general_padding).
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
                                rhs_dilation=rhs_dilation, precision=precision,
                                preferred_element_type=preferred_element_type)


_TRANSPOSE_LAYOUTS = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"),
                      4: ("NHWC", "HWIO", "NHWC"), 5: ("NHWDC", "HWDIO", "NHWDC")}


def conv_transpose(lhs, rhs, strides: Sequence[int], padding,
                   rhs_dilation: Sequence[int] | None = None, dimension_numbers=None,
                   transpose_kernel: bool = False, precision=None, preferred_element_type=None,
                   use_consistent_padding: bool = False):
    """The N-d transposed ("fractionally strided") convolution (lax.conv_transpose).

    Args:
      lhs: the input, rank n+2.
      rhs: the kernel, rank n+2.
      strides: the fractional strides (the lhs dilation of the conv).
      padding: 'SAME', 'VALID' (the forward conv's padding) or ``(lo, hi)``
        pairs (the transposed conv's own, unless ``use_consistent_padding``).
      rhs_dilation: the kernel dilation, or None.
      dimension_numbers: as in ``conv_general_dilated``; default TensorFlow's
        layouts (NHWC, HWIO, NHWC and their 1-d/3-d analogues).
      transpose_kernel: flip the kernel's spatial axes and swap its in/out
        features (the gradient of a conv with this kernel, Keras'
        Conv2DTranspose).
      precision, preferred_element_type: as in ``conv_general_dilated``.
      use_consistent_padding: read explicit pairs as the forward conv's padding
        too (PyTorch's convention).

    Returns:
      The transposed convolution.

    References:
      jax/_src/lax/convolution.py (conv_transpose).
    """
    lhs_aval, rhs_aval = get_aval(lhs), get_aval(rhs)
    ndims = lhs_aval.ndim
    if rhs_aval.ndim != ndims or ndims < 2:
        raise FxTypeError(f"conv_transpose: lhs {lhs_aval.str_short()} and rhs "
                          f"{rhs_aval.str_short()} must have the same rank >= 2.")
    if dimension_numbers is None:
        if ndims not in _TRANSPOSE_LAYOUTS:
            raise ValueError("No 4+ dimensional dimension_number defaults.")
        dimension_numbers = _TRANSPOSE_LAYOUTS[ndims]
    dn = conv_dimension_numbers(lhs_aval.shape, rhs_aval.shape, dimension_numbers)
    k_sdims = _take(rhs_aval.shape, dn.rhs_spec)[2:]
    if rhs_dilation is None:
        rhs_dilation = (1,) * (ndims - 2)
    if use_consistent_padding or (isinstance(padding, str) and padding in {"SAME", "VALID"}):
        effective = [0 if k == 0 else 1 + r * (k - 1) for k, r in zip(k_sdims, rhs_dilation)]
        replicated = [padding] * len(strides) if isinstance(padding, str) else padding
        pads = tuple(_conv_transpose_padding(k, s, p)
                     for k, s, p in zip(effective, strides, replicated))
    else:
        pads = padding
    if transpose_kernel:
        rhs = rev(rhs, tuple(dn.rhs_spec[2:]))
        perm = list(range(ndims))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = dn.rhs_spec[1], dn.rhs_spec[0]
        rhs = transpose(rhs, tuple(perm))
    return conv_general_dilated(lhs, rhs, (1,) * (ndims - 2), pads, strides, rhs_dilation, dn,
                                precision=precision,
                                preferred_element_type=preferred_element_type)


def _moveaxis(x, source: Sequence[int], destination: Sequence[int]):
    """numpy.moveaxis for several axes, as one transpose."""
    ndim = get_aval(x).ndim
    source = [s % ndim for s in source]
    destination = [d % ndim for d in destination]
    order = [i for i in range(ndim) if i not in source]
    for dst, src in sorted(zip(destination, source)):
        order.insert(dst, src)
    return x if order == list(range(ndim)) else transpose(x, tuple(order))


def conv_general_dilated_patches(lhs, filter_shape: Sequence[int], window_strides: Sequence[int],
                                 padding, lhs_dilation: Sequence[int] | None = None,
                                 rhs_dilation: Sequence[int] | None = None,
                                 dimension_numbers=None, precision=None,
                                 preferred_element_type=None):
    """The patches ``conv_general_dilated`` sees, flattened into the feature axis
    (lax.conv_general_dilated_patches).

    A grouped convolution (one group per input channel) with a one-hot kernel:
    output feature ``c * prod(filter_shape) + j`` is channel ``c`` at window
    position ``j`` (row-major in ``rhs_spec``'s spatial order).

    Args:
      lhs: the input, rank n+2.
      filter_shape: the window's n spatial sizes, in ``rhs_spec`` order.
      window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers:
        as in ``conv_general_dilated``.
      precision: the lhs precision, or None.
      preferred_element_type: as in ``conv_general_dilated``.

    Returns:
      The patches, laid out as ``out_spec`` with ``C * prod(filter_shape)`` features.

    References:
      jax/_src/lax/other.py (conv_general_dilated_patches).
    """
    aval = get_aval(lhs)
    filter_shape = tuple(int(d) for d in filter_shape)
    dn = conv_dimension_numbers(aval.shape, (1, 1) + filter_shape, dimension_numbers)
    lhs_spec, rhs_spec, _ = dn
    spatial_size = math.prod(filter_shape)
    n_channels = aval.shape[lhs_spec[1]]
    # one-hot kernel: each spatial location of the window to its own output channel
    eye = convert_element_type(eq(broadcasted_iota(np.int32, (spatial_size, spatial_size), 0),
                                  broadcasted_iota(np.int32, (spatial_size, spatial_size), 1)),
                               aval.dtype)
    rhs = broadcast_in_dim(eye, (n_channels, spatial_size, spatial_size), (1, 2))
    rhs = reshape(rhs, (n_channels * spatial_size, 1, *filter_shape))
    rhs = _moveaxis(rhs, (0, 1), (rhs_spec[0], rhs_spec[1]))
    return conv_general_dilated(
        lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
        dimension_numbers=dn,
        precision=None if precision is None else (precision, lax.Precision.DEFAULT),
        feature_group_count=n_channels, preferred_element_type=preferred_element_type)


def conv_general_dilated_local(lhs, rhs, window_strides: Sequence[int], padding,
                               filter_shape: Sequence[int],
                               lhs_dilation: Sequence[int] | None = None,
                               rhs_dilation: Sequence[int] | None = None,
                               dimension_numbers=None, precision=None):
    """The unshared ("locally connected") convolution (lax.conv_general_dilated_local).

    Every output position has its own kernel: the patches of
    ``conv_general_dilated_patches`` contracted with ``rhs``, whose spatial axes
    are the output positions and whose ``I`` axis holds ``C * prod(filter_shape)``
    (channel-major) input features.

    Args:
      lhs: the input, rank n+2.
      rhs: the per-position kernels, rank n+2.
      window_strides, padding: as in ``conv_general_dilated``.
      filter_shape: the window's n spatial sizes, in ``rhs_spec`` order.
      lhs_dilation, rhs_dilation, dimension_numbers: as in ``conv_general_dilated``.
      precision: None, one precision or a pair (lhs, rhs).

    Returns:
      The unshared convolution, laid out as ``out_spec``.

    References:
      jax/_src/lax/other.py (conv_general_dilated_local).
    """
    c_precision = canonicalize_precision(precision)
    if c_precision is None:
        lhs_precision = None
    elif isinstance(c_precision, tuple) and len(c_precision) == 2:
        lhs_precision = c_precision[0]
    else:
        raise ValueError(f"Unsupported precision for conv_general_dilated_local: {precision}")
    patches = conv_general_dilated_patches(lhs, filter_shape, window_strides, padding,
                                           lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                                           dimension_numbers=dimension_numbers,
                                           precision=lhs_precision)
    _, rhs_spec, out_spec = conv_dimension_numbers(get_aval(lhs).shape,
                                                   (1, 1) + tuple(filter_shape),
                                                   dimension_numbers)
    lhs_b_dims = out_spec[2:]
    rhs_b_dims = rhs_spec[2:]
    rhs_b_dims = [rhs_b_dims[i] for i in sorted(range(len(rhs_b_dims)),
                                                key=lambda k: lhs_b_dims[k])]
    lhs_b_dims = sorted(lhs_b_dims)
    dn = (((out_spec[1],), (rhs_spec[1],)), (tuple(lhs_b_dims), tuple(rhs_b_dims)))
    out = dot_general(patches, rhs, dn, precision=precision)
    return _moveaxis(out, (-2, -1), (out_spec[0], out_spec[1]))
