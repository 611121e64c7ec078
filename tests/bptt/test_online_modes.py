"""The online modes (rtrl, snap, rflo, uoro, kf_rtrl): exact where they claim to be, unbiased
where they claim to be, and equal to Marschall, Cho & Savin's algorithms on their network
(``benchmarks/online_numpy.py``, a plain-NumPy transcription of their equations)."""

import importlib.util
import pathlib

import numpy as np
import pytest

import retrograd as rg
from retrograd.nn.module import Parameter

_REF_PATH = pathlib.Path(__file__).parents[2] / "benchmarks" / "online_numpy.py"
_spec = importlib.util.spec_from_file_location("online_numpy", _REF_PATH)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)


pytestmark = pytest.mark.usefixtures("float64_default")


# ---------------------------------------------------------------- models written as a user would
class Leaky(rg.nn.Module):
    """Marschall et al.'s network: h = W_rec a + W_in x + b, a′ = (1 − α) a + α tanh(h), z = W_out a′ + b_out."""

    def __init__(self, net, alpha):
        super().__init__()
        self.W_rec, self.W_in, self.b_rec = Parameter(net.W_rec), Parameter(net.W_in), Parameter(net.b_rec)
        self.W_out, self.b_out = Parameter(net.W_out), Parameter(net.b_out)
        self.alpha = alpha

    def forward(self, x, a):
        h = rg.linear(a, self.W_rec) + rg.linear(x, self.W_in) + self.b_rec
        a = (1 - self.alpha) * a + self.alpha * rg.tanh(h)
        return rg.linear(a, self.W_out, self.b_out), a


class LeakyMujika(rg.nn.Module):
    """The same network in Mujika's form: one weight over [a; x] and its bias."""

    def __init__(self, net, alpha):
        super().__init__()
        self.W = Parameter(np.concatenate([net.W_rec, net.W_in], axis=1))
        self.b = Parameter(net.b_rec.copy())
        self.W_out, self.b_out = Parameter(net.W_out), Parameter(net.b_out)
        self.alpha = alpha

    def forward(self, x, a):
        h = rg.linear(rg.cat([a, x], -1), self.W, self.b)
        a = (1 - self.alpha) * a + self.alpha * rg.tanh(h)
        return rg.linear(a, self.W_out, self.b_out), a


def soft_ce(z, y):
    return rg.cross_entropy(z, y)


def marschall_case(T=12, n_h=6, alpha=0.7, seed=0):
    net = ref.LeakyRNN.init(2, n_h, 2, seed, alpha=alpha)
    net.b_rec = np.random.default_rng(seed + 1).normal(0, 0.3, n_h)
    xs, ys = ref.add_task(T, seed)
    return net, xs, ys


def as_batch(xs, ys):
    return xs[:, None, :], ys[:, None, :]


def reference_per_step(net, algorithm, xs, ys):
    """Their per-step gradients with the weights held fixed."""
    a, out = np.zeros(net.n_h), []
    for x, y in zip(xs, ys):
        a_next, h = net.step(a, x)
        out.append(algorithm.update(net, a, x, a_next, h, y))
        a = a_next
    return out


def ours_per_step(model, xs, ys, mode):
    bx, by = as_batch(xs, ys)
    return rg.bptt.gradient(model, bx, by, soft_ce, mode, state=rg.tensor(np.zeros((1, model.W_out.shape[1]))),
                            per_step=True)


def test_rtrl_and_rflo_per_step_equal_marschall():
    net, xs, ys = marschall_case()
    model = Leaky(net, net.alpha)
    for ours, theirs in [(rg.bptt.rtrl(), ref.RTRL()), (rg.bptt.rflo(1 - net.alpha), ref.RFLO(net.alpha))]:
        mine = ours_per_step(model, xs, ys, ours)
        expected = reference_per_step(net, theirs, xs, ys)
        for t, e in enumerate(expected):
            for name in ("W_rec", "W_in", "b_rec", "W_out", "b_out"):
                np.testing.assert_allclose(mine[name][t], e[name], rtol=1e-9, atol=1e-12, err_msg=f"{ours} {name} t={t}")


