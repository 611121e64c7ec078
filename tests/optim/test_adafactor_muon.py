"""Adafactor and Muon against ``torch.optim``: the same parameters and gradient sequence in both
libraries give the same parameters step after step (float64 to 1e-12, float32 to its rounding)
for a table varying every hyper-parameter; Muon's bfloat16 Newton–Schulz iteration equals
PyTorch's bit for bit; ``state_dict`` has PyTorch's layout, round-trips, loads PyTorch's, and a
run resumed from ``rg.save`` continues exactly; the constructors refuse what PyTorch refuses,
with its wording."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import requires_torch
from torch_compare import our_optimizer, torch_optimizer

import retrograd as rg
from retrograd import optim
from retrograd.optim.muon import DEFAULT_NS_COEFFICIENTS as DEFAULT, to_bfloat16, zeropower_via_newtonschulz

try:
    import torch
    from torch.optim._muon import _zeropower_via_newtonschulz as torch_zeropower
except ImportError:  # the comparisons skip (requires_torch); the rest runs
    torch = None

MATRICES = [(3, 4), (5, 2), (2, 3, 4), (5,), ()]  # Adafactor: factored (2-D, 3-D), plain (1-D, 0-d)
MUON_SHAPES = [(3, 4), (5, 2), (20, 24)]  # wide, tall, and large enough for PyTorch's oneDNN product

CASES = [
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.3, beta2_decay=-0.5, eps=(1e-3, 1e-2), d=1.5, weight_decay=0.1)),
    ("Adafactor", dict(lr=0.05, eps=(None, 0.5), d=3.0, maximize=True)),  # ε₂ dominates RMS(θ)
    ("Adafactor", dict(lr=0.2, beta2_decay=-1.0, d=1.0, weight_decay=0.5)),
    ("Adafactor", dict(foreach=True, weight_decay=0.05)),  # PyTorch's multi-tensor kernel: the same numbers
    ("Muon", dict()),
    ("Muon", dict(lr=0.05, weight_decay=0.01, momentum=0.7, nesterov=False)),
    ("Muon", dict(lr=0.02, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3, ns_steps=3, adjust_lr_fn="match_rms_adamw")),
    ("Muon", dict(lr=0.1, weight_decay=0.0, momentum=0.0, adjust_lr_fn="original", ns_steps=0)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


_EXACT = {}


def _bit_exact_here() -> bool:
    """Whether this CPU's bfloat16 products in PyTorch add their terms in the order ``optim.muon``
    replays (verified on x86 with AVX-512 BF16; another CPU's kernels may add them otherwise): probed
    once on a product large enough for oneDNN. Where they do not, Muon is compared with PyTorch to
    bfloat16's rounding instead of bit for bit."""
    if "probe" not in _EXACT:
        g = np.random.default_rng(7).standard_normal((24, 40))
        _EXACT["probe"] = np.array_equal(zeropower_via_newtonschulz(g, DEFAULT, 5, 1e-7),
                                         torch_zeropower(torch.tensor(g), DEFAULT, 5, 1e-7).float().numpy())
    return _EXACT["probe"]


def _muon_tol(name, exact):
    """The tolerance of a comparison with PyTorch: ``exact`` unless Muon on a CPU whose bfloat16
    products add in another order (then bfloat16's ~2⁻⁸, amplified a little by the iteration)."""
    return exact if name != "Muon" or _bit_exact_here() else 3e-2


def _problem(name, dtype, steps=6, seed=0):
    rng = np.random.default_rng(seed)
    shapes = MUON_SHAPES if name == "Muon" else MATRICES
    p0 = [np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes]
    grads = [[np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes] for _ in range(steps)]
    return p0, grads


def _feed(ps, opt, grads):
    for p, g in zip(ps, grads):
        p.grad = rg.tensor(g.copy()) if isinstance(p, rg.Tensor) else torch.tensor(g.copy())
    opt.step()


def _values(ps):
    return [p.data.copy() if isinstance(p, rg.Tensor) else p.detach().numpy().copy() for p in ps]


def _torch_state_as_arrays(opt):
    sd = opt.state_dict()
    return {"state": {i: {k: (v.numpy() if torch.is_tensor(v) else v) for k, v in s.items()}
                      for i, s in sd["state"].items()},
            "param_groups": sd["param_groups"]}


@requires_torch
@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_steps_match_torch_in_float64(name, kwargs):
    p0, grads = _problem(name, np.float64)
    ps, opt = our_optimizer(name, p0, kwargs)
    tps, topt = torch_optimizer(name, p0, kwargs)
    for gs in grads:
        _feed(ps, opt, gs)
        _feed(tps, topt, gs)
        tol = _muon_tol(name, 1e-12)
        for a, b in zip(_values(ps), _values(tps)):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol * 1e-2)
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert [list(s) for s in ours["state"].values()] == [list(s) for s in theirs["state"].values()]
    for s, t in zip(ours["state"].values(), theirs["state"].values()):
        for key, value in t.items():
            np.testing.assert_allclose(np.asarray(s[key], dtype=np.float64), value.numpy(), rtol=tol, atol=tol * 1e-2)
    assert ours["param_groups"] == theirs["param_groups"]  # the same hyper-parameters, in PyTorch's order


