"""A learning rate given as a 1-element Tensor, as PyTorch's optimizers take it (``lr (float,
Tensor)``): each step reads its value then, and a scheduler fills it in place (so whoever holds the
Tensor sees the new rate) instead of putting a float in the group."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import retrograd as rg

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"]


def _pair(name, **kwargs):
    """Our optimizer and torch's over two groups with Tensor rates 0.1 and 0.2, parameters at one. The
    rates are float64: torch computes some of an update's scalars in the rate's dtype (a float32
    rate rounds them to float32), retrograd reads the rate's value as a Python float."""
    ours = [rg.nn.Parameter(rg.ones(2, dtype=rg.float64)) for _ in range(2)]
    theirs = [torch.nn.Parameter(torch.ones(2, dtype=torch.float64)) for _ in range(2)]
    rg_opt = getattr(rg.optim, name)([{"params": [p], "lr": rg.tensor(0.1 * (i + 1), dtype=rg.float64)} for i, p in enumerate(ours)],
                                     **kwargs)
    torch_opt = getattr(torch.optim, name)(
        [{"params": [p], "lr": torch.tensor(0.1 * (i + 1), dtype=torch.float64)} for i, p in enumerate(theirs)], **kwargs)
    return rg_opt, torch_opt, ours, theirs


def _step_both(rg_opt, torch_opt, ours, theirs, k):
    for p in ours:
        p.grad = rg.tensor(np.array([1.0, -2.0]) * (k + 1))
    for p in theirs:
        p.grad = torch.tensor([1.0, -2.0], dtype=torch.float64) * (k + 1)
    rg_opt.step()
    torch_opt.step()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_tensor_rate_steps_as_torchs_and_stays_the_same_tensor_under_a_scheduler(name):
    rg_opt, torch_opt, ours, theirs = _pair(name)
    rates = [g["lr"] for g in rg_opt.param_groups]
    rg_sched = rg.optim.lr_scheduler.StepLR(rg_opt, 2, gamma=0.5)
    torch_sched = torch.optim.lr_scheduler.StepLR(torch_opt, 2, gamma=0.5)
    for k in range(6):
        _step_both(rg_opt, torch_opt, ours, theirs, k)
        rg_sched.step()
        torch_sched.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-15)
    for group, rate, theirs_group in zip(rg_opt.param_groups, rates, torch_opt.param_groups):
        assert group["lr"] is rate  # filled in place, as torch's
        assert float(rate) == pytest.approx(float(theirs_group["lr"]), rel=1e-12)
    last = rg_sched.get_last_lr()
    assert all(isinstance(v, rg.Tensor) and v is not g["lr"] for v, g in zip(last, rg_opt.param_groups))


@pytest.mark.parametrize("make", [
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
    lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=8),
    lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=2),
    lambda m, o: m.SequentialLR(o, [m.LinearLR(o, 0.1, 1.0, 3), m.ExponentialLR(o, 0.9)], milestones=[3]),
    lambda m, o: m.ChainedScheduler([m.ConstantLR(o, 0.5, 2), m.ExponentialLR(o, 0.9)]),
    lambda m, o: m.PolynomialLR(o, total_iters=5, power=2.0),
], ids=["warm-restarts", "one-cycle", "cyclic", "sequential", "chained", "polynomial"])
def test_schedules_fill_a_tensor_rate_as_torchs(make):
    rg_opt, torch_opt, ours, theirs = _pair("SGD", momentum=0.9)
    rg_sched, torch_sched = make(rg.optim.lr_scheduler, rg_opt), make(torch.optim.lr_scheduler, torch_opt)
    for k in range(8):
        _step_both(rg_opt, torch_opt, ours, theirs, k)
        rg_sched.step()
        torch_sched.step()
        assert [float(g["lr"]) for g in rg_opt.param_groups] == pytest.approx(
            [float(g["lr"]) for g in torch_opt.param_groups], rel=1e-12)
    assert all(isinstance(g["lr"], rg.Tensor) for g in rg_opt.param_groups)


