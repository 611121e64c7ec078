"""Two reported defects, against torch 2.13: ``rg.cov`` of a complex input (the conjugate transpose, real
weights, PyTorch's dtypes), and the gradient of ``F.pairwise_distance(p=1)`` at a zero component under
each ``rg.conventions`` policy (the default is PyTorch's; ``first`` is abs's declared first branch)."""

import numpy as np
import pytest

import retrograd as rg
from retrograd.nn import functional as F
from conftest import requires_torch, torch
from torch_compare import compare

RNG = np.random.default_rng(8)
Z = RNG.standard_normal((3, 5)) + 1j * RNG.standard_normal((3, 5))
FW, AW = np.array([1, 2, 0, 3, 1]), np.array([0.5, 1.0, 2.0, 0.25, 1.5])


def _cov_both(x, **kwargs):
    ours = rg.cov(rg.tensor(x), **{k: rg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
    theirs = torch.cov(torch.tensor(x), **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                           for k, v in kwargs.items()})
    return ours, theirs


@requires_torch
@pytest.mark.parametrize("kwargs", [{}, {"correction": 0}, {"correction": 2}, {"fweights": FW}, {"aweights": AW},
                                    {"fweights": FW, "aweights": AW}, {"fweights": FW, "aweights": AW,
                                                                       "correction": 0}])
@pytest.mark.parametrize("rows", [3, 1])
def test_complex_cov_is_the_conjugate_transpose_as_torch(kwargs, rows):
    x = Z[:rows] if rows > 1 else Z[0]
    ours, theirs = _cov_both(x, **kwargs)
    assert ours.dtype == rg.complex128 and str(theirs.dtype) == "torch.complex128"
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-14)
    if rows > 1:  # Hermitian, with a real diagonal (the conjugate is what makes it so)
        np.testing.assert_allclose(ours.data, ours.data.conj().T, rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("aweights_dtype,expected", [(np.float32, "complex64"), (np.float64, "complex128")])
def test_complex64_cov_dtypes_are_torchs(aweights_dtype, expected):
    ours, theirs = _cov_both(Z.astype(np.complex64), aweights=AW.astype(aweights_dtype))
    assert str(ours.dtype) == expected and str(theirs.dtype) == f"torch.{expected}"
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-5)


@requires_torch
@pytest.mark.parametrize("kwargs", [{}, {"fweights": FW, "aweights": AW}])
def test_real_cov_values_and_gradients_still_torchs(kwargs):
    x = RNG.standard_normal((3, 5))
    weights = {k: torch.tensor(v) for k, v in kwargs.items()}
    compare(lambda t: rg.cov(t, **{k: rg.tensor(v) for k, v in kwargs.items()}),
            lambda t: torch.cov(t, **weights), x)


# ---------------------------------------------------------------- pairwise_distance(p=1) at a zero component
A, B = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]), np.array([[1.0, 0.0, 3.5], [0.5, -1.0, 2.0]])


@requires_torch
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, np.inf])
def test_pairwise_distance_at_zero_components_is_torchs_under_the_default_policy(p):
    compare(lambda u, v: F.pairwise_distance(u, v, p=p, eps=0.0), lambda u, v: torch.nn.functional.pairwise_distance(
        u, v, p=p, eps=0.0), A, B)


@pytest.mark.parametrize("policy", ["min_norm", "first", "split", "all"])
def test_pairwise_distance_p1_follows_abs_at_a_zero_component(policy):
    """‖x1 − x2‖₁ is Σ|x1 − x2|, so its tie at a zero component is abs's at 0: the conventions table's
    row, 0 under min_norm (PyTorch's sign(0)), split and all, and 1 — the first branch of max(d, −d) —
    under ``first``. Not a defect: the same function gets the same gradient however it is written."""
    with rg.conventions.policy(policy):
        x1 = rg.tensor(A, requires_grad=True)
        F.pairwise_distance(x1, rg.tensor(B), p=1, eps=0.0).sum().backward()
        y1 = rg.tensor(A, requires_grad=True)
        rg.abs(y1 - rg.tensor(B)).sum().backward()
    np.testing.assert_array_equal(x1.grad.data, y1.grad.data)
    tie = rg.conventions.kink_slope((1, -1), policy)
    assert tie == (1.0 if policy == "first" else 0.0)
    np.testing.assert_array_equal(x1.grad.data, [[tie, 1.0, -1.0], [tie, tie, tie]])


@pytest.mark.parametrize("policy", ["min_norm", "first", "split", "all"])
def test_the_two_norm_of_a_zero_difference_has_gradient_zero_under_every_policy(policy):
    """The 2-norm's tie is a ball (no first branch): 0 under every policy, PyTorch's value."""
    with rg.conventions.policy(policy):
        x1 = rg.tensor(A, requires_grad=True)
        F.pairwise_distance(x1, rg.tensor(B), p=2, eps=0.0).sum().backward()
    np.testing.assert_array_equal(x1.grad.data[1], [0.0, 0.0, 0.0])
