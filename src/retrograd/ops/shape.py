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
from ..autograd.forward import Pieces
from ..autograd.namespaces import ARRAY_NS
from ..autograd.op import Op, DimError, OpError, UnaryOp
from ..autograd.tensor import Tensor
from . import device_checks


class Reshape(UnaryOp):
    """y = reshape(x, s);  x̄ = reshape(ȳ, shape(x))"""
    name = "reshape"
    __slots__ = ("shape",)
    save_inputs = ()

    def __init__(self, shape): self.shape = shape
    def extra_repr(self): return f"shape={self.shape}"
    def forward(self, x): return xp.reshape(x, self.shape)
    def vjp(self, ns, g, y, x): return (ns.reshape(g, x.shape),)
    def jvp(self, ns, ts, y, x): return ns.reshape(ts[0], _lead(ts[0], x) + self.shape)  # ẏ = reshape(ẋ, s)


def reshape(x, shape):
    """x with a new shape (same elements, C order)."""
    return Reshape(tuple(shape) if not isinstance(shape, int) else (shape,))(x)


class Transpose(UnaryOp):
    """y = transpose(x, p);  x̄ = transpose(ȳ, p⁻¹)"""
    name = "transpose"
    __slots__ = ("axes",)
    save_inputs = ()

    def __init__(self, axes=None): self.axes = axes
    def extra_repr(self): return f"axes={self.axes}"
    def forward(self, x): return xp.transpose(x, self.axes)

    def vjp(self, ns, g, y, x):
        if self.axes is None:
            return (ns.transpose(g, None),)
        # host bookkeeping on a few ints: plain Python (CuPy's argsort refuses a list)
        axes = [a % x.ndim for a in self.axes]
        inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
        return (ns.transpose(g, inverse),)

    def jvp(self, ns, ts, y, x):
        """ẏ = transpose(ẋ, p), the leading tangent axes kept in front."""
        t = ts[0]
        nl = t.ndim - x.ndim
        axes = range(x.ndim - 1, -1, -1) if self.axes is None else (a % x.ndim for a in self.axes)
        return ns.transpose(t, tuple(range(nl)) + tuple(nl + a for a in axes))


def transpose(x, axes=None, dim1=None, *, dim0=None):
    """NumPy's ``transpose(x, axes)`` (all axes reversed when ``axes`` is None)
    or PyTorch's ``transpose(x, dim0, dim1)``: two dims swapped."""
    if dim0 is not None or dim1 is not None:
        first = dim0 if dim0 is not None else axes
        if dim0 is not None and axes is not None:
            raise OpError("transpose: dim0 given twice (positionally and as a keyword)")
        if not all(isinstance(d, int) and not isinstance(d, bool) for d in (first, dim1)):
            raise OpError(f"transpose: dim0 and dim1 must be ints, got {first!r} and {dim1!r}")
        ndim = len(x.shape)
        return swapaxes(x, _check_axis("transpose", first, max(ndim, 1)), _check_axis("transpose", dim1,
                                                                                      max(ndim, 1)))
    return Transpose(None if axes is None else tuple(axes))(x)


def permute(x, *dims, **keywords):
    """PyTorch's ``permute``: the axes in the given order (``permute(x, 1, 0)``,
    ``permute(x, (1, 0))`` or ``permute(x, dims=(1, 0))``)."""
    if keywords:
        if dims or set(keywords) != {"dims"}:
            raise OpError(f"permute: expected the dims once, positionally or as dims=, got {dims!r} and "
                          f"{sorted(keywords)}")
        dims = (keywords["dims"],)
    return Transpose(tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], int) else dims)(x)


def swapaxes(x, a, b):
    """x with axes ``a`` and ``b`` exchanged (each in [−ndim, ndim); a 0-d tensor takes 0 and −1
    and is returned as it is, as PyTorch's ``transpose``)."""
    n = len(x.shape)
    a, b = _check_axis("transpose", a, max(n, 1)), _check_axis("transpose", b, max(n, 1))
    axes = list(range(n))
    if n:
        axes[a], axes[b] = axes[b], axes[a]
    return Transpose(tuple(axes))(x)


