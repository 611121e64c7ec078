"""Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD and LBFGS against ``torch.optim``: the same
parameters and gradient sequence in both libraries give the same parameters step after step
(float64 to ~1e-12, float32 to its rounding), for a table of hyper-parameters with weight decay
and ``maximize``; ``state_dict`` saves and resumes (ours, and PyTorch's loaded into ours);
invalid hyper-parameters raise PyTorch's errors. LBFGS minimises a quadratic and Rosenbrock's
function with the same closure in both, with and without the strong-Wolfe line search."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import requires_torch
from torch_compare import our_optimizer, torch_optimizer

import retrograd as rg
from retrograd import optim

try:
    import torch
except ImportError:  # the comparisons skip (requires_torch); the rest runs
    torch = None

CASES = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.3, rho=1.0, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.05, betas=(0.3, 0.9), eps=1e-3, weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, momentum_decay=0.05)),
    ("NAdam", dict(lr=0.01, weight_decay=0.2, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),  # the first steps are plain momentum (ρₜ ≤ 5), the later ones rectified
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.6), eps=1e-3, weight_decay=0.1, maximize=True)),
    ("RAdam", dict(lr=0.02, weight_decay=0.3, decoupled_weight_decay=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(0.01, 0.2), maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.1, lambd=0.01, alpha=0.5, t0=3, weight_decay=0.1)),  # averaging starts at step 4
    ("ASGD", dict(lr=0.05, t0=0, maximize=True)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def _problem(dtype, steps=8, seed=0):
    """Two parameters and a gradient sequence whose signs often flip (so Rprop backs off too)."""
    rng = np.random.default_rng(seed)
    p0 = [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(5).astype(dtype)]
    grads = [[rng.standard_normal(p.shape).astype(dtype) for p in p0] for _ in range(steps)]
    return p0, grads


def _feed(ps, opt, grads, lib):
    for p, g in zip(ps, grads):
        p.grad = rg.tensor(g.copy()) if lib == "rg" else torch.tensor(g.copy())
    opt.step()


def _values(ps):
    return [p.data.copy() if isinstance(p, rg.Tensor) else p.detach().numpy().copy() for p in ps]


@requires_torch
@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_steps_match_torch_in_float64(name, kwargs):
    p0, grads = _problem(np.float64)
    ps, opt = our_optimizer(name, p0, kwargs)
    tps, topt = torch_optimizer(name, p0, kwargs)
    for gs in grads:
        _feed(ps, opt, gs, "rg")
        _feed(tps, topt, gs, "torch")
        for a, b in zip(_values(ps), _values(tps)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    assert list(opt.state_dict()["state"][0]) == list(topt.state_dict()["state"][0])
    ours, theirs = opt.state_dict()["param_groups"][0], topt.state_dict()["param_groups"][0]
    assert list(ours) == list(theirs)  # the same hyper-parameters, in PyTorch's order


@requires_torch
@pytest.mark.parametrize("name, kwargs", CASES[::3], ids=IDS[::3])
def test_steps_match_torch_in_float32(name, kwargs):
    p0, grads = _problem(np.float32)
    ps, opt = our_optimizer(name, p0, kwargs)
    tps, topt = torch_optimizer(name, p0, kwargs)
    for gs in grads:
        _feed(ps, opt, gs, "rg")
        _feed(tps, topt, gs, "torch")
    for a, b in zip(_values(ps), _values(tps)):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@requires_torch
@pytest.mark.parametrize("name, kwargs", [CASES[6], CASES[14]], ids=["NAdam", "ASGD"])
def test_scalar_state_follows_the_default_dtype_as_torch(name, kwargs):
    """NAdam's mu_product and ASGD's eta, mu are float32 0-d tensors in PyTorch unless the default
    dtype is float64: rounded the same way here, so both settings match to the last bits."""
    p0, grads = _problem(np.float64, steps=5)
    old, told = rg.get_default_dtype(), torch.get_default_dtype()
    try:
        rg.set_default_dtype(np.float64)
        torch.set_default_dtype(torch.float64)
        ps, opt = our_optimizer(name, p0, kwargs)
        tps, topt = torch_optimizer(name, p0, kwargs)
        for gs in grads:
            _feed(ps, opt, gs, "rg")
            _feed(tps, topt, gs, "torch")
    finally:
        rg.set_default_dtype(old)
        torch.set_default_dtype(told)
    for a, b in zip(_values(ps), _values(tps)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    key = "mu_product" if name == "NAdam" else "eta"
    assert opt.state_dict()["state"][0][key] == float(topt.state_dict()["state"][0][key])


@pytest.mark.parametrize("name, kwargs", CASES[::2], ids=IDS[::2])
def test_state_dict_round_trip_continues_identically(name, kwargs):
    p0, grads = _problem(np.float64)

    def run(split):
        ps, opt = our_optimizer(name, p0, kwargs)
        for i, gs in enumerate(grads):
            if i == split:
                saved = opt.state_dict()
                opt = getattr(optim, name)(ps, **kwargs)
                opt.load_state_dict(saved)
            _feed(ps, opt, gs, "rg")
        return _values(ps)

    for a, b in zip(run(split=-1), run(split=4)):
        np.testing.assert_array_equal(a, b)


@requires_torch
@pytest.mark.parametrize("name, kwargs", CASES[1::3], ids=IDS[1::3])
def test_torch_state_dict_loads_and_continues(name, kwargs):
    """PyTorch's state (its tensors as arrays) loaded into ours mid-run: the next steps agree."""
    p0, grads = _problem(np.float64)
    tps, topt = torch_optimizer(name, p0, kwargs)
    for gs in grads[:4]:
        _feed(tps, topt, gs, "torch")
    saved = topt.state_dict()
    saved = {"state": {i: {k: (v.numpy() if torch.is_tensor(v) else v) for k, v in s.items()}
                       for i, s in saved["state"].items()},
             "param_groups": saved["param_groups"]}
    ps, opt = our_optimizer(name, _values(tps), kwargs)
    opt.load_state_dict(saved)
    for gs in grads[4:]:
        _feed(ps, opt, gs, "rg")
        _feed(tps, topt, gs, "torch")
    for a, b in zip(_values(ps), _values(tps)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_foreach_capturable_differentiable_are_accepted_and_change_nothing():
    p0, grads = _problem(np.float64, steps=3)
    results = []
    for extra in (dict(), dict(foreach=True, capturable=True, differentiable=True), dict(foreach=False)):
        ps, opt = our_optimizer("NAdam", p0, dict(lr=0.01, **extra))
        for gs in grads:
            _feed(ps, opt, gs, "rg")
        results.append(_values(ps))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_a_parameter_without_gradient_is_left_alone():
    a, b = rg.tensor(np.ones(3), requires_grad=True), rg.tensor(np.ones(2), requires_grad=True)
    for name in ("Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"):
        opt = getattr(optim, name)([a, b])
        a.grad, b.grad = rg.tensor(np.full(3, 0.5)), None
        before = b.data.copy()
        opt.step()
        np.testing.assert_array_equal(b.data, before)
        assert len(opt.state_dict()["state"]) == 1, name


BAD = [
    ("Adadelta", dict(lr=-1.0), "learning rate: -1.0"),
    ("Adadelta", dict(rho=1.5), "rho value: 1.5"),
    ("Adadelta", dict(eps=-1e-6), "epsilon value: -1e-06"),
    ("Adamax", dict(betas=(1.0, 0.9)), "beta parameter at index 0: 1.0"),
    ("Adamax", dict(weight_decay=-0.1), "weight_decay value: -0.1"),
    ("NAdam", dict(momentum_decay=-1.0), "momentum_decay value: -1.0"),
    ("NAdam", dict(betas=(0.9, 1.0)), "beta parameter at index 1: 1.0"),
    ("RAdam", dict(eps=-1.0), "epsilon value: -1.0"),
    ("RAdam", dict(betas=(-0.1, 0.9)), "beta parameter at index 0: -0.1"),
    ("Rprop", dict(etas=(1.5, 2.0)), "eta values: 1.5, 2.0"),
    ("Rprop", dict(etas=(0.5, 0.9)), "eta values: 0.5, 0.9"),
    ("Rprop", dict(lr=-0.1), "learning rate: -0.1"),
    ("ASGD", dict(lr=-0.1), "learning rate: -0.1"),
    ("ASGD", dict(weight_decay=-0.1), "weight_decay value: -0.1"),
    ("LBFGS", dict(lr=-1.0), "learning rate: -1.0"),
]


@requires_torch
@pytest.mark.parametrize("name, kwargs, message", BAD, ids=[f"{n}-{m.split(':')[0]}" for n, _, m in BAD])
def test_invalid_hyper_parameters_raise_as_torch(name, kwargs, message):
    with pytest.raises(ValueError, match=f"(?i)invalid {message}"):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=f"(?i){name}: invalid {message}"):
        getattr(optim, name)([rg.tensor(np.zeros(2), requires_grad=True)], **kwargs)


