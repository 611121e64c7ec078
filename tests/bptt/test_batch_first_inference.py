"""A sequence model that does not set ``batch_first`` itself reads its
segments the way its sequence layers do (PyTorch code runs as written):
batch-first layers get (B, k, …) segments. Only layers that disagree are
refused, naming them."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import bptt, nn

T, B, I, H, O = 7, 3, 3, 4, 2


class Wrapper(nn.Module):
    sequence_model = True

    def __init__(self, batch_first):
        super().__init__()
        self.rnn = nn.LSTM(I, H, batch_first=batch_first)
        self.out = nn.Linear(H, O)

    def forward(self, x, state, mask=None):
        h, state = self.rnn(x, state, mask=mask)
        return self.out(h), state


class Declared(Wrapper):
    """The same model with the layout said by hand (what the engine required before)."""
    batch_first = True


def mse(out, y):
    return ((out - y) ** 2).mean()


def _data():
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((B, T, I)), rng.standard_normal((B, T, O))
    mask = np.ones((B, T), dtype=bool)
    mask[0, 5:] = mask[2, 3:] = False
    return xs, ys, mask


@pytest.mark.parametrize("mode", [lambda: bptt.full(), lambda: bptt.chunk(3), lambda: bptt.williams_peng(2, 4)],
                         ids=["full", "chunk3", "wp2_4"])
def test_batch_first_layer_makes_a_batch_first_model(mode):
    xs, ys, mask = _data()
    rg.manual_seed(0)
    inferred = Wrapper(batch_first=True).double()
    declared = Declared(batch_first=True).double()
    declared.load_state_dict(inferred.state_dict())
    rg.manual_seed(0)
    time_major = Wrapper(batch_first=False).double()
    time_major.load_state_dict(inferred.state_dict())
    for m in (None, mask):
        got = bptt.gradient(inferred, xs, ys, mse, mode(), batch_first=True, mask=m)
        want = bptt.gradient(declared, xs, ys, mse, mode(), batch_first=True, mask=m)
        plain = bptt.gradient(time_major, np.swapaxes(xs, 0, 1), np.swapaxes(ys, 0, 1), mse, mode(),
                              mask=None if m is None else m.T)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
            np.testing.assert_allclose(got[name], plain[name], rtol=1e-12, atol=1e-14, err_msg=name)


def test_layers_that_disagree_are_refused_naming_them():
    class Mixed(nn.Module):
        sequence_model = True

        def __init__(self):
            super().__init__()
            self.first = nn.GRU(I, H, batch_first=True)
            self.second = nn.GRU(H, H)

        def forward(self, x, state):
            return self.second(self.first(x)[0])

    xs, ys, _ = _data()
    with pytest.raises(bptt.ModelLayoutError, match=r"first.*batch_first=True.*second.*batch_first=False"):
        bptt.gradient(Mixed().double(), xs, np.zeros((B, T, H)), mse, batch_first=True)


def test_a_declared_layout_still_wins():
    class Transposes(nn.Module):
        """Takes time-major segments and transposes them for its batch-first layer itself."""
        sequence_model, batch_first = True, False

        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(I, H, batch_first=True)

        def forward(self, x, state):
            h, state = self.rnn(x.swapaxes(0, 1), state)
            return h.swapaxes(0, 1), state

    xs, ys, _ = _data()
    rg.manual_seed(0)
    model = Transposes().double()
    reference = nn.GRU(I, H, batch_first=True).double()
    reference.load_state_dict(model.rnn.state_dict())
    ys = np.zeros((B, T, H))
    got = bptt.gradient(model, xs, ys, mse, batch_first=True)
    want = bptt.gradient(reference, xs, ys, mse, batch_first=True)
    for name, g in want.items():
        np.testing.assert_allclose(got["rnn." + name], g, rtol=1e-12, atol=1e-14)
