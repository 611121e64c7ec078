"""The online modes with ``compile=True`` (the model's first step traced, every later step replayed by
``autograd.replay.Program``) against ``compile=False`` (every step recorded on the tape), float64.

For every mode — rtrl, uoro(seed=0), kf_rtrl(seed=0) (on the model in Mujika's form), snap(1),
snap(3), rflo(0.5) — and every model — a user-written leaky tanh cell with integer targets and
cross-entropy, rg.nn.RNNCell / LSTMCell (a tuple state) / GRUCell with a linear readout, and two
stacked cells (one state part computed from another) — with three rows:

- ``rg.bptt.gradient(..., per_step=True)`` is the same (rtol 1e-10), with and without ``reset=``
  rows, and the replay is what ran after the first step;
- ``rg.bptt.train`` with SGD (lr 0.1, 15 steps) gives the same losses and final weights (1e-10),
  updating after every step, with ``reset=`` rows, and with ``update_every=3``;
- ``rg.bptt.train_stateful`` over two batches (state and influence carried) is the same;
- a state part passed through the step unchanged, a run from no initial state (traced at the
  first step that has one) and token ids through an embedding (checked at every replayed step)
  are the same.

Every test runs twice: with the replayed step lowered to Python source (``autograd.lowering``) and on
the interpreter.

And: a mask with compile=True is refused (ValueError naming compile); a step that reads a value
on the host is refused (NotReplayable); the modes' repr; ``compile`` must be a bool.
"""

import numpy as np
import pytest

import retrograd as rg
from retrograd.autograd.replay import NotReplayable
from retrograd.bptt.online import run as online_run
from retrograd.bptt.online.base import _ReplayedStep
from retrograd.data import StatefulBatch
from retrograd.demos.online import LeakyRNN
from retrograd.nn.module import Parameter


pytestmark = pytest.mark.usefixtures("float64_default", "replay_kind")


@pytest.fixture(params=["lowered", "interpreted"], autouse=False)
def replay_kind(request, monkeypatch):
    """Every test twice: the replayed step lowered to Python source from its first replay
    (``autograd.lowering``, for the modes that lower), and run by the interpreter (a short run's)."""
    monkeypatch.setattr(online_run, "LOWER_FROM", 0 if request.param == "lowered" else 10 ** 9)
    return request.param


# ---------------------------------------------------------------- models
def Leaky(seed=0):
    """The demo's leaky tanh cell, written as a user would, in Mujika's form (one weight over
    [a; x]): a′ = (1 − α) a + α tanh(W [a; x] + b), z = W_out a′ + b_out; α 0.6, a bias that moves."""
    r = np.random.default_rng(seed)
    model = LeakyRNN(3, 4, 3, 0.6, r)
    model.b.data[...] = r.standard_normal(4) * 0.2
    return model


class CellModel(rg.nn.Module):
    """rg.nn's cell in a per-step module with a linear readout of h."""

    def __init__(self, kind):
        super().__init__()
        self.cell, self.out = getattr(rg.nn, kind + "Cell")(3, 4), rg.nn.Linear(4, 2)
        self.lstm = kind == "LSTM"

    def forward(self, x, state):
        state = self.cell(x, state)
        return self.out(state[0] if self.lstm else state), state


