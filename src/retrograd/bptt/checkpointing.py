"""The engine's side of a checkpointing schedule (``rg.bptt.revolve.Schedule``).

``ScheduleRun`` executes a schedule's actions for a ``Runner``:

* the **first sweep** (the actions before the first ``Reverse``) advances
  through the sequence without a tape, storing the states the schedule asks
  for, each with the RNG state at that step, and computing every step's loss
  value; it ends by recording the last unit on a tape (``forward``);
* the **reversal** (``backward``) restores snapshots, advances from them
  without a tape, records each unit from its incoming state just before
  backpropagating through it, and carries δ (the gradient arriving at the
  state leaving a unit) from unit to unit, as ``Runner._backprop_job`` does.

Advances are plain forward calls under ``no_grad``, one per unit (a sequence
model runs a unit's steps in one call; longer calls would hold more outputs
than the unit's tape that the plan budgets for). Recomputation runs with the RNG as it was
at the snapshot, so dropout masks repeat exactly (a model drawing its masks
per call, time-major, draws the same numbers whether a range of steps is one
call or several). The losses seen on recomputation are not recorded again.

``forward`` may start from a *probe*: the first step, already recorded by the
engine to measure a step's tape (``full(memory_budget=…)``); its state and
RNG state are reused so that no step is run for the measurement alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import random as rg_random
from ..autograd import graph
from ..autograd.mode import enable_grad, no_grad
from ..autograd.tensor import Tensor
from ..recurrent.state import detach_state, state_parts
from .planner import Job
from .revolve import Advance, Free, Restore, Reverse, Schedule, Store


def _roots(seg) -> list:
    return [t for t in list(seg.losses or ()) + list(seg.state_out) if isinstance(t, Tensor)]


def tape_bytes(seg) -> int:
    """Bytes the tape of a segment keeps alive: every buffer its ops saved for
    their vjps, each once (a view counts the buffer it looks into), the
    outgoing state (the next segment's ops keep it), and the tape's own
    objects (ops, their tuples, array headers); not counting the buffers of
    the graph's inputs (parameters, inputs, the segment's incoming state),
    which live whether or not there is a tape."""
    roots = _roots(seg)
    kept = graph.saved_arrays(roots, exclude_leaves=True)
    counted = {id(a) for a in kept}
    state = [p.data for p in state_parts(seg.state_out)]
    state = [s if getattr(s, "base", None) is None else s.base for s in state]
    extra = sum(s.nbytes for s in {id(s): s for s in state if id(s) not in counted}.values())
    return sum(a.nbytes for a in kept) + extra + graph.objects_nbytes(roots)


def backward_bytes(seg) -> int:
    """Bytes the backward pass through a segment creates: a gradient for every
    op input made by another op of the tape, plus each op's declared vjp
    scratch (``Op.vjp_scratch_nbytes``). An upper bound on what is alive at
    once (gradients are freed as the pass moves on). The gradients sent to
    leaves (parameters) are added into their accumulators at once: they are
    the allowance for parameters and their gradients, not the schedule's."""
    total = 0
    for node in graph.walk(_roots(seg)):
        total += node.vjp_scratch_nbytes()
        for edge, x in zip(graph.inputs(node), node.xs or ()):
            if isinstance(edge, graph.Edge):
                x = x if x is not None else node.ans  # an elementwise op's input: its output's size
                total += 0 if x is None else x.size * x.dtype.itemsize
    return total


def state_bytes(state) -> int:
    """Bytes of a state's arrays."""
    return sum(p.data.nbytes for p in state_parts(state))


@dataclass
class Probe:
    """Step 0, recorded to measure it: its segment, the state before and after, and the RNG state before and after."""
    segment: object
    state_in: object
    rng_in: dict
    state_out: object
    rng_out: dict


