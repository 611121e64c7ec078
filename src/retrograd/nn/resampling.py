"""Resampling with PyTorch's names: ``interpolate`` (and the ``Upsample`` layers) and the
sliding-block pair ``unfold``/``fold`` (``nn.Unfold``/``nn.Fold``).

``interpolate`` is separable: each spatial axis in turn, from the last to the first (PyTorch's
order of summation), becomes a weighted sum of a few ``take``s of the input along that axis,

    y[..., i, ...] = Σ_j w_j[i] · x[..., idx_j[i], ...]

with one tap of weight 1 for ``nearest``, two for ``linear``/``bilinear``/``trilinear`` and four
for ``bicubic``. The indices and weights are constants of the sizes, computed as PyTorch's CPU
kernels compute them (in float32 for float32 input, the same roundings), so the values are
PyTorch's and the gradient is the composition's: the backward of a ``take`` adds ȳ back at its
indices. ``area`` is adaptive average pooling.

``unfold`` is ``Im2Col`` with the window axes flattened, (N, C, H, W) → (N, C·kh·kw, L); ``fold``
is its adjoint ``Col2Im``, which sums overlapping blocks.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..autograd.backend import xp
from ..autograd.op import OpError
from ..ops.conv import Col2Im, ConvError, Im2Col, _batched, _describe, out_size
from ..ops.shape import getitem, pad, reshape
from .functional_losses import _t
from .module import Module
from .pooling import PoolingNotImplemented, _adaptive_avg

_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
_INTERPOLATING = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}  # mode → its number of axes


# ---------------------------------------------------------------- the taps of each axis, as PyTorch computes them
def _opmath(dtype):
    """The dtype PyTorch's kernels compute indices and weights in: double for double, else float."""
    return xp.float64 if dtype == xp.float64 else xp.float32


def _nearest_taps(size, out, scale, exact, image):
    """[(indices, None)]: PyTorch's ``nearest_idx`` (⌊i·s⌋, in float32) or ``nearest_exact_idx``
    (⌊(i + ½)·s⌋), s = 1/scale_factor or in/out, at most in − 1. PyTorch's 2-d ``nearest``
    (``image``) copies an axis whose size is kept and halves the indices of one doubled, whatever
    the scale factor (its 1-d and 3-d forms, and every backward, use the formula)."""
    f32 = xp.float32
    s = f32(1.0 / scale) if scale is not None and scale > 0 else f32(size) / f32(out)
    i = xp.arange(out)
    if exact:
        src = xp.floor(((i + 0.5) * xp.float64(s)).astype(f32))  # (i + 0.5)·s in double, floorf's float
    elif image and out == size:
        src = i
    elif image and out == 2 * size:
        src = i >> 1
    else:
        src = xp.floor(i.astype(f32) * s)
    return [(xp.minimum(src.astype(xp.int64), size - 1), None)]


def _source_positions(size, out, scale, align_corners, cubic, dt):
    """PyTorch's ``area_pixel_compute_source_index`` for every output position, in dtype ``dt``:
    s·i with ``align_corners`` (s = (in − 1)/(out − 1)), else s·(i + ½) − ½ (s = 1/scale_factor or
    in/out), clamped at 0 except for cubic; and its ``guard_index_and_lambda``: (⌊x⌋ ≤ in − 1, the
    fraction in [0, 1])."""
    if align_corners:
        s = dt(size - 1) / dt(out - 1) if out > 1 else dt(0)
    else:
        s = dt(1.0 / scale) if scale is not None and scale > 0 else dt(size) / dt(out)
    i = xp.arange(out).astype(dt)
    real = s * i if align_corners else s * (i + dt(0.5)) - dt(0.5)
    if not cubic and not align_corners:
        real = xp.maximum(real, dt(0))
    index = xp.minimum(xp.floor(real.astype(xp.float32)).astype(xp.int64), size - 1)  # floorf, as PyTorch's
    frac = xp.clip(real - index.astype(dt), dt(0), dt(1)).astype(dt)
    return index, frac