def test_plateau_fills_a_tensor_rate():
    rg_opt, torch_opt, ours, theirs = _pair("SGD")
    rg_sched = rg.optim.lr_scheduler.ReduceLROnPlateau(rg_opt, factor=0.5, patience=1)
    torch_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, factor=0.5, patience=1)
    for k in range(6):
        _step_both(rg_opt, torch_opt, ours, theirs, k)
        rg_sched.step(1.0)
        torch_sched.step(1.0)
    assert [float(g["lr"]) for g in rg_opt.param_groups] == pytest.approx(
        [float(g["lr"]) for g in torch_opt.param_groups], rel=1e-12)
    assert all(isinstance(g["lr"], rg.Tensor) for g in rg_opt.param_groups)


def test_a_rate_changed_by_hand_in_place_is_read_at_the_next_step():
    p = rg.nn.Parameter(rg.ones(2, dtype=rg.float64))
    lr = rg.tensor(0.5, dtype=rg.float64)
    opt = rg.optim.SGD([p], lr=lr)
    p.grad = rg.ones(2, dtype=rg.float64)
    opt.step()
    lr.data[...] = 0.25
    opt.step()
    np.testing.assert_allclose(p.data, [1 - 0.5 - 0.25] * 2)


def test_lbfgs_takes_a_tensor_rate():
    target = np.array([1.0, -3.0])
    results = []
    for lib, lr in ((rg, rg.tensor(0.5)), (torch, torch.tensor(0.5))):
        p = (rg.nn.Parameter(rg.zeros(2, dtype=rg.float64)) if lib is rg
             else torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)))
        opt = lib.optim.LBFGS([p], lr=lr, max_iter=5)
        t = lib.tensor(target)

        def closure():
            opt.zero_grad()
            loss = ((p - t) ** 2).sum()
            loss.backward()
            return loss
        opt.step(closure)
        results.append(p.data if lib is rg else p.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_a_tensor_rate_of_two_elements_is_refused_as_torchs(name):
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))], lr=torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        getattr(rg.optim, name)([rg.nn.Parameter(rg.ones(2))], lr=rg.tensor([0.1, 0.2]))


def test_a_checkpoint_keeps_a_tensor_rate(tmp_path):
    """The file holds the rate's number (its header is JSON); loading gives the group a Tensor again,
    a new one, as PyTorch's ``load_state_dict`` copies the saved groups."""
    model = rg.nn.Linear(2, 2)
    opt = rg.optim.Adam(model.parameters(), lr=rg.tensor(0.01, dtype=rg.float64))
    sched = rg.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    model(rg.ones(1, 2)).sum().backward()
    opt.step()
    sched.step()
    path = rg.save(tmp_path / "run.safetensors", model, opt, sched)
    held = rg.tensor(0.5, dtype=rg.float64)
    model2 = rg.nn.Linear(2, 2)
    opt2 = rg.optim.Adam(model2.parameters(), lr=held)
    sched2 = rg.optim.lr_scheduler.StepLR(opt2, 1, gamma=0.5)
    rg.load(path, model2, opt2, sched2)
    group = opt2.param_groups[0]
    assert isinstance(group["lr"], rg.Tensor) and group["lr"] is not held
    assert float(group["lr"]) == pytest.approx(0.005, rel=1e-12)
    sched2.step()
    assert float(group["lr"]) == pytest.approx(0.0025, rel=1e-12)
    in_memory = rg.optim.Adam(model2.parameters(), lr=0.3)
    in_memory.load_state_dict(opt.state_dict())
    assert in_memory.param_groups[0]["lr"] is not opt.param_groups[0]["lr"]  # a copy: never shared
    assert float(in_memory.param_groups[0]["lr"]) == float(opt.param_groups[0]["lr"])
