"""Complex-number primitives (as jax.lax): ``real``, ``imag``, ``complex``, ``conj``.

All four are linear (over the reals); their transposes follow JAX's
(jax/_src/lax/lax.py): ``real``'s is ``complex(ct, 0)``, ``imag``'s
``complex(0, -ct)``, ``complex``'s ``(real(ct), -imag(ct))``, ``conj``'s
``conj(ct)`` (``real(ct)`` when the operand was real: ``conj`` of a float
array is a complex array, as ``lax.conj``). Reverse mode is the plain
transpose, never the adjoint, so ``grad`` of a real function of ``z`` is the
conjugate of its Wirtinger derivative times two, exactly as ``jax.grad``.

This file imports only ``fx`` and ``primitives._rules`` (``primitives.elementwise``
uses ``real`` and ``conj`` in abs's jvp): negation is written with ``conj``
(``-imag(t) == imag(conj(t))``, ``complex(0, -t) == conj(complex(0, t))``).

Example::

    >>> import primitives as P
    >>> print(fx.make_graph(lambda z: P.real(P.conj(z)))(np.ones(2, np.complex64)))
    { lambda ; a:c64[2]. let
        b:c64[2] = conj[input_dtype=complex64] a
        c:f32[2] = real b
      in (c,) }

References:
    jax/_src/lax/lax.py (real_p, imag_p, complex_p, conj_p and their rules).
"""
from __future__ import annotations

import numpy as np
from jax import lax

from fx.ad import UndefinedPrimal, deflinear, deftranspose, zeros
from fx.batching import defbroadcasting
from fx.core import Primitive, canonical_dtype, get_aval
from fx.dtypes import is_complex, kind
from fx.errors import FxTypeError
from primitives._rules import check_kind, coerce_lowering, fmt_avals, nary_aval

__all__ = ["real", "imag", "complex", "conj", "real_p", "imag_p", "complex_p", "conj_p"]

_COMPLEX_PARTS = (np.dtype(np.float32), np.dtype(np.float64))


def complex_dtype(dtype) -> np.dtype:
    """The complex dtype holding ``dtype`` (float32 -> complex64, float64 ->
    complex128; complex dtypes unchanged), canonicalized as jax does."""
    dt = np.dtype(dtype)
    if kind(dt) == "c":
        return dt
    return canonical_dtype(np.complex128 if dt == np.float64 else np.complex64)


def real_dtype(dtype) -> np.dtype:
    """The real dtype of a complex ``dtype``'s parts (real dtypes unchanged)."""
    dt = np.dtype(dtype)
    return np.finfo(dt).dtype if kind(dt) == "c" else dt


def _check_parts(op, avals):
    for a in avals:
        if a.dtype not in _COMPLEX_PARTS:
            raise FxTypeError(f"{op} requires float32 or float64 operands (the parts of "
                              f"complex64 / complex128), got {fmt_avals(avals)}. Fix: convert "
                              f"with convert_element_type(x, np.float32) first.")


# --- real ---
real_p = Primitive("real")


@real_p.def_abstract_eval
def _real_aval(x):
    check_kind("real", (x,), "c")
    return x.update(dtype=real_dtype(x.dtype))


real_p.def_lowering(lax.real)
deflinear(real_p)
deftranspose(real_p, lambda ct, x: complex(ct, zeros(get_aval(ct))))
defbroadcasting(real_p)


def real(x):
    """Elementwise real part of a complex array (lax.real).

    Args:
      x: complex64 or complex128 array.

    Returns:
      float32 / float64 array of x's shape.

    References:
      ``jax.lax.real``.
    """
    return real_p.bind(x)


# --- imag ---
imag_p = Primitive("imag")


@imag_p.def_abstract_eval
def _imag_aval(x):
    check_kind("imag", (x,), "c")
    return x.update(dtype=real_dtype(x.dtype))


imag_p.def_lowering(lax.imag)
deflinear(imag_p)
# complex(0, -ct), as JAX's
deftranspose(imag_p, lambda ct, x: conj(complex(zeros(get_aval(ct)), ct)))
defbroadcasting(imag_p)


def imag(x):
    """Elementwise imaginary part of a complex array (lax.imag).

    Args:
      x: complex64 or complex128 array.

    Returns:
      float32 / float64 array of x's shape.

    References:
      ``jax.lax.imag``.
    """
    return imag_p.bind(x)


# --- complex ---
complex_p = Primitive("complex")


@complex_p.def_abstract_eval
def _complex_aval(x, y):
    _check_parts("complex", (x, y))
    out = nary_aval("complex", "f", x, y)
    return out.update(dtype=complex_dtype(out.dtype))


complex_p.def_lowering(lambda x, y: coerce_lowering(lax.complex, x, y))
deflinear(complex_p)
# (real(ct), -imag(ct)), as JAX's; unbroadcast sums over a broadcast scalar operand
deftranspose(complex_p, lambda ct, x, y: real(ct), lambda ct, x, y: imag(conj(ct)))
defbroadcasting(complex_p)


def complex(x, y):
    """Elementwise ``x + i y`` (lax.complex).

    Args:
      x: real parts, float32 or float64.
      y: imaginary parts, of x's dtype (weak Python scalars adopt it) and shape
        (or scalars).

    Returns:
      complex64 / complex128 array.

    References:
      ``jax.lax.complex``.
    """
    return complex_p.bind(x, y)


# --- conj ---
conj_p = Primitive("conj")


@conj_p.def_abstract_eval
def _conj_aval(x, *, input_dtype):
    if kind(x.dtype) != "c":
        _check_parts("conj", (x,))
    return x.update(dtype=complex_dtype(x.dtype))


@conj_p.def_lowering
def _conj_lowering(x, *, input_dtype):
    return lax.conj(x)


deflinear(conj_p)


@conj_p.def_transpose
def _conj_transpose(ct, x, *, input_dtype):
    assert isinstance(x, UndefinedPrimal)
    return [conj(ct) if is_complex(input_dtype) else real(ct)]


defbroadcasting(conj_p)


def conj(x):
    """Elementwise complex conjugate (lax.conj); a real float32/float64 ``x``
    gives a complex array (as lax.conj).

    Args:
      x: complex, float32 or float64 array.

    Returns:
      complex array of x's shape.

    References:
      ``jax.lax.conj`` (its ``input_dtype`` param drives the transpose).
    """
    return conj_p.bind(x, input_dtype=np.dtype(get_aval(x).dtype))
