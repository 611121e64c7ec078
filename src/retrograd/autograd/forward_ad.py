"""Forward-mode AD with dual tensors, as ``torch.autograd.forward_ad``: a tangent rides along
with a tensor, and every op run on it computes its output's tangent at once, with the op's
own forward-mode rule (``jvp``, the column of the derivative table beside its ``vjp``)::

    with fwAD.dual_level():
        x = fwAD.make_dual(primal, tangent)      # x carries ẋ = tangent
        y = f(x)                                 # each op: ẏ = Σᵢ ∂op/∂xᵢ · ẋᵢ, right after its forward
        y_primal, y_tangent = fwAD.unpack_dual(y)   # ẏ = J_f(primal) · tangent

One forward pass gives the Jacobian-vector product J·v (one column of the Jacobian per
tangent), where the reverse mode's backward gives vᵀJ (one row per cotangent): forward mode
is the cheaper one when a function has fewer inputs than outputs. ``rg.func.jvp`` computes
the same product from a recorded graph afterwards; a dual level computes it as the ops run,
so it works under ``rg.no_grad()`` and on code that records nothing.

What PyTorch does and retrograd does too: one level at a time (a nested level is refused),
tangents dropped when the level exits, an op whose output is not floating (a comparison,
``argmax``) gives no tangent, ``detach()`` drops it, and an in-place method moves the
tangent with the value (``x.mul_(2)`` doubles ẋ). A tangent is an array beside the tensor,
not a tensor on the tape: no reverse mode through a tangent (use ``rg.func`` for
forward-over-reverse), and a custom ``autograd.Function`` gets its tangent from the ops of its
forward, not from a ``jvp`` method.
"""

from __future__ import annotations

import weakref
from contextlib import ContextDecorator
from typing import NamedTuple

from . import backend
from .forward import _jvp
from .mode import _mode
from .namespaces import ARRAY_NS
from .op import UnaryOp
from .tensor import Tensor, _wrap


class UnpackedDualTensor(NamedTuple):
    """What ``unpack_dual`` returns: the primal (a view of the tensor, without the tangent) and
    the tangent (a Tensor, or None where the tensor carries none)."""
    primal: Tensor
    tangent: Tensor | None


class _DualView(UnaryOp):
    """The tensor itself as a new tensor (a view of its array): ``make_dual``'s and
    ``unpack_dual``'s result, on the tape when the tensor is, so a backward passes through."""

    name = "view_as_dual"
    __slots__ = ()
    save_inputs = ()

    def forward(self, x): return x.view()
    def vjp(self, ns, g, y, x): return (g,)
    def jvp(self, ns, ts, y, x): return ts[0]


class _DualLevel:
    """The active level: the tangent of every tensor that carries one, kept beside the tensor
    ({id: (weak reference, array)}) so that a tensor's death drops its entry. The ops call
    ``call`` after their forward (``_mode.dual``)."""

    def __init__(self, index: int):
        self.index = index
        self.tangents = {}

    def tangent(self, t):
        """``t``'s tangent array, or None."""
        entry = self.tangents.get(id(t))
        if entry is not None and entry[0]() is t:
            return entry[1]
        return None

    def set(self, t: Tensor, tangent) -> None:
        """Attach ``tangent`` (an array, or None to drop it) to ``t``."""
        key = id(t)
        if tangent is None:
            self.tangents.pop(key, None)
            return
        tangents = self.tangents
        self.tangents[key] = (weakref.ref(t, lambda _, key=key: tangents.pop(key, None)), tangent)

    def call(self, op, args, xs, outs) -> None:
        """After ``op``'s forward on ``args`` (arrays ``xs``, or None: the tensors' data): the
        outputs' tangents, ẏ = Σᵢ ∂op/∂xᵢ·ẋᵢ, by the op's ``jvp`` — when an input carries one."""
        if not self.tangents:
            return
        ts = [self.tangent(a) if isinstance(a, Tensor) else None for a in args]
        if all(t is None for t in ts):
            return
        if not any(o.data.dtype.kind in "fc" for o in outs):  # an integer or boolean result has no tangent
            return
        if xs is None:
            xs = tuple(a.data if isinstance(a, Tensor) else a for a in args)
        if getattr(op, "edges", None) is None:  # not recorded: the rule learns which inputs move
            op.needs = tuple(t is not None for t in ts)
        ans = tuple(o.data for o in outs) if op.multi else outs[0].data
        r = _jvp(op, ARRAY_NS, ts, ans, xs, 0)
        for o, ro in zip(outs, r if op.multi else (r,)):
            if ro is not None and o.data.dtype.kind in "fc":
                if hasattr(ro, "dense"):  # a structured tangent (a concatenation's pieces): as one array
                    ro = ro.dense()
                if not isinstance(ro, backend.ndarray):
                    ro = backend.xp.asarray(ro)
                if ro.shape != o.data.shape:
                    ro = backend.xp.broadcast_to(ro, o.data.shape)
                self.set(o, ro.astype(o.data.dtype, copy=False))

    def overwritten(self, t: Tensor) -> None:
        """``t``'s value was written in place with no tangent: a tangent it carried is now zeros."""
        if self.tangent(t) is not None:
            self.set(t, backend.xp.zeros_like(t.data))

    def moved(self, source: Tensor, target: Tensor) -> None:
        """An in-place write put ``source``'s value into ``target``: the tangent moves with it.
        (Called after ``overwritten(target)``, which left zeros where the value carries none.)"""
        t = self.tangent(source)
        if t is not None:
            self.set(target, t)


