"""The BPTT engine: every mode exact (hand-derived for a scalar linear RNN),
equal to full() when k ≥ T, cells = fused layers under every mode, training
schedules, flat memory, tracing, stateful rows and scan."""

import tracemalloc

import numpy as np
import pytest

import retrograd as rg
from retrograd import bptt, nn
from rnn_models import CellModel, SeqModel, lstm_data, twin_models


class ScalarRNN(nn.Module):
    """h_t = w·h_{t−1} + x_t (h_{−1} = 0); output h_t."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(np.array(w, dtype=np.float64))

    def forward(self, x, h):
        h = x if h is None else self.w * h + x
        return h, h


def scalar_problem(T=9, seed=0):
    rng = np.random.default_rng(seed)
    xs, cs = rng.standard_normal(T), rng.standard_normal(T)
    h = np.zeros(T)
    for t in range(T):
        h[t] = xs[t] + (0.7 * h[t - 1] if t else 0.0)
    return xs, cs, h


def hand_gradient(first_of, losses, cs, h, w=0.7):
    """dL/dw for ℓ_t = c_t·h_t when ℓ_t's gradient may enter steps first_of(t) … t:
    step s (≥ 1) contributes w^{t−s}·h_{s−1}."""
    return sum(cs[t] * sum(w ** (t - s) * h[s - 1] for s in range(max(first_of(t), 1), t + 1)) for t in losses)


def linear_loss(out, c):
    return out * c


@pytest.mark.parametrize("name", ["full", "chunk3", "chunk4", "wp2_5", "wp3_3", "wp1_4", "window3", "window1",
                                  "tail4"])
def test_every_mode_matches_the_hand_derived_gradient(name):
    T = 9
    xs, cs, h = scalar_problem(T)
    model = ScalarRNN(0.7)
    modes = {
        "full": (bptt.full(), range(T), lambda t: 0),
        "chunk3": (bptt.chunk(3), range(T), lambda t: t - t % 3),
        "chunk4": (bptt.chunk(4), range(T), lambda t: t - t % 4),
        # every k1 steps, the last k1 losses reach back k2 steps from the update: first = start − (k2 − k1)
        "wp2_5": (bptt.williams_peng(2, 5), range(T), lambda t: max(0, t - t % 2 - 3)),
        "wp3_3": (bptt.williams_peng(3, 3), range(T), lambda t: t - t % 3),
        "wp1_4": (bptt.williams_peng(1, 4), range(T), lambda t: max(0, t - 3)),
        "window3": (bptt.window(3), range(T), lambda t: max(0, t - 2)),
        "window1": (bptt.window(1), range(T), lambda t: t),
        "tail4": (bptt.tail(4), range(T - 4, T), lambda t: T - 4),
    }
    mode, losses, first_of = modes[name]
    got = bptt.gradient(model, xs, cs, linear_loss, mode)["w"]
    np.testing.assert_allclose(got, hand_gradient(first_of, losses, cs, h), rtol=1e-12)


ALL_MODES = [bptt.full(), bptt.chunk(3), bptt.williams_peng(2, 4), bptt.williams_peng(3, 3), bptt.window(3),
             bptt.tail(4)]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("mode", ALL_MODES, ids=str)
def test_cells_and_fused_layers_give_the_same_gradient_under_every_mode(kind, mode):
    cell, seq = twin_models(kind)
    xs, ys = lstm_data()
    g_cell = bptt.gradient(cell, xs, ys, rg.cross_entropy, mode)
    g_seq = bptt.gradient(seq, xs, ys, rg.cross_entropy, mode)
    for name, g in g_seq.items():
        other = g_cell["cell." + name[4:-3]] if name.startswith("rnn.") else g_cell[name]
        np.testing.assert_allclose(other, g, rtol=1e-10, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("mode", [bptt.chunk(10), bptt.chunk(50), bptt.williams_peng(10, 10),
                                  bptt.williams_peng(3, 12), bptt.window(10), bptt.tail(10), bptt.tail(99)],
                         ids=str)
def test_every_mode_equals_full_when_k_covers_the_sequence(mode):
    _, seq = twin_models("LSTM")
    xs, ys = lstm_data(T=10)
    full = bptt.gradient(seq, xs, ys, rg.cross_entropy, bptt.full())
    got = bptt.gradient(seq, xs, ys, rg.cross_entropy, mode)
    for k in full:
        np.testing.assert_allclose(got[k], full[k], rtol=1e-12, atol=1e-15)


def test_full_gradient_equals_backward_through_the_unrolled_sequence():
    _, seq = twin_models("GRU")
    xs, ys = lstm_data()
    loss = sum(rg.cross_entropy(o, y) for o, y in zip(seq(rg.tensor(xs), None)[0], ys))
    expected = rg.grad(loss, list(seq.parameters()))
    got = bptt.gradient(seq, xs, ys, rg.cross_entropy, bptt.full())
    for (name, _), e in zip(seq.named_parameters(), expected):
        np.testing.assert_allclose(got[name], e.data, rtol=1e-12)


def test_chunk_training_equals_the_detach_idiom():
    """chunk(k) with updates = PyTorch's `h = h.detach()` loop (seed page 003)."""
    _, a = twin_models("LSTM")
    _, b = twin_models("LSTM")
    xs, ys = lstm_data(T=11)
    opt_a, opt_b = rg.optim.SGD(a.parameters(), lr=0.3), rg.optim.SGD(b.parameters(), lr=0.3)
    state_a, losses = bptt.train(a, xs, ys, rg.cross_entropy, opt_a, bptt.chunk(4))
    state = None
    for s in range(0, 11, 4):
        out, state = b(rg.tensor(xs[s:s + 4]), state)
        loss = sum(rg.cross_entropy(out[i], ys[s + i]) for i in range(out.shape[0]))
        opt_b.zero_grad()
        loss.backward()
        opt_b.step()
        state = bptt.detach_state(state)
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, err_msg=n)
    np.testing.assert_allclose(state_a[0].data, state[0].data, rtol=1e-12)
    assert losses.shape == (11,)


