"""Input/output and printing (as jax.numpy): thin layers over numpy that
produce jax arrays, as JAX's own are.

``load`` / ``frombuffer`` / ``fromstring`` read with numpy and return a jax
array (``load`` restores bfloat16, which numpy stores as void16, as jnp);
``save`` / ``savez`` / ``array_repr`` / ``array_str`` and the print options
are numpy's. ``fromfile`` / ``fromiter`` raise NotImplementedError, as JAX
(they consume a file or an iterator: impure under transformations);
``from_dlpack`` is ``jax.dlpack.from_dlpack``.
"""
from __future__ import annotations

import contextlib

import jax
import numpy as np

from primitives.numpy.creation import asarray

__all__ = ["load", "save", "savez", "frombuffer", "fromfile", "fromiter", "fromstring",
           "from_dlpack", "printoptions", "get_printoptions", "set_printoptions",
           "array_repr", "array_str"]

save, savez = np.save, np.savez
array_repr, array_str = np.array_repr, np.array_str


def get_printoptions():
    """numpy's print options (as jnp.get_printoptions; jax arrays print with them).

    Returns:
      A dict of the current options.

    References:
      jax.numpy.get_printoptions; numpy.get_printoptions.
    """
    return np.get_printoptions()


def set_printoptions(*args, **kwargs):
    """Set numpy's print options (as jnp.set_printoptions).

    Args:
      *args, **kwargs: numpy.set_printoptions' arguments.

    Returns:
      None.

    References:
      jax.numpy.set_printoptions; numpy.set_printoptions.
    """
    return np.set_printoptions(*args, **kwargs)


@contextlib.contextmanager
def printoptions(*args, **kwargs):
    """A context manager setting numpy's print options (as jnp.printoptions).

    Args:
      *args, **kwargs: numpy.printoptions' arguments.

    Returns:
      The context manager (yields the options in effect).

    References:
      jax.numpy.printoptions; numpy.printoptions.
    """
    with np.printoptions(*args, **kwargs) as opts:
        yield opts


def load(file, *args, **kwargs):
    """Load an array saved by ``save`` (as jnp.load; bfloat16 restored).

    Args:
      file: a path or file object; ``*args, **kwargs`` go to numpy.load.

    Returns:
      A jax array (or numpy's result for other contents, e.g. an npz archive).

    References:
      jax.numpy.load; numpy.load.
    """
    out = np.load(file, *args, **kwargs)
    if isinstance(out, np.ndarray):
        if out.dtype == "V2":
            out = out.view(jax.dtypes.bfloat16)
        try:
            out = asarray(out)
        except (TypeError, AssertionError):
            pass
    return out


def frombuffer(buffer, dtype=float, count=-1, offset=0):
    """A 1-D array from a buffer's bytes (as jnp.frombuffer).

    Args:
      buffer: an object exposing the buffer protocol.
      dtype: the element dtype.
      count: how many elements (-1: all).
      offset: the start, in bytes.

    Returns:
      A jax array.

    References:
      jax.numpy.frombuffer; numpy.frombuffer.
    """
    return asarray(np.frombuffer(buffer=buffer, dtype=dtype, count=count, offset=offset))


def fromstring(string, dtype=float, count=-1, *, sep):
    """A 1-D array from text data (as jnp.fromstring).

    Args:
      string: the text.
      dtype: the element dtype.
      count: how many elements (-1: all).
      sep: the separator between numbers.

    Returns:
      A jax array.

    References:
      jax.numpy.fromstring; numpy.fromstring.
    """
    return asarray(np.fromstring(string, dtype=dtype, count=count, sep=sep))


def _impure(name):
    def fn(*args, **kwargs):
        raise NotImplementedError(
            f"jnp.{name}() is not implemented because it may be non-pure and thus unsafe for use "
            f"with JIT and other transformations. Consider using fnp.asarray(np.{name}(...)) "
            f"instead (outside transformations).")
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Not implemented, as jnp.{name}: it consumes its input (impure).\n\n"
                  f"Args:\n  *args: unused.\n\nReturns:\n  Never (raises NotImplementedError).\n\n"
                  f"References:\n  jax.numpy.{name}.")
    return fn


fromfile = _impure("fromfile")
fromiter = _impure("fromiter")


def from_dlpack(x, /, *, device=None, copy=None):
    """An array from a DLPack capsule or ``__dlpack__`` object (as jnp.from_dlpack).

    Args:
      x: the source object.
      device: the target device or sharding.
      copy: whether to copy (None: only if needed).

    Returns:
      A jax array.

    References:
      jax.numpy.from_dlpack; jax.dlpack.from_dlpack.
    """
    return jax.dlpack.from_dlpack(x, device=device, copy=copy)
