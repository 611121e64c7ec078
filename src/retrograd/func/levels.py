"""Transform levels: which part of the one tape a transform differentiates, as torch.func's levels.

torch.func gives each running transform a *level* and wraps its primals at that level; when
the transform returns, the level dies, and a tensor still wrapped at it (one that escaped
``f``, or one a ``vjp_fn`` holds) is a plain constant to every later transform — only what it
was computed from *below* (regular autograd, a transform still running outside) still counts.

retrograd records everything on one tape, so the levels are kept beside it: a transform's
level is the sequence number taken when it starts (its graph is recorded after it), its
primals are fresh leaves registered with that level, and the level is live while ``f`` runs.
Walking a graph back from a result, a leaf is

- *live* when it is the user's (regular autograd: a weight that requires grad) or the
  primal of a transform still running outside — the result must stay on the tape for it;
- *dead* when it is the primal of a transform that has returned — a constant.

So ``grad(lambda v: vjp_fn(v)[0])(s)``, with ``vjp_fn`` from a finished ``vjp``, reaches
only ``vjp``'s dead primals and its own: its result is a plain tensor, as torch's. A primal on
a tape enters ``f`` through ``_Primal``, so a walk through a dead transform's graph goes on into
what its primals were computed from.
"""

from __future__ import annotations

import weakref

from ..autograd.mode import is_grad_enabled, next_seq
from ..autograd.op import UnaryOp
from ..autograd.tensor import Tensor, _wrap

BASE = -1
"""The level of regular autograd (the user's leaves that require grad): never dies."""

_LIVE: set = set()  # the levels of the transforms running now
_PRIMAL_LEAVES: dict = {}  # id(leaf) → (weak reference, level of the transform that made it)


class level:
    """``with level() as start:`` — a transform's level, live inside the block. ``start`` is
    also the sequence number before anything of the transform is recorded."""
    __slots__ = ("id",)

    def __enter__(self) -> int:
        self.id = next_seq()
        _LIVE.add(self.id)
        return self.id

    def __exit__(self, *exc):
        _LIVE.discard(self.id)


def still_live(lvl) -> bool:
    """Whether ``lvl`` (from ``reached``; None: nothing) is a level that has not died."""
    return lvl is not None and (lvl == BASE or lvl in _LIVE)


# ---------------------------------------------------------------- primals
class _Primal(UnaryOp):
    """x ↦ x: marks where a transform's primal enters ``f`` when the primal is itself on a
    tape, so the transform's graph ends here and an outer transform's goes on through it."""
    name, elementwise, save_inputs = "primal", True, ()
    __slots__ = ()

    def forward(self, x): return x
    def vjp(self, ns, g, ans, x): return (g,)
    def jvp(self, ns, ts, ans, x): return ts[0]


def primal(x: Tensor, lvl: int) -> Tensor:
    """A fresh start for the graph of ``f`` at level ``lvl``: a leaf sharing x's data, or (x on a
    tape) x through ``_Primal``."""
    if x.requires_grad:
        return _Primal()(x)
    leaf = _wrap(x.data)
    leaf.requires_grad = True
    key = id(leaf)
    _PRIMAL_LEAVES[key] = (weakref.ref(leaf, lambda _, key=key: _PRIMAL_LEAVES.pop(key, None)), lvl)
    return leaf


def _leaf_level(leaf: Tensor):
    """The level a leaf that requires grad belongs to: its transform's, or ``BASE`` (the user's)."""
    entry = _PRIMAL_LEAVES.get(id(leaf))
    return entry[1] if entry is not None and entry[0]() is leaf else BASE


# ---------------------------------------------------------------- walks
def reached(tensors, own=None):
    """The first live level the graph behind ``tensors`` reaches (``BASE``: a user's leaf), or
    None when it reaches only the level ``own`` and dead ones: then nothing outside needs
    a derivative through it. A node whose graph was freed (a backward without
    ``retain_graph``) counts as the user's when older than ``own``: only a user's backward frees."""
    stack = []
    for t in tensors:
        if isinstance(t, Tensor) and t.requires_grad:
            if t._node is not None:
                stack.append(t._node)
            else:
                lvl = _leaf_level(t)
                if lvl != own and (lvl == BASE or lvl in _LIVE):
                    return lvl
    seen = set()
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        edges = n.edges
        if edges is None:
            if own is None or n.seq < own:
                return BASE
            continue
        for e in edges:
            if e is None:
                continue
            if isinstance(e, Tensor):
                lvl = _leaf_level(e)
                if lvl != own and (lvl == BASE or lvl in _LIVE):
                    return lvl
                continue
            stack.append(e[0] if type(e) is tuple else e)
    return None


def outer(*tensors) -> bool:
    """Whether something outside differentiates through these (a live level reaches them):
    then a transform given them records its derivative. A tensor that escaped a finished
    transform is a constant, as torch.func's dead wrappers."""
    if not is_grad_enabled():
        return False
    on_tape = [t for t in tensors if isinstance(t, Tensor) and t.requires_grad]
    return bool(on_tape) and reached(on_tape) is not None


def reaches_outside(outputs, own: int) -> bool:
    """Whether, in grad mode, the graph ``f`` recorded at level ``own`` reaches a live level
    outside it — a closed-over weight that requires grad, a running outer transform's primal,
    an argument outside ``argnums`` on such a tape — so the result must stay on the tape for
    that outer derivative (torch.func records then too)."""
    return is_grad_enabled() and reached(outputs, own) is not None


__all__ = ["BASE", "level", "still_live", "primal", "reached", "outer", "reaches_outside"]
