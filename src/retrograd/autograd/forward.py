"""Forward mode: tangents pushed through a recorded graph, in creation order.

Reverse mode (``engine``) pulls a cotangent from the outputs back to the
inputs in *reverse* creation order, one vjp per op: x̄ᵢ = ȳ·∂f/∂xᵢ.
Forward mode pushes a tangent from the inputs to the outputs in creation
order, one jvp per op — the next column of the table of derivatives, written
beside each op's vjp and reading the same saved values (both need the same
partial derivatives ∂f/∂xᵢ)::

    ẏ = Σᵢ ∂f/∂xᵢ · ẋᵢ          (Tanh: ẏ = ẋ·(1 − y²);  Mul: ż = ẋ·y + x·ẏ)

``push_tangents`` runs over the ops recorded between a set of *seeds* (the
primals, whose tangents are given) and the outputs — the graph a forward
pass just recorded — so one recorded function can be linearised at many
tangents (``rg.func.jacfwd`` pushes a whole basis at once).

Tangents may carry leading axes (a batch of tangent directions: a basis for
a Jacobian, the columns of an influence matrix for RTRL): a tangent of an
input of shape S has shape L + S for the same L throughout. A rule sees them
as they are; a rule that cannot (``jvp_lead = False``) is run once per
direction. For an op that ``broadcasts`` the walk lines each tangent up with
the output first (L + 1…1 + S) and broadcasts the result to L + the output's
shape, so the broadcasting rules need no code for it.

With ``differentiable=True`` the rules run on Tensors through the tensor
namespace (as the vjps do under ``create_graph``), so the tangents are
themselves on the tape: reverse-over-forward and forward-over-forward
derivatives.
"""

from __future__ import annotations

import math

from . import backend
from .mode import mutations
from .namespaces import ARRAY_NS, TENSOR_NS
from .op import _freed
from .tensor import Tensor, _wrap


def seed_key(t: Tensor):
    """The key of a tangent seed for tensor ``t`` (a leaf, or an op's output), as ``push_tangents`` reads it."""
    node = t._node
    if node is None:
        return id(t)
    return (node, t._oi) if node.multi else node


def _ops_between(outputs, seeds, start_seq) -> list:
    """The recorded ops reached backwards from ``outputs``, stopping at seeds, at leaves
    and at ops older than ``start_seq`` (recorded before the seeds existed, so they cannot
    depend on them), in creation order: a topological order."""
    stack = [t._node for t in outputs if t._node is not None]
    seen, ops = set(), []
    while stack:
        n = stack.pop()
        if n in seen or n.seq < start_seq or n in seeds:
            continue
        seen.add(n)
        if n.edges is None:
            raise _freed(n)
        ops.append(n)
        for e in n.edges:
            if e is None or isinstance(e, Tensor):
                continue
            stack.append(e[0] if type(e) is tuple else e)
    ops.sort(key=lambda n: n.seq)
    return ops


def _shape(x):
    """The shape of an input as the tape holds it: an array, an ``ArrayMeta``, or a Python number (())."""
    if x is None:
        return None
    s = getattr(x, "shape", None)
    return () if s is None else tuple(s)


def push_tangents(outputs, seeds: dict, *, start_seq: int, lead: tuple = (), differentiable: bool = False) -> list:
    """The tangents of ``outputs`` given the tangents of ``seeds`` (``{seed_key(t): tangent}``).

    ``lead``: the leading axes every tangent carries (() for one direction).
    ``start_seq``: the sequence number of the first op recorded after the seeds
    existed. Returns, per output, its tangent, or None where no seed reaches it
    (a zero tangent). The ops' saved values are read, not released.
    """
    ns = TENSOR_NS if differentiable else ARRAY_NS
    tangents = dict(seeds)

    def tangent_of(e):
        if e is None:
            return None
        if isinstance(e, Tensor):
            return tangents.get(id(e))
        if type(e) is tuple:
            if e in tangents:
                return tangents[e]
            ts = tangents.get(e[0])
            return None if ts is None else ts[e[1]]
        return tangents.get(e)

    for n in _ops_between(outputs, seeds, start_seq):
        ts = [tangent_of(e) for e in n.edges]
        if not any(t is not None for t in ts):
            continue
        if n.seq < mutations.last:
            n.check_not_modified()
        if differentiable:
            xs = n.input_tensors()
            if not n.save_ans:
                ans = None
            elif n.multi:
                ans = tuple(_attached(a, n, i) for i, a in enumerate(n.ans))
            else:
                ans = _wrap(n.ans, n)
        else:
            xs, ans = n.xs, n.ans
        tangents[n] = _jvp(n, ns, ts, ans, xs, len(lead))
    result = []
    for t in outputs:
        r = tangents.get(id(t)) if t._node is None else tangent_of(seed_key(t))
        result.append(r.dense() if type(r) is Pieces else r)
    return result


