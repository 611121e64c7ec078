"""The BPTT engine: run a recurrent model forward once, step by step, and
execute a mode's jobs on the recorded graph.

The engine asks the mode once for its ``Plan`` (``rg.bptt.planner``) and
follows it. The forward pass is cut into **segments** at every step where some
job may stop (a multiple of ``plan.segment``). A segment starts from a *detached
copy* of the incoming state, so the tape of each segment is separate, and its
end state is remembered. A job then runs the recurrence of backpropagation
through time across segments, exactly as in the papers:

    δ_end = 0
    for each segment from the job's last back to its first:
        (W̄ += , δ_in) = vjp of the segment at (1 for each of its losses in the job, δ_out)
        δ_out of the previous segment ← δ_in          # δₜ₋₁ = (∂hₜ/∂hₜ₋₁)ᵀ δₜ

Each step's forward runs exactly once (unless the plan recomputes: then only
checkpoints are kept and each segment is recorded again just before its
backward step; a plan with a checkpointing ``schedule``, from ``full(snapshots=…)``,
``full(checkpoint_every=…)`` or ``full(memory_budget=…)``, is run by
``rg.bptt.checkpointing.ScheduleRun``: binomial checkpointing, Griewank &
Walther's revolve, over units of steps); a segment's tape is kept only while some future job still
needs it, so memory is flat in T for ``chunk`` and ``williams_peng``. Before an update the parameters are copied,
so the tape of older steps keeps the weights those steps actually used.

**Data layout** (``batch_first``): ``xs`` and ``ys`` are time-major, (T, B, …),
by default; with ``batch_first=True`` they are (B, T, …) and the engine reads
axis 1 as time (it works on a transposed view; per-step losses, segments and
the state are the same as for the time-major call on transposed data).

**How the model consumes time**, checked so that nothing is silently misread:

* a *per-step* model (the default) is called as ``model(x_t, state)`` with
  ``x_t = xs[t]``, one step of the batch, (B, …);
* a *sequence model* (the class sets ``sequence_model = True``, as the fused
  ``nn.RNN``/``LSTM``/``GRU`` do) is called once per segment on
  ``xs[a:b]``, (k, B, …), or (B, k, …) when the model has ``batch_first = True``,
  and returns every step's output along that time axis.

``gradient``, ``train`` and ``trace`` raise ``ModelLayoutError`` naming the fix when

1. the model contains a fused layer (a submodule with ``sequence_model = True``)
   but does not say how it consumes time itself: set ``sequence_model = True``
   on the wrapper (it then gets whole segments), or ``sequence_model = False``
   if it really feeds the layer one step at a time;
2. a sequence model contains a ``batch_first=True`` fused layer but does not
   set ``batch_first`` itself (``True``: the engine feeds (B, k, …);
   ``False``: the wrapper transposes itself);
3. on a per-step model's first step with a batched input (``x_t.ndim ≥ 2``,
   B = ``x_t.shape[0]``): the output's leading dimension is not B, or a state
   part with two or more dimensions has no dimension equal to B (an unbatched
   sequence layer returns (num_layers, H));
4. a sequence model's output does not have the segment's length along its time axis.

Per-step cell models (``nn.RNNCell`` … with (B, H) states) and unbatched
per-step inputs (``x_t.ndim ≤ 1``) pass these checks unchanged.

**Padding and new sequences** (``mask``, ``reset``): ``mask`` is a boolean
(T, B) array ((B, T) with ``batch_first=True``), True on a row's real steps.
As in Keras, a padded step leaves the row's state unchanged:

* a per-step model runs on the whole batch and the engine keeps, row by row,
  ``state_t = where(mask[t], new state, state_{t−1})`` (rows on axis 0 of a
  (B, H) state part, axis −2 of (num_layers, B, H); an initial ``None`` state
  counts as zeros);
* a sequence model gets the segment's mask as ``model(x_seg, state,
  mask=m_seg)``, (k, B) or (B, k) like its input, and carries the rows itself
  (``ModelLayoutError`` if its ``forward`` takes no ``mask``). A segment whose
  steps are all real is called without ``mask=``.

Step t's loss is ``loss_fn(output_t[real rows], y_t[real rows])`` (rows
taken along axis 0 of the step's output and target, differentiably), so a
mean-reduction ``loss_fn`` averages over that step's real rows; a step with
no real row has no loss (``losses[t]`` is 0) and contributes nothing, and
``train`` makes no optimizer step for an update none of whose steps has a
loss. Every truncation mode and checkpointing see these losses and states
as they see unmasked ones. A mask that is True everywhere changes nothing:
the run is bitwise the run without one. ``reset`` (B,) sets the rows where
it is True to zeros before step 0 (a new sequence starts there: stateful
training, ``train_stateful``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from typing import Callable

from ..autograd.backend import xp

from .. import random as rg_random
from ..autograd.engine import grad as _grad
from ..autograd.mode import enable_grad, no_grad
from ..autograd.tensor import Tensor, _wrap
from ..ops import take
from ..ops.shape import swapaxes
from ..recurrent.state import detach_state, state_parts
from .modes import Full, Mode
from .layout import (batch_size, carry_rows, check_segment, check_step, check_structure, check_takes_mask,
                     reset_mask, reset_state, step_mask, time_major)
from .planner import Plan
from .checkpointing import Probe, ScheduleRun, state_bytes, tape_bytes


def _step_input(xs, t):
    x = xs[t]
    return x if isinstance(x, Tensor) else _wrap(xp.asarray(x))


def _seg_input(xs, a, b):
    if isinstance(xs, Tensor):
        return xs[a:b]
    if isinstance(xs, xp.ndarray):
        return _wrap(xs[a:b])
    return _wrap(xp.stack([xp.asarray(x.data if isinstance(x, Tensor) else x) for x in xs[a:b]]))


@dataclass
class Segment:
    """Steps [start, stop) recorded on one tape, from a detached incoming state.

    A *checkpoint* (``losses`` None) keeps only what is needed to record the
    segment again: the incoming state's value and the RNG state."""
    start: int
    stop: int
    state_in: tuple            # leaves (requires grad) or () for the first segment / a constant state
    outputs: list | None       # output Tensor of each step
    losses: list | None        # scalar loss Tensor of each step
    state_out: tuple
    checkpoint: tuple = ()     # (incoming state, RNG state) of a checkpoint


