"""Binomial checkpointing (rg.bptt.revolve) and the budgeted full() modes.

The schedule's cost is checked against Griewank & Walther's formula, the
formula against an exhaustive search over every schedule of small problems,
the engine's step count (model calls) against the formula, and every
checkpointed gradient against storing every tape (float64, dropout included)."""

import heapq
import itertools
import tracemalloc
from functools import lru_cache
from math import comb

import numpy as np
import pytest

import retrograd as rg
from retrograd import bptt, nn
from retrograd.bptt import revolve
from retrograd.bptt.revolve import Advance, Free, Restore, Reverse, Schedule, Store


# ---------------------------------------------------------------- the formula and the schedule

def brute_force_cost(n, s):
    """The fewest advances that reverse n steps keeping at most s states, by
    Dijkstra over every reachable machine state: (steps still to reverse m,
    position of the current state or −1 for none, stored positions). Moves: advance
    one step (cost 1), store/free the current state, restore a stored state,
    reverse step m − 1 when the current state enters it. Makes no assumption
    on the schedule's shape."""
    start = (n, 0, frozenset())
    best = {start: 0}
    heap = [(0, start)]
    while heap:
        cost, node = heapq.heappop(heap)
        if cost > best.get(node, 1 << 60):
            continue
        m, pos, held = node
        if m == 0:
            return cost
        moves = []
        if 0 <= pos < m - 1:
            moves.append(((m, pos + 1, held), 1))
        if pos == m - 1:
            moves.append(((m - 1, -1, frozenset(h for h in held if h < m - 1)), 0))
        if pos >= 0 and pos not in held and len(held) < s:
            moves.append(((m, pos, held | {pos}), 0))
        for h in held:
            moves.append(((m, h, held), 0))
            moves.append(((m, pos, held - {h}), 0))
        for nxt, c in moves:
            if cost + c < best.get(nxt, 1 << 60):
                best[nxt] = cost + c
                heapq.heappush(heap, (cost + c, nxt))
    return None


@lru_cache(maxsize=None)
def split_dp(n, s):
    """The recursion's optimum over every split point (no bisection)."""
    if n == 1:
        return 0
    if s == 1:
        return n * (n - 1) // 2
    return min(k + split_dp(n - k, s - 1) + split_dp(k, s) for k in range(1, n))


def griewank(n, s):
    """t(n, s) = r·n − β(s+1, r−1), written out from the paper with math.comb."""
    r = 0
    while comb(s + r, s) < n:
        r += 1
    return r * n - (comb(s + r, s + 1) if r >= 1 else 0)


@pytest.mark.parametrize("n,s", [(n, s) for n in range(1, 8) for s in range(1, 4)])
def test_formula_is_the_optimum_of_an_exhaustive_search(n, s):
    assert brute_force_cost(n, s) == griewank(n, s) == revolve.forward_steps(n, s)


def test_formula_equals_the_split_recursion_and_the_schedule_for_many_sizes():
    for n in range(1, 61):
        for s in range(1, 9):
            assert split_dp(n, s) == griewank(n, s) == revolve.forward_steps(n, s), (n, s)
            assert Schedule(n, 1, s).recomputed == griewank(n, s), (n, s)
    for n, s in [(1000, 1), (1000, 2), (1000, 5), (1000, 11), (1000, 40), (1000, 999), (777, 13), (5000, 20)]:
        assert Schedule(n, 1, s).recomputed == griewank(n, s), (n, s)


def simulate(sch: Schedule):
    """Run the actions on an abstract machine, checking each is legal: returns
    (units reversed in order, most snapshots held, advances in steps)."""
    held, cur, reversed_, peak, advanced = {}, None, [], 0, 0
    cur = 0
    for act in sch.actions():
        if isinstance(act, Store):
            assert cur == act.unit and act.unit not in held
            held[act.unit] = True
            peak = max(peak, len(held))
        elif isinstance(act, Free):
            del held[act.unit]
        elif isinstance(act, Restore):
            assert act.unit in held
            cur = act.unit
        elif isinstance(act, Advance):
            assert cur == act.start < act.stop
            advanced += sch.bounds(act.stop - 1)[1] - sch.bounds(act.start)[0]
            cur = act.stop
        else:
            assert isinstance(act, Reverse) and cur == act.unit
            reversed_.append(act.unit)
            cur = None
    return reversed_, peak, advanced