def test_asgd_takes_any_alpha_lambd_t0_as_torch():
    opt = optim.ASGD([rg.tensor(np.zeros(2), requires_grad=True)], alpha=-0.5, lambd=-1.0, t0=-3)
    assert (opt.param_groups[0]["alpha"], opt.param_groups[0]["lambd"], opt.param_groups[0]["t0"]) == (-0.5, -1.0, -3)


# ---------------------------------------------------------------------------- LBFGS

def _quadratic(lib, x, a, b):
    """½xᵀAx − bᵀx (A symmetric positive definite)."""
    t = (lambda v: rg.tensor(v)) if lib == "rg" else torch.tensor
    return 0.5 * (x * (t(a) @ x)).sum() - (t(b) * x).sum()


def _rosenbrock(lib, x, a=None, b=None):
    return ((1 - x[:-1]) ** 2).sum() + 100 * ((x[1:] - x[:-1] ** 2) ** 2).sum()


def _lbfgs_pair(x0, kwargs, fn, a=None, b=None):
    x, tx = rg.tensor(x0.copy(), requires_grad=True), torch.tensor(x0.copy(), requires_grad=True)
    opt, topt = optim.LBFGS([x], **kwargs), torch.optim.LBFGS([tx], **kwargs)

    def closure():
        opt.zero_grad()
        loss = fn("rg", x, a, b)
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = fn("torch", tx, a, b)
        loss.backward()
        return loss

    return (x, opt, closure), (tx, topt, tclosure)