class BroadcastTo(UnaryOp):
    """y = broadcast_to(x, s);  x̄ = Σ ȳ over the broadcast axes"""
    name, broadcasts = "broadcast_to", True
    __slots__ = ("shape",)
    save_inputs = ()

    def __init__(self, shape): self.shape = tuple(shape)
    def extra_repr(self): return f"shape={self.shape}"
    def forward(self, x): return xp.broadcast_to(x, self.shape)
    def vjp(self, ns, g, y, x): return (g,)  # the engine sums back to x's shape
    # the walk would line the tangent up with x's shape (its idea of the output), not self.shape
    aligns_tangents = False

    def jvp(self, ns, ts, y, x):
        """ẏ = broadcast_to(ẋ, s): the tangent's own axes right-aligned under s, its leading axes kept."""
        t = ts[0]
        lead, shape = _lead(t, x), tuple(x.shape)
        if len(shape) < len(self.shape):
            t = ns.reshape(t, lead + (1,) * (len(self.shape) - len(shape)) + shape)
        return ns.broadcast_to(t, lead + self.shape)


def broadcast_to(x, shape):
    """x broadcast to ``shape``; the gradient sums back over the broadcast axes."""
    return BroadcastTo(shape)(x)


class Concatenate(Op):
    """y = concat(x₁ … xₙ, axis);  x̄ᵢ = the i-th slab of ȳ"""
    name = "concatenate"
    __slots__ = ("axis",)
    save_inputs = ()

    def __init__(self, axis=0): self.axis = axis
    def extra_repr(self): return f"axis={self.axis}"
    def forward(self, *xs): return xp.concatenate(xs, axis=self.axis)

    def vjp(self, ns, g, y, *xs):
        axis = self.axis % g.ndim
        out, start = [], 0
        for x, need in zip(xs, self.needs):
            stop = start + _shape(x)[axis]  # a constant may be a nested list
            out.append(ns.getitem(g, (slice(None),) * axis + (slice(start, stop),)) if need else None)
            start = stop
        return tuple(out)

    def jvp(self, ns, ts, y, *xs):
        """ẏ = concat(ẋ₁ … ẋₙ, axis), zeros for inputs without a tangent (kept as ``Pieces``,
        not written out, when the rules run on arrays: ``linear`` reads them part by part)."""
        some = next(t for t in ts if t is not None)
        lead = _lead(some, xs[0])
        axis = self.axis % len(_shape(xs[0]))
        if ns is ARRAY_NS and any(t is None for t in ts):
            sizes = tuple(_shape(x)[axis] for x in xs)
            shape = list(_shape(xs[0]))
            shape[axis] = sum(sizes)
            return Pieces(tuple(ts), sizes, axis + len(lead), lead + tuple(shape), some.dtype)
        parts = [t if t is not None else xp.zeros(lead + _shape(x), dtype=some.dtype) for t, x in zip(ts, xs)]
        return ns.concatenate(parts, axis + len(lead))


def _axis_or_dim(op, axis, dim, default=0):
    """NumPy's ``axis`` or PyTorch's ``dim`` (the same meaning here); both is an error."""
    if dim is None:
        return default if axis is None else axis
    if axis is not None:
        raise OpError(f"{op}: got both axis={axis!r} (NumPy) and dim={dim!r} (PyTorch); pass one of them")
    return dim


def _check_axis(op, axis, ndim, extra=0):
    """``axis`` as a non-negative int in [0, ndim + extra), refused (naming ``op``) otherwise."""
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise OpError(f"{op}: dim must be an int, got {axis!r}")
    n = ndim + extra
    if not -n <= axis < n:
        raise DimError(f"{op}: dim {axis} is out of range for a tensor with {ndim} dimensions "
                      f"(expected {-n} … {n - 1})")
    return axis % n


def concatenate(xs, axis=None, *, dim=None):
    """Tensors joined along an existing ``axis`` (``cat``; PyTorch's ``dim=`` too)."""
    axis = _axis_or_dim("concatenate", axis, dim)
    xs = list(xs)
    if not xs:
        raise OpError("concatenate: need at least one tensor")
    ndim = _ndim(xs[0])
    if not ndim:
        raise OpError("concatenate: zero-dimensional tensors cannot be concatenated (stack them, or reshape to (1,))")
    return Concatenate(_check_axis("concatenate", axis, ndim))(*xs)


