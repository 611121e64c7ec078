"""A newcomer's first hour: ``retrograd --version``, a demo that misses its claim
fails, ``model.summary()``, ``help(nn.LSTM)`` and gate-labelled ``rg.explain``."""

import pydoc
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import cli, demos, nn

explain_mod = sys.modules["retrograd.autograd.explain"]   # the module (the package attribute is the function)

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the command
def test_version_flag_prints_the_package_version():
    out = subprocess.run([sys.executable, "-m", "retrograd.cli", "--version"], capture_output=True, text=True,
                         check=True).stdout.strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert out == f"retrograd {project}" == f"retrograd {rg.__version__}"


@pytest.mark.parametrize("ok, status", [(True, 0), (False, 1), (None, 0)])
def test_a_demo_that_misses_its_claim_exits_non_zero(monkeypatch, capsys, ok, status):
    result = {} if ok is None else {"ok": ok}   # a demo without the key makes no claim the command checks
    monkeypatch.setattr(demos, "run", lambda name, **kwargs: result)
    assert cli.main(["demo", "xor", "--out", "."]) == status
    if status:
        assert "did not reach what it claims" in capsys.readouterr().err


# ------------------------------------------------------------------ summary
def _rows(text):
    """{layer name: (output shape text, parameter count)} from the summary table."""
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if set(line) == {"="}]
    rows = {}
    for line in lines[rules[1] + 1:rules[2]]:
        name = line.split(" (")[0].strip()
        head, count = line.rsplit(None, 1)
        shape = head.split(")", 1)[1].strip()
        rows[name] = (shape, int(count.replace(",", "")))
    return rows, lines


def test_summary_lists_layers_output_shapes_and_parameter_counts():
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(256, 10))
    x = rg.tensor(np.random.default_rng(0).random((2, 1, 8, 8), dtype=np.float32))
    out = []
    model.summary(x, print_fn=out.append)
    rows, lines = _rows(out[0])
    # each layer's output, computed by calling the layers one after another
    h, expected = x, {}
    for i, layer in enumerate(model):
        h = layer(h)
        expected[str(i)] = str(tuple(h.shape))
    assert {k: v[0] for k, v in rows.items()} == expected
    # parameter counts from the layer formulas: conv k·k·C_in·C_out + C_out, linear in·out + out
    assert [v[1] for v in rows.values()] == [3 * 3 * 1 * 16 + 16, 0, 0, 0, 256 * 10 + 10]
    assert f"Total params: {3 * 3 * 16 + 16 + 2570:,}" in lines
    # input_shape gives the same table (batch axis included) as an explicit zero input
    same = []
    model.summary(input_shape=(2, 1, 8, 8), print_fn=same.append)
    assert same == out


def test_summary_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 1))
    model[3].weight.requires_grad_(False)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    text = []
    model.summary(input_shape=(5, 3), print_fn=text.append)
    assert all(m.training for m in model.modules())            # training mode restored
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())  # running stats untouched
    assert all(p.grad is None for p in model.parameters())
    # Linear(3, 4) 12 + 4, BatchNorm1d(4) 4 + 4, Linear(4, 1) 4 (frozen) + 1
    assert "Total params: 29" in text[0] and "Trainable params: 25" in text[0] and "Non-trainable params: 4" in text[0]
    model.eval()
    model.summary(input_shape=(5, 3), print_fn=text.append)
    assert not any(m.training for m in model.modules())


def test_summary_of_a_recurrent_model_and_without_an_input():
    lstm = nn.LSTM(4, 8, num_layers=2, bidirectional=True)
    text = []
    lstm.summary(input_shape=(7, 3, 4), print_fn=text.append)
    out, (h_n, c_n) = lstm(rg.zeros(7, 3, 4))
    assert f"{tuple(out.shape)}, ({tuple(h_n.shape)}, {tuple(c_n.shape)})" in text[0]
    assert f"Total params: {sum(p.size for p in lstm.parameters()):,}" in text[0]
    cell = nn.LSTMCell(2, 3)

    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = cell

        def forward(self, xs):
            state = None
            for x in xs:
                state = self.cell(x, state)
            return state[0]

    Loop().summary(input_shape=(5, 4, 2), print_fn=text.append)
    assert "×5 calls" in text[-1]
    nn.Linear(2, 2).summary(print_fn=text.append)                 # no input: counts only, and how to get shapes
    assert "Total params: 6" in text[-1] and "input_shape" in text[-1]


# ------------------------------------------------------------------ help()
@pytest.mark.parametrize("layer", [nn.RNN, nn.LSTM, nn.GRU])
def test_help_documents_shapes_and_what_forward_returns(layer):
    doc = pydoc.render_doc(layer, renderer=pydoc.plaintext)
    for phrase in ("(T, B, I)", "batch_first", "(T, B, D·H)", "(L·D, B, H)", "returns=", "= layer(input, hx=None)"):
        assert phrase in doc, phrase
    # and the documented shapes are the ones the layer produces
    T, B, I, H, L, D = 5, 3, 4, 6, 2, 2
    m = layer(I, H, num_layers=L, bidirectional=True, batch_first=True)
    out, state = m(rg.zeros(B, T, I))
    assert tuple(out.shape) == (B, T, D * H)
    for s in (state if isinstance(state, tuple) else (state,)):
        assert tuple(s.shape) == (L * D, B, H)
    assert ("(h_n, c_n)" in doc) == (layer is nn.LSTM)


