"""The rest of ``torch.nn.utils``'s names: the submodules as importable namespaces over the same
functions, the deprecated ``clip_grad_norm`` and ``stateless.functional_call`` (their
FutureWarnings, then what they forward to), and ``nn.utils.rnn.invert_permutation`` -- each
against torch 2.13."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from conftest import requires_torch

import retrograd as rg
from retrograd import nn

try:
    import torch
except ImportError:  # the comparisons skip (requires_torch); the rest runs
    torch = None

SUBMODULES = ["clip_grad", "convert_parameters", "fusion", "init", "stateless"]
NOT_HERE = {"memory_format", "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"}


@requires_torch
def test_every_torch_nn_utils_name_but_the_memory_formats_is_here():
    missing = {n for n in dir(torch.nn.utils) if not n.startswith("_") and not hasattr(nn.utils, n)}
    assert missing == NOT_HERE  # retrograd's arrays have no memory formats to convert
    assert not {n for n in torch.nn.utils.rnn.__all__ if not hasattr(nn.utils.rnn, n)}


@requires_torch
@pytest.mark.parametrize("name", SUBMODULES)
def test_submodules_hold_torchs_names_as_the_same_functions(name):
    ours, theirs = getattr(nn.utils, name), getattr(torch.nn.utils, name)
    public = getattr(theirs, "__all__", None) or [
        n for n in dir(theirs) if not n.startswith("_") and callable(getattr(theirs, n))
        and getattr(getattr(theirs, n), "__module__", "") == theirs.__name__]
    assert set(public) <= set(dir(ours)), set(public) - set(dir(ours))
    for n in public:
        if hasattr(nn.utils, n) and n != "functional_call":  # the deprecated one is stateless' own
            assert getattr(ours, n) is getattr(nn.utils, n), n
        assert getattr(ours, n).__doc__, n
    assert importlib.import_module(f"retrograd.nn.utils.{name}") is ours  # ``import …utils.fusion`` works


def test_from_import_of_a_submodule():
    from retrograd.nn.utils.clip_grad import clip_grad_norm_, clip_grads_with_norm_, get_total_norm
    from retrograd.nn.utils.convert_parameters import parameters_to_vector
    from retrograd.nn.utils.fusion import fuse_linear_bn_eval
    from retrograd.nn.utils.init import skip_init
    assert (clip_grad_norm_, clip_grads_with_norm_, get_total_norm, parameters_to_vector, fuse_linear_bn_eval,
            skip_init) == (nn.utils.clip_grad_norm_, nn.utils.clip_grads_with_norm_, nn.utils.get_total_norm,
                           nn.utils.parameters_to_vector, nn.utils.fuse_linear_bn_eval, nn.utils.skip_init)


# ---------------------------------------------------------------- clip_grad_norm (deprecated)
def _grads(lib, arrays):
    ps = []
    for a in arrays:
        p = (rg.tensor if lib is rg else torch.tensor)(a.copy(), requires_grad=True)
        p.grad = (rg.tensor if lib is rg else torch.tensor)(a.copy() * 3.0)
        ps.append(p)
    return ps


@requires_torch
@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (0.5, 1.0), (2.0, float("inf")), (1e3, 2.0)])
def test_clip_grad_norm_warns_and_clips_as_torch(max_norm, norm_type):
    arrays = [np.random.default_rng(0).standard_normal(s) for s in [(3, 4), (5,)]]
    ours, theirs = _grads(rg, arrays), _grads(torch, arrays)
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated in favor of .*clip_grad_norm_"):
        total = torch.nn.utils.clip_grad_norm(theirs, max_norm, norm_type)
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated in favor of .*clip_grad_norm_"):
        got = nn.utils.clip_grad_norm(ours, max_norm, norm_type)
    assert float(got) == pytest.approx(float(total), rel=1e-12)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)
    assert nn.utils.clip_grad.clip_grad_norm is nn.utils.clip_grad_norm


@requires_torch
def test_clip_grad_norm_error_if_nonfinite_as_torch():
    arrays = [np.array([np.inf, 1.0])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(RuntimeError):
            torch.nn.utils.clip_grad_norm(_grads(torch, arrays), 1.0, error_if_nonfinite=True)
        with pytest.raises(RuntimeError, match="non-finite|nonfinite|inf"):
            nn.utils.clip_grad_norm(_grads(rg, arrays), 1.0, error_if_nonfinite=True, foreach=True)


# ---------------------------------------------------------------- stateless.functional_call (deprecated)
class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(3, 2)
        self.b.weight = self.a.weight  # one weight under two names
        self.register_buffer("shift", rg.tensor(np.ones(2)))

    def forward(self, x, scale=1.0):
        return (self.a(x) + self.b(x) + self.shift) * scale


class _TorchTied(torch.nn.Module if torch is not None else object):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(3, 2)
        self.b = torch.nn.Linear(3, 2)
        self.b.weight = self.a.weight
        self.register_buffer("shift", torch.ones(2))

    def forward(self, x, scale=1.0):
        return (self.a(x) + self.b(x) + self.shift) * scale


def _pair():
    ours, theirs = _Tied().double(), _TorchTied().double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@requires_torch
@pytest.mark.parametrize("call", ["tuple", "single", "kwargs", "tie_weights", "buffer"])
def test_stateless_functional_call_warns_and_forwards_as_torch(call):
    ours, theirs = _pair()
    x = np.random.default_rng(1).standard_normal((4, 3))
    w = np.random.default_rng(2).standard_normal((2, 3))
    key = "b.weight" if call == "tie_weights" else "shift" if call == "buffer" else "a.weight"
    value = np.full(2, 3.0) if call == "buffer" else w
    extra = {"kwargs": ({"scale": 2.0},), "tie_weights": (None,)}.get(call, ())
    kw = {"tie_weights": False} if call == "tie_weights" else {}

    def run(lib, module, tensor):
        args = tensor(x) if call == "single" else (tensor(x),)
        params = {key: tensor(value)}
        return lib.nn.utils.stateless.functional_call(module, params, args, *extra, **kw)

    with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated as of PyTorch 2.0"):
        expected = run(torch, theirs, torch.tensor).detach().numpy()
    with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated as of PyTorch 2.0"):
        got = run(rg, ours, rg.tensor)
    np.testing.assert_allclose(got.data, expected, rtol=1e-12)
    for k, v in theirs.state_dict().items():  # the modules' own weights are back
        np.testing.assert_array_equal(ours.state_dict()[k], v.numpy())


@requires_torch
def test_stateless_functional_call_refusals_and_no_arguments_as_torch():
    ours, theirs = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(ValueError, match="tie_weights=False"):  # two values for one tied weight
            torch.nn.utils.stateless.functional_call(theirs, {"a.weight": torch.zeros(2, 3), "b.weight": torch.ones(
                2, 3)}, (torch.zeros(1, 3),))
        with pytest.raises(ValueError, match="tie_weights=False"):
            nn.utils.stateless.functional_call(ours, {"a.weight": rg.tensor(np.zeros((2, 3))),
                                                      "b.weight": rg.tensor(np.ones((2, 3)))},
                                               (rg.tensor(np.zeros((1, 3))),))
        with pytest.raises(RuntimeError):
            torch.nn.utils.stateless.functional_call(theirs, {"a.weight": torch.zeros(2, 3)}, (torch.zeros(1, 3),),
                                                     strict=True)
        with pytest.raises(RuntimeError, match="missing"):
            nn.utils.stateless.functional_call(ours, {"a.weight": rg.tensor(np.zeros((2, 3)))},
                                               (rg.tensor(np.zeros((1, 3))),), strict=True)
        # args=None: the module called with no arguments, as torch
        counter, torch_counter = nn.Module(), torch.nn.Module()
        counter.forward, torch_counter.forward = (lambda: rg.tensor(7.0)), (lambda: torch.tensor(7.0))
        assert float(torch.nn.utils.stateless.functional_call(torch_counter, {})) == 7.0
        assert float(nn.utils.stateless.functional_call(counter, {}).data) == 7.0


# ---------------------------------------------------------------- rnn.invert_permutation
@requires_torch
@pytest.mark.parametrize("permutation", [[2, 0, 1], [0], [], [4, 3, 0, 1, 2],
                                         list(np.random.default_rng(0).permutation(9))])
def test_invert_permutation_as_torch(permutation):
    expected = torch.nn.utils.rnn.invert_permutation(torch.tensor(permutation, dtype=torch.int64))
    got = nn.utils.rnn.invert_permutation(rg.tensor(np.array(permutation, dtype=np.int64)))
    assert got.dtype == np.int64 and got.shape == tuple(expected.shape)
    np.testing.assert_array_equal(got.data, expected.numpy())
    assert nn.utils.rnn.invert_permutation(None) is None
    if permutation:  # inverting twice is the identity; composing gives arange
        p = rg.tensor(np.array(permutation, dtype=np.int64))
        np.testing.assert_array_equal(nn.utils.rnn.invert_permutation(got).data, p.data)
        np.testing.assert_array_equal(p.data[got.data], np.arange(len(permutation)))


@requires_torch
def test_invert_permutation_matches_packed_sequence_indices():
    seqs = [rg.tensor(np.ones((n, 2))) for n in (2, 5, 3)]
    packed = nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False)
    np.testing.assert_array_equal(nn.utils.rnn.invert_permutation(packed.sorted_indices).data,
                                  packed.unsorted_indices.data)
    assert float(nn.utils.rnn.invert_permutation(rg.tensor(np.array(0, dtype=np.int64))).data) == 0  # 0-d: as torch


@requires_torch
@pytest.mark.parametrize("bad, error", [
    (np.array([2, 0, 1], dtype=np.int32), RuntimeError),
    (np.array([0.0, 1.0]), RuntimeError),
    (np.array([[1, 0], [0, 1]], dtype=np.int64), IndexError),
    (np.array([3, 0, 1], dtype=np.int64), RuntimeError),
    (np.array([-1, 0, 1], dtype=np.int64), RuntimeError),
    ([2, 0, 1], TypeError),
])
def test_invert_permutation_refusals_as_torch(bad, error):
    with pytest.raises(error):
        torch.nn.utils.rnn.invert_permutation(torch.tensor(bad) if isinstance(bad, np.ndarray) else bad)
    with pytest.raises(error, match="invert_permutation"):
        nn.utils.rnn.invert_permutation(rg.tensor(bad) if isinstance(bad, np.ndarray) else bad)
