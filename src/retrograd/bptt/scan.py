"""``rg.scan``: a loop whose every step is recorded, so it can be differentiated.

Seed page 000 asks how TensorFlow differentiates ``tf.while_loop``: by
recording each iteration and running their vector-Jacobian products in
reverse. ``scan(step, init, xs)`` does exactly that on retrograd's tape:

    carry = init
    for t in range(T):
        carry, y_t = step(carry, xs[t])
    return carry, stack(y_t)

and ``loss.backward()`` then walks the T recorded steps backwards (BPTT). A
truncation ``mode`` (``rg.bptt``) changes which steps the gradient of each
yₜ may enter:

* ``full()``: every step (the default);
* ``chunk(k)``: the carry is cut from the tape every k steps (value kept);
* ``tail(k)``: the first T − k steps run without recording (Theano's
  ``scan(truncate_gradient=k)``): only the last k steps and their inputs get
  gradient;
* ``window(k)`` and ``williams_peng(k1, k2)``: these are not cuts of one
  graph — each yₜ has its own truncation — so the loop is recorded as segments
  (as in ``rg.bptt``) and wrapped in one op whose backward pass runs the
  mode's jobs with ∂L/∂yₜ as the per-step gradients. The gradient of the final
  carry enters at the last step and is truncated like the last yₜ; the
  initial carry gets the gradient of the jobs whose reach starts at step 0
  (with k ≥ T, all of them: the same as ``full()``);
* ``full(checkpoint_every=s)`` / ``full(snapshots=s)`` / ``full(memory_budget=…)``:
  the forward pass keeps only the carries (and RNG states) the checkpointing
  schedule stores (``rg.bptt.revolve``: a carry per segment of s steps, or at
  most s carries with binomial checkpointing); the backward pass recomputes
  from them and records each unit again just before backpropagating through
  it (same gradient, one unit's tape in memory).

Forward mode (``rg.func.jvp``/``jacfwd``): the plain path is an ordinary graph;
the op of the other path runs the loop again step by step, pushing tangents
through each step's record (``ScheduledScan.jvp``) so that each yₜ's tangent
has the reach the mode gives its gradient — the transpose of the vjp.

Which path a mode takes is read off its plan (``mode.plan(T)``): a plan whose
jobs tile the sequence, each reaching back exactly to its own first step,
is one graph cut at the jobs' first steps.
"""

from __future__ import annotations

from .. import random as rg_random
from ..ops import stack
from ..autograd.backend import xp
from ..autograd.forward import push_tangents, seed_key
from ..autograd.namespaces import ARRAY_NS
from ..autograd.op import ALL, MultiOp
from ..autograd.tensor import Tensor, _wrap
from ..autograd.mode import enable_grad, is_grad_enabled, no_grad
from ..recurrent.state import detach_state, rebuild_state, state_parts
from .api import record_plan
from .runner import Runner, Seeds
from .modes import Full


def _as_step_input(xs, t):
    x = xs[t]
    return x if isinstance(x, Tensor) else _wrap(x) if hasattr(x, "shape") else x


def scan(step, init, xs, mode=None):
    """Apply ``carry, y = step(carry, x_t)`` over the first axis of ``xs``;
    return ``(final carry, ys stacked along axis 0)`` (``ys`` is None when the
    step returns None for y). ``mode`` (default ``rg.bptt.full()``) says which
    steps the gradient of each yₜ and of the final carry may enter."""

    mode = mode or Full()
    T = len(xs)
    plan = mode.plan(T)
    cuts = None if plan.recompute else plan.cut_points()
    if cuts is None and is_grad_enabled():
        return _scheduled_scan(step, init, xs, mode)
    cuts, quiet = set(cuts or ()), plan.no_grad_prefix
    carry, ys = init, []
    for t in range(T):
        x = _as_step_input(xs, t)
        if t > 0 and t in cuts:  # the job starting here treats its incoming carry as a constant
            carry = detach_state(carry)
        if t < quiet:
            with no_grad():
                carry, y = step(carry, x)
        else:
            carry, y = step(carry, x)
        ys.append(y)
    if all(y is None for y in ys):
        return carry, None
    return carry, stack(ys)


