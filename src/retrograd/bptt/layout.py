"""How the BPTT engine reads a model's time layout, and the checks that refuse
a model it would misread (the rules are listed in ``feeding``'s docstring):
a module holding a sequence layer must say how it consumes time; a per-step
model keeps the batch in its output and state; a sequence model returns
every step of its segment. Also the (T, B) step ``mask`` and (B,) ``reset``
rows of padded / stateful batches: their checks and the row-wise state ops
(``carry_rows``, ``blank_rows``, ``reset_state``) the engine applies.
"""

from __future__ import annotations

import inspect

from ..autograd.backend import xp
from ..autograd.tensor import Tensor, _wrap
from ..ops import where
from ..ops.shape import swapaxes
from ..recurrent.state import rebuild_state, reset_rows, state_parts


class ModelLayoutError(ValueError):
    """The model and the data disagree on how time is laid out (see ``rg.bptt.feeding``'s docstring)."""


def time_major(seq, batch_first: bool, what: str):
    """``seq`` with time on axis 0: (B, T, …) → (T, B, …) when ``batch_first``
    (a view for arrays, a differentiable transpose for Tensors)."""
    if not batch_first or seq is None:
        return seq
    if isinstance(seq, Tensor):
        if seq.ndim < 2:
            raise ValueError(f"rg.bptt: batch_first=True needs {what} of shape (B, T, …), got {tuple(seq.shape)}")
        return swapaxes(seq, 0, 1)
    if isinstance(seq, xp.ndarray):
        if seq.ndim < 2:
            raise ValueError(f"rg.bptt: batch_first=True needs {what} of shape (B, T, …), got {seq.shape}")
        return xp.swapaxes(seq, 0, 1)
    raise TypeError(f"rg.bptt: batch_first=True needs {what} as an array or Tensor of shape (B, T, …), got "
                    f"{type(seq).__name__}; pass a time-major list (batch_first=False) or stack it first")


def _declared(model, name):
    """The model's own ``name`` flag (class or instance), or None when it does not set one."""
    return getattr(model, name, None)


def _submodules(model):
    modules = getattr(model, "modules", None)
    return [m for m in modules() if m is not model] if callable(modules) else []


def check_structure(model):
    """Rules 1 and 2 of ``feeding``'s docstring (structure only, before any step runs)."""
    name = type(model).__name__
    fused = [m for m in _submodules(model) if getattr(m, "sequence_model", False)]
    if not fused:
        return
    if _declared(model, "sequence_model") is None:
        raise ModelLayoutError(
            f"rg.bptt: {name} contains the sequence layer {type(fused[0]).__name__} but does not say how it "
            f"consumes time. By default the engine calls a model one step (B, …) at a time, which a sequence "
            f"layer would read as one unbatched sequence. Set `sequence_model = True` on {name} (it is then "
            f"called on whole segments (k, B, …) and returns every step's output), or `sequence_model = False` "
            f"if {name} really feeds the layer one step at a time.")
    if _declared(model, "sequence_model"):
        model_batch_first(model)  # refuses sequence layers that disagree


def _outer_sequence_layers(model, prefix=""):
    """(name, module) of the sequence layers (``sequence_model`` set) nearest to ``model``: a
    sequence module's own layers are its business (it may transpose for them)."""
    children = getattr(model, "named_children", None)
    found = []
    for child_name, child in (children() if callable(children) else ()):
        name = f"{prefix}{child_name}"
        if getattr(child, "sequence_model", False):
            found.append((name, child))
        else:
            found.extend(_outer_sequence_layers(child, name + "."))
    return found


def model_batch_first(model) -> bool:
    """Whether a sequence model reads (B, k, …) segments: its own ``batch_first`` when it sets one,
    else what its sequence layers say (as PyTorch code expects: a model around an
    ``nn.LSTM(batch_first=True)`` takes batch-first input), False without any. Raises
    ``ModelLayoutError`` when the layers disagree (the model must then say which it reads)."""
    own = _declared(model, "batch_first")
    if own is not None:
        return bool(own)
    layers = [(name, model_batch_first(layer)) for name, layer in _outer_sequence_layers(model)]
    flags = {flag for _, flag in layers}
    if len(flags) > 1:
        name = type(model).__name__
        listed = ", ".join(f"{layer} (batch_first={flag})" for layer, flag in layers)
        raise ModelLayoutError(
            f"rg.bptt: the sequence layers of {name} disagree on the layout: {listed}, and {name} does not set "
            f"batch_first itself. Set `batch_first = True` on {name} if it takes segments (B, k, …), or "
            f"`batch_first = False` for (k, B, …); it then transposes for the layers that read the other way.")
    return flags.pop() if flags else False