def test_williams_peng_k_k_trains_exactly_like_chunk_k():
    _, a = twin_models("GRU")
    _, b = twin_models("GRU")
    xs, ys = lstm_data(T=10)
    ra = bptt.train(a, xs, ys, rg.cross_entropy, rg.optim.Adam(a.parameters(), lr=0.05), bptt.chunk(3))
    rb = bptt.train(b, xs, ys, rg.cross_entropy, rg.optim.Adam(b.parameters(), lr=0.05), bptt.williams_peng(3, 3))
    np.testing.assert_array_equal(ra.losses, rb.losses)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert len(ra.update_losses) == 4


def test_williams_peng_training_against_a_brute_force_reference():
    """Scalar RNN, updates every k1 steps; each step's Jacobian uses the weight
    that step ran with (the tape is never recomputed)."""
    T, k1, k2, lr = 12, 2, 5, 0.05
    xs, cs, _ = scalar_problem(T, seed=3)
    model = ScalarRNN(0.7)
    bptt.train(model, xs, cs, linear_loss, rg.optim.SGD(model.parameters(), lr=lr), bptt.williams_peng(k1, k2))
    w, used, h = 0.7, [], []
    for t in range(T):
        used.append(w)
        h.append(xs[t] + (w * h[t - 1] if t else 0.0))
        if (t + 1) % k1 == 0 or t == T - 1:
            start = t + 1 - ((t % k1) + 1)
            first = max(0, start - (k2 - k1))
            g = 0.0
            for tau in range(start, t + 1):
                for s in range(max(first, 1), tau + 1):
                    g += cs[tau] * np.prod(used[s + 1:tau + 1]) * h[s - 1]
            w -= lr * g
    np.testing.assert_allclose(model.w.data, w, rtol=1e-12)


def test_forward_runs_once_per_step():
    calls = []

    class Counting(ScalarRNN):
        def forward(self, x, h):
            calls.append(1)
            return super().forward(x, h)

    xs, cs, _ = scalar_problem(20)
    m = Counting(0.5)
    for mode in (bptt.williams_peng(2, 7), bptt.window(5), bptt.chunk(3), bptt.tail(6)):
        calls.clear()
        bptt.train(m, xs, cs, linear_loss, rg.optim.SGD(m.parameters(), lr=0.0), mode)
        assert len(calls) == 20, mode


def _peak_memory(mode, T):
    """Peak traced memory of one pass (a tape of about 25 KiB per step, so
    Python's allocator caches are noise)."""
    rg.manual_seed(0)
    model = SeqModel("RNN", I=8, H=64, O=4).double()
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((T, 16, 8)), rng.integers(0, 4, (T, 16))
    tracemalloc.start()
    bptt.gradient(model, xs, ys, rg.cross_entropy, mode)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - 8 * T  # the per-step loss record is O(T) floats by design


@pytest.mark.parametrize("mode", [bptt.chunk(25), bptt.williams_peng(5, 20)], ids=str)
def test_memory_stays_flat_in_T(mode):
    small, large = _peak_memory(mode, 100), _peak_memory(mode, 10_000)
    assert large < 1.2 * small + 256 * 1024, f"peak {small / 1024:.0f} KiB at T=100, {large / 1024:.0f} KiB at T=10000"


def test_full_bptt_memory_grows_with_T():
    """The same measurement does see the growth of full BPTT (the test can fail)."""
    assert _peak_memory(bptt.full(), 2000) > 5 * _peak_memory(bptt.full(), 100)


