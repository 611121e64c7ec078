"""Fractional max-pooling (Graham, 2014) with PyTorch's names: ``F.fractional_max_pool2d``/``3d``
(and their ``_with_indices`` forms) and the layers ``nn.FractionalMaxPool2d``/``3d``.

Each output is the max over a k-wide window (k×k, k×k×k) of the input, like max-pooling, but the
windows start at pseudo-random, increasing positions that spread ``out`` windows over an axis of
``size`` (out + k − 1 ≤ size): with u ∈ [0, 1) drawn per sample, channel and axis and
α = (size − k)/(out − 1),

    start_i = ⌊(i + u)·α⌋ − ⌊u·α⌋   (i < out − 1),   start_{out−1} = size − k

— PyTorch's sequence, computed in the input's dtype as its kernel computes it, so the same u (its
``_random_samples`` argument) gives PyTorch's windows exactly.

Composed from existing ops: the windows are gathered from the flattened input with one integer index
(``gather``: its gradient adds back into the input), and the max over each window is max-pooling's
``WindowMax`` — ties share the gradient as ``rg.conventions`` says (``first`` gives PyTorch's
everything-to-the-first), a window holding NaNs gives its last NaN. ``return_indices`` gives
PyTorch's int64 indices (flat over the spatial axes of each channel, the first maximum of a window in
row-major order): ``max_unpool2d``/``3d``'s input.
"""

from __future__ import annotations

import math
import numbers

from .. import random as rg_random
from ..autograd.backend import xp
from ..autograd.op import OpError, off_tape
from ..autograd.tensor import Tensor, _wrap
from ..ops import device_checks
from ..ops.composite import gather
from ..ops.conv import ConvError, WindowMax, _batched, pooled_result
from ..ops.shape import reshape
from .functional_losses import _t
from .module import Module
from .pooling import PoolingNotImplemented

_AXIS_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}
# which of a plane's samples each axis uses (PyTorch's kernels: 2-d reads u[0] for the width)
_SAMPLE_OF_AXIS = {2: (1, 0), 3: (0, 1, 2)}


def _sizes(value, m, name, what):
    """An int, or a sequence of m ints, as PyTorch's int-list arguments take them."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * m
    if isinstance(value, (float, bool)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name}(): argument '{what}' must be tuple of ints, not {type(value).__name__}")
    values = tuple(value)
    if len(values) != m:
        raise ConvError(f"{name}: {what} must either be a single Int or tuple of Ints (got {value!r})")
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{name}(): argument '{what}' must be tuple of ints, got {value!r}")
    return tuple(int(v) for v in values)


def _output_sizes(output_size, output_ratio, spatial, m, name):
    """``output_size``, or the input's sizes times ``output_ratio`` (truncated), as PyTorch's wrapper."""
    if output_size is None and output_ratio is None:
        raise OpError(f"{name} requires specifying either an output_size or an output_ratio")
    if output_size is not None:
        return _sizes(output_size, m, name, "output_size")
    ratios = (output_ratio,) * m if isinstance(output_ratio, numbers.Real) else tuple(output_ratio)
    if len(ratios) == 1:
        ratios *= m
    if len(ratios) != m:
        raise OpError(f"{name} requires output_ratio to either be a single number or a tuple of {m} numbers, got "
                      f"{output_ratio!r}")
    return tuple(int(size * r) for size, r in zip(spatial, ratios))


@off_tape
def _draw_samples(x, n, c, m):
    """(n, c, m) uniform draws in [0, 1) in x's dtype from ``rg.random``'s generator (PyTorch draws
    ``torch.rand``): fresh windows on every call (a replay draws again)."""
    return _wrap(xp.asarray(rg_random.generator().random((n, c, m))).astype(x.dtype))


def _check_samples(samples, x, n, c, m, name):
    """PyTorch's ``fractional_max_pool_check_shape``: the input's dtype, (≥ n, c, m)."""
    s = samples if isinstance(samples, Tensor) else _wrap(xp.asarray(samples))
    if s.dtype != x.dtype:
        raise ConvError(f"{name}: Expect _random_samples to have the same dtype as input (got {s.dtype} for input "
                        f"of {x.dtype})")
    if s.ndim != 3:
        raise ConvError(f"{name}: Expect _random_samples to have 3 dimensions, got {s.ndim}")
    if s.shape[0] < n:
        raise ConvError(f"{name}: Expect _random_samples.size(0) no less then input batch size. (got "
                        f"{tuple(s.shape)} for a batch of {n})")
    if s.shape[1] != c:
        raise ConvError(f"{name}: Expect _random_samples.size(1) equals to input channel size. (got "
                        f"{tuple(s.shape)} for {c} channels)")
    if s.shape[2] != m:
        raise ConvError(f"{name}: Expect _random_samples.size(2) equals to {m}; got {s.shape[2]}.")
    return s


def _starts(u, size, out, k):
    """(n, c, out) int64 window starts along one axis from the samples u (n, c), in u's dtype as
    PyTorch's ``generate_intervals``: ⌊(i + u)·α⌋ − ⌊u·α⌋, the last window at size − k."""
    starts = xp.zeros(u.shape + (out,), dtype=xp.int64)
    if out > 1:
        alpha = xp.asarray(size - k, dtype=u.dtype) / xp.asarray(out - 1, dtype=u.dtype)
        i = xp.arange(out - 1).astype(u.dtype)
        with xp.errstate(invalid="ignore"):  # a NaN sample: PyTorch's int cast of NaN, windows from 0 (as there)
            starts[..., :-1] = (((i + u[..., None]) * alpha).astype(xp.int64)
                                - (u * alpha).astype(xp.int64)[..., None])
    if out > 0:
        starts[..., -1] = size - k
    return starts


