"""Optimizer updates fused across a group's parameters (``optim/foreach.py``), against the
per-parameter updates, float64 to 1e-12, over several steps: the NumPy twin
(``foreach=True`` on NumPy) and the CUDA kernels themselves compiled as C++
(``tests/cuda_emulation.py``). The parameters stay independent tensors."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

import retrograd as rg
from retrograd import optim
from retrograd.optim import foreach

import cuda_emulation

CONFIGS = {
    "adam": (optim.Adam, dict(lr=0.01)),
    "adam_wd_amsgrad": (optim.Adam, dict(lr=0.02, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    "adamw": (optim.AdamW, dict(lr=0.01, weight_decay=0.05)),
    "adamw_amsgrad": (optim.AdamW, dict(lr=0.01, amsgrad=True)),
    "sgd": (optim.SGD, dict(lr=0.1)),
    "sgd_wd": (optim.SGD, dict(lr=0.1, weight_decay=0.01)),
    "sgd_momentum_dampening": (optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    "sgd_nesterov": (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
}
SHAPES = [(3, 4), (4,), (2, 3, 2), (1,), (5, 1)]


def _params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rg.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]


def _grads(params, step):
    """Deterministic gradients; parameter 1 has none at step 1 (its step count falls behind)."""
    rng = np.random.default_rng(100 + step)
    for i, p in enumerate(params):
        p.grad = None if (i == 1 and step == 1) else rg.tensor(rng.standard_normal(p.shape).astype(p.dtype))


def _train(cls, kw, foreach_flag, steps=5, groups=False, dtype=np.float64):
    params = _params(dtype=dtype)
    spec = [{"params": params[:2]}, {"params": params[2:], "lr": kw["lr"] / 2}] if groups else params
    opt = cls(spec, **kw, foreach=foreach_flag)
    for t in range(steps):
        _grads(params, t)
        opt.step()
    return params, opt


def _assert_same(a, b, rtol=1e-12):
    (pa, oa), (pb, ob) = a, b
    for x, y in zip(pa, pb):
        np.testing.assert_allclose(x.data, y.data, rtol=rtol, atol=1e-14)
    sa, sb = oa.state_dict(), ob.state_dict()
    assert sa["state"].keys() == sb["state"].keys()
    for i in sa["state"]:
        assert sa["state"][i].keys() == sb["state"][i].keys()
        for k, v in sa["state"][i].items():
            if k == "step":
                assert v == sb["state"][i][k] and type(v) is int
            else:
                np.testing.assert_allclose(v, sb["state"][i][k], rtol=rtol, atol=1e-14, err_msg=f"{i}.{k}")


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("groups", [False, True])
def test_fused_twin_equals_per_parameter(name, groups, monkeypatch):
    cls, kw = CONFIGS[name]
    launches = []
    real = foreach._launch
    monkeypatch.setattr(foreach, "_launch", lambda *a: (launches.append(a[0]), real(*a)))
    fused = _train(cls, kw, True, groups=groups)
    assert launches and all(n == ("rg_adam" if cls is not optim.SGD else "rg_sgd") for n in launches)
    # one launch per group and step, two where parameter 1's step count lags (Adam) or its buffer starts late (SGD)
    assert len(launches) <= 2 * 5 * (2 if groups else 1)
    _assert_same(fused, _train(cls, kw, False, groups=groups))


def test_default_is_per_parameter_on_numpy_and_fused_on_a_device(monkeypatch):
    from array_shim import shim, shim_backend
    from retrograd.autograd import backend
    launches = []
    monkeypatch.setattr(foreach, "_launch", lambda *a: pytest.fail("fused on NumPy without foreach=True"))
    _train(optim.Adam, dict(lr=0.01), None)
    assert optim.Adam(_params(), foreach=None).param_groups[0]["foreach"] is None
    real = foreach.TWINS["rg_sgd"]
    monkeypatch.setitem(foreach.TWINS, "rg_sgd", lambda *a: (launches.append(1), real(*a)))
    monkeypatch.setattr(foreach, "_launch", lambda name, *a: foreach.TWINS[name](*a))
    with shim_backend():
        p = rg.tensor(shim.asarray(np.ones(3)), requires_grad=True)
        p.grad = rg.tensor(shim.asarray(np.full(3, 2.0)))
        optim.SGD([p], lr=0.5, momentum=0.9).step()   # the device stand-in: fused by default
        got = backend.to_numpy(p.data)
    assert launches == [1] and np.array_equal(got, np.zeros(3))


def test_float32_and_mixed_dtypes_and_unfusable_parameters():
    """float32 parameters batch apart from float64 ones; a transposed (non-contiguous)
    parameter and a float16 one take the per-parameter update; all as foreach=False."""
    def run(flag):
        rng = np.random.default_rng(3)
        ps = [rg.tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True),
              rg.tensor(rng.standard_normal((4,)), requires_grad=True),
              rg.tensor(rng.standard_normal((2, 3)).T, requires_grad=True),
              rg.tensor(rng.standard_normal((2,)).astype(np.float16), requires_grad=True)]
        opt = optim.Adam(ps, lr=0.01, weight_decay=0.01, foreach=flag)
        for t in range(3):
            g = np.random.default_rng(t)
            for p in ps:
                p.grad = rg.tensor(g.standard_normal(p.shape).astype(p.dtype))
            opt.step()
        return ps, opt
    _assert_same(run(True), run(False), rtol=1e-6)
    for p in run(True)[0]:
        assert p.dtype in (np.float32, np.float64, np.float16)


def test_parameters_stay_independent_tensors():
    """state_dict / load_state_dict as per parameter; a replaced p.data is read from its new array;
    a broadcast (read-only) gradient is read as a full one."""
    (pa, oa), (pb, ob) = _train(optim.Adam, dict(lr=0.01, amsgrad=True), True), \
        _train(optim.Adam, dict(lr=0.01, amsgrad=True), False)
    fresh = [rg.tensor(p.data.copy(), requires_grad=True) for p in pa]
    resumed = optim.Adam(fresh, lr=0.01, amsgrad=True, foreach=True)
    resumed.load_state_dict(ob.state_dict())
    for p in (pa, pb, fresh):
        p[0].data = np.full(p[0].shape, 0.25)      # replaced, not updated in place
    for ps, opt in ((pa, oa), (pb, ob), (fresh, resumed)):
        for p in ps:
            p.grad = rg.tensor(np.broadcast_to(np.float64(0.5), p.shape))
        opt.step()
    _assert_same((pa, oa), (pb, ob))
    _assert_same((fresh, resumed), (pb, ob))
    assert resumed.state[id(fresh[0])]["exp_avg"] is not resumed.state[id(fresh[2])]["exp_avg"]


def test_foreach_is_checked():
    with pytest.raises(ValueError, match="foreach must be None, True or False"):
        optim.SGD(_params(), foreach="yes")


# ---------------------------------------------------------------- the CUDA kernels compiled as C++

@pytest.fixture(scope="module")
def emulated_launch():
    if cuda_emulation.compiler() is None:
        pytest.skip("no C++ compiler to build the kernel sources on the CPU")
    lib = cuda_emulation.raw_build(foreach.source("double"))

    def launch(name, batch, scalars):
        table, offsets = foreach.tables(batch, lambda a: a.ctypes.data)
        getattr(lib, name)((ctypes.c_longlong * len(table))(*table), (ctypes.c_longlong * len(offsets))(*offsets),
                           ctypes.c_int(len(batch)), ctypes.c_longlong(offsets[-1]),
                           *(ctypes.c_double(s) for s in scalars))
    return launch


@pytest.mark.parametrize("name", list(CONFIGS))
def test_kernel_source_equals_per_parameter(name, emulated_launch, monkeypatch):
    cls, kw = CONFIGS[name]
    monkeypatch.setattr(foreach, "_launch", emulated_launch)
    _assert_same(_train(cls, kw, True, groups=True), _train(cls, kw, False, groups=True))


def test_kernel_source_compiles_with_nvcc():
    if cuda_emulation.nvcc_check(foreach.source("float")) is None:
        pytest.skip("nvcc is not installed")
    assert cuda_emulation.nvcc_check(foreach.source("double"))