def test_trace_sees_vanishing_and_exploding_gradients(tmp_path):
    xs = np.ones((30, 1, 1))
    small, large = ScalarRNN(0.5), ScalarRNN(1.3)
    only_last = [0.0] * 29 + [1.0]
    h0 = rg.tensor(np.zeros((1, 1)))
    tr_small = bptt.trace(small, xs, only_last, lambda o, c: o.sum() * c, state=h0)
    tr_large = bptt.trace(large, xs, only_last, lambda o, c: o.sum() * c, state=h0)
    np.testing.assert_allclose(tr_small.h_norm, 0.5 ** np.arange(29, -1, -1))   # ∂h_T/∂h_t = w^{T−t}
    assert tr_small.vanishing_ratio() < 1e-8
    assert tr_large.h_norm[0] > 1e3 * tr_large.h_norm[-1]
    np.testing.assert_allclose(sum(tr_small.param_share["w"]), 1.0)
    assert tr_small.plot(str(tmp_path / "t.png")) and (tmp_path / "t.png").stat().st_size > 1000


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_trace_per_gate_deltas_cells_equal_fused(kind):
    cell, seq = twin_models(kind)
    xs, ys = lstm_data(T=8)
    a = bptt.trace(cell, xs, ys, rg.cross_entropy, bptt.chunk(4))
    b = bptt.trace(seq, xs, ys, rg.cross_entropy, bptt.chunk(4))
    gates = ("i", "f", "g", "o") if kind == "LSTM" else ("r", "z", "n")
    assert tuple(a.gate_norm) == gates and tuple(b.gate_norm) == gates
    np.testing.assert_allclose(a.h_norm, b.h_norm, rtol=1e-10)
    for g in gates:
        np.testing.assert_allclose(a.gate_norm[g], b.gate_norm[g], rtol=1e-10, atol=1e-14)
    if kind == "LSTM":
        np.testing.assert_allclose(a.c_norm, b.c_norm, rtol=1e-10)
    full = bptt.gradient(seq, xs, ys, rg.cross_entropy, bptt.chunk(4))
    for name, share in b.param_share.items():
        if np.any(full[name]):
            np.testing.assert_allclose(share.sum(), 1.0, rtol=1e-9)
    assert "‖∂L/∂h‖" in str(a)


def test_bias_report():
    _, seq = twin_models("LSTM")
    xs, ys = lstm_data(T=12)
    exact = bptt.bias_report(seq, xs, ys, rg.cross_entropy, bptt.chunk(12)).as_dict()
    assert all(v["rel_error"] < 1e-12 and v["cosine"] > 1 - 1e-12 for v in exact.values())
    report = bptt.bias_report(seq, xs, ys, rg.cross_entropy, bptt.chunk(2))
    d = report.as_dict()
    assert d["rnn.weight_hh_l0"]["rel_error"] > 1e-3
    assert d["out.weight"]["rel_error"] < 1e-12  # the readout sees no recurrence
    assert "cosine" in str(report)


def test_stateful_reset_and_detach_rows():
    rg.manual_seed(0)
    rnn = nn.RNN(2, 3).double()
    model = bptt.Stateful(rnn, detach=False)
    x = rg.tensor(np.random.default_rng(0).standard_normal((2, 4, 2)))
    model(x)
    carried = model.state.data.copy()
    model.reset(np.array([True, False, False, True]))
    np.testing.assert_array_equal(model.state.data[0, [0, 3]], 0)
    np.testing.assert_array_equal(model.state.data[0, [1, 2]], carried[0, [1, 2]])
    model.detach(np.array([False, True, False, False]))
    out = model(x)
    out.sum().backward()
    # rows 1 (detached) and 0, 3 (reset) start from constants: only row 2's first-batch inputs get gradient
    # through the state; here check the weight gradient equals the one with rows 0, 1, 3 cut
    g_w = rnn.weight_hh_l0.grad.data.copy()
    rnn.zero_grad()
    m2 = bptt.Stateful(rnn, detach=False)
    m2(x)
    m2.state = bptt.detach_rows(bptt.reset_rows(m2.state, np.array([True, False, False, True])),
                                np.array([True, True, False, True]))
    m2(x).sum().backward()
    np.testing.assert_allclose(g_w, rnn.weight_hh_l0.grad.data, rtol=1e-12)


def test_stateful_carries_state_and_refuses_a_new_batch_size():
    rnn = nn.GRU(2, 3)
    model = bptt.Stateful(rnn)
    x = rg.tensor(np.ones((5, 4, 2), np.float32))
    model(x)
    assert not model.state.requires_grad  # cut from the graph, value kept
    first = model.state.data.copy()
    model(x)
    assert not np.array_equal(first, model.state.data)
    with pytest.raises(rg.OpError, match="batch has 3 rows but the carried state has 4"):
        model(rg.tensor(np.ones((5, 3, 2), np.float32)))
    model.remap([0, 2, 3])
    assert model(rg.tensor(np.ones((5, 3, 2), np.float32))).shape == (5, 3, 3)
    model.reset()
    assert model.state is None