@requires_torch
@pytest.mark.parametrize("name, kwargs, tol", [(*CASES[3], 1e-5), (*CASES[5], 1e-6), (*CASES[6], 1e-6)],
                         ids=["Adafactor", "Muon", "Muon-plain-momentum"])
def test_steps_match_torch_in_float32(name, kwargs, tol):
    """In float32 too: Muon's momentum is rounded to bfloat16 next, where a float32 value one bit
    off could round to a neighbouring bfloat16 (a relative change of 2⁻⁸ the iteration amplifies);
    its lerp and step are PyTorch's fused multiply-adds, so the parameters agree to float32's bits."""
    p0, grads = _problem(name, np.float32)
    ps, opt = our_optimizer(name, p0, kwargs)
    tps, topt = torch_optimizer(name, p0, kwargs)
    for gs in grads:
        _feed(ps, opt, gs)
        _feed(tps, topt, gs)
    tol = _muon_tol(name, tol)
    for a, b in zip(_values(ps), _values(tps)):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    for state in opt.state_dict()["state"].values():  # the state keeps the parameters' dtype
        assert all(v.dtype == np.float32 for v in state.values() if hasattr(v, "dtype"))


# ---------------------------------------------------------------- Muon's Newton–Schulz in bfloat16
@requires_torch
@pytest.mark.parametrize("shape, scale, coefficients, steps", [
    ((3, 4), 1.0, (3.4445, -4.7750, 2.0315), 5),
    ((9, 2), 1e-3, (3.4445, -4.7750, 2.0315), 5),
    ((16, 16), 1e3, (3.4445, -4.7750, 2.0315), 5),  # ATen's loops (16³ = 4096 at the threshold)
    ((24, 40), 1.0, (3.4445, -4.7750, 2.0315), 5),  # oneDNN's
    ((33, 17), 1.0, (2.0, -1.5, 0.5), 7),
    ((4, 4), 1.0, (1.5, -0.5, 0.0), 1),
    ((1, 6), 1.0, (3.4445, -4.7750, 2.0315), 5),
])
def test_newton_schulz_equals_torch_bit_for_bit(shape, scale, coefficients, steps):
    g = np.random.default_rng(sum(shape)).standard_normal(shape) * scale
    expected = torch_zeropower(torch.tensor(g), coefficients, steps, 1e-7).float().numpy()
    got = zeropower_via_newtonschulz(g, coefficients, steps, 1e-7)
    assert got.dtype == np.float32 and got.shape == shape
    if math.prod(shape) * min(shape) < 16 ** 3 or _bit_exact_here():  # ATen's own loops: every CPU alike
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=3e-2, atol=3e-2)


