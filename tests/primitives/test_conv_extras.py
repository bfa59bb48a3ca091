"""conv_transpose, conv_general_dilated_patches / _local, conv, conv_with_general_padding
and the conv shape utilities against jax.lax: values, dtypes, grads, vmap vs a loop."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp
from jax import lax

import primitives as P
import transforms as T
from oracle import assert_cases_same_as_jax, assert_trees_close, assert_vmap_matches_loop


def _rand(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


NHWC_X, HWIO_K = _rand((2, 4, 5, 3)), _rand((3, 2, 3, 4), 1)
# (name, function name, positional args after lhs/rhs-like operands, keywords, operands)
TRANSPOSE = [
    ("same", dict(strides=(2, 2), padding="SAME")),
    ("valid_strided", dict(strides=(2, 1), padding="VALID")),
    ("pairs", dict(strides=(1, 2), padding=((1, 2), (0, 1)))),
    ("rhs_dilation", dict(strides=(2, 2), padding="SAME", rhs_dilation=(2, 1))),
    ("transpose_kernel", dict(strides=(2, 2), padding="VALID", transpose_kernel=True)),
    ("consistent_pairs", dict(strides=(2, 2), padding=((1, 0), (0, 1)),
                              use_consistent_padding=True)),
    ("nchw_oihw", dict(strides=(2, 1), padding="SAME",
                       dimension_numbers=("NCHW", "OIHW", "NCHW"))),
]


def _transpose_case(name, kw):
    x, k = NHWC_X, HWIO_K
    if kw.get("transpose_kernel"):
        k = _rand((3, 2, 4, 3), 2)  # HWIO with I = the output features (swapped)
    if "dimension_numbers" in kw:
        x, k = _rand((2, 3, 4, 5), 3), _rand((4, 3, 3, 2), 4)
    return (f"conv_transpose-{name}", lambda a, b: P.conv_transpose(a, b, **kw),
            lambda a, b: lax.conv_transpose(a, b, **kw), (x, k))


X = _rand((2, 3, 5, 6), 5)   # NCHW
LOCAL_W = _rand((3 * 6, 5, 3, 7), 6)  # "IHWO": I = C * prod(filter), H, W = output positions
PATCHES = [
    ("patches-same", dict(filter_shape=(2, 3), window_strides=(1, 2), padding="SAME")),
    ("patches-dilated-layouts", dict(filter_shape=(3, 2), window_strides=(1, 1), padding="VALID",
                                     rhs_dilation=(1, 2),
                                     dimension_numbers=("NCHW", "OIWH", "NHWC"))),
    ("patches-lhs-dilation", dict(filter_shape=(2, 2), window_strides=(2, 1),
                                  padding=((1, 0), (0, 1)), lhs_dilation=(2, 1))),
]


def _value_cases():
    cases = [_transpose_case(*c) for c in TRANSPOSE]
    cases.append(("conv_transpose-1d-default-layout",
                  lambda a, b: P.conv_transpose(a, b, (2,), "SAME"),
                  lambda a, b: lax.conv_transpose(a, b, (2,), "SAME"),
                  (_rand((2, 5, 3), 7), _rand((3, 3, 4), 8))))
    cases.append(("conv_transpose-bf16-preferred-f32",
                  lambda a, b: P.conv_transpose(a, b, (2, 2), "SAME",
                                                preferred_element_type=np.float32),
                  lambda a, b: lax.conv_transpose(a, b, (2, 2), "SAME",
                                                  preferred_element_type=np.float32),
                  (NHWC_X.astype(jnp.bfloat16), HWIO_K.astype(jnp.bfloat16))))
    cases += [(name, lambda a, kw=kw: P.conv_general_dilated_patches(a, **kw),
               lambda a, kw=kw: lax.conv_general_dilated_patches(a, **kw), (X,))
              for name, kw in PATCHES]
    local_dn = ("NCHW", "IHWO", "NHWC")
    cases.append(("local", lambda a, w: P.conv_general_dilated_local(
        a, w, (1, 2), "SAME", (2, 3), dimension_numbers=local_dn),
        lambda a, w: lax.conv_general_dilated_local(a, w, (1, 2), "SAME", (2, 3),
                                                     dimension_numbers=local_dn), (X, LOCAL_W)))
    cases.append(("local-default-layout", lambda a, w: P.conv_general_dilated_local(
        a, w, (1, 1), "VALID", (2, 2), precision=lax.Precision.HIGHEST),
        lambda a, w: lax.conv_general_dilated_local(a, w, (1, 1), "VALID", (2, 2),
                                                     precision=lax.Precision.HIGHEST),
        (X, _rand((5, 12, 4, 5), 9))))
    k = _rand((4, 3, 2, 3), 10)
    cases.append(("conv", lambda a, b: P.conv(a, b, (1, 2), "SAME"),
                  lambda a, b: lax.conv(a, b, (1, 2), "SAME"), (X, k)))
    cases.append(("conv_with_general_padding", lambda a, b: P.conv_with_general_padding(
        a, b, (2, 1), ((1, 0), (2, 1)), (1, 2), (2, 1)),
        lambda a, b: lax.conv_with_general_padding(a, b, (2, 1), ((1, 0), (2, 1)), (1, 2), (2, 1)),
        (X, k)))
    return cases


def test_values_match_lax():
    cases = _value_cases()
    eager = {"conv_transpose-same", "conv_transpose-transpose_kernel", "patches-same", "local"}
    assert_cases_same_as_jax(cases, rtol=1e-5, atol=1e-5, eager=eager)


def test_grads_and_vmap():
    """Gradients of every case with respect to all its float operands vs jax.grad
    (one jit per side), and vmap of all cases vs a loop (one jit)."""
    cases = [c for c in _value_cases() if "bf16" not in c[0]]

    def grads(which):
        def f(args):
            return {name: (T.grad if which == "ours" else jax.grad)(
                lambda *a, fn=(o if which == "ours" else t): (fn(*a) ** 2).sum(),
                argnums=tuple(range(len(a))))(*a) for name, o, t, a in cases
                for a in [args[name]]}
        return f

    args = {name: a for name, _, _, a in cases}
    expected = jax.jit(grads("jax"))(args)
    got = T.jit(grads("ours"))(args)
    assert_trees_close(got, expected, 1e-4, 1e-4, what="grads")

    batched = {name: tuple(np.stack([x, x * 0.5 + 1]) for x in a) for name, a in args.items()}
    assert_vmap_matches_loop(lambda b: {name: o(*b[name]) for name, o, _, _ in cases}, 0,
                             batched, jit=True, rtol=1e-5, atol=1e-5)


def test_shape_utilities_match_lax():
    layouts = [("NHWC", "HWIO", "NHWC"), ("NCHW", "OIHW", "NCHW"), ("NCHW", "OIWH", "NHWC"),
               ("NWC", "WIO", "NWC")]
    for dn in layouts:
        assert P.conv_general_permutations(dn) == lax.conv_general_permutations(dn)
        rank = len(dn[0])
        lhs = (2, 6, 7, 3)[:rank] if rank == 4 else (2, 6, 3)
        rhs = (3, 2, 3, 4)[:rank] if rank == 4 else (3, 3, 4)
        assert P.conv_dimension_numbers(lhs, rhs, dn) == lax.conv_dimension_numbers(lhs, rhs, dn)
        assert isinstance(P.conv_dimension_numbers(lhs, rhs, dn), lax.ConvDimensionNumbers)
    assert P.conv_dimension_numbers((1, 2, 3), (1, 2, 3), None) == lax.conv_dimension_numbers(
        (1, 2, 3), (1, 2, 3), None)
    assert P.ConvDimensionNumbers is lax.ConvDimensionNumbers
    assert P.ConvGeneralDilatedDimensionNumbers == lax.ConvGeneralDilatedDimensionNumbers
    for lhs, rhs, strides, pads, bgc in [((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), "SAME", 1),
                                         ((4, 3, 7, 6), (4, 3, 3, 2), (1, 3), "VALID", 2),
                                         ((2, 3, 7, 6), (4, 3, 3, 2), (1, 1), ((1, 2), (0, -1)),
                                          1)]:
        assert P.conv_shape_tuple(lhs, rhs, strides, pads, bgc) == tuple(
            int(d) for d in lax.conv_shape_tuple(lhs, rhs, strides, pads, bgc))
    nhwc = ("NHWC", "HWIO", "NHWC")
    for padding in ("SAME", "VALID", ((1, 0), (2, 1))):
        for fn in ("conv_general_shape_tuple", "conv_transpose_shape_tuple"):
            if fn == "conv_transpose_shape_tuple" and not isinstance(padding, str):
                padding = ((1, 1), (0, 2))
            ours = getattr(P, fn)((2, 7, 6, 3), (3, 2, 3, 4), (2, 1), padding, nhwc)
            theirs = getattr(lax, fn)((2, 7, 6, 3), (3, 2, 3, 4), (2, 1), padding, nhwc)
            assert ours == tuple(int(d) for d in theirs), (fn, padding)
    # the output shape utilities agree with the ops
    assert P.conv_transpose(NHWC_X, HWIO_K, (2, 2), "SAME").shape == \
        P.conv_transpose_shape_tuple(NHWC_X.shape, HWIO_K.shape, (2, 2), "SAME", nhwc)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: P.conv_general_permutations(("NHWC", "HWIO", "NHW")), TypeError,
     r"dimension_numbers\[2\] must contain the characters 'N' and 'C'"),
    (lambda: P.conv_general_permutations(("NHWC", "HWIO", "NHCC")), TypeError,
     r"dimension_numbers\[2\] must contain"),
    (lambda: P.conv_general_permutations(("NHWC", "HDIO", "NHWC")), TypeError,
     r"same set of spatial characters"),
    (lambda: P.conv_dimension_numbers((1, 2, 3), (1, 2), None), TypeError,
     r"lhs and rhs ndim to be equal"),
    (lambda: P.conv_dimension_numbers((1, 2, 3), (1, 2, 3), ("NCH", "OIH")), TypeError,
     r"must be length 3"),
    (lambda: P.conv_dimension_numbers((1, 2, 3), (1, 2, 3), "NCH"), TypeError,
     r"must be tuple/list or None"),
    (lambda: P.conv_shape_tuple((1, 2, 3), (1, 2, 3), (1,), ((0, 0), (0, 0))), TypeError,
     r"Wrong number of explicit pads"),
    (lambda: P.conv_transpose(_rand((1, 2, 3, 4, 5, 6)), _rand((1, 2, 3, 4, 5, 6)), (1,) * 4,
                              "SAME"), ValueError, r"No 4\+ dimensional"),
    (lambda: P.conv_general_dilated_local(X, LOCAL_W, (1, 2), "SAME", (2, 3),
                                          precision=lax.DotAlgorithmPreset.DEFAULT),
     ValueError, r"Unsupported precision"),
], ids=["perm_missing", "perm_duplicate", "perm_spatial", "ndim", "len3", "type", "pads",
        "rank6", "local_precision"])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
