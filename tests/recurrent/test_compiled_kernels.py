"""The compiled step loops (``recurrent.compiled``, numba) against the NumPy
fused ops, float64, to 1e-10 relative.

The reference is the fused op itself (``fused.LSTMLayer`` … and its vjp via
``rg.grad``). The compiled side is a pipeline this file drives by hand: the
input projection as one GEMM, the compiled forward, the slopes, the compiled
backward, and the weight gradients as GEMMs over all steps written here from
the BPTT formulas (not the fused module's helpers). Shapes, packed batch
sizes (rows ending at different steps, rows with no step at all),
activations, recurrent masks, gates on request and a missing b_hh are drawn
by hypothesis; a grid covers every combination once on a fixed shape.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("numba", reason="the compiled recurrent path is the optional 'speed' extra (numba)")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import retrograd as rg  # noqa: E402
from retrograd.autograd import conventions  # noqa: E402
from retrograd.recurrent import compiled  # noqa: E402
from retrograd.recurrent.packing import Steps  # noqa: E402

from rnn_models import fused_op_outputs_and_gradients  # noqa: E402

K = {"LSTM": 4, "GRU": 3, "RNN": 1}
RTOL, ATOL = 1e-10, 1e-12


# ---------------------------------------------------------------- independent helpers over the packed layout

def _prev_rows(steps, Y, h0):
    """hₜ₋₁ of every packed row (h₀ at step 0)."""
    out = np.empty_like(Y)
    for t, (a0, b) in enumerate(zip(steps.offsets, steps.sizes)):
        out[a0:a0 + b] = h0[:b] if t == 0 else Y[steps.offsets[t - 1]:steps.offsets[t - 1] + b]
    return out


def _batch_rows(steps):
    return np.concatenate([np.arange(b) for b in steps.sizes]) if steps.sizes else np.zeros(0, int)


def _final(steps, Y, h0):
    """Each row's value at its own last step (h₀ for rows that take none)."""
    out = h0.copy()
    for t, (a0, b) in enumerate(zip(steps.offsets, steps.sizes)):
        out[:b] = Y[a0:a0 + b]
    return out


def _relu_slope(pre):
    tie = conventions.kink_slope((1.0, 0.0))
    return (pre > 0).astype(pre.dtype) + tie * (pre == 0)


def _slope(act, y, pre):
    return 1 - y * y if act == "tanh" else _relu_slope(pre)


# ---------------------------------------------------------------- the two sides

def _reference(kind, steps, act, M, gates, x, h0, c0, ws, ups):
    """The fused NumPy op: outputs and every gradient of Σ outᵢ ⊙ upᵢ."""
    return fused_op_outputs_and_gradients(kind, steps, act, M, gates, x, h0, c0, ws, ups)


