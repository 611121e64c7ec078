"""rg.explore: the data the HTML explorer embeds equals the trace's numbers,
the numbers themselves are right (per-row norms, connectivity, schedule, bias
checked against independent computations), and the pages are self-contained.
The browser-driven checks are in test_explore_browser.py."""

import html.parser
import re

import numpy as np
import pytest

import retrograd as rg
import retrograd.explore as rx
from retrograd import bptt, nn
from retrograd.bptt import revolve

from rnn_models import CellModel, SeqModel, lstm_data, twin_models

SUM_CE = lambda o, y: rg.cross_entropy(o, y, reduction="sum")  # noqa: E731 - rows independent, not averaged


class ScanRNN(nn.Module):
    """A tanh RNN written with rg.scan: hₜ = tanh(xₜW + hₜ₋₁U), readout per step."""
    sequence_model = True

    def __init__(self, I=3, H=4, O=2):
        super().__init__()
        rng = np.random.default_rng(0)
        self.W = nn.Parameter(rng.standard_normal((I, H)) * 0.5)
        self.U = nn.Parameter(rng.standard_normal((H, H)) * 0.5)
        self.out = nn.Linear(H, O)

    def forward(self, x, h):
        h = rg.zeros((x.shape[1], self.U.shape[0]), dtype=x.dtype) if h is None else h
        h, hs = rg.scan(lambda c, xt: (rg.tanh(xt @ self.W + c @ self.U),) * 2, h, x)
        return self.out(hs), h


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(text):
    p = _Tags()
    p.feed(text)
    return p.tags


@pytest.fixture(scope="module")
def lstm_run():
    _, seq = twin_models("LSTM")
    xs, ys = lstm_data(T=12, B=3)
    return seq, xs, ys


def test_embedded_json_equals_the_trace(lstm_run, tmp_path):
    seq, xs, ys = lstm_run
    mode = bptt.williams_peng(2, 5)
    tr = bptt.trace(seq, xs, ys, rg.cross_entropy, mode, connectivity=True, bias=True)
    path = tr.to_html(str(tmp_path / "t.html"))
    d = rx.read_data(path)
    (m,) = d["modes"]
    assert (d["T"], d["B"], m["mode"], m["kind"], m["params"]) == (12, 3, "williams_peng(2, 5)", "WilliamsPeng",
                                                                   {"k1": 2, "k2": 5})
    q = {x["key"]: x for x in m["quantities"]}
    assert q["h"]["values"] == tr.h_norm.tolist() and q["c"]["values"] == tr.c_norm.tolist()
    for b in range(3):
        assert q["h"]["rows"][b] == tr.h_row_norm[:, b].tolist()
        assert q["gate:f"]["rows"][b] == tr.gate_row_norm["f"][:, b].tolist()
    for g in "ifgo":
        assert q[f"gate:{g}"]["values"] == tr.gate_norm[g].tolist()
    for name, share in tr.param_share.items():
        assert q[f"share:{name}"]["values"] == share.tolist() and q[f"share:{name}"]["rows"] is None
    assert m["losses"] == tr.losses.tolist()
    assert m["jobs"] == [[j.update, j.first, j.losses.start, j.losses.stop] for j in mode.jobs(12)]
    assert m["schedule"] is None and m["no_grad_prefix"] == 0
    c = d["connectivity"]
    assert c["values"] == tr.connectivity.full.tolist() and c["rows"] == tr.connectivity.full_rows.tolist()
    # the bias the page shows is bias_report's (two gradient() runs, not the trace's totals)
    ref = bptt.bias_report(seq, xs, ys, rg.cross_entropy, mode)
    for row, (name, rel, cos, nm, nf) in zip(m["bias"], ref.rows):
        assert row["parameter"] == name
        np.testing.assert_allclose([row["rel_error"], row["cosine"], row["norm_mode"], row["norm_full"]],
                                   [rel, cos, nm, nf], rtol=1e-9, atol=1e-15)


