"""rg.bptt with padded steps (``mask``), rows starting anew (``reset``) and
stateful training over ``rg.data.stateful_batches`` (``train_stateful``),
each against a brute-force reference that runs every row on its own: the
cell is applied only at the row's real steps (so nothing is carried by the
engine's ``where``), the state entering the first step a mode lets a loss
reach is cut from the tape by hand, and a step's loss is the loss of the
real rows' outputs concatenated."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import bptt, nn

T, B, I, H, O = 7, 3, 3, 4, 2

# rows: 0 has gaps, 1 ends early, 2 starts late (from the initial state); step 5 has no real row
MASK = np.array([[1, 1, 0, 1, 1, 0, 1],
                 [1, 1, 1, 1, 0, 0, 0],
                 [0, 0, 1, 1, 1, 0, 1]], dtype=bool).T  # (T, B)

# mode, the steps whose losses count, and the first step each loss's gradient may enter
MODES = {
    "full": (lambda: bptt.full(), range(T), lambda t: 0),
    "full_ckpt2": (lambda: bptt.full(checkpoint_every=2), range(T), lambda t: 0),
    "chunk3": (lambda: bptt.chunk(3), range(T), lambda t: t - t % 3),
    "wp2_4": (lambda: bptt.williams_peng(2, 4), range(T), lambda t: max(0, t - t % 2 - 2)),
    "wp1_3": (lambda: bptt.williams_peng(1, 3), range(T), lambda t: max(0, t - 2)),
    "window3": (lambda: bptt.window(3), range(T), lambda t: max(0, t - 2)),
    "tail4": (lambda: bptt.tail(4), range(T - 4, T), lambda t: T - 4),
}


class CellModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(I, H)
        self.out = nn.Linear(H, O)

    def forward(self, x, state):
        state = self.cell(x, state)
        return self.out(state[0]), state


def mse(out, y):
    return ((out - y) ** 2).mean()


def data(seed=0, steps=T):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((steps, B, I)), rng.standard_normal((steps, B, O))


def cell_model(seed=0):
    rg.manual_seed(seed)
    return CellModel().double()


def row_state(state0, reset, b):
    """Row b's initial state as a constant (1, H) pair; None (zeros) when there is none or it is reset."""
    if state0 is None or (reset is not None and reset[b]):
        return None
    return tuple(rg.tensor(p[b:b + 1].copy()) for p in state0)


def cut(state):
    return None if state is None else tuple(p.detach() for p in state)


def reference_gradient(model, xs, ys, mask, losses, first_of, state0=None, reset=None):
    """Σ over counted steps t of ∂ℓₜ/∂θ, ℓₜ = mse(real rows' outputs at t), each row run on its own
    over its real steps, its state cut from the tape entering step first_of(t)."""
    params = list(model.parameters())
    total = [np.zeros(p.shape) for p in params]
    for t in losses:
        rows = np.flatnonzero(mask[t])
        if rows.size == 0:
            continue
        outs = []
        for b in rows:
            h = row_state(state0, reset, b)
            for s in range(t + 1):
                if s == first_of(t):
                    h = cut(h)
                if mask[s, b]:
                    out, h = model(rg.tensor(xs[s, b:b + 1]), h)
            outs.append(out)
        loss = mse(rg.cat(outs, 0), rg.tensor(ys[t, rows]))
        for acc, g in zip(total, rg.grad(loss, params, allow_unused=True)):
            if g is not None:
                acc += g.data
    return dict(zip([n for n, _ in model.named_parameters()], total))


def assert_grads_equal(got, want, rtol=1e-10):
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=rtol, atol=1e-13, err_msg=name)
    assert any(np.abs(g).max() > 0 for g in want.values())


# ---------------------------------------------------------------- masks × modes
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
@pytest.mark.parametrize("name", sorted(MODES))
def test_masked_gradient_matches_per_row_brute_force(name, batch_first):
    make, losses, first_of = MODES[name]
    model = cell_model()
    xs, ys = data()
    want = reference_gradient(model, xs, ys, MASK, losses, first_of)
    if batch_first:
        got = bptt.gradient(model, xs.transpose(1, 0, 2), ys.transpose(1, 0, 2), mse, make(), batch_first=True,
                            mask=MASK.T)
    else:
        got = bptt.gradient(model, xs, ys, mse, make(), mask=MASK)
    assert_grads_equal(got, want)


