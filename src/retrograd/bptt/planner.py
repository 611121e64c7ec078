"""What a truncation mode asks the BPTT engine to do, as one ``Plan``.

A mode (``rg.bptt.modes``) answers ``mode.plan(T)`` with everything the engine
needs for a sequence of T steps, and the engine asks nothing else:

* ``jobs``: "backpropagate the losses of steps ``losses`` through steps
  ``first … last``", in order (lazily: T jobs for ``window`` stay O(1) memory);
* ``segment``: steps recorded on one tape; every job boundary falls on a
  segment boundary, so a job is a walk over whole segments (with a
  ``schedule``: the schedule's unit);
* ``no_grad_prefix``: steps run without recording at all (``tail``);
* ``recompute``: keep only a checkpoint per segment (its incoming state and
  RNG state) and record the segment again in the backward pass;
* ``schedule``: a checkpointing schedule (``rg.bptt.revolve.Schedule``): the
  engine keeps at most ``schedule.snapshots`` states, recomputes from them and
  backpropagates unit by unit in the order the schedule says (``full(snapshots=…)``,
  ``full(checkpoint_every=…)`` and the budgeted ``full(memory_budget=…)``);
* ``memory_budget``: the schedule is not known yet: the engine records one
  step, measures its tape (b bytes) and the state (c bytes) and asks
  ``plan.fitted(b, c)``, which takes the schedule with the fewest recomputed
  steps that fits (``best_schedule``).

``str(plan)`` says what a plan stores, how many steps it recomputes and the
peak memory it predicts (and measured, on ``mode.last_plan`` after a run);
``plan.plot(path)`` draws recomputation against memory for the whole family.

**Memory model** (bytes; b = one step's tape, d = the gradients and scratch
its backward pass creates, c = one state): a unit of g steps being reversed
holds g·b of tape and what its backward pass creates: g·d for a sequence
model (one op spans the unit, its gradients too), d for a per-step model
(the pass frees each step's gradients as it moves on); call that u(g).
Storing every tape needs u(T) + c (costed like one unit of T steps); a
schedule over units of g steps holding at most p snapshots needs
(p + 1)·c + u(g): the snapshots, the state being carried, and the unit. The engine measures b and d on the first
step (``checkpointing.tape_bytes``: the arrays the tape keeps, the state the
next step keeps and the tape's own objects; ``backward_bytes``: one gradient
per input that needs one, plus each op's declared vjp scratch); when only b
is given (``plan(T, step_bytes=…)``), d = b. The parameters, their gradient
accumulators and the inputs are not counted: they are the same for every
schedule (a test holds the measured peak of a budgeted run to the budget
plus them, by ``tracemalloc``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator

from .revolve import Schedule, beta, forward_steps, repetitions


@dataclass(frozen=True)
class Job:
    """Backpropagate the losses of steps ``losses`` (a range) through steps
    ``first … losses[-1]``; part of update number ``update``."""
    update: int
    losses: range
    first: int

    @property
    def last(self) -> int:
        return self.losses[-1]


class JobSchedule:
    """The jobs of one sequence, produced lazily each time they are iterated
    (``make()`` returns a fresh iterator), so a plan can be walked more than once
    without holding O(T) jobs."""

    def __init__(self, make: Callable[[], Iterator[Job]]):
        self._make = make

    def __iter__(self) -> Iterator[Job]:
        return iter(self._make())


def segment_for_budget(T: int, step_bytes: int, state_bytes: int, budget: int) -> int:
    """The longest segment length s whose checkpointed run fits ``budget`` bytes.

    With segments of s steps recomputed from checkpoints, memory holds one
    segment's tape (s·b for a tape of b bytes per step) and one state per
    checkpoint (⌈T/s⌉·c for a state of c bytes)::

        s* = max { s ∈ 1 … T : s·b + ⌈T/s⌉·c ≤ budget }

    Raises ``MemoryError`` (with the least memory any s needs) when no s fits.
    """
    b = max(step_bytes, 1)
    c = state_bytes
    fits = [s for s in range(1, T + 1) if s * b + -(-T // s) * c <= budget]
    if not fits:
        need = min(s * b + -(-T // s) * c for s in range(1, T + 1))
        raise MemoryError(f"rg.bptt.full(memory_budget={budget}): a step's tape is {b} bytes and the state "
                          f"{c} bytes, so {T} steps need at least {need} bytes with checkpointing")
    return max(fits)


@dataclass(frozen=True)
class Choice:
    """One member of the schedule family: units of ``unit`` steps and at most
    ``snapshots`` stored states (None: every tape stored, nothing recomputed),
    with its ``recomputed`` steps (estimated as unit·t(n, s)) and ``peak`` bytes."""
    unit: int
    snapshots: int | None
    recomputed: int
    peak: int


def unit_bytes(unit: int, step_bytes: int, grad_bytes: int | None = None, per_step: bool = False) -> int:
    """u(g): a unit of ``unit`` steps being reversed — its tape and what its
    backward pass creates: g·b + g·d, or g·b + d for a per-step model
    (``per_step``). d = b when not measured."""
    d = step_bytes if grad_bytes is None else grad_bytes
    return unit * step_bytes + (d if per_step else unit * d)


def store_all_bytes(T: int, step_bytes: int, state_bytes: int, grad_bytes: int | None = None,
                    per_step: bool = False) -> int:
    """Peak bytes of storing every step's tape, costed like a schedule's unit (one
    unit of T steps): u(T) + c, so that a budget compares every schedule on
    the same footing."""
    return unit_bytes(T, step_bytes, grad_bytes, per_step) + state_bytes


def schedule_bytes(T: int, unit: int, snapshots: int, step_bytes: int, state_bytes: int,
                   grad_bytes: int | None = None, per_step: bool = False) -> int:
    """Peak bytes of a schedule over units of ``unit`` steps holding at most
    ``snapshots`` states: (p + 1)·c + u(unit), p = min(snapshots, n − 1)."""
    n = -(-T // unit)
    return (min(snapshots, n - 1) + 1) * state_bytes + unit_bytes(unit, step_bytes, grad_bytes, per_step)


def _units(T):
    # for a given number of units n the shortest unit ⌈T/n⌉ is best (least tape): O(√T) candidates
    root = math.isqrt(T) + 1
    return sorted({g for g in range(1, min(root, T) + 1)} | {-(-T // n) for n in range(1, min(root, T) + 1)})


def best_schedule(T: int, step_bytes: int, state_bytes: int, budget: int, family: str = "any",
                  grad_bytes: int | None = None, per_step: bool = False) -> Choice | None:
    """The schedule with the fewest recomputed steps whose peak fits ``budget``
    (ties: the least memory), or None when none fits.

    ``family``: ``"any"`` (store every tape, or units of any length g with
    the most snapshots that fit), ``"segments"`` (√T checkpointing: a snapshot
    per unit, so each step is recomputed at most once), ``"binomial"`` (single
    steps, the most snapshots that fit: Griewank & Walther's revolve). For
    units of g steps, n = ⌈T/g⌉ of them and s snapshots, the steps recomputed
    are g·t(n, s) with t(n, s) = r·n − β(s + 1, r − 1) (``rg.bptt.revolve``).
    ``grad_bytes``, ``per_step``: d of the memory model and whether it is
    paid once per unit (a per-step model) rather than per step (``rg.bptt.planner``'s module docstring).
    """
    b, c = max(int(step_bytes), 1), max(int(state_bytes), 0)
    d = None if grad_bytes is None else int(grad_bytes)
    best = None
    if family == "any" and store_all_bytes(T, b, c, d, per_step) <= budget:
        best = Choice(T, None, 0, store_all_bytes(T, b, c, d, per_step))
    units = [1] if family == "binomial" else _units(T)
    for g in units:
        n = -(-T // g)
        if n == 1:
            continue
        room = budget - unit_bytes(g, b, d, per_step) - c
        if room < c:  # not even the snapshot of the first state fits
            continue
        s = n - 1 if c == 0 else min(room // c, n - 1)
        if family == "segments" and s < n - 1:
            continue
        cost = g * forward_steps(n, s)
        choice = Choice(g, s, cost, schedule_bytes(T, g, s, b, c, d, per_step))
        if best is None or (cost, choice.peak) < (best.recomputed, best.peak):
            best = choice
    return best


def least_bytes(T: int, step_bytes: int, state_bytes: int, grad_bytes: int | None = None,
                per_step: bool = False) -> int:
    """The least peak any schedule needs: one step's tape and its backward pass
    and two states (the snapshot of the first state and the one carried), or
    b + d + c for T = 1."""
    if T == 1:
        return store_all_bytes(T, step_bytes, state_bytes, grad_bytes, per_step)
    return schedule_bytes(T, 1, 1, step_bytes, state_bytes, grad_bytes, per_step)


def _fmt(nbytes) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{int(nbytes)} B"


def _n(k, word) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _steps(values, limit=12) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f", … ({len(values)} in all)" if len(values) > limit else "")


@dataclass(frozen=True)
class Plan:
    """How the engine runs one mode over a sequence of ``T`` steps (see the
    ``rg.bptt.planner``'s module docstring for each field). ``step_bytes``/``state_bytes``/``grad_bytes``:
    the measured (or given) tape of one step, size of one state and bytes its
    backward pass creates (None: as large as the tape), when known;
    ``per_step``: the model is called once per step, so a unit's backward
    pass creates one step's gradients at a time;
    ``measured_peak``: the peak the engine saw (snapshots + the tape being
    reversed), set on ``mode.last_plan`` after a checkpointed run."""
    T: int
    jobs: Iterable[Job]
    segment: int
    no_grad_prefix: int = 0
    recompute: bool = False
    memory_budget: int | None = None
    schedule: Schedule | None = None
    step_bytes: int | None = None
    state_bytes: int | None = None
    grad_bytes: int | None = None
    per_step: bool = False
    measured_peak: int | None = None
    mode: str = ""

    @property
    def needs_measurement(self) -> bool:
        """The schedule waits for the first step's tape to be measured."""
        return self.memory_budget is not None

    def fitted(self, step_bytes: int, state_bytes: int, grad_bytes: int | None = None,
               per_step: bool = False) -> "Plan":
        """This plan with the schedule ``best_schedule`` picks for a measured
        step (``step_bytes`` of tape, ``state_bytes`` of state, ``grad_bytes``
        created by its backward pass; ``per_step``: a per-step model) within
        the budget: store every tape, or
        the fewest recomputed steps that fit. Raises ``MemoryError`` (with the
        least memory any schedule needs)."""
        budget = self.memory_budget
        choice = best_schedule(self.T, step_bytes, state_bytes, budget, grad_bytes=grad_bytes, per_step=per_step)
        if choice is None:
            backward = "" if grad_bytes is None else f", its backward pass creates {grad_bytes} bytes"
            raise MemoryError(f"rg.bptt.full(memory_budget={budget}): a step's tape is {step_bytes} bytes{backward} "
                              f"and the state {state_bytes} bytes, so {self.T} steps need at least "
                              f"{least_bytes(self.T, step_bytes, state_bytes, grad_bytes, per_step)} bytes with "
                              f"checkpointing")
        sized = replace(self, memory_budget=None, step_bytes=step_bytes, state_bytes=state_bytes,
                        grad_bytes=grad_bytes, per_step=per_step)
        if choice.snapshots is None:
            return replace(sized, segment=self.T, recompute=False, schedule=None)
        return replace(sized, segment=choice.unit, recompute=True,
                       schedule=Schedule(self.T, choice.unit, choice.snapshots))

    def with_segment(self, segment: int) -> "Plan":
        """This plan recorded in segments of ``segment`` steps (a divisor of
        every job boundary; 1 always is: ``trace`` looks at single steps),
        checkpointed per segment if the plan recomputes."""
        return replace(self, segment=segment, memory_budget=None, schedule=None)

    def cut_points(self) -> list | None:
        """The steps where one graph is cut, if the schedule is just that.

        When the jobs tile the recorded steps [no_grad_prefix, T) and each job
        reaches back exactly to its own first loss (``full``, ``chunk``,
        ``tail``, ``window(1)``), running the loop once and detaching the state
        before each job's first step gives every loss exactly its job's reach:
        returns those first steps. Otherwise (``window(k > 1)``,
        ``williams_peng`` with k1 < k2: losses with overlapping reaches) None.
        """
        expected, cuts = self.no_grad_prefix, []
        for job in self.jobs:
            if job.losses.step != 1 or job.losses.start != expected or job.first != expected:
                return None
            cuts.append(job.first)
            expected = job.losses.stop
        return cuts if expected == self.T else None

    # ------------------------------------------------------------ what the plan costs
    @property
    def recomputed(self) -> int | None:
        """Steps run beyond one forward pass (None while the schedule waits for a measurement)."""
        if self.needs_measurement:
            return None
        if self.schedule is not None:
            return self.schedule.recomputed
        if self.recompute:  # a checkpoint per segment: all but the last segment run twice
            last = (self.T - self.no_grad_prefix) % self.segment or self.segment
            return max(self.T - self.no_grad_prefix - last, 0)
        return 0

    @property
    def predicted_peak(self) -> int | None:
        """Peak bytes of the memory model in ``rg.bptt.planner``'s module docstring, when the step
        and state sizes are known."""
        b, c, d, per_step = self.step_bytes, self.state_bytes, self.grad_bytes, self.per_step
        if b is None or c is None or self.needs_measurement:
            return None
        if self.schedule is not None:
            sch = self.schedule
            return (sch.peak_snapshots + 1) * c + unit_bytes(sch.unit, b, d, per_step)
        if self.recompute:
            return (-(-self.T // self.segment) + 1) * c + unit_bytes(self.segment, b, d, per_step)
        return store_all_bytes(self.T, b, c, d, per_step)

    def __str__(self):
        T, head = self.T, f"{self.mode or 'plan'} over T = {self.T} steps"
        sizes = (f"; a step's tape is {_fmt(self.step_bytes)}, a state {_fmt(self.state_bytes)}"
                 if self.step_bytes is not None and self.state_bytes is not None else "")
        if sizes and self.grad_bytes is not None:
            sizes += f", a step's backward pass {_fmt(self.grad_bytes)}"
        if self.needs_measurement:
            return (f"{head}: memory budget {_fmt(self.memory_budget)}; the schedule is chosen once the first "
                    f"step's tape and the state are measured (give plan(T, step_bytes=…, state_bytes=…), or "
                    f"read mode.last_plan after a run)")
        lines = []
        sch = self.schedule
        if sch is not None:
            kind = ("√T checkpointing (a snapshot per unit)" if sch.snapshots >= sch.n - 1
                    else "binomial checkpointing (Griewank & Walther's revolve)")
            lines.append(f"{head}: {kind}, {_n(sch.n, 'unit')} of {_n(sch.unit, 'step')}, at most "
                         f"{_n(sch.snapshots, 'snapshot')}{sizes}")
            lines.append(f"  the first sweep stores the states entering steps {_steps(sch.first_sweep)}; "
                         f"at most {sch.peak_snapshots} held at once")
            R = sch.recomputed
            lines.append(f"  recomputes {_n(R, 'step')}: {(T + R) / T:.2f} forward steps per step, no unit "
                         f"advanced more than {_n(sch.repetition, 'time')}")
            if sch.unit == 1:
                s = min(sch.snapshots, T - 1)
                r = repetitions(T, s)
                lines.append(f"  the optimum for {s} snapshots (Griewank & Walther 2000): r·T − β(s+1, r−1) = "
                             f"{r}·{T} − {beta(s + 1, r - 1)} = {forward_steps(T, s)}")
        elif self.recompute:
            starts = list(range(self.no_grad_prefix, T, self.segment))
            lines.append(f"{head}: checkpoints every {self.segment} steps{sizes}")
            lines.append(f"  stores the states entering steps {_steps(starts)}")
            lines.append(f"  recomputes {_n(self.recomputed, 'step')}")
        else:
            prefix = f", the first {self.no_grad_prefix} without a tape" if self.no_grad_prefix else ""
            what = "stores every step's tape" if self.segment >= T else f"records segments of {self.segment} steps"
            lines.append(f"{head}: {what}{prefix}{sizes}")
            lines.append("  recomputes 0 steps")
        peak = self.predicted_peak
        if peak is not None:
            lines.append(f"  predicted peak: {_fmt(peak)}")
        if self.measured_peak is not None:
            lines.append(f"  measured peak: {_fmt(self.measured_peak)} (snapshots + the tape being reversed)")
        return "\n".join(lines)

    def plot(self, path, title: str | None = None):
        """Save a PNG of the time (forward steps per step: 1 + recomputed / T)
        against the memory budget for the whole family of schedules of this
        sequence: √T segments, binomial over single steps, and the best of
        units × snapshots (what ``full(memory_budget=…)`` picks), with this
        plan marked. Needs the step and state sizes (``plan(T, step_bytes=…,
        state_bytes=…)`` or ``mode.last_plan``). Returns the path, or None when
        matplotlib is not installed."""
        from ..plot import _prepare, _pyplot

        b, c, d, per_step = self.step_bytes, self.state_bytes, self.grad_bytes, self.per_step
        if b is None or c is None:
            raise ValueError(f"rg.bptt plan.plot: the step's tape and the state's bytes are unknown for {self.mode}; "
                             f"use mode.plan(T, step_bytes=…, state_bytes=…) or mode.last_plan after a run")
        plt = _pyplot()
        if plt is None:
            print("(matplotlib is not installed: pip install 'retrograd[plot]' to get the plot)")
            return None
        T = self.T
        lo, hi = least_bytes(T, b, c, d, per_step), store_all_bytes(T, b, c, d, per_step) * 1.1
        budgets = [lo * (hi / lo) ** (i / 79) for i in range(80)]
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for family, label in (("segments", "√T segments"), ("binomial", "binomial, single steps"),
                              ("any", "best units × snapshots (memory_budget)")):
            xs, ys = [], []
            for m in budgets:
                ch = best_schedule(T, b, c, int(m), family, d, per_step)
                if ch is not None:
                    xs.append(m / 2**20)
                    ys.append(1 + ch.recomputed / T)
            ax.plot(xs, ys, label=label, lw=2 if family == "any" else 1.2)
        ax.plot([store_all_bytes(T, b, c, d, per_step) / 2**20], [1.0], "ks", label="store every tape")
        peak = self.predicted_peak
        if peak is not None:
            ax.plot([peak / 2**20], [1 + self.recomputed / T], "r*", ms=12, label="this plan")
        ax.set_xscale("log")
        ax.set_xlabel("memory budget (MiB)")
        ax.set_ylabel("forward steps per step")
        ax.set_title(title or f"{self.mode or 'full()'}: time against memory, T = {T}")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        _prepare(path)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


__all__ = ["Job", "JobSchedule", "Plan", "Choice", "segment_for_budget", "best_schedule", "least_bytes",
           "store_all_bytes", "schedule_bytes"]
