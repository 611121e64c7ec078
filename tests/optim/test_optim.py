"""Optimizers and schedulers: the same updates as PyTorch's, step by step."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn, optim

CONFIGS = {
    "sgd": dict(lr=0.1),
    "sgd_momentum": dict(lr=0.1, momentum=0.9, dampening=0.1),
    "sgd_nesterov_wd": dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adagrad": dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1),
    "rmsprop": dict(lr=0.01, alpha=0.9, weight_decay=0.01),
    "rmsprop_centered_momentum": dict(lr=0.01, momentum=0.9, centered=True),
    "adam": dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.01),
    "adam_amsgrad": dict(lr=0.01, amsgrad=True),
    "adamw": dict(lr=0.01, weight_decay=0.1),
}
CLASSES = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}


def _class_name(key):
    return CLASSES[key.split("_")[0]]


def _problem():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 4)), rng.standard_normal(3), rng.standard_normal((8, 4))


def _loss_rg(w, b, x):
    return (rg.tanh(rg.linear(rg.tensor(x), w, b)) ** 2).sum()


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_optimizer_matches_torch(key):
    torch = pytest.importorskip("torch")
    w0, b0, x = _problem()
    w, b = rg.tensor(w0.copy(), requires_grad=True), rg.tensor(b0.copy(), requires_grad=True)
    opt = getattr(optim, _class_name(key))([w, b], **CONFIGS[key])
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    topt = getattr(torch.optim, _class_name(key))([tw, tb], **CONFIGS[key])
    for _ in range(6):
        opt.zero_grad()
        _loss_rg(w, b, x).backward()
        opt.step()
        topt.zero_grad()
        (torch.tanh(torch.from_numpy(x) @ tw.T + tb) ** 2).sum().backward()
        topt.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_sgd_by_hand():
    p = rg.tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = optim.SGD([p], lr=0.5, momentum=0.5)
    for expected in ([0.0, 0.0], [-1.5, 3.0]):
        opt.zero_grad()
        (p * p).sum().backward()  # g = 2p
        opt.step()
    # step 1: b = 2p0 = [2, -4], p1 = p0 - 0.5b = [0, 0]; step 2: g = 0, b = 0.5b = [1, -2], p2 = [-0.5, 1]
    np.testing.assert_allclose(p.data, [-0.5, 1.0])


def test_compute_apply_gradients_equal_minimize_equal_backward_step():
    w0, b0, x = _problem()
    results = []
    for how in ("backward", "minimize", "two_halves"):
        w, b = rg.tensor(w0.copy(), requires_grad=True), rg.tensor(b0.copy(), requires_grad=True)
        opt = optim.Adam([w, b], lr=0.05)
        for _ in range(3):
            loss = _loss_rg(w, b, x)
            if how == "backward":
                opt.zero_grad()
                loss.backward()
                opt.step()
            elif how == "minimize":
                opt.minimize(loss)
            else:
                pairs = opt.compute_gradients(loss)
                assert [p for _, p in pairs] == [w, b] and all(g.shape == p.shape for g, p in pairs)
                assert w.grad is None  # compute_gradients does not touch .grad
                opt.apply_gradients(pairs)
        results.append(w.data.copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)
    np.testing.assert_allclose(results[0], results[2], rtol=1e-12)


def test_optimizer_state_dict_roundtrip_continues_identically():
    w0, b0, x = _problem()

    def run(split):
        w, b = rg.tensor(w0.copy(), requires_grad=True), rg.tensor(b0.copy(), requires_grad=True)
        opt = optim.Adam([w, b], lr=0.05)
        for i in range(6):
            if i == split:
                saved = opt.state_dict()
                opt = optim.Adam([w, b], lr=0.05)
                opt.load_state_dict(saved)
            opt.zero_grad()
            _loss_rg(w, b, x).backward()
            opt.step()
        return w.data.copy()

    np.testing.assert_array_equal(run(split=-1), run(split=3))


def test_optimizer_errors():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.SGD([rg.tensor([1.0], requires_grad=True)], lr=-1)
    with pytest.raises(TypeError, match="can only optimize Tensors, but parameter 0 of group 0 is ndarray"):
        optim.SGD([np.ones(2)], lr=0.1)


def test_a_frozen_parameter_is_taken_and_left_alone_as_in_torch():
    m = nn.Linear(2, 2)
    m.bias.requires_grad_(False)
    opt = optim.SGD(m.parameters(), lr=0.5)
    bias = m.bias.data.copy()
    m(rg.tensor(np.ones((1, 2), np.float32))).sum().backward()
    opt.step()
    np.testing.assert_array_equal(m.bias.data, bias)


@pytest.mark.parametrize("make", [
    lambda lib, ps: lib.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, maximize=True),
    lambda lib, ps: lib.SGD(ps, lr=0.1, maximize=True),
    lambda lib, ps: lib.Adam(ps, lr=0.1, weight_decay=0.01, amsgrad=True, maximize=True),
    lambda lib, ps: lib.Adam(ps, lr=0.1, weight_decay=0.1, decoupled_weight_decay=True),
    lambda lib, ps: lib.AdamW(ps, lr=0.1, maximize=True),
    lambda lib, ps: lib.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, maximize=True),
    lambda lib, ps: lib.Adagrad(ps, lr=0.1, lr_decay=0.01, maximize=True),
])
def test_maximize_and_decoupled_weight_decay_follow_torch(make):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    w0, target = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    ours = rg.tensor(w0.copy(), requires_grad=True)
    theirs = torch.tensor(w0.copy(), requires_grad=True)
    opt, topt = make(optim, [ours]), make(torch.optim, [theirs])
    for _ in range(5):
        opt.zero_grad()
        topt.zero_grad()
        (-((ours - rg.tensor(target)) ** 2).sum()).backward()
        (-((theirs - torch.tensor(target)) ** 2).sum()).backward()
        opt.step()
        topt.step()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_param_groups():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    opt = optim.SGD([{"params": a.parameters()}, {"params": b.parameters(), "lr": 0.0}], lr=1.0)
    x = rg.tensor(np.ones((1, 2), np.float32))
    before = b.weight.data.copy()
    (a(x).sum() + b(x).sum()).backward()
    wa = a.weight.data.copy()
    opt.step()
    np.testing.assert_array_equal(b.weight.data, before)
    assert not np.allclose(a.weight.data, wa)


def test_clip_grad_norm_and_value_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    gs = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    ps = [rg.tensor(np.zeros_like(g), requires_grad=True) for g in gs]
    tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in gs]
    for p, tp, g in zip(ps, tps, gs):
        p.grad = rg.tensor(g.copy())
        tp.grad = torch.from_numpy(g.copy())
    total = nn.utils.clip_grad_norm_(ps, 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, 1.0)
    assert total == pytest.approx(float(ttotal))
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-6)
    nn.utils.clip_grad_value_(ps, 0.1)
    assert max(np.abs(p.grad.data).max() for p in ps) <= 0.1


@pytest.mark.parametrize("name,kwargs", [("StepLR", dict(step_size=2, gamma=0.5)),
                                         ("ExponentialLR", dict(gamma=0.9)),
                                         ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01))])
def test_schedulers_match_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    p = rg.tensor([1.0], requires_grad=True)
    tp = torch.zeros(1, requires_grad=True)
    opt, topt = optim.SGD([p], lr=0.1), torch.optim.SGD([tp], lr=0.1)
    sched = getattr(optim, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for _ in range(7):
        topt.step()
        sched.step()
        tsched.step()
        assert sched.get_last_lr()[0] == pytest.approx(tsched.get_last_lr()[0], rel=1e-9)


def test_adagrad_has_its_accumulators_before_the_first_step_as_torch():
    torch = pytest.importorskip("torch")
    p = rg.tensor(np.ones(2), requires_grad=True)
    ours = optim.Adagrad([p], initial_accumulator_value=0.3).state_dict()["state"]
    theirs = torch.optim.Adagrad([torch.ones(2, dtype=torch.float64, requires_grad=True)],
                                 initial_accumulator_value=0.3).state_dict()["state"]
    assert list(ours) == list(theirs) == [0]
    assert ours[0]["step"] == float(theirs[0]["step"]) == 0
    np.testing.assert_array_equal(ours[0]["sum"], theirs[0]["sum"].numpy())
