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
tangent with the value (``x.mul_(2)`` doubles ẋ), written into the tangent array itself, so the
tangent given to ``make_dual`` and the views of a dual tensor see it. A tangent is an array beside the tensor,
not a tensor on the tape: no reverse mode through a tangent (use ``rg.func`` for
forward-over-reverse). A custom ``autograd.Function`` gets its outputs' tangents from its
``jvp`` staticmethod, as in PyTorch (its forward's own ops run without tangents).
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
    ({id: (weak reference, array, the Tensor ``unpack_dual`` hands out or None)}) so that a
    tensor's death drops its entry. The ops call ``call`` after their forward (``_mode.dual``)."""

    def __init__(self, index: int):
        self.index = index
        self.tangents = {}

    def tangent(self, t):
        """``t``'s tangent array, or None."""
        entry = self.tangents.get(id(t))
        if entry is not None and entry[0]() is t:
            return entry[1]
        return None

    def tangent_tensor(self, t):
        """``t``'s tangent as a Tensor, or None: the same Tensor each time (the one given to
        ``make_dual`` where it was kept as it is), so an in-place write to it is ``t``'s tangent's."""
        entry = self.tangents.get(id(t))
        if entry is None or entry[0]() is not t:
            return None
        wrapper = entry[2]
        if wrapper is None or wrapper.data is not entry[1]:
            wrapper = _wrap(entry[1])
            self.tangents[id(t)] = (entry[0], entry[1], wrapper)
        return wrapper

    def set(self, t: Tensor, tangent, wrapper: Tensor | None = None) -> None:
        """Attach ``tangent`` (an array, or None to drop it) to ``t``; ``wrapper``: a Tensor
        around that very array for ``unpack_dual`` to return."""
        key = id(t)
        if tangent is None:
            self.tangents.pop(key, None)
            return
        tangents = self.tangents
        self.tangents[key] = (weakref.ref(t, lambda _, key=key: tangents.pop(key, None)), tangent, wrapper)

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
                ro = ro.astype(o.data.dtype, copy=False)
                if _aliases_an_input(ro, o.data, ts, xs):
                    ro = ro.copy()
                self.set(o, ro)

    def written(self, target: Tensor, index, source) -> None:
        """``target[index]`` was just written in place with ``source``'s value (a Tensor, or
        None: a constant): the tangent there becomes ``source``'s (broadcast as the value was),
        or zeros, written into ``target``'s tangent array itself, as PyTorch writes into its
        tangent tensor, so views of it and the Tensor ``unpack_dual`` gave see the change. A
        target without a tangent gets zeros elsewhere (PyTorch's "unused values get 0")."""
        s = self.tangent(source) if isinstance(source, Tensor) else None
        tangent = self.tangent(target)
        if (s is None and tangent is None) or target.data.dtype.kind not in "fc":
            return
        data = target.data
        if tangent is None or tangent.shape != data.shape or tangent.dtype != data.dtype \
                or not getattr(getattr(tangent, "flags", None), "writeable", True):  # a broadcast view can take no write: a copy of it can
            fresh = backend.xp.zeros_like(data)
            if tangent is not None:
                fresh[...] = tangent
            self.set(target, fresh)
            tangent = fresh
        if s is None:
            tangent[index] = 0
            return
        place = tangent[index].shape
        while s.ndim > len(place) and s.shape[0] == 1:  # leading ones dropped, as the value's were
            s = s[0]
        tangent[index] = s

    def overwritten(self, t: Tensor) -> None:
        """``t``'s value was written in place with no tangent: a tangent it carried is now zeros."""
        if self.tangent(t) is not None:
            self.written(t, Ellipsis, None)

    def moved(self, source: Tensor, target: Tensor) -> None:
        """An in-place write put ``source``'s value into ``target``: the tangent moves with it.
        (Called after ``overwritten(target)``, which left zeros where the value carries none.)"""
        if self.tangent(source) is not None:
            self.written(target, Ellipsis, source)


def _aliases_an_input(tangent, value, ts, xs) -> bool:
    """Whether an output's tangent shares memory with an input's tangent while the output's value
    shares none with that input's value (a rule that passed a tangent through, as ``x + c``):
    it is then copied, so an in-place write to the output cannot reach the input's tangent. A
    view keeps sharing (its value is a view too): a write through it reaches its base, as in PyTorch."""
    may_share = backend.xp.may_share_memory
    return any(t is not None and may_share(tangent, t) and not (hasattr(x, "shape") and may_share(value, x))
               for t, x in zip(ts, xs))


def carries_tangent(t) -> bool:
    """Whether ``t`` carries a tangent in the active dual level (an op must then see it as a
    Tensor, not as a constant array, even when it needs no gradient)."""
    dual = _mode.dual
    return dual is not None and isinstance(t, Tensor) and dual.tangent(t) is not None


class NotATensorError(TypeError, AttributeError):
    """``make_dual`` given something that is not a Tensor: a ``TypeError``, and the
    ``AttributeError`` PyTorch raises (it asks the argument for ``is_floating_point()``)."""


def enter_dual_level() -> int:
    """Start a dual level (the context manager ``dual_level`` does this for you); returns its
    index. One level at a time: a nested one is refused, as in PyTorch."""
    if _mode.dual is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _mode.dual = _DualLevel(0)
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """End the active dual level: every tangent made in it is dropped. ``level``, if given, must
    be the active one (PyTorch's rule: only the last level entered may exit)."""
    current = _mode.dual
    if current is None:
        raise RuntimeError("exit_dual_level: no dual level is active (call enter_dual_level() first)")
    if level is not None and level != current.index:
        raise RuntimeError(f"Trying to exit a forward AD level that was not the last one that was created. This is "
                           f"not supported. (exit_dual_level: level {level!r}, the active one is {current.index})")
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
    """A view of ``tensor`` carrying ``tangent`` (same shape; both floating or complex). Every op
    run on it computes its result's tangent; ``unpack_dual`` reads it, and returns ``tangent``
    itself where it was kept as it is (the primal's dtype and strides; otherwise a converted
    copy, in the primal's dtype). On the tape when ``tensor`` is: a backward through the result
    reaches ``tensor``. The checks are PyTorch's, in its order."""
    current = _mode.dual
    if level is None and current is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    if level is not None and (current is None or level != current.index):
        raise RuntimeError(f"make_dual: invalid level {level!r}: the active dual level is "
                           f"{None if current is None else current.index} (leave level= out to use it)")
    for what, t in (("primal", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):
            raise NotATensorError(f"make_dual: expected a Tensor as the {what}, got {type(t).__name__} "
                                  f"(wrap it with rg.tensor(...))")
        if t.data.dtype.kind not in "fc":
            raise ValueError(f"Expected {what} to be floating point or complex, but got: {t.dtype}")
    if current.tangent(tensor) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                           f"level {current.index} is not supported (make_dual: take unpack_dual(x).primal first)")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    if current.tangent(tangent) is not None:
        raise RuntimeError(f"Setting a forward grad that itself has a forward gradient at the same level "
                           f"{current.index} is not supported (make_dual: pass unpack_dual(t).primal as the tangent)")
    dual = _DualView()(tensor)
    array, primal = tangent.data, tensor.data
    if array.dtype == primal.dtype and array.strides == primal.strides:
        current.set(dual, array, tangent)  # kept as it is: an in-place write to either is seen by both
    else:  # another dtype or layout: a copy in the primal's (PyTorch copies for another layout too)
        copy = backend.xp.empty_like(primal)
        copy[...] = array
        current.set(dual, copy)
    return dual


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """(primal, tangent) of ``tensor``: the primal a view without the tangent, the tangent a
    Tensor (the same one each call; the one given to ``make_dual`` where it was kept) or None.
    Outside a dual level (no ``level`` given), (``tensor``, None); for a ``level`` that is not the
    active one, (a view of ``tensor``, None), and a RuntimeError for a dual tensor, as PyTorch's."""
    current = _mode.dual
    if (current is None and level is None) or (level is not None and level < 0):
        return UnpackedDualTensor(tensor, None)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"unpack_dual(): argument 'dual' must be Tensor, not {type(tensor).__name__}")
    if current is None or (level is not None and level != current.index):  # a level that is not active
        if current is not None and current.tangent(tensor) is not None:  # PyTorch refuses a dual tensor there
            raise RuntimeError(f"unpack_dual: invalid level {level!r} for a dual tensor (the active dual level is "
                               f"{current.index}; leave level= out to use it)")
        return UnpackedDualTensor(_DualView()(tensor), None)
    t = current.tangent_tensor(tensor)
    if t is None:
        return UnpackedDualTensor(_DualView()(tensor), None)
    # the primal is made with the level set aside, so it carries no tangent
    _mode.dual = None
    try:
        primal = _DualView()(tensor)
    finally:
        _mode.dual = current
    return UnpackedDualTensor(primal, t)


__all__ = ["NotATensorError", "UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual"]