@pytest.mark.parametrize("T,unit,s", [(1, 1, 1), (2, 1, 1), (10, 1, 3), (37, 1, 4), (100, 1, 7), (50, 7, 3),
                                      (50, 7, 10), (23, 23, 2), (64, 4, 2)])
def test_schedule_reverses_every_unit_once_in_order_within_its_snapshots(T, unit, s):
    sch = Schedule(T, unit, s)
    order, peak, advanced = simulate(sch)
    assert order == list(range(sch.n - 1, -1, -1))
    assert peak == sch.peak_snapshots <= s
    assert advanced == sch.recomputed
    if unit == 1:
        assert advanced == griewank(T, s)


def test_revolve_checks_its_arguments():
    with pytest.raises(ValueError, match="snapshots must be a positive int"):
        revolve.forward_steps(10, 0)
    with pytest.raises(ValueError, match="number of steps"):
        Schedule(0, 1, 2)
    with pytest.raises(ValueError, match="unit"):
        Schedule(10, 11, 2)
    with pytest.raises(ValueError, match="snapshots must be a positive int"):
        bptt.full(snapshots=0)
    with pytest.raises(ValueError, match="memory_budget alone"):
        bptt.full(snapshots=3, memory_budget=10**6)


# ---------------------------------------------------------------- the engine runs the schedule

class CellModel(nn.Module):
    """An LSTM cell with dropout on its output; counts its calls (one per step)."""

    def __init__(self, kind="LSTM", I=3, H=5, O=2, p=0.3):
        super().__init__()
        self.kind, self.calls = kind, 0
        self.cell = getattr(nn, kind + "Cell")(I, H)
        self.drop = nn.Dropout(p)
        self.out = nn.Linear(H, O)

    def forward(self, x, state):
        self.calls += 1
        state = self.cell(x, state)
        h = state[0] if self.kind == "LSTM" else state
        return self.out(self.drop(h)), state


class SeqModel(nn.Module):
    """A fused layer as a sequence model (called once per segment), dropout on its outputs."""
    sequence_model = True

    def __init__(self, kind="LSTM", I=3, H=5, O=2, p=0.3, num_layers=1):
        super().__init__()
        self.rnn = getattr(nn, kind)(I, H, num_layers=num_layers)
        self.drop = nn.Dropout(p)
        self.out = nn.Linear(H, O)
        self.steps = 0

    def forward(self, x, state, mask=None):
        self.steps += x.shape[0]
        h, state = self.rnn(x, state) if mask is None else self.rnn(x, state, mask=mask)
        return self.out(self.drop(h)), state