@pytest.mark.parametrize("name", ["full", "chunk3", "wp2_4", "tail4"])
def test_reset_rows_start_from_zeros_and_others_continue(name):
    make, losses, first_of = MODES[name]
    model = cell_model(1)
    xs, ys = data(1)
    rng = np.random.default_rng(5)
    state0 = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    reset = np.array([True, False, True])
    want = reference_gradient(model, xs, ys, MASK, losses, first_of, state0, reset)
    got = bptt.gradient(model, xs, ys, mse, make(), state=tuple(rg.tensor(p) for p in state0), mask=MASK,
                        reset=reset)
    assert_grads_equal(got, want)
    # without a mask too (every step real)
    every = np.ones((T, B), dtype=bool)
    want = reference_gradient(model, xs, ys, every, losses, first_of, state0, reset)
    got = bptt.gradient(model, xs, ys, mse, make(), state=tuple(rg.tensor(p) for p in state0), reset=reset)
    assert_grads_equal(got, want)


def test_masked_steps_carry_the_state_and_report_no_loss():
    """The final state of each row is the state after its last real step; step 5 (no real row) has loss 0."""
    model = cell_model(2)
    xs, ys = data(2)
    res = bptt.train(model, xs, ys, mse, rg.optim.SGD(model.parameters(), lr=0.0), bptt.chunk(3), mask=MASK)
    for b in range(B):
        h = None
        for s in range(T):
            if MASK[s, b]:
                _, h = model(rg.tensor(xs[s, b:b + 1]), h)
        np.testing.assert_allclose(res.state[0].data[b], h[0].data[0], rtol=1e-12)
        np.testing.assert_allclose(res.state[1].data[b], h[1].data[0], rtol=1e-12)
    assert res.losses[5] == 0
    assert all(res.losses[t] > 0 for t in range(T) if t != 5)


@pytest.mark.parametrize("name", ["full", "full_ckpt2", "chunk3", "wp2_4", "window3", "tail4"])
def test_an_all_true_mask_is_bitwise_the_unmasked_run(name):
    make = MODES[name][0]
    xs, ys = data(3)
    model = cell_model(3)
    every = np.ones((T, B), dtype=bool)
    a = bptt.gradient(model, xs, ys, mse, make())
    b = bptt.gradient(model, xs, ys, mse, make(), mask=every, reset=np.zeros(B, dtype=bool))
    for k in a:
        np.testing.assert_array_equal(b[k], a[k])
    runs = []
    for mask in (None, every):
        m = cell_model(3)
        res = bptt.train(m, xs, ys, mse, rg.optim.Adam(m.parameters(), lr=0.01), make(), mask=mask)
        runs.append((res, [p.data.copy() for p in m.parameters()]))
    (ra, pa), (rb, pb) = runs
    np.testing.assert_array_equal(rb.losses, ra.losses)
    assert rb.update_losses == ra.update_losses
    for p, q in zip(pa, pb):
        np.testing.assert_array_equal(q, p)


def reference_chunk_training(model, xs, ys, mask, k, lr):
    """chunk(k) training by hand: per-row states carried by value between chunks, one SGD step per
    chunk with a real row (the forward of a chunk uses the weights before its update)."""
    params = list(model.parameters())
    states = [None] * B
    losses = np.zeros(len(xs))
    for start in range(0, len(xs), k):
        total = None
        outs = {t: [] for t in range(start, min(start + k, len(xs)))}
        for b in range(B):
            h = cut(states[b])
            for t in outs:
                if mask[t, b]:
                    out, h = model(rg.tensor(xs[t, b:b + 1]), h)
                    outs[t].append(out)
            states[b] = cut(h)
        for t, o in outs.items():
            if o:
                loss = mse(rg.cat(o, 0), rg.tensor(ys[t, mask[t]]))
                losses[t] = float(loss.data)
                total = loss if total is None else total + loss
        if total is not None:
            for p, g in zip(params, rg.grad(total, params)):
                p.data = p.data - lr * g.data
    return losses


