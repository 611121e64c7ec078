"""Bad inputs to the losses, padding and index ops: computed as PyTorch computes them (values,
dtypes, gradients) or refused with an OpError naming the op, where PyTorch refuses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd.autograd import backend

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _both(torch_fn, rg_fn, *arrays, grad=True):
    """(PyTorch output, retrograd output, their input gradients) for ``arrays`` (floats require grad)."""
    xt = [torch.from_numpy(np.array(a)) for a in arrays]
    xr = [rg.tensor(np.array(a), requires_grad=np.asarray(a).dtype.kind == "f") for a in arrays]
    for t in xt:
        if t.is_floating_point():
            t.requires_grad_()
    yt, yr = torch_fn(*xt), rg_fn(*xr)
    if grad:
        yt.sum().backward()
        yr.sum().backward()
    grads = [(None if t.grad is None else t.grad.numpy(), None if r.grad is None else r.grad.data)
             for t, r in zip(xt, xr)]
    return yt.detach().numpy(), yr.data, grads


def _assert_same(yt, yr, grads=()):
    assert yr.dtype == yt.dtype and yr.shape == yt.shape
    np.testing.assert_allclose(yr, yt, rtol=1e-6, atol=1e-6)
    for gt, gr in grads:
        assert (gt is None) == (gr is None)
        if gt is not None:
            assert gr.dtype == gt.dtype
            np.testing.assert_allclose(gr, gt, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- pad (NumPy's pad_width)
def test_pad_refuses_more_pairs_than_axes_naming_pad():
    with pytest.raises(rg.OpError, match=r"pad: pad_width gives 3 pairs, but the input of shape \(2, 3\)"):
        rg.pad(rg.tensor(np.ones((2, 3))), ((1, 1), (1, 1), (0, 1)))


def test_pad_refuses_a_0d_tensor_as_pytorch_does():
    with pytest.raises(RuntimeError):
        F.pad(torch.tensor(1.0), (1, 1))
    with pytest.raises(rg.OpError, match="pad: cannot pad a 0-d tensor"):
        rg.pad(rg.tensor(1.0), ((1, 1),))
    assert rg.pad(rg.tensor(1.0), ()).shape == ()


@requires_torch
def test_pad_pairs_for_fewer_axes_pad_the_trailing_axes_like_torch():
    x = np.arange(24.0).reshape(2, 3, 4)
    yt, yr, grads = _both(lambda t: F.pad(t, (1, 2, -1, 1), value=0.5),
                          lambda t: rg.pad(t, ((-1, 1), (1, 2)), value=0.5), x)
    _assert_same(yt, yr, grads)


# ---------------------------------------------------------------- reflect / replicate padding
@requires_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize("x", [np.ones((2, 3), bool), np.zeros((2, 0)), np.zeros((0, 3)), np.zeros((2, 0, 3))],
                         ids=["bool", "empty_last", "empty_unbatched_channels", "empty_channels"])
def test_mirrored_pad_refuses_bool_and_empty_dims_as_torch_does(mode, x):
    with pytest.raises((RuntimeError, NotImplementedError)):
        F.pad(torch.from_numpy(x), (1, 1), mode=mode)
    with pytest.raises(rg.OpError, match=f"pad: mode='{mode}'"):
        rg.nn.functional.pad(rg.tensor(x), (1, 1), mode=mode)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_mirrored_pad_of_an_empty_batch_is_empty(mode):
    assert rg.nn.functional.pad(rg.tensor(np.zeros((0, 2, 3))), (1, 1), mode=mode).shape == (0, 2, 5)


# ---------------------------------------------------------------- index dtypes
@requires_torch
@pytest.mark.parametrize("dtype", [np.int16, np.int8, np.uint8, np.float64])
def test_index_dtypes_pytorch_refuses_are_refused_naming_the_op(dtype):
    x, index = rg.tensor(np.arange(12.0).reshape(3, 4)), np.array([0, 2], dtype)
    with pytest.raises(RuntimeError):
        torch.index_select(torch.ones(3, 4), 0, torch.from_numpy(index))
    with pytest.raises(RuntimeError):
        F.embedding(torch.from_numpy(index), torch.ones(3, 4))
    with pytest.raises(rg.OpError, match="index_select: index must hold integers of dtype int64 or int32"):
        rg.index_select(x, 0, rg.tensor(index))
    with pytest.raises(rg.OpError, match="embedding: indices must be integers of dtype int64 or int32"):
        rg.nn.functional.embedding(index, x)
    with pytest.raises(rg.OpError, match=r"Embedding\(3, 4\): indices must be integers of dtype int64 or int32"):
        rg.nn.Embedding(3, 4)(index)
    if dtype != np.uint8:  # torch reads uint8 as a mask; retrograd refuses it rather than guess
        with pytest.raises(IndexError):
            torch.ones(3, 4)[torch.from_numpy(index)]
    with pytest.raises(rg.OpError, match="getitem: index arrays must be int64 or int32"):
        x[(index,)]


def test_int32_indices_and_bool_masks_still_index():
    x = rg.tensor(np.arange(12.0).reshape(3, 4))
    index = np.array([2, 0], np.int32)
    np.testing.assert_array_equal(x[index].data, x.data[[2, 0]])
    np.testing.assert_array_equal(rg.index_select(x, 1, rg.tensor(index)).data, x.data[:, [2, 0]])
    np.testing.assert_array_equal(rg.nn.functional.embedding(index, x).data, x.data[[2, 0]])
    np.testing.assert_array_equal(x[np.array([True, False, True])].data, x.data[[0, 2]])


@requires_torch
def test_index_select_on_a_0d_tensor_takes_exactly_one_index():
    with pytest.raises(RuntimeError):
        torch.index_select(torch.tensor(1.0), 0, torch.tensor([0, 0]))
    with pytest.raises(rg.OpError, match="index_select: the index into a 0-d tensor must hold exactly 1 value"):
        rg.index_select(rg.tensor(1.0), 0, rg.tensor(np.array([0, 0])))
    assert rg.index_select(rg.tensor(2.0), 0, rg.tensor(np.array([0]))).item() == 2.0


# ---------------------------------------------------------------- mse_loss
@requires_torch
@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((2, 3), (4, 2, 3)), ((0, 3), (3,)), ((2, 3), ())])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_broadcasts_with_a_user_warning_like_torch(shapes, reduction):
    rng = np.random.default_rng(0)
    a, y = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yt, yr, grads = _both(lambda a, y: F.mse_loss(a, y, reduction=reduction),
                              lambda a, y: rg.mse_loss(a, y, reduction=reduction), a, y)
    ours = [w for w in caught if "mse_loss: using a target size" in str(w.message)]
    assert len(ours) == 1 and ours[0].category is UserWarning
    _assert_same(yt, yr, grads)


def test_mse_loss_refuses_shapes_that_do_not_broadcast_and_complex_input():
    with pytest.raises(rg.OpError, match=r"mse_loss: input shape \(2, 3\) and target shape \(4,\) do not broadcast"):
        rg.mse_loss(rg.tensor(np.ones((2, 3))), rg.tensor(np.ones(4)))
    with pytest.raises(NotImplementedError):
        F.mse_loss(torch.ones(2, dtype=torch.complex128), torch.ones(2, dtype=torch.complex128))
    with pytest.raises(rg.OpError, match="mse_loss: complex input is not supported"):
        rg.mse_loss(rg.tensor(np.ones(2, complex)), rg.tensor(np.ones(2)))


# ---------------------------------------------------------------- binary cross-entropy
@requires_torch
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1.5, -0.1])
@pytest.mark.parametrize("which", ["input", "target"])
def test_binary_cross_entropy_refuses_values_outside_the_unit_interval(value, which):
    p, y = np.array([0.5, 0.2]), np.array([0.3, 0.9])
    (p if which == "input" else y)[1] = value
    with pytest.raises(RuntimeError, match=f"all elements of {which} should be between 0 and 1"):
        F.binary_cross_entropy(torch.from_numpy(p), torch.from_numpy(y))
    with pytest.raises(rg.OpError, match=rf"binary_cross_entropy: {which} must be probabilities in \[0, 1\]"):
        rg.binary_cross_entropy(rg.tensor(p), y)


@requires_torch
@pytest.mark.parametrize("pos_weight", [None, 2.0])
@pytest.mark.parametrize("target", [0.0, 0.3, 1.0])
def test_binary_cross_entropy_with_logits_at_infinite_logits_like_torch(pos_weight, target):
    z = np.array([np.inf, -np.inf, np.nan, 1.0])
    y = np.full(4, target)
    q = None if pos_weight is None else np.array(pos_weight)
    yt, yr, grads = _both(
        lambda z, y: F.binary_cross_entropy_with_logits(
            z, y, reduction="none", pos_weight=None if q is None else torch.from_numpy(q)),
        lambda z, y: rg.binary_cross_entropy_with_logits(z, y, reduction="none", pos_weight=q), z, y)
    _assert_same(yt, yr, grads)


@requires_torch
@pytest.mark.parametrize("dtypes", [(np.float64, np.float32), (np.float32, np.float64), (np.float64, np.float16)])
def test_binary_cross_entropy_with_logits_target_of_another_float_dtype_like_torch(dtypes):
    rng = np.random.default_rng(1)
    z, y = rng.standard_normal((2, 3)).astype(dtypes[0]), rng.random((2, 3)).astype(dtypes[1])
    yt, yr, grads = _both(F.binary_cross_entropy_with_logits, rg.binary_cross_entropy_with_logits, z, y)
    assert yr.dtype == yt.dtype == dtypes[1]  # PyTorch accumulates in the target's dtype
    np.testing.assert_allclose(yr, yt, rtol=2e-3)
    for gt, gr in grads:
        assert gr.dtype == gt.dtype
        np.testing.assert_allclose(gr, gt, rtol=2e-3, atol=1e-4)


def test_binary_cross_entropy_with_logits_refuses_integer_targets():
    with pytest.raises(rg.OpError, match="binary_cross_entropy_with_logits: target must be floating-point"):
        rg.binary_cross_entropy_with_logits(rg.tensor(np.ones(3)), np.ones(3, np.int64))


# ---------------------------------------------------------------- cross_entropy
@requires_torch
@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.int8])
def test_cross_entropy_refuses_class_indices_pytorch_refuses(dtype):
    z, y = np.zeros((2, 3)), np.array([0, 2], dtype)
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte"):
        F.cross_entropy(torch.from_numpy(z), torch.from_numpy(y))
    with pytest.raises(rg.OpError, match="cross_entropy: class indices must be int64"):
        rg.cross_entropy(rg.tensor(z), y)


@requires_torch
def test_cross_entropy_takes_uint8_class_indices():
    z = np.random.default_rng(2).standard_normal((2, 3))
    _assert_same(*_both(F.cross_entropy, rg.cross_entropy, z, np.array([0, 2], np.uint8)))


@requires_torch
@pytest.mark.parametrize("options", [{"ignore_index": 0}, {"ignore_index": 0, "reduction": "none"},
                                     {"ignore_index": 0, "label_smoothing": 0.1}])
def test_cross_entropy_nan_logit_in_an_ignored_row_does_not_leak(options):
    z = np.array([[np.nan, 1.0, 2.0], [0.5, 0.1, -1.0], [1.0, 2.0, 3.0]])
    y = np.array([0, 1, 2])
    yt, yr, grads = _both(lambda z, y: F.cross_entropy(z, y, **options),
                          lambda z, y: rg.cross_entropy(z, y, **options), z, y)
    assert np.isfinite(yr).all()
    _assert_same(yt, yr, grads)


@requires_torch
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_unbatched_input_with_a_one_element_target(reduction):
    z = np.array([0.3, -1.0, 2.0])
    # PyTorch computes the loss but its backward refuses ("size mismatch"): the gradient is
    # compared with the one for the () target, the same loss
    yt, yr, _ = _both(lambda z, y: F.cross_entropy(z, y, reduction=reduction),
                      lambda z, y: rg.cross_entropy(z, y, reduction=reduction), z, np.array([1]), grad=False)
    _assert_same(yt, yr)
    zr, scalar_target = rg.tensor(z, requires_grad=True), rg.tensor(z, requires_grad=True)
    rg.cross_entropy(zr, np.array([1]), reduction=reduction).backward()
    rg.cross_entropy(scalar_target, np.array(1), reduction=reduction).backward()
    np.testing.assert_array_equal(zr.grad.data, scalar_target.grad.data)


@requires_torch
def test_cross_entropy_one_class_target_of_the_input_shape_is_read_as_probabilities():
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class probabilities"):
        F.cross_entropy(torch.ones(1, dtype=torch.float64), torch.tensor([0]))
    with pytest.raises(rg.OpError, match="cross_entropy: a target of the input's shape"):
        rg.cross_entropy(rg.tensor(np.ones(1)), np.array([0]))


@requires_torch
@pytest.mark.parametrize("dtypes", [(np.float64, np.float32, None), (np.float16, np.float64, np.float64),
                                    (np.float32, np.float32, np.float64)])
def test_cross_entropy_probability_targets_of_other_float_dtypes_promote_like_torch(dtypes):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((2, 3)).astype(dtypes[0])
    p = rng.random((2, 3))
    t = (p / p.sum(1, keepdims=True)).astype(dtypes[1])
    w = None if dtypes[2] is None else np.array([0.5, 1.0, 2.0], dtypes[2])
    yt, yr, grads = _both(lambda z, t: F.cross_entropy(z, t, weight=None if w is None else torch.from_numpy(w)),
                          lambda z, t: rg.cross_entropy(z, t, weight=w), z, t)
    assert yr.dtype == yt.dtype
    np.testing.assert_allclose(yr, yt, rtol=2e-3)
    for gt, gr in grads:
        assert gr.dtype == gt.dtype
        np.testing.assert_allclose(gr, gt, rtol=2e-3, atol=1e-3)


# ---------------------------------------------------------------- backend.sigmoid
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backend_sigmoid_of_numpy_scalars_at_infinity(dtype, monkeypatch):
    for special in (backend._special, None):  # SciPy's expit and the fallback
        monkeypatch.setattr(backend, "_special", special)
        assert backend.sigmoid(dtype(np.inf)) == 1.0
        assert backend.sigmoid(dtype(-np.inf)) == 0.0
        assert np.isnan(backend.sigmoid(dtype(np.nan)))
        np.testing.assert_allclose(backend.sigmoid(np.array([-800.0, 0.0, 800.0], dtype)), [0.0, 0.5, 1.0])


@requires_torch
def test_cross_entropy_label_smoothing_refuses_an_unbatched_one_element_target():
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        F.cross_entropy(torch.ones(3, dtype=torch.float64), torch.tensor([1]), label_smoothing=0.1)
    with pytest.raises(rg.OpError, match="cross_entropy: label_smoothing with an unbatched input"):
        rg.cross_entropy(rg.tensor(np.ones(3)), np.array([1]), label_smoothing=0.1)


@requires_torch
def test_binary_cross_entropy_with_logits_pos_weight_gradient_at_an_infinite_target_like_torch():
    z, y, q = np.array([0.5, -1.0]), np.array([np.inf, 0.3]), np.array(1.0)
    yt, yr, grads = _both(lambda z, y: F.binary_cross_entropy_with_logits(z, y, pos_weight=torch.from_numpy(q)),
                          lambda z, y: rg.binary_cross_entropy_with_logits(z, y, pos_weight=q), z, y)
    assert np.isnan(grads[0][0][0]) and np.isnan(grads[0][1][0])
    np.testing.assert_allclose(grads[0][1], grads[0][0])
