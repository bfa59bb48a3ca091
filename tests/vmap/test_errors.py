"""Bad input to vmap: typed errors that name the argument path, the shapes and sizes."""
from __future__ import annotations

import numpy as np
import pytest

import fx
import primitives as P
import primitives.numpy as fnp
from fx.errors import ShapeError, UnboundAxisError
from transforms import grad, jit, vmap

A = np.ones((3, 4), np.float32)
B4 = np.ones((4, 4), np.float32)


@pytest.mark.parametrize("in_axes,args,pattern", [
    (({"a": 0, "c": 0},), ({"a": A, "b": A},),
     r"in_axes does not match the structure of args\[0\]: the specification there is "
     r"\{'a': 0, 'c': 0\} but the value is a dict with keys \['a', 'b'\]"),
    ((0, [0, None]), (A, [A, A, A]),
     r"args\[1\]: the specification there is \[0, None\] but the value is a list of length 3"),
    ((0, {"w": (0, None, 0)}), (A, {"w": (A, {"u": A})}),
     r"structure of args\[1\]\['w'\]: the specification there is \(0, None, 0\) but the value "
     r"is a tuple of length 2"),
    ((0, 0), (A,), r"in_axes \(0, 0\) has 2 entries but the function was called with 1 "
                   r"positional argument"),
    (("x",), (A,), r"in_axes at args\[0\] is 'x'; each entry must be an int, None"),
])
def test_in_axes_not_matching_the_arguments(in_axes, args, pattern):
    with pytest.raises(ShapeError, match=pattern):
        vmap(lambda *a: a[0], in_axes=in_axes)(*args)


def test_in_axes_of_wrong_type():
    with pytest.raises(ShapeError, match=r"in_axes must be an int, None, or a tuple"):
        vmap(lambda d: d, in_axes={"a": 0})


def test_axis_out_of_range_names_the_path_and_shape():
    with pytest.raises(ShapeError, match=r"in_axes=2 is out of range for args\[0\]\['w'\] of "
                                         r"shape f32\[3,4\] \(rank 2\); valid axes are -2..1"):
        vmap(lambda p: p["w"], in_axes=({"w": 2, "b": 0},))({"w": A, "b": A})
    with pytest.raises(ShapeError, match=r"in_axes=-3 is out of range for args\[1\]"):
        vmap(lambda x, y: x, in_axes=(0, -3))(A, A)
    with pytest.raises(ShapeError, match=r"in_axes=0 given for the scalar args\[0\] \(f32\[\]\)"):
        vmap(lambda x: x)(np.float32(1.0))
    with pytest.raises(ShapeError, match=r"out_axes=3 is out of range for output\[1\] of "
                                         r"batched rank 2"):
        vmap(lambda x: (x, x), out_axes=(0, 3))(A)


def test_inconsistent_sizes_list_every_mapped_axis():
    pattern = (r"inconsistent sizes for the mapped axes \(\[3, 4\]\):\n"
               r"  \* axis 0 of args\[0\] has size 3\n"
               r"  \* axis 1 of args\[1\]\['b'\] has size 4")
    with pytest.raises(ShapeError, match=pattern):
        vmap(lambda x, d: x, in_axes=(0, {"b": 1}))(A, {"b": A})
    with pytest.raises(ShapeError, match=r"axis 0 of args\[0\] has size 3\n.*axis_size=5 was given"):
        vmap(lambda x: x, axis_size=5)(A)


def test_unmapped_inputs_need_axis_size_and_batched_out_axes_none():
    with pytest.raises(ShapeError, match=r"no argument is mapped .* axis_size"):
        vmap(lambda x: x, in_axes=None)(A)
    with pytest.raises(ShapeError, match=r"output has out_axes=None but is batched"):
        vmap(lambda x: x, out_axes=None)(A)


@pytest.mark.parametrize("where", ["eager", "vmap_other_name", "jit", "make_graph", "grad"])
def test_collective_with_unbound_axis(where):
    def f(x):
        return fnp.sum(P.psum(x, "batch"))

    run = {
        "eager": lambda: f(A),
        "vmap_other_name": lambda: vmap(f, axis_name="i")(A),
        "jit": lambda: jit(f)(A),
        "make_graph": lambda: fx.make_graph(f)(A),
        "grad": lambda: vmap(grad(f), axis_name="i")(A),
    }[where]
    bound = "'i'" if where in ("vmap_other_name", "grad") else "none"
    with pytest.raises(UnboundAxisError, match=rf"psum: axis name 'batch' is not bound by any "
                                               rf"enclosing vmap \(bound axis names: {bound}\)"):
        run()


def test_axis_index_unbound_and_name_error_compat():
    with pytest.raises(NameError, match=r"axis_index: axis name 'k'"):
        vmap(lambda x: x + P.axis_index("k"), axis_name="i")(A)
