"""cross_entropy over sequence logits: (N, T, C) with targets (N, T) is refused
with the fixes (PyTorch would read axis 1 as the classes: an error when T ≠ C,
a silently different loss when T = C), ``class_axis=`` makes the layout
explicit, and PyTorch's (N, C, d1, …) layout is unchanged — all against
PyTorch."""

import numpy as np
import pytest
from conftest import requires_torch

import retrograd as rg
from retrograd import nn

pytestmark = requires_torch


def _torch():
    import torch
    return torch


def logits(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def indices(shape, classes, seed=1):
    return np.random.default_rng(seed).integers(0, classes, shape)


def ours(z, y, **kw):
    zt = rg.tensor(z, requires_grad=True)
    loss = rg.cross_entropy(zt, y, **kw)
    g = rg.grad(loss.sum(), [zt])[0]
    return loss.data, g.data


def theirs(z, y, move=None, **kw):
    """PyTorch's loss on the input with classes moved from axis `move` to 1, and the gradient w.r.t. the input."""
    torch = _torch()
    zt = torch.tensor(z, requires_grad=True)
    zin = zt if move is None else torch.movedim(zt, move, 1)
    yt = torch.from_numpy(y) if y.dtype.kind != "f" else (torch.from_numpy(y) if move is None
                                                         else torch.movedim(torch.from_numpy(y), move, 1))
    if "weight" in kw:
        kw["weight"] = torch.from_numpy(kw["weight"])
    loss = torch.nn.functional.cross_entropy(zin, yt, **kw)
    (g,) = torch.autograd.grad(loss.sum(), [zt])
    return loss.detach().numpy(), g.numpy()


def assert_same(a, b):
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", [(2, 4, 5), (3, 5, 5), (2, 3, 2, 4)])
def test_classes_last_is_refused_with_the_fixes(shape):
    z, y = logits(shape), indices(shape[:-1], shape[-1])
    with pytest.raises(rg.OpError, match=r"classes look to be on the last axis.*reshape\(-1, %d\), "
                                         r"target.reshape\(-1\).*class_axis=-1" % shape[-1]):
        rg.cross_entropy(rg.tensor(z), y)
    with pytest.raises(rg.OpError, match=r"class_axis=-1"):
        nn.CrossEntropyLoss()(rg.tensor(z), y)
    torch = _torch()
    if shape[1] != shape[-1]:  # PyTorch refuses it too, without saying why
        with pytest.raises(RuntimeError):
            torch.nn.functional.cross_entropy(torch.from_numpy(z), torch.from_numpy(y))
    else:  # PyTorch computes another loss: axis 1 (the steps) read as the classes
        silent = torch.nn.functional.cross_entropy(torch.from_numpy(z), torch.from_numpy(y)).item()
        meant = torch.nn.functional.cross_entropy(torch.from_numpy(z).reshape(-1, shape[-1]),
                                                  torch.from_numpy(y).reshape(-1)).item()
        assert abs(silent - meant) > 1e-6


def test_the_message_says_when_pytorch_would_be_silently_wrong():
    with pytest.raises(rg.OpError, match=r"as many as the 5 classes.*silently compute a different loss"):
        rg.cross_entropy(rg.tensor(logits((3, 5, 5))), indices((3, 5), 5))
    with pytest.raises(rg.OpError, match=r"target would need shape \(2, 5\).*logits.transpose\(1, 2\)"):
        rg.cross_entropy(rg.tensor(logits((2, 4, 5))), indices((2, 4), 5))
    with pytest.raises(rg.OpError, match=r"movedim\(logits, -1, 1\)"):
        rg.cross_entropy(rg.tensor(logits((2, 3, 2, 4))), indices((2, 3, 2), 4))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_the_square_case_with_class_axis_1_is_pytorch(reduction):
    """(N, C, d1) with C = d1: class_axis=1 keeps PyTorch's reading, exactly."""
    z, y = logits((3, 4, 4)), indices((3, 4), 4)
    assert_same(ours(z, y, reduction=reduction, class_axis=1), theirs(z, y, reduction=reduction))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(3, 4, 4), (2, 5, 3), (2, 3, 2, 4)])
