"""``rg.grad`` (and ``backward(inputs=...)``) runs only the ops on a path from the outputs to its
inputs, as PyTorch's ``autograd.grad``: a branch to other leaves is never differentiated — its
custom backward is never called, its hooks never fire — with the same gradients as a whole pass.
PyTorch's ``test_grad_unreachable_discovery`` and friends, run on both libraries."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import retrograd as rg


def _loud_function(lib, calls):
    """A custom Function (doubling) that records each call of its backward."""
    base = rg.autograd.Function if lib is rg else torch.autograd.Function

    class Loud(base):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            calls.append("backward")
            return g * 2
    return Loud


@pytest.mark.parametrize("lib", [rg, torch], ids=["retrograd", "torch"])
def test_a_branch_to_other_leaves_is_not_differentiated(lib):
    calls = []
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = _loud_function(lib, calls).apply(w * 3)
    (gx,) = lib.autograd.grad((x * y).sum(), [x]) if lib is torch else rg.grad((x * y).sum(), [x])
    np.testing.assert_allclose(np.asarray(gx.detach() if lib is torch else gx.data), [3.0, -6.0, 12.0])
    assert calls == []
    gw = rg.grad((x * y).sum(), [w])[0] if lib is rg else torch.autograd.grad((x * y).sum(), [w])[0]
    assert calls == ["backward"]
    np.testing.assert_allclose(np.asarray(gw.detach() if lib is torch else gw.data), [6.0, 12.0, 18.0])


@pytest.mark.parametrize("lib", [rg, torch], ids=["retrograd", "torch"])
def test_an_unreachable_input_gets_none_without_running_the_graph(lib):
    calls = []
    x = _loud_function(lib, calls).apply(lib.tensor([1.0, 2.0], requires_grad=True) * 2)
    y = lib.tensor([3.0, 4.0], requires_grad=True)
    grad = torch.autograd.grad if lib is torch else rg.grad
    assert grad(x.sum(), [y], allow_unused=True) == (None,)
    assert calls == []


@pytest.mark.parametrize("lib", [rg, torch], ids=["retrograd", "torch"])
def test_hooks_off_the_path_do_not_fire(lib):
    fired = []
    x = lib.tensor([1.0, -2.0], requires_grad=True)
    w = lib.tensor([3.0, 4.0], requires_grad=True)
    h = w * 3
    h.register_hook(lambda g: fired.append("h"))
    out = (x * h).sum()
    grad = torch.autograd.grad if lib is torch else rg.grad
    grad(out, [x], retain_graph=True)
    assert fired == []
    out.backward(inputs=[x])
    assert fired == [] and w.grad is None
    out2 = (x * h).sum()
    out2.backward()
    assert fired == ["h"]


def test_a_captured_intermediate_with_nothing_captured_below_is_not_differentiated_through():
    calls = []
    w = rg.tensor([1.0, 2.0], dtype=rg.float64, requires_grad=True)
    y = _loud_function(rg, calls).apply(w)
    z = rg.tanh(y)
    (gy,) = rg.grad(z.sum(), [y])
    np.testing.assert_allclose(gy.data, 1 - np.tanh([2.0, 4.0]) ** 2)
    assert calls == []  # y's own op is where its gradient is taken: nothing below it is wanted
    gy2, gw = rg.grad(rg.tanh(y).sum(), [y, w])
    np.testing.assert_allclose(gw.data, 2 * gy2.data)
    assert calls == ["backward"]


def test_gradients_are_those_of_a_whole_pass():
    rng = np.random.default_rng(0)
    a = rg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = rg.tensor(rng.standard_normal((4,)), requires_grad=True)
    c = rg.tensor(rng.standard_normal((3,)), requires_grad=True)
    h = rg.tanh(a @ b)
    parts = rg.split(h * c + rg.sin(a).sum(1), 1)
    out = (parts[0] * 2).sum() + (parts[2] ** 2).sum() + (c * b[:3]).sum()
    wanted = [a, b, c, h, parts[2]]
    pruned = rg.grad(out, wanted, retain_graph=True)
    for i, t in enumerate(wanted):  # one input at a time prunes differently each time
        (alone,) = rg.grad(out, [t], retain_graph=True)
        np.testing.assert_allclose(alone.data, pruned[i].data, rtol=1e-12, atol=0)
    out.backward()
    for t, g in zip((a, b, c), pruned):
        np.testing.assert_allclose(t.grad.data, g.data, rtol=1e-12, atol=0)


def test_a_freed_branch_on_the_path_still_raises():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.sum().backward()  # frees y's op
    with pytest.raises(RuntimeError, match="a second time"):
        rg.grad((y * 2).sum(), [x])
