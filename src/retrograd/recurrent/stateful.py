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
    (B, H): -2) and ``input_batch_axis`` in the input.
    """

    def __init__(self, model, detach: bool = True, batch_axis: int = -2, input_batch_axis: int | None = None):
        super().__init__()
        self.model = model
        self.auto_detach, self.batch_axis = detach, batch_axis
        if input_batch_axis is None:
            seq = getattr(model, "sequence_model", False) and not getattr(model, "batch_first", False)
            input_batch_axis = 1 if seq else 0
        self.input_batch_axis = input_batch_axis
        self.state = None

    def _rows(self):
        parts = state_parts(self.state)
        return parts[0].shape[self.batch_axis % parts[0].ndim] if parts else None

    def forward(self, x):
        rows = self._rows()
        batch = x.shape[self.input_batch_axis]
        if rows is not None and rows != batch:
            raise OpError(f"Stateful: the batch has {batch} rows but the carried state has {rows}; call "
                          f"reset() to start over, or remap(index) to say which state rows continue")
        out, state = self.model(x, self.state)
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
