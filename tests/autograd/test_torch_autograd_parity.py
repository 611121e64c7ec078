"""Autograd-core behaviour where retrograd once differed from PyTorch, each case checked against
torch: a hook may not change the gradient's dtype or return a non-tensor, ``.grad`` assignments
are checked (a Tensor of the tensor's shape and dtype), ``requires_grad`` is set on leaves only
and only on floating tensors, ``retains_grad``."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None


@requires_torch
def test_a_hook_may_not_change_the_dtype_or_return_a_non_tensor():
    for lib, tensor in ((torch, lambda v: torch.tensor(v, requires_grad=True)),
                        (rg, lambda v: rg.tensor(np.array(v, np.float32), requires_grad=True))):
        x = tensor([1.0, 2.0])
        x.register_hook(lambda g: g.double())
        with pytest.raises(RuntimeError, match="changed the type"):
            (x * 3).sum().backward()
    x = rg.tensor(np.ones(2, np.float32), requires_grad=True)
    x.register_hook(lambda g: 5)
    with pytest.raises(TypeError, match="returned a int"):
        (x * 3).sum().backward()


@requires_torch
def test_grad_assignment_is_checked_as_in_torch():
    for value, kind in ((np.ones((1, 2)), RuntimeError), (np.ones(3), RuntimeError)):
        with pytest.raises(kind):
            torch.ones(2, dtype=torch.float64, requires_grad=True).grad = torch.tensor(value)
        with pytest.raises(kind, match="same size"):
            rg.tensor(np.ones(2), requires_grad=True).grad = rg.tensor(value)
    with pytest.raises(RuntimeError, match="dtype"):
        rg.tensor(np.ones(2, np.float32), requires_grad=True).grad = rg.tensor(np.ones(2))
    with pytest.raises(TypeError, match="Tensor or None"):
        rg.tensor(np.ones(2), requires_grad=True).grad = np.ones(2)
    x = rg.tensor(np.ones(2), requires_grad=True)
    x.grad = rg.tensor(np.full(2, 3.0))
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 5.0])  # accumulated onto the assigned one


@requires_torch
def test_requires_grad_is_a_leaf_flag_of_floating_tensors():
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).requires_grad = True
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
        rg.tensor(np.array([1, 2])).requires_grad = True
    tx, x = torch.ones(2, requires_grad=True), rg.tensor(np.ones(2), requires_grad=True)
    ty, y = tx * 2, x * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        ty.requires_grad = False
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False
    assert not y.retains_grad and not ty.retains_grad
    y.retain_grad()
    ty.retain_grad()
    assert y.retains_grad and ty.retains_grad


@requires_torch
def test_backward_takes_torchs_arguments():
    for lib, make in ((torch, lambda: torch.ones(2, dtype=torch.float64, requires_grad=True)),
                      (rg, lambda: rg.tensor(np.ones(2), requires_grad=True))):
        x = make()
        (x * 2).backward(gradient=lib.tensor(np.array([1.0, 2.0])))
        np.testing.assert_array_equal(np.asarray(x.grad.detach() if lib is torch else x.grad.data), [2.0, 4.0])
        a, b = make(), make()
        ((a * b) * 3).sum().backward(inputs=[a])
        assert b.grad is None
        np.testing.assert_array_equal(np.asarray(a.grad.detach() if lib is torch else a.grad.data), [3.0, 3.0])
        with pytest.raises(RuntimeError, match="(?i)mismatch in shape"):
            (x * 2).backward(lib.tensor(np.ones(3)))
        with pytest.raises(RuntimeError):
            lib.ones(3).item()


@requires_torch
def test_grad_modes_as_decorators_context_managers_and_calls():
    x = rg.tensor(np.ones(2), requires_grad=True)

    @rg.no_grad
    def bare(a):
        return a * 3

    @rg.no_grad()
    def gen(a):
        yield a * 2
        yield a * 3

    assert not bare(x).requires_grad
    assert [t.requires_grad for t in gen(x)] == [False, False]
    with rg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    with rg.inference_mode():
        assert not (x * 2).requires_grad
    with rg.inference_mode(False):
        assert (x * 2).requires_grad
    with pytest.raises(RuntimeError, match="1 gradient"):
        rg.grad([x.sum(), x.sum()], x, grad_outputs=[None])


def test_a_view_marked_modified_stops_a_backward_that_kept_its_base():
    x = rg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    z = (x * x).sum()
    v = x[1:]
    v.data *= 5
    v.mark_modified_()
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()
