"""Layers that only move values: PixelShuffle, PixelUnshuffle, ChannelShuffle (with ``F.pixel_shuffle``,
``F.pixel_unshuffle``, ``F.channel_shuffle``) and PyTorch's padding modules — ZeroPad, ConstantPad,
ReflectionPad, ReplicationPad and CircularPad in 1, 2 and 3 dims, each a call of ``F.pad``.

The shuffles are reshapes and one transpose, so the gradient is ȳ moved back the same way (no sums:
each input entry lands in exactly one output place); a pad's gradient is ``F.pad``'s (the sum of ȳ over
the places an entry was copied to)."""

from __future__ import annotations

from ..ops import permute, reshape
from . import functional as F
from .activation_extra import LayerInputError
from .functional_losses import _t
from .module import Module


def _factor(value, name: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{who}(): argument '{name}' must be int, not {type(value).__name__}")
    if value <= 0:
        raise LayerInputError(f"{who} expects a positive {name}, but got {value}")
    return value


# ---------------------------------------------------------------- shuffles
def pixel_shuffle(input, upscale_factor: int):  # noqa: A002 - PyTorch's names
    """PyTorch's ``F.pixel_shuffle``: ``(*, C·r², H, W)`` → ``(*, C, H·r, W·r)``, output[c, h·r + i, w·r + j] =
    input[c·r² + i·r + j, h, w] (sub-pixel convolution's rearrangement)."""
    x = _t(input)
    r = _factor(upscale_factor, "upscale_factor", "pixel_shuffle")
    if x.ndim < 3:
        raise LayerInputError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                              f"{x.ndim} dimension(s) (shape {tuple(x.shape)})")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise LayerInputError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
                              f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    y = reshape(x, (*lead, c // (r * r), r, r, h, w))
    y = permute(y, tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))  # (…, C, H, r, W, r)
    return reshape(y, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor: int):  # noqa: A002
    """PyTorch's ``F.pixel_unshuffle``, the inverse of ``pixel_shuffle``: ``(*, C, H·r, W·r)`` →
    ``(*, C·r², H, W)``."""
    x = _t(input)
    r = _factor(downscale_factor, "downscale_factor", "pixel_unshuffle")
    if x.ndim < 3:
        raise LayerInputError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                              f"{x.ndim} dimension(s) (shape {tuple(x.shape)})")
    *lead, c, h, w = x.shape
    for name, size, axis in (("height", h, -2), ("width", w, -1)):
        if size % r:
            raise LayerInputError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                                  f"input.size({axis})={size} is not divisible by {r}")
    n = len(lead)
    y = reshape(x, (*lead, c, h // r, r, w // r, r))
    y = permute(y, tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))  # (…, C, r, r, H, W)
    return reshape(y, (*lead, c * r * r, h // r, w // r))


def channel_shuffle(input, groups: int):  # noqa: A002
    """PyTorch's ``F.channel_shuffle`` (ShuffleNet): the C channels of an ``(N, C, *)`` input, seen as ``groups``
    rows of C/groups, are read column by column: output channel j·groups + g is input channel
    g·(C/groups) + j."""
    x = _t(input)
    if x.ndim <= 2:
        raise LayerInputError(f"channel_shuffle expects input with > 2 dims, but got input with sizes "
                              f"{list(x.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"channel_shuffle(): argument 'groups' must be int, not {type(groups).__name__}")
    if groups <= 0:
        raise LayerInputError(f"channel_shuffle: Number of groups to divide channels in must be positive. Value of "
                              f"groups:{groups}")
    n, c, *rest = x.shape
    if c % groups:
        raise LayerInputError(f"channel_shuffle: Number of channels must be divisible by groups. Got {c} channels "
                              f"and {groups} groups.")
    y = reshape(x, (n, groups, c // groups, *rest))
    y = permute(y, (0, 2, 1) + tuple(range(3, x.ndim + 1)))
    return reshape(y, tuple(x.shape))


class PixelShuffle(Module):
    """``(*, C·r², H, W)`` → ``(*, C, H·r, W·r)`` with r = ``upscale_factor`` (``F.pixel_shuffle``)."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x):
        return pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """``(*, C, H·r, W·r)`` → ``(*, C·r², H, W)`` with r = ``downscale_factor`` (``F.pixel_unshuffle``)."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x):
        return pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave the channels of ``groups`` groups (``F.channel_shuffle``)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        return channel_shuffle(x, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


# ---------------------------------------------------------------- padding modules
class _PadNd(Module):
    """``F.pad(x, padding, mode)``; ``padding`` an int (every side) or a tuple (left, right, top, bottom,
    front, back), as PyTorch's modules take it."""
    dims, mode = 0, "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = (padding,) * (2 * self.dims) if isinstance(padding, int) else tuple(padding)

    def forward(self, x):
        return F.pad(x, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, x):
        return F.pad(x, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: ``padding`` an int or (left, right)."""
    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with ``value``: ``padding`` an int or (left, right, top, bottom)."""
    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with ``value``: ``padding`` an int or (left, right, top, bottom, front, back)."""
    dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros: ``padding`` an int or (left, right)."""
    dims = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 dims with zeros: ``padding`` an int or (left, right, top, bottom)."""
    dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 dims with zeros: ``padding`` an int or (left, right, top, bottom, front, back)."""
    dims = 3


class ReflectionPad1d(_PadNd):
    """Mirror the last dim about its ends (the edge not repeated) of a (C, W) or (N, C, W) input."""
    dims, mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Mirror the last 2 dims of a (C, H, W) or (N, C, H, W) input."""
    dims, mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Mirror the last 3 dims of a (C, D, H, W) or (N, C, D, H, W) input."""
    dims, mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Repeat the edge values of the last dim of a (C, W) or (N, C, W) input."""
    dims, mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Repeat the edge values of the last 2 dims of a (C, H, W) or (N, C, H, W) input."""
    dims, mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Repeat the edge values of the last 3 dims of a (C, D, H, W) or (N, C, D, H, W) input."""
    dims, mode = 3, "replicate"


class _CircularPadNd(_PadNd):
    mode = "circular"

    def forward(self, x):
        nd = len(x.shape)
        if nd not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"{type(self).__name__}: expected {self.dims + 1}D or {self.dims + 2}D input (got {nd}D "
                             f"input of shape {tuple(x.shape)})")
        return F.pad(x, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    """Wrap the last dim around (the other end's values) of a (C, W) or (N, C, W) input."""
    dims = 1


class CircularPad2d(_CircularPadNd):
    """Wrap the last 2 dims around of a (C, H, W) or (N, C, H, W) input."""
    dims = 2


class CircularPad3d(_CircularPadNd):
    """Wrap the last 3 dims around of a (C, D, H, W) or (N, C, D, H, W) input."""
    dims = 3