def check_step(model, x, out, state):
    """Rule 3 of ``feeding``'s docstring (the engine runs it on the first step only)."""
    if x.ndim < 2:
        return
    batch, name = x.shape[0], type(model).__name__
    fix = (f"If {name} reads whole sequences, set `sequence_model = True` on it (it is then called on "
           f"segments (k, B, …)); a per-step model must keep the batch (B = x_t.shape[0]) on axis 0 of its "
           f"output and in its state.")
    if isinstance(out, Tensor) and out.ndim >= 1 and out.shape[0] != batch:
        raise ModelLayoutError(f"rg.bptt: {name} was called on one step x_t of shape {tuple(x.shape)} "
                               f"(batch {batch}) and returned an output of shape {tuple(out.shape)}, whose "
                               f"leading dimension is not the batch. " + fix)
    for part in state_parts(state):
        if isinstance(part, Tensor) and part.ndim >= 2 and batch not in part.shape:
            raise ModelLayoutError(f"rg.bptt: {name} was called on one step x_t of shape {tuple(x.shape)} "
                                   f"(batch {batch}) and returned a state part of shape {tuple(part.shape)} "
                                   f"without the batch dimension. " + fix)


def check_segment(model, out, steps, model_batch_first):
    """Rule 4 of ``feeding``'s docstring (the engine runs it on the first segment only)."""
    axis = 1 if model_batch_first else 0
    if isinstance(out, Tensor) and (out.ndim <= axis or out.shape[axis] != steps):
        name = type(model).__name__
        raise ModelLayoutError(
            f"rg.bptt: the sequence model {name} was called on a segment of {steps} steps (time on axis "
            f"{axis}) and returned an output of shape {tuple(out.shape)}; it must return every step's output "
            f"along axis {axis}. Set `batch_first = True` on {name} if it reads (B, T, …), or remove "
            f"`sequence_model = True` if it takes one step at a time.")


# ---------------------------------------------------------------- masks and resets (padding, stateful training)
def _bool_rows(value, what: str):
    """``value`` (array, list or Tensor) as a boolean ndarray; other dtypes are refused (0/1 integers
    would read as row numbers to some and as truth values to others)."""
    arr = value.data if isinstance(value, Tensor) else xp.asarray(value)
    if arr.dtype != bool:
        raise ValueError(f"rg.bptt: {what} must be boolean (True marks a real step / a row to reset), got "
                         f"{arr.dtype}{list(arr.shape)}; compare to build one (e.g. steps < lengths)")
    return arr


def batch_size(xs) -> int | None:
    """Rows of the batch (axis 0 of one time-major step), None for unbatched steps."""
    x0 = xs[0]
    shape = getattr(x0, "shape", None)
    if shape is None:
        shape = xp.shape(x0)
    return shape[0] if len(shape) >= 1 else None


def step_mask(mask, T: int, batch: int | None, batch_first: bool):
    """The boolean mask as a (T, B) array (``batch_first``: given as (B, T)), or None when every step
    of every row is real: a full mask changes nothing, and the engine then runs exactly as without one."""
    if mask is None:
        return None
    m = _bool_rows(mask, "mask")
    given = "(B, T)" if batch_first else "(T, B)"
    if m.ndim != 2:
        raise ValueError(f"rg.bptt: mask must be {given} (True marks a real step), got shape {m.shape}")
    m = m.T if batch_first else m
    if batch is None:
        raise ValueError("rg.bptt: a mask needs batched steps x_t of shape (B, …); these steps have no batch axis")
    if m.shape != (T, batch):
        want = (batch, T) if batch_first else (T, batch)
        raise ValueError(f"rg.bptt: mask of shape {tuple(m.T.shape if batch_first else m.shape)} does not match "
                         f"the {T} steps of {batch} rows: expected {want}, {given}"
                         + ("" if batch_first else "; pass batch_first=True for (B, T) data"))
    return None if m.all() else m