def test_masked_chunk_training_matches_brute_force():
    xs, ys = data(4)
    a, b = cell_model(4), cell_model(4)
    res = bptt.train(a, xs, ys, mse, rg.optim.SGD(a.parameters(), lr=0.3), bptt.chunk(2), mask=MASK)
    want = reference_chunk_training(b, xs, ys, MASK, 2, 0.3)
    np.testing.assert_allclose(res.losses, want, rtol=1e-12)
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-11, err_msg=n)


def test_an_update_with_only_padding_makes_no_optimizer_step():
    """With momentum a zero gradient would still move the weights: a chunk of padding must not step."""
    xs, ys = data(5, steps=8)
    mask = np.ones((8, B), dtype=bool)
    mask[6:] = False
    a, b = cell_model(5), cell_model(5)
    ra = bptt.train(a, xs, ys, mse, rg.optim.SGD(a.parameters(), lr=0.1, momentum=0.9), bptt.chunk(2), mask=mask)
    rb = bptt.train(b, xs[:6], ys[:6], mse, rg.optim.SGD(b.parameters(), lr=0.1, momentum=0.9), bptt.chunk(2))
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert ra.update_losses[:3] == rb.update_losses and ra.update_losses[3] == 0


def test_trace_with_a_mask_sums_to_the_masked_gradient():
    model = cell_model(6)
    xs, ys = data(6)
    tr = bptt.trace(model, xs, ys, mse, bptt.chunk(3), mask=MASK)
    want = bptt.gradient(model, xs, ys, mse, bptt.chunk(3), mask=MASK)
    for n in want:
        np.testing.assert_allclose(tr.total[n], want[n], rtol=1e-12, atol=1e-15)
    assert tr.losses[5] == 0 and tr.h_norm[5] == 0


def test_mask_and_reset_are_checked():
    model = cell_model()
    xs, ys = data()
    with pytest.raises(ValueError, match=r"mask must be boolean.*int64"):
        bptt.gradient(model, xs, ys, mse, mask=MASK.astype(np.int64))
    with pytest.raises(ValueError, match=r"mask of shape \(3, 7\).*expected \(7, 3\).*batch_first=True"):
        bptt.gradient(model, xs, ys, mse, mask=MASK.T)
    with pytest.raises(ValueError, match=r"expected \(3, 7\), \(B, T\)"):
        bptt.gradient(model, xs.transpose(1, 0, 2), ys.transpose(1, 0, 2), mse, batch_first=True, mask=MASK)
    with pytest.raises(ValueError, match=r"reset must be a boolean \(B,\) row mask with B = 3"):
        bptt.gradient(model, xs, ys, mse, reset=np.ones(4, dtype=bool))
    with pytest.raises(ValueError, match=r"reset must be boolean"):
        bptt.gradient(model, xs, ys, mse, reset=np.ones(3, dtype=np.int64))


# ---------------------------------------------------------------- sequence models
class SeqModel(nn.Module):
    sequence_model = True

    def __init__(self, batch_first=False):
        super().__init__()
        self.rnn = nn.LSTM(I, H, batch_first=batch_first)
        self.batch_first = batch_first
        self.out = nn.Linear(H, O)

    def forward(self, x, state, mask=None):
        h, state = self.rnn(x, state) if mask is None else self.rnn(x, state, mask=mask)
        return self.out(h), state


class SeqModelWithoutMask(SeqModel):
    def forward(self, x, state):
        h, state = self.rnn(x, state)
        return self.out(h), state


def test_a_sequence_model_without_mask_parameter_is_refused():
    rg.manual_seed(0)
    xs, ys = data()
    with pytest.raises(bptt.ModelLayoutError, match=r"Add a `mask=None` parameter to SeqModelWithoutMask.forward"):
        bptt.gradient(SeqModelWithoutMask().double(), xs, ys, mse, mask=MASK)
    # no mask: called as before
    bptt.gradient(SeqModelWithoutMask().double(), xs, ys, mse)


