"""Binomial checkpointing: the reversal schedule that recomputes the fewest steps.

Griewank & Walther, "Algorithm 799: Revolve: an implementation of
checkpointing for the reverse or adjoint mode of computational
differentiation", ACM TOMS 26(1), 2000 (and Griewank 1992). The problem:
backpropagate through n steps x₀ → x₁ → … → xₙ keeping at most ``s`` states
(**snapshots**) in memory at once, the state x₀ entering step 0 being one of
them. Reversing step i needs its tape, recorded by running step i forward
from xᵢ just before it is reversed; every other run of a step is an
**advance** (a step run forward without a tape, only to reach a later state).

With β(s, r) = C(s + r, s) and r the *repetition number*, the least r with
β(s, r) ≥ n, the least number of advances over all schedules is::

    t(n, s) = r·n − β(s + 1, r − 1)

(Griewank & Walther 2000, Proposition 1; β(s, r) is the most steps s
snapshots reverse when no step is advanced more than r times). It counts the
first sweep (steps 0 … n−2 are advanced to reach xₙ₋₁) and every later
recomputation; step i's own recording, just before its reversal, is not an
advance. So a schedule runs steps ``n + t(n, s)`` times in all; ``t(n, s)``
is what it *recomputes* beyond the single forward pass that storing every
tape needs. Special cases: t(1, s) = 0; t(n, 1) = n(n−1)/2 (only x₀ kept);
t(n, s) = n − 1 when s ≥ n − 1 (every state entering a step stored: r = 1).

The schedule is built by the recursion whose optimum is t(n, s): to reverse
steps [a, b) from the stored xₐ with s snapshots (xₐ's included),

* one step: record and reverse it;
* one snapshot (only xₐ): for i = b−1 … a, restore xₐ, advance to xᵢ, reverse i;
* otherwise advance k steps, store xₐ₊ₖ, reverse [a + k, b) with s − 1
  snapshots, free xₐ₊ₖ, restore xₐ and reverse [a, a + k) with s,

with k minimising k + t(k, s) + t(n − k, s − 1). That sum is convex in k
(t is piecewise linear in n with slopes 0, 1, …, r increasing at each
β(s, r)), so its minimiser is found by bisection on its differences.
``tests/bptt/test_revolve.py`` checks the recursion's cost against the formula and
against an exhaustive search over all schedules of small n.

The **units** reversed here are whatever the engine makes them: single steps,
or segments of g steps recorded on one tape (``bounds`` gives their step
boundaries), so one family covers storing every tape (one unit of T steps),
√T segments (units of g steps, s ≥ n − 1 snapshots) and binomial
checkpointing (many units, few snapshots).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb
from typing import Iterator


def beta(s: int, r: int) -> int:
    """β(s, r) = C(s + r, s): the most steps ``s`` snapshots can reverse when no
    step is advanced more than ``r`` times (0 when r < 0)."""
    return comb(s + r, s) if r >= 0 and s >= 0 else 0


def repetitions(n: int, s: int) -> int:
    """The repetition number r: the least r ≥ 0 with β(s, r) ≥ n."""
    _check(n, s)
    if s == 1:
        return n - 1  # β(1, r) = r + 1
    r = 0
    while beta(s, r) < n:
        r += 1
    return r


def forward_steps(n: int, s: int) -> int:
    """t(n, s) = r·n − β(s + 1, r − 1): the fewest advances (steps run forward
    without recording, first sweep included) with which ``s`` snapshots reverse
    ``n`` steps (Griewank & Walther 2000). The steps are run n + t(n, s) times in all."""
    _check(n, s)
    if s == 1:
        return n * (n - 1) // 2
    r = repetitions(n, s)
    return r * n - beta(s + 1, r - 1)


def _check(n, s):
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"rg.bptt.revolve: the number of steps must be a positive int, got {n!r}")
    if not isinstance(s, int) or s < 1:
        raise ValueError(f"rg.bptt.revolve: the number of snapshots must be a positive int "
                         f"(the state entering step 0 is one of them), got {s!r}")


def split(n: int, s: int) -> int:
    """How many steps to advance before storing the next snapshot, for n ≥ 2
    steps and s ≥ 2 snapshots: the k ∈ [1, n−1] minimising
    k + t(k, s) + t(n − k, s − 1) (a convex function of k: bisect its differences)."""
    def cost(k):
        return k + forward_steps(k, s) + forward_steps(n - k, s - 1)

    lo, hi = 1, n - 1  # the least k with cost(k + 1) ≥ cost(k), or n − 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cost(mid + 1) >= cost(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


# ---------------------------------------------------------------- the actions of a schedule

@dataclass(frozen=True)
class Store:
    """Keep the current state (entering unit ``unit``) as a snapshot."""
    unit: int


@dataclass(frozen=True)
class Free:
    """Drop the snapshot of the state entering ``unit``."""
    unit: int


@dataclass(frozen=True)
class Restore:
    """Make the snapshot of the state entering ``unit`` the current state."""
    unit: int


@dataclass(frozen=True)
class Advance:
    """Run units ``start … stop − 1`` forward without a tape, from the current state."""
    start: int
    stop: int


@dataclass(frozen=True)
class Reverse:
    """Record unit ``unit`` from the current state and backpropagate through it."""
    unit: int


def actions(n: int, s: int) -> Iterator:
    """The optimal schedule reversing ``n`` units with ``s`` snapshots, as a lazy
    sequence of ``Store``/``Advance``/``Reverse``/``Restore``/``Free`` actions.
    The first sweep is the actions before the first ``Reverse`` (which is of
    unit n − 1); at most ``s`` snapshots are held at any time."""
    _check(n, s)
    if n == 1:
        yield Reverse(0)
        return
    yield Store(0)
    yield from _reverse(0, n, min(s, n - 1))
    yield Free(0)


def _reverse(a, b, s):
    """The recursion of ``rg.bptt.revolve``'s module docstring, run with an explicit stack (it
    nests s deep, and s may be in the thousands): the current state enters
    unit a and a snapshot of it is held (one of the s)."""
    todo = [(a, b, s)]
    while todo:
        task = todo.pop()
        if not isinstance(task, tuple):  # an action queued behind a sub-schedule
            yield task
            continue
        a, b, s = task
        if b - a == 1:
            yield Reverse(a)
        elif s == 1:
            for i in range(b - 1, a, -1):
                yield Advance(a, i)
                yield Reverse(i)
                yield Restore(a)
            yield Reverse(a)
        else:
            k = split(b - a, s)
            yield Advance(a, a + k)
            yield Store(a + k)
            # then: reverse [a+k, b) with s − 1, free x_{a+k}, restore x_a, reverse [a, a+k) with s
            todo.extend([(a, a + k, s), Restore(a), Free(a + k), (a + k, b, s - 1)])


# ---------------------------------------------------------------- a schedule over the steps of a sequence

@dataclass(frozen=True)
class Schedule:
    """Binomial checkpointing of ``T`` steps cut into units of ``unit`` steps
    (the last may be shorter) with ``snapshots`` states kept at most.

    ``recomputed`` is the number of steps run beyond one forward pass
    (``unit`` = 1: exactly ``forward_steps(T, snapshots)``); ``first_sweep``
    the steps whose incoming state the first sweep stores; ``peak_snapshots``
    the most snapshots held at once; ``repetition`` the most times a step is
    advanced (Griewank's r)."""
    T: int
    unit: int
    snapshots: int

    def __post_init__(self):
        _check(self.T, self.snapshots)
        if not isinstance(self.unit, int) or not 1 <= self.unit <= self.T:
            raise ValueError(f"rg.bptt.revolve: the unit must be an int in 1 … T = {self.T}, got {self.unit!r}")

    @property
    def n(self) -> int:
        """The number of units."""
        return -(-self.T // self.unit)

    def bounds(self, i: int) -> tuple[int, int]:
        """Steps [start, stop) of unit i."""
        return i * self.unit, min((i + 1) * self.unit, self.T)

    def actions(self) -> Iterator:
        """The actions over units (see ``actions``)."""
        return actions(self.n, self.snapshots)

    def _walk(self):
        if getattr(self, "_summary", None) is None:
            held, peak, advanced, first, sweeping = set(), 0, 0, [], True
            runs = [0] * self.n
            for act in self.actions():
                if isinstance(act, Store):
                    held.add(act.unit)
                    peak = max(peak, len(held))
                    if sweeping:
                        first.append(self.bounds(act.unit)[0])
                elif isinstance(act, Free):
                    held.discard(act.unit)
                elif isinstance(act, Advance):
                    advanced += self.bounds(act.stop - 1)[1] - self.bounds(act.start)[0]
                    for u in range(act.start, act.stop):
                        runs[u] += 1
                elif isinstance(act, Reverse):
                    sweeping = False
            object.__setattr__(self, "_summary", (advanced, tuple(first), peak, max(runs)))
        return self._summary

    @property
    def recomputed(self) -> int:
        """Steps run beyond one forward pass (the advances, first sweep included)."""
        return self._walk()[0]

    @property
    def first_sweep(self) -> tuple:
        """The steps whose incoming states the first sweep stores."""
        return self._walk()[1]

    @property
    def peak_snapshots(self) -> int:
        """The most snapshots held at once (≤ ``snapshots``)."""
        return self._walk()[2]

    @property
    def repetition(self) -> int:
        """The most times one unit is advanced."""
        return self._walk()[3]

    def __str__(self):
        return (f"binomial checkpointing of {self.T} steps in {self.n} units of {self.unit} step(s), "
                f"{self.snapshots} snapshots")


__all__ = ["beta", "repetitions", "forward_steps", "split", "actions", "Schedule", "Store", "Free", "Restore",
           "Advance", "Reverse"]
