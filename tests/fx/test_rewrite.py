"""fx.passes.rewrite: torch.fx replace_pattern semantics, plus shape / dtype
polymorphic matching, commutative operands, literal wildcards and sub-graphs.

The cases follow torch.fx's test_subgraph_rewriter.py (overlapping matches,
a value used outside the match, multiple outputs, literals, a pattern input
used twice, the filter); every rewritten graph is run (and differentiated)
against the JAX function computing what the replacement means.
"""
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import fx
import primitives.control_flow as cf
import primitives.numpy as fnp
from fx.passes import rewrite
from oracle import assert_trees_close
from transforms import checkpoint, grad, jit, vmap

X = np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3)
Y = np.linspace(0.5, 2.0, 6, dtype=np.float32).reshape(2, 3)


def prims(g):
    return [e.primitive.name for e in g.equations]


def test_basic_rewrite_values_and_grads():
    def f(x, y):
        return fnp.sum(fnp.exp(x) * y + fnp.exp(y) * 3.0)

    g = fx.make_graph(f)(X, Y)
    new, matches = rewrite(g, lambda a, b: fnp.exp(a) * b, lambda a, b: fnp.exp(a + fnp.log(b)))
    assert len(matches) == 2 and "log" in str(new)
    assert [e.primitive.name for e in matches[0].equations] == ["exp", "mul"]
    assert matches[0].inputs == (g.in_vars[0], g.in_vars[1])
    assert isinstance(matches[1].inputs[1], fx.Literal)          # a wildcard matched a literal
    fn = fx.graph_to_fn(new)

    def ref(x, y):
        return jnp.sum(jnp.exp(x + jnp.log(y)) + jnp.exp(y + jnp.log(3.0)))
    assert_trees_close(fn(X, Y), ref(X, Y))
    assert_trees_close(grad(fn, argnums=(0, 1))(X, Y), jax.grad(ref, argnums=(0, 1))(X, Y))
    assert_trees_close(jit(vmap(fn))(np.stack([X, X]), np.stack([Y, Y])),
                       jax.vmap(ref)(np.stack([X, X]), np.stack([Y, Y])))
    # the replacement's equations carry the matched line (errors and FLOP tables point there)
    assert {e.source_info.function for e in new.equations} == {"f"}
    # no match: the same graph back
    same, none = rewrite(g, lambda a: fnp.tanh(a), lambda a: a)
    assert same is g and none == []


def test_overlapping_matches_and_outside_uses():
    # x*2*2*2*2 with pattern a*2*2: two non-overlapping matches (torch.fx's overlapping case)
    def chain(x):
        for _ in range(4):
            x = x * 2.0
        return x
    g = fx.make_graph(chain)(X)
    new, m = rewrite(g, lambda a: a * 2.0 * 2.0, lambda a: a * 4.0)
    assert len(m) == 2 and prims(new) == ["mul", "mul"]
    assert_trees_close(fx.graph_to_fn(new)(X), X * 16.0)
    # three: the middle one cannot be taken (overlap), the last one needs a fresh pair
    g3 = fx.make_graph(lambda x: chain(x) * 2.0)(X)
    _, m3 = rewrite(g3, lambda a: a * 2.0 * 2.0, lambda a: a * 4.0)
    assert len(m3) == 2

    # an interior value used outside the match blocks it (torch.fx: "outside uses")
    def outside(x):
        s = fnp.sin(x)
        return fnp.cos(s) + s
    g = fx.make_graph(outside)(X)
    new, m = rewrite(g, lambda a: fnp.cos(fnp.sin(a)), lambda a: a)
    assert m == [] and new is g
    # ... and so does a graph output
    g = fx.make_graph(lambda x: (fnp.sin(x), fnp.cos(fnp.sin(x))))(X)
    g = fx.passes.cse(g)
    _, m = rewrite(g, lambda a: fnp.cos(fnp.sin(a)), lambda a: a)
    assert m == []


