"""Pooling beyond ``nn.conv``'s 2-d layers, with PyTorch's names, arguments and results: max and
average pooling over 1 and 3 axes, max-pooling's indices and their inverse (max-unpooling), the
adaptive poolings and power-average (LP) pooling — each function and its layer.

All of it is composed from existing ops, so the gradients are theirs:

* ``max_pool1d``/``3d``, ``avg_pool1d``/``3d`` are ``ops.conv``'s ``max_pool``/``avg_pool`` (the
  im2col windows of ``max_pool2d``/``avg_pool2d``, over one or three axes); tied maxima share
  the gradient as ``rg.conventions`` says, as in ``max_pool2d``.
* The adaptive poolings gather each output's window of the flattened input with one integer
  index (``getitem``: its gradient adds back into the input), padded to the largest window with
  the reduction's neutral value (0 for the mean, −∞ for the max, never a candidate).
* ``max_unpool`` reads each output entry from the input entry whose index names it (a ``gather``),
  and a zero where none does.
* ``lp_pool`` is PyTorch's formula, (Σ xᵖ)^(1/p) = (k·avg_pool(xᵖ))^(1/p).

The indices (``return_indices=True``) are PyTorch's: int64, flat over the spatial axes of each
channel, the first maximum of a window in row-major order (the last NaN when it holds NaNs).
"""

from __future__ import annotations

import math

from .. import ops as _ops
from ..autograd.backend import xp
from ..autograd.op import OpError
from ..autograd.tensor import _wrap
from ..ops import device_checks
from ..ops.composite import gather
from ..ops.conv import (_AXES, ConvError, WindowMax, _batched, _describe, _ntuple, avg_pool, max_pool,
                        pooled_result)
from ..ops.shape import _data, getitem, pad, reshape
from .conv import _pool_arguments
from .functional_losses import _t
from .module import Module


class PoolingNotImplemented(OpError, NotImplementedError):
    """A dtype these poolings do not compute (PyTorch raises ``NotImplementedError`` too)."""


# ---------------------------------------------------------------- max and average pooling over 1 and 3 axes
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,  # noqa: A002
               return_indices: bool = False):
    """PyTorch's ``F.max_pool1d``: the max over each window of an (N, C, L) or (C, L) input
    (``max_pool2d``'s arguments on one axis); (output, indices) with ``return_indices``."""
    return max_pool(_t(input), 1, kernel_size, stride, padding, dilation, ceil_mode, return_indices, "max_pool1d")


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,  # noqa: A002
               return_indices: bool = False):
    """PyTorch's ``F.max_pool3d``: the max over each window of an (N, C, D, H, W) or (C, D, H, W)
    input; (output, indices) with ``return_indices`` (indices flat over D·H·W)."""
    return max_pool(_t(input), 3, kernel_size, stride, padding, dilation, ceil_mode, return_indices, "max_pool3d")


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool1d`` that always returns (output, indices), as PyTorch's."""
    return max_pool(_t(input), 1, kernel_size, stride, padding, dilation, ceil_mode, True, "max_pool1d")


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool2d`` that always returns (output, indices), as PyTorch's."""
    return max_pool(_t(input), 2, kernel_size, stride, padding, dilation, ceil_mode, True, "max_pool2d")


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool3d`` that always returns (output, indices), as PyTorch's."""
    return max_pool(_t(input), 3, kernel_size, stride, padding, dilation, ceil_mode, True, "max_pool3d")


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,  # noqa: A002
               count_include_pad: bool = True):
    """PyTorch's ``F.avg_pool1d``: the mean over each window of an (N, C, L) or (C, L) input,
    ``avg_pool2d``'s divisor rules (PyTorch's 1-d form has no ``divisor_override``)."""
    return avg_pool(_t(input), 1, kernel_size, stride, padding, ceil_mode, count_include_pad, None, "avg_pool1d")


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,  # noqa: A002
               count_include_pad: bool = True, divisor_override=None):
    """PyTorch's ``F.avg_pool3d``: the mean over each window of an (N, C, D, H, W) or
    (C, D, H, W) input, with ``avg_pool2d``'s divisor rules."""
    return avg_pool(_t(input), 3, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                    "avg_pool3d")


