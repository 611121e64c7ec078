"""Modules, layers and losses: registration, state dicts, and agreement with
PyTorch (values and gradients) when it is installed."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.nn import functional as F


def test_registration_and_named_parameters():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
            self.scale = nn.Parameter(np.ones(1, np.float32))
            self.register_buffer("calls", np.zeros((), np.int64))
            self.note = "not registered"

        def forward(self, x):
            return self.body(x) * self.scale

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "body.0.weight", "body.0.bias", "body.2.weight",
                                                      "body.2.bias"]
    assert list(net.state_dict()) == ["scale", "calls", "body.0.weight", "body.0.bias", "body.2.weight",
                                      "body.2.bias"]
    assert net.num_parameters() == 1 + 6 + 3 + 3 + 1
    net.eval()
    assert not net.body[0].training
    net.train()
    assert net.body[2].training
    out = net(rg.tensor(np.ones((4, 2), np.float32)))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(TypeError, match="cannot assign"):
        net.scale = 3.0
    assert "Linear(in_features=2, out_features=3, bias=True)" in repr(net)


def test_load_state_dict_errors_name_every_problem_and_change_nothing():
    a = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    before = a[0].weight.data.copy()
    bad = dict(a.state_dict())
    bad["0.weight"] = np.zeros((4, 2))
    bad.pop("1.bias")
    bad["extra"] = np.zeros(1)
    with pytest.raises(nn.StateDictError) as err:
        a.load_state_dict(bad)
    text = str(err.value)
    assert "missing keys: ['1.bias']" in text and "unexpected keys: ['extra']" in text
    assert "0.weight: checkpoint (4, 2) vs model (3, 2)" in text
    np.testing.assert_array_equal(a[0].weight.data, before)
    good = {k: v * 0 + 1 for k, v in a.state_dict().items()}
    a.load_state_dict(good)
    assert np.all(a[1].bias.data == 1)
    missing, unexpected = a.load_state_dict({"0.bias": np.zeros(3), "zzz": np.zeros(2)}, strict=False)
    assert "0.weight" in missing and unexpected == ["zzz"]


def test_dropout_train_and_eval():
    rg.manual_seed(0)
    d = nn.Dropout(0.25)
    x = rg.tensor(np.ones((200, 50), np.float32), requires_grad=True)
    y = d(x)
    kept = y.data != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.75)
    d.eval()
    assert d(x) is x


def test_embedding_accumulates_repeated_rows():
    emb = nn.Embedding(5, 3)
    idx = np.array([[1, 1], [4, 1]])
    out = emb(idx)
    assert out.shape == (2, 2, 3)
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[:, 0], [0, 3, 0, 0, 1])
    with pytest.raises(rg.OpError, match="indices must be integers"):
        emb(np.array([0.5]))


def test_batchnorm_running_stats_and_eval():
    bn = nn.BatchNorm1d(3)
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32) * 2 + 1
    y = bn(rg.tensor(x))
    np.testing.assert_allclose(y.data.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-5)
    assert int(bn.num_batches_tracked.data) == 1
    bn.eval()
    y2 = bn(rg.tensor(x))
    np.testing.assert_allclose(y2.data, (x - bn.running_mean.data) / np.sqrt(bn.running_var.data + 1e-5), rtol=1e-5)
    with pytest.raises(rg.OpError, match=r"BatchNorm1d\(3\): expected input"):
        bn(rg.tensor(np.zeros((2, 4))))


def test_layers_gradcheck():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    ln = nn.LayerNorm(4).double()
    assert rg.gradcheck(lambda t: ln(t), [x]).ok
    bn = nn.BatchNorm1d(4).double()
    assert rg.gradcheck(lambda t: bn(t), [x]).ok
    img = rng.standard_normal((2, 2, 5, 5))
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1, dilation=1).double()
    assert rg.gradcheck(lambda t: conv(t), [img]).ok
    conv_d = nn.Conv2d(2, 2, 2, dilation=2).double()
    assert rg.gradcheck(lambda t: conv_d(t), [img]).ok
    w = rng.standard_normal((3, 2, 3, 3))
    assert rg.gradcheck(lambda t, k: F.conv2d(t, k, padding="same"), [img, w]).ok


@pytest.mark.parametrize("policy,expected", [
    ("first", [[1, 0], [0, 0]]), ("split", [[0.25, 0.25], [0.25, 0.25]]),
    ("min_norm", [[0.25, 0.25], [0.25, 0.25]]), ("all", [[1, 1], [1, 1]])])
def test_maxpool_ties_follow_the_policy(policy, expected):
    """Seed page 002: a 2×2 window whose four entries are all the maximum."""
    x = rg.tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    with rg.conventions.policy(policy):
        out = nn.MaxPool2d(2)(x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data[0, 0], expected)


@pytest.mark.parametrize("policy", ["min_norm", "first", "split"])
def test_maxpool_gradcheck_with_ties_and_overlaps(policy):
    x = np.array([[[[1.0, 3.0, 3.0, 0.0],
                    [2.0, 3.0, 1.0, 1.0],
                    [0.0, 0.5, 2.0, 2.0],
                    [0.5, 0.5, 2.0, -1.0]]]])
    with rg.conventions.policy(policy):
        for kwargs in (dict(kernel_size=2), dict(kernel_size=2, stride=1), dict(kernel_size=3, stride=1, padding=1)):
            report = rg.gradcheck(lambda t: F.max_pool2d(t, **kwargs), [x])
            assert report.ok, str(report)
            assert report.kinks  # the tied windows were detected as kinks
    smooth = x + np.arange(16).reshape(1, 1, 4, 4) * 1e-3
    assert not rg.gradcheck(lambda t: F.max_pool2d(t, 2), [smooth]).kinks


def test_loss_modules_and_reductions():
    rng = np.random.default_rng(2)
    z, y = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    assert nn.CrossEntropyLoss()(rg.tensor(z), y).shape == ()
    assert nn.CrossEntropyLoss(reduction="none")(rg.tensor(z), y).shape == (4,)
    assert nn.MSELoss(reduction="sum")(rg.tensor(z), rg.tensor(z * 0)).item() == pytest.approx((z ** 2).sum())
    with pytest.raises(rg.OpError, match="reduction must be one of"):
        rg.mse_loss(rg.tensor(z), rg.tensor(z), reduction="avg")
    with pytest.raises(rg.OpError, match="class index out of range"):
        rg.cross_entropy(rg.tensor(z), np.array([0, 1, 2, 3]))
    with pytest.raises(rg.OpError, match="probabilities in"):
        rg.binary_cross_entropy(rg.tensor(z), rg.tensor(z))


@pytest.mark.parametrize("fn,args", [
    ("bce_logits", None), ("bce", None), ("ce_idx", None), ("ce_prob", None), ("ce_3d", None), ("nll", None)])
def test_losses_gradcheck_first_and_second_order(fn, args):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((4, 3))
    if fn == "bce_logits":
        y = rng.random((4, 3))
        f = lambda t: rg.binary_cross_entropy_with_logits(t, rg.tensor(y))  # noqa: E731
    elif fn == "bce":
        y = rng.random((4, 3))
        z = 1 / (1 + np.exp(-z))
        f = lambda t: rg.binary_cross_entropy(t, rg.tensor(y))  # noqa: E731
    elif fn == "ce_idx":
        f = lambda t: rg.cross_entropy(t, np.array([0, 2, 1, -100]))  # noqa: E731
    elif fn == "ce_prob":
        p = rng.random((4, 3))
        p /= p.sum(1, keepdims=True)
        f = lambda t: rg.cross_entropy(t, p)  # noqa: E731
    elif fn == "ce_3d":
        z = rng.standard_normal((2, 3, 4))
        labels = rng.integers(0, 3, (2, 4))
        f = lambda t: rg.cross_entropy(t, labels, reduction="sum")  # noqa: E731
    else:
        f = lambda t: rg.nll_loss(rg.log_softmax(t, 1), np.array([1, 1, 0, 2]))  # noqa: E731
    assert rg.gradcheck(f, [z]).ok
    assert rg.gradgradcheck(f, [z]).ok


def test_fused_logit_losses_pass_back_exactly_the_delta():
    """σ(z) − y and softmax(z) − onehot(y), scaled by the mean's 1/n."""
    rng = np.random.default_rng(4)
    z = rg.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    y = rng.random((5, 3)).round()
    rg.binary_cross_entropy_with_logits(z, rg.tensor(y)).backward()
    np.testing.assert_allclose(z.grad.data, (1 / (1 + np.exp(-z.data)) - y) / 15, rtol=1e-13)
    z.grad = None
    labels = np.array([2, 0, 1, 1, 0])
    rg.cross_entropy(z, labels, reduction="sum").backward()
    soft = np.exp(z.data) / np.exp(z.data).sum(1, keepdims=True)
    np.testing.assert_allclose(z.grad.data, soft - np.eye(3)[labels], rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- PyTorch as the oracle
from conftest import torch  # noqa: E402 - None without PyTorch: the tests marked torch then skip, with the reason


def _torch_state(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def _compare(rg_model, t_model, x, atol=1e-10, loss="sum"):
    """Load the torch model's state into ours; compare outputs and all gradients."""
    rg_model.double().zero_grad()
    t_model.double().zero_grad()
    rg_model.load_state_dict(_torch_state(t_model))
    xr = rg.tensor(x, requires_grad=True)
    xt = torch.from_numpy(x).requires_grad_()
    yr, yt = rg_model(xr), t_model(xt)
    np.testing.assert_allclose(yr.data, yt.detach().numpy(), rtol=1e-9, atol=atol)
    w = np.random.default_rng(5).standard_normal(yr.shape)
    (yr * rg.tensor(w)).sum().backward()
    (yt * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(xr.grad.data, xt.grad.numpy(), rtol=1e-8, atol=atol)
    tparams = dict(t_model.named_parameters())
    for name, p in rg_model.named_parameters():
        np.testing.assert_allclose(p.grad.data, tparams[name].grad.numpy(), rtol=1e-8, atol=atol, err_msg=name)


@pytest.mark.torch
def test_mlp_matches_torch():
    tn = torch.nn
    t_model = tn.Sequential(tn.Linear(6, 8), tn.LayerNorm(8), tn.GELU(), tn.Linear(8, 8), tn.BatchNorm1d(8),
                            tn.ELU(), tn.Dropout(0.3), tn.Linear(8, 3), tn.LogSoftmax(dim=1))
    r_model = nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 8), nn.BatchNorm1d(8),
                            nn.ELU(), nn.Dropout(0.3), nn.Linear(8, 3), nn.LogSoftmax(dim=1))
    t_model.eval()
    r_model.eval()
    x = np.random.default_rng(6).standard_normal((5, 6))
    _compare(r_model, t_model, x)
    t_model.train()
    r_model.train()
    t_model[6].p = r_model[6].p = 0.0
    _compare(r_model, t_model, x)
    np.testing.assert_allclose(r_model[4].running_var.data, t_model[4].running_var.detach().numpy(), rtol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [dict(stride=1, padding=0), dict(stride=2, padding=1), dict(padding=2, dilation=2),
                                    dict(padding="same")])
def test_cnn_matches_torch(kwargs):
    tn = torch.nn
    t_model = tn.Sequential(tn.Conv2d(2, 4, 3, **kwargs), tn.BatchNorm2d(4), tn.ReLU(), tn.MaxPool2d(2, stride=1),
                            tn.AvgPool2d(2), tn.Flatten())
    r_model = nn.Sequential(nn.Conv2d(2, 4, 3, **kwargs), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2, stride=1),
                            nn.AvgPool2d(2), nn.Flatten())
    x = np.random.default_rng(7).standard_normal((3, 2, 9, 9))
    _compare(r_model, t_model, x)


