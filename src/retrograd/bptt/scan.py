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

Which path a mode takes is read off its plan (``mode.plan(T)``): a plan whose
jobs tile the sequence, each reaching back exactly to its own first step,
is one graph cut at the jobs' first steps.
"""

from __future__ import annotations

from ..ops import stack
from ..autograd.op import ALL, MultiOp
from ..autograd.tensor import Tensor, _wrap
from ..autograd.mode import is_grad_enabled, no_grad
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
    __slots__ = ("runner", "n_leaves", "init_slots", "has_ys")
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

    def saved_nbytes(self) -> int:
        """The inputs plus the recorded segments' tapes, which the jobs backpropagate through."""
        inner = self.runner.tape_nbytes() if self.runner is not None else 0
        return super().saved_nbytes() + inner

    def release(self):
        super().release()
        self.runner = None  # the recorded segments' tapes go with it


def _scheduled_scan(step, init, xs, mode):
    T = len(xs)
    runner = Runner(_StepAsModel(step), xs, [None] * T, lambda y, _: y, mode, init)
    rec = runner.record()
    leaves = rec.leaves
    init_parts = state_parts(init)
    init_slots = tuple(i for i, p in enumerate(init_parts) if isinstance(p, Tensor) and p.requires_grad)
    inputs = tuple(leaves) + tuple(init_parts[i] for i in init_slots)
    has_ys = not all(y is None for y in rec.outputs)
    final_parts = state_parts(rec.final_state)
    outs = ((stack(rec.outputs).data,) if has_ys else ()) + tuple(p.data for p in final_parts)
    op = ScheduledScan()
    op.runner, op.n_leaves, op.init_slots, op.has_ys = runner, len(leaves), init_slots, has_ys
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