def test_per_row_norms_are_each_rows_own_gradient(lstm_run):
    """With a summed loss rows are independent: row b's ‖∂L/∂hₜ‖ in the batch is
    the trace of row b alone."""
    seq, xs, ys = lstm_run
    tr = bptt.trace(seq, xs, ys, SUM_CE, bptt.chunk(4))
    np.testing.assert_allclose(np.sqrt((tr.h_row_norm ** 2).sum(1)), tr.h_norm, rtol=1e-12)
    for b in range(3):
        alone = bptt.trace(seq, xs[:, b:b + 1], ys[:, b:b + 1], SUM_CE, bptt.chunk(4))
        np.testing.assert_allclose(tr.h_row_norm[:, b], alone.h_norm, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(tr.c_row_norm[:, b], alone.c_norm, rtol=1e-10, atol=1e-15)
        for g in "ifgo":
            np.testing.assert_allclose(tr.gate_row_norm[g][:, b], alone.gate_norm[g], rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("mode", [bptt.full(), bptt.chunk(3), bptt.williams_peng(2, 4), bptt.window(3),
                                  bptt.tail(4)], ids=str)
def test_connectivity_is_the_truncated_jacobian_norm(mode):
    """‖∂ℓₜ/∂x_s‖ under the mode, by brute force: for every loss, run the cell
    from step 0 with the inputs as leaves and the state cut at the job's first step."""
    cell, seq = twin_models("LSTM")
    xs, ys = lstm_data(T=7, B=2)
    conn = bptt.connectivity(seq, xs, ys, rg.cross_entropy)
    got = conn.of(mode)
    want = np.zeros((7, 7))
    first_of = {t: job.first for job in mode.jobs(7) for t in job.losses}
    for t, first in first_of.items():
        x = [rg.tensor(xs[s], requires_grad=True) for s in range(t + 1)]
        state = None
        for s in range(t + 1):
            if s == first and state is not None:
                state = tuple(p.detach() for p in state)
            out, state = cell(x[s], state)
        grads = rg.grad(rg.cross_entropy(out, rg.tensor(ys[t])), x, allow_unused=True)
        want[t, :t + 1] = [0.0 if g is None else np.linalg.norm(g.data) for g in grads]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(np.sqrt((conn.full_rows ** 2).sum(0)), conn.full, rtol=1e-12)
    np.testing.assert_allclose(bptt.connectivity(cell, xs, ys, rg.cross_entropy).full, conn.full, rtol=1e-9)


def test_connectivity_grid_subsamples_long_sequences():
    _, seq = twin_models("RNN")
    xs, ys = lstm_data(T=40, B=2)
    conn = bptt.connectivity(seq, xs, ys, rg.cross_entropy, max_steps=9)
    assert conn.loss_steps == conn.input_steps and len(conn.loss_steps) == 9
    assert conn.loss_steps[0] == 0 and conn.loss_steps[-1] == 39
    every = bptt.connectivity(seq, xs, ys, rg.cross_entropy, max_steps=40)
    idx = np.array(conn.loss_steps)
    np.testing.assert_allclose(conn.full, every.full[np.ix_(idx, idx)], rtol=1e-12)


def test_checkpointed_mode_carries_its_revolve_schedule(lstm_run):
    seq, xs, ys = lstm_run
    tr = bptt.trace(seq, xs, ys, rg.cross_entropy, bptt.full(snapshots=3))
    s = tr.to_dict()["schedule"]
    ref = revolve.Schedule(12, 1, 3)
    assert s["recomputed"] == ref.recomputed == revolve.forward_steps(12, 3)
    assert s["first_sweep"] == list(ref.first_sweep) and s["peak_snapshots"] == ref.peak_snapshots
    assert len(s["actions"]) == len(list(ref.actions()))
    assert sum(s["runs"]) == ref.recomputed and max(s["runs"]) == ref.repetition
    assert s["runs"][-1] == 0  # the last step is only recorded, never advanced
    budget = bptt.trace(seq, xs, ys, rg.cross_entropy, bptt.full(memory_budget=10**9))
    assert budget.to_dict()["schedule"] is None  # a budget that holds every tape: nothing recomputed


def test_mask_and_reset_are_in_the_data(lstm_run):
    cell, _ = twin_models("LSTM")  # a per-step model: the engine carries padded rows itself
    _, xs, ys = lstm_run
    mask = np.ones((12, 3), dtype=bool)
    mask[9:, 1] = False
    reset = np.array([True, False, True])
    state = (rg.tensor(np.ones((3, 4))), rg.tensor(np.ones((3, 4))))
    tr = bptt.trace(cell, xs, ys, rg.cross_entropy, bptt.chunk(4), state=state, mask=mask, reset=reset)
    d = tr.to_dict()
    assert d["mask"] == mask.astype(int).tolist() and d["reset"] == [1, 0, 1]
    assert np.all(tr.h_row_norm[10:, 1] == 0)  # padded steps add no loss: nothing flows back from them
    assert np.all(tr.h_row_norm[:11, 0] > 0) and np.all(tr.h_row_norm[:9, 1] > 0)


@pytest.mark.parametrize("kind", ["fused", "cells", "scan"])
def test_explorer_for_fused_layers_cells_and_scan(kind, tmp_path):
    rg.manual_seed(0)
    xs, ys = lstm_data(T=10, B=2)
    model = {"fused": lambda: SeqModel("GRU"), "cells": lambda: CellModel("GRU"), "scan": ScanRNN}[kind]().double()
    ex = rx.explore(model, xs, ys, rg.cross_entropy, [bptt.chunk(4), bptt.full(snapshots=2)],
                    str(tmp_path / f"{kind}.html"), fallback=False)
    d = rx.read_data(ex.path)
    assert [m["mode"] for m in d["modes"]] == ["full()", "chunk(4)", "full(snapshots=2)"]
    keys = [q["key"] for q in d["modes"][0]["quantities"]]
    assert keys[0] == "h" and (keys[1:4] == ["gate:r", "gate:z", "gate:n"]) == (kind != "scan")
    ref = bptt.gradient(model, xs, ys, rg.cross_entropy, bptt.chunk(4))
    bias = {r["parameter"]: r for r in d["modes"][1]["bias"]}
    full = bptt.gradient(model, xs, ys, rg.cross_entropy)
    for name, g in ref.items():
        want = np.linalg.norm(g - full[name]) / np.linalg.norm(full[name])
        np.testing.assert_allclose(bias[name]["rel_error"], want, rtol=1e-8, atol=1e-14)
    assert all(r["rel_error"] < 1e-12 for r in d["modes"][2]["bias"])  # checkpointing is exact
    np.testing.assert_allclose(ex.traces["full()"].h_norm, ex.traces["full(snapshots=2)"].h_norm, rtol=1e-12)


def test_page_is_self_contained(lstm_run, tmp_path):
    seq, xs, ys = lstm_run
    ex = rx.explore(seq, xs, ys, rg.cross_entropy, None, str(tmp_path / "e.html"))
    text = open(ex.path, encoding="utf-8").read()
    tags = _tags(text)
    assert not [a for t, a in tags if t in ("script", "img", "link", "iframe") and
                re.match(r"(https?:)?//", a.get("src", "") + a.get("href", ""))]
    scripts = [a for t, a in tags if t == "script"]
    assert {"type": "application/json", "id": "retrograd-trace"} in scripts and not [a for a in scripts if "src" in a]
    ids = {a.get("id") for t, a in tags if t == "canvas"}
    assert ids == {"flow-line", "heatmap", "reach", "conn-full", "conn-mode", "schedule", "alignment"}
    assert {a.get("id") for t, a in tags if t == "select"} == {"mode", "row", "norm", "view"}
    assert 'src="data:image/png;base64,' in text  # the static fallback for print
    assert [m["mode"] for m in rx.read_data(ex.path)["modes"]] == [str(m) for m in rx.default_modes(12)]
    assert len(text) < 400_000


def test_non_finite_values_survive_the_json(tmp_path):
    xs = np.ones((6, 1, 1))
    model = _Scalar(1e200)
    with np.errstate(over="ignore", invalid="ignore"):
        tr = bptt.trace(model, xs, [0.0] * 5 + [1.0], lambda o, c: o.sum() * c, state=rg.tensor(np.zeros((1, 1))))
    assert not np.all(np.isfinite(tr.h_norm))
    with np.errstate(invalid="ignore"):
        d = rx.read_data(tr.to_html(str(tmp_path / "inf.html"), fallback=False))
    got = np.array(d["modes"][0]["quantities"][0]["values"])
    np.testing.assert_array_equal(got, tr.h_norm)  # inf stays inf (JSON has none: written as a string)


class _Scalar(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(np.array(w, dtype=np.float64))

    def forward(self, x, h):
        h = self.w * h + x
        return h, h


def test_explain_html_graph_matches_explain(tmp_path, capsys):
    rg.manual_seed(0)
    cell = nn.LSTMCell(3, 4).double()
    x = rg.tensor(np.random.default_rng(0).standard_normal((2, 3)))
    h, c = cell(x, None)
    h2, _ = cell(x, (h, c))
    loss = (h2 ** 2).sum()
    printed = rg.explain(loss)
    g = rx.explain_html(loss, str(tmp_path / "graph.html"))
    assert g.rows == printed.rows
    d = rx.read_data(g.path)
    assert len(d["steps"]) == len(printed.rows) and d["header"] == list(printed.header)
    for i, s in enumerate(d["steps"]):
        assert all(j > i for j in s["inputs"])  # an op's inputs are reversed after it
        assert s["cells"] == [c if isinstance(c, int) else str(c) for c in printed.rows[i]]
        assert float(s["cells"][printed.header.index("|grad in|")]) == pytest.approx(s["grad_norm"], rel=1e-3)
    assert d["saved_bytes"] == sum(s["saved_bytes"] for s in d["steps"]) > 0
    assert sum(len(s["inputs"]) for s in d["steps"]) >= len(d["steps"]) - 1  # connected: a graph, not a list
    text = open(g.path, encoding="utf-8").read()
    assert '<canvas id="graph">' in text and text.count("<tr data-step=") == len(printed.rows)
    loss.backward()  # the tape was kept
    assert cell.weight_hh.grad is not None


def test_demo_explorers_are_written_and_printed(tmp_path, capsys):
    from retrograd import demos

    r = demos.run("bptt-modes", out_dir=str(tmp_path), T=24, verbose=False)
    out = capsys.readouterr().out
    assert r["html"] in out and r["plot"] in out
    d = rx.read_data(r["html"])
    assert [m["mode"] for m in d["modes"]][-1] == "full(snapshots=4)" and d["modes"][-1]["schedule"]
    pictures = {str(m): m.picture(16) for m in demos.bptt_modes.modes()}
    assert len(set(pictures.values())) == len(pictures)  # every mode's printed picture differs