@dataclass
class Seeds:
    """What a backward pass over the recorded segments differentiates, and from what.

    ``targets``/``keys``: the tensors the gradient is taken for and their keys
    in the result; ``step_grad(t)``: the gradient seeding step t's loss (None:
    1, a scalar loss; ``rg.scan``: ∂L/∂yₜ); ``final_state_grad``: gradients
    arriving at the final state's parts; ``initial_state``: also return the
    gradient of the state entering step 0, from the jobs whose reach starts there.
    """
    targets: list
    keys: list
    step_grad: Callable | None = None
    final_state_grad: list | None = None
    initial_state: bool = False


@dataclass
class Recording:
    """What ``Runner.record`` returns: the final state, each step's output value
    (cut from the tape) and the leaf tensors requiring grad that the recorded
    steps used (besides the segments' own incoming states)."""
    final_state: object
    outputs: list
    leaves: list = field(default_factory=list)


class Runner:
    """One pass of a mode over a sequence (used by ``gradient``, ``train``,
    ``trace`` and ``rg.scan``). It asks the mode once for its ``Plan``;
    ``segment`` overrides the plan's segment length (``trace`` looks at single
    steps). ``batch_first``: ``xs``/``ys`` are (B, T, …); ``check_model``: apply
    the layout checks of the module docstring (``gradient``/``train``/``trace``
    do; ``rg.scan``'s step functions are not modules and are not checked);
    ``mask`` (T, B) / ``reset`` (B,): padded steps and rows starting anew
    (module docstring)."""

    def __init__(self, model, xs, ys, loss_fn, mode: Mode, state=None, listener=None, segment=None,
                 batch_first: bool = False, check_model: bool = False, mask=None, reset=None):
        if not isinstance(mode, Mode):
            raise TypeError(f"rg.bptt: mode must be one of rg.bptt.full(), chunk(k), williams_peng(k1, k2), "
                            f"window(k), tail(k); got {mode!r}")
        xs, ys = time_major(xs, batch_first, "xs"), time_major(ys, batch_first, "ys")
        if check_model:
            check_structure(model)
        self.check_model = check_model  # the first step's shapes are checked once, then this turns False
        self.model, self.xs, self.ys, self.loss_fn, self.mode = model, xs, ys, loss_fn, mode
        self.T = len(xs)
        if len(ys) != self.T:
            raise ValueError(f"rg.bptt: {self.T} inputs but {len(ys)} targets")
        if self.T == 0:
            raise ValueError("rg.bptt: empty sequence")
        self.params = [p for p in model.parameters()]
        self.names = [n for n, _ in model.named_parameters()]
        self.sequence_model = bool(getattr(model, "sequence_model", False))
        self.model_batch_first = self.sequence_model and bool(getattr(model, "batch_first", False))
        rows = batch_size(xs) if mask is not None or reset is not None else None
        if mask is not None and self.sequence_model:
            check_takes_mask(model)
        self.mask = step_mask(mask, self.T, rows, batch_first)  # (T, B), or None: every step real
        self.state = reset_state(state, reset_mask(reset, rows))
        self.counted = xp.ones(self.T, dtype=bool)  # steps with a loss (False: no real row)
        self.listener = listener
        plan = mode.plan(self.T)
        self.plan: Plan = plan.with_segment(segment) if segment else plan
        self.step_losses = xp.zeros(self.T)
        self.segments = []          # every recorded segment, after ``record``
        self._probe = None          # step 0 recorded to measure it (memory_budget)
        self._scheduled = None      # the ScheduleRun of a plan with a checkpointing schedule

    # ------------------------------------------------------------ forward
    def _forward_segment(self, start, stop, state, record, with_losses=True):
        """Run steps [start, stop); returns a Segment. ``with_losses=False``: only
        the outputs and the state (a recomputation: no loss is evaluated)."""
        state_in = ()
        if record and state is not None:
            state = detach_state(state, requires_grad=True)
            state_in = state_parts(state)
        outputs, losses = [], []
        if self.listener is not None:
            self.listener.forward_begin(start)
        if self.sequence_model:
            seg_x = _seg_input(self.xs, start, stop)
            extra = {}
            if self.mask is not None and not self.mask[start:stop].all():
                m = self.mask[start:stop]
                extra["mask"] = xp.ascontiguousarray(m.T) if self.model_batch_first else m
            out, state = self.model(swapaxes(seg_x, 0, 1) if self.model_batch_first else seg_x, state, **extra)
            if self.check_model:
                self.check_model = False
                check_segment(self.model, out, stop - start, self.model_batch_first)
            for i in range(stop - start):
                outputs.append(out[:, i] if self.model_batch_first else out[i])
        else:
            for t in range(start, stop):
                x = _step_input(self.xs, t)
                before = state
                out, state = self.model(x, state)
                if self.check_model:
                    self.check_model = False
                    check_step(self.model, x, out, state)
                if self.mask is not None and not self.mask[t].all():  # padded rows keep their state
                    state = carry_rows(state, before, self.mask[t])
                outputs.append(out)
        if self.listener is not None:
            self.listener.forward_end()
        if not with_losses:
            return Segment(start, stop, state_in, outputs, None, state_parts(state)), state
        for i, t in enumerate(range(start, stop)):
            y, out = self.ys[t], outputs[i]
            y = y if isinstance(y, Tensor) or y is None else _wrap(xp.asarray(y))
            if self.mask is not None and not self.mask[t].all():  # the loss sees the real rows only
                rows = xp.flatnonzero(self.mask[t])
                if rows.size == 0:
                    self.counted[t] = False
                    losses.append(None)
                    continue
                out, y = take(out, rows, axis=0), take(y, rows, axis=0)
            loss = self.loss_fn(out, y)
            losses.append(loss)
            if loss is not None and loss.size == 1:
                self.step_losses[t] = float(loss.data)
        return Segment(start, stop, state_in, outputs, losses, state_parts(state)), state

    def _recorded_segments(self, before_checkpoint=None):
        """Run the sequence as the plan says, yielding each recorded segment:
        the no-grad prefix first, then segments of ``plan.segment`` steps, each
        turned into a checkpoint when the plan recomputes (all but the last: it
        is backpropagated first). ``before_checkpoint(seg)`` sees every segment
        with its tape. The final state is left in ``self.final_state``."""
        T, plan = self.T, self.plan
        state, start = self.state, 0
        if plan.no_grad_prefix:  # tail(k): the first steps leave no tape at all
            with no_grad():
                _, state = self._forward_segment(0, plan.no_grad_prefix, state, record=False)
            state, start = detach_state(state), plan.no_grad_prefix
        probe, self._probe = self._probe, None
        while start < T:
            if probe is not None and start == 0:  # step 0 was recorded to measure it
                seg, state, before, rng_state, stop = probe.segment, probe.state_out, probe.state_in, \
                    probe.rng_in, 1
                probe = None
            else:
                stop = min(start + plan.segment, T)
                before, rng_state = state, (rg_random.get_rng_state() if plan.recompute else None)
                seg, state = self._forward_segment(start, stop, state, record=True)
            if before_checkpoint is not None:
                before_checkpoint(seg)
            if plan.recompute and stop < T:
                seg = self._checkpoint(seg, before, rng_state)
                state = detach_state(state)
            yield seg
            seg = before = None  # the caller decides how long a tape lives
            start = stop
        self.final_state = state

    def _measure(self):
        """``memory_budget``: record step 0, measure its tape and the state, and
        fit the plan; the step is kept (``Probe``) so that it is not run again."""
        rng_in, state_in = rg_random.get_rng_state(), self.state
        seg, state = self._forward_segment(0, 1, state_in, record=True)
        self.plan = self.plan.fitted(tape_bytes(seg), state_bytes(state))
        self._probe = Probe(seg, state_in, rng_in, state, rg_random.get_rng_state())

    def _schedule_run(self, keep_last=False) -> ScheduleRun | None:
        """Measure first if the plan waits for it; a ScheduleRun when the plan has a checkpointing schedule."""
        if self.plan.needs_measurement:
            self._measure()
        if self.plan.schedule is None:
            return None
        probe, self._probe = self._probe, None
        return ScheduleRun(self, self.plan.schedule, probe, keep_last=keep_last)

    def _done(self, run: ScheduleRun | None):
        """Remember the plan followed (with the measured peak of a scheduled run) on the mode."""
        if run is not None:
            sizes = {}
            if self.plan.step_bytes is None and run._tapes:
                one = min(run._tapes)
                sizes = dict(step_bytes=run._tapes[one] // one, state_bytes=state_bytes(run.final_state))
            self.plan = replace(self.plan, measured_peak=run.peak, **sizes)
        try:
            self.mode.last_plan = self.plan
        except AttributeError:  # a mode that does not take attributes
            pass

    # ------------------------------------------------------------ backward
    def _backprop_job(self, job, segments, acc, seeds: Seeds):
        """Run one job: δ flows from the job's last segment back to its first.
        Parameter gradients add into ``acc``; returns the gradient of the state
        entering step 0 when ``seeds.initial_state`` and the job reaches it."""
        delta = seeds.final_state_grad if job.last == self.T - 1 else None
        involved = [s for s in segments if s.start <= job.last and s.stop > job.first]
        for seg in reversed(involved):
            if seg.losses is None:  # a checkpoint: record the segment again, just for this backward step
                seg = self._replay(seg)
            delta = self._backprop_segment(seg, job, delta, acc, seeds)
        return delta if involved and involved[0].start == 0 else None

    def _backprop_segment(self, seg, job, delta, acc, seeds: Seeds):
        """One backward step of a job through one recorded segment: the vjp at
        (1 for each of its losses in the job, ``delta`` at its final state).
        Parameter gradients add into ``acc``; returns δ at its incoming state
        (None when the job stops there, or nothing flows)."""
        n = len(seeds.targets)
        roots, root_grads = [], []
        for t, loss in zip(range(seg.start, seg.stop), seg.losses):
            if t in job.losses and loss is not None and loss.requires_grad:
                roots.append(loss)
                root_grads.append(None if seeds.step_grad is None else seeds.step_grad(t))
        if delta is not None:
            for part, d in zip(seg.state_out, delta):
                if part.requires_grad and d is not None:
                    roots.append(part)
                    root_grads.append(d)
        if not roots:
            return None
        # the state entering the job's first step is a constant, except the initial state when asked for
        wants_state = bool(seg.state_in) and (seg.start > job.first or (seg.start == 0 and seeds.initial_state))
        extra = self.listener.targets(seg) if self.listener is not None else []
        targets = seeds.targets + (list(seg.state_in) if wants_state else []) + extra
        grad_outputs = [g if g is not None else _wrap(xp.ones((), dtype=r.dtype)) for r, g in
                        zip(roots, root_grads)]
        with _listening(self.listener, seg):
            grads = _grad(roots, targets, grad_outputs=grad_outputs, retain_graph=True, allow_unused=True)
        for key, g in zip(seeds.keys, grads[:n]):
            if g is not None:
                acc[key] = g.data.copy() if key not in acc else acc[key] + g.data
        if self.listener is not None:
            self.listener.segment_done(seg, job, seeds.keys, grads[:n], grads[n + (len(seg.state_in)
                                                                                     if wants_state else 0):])
        return list(grads[n:n + len(seg.state_in)]) if wants_state else None

    def _checkpoint(self, seg, state_before, rng_state):
        """Keep only what re-recording ``seg`` needs (``plan.recompute``)."""
        return Segment(seg.start, seg.stop, (), None, None, (), (state_before, rng_state))

    def _replay(self, seg):
        """Record a checkpointed segment again, with the RNG as it was (dropout
        masks repeat), even inside a backward pass (``rg.scan``'s vjp)."""
        state, rng_state = seg.checkpoint
        saved = rg_random.get_rng_state()
        rg_random.set_rng_state(rng_state)
        losses = self.step_losses.copy()
        try:
            with enable_grad():
                replayed, _ = self._forward_segment(seg.start, seg.stop, state, record=True)
        finally:
            rg_random.set_rng_state(saved)
            self.step_losses = losses
        return replayed

    # ------------------------------------------------------------ forward now, jobs later (rg.scan)
    def record(self) -> Recording:
        """Record the whole sequence as the plan says (checkpoints where it
        recomputes, every other tape kept) for ``run_jobs`` to differentiate
        later; returns the final state, the step outputs and the leaves used."""
        # ops are remembered weakly: a checkpointed segment's tape is freed, and its ids may be reused
        outputs, leaves, seen = [], {}, weakref.WeakSet()

        def note(seg):
            # only this segment's incoming state is reachable from its tape (the state was detached)
            internal = {id(p) for p in seg.state_in}
            outputs.extend(None if y is None else y.detach() for y in seg.losses)
            _collect_leaves([y for y in seg.losses if y is not None] + list(seg.state_out), internal, seen, leaves)

        self._scheduled = self._schedule_run(keep_last=True)
        if self._scheduled is not None:  # first sweep now, the reversal in run_jobs
            self._scheduled.forward(note)
            self.final_state, self.segments = self._scheduled.final_state, []
        else:
            self.segments = list(self._recorded_segments(before_checkpoint=note))
        return Recording(self.final_state, outputs, list(leaves.values()))

    def tape_nbytes(self) -> int:
        """Bytes of the tapes ``record`` keeps for ``run_jobs`` (a scheduled
        run keeps its last unit's tape until it is reversed)."""
        segs = list(self.segments)
        if self._scheduled is not None and self._scheduled.last is not None:
            segs.append(self._scheduled.last)
        return sum(tape_bytes(seg) for seg in segs if seg.losses is not None)

    def run_jobs(self, seeds: Seeds) -> tuple[dict, list | None]:
        """All of the plan's jobs on the recorded segments, summed (parameters
        fixed): ``({key: gradient array}, gradient of the initial state's parts
        or None)``."""
        acc, initial = {}, None
        if self._scheduled is not None:
            initial = self._scheduled.backward(seeds, acc)
            self._done(self._scheduled)
            return acc, initial
        for job in self.plan.jobs:
            d = self._backprop_job(job, self.segments, acc, seeds)
            if d is not None:
                initial = d if initial is None else [a if b is None else b if a is None else a + b
                                                     for a, b in zip(initial, d)]
        return acc, initial

    # ------------------------------------------------------------ the whole pass
    def run(self, on_update=None):
        """Forward the sequence once, running each job as soon as its last step
        is computed; ``on_update(update_index, grads, tape_retained, loss_steps)``
        is called when an update's jobs are done. Returns the final state."""
        seeds = Seeds(self.params, self.names)
        scheduled = self._schedule_run()
        if scheduled is not None:  # a checkpointing schedule of full(): one job, one update
            acc = {}
            scheduled.forward()
            scheduled.backward(seeds, acc)
            self.final_state = scheduled.final_state
            self._done(scheduled)
            if on_update is not None:
                on_update(0, acc, False, range(self.T))
            return detach_state(self.final_state)
        jobs = iter(self.plan.jobs)
        job = next(jobs, None)
        acc, loss_steps, segments = {}, [], []
        for seg in self._recorded_segments():
            segments.append(seg)
            stop, seg = seg.stop, None
            done = []
            while job is not None and job.last < stop:
                self._backprop_job(job, segments, acc, seeds)
                loss_steps.extend(job.losses)
                nxt = next(jobs, None)
                if nxt is not None and (nxt.first < job.first or nxt.update < job.update):
                    raise RuntimeError(f"{self.mode}: jobs must come with non-decreasing first step and update")
                if nxt is None or nxt.update != job.update:
                    done.append((job.update, acc, loss_steps))
                    acc, loss_steps = {}, []
                job = nxt
            # keep only the segments a future job can still reach: the rest of the tape is freed
            horizon = job.first if job is not None else self.T
            segments = [s for s in segments if s.stop > horizon]
            for update, grads, steps in done:
                if on_update is not None:
                    on_update(update, grads, bool(segments), steps)
        self._done(None)
        return detach_state(self.final_state)


def _collect_leaves(outputs, internal, seen, found):
    """Add to ``found`` the leaf tensors requiring grad that ``outputs`` depend
    on, not counting ``internal`` ones (a segment's detached incoming state);
    ``seen`` (ops) is shared across segments so a common upstream graph is walked once."""
    stack = [t for t in outputs if isinstance(t, Tensor)]
    while stack:
        t = stack.pop()
        node = t._node
        if node is None:
            if t.requires_grad and id(t) not in internal:
                found[id(t)] = t
            continue
        if node in seen or node.inputs is None:
            continue
        seen.add(node)
        stack.extend(a for a in node.inputs if isinstance(a, Tensor))


class _listening:
    def __init__(self, listener, seg):
        self.listener, self.seg = listener, seg

    def __enter__(self):
        if self.listener is not None:
            self.listener.enter(self.seg)

    def __exit__(self, *exc):
        if self.listener is not None:
            self.listener.exit(self.seg)


def gradient(model, xs, ys, loss_fn, mode: Mode = None, state=None, batch_first: bool = False, *, mask=None,
             reset=None) -> dict:
    """The gradient a truncation ``mode`` computes over the sequence, with the
    parameters held fixed (for modes that update several times: the sum of
    every update's gradient), as ``{parameter name: ndarray}``.

    ``model(x_t, state) → (output_t, state)``; ``loss_fn(output_t, y_t)`` a
    scalar; ``xs``, ``ys`` indexable by step (arrays of shape (T, …) or lists),
    or arrays/Tensors of shape (B, T, …) with ``batch_first=True``. ``mask``
    (T, B) boolean, True on real steps ((B, T) with ``batch_first``): padded
    steps keep a row's state and add no loss; ``reset`` (B,) boolean: rows
    whose state starts from zeros (module docstring). Raises
    ``ModelLayoutError`` when the model would misread the steps (module docstring).
    """
    runner = Runner(model, xs, ys, loss_fn, mode or Full(), state, batch_first=batch_first, check_model=True,
                    mask=mask, reset=reset)
    total = {}

    def collect(update, grads, retained, steps):
        for k, v in grads.items():
            total[k] = v if k not in total else total[k] + v

    runner.run(collect)
    return {name: total.get(name, xp.zeros(p.shape, dtype=p.dtype)) for name, p in zip(runner.names, runner.params)}


@dataclass
class TrainResult:
    """What ``train`` returns: the final (detached) state, each step's loss,
    and the summed loss of each update. Unpacks as ``state, losses``."""
    state: object
    losses: xp.ndarray
    update_losses: list

    def __iter__(self):
        return iter((self.state, self.losses))


def train(model, xs, ys, loss_fn, optimizer, mode: Mode = None, state=None, batch_first: bool = False, *,
          mask=None, reset=None) -> TrainResult:
    """Run ``mode`` over one sequence with its parameter updates.

    Each update sets the parameters' ``.grad`` to that update's gradient and
    calls ``optimizer.step()``. Returns ``TrainResult(state, losses, update_losses)``
    (``losses[t]`` is step t's loss, also with ``batch_first=True``, where
    ``xs``/``ys`` are (B, T, …)). ``mask`` / ``reset``: padded steps and rows
    starting anew, as in ``gradient``; an update none of whose steps has a
    real row makes no optimizer step. Raises ``ModelLayoutError`` when the
    model would misread the steps (module docstring).
    """
    mode = mode or Full()
    runner = Runner(model, xs, ys, loss_fn, mode, state, batch_first=batch_first, check_model=True, mask=mask,
                    reset=reset)
    params = dict(zip(runner.names, runner.params))
    update_losses = []

    def apply(update, grads, retained, steps):
        update_losses.append(float(runner.step_losses[sorted(set(steps))].sum()))
        if not runner.counted[list(steps)].any():  # every step of the update was padding: nothing to learn
            if getattr(optimizer, "collective", False):
                # a data-parallel optimizer (rg.distributed.DistributedOptimizer) reduces with the other
                # ranks in step(): this rank takes part without a gradient, or the others would wait forever
                for p in params.values():
                    p.grad = None
                optimizer.step()
            return
        for name, p in params.items():
            if retained:  # copy on write: the kept tape of older steps keeps the weights they used
                p.data = p.data.copy()
            g = grads.get(name)
            p.grad = None if g is None else _wrap(xp.asarray(g, dtype=p.dtype))
        optimizer.step()
        for p in params.values():
            p.grad = None

    final = runner.run(apply)
    return TrainResult(final, runner.step_losses.copy(), update_losses)


@dataclass
class StatefulResult:
    """What ``train_stateful`` returns: the state carried out of the last
    batch (detached), each batch's per-step losses (0 at a step with no real
    row) and the summed loss of every update. Unpacks as ``state, losses``."""
    state: object
    losses: list
    update_losses: list

    def __iter__(self):
        return iter((self.state, self.losses))


def _batch_layout(batch, batch_first):
    """Whether ``batch``'s x / y / valid are (B, k, …): its own ``time_major`` flag
    (``rg.data.stateful_batches`` sets it), else ``batch_first``, else read off
    ``valid`` against the (B,) ``reset`` when that is unambiguous."""
    own = getattr(batch, "time_major", None)
    if own is not None:
        if batch_first is not None and bool(batch_first) == bool(own):
            raise ValueError(f"rg.bptt.train_stateful: batch_first={batch_first} but the batch says "
                             f"time_major={own}; leave batch_first out (the batch knows its layout)")
        return not own
    if batch_first is not None:
        return bool(batch_first)
    valid, rows = xp.shape(_array(batch.valid)), len(_array(batch.reset))
    if len(valid) == 2 and valid[0] != valid[1] and rows in valid:
        return valid[0] == rows
    raise ValueError(f"rg.bptt.train_stateful: cannot tell whether the batch is time-major (valid {valid}, "
                     f"{rows} rows); pass batch_first=True for (B, k, …) batches or False for (k, B, …)")


def _array(a):
    return a.data if isinstance(a, Tensor) else xp.asarray(a)


def train_stateful(model, batches, loss_fn, optimizer, mode: Mode = None, state=None,
                   batch_first: bool | None = None) -> StatefulResult:
    """Stateful truncated BPTT over consecutive batches (Keras' ``stateful=True``),
    e.g. those of ``rg.data.stateful_batches``.

    Each batch has ``x``, ``y`` ((k, B, …), or (B, k, …) when batch-first),
    ``reset`` (B,) True where a row starts a new sequence, and ``valid``
    (k, B) / (B, k) False on padding. For each batch this runs
    ``train(model, x, y, loss_fn, optimizer, mode, state, mask=valid,
    reset=reset)`` (``mode`` default ``full()``: one update per batch) with
    the state carried from the previous batch, detached (its value crosses the
    batch boundary, its gradient does not). A sequence that ends mid-batch
    leaves the carried state of its row at its last real step (padded steps
    keep it), and the next sequence in that row starts from the zero state
    (``reset``). The layout is the batch's ``time_major`` flag when it has
    one, else ``batch_first``. Returns ``StatefulResult(state, losses,
    update_losses)``.
    """
    losses, update_losses = [], []
    for batch in batches:
        bf = _batch_layout(batch, batch_first)
        res = train(model, batch.x, batch.y, loss_fn, optimizer, mode, state=state, batch_first=bf,
                    mask=batch.valid, reset=batch.reset)
        state = res.state  # detached by the run: the next batch continues from its value
        losses.append(res.losses)
        update_losses.extend(res.update_losses)
    return StatefulResult(state, losses, update_losses)
