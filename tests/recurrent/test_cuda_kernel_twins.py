"""The per-step GPU kernels of the fused recurrent ops (``recurrent.cuda_kernels``), without a GPU.

Three sides, float64, values and every gradient of a layer to 1e-10:

- the fused ops' own NumPy loops (the reference);
- the same ops with the kernels' NumPy twins plugged into their step loops
  (``cuda_kernels.use_twins``: the selection hook the CuPy kernels go through);
- the same ops with the kernels' CUDA sources compiled as C++ and called with
  CuPy's ElementwiseKernel conventions (``tests/cuda_emulation.py``).

Plus: the sources compile with nvcc (where it exists), CuPy is never imported
on the CPU, the kernels are chosen only on the "cupy" backend (a stand-in
``cupy`` module here), and the twins run under the device stand-in.
"""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest

import retrograd as rg
from retrograd.autograd import backend, conventions
from retrograd.recurrent import cuda_kernels
from retrograd.recurrent.packing import Steps

import cuda_emulation
from rnn_models import fused_op_outputs_and_gradients

K = {"LSTM": 4, "GRU": 3, "RNN": 1}
LAYOUTS = {"dense": ([3] * 5, 3), "packed": ([4, 4, 3, 1, 1], 5), "single": ([1] * 6, 1)}


def _problem(kind, sizes, batch, I, H, act, masked, gates, bias_hh, seed):
    rng = np.random.default_rng(seed)
    steps = Steps(sizes, batch)
    k = K[kind]
    x = rng.standard_normal((steps.total, I))
    h0, c0 = rng.standard_normal((batch, H)) * 0.5, rng.standard_normal((batch, H)) * 0.5
    scale = 0.5 if act == "tanh" else 0.3
    ws = [rng.standard_normal(s) * scale for s in [(k * H, I), (k * H, H), (k * H,), (k * H,)]]
    if not bias_hh:
        ws[3] = None
    M = (rng.random((batch, H)) >= 0.3) / 0.7 if masked else None
    shapes = [(steps.total, H), (batch, H)] + ([(batch, H)] if kind == "LSTM" else [])
    if gates:
        shapes += [(steps.total, k * H)] + ([(steps.total, H)] if kind == "LSTM" else [])
    ups = [rng.standard_normal(s) for s in shapes]
    if act == "relu":  # exact zeros in the inputs: pre-activations at the kink, where the tie counts
        x[::3] = 0.0
        ws[1][:, ::2] = 0.0
    return steps, M, x, h0, c0, ws, ups


def _run(kind, steps, act, M, gates, x, h0, c0, ws, ups):
    """Outputs of the fused op and the gradients of Σ outᵢ ⊙ upᵢ at every input."""
    outs, grads = fused_op_outputs_and_gradients(kind, steps, act, M, gates, x, h0, c0, ws, ups)
    return outs + grads


def _compare(kernels, kind, layout, act, masked, gates=False, bias_hh=True, seed=0):
    sizes, batch = LAYOUTS[layout]
    problem = _problem(kind, sizes, batch, 3, 4, act, masked, gates, bias_hh, seed)
    steps, M, x, h0, c0, ws, ups = problem
    ref = _run(kind, steps, act, M, gates, x, h0, c0, ws, ups)
    calls = []
    spy = _Spy(kernels, calls)
    with cuda_kernels.use_kernels(spy):
        got = _run(kind, steps, act, M, gates, x, h0, c0, ws, ups)
    assert {f"{kind.lower()}_forward", f"{kind.lower()}_backward"} <= set(calls), calls  # the kernels really ran
    assert len(got) == len(ref)
    for n, (g, r) in enumerate(zip(got, ref)):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12, err_msg=f"{kind} {act} {layout} item {n}")


class _Spy(cuda_kernels.StepKernels):
    """A kernel set that records which step functions ran."""

    def __init__(self, inner, calls):
        def rec(name):
            fn = getattr(inner, name)
            return lambda *a: (calls.append(name), fn(*a))[1]
        super().__init__("spy", *(rec(n) for n in ("lstm_forward", "lstm_backward", "gru_forward", "gru_backward",
                                                   "rnn_forward", "rnn_backward")))


# ---------------------------------------------------------------- the twins in the fused ops' loops

