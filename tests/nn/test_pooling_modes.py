"""Pooling's PyTorch arguments against torch: ``ceil_mode`` (partial windows at the bottom and
right, and the rule that drops a last window starting past the input), ``count_include_pad`` and
``divisor_override`` for the average — values and input gradients over a grid of geometries."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn

torch = pytest.importorskip("torch")

GEOMETRIES = [(h, w, k, s, p) for h, w, k, s, p in itertools.product([5, 6, 7], [5, 8], [2, 3], [1, 2, 3], [0, 1])
              if p <= k // 2]


@pytest.mark.parametrize("h, w, k, s, p", GEOMETRIES)
def test_average_pooling_divisors_and_ceil_mode(h, w, k, s, p):
    rng = np.random.default_rng(h * 100 + w * 10 + k + s + p)
    x = rng.standard_normal((2, 3, h, w))
    for ceil, include, divisor in itertools.product([False, True], [True, False], [None, 3]):
        xr, xt = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        theirs = torch.nn.AvgPool2d(k, s, p, ceil, include, divisor)(xt)
        ours = nn.AvgPool2d(k, s, p, ceil, include, divisor)(xr)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
        g = rng.standard_normal(ours.shape)
        (ours * rg.tensor(g)).sum().backward()
        (theirs * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(xr.grad.data, xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("h, w, k, s, p", GEOMETRIES)
def test_max_pooling_ceil_mode(h, w, k, s, p):
    x = np.random.default_rng(h + w + k + s + p).standard_normal((2, 3, h, w))
    for ceil in (False, True):
        xr, xt = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours, theirs = nn.MaxPool2d(k, s, p, ceil_mode=ceil)(xr), torch.nn.MaxPool2d(k, s, p, ceil_mode=ceil)(xt)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_array_equal(xr.grad.data, xt.grad.numpy())