def test_class_axis_last_is_pytorch_on_moved_classes(shape, reduction):
    z, y = logits(shape), indices(shape[:-1], shape[-1])
    got = ours(z, y, reduction=reduction, class_axis=-1)
    assert_same(got, theirs(z, y, move=-1, reduction=reduction))
    if reduction == "none":
        assert got[0].shape == y.shape
    if reduction == "mean":  # the same as flattening the steps
        flat = theirs(z.reshape(-1, shape[-1]), y.reshape(-1))
        np.testing.assert_allclose(got[0], flat[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], flat[1].reshape(shape), rtol=1e-12, atol=1e-14)


def test_class_axis_with_the_options():
    z, y = logits((3, 4, 5)), indices((3, 4), 5)
    y[0, 1] = -100
    w = np.random.default_rng(2).uniform(0.5, 2, 5)
    kw = dict(weight=w, label_smoothing=0.1)
    assert_same(ours(z, y, class_axis=2, **kw), theirs(z, y, move=2, **dict(kw)))
    y[0, 1], y[1, 2] = 0, 3
    assert_same(ours(z, y, class_axis=-1, ignore_index=3), theirs(z, y, move=-1, ignore_index=3))


def test_class_axis_with_probability_targets():
    z = logits((2, 3, 4))
    p = np.random.default_rng(3).dirichlet(np.ones(4), size=(2, 3))
    assert_same(ours(z, p, class_axis=-1), theirs(z, p, move=-1))
    # probability targets of the input's shape are not ambiguous: PyTorch's layout without class_axis
    assert_same(ours(z, p), theirs(z, p))


def test_pytorch_layouts_are_unchanged():
    z, y = logits((2, 4, 3)), indices((2, 3), 4)  # (N, C, d1), target (N, d1): not the classes-last shape
    assert_same(ours(z, y), theirs(z, y))
    z2, y2 = logits((5, 4)), indices((5,), 4)
    assert_same(ours(z2, y2), theirs(z2, y2))
    assert_same(ours(z2, y2, class_axis=-1), theirs(z2, y2))
    loss, g = theirs(z2, y2)
    assert_same(ours(z2.T.copy(), y2, class_axis=0), (loss, g.T))  # (C, N): classes on axis 0
    z1, y1 = logits((4,)), np.array(2)
    assert_same(ours(z1, y1, class_axis=0), theirs(z1, y1))
    assert_same(ours(z1, y1, class_axis=-1), theirs(z1, y1))
    z3, y3 = logits((2, 1, 1)), indices((2, 1), 1)  # one class either way: both readings agree
    assert_same(ours(z3, y3), theirs(z3, y3))


def test_class_axis_is_checked():
    z = rg.tensor(logits((2, 3, 4)))
    with pytest.raises(rg.OpError, match=r"class_axis=3 is out of range for an input of shape \(2, 3, 4\)"):
        rg.cross_entropy(z, indices((2, 3), 4), class_axis=3)
    with pytest.raises(rg.OpError, match=r"class_axis must be an int, got True"):
        rg.cross_entropy(z, indices((2, 3), 4), class_axis=True)


def test_cross_entropy_loss_module_takes_class_axis():
    """nn.CrossEntropyLoss(class_axis=-1) is F.cross_entropy(…, class_axis=-1)."""
    z, y = logits((3, 4, 4)), indices((3, 4), 4)
    zt = rg.tensor(z)
    np.testing.assert_allclose(nn.CrossEntropyLoss(class_axis=-1)(zt, y).data,
                               theirs(z, y, move=-1)[0], rtol=1e-12)
    np.testing.assert_allclose(nn.CrossEntropyLoss(class_axis=1)(zt, y).data, theirs(z, y)[0], rtol=1e-12)
