"""rg.bptt with batch_first data, the checks that keep the engine from
misreading a model, and stateful_batches with targets shaped unlike inputs."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import bptt, nn

T, B, I, H, O = 7, 3, 3, 4, 2

MODES = {
    "full": lambda: bptt.full(),
    "chunk3": lambda: bptt.chunk(3),
    "wp2_4": lambda: bptt.williams_peng(2, 4),
    "window3": lambda: bptt.window(3),
    "tail4": lambda: bptt.tail(4),
}


class CellModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(I, H)
        self.out = nn.Linear(H, O)

    def forward(self, x, state):
        state = self.cell(x, state)
        return self.out(state[0]), state


class SeqModel(nn.Module):
    sequence_model = True

    def __init__(self, batch_first=False):
        super().__init__()
        self.rnn = nn.GRU(I, H, batch_first=batch_first)
        self.batch_first = batch_first
        self.out = nn.Linear(H, O)

    def forward(self, x, state):
        h, state = self.rnn(x, state)
        return self.out(h), state


def mse(out, y):
    return ((out - y) ** 2).mean()


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((T, B, I)), rng.standard_normal((T, B, O))


@pytest.mark.parametrize("kind", ["cell", "sequence"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_batch_first_gradient_equals_time_major_on_transposed_data(kind, mode):
    rg.manual_seed(0)
    model = (CellModel() if kind == "cell" else SeqModel()).double()
    xs, ys = data()
    want = bptt.gradient(model, xs, ys, mse, MODES[mode]())
    got = bptt.gradient(model, xs.transpose(1, 0, 2), ys.transpose(1, 0, 2), mse, MODES[mode](), batch_first=True)
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-14, err_msg=name)
    assert any(np.abs(g).max() > 0 for g in want.values())


@pytest.mark.parametrize("mode", ["full", "chunk3", "wp2_4", "window3", "tail4"])
def test_batch_first_train_equals_time_major(mode):
    xs, ys = data(1)
    results = []
    for batch_first in (False, True):
        rg.manual_seed(0)
        model = CellModel().double()
        opt = rg.optim.SGD(model.parameters(), lr=0.1)
        x, y = (xs.transpose(1, 0, 2), ys.transpose(1, 0, 2)) if batch_first else (xs, ys)
        res = bptt.train(model, rg.tensor(x), y, mse, opt, MODES[mode](), batch_first=batch_first)
        results.append((res, {n: p.data.copy() for n, p in model.named_parameters()}))
    (a, pa), (b, pb) = results
    np.testing.assert_allclose(b.losses, a.losses, rtol=1e-12)
    assert len(b.losses) == T
    np.testing.assert_allclose(b.update_losses, a.update_losses, rtol=1e-12)
    for part_a, part_b in zip(a.state, b.state):
        assert part_b.shape == (B, H)
        np.testing.assert_allclose(part_b.data, part_a.data, rtol=1e-12)
    for n in pa:
        np.testing.assert_allclose(pb[n], pa[n], rtol=1e-12, err_msg=n)


def test_batch_first_trace_equals_time_major():
    rg.manual_seed(0)
    model = CellModel().double()
    xs, ys = data(2)
    a = bptt.trace(model, xs, ys, mse, bptt.chunk(3))
    b = bptt.trace(model, xs.transpose(1, 0, 2), ys.transpose(1, 0, 2), mse, bptt.chunk(3), batch_first=True)
    assert b.T == T
    np.testing.assert_allclose(b.h_norm, a.h_norm, rtol=1e-12)
    np.testing.assert_allclose(b.losses, a.losses, rtol=1e-12)
    for n in a.param_share:
        np.testing.assert_allclose(b.param_share[n], a.param_share[n], rtol=1e-10, atol=1e-14)


def test_batch_first_takes_tensors():
    rg.manual_seed(0)
    model = CellModel().double()
    xs, ys = data(3)
    want = bptt.gradient(model, xs, ys, mse, bptt.chunk(3))
    got = bptt.gradient(model, rg.tensor(xs.transpose(1, 0, 2).copy()), rg.tensor(ys.transpose(1, 0, 2).copy()),
                        mse, bptt.chunk(3), batch_first=True)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-14, err_msg=name)


def test_batch_first_model_is_fed_batch_first_segments():
    """A sequence model with batch_first=True gets (B, k, …) segments and its
    outputs are read along axis 1: same gradient as the time-major twin."""
    rg.manual_seed(0)
    tm = SeqModel(batch_first=False).double()
    bf = SeqModel(batch_first=True).double()
    bf.load_state_dict(tm.state_dict())
    xs, ys = data(4)
    for mode in ("full", "chunk3", "tail4"):
        want = bptt.gradient(tm, xs, ys, mse, MODES[mode]())
        got = bptt.gradient(bf, xs, ys, mse, MODES[mode]())
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-14, err_msg=name)


def test_batch_first_refuses_lists_and_one_dimensional_data():
    model = CellModel().double()
    xs, ys = data()
    with pytest.raises(TypeError, match="batch_first=True needs xs as an array"):
        bptt.gradient(model, list(xs), ys, mse, batch_first=True)
    with pytest.raises(ValueError, match=r"\(B, T, …\)"):
        bptt.gradient(model, np.zeros(T), np.zeros(T), mse, batch_first=True)


# ---------------------------------------------------------------- misread models


class UnmarkedWrapper(nn.Module):
    """The echo-demo bug: a fused layer in a wrapper that does not set sequence_model."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(I, H)
        self.out = nn.Linear(H, O)

    def forward(self, x, state):
        h, state = self.rnn(x, state)
        return self.out(h), state


