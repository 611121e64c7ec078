"""``full(memory_budget=…)`` takes a positive, finite number of bytes and
refuses anything else when the mode is made, not later in the planner."""

import math

import numpy as np
import pytest

from retrograd import bptt


@pytest.mark.parametrize("budget", [math.inf, -math.inf, math.nan, np.float64("nan"), 0, 0.0, -1, -2.5])
def test_non_positive_or_non_finite_budget_is_refused(budget):
    with pytest.raises(ValueError, match=r"full: memory_budget must be a positive, finite number of bytes.*got"):
        bptt.full(memory_budget=budget)


@pytest.mark.parametrize("budget", [True, False, "1e6", [10 ** 6], None.__class__, 1 + 2j])
def test_non_number_budget_is_refused(budget):
    with pytest.raises(TypeError, match=r"full: memory_budget must be a number of bytes"):
        bptt.full(memory_budget=budget)


@pytest.mark.parametrize("budget", [10 ** 6, 1e6, np.int64(10 ** 6), np.float32(1e6)])
def test_numbers_of_bytes_are_accepted(budget):
    mode = bptt.full(memory_budget=budget)
    plan = mode.plan(100, step_bytes=4_000, state_bytes=500)
    assert plan.predicted_peak <= budget