def twin(batch_first):
    rg.manual_seed(0)
    seq = SeqModel(batch_first).double()
    cell = CellModel().double()
    cell.cell.load_state_dict({k[:-3]: v for k, v in seq.rnn.state_dict().items()})
    cell.out.load_state_dict(seq.out.state_dict())
    return cell, seq


def _cell_name(name):
    return "cell." + name[4:-3] if name.startswith("rnn.") else name


@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
@pytest.mark.parametrize("name", ["full", "full_ckpt2", "chunk3", "wp2_4", "window3", "tail4"])
def test_a_masked_sequence_model_equals_the_brute_force_cells(name, batch_first):
    """Needs ``mask=`` on rg.nn.LSTM.forward (the layer keeps a padded row's state)."""
    make, losses, first_of = MODES[name]
    cell, seq = twin(batch_first)
    xs, ys = data(7)
    want = reference_gradient(cell, xs, ys, MASK, losses, first_of)
    if batch_first:
        got = bptt.gradient(seq, xs.transpose(1, 0, 2), ys.transpose(1, 0, 2), mse, make(), batch_first=True,
                            mask=MASK.T)
    else:
        got = bptt.gradient(seq, xs, ys, mse, make(), mask=MASK)
    assert_grads_equal({_cell_name(n): g for n, g in got.items()}, want)


# ---------------------------------------------------------------- stateful training
LENGTHS = [5, 2, 7, 1, 4, 3]


def sequences(seed=8):
    rng = np.random.default_rng(seed)
    return ([rng.standard_normal((n, I)) for n in LENGTHS], [rng.standard_normal((n, O)) for n in LENGTHS])


def reference_stateful(model, seqs, targets, batches, k, sub, lr):
    """Every sequence run on its own from the zero state, continued across batches by value; within a
    batch of k steps, one SGD step per `sub` steps that hold a real step (the same batches give only
    which sequence each row reads: the inputs and targets come from the sequences themselves)."""
    params = list(model.parameters())
    state, pos, losses = {}, [0] * len(seqs), []
    for batch in batches:
        step_losses = np.zeros(k)
        rows = [(i, s) for i, s in enumerate(batch.sequence) if s >= 0]
        for a in range(0, k, sub):
            outs, ys = {}, {}
            for i, s in rows:
                h = cut(state.get(s))
                for j in range(a, min(a + sub, k)):
                    if pos[s] + j < len(seqs[s]):
                        out, h = model(rg.tensor(seqs[s][pos[s] + j][None]), h)
                        outs.setdefault(j, []).append(out)
                        ys.setdefault(j, []).append(targets[s][pos[s] + j])
                state[s] = cut(h)
            total = None
            for j in sorted(outs):
                loss = mse(rg.cat(outs[j], 0), rg.tensor(np.stack(ys[j])))
                step_losses[j] = float(loss.data)
                total = loss if total is None else total + loss
            if total is not None:
                for p, g in zip(params, rg.grad(total, params)):
                    p.data = p.data - lr * g.data
        for _, s in rows:
            pos[s] += k
        losses.append(step_losses)
    return losses


@pytest.mark.parametrize("time_major", [True, False])
@pytest.mark.parametrize("sub", [None, 2])
def test_train_stateful_matches_per_sequence_brute_force(time_major, sub):
    seqs, targets = sequences()
    k = 3
    batches = list(rg.data.stateful_batches(seqs, 2, k, targets=targets, time_major=time_major))
    assert any(not b.valid.all() for b in batches) and any(b.reset.any() for b in batches[1:])
    a, b = cell_model(9), cell_model(9)
    mode = None if sub is None else bptt.chunk(sub)
    res = bptt.train_stateful(a, iter(batches), mse, rg.optim.SGD(a.parameters(), lr=0.2), mode)
    want = reference_stateful(b, seqs, targets, batches, k, sub or k, 0.2)
    assert len(res.losses) == len(batches)
    for got_l, want_l in zip(res.losses, want):
        np.testing.assert_allclose(got_l, want_l, rtol=1e-12)
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-11, err_msg=n)
    assert res.state[0].shape == (2, H)