class Stack(Op):
    """y = stack(x₁ … xₙ, axis);  x̄ᵢ = ȳ[…, i, …]"""
    name = "stack"
    __slots__ = ("axis",)
    save_inputs = ()

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

    def jvp(self, ns, ts, y, *xs):
        """ẏ = stack(ẋ₁ … ẋₙ, axis), zeros for inputs without a tangent."""
        some = next(t for t in ts if t is not None)
        lead = _lead(some, xs[0])
        shape = _shape(xs[0])
        axis = self.axis % (len(shape) + 1) + len(lead)
        parts = [ns.expand_dims(t, axis) if t is not None else xp.zeros(lead + shape[:axis - len(lead)] + (1,)
                                                                         + shape[axis - len(lead):], dtype=some.dtype)
                 for t in ts]
        return ns.concatenate(parts, axis)


cat = concatenate


def stack(xs, axis=None, *, dim=None):
    """Tensors of one shape joined along a new ``axis`` (PyTorch's ``dim=`` too)."""
    axis = _axis_or_dim("stack", axis, dim)
    xs = list(xs)
    if not xs:
        raise OpError("stack: need at least one tensor")
    return Stack(_check_axis("stack", axis, _ndim(xs[0]), extra=1))(*xs)


def _ndim(x) -> int:
    """The number of axes of a Tensor, an array or a nested list."""
    ndim = getattr(x, "ndim", None)
    return xp.ndim(x) if ndim is None else ndim


def _shape(x) -> tuple:
    """The shape of an input as a rule sees it: an array, an ``ArrayMeta``, a Tensor or a nested list."""
    shape = getattr(x, "shape", None)
    return tuple(xp.shape(x) if shape is None else shape)


def _lead(t, x) -> tuple:
    """The leading direction axes of tangent ``t`` of an input like ``x`` (a forward-mode walk's L)."""
    return tuple(t.shape[:t.ndim - len(_shape(x))])


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

    def _lead_index(self, nl):
        """The index for a tangent with ``nl`` leading direction axes, and whether those axes were
        moved to the end (True) or kept in front (False).

        A basic index gets ``nl`` full slices in front. An index with arrays (or a bool, which
        NumPy treats as an advanced index) cannot: advanced indices separated by a slice move
        their axes to the front of the result, ahead of any leading axes. So the leading axes go
        last instead (full slices after everything, where no rule moves them), and back to the
        front afterwards (``_lead_back``)."""
        index = self.index
        parts = index if type(index) is tuple else (index,)
        if self.basic_index is not _SAVED_INDEX and not any(type(i) is bool for i in parts):
            return (slice(None),) * nl + parts, False
        # after an Ellipsis the trailing slices must be explicit; without one they are implied
        return parts + ((slice(None),) * nl if any(i is Ellipsis for i in parts) else (Ellipsis,)), True


def _lead_last(ns, t, nl):
    """Tangent ``t`` with its ``nl`` leading axes moved to the end."""
    return ns.transpose(t, tuple(range(nl, t.ndim)) + tuple(range(nl)))


def _lead_back(ns, t, nl):
    """``t`` with its last ``nl`` axes moved to the front (undoes ``_lead_last``)."""
    r = t.ndim - nl
    return ns.transpose(t, tuple(range(r, t.ndim)) + tuple(range(r)))


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
    save_inputs = ()

    def __init__(self, index): self._keep_index(index)
    def extra_repr(self): return f"index={self._index_repr()}"
    def forward(self, x):
        index = self.basic_index
        return x[index if index is not _SAVED_INDEX else self.index]

    def vjp(self, ns, g, y, x): return (ns.index_add(x.shape, x.dtype, self.index, g),)

    def jvp(self, ns, ts, y, x):
        """ẏ = ẋ[index]"""
        t = ts[0]
        nl = t.ndim - x.ndim
        if not nl:
            return ns.getitem(t, self.index)
        index, moved = self._lead_index(nl)
        if not moved:
            return ns.getitem(t, index)
        return _lead_back(ns, ns.getitem(_lead_last(ns, t, nl), index), nl)