@off_tape
def _window_positions(samples, n, sizes, kernel, outs, name):
    """(n, c, K, *outs) int64, K = ∏kernel: the flat input position (over the spatial axes) of each
    entry of each window, entries in row-major order. A constant of the samples' values, computed off
    the tape (a replay computes it again)."""
    m = len(sizes)
    u = samples.data[:n]
    positions = 0
    for a in range(m):
        starts = _starts(u[..., _SAMPLE_OF_AXIS[m][a]], sizes[a], outs[a], kernel[a])   # (n, c, out_a)
        # any sample below ~1e18 keeps the windows inside; an absurd one would read outside the input
        device_checks.refuse_out_of_range(starts, sizes[a] - kernel[a] + 1, ConvError,
                                          f"{name}: _random_samples put a window at {{bad}} along the "
                                          f"{_AXIS_NAMES[m][a]}, outside the input (samples must lie in [0, 1))")
        entry = starts[:, :, None, :] + xp.arange(kernel[a])[None, None, :, None]      # (n, c, k_a, out_a)
        # (n, c, *kernel, *outs) with this axis's entry and window at 2 + a and 2 + m + a
        shape = u.shape[:2] + tuple(kernel[b] if b == a else 1 for b in range(m)) + \
            tuple(outs[b] if b == a else 1 for b in range(m))
        positions = positions * sizes[a] + entry.reshape(shape)
    c = u.shape[1]
    full = xp.broadcast_to(positions, (n, c) + tuple(kernel) + tuple(outs))
    return _wrap(xp.ascontiguousarray(full).reshape((n, c, math.prod(kernel)) + tuple(outs)))