def _attached(a, node, index):
    t = _wrap(a, node)
    t._oi = index
    return t


class Basis:
    """The tangent of a parameter seeded with every direction of its own: an identity,
    kept as a description instead of a (P, *shape) array that is zero but for one block.

    Directions ``offset … offset + size − 1`` (of ``total``, the leading axis) are the
    parameter's entries in row-major order. RTRL seeds every recurrent parameter so
    (the immediate influence ∂sₜ/∂θ): an op that reads a parameter directly may build
    its output's tangent from the structure (``Linear.jvp_basis``: ∂y/∂W_oi = x_i on
    output unit o, n³ numbers instead of an n⁴ product); any other op gets it dense."""

    __slots__ = ("offset", "total", "shape", "dtype")

    def __init__(self, offset: int, total: int, shape: tuple, dtype):
        self.offset, self.total, self.shape, self.dtype = offset, total, tuple(shape), dtype

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.shape)

    def dense(self):
        """The tangent as an array (total, *shape)."""
        t = backend.xp.zeros((self.total, self.size), dtype=self.dtype)
        block = t[self.offset:self.offset + self.size]
        block[backend.xp.arange(self.size), backend.xp.arange(self.size)] = 1
        return t.reshape((self.total,) + self.shape)


class Colored:
    """The tangent of a parameter seeded with ``total`` compressed directions: direction c
    moves every entry whose colour is c by 1, ``colors`` (an int array of the parameter's
    shape) giving each entry's. Entries of one colour must touch disjoint outputs, so each
    entry's own column of the Jacobian can be read back from its colour's (Curtis, Powell &
    Reid 1974): SnAp's immediate influence on its sparsity pattern in O(P), not O(nP).
    ``Linear.jvp_basis`` writes it in place; any other op gets it ``dense()``."""

    __slots__ = ("colors", "total", "shape", "dtype", "entries")

    def __init__(self, colors, total: int, dtype):
        self.colors, self.total, self.shape, self.dtype = colors, int(total), tuple(colors.shape), dtype
        self.entries = None  # a rule's index arrays over the entries, worked out once (``Linear.jvp_basis``)

    @property
    def ndim(self) -> int:
        return 1 + len(self.shape)

    def dense(self):
        """The tangent as an array (total, *shape): a one-hot over the colours per entry."""
        xp = backend.xp
        size = math.prod(self.shape)
        t = xp.zeros((self.total, size), dtype=self.dtype)
        t[self.colors.reshape(-1), xp.arange(size)] = 1
        return t.reshape((self.total,) + self.shape)


PARAMETER_SEEDS = (Basis, Colored)  # a parameter's own directions, kept as a description (``Linear.jvp_basis``)


class Pieces:
    """A tangent that is a concatenation along ``axis`` of ``parts``, some of them zero
    (None, with their ``sizes`` along the axis): what ``concatenate``'s jvp returns when
    an input has no tangent — an RNN cell's ``cat([h, x])`` under RTRL, where only h
    moves. ``linear`` multiplies each moving part by its own columns of W (no copy and
    no block of zeros); any other rule gets it ``dense()``."""

    __slots__ = ("parts", "sizes", "axis", "shape", "dtype")

    def __init__(self, parts, sizes, axis: int, shape: tuple, dtype):
        self.parts, self.sizes, self.axis, self.shape, self.dtype = parts, sizes, axis, tuple(shape), dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def dense(self):
        """The tangent as one array (zeros where a part is None)."""
        xp = backend.xp
        lead = self.shape[:self.axis]
        rest = self.shape[self.axis + 1:]
        return xp.concatenate([xp.zeros(lead + (k,) + rest, dtype=self.dtype) if p is None else p
                               for p, k in zip(self.parts, self.sizes)], axis=self.axis)