# ---------------------------------------------------------------- max-unpooling
def _unpool_output_size(shape, kernel, stride, padding, output_size):
    """PyTorch's ``_unpool_output_size``: (S − 1)·s − 2p + k per axis, or ``output_size`` (its
    last m entries) when it lies strictly within one stride of that (a ValueError otherwise)."""
    m = len(kernel)
    default = [(shape[-m + d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(m)]
    if output_size is None:
        sizes = default
    else:
        sizes = [int(v) for v in output_size]
        if len(sizes) == m + 2:
            sizes = sizes[2:]
        if len(sizes) != m:
            raise OpError(f"max_unpool{m}d: output_size should be a sequence containing {m} or {m + 2} elements, "
                          f"but it has a length of '{len(sizes)}'")
        for d in range(m):
            lo, hi = default[d] - stride[d], default[d] + stride[d]
            if not lo < sizes[d] < hi:
                raise OpError(f'max_unpool{m}d: invalid output_size "{tuple(output_size)}" (dim {d} must be '
                              f'between {lo} and {hi})')
    for d, v in enumerate(sizes):
        if v < 0:
            raise OpError(f"max_unpool{m}d: output_size must contain non-negative spatial dimensions, but got "
                          f"output_size[{d}]={v}")
    return tuple(sizes)


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, m):  # noqa: A002
    """y (N, C, *output_size) zeros, with y.flat[indices[n, c, i]] = x[n, c, i] per channel —
    the inverse of max-pooling on its maxima. Where two entries name the same index the later one
    wins, as in PyTorch's loop (and only it gets the gradient: y is a gather of x)."""
    name = f"max_unpool{m}d"
    x = _t(input)
    kernel = _ntuple(kernel_size, m, f"{name}: kernel_size")
    steps = kernel if stride is None else _ntuple(stride, m, f"{name}: stride")
    pads = _ntuple(padding, m, f"{name}: padding")
    sizes = _unpool_output_size(tuple(x.shape), kernel, steps, pads, output_size)
    idx = xp.asarray(_data(indices))
    if idx.dtype != xp.int64:
        raise ConvError(f"{name}: elements in indices should be type int64 but got {idx.dtype}; convert them "
                        f"with .long()")
    if len(x.shape) not in (m + 1, m + 2):
        raise ConvError(f"{name}: input should be a {m + 1}d or {m + 2}d tensor, but got {_describe(x)}")
    if tuple(idx.shape) != tuple(x.shape):
        raise ConvError(f"{name}: expected indices of the input's shape {tuple(x.shape)}, got {tuple(idx.shape)}")
    if 0 in tuple(x.shape[-m - 1:]):
        raise ConvError(f"{name}: expected input with non-zero sizes but the batch, got {_describe(x)}")
    if x.dtype.kind != "f":
        raise PoolingNotImplemented(f"{name}: not implemented for {_describe(x)}; convert it with .float()")
    x, unbatched = _batched(x, m, name)
    n, c = x.shape[0], x.shape[1]
    size_in, size_out = _count(x.shape[2:]), _count(sizes)
    flat_idx = idx.reshape((n, c, size_in))
    device_checks.refuse_out_of_range(flat_idx, size_out, ConvError,
                                      f"{name}: Found an invalid max index: {{bad}} (output volumes are of size "
                                      f"{'x'.join(map(str, sizes))})")
    # which input entry each output entry reads: the last that names it, else a zero appended at size_in
    source = xp.full((n, c, size_out), -1, dtype=xp.int64)
    grid = xp.ogrid[:n, :c, :size_in]
    xp.maximum.at(source, (grid[0], grid[1], flat_idx), xp.broadcast_to(grid[2], flat_idx.shape))
    source = xp.where(source < 0, size_in, source)
    flat = pad(reshape(x, (n, c, size_in)), ((0, 0), (0, 0), (0, 1)))
    out = reshape(gather(flat, 2, _wrap(source)), (n, c) + sizes)
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    """PyTorch's ``F.max_unpool1d``: ``max_pool1d``'s maxima put back at their indices, zeros
    elsewhere; output length (L − 1)·stride − 2·padding + kernel_size unless ``output_size``."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    """PyTorch's ``F.max_unpool2d``: ``max_pool2d``'s maxima put back at their indices (flat over
    H·W), zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    """PyTorch's ``F.max_unpool3d``: ``max_pool3d``'s maxima put back at their indices (flat over
    D·H·W), zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


# ---------------------------------------------------------------- adaptive pooling
def _count(shape):
    return math.prod(int(s) for s in shape)


def _adaptive_sizes(output_size, shape, m, name):
    """The output's m spatial sizes: an int for every axis, or m entries of which None keeps the
    input's size (PyTorch's rules; a TypeError for a float, as its argument parser raises)."""
    if output_size is None:
        raise TypeError(f"{name}: output_size must be an int or a tuple of {m} ints (or None), not None")
    if isinstance(output_size, (int, float)) and not isinstance(output_size, bool):
        sizes = (output_size,) * m
    else:
        sizes = tuple(output_size)
    if len(sizes) != m:
        raise ConvError(f"{name}: output_size should contain {m} int{'s' if m > 1 else ''} (got {len(sizes)})")
    out = []
    for s, size in zip(sizes, shape[-m:]):
        if s is not None and (isinstance(s, bool) or not isinstance(s, int)):
            raise TypeError(f"{name}: output_size must be ints (or None), got {output_size!r}")
        out.append(size if s is None else s)
    if any(s < 0 for s in out):
        raise ConvError(f"{name}: elements of output_size must be greater than or equal to 0, got {tuple(out)}")
    return tuple(out)


def _adaptive_positions(size, outs):
    """(K, *outs) int64: for each output the flat input positions of its window (rows
    [⌊i·S/o⌋, ⌈(i+1)·S/o⌉) per axis, PyTorch's), K the largest window's entries in row-major
    order, −1 where a smaller window has none."""
    m = len(size)
    flat, valid = 0, True
    strides = [_count(size[a + 1:]) for a in range(m)]
    widths = []
    for a, (s, o) in enumerate(zip(size, outs)):
        i = xp.arange(o)
        start, end = (i * s) // o, -((-(i + 1) * s) // o)
        k = max((-(-(j + 1) * s // o) - j * s // o for j in range(o)), default=1)  # (on the host: no device read)
        widths.append(k)
        pos = start[None, :] + xp.arange(k)[:, None]                       # (k, o): this axis's entries
        shape = [1] * (2 * m)
        shape[a], shape[m + a] = k, o
        flat = flat + pos.reshape(shape) * strides[a]
        valid = valid & (pos < end[None, :]).reshape(shape)
    positions = xp.where(valid, flat, -1).astype(xp.int64)
    return positions.reshape((_count(widths),) + tuple(outs))


def _adaptive_windows(input, output_size, m, name, fill):  # noqa: A002
    """(x as a batch, whether unbatched, its (N, C, K, *outs) windows padded with ``fill``, the
    (1, 1, K, *outs) positions)."""
    x = _t(input)
    shape = tuple(x.shape)
    if len(shape) not in (m + 1, m + 2):
        raise ConvError(f"{name}: expected a {m + 1}-D (C, {_AXES[m]}) or {m + 2}-D (N, C, {_AXES[m]}) input, "
                        f"got {_describe(x)}")
    if 0 in shape[-m:]:
        raise ConvError(f"{name}: expected input to have non-zero size for non-batch dimensions, got "
                        f"{_describe(x)}")
    if x.dtype.kind != "f":
        raise PoolingNotImplemented(f"{name}: not implemented for {_describe(x)}; convert it with .float()")
    outs = _adaptive_sizes(output_size, shape, m, name)
    x, unbatched = _batched(x, m, name)
    size = tuple(x.shape[2:])
    positions = _adaptive_positions(size, outs)
    n, c = x.shape[0], x.shape[1]
    flat = pad(reshape(x, (n, c, _count(size))), ((0, 0), (0, 0), (0, 1)), value=fill)  # the fill at the end
    windows = getitem(flat, (slice(None), slice(None), xp.where(positions < 0, _count(size), positions)))
    return x, unbatched, windows, positions[None, None]


def _adaptive_avg(input, output_size, m):  # noqa: A002
    name = f"adaptive_avg_pool{m}d"
    x, unbatched, windows, positions = _adaptive_windows(input, output_size, m, name, 0.0)
    counts = (positions >= 0).sum(axis=2).astype(x.dtype)
    out = _ops.sum(windows, axis=2) / _wrap(xp.maximum(counts, 1))
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


def _adaptive_max(input, output_size, return_indices, m):  # noqa: A002
    name = f"adaptive_max_pool{m}d"
    x, unbatched, windows, positions = _adaptive_windows(input, output_size, m, name, -xp.inf)
    return pooled_result(WindowMax(positions >= 0)(windows), windows, positions, unbatched, return_indices)


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """PyTorch's ``F.adaptive_avg_pool1d``: an (N, C, L) or (C, L) input averaged over the windows
    [⌊i·L/o⌋, ⌈(i+1)·L/o⌉) into o outputs (windows may overlap)."""
    return _adaptive_avg(input, output_size, 1)


def adaptive_avg_pool3d(input, output_size):  # noqa: A002
    """PyTorch's ``F.adaptive_avg_pool3d``: ``adaptive_avg_pool2d``'s windows on three axes;
    ``output_size`` an int or a triple whose None keeps that axis's size."""
    return _adaptive_avg(input, output_size, 3)


def adaptive_max_pool1d(input, output_size, return_indices: bool = False):  # noqa: A002
    """PyTorch's ``F.adaptive_max_pool1d``: the max over the adaptive windows [⌊i·L/o⌋, ⌈(i+1)·L/o⌉);
    (output, indices) with ``return_indices``. Tied maxima share the gradient per ``rg.conventions``."""
    return _adaptive_max(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input, output_size, return_indices: bool = False):  # noqa: A002
    """PyTorch's ``F.adaptive_max_pool2d``: the max over ``adaptive_avg_pool2d``'s windows; indices
    flat over H·W."""
    return _adaptive_max(input, output_size, return_indices, 2)


def adaptive_max_pool3d(input, output_size, return_indices: bool = False):  # noqa: A002
    """PyTorch's ``F.adaptive_max_pool3d``: the max over the adaptive windows of three axes."""
    return _adaptive_max(input, output_size, return_indices, 3)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices: bool = False):  # noqa: A002
    """``adaptive_max_pool1d`` returning (output, indices)."""
    return _adaptive_max(input, output_size, True, 1)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices: bool = False):  # noqa: A002
    """``adaptive_max_pool2d`` returning (output, indices)."""
    return _adaptive_max(input, output_size, True, 2)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices: bool = False):  # noqa: A002
    """``adaptive_max_pool3d`` returning (output, indices)."""
    return _adaptive_max(input, output_size, True, 3)