def test_newton_schulz_orthogonalises_approximately():
    g = np.random.default_rng(3).standard_normal((6, 10))
    s = np.linalg.svd(zeropower_via_newtonschulz(g).astype(np.float64), compute_uv=False)
    assert np.all((s > 0.6) & (s < 1.25)), s  # every direction about the same size, not exactly 1
    np.testing.assert_array_equal(zeropower_via_newtonschulz(np.zeros((3, 4))), np.zeros((3, 4)))  # ε guards 0/0


@requires_torch
def test_to_bfloat16_rounds_as_torch():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(2000) * 10.0 ** rng.integers(-30, 30, 2000),
                        [0.0, -0.0, np.inf, -np.inf, 3.4e38, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1e-40]])
    expected = torch.tensor(x).bfloat16().float().numpy()
    np.testing.assert_array_equal(to_bfloat16(x), expected)
    assert np.isnan(to_bfloat16(np.array([np.nan])))[0]


# ---------------------------------------------------------------- state_dict and resuming
@pytest.mark.parametrize("name, kwargs", CASES[::2], ids=IDS[::2])
def test_state_dict_round_trip_continues_identically(name, kwargs):
    p0, grads = _problem(name, np.float64)

    def run(split):
        ps, opt = our_optimizer(name, p0, kwargs)
        for i, gs in enumerate(grads):
            if i == split:
                saved = opt.state_dict()
                opt = getattr(optim, name)(ps, **kwargs)
                opt.load_state_dict(saved)
            _feed(ps, opt, gs)
        return _values(ps)

    for a, b in zip(run(split=-1), run(split=3)):
        np.testing.assert_array_equal(a, b)


@requires_torch
@pytest.mark.parametrize("name, kwargs", [CASES[1], CASES[6]], ids=["Adafactor", "Muon"])
def test_torch_state_dict_loads_and_continues_as_torch(name, kwargs):
    p0, grads = _problem(name, np.float64)
    tps, topt = torch_optimizer(name, p0, kwargs)
    for gs in grads[:3]:
        _feed(tps, topt, gs)
    ps, opt = our_optimizer(name, _values(tps), kwargs)
    opt.load_state_dict(_torch_state_as_arrays(topt))
    assert opt.state_dict()["state"][0].get("step", 3) == 3  # PyTorch's float step tensor: an int again
    for gs in grads[3:]:
        _feed(ps, opt, gs)
        _feed(tps, topt, gs)
    tol = _muon_tol(name, 1e-12)
    for a, b in zip(_values(ps), _values(tps)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * 1e-2)


def _model_and_optimizer(name):
    rg.manual_seed(0)
    if name == "Muon":  # weight matrices only
        model = rg.nn.Sequential(rg.nn.Linear(4, 5, bias=False), rg.nn.Tanh(), rg.nn.Linear(5, 2, bias=False))
        return model, optim.Muon(model.parameters(), lr=0.05)
    model = rg.nn.Sequential(rg.nn.Linear(4, 5), rg.nn.Tanh(), rg.nn.Linear(5, 2))
    return model, optim.Adafactor(model.parameters(), lr=0.05, weight_decay=0.01)


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_resume_from_rg_save_continues_exactly(name, tmp_path):
    x = rg.tensor(np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32))

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()

    model, opt = _model_and_optimizer(name)
    train(model, opt, 6)
    expected = [p.data.copy() for p in model.parameters()]

    model, opt = _model_and_optimizer(name)
    train(model, opt, 3)
    rg.save(tmp_path / "ckpt.safetensors", model, opt)
    model, opt = _model_and_optimizer(name)
    rg.load(tmp_path / "ckpt.safetensors", model, opt)
    if name == "Adafactor":  # the factored state came back with its own shapes
        assert opt.state_dict()["state"][0]["row_var"].shape == (5, 1)
        assert opt.state_dict()["state"][0]["col_var"].shape == (1, 4)
    train(model, opt, 3)
    for a, b in zip([p.data for p in model.parameters()], expected):
        np.testing.assert_array_equal(a, b)