def test_multiple_outputs_and_repeated_inputs():
    def f(x, y):
        s = x + y
        d = x - y
        return fnp.sum(s * d) + fnp.sum(s)

    g = fx.make_graph(f)(X, Y)
    new, m = rewrite(g, lambda a, b: (a + b, a - b), lambda a, b: (b + a, -(b - a)))
    assert len(m) == 1 and len(m[0].outputs) == 2
    assert "neg" in str(new)
    assert_trees_close(fx.graph_to_fn(new)(X, Y), jnp.sum((X + Y) * (X - Y)) + jnp.sum(X + Y))

    # a pattern input used twice binds one value: x*x matches sq, not x*y
    g = fx.make_graph(lambda x, y: x * x + x * y)(X, Y)
    new, m = rewrite(g, lambda a: a * a, lambda a: fnp.square(a))
    assert len(m) == 1 and m[0].inputs == (g.in_vars[0],)
    assert_trees_close(fx.graph_to_fn(new)(X, Y), X * X + X * Y)


def test_literals_commutativity_and_filter():
    g = fx.make_graph(lambda x: (x * 2.0 + 1.0) + (3.0 * x + 1.0))(X)
    # literal values must match ...
    _, m = rewrite(g, lambda a: a * 2.0 + 1.0, lambda a: a)
    assert len(m) == 1
    # ... unless ignore_literals; 3.0 * x matches a * 2.0 with the operands swapped
    new, m = rewrite(g, lambda a: a * 2.0 + 1.0, lambda a: fnp.tanh(a), ignore_literals=True)
    assert len(m) == 2 and prims(new).count("tanh") == 2
    # wildcard literal: c binds 2.0 and 3.0; the replacement sees the value
    g = fx.make_graph(lambda x: (fnp.sin(x) * 2.0 + 1.0) + (3.0 * fnp.sin(x) + 1.0))(X)
    new, m = rewrite(g, lambda a, c: fnp.sin(a) * c + 1.0, lambda a, c: fnp.tanh(a) * c)
    assert len(m) == 2 and {float(np.asarray(mm.inputs[1].val)) for mm in m} == {2.0, 3.0}
    assert_trees_close(fx.graph_to_fn(new)(X), jnp.tanh(X) * 2.0 + jnp.tanh(X) * 3.0)
    # commutative: y * exp(x) matches exp(a) * b, sub is not commutative
    g = fx.make_graph(lambda x, y: y * fnp.exp(x) + (y - fnp.exp(x)))(X, Y)
    new, m = rewrite(g, lambda a, b: fnp.exp(a) * b, lambda a, b: b)
    assert len(m) == 1
    _, m = rewrite(g, lambda a, b: fnp.exp(a) - b, lambda a, b: b)
    assert m == []
    # filter sees each match
    g = fx.make_graph(lambda x, y: fnp.exp(x) * y + fnp.exp(y) * x)(X, Y)
    seen = []

    def only_first_input(match):
        seen.append(match)
        return match.inputs[0] is g.in_vars[0]
    new, m = rewrite(g, lambda a, b: fnp.exp(a) * b, lambda a, b: a, filter=only_first_input)
    assert len(seen) == 2 and len(m) == 1
    assert_trees_close(fx.graph_to_fn(new)(X, Y), X + jnp.exp(Y) * X)