class _StepAsModel:
    """``step(carry, x) → (carry, y)`` seen as a ``model(x, state) → (y, state)``."""

    def __init__(self, step):
        self.step = step

    def __call__(self, x, state):
        carry, y = self.step(state, x)
        return y, carry

    def parameters(self):
        return []

    def named_parameters(self):
        return []


class ScheduledScan(MultiOp):
    """The whole recorded loop as one op: outputs (ys, *final carry); inputs
    the leaves the loop used, then the initial carry's parts that require
    grad; vjp = the truncation mode's jobs (``Runner.run_jobs``)."""
    name = "scan"
    __slots__ = ("runner", "n_leaves", "init_slots", "has_ys", "rng_state")
    save_inputs = ALL  # the leaves are the targets of the jobs' gradients

    def vjp(self, ns, grads, ans, *inputs):
        g_ys = grads[0] if self.has_ys else None
        g_carry = grads[1:] if self.has_ys else grads
        n = self.n_leaves
        seeds = Seeds(targets=list(self.input_tensors()[:n]), keys=list(range(n)),
                      step_grad=None if g_ys is None else (lambda t: _wrap(g_ys[t])),
                      final_state_grad=[_wrap(g) for g in g_carry] or None,
                      initial_state=bool(self.init_slots))
        acc, initial, plan = self.runner.run_jobs(seeds)
        if plan.schedule is not None:  # a checkpointed loop keeps its plan (with the measured peak) on the mode
            record_plan(self.runner.mode, plan)
        init_grads = tuple(None if initial is None or initial[i] is None else initial[i].data
                           for i in self.init_slots)
        return tuple(acc.get(i) for i in range(n)) + init_grads

    def jvp(self, ns, ts, ans, *inputs):
        """Forward mode: the loop run again, one step at a time, each step recorded on its own
        (from its carry as fresh leaves) and linearised by ``push_tangents`` — no tape
        outlives its step, whatever the checkpointing schedule (forward mode needs none).

        The transpose of the vjp's jobs: job j (losses Lⱼ, reach firstⱼ … lastⱼ) pushes
        the leaves' tangents from step firstⱼ on, the carry's tangent entering there zero
        (the initial carry's when firstⱼ = 0), and adds ẏₜ for t ∈ Lⱼ (and the final
        carry's tangent when lastⱼ = T − 1). Jobs with the same first step share one
        push. A differentiable walk (``ns``: tensors) pushes with ``differentiable=True``.
        The generator is put back to its state when the loop was recorded (the same
        dropout masks), and restored afterwards."""
        differentiable = ns is not ARRAY_NS
        runner, n, T = self.runner, self.n_leaves, self.runner.T
        some = next(i for i, t in enumerate(ts) if t is not None)
        lead = tuple(ts[some].shape[:ts[some].ndim - inputs[some].ndim])
        base = {id(leaf): t for leaf, t in zip(self.edges[:n], ts[:n]) if t is not None}
        xs = runner.feed.xs
        if base and isinstance(xs, Tensor) and xs._node is not None:  # the steps read xs[t]: its tangent once
            (t_xs,) = push_tangents([xs], base, start_seq=0, lead=lead, differentiable=differentiable)
            if t_xs is not None:
                base[seed_key(xs)] = t_xs
        ends, y_from, final_from = {}, [[] for _ in range(T)], []
        for job in runner.plan.jobs:
            ends[job.first] = max(ends.get(job.first, -1), job.last)
            for t in job.losses:
                y_from[t].append(job.first)
            if job.last == T - 1:
                final_from.append(job.first)
        init_parts = state_parts(runner.state)
        init_t = [None] * len(init_parts)
        for slot, t in zip(self.init_slots, ts[n:]):
            init_t[slot] = t
        carry, active, ys_t, final_t = runner.state, {}, [None] * T, None
        outer_rng = rg_random.get_rng_state()
        rg_random.set_rng_state(self.rng_state)  # the steps' dropout masks as they were drawn
        try:
            for t in range(T):
                if t in ends:
                    active[t] = list(init_t) if t == 0 else [None] * len(init_parts)
                live = {f: c for f, c in active.items() if base or any(x is not None for x in c)}
                if not live:  # no tangent reaches this step: its value only
                    with no_grad():
                        _, carry = runner.feed.forward(t, t + 1, carry)
                else:
                    with enable_grad():
                        leaves = detach_state(carry, requires_grad=True)
                        (y,), carry = runner.feed.forward(t, t + 1, leaves)
                    parts_in, parts_out = state_parts(leaves), state_parts(carry)
                    targets = ([y] if y is not None else []) + list(parts_out)
                for f, c in live.items():
                    seeds = dict(base)
                    seeds.update({id(p): d for p, d in zip(parts_in, c) if d is not None})
                    # start_seq 0: a tensor the step captured from before the loop is walked back to its leaves
                    pushed = push_tangents(targets, seeds, start_seq=0, lead=lead, differentiable=differentiable)
                    dy, dc = (pushed[0], pushed[1:]) if y is not None else (None, pushed)
                    for _ in range(y_from[t].count(f)):
                        ys_t[t] = _plus(ys_t[t], dy)
                    active[f] = list(dc)
                    if t == T - 1:
                        for _ in range(final_from.count(f)):
                            final_t = list(dc) if final_t is None else [_plus(a, b) for a, b in zip(final_t, dc)]
                for f in [f for f in active if ends[f] == t]:
                    del active[f]
                if live:
                    carry = detach_state(carry)  # the step's tape goes
        finally:
            rg_random.set_rng_state(outer_rng)
        result = []
        if self.has_ys:
            result.append(_stack_tangents(ns, ys_t, lead, self.out_meta[0]))
        final_t = final_t or [None] * (len(self.out_meta) - len(result))
        return tuple(result + list(final_t))

    def saved_nbytes(self) -> int:
        """The inputs plus the recorded segments' tapes, which the jobs backpropagate through."""
        inner = self.runner.tape_nbytes() if self.runner is not None else 0
        return super().saved_nbytes() + inner

    def release(self):
        super().release()
        self.runner = None  # the recorded segments' tapes go with it


