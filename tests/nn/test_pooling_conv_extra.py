"""The pooling and convolution beyond the 2-d core against PyTorch (float64 values and input
gradients, int64 indices): max/avg pooling over 1 and 3 axes, ``return_indices`` and max-unpooling,
the adaptive and LP poolings, ``conv3d`` and the transposed 1-d/3-d convolutions — functions and
layers — plus their errors and the tie convention of max-pooling's gradient."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import nn
from retrograd.autograd.op import OpError
from retrograd.nn import functional as F

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None


def _rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


def _compare(ours, theirs, arrays, seed=0):
    """Values (and indices, when a pair comes back) and every input's gradient equal PyTorch's."""
    rs = [rg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*rs), theirs(*ts)
    if isinstance(expected, tuple):
        assert out[1].dtype == np.int64 and not out[1].requires_grad
        np.testing.assert_array_equal(out[1].data, expected[1].numpy())
        out, expected = out[0], expected[0]
    assert out.shape == tuple(expected.shape) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(rg.tensor(g))
    expected.backward(torch.tensor(g))
    for r, t in zip(rs, ts):
        np.testing.assert_allclose(r.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- max and average pooling, 1-d and 3-d
POOL_CASES = [  # spatial axes, input shape, keyword arguments (random floats: no ties)
    (1, (2, 3, 9), dict(kernel_size=3)),
    (1, (2, 3, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (1, (3, 8), dict(kernel_size=(2,), stride=3, ceil_mode=True)),                # unbatched
    (3, (2, 2, 5, 6, 4), dict(kernel_size=2)),
    (3, (1, 2, 5, 6, 4), dict(kernel_size=(3, 2, 2), stride=(2, 1, 2), padding=1)),
    (3, (2, 5, 4, 5), dict(kernel_size=2, stride=2, ceil_mode=True)),            # unbatched
]


@requires_torch
@pytest.mark.parametrize("m, shape, kwargs", POOL_CASES)
def test_max_pooling_with_indices_matches_torch(m, shape, kwargs):
    for extra in (dict(return_indices=True), dict(dilation=2, return_indices=True) if m == 1 else {}):
        _compare(lambda x: getattr(F, f"max_pool{m}d")(x, **kwargs, **extra),
                 lambda x: getattr(torch.nn.functional, f"max_pool{m}d")(x, **kwargs, **extra), [_rand(*shape)])
    _compare(lambda x: getattr(nn, f"MaxPool{m}d")(**kwargs)(x),
             lambda x: getattr(torch.nn, f"MaxPool{m}d")(**kwargs)(x), [_rand(*shape)])
    _compare(lambda x: getattr(F, f"max_pool{m}d_with_indices")(x, **kwargs),
             lambda x: getattr(torch.nn.functional, f"max_pool{m}d_with_indices")(x, **kwargs), [_rand(*shape)])


@requires_torch
@pytest.mark.parametrize("m, shape, kwargs", POOL_CASES)
def test_average_pooling_matches_torch(m, shape, kwargs):
    kwargs = {k: v for k, v in kwargs.items() if k != "dilation"}
    for include in (True, False):
        _compare(lambda x: getattr(F, f"avg_pool{m}d")(x, **kwargs, count_include_pad=include),
                 lambda x: getattr(torch.nn.functional, f"avg_pool{m}d")(x, **kwargs, count_include_pad=include),
                 [_rand(*shape)])
    if m == 3:
        _compare(lambda x: nn.AvgPool3d(**kwargs, divisor_override=3)(x),
                 lambda x: torch.nn.AvgPool3d(**kwargs, divisor_override=3)(x), [_rand(*shape)])
    else:
        _compare(lambda x: nn.AvgPool1d(**kwargs)(x), lambda x: torch.nn.AvgPool1d(**kwargs)(x), [_rand(*shape)])


@requires_torch
def test_max_pool2d_returns_torch_indices():
    x = _rand(2, 3, 7, 6)
    _compare(lambda t: F.max_pool2d(t, 3, 2, 1, return_indices=True),
             lambda t: torch.nn.functional.max_pool2d(t, 3, 2, 1, return_indices=True), [x])
    _compare(lambda t: nn.MaxPool2d(2, ceil_mode=True, return_indices=True)(t[0]),
             lambda t: torch.nn.MaxPool2d(2, ceil_mode=True, return_indices=True)(t[0]), [x])
    _compare(lambda t: F.max_pool2d_with_indices(t, (2, 3), dilation=(2, 1)),
             lambda t: torch.nn.functional.max_pool2d_with_indices(t, (2, 3), dilation=(2, 1)), [x])


@requires_torch
@pytest.mark.parametrize("x", [
    np.array([[[1.0, np.nan, 2.0, np.nan, 0.0, 5.0]]]),                  # the last NaN of a window
    np.full((1, 1, 6), -np.inf),                                        # all −∞: the first entry, not the padding
    np.array([[[3.0, 3.0, 1.0, 3.0, 2.0, 2.0]]]),                       # ties: the first one
])
def test_max_pooling_indices_follow_torch_on_nans_infinities_and_ties(x):
    for kwargs in (dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=4, stride=2, ceil_mode=True)):
        out, idx = F.max_pool1d(rg.tensor(x), **kwargs, return_indices=True)
        expected, expected_idx = torch.nn.functional.max_pool1d(torch.tensor(x), **kwargs, return_indices=True)
        np.testing.assert_array_equal(out.data, expected.numpy())
        np.testing.assert_array_equal(idx.data, expected_idx.numpy())
    out, idx = F.adaptive_max_pool1d(rg.tensor(x), 4, return_indices=True)
    expected, expected_idx = torch.nn.functional.adaptive_max_pool1d(torch.tensor(x), 4, return_indices=True)
    np.testing.assert_array_equal(out.data, expected.numpy())
    np.testing.assert_array_equal(idx.data, expected_idx.numpy())


@requires_torch
def test_integer_max_pooling_and_float32_keep_their_dtype():
    x = -np.arange(1, 28, dtype=np.int64).reshape(1, 1, 3, 3, 3)
    out, idx = F.max_pool3d(rg.tensor(x), 2, 1, 1, return_indices=True)
    expected, expected_idx = torch.nn.functional.max_pool3d(torch.tensor(x), 2, 1, 1, return_indices=True)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.data, expected.numpy())
    np.testing.assert_array_equal(idx.data, expected_idx.numpy())
    x32 = _rand(2, 3, 8).astype(np.float32)
    for fn in (lambda t: F.max_pool1d(t, 2), lambda t: F.avg_pool1d(t, 3, 1, 1), lambda t: F.lp_pool1d(t, 2, 2),
               lambda t: F.adaptive_avg_pool1d(t, 3), lambda t: F.adaptive_max_pool1d(t, 3)):
        assert fn(rg.tensor(x32)).dtype == np.float32


@pytest.mark.parametrize("policy, expected", [("first", [1, 0, 0, 0]), ("split", [0.25] * 4),
                                              ("min_norm", [0.25] * 4), ("all", [1, 1, 1, 1])])
def test_max_pooling_ties_follow_the_policy(policy, expected):
    """Four tied maxima in one window, as MaxPool2d's test: the gradient is shared by ``rg.conventions``."""
    for pool, shape in ((nn.MaxPool1d(4), (1, 1, 4)), (nn.MaxPool3d((1, 2, 2)), (1, 1, 1, 2, 2)),
                        (nn.AdaptiveMaxPool1d(1), (1, 1, 4))):
        x = rg.tensor(np.ones(shape), requires_grad=True)
        with rg.conventions.policy(policy):
            out = pool(x)
        out.sum().backward()
        np.testing.assert_allclose(x.grad.data.reshape(-1), expected)


