"""Truncation modes of backpropagation through time, each an exact schedule.

A recurrent model is called as ``output_t, state = model(x_t, state)`` and the
loss of a sequence is Σₜ ℓₜ with ℓₜ = loss_fn(output_t, y_t). A mode says
which losses are backpropagated through which steps, and when the parameters
are updated. Every mode is a list of **jobs**: "backpropagate the losses of
steps ``losses`` through steps ``first … last(losses)``, the state entering
step ``first`` being a constant", each job belonging to an **update**.

==================  ===========================================================  =======================
mode                which losses reach which steps                                 updates
==================  ===========================================================  =======================
``full()``          every ℓₜ reaches every step s ≤ t                              1, at the end
``chunk(k)``        ℓₜ reaches the steps of its own chunk of k                     1 per chunk
``williams_peng``   every k₁ steps, ℓ of the last k₁ steps reach the last k₂      1 per k₁ steps
``(k1, k2)``        steps (the state k₂ steps back is a constant)
``window(k)``       ℓₜ reaches steps t−k+1 … t (its own window)                    1, at the end
``tail(k)``         only ℓₜ of the last k steps, through the last k steps;         1, at the end
                    earlier losses and inputs get no gradient (Theano)
==================  ===========================================================  =======================

Picture (T = 8; ``x`` a loss whose gradient reaches the step, ``.`` not)::

    full()          chunk(4)        williams_peng(2, 4)   window(3)        tail(3)
    ℓ8 xxxxxxxx     ℓ8 ....xxxx     ℓ8 ....xxxx           ℓ8 .....xxx      ℓ8 .....xxx
    ℓ7 xxxxxxx.     ℓ7 ....xxx.     ℓ7 ....xxx.           ℓ7 ....xxx.      ℓ7 .....xx.
    ℓ6 xxxxxx..     ℓ6 ....xx..     ℓ6 ..xxxx..           ℓ6 ...xxx..      ℓ6 .....x..
    ℓ5 xxxxx...     ℓ5 ....x...     ℓ5 ..xxx...           ℓ5 ..xxx...      ℓ5 ........
    ℓ1 x.......     ℓ1 x.......     ℓ1 x.......           ℓ1 x.......      ℓ1 ........
       12345678        12345678        12345678              12345678         12345678

What other frameworks call these:

* ``chunk(k)`` is TensorFlow's ``truncated_backprop_length`` tutorial loop,
  Keras ``stateful=True`` with sequences cut into k steps, and PyTorch's
  ``h = h.detach()`` idiom between chunks.
  ``williams_peng(k, k)`` equals it.
* ``williams_peng(k1, k2)`` is BPTT(h; h′) of Williams & Peng (1990), with
  h = k₂ and h′ = k₁: each step's forward runs once, the graph of the last k₂
  steps is kept and freed as the window slides (what pytorch/pytorch#2512
  asks for).
* ``window(k)`` is the per-loss truncation of hand-written NumPy BPTT, e.g.
  a "look back at most 10 steps" loop.
* ``tail(k)`` is Theano's ``scan(truncate_gradient=k)``: the backward scan only
  visits the last k steps. It is *not* a truncation per loss: losses before
  the last k steps contribute nothing at all.

Steps are numbered from 0 in the code (1 in the picture).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import replace

from .planner import Job, JobSchedule, Plan
from .revolve import Schedule


class Mode:
    """A truncation mode: its jobs for a sequence of length T, and the plan the
    engine follows to run them (``plan``).

    ``iter_jobs`` yields the jobs lazily, ordered by their last loss step, with
    non-decreasing ``first`` and ``update`` (the engine relies on this to free
    the tape and to know when an update is complete without an O(T) list).
    A mode that needs more than one tape for the whole sequence overrides
    ``plan``.
    """

    name = "mode"
    recompute = False  # keep only segment checkpoints and record segments again in the backward pass
    last_plan = None   # the plan this mode's last run followed (fitted, with measured sizes): rg.bptt.api.record_plan

    def iter_jobs(self, T: int):
        """The jobs for a sequence of length T, lazily, ordered by their last loss step."""
        raise NotImplementedError

    def jobs(self, T: int) -> list:
        """All the jobs as a list."""
        return list(self.iter_jobs(T))

    def plan(self, T: int) -> Plan:
        """Everything the engine does for a sequence of length T (see
        ``rg.bptt.planner.Plan``): by default the whole sequence on one tape."""
        return Plan(T, self._schedule(T), segment=T, recompute=self.recompute)

    def _schedule(self, T: int) -> JobSchedule:
        return JobSchedule(lambda: self.iter_jobs(T))

    def segment(self, T: int) -> int:
        """Steps per graph segment (``plan(T).segment``): every job boundary is a multiple of it."""
        return self.plan(T).segment

    def no_grad_before(self, T: int) -> int:
        """Steps before this index run without recording (``plan(T).no_grad_prefix``; ``tail``)."""
        return self.plan(T).no_grad_prefix

    def reach(self, T: int):
        """T×T boolean matrix: reach[t][s] is True when ℓₜ's gradient reaches step s."""
        r = [[False] * T for _ in range(T)]
        for job in self.jobs(T):
            for t in job.losses:
                for s in range(job.first, t + 1):
                    r[t][s] = True
        return r

    def picture(self, T: int = 8) -> str:
        """ASCII picture of ``reach(T)``: a row per loss (latest first), x where its gradient reaches."""
        rows = self.reach(T)
        return "\n".join(f"l{t + 1:<2} " + "".join("x" if v else "." for v in rows[t]) for t in range(T - 1, -1, -1))

    def __repr__(self):
        return self.name


