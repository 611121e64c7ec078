"""Layers: Linear, activations, Dropout, Embedding, Flatten, LayerNorm,
BatchNorm1d/2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d and the
loss modules, with PyTorch's constructor arguments, parameter names and weight
layouts. Constructor arguments are checked here, as PyTorch checks them
(``ValueError``), so a bad layer fails where it is built, not at its first call.

Activations that PyTorch builds with ``inplace=`` take it too; retrograd
always computes them out of place (same output and gradients; the input is
never overwritten)."""

from __future__ import annotations

import math

from ..autograd.backend import xp

from .. import ops
from ..autograd.op import OpError
from ..autograd.tensor import Tensor, get_default_dtype
from . import functional as F
from . import init
from .module import Module, Parameter


def _empty(*shape, dtype=None):
    return Parameter(xp.zeros(shape, dtype=dtype or get_default_dtype()))


def _count(value, what, layer):
    """A size argument: a non-negative int (PyTorch refuses a negative dimension)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{layer}: {what} must be a non-negative integer, got {value!r}")
    return value


class Identity(Module):
    """Returns its input."""

    def forward(self, x):
        return x


class Linear(Module):
    """y = x Wᵀ + b;  weight (out_features, in_features), bias (out_features,),
    initialised like PyTorch (U(±1/√in_features))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        _count(in_features, "in_features", "Linear")
        _count(out_features, "out_features", "Linear")
        self.in_features, self.out_features = in_features, out_features
        self.weight = _empty(out_features, in_features, dtype=dtype)
        self.bias = _empty(out_features, dtype=dtype) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        init.pytorch_default_(self.weight, self.bias)

    def forward(self, x):
        if len(x.shape) == 0 or x.shape[-1] != self.in_features:
            raise OpError(f"Linear({self.in_features}, {self.out_features}): input has "
                          f"{x.shape[-1] if len(x.shape) else 'no'} features in its last axis (shape {tuple(x.shape)})")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class _Activation(Module):
    fn = None

    def forward(self, x):
        return type(self).fn(x)


class _InplaceActivation(_Activation):
    """An activation PyTorch builds with ``inplace=``: accepted, computed out of place."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    """max(x, 0); the gradient at 0 follows ``rg.conventions``."""

    fn = staticmethod(ops.relu)


class ReLU6(_InplaceActivation):
    """min(max(x, 0), 6); the gradients at 0 and 6 follow ``rg.conventions``."""

    fn = staticmethod(ops.relu6)


class SiLU(_InplaceActivation):
    """x·σ(x) (swish)."""

    fn = staticmethod(ops.silu)


class Mish(_InplaceActivation):
    """x·tanh(softplus(x))."""

    fn = staticmethod(ops.mish)


class SELU(_InplaceActivation):
    """scale·(x for x > 0, α(eˣ − 1) otherwise), with PyTorch's α ≈ 1.6733 and scale ≈ 1.0507."""

    fn = staticmethod(ops.selu)


class LogSigmoid(_Activation):
    """log σ(x) = −softplus(−x) (stable)."""

    fn = staticmethod(ops.logsigmoid)


class Softsign(_Activation):
    """x / (1 + |x|)."""

    fn = staticmethod(ops.softsign)


class Hardtanh(Module):
    """x clipped to [min_val, max_val]; the gradients at the bounds follow ``rg.conventions``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if not max_val > min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x):
        return ops.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class Sigmoid(_Activation):
    """σ(x) = 1/(1 + e⁻ˣ)."""

    fn = staticmethod(ops.sigmoid)


class Tanh(_Activation):
    """tanh x."""

    fn = staticmethod(ops.tanh)


class GELU(Module):
    """x·Φ(x) (``approximate="tanh"`` for the tanh form)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return ops.gelu(x, self.approximate)


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope``·x otherwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x for x > 0, α(eˣ − 1) otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return ops.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """log(1 + e^(βx))/β."""

    def __init__(self, beta: float = 1.0):
        super().__init__()
        self.beta = beta

    def forward(self, x):
        return ops.softplus(x, self.beta)