def test_pooling_gradients_pass_gradcheck():
    x = _rand(1, 2, 4, 3, 4)
    assert rg.gradcheck(lambda t: F.max_pool3d(t, 2, 1, 1), [x]).ok
    assert rg.gradcheck(lambda t: F.avg_pool3d(t, 2, 1, 1, ceil_mode=True, count_include_pad=False), [x]).ok
    assert rg.gradcheck(lambda t: F.adaptive_max_pool2d(t[0], (3, 2)), [x]).ok


# ---------------------------------------------------------------- max-unpooling
@requires_torch
@pytest.mark.parametrize("m, shape, kwargs", [(1, (2, 3, 9), dict(kernel_size=2)),
                                              (2, (2, 3, 7, 6), dict(kernel_size=2)),
                                              (2, (3, 7, 6), dict(kernel_size=3, stride=3, padding=1)),
                                              (3, (1, 2, 5, 4, 4), dict(kernel_size=2))])
def test_max_unpooling_matches_torch(m, shape, kwargs):
    pooled, idx = getattr(torch.nn.functional, f"max_pool{m}d")(torch.tensor(_rand(*shape)), **kwargs,
                                                                return_indices=True)
    for size in (list(shape[-m:]), [1, 1] + list(shape[-m:])):
        _compare(lambda t: getattr(F, f"max_unpool{m}d")(t, rg.tensor(idx.numpy()), **kwargs, output_size=size),
                 lambda t: getattr(torch.nn.functional, f"max_unpool{m}d")(t, idx, **kwargs, output_size=size),
                 [pooled.numpy()])
    if "padding" not in kwargs:  # the default size (S − 1)·s − 2p + k holds every index
        _compare(lambda t: getattr(nn, f"MaxUnpool{m}d")(**kwargs)(t, rg.tensor(idx.numpy())),
                 lambda t: getattr(torch.nn, f"MaxUnpool{m}d")(**kwargs)(t, idx), [pooled.numpy()])


