"""``F.embedding_bag`` / ``nn.EmbeddingBag`` and Embedding's ``scale_grad_by_freq`` against PyTorch
2.13: values and gradients (of the table and of ``per_sample_weights``) in float64 for every mode
with padding, empty bags, ties, ``include_last_offset`` and 2-D input; float32 kept; the module's
parameters, repr and ``from_pretrained``; the errors.

Two places where PyTorch's CPU kernel contradicts its own documentation are held to the
documentation instead (and to the CUDA kernel): ``scale_grad_by_freq`` divides each row's
gradient by its id's count (the CPU bag kernel reads the wrong count, pytorch/pytorch#190063, so
that case is compared with ``F.embedding``'s scaling, which is right), and with
``include_last_offset`` the last offset ends the last bag (CSR)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import nn
from retrograd.nn import functional as F

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None

RNG = np.random.default_rng(3)
TABLE = RNG.standard_normal((7, 3))
TABLE[5] = TABLE[2]  # ties for the max: the first row in the bag gets the gradient
IDS = np.array([1, 2, 4, 5, 4, 3, 2, 0, 6, 5])
OFFSETS = np.array([0, 2, 2, 5])  # bag 1 is empty

CASES = [(mode, pad, last, psw) for mode, pad, last, psw in
         itertools.product(["sum", "mean", "max"], [None, 4, -2], [False, True], [False, True])
         if not (psw and mode != "sum")]


def _run(lib, ids, table, offsets, psw, **kwargs):
    """``embedding_bag`` of one library on fresh leaves; returns (output, table, psw)."""
    tensor = rg.tensor if lib is rg else torch.tensor
    w = tensor(table, requires_grad=True)
    p = None if psw is None else tensor(psw, requires_grad=True)
    fn = F.embedding_bag if lib is rg else TF.embedding_bag
    out = fn(tensor(ids), w, None if offsets is None else tensor(offsets), per_sample_weights=p, **kwargs)
    return out, w, p


def _compare(ids, offsets, psw, rtol=1e-12, **kwargs):
    ours, w, p = _run(rg, ids, TABLE, offsets, psw, **kwargs)
    theirs, tw, tp = _run(torch, ids, TABLE, offsets, psw, **kwargs)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float64
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=1e-14)
    g = RNG.standard_normal(ours.shape)
    ours.backward(rg.tensor(g))
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=rtol, atol=1e-14)
    if psw is not None:
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=rtol, atol=1e-14)


@requires_torch
@pytest.mark.parametrize("mode, padding_idx, include_last_offset, weighted", CASES,
                         ids=[f"{m}-pad{p}-last{int(last)}-w{int(w)}" for m, p, last, w in CASES])
def test_embedding_bag_values_and_gradients_like_torch(mode, padding_idx, include_last_offset, weighted):
    offsets = np.r_[OFFSETS, len(IDS)] if include_last_offset else OFFSETS
    psw = RNG.standard_normal(IDS.shape) if weighted else None
    _compare(IDS, offsets, psw, mode=mode, padding_idx=padding_idx, include_last_offset=include_last_offset)


@requires_torch
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_a_2d_input_is_bags_of_equal_length_like_torch(mode):
    ids = RNG.integers(0, 7, (3, 4))
    psw = RNG.standard_normal(ids.shape) if mode == "sum" else None
    _compare(ids, None, psw, mode=mode, padding_idx=3)
    _compare(np.zeros((0, 4), np.int64), None, None, mode=mode)


@requires_torch
def test_float32_int32_and_max_norm_like_torch():
    ours = F.embedding_bag(rg.tensor(IDS.astype(np.int32)), rg.tensor(TABLE.astype(np.float32)),
                           rg.tensor(OFFSETS.astype(np.int32)))
    theirs = TF.embedding_bag(torch.tensor(IDS, dtype=torch.int32), torch.tensor(TABLE, dtype=torch.float32),
                              torch.tensor(OFFSETS, dtype=torch.int32))
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)
    table, ttable = rg.tensor(TABLE * 3), torch.tensor(TABLE * 3)
    out = F.embedding_bag(rg.tensor(IDS), table, rg.tensor(OFFSETS), max_norm=1.5, mode="sum")
    tout = TF.embedding_bag(torch.tensor(IDS), ttable, torch.tensor(OFFSETS), max_norm=1.5, mode="sum")
    np.testing.assert_allclose(out.data, tout.numpy(), rtol=1e-12)
    np.testing.assert_allclose(table.data, ttable.numpy(), rtol=1e-12)  # the picked rows renormalised in place


@requires_torch
@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq_divides_each_rows_gradient_by_its_count(mode):
    """The reference: F.embedding's scaling (correct on CPU) on the flat ids, then summed or
    averaged per bag with torch ops."""
    _, w, _ = out_w = _run(rg, IDS, TABLE, OFFSETS, None, mode=mode, scale_grad_by_freq=True)
    tw = torch.tensor(TABLE, requires_grad=True)
    rows = TF.embedding(torch.tensor(IDS), tw, scale_grad_by_freq=True)
    ends = list(OFFSETS[1:]) + [len(IDS)]
    bags = [rows[s:e].sum(0) if mode == "sum" else rows[s:e].sum(0) / max(e - s, 1) for s, e in zip(OFFSETS, ends)]
    reference = torch.stack(bags)
    np.testing.assert_allclose(out_w[0].data, reference.detach().numpy(), rtol=1e-12)
    g = RNG.standard_normal(reference.shape)
    out_w[0].backward(rg.tensor(g))
    reference.backward(torch.tensor(g))
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-12)
    # where every id occurs as often as every other, torch's CPU bag kernel agrees
    _compare(np.array([3, 1, 3, 1]), np.array([0, 1]), None, mode=mode, scale_grad_by_freq=True)


@requires_torch
@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding_scale_grad_by_freq_like_torch(padding_idx):
    ids = np.array([[1, 1, 2], [1, 0, 0]])
    layer, tlayer = nn.Embedding(5, 2, padding_idx=padding_idx, scale_grad_by_freq=True).double(), \
        torch.nn.Embedding(5, 2, padding_idx=padding_idx, scale_grad_by_freq=True).double()
    layer.load_state_dict(tlayer.state_dict())
    assert repr(layer) == repr(tlayer)
    g = RNG.standard_normal((2, 3, 2))
    layer(rg.tensor(ids)).backward(rg.tensor(g))
    tlayer(torch.tensor(ids)).backward(torch.tensor(g))
    np.testing.assert_allclose(layer.weight.grad.data, tlayer.weight.grad.numpy(), rtol=1e-12)
    w, tw = rg.tensor(TABLE, requires_grad=True), torch.tensor(TABLE, requires_grad=True)
    F.embedding(rg.tensor(ids), w, scale_grad_by_freq=True).sum().backward()
    TF.embedding(torch.tensor(ids), tw, scale_grad_by_freq=True).sum().backward()
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-12)
    with pytest.raises(rg.OpError, match="sparse=True is not implemented"):
        nn.Embedding(5, 2, sparse=True)


# ---------------------------------------------------------------- the module
@requires_torch
def test_embedding_bag_module_like_torch():
    ours, theirs = nn.EmbeddingBag(7, 3, mode="max", padding_idx=-1), torch.nn.EmbeddingBag(7, 3, mode="max",
                                                                                             padding_idx=-1)
    assert repr(ours) == repr(theirs) == "EmbeddingBag(7, 3, mode='max', padding_idx=6)"
    assert list(ours.state_dict()) == ["weight"] and ours.weight.dtype == np.float32
    assert (ours.weight.data[6] == 0).all()
    ours.double().load_state_dict(theirs.double().state_dict())
    out, tout = ours(rg.tensor(IDS), rg.tensor(OFFSETS)), theirs(torch.tensor(IDS), torch.tensor(OFFSETS))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-12)
    frozen = nn.EmbeddingBag.from_pretrained(rg.tensor(TABLE), mode="sum", include_last_offset=True)
    tfrozen = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(TABLE), mode="sum", include_last_offset=True)
    assert not frozen.weight.requires_grad and frozen.include_last_offset
    ids, offsets = np.array([1, 2, 3]), np.array([0, 1, 3])
    np.testing.assert_allclose(frozen(rg.tensor(ids), rg.tensor(offsets)).data,
                               tfrozen(torch.tensor(ids), torch.tensor(offsets)).numpy(), rtol=1e-12)
    assert nn.EmbeddingBag.from_pretrained(rg.tensor(TABLE), freeze=False).weight.requires_grad


# ---------------------------------------------------------------- errors
W = TABLE
ERRORS = [
    ("mode", lambda f, t: f(t(IDS), t(W), t(OFFSETS), mode="min"), "mode has to be one of sum, mean or max"),
    ("psw with mean", lambda f, t: f(t(IDS), t(W), t(OFFSETS), per_sample_weights=t(np.ones(10))),
     "only supported for mode='sum'"),
    ("psw shape", lambda f, t: f(t(IDS), t(W), t(OFFSETS), mode="sum", per_sample_weights=t(np.ones(9))),
     "must have the same shape as the input"),
    ("psw dtype", lambda f, t: f(t(IDS), t(W), t(OFFSETS), mode="sum", per_sample_weights=t(np.ones(10, np.float32))),
     "per_sample_weights"),
    ("2-D with offsets", lambda f, t: f(t(IDS.reshape(2, 5)), t(W), t(OFFSETS)), "offsets has to be None"),
    ("1-D without offsets", lambda f, t: f(t(IDS), t(W)), "offsets has to be a 1D Tensor but got None"),
    ("3-D input", lambda f, t: f(t(IDS.reshape(1, 2, 5)), t(W)), "input has to be 1D or 2D"),
    ("1-D weight", lambda f, t: f(t(IDS), t(W[0]), t(OFFSETS)), "weight has to be a 2D Tensor"),
    ("id too large", lambda f, t: f(t(np.array([7])), t(W), t(np.array([0]))), "idx < num_embeddings"),
    ("negative id", lambda f, t: f(t(np.array([-1])), t(W), t(np.array([0]))), "idx >= 0"),
    ("float ids", lambda f, t: f(t(IDS * 1.0), t(W), t(OFFSETS)), "scalar types: Long, Int"),
    ("int table", lambda f, t: f(t(IDS), t(np.ones((7, 3), np.int64)), t(OFFSETS)), "scalar types"),
    ("padding_idx", lambda f, t: f(t(IDS), t(W), t(OFFSETS), padding_idx=7), "padding_idx must be within"),
    ("first offset", lambda f, t: f(t(IDS), t(W), t(np.array([1, 2]))), "offsets\\[0\\] has to be 0"),
    ("last offset", lambda f, t: f(t(IDS), t(W), t(np.array([0, 11]))), "can not be greater than input's length"),
    ("max with freq", lambda f, t: f(t(IDS), t(W), t(OFFSETS), mode="max", scale_grad_by_freq=True),
     "max mode does not support scaling"),
    ("max sparse", lambda f, t: f(t(IDS), t(W), t(OFFSETS), mode="max", sparse=True), "max mode does not support"),
]


@requires_torch
@pytest.mark.parametrize("what, call, match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_are_pytorchs(what, call, match):
    with pytest.raises(Exception) as caught:
        call(TF.embedding_bag, torch.tensor)
    with pytest.raises(type(caught.value), match=match):
        call(F.embedding_bag, rg.tensor)


def test_offsets_must_not_decrease_and_must_leave_no_entry_without_a_bag():
    """PyTorch's CPU kernel computes something for these (and crashes on empty offsets); refused here."""
    with pytest.raises(RuntimeError, match="offsets must be non-decreasing"):
        F.embedding_bag(rg.tensor(IDS), rg.tensor(W), rg.tensor(np.array([0, 3, 2])))
    with pytest.raises(RuntimeError, match="leaves the 10 entries of the input in no bag"):
        F.embedding_bag(rg.tensor(IDS), rg.tensor(W), rg.tensor(np.zeros(0, np.int64)))
    with pytest.raises(rg.OpError, match="sparse=True is not implemented"):
        F.embedding_bag(rg.tensor(IDS), rg.tensor(W), rg.tensor(OFFSETS), sparse=True)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.EmbeddingBag(3, 2, padding_idx=3)


def test_include_last_offset_ends_the_last_bag_at_the_last_offset():
    out = F.embedding_bag(rg.tensor(IDS), rg.tensor(W), rg.tensor(np.array([0, 2, 5])), mode="sum",
                          include_last_offset=True)
    np.testing.assert_allclose(out.data, [W[[1, 2]].sum(0), W[[4, 5, 4]].sum(0)])
