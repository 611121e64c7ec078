"""One online pass over a sequence: each step recorded from the state's values, estimated by the
mode's learner, the state and the influence moved on."""

from __future__ import annotations

from ...autograd.backend import xp
from ...autograd.replay import Program
from ...autograd.graph import leaves as graph_leaves
from ...autograd.mode import enable_grad, next_seq
from ...autograd.tensor import Tensor, _wrap
from ...recurrent.state import rebuild_state, state_parts
from ..feeding import Feed, _step_input, _step_target, check_loss, output_and_state
from ..layout import check_step
from .base import OnlineMode, _ReplayedStep, _Step
from .exact import _Masked, structural_pattern
from .sparse import SparseInfluence

def _leaves_of(state):
    """Fresh leaves with the state's values: where this step's graph begins."""
    parts = state_parts(state)
    leaves = []
    for i, p in enumerate(parts):
        if p.data.dtype.kind != "f":  # the influence dsₜ/dθ is a derivative: of floats only
            raise TypeError(f"rg.bptt online modes: every state part must be floating point (the influence is "
                            f"its derivative); part {i} is {p.data.dtype}. Give it the model's dtype, e.g. "
                            f"rg.zeros(B, H) or state.double()")
        t = _wrap(p.data)
        t.requires_grad = True
        leaves.append(t)
    return leaves, (rebuild_state(state, tuple(leaves)) if parts else None)


def recurrent_indices(step_new, params) -> list:
    """Which parameters reach the new state (the ones the influence covers)."""
    reached = {id(t) for t in graph_leaves([t for t in step_new if t.requires_grad])}
    return [i for i, p in enumerate(params) if id(p) in reached]


LOWER_FROM = 8  # replayed steps left in a run from which its traced step is lowered


def _step_array(seq, t):
    """``seq[t]`` as an array (None stays None)."""
    v = seq.data[t] if isinstance(seq, Tensor) else seq[t]
    return v.data if isinstance(v, Tensor) else v if v is None else xp.asarray(v)