@requires_torch
def test_max_unpooling_of_a_repeated_index_keeps_the_last_value():
    """PyTorch's loop writes in order: the later entry wins. Only it reads the output, so only it
    gets the gradient (the derivative of what was computed; PyTorch gives both the output's)."""
    v, idx = np.array([[[1.0, 2.0, 3.0]]]), np.array([[[1, 1, 0]]])
    x = rg.tensor(v, requires_grad=True)
    out = F.max_unpool1d(x, rg.tensor(idx), 2, output_size=(5,))
    expected = torch.nn.functional.max_unpool1d(torch.tensor(v), torch.tensor(idx), 2, output_size=(5,))
    np.testing.assert_array_equal(out.data, expected.numpy())
    out.backward(rg.tensor(np.array([[[10.0, 20.0, 30.0, 40.0, 50.0]]])))
    np.testing.assert_array_equal(x.grad.data, [[[0.0, 20.0, 10.0]]])


# ---------------------------------------------------------------- adaptive pooling
ADAPTIVE_CASES = [(1, (2, 3, 7), 3), (1, (3, 5), 8), (2, (2, 3, 7, 6), (3, 4)),
                  (2, (3, 5, 6), (None, 4)), (2, (1, 2, 5, 4), (7, 1)), (3, (2, 2, 5, 6, 4), (2, 3, 2)),
                  (3, (2, 5, 4, 3), (None, 3, 5))]


@requires_torch
@pytest.mark.parametrize("m, shape, size", ADAPTIVE_CASES)
def test_adaptive_pooling_matches_torch(m, shape, size):
    x = _rand(*shape)
    _compare(lambda t: getattr(F, f"adaptive_max_pool{m}d")(t, size, return_indices=True),
             lambda t: getattr(torch.nn.functional, f"adaptive_max_pool{m}d")(t, size, return_indices=True), [x])
    _compare(lambda t: getattr(nn, f"AdaptiveMaxPool{m}d")(size)(t),
             lambda t: getattr(torch.nn, f"AdaptiveMaxPool{m}d")(size)(t), [x])
    if m != 2:
        _compare(lambda t: getattr(nn, f"AdaptiveAvgPool{m}d")(size)(t),
                 lambda t: getattr(torch.nn, f"AdaptiveAvgPool{m}d")(size)(t), [x])


@requires_torch
def test_adaptive_pooling_to_an_empty_output_like_torch():
    x = rg.tensor(_rand(2, 3, 5), requires_grad=True)
    for fn in (lambda t: F.adaptive_max_pool1d(t, 0), lambda t: F.adaptive_avg_pool1d(t, 0)):
        out = fn(x)
        assert out.shape == tuple(torch.nn.functional.adaptive_max_pool1d(torch.tensor(x.data), 0).shape) == (2, 3, 0)
        out.sum().backward()  # (PyTorch's backward refuses an empty output; nothing flows back here)
        np.testing.assert_array_equal(x.grad.data, 0.0)


# ---------------------------------------------------------------- LP pooling
@requires_torch
@pytest.mark.parametrize("p", [1, 2, 3.5, float("inf")])
def test_lp_pooling_matches_torch(p):
    x = np.abs(_rand(2, 3, 6, 5)) + 0.1
    _compare(lambda t: F.lp_pool1d(t[0], p, 3, 2, ceil_mode=True),
             lambda t: torch.nn.functional.lp_pool1d(t[0], p, 3, 2, ceil_mode=True), [x])
    _compare(lambda t: nn.LPPool2d(p, (2, 3))(t), lambda t: torch.nn.LPPool2d(p, (2, 3))(t), [x])
    _compare(lambda t: nn.LPPool3d(p, 2, 1)(t), lambda t: torch.nn.LPPool3d(p, 2, 1)(t), [x])


