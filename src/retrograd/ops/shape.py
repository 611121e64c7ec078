"""Shape and indexing ops: reshape, transpose, broadcast, concatenate, stack,
getitem (and its adjoint index_add), pad.

These move or copy values without arithmetic, so each vjp is the adjoint
movement: reshape back, transpose by the inverse permutation, sum over the
broadcast axes, slice the concatenation apart, scatter-add into the indexed
positions (repeated indices accumulate).
"""

from __future__ import annotations

from ..autograd import backend
from ..autograd.backend import xp
from ..autograd.op import Op, OpError, UnaryOp
from ..autograd.tensor import Tensor


class Reshape(UnaryOp):
    """y = reshape(x, s);  x̄ = reshape(ȳ, shape(x))"""
    name = "reshape"
    __slots__ = ("shape",)

    def __init__(self, shape): self.shape = shape
    def extra_repr(self): return f"shape={self.shape}"
    def forward(self, x): return xp.reshape(x, self.shape)
    def vjp(self, ns, g, y, x): return (ns.reshape(g, x.shape),)


def reshape(x, shape):
    """x with a new shape (same elements, C order)."""
    return Reshape(tuple(shape) if not isinstance(shape, int) else (shape,))(x)


class Transpose(UnaryOp):
    """y = transpose(x, p);  x̄ = transpose(ȳ, p⁻¹)"""
    name = "transpose"
    __slots__ = ("axes",)

    def __init__(self, axes=None): self.axes = axes
    def extra_repr(self): return f"axes={self.axes}"
    def forward(self, x): return xp.transpose(x, self.axes)

    def vjp(self, ns, g, y, x):
        if self.axes is None:
            return (ns.transpose(g, None),)
        inverse = tuple(int(i) for i in xp.argsort([a % x.ndim for a in self.axes]))
        return (ns.transpose(g, inverse),)


def transpose(x, axes=None):
    """Permute axes (NumPy semantics: reverse them when ``axes`` is None)."""
    return Transpose(None if axes is None else tuple(axes))(x)


def permute(x, *dims):
    """PyTorch's ``permute``: the axes in the given order."""
    return Transpose(tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], int) else dims)(x)


def swapaxes(x, a, b):
    """x with axes ``a`` and ``b`` exchanged."""
    n = len(x.shape)
    axes = list(range(n))
    axes[a % n], axes[b % n] = axes[b % n], axes[a % n]
    return Transpose(tuple(axes))(x)


class BroadcastTo(UnaryOp):
    """y = broadcast_to(x, s);  x̄ = Σ ȳ over the broadcast axes"""
    name, broadcasts = "broadcast_to", True
    __slots__ = ("shape",)

    def __init__(self, shape): self.shape = tuple(shape)
    def extra_repr(self): return f"shape={self.shape}"
    def forward(self, x): return xp.broadcast_to(x, self.shape)
    def vjp(self, ns, g, y, x): return (g,)  # the engine sums back to x's shape


def broadcast_to(x, shape):
    """x broadcast to ``shape``; the gradient sums back over the broadcast axes."""
    return BroadcastTo(shape)(x)


class Concatenate(Op):
    """y = concat(x₁ … xₙ, axis);  x̄ᵢ = the i-th slab of ȳ"""
    name = "concatenate"
    __slots__ = ("axis",)

    def __init__(self, axis=0): self.axis = axis
    def extra_repr(self): return f"axis={self.axis}"
    def forward(self, *xs): return xp.concatenate(xs, axis=self.axis)

    def vjp(self, ns, g, y, *xs):
        axis = self.axis % g.ndim
        out, start = [], 0
        for x, need in zip(xs, self.needs):
            stop = start + x.shape[axis]
            out.append(ns.getitem(g, (slice(None),) * axis + (slice(start, stop),)) if need else None)
            start = stop
        return tuple(out)


