"""PyTorch as the oracle for what the op spec table (tests/op_specs.py, whose
rows name their PyTorch equivalents; run by tests/ops/test_op_table.py) does not
express: the gradient at kinks and second derivatives through a composition.
Each test is skipped, with the reason, when PyTorch is not installed (`.[dev]`
installs the CPU build)."""

import numpy as np
import pytest

import retrograd as rg
from conftest import torch

pytestmark = pytest.mark.torch


def test_pytorch_relu_and_clamp_differ_at_zero_but_ours_agree():
    """Seed page 002: PyTorch's relu gives 0 at 0, its clamp(min=0) gives 1."""
    x = torch.zeros(1, requires_grad=True)
    torch.relu(x).sum().backward()
    relu_grad = x.grad.item()
    x.grad = None
    x.clamp(min=0).sum().backward()
    assert (relu_grad, x.grad.item()) == (0.0, 1.0)
    for policy in rg.conventions.POLICIES:
        with rg.conventions.policy(policy):
            a = rg.tensor([0.0], requires_grad=True)
            rg.relu(a).sum().backward()
            b = rg.tensor([0.0], requires_grad=True)
            rg.clamp(b, min=0).sum().backward()
        assert a.grad.item() == b.grad.item()


def test_hessian_vector_product_matches_torch():
    rng = np.random.default_rng(2)
    x, w, v = rng.standard_normal(5), rng.standard_normal((5, 5)), rng.standard_normal(5)
    xr = rg.tensor(x, requires_grad=True)
    (g,) = rg.grad(rg.logsumexp(rg.tanh(rg.tensor(w) @ xr)) * rg.sum(xr * xr), xr, create_graph=True)
    (hv,) = rg.grad(rg.sum(g * rg.tensor(v)), xr)
    xt = torch.from_numpy(x).requires_grad_()
    (gt,) = torch.autograd.grad(torch.logsumexp(torch.tanh(torch.from_numpy(w) @ xt), 0) * (xt * xt).sum(), xt,
                                create_graph=True)
    (hvt,) = torch.autograd.grad((gt * torch.from_numpy(v)).sum(), xt)
    np.testing.assert_allclose(hv.data, hvt.numpy(), rtol=1e-10)
