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
  carry enters at the last step and is truncated like the last yₜ.
"""

from __future__ import annotations

from ..ops import stack
from ..autograd.op import MultiOp
from ..autograd.tensor import Tensor, _wrap
from ..autograd.mode import is_grad_enabled, no_grad
from ..autograd.mode import next_seq as _next_seq
from .engine import Runner, _parts, _rebuild, detach_state
from .modes import Chunk, Full, Tail


def _as_step_input(xs, t):
    x = xs[t]
    return x if isinstance(x, Tensor) else _wrap(x) if hasattr(x, "shape") else x


def scan(step, init, xs, mode=None):
    """Apply ``carry, y = step(carry, x_t)`` over the first axis of ``xs``;
    return ``(final carry, ys stacked along axis 0)`` (``ys`` is None when the
    step returns None for y)."""

    mode = mode or Full()
    T = len(xs)
    if not isinstance(mode, (Full, Chunk, Tail)) and is_grad_enabled():
        return _scheduled_scan(step, init, xs, mode)
    carry, ys = init, []
    quiet = mode.no_grad_before(T) if isinstance(mode, Tail) else 0
    for t in range(T):
        x = _as_step_input(xs, t)
        if t < quiet:
            with no_grad():
                carry, y = step(carry, x)
            if t == quiet - 1:
                carry = detach_state(carry)
        else:
            if isinstance(mode, Chunk) and t > 0 and t % mode.k == 0:
                carry = detach_state(carry)
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
    the leaves the loop used; vjp = the truncation mode's jobs."""
    name = "scan"
    __slots__ = ("runner",)

    def vjp(self, ns, grads, ans, *leaves):
        wrap = _wrap

        g_ys, g_carry = grads[0], grads[1:]
        runner = self.runner
        runner.loss_grad = lambda t: wrap(g_ys[t])
        runner.final_state_grad = [wrap(g) for g in g_carry] or None
        acc = runner.run_jobs()
        return tuple(acc.get(i) for i in range(len(leaves)))


def _scheduled_scan(step, init, xs, mode):

    T = len(xs)
    runner = Runner(_StepAsModel(step), xs, [None] * T, lambda y, _: y, mode, init)
    final = runner.forward_all()
    ys = [loss for seg in runner.segments for loss in seg.losses]
    internal = {id(p) for seg in runner.segments for p in seg.state_in}
    leaves = _leaves(ys + list(_parts(final)), internal)
    runner.params, runner.names = leaves, list(range(len(leaves)))
    op = ScheduledScan()
    op.runner = runner
    outs = (stack([y.detach() for y in ys]).data,) + tuple(p.data for p in _parts(final))
    op.inputs, op.xs = tuple(leaves), tuple(p.data for p in leaves)
    op.needs = (True,) * len(leaves)
    op.ans, op.hooks, op.retained, op.site = None, None, None, None
    op.out_meta = tuple((o.shape, o.dtype) for o in outs)
    op.seq = _next_seq()
    record = bool(leaves)
    tensors = []
    for i, o in enumerate(outs):
        t = _wrap(o, op if record else None)
        t._oi = i
        tensors.append(t)
    carry = _rebuild(final, tuple(tensors[1:])) if final is not None else None
    return carry, tensors[0]


def _leaves(outputs, internal):
    """Leaf tensors requiring grad that ``outputs`` depend on (not the
    segments' own detached states)."""
    seen, found, stack_ = set(), {}, [t for t in outputs if isinstance(t, Tensor)]
    while stack_:
        t = stack_.pop()
        node = t._node
        if node is None:
            if t.requires_grad and id(t) not in internal:
                found[id(t)] = t
            continue
        if id(node) in seen or node.inputs is None:
            continue
        seen.add(id(node))
        stack_.extend(a for a in node.inputs if isinstance(a, Tensor))
    return list(found.values())