def _compiled(kind, steps, act, M, gates, x, h0, c0, ws, ups):
    """The same outputs and gradients from the compiled loops and GEMMs written here."""
    w_ih, w_hh, b_ih, b_hh = ws
    N, H = x.shape[0], w_hh.shape[1]
    relu = act == "relu"
    Mrows = 1.0 if M is None else M[_batch_rows(steps)]
    if kind == "LSTM":
        G = x @ w_ih.T + b_ih + b_hh
        Y, C, TC = (np.empty((N, H), dtype=x.dtype) for _ in range(3))
        g_pre = np.empty((N, H), dtype=x.dtype) if relu else None
        compiled.lstm_forward_steps(steps, G, h0, c0, w_hh, Y, C, TC, act, M, g_pre)
        outs = [Y.copy(), _final(steps, Y, h0), _final(steps, C, c0)] + ([G.copy(), C.copy()] if gates else [])
        g_y, g_h, g_c = ups[:3]
        dA = (1 - G) * G
        dA[:, 2 * H:3 * H] = _slope(act, G[:, 2 * H:3 * H], g_pre)
        c_slope = _slope(act, TC, C)
        extra = dA * ups[3] if gates else None
        dh, dc = g_h.copy(), g_c.copy()
        compiled.lstm_backward_steps(steps, G, C, TC, c0, w_hh, g_y, dA, c_slope, dh, dc, M,
                                     ups[4] if gates else None, extra)
        gb = dA.sum(axis=0)
        return outs, [dA @ w_ih, dh, dc, dA.T @ x, dA.T @ (_prev_rows(steps, Y, h0) * Mrows), gb, gb]
    if kind == "GRU":
        Z = x @ w_ih.T + b_ih
        GHn, Y = np.empty((N, H), dtype=x.dtype), np.empty((N, H), dtype=x.dtype)
        n_pre = np.empty((N, H), dtype=x.dtype) if relu else None
        compiled.gru_forward_steps(steps, Z, h0, w_hh, b_hh, GHn, Y, act, M, n_pre)
        outs = [Y.copy(), _final(steps, Y, h0)] + ([Z.copy()] if gates else [])
        dGX = (1 - Z) * Z
        dGX[:, 2 * H:] = _slope(act, Z[:, 2 * H:], n_pre)
        extra = dGX * ups[2] if gates else None
        dGH, dh = np.empty_like(Z), ups[1].copy()
        compiled.gru_backward_steps(steps, Z, GHn, Y, h0, w_hh, ups[0], dGX, dGH, dh, M, extra)
        grads = [dGX @ w_ih, dh, dGX.T @ x, dGH.T @ (_prev_rows(steps, Y, h0) * Mrows), dGX.sum(axis=0)]
        return outs, grads + ([dGH.sum(axis=0)] if b_hh is not None else [])
    A = x @ w_ih.T + b_ih + b_hh
    Y = np.empty((N, H), dtype=x.dtype)
    compiled.rnn_forward_steps(steps, A, h0, w_hh, Y, act, M)
    dA = _slope(act, Y, A)
    dh = ups[1].copy()
    compiled.rnn_backward_steps(steps, w_hh, ups[0], dA, dh, M)
    gb = dA.sum(axis=0)
    return [Y, _final(steps, Y, h0)], [dA @ w_ih, dh, dA.T @ x, dA.T @ (_prev_rows(steps, Y, h0) * Mrows), gb, gb]


