"""Arguments are validated like PyTorch's: a layer, an optimizer or
``F.linear`` / ``F.embedding`` given arguments PyTorch refuses raises a
``ValueError`` (constructors) or an ``OpError`` naming the op (calls), with
PyTorch's wording where it has one; everything PyTorch accepts computes what
PyTorch computes. PyTorch is the oracle for which arguments raise."""

import math

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import nn, optim
from retrograd.autograd.op import OpError
from retrograd.nn import functional as F

try:
    import torch
except ImportError:  # the PyTorch comparisons are skipped one by one (conftest)
    torch = None


# ---------------------------------------------------------------- convolution layers
BAD_LAYERS = [  # class name, args, kwargs, input shape for PyTorch's forward, our message
    ("Conv2d", (4, 6, 3), dict(stride=0), (1, 4, 5, 5), "stride must be positive"),
    ("Conv2d", (4, 6, 3), dict(stride=(1, -2)), (1, 4, 5, 5), "stride must be positive"),
    ("Conv2d", (4, 6, 3), dict(dilation=0), (1, 4, 5, 5), "dilation must be positive"),
    ("Conv2d", (4, 6, 3), dict(padding=-1), (1, 4, 5, 5), "padding must be non-negative"),
    ("Conv2d", (4, 6, 3), dict(groups=4), (1, 4, 5, 5), r"out_channels \(6\) must be divisible by groups \(4\)"),
    ("Conv2d", (3, 6, 3), dict(groups=2), (1, 3, 5, 5), r"in_channels \(3\) must be divisible by groups \(2\)"),
    ("Conv2d", (4, 6, 3), dict(groups=0), (1, 4, 5, 5), "groups must be a positive integer"),
    ("Conv2d", (4, 6, 3), dict(padding="same", stride=2), (1, 4, 5, 5), "strided"),
    ("Conv2d", (4, 6, 3), dict(padding="full"), (1, 4, 5, 5), "invalid padding string"),
    ("Conv2d", (4, 6, 3), dict(padding_mode="mirror"), (1, 4, 5, 5), "padding_mode must be one of"),
    ("Conv2d", (4, 6, (3, 3, 3)), {}, (1, 4, 5, 5), "kernel_size must be an int or a tuple of 2"),
    ("Conv1d", (4, 6, 3), dict(stride=0), (1, 4, 5), "stride must be positive"),
    ("Conv1d", (4, 6, 3), dict(dilation=-1), (1, 4, 5), "dilation must be positive"),
    ("Conv1d", (4, 6, 3), dict(groups=3), (1, 4, 5), "divisible by groups"),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, output_padding=2), (1, 4, 5, 5), "output_padding"),
    ("ConvTranspose2d", (4, 6, 3), dict(padding_mode="reflect"), (1, 4, 5, 5), "padding_mode must be one of"),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=0), (1, 4, 5, 5), "stride must be positive"),
]


@requires_torch
@pytest.mark.parametrize("name, args, kwargs, shape, message", BAD_LAYERS,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD_LAYERS)])
def test_bad_conv_layers_are_refused_at_construction(name, args, kwargs, shape, message):
    """PyTorch refuses these at construction or at the first call; retrograd at construction."""
    with pytest.raises((ValueError, RuntimeError, TypeError)):
        getattr(torch.nn, name)(*args, **kwargs)(torch.zeros(shape))
    with pytest.raises(ValueError, match=message) as caught:
        getattr(nn, name)(*args, **kwargs)
    assert name in str(caught.value)


@requires_torch
@pytest.mark.parametrize("name, kwargs, message", [
    ("MaxPool2d", dict(kernel_size=2, stride=0), "stride must be positive"),
    ("MaxPool2d", dict(kernel_size=0), "kernel_size must be positive"),
    ("MaxPool2d", dict(kernel_size=3, padding=2), "padding 2 must be at most half the kernel size"),
    ("MaxPool2d", dict(kernel_size=2, dilation=0), "dilation must be positive"),
    ("AvgPool2d", dict(kernel_size=2, padding=-1), "padding must be non-negative"),
    ("AvgPool2d", dict(kernel_size=(2, 2, 2)), "kernel_size must be an int or a tuple of 2"),
])
def test_bad_pooling_layers_are_refused_at_construction(name, kwargs, message):
    with pytest.raises((ValueError, RuntimeError, TypeError)):
        getattr(torch.nn, name)(**kwargs)(torch.zeros(1, 1, 6, 6))
    with pytest.raises(ValueError, match=f"{name}: {message}"):
        getattr(nn, name)(**kwargs)


