"""SnAp's influence kept as values on its sparsity pattern (``bptt.online.sparse``) against the
whole influence zeroed off the pattern (``exact._Masked``, the form it replaced), float64:

- per-step gradients and an online SGD run equal (1e-12) for snap(1) and snap(2) on a leaky cell
  in Mujika's form, RNN/GRU/LSTM cells (LSTM: two state parts, a parameter reaching two units)
  and two stacked cells, three rows, with ``reset=`` rows, eager and compiled;
- the learner kept the sparse form for snap(1) on one cell, and falls back to the masked whole
  influence when the pattern is dense (snap(4) there; a stack, where the first cell's parameters
  reach every unit of the second within the step);
- the colouring's promise (columns of one colour share no unit) and the padded column index;
- ``Linear.jvp_basis`` with colour-compressed seeds (``forward.Colored``) equals its dense form,
  with and without a folded scale, for one row and for several; seeds it cannot use (a seeded
  input, a broadcast bias, the two kinds mixed) are made dense, with the same result.
"""

import numpy as np
import pytest

import retrograd as rg
from retrograd.autograd.forward import Colored
from retrograd.autograd.namespaces import ARRAY_NS
from retrograd.bptt.online import exact
from retrograd.bptt.online.sparse import SparseInfluence, color_columns, pattern_columns
from retrograd.demos.online import LeakyRNN
from retrograd.ops.linalg import Linear

pytestmark = pytest.mark.usefixtures("float64_default")

B, N_H, N_IN, T = 3, 12, 3, 6