def data(T, B=4, I=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((T, B, I)), rng.integers(0, 2, (T, B))


def grads(model, xs, ys, mode, seed=5, **kw):
    rg.manual_seed(seed)
    return bptt.gradient(model, xs, ys, rg.cross_entropy, mode, **kw)


def assert_same(got, exact, what):
    for k in exact:
        np.testing.assert_allclose(got[k], exact[k], rtol=1e-12, atol=1e-14 * np.abs(exact[k]).max(),
                                   err_msg=f"{what}: {k}")


@pytest.mark.parametrize("T,s", [(1, 1), (2, 1), (9, 2), (20, 3), (33, 4), (60, 6), (40, 39), (25, 1)])
def test_engine_runs_T_plus_the_formula_steps_with_the_store_all_gradient(T, s):
    rg.manual_seed(0)
    model = CellModel().double()
    xs, ys = data(T)
    model.calls = 0
    exact = grads(model, xs, ys, bptt.full())
    assert model.calls == T
    model.calls = 0
    got = grads(model, xs, ys, bptt.full(snapshots=s))
    assert model.calls == T + griewank(T, s)
    assert_same(got, exact, f"snapshots={s}")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("mode", [bptt.full(snapshots=3), bptt.full(snapshots=2, checkpoint_every=4),
                                  bptt.full(checkpoint_every=5), bptt.full(memory_budget=20_000)], ids=str)
def test_fused_layers_and_cells_under_checkpointing_equal_store_all(kind, mode):
    xs, ys = data(23)
    for make in (lambda: CellModel(kind), lambda: SeqModel(kind)):
        rg.manual_seed(0)
        model = make().double()
        assert_same(grads(model, xs, ys, mode), grads(model, xs, ys, bptt.full()), f"{kind} {mode}")


def test_sequence_model_runs_T_plus_the_formula_steps():
    rg.manual_seed(0)
    model = SeqModel("LSTM", num_layers=2, p=0.0).double()
    xs, ys = data(30)
    exact = grads(model, xs, ys, bptt.full())
    model.steps = 0
    got = grads(model, xs, ys, bptt.full(snapshots=4))
    assert model.steps == 30 + griewank(30, 4)
    assert_same(got, exact, "2-layer LSTM")


def test_masks_batch_first_and_initial_state_under_binomial_checkpointing():
    rg.manual_seed(0)
    model = SeqModel("GRU").double()
    cell = CellModel("GRU").double()
    xs, ys = data(17, B=3)
    mask = np.ones((17, 3), dtype=bool)
    mask[12:, 0] = False
    mask[5:, 2] = False
    for m in (model, cell):
        exact = grads(m, xs, ys, bptt.full(), mask=mask)
        assert_same(grads(m, xs, ys, bptt.full(snapshots=3), mask=mask), exact, "mask")
    xb, yb = np.ascontiguousarray(xs.transpose(1, 0, 2)), np.ascontiguousarray(ys.T)
    exact = grads(cell, xb, yb, bptt.full(), batch_first=True)
    assert_same(grads(cell, xb, yb, bptt.full(snapshots=2), batch_first=True), exact, "batch_first")
    h0 = rg.tensor(np.random.default_rng(3).standard_normal((3, 5)))
    exact = grads(cell, xs, ys, bptt.full(), state=h0)
    assert_same(grads(cell, xs, ys, bptt.full(snapshots=3), state=h0), exact, "initial state")


def test_train_with_snapshots_makes_the_same_update():
    xs, ys = data(15)
    results = []
    for mode in (bptt.full(), bptt.full(snapshots=2)):
        rg.manual_seed(0)
        model = CellModel().double()
        opt = rg.optim.SGD(model.parameters(), lr=0.3)
        rg.manual_seed(7)
        res = bptt.train(model, xs, ys, rg.cross_entropy, opt, mode)
        results.append((res.losses, res.update_losses, [p.data.copy() for p in model.parameters()]))
    (l1, u1, p1), (l2, u2, p2) = results
    np.testing.assert_allclose(l2, l1, rtol=1e-13)
    np.testing.assert_allclose(u2, u1, rtol=1e-13)
    for a, b in zip(p1, p2):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", [bptt.full(snapshots=3), bptt.full(snapshots=2, checkpoint_every=3),
                                  bptt.full(memory_budget=7_000)], ids=str)
def test_scan_under_binomial_checkpointing_equals_full(mode):
    rng = np.random.default_rng(0)
    T = 21

    def run(mode):
        w = rg.tensor(rng_w, requires_grad=True)
        x = rg.tensor(xs, requires_grad=True)
        h0 = rg.tensor(h0v, requires_grad=True)
        rg.manual_seed(2)
        drop = nn.Dropout(0.25)
        carry, ys = rg.scan(lambda h, xt: ((hn := rg.tanh(h @ w + xt)), drop(hn) * 2.0), h0, x, mode)
        (ys.sum() + (carry ** 2).sum()).backward()
        return w.grad.data, x.grad.data, h0.grad.data

    rng_w, xs, h0v = rng.standard_normal((6, 6)) * 0.4, rng.standard_normal((T, 4, 6)), rng.standard_normal((4, 6))
    for e, g in zip(run(bptt.full()), run(mode)):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14 * np.abs(e).max())


# ---------------------------------------------------------------- the budget picks the cheapest schedule that fits