# ---------------------------------------------------------------- power-average pooling
def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, m):  # noqa: A002
    """PyTorch's formula: (k · avg_pool(xᵖ))^(1/p) = (Σ_window xᵖ)^(1/p), no padding; p = ±∞ is
    the max of |x| (of −|x|, negated). Where a window's sum is 0 the gradient is 0, as PyTorch's
    sign(s)·relu(|s|) makes it (its value is s itself)."""
    name = f"lp_pool{m}d"
    x = _t(input)
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        pooled = max_pool(_ops.abs(x) if norm_type > 0 else -_ops.abs(x), m, kernel_size, stride, 0, 1, ceil_mode,
                          False, name)
        return pooled if norm_type > 0 else -pooled
    sums = avg_pool(x ** norm_type, m, kernel_size, stride, 0, ceil_mode, True, None, name)
    nonzero = sums.data != 0
    # a zero sum reads 1 instead (no 0^(1/p − 1) = ∞ in the backward), its output set to 0 after
    safe = _ops.where(nonzero, sums, 1.0) * _count(_ntuple(kernel_size, m, f"{name}: kernel_size"))
    return _ops.where(nonzero, safe ** (1.0 / norm_type), 0.0)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode: bool = False):  # noqa: A002
    """PyTorch's ``F.lp_pool1d``: (Σ_window xᵖ)^(1/p) over each window of an (N, C, L) or (C, L)
    input (p = 1: sum pooling; p = ∞: max pooling of |x|)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode: bool = False):  # noqa: A002
    """PyTorch's ``F.lp_pool2d``: (Σ_window xᵖ)^(1/p) over each kh×kw window."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode: bool = False):  # noqa: A002
    """PyTorch's ``F.lp_pool3d``: (Σ_window xᵖ)^(1/p) over each kd×kh×kw window."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


# ---------------------------------------------------------------- layers
class _MaxPoolNd(Module):
    """PyTorch's max-pooling layers: arguments checked when built; ``stride`` defaults to the
    kernel size; (output, indices) with ``return_indices``."""

    spatial = 1

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        _pool_arguments(type(self).__name__, self.spatial, kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation, self.return_indices, self.ceil_mode = padding, dilation, return_indices, ceil_mode

    def forward(self, input):  # noqa: A002
        return max_pool(_t(input), self.spatial, self.kernel_size, self.stride, self.padding, self.dilation,
                        self.ceil_mode, self.return_indices, f"max_pool{self.spatial}d")

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max-pooling of (N, C, L) or (C, L) inputs (PyTorch's ``nn.MaxPool1d``); the gradient at tied
    maxima follows ``rg.conventions``."""