def concatenate(xs, axis=0):
    """Tensors joined along an existing ``axis`` (``cat``)."""
    xs = list(xs)
    if not xs:
        raise OpError("concatenate: need at least one tensor")
    return Concatenate(axis)(*xs)


class Stack(Op):
    """y = stack(x₁ … xₙ, axis);  x̄ᵢ = ȳ[…, i, …]"""
    name = "stack"
    __slots__ = ("axis",)

    def __init__(self, axis=0): self.axis = axis
    def extra_repr(self): return f"axis={self.axis}"

    def forward(self, *xs):
        shapes = {x.shape for x in xs}
        if len(shapes) > 1:
            raise OpError(f"stack: all inputs must have the same shape, got {sorted(shapes)}")
        return xp.stack(xs, axis=self.axis)

    def vjp(self, ns, g, y, *xs):
        axis = self.axis % g.ndim
        return tuple(ns.getitem(g, (slice(None),) * axis + (i,)) if need else None
                     for i, need in enumerate(self.needs))


cat = concatenate


def stack(xs, axis=0):
    """Tensors of one shape joined along a new ``axis``."""
    xs = list(xs)
    if not xs:
        raise OpError("stack: need at least one tensor")
    return Stack(axis)(*xs)


class _Indexed(UnaryOp):
    """An op that carries an index. A basic index (ints, slices, None,
    Ellipsis) is a plain parameter and stays in a slot; an index that holds
    arrays (integer arrays, masks) is an array the vjp needs, so it is saved
    with ``save``: the engine frees it after the vjp and ``saved_nbytes``
    counts it (a tuple index is saved one entry per position, so each of its
    arrays is counted)."""
    __slots__ = ("basic_index",)

    def _keep_index(self, index):
        if _is_basic(index):
            self.basic_index = index
        else:
            self.basic_index = _SAVED_INDEX
            self.save(**({f"index{k}": part for k, part in enumerate(index)} if type(index) is tuple
                         else {"index": index}))

    @property
    def index(self):
        """The index this op applies (whether kept in a slot or saved)."""
        if self.basic_index is not _SAVED_INDEX:
            return self.basic_index
        saved = self.saved
        if saved is None:
            raise RuntimeError(f"{self.name}: its saved index was freed after the backward pass "
                               f"(use retain_graph=True to backpropagate through it again)")
        return saved["index"] if "index" in saved else tuple(saved.values())

    def _index_repr(self) -> str:
        if self.basic_index is _SAVED_INDEX and getattr(self, "saved", None) is None:
            return "<released>"
        return _short(self.index)


_SAVED_INDEX = object()  # marks an _Indexed op whose index lives in ``saved``
_BASIC_TYPES = frozenset((int, bool, slice, type(None), type(Ellipsis)))


def _is_basic(index) -> bool:
    """``backend.is_basic_index``, with the common cases (an int, a slice, a
    tuple of them) decided by type lookups: getitem is on every BPTT step."""
    kind = type(index)
    if kind in _BASIC_TYPES:
        return True
    if kind is tuple:
        for part in index:
            if type(part) not in _BASIC_TYPES:
                return backend.is_basic_index(index)
        return True
    return backend.is_basic_index(index)


class GetItem(_Indexed):
    """y = x[index];  x̄ = zeros with ȳ added at ``index`` (repeats accumulate)"""
    name = "getitem"
    __slots__ = ()

    def __init__(self, index): self._keep_index(index)
    def extra_repr(self): return f"index={self._index_repr()}"
    def forward(self, x):
        index = self.basic_index
        return x[index if index is not _SAVED_INDEX else self.index]

    def vjp(self, ns, g, y, x): return (ns.index_add(x.shape, x.dtype, self.index, g),)


def getitem(x, index):
    """x[index] with slices, integers, integer arrays or boolean masks;
    gradients of repeated integer indices accumulate."""
    return GetItem(_index(index))(x)


