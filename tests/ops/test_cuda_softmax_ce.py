"""Softmax cross-entropy in one GPU kernel (``ops/cuda_softmax_ce.py``), without a GPU:
its NumPy twin equals ``rg.cross_entropy`` (values and gradients, class indices,
ignore_index, reductions), and its CUDA source compiled as C++ (a warp of one
lane, ``tests/cuda_emulation.py``) equals the twin, float64 to 1e-12."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

import retrograd as rg
from retrograd.ops import cuda_softmax_ce as ce

import cuda_emulation


def _batch(n=7, c=5, seed=0, ignore=True):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, c)) * 3
    y = rng.integers(0, c, n).astype(np.int64)
    if ignore:
        y[[1, 4]] = -100
    return z, y


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("ignore", [False, True])
def test_twin_equals_cross_entropy(reduction, ignore):
    z, y = _batch(ignore=ignore)
    u = np.random.default_rng(9).standard_normal(len(y)) if reduction == "none" else 1.0
    zt = rg.tensor(z, requires_grad=True)
    want = rg.cross_entropy(zt, rg.tensor(y), reduction=reduction)
    (gz,) = rg.grad((want * rg.tensor(u)).sum(), [zt])
    loss, delta, bad = ce.twin_rows(z, y)
    value, factor = ce.reduce_rows(loss, y, reduction)
    np.testing.assert_allclose(value, want.data, rtol=1e-12, atol=1e-14)
    grad = delta * (u[:, None] if reduction == "none" else factor)
    np.testing.assert_allclose(grad, gz.data, rtol=1e-12, atol=1e-14)
    assert int(bad) == 0


def test_twin_nothing_counted_and_out_of_range():
    z, y = _batch()
    value, factor = ce.reduce_rows(*ce.twin_rows(z, np.full(7, -100))[:1], np.full(7, -100), "mean")
    assert np.isnan(value) and factor == 0        # as PyTorch: NaN loss, zero gradient
    y[2] = 5
    loss, delta, bad = ce.twin_rows(z, y)
    assert int(bad) == 1 and np.isnan(loss[2]) and np.isnan(delta[2]).all()
    assert np.isfinite(np.delete(loss, 2)).all()


def test_float32_twin_close_to_cross_entropy():
    z, y = _batch(n=64, c=10, seed=3)
    z = z.astype(np.float32)
    loss, delta, _ = ce.twin_rows(z, y)
    assert loss.dtype == delta.dtype == np.float32
    assert ce.reduce_rows(loss, y, "mean")[0].dtype == np.float32
    zt = rg.tensor(z, requires_grad=True)
    want = rg.cross_entropy(zt, rg.tensor(y), reduction="sum")
    (gz,) = rg.grad(want, [zt])
    np.testing.assert_allclose(ce.reduce_rows(loss, y, "sum")[0], want.data, rtol=1e-5)
    np.testing.assert_allclose(delta, gz.data, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- the CUDA source, compiled as C++

@pytest.fixture(scope="module")
def kernel():
    if cuda_emulation.compiler() is None:
        pytest.skip("no C++ compiler to build the kernel source on the CPU")
    prelude = ("#define RG_LANE 0LL\n#define RG_LANES 1LL\n#define RG_ROW0 0LL\n#define RG_ROWSTEP 1LL\n"
               "#define rg_warp_max(v) (v)\n#define rg_warp_sum(v) (v)\n")
    lib = cuda_emulation.raw_build(ce.source("double"), prelude)

    def run(z, y, ignore_index=-100):
        z, y = np.ascontiguousarray(z), np.ascontiguousarray(y, dtype=np.int64)
        n, c = z.shape
        loss, delta, bad = np.empty(n), np.empty_like(z), np.zeros(1, np.int32)
        p = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
        lib.rg_softmax_ce(p(z), p(y), ctypes.c_longlong(n), ctypes.c_longlong(c), ctypes.c_longlong(ignore_index),
                          p(loss), p(delta), p(bad))
        return loss, delta, bad[0]
    return run


@pytest.mark.parametrize("n,c", [(7, 5), (3, 1), (4, 70)])
def test_kernel_source_equals_twin(kernel, n, c):
    z, y = _batch(n, c, seed=n + c, ignore=n > 4)
    z[0, 0] = 40.0   # a dominant logit: the shift by the max matters
    y[-1] = 7 if c < 7 else c + 1   # out of range: NaN row and the flag
    got, want = kernel(z, y), ce.twin_rows(z, y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    assert got[2] == 1


def test_kernel_source_nan_logits_and_other_ignore_index(kernel):
    z, y = _batch()
    z[3, 2] = np.nan
    y[5] = 2
    got, want = kernel(z, y, ignore_index=2), ce.twin_rows(z, y, ignore_index=2)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_kernel_source_compiles_with_nvcc():
    if cuda_emulation.nvcc_check(ce.source("float")) is None:
        pytest.skip("nvcc is not installed")
    assert cuda_emulation.nvcc_check(ce.source("double"))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_takes_the_one_kernel_path_on_a_device_backend(reduction, monkeypatch):
    """On a device backend (the stand-in) ``rg.cross_entropy`` of (N, C) logits and class indices
    goes through ``cuda_softmax_ce.rows`` (the kernel on CuPy, its twin here) and equals the NumPy
    path: value, gradient, and a second derivative rebuilt from the kernel's δ."""
    import sys
    from retrograd.autograd import backend
    from array_shim import shim, shim_backend
    from retrograd.ops import cuda_softmax_ce as kernel_module

    calls = []
    real = kernel_module.rows
    monkeypatch.setattr(kernel_module, "rows", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((6, 5)), np.array([0, 4, -100, 1, 2, 3])

    def run(to_device):
        zt = rg.tensor(to_device(z), requires_grad=True)
        loss = rg.cross_entropy(zt, rg.tensor(to_device(y)), reduction=reduction)
        loss = loss.sum() if reduction == "none" else loss
        (g,) = rg.grad(loss, [zt], create_graph=True)
        (g * g).sum().backward()
        return [backend.to_numpy(a) for a in (loss.data, g.data, zt.grad.data)]
    expected = run(lambda a: a)
    assert not calls
    with shim_backend():
        got = run(shim.asarray)
    assert calls
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