def test_rtrl_sums_to_full_bptt_and_to_marschall_bptt():
    net, xs, ys = marschall_case(T=10)
    model = Leaky(net, net.alpha)
    bx, by = as_batch(xs, ys)
    s0 = rg.tensor(np.zeros((1, net.n_h)))
    g_rtrl = rg.bptt.gradient(model, bx, by, soft_ce, rg.bptt.rtrl(), state=s0)
    g_full = rg.bptt.gradient(model, bx, by, soft_ce, rg.bptt.full(), state=s0)
    theirs = ref.full_bptt_gradient(net, xs, ys, np.zeros(net.n_h))
    for name in g_full:
        np.testing.assert_allclose(g_rtrl[name], g_full[name], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(g_rtrl[name], theirs[name], rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------- exact on the library's own cells
class CellModel(rg.nn.Module):
    def __init__(self, cell, hidden, n_out=2):
        super().__init__()
        self.cell, self.out = cell, rg.nn.Linear(hidden, n_out)
        self.lstm = isinstance(cell, rg.nn.LSTMCell)

    def forward(self, x, state):
        state = self.cell(x, state)
        h = state[0] if self.lstm else state
        return self.out(h), state


class TwoLayers(rg.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.out = rg.nn.GRUCell(3, 4), rg.nn.RNNCell(4, 3), rg.nn.Linear(3, 2)

    def forward(self, x, state):
        h1, h2 = (None, None) if state is None else state
        h1 = self.a(x, h1)
        h2 = self.b(h1, h2)
        return self.out(h2), (h1, h2)


def _float64(model):
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    return model


def mse(o, y):
    return ((o - y) ** 2).mean()


MODELS = {
    "rnn": lambda: CellModel(rg.nn.RNNCell(3, 4), 4),
    "lstm": lambda: CellModel(rg.nn.LSTMCell(3, 4), 4),
    "gru": lambda: CellModel(rg.nn.GRUCell(3, 4), 4),
    "two_layers": TwoLayers,
}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_rtrl_equals_full_per_step_and_summed(kind):
    rg.manual_seed(3)
    model = _float64(MODELS[kind]())
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((7, 3, 3)), rng.standard_normal((7, 3, 2))
    full = rg.bptt.gradient(model, xs, ys, mse, rg.bptt.full())
    per_full = rg.bptt.gradient(model, xs, ys, mse, rg.bptt.full(), per_step=True)
    per_rtrl = rg.bptt.gradient(model, xs, ys, mse, rg.bptt.rtrl(), per_step=True)
    for name in full:
        np.testing.assert_allclose(per_rtrl[name], per_full[name], rtol=1e-10, atol=1e-13, err_msg=name)
        np.testing.assert_allclose(per_rtrl[name].sum(0), full[name], rtol=1e-10, atol=1e-13, err_msg=name)
    snap_long = rg.bptt.gradient(model, xs, ys, mse, rg.bptt.snap(7))
    for name in full:
        np.testing.assert_allclose(snap_long[name], full[name], rtol=1e-10, atol=1e-13, err_msg=name)


def test_rtrl_with_mask_and_reset_equals_full():
    rg.manual_seed(4)
    model = _float64(CellModel(rg.nn.GRUCell(3, 4), 4))
    rng = np.random.default_rng(1)
    xs, ys = rng.standard_normal((6, 3, 3)), rng.standard_normal((6, 3, 2))
    mask = np.ones((6, 3), bool)
    mask[4:, 1] = False
    mask[0, 2] = False
    state = rg.tensor(rng.standard_normal((3, 4)))
    reset = np.array([False, True, False])
    kw = dict(state=state, mask=mask, reset=reset)
    full = rg.bptt.gradient(model, xs, ys, mse, rg.bptt.full(), **kw)
    rtrl = rg.bptt.gradient(model, xs, ys, mse, rg.bptt.rtrl(), **kw)
    for name in full:
        np.testing.assert_allclose(rtrl[name], full[name], rtol=1e-10, atol=1e-13, err_msg=name)


def test_rflo_zero_is_the_immediate_gradient():
    rg.manual_seed(5)
    model = _float64(CellModel(rg.nn.RNNCell(3, 4), 4))
    rng = np.random.default_rng(2)
    xs, ys = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 2))
    rflo0 = rg.bptt.gradient(model, xs, ys, mse, rg.bptt.rflo(0.0), per_step=True)
    chunk1 = rg.bptt.gradient(model, xs, ys, mse, rg.bptt.chunk(1), per_step=True)
    for name in rflo0:
        np.testing.assert_allclose(rflo0[name], chunk1[name], rtol=1e-10, atol=1e-13, err_msg=name)


def test_per_step_of_truncations_sums_to_the_mode_gradient():
    rg.manual_seed(6)
    model = _float64(CellModel(rg.nn.LSTMCell(3, 4), 4))
    rng = np.random.default_rng(3)
    xs, ys = rng.standard_normal((8, 2, 3)), rng.standard_normal((8, 2, 2))
    for mode in (rg.bptt.chunk(3), rg.bptt.window(2), rg.bptt.williams_peng(2, 4), rg.bptt.tail(3)):
        per = rg.bptt.gradient(model, xs, ys, mse, mode, per_step=True)
        total = rg.bptt.gradient(model, xs, ys, mse, mode)
        for name in total:
            np.testing.assert_allclose(per[name].sum(0), total[name], rtol=1e-9, atol=1e-12, err_msg=f"{mode} {name}")


# ---------------------------------------------------------------- unbiased estimators
def _seed_mean(model, xs, ys, make_mode, seeds, state):
    runs = []
    for s in range(seeds):
        g = rg.bptt.gradient(model, xs, ys, soft_ce, make_mode(s), state=state)
        runs.append(np.concatenate([g[n].ravel() for n in ("W", "b")]))
    runs = np.array(runs)
    return runs.mean(0), runs.std(0, ddof=1) / np.sqrt(seeds), runs


@pytest.mark.parametrize("rows", [1, 2])
@pytest.mark.parametrize("which", ["uoro", "kf_rtrl"])
def test_uoro_and_kf_rtrl_are_unbiased(which, rows):
    """The mean over seeds converges to RTRL: every entry within 5 standard errors
    (a correct estimator fails one of these ~40 entries with probability ≈ 2e-5,
    normal approximation; the seeds are fixed, so the test is deterministic).
    With two rows each row keeps its own estimate (its own signs and normalisers)."""
    net, xs, ys = marschall_case(T=4, n_h=3, alpha=0.7, seed=2)
    model = LeakyMujika(net, net.alpha)
    bx, by = as_batch(xs, ys)
    if rows == 2:
        bx, by = np.concatenate([bx, 1 - bx], 1), np.concatenate([by, by[::-1]], 1)
    s0 = rg.tensor(np.zeros((rows, net.n_h)))
    exact = rg.bptt.gradient(model, bx, by, soft_ce, rg.bptt.rtrl(), state=s0)
    exact = np.concatenate([exact[n].ravel() for n in ("W", "b")])
    make = (lambda s: rg.bptt.uoro(seed=s)) if which == "uoro" else (lambda s: rg.bptt.kf_rtrl(seed=s))
    mean, se, _ = _seed_mean(model, bx, by, make, 600 if rows == 1 else 300, s0)
    z = np.abs(mean - exact) / np.maximum(se, 1e-12)
    assert z.max() < 5, (which, z.max(), np.argmax(z))


@pytest.mark.parametrize("which", ["uoro", "kf_rtrl"])
def test_variance_matches_marschall(which):
    """Same network, same initialisation law (A₀, B₀ ~ N(0, 1)), Rademacher signs: the total
    variance of the summed gradient over 300 seeds agrees with their algorithm's within
    ×/÷1.3 (the ratio of two such variance estimates has a spread of about 12 %)."""
    net, xs, ys = marschall_case(T=5, n_h=4, alpha=0.7, seed=4)
    model = LeakyMujika(net, net.alpha)
    bx, by = as_batch(xs, ys)
    s0 = rg.tensor(np.zeros((1, net.n_h)))
    seeds = 300
    make = ((lambda s: rg.bptt.uoro(seed=s, init="normal")) if which == "uoro"
            else (lambda s: rg.bptt.kf_rtrl(seed=s, init="normal")))
    _, _, mine = _seed_mean(model, bx, by, make, seeds, s0)
    theirs = []
    for s in range(seeds):
        alg = ref.UORO(np.random.default_rng(10_000 + s)) if which == "uoro" else ref.KFRTRL(
            np.random.default_rng(10_000 + s))
        per = reference_per_step(net, alg, xs, ys)
        W = sum(np.concatenate([p["W_rec"], p["W_in"]], axis=1) for p in per)
        b = sum(p["b_rec"] for p in per)
        theirs.append(np.concatenate([W.ravel(), b.ravel()]))
    theirs = np.array(theirs)
    ratio = mine.var(0, ddof=1).sum() / theirs.var(0, ddof=1).sum()
    assert 1 / 1.3 < ratio < 1.3, ratio
    pooled_se = np.sqrt(mine.var(0, ddof=1) / seeds + theirs.var(0, ddof=1) / seeds)
    assert (np.abs(mine.mean(0) - theirs.mean(0)) / pooled_se).max() < 5


def test_kf_rtrl_refuses_other_forms():
    net, xs, ys = marschall_case(T=3)
    with pytest.raises(ValueError, match="Mujika's form"):
        rg.bptt.gradient(Leaky(net, net.alpha), *as_batch(xs, ys), soft_ce, rg.bptt.kf_rtrl(seed=0),
                         state=rg.tensor(np.zeros((1, net.n_h))))


def test_normalisers_are_guarded_at_a_zero_jacobian():
    """A state that forgets the previous one (α = 1, W_rec = 0): Jₜ = 0, yet every estimate is finite."""
    net, xs, ys = marschall_case(T=6, alpha=1.0)
    net.W_rec[:] = 0
    for model, mode in [(Leaky(net, 1.0), rg.bptt.uoro(seed=0)), (LeakyMujika(net, 1.0), rg.bptt.kf_rtrl(seed=0))]:
        g = rg.bptt.gradient(model, *as_batch(xs, ys), soft_ce, mode, state=rg.tensor(np.zeros((1, net.n_h))))
        assert all(np.isfinite(v).all() for v in g.values())


# ---------------------------------------------------------------- training
def test_train_updates_every_step_and_update_every_sums():
    net, xs, ys = marschall_case(T=6)
    bx, by = as_batch(xs, ys)
    s0 = rg.tensor(np.zeros((1, net.n_h)))
    model = Leaky(net.copy(), net.alpha)
    full = rg.bptt.gradient(model, bx, by, soft_ce, rg.bptt.full(), state=s0)
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    rg.bptt.train(model, bx, by, soft_ce, rg.optim.SGD(model.parameters(), lr=0.1), rg.bptt.rtrl(), state=s0,
                  update_every=6)
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.data, before[n] - 0.1 * full[n], rtol=1e-10, atol=1e-13)
    # online SGD after every step equals their train_online
    theirs = net.copy()
    losses_ref = ref.train_online(theirs, ref.RTRL(), xs, ys, lr=0.05)
    model = Leaky(net.copy(), net.alpha)
    res = rg.bptt.train(model, bx, by, soft_ce, rg.optim.SGD(model.parameters(), lr=0.05), rg.bptt.rtrl(), state=s0)
    np.testing.assert_allclose(res.losses, losses_ref, rtol=1e-10)
    for name in ("W_rec", "W_in", "b_rec", "W_out", "b_out"):
        np.testing.assert_allclose(getattr(model, name).data, getattr(theirs, name), rtol=1e-9, atol=1e-12)


