"""One online pass over a sequence: each step recorded from the state's values, estimated by the
mode's learner, the state and the influence moved on."""

from __future__ import annotations

from ...autograd.backend import xp
from ...autograd.graph import leaves as graph_leaves
from ...autograd.mode import enable_grad, next_seq
from ...autograd.tensor import _wrap
from ...recurrent.state import rebuild_state, state_parts
from ..feeding import Feed
from .base import OnlineMode, _Step
from .exact import _Masked, structural_pattern

def _leaves_of(state):
    """Fresh leaves with the state's values: where this step's graph begins."""
    parts = state_parts(state)
    leaves = []
    for p in parts:
        t = _wrap(p.data)
        t.requires_grad = True
        leaves.append(t)
    return leaves, (rebuild_state(state, tuple(leaves)) if parts else None)


def recurrent_indices(step_new, params) -> list:
    """Which parameters reach the new state (the ones the influence covers)."""
    reached = {id(t) for t in graph_leaves([t for t in step_new if t.requires_grad])}
    return [i for i, p in enumerate(params) if id(p) in reached]


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
        for t in range(self.T):
            prev, state_in = _leaves_of(state)
            with enable_grad():
                start = next_seq()
                outputs, new_state = self.feed.forward(t, t + 1, state_in)
                loss = self.feed.losses(t, t + 1, outputs)[0]
            new = list(state_parts(new_state))
            step = _Step(prev, new, loss, start)
            if self.learner is None:
                self.learner = self.mode.learner(self.names, self.params, recurrent_indices(new, self.params))
                if isinstance(self.learner, _Masked):
                    self.state_like, self.state_template = new, new_state
                    self.learner.pattern = structural_pattern(self, self.learner.layout, self.learner.n)
            if loss is not None:
                self.step_losses[t] = loss.data  # on the device until the run's end
            estimate = self.learner.step(step)
            yield t, estimate
            state = rebuild_state(new_state, tuple(_wrap(p.data) for p in new)) if new else None
        self.final_state = state
