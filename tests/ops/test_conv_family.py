"""The convolution family: grouped ``conv2d``, ``conv1d`` and
``conv_transpose2d`` and their layers equal PyTorch's in float64 (values and
every gradient, ``load_state_dict(torch_module.state_dict())`` included),
differentiate to second order, and refuse the arguments PyTorch refuses with an
``OpError`` naming the op; ``max_pool2d`` pools integer images like PyTorch."""

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import nn
from retrograd.autograd.op import OpError
from retrograd.nn import functional as F

try:
    import torch
except ImportError:  # the PyTorch comparisons are skipped one by one (conftest); gradchecks still run
    torch = None

# PyTorch warns that an even kernel with padding="same" copies the input; the values are what is tested
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def _t(name):
    """``torch.nn.functional.<name>``, looked up when called."""
    return lambda *a, **k: getattr(torch.nn.functional, name)(*a, **k)


def _compare(rg_fn, torch_fn, arrays, seed=0):
    """Values and the gradient of every input equal PyTorch's (float64)."""
    rgs = [rg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = rg_fn(*rgs), torch_fn(*ts)
    assert out.shape == tuple(expected.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(rg.tensor(g))
    expected.backward(torch.tensor(g))
    for r, t in zip(rgs, ts):
        np.testing.assert_allclose(r.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-12)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


# ---------------------------------------------------------------- functional forms against PyTorch
CONV2D_CASES = [  # x shape, weight shape, keyword arguments
    ((2, 4, 7, 6), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    ((1, 6, 5, 5), (6, 1, 3, 3), dict(padding=1, groups=6)),                  # depthwise
    ((2, 4, 6, 6), (4, 2, 2, 4), dict(padding="same", groups=2)),             # even kernel: odd pad at the end
    ((2, 3, 6, 5), (2, 3, 3, 3), dict(padding="valid", dilation=2)),
    ((6, 6, 5), (4, 3, 3, 3), dict(stride=2, padding=1, groups=2)),            # unbatched
]


@requires_torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs, ws, kwargs", CONV2D_CASES)
def test_conv2d_with_groups_matches_torch(xs, ws, kwargs, bias):
    arrays = [_rand(*xs), _rand(*ws)] + ([_rand(ws[0])] if bias else [])
    _compare(lambda x, w, *b: F.conv2d(x, w, *b, **kwargs),
             lambda x, w, *b: torch.nn.functional.conv2d(x, w, *b, **kwargs), arrays)


CONV1D_CASES = [
    ((2, 4, 9), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    ((2, 4, 7), (3, 4, 4), dict(padding="same")),
    ((4, 8), (2, 4, 2), dict(stride=3)),                                      # unbatched
]


@requires_torch
@pytest.mark.parametrize("xs, ws, kwargs", CONV1D_CASES)
def test_conv1d_matches_torch(xs, ws, kwargs):
    arrays = [_rand(*xs), _rand(*ws), _rand(ws[0])]
    _compare(lambda x, w, b: F.conv1d(x, w, b, **kwargs),
             lambda x, w, b: torch.nn.functional.conv1d(x, w, b, **kwargs), arrays)


TRANSPOSE_CASES = [  # stride, padding, output_padding, groups, dilation
    (1, 0, 0, 1, 1), (2, 1, 1, 2, 1), ((2, 3), (1, 0), (1, 2), 2, (1, 2)),
    (1, 2, 1, 1, 2),   # output padding allowed by the dilation, not the stride
    (3, 0, 2, 2, 1),   # output padding beyond the uncropped image
    (2, 2, 1, 2, 2),
]


@requires_torch
@pytest.mark.parametrize("stride, padding, output_padding, groups, dilation", TRANSPOSE_CASES)
def test_conv_transpose2d_matches_torch(stride, padding, output_padding, groups, dilation):
    arrays = [_rand(2, 4, 5, 4), _rand(4, 3, 3, 2), _rand(3 * groups)]
    args = (stride, padding, output_padding, groups, dilation)
    _compare(lambda x, w, b: F.conv_transpose2d(x, w, b, *args),
             lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, *args), arrays)


@requires_torch
def test_conv_transpose2d_unbatched_without_bias_matches_torch():
    _compare(lambda x, w: F.conv_transpose2d(x, w, stride=2),
             lambda x, w: torch.nn.functional.conv_transpose2d(x, w, stride=2), [_rand(4, 3, 3), _rand(4, 2, 2, 2)])


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    """⟨conv2d(x, w), y⟩ = ⟨x, conv_transpose2d(y, w)⟩ for the same stride, padding, dilation, groups."""
    x, w, y = _rand(2, 4, 7, 7), _rand(6, 2, 3, 3), _rand(2, 6, 4, 4)
    kw = dict(stride=2, padding=1, dilation=1, groups=2)
    lhs = (F.conv2d(rg.tensor(x), rg.tensor(w), **kw).data * y).sum()
    rhs = (x * F.conv_transpose2d(rg.tensor(y), rg.tensor(w), **kw).data).sum()
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)


def test_new_convolutions_differentiate_to_second_order():
    x, b = rg.tensor(_rand(1, 4, 4, 4), requires_grad=True), rg.tensor(_rand(4), requires_grad=True)
    w = rg.tensor(_rand(4, 2, 2, 2), requires_grad=True)
    grouped = lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2)   # noqa: E731
    transposed = lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1, 2)         # noqa: E731
    x1, w1 = rg.tensor(_rand(1, 4, 6), requires_grad=True), rg.tensor(_rand(4, 2, 3), requires_grad=True)
    one_d = lambda x, w: F.conv1d(x, w, stride=2, padding=1, dilation=2, groups=2)  # noqa: E731
    for fn, inputs in ((grouped, [x, w, b]), (transposed, [x, w, b]), (one_d, [x1, w1])):
        assert rg.gradcheck(fn, inputs).ok
        assert rg.gradgradcheck(fn, inputs).ok