def getitem(x, index):
    """x[index] with slices, integers, integer arrays or boolean masks;
    gradients of repeated integer indices accumulate."""
    return GetItem(_index(index))(x)


class IndexAdd(_Indexed):
    """y = zeros(shape) with x added at ``index``;  x̄ = ȳ[index]  (the adjoint of getitem)"""
    name = "index_add"
    __slots__ = ("shape", "dtype")
    save_inputs = ()

    def __init__(self, shape, dtype, index):
        self.shape, self.dtype = shape, dtype
        self._keep_index(index)

    def extra_repr(self): return f"shape={self.shape}, index={self._index_repr()}"

    def forward(self, g):
        return backend.index_add(self.shape, self.dtype, self.index, g)

    def vjp(self, ns, g, y, x): return (ns.getitem(g, self.index),)

    def jvp(self, ns, ts, y, x):
        """ẏ = zeros(shape) with ẋ added at ``index`` (linear: the op itself)"""
        t = ts[0]
        nl = t.ndim - x.ndim
        if not nl:
            return ns.index_add(self.shape, self.dtype, self.index, t)
        lead = tuple(t.shape[:nl])
        index, moved = self._lead_index(nl)
        if not moved:
            return ns.index_add(lead + self.shape, self.dtype, index, t)
        return _lead_back(ns, ns.index_add(self.shape + lead, self.dtype, index, _lead_last(ns, t, nl)), nl)


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
    save_inputs = ()

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

    def jvp(self, ns, ts, y, x):
        """ẏ = pad(ẋ, widths, 0): the padding is constant (a negative width crops first)."""
        t = ts[0]
        if not x.ndim:
            return t
        nl = t.ndim - x.ndim
        widths = self.widths
        if any(lo < 0 or hi < 0 for lo, hi in widths):
            t = ns.getitem(t, (slice(None),) * nl + self._crop(x.shape))
            widths = tuple((max(lo, 0), max(hi, 0)) for lo, hi in widths)
        return ns.pad(t, ((0, 0),) * nl + tuple(widths), 0.0)


def pad(x, pad_width, value: float = 0.0):
    """Constant padding with NumPy's ``pad_width``: an int or a flat pair
    ``(before, after)`` pads every axis; a sequence of k pairs pads the last k
    axes (all of them when k = ndim; the leading axes are left alone when
    k < ndim, as PyTorch's ``F.pad`` does). A negative width crops that many
    entries (PyTorch's ``F.pad``). More pairs than axes, or any padding of a
    0-d tensor, are refused, as PyTorch refuses them."""
    shape = tuple(x.shape)
    widths = _pad_pairs(pad_width, shape)
    return Pad(((0, 0),) * (len(shape) - len(widths)) + widths, value)(x)


def _pad_pairs(pad_width, shape) -> tuple:
    """``pad_width`` as one (before, after) pair of ints per padded axis (the last ones).

    Read in plain Python (a few ints of bookkeeping): building them as a backend
    array would put them on the device and read each back with a sync."""
    import math
    import numbers

    nd = len(shape)
    try:
        dims, leaves = _nested_ints(pad_width)
        if math.prod(dims) == 0 and len(dims) <= 2:
            return ()
        ok = len(dims) <= 2 and (len(dims) < 1 or dims[-1] in (1, 2)) and (len(dims) < 2 or dims[-1] == 2) \
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in leaves)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise OpError(f"pad: pad_width must be an int, a pair of ints or one pair per axis, got {pad_width!r} "
                      f"for an input of shape {shape}")
    if not nd:
        raise OpError(f"pad: cannot pad a 0-d tensor (pad_width {pad_width!r}); PyTorch refuses it too — "
                      f"reshape it to (1,) first")
    w = [int(v) for v in leaves]
    if len(dims) < 2:  # NumPy's shorthands: an int, (n,) or (before, after) for every axis
        return ((w[0], w[-1]),) * nd
    if dims[0] > nd:
        raise OpError(f"pad: pad_width gives {dims[0]} pairs, but the input of shape {shape} has only {nd} "
                      f"axes; give at most one pair per axis")
    return tuple(zip(w[0::2], w[1::2]))