def test_padding_modes_pad_the_input_in_that_mode_never_with_zeros():
    """reflect/replicate/circular: F.pad in that mode, then a convolution without padding (a kernel that
    reads its top-left tap returns the padded input); tests/nn/test_conv_padding_modes.py compares with torch."""
    x = rg.tensor(np.arange(25.0).reshape(1, 1, 5, 5))
    for mode in ("reflect", "replicate", "circular"):
        conv = nn.Conv2d(1, 1, 3, padding=1, padding_mode=mode, bias=False).double()
        conv.weight.data[...] = 0
        conv.weight.data[0, 0, 0, 0] = 1
        np.testing.assert_array_equal(conv(x).data, F.pad(x, (1, 1, 1, 1), mode=mode).data[..., :5, :5])


def test_a_conv_bias_of_the_wrong_shape_is_refused_at_the_call():
    conv = nn.Conv2d(2, 3, 3).double()
    conv.bias = nn.Parameter(np.zeros(4))
    with pytest.raises(OpError, match=r"conv2d: .*expected bias of shape \(3,\)"):
        conv(rg.tensor(np.zeros((1, 2, 5, 5))))


@requires_torch
def test_conv_transpose_output_size_outside_the_valid_range_is_refused_like_torch():
    tm, rm = torch.nn.ConvTranspose2d(4, 3, 3, stride=2), nn.ConvTranspose2d(4, 3, 3, stride=2)
    with pytest.raises(ValueError, match="valid sizes range from"):
        tm(torch.zeros(1, 4, 5, 5), output_size=(13, 13))
    with pytest.raises(ValueError, match=r"requested an output size of \(13, 13\), but valid sizes range from "
                                         r"\[11, 11\] to \[12, 12\]"):
        rm(rg.tensor(np.zeros((1, 4, 5, 5), np.float32)), output_size=(13, 13))


# ---------------------------------------------------------------- linear
BIAS_SHAPES = [(4,), (1,), (2, 4), (), (5,), (3, 2, 4), (2, 1), (4, 1)]