def test_stateful_batches_continue_rows_and_mark_resets():
    seqs = np.arange(5 * 7).reshape(5, 7)
    batches = list(rg.data.stateful_batches(seqs, batch_size=2, k=3))
    first = batches[0]
    assert first.x.shape == (3, 2) and first.reset.tolist() == [True, True]
    assert first.x[:, 0].tolist() == [0, 1, 2] and first.y[:, 0].tolist() == [1, 2, 3]
    assert batches[1].x[:, 0].tolist() == [3, 4, 5] and not batches[1].reset.any()
    assert batches[3].reset.all() and batches[3].x[:, 0].tolist() == [14, 15, 16]
    seen = [b.sequence[0] for b in batches]
    assert seen == [0, 0, 0, 2, 2, 2, 4, 4, 4]
    assert not batches[-1].valid[:, 1].any()  # lane 1 ran out: padding


def test_stateful_batches_seed_case_without_copies():
    """125,973 sequences of length 1000, k = 25, batch 40 (seed page 002), as a
    zero-copy view: row i of batch b + 1 continues row i of batch b."""
    base = np.arange(1000, dtype=np.int32)
    seqs = np.lib.stride_tricks.as_strided(base, (125_973, 1000), (0, 4))  # no copy of 126 M items
    gen = rg.data.stateful_batches(seqs, batch_size=40, k=25)
    batches = [next(gen) for _ in range(41)]
    assert batches[0].x.shape == (25, 40) and batches[0].reset.all()
    for b in range(1, 40):
        np.testing.assert_array_equal(batches[b].x[0], batches[b - 1].x[-1] + 1)
        assert not batches[b].reset.any()
    assert batches[40].reset.all()  # every lane starts its next sequence together
    assert batches[40].sequence.tolist() == list(range(40, 80))


@pytest.mark.parametrize("mode", [bptt.full(), bptt.chunk(4), bptt.tail(3), bptt.window(3),
                                  bptt.williams_peng(2, 5)], ids=str)
def test_scan_supports_every_mode(mode):
    T = 9
    xs, cs, _ = scalar_problem(T)
    w = rg.tensor(np.array(0.7), requires_grad=True)
    _, ys = rg.scan(lambda h, x: (w * h + x, w * h + x), rg.tensor(np.array(0.0)), xs, mode)
    (ys * rg.tensor(cs)).sum().backward()
    expected = bptt.gradient(ScalarRNN(0.7), xs, cs, linear_loss, mode)["w"]
    np.testing.assert_allclose(w.grad.data, expected, rtol=1e-12, err_msg=str(mode))


def test_scheduled_scan_inputs_and_final_carry_gradients():
    """window(k) on scan: gradients reach the inputs xs too, and a loss on the
    final carry enters at the last step (checked against full() when k ≥ T)."""
    rng = np.random.default_rng(5)
    xs = rng.standard_normal((6, 2))
    results = []
    for mode in (bptt.window(6), bptt.full()):
        w = rg.tensor(np.array([[0.5, -0.2], [0.1, 0.8]]), requires_grad=True)
        x = rg.tensor(xs, requires_grad=True)
        carry, ys = rg.scan(lambda h, xt: (rg.tanh(h @ w + xt), rg.tanh(h @ w + xt) * 2.0),
                            rg.tensor(np.zeros(2)), x, mode)
        (ys.sum() + (carry ** 2).sum()).backward()
        results.append((w.grad.data.copy(), x.grad.data.copy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


def test_mode_errors_and_pictures():
    with pytest.raises(ValueError, match="k1 ≤ k2"):
        bptt.williams_peng(5, 2)
    with pytest.raises(ValueError, match="positive int"):
        bptt.chunk(0)
    with pytest.raises(TypeError, match="mode must be one of"):
        bptt.gradient(ScalarRNN(0.5), [1.0], [1.0], linear_loss, "chunk")
    with pytest.raises(ValueError, match="2 inputs but 3 targets"):
        bptt.gradient(ScalarRNN(0.5), [1.0, 2.0], [1.0, 2.0, 3.0], linear_loss, bptt.full())
    doc = bptt.modes.__doc__
    assert "ℓ6 ..xxxx..   " in doc.replace("l6 ", "ℓ6 ") or "..xxxx.." in doc
    assert bptt.williams_peng(2, 4).picture(8).splitlines()[2].endswith("..xxxx..")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 14), k1=st.integers(1, 6), extra=st.integers(0, 6), k=st.integers(1, 8),
       seed=st.integers(0, 1000))