class ScheduleRun:
    """One run of ``schedule`` for ``runner`` (see ``rg.bptt.checkpointing``'s module docstring).
    ``keep_last``: keep the first sweep's snapshots and the state entering
    the last unit after the reversal used them, so that ``backward`` can run
    again (``rg.scan``: a second backward pass records the last unit again)."""

    def __init__(self, runner, schedule: Schedule, probe: Probe | None = None, keep_last: bool = False):
        self.runner, self.schedule, self.probe, self.keep_last = runner, schedule, probe, keep_last
        self.job = Job(0, range(runner.T), 0)
        self.first_stored = None   # {unit: (state, rng)} after the first sweep
        self.last = None           # the last unit's recorded Segment (first sweep), until it is reversed
        self.last_entry = None     # (state, rng) entering the last unit (keep_last)
        self.final_state = None
        self.peak = 0              # the largest snapshots + tape seen during the reversal (bytes)
        self._tapes = {}           # tape bytes by unit length, measured once

    # ------------------------------------------------------------ running steps
    def _run(self, unit_start, unit_stop, state, rng, first, record, note=None):
        """Run units [unit_start, unit_stop) from ``state`` with the RNG at ``rng``;
        returns (state, rng after). ``first``: the first sweep (losses recorded);
        ``record``: keep a tape per unit (for ``note``; ``rg.scan`` collects its leaves)."""
        sch, runner = self.schedule, self.runner
        a, b = sch.bounds(unit_start)[0], sch.bounds(unit_stop - 1)[1]
        if first and self.probe is not None and a == 0:  # step 0 ran already, to be measured
            state, rng, a = self.probe.state_out, self.probe.rng_out, 1
        if a >= b:
            return state, rng
        rg_random.set_rng_state(rng)
        # one call per unit: a sequence model's outputs (and a per-step model's list of them) for a longer
        # range would take more memory than the unit's tape the plan budgets for
        cuts = [a] + [sch.bounds(u)[0] for u in range(unit_start + 1, unit_stop)] + [b]
        for lo, hi in zip(cuts, cuts[1:]):
            if lo >= hi:
                continue
            if record:
                with enable_grad():
                    seg, state = runner._forward_segment(lo, hi, state, record=True)
                if note is not None:
                    note(seg)
                seg, state = None, detach_state(state)
            else:
                with no_grad():
                    _, state = runner._forward_segment(lo, hi, state, record=False, with_losses=first)
        return state, rg_random.get_rng_state()

    def _record(self, unit, state, rng, first):
        """Record unit ``unit`` on a tape from ``state`` (the RNG at ``rng``)."""
        runner = self.runner
        a, b = self.schedule.bounds(unit)
        if first and self.probe is not None and a == 0 and b == 1:
            return self.probe.segment, self.probe.state_out
        rg_random.set_rng_state(rng)
        losses = None if first else runner.step_losses.copy()  # recomputed loss values are not recorded again
        with enable_grad():
            seg, state = runner._forward_segment(a, b, state, record=True)
        if losses is not None:
            runner.step_losses = losses
        return seg, state

    # ------------------------------------------------------------ the schedule
    def forward(self, note=None):
        """The first sweep; ``note(seg)`` (``rg.scan``) sees every step recorded
        on a tape, which is then dropped (the last unit's is kept)."""
        runner = self.runner
        state, rng = runner.state, (self.probe.rng_in if self.probe is not None else rg_random.get_rng_state())
        if self.probe is not None:
            state = self.probe.state_in
            if note is not None:
                note(self.probe.segment)
        unit, stored = 0, {}
        for act in self.schedule.actions():
            if isinstance(act, Store):
                stored[act.unit] = (state, rng)
            elif isinstance(act, Advance):
                state, rng = self._run(act.start, act.stop, state, rng, first=True, record=note is not None,
                                       note=note)
                unit = act.stop
            elif isinstance(act, Reverse):
                break
            else:
                raise RuntimeError(f"rg.bptt: unexpected {act} in the first sweep of {self.schedule}")
        last = self.schedule.n - 1
        assert unit == last, (unit, last)
        if self.keep_last:
            self.last_entry = (state, rng)
        self.last, final_state = self._record(last, state, rng, first=True)
        # by value: the last unit's tape is reached through ``self.last`` alone, so it goes once reversed
        self.final_state = detach_state(final_state)
        if note is not None and not (self.probe is not None and self.last is self.probe.segment):
            note(self.last)
        self.first_stored, self.probe = stored, None  # the probe's tape is not needed any more

    def backward(self, seeds, acc):
        """The reversal: parameter gradients add into ``acc``; returns the
        gradient of the state entering step 0 when ``seeds.initial_state``."""
        runner, sch = self.runner, self.schedule
        saved = rg_random.get_rng_state()
        stored = dict(self.first_stored)
        if not self.keep_last:  # a single reversal: a freed snapshot really goes
            self.first_stored = None
        held = sum(state_bytes(s) for s, _ in stored.values())
        delta, cur, sweeping = seeds.final_state_grad, None, True
        try:
            for act in sch.actions():
                if sweeping:  # the first sweep's actions ran in ``forward``
                    if not isinstance(act, Reverse):
                        continue
                    sweeping = False
                    seg, self.last = self.last, None  # its tape goes as soon as it is reversed
                    if seg is None:  # a second backward pass (rg.scan): record the last unit again
                        seg = self._record(sch.n - 1, *self.last_entry, first=False)[0]
                elif isinstance(act, Store):
                    stored[act.unit] = cur
                    held += state_bytes(cur[0])
                    continue
                elif isinstance(act, Free):
                    held -= state_bytes(stored.pop(act.unit)[0])
                    continue
                elif isinstance(act, Restore):
                    cur = stored[act.unit]
                    continue
                elif isinstance(act, Advance):
                    cur = self._run(act.start, act.stop, *cur, first=False, record=False)
                    continue
                else:
                    # [0]: the unit's outgoing state (a local ``_``) would keep its tape alive past its reversal
                    seg = self._record(act.unit, *cur, first=False)[0]
                    cur = None
                length = seg.stop - seg.start
                if length not in self._tapes:
                    self._tapes[length] = tape_bytes(seg)
                self.peak = max(self.peak, held + self._tapes[length])
                delta = runner._backprop_segment(seg, self.job, delta, acc, seeds, retain=self.keep_last)
                seg = None
        finally:
            rg_random.set_rng_state(saved)
        return delta if seeds.initial_state else None


__all__ = ["ScheduleRun", "Probe", "tape_bytes", "backward_bytes", "state_bytes"]
