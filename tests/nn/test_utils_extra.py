"""The rest of ``rg.nn.utils`` (old-style weight_norm / spectral_norm hooks, batch-norm fusion,
get_total_norm / clip_grads_with_norm_, skip_init, the flat-vector helpers) and the added
``rg.nn.init`` functions, against PyTorch 2.13: names, state_dict keys and values, forward values
and gradients in float64 with the weights copied across, warnings and errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import nn
from torch_compare import paired_modules as _pair, same_grads as _same_grads, same_state as _same_state
from retrograd.nn import init

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None

RNG = np.random.default_rng(11)


# ---------------------------------------------------------------- old-style weight norm
@requires_torch
@pytest.mark.parametrize("dim", [0, 1, None])
def test_old_weight_norm_like_torch(dim):
    ours, theirs = _pair(nn.Linear(3, 4), torch.nn.Linear(3, 4))
    with pytest.warns(FutureWarning, match="weight_norm` is deprecated in favor of"):
        nn.utils.weight_norm(ours, dim=dim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(theirs, dim=dim)
    _same_state(ours, theirs)
    assert [n for n, _ in ours.named_parameters()] == ["bias", "weight_g", "weight_v"]
    x = RNG.standard_normal((2, 3))
    for _ in range(2):  # the hook recomputes the weight before every forward
        y, ty = ours(rg.tensor(x)), theirs(torch.tensor(x))
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
        (y ** 2).sum().backward()
        (ty ** 2).sum().backward()
        _same_grads(ours, theirs)
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        nn.utils.weight_norm(ours, dim=dim)
    nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(theirs)
    _same_state(ours, theirs)
    assert isinstance(ours.weight, nn.Parameter) and not ours._forward_pre_hooks
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in"):
        nn.utils.remove_weight_norm(ours)


# ---------------------------------------------------------------- old-style spectral norm
@requires_torch
@pytest.mark.parametrize("layer, args, shape", [("Linear", (3, 4), (2, 3)),
                                                ("ConvTranspose2d", (2, 3, 2), (1, 2, 3, 3))])
def test_old_spectral_norm_power_iteration_and_gradients_like_torch(layer, args, shape):
    ours, theirs = _pair(getattr(nn, layer)(*args), getattr(torch.nn, layer)(*args))
    nn.utils.spectral_norm(ours, n_power_iterations=2)
    torch.nn.utils.spectral_norm(theirs, n_power_iterations=2)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    ours.load_state_dict(theirs.state_dict())  # the same u, v: then the same iterations
    x = RNG.standard_normal(shape)
    for mode in ("train", "eval", "train"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        y, ty = ours(rg.tensor(x)), theirs(torch.tensor(x))
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10)
        (y ** 2).sum().backward()
        (ty ** 2).sum().backward()
        _same_state(ours, theirs, rtol=1e-10)
        _same_grads(ours, theirs, rtol=1e-9)
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        nn.utils.spectral_norm(ours)
    nn.utils.remove_spectral_norm(ours)
    torch.nn.utils.remove_spectral_norm(theirs)
    _same_state(ours, theirs, rtol=1e-10)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found in"):
        nn.utils.remove_spectral_norm(ours)
    with pytest.raises(ValueError, match="n_power_iterations to be positive"):
        nn.utils.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)


# ---------------------------------------------------------------- batch-norm fusion
@requires_torch
@pytest.mark.parametrize("kind", ["Conv2d", "ConvTranspose2d", "Conv1d-no-bias"])
def test_fuse_conv_bn_eval_like_torch(kind):
    name = kind.split("-")[0]
    bias = not kind.endswith("no-bias")
    bn_name = "BatchNorm1d" if name == "Conv1d" else "BatchNorm2d"
    ours, theirs = _pair(getattr(nn, name)(2, 3, 2, bias=bias), getattr(torch.nn, name)(2, 3, 2, bias=bias))
    bn, tbn = getattr(nn, bn_name)(3).double(), getattr(torch.nn, bn_name)(3).double()
    with torch.no_grad():
        for t in (tbn.weight, tbn.bias, tbn.running_mean):
            t.uniform_(-1, 1)
        tbn.running_var.uniform_(0.5, 2)
    bn.load_state_dict(tbn.state_dict())
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        nn.utils.fuse_conv_bn_eval(ours, bn)
    for m in (ours, theirs, bn, tbn):
        m.eval()
    transpose = name == "ConvTranspose2d"
    fused = nn.utils.fuse_conv_bn_eval(ours, bn, transpose)
    tfused = torch.nn.utils.fuse_conv_bn_eval(theirs, tbn, transpose)
    _same_state(fused, tfused)
    assert isinstance(fused.bias, nn.Parameter) and fused is not ours
    x = RNG.standard_normal((1, 2, 4, 4) if name != "Conv1d" else (1, 2, 5))
    np.testing.assert_allclose(fused(rg.tensor(x)).data, bn(ours(rg.tensor(x))).data, rtol=1e-10, atol=1e-12)


@requires_torch
def test_fuse_linear_bn_eval_like_torch():
    ours, theirs = _pair(nn.Linear(3, 4), torch.nn.Linear(3, 4))
    bn, tbn = nn.BatchNorm1d(4).double(), torch.nn.BatchNorm1d(4).double()
    with torch.no_grad():
        tbn.running_mean.uniform_(-1, 1)
        tbn.running_var.uniform_(0.5, 2)
        tbn.weight.uniform_(-1, 1)
    bn.load_state_dict(tbn.state_dict())
    for m in (ours, theirs, bn, tbn):
        m.eval()
    _same_state(nn.utils.fuse_linear_bn_eval(ours, bn), torch.nn.utils.fuse_linear_bn_eval(theirs, tbn))
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        nn.utils.fuse_linear_bn_eval(ours, nn.BatchNorm1d(3).eval())


# ---------------------------------------------------------------- gradient norms
@requires_torch
@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, -math.inf, 0, 3.5])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_get_total_norm_and_clip_grads_with_norm_like_torch(norm_type, dtype):
    arrays = [RNG.standard_normal(s).astype(dtype) for s in ((3,), (2, 2), ())]
    total = nn.utils.get_total_norm([rg.tensor(a) for a in arrays], norm_type)
    ttotal = torch.nn.utils.get_total_norm([torch.tensor(a) for a in arrays], norm_type)
    assert total.dtype == np.dtype(dtype) and total.shape == ()
    np.testing.assert_allclose(total.data, ttotal.numpy(), rtol=1e-6 if dtype == "float32" else 1e-12)
    params = [nn.Parameter(np.zeros_like(a)) for a in arrays]
    tparams = [torch.nn.Parameter(torch.zeros(a.shape, dtype=getattr(torch, dtype))) for a in arrays]
    for p, tp, a in zip(params, tparams, arrays):
        p.grad, tp.grad = rg.tensor(a.copy()), torch.tensor(a.copy())
    nn.utils.clip_grads_with_norm_(params, 0.5, total)
    torch.nn.utils.clip_grads_with_norm_(tparams, 0.5, ttotal)
    for p, tp in zip(params, tparams):
        assert p.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-6 if dtype == "float32" else 1e-12)


@requires_torch
def test_get_total_norm_edge_cases_like_torch():
    empty, tempty = nn.utils.get_total_norm([]), torch.nn.utils.get_total_norm([])
    assert empty.dtype == np.float32 and float(empty) == float(tempty) == 0.0
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.get_total_norm([torch.tensor([np.inf])], error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        nn.utils.get_total_norm([rg.tensor([np.inf])], error_if_nonfinite=True)
    one = rg.tensor(np.array([3.0, 4.0]))
    assert float(nn.utils.get_total_norm(one)) == 5.0
    nn.utils.clip_grads_with_norm_([nn.Parameter(np.zeros(2))], 1.0, one)  # no gradients: nothing to do


# ---------------------------------------------------------------- construction and flat vectors
@requires_torch
def test_skip_init_and_its_errors_like_torch():
    layer = nn.utils.skip_init(nn.Linear, 3, 4, bias=False)
    assert isinstance(layer, nn.Linear) and layer.weight.shape == (4, 3) and layer.bias is None
    assert torch.nn.utils.skip_init(torch.nn.Linear, 3, 4).weight.shape == (4, 3)

    class NoDevice(nn.Module):
        pass

    class TNoDevice(torch.nn.Module):
        pass

    for skip, cls in ((nn.utils.skip_init, NoDevice), (torch.nn.utils.skip_init, TNoDevice)):
        with pytest.raises(RuntimeError, match="Module must support a 'device' arg"):
            skip(cls)
    for skip in (nn.utils.skip_init, torch.nn.utils.skip_init):
        with pytest.raises(RuntimeError, match="Expected a Module"):
            skip(int)


def test_parameters_to_vector_is_a_tensor_on_the_tape_and_vector_to_parameters_slices_it():
    layer = nn.Linear(2, 3).double()
    vec = nn.utils.parameters_to_vector(layer.parameters())
    assert isinstance(vec, rg.Tensor) and vec.shape == (9,)
    np.testing.assert_array_equal(vec.data, np.concatenate([layer.weight.data.ravel(), layer.bias.data]))
    (vec * rg.tensor(np.arange(9.0))).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.data, np.arange(6.0).reshape(3, 2))
    new = rg.tensor(np.arange(9.0))
    nn.utils.vector_to_parameters(new, layer.parameters())
    np.testing.assert_array_equal(layer.bias.data, [6.0, 7.0, 8.0])
    with pytest.raises(TypeError, match="expected torch.Tensor, but got"):
        nn.utils.vector_to_parameters(np.arange(9.0), layer.parameters())
    with pytest.raises(RuntimeError, match="fewer than the parameters need"):
        nn.utils.vector_to_parameters(rg.tensor(np.arange(4.0)), layer.parameters())


# ---------------------------------------------------------------- nn.init
@requires_torch
@pytest.mark.parametrize("shape, groups", [((4, 2, 3), 2), ((6, 3, 3, 3), 3), ((2, 3, 3, 2, 3), 1),
                                           ((3, 5, 3), 1)])
def test_dirac_like_torch(shape, groups):
    ours, theirs = rg.tensor(np.ones(shape)), torch.ones(shape, dtype=torch.float64)
    init.dirac_(ours, groups)
    torch.nn.init.dirac_(theirs, groups)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


@requires_torch
def test_eye_like_torch_and_the_init_errors():
    ours, theirs = rg.tensor(np.ones((2, 4))), torch.ones(2, 4)
    init.eye_(ours)
    torch.nn.init.eye_(theirs)
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    calls = [(lambda m, t: m.eye_(t(3, 3, 3)), "Only tensors with 2 dimensions"),
             (lambda m, t: m.dirac_(t(3, 3)), "Only tensors with 3, 4, or 5 dimensions"),
             (lambda m, t: m.dirac_(t(3, 3, 3), 2), "dim 0 must be divisible by groups"),
             (lambda m, t: m.sparse_(t(3), 0.5), "Only tensors with 2 dimensions"),
             (lambda m, t: m.kaiming_normal_(t(3, 3), mode="fan_avg"), "Mode fan_avg not supported"),
             (lambda m, t: m.calculate_gain("leaky_relu", "a"), "negative_slope a not a valid number"),
             (lambda m, t: m.calculate_gain("softmax"), "nsupported nonlinearity")]
    for call, match in calls:
        with pytest.raises(ValueError, match=match):
            call(torch.nn.init, torch.zeros)
        with pytest.raises(ValueError, match=match):
            call(init, lambda *s: rg.tensor(np.zeros(s)))


@requires_torch
def test_calculate_gain_knows_torchs_names():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                 "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))


def test_trunc_normal_stays_in_bounds_with_the_truncated_moments():
    for mean, std, a, b in ((0.0, 1.0, -2.0, 2.0), (0.0, 1.0, 1.5, 3.0), (1.0, 0.5, 0.0, 1.2)):
        t = rg.tensor(np.zeros(20000))
        init.trunc_normal_(t, mean, std, a, b)
        assert a <= t.data.min() and t.data.max() <= b
        # the mean of N(mean, std²) truncated to [a, b]: mean + std·(φ(α) − φ(β))/(Φ(β) − Φ(α))
        alpha, beta = (a - mean) / std, (b - mean) / std
        pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
        cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
        expected = mean + std * (pdf(alpha) - pdf(beta)) / (cdf(beta) - cdf(alpha))
        assert abs(t.data.mean() - expected) < 0.02
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        init.trunc_normal_(rg.tensor(np.zeros(3)), 5.0, 1.0, -1.0, 1.0)


def test_sparse_zeros_the_fraction_of_each_column_and_generators_reproduce():
    t = rg.tensor(np.zeros((10, 4)))
    init.sparse_(t, 0.25, std=0.1)
    assert ((t.data == 0).sum(axis=0) == 3).all()  # ⌈0.25·10⌉ per column
    a, b = rg.tensor(np.zeros((3, 3))), rg.tensor(np.zeros((3, 3)))
    init.xavier_uniform_(a, generator=np.random.default_rng(5))
    init.xavier_uniform_(b, generator=np.random.default_rng(5))
    np.testing.assert_array_equal(a.data, b.data)


@requires_torch
@pytest.mark.parametrize("old", ["uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
                                 "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"])
def test_the_deprecated_names_warn_and_call_the_new_ones(old):
    args = {"constant": (0.5,), "sparse": (0.5,)}.get(old, ())
    shape = (2, 3, 3) if old == "dirac" else (3, 3)
    for module, tensor in ((init, rg.tensor(np.zeros(shape))), (torch.nn.init, torch.zeros(shape))):
        with pytest.warns(FutureWarning, match=f"nn.init.{old}` is now deprecated in favor of `nn.init.{old}_`"):
            getattr(module, old)(tensor, *args)


def test_initialising_a_zero_element_tensor_warns_and_is_a_no_op():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(rg.tensor(np.zeros((0, 3))))
    assert init.orthogonal_(rg.tensor(np.zeros((0, 3)))).shape == (0, 3)