def test_train_stateful_reads_duck_typed_batches_and_refuses_an_ambiguous_layout():
    class Batch:  # no time_major flag: read off valid (k, B) against reset (B,)
        def __init__(self, x, y, reset, valid):
            self.x, self.y, self.reset, self.valid = x, y, reset, valid

    xs, ys = data(10)
    reset = np.ones(B, dtype=bool)
    a, b = cell_model(10), cell_model(10)
    bptt.train_stateful(a, [Batch(xs, ys, reset, MASK)], mse, rg.optim.SGD(a.parameters(), lr=0.1))
    bptt.train(b, xs, ys, mse, rg.optim.SGD(b.parameters(), lr=0.1), mask=MASK, reset=reset)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    square = Batch(xs[:B], ys[:B], reset, MASK[:B])
    with pytest.raises(ValueError, match=r"cannot tell whether the batch is time-major.*batch_first=True"):
        bptt.train_stateful(a, [square], mse, rg.optim.SGD(a.parameters(), lr=0.1))
    bptt.train_stateful(a, [square], mse, rg.optim.SGD(a.parameters(), lr=0.1), batch_first=False)
    batch = next(rg.data.stateful_batches(sequences()[0], 2, 3, targets=sequences()[1]))
    with pytest.raises(ValueError, match=r"batch_first=True but the batch says time_major=True"):
        bptt.train_stateful(a, [batch], mse, rg.optim.SGD(a.parameters(), lr=0.1), batch_first=True)


# ---------------------------------------------------------------- Stateful
class BatchFirstWrapper(nn.Module):
    """A sequence model that does not set batch_first itself; its LSTM is batch_first."""
    sequence_model = True

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(I, H, batch_first=True)

    def forward(self, x, state, mask=None):
        return self.rnn(x, state) if mask is None else self.rnn(x, state, mask=mask)


def test_stateful_reads_the_batch_axis_of_contained_batch_first_layers():
    rg.manual_seed(0)
    model = bptt.Stateful(BatchFirstWrapper().double())
    assert model.input_batch_axis == 0
    x = rg.tensor(np.random.default_rng(0).standard_normal((B, T, I)))
    model(x)
    model(x)  # 7 steps of 3 rows twice: no "the batch has 7 rows"
    assert model.state[0].shape == (1, B, H)
    assert bptt.Stateful(nn.LSTM(I, H)).input_batch_axis == 1
    assert bptt.Stateful(nn.LSTM(I, H, batch_first=True)).input_batch_axis == 0
    assert bptt.Stateful(CellModel()).input_batch_axis == 0


def test_stateful_names_the_axis_it_read_and_the_fix():
    rg.manual_seed(0)
    model = bptt.Stateful(BatchFirstWrapper().double(), input_batch_axis=1)
    x = rg.tensor(np.random.default_rng(0).standard_normal((B, T, I)))
    model(rg.tensor(np.random.default_rng(0).standard_normal((B, B + 1, I))))  # carries B + 1 = 4 "rows"
    with pytest.raises(rg.OpError, match=r"read on axis 1 of the input of shape \(3, 7, 3\), because "
                                         r"input_batch_axis=1 was given"):
        model(x)
    time_major = bptt.Stateful(nn.LSTM(I, H).double())
    time_major(rg.tensor(np.zeros((T, B, I))))
    with pytest.raises(rg.OpError, match=r"the batch has 7 rows but the carried state has 3: .*LSTM is "
                                         r"batch_first=False.*Axis 0 of the input has 3.*input_batch_axis=0"):
        time_major(x)


def test_stateful_passes_the_mask_on():
    """Stateful(model)(x, mask) = model(x, state, mask=mask), the state carried between calls."""
    rg.manual_seed(0)
    inner = BatchFirstWrapper().double()
    model = bptt.Stateful(inner)
    x = np.random.default_rng(1).standard_normal((B, T, I))
    mask = MASK.T.copy()  # (B, T), like the batch_first input
    outs = [model(rg.tensor(x), mask=mask).data for _ in range(2)]
    state = None
    for want in outs:
        out, state = inner(rg.tensor(x), state, mask=mask)
        np.testing.assert_array_equal(out.data, want)
        state = bptt.detach_state(state)
    np.testing.assert_array_equal(model.state[0].data, state[0].data)