def test_modes_match_closed_forms_for_random_lengths(T, k1, extra, k, seed):
    """Property: on random T and truncation lengths, each mode's gradient equals
    its closed form for the scalar linear RNN."""
    k2 = k1 + extra
    xs, cs, h = scalar_problem(T, seed)
    model = ScalarRNN(0.7)
    forms = [
        (bptt.full(), range(T), lambda t: 0),
        (bptt.chunk(k), range(T), lambda t: t - t % k),
        (bptt.williams_peng(k1, k2), range(T), lambda t: max(0, t - t % k1 - (k2 - k1))),
        (bptt.window(k), range(T), lambda t: max(0, t - k + 1)),
        (bptt.tail(k), range(max(0, T - k), T), lambda t: max(0, T - k)),
    ]
    for mode, losses, first_of in forms:
        got = bptt.gradient(model, xs, cs, linear_loss, mode)["w"]
        np.testing.assert_allclose(got, hand_gradient(first_of, losses, cs, h), rtol=1e-11, atol=1e-12,
                                   err_msg=str(mode))


def test_chunk_training_matches_pytorch_detach_idiom():
    """rg.bptt.train(chunk(k)) with a carried state = PyTorch's h.detach() loop, update by update."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    T, B, I, H, k = 12, 3, 4, 5, 4
    xs, ys = rng.standard_normal((T, B, I)), rng.integers(0, 3, (T, B))
    rg.manual_seed(1)
    model = SeqModel("LSTM", I=I, H=H, O=3).double()
    t_lstm, t_out = torch.nn.LSTM(I, H).double(), torch.nn.Linear(H, 3).double()
    t_lstm.load_state_dict({k_[4:]: torch.from_numpy(v.copy()) for k_, v in model.state_dict().items()
                            if k_.startswith("rnn.")})
    t_out.load_state_dict({k_[4:]: torch.from_numpy(v.copy()) for k_, v in model.state_dict().items()
                           if k_.startswith("out.")})
    result = bptt.train(model, xs, ys, rg.cross_entropy, rg.optim.SGD(model.parameters(), lr=0.5), bptt.chunk(k))
    opt = torch.optim.SGD(list(t_lstm.parameters()) + list(t_out.parameters()), lr=0.5)
    state, losses = None, []
    for s in range(0, T, k):
        out, state = t_lstm(torch.from_numpy(xs[s:s + k]), state)
        logits = t_out(out)
        loss = sum(torch.nn.functional.cross_entropy(logits[i], torch.from_numpy(ys[s + i])) for i in range(k))
        opt.zero_grad()
        loss.backward()
        opt.step()
        state = tuple(h.detach() for h in state)
        losses.append(loss.item())
    np.testing.assert_allclose(result.update_losses, losses, rtol=1e-10)
    np.testing.assert_allclose(model.rnn.weight_hh_l0.data, t_lstm.weight_hh_l0.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(result.state[1].data, state[1].numpy(), rtol=1e-10)


@pytest.mark.parametrize("s", [1, 3, 4, 12, 50])
def test_full_with_checkpoints_gives_the_same_gradient(s):
    _, seq = twin_models("LSTM")
    xs, ys = lstm_data(T=12)
    exact = bptt.gradient(seq, xs, ys, rg.cross_entropy, bptt.full())
    got = bptt.gradient(seq, xs, ys, rg.cross_entropy, bptt.full(checkpoint_every=s))
    for k in exact:
        np.testing.assert_allclose(got[k], exact[k], rtol=1e-12, atol=1e-15)


def test_checkpoint_replay_repeats_dropout_masks():
    class DropModel(nn.Module):
        sequence_model = True

        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 6)
            self.drop = nn.Dropout(0.5)
            self.out = nn.Linear(6, 2)

        def forward(self, x, state):
            h, state = self.rnn(x, state)
            return self.out(self.drop(h)), state

    xs, ys = lstm_data(T=10)
    rg.manual_seed(3)
    model = DropModel().double()
    rg.manual_seed(5)
    exact = bptt.gradient(model, xs, ys, rg.cross_entropy, bptt.full())
    rg.manual_seed(5)
    got = bptt.gradient(model, xs, ys, rg.cross_entropy, bptt.full(checkpoint_every=3))
    for k in exact:
        np.testing.assert_allclose(got[k], exact[k], rtol=1e-12, atol=1e-15)


def test_checkpointing_bounds_the_tape():
    full, ckpt = _peak_memory(bptt.full(), 2000), _peak_memory(bptt.full(checkpoint_every=45), 2000)
    assert ckpt < full / 5, f"full {full / 2**20:.1f} MiB, checkpointed {ckpt / 2**20:.1f} MiB"


def test_memory_budget_picks_the_segment_and_keeps_the_gradient():
    _, seq = twin_models("LSTM")
    xs, ys = lstm_data(T=30)
    exact = bptt.gradient(seq, xs, ys, rg.cross_entropy, bptt.full())
    got = bptt.gradient(seq, xs, ys, rg.cross_entropy, bptt.full(memory_budget=20_000))
    for k in exact:
        np.testing.assert_allclose(got[k], exact[k], rtol=1e-12, atol=1e-15)
    with pytest.raises(MemoryError, match=r"need at least \d+ bytes"):
        bptt.gradient(seq, xs, ys, rg.cross_entropy, bptt.full(memory_budget=100))
    with pytest.raises(ValueError, match="not both"):
        bptt.full(checkpoint_every=3, memory_budget=10)


def test_memory_budget_is_respected():
    budget = 4 * 2**20
    peak = _peak_memory(bptt.full(memory_budget=budget), 2000)
    assert peak < budget, f"peak {peak / 2**20:.2f} MiB over a budget of {budget / 2**20:.0f} MiB"
    assert _peak_memory(bptt.full(), 2000) > 5 * budget  # without the budget the tape is far larger


# ---------------------------------------------------------------- the plan a mode gives the engine

def test_segment_for_budget_is_the_longest_segment_that_fits():
    """s·b + ⌈T/s⌉·c ≤ budget, by hand: T = 100, b = 1000, c = 100, budget 20,000:
    s = 19 needs 19,000 + 6·100 = 19,600; s = 20 needs 20,000 + 5·100 = 20,500."""
    assert bptt.segment_for_budget(100, 1000, 100, 20_000) == 19
    # the least any s needs is 6,400 (s = 3: 3,000 + 34·100); one byte less cannot be met
    assert bptt.segment_for_budget(100, 1000, 100, 6_400) == 3
    with pytest.raises(MemoryError, match="need at least 6400 bytes"):
        bptt.segment_for_budget(100, 1000, 100, 6_399)
    assert bptt.segment_for_budget(7, 10, 0, 10**6) == 7  # everything fits: one segment


def test_modes_answer_with_one_plan():
    T = 8
    p = bptt.full().plan(T)
    assert (p.segment, p.no_grad_prefix, p.recompute, p.needs_measurement) == (8, 0, False, False)
    assert [(j.first, list(j.losses)) for j in p.jobs] == [(0, list(range(8)))]
    p = bptt.full(checkpoint_every=3).plan(T)
    assert (p.segment, p.recompute) == (3, True)
    p = bptt.full(memory_budget=20_000).plan(T)
    assert p.recompute and p.needs_measurement and p.segment == 1
    fitted = p.fitted(step_bytes=1000, state_bytes=100)  # 8 steps stored: 2·8,000 (tape, its gradients) + 100
    assert fitted.segment == 8 and not fitted.needs_measurement
    p = bptt.tail(3).plan(T)
    assert (p.segment, p.no_grad_prefix) == (3, 5)
    assert bptt.williams_peng(4, 6).plan(T).segment == 2 and bptt.window(3).plan(T).segment == 1
    # which schedules are one graph cut at the jobs' first steps (what rg.scan runs as a plain loop)
    assert bptt.full().plan(T).cut_points() == [0]
    assert bptt.chunk(3).plan(T).cut_points() == [0, 3, 6]
    assert bptt.tail(3).plan(T).cut_points() == [5]
    assert bptt.williams_peng(3, 3).plan(T).cut_points() == [0, 3, 6]
    assert bptt.window(1).plan(T).cut_points() == list(range(8))
    assert bptt.window(2).plan(T).cut_points() is None and bptt.williams_peng(2, 4).plan(T).cut_points() is None


def test_the_engine_asks_the_mode_once_for_its_plan():
    """A mode is its plan: the engine reads nothing else off it."""

    class PlannedOnly(bptt.Mode):
        name = "planned-only"
        asked = 0

        def iter_jobs(self, T):
            return bptt.chunk(2).iter_jobs(T)

        def plan(self, T):
            PlannedOnly.asked += 1
            return bptt.chunk(2).plan(T)

        def segment(self, T):
            raise AssertionError("the engine reached back into the mode")

        no_grad_before = segment

    xs, cs, h = scalar_problem(7)
    got = bptt.gradient(ScalarRNN(0.7), xs, cs, linear_loss, PlannedOnly())["w"]
    assert PlannedOnly.asked == 1
    np.testing.assert_allclose(got, hand_gradient(lambda t: t - t % 2, range(7), cs, h), rtol=1e-12)


def test_state_helpers_live_with_the_recurrent_layers():
    from retrograd.recurrent import state, stateful

    assert bptt.Stateful is rg.recurrent.Stateful is stateful.Stateful
    for name in ("detach_state", "reset_rows", "detach_rows", "select_rows"):
        assert getattr(bptt, name) is getattr(rg.recurrent, name) is getattr(state, name)


# ---------------------------------------------------------------- rg.scan under truncation

def _scan_problem(mode, T=6, seed=5, carry_loss=True):
    """A 2-d tanh RNN through rg.scan; returns (w.grad, xs.grad, h0.grad) arrays (None where no gradient)."""
    rng = np.random.default_rng(seed)
    w = rg.tensor(np.array([[0.5, -0.2], [0.1, 0.8]]), requires_grad=True)
    x = rg.tensor(rng.standard_normal((T, 2)), requires_grad=True)
    h0 = rg.tensor(np.array([0.3, -0.4]), requires_grad=True)
    carry, ys = rg.scan(lambda h, xt: ((hn := rg.tanh(h @ w + xt)), hn * 2.0), h0, x, mode)
    loss = ys.sum() + ((carry ** 2).sum() if carry_loss else 0.0)
    loss.backward()
    return tuple(None if t.grad is None else t.grad.data.copy() for t in (w, x, h0))


@pytest.mark.parametrize("mode", [bptt.window(20), bptt.window(6), bptt.williams_peng(3, 20),
                                  bptt.williams_peng(6, 6), bptt.williams_peng(2, 8), bptt.chunk(6), bptt.tail(6),
                                  bptt.full(checkpoint_every=2)], ids=str)
def test_scan_with_k_covering_the_sequence_equals_full_including_the_initial_carry(mode):
    expected = _scan_problem(bptt.full())
    got = _scan_problem(mode)
    for name, e, g in zip(("w", "xs", "h0"), expected, got):
        assert g is not None, f"{mode}: {name} got no gradient"
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15, err_msg=f"{mode}: {name}")


@pytest.mark.parametrize("name", ["window3", "window1", "wp2_5", "wp3_3", "wp2_4", "chunk4", "tail4"])
def test_scan_initial_carry_gets_the_losses_whose_reach_starts_at_step_0(name):
    """h_t = w·h_{t−1} + x_t from h_{−1} = h0, ℓ = Σ c_t·h_t: ∂ℓ_t/∂h0 = c_t·w^{t+1}
    when ℓ_t's job reaches step 0, else 0 (the state entering its first step is a constant)."""
    T, wv = 9, 0.7
    xs, cs, _ = scalar_problem(T)
    modes = {
        "window3": (bptt.window(3), lambda t: max(0, t - 2)),
        "window1": (bptt.window(1), lambda t: t),
        "wp2_5": (bptt.williams_peng(2, 5), lambda t: max(0, t - t % 2 - 3)),
        "wp3_3": (bptt.williams_peng(3, 3), lambda t: t - t % 3),
        "wp2_4": (bptt.williams_peng(2, 4), lambda t: max(0, t - t % 2 - 2)),
        "chunk4": (bptt.chunk(4), lambda t: t - t % 4),
        "tail4": (bptt.tail(4), lambda t: None),  # no loss reaches step 0 (earlier losses get nothing at all)
    }
    mode, first_of = modes[name]
    w = rg.tensor(np.array(wv), requires_grad=True)
    h0 = rg.tensor(np.array(0.5), requires_grad=True)
    _, ys = rg.scan(lambda h, x: (w * h + x, w * h + x), h0, xs, mode)
    (ys * rg.tensor(cs)).sum().backward()
    expected = sum(cs[t] * wv ** (t + 1) for t in range(T) if first_of(t) == 0)
    got = 0.0 if h0.grad is None else float(h0.grad.data)
    assert expected != 0.0 or name == "tail4"
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def _scan_peak(mode, T=400):
    """Peak traced memory of rg.scan forward + backward on a 64-unit tanh RNN
    (a tape of about 40 KiB per step, an output of 128 bytes per step)."""
    rng = np.random.default_rng(0)
    W = rg.tensor(rng.standard_normal((64, 64)) * 0.1, requires_grad=True)
    v = rg.tensor(rng.standard_normal((64, 1)), requires_grad=True)
    h0 = rg.tensor(np.zeros((16, 64)), requires_grad=True)
    xs = rng.standard_normal((T, 16, 64))
    tracemalloc.start()
    carry, ys = rg.scan(lambda h, x: ((hn := rg.tanh(h @ W + x)), hn @ v), h0, xs, mode)
    (ys.sum() + carry.sum()).backward()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, W.grad.data.copy(), v.grad.data.copy(), h0.grad.data.copy()


