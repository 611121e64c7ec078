"""PolynomialLR, CyclicLR, SequentialLR and ChainedScheduler against ``torch.optim.lr_scheduler``:
the rate (and CyclicLR's momentum or β₁) after each of 30 steps for a table of settings with two
parameter groups, ``get_last_lr()``, the closed form of ``step(epoch)``, ``state_dict`` resumed
through JSON into fresh schedules, and PyTorch's errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import requires_torch

import retrograd as rg
from retrograd import optim

try:
    import torch
except ImportError:  # the comparisons skip (requires_torch); the rest runs
    torch = None


def _pair(kind="SGD", lrs=(0.1, 0.03), **kwargs):
    """An rg and a torch optimizer of ``kind`` with one parameter group per rate."""
    ps = [rg.tensor(np.zeros(1), requires_grad=True) for _ in lrs]
    tps = [torch.zeros(1, requires_grad=True) for _ in lrs]
    return (getattr(optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)], **kwargs),
            getattr(torch.optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(tps, lrs)], **kwargs))


def _same(opt, topt):
    """The same rates, and momenta or β₁ where the optimizer has them."""
    for g, tg in zip(opt.param_groups, topt.param_groups):
        np.testing.assert_allclose(g["lr"], tg["lr"], rtol=1e-12, atol=1e-15)
        if "momentum" in g:
            np.testing.assert_allclose(g["momentum"], tg["momentum"], rtol=1e-12, atol=1e-15)
        if "betas" in g:
            np.testing.assert_allclose(g["betas"], tg["betas"], rtol=1e-12, atol=1e-15)


def _epoch(sched, tsched, topt):
    topt.step()  # torch's optimizer steps first, so torch does not warn
    sched.step()
    tsched.step()


def _scale(x):
    return 1.0 / (1.0 + 0.5 * x)


# (name, optimizer kind, its hyper-parameters, a function making the schedule from the lr_scheduler module)
SETTINGS = {
    "poly": ("SGD", {}, lambda L, o: L.PolynomialLR(o, total_iters=10, power=2.0)),
    "poly_default": ("SGD", {}, lambda L, o: L.PolynomialLR(o)),
    "poly_sqrt": ("Adam", {}, lambda L, o: L.PolynomialLR(o, total_iters=25, power=0.5)),
    "cyclic_triangular": ("SGD", dict(momentum=0.9),
                          lambda L, o: L.CyclicLR(o, 0.01, [0.1, 0.2], step_size_up=4, step_size_down=3)),
    "cyclic_triangular2": ("SGD", dict(momentum=0.9),
                           lambda L, o: L.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=3, mode="triangular2",
                                                   base_momentum=0.7, max_momentum=[0.95, 0.9])),
    "cyclic_exp_range_adam": ("Adam", {}, lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=5, mode="exp_range",
                                                                 gamma=0.95)),
    "cyclic_scale_fn_iterations": ("NAdam", {}, lambda L, o: L.CyclicLR(o, 0.001, 0.01, step_size_up=2,
                                                                       step_size_down=6, scale_fn=_scale,
                                                                       scale_mode="iterations")),
    "cyclic_scale_fn_cycle_no_momentum": ("Adadelta", {}, lambda L, o: L.CyclicLR(o, 0.1, 1.0, step_size_up=3,
                                                                                 scale_fn=_scale,
                                                                                 cycle_momentum=False)),
    "sequential": ("SGD", {}, lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, factor=0.1, total_iters=5),
                                                              L.ExponentialLR(o, gamma=0.9),
                                                              L.CosineAnnealingLR(o, T_max=5)], milestones=[5, 12])),
    "sequential_linear_poly": ("SGD", {}, lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1,
                                                                                     total_iters=4),
                                                                          L.PolynomialLR(o, total_iters=8)],
                                                                      milestones=[6])),
    "sequential_warm_restarts": ("SGD", {}, lambda L, o: L.SequentialLR(
        o, [L.LambdaLR(o, lambda e: 1.0 / (1 + e)), L.CosineAnnealingWarmRestarts(o, T_0=4)], milestones=[7])),
    "chained": ("SGD", {}, lambda L, o: L.ChainedScheduler([L.ConstantLR(o, factor=0.1, total_iters=5),
                                                            L.ExponentialLR(o, gamma=0.9)])),
    "chained_with_optimizer": ("SGD", {}, lambda L, o: L.ChainedScheduler(
        [L.PolynomialLR(o, total_iters=20), L.StepLR(o, 3, 0.5), L.MultiStepLR(o, [4, 9], 0.3)], optimizer=o)),
}


@requires_torch
@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_thirty_steps_match_torch(setting):
    kind, hyper, make = SETTINGS[setting]
    opt, topt = _pair(kind, **hyper)
    sched, tsched = make(optim.lr_scheduler, opt), make(torch.optim.lr_scheduler, topt)
    _same(opt, topt)
    for _ in range(30):
        _epoch(sched, tsched, topt)
        _same(opt, topt)
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, atol=1e-15)
    assert sorted(sched.state_dict()) == sorted(k for k in tsched.state_dict() if k != "_get_lr_called_within_step")


@requires_torch
@pytest.mark.parametrize("setting", ["poly", "cyclic_triangular2", "cyclic_scale_fn_iterations", "sequential",
                                     "sequential_warm_restarts", "chained"])
def test_state_dict_resumes_through_json(setting):
    """Save after 9 steps, rebuild optimizer and schedule, load both, continue: torch's uninterrupted run."""
    kind, hyper, make = SETTINGS[setting]
    opt, topt = _pair(kind, **hyper)
    sched, tsched = make(optim.lr_scheduler, opt), make(torch.optim.lr_scheduler, topt)
    for _ in range(9):
        _epoch(sched, tsched, topt)
    saved = json.loads(json.dumps(sched.state_dict()))  # what a checkpoint's header holds
    opt2, _ = _pair(kind, **hyper)
    resumed = make(optim.lr_scheduler, opt2)  # the schedule first: making it sets the rates
    opt2.load_state_dict(opt.state_dict())
    resumed.load_state_dict(saved)
    for _ in range(15):
        _epoch(resumed, tsched, topt)
        _same(opt2, topt)
        np.testing.assert_allclose(resumed.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, atol=1e-15)


