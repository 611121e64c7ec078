"""Convolution and pooling layers: Conv1d, Conv2d, Conv3d, ConvTranspose1d/2d/3d, MaxPool2d,
AvgPool2d (PyTorch's layouts, parameter names and default initialisation; the 1-d and 3-d
pooling layers are in ``pooling``)."""

from __future__ import annotations

from .. import ops
from . import functional as F, init
from .module import Module, check_device
from .layers import _count, _empty


def _conv_tuple(value, n, what, layer, minimum):
    """``value`` as n ints, each ≥ ``minimum`` (a ValueError naming the layer otherwise)."""
    values = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    if values is None or len(values) != n or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise ValueError(f"{layer}: {what} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in values):
        rule = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{layer}: {what} must be {rule}, got {value!r}")
    return values


def _pool_arguments(layer, n, kernel_size, stride, padding, dilation=1):
    """A pooling layer's arguments checked when it is built (a ValueError naming ``layer``): n
    positive kernel sizes, strides and dilations, n non-negative paddings of at most half the
    kernel. Returns the kernel."""
    kernel = _conv_tuple(kernel_size, n, "kernel_size", layer, 1)
    if stride is not None:
        _conv_tuple(stride, n, "stride", layer, 1)
    _conv_tuple(dilation, n, "dilation", layer, 1)
    pads = _conv_tuple(padding, n, "padding", layer, 0)
    if any(p > k // 2 for p, k in zip(pads, kernel)):
        raise ValueError(f"{layer}: padding {padding} must be at most half the kernel size {kernel}")
    return kernel


class _ConvNd(Module):
    """Shared construction of the convolutions: PyTorch's arguments, checks, layout and init
    (kaiming_uniform_(a=√5) on the weight, U(±1/√fan_in) on the bias, fan_in from the weight)."""

    spatial = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, dtype, output_padding=0):
        super().__init__()
        layer, n = type(self).__name__, self.spatial
        _count(in_channels, "in_channels", layer)
        _count(out_channels, "out_channels", layer)
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{layer}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{layer}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{layer}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        self.kernel_size = _conv_tuple(kernel_size, n, "kernel_size", layer, 1)
        self.stride = _conv_tuple(stride, n, "stride", layer, 1)
        self.dilation = _conv_tuple(dilation, n, "dilation", layer, 1)
        if isinstance(padding, str) and not self.transposed:
            if padding not in ("valid", "same"):
                raise ValueError(f"{layer}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{layer}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _conv_tuple(padding, n, "padding", layer, 0)
        self.output_padding = _conv_tuple(output_padding, n, "output_padding", layer, 0)
        if any(p >= s and p >= d for p, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"{layer}: output_padding {self.output_padding} must be smaller than either the "
                             f"stride {self.stride} or the dilation {self.dilation}")
        allowed = ("zeros",) if self.transposed else ("zeros", "reflect", "replicate", "circular")
        if padding_mode not in allowed:
            raise ValueError(f"{layer}: padding_mode must be one of {allowed}, got padding_mode={padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.padding_mode = padding_mode
        # a padding_mode other than "zeros": F.pad with these widths (last dim first), then no padding
        if self.padding == "same":
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)][::-1]
            self._reversed_padding_repeated_twice = [w for t in totals for w in (t // 2, t - t // 2)]
        else:
            widths = (0,) * n if self.padding == "valid" else self.padding
            self._reversed_padding_repeated_twice = [w for p in widths[::-1] for w in (p, p)]
        if self.transposed:
            self.weight = _empty(in_channels, out_channels // groups, *self.kernel_size, dtype=dtype)
        else:
            self.weight = _empty(out_channels, in_channels // groups, *self.kernel_size, dtype=dtype)
        self.bias = _empty(out_channels, dtype=dtype) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw the weight and bias anew, as at construction (PyTorch's ``reset_parameters``)."""
        init.pytorch_default_(self.weight, self.bias)

    def _arg(self, value):
        return value if isinstance(value, str) or self.spatial > 1 else value[0]

    def _padded(self, x):
        """(input, padding) for the convolution: with a padding_mode other than "zeros", the input
        padded by ``F.pad`` in that mode and padding 0 (PyTorch's order of operations)."""
        if self.padding_mode == "zeros":
            return x, self._arg(self.padding)
        return F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode), self._arg((0,) * self.spatial)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        zeros = (0,) * self.spatial
        if self.padding != zeros:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.spatial:
            text += f", dilation={self.dilation}"
        if self.output_padding != zeros:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    """1-D convolution of (N, C, L) or (C, L) inputs; weight (out_channels, in_channels/groups, k)."""

    spatial = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        check_device(type(self).__name__, device)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype)

    def forward(self, x):
        x, padding = self._padded(x)
        return F.conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)


class Conv2d(_ConvNd):
    """2-D convolution of (N, C, H, W) or (C, H, W) inputs; weight (out_channels, in_channels/groups, kh, kw)
    like PyTorch, so ``load_state_dict(torch_conv.state_dict())`` works."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        check_device(type(self).__name__, device)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype)

    def forward(self, x):
        x, padding = self._padded(x)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv3d(_ConvNd):
    """3-D convolution of (N, C, D, H, W) or (C, D, H, W) inputs; weight
    (out_channels, in_channels/groups, kd, kh, kw), like PyTorch's."""

    spatial = 3

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        check_device(type(self).__name__, device)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype)

    def forward(self, x):
        x, padding = self._padded(x)
        return F.conv3d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class _ConvTransposeNd(_ConvNd):
    """Shared by the transposed convolutions (the adjoint of the convolution in its input);
    weight (in_channels, out_channels/groups, *kernel) like PyTorch.

    Output size per axis: (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1;
    ``forward(x, output_size=...)`` picks the output_padding that gives the requested size.
    """

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None,
                 dtype=None):
        check_device(type(self).__name__, device)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype, output_padding)

    def _output_padding(self, x, output_size):
        if output_size is None:
            return self.output_padding
        n, layer = self.spatial, type(self).__name__
        size = tuple(int(v) for v in output_size)[-n:]
        if len(size) != n or len(output_size) not in (n, n + 2):
            raise ValueError(f"{layer}: output_size must have {n} (or {n + 2}) elements, got {output_size!r}")
        spatial = tuple(x.shape[-n:])
        smallest = tuple((h - 1) * s - 2 * p + d * (k - 1) + 1 for h, s, p, d, k in
                         zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size))
        largest = tuple(lo + s - 1 for lo, s in zip(smallest, self.stride))
        if any(not lo <= want <= hi for want, lo, hi in zip(size, smallest, largest)):
            raise ValueError(f"{layer}: requested an output size of {size}, but valid sizes range from "
                             f"{list(smallest)} to {list(largest)} (for an input of {spatial})")
        return tuple(want - lo for want, lo in zip(size, smallest))

    def forward(self, x, output_size=None):
        transposed = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[self.spatial]
        return transposed(x, self.weight, self.bias, self.stride, self.padding, self._output_padding(x, output_size),
                          self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution (the adjoint of Conv1d in its input); weight
    (in_channels, out_channels/groups, k) like PyTorch's."""

    spatial = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution (the adjoint of Conv2d in its input);
    weight (in_channels, out_channels/groups, kh, kw) like PyTorch.

    Output size per axis: (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1;
    ``forward(x, output_size=...)`` picks the output_padding that gives the requested size.
    """


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution (the adjoint of Conv3d in its input); weight
    (in_channels, out_channels/groups, kd, kh, kw) like PyTorch's."""

    spatial = 3


class MaxPool2d(Module):
    """Max-pooling; the gradient at tied maxima follows ``rg.conventions``. With
    ``return_indices=True`` it returns (output, indices), PyTorch's int64 indices of the maxima
    (``MaxUnpool2d``'s input)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        _pool_arguments(type(self).__name__, 2, kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x):
        return ops.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                              self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(MaxPool2d):
    """Mean over each window; the divisor counts the zero padding (``count_include_pad``, the
    default) or not, never ``ceil_mode``'s extra, or is ``divisor_override`` (PyTorch's)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override=None):
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode)
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return ops.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                              self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed (h, w) output whatever the input's size (PyTorch's
    ``nn.AdaptiveAvgPool2d``): output (i, j) is the mean over rows [⌊iH/h⌋, ⌈(i+1)H/h⌉) and columns
    [⌊jW/w⌋, ⌈(j+1)W/w⌉). ``output_size``: an int, or a pair whose None keeps that axis's size."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
