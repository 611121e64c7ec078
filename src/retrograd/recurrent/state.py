"""A recurrent state as a value: its parts, cut from the tape, and chosen rows.

A state is what a recurrent layer passes from one step to the next: ``None``
(no state yet), one Tensor (an RNN's or GRU's h) or a tuple/list of Tensors (an
LSTM's (h, c)). These helpers treat all three alike, so the BPTT engine, the
``Stateful`` wrapper and user loops can carry any layer's state.

Per-row ``reset`` / ``detach`` (asked of Keras and PyTorch for years:
keras-team/keras#2750, #11175): rows are samples of the batch. Resetting row i
sets its state to zeros (a new sequence starts there); detaching row i cuts its
gradient path to earlier steps while its value carries on. Both are ordinary
ops (``where`` with a constant mask), so the other rows keep their graph.
"""

from __future__ import annotations

from ..autograd.backend import xp

from .. import ops
from ..ops.shape import out_of_range
from ..autograd.op import OpError
from ..autograd.tensor import Tensor, _wrap


def state_parts(state) -> tuple:
    """A state as a tuple of Tensors (an LSTM's (h, c), an RNN's h, or none)."""
    if state is None:
        return ()
    if isinstance(state, Tensor):
        return (state,)
    return tuple(state)


def rebuild_state(like, parts):
    """``parts`` put back in the shape of ``like``: one Tensor, a tuple or a list."""
    if isinstance(like, Tensor):
        return parts[0]
    return type(like)(parts) if isinstance(like, tuple) else list(parts)


def detach_state(state, requires_grad: bool = False):
    """A copy of ``state`` cut from the tape (optionally a new leaf that requires grad)."""
    if state is None:
        return None
    parts = tuple(p.detach() for p in state_parts(state))
    if requires_grad:
        parts = tuple(p.requires_grad_() if p.dtype.kind == "f" else p for p in parts)
    return rebuild_state(state, parts)


def as_row_mask(mask, op: str = "stateful"):
    """``mask`` as a boolean array: True marks the rows to act on. A mask of
    another dtype is refused (0/1 integers would read as row numbers to some
    and as truth values to others); choose rows by number with ``remap``."""
    if isinstance(mask, (list, tuple)) and len(mask) == 0:
        return xp.zeros(0, dtype=bool)
    m = mask.data if isinstance(mask, Tensor) else xp.asarray(mask)
    if m.dtype != bool:
        raise OpError(f"{op}: a row mask must be boolean (True marks a row), got {m.dtype}{list(m.shape)}; "
                      f"compare to build one (e.g. lengths == 0)")
    return m


def _row_mask(mask, part, batch_axis):
    m = as_row_mask(mask)
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
    for p in state_parts(state):
        m = _row_mask(mask, p, batch_axis)
        out.append(ops.where(xp.broadcast_to(m, p.shape), _wrap(xp.zeros(p.shape, p.dtype)), p))
    return rebuild_state(state, tuple(out))


def detach_rows(state, mask=None, batch_axis: int = -2):
    """Cut the gradient path of the rows where ``mask`` is True (all rows when
    None); their values carry on."""
    if state is None:
        return None
    if mask is None:
        return detach_state(state)
    out = []
    for p in state_parts(state):
        m = _row_mask(mask, p, batch_axis)
        out.append(ops.where(xp.broadcast_to(m, p.shape), p.detach(), p))
    return rebuild_state(state, tuple(out))


def select_rows(state, index, batch_axis: int = -2):
    """Keep (and reorder) rows: for a batch whose size or order changes.
    ``index`` is a 1-d array of row numbers in [0, rows); a negative one is
    refused (not counted from the end), as PyTorch's ``index_select`` does."""
    if state is None:
        return None
    idx = index.data if isinstance(index, Tensor) else xp.asarray(index)
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise OpError(f"remap: index must be a 1-d array of integer row numbers, got {idx.dtype}{list(idx.shape)}"
                      + ("; for a boolean mask pass its row numbers (xp.flatnonzero(mask))" if idx.dtype == bool
                         else ""))
    out = []
    for p in state_parts(state):
        axis = batch_axis % p.ndim
        rows = p.shape[axis]
        bad = out_of_range(idx, rows)
        if bad is not None:
            raise OpError(f"remap: row {bad} is out of range [0, {rows}) for a state of shape "
                          f"{tuple(p.shape)} (batch axis {axis}); negative rows are refused, not counted from "
                          f"the end")
        out.append(ops.take(p, idx, axis=axis))
    return rebuild_state(state, tuple(out))


__all__ = ["state_parts", "rebuild_state", "detach_state", "as_row_mask", "reset_rows", "detach_rows", "select_rows"]