class TwoLayers(rg.nn.Module):
    """Two stacked cells: the second state part is computed from the first within the step."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.out = rg.nn.GRUCell(3, 4), rg.nn.RNNCell(4, 3), rg.nn.Linear(3, 2)

    def forward(self, x, state):
        h1, h2 = state
        h1 = self.a(x, h1)
        h2 = self.b(h1, h2)
        return self.out(h2), (h1, h2)


B = 3
STATE_SHAPES = {"leaky": [(B, 4)], "RNN": [(B, 4)], "GRU": [(B, 4)], "LSTM": [(B, 4), (B, 4)],
                "two_layers": [(B, 4), (B, 3)]}
KINDS = sorted(STATE_SHAPES)


def build(kind):
    rg.manual_seed(0)
    if kind == "leaky":
        return Leaky()
    return (TwoLayers() if kind == "two_layers" else CellModel(kind)).double()


def initial_state(kind, seed=7):
    r = np.random.default_rng(seed)
    parts = [rg.tensor(r.standard_normal(s) * 0.5) for s in STATE_SHAPES[kind]]
    return tuple(parts) if len(parts) > 1 else parts[0]


def mse(o, y):
    return ((o - y) ** 2).mean()


def data(kind, T, seed=1):
    """(xs, ys, loss): integer classes and cross-entropy for the leaky cell, regression for the others."""
    r = np.random.default_rng(seed)
    xs = r.standard_normal((T, B, 3))
    if kind == "leaky":
        return xs, r.integers(0, 3, (T, B)), rg.cross_entropy
    return xs, r.standard_normal((T, B, 2)), mse


MODES = {
    "rtrl": lambda c: rg.bptt.rtrl(compile=c),
    "uoro": lambda c: rg.bptt.uoro(seed=0, compile=c),
    "kf_rtrl": lambda c: rg.bptt.kf_rtrl(seed=0, compile=c),
    "snap1": lambda c: rg.bptt.snap(1, compile=c),
    "snap3": lambda c: rg.bptt.snap(3, compile=c),
    "rflo": lambda c: rg.bptt.rflo(0.5, compile=c),
}
# KF-RTRL needs Mujika's form (one linear map reads every recurrent parameter): the leaky cell only
PAIRS = [(k, m) for k in KINDS for m in MODES if m != "kf_rtrl" or k == "leaky"]
RESET = np.array([False, True, False])


@pytest.fixture
def replays(monkeypatch):
    """How many times a traced step was replayed (by the interpreter or the lowered program)."""
    count = [0]
    run = _ReplayedStep.run

    def counted(self, values):
        count[0] += 1
        return run(self, values)

    monkeypatch.setattr(_ReplayedStep, "run", counted)
    return count


def assert_same(a, b, what):
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-10, atol=1e-13, err_msg=f"{what}: {name}")


# ---------------------------------------------------------------- gradient
@pytest.mark.parametrize("reset", [None, RESET], ids=["no_reset", "reset"])
@pytest.mark.parametrize("kind, mode", PAIRS)
def test_per_step_gradient_is_the_eager_one(kind, mode, reset, replays):
    T = 6
    xs, ys, loss = data(kind, T)
    model = build(kind)
    kw = dict(state=initial_state(kind), reset=reset, per_step=True)
    eager = rg.bptt.gradient(model, xs, ys, loss, MODES[mode](False), **kw)
    assert replays[0] == 0
    compiled = rg.bptt.gradient(model, xs, ys, loss, MODES[mode](True), **kw)
    assert replays[0] == T - 1  # the first step traced, the others replayed
    assert_same(eager, compiled, f"{kind} {mode}")


def test_batch_first_compiled():
    xs, ys, _ = data("GRU", 5)
    model = build("GRU")
    bx, by = np.swapaxes(xs, 0, 1), np.swapaxes(ys, 0, 1)
    kw = dict(state=initial_state("GRU"), batch_first=True, per_step=True)
    assert_same(rg.bptt.gradient(model, bx, by, mse, rg.bptt.rtrl(), **kw),
                rg.bptt.gradient(model, bx, by, mse, rg.bptt.rtrl(compile=True), **kw), "batch_first")


# ---------------------------------------------------------------- train
def _train(kind, mode, compile, **kw):
    xs, ys, loss = data(kind, 15, seed=2)
    model = build(kind)
    res = rg.bptt.train(model, xs, ys, loss, rg.optim.SGD(model.parameters(), lr=0.1), MODES[mode](compile),
                        state=initial_state(kind), **kw)
    return res, {n: p.data.copy() for n, p in model.named_parameters()}


@pytest.mark.parametrize("extra", [{}, {"reset": RESET}, {"update_every": 3}], ids=["every_step", "reset", "every_3"])
@pytest.mark.parametrize("kind, mode", PAIRS)
def test_train_is_the_eager_run(kind, mode, extra):
    (r0, w0), (r1, w1) = _train(kind, mode, False, **extra), _train(kind, mode, True, **extra)
    np.testing.assert_allclose(r1.losses, r0.losses, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(r1.update_losses, r0.update_losses, rtol=1e-10, atol=1e-13)
    assert_same(w0, w1, f"{kind} {mode} weights")
    for s0, s1 in zip(rg.recurrent.state.state_parts(r0.state), rg.recurrent.state.state_parts(r1.state)):
        np.testing.assert_allclose(s1.data, s0.data, rtol=1e-10, atol=1e-13)
    start = {n: p.data for n, p in build(kind).named_parameters()}
    assert any(not np.allclose(w, start[n]) for n, w in w0.items())  # the run did learn


@pytest.mark.parametrize("kind, mode", [("leaky", "kf_rtrl"), ("leaky", "uoro"), ("LSTM", "rtrl"),
                                        ("GRU", "snap3"), ("two_layers", "rflo")])
def test_train_stateful_over_two_batches_is_the_eager_run(kind, mode):
    """State and influence carried from one batch to the next; the second batch restarts a row."""
    xs, ys, loss = data(kind, 10, seed=3)
    valid = np.ones((5, B), bool)  # every step real: no mask reaches the run
    batches = [StatefulBatch(xs[:5], ys[:5], np.ones(B, bool), valid, None),
               StatefulBatch(xs[5:], ys[5:], RESET, valid, None)]
    out = []
    for compile in (False, True):
        model = build(kind)
        res = rg.bptt.train_stateful(model, batches, loss, rg.optim.SGD(model.parameters(), lr=0.1),
                                     MODES[mode](compile), state=initial_state(kind))
        out.append((res, {n: p.data.copy() for n, p in model.named_parameters()}))
    (r0, w0), (r1, w1) = out
    for l0, l1 in zip(r0.losses, r1.losses):
        np.testing.assert_allclose(l1, l0, rtol=1e-10, atol=1e-13)
    assert_same(w0, w1, f"{kind} {mode} weights")
    for s0, s1 in zip(rg.recurrent.state.state_parts(r0.state), rg.recurrent.state.state_parts(r1.state)):
        np.testing.assert_allclose(s1.data, s0.data, rtol=1e-10, atol=1e-13)


class Carry(rg.nn.Module):
    """A state (h, k) whose part k passes through the step unchanged (a context the readout reads):
    the new state's k is the step's input leaf itself, not an op's output."""

    def __init__(self):
        super().__init__()
        r = np.random.default_rng(0)
        self.W, self.b = Parameter(r.standard_normal((4, 7)) * 0.5), Parameter(np.zeros(4))
        self.V, self.U = Parameter(r.standard_normal((2, 4)) * 0.5), Parameter(r.standard_normal((2, 4)) * 0.5)

    def forward(self, x, state):
        h, k = state
        h = rg.tanh(rg.linear(rg.cat([h, x], -1), self.W, self.b))
        return rg.linear(h, self.V) + rg.linear(k, self.U), (h, k)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_state_part_passed_through_unchanged(mode):
    xs, ys, _ = data("GRU", 5)
    state = (rg.tensor(np.full((B, 4), 0.3)), rg.tensor(np.linspace(-1, 1, B * 4).reshape(B, 4)))
    kw = dict(state=state, per_step=True)
    assert_same(rg.bptt.gradient(Carry(), xs, ys, mse, MODES[mode](False), **kw),
                rg.bptt.gradient(Carry(), xs, ys, mse, MODES[mode](True), **kw), f"{mode} pass-through")