LBFGS_CASES = [
    ("quadratic", dict(), 1e-12),
    ("quadratic", dict(lr=0.3, history_size=2, max_iter=4), 1e-12),
    ("quadratic", dict(line_search_fn="strong_wolfe", max_iter=3), 1e-12),
    ("quadratic", dict(line_search_fn="strong_wolfe"), 1e-12),
    ("rosenbrock", dict(), 1e-10),
    ("rosenbrock", dict(lr=0.05, history_size=3, max_iter=7, tolerance_change=1e-5), 1e-10),
    ("rosenbrock", dict(line_search_fn="strong_wolfe"), 1e-10),
    ("rosenbrock", dict(line_search_fn="strong_wolfe", history_size=2, max_iter=5, max_eval=6), 1e-10),
]


@requires_torch
@pytest.mark.parametrize("problem, kwargs, tol", LBFGS_CASES, ids=[f"{p}-{i}" for i, (p, _, _) in
                                                                   enumerate(LBFGS_CASES)])
def test_lbfgs_iterates_match_torch(problem, kwargs, tol):
    rng = np.random.default_rng(1)
    if problem == "quadratic":
        m = rng.standard_normal((5, 5))
        a, b, fn, x0 = m @ m.T + 5 * np.eye(5), rng.standard_normal(5), _quadratic, rng.standard_normal(5)
    else:
        a, b, fn, x0 = None, None, _rosenbrock, np.array([-1.2, 1.0, 0.5, -0.3])
    (x, opt, closure), (tx, topt, tclosure) = _lbfgs_pair(x0, kwargs, fn, a, b)
    for _ in range(4):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        assert float(loss) == pytest.approx(float(tloss.detach()), rel=tol, abs=tol)
        np.testing.assert_allclose(x.data, tx.detach().numpy(), rtol=tol, atol=tol)
        ours, theirs = opt.state_dict()["state"][0], topt.state_dict()["state"][0]
        assert (ours["func_evals"], ours["n_iter"]) == (theirs["func_evals"], theirs["n_iter"])
        assert sorted(ours) == sorted(theirs)
    if problem == "quadratic" and "max_iter" not in kwargs:  # converged to the solution of Ax = b
        np.testing.assert_allclose(x.data, np.linalg.solve(a, b), atol=1e-4)  # to its tolerances