class IndexAdd(_Indexed):
    """y = zeros(shape) with x added at ``index``;  x̄ = ȳ[index]  (the adjoint of getitem)"""
    name = "index_add"
    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype, index):
        self.shape, self.dtype = shape, dtype
        self._keep_index(index)

    def extra_repr(self): return f"shape={self.shape}, index={self._index_repr()}"

    def forward(self, g):
        return backend.index_add(self.shape, self.dtype, self.index, g)

    def vjp(self, ns, g, y, x): return (ns.getitem(g, self.index),)


def index_add(shape, dtype, index, g):
    """zeros(shape) with g added at ``index`` (repeats accumulate): getitem's adjoint."""
    return IndexAdd(tuple(shape), dtype, index)(g)


class Pad(UnaryOp):
    """y = pad(x, widths, value);  x̄ = ȳ with the padding sliced off

    A negative width crops, as in PyTorch: ``(-1, 2)`` drops the first entry
    of the axis, then appends two. The vjp is the adjoint: slice the padding
    off ȳ, then put zeros where x was cropped.
    """
    name = "pad"
    __slots__ = ("widths", "value")

    def __init__(self, widths, value=0.0): self.widths, self.value = widths, value
    def extra_repr(self): return f"pad_width={self.widths}"

    def forward(self, x):
        if not x.ndim:
            return x.copy()
        widths = self.widths
        if any(lo < 0 or hi < 0 for lo, hi in widths):
            x = x[self._crop(x.shape)]
            widths = tuple((max(lo, 0), max(hi, 0)) for lo, hi in widths)
        return xp.pad(x, widths, constant_values=self.value)

    def _crop(self, shape):
        """The index that removes the negative widths' entries from an array of ``shape``."""
        index = []
        for axis, ((lo, hi), n) in enumerate(zip(self.widths, shape)):
            start, stop = max(-lo, 0), n - max(-hi, 0)
            if stop < start:
                raise OpError(f"pad: widths {(lo, hi)} crop {start + n - stop} entries from axis {axis} "
                              f"of size {n} (shape {tuple(shape)}); crop at most the axis' size")
            index.append(slice(start, stop))
        return tuple(index)

    def vjp(self, ns, g, y, x):
        widths = self.widths
        index = tuple(slice(max(lo, 0), g.shape[i] - max(hi, 0)) for i, (lo, hi) in enumerate(widths))
        gx = ns.getitem(g, index)
        if any(lo < 0 or hi < 0 for lo, hi in widths):  # zeros where x was cropped
            gx = ns.pad(gx, tuple((max(-lo, 0), max(-hi, 0)) for lo, hi in widths), 0.0)
        return (gx,)


def pad(x, pad_width, value: float = 0.0):
    """Constant padding with NumPy's ``pad_width`` (an int, a pair, or a pair per
    axis); a negative width crops that many entries (PyTorch's ``F.pad``)."""
    nd = len(x.shape)
    w = xp.broadcast_to(xp.asarray(pad_width, dtype=int), (nd, 2))
    return Pad(tuple((int(a), int(b)) for a, b in w), value)(x)


def _short(index) -> str:
    text = repr(index)
    return text if len(text) < 40 else text[:37] + "..."


def _data(x):
    return x.data if isinstance(x, Tensor) else xp.asarray(x)


def _index_item(i):
    """One entry of an index as the backend wants it: a Tensor's array, a host
    (NumPy) index array moved to the backend explicitly, anything else as is."""
    if isinstance(i, Tensor):
        return i.data
    if hasattr(i, "dtype") and type(i) is not backend.ndarray and getattr(i, "ndim", 0):
        return xp.asarray(i)
    return i


def _index(index):
    """Convert Tensors and host arrays inside an index to backend arrays."""
    if type(index) is tuple:
        return tuple(_index_item(i) for i in index)
    if isinstance(index, list):
        return xp.asarray(index)
    return _index_item(index)