def test_adafactor_refuses_mis_shaped_factored_state():
    w = rg.tensor(np.ones((3, 4)), requires_grad=True)
    opt = optim.Adafactor([w])
    saved = {"state": {0: {"step": 1, "row_var": np.ones((3, 4)), "col_var": np.ones((1, 4))}},
             "param_groups": opt.state_dict()["param_groups"]}
    with pytest.raises(ValueError, match=r"row_var.*\(3, 4\).*needs \(3, 1\)"):
        opt.load_state_dict(saved)


# ---------------------------------------------------------------- refusals
BAD = [
    ("Adafactor", dict(lr=-1.0), ValueError, "Learning rate should be >= 0 but is: -1.0"),
    ("Adafactor", dict(lr=float("nan")), ValueError, "Learning rate should be >= 0 but is: nan"),
    ("Adafactor", dict(beta2_decay=0.1), ValueError, "beta2_decay should be <= 0 but is: 0.1"),
    ("Adafactor", dict(eps=(-1.0, 1e-3)), ValueError, "epsilon1 should be >= 0 but is: -1.0"),
    ("Adafactor", dict(eps=(None, -1.0)), ValueError, "epsilon2 should be >= 0 but is: -1.0"),
    ("Adafactor", dict(d=0.5), ValueError, "Clipping threshold d should be >= 1 but is: 0.5"),
    ("Adafactor", dict(weight_decay=-0.1), ValueError, "weight_decay should be >= 0 but is: -0.1"),
    ("Adafactor", dict(eps=1e-3), TypeError, ""),
    ("Adafactor", dict(lr="a"), TypeError, ""),
    ("Muon", dict(lr=-1.0), ValueError, "Learning rate should be >= 0 but is: -1.0"),
    ("Muon", dict(momentum=-0.5), ValueError, "momentum should be >= 0 but is: -0.5"),
    ("Muon", dict(weight_decay=-1.0), ValueError, "weight decay should be >= 0 but is: -1.0"),
    ("Muon", dict(adjust_lr_fn="spectral"), ValueError, "Adjust learning rate function spectral is not supported"),
]