def _plus(a, b):
    """a + b, None standing for a zero tangent."""
    return b if a is None else a if b is None else a + b


def _stack_tangents(ns, parts, lead, meta):
    """The tangent of the stacked ys, L + (T, …), from each step's (None: zero), or None if all are."""
    if all(p is None for p in parts):
        return None
    shape, dtype = meta
    zero = None
    stacked = []
    for p in parts:
        if p is None:
            if zero is None:
                zero = xp.zeros(lead + tuple(shape[1:]), dtype=dtype)
                zero = zero if ns is ARRAY_NS else _wrap(zero)
            p = zero
        stacked.append(ns.expand_dims(p, len(lead)))
    return ns.concatenate(stacked, len(lead))


def _scheduled_scan(step, init, xs, mode):
    T = len(xs)
    runner = Runner(_StepAsModel(step), xs, [None] * T, lambda y, _: y, mode, init)
    rng_state = rg_random.get_rng_state()  # the jvp runs the steps again with the same random draws
    rec = runner.record()
    leaves = rec.leaves
    init_parts = state_parts(init)
    init_slots = tuple(i for i, p in enumerate(init_parts) if isinstance(p, Tensor) and p.requires_grad)
    inputs = tuple(leaves) + tuple(init_parts[i] for i in init_slots)
    has_ys = not all(y is None for y in rec.outputs)
    final_parts = state_parts(rec.final_state)
    outs = ((stack(rec.outputs).data,) if has_ys else ()) + tuple(p.data for p in final_parts)
    op = ScheduledScan()
    op.runner, op.n_leaves, op.init_slots, op.has_ys, op.rng_state = runner, len(leaves), init_slots, has_ys, rng_state
    record = bool(inputs)
    if record:
        op.saved = None
        op.record(inputs, tuple(p.data for p in inputs), (True,) * len(inputs), outs)
    tensors = []
    for i, o in enumerate(outs):
        t = _wrap(o, op if record else None)
        t._oi = i
        tensors.append(t)
    carry_tensors = tuple(tensors[1:] if has_ys else tensors)
    carry = rebuild_state(rec.final_state, carry_tensors) if rec.final_state is not None else None
    return carry, (tensors[0] if has_ys else None)