def _problem(kind, sizes, batch, I, H, act, masked, gates, bias_hh, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    steps = Steps(sizes, batch)
    N, k = steps.total, K[kind]
    x = rng.standard_normal((N, I)).astype(dtype)
    h0, c0 = (rng.standard_normal((batch, H)).astype(dtype) * 0.5 for _ in range(2))
    # relu recurrences grow: smaller weights keep a few steps in range
    scale = 0.5 if act == "tanh" else 0.3
    ws = [(rng.standard_normal(s) * scale).astype(dtype) for s in [(k * H, I), (k * H, H), (k * H,), (k * H,)]]
    if not bias_hh:
        ws[3] = None
    M = ((rng.random((batch, H)) >= 0.3) / 0.7).astype(dtype) if masked else None
    shapes = [(N, H), (batch, H)] + ([(batch, H)] if kind == "LSTM" else [])
    if gates:
        shapes += [(N, k * H)] + ([(N, H)] if kind == "LSTM" else [])
    ups = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return steps, M, x, h0, c0, ws, ups


def _check(kind, sizes, batch, I, H, act, masked, gates=False, bias_hh=True, seed=0):
    steps, M, x, h0, c0, ws, ups = _problem(kind, sizes, batch, I, H, act, masked, gates, bias_hh, seed)
    ref_out, ref_grads = _reference(kind, steps, act, M, gates, x, h0, c0, ws, ups)
    got_out, got_grads = _compiled(kind, steps, act, M, gates, x, h0, c0, ws, ups)
    assert len(ref_out) == len(got_out) and len(ref_grads) == len(got_grads)
    for name, r, g in [(f"output {i}", *p) for i, p in enumerate(zip(ref_out, got_out))] + \
                      [(f"gradient {i}", *p) for i, p in enumerate(zip(ref_grads, got_grads))]:
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL, err_msg=f"{kind} {act} {sizes}/{batch} {name}")


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("kind", list(K))
@pytest.mark.parametrize("act", ["tanh", "relu"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("sizes,batch", [([3] * 6, 3), ([4, 4, 3, 1, 1], 5), ([1] * 7, 1)],
                         ids=["dense", "packed", "single"])
def test_grid(kind, act, masked, sizes, batch):
    """Every kind × activation × recurrent mask × layout (dense, packed with a
    row that takes no step, one row): outputs and all gradients equal."""
    _check(kind, sizes, batch, 3, 4, act, masked)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_gates_on_request(kind):
    """Gradients arriving at the gates (and the LSTM's cell states) enter δa as the fused op adds them."""
    _check(kind, [3, 3, 2, 1], 4, 2, 3, "tanh", True, gates=True)


def test_gru_without_recurrent_bias():
    _check("GRU", [2, 2, 1], 2, 2, 3, "tanh", False, bias_hh=False)


@st.composite
def _cases(draw):
    batch = draw(st.integers(1, 5))
    first = draw(st.integers(1, batch))
    T = draw(st.integers(1, 7))
    sizes = sorted(draw(st.lists(st.integers(1, first), min_size=T, max_size=T)), reverse=True)
    sizes[0] = first
    return dict(kind=draw(st.sampled_from(list(K))), sizes=sizes, batch=batch, I=draw(st.integers(1, 4)),
                H=draw(st.integers(1, 6)), act=draw(st.sampled_from(["tanh", "relu"])),
                masked=draw(st.booleans()), gates=draw(st.booleans()), bias_hh=draw(st.booleans()),
                seed=draw(st.integers(0, 2 ** 16)))


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(_cases())
def test_random_shapes(case):
    """Random packed layouts, sizes, activations, masks and options: equal to 1e-10."""
    if case["kind"] == "RNN":
        case["gates"] = False       # the Elman op has no gates output
    if case["kind"] != "GRU":
        case["bias_hh"] = True      # the LSTM and RNN ops take both biases
    _check(**case)


@pytest.mark.parametrize("kind", list(K))
def test_float32_matches_the_numpy_loop(kind):
    """The float32 kernels (what the benchmarks run) agree with the NumPy loop to float32 rounding."""
    sizes, batch = [2] * 20, 2
    steps, M, x, h0, c0, ws, ups = _problem(kind, sizes, batch, 3, 8, "tanh", False, False, True, 1, np.float32)
    ref_out, ref_grads = _reference(kind, steps, "tanh", M, False, x, h0, c0, ws, ups)
    got_out, got_grads = _compiled(kind, steps, "tanh", M, False, x, h0, c0, ws, ups)
    for r, g in zip(ref_out + ref_grads, got_out + got_grads):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, r, rtol=2e-4, atol=2e-5)


def test_empty_batch_runs_no_step():
    steps = Steps([], 2)
    G, Y = np.zeros((0, 4)), np.zeros((0, 4))
    h0, dh = np.ones((2, 4)), np.full((2, 4), 3.0)
    compiled.rnn_forward_steps(steps, G, h0, np.eye(4), Y)
    compiled.rnn_backward_steps(steps, np.eye(4), np.zeros((0, 4)), G, dh)
    assert (dh == 3.0).all()


def test_refuses_what_it_cannot_run_in_place():
    steps = Steps([1, 1], 1)
    A, Y, h0, w = np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((1, 3)), np.zeros((3, 3))
    with pytest.raises(TypeError, match="rnn_forward_steps: Y must be a writeable C-contiguous"):
        compiled.rnn_forward_steps(steps, A, h0, w, np.zeros((3, 2)).T)
    with pytest.raises(TypeError, match=r"rnn_forward_steps: h0 dtype \(float32\) does not match"):
        compiled.rnn_forward_steps(steps, A, h0.astype(np.float32), w, Y)
    with pytest.raises(ValueError, match="activation must be 'tanh' or 'relu'"):
        compiled.rnn_forward_steps(steps, A, h0, w, Y, "sigmoid")


def test_heuristic_and_availability():
    assert compiled.available()
    assert not compiled.worth_it(1, 32, "LSTM")                   # off in the tests (conftest) …
    with compiled.use(True):
        assert all(compiled.worth_it(1, 32, kind) for kind in K)  # … on for config c
    assert not any(compiled.worth_it(64, 256, kind) for kind in K)
    with pytest.raises(ValueError, match="kind must be one of"):
        compiled.worth_it(1, 32, "lstm")


def test_imports_and_reports_unavailable_without_numba():
    """The package imports and the compiled path says no when numba is missing."""
    code = ("import sys; sys.modules['numba'] = None\n"
            "from retrograd.recurrent import compiled\n"
            "assert not compiled.available() and not compiled.worth_it(1, 8, 'LSTM')\n"
            "import retrograd as rg, numpy as np\n"
            "out, h = rg.nn.LSTM(2, 3)(rg.tensor(np.ones((4, 1, 2), np.float32)))\n"
            "out.sum().backward()\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_reads_broadcast_and_read_only_inputs():
    """Gradients the engine hands over may be broadcast views (read-only, stride 0): read like full arrays."""
    steps = Steps([2, 2, 1], 2)
    rng = np.random.default_rng(5)
    w = rng.standard_normal((3, 3)) * 0.5
    slopes = rng.random((5, 3))
    got, want = slopes.copy(), slopes.copy()
    dh_got, dh_want = np.zeros((2, 3)), np.zeros((2, 3))
    compiled.rnn_backward_steps(steps, w, np.broadcast_to(0.5, (5, 3)), got, dh_got)
    compiled.rnn_backward_steps(steps, w, np.full((5, 3), 0.5), want, dh_want)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(dh_got, dh_want)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("case", ["plain", "masked_bidirectional_relu", "packed_two_layers"])
def test_layers_take_the_compiled_path_with_the_same_numbers(kind, case):
    """nn.RNN/LSTM/GRU with the compiled loops on equal the NumPy loops (float64,
    values and every gradient), and the compiled kernels really ran."""
    from retrograd import nn
    from retrograd.nn.utils import rnn
    rng = np.random.default_rng(31)
    kwargs = {}
    if case == "masked_bidirectional_relu":
        kwargs = {"bidirectional": True, **({"nonlinearity": "relu"} if kind == "RNN" else {"activation": "relu"})}
    if case == "packed_two_layers":
        kwargs = {"num_layers": 2}
    layer = getattr(nn, kind)(3, 5, **kwargs).double()
    x_np = rng.standard_normal((6, 4, 3))
    mask = np.ones((6, 4), bool)
    mask[4:, 1], mask[:2, 2], mask[3, 3] = False, False, False

    def run():
        x = rg.tensor(x_np, requires_grad=True)
        if case == "packed_two_layers":
            out, state = layer(rnn.pack_padded_sequence(x, [6, 5, 3, 2]))
            out = out.data
        else:
            out, state = layer(x, mask=mask if case != "plain" else None)
        parts = state if isinstance(state, tuple) else (state,)
        loss = (out * out).sum() + sum((p * p).sum() for p in parts)
        grads = rg.grad(loss, [x] + list(layer.parameters()))
        return [out.data] + [p.data for p in parts] + [g.data for g in grads]

    reference = run()
    calls = []
    real = {n: getattr(compiled, n) for n in dir(compiled) if n.endswith("_steps")}
    with compiled.use(True):
        for name, fn in real.items():
            setattr(compiled, name, lambda *a, _fn=fn, _n=name, **k: (calls.append(_n), _fn(*a, **k))[1])
        try:
            got = run()
        finally:
            for name, fn in real.items():
                setattr(compiled, name, fn)
    assert {f"{kind.lower()}_forward_steps", f"{kind.lower()}_backward_steps"} <= set(calls)
    for a, b in zip(got, reference):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