def _nested_ints(value):
    """(shape, leaves in order) of a nested sequence (an array is read with ``tolist``);
    ValueError when ragged, as ``asarray`` of it would be."""
    if not isinstance(value, (list, tuple)) and hasattr(value, "tolist"):
        value = value.tolist()  # NumPy (or device) arrays and NumPy scalars: Python values
    if not isinstance(value, (list, tuple)):
        return (), [value]
    parts = [_nested_ints(v) for v in value]
    dims = {d for d, _ in parts}
    if len(dims) > 1:
        raise ValueError("ragged pad_width")
    return (len(value),) + (dims.pop() if dims else ()), [leaf for _, leaves in parts for leaf in leaves]


# ---------------------------------------------------------------- PyTorch's slicing family
# Each is a getitem (or several), so the gradient is the scatter-add back.

def _along(axis, index):
    return (slice(None),) * axis + (index,)


def split_sizes(x, split_size_or_sections, dim=0):
    """PyTorch's ``split``: an int is the size of each chunk (the last may be
    smaller), a list gives each chunk's size (they must add up to the dim)."""
    axis = _check_axis("split", dim, max(len(x.shape), 1))
    if not x.shape:
        raise OpError("split: cannot split a 0-d tensor (PyTorch refuses it too)")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int) and not isinstance(split_size_or_sections, bool):
        size = split_size_or_sections
        if size < 0 or (size == 0 and n):
            raise OpError(f"split: split_size must be positive, got {size} for dim {dim} of size {n}")
        if n == 0:  # an empty dim splits into one empty piece, as in PyTorch
            sizes = [0]
        else:
            sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise OpError(f"split: split_sizes {sizes} must be non-negative and add up to {n}, the size of "
                          f"dim {dim} (shape {tuple(x.shape)})")
    out, start = [], 0
    for size in sizes:
        out.append(getitem(x, _along(axis, slice(start, start + size))))
        start += size
    return tuple(out)


