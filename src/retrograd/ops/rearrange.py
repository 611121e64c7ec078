"""Rearranging values, PyTorch's way: ``flip``, ``roll``, ``repeat``,
``tril``/``triu``, ``masked_fill``, ``one_hot``, ``clone``, and ``F.pad``'s
modes (constant, reflect, replicate, circular).

All but ``clone`` are compositions of indexing, broadcasting and ``where``,
whose vjps (scatter-add, sum over broadcast axes, masking) already are the
adjoint moves: a flipped or rolled gradient goes back flipped or rolled the
other way, a repeated tensor's gradient is the sum over its copies, masked or
zeroed positions get no gradient.
"""

from __future__ import annotations

import math

from ..autograd.backend import xp
from ..autograd.op import DimError, OpError, UnaryOp, off_tape
from ..autograd.tensor import Tensor, _wrap
from .elementwise import cast, where
from .shape import Pad, _data, broadcast_to, getitem, reshape




class PadError(OpError, RuntimeError):
    """A padding the input cannot take (reflect padding as wide as the input): PyTorch's RuntimeError."""

def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(xp.asarray(x))


def _dims(dims, ndim, name):
    """Normalise an int or a sequence of ints to non-negative axes, each once."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = []
    for d in dims:
        if not isinstance(d, int) or isinstance(d, bool):
            raise OpError(f"{name}: dims must be ints, got {d!r}")
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise DimError(f"{name}: dim {d} is out of range for a tensor with {ndim} dimensions")
        d = d % ndim if ndim else 0
        if d in out:
            raise OpError(f"{name}: dim {d} appears multiple times in the list of dims")
        out.append(d)
    return out


class Clone(UnaryOp):
    """y = a copy of x;  x̄ = ȳ"""
    name = "clone"
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x): return xp.array(x, copy=True)
    def vjp(self, ns, g, y, x): return (g,)
    def jvp(self, ns, ts, y, x): return ts[0]  # ẏ = ẋ


def clone(x):
    """A copy of ``x`` with its own memory, on the tape (its gradient passes through)."""
    return Clone()(x)


def flip(x, dims):
    """``x`` reversed along each axis in ``dims`` (an int or a sequence)."""
    x = _as_tensor(x)
    axes = _dims(dims, x.ndim, "flip")
    if x.ndim == 0:
        return clone(x)
    index = tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim))
    return getitem(x, index)


def roll(x, shifts, dims=None):
    """Shift ``x`` circularly by ``shifts`` along ``dims`` (entries pushed off
    one end come back at the other). Without ``dims``: the flattened tensor,
    reshaped back."""
    x = _as_tensor(x)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise OpError(f"roll: shifts and dimensions must align; shifts: {len(shifts)}, dims: 0")
        flat = roll(reshape(x, (-1,)), shifts, 0)
        return reshape(flat, x.shape)
    axes = (dims,) if isinstance(dims, int) else tuple(dims)
    if x.ndim == 0 and axes:  # PyTorch's roll names dims strictly (no 0/-1 on a 0-d tensor)
        raise DimError(f"roll: dimension {axes[0]} is out of range for a 0-d tensor (it has no dimensions); "
                      f"call roll(x, shifts) without dims")
    if len(axes) != len(shifts) or not axes:
        raise OpError(f"roll: shifts and dimensions must align; shifts: {len(shifts)}, dims: {len(axes)}")
    axes = [a for a in _dims_allow_repeats(axes, x.ndim)]
    out = x
    for shift, axis in zip(shifts, axes):
        if not isinstance(shift, int):
            raise OpError(f"roll: shifts must be ints, got {shift!r}")
        n = x.shape[axis] if x.ndim else 1
        if n == 0 or shift % n == 0 or x.ndim == 0:
            continue
        source = (xp.arange(n) - shift) % n
        out = getitem(out, (slice(None),) * axis + (source,))
    return out if out is not x else clone(x)


def _dims_allow_repeats(dims, ndim):
    out = []
    for d in dims:
        out += _dims(d, ndim, "roll")
    return out


def repeat(x, *sizes):
    """PyTorch's ``Tensor.repeat``: tile ``x`` ``sizes[i]`` times along each
    axis; ``sizes`` may be longer than ``x.shape`` (new leading axes). NumPy's
    ``repeat`` (which repeats each element) is a different function.
    The gradient of each entry is the sum over its copies."""
    x = _as_tensor(x)
    sizes = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes
    if any(not isinstance(s, int) for s in sizes):
        raise OpError(f"repeat: sizes must be ints, got {sizes!r}")
    if len(sizes) < x.ndim:
        raise OpError(f"repeat: the number of repeat dims ({len(sizes)}) can not be smaller than the number "
                      f"of dimensions of the tensor ({x.ndim})")
    if any(s < 0 for s in sizes):
        raise OpError(f"repeat: repeats must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    # (a, b) repeated (r, s): view as (1, a, 1, b), broadcast to (r, a, s, b), merge pairs
    interleaved = tuple(v for pair in ((1, n) for n in shape) for v in pair)
    tiled = tuple(v for pair in zip(sizes, shape) for v in pair)
    out = broadcast_to(reshape(x, interleaved), tiled)
    return reshape(out, tuple(r * n for r, n in zip(sizes, shape)))


def tile(x, *dims):
    """PyTorch's ``tile``: ``x`` repeated ``dims[i]`` times along each axis; where ``dims`` is shorter
    than ``x.shape``, 1s are put in front (``repeat`` needs them all). y = x tiled;  x̄ = the sum of ȳ
    over the copies."""
    x = _as_tensor(x)
    dims = tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], int) else dims
    if any(not isinstance(d, int) or isinstance(d, bool) for d in dims):
        raise OpError(f"tile: dims must be ints, got {dims!r} (for a tensor {x.dtype}{list(x.shape)})")
    return repeat(x, (1,) * (x.ndim - len(dims)) + tuple(dims))


def masked_select(x, mask):
    """PyTorch's ``masked_select``: the 1-D tensor of the entries of ``x`` where the boolean ``mask``
    is True, in row-major order, ``x`` and ``mask`` broadcast against each other. y = x[mask];
    x̄ = ȳ scattered back to the selected entries (summed over broadcast copies), 0 elsewhere."""
    x = _as_tensor(x)
    m = xp.asarray(_data(mask))
    if m.dtype != bool:
        raise OpError(f"masked_select: only boolean masks are supported, got a mask of dtype {m.dtype} "
                      f"(PyTorch refuses it too); compare first, e.g. mask != 0")
    try:
        shape = xp.broadcast_shapes(tuple(x.shape), m.shape)
    except ValueError as e:
        raise OpError(f"masked_select: the mask bool{list(m.shape)} does not broadcast with the tensor "
                      f"{x.dtype}{list(x.shape)}") from e
    if tuple(x.shape) != shape:
        x = broadcast_to(x, shape)
    return getitem(x, xp.broadcast_to(m, shape) if m.shape != shape else m)


def _triangle(x, diagonal, name, keep):
    x = _as_tensor(x)
    if x.ndim < 2:
        raise OpError(f"{name}: input tensor must have at least 2 dimensions, got shape {x.shape}")
    if not isinstance(diagonal, int):
        raise OpError(f"{name}: diagonal must be an int, got {diagonal!r}")
    rows, cols = x.shape[-2:]
    mask = keep(xp.arange(cols)[None, :] - xp.arange(rows)[:, None], diagonal)
    mask = xp.broadcast_to(mask, x.shape)
    return where(mask, x, xp.zeros((), dtype=x.dtype))


def tril(x, diagonal: int = 0):
    """The lower triangle of the last two axes (entries with column − row ≤
    ``diagonal``); the rest 0, and no gradient flows there."""
    return _triangle(x, diagonal, "tril", lambda offset, k: offset <= k)


def triu(x, diagonal: int = 0):
    """The upper triangle of the last two axes (column − row ≥ ``diagonal``); the rest 0."""
    return _triangle(x, diagonal, "triu", lambda offset, k: offset >= k)


def masked_fill(x, mask, value):
    """``x`` with ``value`` where the boolean ``mask`` (broadcast against x) is
    True. ``value`` is a number or a 0-dimensional tensor; if it requires grad
    it gets the sum of the gradient over the filled positions."""
    x = _as_tensor(x)
    m = xp.asarray(_data(mask))
    if m.dtype != bool:
        raise OpError(f"masked_fill: only boolean masks are supported, got a mask of dtype {m.dtype}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise OpError(f"masked_fill: only a 0-dimensional value tensor is supported, got shape {value.shape}")
        if value.requires_grad and x.dtype.kind not in "fc":
            raise OpError(f"masked_fill: the value requires grad but the tensor filled is {x.dtype}, which has no "
                          f"gradient (PyTorch refuses it too); fill a floating tensor or detach the value")
        if value.dtype.kind == "c" and x.dtype.kind in "iuf" and value.data.imag != 0:
            raise OpError(f"masked_fill: complex value {value.data.item()!r} does not fit a {x.dtype} tensor "
                          f"(PyTorch refuses it too); fill x.real or a complex tensor")
        if value.dtype != x.dtype:
            value = cast(value, x.dtype)
    else:
        if isinstance(value, complex) and x.dtype.kind in "iuf":
            if value.imag != 0:
                raise OpError(f"masked_fill: complex value {value!r} does not fit a {x.dtype} tensor (PyTorch "
                              f"refuses it too); fill x.real or a complex tensor")
            value = value.real  # PyTorch takes a complex number with no imaginary part
        try:
            value = xp.asarray(value, dtype=x.dtype)
        except (TypeError, ValueError) as e:
            raise OpError(f"masked_fill: value {value!r} does not fit dtype {x.dtype}: {e}") from e
    try:
        shape = xp.broadcast_shapes(m.shape, x.shape)
    except ValueError as e:
        raise OpError(f"masked_fill: mask of shape {m.shape} does not broadcast with {x.shape}") from e
    return where(xp.broadcast_to(m, shape), value, x)


@off_tape
def one_hot(labels, num_classes: int = -1):
    """PyTorch's ``one_hot``: int64 tensor of shape ``labels.shape + (C,)``
    with a 1 at each label. ``num_classes=-1`` takes C = max(labels) + 1.
    Labels must be integers in [0, C). Not differentiable."""
    d = xp.asarray(_data(labels))
    if d.dtype.kind not in "iu":
        raise OpError(f"one_hot: labels must be an integer tensor, got dtype {d.dtype}")
    if not isinstance(num_classes, int):
        raise OpError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    if d.size == 0:
        if num_classes <= 0:
            raise OpError("one_hot: can not infer the number of classes from an empty tensor")
        return _wrap(xp.zeros(d.shape + (num_classes,), dtype=xp.int64))
    if int(d.min()) < 0:
        raise OpError(f"one_hot: class values must be non-negative, got {int(d.min())}")
    if num_classes == -1:
        num_classes = int(d.max()) + 1
    elif int(d.max()) >= num_classes:
        raise OpError(f"one_hot: class values must be smaller than num_classes={num_classes}, got {int(d.max())}")
    return _wrap((d[..., None] == xp.arange(num_classes)).astype(xp.int64))


def numel(x) -> int:
    """The number of elements (the product of the shape)."""
    return math.prod(_data(x).shape)


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _source_positions(mode, n, lo, hi):
    """For each output position along one axis (after cropping negative
    widths), the input position it copies: reflected about the ends without
    repeating them, clamped to the ends, or wrapped around."""
    j = xp.arange(-lo, n + hi)  # a negative width starts or stops inside the axis: a crop
    if mode == "reflect":
        period = 2 * (n - 1)
        j = xp.abs(j) % period if period else xp.zeros_like(j)
        return xp.where(j > n - 1, period - j, j)
    if mode == "replicate":
        return xp.clip(j, 0, n - 1)
    return j % n


def torch_pad(x, pad, mode: str = "constant", value=None):
    """PyTorch's ``F.pad``: ``pad`` lists widths from the last dim backwards,
    ``(left, right, top, bottom, front, back)``; a negative width crops.

    ``mode``: ``"constant"`` (``value``, default 0), ``"reflect"`` (mirror
    without repeating the edge), ``"replicate"`` (repeat the edge) or
    ``"circular"`` (wrap around). The non-constant modes pad the last 1, 2 or 3
    dims of a (C, …) or (N, C, …) input, as PyTorch requires; they are
    compositions of index gathers, so each gradient is the sum of ȳ over the
    output positions that copied an entry (what PyTorch computes). A negative
    width crops, as in PyTorch: reflect and replicate still mirror or repeat
    about the uncropped ends, circular wraps what remains after cropping."""
    x = _as_tensor(x)
    pad = tuple(pad)
    if any(not isinstance(p, int) or isinstance(p, bool) for p in pad):
        raise OpError(f"pad: widths must be ints, got {pad!r}")
    if len(pad) % 2:
        raise OpError(f"pad: the pad tuple must have an even length (pairs per dim), got {pad!r}")
    dims = len(pad) // 2
    if dims > x.ndim:
        raise OpError(f"pad: {len(pad)} widths pad {dims} dims, but the input of shape {tuple(x.shape)} has "
                      f"only {x.ndim}; give at most two widths per dim")
    if mode not in PAD_MODES:
        raise OpError(f"pad: mode must be one of {', '.join(PAD_MODES)}, got {mode!r}")
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(dims)]  # pairs[0] is the last dim's
    widths = [(0, 0)] * (x.ndim - dims) + pairs[::-1]
    if mode == "constant":
        return Pad(tuple(widths), 0.0 if value is None else value)(x)
    if value not in (None, 0, 0.0):
        raise OpError(f"pad: value={value!r} applies to mode='constant' only, not mode={mode!r}")
    if x.ndim not in (dims + 1, dims + 2) or dims > 3:
        raise OpError(f"pad: mode={mode!r} with {len(pad)} widths pads the last {dims} dims of a "
                      f"{dims + 1}-D (C, ...) or {dims + 2}-D (N, C, ...) input, got shape {tuple(x.shape)}")
    sizes = [x.shape[a] + lo + hi for a, (lo, hi) in enumerate(widths)][x.ndim - dims:]
    if mode != "circular" and all(size < 1 for size in sizes):
        raise OpError(f"pad: widths {pad} leave the input of shape {tuple(x.shape)} with padded dims of sizes "
                      f"{sizes}; mode={mode!r} needs at least one entry in one of them (PyTorch's rule)")
    out = x
    for axis in range(x.ndim - dims, x.ndim):
        lo, hi = widths[axis]
        n = out.shape[axis]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise PadError(f"pad: reflect padding {(lo, hi)} must be less than the size {n} of dim {axis} "
                          f"(input shape {tuple(x.shape)})")
        if n + lo + hi < 0:
            raise OpError(f"pad: widths {(lo, hi)} crop more than dim {axis} of size {n} "
                          f"(input shape {tuple(x.shape)})")
        if mode == "circular" and (lo < 0 or hi < 0):  # crop first, then wrap what remains
            start, stop = max(-lo, 0), n - max(-hi, 0)
            if stop < start:
                raise OpError(f"pad: widths {(lo, hi)} crop more than dim {axis} of size {n}")
            out = getitem(out, (slice(None),) * axis + (slice(start, stop),))
            lo, hi, n = max(lo, 0), max(hi, 0), stop - start
        if mode == "circular" and (lo > n or hi > n):
            # PyTorch checks the uncropped size only and then reads memory it never wrote: refused here
            raise OpError(f"pad: circular padding {(lo, hi)} would wrap around dim {axis} of size {n} (after "
                          f"cropping) more than once (input shape {tuple(x.shape)})")
        if lo == 0 and hi == 0:
            continue
        out = getitem(out, (slice(None),) * axis + (_source_positions(mode, n, lo, hi),))
    return out if out is not x else clone(x)