def carries_tangent(t) -> bool:
    """Whether ``t`` carries a tangent in the active dual level (an op must then see it as a
    Tensor, not as a constant array, even when it needs no gradient)."""
    dual = _mode.dual
    return dual is not None and isinstance(t, Tensor) and dual.tangent(t) is not None


def _level(level, who: str) -> _DualLevel:
    current = _mode.dual
    if level is not None and (current is None or level != current.index):
        raise RuntimeError(f"{who}: invalid level {level!r} (the active dual level is "
                           f"{None if current is None else current.index})")
    return current


def enter_dual_level() -> int:
    """Start a dual level (the context manager ``dual_level`` does this for you); returns its
    index. One level at a time: a nested one is refused, as in PyTorch."""
    if _mode.dual is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _mode.dual = _DualLevel(0)
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """End the active dual level: every tangent made in it is dropped."""
    current = _mode.dual
    if current is None:
        raise RuntimeError("exit_dual_level: no dual level is active (call enter_dual_level() first)")
    _level(level, "exit_dual_level")
    current.tangents.clear()
    _mode.dual = None


class dual_level(ContextDecorator):
    """``with fwAD.dual_level():`` — a scope for dual tensors (also a decorator). Tangents made
    inside live until it exits."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()
        return False


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A view of ``tensor`` carrying ``tangent`` (same shape; a floating or complex tensor).
    Every op run on it computes its result's tangent; ``unpack_dual`` reads it. On the tape
    when ``tensor`` is: a backward through the result reaches ``tensor``."""
    current = _level(level, "make_dual")
    if current is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual: expected Tensors for the primal and the tangent, got "
                        f"{type(tensor).__name__} and {type(tangent).__name__}")
    if tensor.data.dtype.kind not in "fc":
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.data.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    if tangent.data.dtype.kind not in "fc":
        raise ValueError(f"make_dual: expected a floating point or complex tangent, got {tangent.data.dtype}")
    dual = _DualView()(tensor)
    current.set(dual, tangent.data.astype(tensor.data.dtype, copy=False))
    return dual


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """(primal, tangent) of ``tensor``: the primal a view without the tangent, the tangent a
    Tensor or None. Outside a dual level, (``tensor``, None)."""
    current = _level(level, "unpack_dual")
    if current is None:
        return UnpackedDualTensor(tensor, None)
    t = current.tangent(tensor)
    if t is None:
        return UnpackedDualTensor(_DualView()(tensor), None)
    # the primal is made with the level set aside, so it carries no tangent
    _mode.dual = None
    try:
        primal = _DualView()(tensor)
    finally:
        _mode.dual = current
    return UnpackedDualTensor(primal, _wrap(t))


__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual"]