def reset_mask(reset, batch: int | None):
    """The (B,) boolean rows to start from zeros, or None when none is."""
    if reset is None:
        return None
    r = _bool_rows(reset, "reset")
    if batch is None or r.shape != (batch,):
        raise ValueError(f"rg.bptt: reset must be a boolean (B,) row mask with B = {batch} rows, got shape {r.shape}")
    return r if r.any() else None


def _rows_where(rows, part, what):
    """``rows`` (B,) broadcast over a state part: rows lie on axis 0 of a (B, H) part, −2 of (L, B, H)."""
    axis = -2 % part.ndim
    if part.shape[axis] != rows.shape[0]:
        raise ModelLayoutError(f"rg.bptt: {what} has {rows.shape[0]} rows but a state part of shape "
                               f"{tuple(part.shape)} has {part.shape[axis]} on its batch axis {axis} (the engine "
                               f"reads rows on axis 0 of (B, H) and axis −2 of (num_layers, B, H) states)")
    shape = [1] * part.ndim
    shape[axis] = -1
    return xp.broadcast_to(rows.reshape(shape), part.shape)


def carry_rows(new, old, rows):
    """The state after a step where only ``rows`` are real: ``new`` on those rows, ``old`` (the state
    before the step; zeros for the initial ``None``) on the others — Keras' masking: a padded step
    leaves a row's state unchanged. A differentiable ``where``: gradients take the same path."""
    if new is None:
        return None
    old_parts = state_parts(old) if old is not None else (None,) * len(state_parts(new))
    out = []
    for n, o in zip(state_parts(new), old_parts):
        o = _wrap(xp.zeros(n.shape, n.dtype)) if o is None else o
        out.append(where(_rows_where(rows, n, "the mask's step"), n, o))
    return rebuild_state(new, tuple(out))


def blank_rows(x, rows):
    """A per-step input ``x`` (B, …) with its padded rows (``rows`` False) set to zeros. The model
    still runs on the whole batch, but computes nothing non-finite from what padding holds (NaN,
    inf): ``carry_rows`` drops those rows' new state, yet its backward multiplies their slopes by
    a zero gradient, and 0·NaN would reach the weights."""
    if x.ndim < 1 or x.shape[0] != rows.shape[0]:
        raise ModelLayoutError(f"rg.bptt: the mask's step has {rows.shape[0]} rows but the step input x_t has "
                               f"shape {tuple(x.shape)}; the rows of x_t lie on its axis 0")
    keep = rows.reshape((-1,) + (1,) * (x.ndim - 1))
    if x.requires_grad:  # a differentiable input keeps its gradient on the real rows
        return where(xp.broadcast_to(keep, x.shape), x, _wrap(xp.zeros(x.shape, x.dtype)))
    return _wrap(xp.where(keep, x.data, xp.zeros((), x.dtype)))


def reset_state(state, rows):
    """``state`` with the ``rows`` set to zeros (the start of a new sequence; no gradient flows there)."""
    if state is None or rows is None:
        return state
    for p in state_parts(state):
        _rows_where(rows, p, "reset")
    return reset_rows(state, rows, batch_axis=-2)


def check_takes_mask(model):
    """A sequence model given a mask must accept ``mask=`` (the engine cannot carry rows inside a segment)."""
    forward = getattr(model, "forward", model)
    try:
        params = inspect.signature(forward).parameters
    except (TypeError, ValueError):
        return
    if "mask" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    name = type(model).__name__
    raise ModelLayoutError(
        f"rg.bptt: a mask was given, and the sequence model {name} is called on whole segments, so the engine "
        f"cannot keep a padded row's state unchanged between its steps; the model must do it. Add a `mask=None` "
        f"parameter to {name}.forward and pass it to the recurrent layer (`self.rnn(x, state, mask=mask)`); it "
        f"gets the segment's mask, (k, B) (or (B, k) when {name} is batch_first), True on real steps.")