class _Halving:
    """A callable scale function with state (its attributes are saved, as PyTorch's)."""

    def __init__(self, base=0.5):
        self.base = base

    def __call__(self, x):
        return self.base ** (x - 1)


@requires_torch
def test_cyclic_state_dict_keeps_a_callable_objects_attributes_as_torch():
    results = []
    for lib, make_opt in ((optim, lambda: _pair()[0]), (torch.optim, lambda: _pair()[1])):
        fn = _Halving(0.7)
        sched = lib.lr_scheduler.CyclicLR(make_opt(), 0.01, 0.1, step_size_up=2, scale_fn=fn)
        state = sched.state_dict()
        assert state["_scale_fn_custom"] == {"base": 0.7}
        fresh = _Halving(0.5)
        other = lib.lr_scheduler.CyclicLR(make_opt(), 0.01, 0.1, step_size_up=2, scale_fn=fresh)
        other.load_state_dict(state)
        results.append((fresh.base, other.scale_fn(3)))
        lam = lib.lr_scheduler.CyclicLR(make_opt(), 0.01, 0.1, scale_fn=lambda x: 1.0)
        assert lam.state_dict()["_scale_fn_custom"] is None  # a function is code, not state
    assert results[0] == results[1] == (0.7, 0.7 ** 2)


@requires_torch
@pytest.mark.parametrize("power", [1.0, 2.5])
def test_polynomial_step_with_an_epoch_uses_the_closed_form(power):
    opt, topt = _pair()
    sched = optim.lr_scheduler.PolynomialLR(opt, total_iters=8, power=power)
    tsched = torch.optim.lr_scheduler.PolynomialLR(topt, total_iters=8, power=power)
    for target in (3, 7, 2, 12):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sched.step(target)
            tsched.step(target)
        _same(opt, topt)


@requires_torch
def test_cyclic_momentum_moves_against_the_rate():
    opt, _ = _pair(momentum=0.5)
    sched = optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=2, base_momentum=0.8, max_momentum=0.9)
    seen = []
    for _ in range(4):
        seen.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
        sched.step()
    np.testing.assert_allclose(seen, [(0.01, 0.9), (0.055, 0.85), (0.1, 0.8), (0.055, 0.85)], rtol=1e-12)
    assert opt.param_groups[0]["max_momentum"] == 0.9 and opt.param_groups[0]["base_momentum"] == 0.8