# ---------------------------------------------------------------- layers: layouts, state_dict, init
def _load_from_torch(module, torch_module):
    module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})


LAYERS = [  # (class name, constructor args, kwargs, input shape, forward kwargs)
    ("Conv2d", (4, 6, 3), dict(stride=2, padding=1, groups=2), (2, 4, 7, 7), {}),
    ("Conv2d", (4, 4, (2, 3)), dict(padding="same", dilation=(2, 1), groups=4, bias=False), (2, 4, 5, 6), {}),
    ("Conv1d", (4, 6, 3), dict(padding="same", groups=2), (2, 4, 7), {}),
    ("Conv1d", (3, 2, 2), dict(stride=2, dilation=3), (3, 9), {}),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2, dilation=2), (2, 4, 5, 5),
     {}),
    ("ConvTranspose2d", (4, 3, 3), dict(stride=2), (2, 4, 5, 5), dict(output_size=(12, 12))),
    ("ConvTranspose2d", (4, 3, 3), dict(stride=2), (2, 4, 5, 5), dict(output_size=(2, 3, 11, 12))),
]


@requires_torch
@pytest.mark.parametrize("name, args, kwargs, shape, fwd", LAYERS)
def test_conv_layers_load_torch_state_and_match_values_and_all_gradients(name, args, kwargs, shape, fwd):
    tm = getattr(torch.nn, name)(*args, **kwargs).double()
    rm = getattr(nn, name)(*args, **kwargs).double()
    assert {k: tuple(v.shape) for k, v in rm.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    assert repr(rm) == repr(tm)
    _load_from_torch(rm, tm)
    x = _rand(*shape)
    xt, xr = torch.tensor(x, requires_grad=True), rg.tensor(x, requires_grad=True)
    yt, yr = tm(xt, **fwd), rm(xr, **fwd)
    np.testing.assert_allclose(yr.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(3).standard_normal(yr.shape)
    yt.backward(torch.tensor(g))
    yr.backward(rg.tensor(g))
    np.testing.assert_allclose(xr.grad.data, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    params = dict(rm.named_parameters())
    for pname, p in tm.named_parameters():
        np.testing.assert_allclose(params[pname].grad.data, p.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layer, weight_shape, fan_in", [
    (lambda: nn.Conv2d(8, 8, 3, groups=4), (8, 2, 3, 3), 2 * 9),
    (lambda: nn.Conv1d(4, 6, 5, groups=2), (6, 2, 5), 2 * 5),
    (lambda: nn.ConvTranspose2d(4, 6, 3, groups=2), (4, 3, 3, 3), 3 * 9),
])
def test_conv_layers_default_init_is_pytorchs(layer, weight_shape, fan_in):
    """kaiming_uniform_(a=√5): weight and bias in U(±1/√fan_in), fan_in = weight.shape[1]·kernel."""
    rg.random.manual_seed(0)
    m = layer()
    assert m.weight.shape == weight_shape and m.bias.shape == (m.out_channels,)
    bound = 1 / np.sqrt(fan_in)
    for p in (m.weight, m.bias):
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.5 * bound   # spread over the range, not a smaller one


def test_conv2d_keeps_pytorchs_positional_order():
    """Conv2d(in, out, k, stride, padding, dilation, groups, bias) as in PyTorch."""
    m = nn.Conv2d(4, 4, 3, 1, 1, 1, 2, False)
    assert m.groups == 2 and m.bias is None and m.weight.shape == (4, 2, 3, 3)
    t = nn.ConvTranspose2d(4, 4, 3, 2, 1, 1, 2, False, 1)
    assert t.output_padding == (1, 1) and t.groups == 2 and t.bias is None


# ---------------------------------------------------------------- pooling of integer images
@requires_torch
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_max_pool2d_with_padding_pools_integer_images_like_torch(dtype):
    x = (np.arange(2 * 3 * 5 * 4).reshape(2, 3, 5, 4) * 7 % 23).astype(dtype)
    for kwargs in (dict(kernel_size=2, padding=1), dict(kernel_size=3, stride=2, padding=1)):
        out = F.max_pool2d(rg.tensor(x), **kwargs)
        expected = torch.nn.functional.max_pool2d(torch.tensor(x), **kwargs).numpy()
        assert out.dtype == expected.dtype
        np.testing.assert_array_equal(out.data, expected)


@requires_torch
def test_max_pool2d_of_negative_integers_never_picks_the_padding():
    x = -np.arange(1, 17, dtype=np.int64).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(F.max_pool2d(rg.tensor(x), 2, padding=1).data,
                                  torch.nn.functional.max_pool2d(torch.tensor(x), 2, padding=1).numpy())


def test_pooling_refuses_what_it_cannot_compute_like_torch():
    with pytest.raises(OpError, match=r"max_pool2d.*bool"):
        F.max_pool2d(rg.tensor(np.ones((1, 1, 4, 4), dtype=bool)), 2)
    with pytest.raises(OpError, match=r"avg_pool2d.*int64.*float"):
        F.avg_pool2d(rg.tensor(np.ones((1, 1, 4, 4), dtype=np.int64)), 2)


@requires_torch
def test_pooling_takes_unbatched_images_like_torch():
    x = _rand(3, 5, 4)
    _compare(lambda x: F.max_pool2d(x, 2, padding=1), lambda x: torch.nn.functional.max_pool2d(x, 2, padding=1), [x])
    _compare(lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: torch.nn.functional.avg_pool2d(x, 3, 2, 1), [x])


# ---------------------------------------------------------------- bad arguments: refused where PyTorch refuses
X4, W4 = (1, 4, 5, 5), (6, 4, 3, 3)
BAD = [  # op name, input shapes (x, weight, bias or None), kwargs, a regex of our message
    ("conv2d", (X4, W4, None), dict(stride=0), "stride must be positive"),
    ("conv2d", (X4, W4, None), dict(stride=-1), "stride must be positive"),
    ("conv2d", (X4, W4, None), dict(dilation=0), "dilation must be positive"),
    ("conv2d", (X4, W4, None), dict(padding=-1), "negative padding"),
    ("conv2d", (X4, W4, (5,)), {}, r"bias of shape \(6,\)"),
    ("conv2d", (X4, W4, (1, 6)), {}, r"bias of shape \(6,\)"),
    ("conv2d", (X4, W4, None), dict(groups=2), "8 channels, got 4"),
    ("conv2d", (X4, (5, 2, 3, 3), None), dict(groups=2), "divisible by 2"),
    ("conv2d", (X4, W4, None), dict(groups=0), "groups must be a positive integer"),
    ("conv2d", (X4, W4, None), dict(padding="same", stride=2), "strided"),
    ("conv2d", (X4, W4, None), dict(padding="full"), "invalid padding string"),
    ("conv2d", (X4, (6, 4, 7, 7), None), {}, "larger than the padded input"),
    ("conv2d", ((1, 5, 5), W4, None), {}, r"expected input of shape"),
    ("conv1d", ((1, 4, 5), (6, 4, 3), None), dict(stride=0), "stride must be positive"),
    ("conv1d", ((1, 4, 5), (6, 4, 3), None), dict(padding=-2), "negative padding"),
    ("conv1d", ((1, 4, 5), (6, 2, 3), None), dict(groups=3), "divisible by 3|channels"),
    ("conv_transpose2d", (X4, (4, 3, 3, 3), None), dict(stride=2, output_padding=2), "output padding"),
    ("conv_transpose2d", (X4, (4, 3, 3, 3), None), dict(dilation=0), "dilation must be positive"),
    ("conv_transpose2d", (X4, (4, 3, 3, 3), (6,)), {}, r"bias of shape \(3,\)"),
    ("conv_transpose2d", ((1, 4, 1, 1), (4, 3, 1, 1), None), dict(padding=1), "padding .* too large"),
    ("conv_transpose2d", (X4, (3, 3, 3, 3), None), {}, "input channels"),
    ("max_pool2d", (X4,), dict(kernel_size=2, stride=0), "stride must be positive"),
    ("max_pool2d", (X4,), dict(kernel_size=2, padding=-1), "negative padding"),
    ("max_pool2d", (X4,), dict(kernel_size=0), "kernel_size must be positive"),
    ("avg_pool2d", (X4,), dict(kernel_size=2, padding=2), "at most half"),
]


@requires_torch
@pytest.mark.parametrize("op, shapes, kwargs, message", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_convolution_arguments_are_refused_like_torch(op, shapes, kwargs, message):
    arrays = [None if s is None else _rand(*s) for s in shapes]
    with pytest.raises((RuntimeError, ValueError)):
        _t(op)(*[None if a is None else torch.tensor(a) for a in arrays], **kwargs)
    with pytest.raises(OpError, match=message) as caught:
        getattr(F, op)(*[None if a is None else rg.tensor(a) for a in arrays], **kwargs)
    assert op in str(caught.value)


def test_convolution_refuses_mixed_and_integer_dtypes():
    x32, w64 = rg.tensor(_rand(1, 2, 4, 4), dtype=rg.float32), rg.tensor(_rand(3, 2, 3, 3))
    with pytest.raises(OpError, match=r"conv2d: input .*float32.*weight .*float64.*same dtype"):
        F.conv2d(x32, w64)
    with pytest.raises(OpError, match=r"conv2d: expected floating-point.*int64"):
        F.conv2d(rg.tensor(np.ones((1, 2, 4, 4), dtype=np.int64)), w64)