class Tokens(rg.nn.Module):
    """Token ids through rg.nn.Embedding into a GRU cell: the step's input picks rows of a table."""

    def __init__(self):
        super().__init__()
        rg.manual_seed(0)
        self.emb, self.cell, self.out = rg.nn.Embedding(5, 3), rg.nn.GRUCell(3, 4), rg.nn.Linear(4, 5)
        self.double()

    def forward(self, x, h):
        h = self.cell(self.emb(x), h)
        return self.out(h), h


def test_token_inputs_through_an_embedding():
    r = np.random.default_rng(0)
    xs, ys = r.integers(0, 5, (6, B)), r.integers(0, 5, (6, B))
    kw = dict(state=rg.tensor(r.standard_normal((B, 4))), per_step=True)
    assert_same(rg.bptt.gradient(Tokens(), xs, ys, rg.cross_entropy, rg.bptt.rtrl(), **kw),
                rg.bptt.gradient(Tokens(), xs, ys, rg.cross_entropy, rg.bptt.rtrl(compile=True), **kw), "tokens")
    bad = xs.copy()
    bad[3, 1] = 7  # out of range at a replayed step: the replay checks every step's ids
    with pytest.raises(rg.nn.functional.EmbeddingIndexError):
        rg.bptt.gradient(Tokens(), bad, ys, rg.cross_entropy, rg.bptt.rtrl(compile=True), **kw)


