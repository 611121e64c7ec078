"""The public walk over a recorded graph: producers, leaves, saved bytes, labels.

Everything above the core that looks at the tape — the BPTT engine's
memory accounting, checkpointing, data-parallel hooks, the recurrent cells'
gate names, ``rg.explain`` and the explorer — goes through these functions,
never through an op's private fields.

The graph, as the tape records it: a Tensor made by a recorded op points at
that op (``producer(t)``, PyTorch's ``grad_fn``); an op points at where each
input's gradient goes (``inputs(op)``): the op that made it — an ``Edge``,
with the output index for an op of several outputs — or the leaf Tensor
itself, or None for an input that needs no gradient. An op that the backward
pass has run and released (no ``retain_graph``) has no inputs any more
(``is_released``).
"""

from __future__ import annotations

import sys
from heapq import heappop, heappush
from typing import Iterator, NamedTuple

from .tensor import Tensor


class Edge(NamedTuple):
    """Input ``index``-th output of op ``node`` (``index`` 0 for an op of one output)."""

    node: object
    index: int


def producer(t: Tensor):
    """The op that made ``t`` (its ``grad_fn``), or None for a leaf or an untracked tensor."""
    return t._node


def is_released(node) -> bool:
    """Whether ``node``'s saved values and edges were freed by a backward pass."""
    return node.edges is None


def inputs(node) -> tuple:
    """Per input of ``node``: an ``Edge`` to the op that made it, the leaf Tensor,
    or None (an input that needs no gradient, a constant); () once released."""
    if node.edges is None:
        return ()
    result = []
    for e in node.edges:
        if e is None or isinstance(e, Tensor):
            result.append(e)
        elif type(e) is tuple:
            result.append(Edge(e[0], e[1]))
        else:
            result.append(Edge(e, 0))
    return tuple(result)


def input_nodes(node) -> tuple:
    """Per input of ``node``: the op that made it, or None (a leaf or a constant)."""
    return tuple(e.node if isinstance(e, Edge) else None for e in inputs(node))


def walk(roots, seen=None, after: int = -1) -> Iterator:
    """Every recorded op reachable from ``roots`` (Tensors or ops), each once, the
    latest first (reverse creation order: the order the backward pass runs them).
    Released ops are yielded but not walked through. ``seen``: a set (or
    ``weakref.WeakSet``) of ops already walked, skipped and added to — share it
    between calls to walk a common upstream graph once. ``after``: a creation number;
    ops recorded at or before it are neither yielded nor walked through (the graph
    a piece of code recorded since then)."""
    if isinstance(roots, Tensor) or not isinstance(roots, (list, tuple, set)):
        roots = [roots]
    seen = set() if seen is None else seen
    heap = []
    for r in roots:
        n = r._node if isinstance(r, Tensor) else r
        if n is not None and n.seq > after and n not in seen:
            seen.add(n)
            heappush(heap, (-n.seq, id(n), n))
    while heap:
        n = heappop(heap)[2]
        yield n
        for e in n.edges or ():
            p = e[0] if type(e) is tuple else e
            if p is not None and not isinstance(p, Tensor) and p.seq > after and p not in seen:
                seen.add(p)
                heappush(heap, (-p.seq, id(p), p))


def leaves(roots) -> list:
    """The leaf Tensors that require a gradient and are reachable from ``roots``
    (parameters, inputs), in the order first reached from the latest op."""
    found, seen = [], set()
    for r in ([roots] if isinstance(roots, Tensor) else roots):
        if isinstance(r, Tensor) and r._node is None and r.requires_grad and id(r) not in seen:
            seen.add(id(r))
            found.append(r)
    for n in walk(roots):
        for e in n.edges or ():
            if isinstance(e, Tensor) and id(e) not in seen:
                seen.add(id(e))
                found.append(e)
    return found


def _owner(a):
    """The buffer an array looks into (itself, or its base for a view)."""
    base = getattr(a, "base", None)
    return a if base is None else base


def saved_arrays(roots, exclude_leaves: bool = False) -> list:
    """Every buffer the ops reachable from ``roots`` keep alive for the backward
    pass, each once (a kept view counts the buffer it looks into).

    ``exclude_leaves``: leave out what lives whether or not there is a tape —
    the arrays of the graph's inputs (leaf tensors: parameters, inputs, an
    incoming state; and constants) and any view of them."""
    nodes = list(walk(roots))
    outside = set()
    if exclude_leaves:
        for r in ([roots] if isinstance(roots, Tensor) else roots):
            if isinstance(r, Tensor) and r._node is None:
                outside.add(id(_owner(r.data)))
        for n in nodes:
            for e, x in zip(n.edges or (), n.xs or ()):
                if isinstance(e, Tensor):
                    outside.add(id(_owner(e.data)))
                if (e is None or isinstance(e, Tensor)) and hasattr(x, "nbytes") and hasattr(x, "base"):
                    outside.add(id(_owner(x)))
    seen, result = set(outside), []
    for n in nodes:
        for a in n.saved_arrays():
            owner = _owner(a)
            if id(owner) not in seen:
                seen.add(id(owner))
                result.append(owner)
    return result


def saved_nbytes(roots, exclude_leaves: bool = False) -> int:
    """Bytes the graph below ``roots`` keeps for its backward pass (``saved_arrays``: each buffer once)."""
    return sum(a.nbytes for a in saved_arrays(roots, exclude_leaves))


def objects_nbytes(roots) -> int:
    """Bytes of the tape's own Python objects below ``roots``: each op, its
    tuples of edges and inputs, its creation number, and the header of each
    array it keeps (NumPy's buffers are ``saved_nbytes``). Small beside the
    arrays, except for graphs of many ops on tiny arrays."""
    total = 0
    for n in walk(roots):
        total += sys.getsizeof(n) + sys.getsizeof(n.seq) + sys.getsizeof(n.edges or ()) + sys.getsizeof(n.xs or ())
        for a in n.saved_arrays():  # an owner's getsizeof includes its buffer, a view's does not
            total += sys.getsizeof(a) - (a.nbytes if getattr(a, "base", None) is None else 0)
    return total


# ------------------------------------------------------------ labels
def label(tensor, text: str):
    """Name the op that computed ``tensor`` as ``text`` in ``rg.explain``'s
    table (shown as ``op [text]``) and the explorer; returns ``tensor``
    unchanged. The name is stored with the op, so it lives and dies with the
    graph. A tensor that no recorded op made (a leaf, or computed under
    ``no_grad``) is left as it is."""
    node = getattr(tensor, "_node", None)
    if node is not None:
        node.label = text
    return tensor


def label_many(tensors, texts) -> None:
    """``label(t, text)`` for each pair, in one pass (the recurrent cells name ~16 ops a step)."""
    for t, text in zip(tensors, texts):
        node = t._node  # Tensors only
        if node is not None:
            node.label = text


def label_of(node) -> str | None:
    """The name ``label`` gave the op ``node``, or None."""
    return getattr(node, "label", None)


__all__ = ["Edge", "producer", "is_released", "inputs", "input_nodes", "walk", "leaves", "saved_arrays",
           "saved_nbytes", "objects_nbytes", "label", "label_many", "label_of"]