class OnlineRun:
    """One online pass over a sequence: per step, record the model from the state's
    values, estimate the step's gradient with ``mode``, move the influence on."""

    def __init__(self, model, xs, ys, loss_fn, mode: OnlineMode, state=None, batch_first=False, mask=None,
                 reset=None, learner=None):
        self.feed = Feed(model, xs, ys, loss_fn, state, batch_first=batch_first, check_model=True, mask=mask,
                         reset=reset)
        if self.feed.sequence_model:
            raise ValueError(f"rg.bptt.{mode!r}: online modes run a per-step model model(x_t, state) -> "
                             f"(output_t, state); {type(model).__name__} takes whole segments (a sequence "
                             f"model). Use its cell (e.g. rg.nn.LSTMCell) in a per-step module.")
        self.model, self.mode, self.T = model, mode, self.feed.T
        self.params = list(model.parameters())
        self.names = [n for n, _ in model.named_parameters()]
        self.learner = learner
        self.step_losses = xp.zeros(self.T)
        self.reset = reset

    def steps(self):
        """Yield (t, per-parameter estimate list) for every step, the state moving on."""
        state = self.feed.initial_state
        compiled = self.mode.compile
        if compiled and self.feed.mask is not None:
            raise ValueError(f"rg.bptt.{self.mode!r}: compile=True replays one traced step, and a mask changes the "
                             f"step's ops from step to step (padded rows are blanked); leave compile out with mask=")
        self.program = None
        for t in range(self.T):
            if self.program is not None:  # traced: the rest of the run replays the traced step
                yield from self._replayed_steps(t, [p.data for p in self.replayed_step.new])
                return
            prev, state_in = _leaves_of(state)
            with enable_grad():
                start = next_seq()
                # traced at the first step that has a state (a cell makes its zero state outside any op)
                if compiled and state is not None:
                    outputs, new_state, loss = self._trace(t, prev, state_in)
                else:
                    outputs, new_state = self.feed.forward(t, t + 1, state_in)
                    loss = self.feed.losses(t, t + 1, outputs)[0]
                    if loss is not None:
                        check_loss(loss)
            new = list(state_parts(new_state))
            step = _Step(prev, new, loss, start)
            if self.learner is None:
                self.learner = self.mode.learner(self.names, self.params, recurrent_indices(step.new, self.params))
                if isinstance(self.learner, (_Masked, SparseInfluence)):
                    self.state_like, self.state_template = step.new, new_state
                    masks = structural_pattern(self, self.learner.layout, self.learner.n)
                    self.learner = self.learner.on_pattern(
                        masks, _Masked(self.mode, self.params, self.learner.layout.recurrent, self.learner.n))
            if step.loss is not None:
                self.step_losses[t] = step.loss.data  # on the device until the run's end
            yield t, self.learner.step(step)
            if self.program is None:
                values = [p.data for p in step.new]
                state = rebuild_state(new_state, tuple(_wrap(v) for v in values)) if values else None
        self.final_state = state

    # ------------------------------------------------------------ compile=True
    def _step_io(self, t):
        """Step t's input and target as tensors (the tensors a traced step is fed)."""
        return _step_input(self.feed.xs, t), _step_target(self.feed.ys, t)

    def _step_arrays(self, t) -> list:
        """Step t's input (and target) as the arrays ``_step_io``'s tensors hold, without making them."""
        x, y = _step_array(self.feed.xs, t), _step_array(self.feed.ys, t)
        return [x] if y is None else [x, y]

    def _trace(self, t, prev, state_in):
        """Step t run on the tape and traced into ``self.program``: its inputs are the step's
        input and target, the state's leaves, the parameters and buffers (read anew each
        replay); its outputs the loss and the new state's parts."""
        x, y = self._step_io(t)
        feed, box = self.feed, {}

        def step():
            out, new_state = output_and_state(self.model, self.model(x, state_in))
            if feed.check_model:
                feed.check_model = False
                check_step(self.model, x, out, new_state)
            box["state"], box["out"] = new_state, out
            loss = self.feed.loss_fn(out, y)
            check_loss(loss)
            return [loss] + list(state_parts(new_state))

        self.buffers = [b for b in self.model.buffers() if isinstance(b, Tensor)]
        inputs = [x] + ([y] if y is not None else []) + list(prev) + self.params + self.buffers
        self.program, outs = Program.trace(step, inputs)
        self.traced_state = box["state"]  # the state's form (one tensor, a tuple, a list) the parts go back into
        self.replayed_step = _ReplayedStep(self.program, prev, outs[1:], outs[0])
        return [box["out"]], box["state"], outs[0]

    def _replayed_steps(self, first, state_values):
        """Steps ``first`` … T − 1 by the traced program (``state_values``: the state's arrays before
        step ``first``): the traced tensors take each step's values, and the run's one replayed
        step (``_ReplayedStep``) is estimated by the learner."""
        step, learner, losses = self.replayed_step, self.learner, self.step_losses
        params, buffers, prev, new = self.params, self.buffers, step.prev, step.new
        step_inputs = self._step_inputs()
        # writing the source costs about a millisecond, some eight steps' savings: a short run replays
        if getattr(learner, "lowers", False) and self.T - first >= LOWER_FROM:
            step.lowered = self.program.lowering()
        for t in range(first, self.T):
            values = step_inputs(t) + state_values + [p.data for p in params]
            if buffers:
                values += [b.data for b in buffers]
            for leaf, v in zip(prev, state_values):
                leaf.data = v
            results = step.run(values)
            step.loss.data = losses[t] = results[0]
            state_values = results[1:]
            for part, v in zip(new, state_values):
                part.data = v
            yield t, learner.step(step)
        # the state as tensors, in the traced step's form
        self.final_state = rebuild_state(self.traced_state, tuple(_wrap(v) for v in state_values))

    def _step_inputs(self):
        """A function of t giving step t's input (and target) as the arrays the traced step reads:
        an index into the sequences' arrays when they are arrays, else each step's value converted."""
        xs, ys = self.feed.xs, self.feed.ys
        xs, ys = (seq.data if isinstance(seq, Tensor) else seq for seq in (xs, ys))
        arrays = type(xs) is xp.ndarray and (ys is None or type(ys) is xp.ndarray)
        if arrays and ys is None:
            return lambda t: [xs[t]]
        if arrays:
            return lambda t: [xs[t], ys[t]]
        return self._step_arrays