def _check_k(k, name):
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"rg.bptt.{name}: the truncation length must be a positive int, got {k!r}")


def _check_budget(budget):
    """A memory budget is a positive, finite number of bytes (int or float, NumPy's
    included; bool is not a number of bytes). Refused here, where it is given:
    inf or NaN would otherwise reach the planner as a snapshot count."""
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real):
        raise TypeError(f"rg.bptt.full: memory_budget must be a number of bytes (an int or a float), got "
                        f"{type(budget).__name__} {budget!r}; leave it None for no budget")
    if not (math.isfinite(budget) and budget > 0):
        raise ValueError(f"rg.bptt.full: memory_budget must be a positive, finite number of bytes, got "
                         f"{budget!r}; leave it None to keep every tape (no budget)")


class Full(Mode):
    """Exact gradient of Σₜ ℓₜ: every loss reaches every earlier step.

    By default every step's tape is kept until the backward pass. Three ways to
    trade compute for memory, all with the same gradient (dropout masks
    included: the RNG state is stored with every state and restored on
    recomputation):

    * ``checkpoint_every=g`` (Chen et al. 2016; Gruslys et al. 2016): keep the
      state entering every g-th step, not the tape; the backward pass records
      each segment of g steps again from its checkpoint just before
      backpropagating through it. Memory ⌈T/g⌉ states + one segment's tape
      (g ≈ √T balances them), one extra forward pass.
    * ``snapshots=s`` (Griewank & Walther's binomial checkpointing, "revolve";
      ``rg.bptt.revolve``): keep at most s states at once (the one entering
      step 0 included) and recompute the fewest steps possible,
      t(T, s) = r·T − β(s+1, r−1) with β(s, r) = C(s+r, s) and r the least
      with β(s, r) ≥ T; each step's tape is recorded alone just before it is
      reversed. ``snapshots=s, checkpoint_every=g`` applies the same schedule
      to segments of g steps (a fused layer then runs g steps per call).
    * ``memory_budget=bytes`` measures the tape of the first step (b bytes)
      and the state (c bytes) and takes, of every schedule above and storing
      every tape, the one that recomputes the fewest steps within the budget
      (``rg.bptt.planner.best_schedule``; memory model in ``rg.bptt.planner``),
      or raises ``MemoryError`` saying how much the sequence needs at least.

    ``plan(T)`` shows what a run does (``print(mode.plan(1000, step_bytes=…,
    state_bytes=…))``); after a run, ``mode.last_plan`` is the plan it
    followed, with the measured sizes and peak; ``plan.plot(path)`` draws time
    against memory for the family.
    """

    name = "full()"

    def __init__(self, checkpoint_every: int | None = None, memory_budget: int | None = None,
                 snapshots: int | None = None):
        if memory_budget is not None and (checkpoint_every is not None or snapshots is not None):
            raise ValueError("rg.bptt.full: give memory_budget alone (it picks the schedule), not both it and "
                             "checkpoint_every / snapshots")
        args = []
        if checkpoint_every is not None:
            _check_k(checkpoint_every, "full(checkpoint_every=…)")
            args.append(f"checkpoint_every={checkpoint_every}")
        if snapshots is not None:
            if not isinstance(snapshots, int) or isinstance(snapshots, bool) or snapshots < 1:
                raise ValueError(f"rg.bptt.full: snapshots must be a positive int (the state entering step 0 is "
                                 f"one of them), got {snapshots!r}")
            args.append(f"snapshots={snapshots}")
        if memory_budget is not None:
            _check_budget(memory_budget)
            args.append(f"memory_budget={memory_budget}")
        self.name = f"full({', '.join(args)})"
        self.checkpoint_every, self.memory_budget, self.snapshots = checkpoint_every, memory_budget, snapshots

    def iter_jobs(self, T):
        yield Job(0, range(T), 0)

    def plan(self, T: int, step_bytes: int | None = None, state_bytes: int | None = None) -> Plan:
        """The plan for T steps (``str()`` prints it). ``step_bytes`` /
        ``state_bytes``: one step's tape and one state, if known: a budget
        plan is then fitted at once (the engine measures them itself)."""
        sizes = dict(step_bytes=step_bytes, state_bytes=state_bytes, mode=self.name)
        jobs = self._schedule(T)
        if self.memory_budget is not None:
            # the engine records one step, measures it, then fits the schedule
            plan = Plan(T, jobs, segment=1, recompute=True, memory_budget=self.memory_budget, mode=self.name)
            return plan.fitted(step_bytes, state_bytes) if step_bytes is not None and state_bytes is not None \
                else replace(plan, **sizes)
        g = min(self.checkpoint_every or 1, T)
        if self.snapshots is not None:
            return Plan(T, jobs, segment=g, recompute=True, schedule=Schedule(T, g, self.snapshots), **sizes)
        if self.checkpoint_every is not None:
            n = -(-T // g)  # a snapshot per segment: each step recomputed at most once
            return Plan(T, jobs, segment=g, recompute=True, schedule=Schedule(T, g, max(n - 1, 1)), **sizes)
        return Plan(T, jobs, segment=T, **sizes)

    @property
    def recompute(self) -> bool:
        return self.checkpoint_every is not None or self.memory_budget is not None or self.snapshots is not None


class Chunk(Mode):
    """Chunks of k steps; the state crosses chunk boundaries by value, the
    gradient does not; one update per chunk."""

    def __init__(self, k: int):
        _check_k(k, "chunk")
        self.k = k
        self.name = f"chunk({k})"

    def iter_jobs(self, T):
        for i, s in enumerate(range(0, T, self.k)):
            yield Job(i, range(s, min(s + self.k, T)), s)

    def plan(self, T):
        return Plan(T, self._schedule(T), segment=self.k)


class WilliamsPeng(Mode):
    """BPTT(h; h′) of Williams & Peng (1990) with h′ = k1, h = k2: every k1
    steps, the losses of the last k1 steps are backpropagated through the last
    k2 steps and one update is made. A final partial interval of r < k1 steps
    reaches back r + (k2 − k1) steps, so ``williams_peng(k, k) == chunk(k)``."""

    def __init__(self, k1: int, k2: int):
        _check_k(k1, "williams_peng")
        _check_k(k2, "williams_peng")
        if k1 > k2:
            raise ValueError(f"rg.bptt.williams_peng: need k1 ≤ k2 (losses of the last k1 steps backpropagated "
                             f"through the last k2 steps), got k1={k1}, k2={k2}")
        self.k1, self.k2 = k1, k2
        self.name = f"williams_peng({k1}, {k2})"

    def iter_jobs(self, T):
        for i, start in enumerate(range(0, T, self.k1)):
            yield Job(i, range(start, min(start + self.k1, T)), max(0, start - (self.k2 - self.k1)))

    def plan(self, T):
        # jobs start at multiples of k1 and reach back k2 − k1 more steps: both are multiples of gcd(k1, k2)
        return Plan(T, self._schedule(T), segment=math.gcd(self.k1, self.k2))


class Window(Mode):
    """ℓₜ is backpropagated through steps t−k+1 … t only; the gradients of all
    losses accumulate into one update at the end of the sequence."""

    def __init__(self, k: int):
        _check_k(k, "window")
        self.k = k
        self.name = f"window({k})"

    def iter_jobs(self, T):
        for t in range(T):
            yield Job(0, range(t, t + 1), max(0, t - self.k + 1))

    def plan(self, T):
        return Plan(T, self._schedule(T), segment=1)  # every step starts some loss's window


class Tail(Mode):
    """Theano's ``scan(truncate_gradient=k)``: the backward pass visits only
    the last k steps, so only their losses and inputs get gradient."""

    def __init__(self, k: int):
        _check_k(k, "tail")
        self.k = k
        self.name = f"tail({k})"

    def iter_jobs(self, T):
        start = max(0, T - self.k)
        yield Job(0, range(start, T), start)

    def plan(self, T):
        return Plan(T, self._schedule(T), segment=max(1, min(self.k, T)), no_grad_prefix=max(0, T - self.k))


def full(checkpoint_every: int | None = None, memory_budget: int | None = None, snapshots: int | None = None) -> Full:
    """Exact BPTT of Σₜ ℓₜ (see ``Full``); ``checkpoint_every=g`` recomputes
    segments of g steps instead of keeping the whole tape, ``snapshots=s``
    keeps at most s states and recomputes the fewest steps (binomial
    checkpointing), ``memory_budget`` (bytes) picks the cheapest schedule that fits."""
    return Full(checkpoint_every, memory_budget, snapshots)


def chunk(k: int) -> Chunk:
    """Chunks of k steps, one update each (see ``Chunk``)."""
    return Chunk(k)


def williams_peng(k1: int, k2: int) -> WilliamsPeng:
    """BPTT(k2; k1) of Williams & Peng (see ``WilliamsPeng``)."""
    return WilliamsPeng(k1, k2)


def window(k: int) -> Window:
    """Each loss through its own last k steps (see ``Window``)."""
    return Window(k)


def tail(k: int) -> Tail:
    """Theano's truncate_gradient=k (see ``Tail``)."""
    return Tail(k)