def _linear_taps(size, out, scale, align_corners, dt):
    """[(i0, 1 − λ), (i1, λ)]: the two neighbours (i1 = i0 + 1 but at the last entry) and weights;
    an axis whose size is kept is copied, as PyTorch's kernels do, whatever the scale factor."""
    if out == size:
        return [(xp.arange(out), None)]
    index, frac = _source_positions(size, out, scale, align_corners, False, dt)
    upper = index + (index < size - 1)
    return [(index, dt(1) - frac), (upper, frac)]


def _cubic_taps(size, out, scale, align_corners, dt):
    """Four neighbours i0 − 1 … i0 + 2 (clamped into the input) with the cubic convolution
    weights of A = −0.75 (PyTorch's ``get_cubic_upsample_coefficients``)."""
    index, t = _source_positions(size, out, scale, align_corners, True, dt)
    a = dt(-0.75)

    def near(x):  # |x| ≤ 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weights = [far(t + dt(1)), near(t), near(dt(1) - t), far(dt(1) - t + dt(1))]
    return [(xp.clip(index - 1 + j, 0, size - 1), w.astype(dt)) for j, w in enumerate(weights)]


def _resample_axis(x, axis, taps):
    """Σ_j w_j · take(x, idx_j, axis): one axis of the separable interpolation."""
    lead = (slice(None),) * axis
    shape = [1] * len(x.shape)
    out = None
    for index, weight in taps:
        part = getitem(x, lead + (xp.asarray(index),))
        if weight is not None:
            shape[axis] = len(weight)
            part = part * xp.asarray(weight.astype(x.dtype)).reshape(shape)
        out = part if out is None else out + part
    return out


# ---------------------------------------------------------------- interpolate
def _output_sizes(x, size, scale_factor, mode, recompute_scale_factor):
    """(output sizes or None, scale factors or None): PyTorch's argument rules, in its order."""
    dim = len(x.shape) - 2
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    scales = None
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(f"interpolate: Input and output must have the same number of spatial dimensions, "
                                 f"but got input with spatial dimensions of {list(x.shape[2:])} and output size of "
                                 f"{size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                                 f"size in (o1, o2, ...,oK) format.")
            if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in size):
                raise TypeError(f"interpolate: expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                                f"Tuple[int, int, int], but got size with types {[type(v) for v in size]}")
            sizes = [int(v) for v in size]
        elif isinstance(size, numbers.Integral) and not isinstance(size, bool):
            sizes = [int(size)] * dim
        else:
            raise TypeError(f"interpolate: size must be an int or a tuple of ints, got {size!r}")
    elif scale_factor is not None:
        sizes = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(f"interpolate: Input and scale_factor must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of {list(x.shape[2:])} and "
                                 f"scale_factor of shape {scale_factor}. Please provide input tensor in (N, C, d1, "
                                 f"d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and sizes is None:
        recompute_scale_factor = True
    if recompute_scale_factor:  # the sizes from the factors, which are then forgotten (in/out is the scale)
        sizes, scales = [int(n * s) for n, s in zip(x.shape[2:], scales)], None
    return sizes, scales


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None, antialias: bool = False):
    """PyTorch's ``F.interpolate`` of an (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to ``size``
    or by ``scale_factor`` (output size ⌊in·scale⌋; the kernel then samples at 1/scale, unless
    ``recompute_scale_factor`` makes it in/out).

    Modes: ``nearest`` (PyTorch's: source ⌊i·in/out⌋), ``nearest-exact`` (⌊(i + ½)·in/out⌋, the
    pixel centres), ``linear``/``bilinear``/``trilinear`` (3-, 4-, 5-D input; ``align_corners``
    maps the corner pixels' centres onto each other, s = (in − 1)/(out − 1), else the pixel areas'
    edges, source (i + ½)·in/out − ½), ``bicubic`` (4-D, A = −0.75, edges replicated) and
    ``area`` (adaptive average pooling). Floating-point input, or uint8 for the nearest modes as
    PyTorch's; ``antialias=True`` is not implemented."""
    x = _t(input)
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    ndim = len(x.shape)
    sizes, scales = _output_sizes(x, size, scale_factor, mode, recompute_scale_factor)
    if antialias:
        if not (mode in ("bilinear", "bicubic", "lanczos") and ndim == 4):
            raise ValueError("interpolate: Anti-alias option is restricted to bilinear, bicubic, and lanczos modes "
                             "and requires a 4-D tensor as input")
        raise OpError(f"interpolate: antialias=True is not implemented in retrograd (mode {mode!r}); leave it False")
    if mode in _INTERPOLATING and ndim in (3, 4, 5) and ndim - 2 != _INTERPOLATING[mode]:
        raise NotImplementedError(f"interpolate: Got {ndim}D input, but {mode} mode needs "
                                  f"{_INTERPOLATING[mode] + 2}D input")
    if ndim not in (3, 4, 5) or mode not in ("nearest", "nearest-exact", "area", *_INTERPOLATING):
        if mode == "lanczos" and ndim == 4:
            raise OpError("interpolate: mode 'lanczos' needs antialias=True, which retrograd does not implement")
        raise NotImplementedError(f"interpolate: Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{ndim}D) for the modes: {_MODES} (got {mode})")
    dim = ndim - 2
    if mode == "area":
        return _adaptive_avg(x, tuple(sizes), dim)
    kind = x.dtype.kind
    if not (kind == "f" or (x.dtype == xp.uint8 and mode.startswith("nearest"))):
        raise PoolingNotImplemented(f"interpolate: mode {mode!r} is not implemented for {_describe(x)} (PyTorch "
                                    f"neither); convert it with .float()")
    if 0 in tuple(x.shape[1:]):
        raise ConvError(f"interpolate: Non-empty {ndim}D data tensor expected but got a tensor with sizes "
                        f"{list(x.shape)}")
    outs = [int(n * s) for n, s in zip(x.shape[2:], scales)] if sizes is None else sizes
    if any(o <= 0 for o in outs):
        raise ConvError(f"interpolate: Input and output sizes should be greater than 0, but got input "
                        f"{tuple(x.shape[2:])} and output {tuple(outs)}")
    dt = _opmath(x.dtype)
    for a in reversed(range(dim)):  # the last axis first: PyTorch's order of summation
        n, o, s = x.shape[2 + a], outs[a], None if scales is None else scales[a]
        if mode in ("nearest", "nearest-exact"):
            taps = _nearest_taps(n, o, s, mode == "nearest-exact", dim == 2)
        elif mode == "bicubic":
            taps = _cubic_taps(n, o, s, align_corners, dt)
        else:
            taps = _linear_taps(n, o, s, align_corners, dt)
        x = _resample_axis(x, 2 + a, taps)
    return x


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):  # noqa: A002
    """PyTorch's deprecated ``F.upsample``: ``interpolate``, with its warning."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    """PyTorch's deprecated ``F.upsample_nearest``: ``interpolate(mode="nearest")``, with its warning."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    """PyTorch's deprecated ``F.upsample_bilinear``: ``interpolate(mode="bilinear",
    align_corners=True)``, with its warning."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _deprecated(name):
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", UserWarning,
                  stacklevel=3)