class Softmax(Module):
    """Softmax along ``dim``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return ops.softmax(x, self.dim)


class LogSoftmax(Softmax):
    """Log-softmax along ``dim`` (stable)."""

    def forward(self, x):
        return ops.log_softmax(x, self.dim)


class Dropout(Module):
    """Inverted dropout with probability p; the identity in ``eval()`` mode."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


def _same_dtype_as_parameters(layer, x, parameter):
    """Refuse an input whose dtype differs from the layer's parameters (PyTorch: "mixed dtype"),
    instead of computing a float32 layer in float64 or normalising integers."""
    if parameter is not None and x.dtype != parameter.dtype:
        raise OpError(f"{layer!r}: input dtype {x.dtype} differs from the layer's {parameter.dtype} (shape "
                      f"{tuple(x.shape)}); convert the input: x.to({parameter.dtype})")


class Embedding(Module):
    """A lookup table (num_embeddings, embedding_dim), initialised N(0, 1) like PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype=None):
        super().__init__()
        _count(num_embeddings, "num_embeddings", "Embedding")
        _count(embedding_dim, "embedding_dim", "Embedding")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = _empty(num_embeddings, embedding_dim, dtype=dtype)
        init.normal_(self.weight)

    def forward(self, indices):
        """Rows of the table; an index outside [0, num_embeddings) raises ``F.EmbeddingIndexError``."""
        idx = indices.data if isinstance(indices, Tensor) else indices
        F.check_embedding_indices(idx, self.num_embeddings,
                                  f"Embedding({self.num_embeddings}, {self.embedding_dim})")
        return F.embedding(indices, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Flatten(Module):
    """Merge axes ``start_dim … end_dim`` (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return ops.flatten(x, self.start_dim, self.end_dim)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` axes; learnable scale and shift."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, dtype=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        if elementwise_affine:
            self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype or get_default_dtype()))
            self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=dtype or get_default_dtype()))
        else:
            self.weight = self.bias = None

    def forward(self, x):
        _same_dtype_as_parameters(self, x, self.weight)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class _BatchNorm(Module):
    expected_dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None):
        super().__init__()
        dt = dtype or get_default_dtype()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(xp.ones(num_features, dtype=dt))
            self.bias = Parameter(xp.zeros(num_features, dtype=dt))
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", xp.zeros(num_features, dtype=dt))
            self.register_buffer("running_var", xp.ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", xp.zeros((), dtype=xp.int64))
        else:
            self.running_mean = self.running_var = None

    def forward(self, x):
        empty = len(x.shape) in self.expected_dims and 0 in tuple(x.shape)
        if not empty and (len(x.shape) not in self.expected_dims or x.shape[1] != self.num_features):
            raise OpError(f"{type(self).__name__}({self.num_features}): expected input with "
                          f"{' or '.join(map(str, self.expected_dims))} dims and {self.num_features} channels "
                          f"in axis 1, got shape {tuple(x.shape)}")
        _same_dtype_as_parameters(self, x, self.weight if self.weight is not None else self.running_mean)
        use_batch = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
        if self.training and x.shape[0] * math.prod(x.shape[2:]) == 1:  # PyTorch checks this first
            raise OpError(f"{type(self).__name__}({self.num_features}): expected more than 1 value per channel "
                          f"when training, got input of shape {tuple(x.shape)}")
        if empty:  # PyTorch returns an empty output (running statistics untouched, the batch counted)
            return x * 1.0
        return F.batch_norm(x, self.running_mean if self.track_running_stats else None,
                            self.running_var if self.track_running_stats else None, self.weight, self.bias,
                            training=use_batch, momentum=self.momentum, eps=self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs."""
    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs."""
    expected_dims = (4,)


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
        if padding_mode != "zeros":
            raise ValueError(f"{layer}: padding_mode={padding_mode!r} is not supported by retrograd yet; pad the "
                             f"input first and use padding=0")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.padding_mode = padding_mode
        if self.transposed:
            self.weight = _empty(in_channels, out_channels // groups, *self.kernel_size, dtype=dtype)
        else:
            self.weight = _empty(out_channels, in_channels // groups, *self.kernel_size, dtype=dtype)
        self.bias = _empty(out_channels, dtype=dtype) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        init.pytorch_default_(self.weight, self.bias)

    def _arg(self, value):
        return value if isinstance(value, str) or self.spatial > 1 else value[0]

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
        return text


class Conv1d(_ConvNd):
    """1-D convolution of (N, C, L) or (C, L) inputs; weight (out_channels, in_channels/groups, k)."""

    spatial = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype)

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride[0], self._arg(self.padding), self.dilation[0],
                        self.groups)


class Conv2d(_ConvNd):
    """2-D convolution of (N, C, H, W) or (C, H, W) inputs; weight (out_channels, in_channels/groups, kh, kw)
    like PyTorch, so ``load_state_dict(torch_conv.state_dict())`` works."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the adjoint of Conv2d in its input);
    weight (in_channels, out_channels/groups, kh, kw) like PyTorch.

    Output size per axis: (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1;
    ``forward(x, output_size=...)`` picks the output_padding that gives the requested size.
    """

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype, output_padding)

    def _output_padding(self, x, output_size):
        if output_size is None:
            return self.output_padding
        size = tuple(int(v) for v in output_size)[-2:]
        if len(size) != 2:
            raise ValueError(f"ConvTranspose2d: output_size must have 2 (or 4) elements, got {output_size!r}")
        spatial = tuple(x.shape[-2:])
        smallest = tuple((h - 1) * s - 2 * p + d * (k - 1) + 1 for h, s, p, d, k in
                         zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size))
        largest = tuple(lo + s - 1 for lo, s in zip(smallest, self.stride))
        if any(not lo <= want <= hi for want, lo, hi in zip(size, smallest, largest)):
            raise ValueError(f"ConvTranspose2d: requested an output size of {size}, but valid sizes range from "
                             f"{list(smallest)} to {list(largest)} (for an input of {spatial})")
        return tuple(want - lo for want, lo in zip(size, smallest))

    def forward(self, x, output_size=None):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(x, output_size), self.groups, self.dilation)


class MaxPool2d(Module):
    """Max-pooling; tied maxima follow ``rg.conventions`` (seed page 002)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        super().__init__()
        layer = type(self).__name__
        kernel = _conv_tuple(kernel_size, 2, "kernel_size", layer, 1)
        if stride is not None:
            _conv_tuple(stride, 2, "stride", layer, 1)
        _conv_tuple(dilation, 2, "dilation", layer, 1)
        pads = _conv_tuple(padding, 2, "padding", layer, 0)
        if any(p > k // 2 for p, k in zip(pads, kernel)):
            raise ValueError(f"{layer}: padding {padding} must be at most half the kernel size {kernel}")
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation

    def forward(self, x):
        return ops.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}"


class AvgPool2d(MaxPool2d):
    """Mean over each window (zero padding counted)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(kernel_size, stride, padding)

    def forward(self, x):
        return ops.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


# ------------------------------------------------------------ losses
class _Loss(Module):
    fn = None

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):  # noqa: A002
        return type(self).fn(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (fused: the gradient is 2(a − y)/n)."""

    fn = staticmethod(ops.mse_loss)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities."""

    fn = staticmethod(ops.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable op (gradient σ(z) − y)."""

    fn = staticmethod(ops.binary_cross_entropy_with_logits)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits (gradient softmax(z) − onehot(y))."""

    def __init__(self, reduction: str = "mean", ignore_index: int = -100):
        super().__init__(reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return ops.cross_entropy(input, target, self.reduction, self.ignore_index)


class NLLLoss(CrossEntropyLoss):
    """Negative log-likelihood of log-probabilities."""

    def forward(self, input, target):  # noqa: A002
        return ops.nll_loss(input, target, self.reduction, self.ignore_index)
