"""Losses, class indices and row indices at their edges: each input is
computed as PyTorch computes it (values and gradients in float64, the target's
gradient included) or refused with an ``OpError`` that names the op, the bad
value and the valid range. The option rows of the op table (tests/op_specs.py)
check the same options on random shapes; these tests pin the edges."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from array_shim import shim
from retrograd.autograd import backend
from retrograd.bptt import Stateful, reset_rows, select_rows
from retrograd.ops import softmax_cross_entropy as cross_entropy_module

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the oracle tests are skipped one by one
    torch = F = None

RNG = np.random.default_rng(9)


def _compare(rg_fn, torch_fn, *arrays, grad_of=(0,)):
    """Values and the gradients of the inputs in ``grad_of`` (a random cotangent) equal PyTorch's."""
    xr = [rg.tensor(a, requires_grad=i in grad_of) if a.dtype.kind == "f" else a for i, a in enumerate(arrays)]
    xt = [torch.from_numpy(a.copy()).requires_grad_(i in grad_of) for i, a in enumerate(arrays)]
    yr, yt = rg_fn(*xr), torch_fn(*xt)
    np.testing.assert_allclose(yr.data, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    v = RNG.standard_normal(yr.shape)
    yr.backward(rg.tensor(np.asarray(v)))
    yt.backward(torch.from_numpy(np.asarray(v)))
    for i in grad_of:
        np.testing.assert_allclose(xr[i].grad.data, xt[i].grad.numpy(), rtol=1e-10, atol=1e-14,
                                   err_msg=f"gradient of input {i}")


def _distribution(shape, axis=1):
    p = RNG.random(shape) + 0.1
    return p / p.sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------- ignore_index
@requires_torch
@pytest.mark.parametrize("ignore_index", [0, 2, -1, -100, 7])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_ignores_any_ignore_index_like_torch(ignore_index, reduction):
    """k ≥ 0 used to ignore nothing (the loss counted those rows, silently)."""
    z = RNG.standard_normal((6, 4))
    y = np.array([0, 2, 1, 3, 2, 0])
    y[[1, 4]] = ignore_index
    _compare(lambda a, t: rg.cross_entropy(a, t, reduction=reduction, ignore_index=ignore_index),
             lambda a, t: F.cross_entropy(a, t, reduction=reduction, ignore_index=ignore_index), z, y)
    _compare(lambda a, t: rg.nll_loss(rg.log_softmax(a, 1), t, reduction=reduction, ignore_index=ignore_index),
             lambda a, t: F.nll_loss(torch.log_softmax(a, 1), t, reduction=reduction, ignore_index=ignore_index),
             z, y)


@requires_torch
def test_all_ignored_mean_is_nan_with_a_zero_gradient_like_torch():
    z = RNG.standard_normal((3, 4))
    y = np.full(3, -100)
    for loss in (rg.cross_entropy, lambda a, t: rg.nll_loss(rg.log_softmax(a, 1), t)):
        zr = rg.tensor(z, requires_grad=True)
        out = loss(zr, y)
        assert np.isnan(out.item())
        out.backward()
        np.testing.assert_array_equal(zr.grad.data, np.zeros_like(z))
    zt = torch.from_numpy(z).requires_grad_()
    F.cross_entropy(zt, torch.from_numpy(y)).backward()
    np.testing.assert_array_equal(zt.grad.numpy(), np.zeros_like(z))


# ---------------------------------------------------------------- indices out of range
@pytest.mark.parametrize("bad", [-1, -3, 4])
def test_class_indices_outside_the_classes_raise_naming_op_index_and_range(bad):
    z = rg.tensor(RNG.standard_normal((3, 4)))
    y = np.array([0, bad, 2])
    for name, fn in (("cross_entropy", rg.cross_entropy), ("nll_loss", rg.nll_loss)):
        with pytest.raises(rg.OpError, match=rf"{name}: class index out of range: the target holds {bad}, "
                                             rf"valid classes are \[0, 4\)"):
            fn(z, y)


def test_nll_loss_refuses_a_target_that_does_not_match_the_batch():
    """A target shorter than the batch used to average over the first rows."""
    x = rg.log_softmax(rg.tensor(RNG.standard_normal((3, 4))), 1)
    with pytest.raises(rg.OpError, match=r"nll_loss: input of shape \(3, 4\) needs integer class indices of shape "
                                         r"\(3,\), got int64\[2\]"):
        rg.nll_loss(x, np.array([0, 1]))
    with pytest.raises(rg.OpError, match=r"shape \(3,\), got float64\[3\]"):
        rg.nll_loss(x, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(rg.OpError, match=r"needs integer class indices of shape \(2, 3\)"):
        rg.nll_loss(rg.tensor(RNG.standard_normal((2, 4, 3))), np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(rg.OpError, match=r"cross_entropy: input of shape \(3, 4\) needs integer class indices"):
        rg.cross_entropy(rg.tensor(RNG.standard_normal((3, 4))), np.array([True, False, True]))


@requires_torch
@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 4, 3), (2, 4, 3, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_follows_torch_for_every_layout(shape, reduction):
    """(C,) unbatched, (N, C) and (N, C, d1, ...): values and gradients, weighted and ignored entries too."""
    x = RNG.standard_normal(shape)
    batch = () if len(shape) == 1 else (shape[0],) + shape[2:]
    y = np.asarray(RNG.integers(0, 4, batch))
    if y.size > 1:
        y.reshape(-1)[0] = 1  # ignored below
    w = RNG.random(4) + 0.2
    _compare(lambda a, t: rg.nll_loss(a, t, reduction=reduction),
             lambda a, t: F.nll_loss(a, t, reduction=reduction), x, y)
    _compare(lambda a, t: rg.nll_loss(a, t, reduction=reduction, ignore_index=1, weight=w),
             lambda a, t: F.nll_loss(a, t, weight=torch.from_numpy(w), ignore_index=1, reduction=reduction), x, y)


# ---------------------------------------------------------------- gather and Stateful rows
def test_gather_refuses_negative_and_out_of_range_indices():
    x = rg.tensor(RNG.standard_normal((3, 4)))
    with pytest.raises(rg.OpError, match=r"gather: index -1 is out of range \[0, 4\) for axis 1"):
        rg.gather(x, 1, np.array([[0], [-1], [2]]))
    with pytest.raises(rg.OpError, match=r"gather: index 4 is out of range \[0, 4\)"):
        rg.gather(x, 1, np.array([[0], [4], [2]]))
    with pytest.raises(rg.OpError, match=r"gather: index must be int64 or int32 \(as in PyTorch\), got bool"):
        rg.gather(x, 1, np.zeros((3, 1), dtype=bool))
    with pytest.raises(rg.OpError, match=r"gather: axis 2 is out of range"):
        rg.gather(x, 2, np.zeros((3, 1), dtype=np.int64))
    with pytest.raises(rg.OpError, match=r"gather: index of shape \(4, 1\) is larger than the input"):
        rg.gather(x, 1, np.zeros((4, 1), dtype=np.int64))
    with pytest.raises(rg.OpError, match=r"gather: index must have 2 dimensions"):
        rg.gather(x, 1, np.zeros(3, dtype=np.int64))


@requires_torch
@pytest.mark.parametrize("x_shape,axis,index", [
    ((3, 4), -2, [[0, 1, 2, 0]]),      # a negative axis, fewer rows than the input
    ((), 0, 0), ((), 0, [0, 0]),        # a 0-d input counts as 1-d
    ((2,), 0, 1), ((3, 0), 1, np.zeros((3, 0), dtype=np.int64)),
])
def test_gather_matches_torch_at_the_edges(x_shape, axis, index):
    x = RNG.standard_normal(x_shape)
    idx = np.asarray(index, dtype=np.int64)
    _compare(lambda a: rg.gather(a, axis, idx), lambda a: torch.gather(a, axis, torch.from_numpy(idx)), x)


def test_stateful_masks_must_be_boolean():
    rnn = rg.nn.GRU(2, 3)
    model = Stateful(rnn)
    model(rg.tensor(np.ones((5, 4, 2), np.float32)))
    before = model.state.data.copy()
    for mask in (np.array([1, 0, 0, 1]), [0, 1, 1, 0], np.array([0.0, 1.0, 0.0, 0.0])):
        with pytest.raises(rg.OpError, match=r"Stateful.reset: a row mask must be boolean"):
            model.reset(mask)
        with pytest.raises(rg.OpError, match=r"Stateful.detach: a row mask must be boolean"):
            model.detach(mask)
        with pytest.raises(rg.OpError, match=r"stateful: a row mask must be boolean"):
            reset_rows(model.state, mask)
    np.testing.assert_array_equal(model.state.data, before)  # nothing changed
    model.reset([True, False, False, True])
    assert (model.state.data[:, [0, 3]] == 0).all() and (model.state.data[:, 1] == before[:, 1]).all()
    with pytest.raises(rg.OpError, match="must be boolean"):
        Stateful(rnn).reset(np.array([1, 0]))  # refused with no carried state too


def test_remap_refuses_negative_and_out_of_range_rows():
    model = Stateful(rg.nn.GRU(2, 3))
    model(rg.tensor(np.ones((5, 4, 2), np.float32)))
    before = model.state
    with pytest.raises(rg.OpError, match=r"remap: row -1 is out of range \[0, 4\)"):
        model.remap([0, -1])
    with pytest.raises(rg.OpError, match=r"remap: row 4 is out of range \[0, 4\)"):
        model.remap(np.array([4, 0]))
    with pytest.raises(rg.OpError, match=r"remap: index must be a 1-d array of integer row numbers, got bool"):
        model.remap(np.array([True, False, True, True]))
    with pytest.raises(rg.OpError, match=r"got int64\[2, 1\]"):
        select_rows(before, np.array([[0], [1]]))
    assert model.state is before
    model.remap([3, 1])
    np.testing.assert_array_equal(model.state.data, before.data[:, [3, 1]])


# ---------------------------------------------------------------- probability targets, unbatched inputs
@requires_torch
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3), (4,)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_probability_targets_get_their_gradient_like_torch(shape, reduction):
    """d/dy = −log_softmax(z) (scaled by the reduction); it used to be dropped."""
    z = RNG.standard_normal(shape)
    p = _distribution(shape, axis=0 if len(shape) == 1 else 1)
    _compare(lambda a, t: rg.cross_entropy(a, t, reduction=reduction),
             lambda a, t: F.cross_entropy(a, t, reduction=reduction),
             z, p, grad_of=(0, 1))
    yr = rg.tensor(p, requires_grad=True)
    rg.cross_entropy(rg.tensor(z), yr, reduction="sum").backward()
    np.testing.assert_allclose(yr.grad.data, -rg.log_softmax(rg.tensor(z), 0 if len(shape) == 1 else 1).data,
                               rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("target", [2, np.array(0), np.array(-100)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_unbatched_logits_with_a_class_index_like_torch(target, reduction):
    z = RNG.standard_normal(4)
    zr, zt = rg.tensor(z, requires_grad=True), torch.from_numpy(z).requires_grad_()
    yr = rg.cross_entropy(zr, target, reduction=reduction, label_smoothing=0.2)
    yt = F.cross_entropy(zt, torch.as_tensor(target), reduction=reduction, label_smoothing=0.2)
    assert yr.shape == tuple(yt.shape) == ()
    np.testing.assert_allclose(yr.data, yt.detach().numpy(), rtol=1e-12)
    if not np.isnan(yr.item()):
        yr.backward()
        yt.backward()
        np.testing.assert_allclose(zr.grad.data, zt.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- options against PyTorch
@requires_torch
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2), (4,)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25, 1.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_options_match_torch(shape, reduction, label_smoothing, weighted):
    z = RNG.standard_normal(shape)
    w = RNG.random(4) + 0.2 if weighted else None
    tw = None if w is None else torch.from_numpy(w)
    batch = () if len(shape) == 1 else (shape[0],) + shape[2:]
    y = np.asarray(RNG.integers(0, 4, batch))
    if y.size > 1:
        y.reshape(-1)[:2] = [3, 1]
    _compare(lambda a, t: rg.cross_entropy(a, t, w, ignore_index=3, reduction=reduction,
                                           label_smoothing=label_smoothing),
             lambda a, t: F.cross_entropy(a, t, weight=tw, ignore_index=3, reduction=reduction,
                                          label_smoothing=label_smoothing), z, y)
    p = _distribution(shape, axis=0 if len(shape) == 1 else 1)
    _compare(lambda a, t: rg.cross_entropy(a, t, reduction=reduction, weight=w, label_smoothing=label_smoothing),
             lambda a, t: F.cross_entropy(a, t, weight=tw, reduction=reduction, label_smoothing=label_smoothing),
             z, p, grad_of=(0, 1))


@requires_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight_shape,pos_weight_shape", [(None, (4,)), ((3, 1), None), ((4,), (3, 4)), ((), ())])
def test_binary_cross_entropy_with_logits_weights_match_torch(reduction, weight_shape, pos_weight_shape):
    z, y = RNG.standard_normal((3, 4)) * 3, RNG.random((3, 4))
    w = None if weight_shape is None else np.asarray(RNG.random(weight_shape) + 0.2)
    q = None if pos_weight_shape is None else np.asarray(RNG.random(pos_weight_shape) * 3)
    _compare(lambda a, t: rg.binary_cross_entropy_with_logits(a, t, reduction, weight=w, pos_weight=q),
             lambda a, t: F.binary_cross_entropy_with_logits(
                 a, t, weight=None if w is None else torch.from_numpy(w),
                 pos_weight=None if q is None else torch.from_numpy(q), reduction=reduction), z, y, grad_of=(0, 1))


@requires_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight_shape", [None, (4,), (3, 1), (3, 4)])
def test_binary_cross_entropy_weight_matches_torch(reduction, weight_shape):
    p, y = RNG.random((3, 4)) * 0.9 + 0.05, RNG.random((3, 4))
    w = None if weight_shape is None else RNG.random(weight_shape) + 0.2
    _compare(lambda a, t: rg.binary_cross_entropy(a, t, reduction, weight=w),
             lambda a, t: F.binary_cross_entropy(a, t, weight=None if w is None else torch.from_numpy(w),
                                                 reduction=reduction), p, y, grad_of=(0, 1))


@requires_torch
def test_binary_cross_entropy_mixed_second_derivative_matches_torch():
    """∂²ℓ/∂p∂y = −w/(p(1 − p))/n: missing under create_graph before (the target gradient was raw arrays)."""
    p, y, w = RNG.random((3, 4)) * 0.9 + 0.05, RNG.random((3, 4)), RNG.random(4) + 0.5
    pr, yr = rg.tensor(p, requires_grad=True), rg.tensor(y, requires_grad=True)
    (gy,) = rg.grad(rg.binary_cross_entropy(pr, yr, weight=w), [yr], create_graph=True)
    (hp,) = rg.grad(gy.sum(), [pr])
    pt, yt = torch.from_numpy(p).requires_grad_(), torch.from_numpy(y).requires_grad_()
    (gyt,) = torch.autograd.grad(F.binary_cross_entropy(pt, yt, weight=torch.from_numpy(w)), [yt], create_graph=True)
    (hpt,) = torch.autograd.grad(gyt.sum(), [pt])
    np.testing.assert_allclose(hp.data, hpt.numpy(), rtol=1e-12)
    np.testing.assert_allclose(hp.data, -w / (p * (1 - p)) / p.size, rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("input_dtype,weight_dtype", [(np.float32, np.float64), (np.float64, np.float32)])
def test_binary_losses_compute_in_the_input_dtype_whatever_the_weights(input_dtype, weight_dtype):
    z, y, w = (RNG.standard_normal((3, 4)).astype(input_dtype), RNG.random((3, 4)).astype(input_dtype),
               (RNG.random(4) + 0.5).astype(weight_dtype))
    for rg_fn, torch_fn in ((rg.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits),
                            (lambda a, t, **k: rg.binary_cross_entropy(rg.sigmoid(a), t, **k),
                             lambda a, t, **k: F.binary_cross_entropy(torch.sigmoid(a), t, **k))):
        for options in ({"weight": w}, {"pos_weight": w} if rg_fn is rg.binary_cross_entropy_with_logits else {}):
            ours = rg_fn(rg.tensor(z), rg.tensor(y), reduction="none", **options)
            theirs = torch_fn(torch.from_numpy(z), torch.from_numpy(y), reduction="none",
                              **{k: torch.from_numpy(v) for k, v in options.items()})
            assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch.")) == input_dtype
            np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-5)


def test_empty_inputs_give_a_nan_mean_like_torch():
    empty = rg.tensor(np.zeros((0, 3)))
    assert np.isnan(rg.binary_cross_entropy(empty, empty).item())
    assert np.isnan(rg.binary_cross_entropy_with_logits(empty, empty).item())
    assert np.isnan(rg.cross_entropy(empty, np.zeros(0, dtype=np.int64)).item())
    assert np.isnan(rg.cross_entropy(empty, np.zeros((0, 3))).item())
    assert rg.cross_entropy(empty, np.zeros(0, dtype=np.int64), reduction="sum").item() == 0


# ---------------------------------------------------------------- fused = composed, both backward paths
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2), (4,)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fused_cross_entropy_equals_the_composed_form_with_options(shape, reduction):
    """cross_entropy (fused: softmax·ΣT − T in one step) = −Σ T·log_softmax(z), composed from
    primitives, in value and gradient — for index targets with weight, label smoothing and an
    ignored class, and for probability targets (input and target gradients)."""
    axis = 0 if len(shape) == 1 else 1
    c, eps = 4, 0.3
    w = RNG.random(c) + 0.2
    w_c = w.reshape((-1,) + (1,) * (len(shape) - 2)) if axis else w
    z = rg.tensor(RNG.standard_normal(shape), requires_grad=True)
    batch = () if axis == 0 else (shape[0],) + shape[2:]
    y = np.array(RNG.integers(0, c, batch))
    y.reshape(-1)[:2] = [2, 0] if y.size > 1 else [3]  # one ignored entry (the composed mean needs one counted)
    keep = y != 2
    onehot = np.moveaxis(np.eye(c)[np.where(keep, y, 0)], -1, axis)
    t = ((1 - eps) * onehot + eps / c) * w_c * np.expand_dims(keep, axis)
    per_row = -(rg.log_softmax(z, axis) * t).sum(axis=axis)
    denominator = (w[np.where(keep, y, 0)] * keep).sum()
    composed = {"none": per_row, "sum": per_row.sum(), "mean": per_row.sum() / denominator}[reduction]
    fused = rg.cross_entropy(z, y, reduction=reduction, ignore_index=2, weight=w, label_smoothing=eps)
    _assert_same_value_and_gradients(fused, composed, [z])
    # and the plain fast path (softmax − onehot) against nll_loss(log_softmax)
    _assert_same_value_and_gradients(rg.cross_entropy(z, y, reduction=reduction, ignore_index=2),
                                     rg.nll_loss(rg.log_softmax(z, axis), y, reduction=reduction, ignore_index=2), [z])
    p = rg.tensor(_distribution(shape, axis), requires_grad=True)
    per_row = -(rg.log_softmax(z, axis) * ((1 - eps) * p + eps / c) * w_c).sum(axis=axis)
    rows = per_row.size if per_row.shape else 1
    composed = {"none": per_row, "sum": per_row.sum(), "mean": per_row.sum() / rows}[reduction]
    _assert_same_value_and_gradients(rg.cross_entropy(z, p, reduction=reduction, weight=w, label_smoothing=eps),
                                     composed, [z, p])


def _assert_same_value_and_gradients(fused, composed, inputs):
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12)
    v = rg.tensor(RNG.standard_normal(fused.shape))
    first = rg.grad(fused, inputs, grad_outputs=v, retain_graph=True)
    differentiable = rg.grad(fused, inputs, grad_outputs=v, create_graph=True)  # the vjp's create_graph path
    reference = rg.grad(composed, inputs, grad_outputs=v)
    for a, b, r in zip(first, differentiable, reference):
        np.testing.assert_allclose(a.data, r.data, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(b.data, r.data, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("case", ["indices", "probabilities", "unbatched"])
def test_cross_entropy_options_second_order(case):
    w = RNG.random(4) + 0.2
    if case == "indices":
        arrays, f = [RNG.standard_normal((3, 4))], lambda z: rg.cross_entropy(
            z, np.array([0, 3, 1]), ignore_index=0, weight=w, label_smoothing=0.2)
    elif case == "probabilities":
        arrays = [RNG.standard_normal((3, 4)), _distribution((3, 4))]
        f = lambda z, p: rg.cross_entropy(z, p, weight=w, label_smoothing=0.2)  # noqa: E731
    else:
        arrays = [RNG.standard_normal(4), _distribution((4,), 0)]
        f = lambda z, p: rg.cross_entropy(z, p, reduction="none", label_smoothing=0.2)  # noqa: E731
    assert rg.gradcheck(f, arrays).ok
    assert rg.gradgradcheck(lambda *xs: f(*xs) * f(*xs), arrays).ok


# ---------------------------------------------------------------- softmax outputs given as logits
def test_softmax_outputs_warn_once_naming_nll_loss(monkeypatch):
    monkeypatch.setattr(cross_entropy_module, "_warned_probability_input", False)
    probs = rg.softmax(rg.tensor(RNG.standard_normal((5, 3))), 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rg.cross_entropy(rg.tensor(RNG.standard_normal((5, 3))), np.array([0, 1, 2, 1, 0]))  # logits: no warning
        assert not caught
        rg.cross_entropy(probs, np.array([0, 1, 2, 1, 0]))
        rg.cross_entropy(probs, np.array([0, 1, 2, 1, 0]))  # once per process
        rg.cross_entropy(rg.tensor([0.2, 0.8]), 1)           # unbatched too, but already warned
    assert len(caught) == 1
    assert issubclass(caught[0].category, UserWarning)
    assert "nll_loss(rg.log(p), target)" in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the caller


@pytest.mark.parametrize("logits", [np.array([[0.2, 0.8], [0.5, 0.6]]),      # a row not summing to 1
                                    np.array([[1.0], [1.0]]),                # one class: nothing to get wrong
                                    np.array([[np.nan, 1.0], [0.5, 0.5]]),
                                    np.array([[1.5, -0.5], [0.5, 0.5]])])    # sums to 1, not in [0, 1]
def test_inputs_that_are_not_probabilities_do_not_warn(monkeypatch, logits):
    monkeypatch.setattr(cross_entropy_module, "_warned_probability_input", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rg.cross_entropy(rg.tensor(logits), np.zeros(2, dtype=np.int64))


# ---------------------------------------------------------------- refusals
def test_loss_options_are_refused_when_torch_refuses_them():
    z = rg.tensor(RNG.standard_normal((3, 4)))
    y = np.array([0, 1, 2])
    cases = [
        (lambda: rg.cross_entropy(z, y, weight=rg.tensor(np.ones(4), requires_grad=True)),
         "cross_entropy: weight requires a gradient"),
        (lambda: rg.nll_loss(z, y, weight=rg.tensor(np.ones(4), requires_grad=True)), "nll_loss: weight requires"),
        (lambda: rg.binary_cross_entropy_with_logits(z, z, pos_weight=rg.tensor(np.ones(4), requires_grad=True)),
         "binary_cross_entropy_with_logits: pos_weight requires a gradient"),
        (lambda: rg.cross_entropy(z, y, weight=np.ones(3)), r"weight must hold one value per class, shape \(4,\)"),
        (lambda: rg.nll_loss(z, y, weight=np.ones((1, 4))), r"nll_loss: weight must be floating-point with one"),
        (lambda: rg.cross_entropy(z, y, weight=np.ones(4, np.float32)), "weight dtype float32 differs"),
        (lambda: rg.cross_entropy(z, y, weight=np.ones(4, np.int64)), "weight must be floating-point"),
        (lambda: rg.cross_entropy(z, y, "sum"), r"weight must be a tensor of weights, got the string 'sum'; .*by name"),
        (lambda: rg.cross_entropy(z, y, label_smoothing=1.5), r"label_smoothing must be a number in \[0, 1\]"),
        (lambda: rg.cross_entropy(z, y, label_smoothing=-0.1), r"label_smoothing must be a number in \[0, 1\]"),
        (lambda: rg.cross_entropy(z, _distribution((3, 4)), ignore_index=1), "ignore_index applies to class-index"),
        (lambda: rg.cross_entropy(rg.tensor(1.0), np.array(0)), "cross_entropy: input must be"),
        (lambda: rg.cross_entropy(z, np.zeros(4)), r"probability targets must have the input's shape \(3, 4\)"),
        (lambda: rg.binary_cross_entropy_with_logits(z, z, weight=np.ones((2, 3, 4))),
         r"weight of shape \(2, 3, 4\) does not broadcast to the input's shape \(3, 4\)"),
        (lambda: rg.binary_cross_entropy_with_logits(z, z, pos_weight=np.ones(3)), "pos_weight of shape"),
        (lambda: rg.binary_cross_entropy(rg.sigmoid(z), np.ones((3, 4), np.int64)), "target dtype int64 differs"),
        (lambda: rg.binary_cross_entropy(rg.sigmoid(z), rg.sigmoid(z), weight=np.ones(3)), "weight of shape"),
        (lambda: rg.binary_cross_entropy_with_logits(z, z[0]), r"logits shape \(3, 4\) and target shape \(4,\)"),
    ]
    for call, message in cases:
        with pytest.raises(rg.OpError, match=message):
            call()


# ---------------------------------------------------------------- a device backend
def _option_losses(z, p, y):
    w = backend.xp.asarray(np.array([0.5, 1.5, 1.0, 2.0]))
    return (rg.cross_entropy(z, y, weight=w, label_smoothing=0.2, ignore_index=1)
            + rg.cross_entropy(z, p, weight=w, label_smoothing=0.1)
            + rg.cross_entropy(z[0], 2, label_smoothing=0.3)
            + rg.nll_loss(rg.log_softmax(z, 1), y, weight=w, ignore_index=0)
            + rg.binary_cross_entropy_with_logits(z, p, weight=w, pos_weight=w)
            + rg.binary_cross_entropy(rg.sigmoid(z), p, weight=w)
            + rg.gather(z, 1, np.array([[0], [3], [1]])).sum())


def test_loss_options_run_on_a_device_backend_and_agree_with_numpy():
    """The option paths (both vjp branches) do all array work through backend.xp."""
    z, p, y = RNG.standard_normal((3, 4)), _distribution((3, 4)), np.array([0, 1, 3])
    results = []
    for module in (shim, "numpy"):
        backend.set_backend(module)
        try:
            zt, pt = rg.tensor(backend.xp.asarray(z), requires_grad=True), rg.tensor(backend.xp.asarray(p),
                                                                                     requires_grad=True)
            loss = _option_losses(zt, pt, y)
            gz, gp = rg.grad(loss, [zt, pt], create_graph=True)
            (hz,) = rg.grad((gz * gz).sum() + (gp * gp).sum(), [zt])
            results.append([backend.to_numpy(t.data) for t in (loss, gz, gp, hz)])
        finally:
            backend.set_backend("numpy")
    for on_device, on_numpy in zip(*results):
        np.testing.assert_allclose(on_device, on_numpy, rtol=1e-12)


@requires_torch
def test_nll_loss_takes_uint8_targets_as_pytorch():
    """PyTorch's nll_loss (and cross_entropy) take Byte targets: same value and gradient."""
    x = np.random.default_rng(0).standard_normal((3, 4))
    t = np.array([0, 1, 3], dtype=np.uint8)
    xr = rg.tensor(x, requires_grad=True)
    loss = rg.nll_loss(xr, rg.tensor(t))
    loss.backward()
    xt = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.nll_loss(xt, torch.tensor(t))
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(xr.grad.data, xt.grad.numpy(), rtol=1e-12)