class Upsample(Module):
    """PyTorch's ``nn.Upsample``: ``interpolate`` with the layer's size or scale factor, mode and
    ``align_corners``."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners, self.recompute_scale_factor = mode, align_corners, recompute_scale_factor

    def forward(self, input):  # noqa: A002
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """PyTorch's ``nn.UpsamplingNearest2d``: ``Upsample(mode="nearest")`` of 4-D input."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """PyTorch's ``nn.UpsamplingBilinear2d``: ``Upsample(mode="bilinear", align_corners=True)``."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------- unfold / fold
def _exact_pair(value, what, op):
    """An int or exactly two ints (PyTorch's im2col/col2im take no other length)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * 2
    values = tuple(value)
    if len(values) != 2:
        raise ConvError(f"{op}: It is expected {what} equals to 2, but got size {len(values)}")
    return tuple(int(v) for v in values)


def _block_arguments(op, kernel_size, dilation, padding, stride):
    kernel = _exact_pair(kernel_size, "kernel_size", op)
    dilation, padding, stride = (_exact_pair(v, w, op) for v, w in ((dilation, "dilation"), (padding, "padding"),
                                                                     (stride, "stride")))
    for values, what, low in ((kernel, "kernel size", 1), (stride, "stride", 1), (dilation, "dilation", 1)):
        if min(values) < low:
            raise ConvError(f"{op}: {what} should be greater than zero, but got {values}")
    if min(padding) < 0:
        raise ConvError(f"{op}: padding should be non-negative, but got {padding}")
    return kernel, dilation, padding, stride


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """PyTorch's ``F.unfold`` (im2col): the sliding kh×kw blocks of an (N, C, H, W) or (C, H, W)
    input as columns, (N, C·kh·kw, L) with L the number of blocks; entry (c·kh·kw + i·kw + j, l)
    is block l's pixel (i, j) of channel c."""
    x = _t(input)
    kernel, dilation, padding, stride = _block_arguments("unfold", kernel_size, dilation, padding, stride)
    if len(x.shape) not in (3, 4) or 0 in tuple(x.shape[-3:]):
        raise ConvError(f"unfold: Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other "
                        f"non-zero dimensions for input, but got {_describe(x)}")
    if x.dtype.kind not in "fb":
        raise PoolingNotImplemented(f"unfold: not implemented for {_describe(x)}; convert it with .float()")
    x, unbatched = _batched(x, 2, "unfold")
    blocks = tuple(out_size(n + 2 * p, k, s, d) for n, k, s, d, p in zip(x.shape[2:], kernel, stride, dilation,
                                                                          padding))
    if min(blocks) < 1:
        raise ConvError(f"unfold: Given input with spatial size {tuple(x.shape[2:])}, kernel_size={kernel}, "
                        f"dilation={dilation}, padding={padding}, calculated shape of the array of sliding blocks "
                        f"as {blocks}, but its components must be at least one.")
    if any(padding):
        x = pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in padding))
    cols = Im2Col(kernel, stride, dilation)(x)                    # (N, C, kh, kw, Ho, Wo)
    out = reshape(cols, (x.shape[0], x.shape[1] * math.prod(kernel), math.prod(blocks)))
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """PyTorch's ``F.fold`` (col2im), ``unfold``'s adjoint: columns (N, C·kh·kw, L) or (C·kh·kw, L)
    of sliding blocks summed back into an (N, C, \\*output_size) image (overlaps add up)."""
    x = _t(input)
    size = _exact_pair(output_size, "output_size", "fold")
    kernel, dilation, padding, stride = _block_arguments("fold", kernel_size, dilation, padding, stride)
    if len(x.shape) not in (2, 3) or 0 in tuple(x.shape[-2:]):
        raise ConvError(f"fold: Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
                        f"non-zero dimensions for input, but got {_describe(x)}")
    if x.dtype.kind != "f":
        raise PoolingNotImplemented(f"fold: not implemented for {_describe(x)}; convert it with .float()")
    unbatched = len(x.shape) == 2
    if unbatched:
        x = reshape(x, (1,) + tuple(x.shape))
    n, rows, length = x.shape
    k = math.prod(kernel)
    if rows % k:
        raise ConvError(f"fold: Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                        f"but got input.size(1)={rows} and kernel_size={kernel}.")
    padded = tuple(s + 2 * p for s, p in zip(size, padding))
    blocks = tuple(out_size(s, kk, st, d) for s, kk, st, d in zip(padded, kernel, stride, dilation))
    if min(blocks) < 1:
        raise ConvError(f"fold: Given output_size={size}, kernel_size={kernel}, dilation={dilation}, "
                        f"padding={padding}, stride={stride}, calculated shape of the array of sliding blocks as "
                        f"{blocks}, which is too small (non-positive)")
    if length != math.prod(blocks):
        raise ConvError(f"fold: Given output_size={size}, kernel_size={kernel}, dilation={dilation}, "
                        f"padding={padding}, stride={stride}, expected size of input's dimension 2 to match the "
                        f"calculated number of sliding blocks {blocks[0]} * {blocks[1]} = {math.prod(blocks)}, but "
                        f"got input.size(2)={length}.")
    channels = rows // k
    cols = reshape(x, (n, channels) + kernel + blocks)
    out = Col2Im((n, channels) + padded, kernel, stride, dilation)(cols)
    if any(padding):
        out = getitem(out, (slice(None), slice(None)) + tuple(slice(p, p + s) for p, s in zip(padding, size)))
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


class Unfold(Module):
    """PyTorch's ``nn.Unfold``: ``unfold`` with the layer's arguments."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):  # noqa: A002
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """PyTorch's ``nn.Fold``: ``fold`` with the layer's arguments."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):  # noqa: A002
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