def test_best_schedule_is_the_cheapest_fitting_member_of_the_family():
    """Against every (unit, snapshots) pair, costed exactly by walking its schedule."""
    for T, b, c in [(30, 1000, 300), (24, 500, 500), (40, 3000, 1000)]:
        for budget in (2_000, 3_500, 6_000, 12_000, 25_000, 60_000, 200_000):
            got = bptt.best_schedule(T, b, c, budget)
            options = []
            if T * b + c <= budget:
                options.append(0)
            for g in range(1, T + 1):
                n = -(-T // g)
                for s in range(1, n):
                    # the memory model: snapshots, the carried state, a unit's tape and its backward's gradients
                    if (min(s, n - 1) + 1) * c + 2 * g * b <= budget:
                        options.append(Schedule(T, g, s).recomputed)
            if not options:
                assert got is None and budget < bptt.planner.least_bytes(T, b, c)
                continue
            assert got.peak <= budget
            exact = 0 if got.snapshots is None else Schedule(T, got.unit, got.snapshots).recomputed
            # the unit·t(n, s) estimate is exact for equal units; a shorter last unit can save a few steps
            assert exact <= min(options) + got.unit, (T, b, c, budget, got, min(options))


def test_budget_plan_prints_and_plots(tmp_path):
    mode = bptt.full(memory_budget=3 * 2**20)
    print(mode.plan(1000))
    plan = mode.plan(1000, step_bytes=200 * 1024, state_bytes=64 * 1024)
    text = str(plan)
    sch = plan.schedule
    assert sch is not None and sch.snapshots < sch.n - 1  # binomial: fewer snapshots than units
    assert f"recomputes {sch.recomputed} steps" in text and "predicted peak" in text
    assert plan.predicted_peak <= 3 * 2**20
    assert "states entering steps 0, " in text
    wide = bptt.full(memory_budget=2 * 1000 * 200 * 1024 + 64 * 1024).plan(1000, 200 * 1024, 64 * 1024)
    assert wide.schedule is None and wide.recomputed == 0 and "stores every step's tape" in str(wide)
    one = bptt.full(snapshots=11).plan(1000)
    assert f"= {griewank(1000, 11)}" in str(one)
    with pytest.raises(MemoryError, match="need at least"):
        bptt.full(memory_budget=300 * 1024).plan(1000, 200 * 1024, 64 * 1024)
    path = plan.plot(str(tmp_path / "budget.png"))
    assert path is None or (tmp_path / "budget.png").stat().st_size > 1000


def test_last_plan_reports_the_measured_peak_within_the_prediction():
    rg.manual_seed(0)
    model = CellModel(H=16).double()
    xs, ys = data(50)
    mode = bptt.full(memory_budget=60_000)
    grads(model, xs, ys, mode)
    plan = mode.last_plan
    assert plan.schedule is not None and plan.measured_peak is not None
    # the engine counts the snapshots and the tape; the prediction adds the backward's gradients
    assert 0.4 * plan.predicted_peak <= plan.measured_peak <= plan.predicted_peak <= 60_000
    assert "measured peak" in str(plan)


def _peak(mode, T=600):
    rg.manual_seed(0)
    model = SeqModel("RNN", I=8, H=64, O=4, p=0.0).double()
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((T, 16, 8)), rng.integers(0, 4, (T, 16))
    tracemalloc.start()
    g = bptt.gradient(model, xs, ys, rg.cross_entropy, mode)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - 8 * T, g


def test_binomial_checkpointing_keeps_few_states_and_the_budget():
    full, exact = _peak(bptt.full())
    few, got = _peak(bptt.full(snapshots=8))
    assert few < full / 20, f"full {full / 2**20:.1f} MiB, 8 snapshots {few / 2**20:.2f} MiB"
    for k in exact:
        np.testing.assert_allclose(got[k], exact[k], rtol=1e-10, atol=1e-12 * np.abs(exact[k]).max())
    # the budget covers the tape and the stored states; the gradient accumulators and the temporaries of
    # one backward step (a few hundred KiB here, whatever the schedule) come on top
    budget = 2 * 2**20
    peak, _ = _peak(bptt.full(memory_budget=budget))
    assert peak < budget < full / 5, f"peak {peak / 2**20:.2f} MiB over a budget of 2 MiB"