def test_wrapper_without_sequence_model_raises_naming_the_fix():
    model = UnmarkedWrapper().double()
    xs, ys = data()
    for call in (lambda: bptt.gradient(model, xs, ys, mse),
                 lambda: bptt.train(model, xs, ys, mse, rg.optim.SGD(model.parameters(), lr=0.1), bptt.chunk(3)),
                 lambda: bptt.trace(model, xs, ys, mse)):
        with pytest.raises(bptt.ModelLayoutError, match="sequence_model = True") as info:
            call()
        assert "UnmarkedWrapper" in str(info.value) and "RNN" in str(info.value)


def test_marking_the_wrapper_fixes_it_and_learns():
    class Marked(UnmarkedWrapper):
        sequence_model = True

    rg.manual_seed(0)
    model = Marked().double()
    xs, ys = data()
    g = bptt.gradient(model, xs, ys, mse, bptt.chunk(3))
    assert np.abs(g["rnn.weight_hh_l0"]).max() > 0


def test_explicit_per_step_wrapper_of_a_fused_layer_is_allowed():
    """sequence_model = False: the wrapper feeds the fused layer one step at a time itself."""

    class Stepper(UnmarkedWrapper):
        sequence_model = False

        def forward(self, x, state):
            h, state = self.rnn(x[None], state)
            return self.out(h[0]), state

    class Marked(UnmarkedWrapper):
        sequence_model = True

    rg.manual_seed(0)
    stepper, marked = Stepper().double(), Marked().double()
    marked.load_state_dict(stepper.state_dict())
    xs, ys = data()
    want = bptt.gradient(marked, xs, ys, mse, bptt.chunk(3))
    got = bptt.gradient(stepper, xs, ys, mse, bptt.chunk(3))
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-14, err_msg=name)