def test_sequence_models_are_refused():
    lstm = rg.nn.LSTM(3, 4)
    with pytest.raises(ValueError, match="per-step model"):
        rg.bptt.gradient(lstm, np.zeros((3, 2, 3)), np.zeros((3, 2, 4)), lambda o, y: (o * o).mean(), rg.bptt.rtrl())


def test_train_stateful_carries_the_influence_across_batches():
    """Online RTRL over a sequence cut into batches (state and influence carried) is the same
    run as over the whole sequence: the same losses and the same final weights. A row that
    starts a new sequence starts with zero influence, as its state starts from zeros."""
    from retrograd.data import StatefulBatch
    net, xs, ys = marschall_case(T=12)
    bx, by = as_batch(xs, ys)
    s0 = rg.tensor(np.zeros((1, net.n_h)))
    whole = Leaky(net.copy(), net.alpha)
    res = rg.bptt.train(whole, bx, by, soft_ce, rg.optim.SGD(whole.parameters(), lr=0.05), rg.bptt.rtrl(),
                        state=s0)
    cut = Leaky(net.copy(), net.alpha)
    valid = np.ones((4, 1), bool)
    batches = [StatefulBatch(bx[k:k + 4], by[k:k + 4], np.array([k == 0]), valid, None) for k in (0, 4, 8)]
    out = rg.bptt.train_stateful(cut, batches, soft_ce, rg.optim.SGD(cut.parameters(), lr=0.05), rg.bptt.rtrl(),
                                 state=s0)
    np.testing.assert_allclose(np.concatenate(out.losses), res.losses, rtol=1e-12)
    for (name, p), q in zip(whole.named_parameters(), cut.parameters()):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-12, err_msg=name)
    # a reset row: its state and influence start from zero, so batch 2's per-step gradients are
    # those of a fresh run on batch 2 (weights held: an optimizer that only records the gradients)
    class Recorder:
        def __init__(self, params):
            self.params, self.seen = list(params), []

        def step(self):
            self.seen.append([p.grad.data.copy() for p in self.params])

    model = Leaky(net.copy(), net.alpha)
    recorder = Recorder(model.parameters())
    batches = [StatefulBatch(bx[0:4], by[0:4], np.array([True]), valid, None),
               StatefulBatch(bx[4:8], by[4:8], np.array([True]), valid, None)]
    rg.bptt.train_stateful(model, batches, soft_ce, recorder, rg.bptt.rtrl(), state=s0)
    fresh = rg.bptt.gradient(model, bx[4:8], by[4:8], soft_ce, rg.bptt.full(), state=s0, per_step=True)
    for t in range(4):
        for (name, _), g in zip(model.named_parameters(), recorder.seen[4 + t]):
            np.testing.assert_allclose(g, fresh[name][t], rtol=1e-10, atol=1e-13, err_msg=f"{name} t={t}")


@pytest.mark.parametrize("mode", [rg.bptt.uoro(seed=0), rg.bptt.snap(2), rg.bptt.rflo(0.5)], ids=repr)
def test_approximations_run_on_tuple_states_and_batches(mode):
    """An LSTM cell's (h, c) state, three rows, a mask: every estimate finite, of each parameter's
    shape; the readout's gradient exact (it does not reach the state)."""
    rg.manual_seed(7)
    model = _float64(CellModel(rg.nn.LSTMCell(3, 4), 4))
    rng = np.random.default_rng(5)
    xs, ys = rng.standard_normal((5, 3, 3)), rng.standard_normal((5, 3, 2))
    mask = np.ones((5, 3), bool)
    mask[3:, 0] = False
    per = rg.bptt.gradient(model, xs, ys, mse, mode, mask=mask, per_step=True)
    exact = rg.bptt.gradient(model, xs, ys, mse, rg.bptt.full(), mask=mask, per_step=True)
    for name, p in model.named_parameters():
        assert per[name].shape == (5,) + tuple(p.shape) and np.isfinite(per[name]).all()
    for name in ("out.weight", "out.bias"):
        np.testing.assert_allclose(per[name], exact[name], rtol=1e-10, atol=1e-13)
