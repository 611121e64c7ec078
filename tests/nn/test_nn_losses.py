"""Loss modules take PyTorch's constructor arguments and give PyTorch's values and gradients."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from conftest import requires_torch, torch

RNG = np.random.default_rng(5)
Z = RNG.standard_normal((6, 4))
Y = RNG.integers(0, 4, 6)
P = 1 / (1 + np.exp(-RNG.standard_normal((6, 4))))
T = RNG.random((6, 4))
W4 = np.array([0.5, 1.0, 2.0, 0.25])

CASES = {
    "cross_entropy_weight_smoothing": (lambda m: m.CrossEntropyLoss(weight=W4 if m is nn else torch.tensor(W4),
                                                                     ignore_index=2, label_smoothing=0.1), Z, Y),
    "cross_entropy_sum": (lambda m: m.CrossEntropyLoss(reduction="sum"), Z, Y),
    "nll_weight": (lambda m: m.NLLLoss(weight=W4 if m is nn else torch.tensor(W4)), np.log(P / P.sum(1, keepdims=True)), Y),
    "bce_weight": (lambda m: m.BCELoss(weight=W4 if m is nn else torch.tensor(W4)), P, T),
    "bce_logits_pos_weight": (lambda m: m.BCEWithLogitsLoss(pos_weight=W4 if m is nn else torch.tensor(W4)), Z, T),
    "mse_legacy_reduce": (lambda m: m.MSELoss(size_average=False), Z, T),
    "mse_legacy_none": (lambda m: m.MSELoss(reduce=False), Z, T),
}


@requires_torch
@pytest.mark.filterwarnings("ignore:size_average and reduce")
@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_modules_equal_pytorch(name):
    make, x, y = CASES[name]
    ours_x = rg.tensor(x, requires_grad=True)
    ours = make(nn)(ours_x, rg.tensor(y))
    theirs_x = torch.tensor(x, requires_grad=True)
    theirs = make(torch.nn)(theirs_x, torch.tensor(y))
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(ours_x.grad.data, theirs_x.grad.numpy(), rtol=1e-10, atol=1e-12)


@requires_torch
def test_loss_weights_are_buffers_like_pytorch():
    ours = nn.CrossEntropyLoss(weight=W4)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(W4))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == list(torch.nn.CrossEntropyLoss().state_dict()) == []
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})


def test_legacy_arguments_warn_like_pytorch():
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.MSELoss(size_average=False).reduction == "sum"