_STRUCTURED = (Basis, Colored, Pieces)


def _jvp(n, ns, ts, ans, xs, nlead):
    """One op's jvp with the leading tangent axes handled (aligned for broadcasting ops,
    looped over for rules that declare ``jvp_lead = False``)."""
    if any(type(t) in _STRUCTURED for t in ts):
        if any(type(t) in PARAMETER_SEEDS for t in ts):
            structured = getattr(n, "jvp_basis", None)
            if structured is not None:
                return structured(ns, ts, ans, *xs)
        if not getattr(n, "takes_pieces", False):
            ts = [t.dense() if type(t) in _STRUCTURED else t for t in ts]
    if nlead and not n.jvp_lead:
        return _jvp_per_direction(n, ns, ts, ans, xs, nlead)
    if not (n.broadcasts and n.aligns_tangents):
        return n.jvp(ns, tuple(ts), ans, *xs)
    shapes = [_shape(x) for x in xs]
    known = [s for s in shapes if s is not None]
    if len(known) < len(shapes):  # inputs kept as nothing have the output's shape: a tangent shows it
        t = next(t for t in ts if t is not None)
        known.append(tuple(t.shape[nlead:]))
    out_shape = backend.xp.broadcast_shapes(*known)
    aligned = []
    for t, s in zip(ts, shapes):
        if t is not None and s is not None and len(s) < len(out_shape):
            t = ns.reshape(t, tuple(t.shape[:nlead]) + (1,) * (len(out_shape) - len(s)) + s)
        aligned.append(t)
    r = n.jvp(ns, tuple(aligned), ans, *xs)
    if r is not None:
        want = tuple(next(t for t in ts if t is not None).shape[:nlead]) + tuple(out_shape)
        if tuple(r.shape) != want:
            r = ns.broadcast_to(r, want)
    return r


def _jvp_per_direction(n, ns, ts, ans, xs, nlead):
    """A rule that takes one direction at a time, run for each of the leading directions and stacked."""
    some = next(t for t in ts if t is not None)
    lead = tuple(some.shape[:nlead])
    count = math.prod(lead)
    flat = [None if t is None else ns.reshape(t, (count,) + tuple(t.shape[nlead:])) for t in ts]
    outs = []
    for k in range(count):
        outs.append(_jvp(n, ns, [None if t is None else ns.getitem(t, k) for t in flat], ans, xs, 0))

    def stack(parts, like):
        parts = [ns.expand_dims(ns.broadcast_to(p, like) if p is not None else _zeros(ns, like, some), 0)
                 for p in parts]
        return ns.reshape(ns.concatenate(parts, 0), lead + tuple(like))

    if n.multi:
        result = []
        for i in range(len(n.out_meta)):
            parts = [o[i] for o in outs]
            if all(p is None for p in parts):
                result.append(None)
            else:
                result.append(stack(parts, n.out_meta[i][0]))
        return tuple(result)
    if all(o is None for o in outs):
        return None
    like = next(o for o in outs if o is not None).shape
    return stack(outs, tuple(like))


def _zeros(ns, shape, like):
    z = backend.xp.zeros(shape, dtype=(like.data if isinstance(like, Tensor) else like).dtype)
    return _wrap(z) if ns is TENSOR_NS else z


def zeros_tangent(t: Tensor, lead: tuple = ()):
    """A zero tangent for ``t`` with leading axes ``lead`` (for outputs no seed reaches), in ``t``'s
    dtype — an integer or bool output's tangent is zeros of that dtype, as ``torch.func.jvp`` gives."""
    return backend.xp.zeros(tuple(lead) + tuple(t.shape), dtype=t.data.dtype)


__all__ = ["Basis", "Colored", "PARAMETER_SEEDS", "Pieces", "push_tangents", "seed_key", "zeros_tangent"]