def test_shape_and_dtype_polymorphic():
    # one pattern (traced at scalars) matches at every rank, size and float dtype
    def pattern(x):
        return fnp.log(fnp.exp(x) + 1.0)

    def replacement(x):
        return fnp.logaddexp(x, 0.0)
    for shape, dtype in [((3,), np.float32), ((2, 4, 3), np.float32), ((5,), ml_dtypes.bfloat16),
                         ((), np.float32)]:
        x = (np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) / 3).astype(dtype)
        g = fx.make_graph(lambda x: fnp.sum(fnp.log(fnp.exp(x) + 1.0)))(x)
        new, m = rewrite(g, pattern, replacement)
        assert len(m) == 1, (shape, dtype)
        assert_trees_close(jit(fx.graph_to_fn(new))(x), jnp.sum(jnp.logaddexp(x, 0.0)))

    # attention-like (rank-4 einsums, softmax): traced once at one size, matches others
    def attn(q, k, v):
        s = fnp.einsum("bqhd,bkhd->bhqk", q, k) * 0.5
        p = fnp.exp(s - fnp.max(s, axis=-1, keepdims=True))
        p = p / fnp.sum(p, axis=-1, keepdims=True)
        return fnp.einsum("bhqk,bkhd->bqhd", p, v)

    def attn_ref(q, k, v):
        s = jnp.einsum("bqhd,bkhd->bhqk", q, k) * 0.5
        return jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(s, axis=-1), v)

    def marked(q, k, v):      # the replacement: softmax from jax-like primitives, + 0 marker
        s = fnp.einsum("bqhd,bkhd->bhqk", q, k) * 0.5
        e = fnp.exp(s - fnp.max(s, axis=-1, keepdims=True))
        return fnp.einsum("bhqk,bkhd->bqhd", e / fnp.sum(e, axis=-1, keepdims=True), v) + 0.0

    rng = np.random.default_rng(0)
    example = [np.zeros((1, 2, 1, 2), np.float32)] * 3
    for b, t, h, d in [(1, 4, 2, 8), (2, 3, 1, 4)]:
        q, k, v = (rng.normal(size=(b, t, h, d)).astype(np.float32) for _ in range(3))
        g = fx.make_graph(lambda q, k, v: fnp.sum(attn(q, k, v) ** 2))(q, k, v)
        new, m = rewrite(g, attn, marked, example_args=example)
        assert len(m) == 1 and len(m[0].equations) == len(g.equations) - 2, (b, t, h, d)
        fn = fx.graph_to_fn(new)
        ref = lambda q, k, v: jnp.sum(attn_ref(q, k, v) ** 2)   # noqa: E731
        assert_trees_close(jit(fn)(q, k, v), jax.jit(ref)(q, k, v), rtol=1e-5)
    assert_trees_close(jit(grad(fn, argnums=(0, 1, 2)))(q, k, v),
                       jax.jit(jax.grad(ref, argnums=(0, 1, 2)))(q, k, v), rtol=1e-4, atol=1e-5)
    with pytest.raises(Exception, match="example_args"):
        rewrite(g, attn, marked)      # scalars cannot trace a rank-4 einsum


def test_rewrites_inside_sub_graphs():
    def body(c, x):
        return c + fnp.exp(x) * 2.0, fnp.exp(x) * 2.0

    def f(x):
        c, ys = cf.scan(body, 0.0, x)
        z = cf.cond(c > 0, lambda a: fnp.exp(a) * 2.0, lambda a: a, c)
        w = checkpoint(lambda a: fnp.sum(fnp.exp(a) * 2.0))(x)
        return fnp.sum(ys) + z + w

    x = np.linspace(-1, 1, 5, dtype=np.float32)
    g = fx.make_graph(f)(x)
    new, m = rewrite(g, lambda a: fnp.exp(a) * 2.0, lambda a: fnp.exp(a + float(np.log(2.0))))
    assert len(m) == 4 and "mul" not in str(new)      # scan body (2), cond branch, remat
    assert any(mm.graph is not new.graph for mm in m)
    fn = fx.graph_to_fn(new)
    assert_trees_close(fn(x), f(x), rtol=1e-5)
    assert_trees_close(grad(fn)(x), grad(f)(x), rtol=1e-5)
    assert_trees_close(jit(fn)(x), f(x), rtol=1e-5)
    # recursive=False leaves the bodies alone
    _, m_top = rewrite(g, lambda a: fnp.exp(a) * 2.0, lambda a: a, recursive=False)
    assert m_top == []


def test_replacement_type_error_and_pattern_graphs():
    g = fx.make_graph(lambda x: fnp.sin(x) * 2.0)(X)
    with pytest.raises(fx.IRTypeError, match=r"replacement returns \['f32\[\]'\].*f32\[2,3\]"):
        rewrite(g, lambda a: fnp.sin(a), lambda a: fnp.sum(a))
    # a Graph as pattern matches at its own types only
    pat = fx.make_graph(lambda a: fnp.sin(a))(X).graph
    _, m = rewrite(g, pat, lambda a: fnp.cos(a))
    assert len(m) == 1
    pat3 = fx.make_graph(lambda a: fnp.sin(a))(np.ones(3, np.float32)).graph
    _, m = rewrite(g, pat3, lambda a: fnp.cos(a))
    assert m == []
    # the rewritten graph works as a jit pass
    f = jit(lambda x: fnp.sin(x) * 2.0,
            passes=[lambda c: rewrite(c, lambda a: fnp.sin(a), lambda a: fnp.cos(a))[0]])
    assert_trees_close(f(X), jnp.cos(X) * 2.0)