def test_lbfgs_state_dict_round_trip_continues_identically():
    x0 = np.array([-1.2, 1.0, 0.5, -0.3])

    def run(split):
        x = rg.tensor(x0.copy(), requires_grad=True)
        opt = optim.LBFGS([x], history_size=3, max_iter=4, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = _rosenbrock("rg", x)
            loss.backward()
            return loss

        for i in range(5):
            if i == split:
                saved = opt.state_dict()
                opt = optim.LBFGS([x], history_size=3, max_iter=4, line_search_fn="strong_wolfe")
                opt.load_state_dict(saved)
            opt.step(closure)
        return x.data.copy()

    np.testing.assert_array_equal(run(split=-1), run(split=2))


def _as_arrays(value):
    """PyTorch's state with every tensor (also inside the history lists) as a NumPy array."""
    if isinstance(value, dict):
        return {k: _as_arrays(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_arrays(v) for v in value]
    return value.numpy() if torch.is_tensor(value) else value


@requires_torch
def test_lbfgs_loads_torchs_state_and_continues_as_torch():
    kwargs = dict(history_size=3, max_iter=4, line_search_fn="strong_wolfe")
    (_, _, _), (tx, topt, tclosure) = _lbfgs_pair(np.array([-1.2, 1.0, 0.5, -0.3]), kwargs, _rosenbrock)
    for _ in range(2):
        topt.step(tclosure)
    (x, opt, closure), _ = _lbfgs_pair(tx.detach().numpy(), kwargs, _rosenbrock)
    opt.load_state_dict(_as_arrays(topt.state_dict()))
    assert len(opt.state_dict()["state"][0]["old_dirs"]) == 3
    for _ in range(3):
        opt.step(closure)
        topt.step(tclosure)
        np.testing.assert_allclose(x.data, tx.detach().numpy(), rtol=1e-10, atol=1e-10)


@requires_torch
def test_lbfgs_errors_as_torch():
    x, tx = rg.tensor(np.ones(2), requires_grad=True), torch.ones(2, requires_grad=True)
    y, ty = rg.tensor(np.ones(2), requires_grad=True), torch.ones(2, requires_grad=True)
    for lib, a, b in ((optim, x, y), (torch.optim, tx, ty)):
        with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
            lib.LBFGS([{"params": [a]}, {"params": [b]}])
        with pytest.raises(TypeError, match="closure"):
            lib.LBFGS([a]).step()
        opt = lib.LBFGS([a], line_search_fn="armijo")

        def closure(opt=opt, a=a):
            opt.zero_grad()
            loss = (a * a).sum()
            loss.backward()
            return loss

        with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
            opt.step(closure)
    with pytest.raises(RuntimeError, match="call step\\(closure\\)"):
        optim.LBFGS([x]).minimize((x * x).sum())


def test_exports():
    for name in ("Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD", "LBFGS"):
        cls = getattr(optim, name)
        assert name in optim.__all__ and issubclass(cls, optim.Optimizer) and cls.__doc__
