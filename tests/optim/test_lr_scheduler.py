"""Learning-rate schedules against ``torch.optim.lr_scheduler``: the rate after every step, alone
and chained (two schedules on one optimizer), after a rate set by hand, with two parameter groups,
with the deprecated ``step(epoch)``, resumed from ``state_dict``, and ``ReduceLROnPlateau``'s
patience, cooldown, thresholds and floors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import retrograd as rg
from retrograd import optim

torch = pytest.importorskip("torch")

SCHEDULES = {
    "StepLR": dict(step_size=2, gamma=0.5),
    "MultiStepLR": dict(milestones=[2, 5, 5], gamma=0.3),
    "ExponentialLR": dict(gamma=0.9),
    "CosineAnnealingLR": dict(T_max=4, eta_min=0.01),
    "ConstantLR": dict(factor=0.5, total_iters=3),
    "LinearLR": dict(start_factor=0.25, end_factor=0.75, total_iters=4),
    "LambdaLR": dict(lr_lambda=lambda e: 1.0 / (1 + e)),
    "MultiplicativeLR": dict(lr_lambda=lambda e: 0.95),
}


def pair(lrs=(0.1,)):
    """An rg and a torch SGD with one group per rate."""
    ps = [rg.tensor(np.zeros(1), requires_grad=True) for _ in lrs]
    tps = [torch.zeros(1, requires_grad=True) for _ in lrs]
    return (optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)], lr=lrs[0]),
            torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(tps, lrs)], lr=lrs[0]))


def both(name, opt, topt):
    """The schedule ``name`` (SCHEDULES' arguments) on each library's optimizer."""
    return getattr(optim, name)(opt, **SCHEDULES[name]), getattr(torch.optim.lr_scheduler, name)(topt, **SCHEDULES[name])


def epoch(ours, theirs, topt):
    """One epoch: torch's optimizer steps (so torch does not warn), then both schedules."""
    topt.step()
    ours.step()
    theirs.step()


def same_rates(opt, topt):
    np.testing.assert_allclose([g["lr"] for g in opt.param_groups], [g["lr"] for g in topt.param_groups],
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_each_schedule_over_twelve_epochs_with_two_groups(name):
    opt, topt = pair((0.1, 0.03))
    ours, theirs = both(name, opt, topt)
    same_rates(opt, topt)
    for _ in range(12):
        epoch(ours, theirs, topt)
        same_rates(opt, topt)
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
    assert [g["initial_lr"] for g in opt.param_groups] == [g["initial_lr"] for g in topt.param_groups]


@pytest.mark.parametrize("first, second", [("StepLR", "ExponentialLR"), ("CosineAnnealingLR", "MultiStepLR"),
                                           ("LinearLR", "ExponentialLR")])
def test_two_schedules_on_one_optimizer_compose(first, second):
    opt, topt = pair()
    ours = [getattr(optim, n)(opt, **SCHEDULES[n]) for n in (first, second)]
    theirs = [getattr(torch.optim.lr_scheduler, n)(topt, **SCHEDULES[n]) for n in (first, second)]
    for _ in range(9):
        topt.step()
        for a, b in zip(ours, theirs):
            a.step()
            b.step()
        same_rates(opt, topt)


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_a_rate_set_by_hand_is_carried_on(name):
    opt, topt = pair()
    ours, theirs = both(name, opt, topt)
    for k in range(6):
        if k == 2:
            opt.param_groups[0]["lr"] = topt.param_groups[0]["lr"] = 10.0
        epoch(ours, theirs, topt)
        same_rates(opt, topt)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR"])
def test_step_with_an_epoch_uses_the_closed_form(name):
    opt, topt = pair()
    ours, theirs = both(name, opt, topt)
    for target in (3, 7, 2):
        with pytest.warns(UserWarning):
            ours.step(target)
        with pytest.warns(UserWarning):
            theirs.step(target)
        same_rates(opt, topt)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR"])
def test_a_schedule_resumes_from_its_state_dict_through_json(name):
    opt, topt = pair()
    ours, theirs = both(name, opt, topt)
    for _ in range(3):
        epoch(ours, theirs, topt)
    state = json.loads(json.dumps(ours.state_dict()))  # what a checkpoint's header holds
    opt2, _ = pair()
    opt2.load_state_dict(opt.state_dict())
    resumed = getattr(optim, name)(opt2, **SCHEDULES[name])
    resumed.load_state_dict(state)
    for _ in range(5):
        epoch(resumed, theirs, topt)
        np.testing.assert_allclose(opt2.param_groups[0]["lr"], topt.param_groups[0]["lr"], rtol=1e-12)
    with pytest.raises(KeyError, match="unexpected entries \\['bogus'\\]"):
        resumed.load_state_dict({**state, "bogus": 1})


def test_resuming_with_last_epoch_needs_initial_lr_as_torch():
    opt, topt = pair()
    with pytest.raises(KeyError, match="initial_lr"):
        torch.optim.lr_scheduler.StepLR(topt, 2, last_epoch=3)
    with pytest.raises(KeyError, match="initial_lr"):
        optim.StepLR(opt, 2, last_epoch=3)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        optim.StepLR(object(), 2)


@pytest.mark.parametrize("kwargs", [dict(), dict(mode="max", patience=1, factor=0.5, cooldown=2),
                                    dict(threshold_mode="abs", threshold=0.05, patience=0, min_lr=0.02),
                                    dict(patience=2, eps=0.05)])
def test_reduce_lr_on_plateau(kwargs):
    opt, topt = pair((0.1, 0.3))
    ours, theirs = optim.ReduceLROnPlateau(opt, **kwargs), torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.89, 0.97, 0.99, 0.99, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56] * 2
    for m in metrics:
        ours.step(m)
        theirs.step(m)
        same_rates(opt, topt)
        assert ours.num_bad_epochs == theirs.num_bad_epochs and ours.best == theirs.best
    assert not math.isnan(ours.get_last_lr()[0])


@pytest.mark.parametrize("kwargs", [dict(T_0=3), dict(T_0=2, T_mult=2, eta_min=0.001)])
def test_cosine_annealing_warm_restarts(kwargs):
    opt, topt = pair((0.1, 0.05))
    ours = optim.CosineAnnealingWarmRestarts(opt, **kwargs)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, **kwargs)
    for _ in range(15):
        epoch(ours, theirs, topt)
        same_rates(opt, topt)
    for fractional in (0.5, 3.25, 7.0, 11.9):  # a step per batch: fractional epochs
        ours.step(fractional)
        theirs.step(fractional)
        same_rates(opt, topt)


