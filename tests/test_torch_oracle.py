"""PyTorch as the oracle: values and gradients of the ops agree (skipped when
PyTorch is not installed; `.[dev]` installs the CPU build)."""

import numpy as np
import pytest

import retrograd as rg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

F = torch.nn.functional

# name -> (retrograd function, torch function, input transform)
CASES = {
    "tanh": (rg.tanh, torch.tanh, None),
    "sigmoid": (rg.sigmoid, torch.sigmoid, None),
    "softplus": (rg.softplus, F.softplus, None),
    "gelu": (rg.gelu, F.gelu, None),
    "gelu_tanh": (lambda x: rg.gelu(x, approximate="tanh"), lambda x: F.gelu(x, approximate="tanh"), None),
    "elu": (rg.elu, F.elu, None),
    "leaky_relu": (rg.leaky_relu, F.leaky_relu, None),
    "log_softmax": (lambda x: rg.log_softmax(x, axis=1), lambda x: F.log_softmax(x, dim=1), None),
    "softmax": (lambda x: rg.softmax(x, axis=0), lambda x: F.softmax(x, dim=0), None),
    "logsumexp": (lambda x: rg.logsumexp(x, axis=1), lambda x: torch.logsumexp(x, dim=1), None),
    "var_unbiased": (lambda x: rg.var(x, axis=0, ddof=1), lambda x: torch.var(x, dim=0), None),
    "std": (lambda x: rg.std(x, axis=1), lambda x: torch.std(x, dim=1, correction=0), None),
    "prod": (lambda x: rg.prod(x, axis=1), lambda x: torch.prod(x, dim=1), None),
    "log1p": (rg.log1p, torch.log1p, np.abs),
    "sqrt": (rg.sqrt, torch.sqrt, lambda a: np.abs(a) + 0.1),
    "erf": (rg.erf, torch.erf, None),
    "pad": (lambda x: rg.pad(x, ((1, 2), (0, 3)), value=0.5), lambda x: F.pad(x, (0, 3, 1, 2), value=0.5), None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_matches_torch(name):
    fn, tfn, transform = CASES[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    if transform is not None:
        x = transform(x)
    v = rng.standard_normal(np.asarray(tfn(torch.from_numpy(x))).shape)
    xr = rg.tensor(x, requires_grad=True)
    yr = fn(xr)
    yr.backward(v)
    xt = torch.from_numpy(x).requires_grad_()
    yt = tfn(xt)
    yt.backward(torch.from_numpy(v))
    np.testing.assert_allclose(yr.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xr.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_broadcasting_matmul_and_gather_match_torch():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    idx = rng.integers(0, 4, size=(3, 6))
    ar, br = rg.tensor(a, requires_grad=True), rg.tensor(b, requires_grad=True)
    at, bt = torch.from_numpy(a).requires_grad_(), torch.from_numpy(b).requires_grad_()
    yr = rg.tanh(ar @ br).sum(axis=(0, 1))
    yt = torch.tanh(at @ bt).sum(dim=(0, 1))
    yr.backward(np.ones(yr.shape))
    yt.backward(torch.ones(yt.shape, dtype=torch.float64))
    np.testing.assert_allclose(ar.grad.data, at.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(br.grad.data, bt.grad.numpy(), rtol=1e-10)
    x = rng.standard_normal((3, 4))
    xr, xt = rg.tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_()
    rg.gather(xr, 1, idx).sum().backward()
    torch.gather(xt, 1, torch.from_numpy(idx)).sum().backward()
    np.testing.assert_allclose(xr.grad.data, xt.grad.numpy())


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
