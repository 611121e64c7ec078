"""The online modes on models and mistakes a user would write, float64.

- SnAp on token ids through ``nn.Embedding``: the pattern is found at a few probe steps, and an
  embedding row whose token no probe read still reaches its units (``snap(T)`` is RTRL);
- the modes' constructors refuse bad arguments by name (``snap(True)``, ``rflo("a")``,
  ``uoro(seed="x")``) and take NumPy integers;
- bad input is refused naming the fix: a NumPy state, an integer state, a model returning a bare
  state, a per-step loss that is not a scalar, a mode's constructor passed uncalled.
"""

import numpy as np
import pytest

import retrograd as rg
from retrograd.bptt.layout import ModelLayoutError

pytestmark = pytest.mark.usefixtures("float64_default")

T, B = 6, 3


class Tokens(rg.nn.Module):
    """Token ids → embedding → LSTM cell → logits."""

    def __init__(self, vocab=5):
        super().__init__()
        self.emb, self.cell, self.out = rg.nn.Embedding(vocab, 3), rg.nn.LSTMCell(3, 4), rg.nn.Linear(4, vocab)

    def forward(self, x, s):
        s = self.cell(self.emb(x), s)
        return self.out(s[0]), s


class Cell(rg.nn.Module):
    def __init__(self):
        super().__init__()
        self.cell, self.out = rg.nn.RNNCell(3, 4), rg.nn.Linear(4, 2)

    def forward(self, x, h):
        h = self.cell(x, h)
        return self.out(h), h


def tokens(seed=0):
    r = np.random.default_rng(seed)
    return r.integers(0, 5, (T, B)), r.integers(0, 5, (T, B))


@pytest.mark.parametrize("compile", [False, True])
def test_snap_over_the_sequence_on_token_inputs_is_rtrl(compile):
    rg.manual_seed(0)
    model = Tokens().double()
    xs, ys = tokens()
    exact = rg.bptt.gradient(model, xs, ys, rg.cross_entropy, rg.bptt.full())
    snap = rg.bptt.gradient(model, xs, ys, rg.cross_entropy, rg.bptt.snap(T, compile=compile))
    for name in exact:
        np.testing.assert_allclose(snap[name], exact[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_constructors_refuse_bad_arguments_by_name():
    assert rg.bptt.snap(np.int64(2)).n == 2
    with pytest.raises(ValueError, match=r"snap\(n\)"):
        rg.bptt.snap(True)
    with pytest.raises(TypeError, match=r"rflo\(decay\)"):
        rg.bptt.rflo("a")
    with pytest.raises(TypeError, match=r"rflo\(decay\)"):
        rg.bptt.rflo(None)
    for bad in ("x", 1.5, -1):
        with pytest.raises(TypeError, match=r"uoro\(seed=\.\.\.\)"):
            rg.bptt.uoro(seed=bad)
        with pytest.raises(TypeError, match=r"kf_rtrl\(seed=\.\.\.\)"):
            rg.bptt.kf_rtrl(seed=bad)
    rg.bptt.uoro(seed=np.random.default_rng(0))  # a generator is a seed


class Bare(rg.nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = rg.nn.RNNCell(3, 4)

    def forward(self, x, h):
        return self.cell(x, h)


@pytest.mark.parametrize("compile", [False, True])
def test_bad_input_is_refused_naming_the_fix(compile):
    r = np.random.default_rng(0)
    xs, ys = r.standard_normal((T, B, 3)), r.standard_normal((T, B, 2))
    model, mode = Cell().double(), rg.bptt.rtrl(compile=compile)
    with pytest.raises(TypeError, match=r"rg.tensor"):
        rg.bptt.gradient(model, xs, ys, rg.mse_loss, mode, state=np.zeros((B, 4)))
    with pytest.raises(TypeError, match="floating point"):
        rg.bptt.gradient(model, xs, ys, rg.mse_loss, mode, state=rg.tensor(np.zeros((B, 4), np.int64)))
    with pytest.raises(ModelLayoutError, match=r"returns \(output_t, state\)"):
        rg.bptt.gradient(Bare().double(), xs, ys, rg.mse_loss, mode, state=rg.zeros(B, 4))
    with pytest.raises(ValueError, match="scalar"):
        rg.bptt.gradient(model, xs, ys, lambda o, y: (o - y) ** 2, mode, state=rg.zeros(B, 4))
    with pytest.raises(TypeError, match=r"call it: rg.bptt.rtrl\(\)"):
        rg.bptt.gradient(model, xs, ys, rg.mse_loss, rg.bptt.rtrl)
    with pytest.raises(TypeError, match=r"call it: rg.bptt.uoro\(\)"):
        rg.bptt.train(model, xs, ys, rg.mse_loss, rg.optim.SGD(model.parameters(), lr=0.1), rg.bptt.uoro)
