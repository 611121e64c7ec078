"""torch's top-level forms of nn.functional (nn/torch_functional_namespace.py: ``rg.dropout``,
``rg.layer_norm``, ``rg.batch_norm``, ``rg.embedding``, ``rg.embedding_bag``, ``rg.kl_div`` …) against
torch 2.13, in ATen's argument order:

- values, dtypes and gradients of a random-weighted sum of the outputs (float64, ``torch_compare``),
  the losses under each integer reduction, ``embedding_bag``'s four outputs, the running statistics
  ``batch_norm`` updates;
- dropout by its properties (the mask's rate and scale, eval returns the input itself);
- the in-place forms and the errors (exception type and gist).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import torch
from torch_compare import compare, same_error

pytestmark = [requires_torch]

R = np.random.default_rng(5)


def _r(*shape):
    return R.standard_normal(shape)


def _i(values):
    return np.asarray(values, dtype=np.int64)


X = _r(2, 3, 4)
SIGN = np.array([1.0, -1.0, 1.0, -1.0])
RM, RV = _r(3), R.uniform(0.5, 2.0, 3)

CASES = {
    "celu": (lambda m, x: m.celu(x, 0.7), [X]),
    "prelu": (lambda m, x, w: m.prelu(x, w), [X, _r(3)]),
    "rrelu_eval": (lambda m, x: m.rrelu(x, 0.1, 0.3), [X]),
    "hardshrink": (lambda m, x: m.hardshrink(x, 0.4), [X]),
    "threshold": (lambda m, x: m.threshold(x, 0.1, -2.0), [X]),
    "layer_norm": (lambda m, x, w, b: m.layer_norm(x, [3, 4], w, b, 1e-3), [X, _r(3, 4), _r(3, 4)]),
    "layer_norm_list_shape": (lambda m, x: m.layer_norm(x, [4]), [X]),
    "rms_norm": (lambda m, x, w: m.rms_norm(x, [4], w), [X, _r(4)]),
    "rms_norm_eps": (lambda m, x: m.rms_norm(x, (3, 4), None, 0.1), [X]),
    "group_norm": (lambda m, x, w, b: m.group_norm(x, 3, w, b), [_r(2, 6, 2), _r(6), _r(6)]),
    "batch_norm_train": (lambda m, x, w, b: m.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
                         [X, _r(3), _r(3)]),
    "batch_norm_eval": (lambda m, x, w: m.batch_norm(x, w, None, m.tensor(RM), m.tensor(RV), False, 0.1, 1e-5, True),
                        [X, _r(3)]),
    "instance_norm": (lambda m, x, w, b: m.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
                      [X, _r(3), _r(3)]),
    "instance_norm_running": (lambda m, x: m.instance_norm(x, None, None, m.tensor(RM), m.tensor(RV), False, 0.1,
                                                           1e-5, False), [X]),
    "embedding": (lambda m, w, i: m.embedding(w, i), [_r(5, 3), _i([[0, 4], [2, 4]])]),
    "embedding_padding": (lambda m, w, i: m.embedding(w, i, 4), [_r(5, 3), _i([[0, 4], [2, 4]])]),
    "embedding_negative_padding_is_none": (lambda m, w, i: m.embedding(w, i, -2), [_r(5, 3), _i([0, 3, 3])]),
    "embedding_padding_out_of_range": (lambda m, w, i: m.embedding(w, i, 9), [_r(5, 3), _i([0, 3])]),
    "embedding_scale_grad_by_freq": (lambda m, w, i: m.embedding(w, i, -1, True), [_r(5, 3), _i([0, 3, 3, 3])]),
    "cosine_similarity": (lambda m, a, b: m.cosine_similarity(a, b, 2), [X, _r(2, 3, 4)]),
    "pairwise_distance": (lambda m, a, b: m.pairwise_distance(a, b, 1.5, 1e-6, True), [_r(3, 4), _r(3, 4)]),
    "pixel_shuffle": (lambda m, x: m.pixel_shuffle(x, 2), [_r(1, 8, 2, 3)]),
    "pixel_unshuffle": (lambda m, x: m.pixel_unshuffle(x, 2), [_r(1, 2, 4, 2)]),
    "channel_shuffle": (lambda m, x: m.channel_shuffle(x, 2), [_r(1, 4, 2, 2)]),
    "native_channel_shuffle": (lambda m, x: m.native_channel_shuffle(x, 3), [_r(2, 6, 2)]),
    "bilinear": (lambda m, a, b, w, c: m.bilinear(a, b, w, c), [_r(3, 2), _r(3, 4), _r(5, 2, 4), _r(5)]),
    "avg_pool1d": (lambda m, x: m.avg_pool1d(x, 3, 2, 1, True, False), [_r(2, 3, 7)]),
    "avg_pool1d_default_stride": (lambda m, x: m.avg_pool1d(x, 2), [_r(2, 3, 7)]),
    "max_pool1d": (lambda m, x: m.max_pool1d(x, 2, 1, 1, 2), [_r(2, 3, 7)]),
    "max_pool1d_with_indices": (lambda m, x: m.max_pool1d_with_indices(x, 3, ceil_mode=True), [_r(2, 3, 7)]),
    "max_pool3d": (lambda m, x: m.max_pool3d(x, 2, padding=1), [_r(1, 2, 3, 3, 3)]),
    "adaptive_avg_pool1d": (lambda m, x: m.adaptive_avg_pool1d(x, 3), [_r(2, 3, 7)]),
    "adaptive_max_pool1d_pair": (lambda m, x: m.adaptive_max_pool1d(x, 3), [_r(2, 3, 7)]),
    **{f"kl_div_{k}": (lambda m, x, t, k=k: m.kl_div(x, t, k), [X, R.uniform(0.1, 1, (2, 3, 4))]) for k in (0, 1, 2, 3)},
    "kl_div_log_target": (lambda m, x, t: m.kl_div(x, t, 2, log_target=True), [X, _r(2, 3, 4)]),
    **{f"margin_ranking_{k}": (lambda m, a, b, k=k: m.margin_ranking_loss(a, b, m.tensor(SIGN), 0.3, k),
                               [_r(4), _r(4)]) for k in (0, 1, 2)},
    **{f"hinge_embedding_{k}": (lambda m, x, k=k: m.hinge_embedding_loss(x, m.tensor(SIGN), 0.5, k), [_r(4)])
       for k in (0, 1, 2)},
    **{f"cosine_embedding_{k}": (lambda m, a, b, k=k: m.cosine_embedding_loss(a, b, m.tensor(SIGN), 0.1, k),
                                 [_r(4, 3), _r(4, 3)]) for k in (0, 1, 2)},
    **{f"poisson_nll_{k}": (lambda m, x, t, k=k: m.poisson_nll_loss(x, t, True, True, 1e-8, k),
                            [_r(3, 4), R.uniform(0, 5, (3, 4))]) for k in (0, 1, 2)},
    "poisson_nll_not_log": (lambda m, x, t: m.poisson_nll_loss(x, t, False, False, 0.1, 1),
                            [R.uniform(0.1, 2, (3, 4)), R.uniform(0, 5, (3, 4))]),
    **{f"triplet_margin_{k}": (lambda m, a, p, n, k=k: m.triplet_margin_loss(a, p, n, 0.5, 2.0, 1e-6, True, k),
                               [_r(4, 3), _r(4, 3), _r(4, 3)]) for k in (0, 1, 2)},
    "kl_div_default_none": (lambda m, x, t: m.kl_div(x, t), [X, R.uniform(0.1, 1, (2, 3, 4))]),
    "margin_ranking_default_none": (lambda m, a, b: m.margin_ranking_loss(a, b, m.tensor(SIGN)), [_r(4), _r(4)]),
    "hinge_embedding_default_none": (lambda m, x: m.hinge_embedding_loss(x, m.tensor(SIGN)), [_r(4)]),
    "cosine_embedding_default_none": (lambda m, a, b: m.cosine_embedding_loss(a, b, m.tensor(SIGN)), [_r(4, 3), _r(4, 3)]),
    "triplet_margin_default_none": (lambda m, a, p, n: m.triplet_margin_loss(a, p, n), [_r(4, 3), _r(4, 3), _r(4, 3)]),
    "ctc_default_none": (lambda m, lp: m.ctc_loss(m.log_softmax(lp, 2), m.tensor(_i([[1, 2], [2, 1]])), [5, 4], [2, 1]),
                         [_r(5, 2, 3)]),
    **{f"ctc_{k}": (lambda m, lp, k=k: m.ctc_loss(m.log_softmax(lp, 2), m.tensor(_i([[1, 2], [2, 2]])), [5, 4], [2, 2],
                                                  0, k), [_r(5, 2, 3)]) for k in (0, 1, 2, 5)},
}


NO_GRADIENT = {"native_channel_shuffle"}  # torch: "derivative for aten::native_channel_shuffle is not implemented"
LOOSE = {"celu": 1e-7}  # torch's celu gradient is 2e-8 off exp(x/α) in float64; retrograd's is exact


@pytest.mark.parametrize("name", CASES)
def test_matches_torch(name):
    fn, arrays = CASES[name]
    compare(lambda *a: fn(rg, *a), lambda *a: fn(torch, *a), *arrays, grad=name not in NO_GRADIENT,
            rtol=LOOSE.get(name, 1e-10))


def test_kl_div_mean_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rg.kl_div(rg.zeros(2, 3), rg.ones(2, 3))


def test_batch_norm_updates_running_statistics_as_torch():
    x = _r(4, 3, 2)
    stats = {m: (m.tensor(RM.copy()), m.tensor(RV.copy())) for m in (rg, torch)}
    for m in (rg, torch):
        m.batch_norm(m.tensor(x), None, None, *stats[m], True, 0.3, 1e-5, False)
    for ours, theirs in zip(stats[rg], stats[torch]):
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)


# ---------------------------------------------------------------- embedding_bag: ATen's four outputs
WEIGHT = _r(10, 3)
BAGS = {
    "sum": (_i([1, 2, 4, 5, 4, 3]), _i([0, 2]), 0, {}),
    "mean_empty_bag": (_i([1, 2, 4, 5, 4, 3]), _i([0, 2, 2]), 1, {}),
    "max_empty_bag": (_i([1, 2, 4, 5, 4, 3]), _i([0, 2, 2]), 2, {}),
    "sum_padding": (_i([1, 2, 4, 5, 4, 3]), _i([0, 2, 2]), 0, {"padding_idx": 4}),
    "mean_padding": (_i([1, 2, 4, 5, 4, 3]), _i([0, 2, 2]), 1, {"padding_idx": 4}),
    "max_negative_padding": (_i([1, 2, 4, 5, 4, 3]), _i([0, 2, 4]), 2, {"padding_idx": -6}),
    "max_last_offset": (_i([1, 2, 4, 5, 4, 3]), _i([0, 2, 6]), 2, {"include_last_offset": True}),
    "sum_weights": (_i([1, 2, 4, 5, 4, 3]), _i([0, 2, 4]), 0, {"per_sample_weights": _r(6)}),
    "int32": (_i([1, 2, 4, 5]).astype(np.int32), _i([0, 1]).astype(np.int32), 1, {}),
    "float32_sum_fast_path": (_i([1, 2, 4, 5]), _i([0, 1]), 0, {"dtype": np.float32}),
    "max_ignores_scale_grad_by_freq": (_i([1, 1, 2, 1]), _i([0, 2]), 2, {"scale_grad_by_freq": True}),
}


@pytest.mark.parametrize("name", BAGS)
def test_embedding_bag_matches_torch(name):
    idx, offsets, mode, options = BAGS[name]
    options = dict(options)
    weight = WEIGHT.astype(options.pop("dtype", np.float64))
    psw = options.get("per_sample_weights")

    def run(m, w, *weights):
        return m.embedding_bag(w, m.tensor(idx), m.tensor(offsets), options.get("scale_grad_by_freq", False), mode,
                               False, *(weights or (None,)),
                               options.get("include_last_offset", False), options.get("padding_idx"))
    compare(lambda *a: run(rg, *a), lambda *a: run(torch, *a), weight, *([] if psw is None else [psw]),
            rtol=1e-6 if weight.dtype == np.float32 else 1e-10)


def test_embedding_bag_refuses_two_d_indices():
    # torch's float64 kernel fails on them (its float32 fast path flattens them): refused, with a clear error
    same_error(lambda: rg.embedding_bag(rg.tensor(WEIGHT), rg.tensor(_i([[1, 2], [3, 4]])), rg.tensor(_i([0, 1]))),
               lambda: torch.embedding_bag(torch.tensor(WEIGHT), torch.tensor(_i([[1, 2], [3, 4]])),
                                           torch.tensor(_i([0, 1]))))


def test_embedding_renorm_in_place_as_torch():
    weights = {m: m.tensor(WEIGHT * 3) for m in (rg, torch)}
    for m in (rg, torch):
        out = m.embedding_renorm_(weights[m], m.tensor(_i([0, 2, 2, 7])), 1.5, 2.0)
        assert out is weights[m]
    np.testing.assert_allclose(weights[rg].data, weights[torch].numpy(), rtol=1e-12)
    same_error(lambda: rg.embedding_renorm_(rg.ones(3, 2, requires_grad=True), rg.tensor([0]), 1.0, 2.0),
               lambda: torch.embedding_renorm_(torch.ones(3, 2, requires_grad=True), torch.tensor([0]), 1.0, 2.0),
               match="leaf Variable")


# ---------------------------------------------------------------- dropout
@pytest.mark.parametrize("name", ["dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout"])
def test_dropout_eval_and_edges_as_torch(name):
    ours, theirs = getattr(rg, name), getattr(torch, name)
    x = rg.tensor(X)
    assert ours(x, 0.4, False) is x and ours(x, 0.0, True) is x
    assert theirs(torch.tensor(X), 0.0, True).shape == (2, 3, 4)
    zeros = ours(x, 1.0, True)
    np.testing.assert_array_equal(zeros.data, theirs(torch.tensor(X), 1.0, True).numpy())
    same_error(lambda: ours(x, 1.5, False), lambda: theirs(torch.tensor(X), 1.5, False), match="between 0 and 1")
    same_error(lambda: ours(rg.ones(3, dtype=rg.int64), 0.5, True),
               lambda: theirs(torch.ones(3, dtype=torch.int64), 0.5, True), match="can't be cast")


def test_dropout_rate_scale_and_gradient():
    rg.manual_seed(0)
    x = rg.ones(400, 50, dtype=rg.float64, requires_grad=True)
    y = rg.dropout(x, 0.25, True)
    kept = y.data != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, y.data)  # the gradient is the mask's scale


def test_feature_dropout_drops_whole_channels():
    rg.manual_seed(1)
    y = rg.feature_dropout(rg.ones(40, 30, 5), 0.5, True).data
    per_channel = y.reshape(40, 30, 5)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # a channel is all zero or all scaled
    assert set(np.unique(y)) == {0.0, 2.0} and abs((y[..., 0] == 0).mean() - 0.5) < 0.05
    same_error(lambda: rg.feature_dropout(rg.ones(3), 0.5, True), lambda: torch.feature_dropout(torch.ones(3), 0.5, True),
               match="at least 2 dimensions")


def test_alpha_dropout_keeps_zero_mean_unit_variance():
    rg.manual_seed(2)
    y = rg.alpha_dropout(rg.randn(200, 200, dtype=rg.float64), 0.3, True).data
    assert abs(y.mean()) < 0.03 and abs(y.std() - 1) < 0.03


def test_rrelu_training_slopes():
    rg.manual_seed(3)
    x = rg.tensor(-np.ones(2000), requires_grad=True)
    y = rg.rrelu(x, 0.1, 0.3, True)
    slopes = -y.data
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.01
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, slopes)


# ---------------------------------------------------------------- in-place forms
IN_PLACE = {
    "celu_": ((0.5,), X), "selu_": ((), X), "threshold_": ((0.2, -1.0), X), "rrelu_": ((0.1, 0.2), X),
    "dropout_": ((0.3, False), X), "alpha_dropout_": ((1.0, True), X), "feature_dropout_": ((1.0, True), X),
    "feature_alpha_dropout_": ((0.0, True), X),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_forms_as_torch(name):
    args, x = IN_PLACE[name]
    ours, theirs = rg.tensor(x.copy()), torch.tensor(x.copy())
    assert getattr(rg, name)(ours, *args) is ours
    assert getattr(torch, name)(theirs, *args) is theirs
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
    leaf = torch.ones(2, 2, requires_grad=True)
    try:
        getattr(torch, name)(leaf, *args)
    except RuntimeError:
        same_error(lambda: getattr(rg, name)(rg.ones(2, 2, requires_grad=True), *args),
                   lambda: getattr(torch, name)(torch.ones(2, 2, requires_grad=True), *args), match="leaf Variable")
    else:  # a dropout that changes nothing is a no-op even on the tape, as ATen's
        ours = rg.ones(2, 2, requires_grad=True)
        assert getattr(rg, name)(ours, *args) is ours and not np.any(ours.data - 1)


# ---------------------------------------------------------------- errors
ERRORS = {
    "dropout_missing_train": (lambda m: m.dropout(m.ones(2), 0.5), None),
    "layer_norm_int_shape": (lambda m: m.layer_norm(m.ones(2, 3), 3), "tuple of ints"),
    "kl_div_string_reduction": (lambda m: m.kl_div(m.ones(2), m.ones(2), "mean"), "must be int"),
    "layer_norm_shape": (lambda m: m.layer_norm(m.ones(2, 3), [4]), "normalized_shape"),
    "rms_norm_shape": (lambda m: m.rms_norm(m.ones(2, 3), [4]), "normalized_shape"),
    "group_norm_groups": (lambda m: m.group_norm(m.ones(2, 3), 2), "divisible by num_groups"),
    "group_norm_1d": (lambda m: m.group_norm(m.ones(6), 1), "out of range"),
    "group_norm_int": (lambda m: m.group_norm(m.ones(2, 3, dtype=m.int64), 1), "Long"),
    "group_norm_dtypes": (lambda m: m.group_norm(m.ones(1, 3, 2, dtype=m.float64), 3, m.ones(3)), "expected scalar"),
    "layer_norm_int": (lambda m: m.layer_norm(m.ones(2, 3, dtype=m.int64), [3]), "Long"),
    "layer_norm_dtypes": (lambda m: m.layer_norm(m.ones(2, 3, dtype=m.float64), [3], None, m.ones(3)), "mixed dtype"),
    "batch_norm_dtypes": (lambda m: m.batch_norm(m.ones(2, 3, dtype=m.float64), None, None, m.zeros(3), m.ones(3),
                                                 False, 0.1, 1e-5, False), "mixed dtype"),
    "prelu_dtypes": (lambda m: m.prelu(m.ones(2, 3, dtype=m.float64), m.ones(1)), "Type promoting"),
    "bilinear_dtypes": (lambda m: m.bilinear(m.ones(2, 3), m.ones(2, 3), m.ones(1, 3, 3, dtype=m.float64)),
                        "same dtype"),
    "batch_norm_eval_no_stats": (lambda m: m.batch_norm(m.ones(2, 3), None, None, None, None, False, 0.1, 1e-5,
                                                        False), "running_mean must be defined"),
    "instance_norm_no_stats": (lambda m: m.instance_norm(m.ones(2, 3, 4), None, None, None, None, False, 0.1, 1e-5,
                                                         False), "use_input_stats"),
    "embedding_float_indices": (lambda m: m.embedding(m.ones(5, 3), m.tensor([0.0, 1.0])), None),
    "embedding_out_of_range": (lambda m: m.embedding(m.ones(5, 3), m.tensor([0, 5])), "out of range"),
    "embedding_bag_mode": (lambda m: m.embedding_bag(m.ones(5, 3), m.tensor([1, 2]), m.tensor([0]), False, 3),
                           "must be sum, mean, or max"),
    "embedding_bag_no_offsets": (lambda m: m.embedding_bag(m.ones(5, 3), m.tensor([[1, 2]]), None), None),
    "rrelu_generator_type": (lambda m: m.rrelu(m.ones(2), 0.1, 0.3, True, 5), None),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    call, match = ERRORS[name]
    same_error(lambda: call(rg), lambda: call(torch), match=match)
