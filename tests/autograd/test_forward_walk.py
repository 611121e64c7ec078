"""``autograd.forward``: tangents pushed through a recorded graph — seeds, leading axes,
the structured ``Basis`` of a parameter, and where a transform's primals begin."""

import numpy as np

import retrograd as rg
from retrograd.autograd.forward import Basis, push_tangents, seed_key
from retrograd.autograd.mode import next_seq


def test_basis_is_the_identity_block():
    b = Basis(2, 7, (2, 2), np.float64)
    d = b.dense()
    assert d.shape == (7, 2, 2)
    np.testing.assert_array_equal(d.reshape(7, 4)[2:6], np.eye(4))
    assert not d.reshape(7, 4)[[0, 1, 6]].any()


def test_linear_writes_the_basis_in_place_as_the_dense_product():
    rng = np.random.default_rng(0)
    W = rg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = rg.tensor(rng.standard_normal(4), requires_grad=True)
    P = 4 * 3 + 4 + 2
    for shape in [(3,), (2, 3), (2, 5, 3)]:
        x = rg.tensor(rng.standard_normal(shape), requires_grad=True)
        start = next_seq()
        y = rg.tanh(rg.linear(x, W, b))
        tx = rng.standard_normal((P,) + shape)
        structured = {seed_key(W): Basis(0, P, (4, 3), np.float64), seed_key(b): Basis(12, P, (4,), np.float64),
                      seed_key(x): tx}
        dense = {k: (v.dense() if isinstance(v, Basis) else v) for k, v in structured.items()}
        a = push_tangents([y], structured, start_seq=start, lead=(P,))[0]
        e = push_tangents([y], dense, start_seq=start, lead=(P,))[0]
        np.testing.assert_array_equal(a, e)


def test_leading_axes_equal_one_direction_at_a_time():
    rng = np.random.default_rng(1)
    x = rg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    start = next_seq()
    y = (rg.softmax(x @ x.T, -1) * rg.exp(x[:, :3])).sum(0)
    ts = rng.standard_normal((2, 5, 3, 4))
    batched = push_tangents([y], {seed_key(x): ts}, start_seq=start, lead=(2, 5))[0]
    for i in range(2):
        for j in range(5):
            one = push_tangents([y], {seed_key(x): ts[i, j]}, start_seq=start)[0]
            np.testing.assert_allclose(batched[i, j], one, rtol=1e-12, atol=1e-14)


def test_an_output_no_seed_reaches_has_no_tangent():
    x = rg.tensor(np.ones(3), requires_grad=True)
    z = rg.tensor(np.ones(3), requires_grad=True)
    start = next_seq()
    y = rg.exp(z)
    assert push_tangents([y], {seed_key(x): np.ones(3)}, start_seq=start) == [None]


def test_a_primal_on_a_tape_is_marked_and_differentiated_through():
    """rg.func.jvp on a primal that requires grad: the result stays on the tape (through the
    ``primal`` marker), so reverse mode goes on through the forward-mode derivative."""
    x = rg.tensor(np.array([0.3, -0.7, 1.1]), requires_grad=True)
    v = rg.tensor(np.array([1.0, 2.0, -1.0]))
    out, tangent = rg.func.jvp(lambda a: rg.sin(a) * a, (x,), (v,))
    assert out.requires_grad and tangent.requires_grad
    (g,) = rg.grad(tangent.sum(), [x])
    a = x.data
    # d/dx Σ v·(cos x·x + sin x) = v·(−sin x·x + 2 cos x)
    np.testing.assert_allclose(g.data, v.data * (-np.sin(a) * a + 2 * np.cos(a)), rtol=1e-12)


def test_the_op_written_in_the_vjp_docstring_works():
    """The example of ``Op.vjp``'s docstring, as a user would paste it, passes gradcheck both ways."""
    import re as _re
    from retrograd.autograd.backend import xp
    from retrograd.autograd.op import Op, UnaryOp
    code = _re.search(r"class XSinX\(UnaryOp\):\n(?:            .*\n)+", Op.vjp.__doc__).group(0)
    namespace = {"UnaryOp": UnaryOp, "xp": xp}
    exec("\n".join(line[12:] if line.startswith("            ") else line for line in code.splitlines()), namespace)
    x = rg.tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    assert rg.gradcheck(lambda a: namespace["XSinX"]()(a), [x])
    _, t = rg.func.jvp(lambda a: namespace["XSinX"]()(a), (x,), (rg.tensor(np.ones(3)),))
    np.testing.assert_allclose(t.data, np.sin(x.data) + x.data * np.cos(x.data), rtol=1e-12)
