"""Stateful training: a state carried across batches with the graph cut, and
per-row ``reset`` / ``detach`` (asked of Keras and PyTorch for years:
keras-team/keras#2750, #11175).

Rows are samples of the batch. Resetting row i sets its state to zeros (a new
sequence starts there); detaching row i cuts its gradient path to earlier
steps while its value carries on. Both are ordinary ops (``where`` with a
constant mask), so the other rows keep their graph.
"""

from __future__ import annotations

from ..autograd.backend import xp

from .. import ops
from ..nn.module import Module
from ..autograd.op import OpError
from ..autograd.tensor import Tensor, _wrap
from .engine import _parts, _rebuild, detach_state


def _row_mask(mask, part, batch_axis):
    m = xp.asarray(mask.data if isinstance(mask, Tensor) else mask, dtype=bool)
    axis = batch_axis % part.ndim
    if m.shape != (part.shape[axis],):
        raise OpError(f"stateful: row mask of shape {m.shape} does not match a state with {part.shape[axis]} rows "
                      f"(state shape {tuple(part.shape)}, batch axis {axis})")
    shape = [1] * part.ndim
    shape[axis] = -1
    return m.reshape(shape)


def reset_rows(state, mask, batch_axis: int = -2):
    """Zero the state of the rows where ``mask`` is True (no gradient flows
    through them); other rows are unchanged."""
    if state is None:
        return None
    out = []
    for p in _parts(state):
        m = _row_mask(mask, p, batch_axis)
        out.append(ops.where(xp.broadcast_to(m, p.shape), _wrap(xp.zeros(p.shape, p.dtype)), p))
    return _rebuild(state, tuple(out))


def detach_rows(state, mask=None, batch_axis: int = -2):
    """Cut the gradient path of the rows where ``mask`` is True (all rows when
    None); their values carry on."""
    if state is None:
        return None
    if mask is None:
        return detach_state(state)
    out = []
    for p in _parts(state):
        m = _row_mask(mask, p, batch_axis)
        out.append(ops.where(xp.broadcast_to(m, p.shape), p.detach(), p))
    return _rebuild(state, tuple(out))


def select_rows(state, index, batch_axis: int = -2):
    """Keep (and reorder) rows: for a batch whose size or order changes."""
    if state is None:
        return None
    idx = xp.asarray(index)
    out = []
    for p in _parts(state):
        axis = batch_axis % p.ndim
        out.append(ops.take(p, idx, axis=axis))
    return _rebuild(state, tuple(out))


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
        parts = _parts(self.state)
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
        """Start new sequences: all rows (mask None) or the rows where mask is True."""
        self.state = None if mask is None or self.state is None else reset_rows(self.state, mask, self.batch_axis)

    def detach(self, mask=None):
        """Cut the graph of all rows, or of the rows where mask is True."""
        self.state = detach_rows(self.state, mask, self.batch_axis)

    def remap(self, index):
        """Continue with the state rows ``index`` (e.g. a smaller last batch)."""
        self.state = select_rows(self.state, index, self.batch_axis)
