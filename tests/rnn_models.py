"""Small recurrent models shared by the BPTT and explorer tests: the same LSTM/GRU/RNN
as a per-step cell model and as a fused sequence model with equal weights, and a
classification batch to run them on."""

import numpy as np

import retrograd as rg
from retrograd import nn


class CellModel(nn.Module):
    def __init__(self, kind, I=3, H=4, O=2):
        super().__init__()
        self.kind = kind
        self.cell = getattr(nn, kind + "Cell")(I, H)
        self.out = nn.Linear(H, O)

    def forward(self, x, state):
        state = self.cell(x, state)
        return self.out(state[0] if self.kind == "LSTM" else state), state


class SeqModel(nn.Module):
    sequence_model = True

    def __init__(self, kind, I=3, H=4, O=2):
        super().__init__()
        self.rnn = getattr(nn, kind)(I, H)
        self.out = nn.Linear(H, O)

    def forward(self, x, state, mask=None):
        h, state = self.rnn(x, state, mask=mask)
        return self.out(h), state


def twin_models(kind):
    rg.manual_seed(0)
    seq = SeqModel(kind).double()
    cell = CellModel(kind).double()
    cell.cell.load_state_dict({k[:-3]: v for k, v in seq.rnn.state_dict().items()})
    cell.out.load_state_dict(seq.out.state_dict())
    return cell, seq


def lstm_data(T=10, B=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((T, B, 3)), rng.integers(0, 2, (T, B))


def fused_op_outputs_and_gradients(kind, steps, act, M, gates, x, h0, c0, ws, ups):
    """The fused op of ``kind`` (``recurrent.fused``) on these arrays: (its outputs, the gradients of
    Σ outᵢ ⊙ upᵢ at every input) — what the compiled loops and the CUDA twins are compared against."""
    from retrograd.recurrent import fused

    leaves = [rg.tensor(a, requires_grad=True) for a in [x, h0] + ([c0] if kind == "LSTM" else []) + ws
              if a is not None]
    if kind == "LSTM":
        outs = fused.LSTMLayer(steps, act, M, gates)(*leaves)
    elif kind == "GRU":
        w = leaves[2:] if ws[3] is not None else leaves[2:] + [None]
        outs = fused.GRULayer(steps, act, M, gates)(*leaves[:2], *w)
    else:
        outs = fused.RNNLayer(steps, act, M)(*leaves)
    loss = sum((o * rg.tensor(u)).sum() for o, u in zip(outs, ups))
    grads = rg.grad(loss, leaves, allow_unused=True)
    return [o.data for o in outs], [np.zeros(t.shape) if g is None else g.data for t, g in zip(leaves, grads)]
