"""rg.autograd.forward_ad against torch.autograd.forward_ad: the tangents of dual tensors through
ops, layers and modules (float64, 1e-10), against rg.func.jvp on the same function, and the
level's rules and refusals."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
import retrograd.autograd.forward_ad as fwAD
from conftest import requires_torch
from op_specs import torch

F = rg.nn.functional
R = np.random.default_rng(7)


def _pair(name):
    """(retrograd namespace, torch namespace) for a function table entry."""
    return (rg, torch) if name == "top" else (F, torch.nn.functional)


# each: (id, function of (namespace, F namespace, *inputs), input shapes); the first input carries the tangent
CASES = [
    ("elementwise", lambda m, f, x, y: m.tanh(x) * m.exp(y) + m.sin(x * y) / (1 + y * y), [(3, 4), (3, 4)]),
    ("broadcast", lambda m, f, x, y: m.sigmoid(x) - y.sum(0), [(2, 3, 4), (5, 4)]),
    ("matmul", lambda m, f, x, y: m.matmul(x, y).relu(), [(3, 4), (4, 2)]),
    ("linear", lambda m, f, x, w: f.linear(x, w), [(5, 3), (4, 3)]),
    ("softmax", lambda m, f, x, y: f.log_softmax(x, dim=-1) * y, [(3, 5), (3, 5)]),
    ("cross_entropy", lambda m, f, x, y: f.cross_entropy(x, f.softmax(y, dim=1)), [(4, 3), (4, 3)]),
    ("mse", lambda m, f, x, y: f.mse_loss(x, y), [(4, 3), (4, 3)]),
    ("layer_norm", lambda m, f, x, w: f.layer_norm(x, (4,), w), [(3, 4), (4,)]),
    ("reductions", lambda m, f, x, y: x.mean(1) * y.std(1) + x.amax(1), [(3, 4), (3, 4)]),
    ("norm", lambda m, f, x, y: m.linalg.vector_norm(x * y, dim=1), [(3, 4), (3, 4)]),
    ("shape", lambda m, f, x, y: m.cat([x.T, y.reshape(4, 3)], 0).permute(1, 0)[1:, ::2], [(3, 4), (2, 6)]),
    ("stack_where", lambda m, f, x, y: m.where(x > y, x, y * 2).unsqueeze(0).expand(2, 3, 4), [(3, 4), (3, 4)]),
    ("conv2d", lambda m, f, x, w: f.conv2d(x, w, padding=1), [(1, 2, 5, 5), (3, 2, 3, 3)]),
    ("max_pool", lambda m, f, x, y: f.max_pool2d(x * y, 2), [(1, 2, 4, 4), (1, 2, 4, 4)]),
    ("pow_div", lambda m, f, x, y: (x.abs() + 1) ** (y * 0.5) / (x * x + 2), [(3, 4), (3, 4)]),
]


def _inputs(shapes):
    return [R.standard_normal(s) for s in shapes]


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("moving", [0, 1])
def test_tangents_equal_torch(case, moving):
    """The tangent of the output when input ``moving`` carries a random tangent, and the primal."""
    _, fn, shapes = case
    arrays = _inputs(shapes)
    tangent = R.standard_normal(shapes[moving])
    with fwAD.dual_level():
        xs = [rg.tensor(a) for a in arrays]
        xs[moving] = fwAD.make_dual(xs[moving], rg.tensor(tangent))
        p, t = fwAD.unpack_dual(fn(rg, F, *xs))
    with torch.autograd.forward_ad.dual_level():
        ts = [torch.tensor(a) for a in arrays]
        ts[moving] = torch.autograd.forward_ad.make_dual(ts[moving], torch.tensor(tangent))
        tp, tt = torch.autograd.forward_ad.unpack_dual(fn(torch, torch.nn.functional, *ts))
    np.testing.assert_allclose(p.data, tp.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(t.data, tt.numpy(), rtol=1e-10, atol=1e-12)
    assert t.dtype == p.dtype


@pytest.mark.parametrize("case", CASES[:8], ids=[c[0] for c in CASES[:8]])
def test_tangents_equal_func_jvp(case):
    """The same product as rg.func.jvp, which pushes the tangent through the recorded graph afterwards."""
    _, fn, shapes = case
    arrays = _inputs(shapes)
    tangent = R.standard_normal(shapes[0])
    rest = [rg.tensor(a) for a in arrays[1:]]
    _, expected = rg.func.jvp(lambda x: fn(rg, F, x, *rest), (rg.tensor(arrays[0]),), (rg.tensor(tangent),))
    with fwAD.dual_level():
        _, t = fwAD.unpack_dual(fn(rg, F, fwAD.make_dual(rg.tensor(arrays[0]), rg.tensor(tangent)), *rest))
    np.testing.assert_allclose(t.data, expected.data, rtol=1e-12, atol=1e-14)


@requires_torch
@pytest.mark.parametrize("kind", ["Linear", "LSTMCell", "GRUCell", "RNN"])
def test_modules_equal_torch(kind):
    """A module's output tangent for a tangent on its input, the module's weights copied from torch's."""
    torch.manual_seed(0)
    make = {"Linear": (lambda m: m.Linear(3, 4)), "LSTMCell": (lambda m: m.LSTMCell(3, 4)),
            "GRUCell": (lambda m: m.GRUCell(3, 4)), "RNN": (lambda m: m.RNN(3, 4, batch_first=True))}[kind]
    tm = make(torch.nn).double()
    rm = make(rg.nn).double()
    rm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = R.standard_normal((2, 5, 3) if kind == "RNN" else (2, 3))
    v = R.standard_normal(x.shape)

    def first(out):
        while isinstance(out, (tuple, list)):
            out = out[0]
        return out

    with fwAD.dual_level():
        _, t = fwAD.unpack_dual(first(rm(fwAD.make_dual(rg.tensor(x), rg.tensor(v)))))
    with torch.autograd.forward_ad.dual_level():
        d = torch.autograd.forward_ad.make_dual(torch.tensor(x), torch.tensor(v))
        _, tt = torch.autograd.forward_ad.unpack_dual(first(tm(d)))
    np.testing.assert_allclose(t.data, tt.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_works_without_recording_and_drops_at_exit():
    x = rg.tensor([1.0, 2.0])
    with fwAD.dual_level():
        d = fwAD.make_dual(x, rg.tensor([1.0, 0.5]))
        with rg.no_grad():  # nothing is recorded, the tangent is computed anyway
            y = d * d
        assert not y.requires_grad
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.data, [2.0, 2.0])
    primal, tangent = fwAD.unpack_dual(y)
    assert primal is y and tangent is None