@pytest.mark.parametrize("kind", list(K))
@pytest.mark.parametrize("act", ["tanh", "relu"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_twins_equal_the_numpy_loops(kind, act, masked, layout):
    _compare(cuda_kernels.TWINS, kind, layout, act, masked)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_twins_with_gates_on_request(kind):
    """Gradients arriving at the gates (and the LSTM's cell states) enter the deltas."""
    _compare(cuda_kernels.TWINS, kind, "packed", "tanh", True, gates=True)


@pytest.mark.parametrize("kind", list(K))
@pytest.mark.parametrize("policy", ["split", "first"])
def test_twins_relu_tie_at_the_kink(kind, policy):
    """The relu slope at exactly 0 follows rg.conventions (the LSTM's g_pre, the GRU's n_pre)."""
    with conventions.policy(policy):
        _compare(cuda_kernels.TWINS, kind, "packed", "relu", False, gates=kind != "RNN")


def test_twins_gru_without_recurrent_bias():
    _compare(cuda_kernels.TWINS, "GRU", "packed", "tanh", True, bias_hh=False)


def test_twins_under_the_device_stand_in():
    """The twins (and the loops around them) do all their work on the device module:
    an LSTM step under tests/array_shim (where they are the default) equals NumPy's."""
    from array_shim import shim, shim_backend
    steps, M, x, h0, c0, ws, ups = _problem("LSTM", [3, 2, 2], 3, 2, 3, "tanh", True, False, True, 4)
    ref = _run("LSTM", steps, "tanh", M, False, x, h0, c0, ws, ups)
    with shim_backend():
        d = lambda a: None if a is None else shim.asarray(a)  # noqa: E731
        calls = []
        with cuda_kernels.use_kernels(_Spy(cuda_kernels.kernels_for(backend.get_backend(), np.float64), calls)):
            got = _run("LSTM", steps, "tanh", d(M), False, d(x), d(h0), d(c0), [d(w) for w in ws],
                       [d(u) for u in ups])
        assert set(calls) == {"lstm_forward", "lstm_backward"}
        got = [backend.to_numpy(g) for g in got]
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- the CUDA sources, compiled as C++

@pytest.fixture(scope="module")
def emulated():
    if cuda_emulation.compiler() is None:
        pytest.skip("no C++ compiler to build the kernel sources on the CPU")
    return cuda_kernels.cupy_kernels(cuda_emulation.ElementwiseBuild(cuda_kernels.all_sources()))


@pytest.mark.parametrize("kind", list(K))
@pytest.mark.parametrize("act,masked,layout", [("tanh", False, "dense"), ("relu", True, "packed"),
                                               ("tanh", True, "single")])
def test_kernel_sources_equal_the_numpy_loops(emulated, kind, act, masked, layout):
    _compare(emulated, kind, layout, act, masked)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_kernel_sources_with_gates_relu_tie_and_no_recurrent_bias(emulated, kind):
    with conventions.policy("split"):
        _compare(emulated, kind, "packed", "relu", True, gates=True, bias_hh=kind == "LSTM")
    _compare(emulated, kind, "packed", "tanh", False, gates=True)


def test_no_kernel_parameter_takes_a_name_cupy_reserves():
    """No parameter takes a name CuPy reserves (``i``, ``n``, a leading underscore: its loop
    index, size and internals), and none is declared twice."""
    for name, (ins, outs, op) in cuda_kernels.all_sources().items():
        params = [p.split()[-1] for p in (ins + ", " + outs).split(",")]
        assert not any(p in ("i", "n") or p.startswith("_") for p in params), (name, params)
        assert len(params) == len(set(params)), name


def test_kernel_sources_compile_with_nvcc():
    src = "".join(cuda_emulation.elementwise_as_cuda(cuda_kernels.all_sources(), t) for t in ["float"])
    src64 = cuda_emulation.elementwise_as_cuda(cuda_kernels.all_sources(), "double")
    ok = cuda_emulation.nvcc_check(src) and cuda_emulation.nvcc_check(src64)
    if ok is None:
        pytest.skip("nvcc is not installed")


# ---------------------------------------------------------------- selection

def test_selected_on_device_backends_for_float32_float64(monkeypatch):
    """NumPy (and float16 anywhere) runs the fused ops' own loops, another array module
    the twins; "cupy" builds the kernels
    from cupy.ElementwiseKernel on first use (a stand-in cupy module records the builds)."""
    assert cuda_kernels.kernels_for("numpy", np.float64) is None
    assert cuda_kernels.kernels_for("array_shim", np.float32) is cuda_kernels.TWINS  # the loops the GPU runs
    with cuda_kernels.use_twins():
        assert cuda_kernels.kernels_for("numpy", np.float32) is cuda_kernels.TWINS
        assert cuda_kernels.kernels_for("numpy", np.float16) is None
    built = []
    fake = types.ModuleType("cupy")
    fake.ElementwiseKernel = lambda *a: built.append(a[-1]) or (lambda *args: None)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setitem(cuda_kernels._state, "cupy", None)
    kernels = cuda_kernels.kernels_for("cupy", np.float32)
    assert isinstance(kernels, cuda_kernels.StepKernels) and built == []   # lazily: nothing built yet
    assert cuda_kernels.kernels_for("cupy", np.float64) is kernels
    assert cuda_kernels.kernels_for("cupy", np.float16) is None
    kernels.rnn_backward(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3)))
    assert built == ["rg_rnn_bwd"]


def test_cpu_never_imports_cupy():
    code = ("import sys; sys.modules['cupy'] = None\n"
            "import numpy as np, retrograd as rg\n"
            "for kind in ('LSTM', 'GRU', 'RNN'):\n"
            "    out, _ = getattr(rg.nn, kind)(2, 3)(rg.tensor(np.ones((4, 2, 2), np.float32)))\n"
            "    out.sum().backward()\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