# ------------------------------------------------------------------ explain, labelled by gate
def _lstm_step(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    cell = nn.LSTMCell(3, 5).double()
    x = rng.standard_normal((2, 3))
    h0, c0 = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    h, c = cell(rg.tensor(x), (rg.tensor(h0), rg.tensor(c0)))
    loss = rg.sum(h * h) + rg.sum(c)
    return cell, (x, h0, c0), loss


def test_explain_names_every_lstm_gate(capsys):
    _, _, loss = _lstm_step()
    trace = rg.explain(loss)
    printed = capsys.readouterr().out
    labels = [lab for lab in trace.labels if lab]
    for gate in "ifgo":
        assert labels.count(f"gate {gate}") == 1 and labels.count(f"a_{gate}") == 1
        assert f"[gate {gate}]" in printed
    for name in ("f⊙c", "i⊙g", "c′", "h′", "tanh c′", "W_ih x", "W_hh h"):
        assert name in labels
    assert len(trace.labels) == len(trace.rows)
    assert [r[1] for r, lab in zip(trace.rows, trace.labels) if lab == "gate i"] == ["sigmoid"]


@requires_torch
def test_the_labelled_rows_carry_each_gates_delta():
    """The |grad in| of the row named a_k is ‖δk‖ = ‖∂L/∂(pre-activation of gate k)‖,
    checked against PyTorch computing the same cell by hand."""
    import torch

    cell, (x, h0, c0), loss = _lstm_step()
    trace = explain_mod.explain(loss)
    shown = {lab: float(row[4]) for row, lab in zip(trace.rows, trace.labels) if lab and lab.startswith("a_")}
    w_ih, w_hh, b_ih, b_hh = (torch.tensor(p.data) for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih,
                                                                cell.bias_hh))
    a = torch.tensor(x) @ w_ih.T + b_ih + torch.tensor(h0) @ w_hh.T + b_hh
    pre = [p.detach().requires_grad_() for p in a.chunk(4, dim=1)]
    i, f, o = (torch.sigmoid(p) for p in (pre[0], pre[1], pre[3]))
    g = torch.tanh(pre[2])
    c = f * torch.tensor(c0) + i * g
    h = o * torch.tanh(c)
    (h * h).sum().add(c.sum()).backward()
    for name, p in zip("ifgo", pre):
        assert shown[f"a_{name}"] == pytest.approx(float(p.grad.norm()), rel=1e-3)  # the table prints 4 digits


def test_explain_names_gru_and_rnn_steps(capsys):
    x = rg.tensor(np.ones((2, 3)))
    gru, rnn = nn.GRUCell(3, 4).double(), nn.RNNCell(3, 4).double()
    labels = set(filter(None, rg.explain(rg.sum(gru(x, gru(x)))).labels))
    assert {"gate r", "gate z", "gate n", "a_r", "a_z", "a_n", "(1−z)⊙n", "z⊙h", "h′"} <= labels
    labels = set(filter(None, rg.explain(rg.sum(rnn(x))).labels))
    assert {"W_ih x", "W_hh h", "a", "h′"} <= labels
    with rg.no_grad():                      # nothing recorded, nothing named, nothing fails
        gru(x)


def test_a_long_stack_stays_one_table_row(capsys):
    steps = [rg.tensor(np.ones((1, 1)), requires_grad=True) for _ in range(40)]
    trace = rg.explain(rg.sum(rg.stack(steps)))
    printed = capsys.readouterr().out
    assert max(len(line) for line in printed.splitlines()) < 130
    stack_row = next(r for r in trace.rows if r[1] == "stack")
    assert "(1, 1) ×40" in stack_row[2] and stack_row[5].startswith("40 inputs: 1 … 1")


def test_labels_live_with_their_op():
    """A label is stored on the op it names: it goes with the graph (no process-wide table)."""
    import gc
    import weakref

    x = rg.tensor(np.ones(2), requires_grad=True)
    y = explain_mod.label(x * 2, "twice")
    assert explain_mod.label_of(y.grad_fn) == "twice"
    probe = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert probe() is None
    leaf = rg.tensor(np.ones(2))
    assert explain_mod.label(leaf, "leaf") is leaf            # a tensor no op made: unchanged, unnamed


def test_summary_of_models_that_take_a_state_or_token_ids():
    """`summary(input_shape=...)` on a per-step model whose forward takes a state (None: the zero
    state) and on an Embedding model (int64 zeros: valid ids), with no dtype given."""
    class Step(rg.nn.Module):
        def __init__(self):
            super().__init__()
            self.cell, self.out = rg.nn.GRUCell(40, 8), rg.nn.Linear(8, 3)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.out(h), h

    class LM(rg.nn.Module):
        sequence_model = True

        def __init__(self):
            super().__init__()
            self.emb, self.lstm, self.out = rg.nn.Embedding(50, 8), rg.nn.LSTM(8, 16), rg.nn.Linear(16, 50)

        def forward(self, ids, state):
            h, state = self.lstm(self.emb(ids), state)
            return self.out(h), state

    lines = []
    Step().summary(input_shape=(25, 40), print_fn=lines.append)
    LM().summary(input_shape=(25, 4), print_fn=lines.append)
    assert "(25, 8)" in lines[0] and "(25, 3)" in lines[0]
    assert "(25, 4, 8)" in lines[1] and "(25, 4, 50)" in lines[1]


def test_state_dict_values_are_arrays_and_move_between_models():
    """The README's difference: state_dict() values are the parameters' arrays (no copies), and a
    state dict moves between models (arrays, Tensors or torch tensors) as in PyTorch."""
    a, b = rg.nn.Linear(3, 2), rg.nn.Linear(3, 2)
    sd = a.state_dict()
    assert all(type(v) is np.ndarray for v in sd.values()) and sd["weight"] is a.weight.data
    b.load_state_dict(sd)
    assert np.array_equal(b.weight.data, a.weight.data)
    b.load_state_dict({k: rg.tensor(v * 2) for k, v in sd.items()})
    assert np.array_equal(b.weight.data, 2 * a.weight.data)
