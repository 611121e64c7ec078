"""How the BPTT engine reads a model's time layout, and the checks that refuse
a model it would misread (the rules are listed in ``engine``'s docstring):
a module holding a sequence layer must say how it consumes time; a per-step
model keeps the batch in its output and state; a sequence model returns
every step of its segment.
"""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.tensor import Tensor
from ..ops.shape import swapaxes
from ..recurrent.state import state_parts


class ModelLayoutError(ValueError):
    """The model and the data disagree on how time is laid out (see ``engine``'s docstring)."""


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
    """Rules 1 and 2 of ``engine``'s docstring (structure only, before any step runs)."""
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
    if _declared(model, "sequence_model") and _declared(model, "batch_first") is None \
            and any(getattr(m, "batch_first", False) for m in fused):
        raise ModelLayoutError(
            f"rg.bptt: {name} contains a batch_first=True sequence layer but does not set batch_first itself; "
            f"the engine would feed it time-major segments (k, B, …) that the layer reads as (B, T, …). Set "
            f"`batch_first = True` on {name} (segments then come as (B, k, …)), or `batch_first = False` if "
            f"{name} transposes them itself.")


def check_step(model, x, out, state):
    """Rule 3 of ``engine``'s docstring (the engine runs it on the first step only)."""
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
    """Rule 4 of ``engine``'s docstring (the engine runs it on the first segment only)."""
    axis = 1 if model_batch_first else 0
    if isinstance(out, Tensor) and (out.ndim <= axis or out.shape[axis] != steps):
        name = type(model).__name__
        raise ModelLayoutError(
            f"rg.bptt: the sequence model {name} was called on a segment of {steps} steps (time on axis "
            f"{axis}) and returned an output of shape {tuple(out.shape)}; it must return every step's output "
            f"along axis {axis}. Set `batch_first = True` on {name} if it reads (B, T, …), or remove "
            f"`sequence_model = True` if it takes one step at a time.")
