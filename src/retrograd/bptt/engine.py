"""The BPTT engine: run a recurrent model forward once, step by step, and
execute a mode's jobs on the recorded graph.

The forward pass is cut into **segments** at every step where some job may
stop (a multiple of ``mode.segment(T)``). A segment starts from a *detached
copy* of the incoming state, so the tape of each segment is separate, and its
end state is remembered. A job then runs the recurrence of backpropagation
through time across segments, exactly as in the papers:

    δ_end = 0
    for each segment from the job's last back to its first:
        (W̄ += , δ_in) = vjp of the segment at (1 for each of its losses in the job, δ_out)
        δ_out of the previous segment ← δ_in          # δₜ₋₁ = (∂hₜ/∂hₜ₋₁)ᵀ δₜ

Each step's forward runs exactly once (no recomputation); a segment's tape is
kept only while some future job still needs it, so memory is flat in T for
``chunk`` and ``williams_peng``. Before an update the parameters are copied,
so the tape of older steps keeps the weights those steps actually used.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..autograd.backend import xp

from ..autograd.engine import grad as _grad
from ..autograd.tensor import Tensor, _wrap
from ..autograd.mode import no_grad
from .modes import Full, Mode


def _parts(state):
    """A state as a tuple of Tensors (an LSTM's (h, c), an RNN's h, or none)."""
    if state is None:
        return ()
    if isinstance(state, Tensor):
        return (state,)
    return tuple(state)


def _rebuild(like, parts):
    if isinstance(like, Tensor):
        return parts[0]
    return type(like)(parts) if isinstance(like, tuple) else list(parts)


def detach_state(state, requires_grad: bool = False):
    """A copy of ``state`` cut from the tape (optionally a new leaf that requires grad)."""
    if state is None:
        return None
    parts = tuple(p.detach() for p in _parts(state))
    if requires_grad:
        parts = tuple(p.requires_grad_() if p.dtype.kind == "f" else p for p in parts)
    return _rebuild(state, parts)


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


class Runner:
    """One pass of a mode over a sequence (used by ``gradient``, ``train``, ``trace``)."""

    def __init__(self, model, xs, ys, loss_fn, mode: Mode, state=None, listener=None, segment=None):
        if not isinstance(mode, Mode):
            raise TypeError(f"rg.bptt: mode must be one of rg.bptt.full(), chunk(k), williams_peng(k1, k2), "
                            f"window(k), tail(k); got {mode!r}")
        self.model, self.xs, self.ys, self.loss_fn, self.mode = model, xs, ys, loss_fn, mode
        self.T = len(xs)
        if len(ys) != self.T:
            raise ValueError(f"rg.bptt: {self.T} inputs but {len(ys)} targets")
        if self.T == 0:
            raise ValueError("rg.bptt: empty sequence")
        self.state = state
        self.params = [p for p in model.parameters()]
        self.names = [n for n, _ in model.named_parameters()]
        self.sequence_model = bool(getattr(model, "sequence_model", False))
        self.listener = listener
        self.seg_len = segment or mode.segment(self.T)
        self.step_losses = xp.zeros(self.T)
        self.loss_grad = None         # t -> gradient for step t's "loss" (scan: ∂L/∂yₜ); None means 1
        self.final_state_grad = None  # gradient arriving at the final state (scan's carry)

    # ------------------------------------------------------------ forward
    def _forward_segment(self, start, stop, state, record):
        """Run steps [start, stop); returns a Segment."""
        state_in = ()
        if record and state is not None:
            state = detach_state(state, requires_grad=True)
            state_in = _parts(state)
        outputs, losses = [], []
        if self.listener is not None:
            self.listener.forward_begin(start)
        if self.sequence_model:
            out, state = self.model(_seg_input(self.xs, start, stop), state)
            for i in range(stop - start):
                outputs.append(out[i])
        else:
            for t in range(start, stop):
                out, state = self.model(_step_input(self.xs, t), state)
                outputs.append(out)
        if self.listener is not None:
            self.listener.forward_end()
        for i, t in enumerate(range(start, stop)):
            y = self.ys[t]
            loss = self.loss_fn(outputs[i], y if isinstance(y, Tensor) or y is None else _wrap(xp.asarray(y)))
            losses.append(loss)
            if loss.size == 1:
                self.step_losses[t] = float(loss.data)
        return Segment(start, stop, state_in, outputs, losses, _parts(state)), state

    # ------------------------------------------------------------ backward
    def _backprop_job(self, job, segments, acc):
        """Run one job: δ flows from the job's last segment back to its first."""
        delta = self.final_state_grad if job.last == self.T - 1 else None
        involved = [s for s in segments if s.start <= job.last and s.stop > job.first]
        for seg in reversed(involved):
            if seg.losses is None:  # a checkpoint: record the segment again, just for this backward step
                seg = self._replay(seg)
            roots, root_grads = [], []
            for t, loss in zip(range(seg.start, seg.stop), seg.losses):
                if t in job.losses and loss.requires_grad:
                    roots.append(loss)
                    root_grads.append(None if self.loss_grad is None else self.loss_grad(t))
            if delta is not None:
                for part, d in zip(seg.state_out, delta):
                    if part.requires_grad and d is not None:
                        roots.append(part)
                        root_grads.append(d)
            if not roots:
                delta = None
                continue
            wants_state = seg.start > job.first and bool(seg.state_in)
            extra = self.listener.targets(seg) if self.listener is not None else []
            targets = self.params + (list(seg.state_in) if wants_state else []) + extra
            grad_outputs = [g if g is not None else _wrap(xp.ones((), dtype=r.dtype)) for r, g in
                            zip(roots, root_grads)]
            with _listening(self.listener, seg):
                grads = _grad(roots, targets, grad_outputs=grad_outputs, retain_graph=True, allow_unused=True)
            n = len(self.params)
            for name, g in zip(self.names, grads[:n]):
                if g is not None:
                    acc[name] = g.data.copy() if name not in acc else acc[name] + g.data
            if self.listener is not None:
                self.listener.segment_done(seg, job, self.names, grads[:n], grads[n + (len(seg.state_in)
                                                                                        if wants_state else 0):])
            delta = list(grads[n:n + len(seg.state_in)]) if wants_state else None

    def _segment_for_budget(self, first, budget):
        """The longest segment s with s·b + ⌈T/s⌉·c ≤ budget, from the tape of the
        first step (b bytes) and the state (c bytes)."""
        b = max(_tape_bytes(first), 1)
        c = sum(p.data.nbytes for p in first.state_out)
        T = self.T
        fits = [s for s in range(1, T + 1) if s * b + -(-T // s) * c <= budget]
        if not fits:
            need = min(s * b + -(-T // s) * c for s in range(1, T + 1))
            raise MemoryError(f"rg.bptt.full(memory_budget={budget}): a step's tape is {b} bytes and the state "
                              f"{c} bytes, so {T} steps need at least {need} bytes with checkpointing")
        return max(fits)

    def _checkpoint(self, seg, state_before, rng_state):
        """Keep only what re-recording ``seg`` needs (``mode.recompute``)."""
        return Segment(seg.start, seg.stop, (), None, None, (), (state_before, rng_state))

    def _replay(self, seg):
        """Record a checkpointed segment again, with the RNG as it was (dropout masks repeat)."""
        from .. import random as rg_random

        state, rng_state = seg.checkpoint
        saved = rg_random.get_rng_state()
        rg_random.set_rng_state(rng_state)
        losses = self.step_losses.copy()
        try:
            replayed, _ = self._forward_segment(seg.start, seg.stop, state, record=True)
        finally:
            rg_random.set_rng_state(saved)
            self.step_losses = losses
        return replayed

    # ------------------------------------------------------------ forward now, jobs later (rg.scan)
    def forward_all(self):
        """Record every segment (the tape is kept whole) and return the final
        state; ``run_jobs`` later runs the mode's jobs on it."""
        T, state, start = self.T, self.state, 0
        skip = self.mode.no_grad_before(T)
        if skip:
            with no_grad():
                _, state = self._forward_segment(0, skip, state, record=False)
            state, start = detach_state(state), skip
        self.segments = []
        while start < T:
            stop = min(start + self.seg_len, T)
            seg, state = self._forward_segment(start, stop, state, record=True)
            self.segments.append(seg)
            start = stop
        return state

    def run_jobs(self) -> dict:
        """All of the mode's jobs on the recorded tape, summed (parameters fixed)."""
        acc = {}
        for job in self.mode.iter_jobs(self.T):
            self._backprop_job(job, self.segments, acc)
        return acc

    # ------------------------------------------------------------ the whole pass
    def run(self, on_update=None):
        """Forward the sequence once, running each job as soon as its last step
        is computed; ``on_update(update_index, grads, tape_retained, loss_steps)``
        is called when an update's jobs are done. Returns the final state."""
        T, mode = self.T, self.mode
        jobs = mode.iter_jobs(T)
        job = next(jobs, None)
        acc, loss_steps = {}, []
        segments = []
        state = self.state
        start = 0
        skip = mode.no_grad_before(T)
        if skip:  # tail(k): the first steps leave no tape at all
            with no_grad():
                seg, state = self._forward_segment(0, skip, state, record=False)
            start = skip
            state = detach_state(state)
        recompute = mode.recompute
        while start < T:
            stop = min(start + self.seg_len, T)
            if recompute:
                from .. import random as rg_random

                before, rng_state = state, rg_random.get_rng_state()
            seg, state = self._forward_segment(start, stop, state, record=True)
            if getattr(mode, "memory_budget", None) is not None and start == 0:
                self.seg_len = self._segment_for_budget(seg, mode.memory_budget)
            if recompute and stop < T:  # the last segment is backpropagated first: keep its tape
                seg = self._checkpoint(seg, before, rng_state)
                state = detach_state(state)
            segments.append(seg)
            done = []
            while job is not None and job.last < stop:
                self._backprop_job(job, segments, acc)
                loss_steps.extend(job.losses)
                nxt = next(jobs, None)
                if nxt is not None and (nxt.first < job.first or nxt.update < job.update):
                    raise RuntimeError(f"{mode}: jobs must come with non-decreasing first step and update")
                if nxt is None or nxt.update != job.update:
                    done.append((job.update, acc, loss_steps))
                    acc, loss_steps = {}, []
                job = nxt
            # keep only the segments a future job can still reach: the rest of the tape is freed
            horizon = job.first if job is not None else T
            segments = [s for s in segments if s.stop > horizon]
            for update, grads, steps in done:
                if on_update is not None:
                    on_update(update, grads, bool(segments), steps)
            start = stop
        return detach_state(state)


def _tape_bytes(seg) -> int:
    """Bytes the tape of a segment keeps alive (each op's saved arrays, once)."""
    seen, total = set(), 0
    stack = [t for t in list(seg.losses) + list(seg.state_out) if isinstance(t, Tensor)]
    while stack:
        node = stack.pop()._node
        if node is None or id(node) in seen or node.inputs is None:
            continue
        seen.add(id(node))
        total += node.saved_nbytes()
        stack.extend(a for a in node.inputs if isinstance(a, Tensor))
    return total


class _listening:
    def __init__(self, listener, seg):
        self.listener, self.seg = listener, seg

    def __enter__(self):
        if self.listener is not None:
            self.listener.enter(self.seg)

    def __exit__(self, *exc):
        if self.listener is not None:
            self.listener.exit(self.seg)


def gradient(model, xs, ys, loss_fn, mode: Mode = None, state=None) -> dict:
    """The gradient a truncation ``mode`` computes over the sequence, with the
    parameters held fixed (for modes that update several times: the sum of
    every update's gradient), as ``{parameter name: ndarray}``.

    ``model(x_t, state) → (output_t, state)``; ``loss_fn(output_t, y_t)`` a
    scalar; ``xs``, ``ys`` indexable by step (arrays of shape (T, …) or lists).
    """
    runner = Runner(model, xs, ys, loss_fn, mode or Full(), state)
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


def train(model, xs, ys, loss_fn, optimizer, mode: Mode = None, state=None) -> TrainResult:
    """Run ``mode`` over one sequence with its parameter updates.

    Each update sets the parameters' ``.grad`` to that update's gradient and
    calls ``optimizer.step()``. Returns ``TrainResult(state, losses, update_losses)``.
    """
    mode = mode or Full()
    runner = Runner(model, xs, ys, loss_fn, mode, state)
    params = dict(zip(runner.names, runner.params))
    update_losses = []

    def apply(update, grads, retained, steps):
        for name, p in params.items():
            if retained:  # copy on write: the kept tape of older steps keeps the weights they used
                p.data = p.data.copy()
            g = grads.get(name)
            p.grad = None if g is None else _wrap(xp.asarray(g, dtype=p.dtype))
        optimizer.step()
        for p in params.values():
            p.grad = None
        update_losses.append(float(runner.step_losses[sorted(set(steps))].sum()))

    final = runner.run(apply)
    return TrainResult(final, runner.step_losses.copy(), update_losses)