@requires_torch
def test_lp_pooling_of_a_zero_window_has_zero_gradient_like_torch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 0] = 2.0
    _compare(lambda t: F.lp_pool2d(t, 2, 2), lambda t: torch.nn.functional.lp_pool2d(t, 2, 2), [x])


# ---------------------------------------------------------------- convolutions over 3 axes, transposed over 1 and 3
@requires_torch
@pytest.mark.parametrize("op, xs, ws, kwargs", [
    ("conv3d", (2, 4, 5, 6, 4), (6, 2, 3, 2, 2), dict(stride=(2, 1, 1), padding=(1, 0, 1), dilation=(1, 2, 1),
                                                       groups=2)),
    ("conv3d", (4, 5, 5, 5), (3, 4, 3, 3, 3), dict(padding="same")),
    ("conv_transpose1d", (2, 4, 5), (4, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose1d", (4, 6), (4, 1, 2), dict(groups=2, dilation=2)),
    ("conv_transpose3d", (2, 4, 3, 4, 2), (4, 3, 3, 2, 2), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose3d", (4, 2, 3, 3), (4, 1, 2, 2, 2), dict(groups=2, dilation=(2, 1, 1))),
])
def test_convolutions_match_torch(op, xs, ws, kwargs):
    channels = ws[0] if op == "conv3d" else ws[1] * kwargs.get("groups", 1)
    _compare(lambda x, w, b: getattr(F, op)(x, w, b, **kwargs),
             lambda x, w, b: getattr(torch.nn.functional, op)(x, w, b, **kwargs), [_rand(*xs), _rand(*ws),
                                                                                   _rand(channels)])


@requires_torch
@pytest.mark.parametrize("layer, args, kwargs, shape", [
    ("Conv3d", (2, 4, 3), dict(padding=1, stride=2), (2, 2, 5, 5, 5)),
    ("ConvTranspose1d", (2, 4, 3), dict(stride=2, groups=2), (2, 2, 5)),
    ("ConvTranspose3d", (2, 3, 2), dict(stride=2, bias=False), (1, 2, 2, 3, 2)),
])
def test_convolution_layers_load_torch_weights(layer, args, kwargs, shape):
    theirs = getattr(torch.nn, layer)(*args, **kwargs).double()
    ours = getattr(nn, layer)(*args, **kwargs).double()
    ours.load_state_dict(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    x = _rand(*shape)
    np.testing.assert_allclose(ours(rg.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


@requires_torch
def test_conv_transpose1d_output_size_like_torch():
    theirs = torch.nn.ConvTranspose1d(2, 3, 3, stride=2).double()
    ours = nn.ConvTranspose1d(2, 3, 3, stride=2).double()
    ours.load_state_dict(theirs.state_dict())
    x = _rand(1, 2, 4)
    for size in ([10], [1, 3, 10]):
        np.testing.assert_allclose(ours(rg.tensor(x), output_size=size).data,
                                   theirs(torch.tensor(x), output_size=size).detach().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="ConvTranspose1d"):
        ours(rg.tensor(x), output_size=[12])


def test_transposed_convolutions_pass_gradcheck():
    x, w = _rand(1, 2, 2, 3, 2), _rand(2, 1, 2, 2, 1)
    assert rg.gradcheck(lambda a, b: F.conv_transpose3d(a, b, stride=2, padding=1, output_padding=1), [x, w]).ok
    assert rg.gradcheck(lambda a, b: F.conv3d(a, b, padding=1), [x, _rand(3, 2, 2, 2, 2)]).ok


# ---------------------------------------------------------------- errors, as PyTorch's
X1, X3 = (1, 2, 4), (1, 2, 4, 4, 4)
BAD = [  # function, arguments, keyword arguments, our message (the exception is also PyTorch's type)
    ("max_pool1d", (X1, 3), dict(padding=2), "at most half"),
    ("max_pool1d", (X1, 0), {}, "kernel_size must be positive"),
    ("max_pool1d", (X1, 5), {}, "larger than the padded input"),
    ("max_pool1d", (X1, 2), dict(stride=0), "stride must be positive"),
    ("max_pool1d", ((4,), 2), {}, r"expected input of shape \(N, C, L\)"),
    ("max_pool3d", ((1, 1, 4, 4), 2), {}, "larger than the padded input"),
    ("avg_pool1d", ((2, 1, 4, 4), 2), {}, "expected input of shape"),
    ("avg_pool3d", (X3, 2), dict(divisor_override=0), "divisor_override"),
    ("adaptive_avg_pool1d", ((5,), 3), {}, "expected a 2-D"),
    ("adaptive_avg_pool1d", ((2, 3, 0), 3), {}, "non-zero size"),
    ("adaptive_avg_pool1d", (X1, -1), {}, "greater than or equal to 0"),
    ("adaptive_max_pool1d", (X1, 2.5), {}, "must be ints"),
    ("adaptive_avg_pool3d", ((5, 4, 3), 2), {}, "expected a 4-D"),
    ("adaptive_max_pool2d", (X1, (2, 3, 4)), {}, "should contain 2 ints"),
    ("conv3d", (X3, (3, 2, 2, 2)), {}, "expected a weight of 5 dims"),
    ("conv3d", (X3, (3, 1, 2, 2, 2)), {}, "to have 1 channels, got 2"),
    ("conv_transpose1d", (X1, (2, 3, 3)), dict(stride=2, output_padding=2), "output padding"),
    ("conv_transpose3d", (X3, (3, 3, 2, 2, 2)), {}, "input channels"),
]


@requires_torch
@pytest.mark.parametrize("name, args, kwargs, message", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_arguments_are_refused_like_torch(name, args, kwargs, message):
    def call(module, wrap):
        return getattr(module, name)(*[wrap(_rand(*a)) if isinstance(a, tuple) and name.startswith("conv")
                                       or (i == 0) else a for i, a in enumerate(args)], **kwargs)

    with pytest.raises(Exception) as theirs:
        call(torch.nn.functional, torch.tensor)
    with pytest.raises(type(theirs.value), match=message) as ours:
        call(F, rg.tensor)
    assert isinstance(ours.value, OpError) or isinstance(ours.value, TypeError)


@requires_torch
def test_max_unpooling_refuses_what_torch_refuses():
    pooled, idx = torch.nn.functional.max_pool2d(torch.tensor(_rand(1, 1, 4, 4)), 2, return_indices=True)
    x, i = rg.tensor(pooled.numpy()), rg.tensor(idx.numpy())
    cases = [((x, rg.tensor(idx.numpy().astype(np.int32)), 2), {}, RuntimeError, "int64"),
             ((x, rg.tensor(idx.numpy()[..., :1]), 2), {}, RuntimeError, "indices of the input's shape"),
             ((x, rg.tensor(idx.numpy() + 20), 2), {}, RuntimeError, r"invalid max index: \d+ \(output volumes are of size 4x4"),
             ((x, i, 2), dict(output_size=(6, 5)), ValueError, "invalid output_size"),
             ((x, i, 2), dict(output_size=(5,)), ValueError, "2 or 4 elements")]
    for args, kwargs, error, message in cases:
        with pytest.raises(error):
            torch.nn.functional.max_unpool2d(*[torch.tensor(a.data) if isinstance(a, rg.Tensor) else a
                                               for a in args], **kwargs)
        with pytest.raises(error, match=message):
            F.max_unpool2d(*args, **kwargs)


@requires_torch
def test_integer_input_is_not_implemented_where_torch_has_none():
    x = np.arange(12, dtype=np.int64).reshape(1, 2, 6)
    for name, args in (("adaptive_avg_pool1d", (3,)), ("adaptive_max_pool1d", (3,))):
        with pytest.raises(NotImplementedError):
            getattr(torch.nn.functional, name)(torch.tensor(x), *args)
        with pytest.raises(NotImplementedError, match=name):
            getattr(F, name)(rg.tensor(x), *args)


@requires_torch
@pytest.mark.parametrize("layer, args, kwargs", [
    ("MaxPool1d", (3,), dict(stride=2)), ("MaxPool3d", (2,), {}), ("AvgPool1d", (3,), dict(padding=1)),
    ("AvgPool3d", (2,), dict(stride=1)), ("MaxUnpool1d", (2,), {}), ("MaxUnpool3d", ((2, 1, 2),), {}),
    ("AdaptiveAvgPool3d", ((2, None, 3),), {}), ("AdaptiveMaxPool1d", (3,), dict(return_indices=True)),
    ("LPPool2d", (2.0, 3, 2), {}), ("MaxPool2d", (2,), dict(return_indices=True)),
])
def test_layer_reprs_are_torch_reprs(layer, args, kwargs):
    assert repr(getattr(nn, layer)(*args, **kwargs)) == repr(getattr(torch.nn, layer)(*args, **kwargs))


def test_pooling_layers_refuse_bad_arguments_when_built():
    with pytest.raises(ValueError, match="MaxPool1d: padding"):
        nn.MaxPool1d(2, padding=2)
    with pytest.raises(ValueError, match="AvgPool3d: kernel_size"):
        nn.AvgPool3d((2, 2))