class MaxPool3d(_MaxPoolNd):
    """Max-pooling of (N, C, D, H, W) or (C, D, H, W) inputs (PyTorch's ``nn.MaxPool3d``)."""

    spatial = 3


class AvgPool1d(Module):
    """Average pooling of (N, C, L) or (C, L) inputs (PyTorch's ``nn.AvgPool1d``, which keeps its
    arguments as 1-tuples and has no ``divisor_override``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
        super().__init__()
        _pool_arguments(type(self).__name__, 1, kernel_size, stride, padding)
        self.kernel_size = _ntuple(kernel_size, 1, "AvgPool1d: kernel_size")
        self.stride = _ntuple(stride if stride is not None else kernel_size, 1, "AvgPool1d: stride")
        self.padding = _ntuple(padding, 1, "AvgPool1d: padding")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):  # noqa: A002
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(Module):
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) inputs (PyTorch's ``nn.AvgPool3d``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override=None):
        super().__init__()
        _pool_arguments(type(self).__name__, 3, kernel_size, stride, padding)
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):  # noqa: A002
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                          self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _MaxUnpoolNd(Module):
    """PyTorch's max-unpooling layers: ``forward(input, indices, output_size=None)``."""

    spatial = 1

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        n, layer = self.spatial, type(self).__name__
        self.kernel_size = _ntuple(kernel_size, n, f"{layer}: kernel_size")
        self.stride = _ntuple(stride if stride is not None else kernel_size, n, f"{layer}: stride")
        self.padding = _ntuple(padding, n, f"{layer}: padding")

    def forward(self, input, indices, output_size=None):  # noqa: A002
        return _max_unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size, self.spatial)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The inverse of ``MaxPool1d`` on its maxima (PyTorch's ``nn.MaxUnpool1d``): zeros elsewhere."""


class MaxUnpool2d(_MaxUnpoolNd):
    """The inverse of ``MaxPool2d`` on its maxima (PyTorch's ``nn.MaxUnpool2d``): zeros elsewhere."""

    spatial = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """The inverse of ``MaxPool3d`` on its maxima (PyTorch's ``nn.MaxUnpool3d``): zeros elsewhere."""

    spatial = 3


class _AdaptivePoolNd(Module):
    """An adaptive pooling layer: a fixed output size whatever the input's."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """PyTorch's ``nn.AdaptiveAvgPool1d``: the mean over windows [⌊i·L/o⌋, ⌈(i+1)·L/o⌉)."""

    def forward(self, input):  # noqa: A002
        return _adaptive_avg(input, self.output_size, 1)


class AdaptiveAvgPool3d(_AdaptivePoolNd):
    """PyTorch's ``nn.AdaptiveAvgPool3d``: ``AdaptiveAvgPool2d``'s windows on three axes."""

    def forward(self, input):  # noqa: A002
        return _adaptive_avg(input, self.output_size, 3)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    """PyTorch's adaptive max-pooling layers; (output, indices) with ``return_indices``."""

    spatial = 1

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):  # noqa: A002
        return _adaptive_max(input, self.output_size, self.return_indices, self.spatial)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """PyTorch's ``nn.AdaptiveMaxPool1d``: the max over adaptive windows of one axis."""


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """PyTorch's ``nn.AdaptiveMaxPool2d``: the max over adaptive windows of two axes."""

    spatial = 2


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """PyTorch's ``nn.AdaptiveMaxPool3d``: the max over adaptive windows of three axes."""

    spatial = 3


class _LPPoolNd(Module):
    """PyTorch's power-average pooling layers: (Σ_window xᵖ)^(1/p)."""

    spatial = 1

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input):  # noqa: A002
        return _lp_pool(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode, self.spatial)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """PyTorch's ``nn.LPPool1d``: (Σ_window xᵖ)^(1/p) over windows of one axis."""


class LPPool2d(_LPPoolNd):
    """PyTorch's ``nn.LPPool2d``: (Σ_window xᵖ)^(1/p) over kh×kw windows."""

    spatial = 2


class LPPool3d(_LPPoolNd):
    """PyTorch's ``nn.LPPool3d``: (Σ_window xᵖ)^(1/p) over kd×kh×kw windows."""

    spatial = 3
