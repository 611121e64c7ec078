"""Edge cases where retrograd once disagreed with PyTorch, each checked against torch itself:
dims out of range (an IndexError, never wrapped), ``mT`` of a vector, ``expand``'s −1 in a new
leading dim, a negative constant base to a tensor power (NaN gradient, no crash), ``x[[]]``,
``argmax`` of an empty tensor along a non-empty dim, ``where`` of two Python numbers (the default
dtype), integer powers with negative exponents, atan2's gradient at the origin."""

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
@pytest.mark.parametrize("call", [lambda x: x.transpose(0, 3), lambda x: x.transpose(0, 4),
                                  lambda x: x.swapaxes(1, 5), lambda x: x.transpose(-4, 0)])
def test_a_dim_out_of_range_is_an_index_error_never_wrapped(call):
    with pytest.raises(IndexError, match="out of range"):
        call(torch.zeros(2, 3, 4))
    with pytest.raises(IndexError, match="out of range"):
        call(rg.tensor(np.zeros((2, 3, 4))))


@requires_torch
def test_a_zero_d_tensor_transposes_to_itself_and_mT_needs_a_matrix():
    assert torch.tensor(5.0).transpose(0, -1).shape == ()
    assert rg.tensor(np.array(5.0)).transpose(0, -1).shape == ()
    with pytest.raises(RuntimeError):
        torch.ones(3).mT
    with pytest.raises(ValueError, match="mT: needs a matrix"):
        rg.tensor(np.ones(3)).mT
    assert rg.tensor(np.ones((2, 3, 4))).mT.shape == tuple(torch.ones(2, 3, 4).mT.shape)


@requires_torch
def test_expand_refuses_minus_one_in_a_new_leading_dim():
    with pytest.raises(RuntimeError, match="-1"):
        torch.ones(2, 3).expand(-1, 2, 3)
    with pytest.raises(ValueError, match="-1 is not allowed in a new leading dimension"):
        rg.tensor(np.ones((2, 3))).expand(-1, 2, 3)
    assert rg.tensor(np.ones((2, 3))).expand(4, -1, 3).shape == tuple(torch.ones(2, 3).expand(4, -1, 3).shape)


@requires_torch
@pytest.mark.parametrize("base", [-2.0, -1, 0.0, 3.0])
def test_a_constant_base_to_a_tensor_power(base):
    values = np.array([1.0, 2.0, 0.5])
    x = rg.tensor(values, requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    (base ** x).sum().backward()
    (base ** t).sum().backward()
    np.testing.assert_allclose((base ** x).data, (base ** t).detach().numpy(), rtol=1e-14, equal_nan=True)
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-14, equal_nan=True)


@requires_torch
def test_an_empty_list_index_selects_nothing():
    x = rg.tensor(np.ones((3, 4)), requires_grad=True)
    y = x[[]]
    assert y.shape == tuple(torch.ones(3, 4)[[]].shape) == (0, 4)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((3, 4)))


@requires_torch
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_of_an_empty_tensor_along_a_non_empty_dim(keepdim):
    theirs = torch.argmax(torch.zeros(0, 3), dim=1, keepdim=keepdim)
    ours = rg.argmax(rg.tensor(np.zeros((0, 3))), dim=1, keepdim=keepdim)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.int64
    with pytest.raises(IndexError):
        torch.argmax(torch.zeros(0, 3), dim=0)
    with pytest.raises(ValueError, match="along dim 0 of size 0"):
        rg.argmax(rg.tensor(np.zeros((0, 3))), dim=0)


@requires_torch
@pytest.mark.parametrize("a, b", [(1.0, 0.0), (1, 0), (True, False), (1, 0.5)])
def test_where_of_two_python_numbers_takes_pytorchs_dtype(a, b):
    ours = rg.where(rg.tensor(np.array([True, False])), a, b)
    theirs = torch.where(torch.tensor([True, False]), a, b)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.data, theirs.numpy())


@requires_torch
def test_integer_powers_with_negative_exponents_truncate_as_pytorch():
    x, y = np.array([0, 1, -1, 2, -2, 3, -1, 5]), np.array([-1, -3, -3, -1, -2, -2, -2, 2])
    ours, theirs = rg.tensor(x) ** rg.tensor(y), torch.tensor(x) ** torch.tensor(y)
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    assert ours.dtype == np.int64
    np.testing.assert_array_equal((2 ** rg.tensor(np.array([-1, -2, 3]))).data,
                                  (2 ** torch.tensor([-1, -2, 3])).numpy())


@requires_torch
def test_atan2_gradient_at_the_origin_is_zero():
    x, y = rg.tensor(np.array([0.0, 1.0]), requires_grad=True), rg.tensor(np.array([0.0, 0.0]), requires_grad=True)
    tx, ty = (torch.tensor(v, requires_grad=True) for v in ([0.0, 1.0], [0.0, 0.0]))
    rg.atan2(y, x).sum().backward()
    torch.atan2(ty, tx).sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    np.testing.assert_array_equal(y.grad.data, ty.grad.numpy())