@pytest.mark.torch
def test_default_initialisation_matches_torch_distribution():
    lin = nn.Linear(100, 50)
    bound = 1 / np.sqrt(100)
    assert np.abs(lin.weight.data).max() <= bound and np.abs(lin.weight.data).max() > 0.9 * bound
    conv = nn.Conv2d(3, 8, 5)
    assert np.abs(conv.weight.data).max() <= 1 / np.sqrt(75)
    x = np.random.default_rng(8).standard_normal((64, 64))
    t = torch.from_numpy(x.copy())
    torch.nn.init.xavier_uniform_(t)
    r = rg.tensor(x.copy())
    nn.init.xavier_uniform_(r)
    assert abs(np.abs(t.numpy()).max() - np.abs(r.data).max()) < 0.01


@pytest.mark.torch
@pytest.mark.parametrize("name", ["mse", "bce", "bce_logits", "ce_idx", "ce_prob", "ce_ignore", "nll"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_torch(name, reduction):
    rng = np.random.default_rng(9)
    z = rng.standard_normal((6, 4))
    tF = torch.nn.functional
    if name == "mse":
        y = rng.standard_normal((6, 4))
        fr, ft = rg.mse_loss, tF.mse_loss
    elif name == "bce":
        z = 1 / (1 + np.exp(-z))
        y = rng.random((6, 4))
        fr, ft = rg.binary_cross_entropy, tF.binary_cross_entropy
    elif name == "bce_logits":
        y = rng.random((6, 4))
        fr, ft = rg.binary_cross_entropy_with_logits, tF.binary_cross_entropy_with_logits
    elif name == "ce_prob":
        y = rng.random((6, 4))
        y /= y.sum(1, keepdims=True)
        fr, ft = rg.cross_entropy, tF.cross_entropy
    elif name == "nll":
        z = z - np.log(np.exp(z).sum(1, keepdims=True))
        y = np.array([0, 3, 1, 2, 2, 1])
        fr, ft = rg.nll_loss, tF.nll_loss
    else:
        y = np.array([0, 3, 1, 2, 2, -100 if name == "ce_ignore" else 1])
        fr, ft = rg.cross_entropy, tF.cross_entropy
    zr = rg.tensor(z, requires_grad=True)
    zt = torch.from_numpy(z).requires_grad_()
    yr = y if y.dtype.kind == "i" else rg.tensor(y)
    lr, lt = fr(zr, yr, reduction=reduction), ft(zt, torch.from_numpy(y), reduction=reduction)
    np.testing.assert_allclose(lr.data, lt.detach().numpy(), rtol=1e-10)
    v = rng.standard_normal(lr.shape)
    lr.backward(v)
    lt.backward(torch.from_numpy(v))
    np.testing.assert_allclose(zr.grad.data, zt.grad.numpy(), rtol=1e-9, atol=1e-14)


@pytest.mark.torch
def test_torch_state_dict_loads_and_embedding_matches():
    te = torch.nn.Embedding(7, 4).double()
    re = nn.Embedding(7, 4).double()
    re.load_state_dict(te.state_dict())  # torch tensors are accepted directly
    idx = np.array([[0, 6, 6], [2, 2, 1]])
    np.testing.assert_allclose(re(idx).data, te(torch.from_numpy(idx)).detach().numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fused_losses_equal_their_composed_forms(reduction):
    """Fused fast paths = the readable compositions (float64, 1e-10 relative)."""
    rng = np.random.default_rng(10)
    z = rg.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    labels = np.array([0, 3, 1, 2, 2, -100])
    fused = rg.cross_entropy(z, labels, reduction=reduction)
    composed = rg.nll_loss(rg.log_softmax(z, axis=1), labels, reduction=reduction)
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12)
    v = rng.standard_normal(fused.shape)
    np.testing.assert_allclose(rg.grad(fused, z, grad_outputs=v)[0].data,
                               rg.grad(composed, z, grad_outputs=v)[0].data, rtol=1e-10, atol=1e-15)
    y = rg.tensor(rng.random((6, 4)))
    fused = rg.binary_cross_entropy_with_logits(z, y, reduction=reduction)
    composed = rg.binary_cross_entropy(rg.sigmoid(z), y, reduction=reduction)
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12)
    v = rng.standard_normal(fused.shape)
    np.testing.assert_allclose(rg.grad(fused, z, grad_outputs=v)[0].data,
                               rg.grad(composed, z, grad_outputs=v)[0].data, rtol=1e-10)


def test_parameter_reassignment_deletion_and_functional_call_stay_consistent():
    lin = nn.Linear(2, 3)
    new_w = nn.Parameter(np.zeros((3, 2), np.float32))
    lin.weight = new_w
    assert lin.weight is new_w and dict(lin.named_parameters())["weight"] is new_w
    del lin.bias
    assert [n for n, _ in lin.named_parameters()] == ["weight"] and not hasattr(lin, "bias")
    lin.bias = None  # a plain attribute now, as in PyTorch after deletion
    swapped = rg.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    out = nn.utils.functional_call(lin, {"weight": swapped}, rg.tensor(np.ones((1, 2), np.float32)))
    assert out.data.tolist() == [[2.0, 2.0, 2.0]] and lin.weight is new_w
    out.sum().backward()
    assert swapped.grad.data.tolist() == [[1.0, 1.0]] * 3
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        lin.nope