@requires_torch
@pytest.mark.parametrize("bias_shape", BIAS_SHAPES, ids=str)
def test_linear_bias_shapes_follow_torch(bias_shape):
    """Whatever bias PyTorch broadcasts gives PyTorch's values and gradients (the bias's summed back to
    its shape); whatever it refuses is an OpError naming linear — never an 'internal error' in backward."""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 3)), rng.standard_normal(bias_shape)
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    try:
        expected = torch.nn.functional.linear(*ts)
    except RuntimeError:
        with pytest.raises(OpError, match=rf"linear: bias of shape {re_shape(bias_shape)} does not broadcast"):
            F.linear(*[rg.tensor(a, requires_grad=True) for a in (x, w, b)])
        return
    rs = [rg.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.linear(*rs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(rg.tensor(g))
    expected.backward(torch.tensor(g))
    for r, t in zip(rs, ts):
        assert r.grad.shape == tuple(t.grad.shape)
        np.testing.assert_allclose(r.grad.data, t.grad.numpy(), rtol=1e-12)


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_linear_layer_refuses_bad_sizes_and_a_wrong_bias():
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="Linear: in_features must be a non-negative integer"):
            nn.Linear(bad, 3)
        with pytest.raises(ValueError, match="Linear: out_features must be a non-negative integer"):
            nn.Linear(3, bad)
    layer = nn.Linear(3, 4).double()
    layer.bias = nn.Parameter(np.zeros(5))
    with pytest.raises(OpError, match=r"linear: bias of shape \(5,\) does not broadcast to the output shape "
                                      r"\(2, 4\)"):
        layer(rg.tensor(np.ones((2, 3)), requires_grad=True))


@requires_torch
def test_linear_with_a_vector_weight_is_a_dot_product_like_torch():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal(3)
    out = F.linear(rg.tensor(x), rg.tensor(w))
    np.testing.assert_allclose(out.data, torch.nn.functional.linear(torch.tensor(x), torch.tensor(w)).numpy())
    with pytest.raises(OpError, match="1-D weight .* takes no bias"):
        F.linear(rg.tensor(x), rg.tensor(w), rg.tensor(np.zeros(())))
    with pytest.raises(OpError, match=r"linear: input of shape \(2, 3\) and weight of shape \(4, 2\) do not fit"):
        F.linear(rg.tensor(x), rg.tensor(np.zeros((4, 2))))


# ---------------------------------------------------------------- embedding
@requires_torch
@pytest.mark.parametrize("indices", [[-1], [5], [0, 7, 2], [[1, -3], [0, 0]]], ids=str)
def test_embedding_refuses_out_of_range_indices_like_torch(indices):
    te, re = torch.nn.Embedding(5, 2), nn.Embedding(5, 2)
    idx = np.array(indices)
    with pytest.raises(IndexError):
        te(torch.tensor(idx))
    with pytest.raises(F.EmbeddingIndexError, match=r"Embedding\(5, 2\): index -?\d+ is out of range for "
                                                    r"num_embeddings=5") as caught:
        re(rg.tensor(idx))
    assert isinstance(caught.value, IndexError) and isinstance(caught.value, OpError)
    with pytest.raises(IndexError, match=r"embedding: index .* num_embeddings=5"):
        F.embedding(rg.tensor(idx), re.weight)


def test_embedding_in_range_still_accumulates_and_empty_indices_work():
    emb = nn.Embedding(5, 3).double()
    out = emb(rg.tensor(np.array([0, 4, 4])))
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[:, 0], [1, 0, 0, 0, 2])
    assert emb(rg.tensor(np.zeros((0,), dtype=np.int64))).shape == (0, 3)
    with pytest.raises(ValueError, match="Embedding: num_embeddings must be a non-negative integer"):
        nn.Embedding(-2, 3)


# ---------------------------------------------------------------- optimizers
def _param():
    return rg.tensor(np.ones(2), requires_grad=True)


BAD_OPTIMIZERS = [  # class name, kwargs, our message (PyTorch's wording after the class name)
    ("SGD", dict(lr=-1), "invalid learning rate: -1"),
    ("SGD", dict(lr=0.1, momentum=-1), "invalid momentum value: -1"),
    ("SGD", dict(lr=0.1, weight_decay=-1), "invalid weight_decay value: -1"),
    ("SGD", dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
    ("Adam", dict(betas=(1.0, 0.9)), "invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(0.9, 1.0)), "invalid beta parameter at index 1: 1.0"),
    ("Adam", dict(betas=(-0.1, 0.9)), "invalid beta parameter at index 0: -0.1"),
    ("Adam", dict(betas=(math.nan, 0.9)), "invalid beta parameter at index 0: nan"),
    ("Adam", dict(eps=-1), "invalid epsilon value: -1"),
    ("Adam", dict(weight_decay=-1), "invalid weight_decay value: -1"),
    ("AdamW", dict(lr=-0.5), "invalid learning rate: -0.5"),
    ("AdamW", dict(weight_decay=-1), "invalid weight_decay value: -1"),
    ("Adagrad", dict(lr_decay=-1), "invalid lr_decay value: -1"),
    ("Adagrad", dict(initial_accumulator_value=-1), "invalid initial_accumulator_value value: -1"),
    ("Adagrad", dict(eps=-1), "invalid epsilon value: -1"),
    ("RMSprop", dict(alpha=-1), "invalid alpha value: -1"),
    ("RMSprop", dict(momentum=-1), "invalid momentum value: -1"),
    ("RMSprop", dict(eps=-1), "invalid epsilon value: -1"),
]


@requires_torch
@pytest.mark.parametrize("name, kwargs, message", BAD_OPTIMIZERS,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD_OPTIMIZERS)])
def test_bad_optimizer_hyper_parameters_are_refused_like_torch(name, kwargs, message):
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))], **kwargs)
    with pytest.raises(ValueError, match=f"{name}: {message}"):
        getattr(optim, name)([_param()], **kwargs)