@pytest.mark.parametrize("kwargs", [dict(), dict(anneal_strategy="linear", pct_start=0.4), dict(three_phase=True),
                                    dict(cycle_momentum=False, div_factor=10.0, final_div_factor=100.0)])
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_one_cycle_moves_the_rate_and_the_momentum_as_torch(kwargs, kind):
    p, tp = rg.tensor(np.zeros(1), requires_grad=True), torch.zeros(1, requires_grad=True)
    extra = dict(momentum=0.9) if kind == "SGD" else {}
    opt, topt = getattr(optim, kind)([p], lr=0.1, **extra), getattr(torch.optim, kind)([tp], lr=0.1, **extra)
    ours = optim.OneCycleLR(opt, max_lr=[1.0], total_steps=20, **kwargs)
    theirs = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=[1.0], total_steps=20, **kwargs)
    for _ in range(19):
        same_rates(opt, topt)
        key = "momentum" if kind == "SGD" else "betas"
        assert opt.param_groups[0][key] == pytest.approx(topt.param_groups[0][key], rel=1e-12)
        epoch(ours, theirs, topt)
    with pytest.raises(ValueError, match="Tried to step 21 times"):
        theirs.step(), theirs.step()
    with pytest.raises(ValueError, match="Tried to step 21 times"):
        ours.step(), ours.step()