def test_per_step_model_whose_output_loses_the_batch_raises():
    class Sums(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(I, O)

        def forward(self, x, state):
            return self.lin(x).sum(axis=0), state  # (O,) for a batch of B

    model = Sums().double()
    xs, ys = data()
    with pytest.raises(bptt.ModelLayoutError, match=r"output of shape \(2,\).*not the batch"):
        bptt.gradient(model, xs, ys, mse)


def test_per_step_model_whose_state_loses_the_batch_raises():
    class ReadsStepAsSequence(nn.Module):
        sequence_model = False  # wrong on purpose: the step (B, I) is an unbatched sequence to the layer

        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(I, H)

        def forward(self, x, state):
            return self.rnn(x, state)

    model = ReadsStepAsSequence().double()
    xs, ys = data()
    with pytest.raises(bptt.ModelLayoutError, match=r"state part of shape \(1, 4\) without the batch"):
        bptt.gradient(model, xs, np.zeros((T, B, H)), mse)


def test_wrapper_of_a_batch_first_layer_reads_its_layout_from_the_layer():
    class Wrapper(nn.Module):
        sequence_model = True

        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(I, H, batch_first=True)
            self.out = nn.Linear(H, O)

        def forward(self, x, state):
            h, state = self.rnn(x, state)
            return self.out(h), state

    xs, ys = data()
    rg.manual_seed(0)
    inferred = bptt.gradient(Wrapper().double(), xs, ys, mse, bptt.chunk(3))  # fed (B, k, …) like the layer
    Wrapper.batch_first = True
    rg.manual_seed(0)
    g = bptt.gradient(Wrapper().double(), xs, ys, mse, bptt.chunk(3))
    assert np.abs(g["rnn.weight_hh_l0"]).max() > 0
    for name in g:
        np.testing.assert_array_equal(inferred[name], g[name], err_msg=name)


def test_sequence_model_returning_the_wrong_time_length_raises():
    class LastOnly(SeqModel):
        def forward(self, x, state):
            out, state = super().forward(x, state)
            return out[-1], state  # only the last step: (B, O)

    model = LastOnly().double()
    xs, ys = data()
    with pytest.raises(bptt.ModelLayoutError, match="segment of 2 steps"):
        bptt.gradient(model, xs, ys, mse, bptt.chunk(2))


def test_unbatched_steps_and_scalar_models_are_not_checked_into_errors():
    class Scalar(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(np.array(0.5))

        def forward(self, x, h):
            h = x if h is None else self.w * h + x
            return h, h

    g = bptt.gradient(Scalar(), np.arange(5.0), np.ones(5), lambda o, c: o * c)
    assert g["w"] != 0


# ---------------------------------------------------------------- stateful_batches


@pytest.mark.parametrize("time_major", [True, False])
def test_stateful_batches_targets_with_another_shape_than_inputs(time_major):
    # inputs: token ids (L,), targets: one-hot rows (L, 4) — and the other way round
    seqs = [np.arange(5), np.arange(10, 13)]
    onehot = [np.eye(4)[s % 4] for s in seqs]
    for inputs, targets, x_item, y_item in ((seqs, onehot, (), (4,)), (onehot, seqs, (4,), ())):
        batches = list(rg.data.stateful_batches(inputs, batch_size=2, k=2, targets=targets, time_major=time_major))
        first = batches[0]
        lead = (2, 2)
        assert first.x.shape == lead + x_item and first.y.shape == lead + y_item
        assert first.y.dtype == np.asarray(targets[0]).dtype
        # row 0 reads sequence 0: its targets are targets[0] in order, valid where real
        got = [b.y[:, 0] if time_major else b.y[0] for b in batches]
        valid = [b.valid[:, 0] if time_major else b.valid[0] for b in batches]
        real = np.concatenate([g[v] for g, v in zip(got, valid)])
        np.testing.assert_array_equal(real[:5], targets[0])


def test_stateful_batches_targets_length_mismatch_is_named():
    with pytest.raises(ValueError, match="sequence 1 has 3 steps but its targets have 2"):
        list(rg.data.stateful_batches([np.arange(4), np.arange(3)], 1, 2, targets=[np.arange(4), np.arange(2)]))
