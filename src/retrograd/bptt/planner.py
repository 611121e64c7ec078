"""What a truncation mode asks the BPTT engine to do, as one ``Plan``.

A mode (``rg.bptt.modes``) answers ``mode.plan(T)`` with everything the engine
needs for a sequence of T steps, and the engine asks nothing else:

* ``jobs``: "backpropagate the losses of steps ``losses`` through steps
  ``first … last``", in order (lazily: T jobs for ``window`` stay O(1) memory);
* ``segment``: steps recorded on one tape; every job boundary falls on a
  segment boundary, so a job is a walk over whole segments;
* ``no_grad_prefix``: steps run without recording at all (``tail``);
* ``recompute``: keep only a checkpoint per segment (its incoming state and
  RNG state) and record the segment again in the backward pass;
* ``memory_budget``: the segment length is not known yet: the engine records
  one step, measures it and asks ``plan.fitted(step_bytes, state_bytes)``,
  which applies ``segment_for_budget``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator


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
class Plan:
    """How the engine runs one mode over a sequence of ``T`` steps (see the
    module docstring for each field)."""
    T: int
    jobs: Iterable[Job]
    segment: int
    no_grad_prefix: int = 0
    recompute: bool = False
    memory_budget: int | None = None

    @property
    def needs_measurement(self) -> bool:
        """The segment length waits for the first step's tape to be measured."""
        return self.memory_budget is not None

    def fitted(self, step_bytes: int, state_bytes: int) -> "Plan":
        """This plan with the segment length ``segment_for_budget`` gives for a
        measured step (``step_bytes`` of tape, ``state_bytes`` of state)."""
        s = segment_for_budget(self.T, step_bytes, state_bytes, self.memory_budget)
        return replace(self, segment=s, memory_budget=None)

    def with_segment(self, segment: int) -> "Plan":
        """This plan recorded in segments of ``segment`` steps (a divisor of
        every job boundary; 1 always is: ``trace`` looks at single steps)."""
        return replace(self, segment=segment, memory_budget=None)

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


__all__ = ["Job", "JobSchedule", "Plan", "segment_for_budget"]