class Cell(rg.nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.cell = {"RNN": rg.nn.RNNCell, "GRU": rg.nn.GRUCell, "LSTM": rg.nn.LSTMCell}[kind](N_IN, N_H)
        self.out = rg.nn.Linear(N_H, 2)

    def forward(self, x, state):
        state = self.cell(x, state)
        return self.out(state[0] if isinstance(state, tuple) else state), state


class Stack(rg.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.out = rg.nn.GRUCell(N_IN, N_H), rg.nn.RNNCell(N_H, 8), rg.nn.Linear(8, 2)

    def forward(self, x, state):
        h1, h2 = state
        h1 = self.a(x, h1)
        h2 = self.b(h1, h2)
        return self.out(h2), (h1, h2)


def build(kind):
    rg.manual_seed(0)
    if kind == "leaky":
        return LeakyRNN(N_IN, N_H, 2, 0.7, np.random.default_rng(0))
    return (Stack() if kind == "stack" else Cell(kind)).double()


def state(kind):
    r = np.random.default_rng(5)
    shapes = {"LSTM": [(B, N_H), (B, N_H)], "stack": [(B, N_H), (B, 8)]}.get(kind, [(B, N_H)])
    parts = tuple(rg.tensor(r.standard_normal(s) * 0.5) for s in shapes)
    return parts if len(parts) > 1 else parts[0]


def data(kind):
    r = np.random.default_rng(1)
    xs = r.standard_normal((T, B, N_IN))
    if kind == "leaky":
        return xs, r.integers(0, 2, (T, B)), rg.cross_entropy
    return xs, r.standard_normal((T, B, 2)), lambda o, y: ((o - y) ** 2).mean()


def masked(monkeypatch):
    """SnAp's learner as it was: the whole influence, zeroed off the pattern."""
    monkeypatch.setattr(exact.SnAp, "learner", lambda self, names, params, rec: exact._Masked(self, params, rec, self.n))


RESET = np.array([False, True, False])
KINDS = ["leaky", "RNN", "GRU", "LSTM", "stack"]


@pytest.mark.parametrize("compile", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_the_sparse_influence_is_the_masked_one(kind, n, compile, monkeypatch):
    xs, ys, loss = data(kind)
    kw = dict(state=state(kind), per_step=True, reset=RESET)
    sparse = rg.bptt.gradient(build(kind), xs, ys, loss, rg.bptt.snap(n, compile=compile), **kw)
    model = build(kind)
    opt = rg.optim.SGD(model.parameters(), lr=0.0)
    learner = rg.bptt.train(model, xs, ys, loss, opt, rg.bptt.snap(n, compile=compile), state=state(kind)).learner
    if n == 1 and kind != "stack":  # (the first cell's parameters reach every unit of the second in one step)
        assert isinstance(learner, SparseInfluence)
    masked(monkeypatch)
    dense = rg.bptt.gradient(build(kind), xs, ys, loss, rg.bptt.snap(n, compile=compile), **kw)
    for name in dense:
        np.testing.assert_allclose(sparse[name], dense[name], rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("kind", ["leaky", "LSTM"])
def test_online_sgd_with_the_sparse_influence_is_the_masked_run(kind, monkeypatch):
    xs, ys, loss = data(kind)
    runs = []
    for form in ("sparse", "masked"):
        if form == "masked":
            masked(monkeypatch)
        model = build(kind)
        res = rg.bptt.train(model, xs, ys, loss, rg.optim.SGD(model.parameters(), lr=0.2), rg.bptt.snap(1),
                            state=state(kind))
        runs.append((np.asarray(res.losses), [p.data.copy() for p in model.parameters()]))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-12)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)


def test_a_dense_pattern_keeps_the_whole_influence():
    """snap(n) with n steps enough to reach every unit: columns reach all of them, the masked form."""
    xs, ys, loss = data("RNN")
    model = build("RNN")
    res = rg.bptt.train(model, xs, ys, loss, rg.optim.SGD(model.parameters(), lr=0.0), rg.bptt.snap(4),
                        state=state("RNN"))
    assert isinstance(res.learner, exact._Masked)


@pytest.mark.parametrize("seed", range(5))
def test_columns_of_one_colour_share_no_unit(seed):
    r = np.random.default_rng(seed)
    P, n = 60, 9
    pattern = r.random((P, n)) < 0.2
    pattern[3] = False  # a column that reaches nothing
    idx, width = pattern_columns(pattern)
    assert width == max(1, pattern.sum(1).max())
    for p in range(P):
        assert set(idx[p][idx[p] != n].tolist()) == set(np.flatnonzero(pattern[p]).tolist())
    colors, k = color_columns(idx, n)
    assert colors.shape == (P,) and colors.max() == k - 1
    for c in range(k):
        members = pattern[colors == c]
        assert (members.sum(0) <= 1).all(), f"colour {c} has two columns on one unit"


@pytest.mark.parametrize("rows", [1, 4])
@pytest.mark.parametrize("with_scale", [False, True])
def test_colour_compressed_seeds_through_linear_equal_their_dense_form(rows, with_scale):
    r = np.random.default_rng(rows)
    n_out, n_in = 5, 4
    x, w, b = r.standard_normal((rows, n_in)), r.standard_normal((n_out, n_in)), r.standard_normal(n_out)
    # W's entry (o, i) and b's entry o all touch unit o: colour them apart per unit
    pattern = np.zeros((n_out * n_in + n_out, n_out), bool)
    pattern[np.arange(n_out * n_in), np.arange(n_out * n_in) // n_in] = True
    pattern[n_out * n_in + np.arange(n_out), np.arange(n_out)] = True
    colors, k = color_columns(pattern_columns(pattern)[0], n_out)
    tw = Colored(colors[:n_out * n_in].reshape(n_out, n_in), k, np.float64)
    tb = Colored(colors[n_out * n_in:], k, np.float64)
    tx = r.standard_normal((k, rows, n_in))
    scale = r.standard_normal(n_out) if with_scale and rows == 1 else None
    op = Linear()
    for ts in [(None, tw, tb), (tx, tw, None), (None, None, tb)]:
        got = op.jvp_basis(ARRAY_NS, ts, None, x, w, b, scale=scale)
        want = op.jvp(ARRAY_NS, tuple(t.dense() if type(t) is Colored else t for t in ts), None, x, w, b)
        np.testing.assert_allclose(got, want if scale is None else want * scale, rtol=1e-13, atol=1e-15)


def test_seeds_linear_cannot_use_are_made_dense():
    """A seeded input, a broadcast bias, Basis and Colored mixed: Linear.jvp_basis falls back to
    the dense seeds, with the same result."""
    from retrograd.autograd.forward import Basis
    r = np.random.default_rng(9)
    x, w = r.standard_normal((2, 3)), r.standard_normal((4, 3))
    op = Linear()
    cases = [
        ((Basis(0, 8, x.shape, np.float64), None, None), r.standard_normal(4)),               # the input seeded
        ((None, Basis(0, 13, w.shape, np.float64), Basis(12, 13, (1,), np.float64)),
         r.standard_normal(1)),                                                                # a broadcast bias
        ((None, Colored(np.tile(np.arange(3), (4, 1)), 4, np.float64), Basis(0, 4, (4,), np.float64)),
         r.standard_normal(4)),                                                                # the kinds mixed
    ]
    for ts, b in cases:
        got = op.jvp_basis(ARRAY_NS, ts, None, x, w, b)
        want = op.jvp(ARRAY_NS, tuple(t.dense() if t is not None else None for t in ts), None, x, w, b)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