@requires_torch
@pytest.mark.parametrize("name, kwargs, error, message", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_constructor_refusals_as_torch(name, kwargs, error, message):
    with pytest.raises(error):
        getattr(torch.optim, name)([torch.zeros(2, 3, requires_grad=True)], **kwargs)
    with pytest.raises(error, match=f"{name}: {message}" if message else None):
        getattr(optim, name)([rg.tensor(np.zeros((2, 3)), requires_grad=True)], **kwargs)


@requires_torch
def test_what_torch_accepts_is_accepted():
    for lib, t in ((torch.optim, torch.zeros(2, 3, requires_grad=True)),
                   (optim, rg.tensor(np.zeros((2, 3)), requires_grad=True))):
        lib.Muon([t], lr=float("inf"), momentum=2.0, eps=-1.0, nesterov=True)
        lib.Muon([t], momentum=0.0, nesterov=True)
        lib.Adafactor([t], lr=float("inf"), eps=(0.0, 0.0), d=1.0, beta2_decay=0.0)


@requires_torch
def test_tensor_learning_rate():
    for lib, tensor in ((torch, torch.tensor), (rg, rg.tensor)):
        w = tensor(np.ones((2, 3)), requires_grad=True)
        with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
            lib.optim.Adafactor([w], lr=tensor(np.array([0.1, 0.2])))
        with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
            lib.optim.Muon([w], lr=tensor(np.array([0.1, 0.2])))
    p0, grads = _problem("Muon", np.float64, steps=2)
    ps, opt = our_optimizer("Muon", p0, dict(lr=rg.tensor(np.array(0.05))))
    tps, topt = torch_optimizer("Muon", p0, dict(lr=torch.tensor(0.05, dtype=torch.float64)))
    for gs in grads:
        _feed(ps, opt, gs)
        _feed(tps, topt, gs)
    for a, b in zip(_values(ps), _values(tps)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@requires_torch
def test_muon_takes_only_matrices_as_torch():
    for bad in [(5,), (2, 3, 4), ()]:
        with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
            torch.optim.Muon([torch.zeros(bad, requires_grad=True)])
        with pytest.raises(ValueError, match=rf"Muon only supports 2D parameters .*size: {tuple(bad)}".replace(
                "(", r"\(").replace(")", r"\)")):
            optim.Muon([rg.tensor(np.zeros(bad), requires_grad=True)])
    # a group added later is not checked, as PyTorch: its step refuses the vector's gradient
    for lib, tensor in ((torch, torch.tensor), (rg, rg.tensor)):
        w, b = tensor(np.ones((2, 3)), requires_grad=True), tensor(np.ones(3), requires_grad=True)
        opt = lib.optim.Muon([w])
        opt.add_param_group({"params": [b]})
        w.grad, b.grad = tensor(np.ones((2, 3))), tensor(np.ones(3))
        with pytest.raises(ValueError, match="Param gradient must be a 2D matrix"):
            opt.step()


@requires_torch
@pytest.mark.parametrize("kwargs, message", [
    (dict(ns_steps=100), "Number of steps must be less than 100"),
    (dict(ns_coefficients=(1.0, 2.0)), "Coefficients must be a tuple of exactly 3 values"),
])
def test_muon_refuses_at_the_first_step_as_torch(kwargs, message):
    for lib, tensor in ((torch, torch.tensor), (rg, rg.tensor)):
        w = tensor(np.ones((2, 3)), requires_grad=True)
        opt = lib.optim.Muon([w], **kwargs)  # accepted here, as in PyTorch
        w.grad = tensor(np.ones((2, 3)))
        with pytest.raises(ValueError, match=message):
            opt.step()


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_complex_parameters_are_refused_before_any_update(name):
    w = rg.tensor(np.ones((2, 2)), requires_grad=True)
    z = rg.tensor(np.ones((2, 2), dtype=np.complex128))  # complex tensors cannot require grad: a gradient set by hand
    opt = getattr(optim, name)([w, z])
    w.grad, z.grad = rg.tensor(np.ones((2, 2))), rg.tensor(np.ones((2, 2), dtype=np.complex128))
    with pytest.raises(RuntimeError, match=f"{name} does not support complex parameters"):
        opt.step()
    np.testing.assert_array_equal(w.data, np.ones((2, 2)))


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_a_parameter_without_gradient_is_left_alone(name):
    a, b = rg.tensor(np.ones((2, 3)), requires_grad=True), rg.tensor(np.ones((3, 2)), requires_grad=True)
    opt = getattr(optim, name)([a, b])
    a.grad = rg.tensor(np.full((2, 3), 0.5))
    opt.step()
    np.testing.assert_array_equal(b.data, np.ones((3, 2)))
    assert list(opt.state_dict()["state"]) == [0] and not np.array_equal(a.data, np.ones((2, 3)))


def test_exports_and_defaults():
    for name in ("Adafactor", "Muon"):
        cls = getattr(optim, name)
        assert name in optim.__all__ and issubclass(cls, optim.Optimizer) and cls.__doc__
    g = optim.Muon([rg.tensor(np.ones((2, 2)), requires_grad=True)]).param_groups[0]
    assert (g["lr"], g["weight_decay"], g["momentum"], g["nesterov"], g["ns_coefficients"], g["eps"],
            g["ns_steps"], g["adjust_lr_fn"]) == (1e-3, 0.1, 0.95, True, (3.4445, -4.7750, 2.0315), 1e-7, 5, None)
    g = optim.Adafactor([rg.tensor(np.ones(2), requires_grad=True)]).param_groups[0]
    assert (g["lr"], g["beta2_decay"], g["eps"], g["d"], g["weight_decay"], g["foreach"], g["maximize"]) == (
        1e-2, -0.8, (None, 1e-3), 1.0, 0.0, None, False)