def _fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices, samples, m):  # noqa: A002
    """Fractional max-pooling over the last m axes of x (N, C, *S) or (C, *S)."""
    name = f"fractional_max_pool{m}d"
    where = "fractional_max_pool2d()" if m == 2 else "fractional_max_pool3d_out()"  # PyTorch's message prefixes
    x = _t(input)
    shape = tuple(x.shape)
    if output_size is None and output_ratio is None:
        raise OpError(f"{name} requires specifying either an output_size or an output_ratio")
    if x.ndim not in (m + 1, m + 2):
        raise ConvError(f"{where}: Expected {m + 1}D or {m + 2}D tensor, but got: {list(shape)}")
    outs = _output_sizes(output_size, output_ratio, shape[-m:], m, name)
    kernel = _sizes(kernel_size, m, name, "kernel_size")
    if min(kernel) <= 0:
        raise ConvError(f"{name}: kernel_size must be greater than 0, but got {kernel}")
    if x.dtype.kind != "f":
        raise PoolingNotImplemented(f"{name}: not implemented for input of dtype {x.dtype} (PyTorch neither); "
                                    f"convert it with .float() or .double()")
    for d in range(1, x.ndim):
        if shape[d] == 0:
            raise ConvError(f"{where}: Expected input to have non-zero size for non-batch dimensions, but got"
                            f"{list(shape)} with dimension {d} being empty.")
    for a, (size, k, o) in enumerate(zip(shape[-m:], kernel, outs)):
        if o + k - 1 > size or (m == 3 and o + k - 1 == size):  # (PyTorch's 3-d check is strict)
            axis = _AXIS_NAMES[m][a]
            raise ConvError(f"{where}: pool {axis} {k} too large relative to input {axis} {size}")
    if min(outs) < 0:
        out_shape = list(shape[:-m]) + list(outs)
        raise ConvError(f"{name}: Trying to create tensor with negative dimension {min(outs)}: {out_shape}")
    x, unbatched = _batched(x, m, name)
    n, c, sizes = x.shape[0], x.shape[1], tuple(x.shape[2:])
    if samples is None:
        samples = _draw_samples(x, n, c, m)
    else:
        samples = _check_samples(samples, x, n, c, m, name)
    positions = _window_positions(samples, n=n, sizes=sizes, kernel=kernel, outs=outs, name=name)
    flat = reshape(x, (n, c, math.prod(sizes)))
    entries = math.prod(positions.shape[2:])
    windows = reshape(gather(flat, 2, reshape(positions, (n, c, entries))), tuple(positions.shape))
    return pooled_result(WindowMax()(windows), windows, positions.data, unbatched, return_indices)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                          return_indices: bool = False, _random_samples=None):
    """PyTorch's ``F.fractional_max_pool2d``: the max over kh×kw windows of an (N, C, H, W) or
    (C, H, W) input at pseudo-random steps, into an ``output_size`` (int or pair) image, or one of
    ``output_ratio`` (a number or a pair in (0, 1)) times the input's size. ``_random_samples``
    (N, C, 2), in the input's dtype: the u ∈ [0, 1) of each sample and channel ([..., 0] for the
    width, [..., 1] for the height), drawn from ``rg.random`` when not given. (output, indices) with
    ``return_indices``."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                                       return_indices: bool = False, _random_samples=None):
    """``fractional_max_pool2d`` that always returns (output, indices), as PyTorch's."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, True, _random_samples, 2)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                          return_indices: bool = False, _random_samples=None):
    """PyTorch's ``F.fractional_max_pool3d``: ``fractional_max_pool2d`` over kt×kh×kw windows of an
    (N, C, T, H, W) or (C, T, H, W) input; ``_random_samples`` (N, C, 3), [..., 0] for the time axis,
    [..., 1] the height, [..., 2] the width."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                                       return_indices: bool = False, _random_samples=None):
    """``fractional_max_pool3d`` that always returns (output, indices), as PyTorch's."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, True, _random_samples, 3)


# ---------------------------------------------------------------- layers
def _tuple_of(value, m):
    """PyTorch's ``_pair``/``_triple``: a sequence as a tuple, anything else repeated m times."""
    return tuple(value) if hasattr(value, "__iter__") else (value,) * m


class _FractionalMaxPoolNd(Module):
    """PyTorch's fractional max-pooling layers: ``output_size`` or ``output_ratio`` (in (0, 1)), fresh
    windows at every call unless ``_random_samples`` (a buffer, as PyTorch's) fixes them."""

    spatial = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                 _random_samples=None):
        super().__init__()
        m, layer = self.spatial, type(self).__name__
        if m == 3 and any(isinstance(k, numbers.Real) and k <= 0 for k in _tuple_of(kernel_size, m)):
            raise OpError(f"kernel_size must be greater than 0, but got {kernel_size}")
        self.kernel_size = _tuple_of(kernel_size, m)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _tuple_of(output_size, m) if output_size is not None else None
        self.output_ratio = _tuple_of(output_ratio, m) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise OpError(f"{layer} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise OpError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise OpError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):  # noqa: A002
        return _fractional_max_pool(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                                    self._random_samples, self.spatial)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """PyTorch's ``nn.FractionalMaxPool2d``: ``F.fractional_max_pool2d`` with the layer's kernel size and
    output size or ratio; (output, indices) with ``return_indices``."""


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """PyTorch's ``nn.FractionalMaxPool3d``: ``F.fractional_max_pool3d`` with the layer's arguments."""

    spatial = 3