@requires_torch
def test_parameter_lists_are_checked_like_torch():
    p = _param()
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p, _param()]}], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError):
        torch.optim.SGD(torch.nn.Parameter(torch.ones(2)), lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2.0], lr=0.1)
    with pytest.raises(ValueError, match="a parameter group must be a dict with a 'params' entry"):
        optim.SGD([{"lr": 0.1}], lr=0.1)


def test_stricter_than_torch_nan_and_infinite_rates_duplicates_and_group_values():
    """Deliberate differences: PyTorch accepts these and then trains to NaN or updates a parameter twice."""
    for lr in (math.nan, math.inf):
        with pytest.raises(ValueError, match="SGD: invalid learning rate"):
            optim.SGD([_param()], lr=lr)
    p = _param()
    with pytest.raises(ValueError, match="appears twice in parameter group 0"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="Adam: invalid learning rate: -1"):   # a group's own value
        optim.Adam([{"params": [_param()]}, {"params": [_param()], "lr": -1}])
    with pytest.raises(ValueError, match=r"SGD: invalid learning rate: 'abc' \(must be a number\)"):
        optim.SGD([_param()], lr="abc")
    with pytest.raises(ValueError, match=r"betas must be a pair"):
        optim.Adam([_param()], betas=(0.9, 0.9, 0.9))


def test_add_param_group_and_load_state_dict_are_validated_before_anything_changes():
    a, b = _param(), _param()
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": [b], "lr": 0.01})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01] and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    saved = opt.state_dict()
    saved["param_groups"][1]["lr"] = -3.0
    with pytest.raises(ValueError, match="SGD: invalid learning rate: -3.0"):
        opt.load_state_dict(saved)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    saved["param_groups"][1]["lr"] = "abc"
    with pytest.raises(ValueError, match="must be a number"):
        opt.load_state_dict(saved)


# ---------------------------------------------------------------- activation modules
ACTIVATIONS = [  # class name, constructor args (PyTorch's)
    ("SiLU", ()), ("SiLU", (True,)), ("Mish", ()), ("Hardtanh", ()), ("Hardtanh", (-2.0, 0.5)),
    ("ReLU6", ()), ("ReLU6", (True,)), ("SELU", ()), ("LogSigmoid", ()), ("Softsign", ()),
    ("ReLU", (True,)), ("LeakyReLU", (0.2, True)), ("ELU", (0.5, True)),
]


@requires_torch
@pytest.mark.parametrize("name, args", ACTIVATIONS, ids=[f"{a[0]}{a[1]}" for a in ACTIVATIONS])
def test_activation_modules_match_torch(name, args):
    """Values and gradients (float64) and the repr equal PyTorch's; ``inplace=True`` is accepted and
    computed out of place (the input is left as it was)."""
    x = np.random.default_rng(2).standard_normal((3, 5)) * 4   # reaches ReLU6's and Hardtanh's bounds
    x = np.where(np.abs(x) < 0.05, 0.3, x)                   # off the kink at 0
    tm, rm = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    assert repr(rm) == repr(tm)
    xt, xr = torch.tensor(x, requires_grad=True), rg.tensor(x, requires_grad=True)
    yt, yr = tm(xt.clone() if args and args[-1] is True else xt), rm(xr)
    np.testing.assert_allclose(yr.data, yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    yt.sum().backward()
    yr.sum().backward()
    np.testing.assert_allclose(xr.grad.data, xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(xr.data, x)


@requires_torch
def test_hardtanh_bounds_are_checked_like_torch():
    for lo, hi in ((1.0, -1.0), (1.0, 1.0)):
        with pytest.raises(AssertionError):
            torch.nn.Hardtanh(lo, hi)
        with pytest.raises(ValueError, match=rf"Hardtanh: max_val \({hi}\) must be greater than min_val \({lo}\)"):
            nn.Hardtanh(lo, hi)
