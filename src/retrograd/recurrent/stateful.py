"""``Stateful``: a recurrent model whose state is carried from one batch to the
next with the graph cut between them (Keras' ``stateful=True``), with per-row
``reset`` / ``detach`` / ``remap`` (see ``recurrent.state`` for the row helpers).
"""

from __future__ import annotations

from ..autograd.op import OpError
from ..nn.module import Module
from .state import as_row_mask, detach_rows, detach_state, reset_rows, select_rows, state_parts


class Stateful(Module):
    """Wrap a recurrent ``model(x, state) → (output, state)`` so that its state
    is carried from one call (batch) to the next, like Keras' ``stateful=True``.

    After every call the carried state is detached (the graph is cut between
    batches, the value kept) unless ``detach=False``. ``reset(mask)`` and
    ``detach(mask)`` act on chosen rows; a call whose batch size differs from
    the carried state's raises unless ``reset()`` or ``remap(index)`` is used
    first. ``batch_axis`` is the rows' axis in the state ((num_layers, B, H) or
    (B, H): -2) and ``input_batch_axis`` in the input. By default the input's
    batch axis is read off the model: 0 for a per-step model (``sequence_model
    = False``, or no sequence layer inside); for a sequence model, 0 when it is
    ``batch_first`` (its own flag, else that of the sequence layers it
    contains, e.g. an ``nn.LSTM(batch_first=True)``), else 1.
    """

    def __init__(self, model, detach: bool = True, batch_axis: int = -2, input_batch_axis: int | None = None):
        super().__init__()
        self.model = model
        self.auto_detach, self.batch_axis = detach, batch_axis
        if input_batch_axis is None:
            input_batch_axis, self._layout = _input_batch_axis(model)
        else:
            self._layout = f"input_batch_axis={input_batch_axis} was given"
        self.input_batch_axis = input_batch_axis
        self.state = None

    def _rows(self):
        parts = state_parts(self.state)
        return parts[0].shape[self.batch_axis % parts[0].ndim] if parts else None

    def forward(self, x, mask=None):
        """Run the model on ``x`` from the carried state; ``mask`` (boolean, True at
        real steps, shaped like the input's time and batch axes) is passed on as
        ``model(x, state, mask=mask)`` when given (padded steps keep a row's state)."""
        rows = self._rows()
        axis = self.input_batch_axis
        batch = x.shape[axis]
        if rows is not None and rows != batch:
            others = [a for a in range(x.ndim) if a != axis % x.ndim and x.shape[a] == rows]
            hint = (f" Axis {others[0]} of the input has {rows}: if the batch is there, the input is not laid out "
                    f"as the model reads it; give the model its batch on axis {axis}, or, if the model does read "
                    f"this layout (e.g. its layers are batch_first), pass Stateful(model, "
                    f"input_batch_axis={others[0]})." if others else "")
            raise OpError(f"Stateful: the batch has {batch} rows but the carried state has {rows}: the batch was "
                          f"read on axis {axis} of the input of shape {tuple(x.shape)}, because {self._layout}."
                          f"{hint} If the batch size really changed, call reset() to start over, or remap(index) "
                          f"to say which state rows continue")
        kw = {} if mask is None else {"mask": mask}
        if getattr(self.model, "returns", "output_and_state") != "output_and_state" and \
                callable(getattr(self.model, "forward_with_state", None)):
            # a recurrent layer giving outputs only (Keras' stateful return_sequences=True / False)
            out, state = self.model.forward_with_state(x, self.state, **kw)
        else:
            res = self.model(x, self.state, **kw)
            if not isinstance(res, (tuple, list)) or len(res) != 2:  # unpacking a Tensor would split its rows
                raise OpError(f"Stateful: the model must return (output, state), got "
                              f"{type(res).__name__}{list(res.shape) if hasattr(res, 'shape') else ''}; a "
                              f"model that returns its outputs alone cannot hand its state over")
            out, state = res
        self.state = detach_state(state) if self.auto_detach else state
        return out

    def reset(self, mask=None):
        """Start new sequences: all rows (mask None) or the rows where the boolean mask is True."""
        if mask is not None:
            as_row_mask(mask, "Stateful.reset")  # refused before anything changes, carried state or not
        self.state = None if mask is None or self.state is None else reset_rows(self.state, mask, self.batch_axis)

    def detach(self, mask=None):
        """Cut the graph of all rows, or of the rows where the boolean mask is True."""
        if mask is not None:
            as_row_mask(mask, "Stateful.detach")
        self.state = detach_rows(self.state, mask, self.batch_axis)

    def remap(self, index):
        """Continue with the state rows ``index``, a 1-d array of row numbers in
        [0, rows) (e.g. a smaller last batch); negative or out-of-range rows raise."""
        self.state = select_rows(self.state, index, self.batch_axis)


def _input_batch_axis(model):
    """(the input's batch axis, why) for a model whose wrapper did not say (class docstring)."""
    name = type(model).__name__
    declared = getattr(model, "sequence_model", None)
    if declared is False:
        return 0, f"{name} sets sequence_model = False (one step (B, …) per call)"
    modules = model.modules() if callable(getattr(model, "modules", None)) else [model]
    layers = [m for m in modules if m is not model and getattr(m, "sequence_model", False)]
    own = getattr(model, "batch_first", None) if declared else None
    if own is not None:
        return (0, f"{name} is batch_first=True (input (B, T, …))") if own else \
            (1, f"{name} is batch_first=False (input (T, B, …))")
    if layers:
        first = layers[0]
        bf = bool(getattr(first, "batch_first", False))
        return (0 if bf else 1), (f"{name} contains the batch_first={bf} sequence layer {type(first).__name__} "
                                  f"(input {'(B, T, …)' if bf else '(T, B, …)'})")
    if declared:
        return 1, f"{name} is a sequence model without batch_first (input (T, B, …))"
    return 0, f"{name} is a per-step model (input (B, …))"