def test_scan_checkpointing_lowers_peak_memory_with_the_same_gradient():
    full_peak, *exact = _scan_peak(bptt.full())
    for mode, below in ((bptt.full(checkpoint_every=20), full_peak / 3),
                        (bptt.full(memory_budget=full_peak // 4), full_peak / 2.5)):
        peak, *got = _scan_peak(mode)
        assert peak < below, f"{mode}: peak {peak / 2**20:.1f} MiB, full() {full_peak / 2**20:.1f} MiB"
        for e, g in zip(exact, got):  # sums in another order: equal to 1e-12 of the gradient's scale
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12 * np.abs(e).max(), err_msg=str(mode))


def test_scheduled_scan_counts_its_recorded_tape():
    """rg.explain / saved_nbytes of a scan under window(k) include the segments' tapes it keeps."""
    rng = np.random.default_rng(0)
    w = rg.tensor(rng.standard_normal((6, 6)) * 0.3, requires_grad=True)
    xs = rg.tensor(rng.standard_normal((20, 4, 6)))
    h0 = rg.tensor(np.zeros((4, 6)))
    _, ys = rg.scan(lambda h, x: (rg.tanh(h @ w + x),) * 2, h0, xs, mode=bptt.window(5))
    node = ys.grad_fn
    assert node.name == "scan"
    per_step = 4 * 6 * 8  # at least one (4, 6) float64 activation per step is on the tape
    assert node.saved_nbytes() > 20 * per_step
    ys.sum().backward()
    assert node.saved_nbytes() == 0


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_fused_batch_first_layer_as_the_model_gets_batch_first_segments(kind):
    """nn.LSTM(batch_first=True) passed as the model itself: the engine feeds it
    (B, k, …) segments and reads its outputs along axis 1 (it used to feed
    (k, B, …), which the layer read as k sequences of B steps)."""
    rg.manual_seed(0)
    time_major = getattr(nn, kind)(3, 4).double()
    batch_first = getattr(nn, kind)(3, 4, batch_first=True).double()
    batch_first.load_state_dict(time_major.state_dict())
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((7, 2, 3)), rng.standard_normal((7, 2, 4))
    mse = lambda out, y: ((out - y) ** 2).mean()  # noqa: E731
    for mode in (bptt.full(), bptt.chunk(3), bptt.williams_peng(2, 4)):
        want = bptt.gradient(time_major, xs, ys, mse, mode)
        got = bptt.gradient(batch_first, xs, ys, mse, mode)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-14, err_msg=f"{mode} {name}")


def test_existing_cell_and_sequence_models_pass_the_layout_checks():
    """The per-step cell models and the sequence models of these tests train
    under the engine's model checks (no ModelLayoutError), batched or not."""
    rng = np.random.default_rng(1)
    xs, ys = rng.standard_normal((6, 2, 3)), rng.standard_normal((6, 2, 2))
    for kind in ("RNN", "LSTM", "GRU"):
        cell, seq = twin_models(kind)
        for model in (cell, seq):
            opt = rg.optim.SGD(model.parameters(), lr=0.01)
            res = bptt.train(model, xs, ys, lambda o, y: ((o - y) ** 2).mean(), opt, bptt.chunk(2))
            assert np.isfinite(res.losses).all() and res.losses.shape == (6,)


@pytest.mark.parametrize("mode", [rg.bptt.full(), rg.bptt.chunk(2), rg.bptt.window(3)], ids=repr)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_layer_returning_its_outputs_alone_is_fed_as_the_default_layer(kind, mode):
    """``returns="output"`` (Keras' return_sequences without return_state): rg.bptt still carries
    the layer's state between segments (``forward_with_state``), so the gradient is the default's."""
    rg.manual_seed(0)
    xs, ys = rg.randn(6, 2, 3, dtype=rg.float64), rg.randn(6, 2, 4, dtype=rg.float64)
    outputs_only = getattr(rg.nn, kind)(3, 4, returns="output", dtype=rg.float64)
    default = getattr(rg.nn, kind)(3, 4, dtype=rg.float64)
    default.load_state_dict(outputs_only.state_dict())
    ours = rg.bptt.gradient(outputs_only, xs, ys, rg.nn.MSELoss(), mode)
    expected = rg.bptt.gradient(default, xs, ys, rg.nn.MSELoss(), mode)
    for name in expected:
        np.testing.assert_allclose(ours[name], expected[name], rtol=1e-12, atol=0)


def test_a_layer_returning_the_last_output_alone_is_refused():
    with pytest.raises(rg.bptt.ModelLayoutError, match="returns='output'"):
        rg.bptt.gradient(rg.nn.GRU(3, 4, returns="last"), rg.randn(5, 2, 3), rg.randn(5, 2, 4), rg.nn.MSELoss(),
                         rg.bptt.full())


class _StateAsOutput(nn.Module):
    """A cell whose output is its new state."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x, h):
        h = self.cell(x, h)
        return h, h


@pytest.mark.parametrize("mode", [rg.bptt.full(), rg.bptt.chunk(2), rg.bptt.rtrl(), rg.bptt.rtrl(compile=True)],
                         ids=repr)
def test_no_targets_is_a_loss_of_the_outputs_alone(mode):
    """``ys=None``: each step's loss is ``loss_fn(output, None)``, as a list of None targets gives."""
    rg.manual_seed(0)
    model = _StateAsOutput(rg.nn.RNNCell(2, 3, dtype=rg.float64))
    xs = rg.randn(5, 1, 2, dtype=rg.float64)
    loss = lambda out, y: (out ** 2).sum()  # noqa: E731
    got = rg.bptt.gradient(model, xs, None, loss, mode)
    expected = rg.bptt.gradient(model, xs, [None] * 5, loss, mode)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-12, atol=0)