def test_what_carries_no_tangent():
    with fwAD.dual_level():
        d = fwAD.make_dual(rg.tensor([1.0, -2.0, 3.0]), rg.ones(3, dtype=rg.float64))
        assert fwAD.unpack_dual(d.argmax()).tangent is None
        assert fwAD.unpack_dual(d > 0).tangent is None
        assert fwAD.unpack_dual(d.detach()).tangent is None
        assert fwAD.unpack_dual(rg.tensor([1.0])).tangent is None
        primal = fwAD.unpack_dual(d).primal
        assert fwAD.unpack_dual(primal).tangent is None  # the primal is the value alone
        np.testing.assert_array_equal(primal.data, [1.0, -2.0, 3.0])


def test_in_place_moves_the_tangent():
    with fwAD.dual_level():
        d = fwAD.make_dual(rg.tensor([1.0, 2.0]), rg.tensor([1.0, 1.0]))
        d.mul_(3)
        np.testing.assert_allclose(fwAD.unpack_dual(d).tangent.data, [3.0, 3.0])
        d.add_(rg.tensor([5.0, 5.0]))  # a constant: the tangent unchanged
        np.testing.assert_allclose(fwAD.unpack_dual(d).tangent.data, [3.0, 3.0])
        d.zero_()
        np.testing.assert_allclose(fwAD.unpack_dual(d).tangent.data, [0.0, 0.0])
        m = fwAD.make_dual(rg.tensor(np.zeros((2, 3))), rg.tensor(np.arange(6.0).reshape(2, 3)))
        m.t_()  # a shape method: the tangent takes the same view
        np.testing.assert_array_equal(fwAD.unpack_dual(m).tangent.data, np.arange(6.0).reshape(2, 3).T)
        m.unsqueeze_(0)
        assert fwAD.unpack_dual(m).tangent.shape == (1, 3, 2)
        m.detach_()
        assert fwAD.unpack_dual(m).tangent is None


def test_backward_through_a_dual_reaches_the_primal():
    x = rg.tensor([0.5, 1.5], requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, rg.tensor([1.0, 1.0]))
        (d * d).sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 3.0])


def test_decorator_and_level_argument():
    @fwAD.dual_level()
    def tangent_of_square(a, v):
        return fwAD.unpack_dual(fwAD.make_dual(a, v, level=0) ** 2, level=0).tangent

    np.testing.assert_allclose(tangent_of_square(rg.tensor([3.0]), rg.tensor([1.0])).data, [6.0])
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="invalid level"):
            fwAD.make_dual(rg.tensor([1.0]), rg.tensor([1.0]), level=1)
        assert fwAD.unpack_dual(rg.tensor([1.0]), level=1).tangent is None  # torch's: no tangent at that level


@requires_torch
def test_refusals_as_torch():
    """The refusals torch makes, with the same exception types."""
    x, v = rg.tensor([1.0, 2.0, 3.0]), rg.ones(3, dtype=rg.float64)
    with pytest.raises(RuntimeError, match="no level exists"):
        fwAD.make_dual(x, v)
    with pytest.raises(RuntimeError):
        torch.autograd.forward_ad.make_dual(torch.ones(3), torch.ones(3))
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="different size"):
            fwAD.make_dual(x, rg.ones(2, dtype=rg.float64))
        with pytest.raises(ValueError, match="floating point or complex"):
            fwAD.make_dual(rg.tensor([1, 2]), rg.tensor([1, 2]))
        with pytest.raises(RuntimeError, match="Nested forward mode AD"):
            fwAD.enter_dual_level()
    with torch.autograd.forward_ad.dual_level():
        with pytest.raises(RuntimeError, match="different size"):
            torch.autograd.forward_ad.make_dual(torch.ones(3), torch.ones(2))
        with pytest.raises(ValueError, match="floating point or complex"):
            torch.autograd.forward_ad.make_dual(torch.ones(3, dtype=torch.int64), torch.ones(3, dtype=torch.int64))
        with pytest.raises(RuntimeError, match="Nested forward mode AD"):
            torch.autograd.forward_ad.enter_dual_level()
    with pytest.raises(RuntimeError):
        fwAD.exit_dual_level()


def test_an_op_without_a_forward_rule_says_so():
    """An op with a tangent input whose class has no jvp names itself (NotImplementedError), as PyTorch
    names the function that does not support forward AD."""

    class NoRule(rg.autograd.UnaryOp):
        name = "no_rule"
        __slots__ = ()

        def forward(self, x): return x * 2
        def vjp(self, ns, g, y, x): return (2 * g,)

    with fwAD.dual_level():
        d = fwAD.make_dual(rg.tensor([1.0]), rg.tensor([1.0]))
        with pytest.raises(NotImplementedError, match="no_rule"):
            NoRule()(d)
