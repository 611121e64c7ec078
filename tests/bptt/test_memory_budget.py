"""A memory budget is a promise: the peak a budgeted run reaches, measured by
``tracemalloc``, stays within the budget plus a stated allowance.

The allowance is what every schedule pays alike and the planner does not
count: the parameters' gradient accumulators, the update's sum of them and
one step's parameter gradient in flight (3 × the parameters' bytes), plus
64 KiB of bookkeeping (the per-step loss record, the runner's own objects).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import retrograd as rg
from retrograd import bptt, nn

T, B, I, H, O = 400, 16, 8, 128, 4
BOOKKEEPING = 64 * 1024


class LSTMCellModel(nn.Module):
    """A per-step model (called once per step): an ``LSTMCell`` and a readout, composed from ops."""

    def __init__(self):
        super().__init__()
        self.cell, self.out = nn.LSTMCell(I, H), nn.Linear(H, O)

    def forward(self, x, state):
        h, c = self.cell(x, state)
        return self.out(h), (h, c)


@pytest.fixture(scope="module")
def problem():
    rg.manual_seed(0)
    model = LSTMCellModel().double()
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((T, B, I)), rng.integers(0, O, (T, B))
    state = (rg.tensor(np.zeros((B, H))), rg.tensor(np.zeros((B, H))))
    return model, xs, ys, state


def _peak(problem, mode):
    model, xs, ys, state = problem
    tracemalloc.start()
    try:
        grads = bptt.gradient(model, xs, ys, rg.cross_entropy, mode, state=state)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, grads


@pytest.fixture(scope="module")
def store_all(problem):
    return _peak(problem, bptt.full())


@pytest.mark.parametrize("fraction", [0.02, 0.05])
def test_a_budgeted_per_step_lstm_cell_stays_within_its_budget(problem, store_all, fraction):
    """T 400, B 16, H 128, float64, per-step ``LSTMCell``: a budget of 2 % and 5 % of
    store-all's peak holds, and the gradient is store-all's."""
    full_peak, exact = store_all
    params = sum(p.data.nbytes for p in problem[0].parameters())
    budget = int(fraction * full_peak)
    mode = bptt.full(memory_budget=budget)
    peak, got = _peak(problem, mode)
    allowance = 3 * params + BOOKKEEPING
    assert peak <= budget + allowance, (f"peak {peak / 2**20:.2f} MiB over a budget of {budget / 2**20:.2f} MiB "
                                        f"+ {allowance / 2**20:.2f} MiB allowance\n{mode.last_plan}")
    assert mode.last_plan.recomputed > 0  # the budget really forced checkpointing
    for k in exact:
        np.testing.assert_allclose(got[k], exact[k], rtol=1e-10, atol=1e-12 * np.abs(exact[k]).max())


def test_the_measured_step_counts_the_tape_the_state_and_the_backward(problem):
    """The probe measures what the model keeps: a step's tape (its kept arrays, the state the
    next step keeps, the tape's objects), the state, and the gradients its backward creates."""
    model, xs, ys, state = problem
    mode = bptt.full(memory_budget=10 * 2**20)
    bptt.gradient(model, xs[:20], ys[:20], rg.cross_entropy, mode, state=state)
    plan = mode.last_plan
    row = B * H * 8  # one (B, H) float64 array
    # i, f, g, o, c, tanh c, h (kept by the next step): at least seven rows, and not much more
    assert 7 * row <= plan.step_bytes <= 10 * row, plan
    assert plan.state_bytes == 2 * row and plan.per_step
    assert plan.grad_bytes >= 7 * row, plan