# ---------------------------------------------------------------- refusals and the mode's face
def test_a_mask_with_compile_is_refused():
    xs, ys, _ = data("GRU", 4)
    mask = np.ones((4, B), bool)
    mask[3, 1] = False
    with pytest.raises(ValueError, match="compile"):
        rg.bptt.gradient(build("GRU"), xs, ys, mse, rg.bptt.rtrl(compile=True), state=initial_state("GRU"),
                         mask=mask)
    model = build("GRU")
    with pytest.raises(ValueError, match="compile"):
        rg.bptt.train(model, xs, ys, mse, rg.optim.SGD(model.parameters(), lr=0.1), rg.bptt.snap(1, compile=True),
                      state=initial_state("GRU"), mask=mask)


class HostRead(LeakyRNN):
    """A step whose Python reads a value: a replay cannot follow it."""

    def __init__(self):
        super().__init__(3, 4, 3, 0.6, np.random.default_rng(0))

    def forward(self, x, a):
        if float(x.sum()) > 0:
            x = x * 2.0
        return super().forward(x, a)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_step_that_reads_a_value_on_the_host_is_refused(mode):
    xs, ys, loss = data("leaky", 4)
    with pytest.raises(NotReplayable, match=r"on the host \(float\)"):
        rg.bptt.gradient(HostRead(), xs, ys, loss, MODES[mode](True), state=initial_state("leaky"))
    rg.bptt.gradient(HostRead(), xs, ys, loss, MODES[mode](False), state=initial_state("leaky"))  # eager: fine


def test_repr_and_the_compile_flag():
    assert repr(rg.bptt.rtrl(compile=True)) == "rtrl(compile=True)"
    assert repr(rg.bptt.rtrl()) == "rtrl()"
    assert repr(rg.bptt.snap(2)) == "snap(2)"
    assert repr(rg.bptt.snap(2, compile=True)) == "snap(2, compile=True)"
    assert repr(rg.bptt.uoro(seed=0, compile=True)) == "uoro(seed=0, compile=True)"
    assert repr(rg.bptt.kf_rtrl(seed=1)) == "kf_rtrl(seed=1)"
    assert repr(rg.bptt.rflo(0.5, compile=True)) == "rflo(0.5, compile=True)"
    assert rg.bptt.rtrl().compile is False and rg.bptt.rflo(0.5, compile=True).compile is True
    for bad in (1, 0, "yes", None, np.bool_(True)):
        for make in (lambda c: rg.bptt.rtrl(compile=c), lambda c: rg.bptt.uoro(seed=0, compile=c),
                     lambda c: rg.bptt.kf_rtrl(compile=c), lambda c: rg.bptt.snap(1, compile=c),
                     lambda c: rg.bptt.rflo(0.5, compile=c)):
            with pytest.raises(TypeError, match="compile"):
                make(bad)


def test_compile_from_no_initial_state():
    xs, ys, _ = data("GRU", 4)
    model = build("GRU")
    assert_same(rg.bptt.gradient(model, xs, ys, mse, rg.bptt.rtrl()),
                rg.bptt.gradient(model, xs, ys, mse, rg.bptt.rtrl(compile=True)), "state=None")


class Dropped(rg.nn.Module):
    """Dropout on the step's input: a random mask made off the tape, drawn anew by every replay."""

    def __init__(self):
        super().__init__()
        self.cell, self.out = rg.nn.RNNCell(3, 4), rg.nn.Linear(4, 2)
        self.double()

    def forward(self, x, h):
        h = self.cell(rg.nn.functional.dropout(x, 0.3, True), h)
        return self.out(h), h


@pytest.mark.parametrize("mode", ["rtrl", "uoro", "snap1"])
def test_dropout_inside_the_step_draws_as_the_eager_run(mode):
    """The replay draws each step's mask from rg's generator at the same point as the eager run:
    the same masks, the same per-step gradients."""
    xs, ys, _ = data("RNN", 6)
    runs = []
    for compiled in (False, True):
        rg.manual_seed(0)
        model = Dropped()
        rg.manual_seed(11)
        runs.append(rg.bptt.gradient(model, xs, ys, mse, MODES[mode](compiled), state=initial_state("RNN"),
                                     per_step=True))
    assert_same(runs[0], runs[1], f"{mode} with dropout")