def chunk(x, chunks: int, dim: int = 0):
    """PyTorch's ``chunk``: ``ceil(n / chunks)``-sized pieces along ``dim``
    (fewer than ``chunks`` when they do not divide evenly, as in PyTorch)."""
    if not isinstance(chunks, int) or isinstance(chunks, bool) or chunks <= 0:
        raise OpError(f"chunk: chunks must be a positive int, got {chunks!r}")
    axis = _check_axis("chunk", dim, max(len(x.shape), 1))
    if not x.shape:
        raise OpError("chunk: cannot chunk a 0-d tensor (PyTorch refuses it too)")
    n = x.shape[axis]
    size = -(-n // chunks)
    if size == 0:  # an empty dim: PyTorch returns `chunks` empty pieces
        return tuple(getitem(x, _along(axis, slice(0, 0))) for _ in range(chunks))
    return split_sizes(x, size, axis)


def narrow(x, dim: int, start, length: int):
    """PyTorch's ``narrow``: ``length`` entries of ``dim`` from ``start``
    (negative ``start`` counts from the end)."""
    axis = _check_axis("narrow", dim, len(x.shape))
    n = x.shape[axis]
    start = int(start.item()) if isinstance(start, Tensor) else start
    if not -n <= start <= n:
        raise OpError(f"narrow: start {start} is out of range for dim {dim} of size {n}")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise OpError(f"narrow: start ({start}) + length ({length}) exceeds dim {dim} of size {n} "
                      f"(shape {tuple(x.shape)})")
    return getitem(x, _along(axis, slice(start, start + length)))


def out_of_range(indices, size: int):
    """The first value of the integer array ``indices`` outside [0, size) that an
    error should name — the minimum when it is negative, else the maximum — or
    None when all are in range (or there are none). Negative indices count as out
    of range: PyTorch's index ops do not wrap them."""
    if not indices.size:
        return None
    lo = int(indices.min())
    if lo < 0:
        return lo
    hi = int(indices.max())
    return hi if hi >= size else None


def index_select(x, dim: int, index):
    """PyTorch's ``index_select``: the entries of ``dim`` at ``index`` (a 1-D
    or 0-D integer tensor), in that order; repeated indices accumulate their
    gradients. Indices must lie in [0, size) — negative ones are refused, as
    PyTorch refuses them."""
    idx = _data(index)
    if idx.dtype not in _INDEX_DTYPES:
        raise OpError(f"index_select: index must hold integers of dtype int64 or int32 (PyTorch's rule), got "
                      f"{idx.dtype}; "
                      f"convert it with .astype('int64')")
    if idx.ndim > 1:
        raise OpError(f"index_select: index must be a vector (1-D or 0-D), got shape {idx.shape}")
    shape = tuple(x.shape)
    axis = _check_axis("index_select", dim, max(len(shape), 1))
    if not shape and idx.size != 1:
        raise OpError(f"index_select: the index into a 0-d tensor must hold exactly 1 value, got {idx.size} "
                      f"(PyTorch refuses it too)")
    n = shape[axis] if shape else 1
    device_checks.refuse_out_of_range(idx, n, OpError, f"index_select: index {{bad}} is out of range [0, {n}) for "
                                      f"dim {dim} of the input of shape {shape} (negative indices are refused, "
                                      f"as in PyTorch)")
    flat = idx.reshape(-1).astype(xp.int64, copy=False)
    if not shape:
        return reshape(getitem(reshape(x, (1,)), flat), ())
    return getitem(x, _along(axis, flat))


def unbind(x, dim: int = 0):
    """PyTorch's ``unbind``: the slices along ``dim``, that dim removed."""
    axis = _check_axis("unbind", dim, len(x.shape))
    return tuple(getitem(x, _along(axis, i)) for i in range(x.shape[axis]))


def movedim(x, source, destination):
    """PyTorch's ``movedim`` (NumPy's ``moveaxis``): dims ``source`` moved to
    positions ``destination``, the others keeping their order."""
    ndim = len(x.shape)
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise OpError(f"movedim: source {src} and destination {dst} must name as many dims")
    src = tuple(_check_axis("movedim", a, max(ndim, 1)) for a in src)
    dst = tuple(_check_axis("movedim", a, max(ndim, 1)) for a in dst)
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise OpError(f"movedim: repeated dim in source {src} or destination {dst}")
    if not ndim:
        return Transpose(())(x)
    rest = iter(a for a in range(ndim) if a not in src)
    placed = dict(zip(dst, src))
    return Transpose(tuple(placed[i] if i in placed else next(rest) for i in range(ndim)))(x)


def _short(index) -> str:
    text = repr(index)
    return text if len(text) < 40 else text[:37] + "..."


def _data(x):
    return x.data if isinstance(x, Tensor) else xp.asarray(x)


def _index_item(i):
    """One entry of an index as the backend wants it: a Tensor's array, a host
    (NumPy) index array moved to the backend explicitly, anything else as is."""
    if type(i) in _BASIC_TYPES:  # the common case (x[t] on every BPTT step): nothing to convert
        return i
    if isinstance(i, Tensor):
        i = i.data
    elif hasattr(i, "dtype") and type(i) is not backend.ndarray and getattr(i, "ndim", 0):
        i = xp.asarray(i)
    if getattr(i, "ndim", 0) and i.dtype not in _INDEX_DTYPES and i.dtype.kind != "b":
        # NumPy would index with any integer dtype; PyTorch takes int64/int32 indices and bool masks only
        raise OpError(f"getitem: index arrays must be int64 or int32 (or a bool mask), got {i.dtype}"
                      f"{list(i.shape)}; convert it with .astype('int64') (PyTorch refuses it too)")
    return i


_INDEX_DTYPES = frozenset(xp.dtype(d) for d in ("int64", "int32"))


def _index(index):
    """Convert Tensors and host arrays inside an index to backend arrays."""
    if type(index) is tuple:
        return tuple(_index_item(i) for i in index)
    if isinstance(index, list):  # [] is an empty integer index (NumPy would make it float64)
        return _index_item(xp.asarray(index) if index else xp.zeros(0, dtype=xp.int64))
    return _index_item(index)