def _sequential(L, o, o2, kind):
    if kind == "milestones":
        return L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], [])
    if kind == "other_optimizer":
        return L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o2, 3)], [2])
    if kind == "plateau":
        return L.SequentialLR(o, [L.StepLR(o, 2), L.ReduceLROnPlateau(o)], [2])
    if kind == "no_optimizer":
        return L.SequentialLR(o, [object()], [])
    if kind == "empty":
        return L.SequentialLR(o, [], [])
    if kind == "chained_empty":
        return L.ChainedScheduler([])
    if kind == "chained_other_optimizer":
        return L.ChainedScheduler([L.StepLR(o, 2), L.StepLR(o2, 3)])
    if kind == "chained_plateau":
        return L.ChainedScheduler([L.StepLR(o, 2), L.ReduceLROnPlateau(o)], optimizer=o)
    if kind == "cyclic_mode":
        return L.CyclicLR(o, 0.01, 0.1, mode="bogus")
    if kind == "cyclic_no_momentum":
        return L.CyclicLR(o2, 0.01, 0.1)
    if kind == "cyclic_lengths":
        return L.CyclicLR(o, [0.01, 0.02, 0.03], 0.1)
    if kind == "cyclic_not_an_optimizer":
        return L.CyclicLR(object(), 0.01, 0.1)
    raise AssertionError(kind)


ERRORS = [
    ("milestones", ValueError, "one more than the number of milestone points"),
    ("other_optimizer", ValueError, "SequentialLR expects all schedulers to belong to the same optimizer"),
    ("plateau", ValueError, "SequentialLR does not support `ReduceLROnPlateau`"),
    ("no_optimizer", TypeError, "SequentialLR at index 0 should have `optimizer` as its attribute"),
    ("empty", ValueError, "SequentialLR expects at least one scheduler"),
    ("chained_empty", ValueError, "ChainedScheduler expects at least one scheduler to be chained"),
    ("chained_other_optimizer", ValueError, "ChainedScheduler expects all schedulers to belong to the same"),
    ("chained_plateau", ValueError, "ChainedScheduler does not support `ReduceLROnPlateau`"),
    ("cyclic_mode", ValueError, "mode is invalid and scale_fn is None"),
    ("cyclic_no_momentum", ValueError, "optimizer must support momentum or beta1 with `cycle_momentum`"),
    ("cyclic_lengths", ValueError, "base_lr must have the same length as optimizer.param_groups"),
    ("cyclic_not_an_optimizer", TypeError, "object is not an Optimizer"),
]


@requires_torch
@pytest.mark.parametrize("kind, error, message", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_as_torch(kind, error, message):
    for lib in (optim, torch.optim):
        opt = _pair()[0 if lib is optim else 1]
        other = _pair("Adadelta")[0 if lib is optim else 1]
        with pytest.raises(error, match=message):
            _sequential(lib.lr_scheduler, opt, other, kind)


def test_exports():
    for name in ("PolynomialLR", "CyclicLR", "SequentialLR", "ChainedScheduler"):
        cls = getattr(optim.lr_scheduler, name)
        assert cls is getattr(optim, name) and issubclass(cls, optim.LRScheduler) and cls.__doc__
        assert name in optim.__all__ and name in optim.lr_scheduler.__all__


@requires_torch
@pytest.mark.parametrize("name, kwargs", [("StepLR", {"step_size": 2}), ("CosineAnnealingLR", {"T_max": 5}),
                                          ("PolynomialLR", {"total_iters": 4, "power": 2.0})])
def test_a_state_saved_by_torch_loads_and_continues(name, kwargs):
    """PyTorch's scheduler state_dict carries step() bookkeeping (``_get_lr_called_within_step``,
    ``_is_initial``): accepted and dropped, the schedule continues as torch's does."""
    tp = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    t_opt = torch.optim.SGD([tp], lr=0.1)
    t_sched = getattr(torch.optim.lr_scheduler, name)(t_opt, **kwargs)
    for _ in range(3):
        t_opt.step()
        t_sched.step()
    p = rg.nn.Parameter(np.zeros(2))
    opt = rg.optim.SGD([p], lr=0.1)
    sched = getattr(rg.optim.lr_scheduler, name)(opt, **kwargs)
    sched.load_state_dict(t_sched.state_dict())
    opt.param_groups[0]["lr"] = t_opt.param_groups[0]["lr"]
    for _ in range(4):
        t_opt.step()
        t_sched.step()
        opt.step()
        sched.step()
        assert sched.get_last_lr() == pytest.approx(t_sched.get_last_lr(), rel=1e-12)
