"""Conv1d/2d/3d with ``padding_mode`` "reflect", "replicate" or "circular" against PyTorch 2.13:
the input padded in that mode (``F.pad``), then convolved without padding — values, gradients of
the input and the parameters (float64, weights copied across), the repr, and what stays refused."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import nn

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None

RNG = np.random.default_rng(5)

CASES = [  # layer, spatial input shape, keyword arguments
    ("Conv1d", (7,), dict(padding=2)),
    ("Conv1d", (6,), dict(padding="same", dilation=2)),
    ("Conv2d", (5, 6), dict(padding=(1, 2), stride=2)),
    ("Conv2d", (5, 5), dict(padding="same", kernel_size=(2, 3))),
    ("Conv2d", (5, 5), dict(padding="valid", groups=2)),
    ("Conv3d", (3, 4, 4), dict(padding=1)),
]


@requires_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("layer, spatial, kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_padding_modes_like_torch(mode, layer, spatial, kwargs):
    kwargs = dict(kwargs)
    kernel = kwargs.pop("kernel_size", 3)
    ours = getattr(nn, layer)(2, 4, kernel, padding_mode=mode, **kwargs).double()
    theirs = getattr(torch.nn, layer)(2, 4, kernel, padding_mode=mode, **kwargs).double()
    ours.load_state_dict(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    x = RNG.standard_normal((2, 2) + spatial)
    xr, xt = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(xr), theirs(xt)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-13)
    g = RNG.standard_normal(y.shape)
    y.backward(rg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(xr.grad.data, xt.grad.numpy(), rtol=1e-12, atol=1e-13)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-12, atol=1e-13, err_msg=name)


@requires_torch
def test_an_unbatched_input_and_a_too_wide_reflection_like_torch():
    ours, theirs = nn.Conv1d(1, 1, 3, padding=1, padding_mode="reflect").double(), \
        torch.nn.Conv1d(1, 1, 3, padding=1, padding_mode="reflect").double()
    ours.load_state_dict(theirs.state_dict())
    x = RNG.standard_normal((1, 4))
    np.testing.assert_allclose(ours(rg.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    wide = nn.Conv1d(1, 1, 3, padding=4, padding_mode="reflect").double()
    twide = torch.nn.Conv1d(1, 1, 3, padding=4, padding_mode="reflect").double()
    with pytest.raises(RuntimeError):
        twide(torch.zeros(1, 1, 3, dtype=torch.float64))
    with pytest.raises((ValueError, RuntimeError)):  # the reflection needs padding < size (F.pad)
        wide(rg.tensor(np.zeros((1, 1, 3))))


def test_transposed_convolutions_still_take_zeros_only():
    for mode in ("reflect", "circular"):
        with pytest.raises(ValueError, match="padding_mode must be one of"):
            nn.ConvTranspose1d(2, 2, 3, padding_mode=mode)
