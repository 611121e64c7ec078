"""Tensor creation and Python-protocol behaviour checked against torch: float ranges computed in
float64 (no drift), refused ranges, a floating default dtype only, integer sums in int64 (or the
dtype asked for), comparisons with None and containers, out-of-range indices as IndexError, the
logical and bitwise operators, ``in``, ``format``, and the small PyTorch conveniences."""

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
@pytest.mark.parametrize("args", [(1000.0, 1010.0, 0.01), (-5, 5, 0.7), (0, 1, 0.1), (3,), (2, 9, 3), (5, 0, -1)])
def test_arange_as_torch(args):
    ours, theirs = rg.arange(*args), torch.arange(*args)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6, atol=1e-6)


@requires_torch
@pytest.mark.parametrize("args", [(0, 5, -1), (5, 0), (0, 1, 0)])
def test_arange_refuses_what_torch_refuses(args):
    with pytest.raises(RuntimeError):
        torch.arange(*args)
    with pytest.raises(ValueError, match="arange"):
        rg.arange(*args)


def test_the_default_dtype_is_floating_and_full_refuses_nan_in_integers():
    with pytest.raises(TypeError, match="only floating-point types"):
        rg.set_default_dtype(np.int64)
    assert rg.get_default_dtype() in (np.float32, np.float64)
    with pytest.raises(ValueError, match="without overflow"):
        rg.full((2,), float("nan"), dtype=np.int64)


@requires_torch
@pytest.mark.parametrize("dtype, asked", [(np.uint8, None), (np.int32, None), (np.int64, np.int32), (np.bool_, None)])
def test_integer_sums_and_products_take_torchs_dtype(dtype, asked):
    a = (np.arange(6).reshape(2, 3) % 3).astype(dtype)
    t_asked = None if asked is None else getattr(torch, np.dtype(asked).name)
    for name in ("sum", "prod"):
        ours = getattr(rg.tensor(a), name)(dtype=asked) if asked else getattr(rg.tensor(a), name)()
        theirs = getattr(torch.tensor(a), name)(dtype=t_asked) if asked else getattr(torch.tensor(a), name)()
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        assert ours.item() == theirs.item()


@requires_torch
def test_comparisons_with_none_and_containers_are_pythons():
    x, tx = rg.tensor(np.array([1.0, 2.0])), torch.tensor([1.0, 2.0])
    assert (x == None) is (tx == None) is False  # noqa: E711 - the operator is what is tested
    assert (x != None) is (tx != None) is True  # noqa: E711
    assert (x == [1.0, 2.0]) is False
    with pytest.raises(TypeError):
        x < [1, 2]


@requires_torch
def test_an_index_out_of_range_is_an_index_error():
    with pytest.raises(IndexError):
        torch.ones(3)[5]
    with pytest.raises(IndexError, match="out of bounds"):
        rg.ones(3)[5]


@requires_torch
def test_logical_and_bitwise_operators_as_torch():
    a, b = np.array([True, False, True]), np.array([True, True, False])
    i, j = np.array([5, 3, -2]), np.array([1, 6, 7])
    for op in (lambda p, q: p & q, lambda p, q: p | q, lambda p, q: p ^ q, lambda p, q: ~p):
        for x, y in ((a, b), (i, j)):
            ours, theirs = op(rg.tensor(x), rg.tensor(y)), op(torch.tensor(x), torch.tensor(y))
            np.testing.assert_array_equal(ours.data, theirs.numpy())
            assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    for name in ("logical_and", "logical_or", "logical_xor"):
        f = np.array([0.0, 2.0, -1.0])
        np.testing.assert_array_equal(getattr(rg, name)(rg.tensor(f), rg.tensor(a)).data,
                                      getattr(torch, name)(torch.tensor(f), torch.tensor(a)).numpy())
    with pytest.raises(RuntimeError):
        torch.ones(2) & torch.ones(2)
    with pytest.raises(ValueError, match="bitwise_and: not implemented for float"):
        rg.ones(2) & rg.ones(2)


@requires_torch
def test_python_protocol_and_conveniences_as_torch():
    x, tx = rg.tensor(np.arange(6.0).reshape(2, 3)), torch.arange(6.0).reshape(2, 3)
    assert f"{x.sum():.3f}" == f"{tx.sum():.3f}" == "15.000"
    assert (rg.tensor(np.array([3.0, 4.0, 5.0])) in x) == (torch.tensor([3.0, 4.0, 5.0]) in tx)
    assert (7.0 in x) == (7.0 in tx) is False
    assert x.t().shape == tuple(tx.t().shape) and x.nelement() == tx.nelement() and x.ndimension() == 2
    assert x.is_floating_point() and not rg.tensor(np.array([1])).is_floating_point()
    assert x.element_size() == 4 if x.dtype == np.float32 else 8
    np.testing.assert_array_equal(x.clamp_min(2.0).data, tx.clamp_min(2.0).numpy())
    np.testing.assert_array_equal(x.clamp_max(2.0).data, tx.clamp_max(2.0).numpy())
    np.testing.assert_array_equal(x.ge(2.0).data, tx.ge(2.0).numpy())
    assert rg.equal(x, x) and rg.allclose(x, x + 1e-9) and not rg.equal(x, x[0])
    assert str(x.half().dtype) == "float16" and str(x.byte().dtype) == "uint8"
    x[x > 1], tx[tx > 1] = 0, 0  # item assignment, in place (off the tape: tests/ops/test_inplace.py)
    np.testing.assert_array_equal(x.data, tx.numpy())
    rg.manual_seed(0)
    assert rg.randn(2, 3).shape == (2, 3) and rg.randint(0, 5, (4,)).dtype == np.int64
    assert sorted(rg.randperm(5).data.tolist()) == [0, 1, 2, 3, 4]
    assert rg.hstack([rg.ones(2), rg.ones(3)]).shape == tuple(torch.hstack([torch.ones(2), torch.ones(3)]).shape)
    assert rg.vstack([rg.ones(2), rg.ones(2)]).shape == tuple(torch.vstack([torch.ones(2), torch.ones(2)]).shape)


@requires_torch
def test_clamp_with_tensor_bounds_as_torch():
    x, lo, hi = np.array([-2.0, 0.5, 1.0, 3.0, 0.0]), np.array([0.0, 0.0, 1.0, 0.0, 2.0]), np.array([1, 1, 2, 2, 1.0])
    g = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    ours = [rg.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    a, b = rg.clamp(*ours), torch.clamp(*theirs)
    np.testing.assert_array_equal(a.data, b.detach().numpy())  # the last entry: min > max gives max
    (a * rg.tensor(g)).sum().backward()
    (b * torch.tensor(g)).sum().backward()
    for o, t in zip(ours, theirs):  # ties (x = min) send the gradient to x, as torch's
        np.testing.assert_array_equal(o.grad.data, t.grad.numpy())
    np.testing.assert_array_equal(rg.tensor(x).clamp(min=rg.tensor(np.array(0.5))).data,
                                  torch.tensor(x).clamp(min=torch.tensor(0.5)).numpy())
