"""Layers: Linear, activations, Dropout, Embedding, Flatten, LayerNorm,
BatchNorm1d/2d, Conv2d, MaxPool2d, AvgPool2d and the loss modules, with
PyTorch's constructor arguments, parameter names and weight layouts."""

from __future__ import annotations

from ..autograd.backend import xp

from .. import ops
from ..autograd.op import OpError
from ..autograd.tensor import get_default_dtype
from . import functional as F
from . import init
from .module import Module, Parameter


def _empty(*shape, dtype=None):
    return Parameter(xp.zeros(shape, dtype=dtype or get_default_dtype()))


class Identity(Module):
    """Returns its input."""

    def forward(self, x):
        return x


class Linear(Module):
    """y = x Wᵀ + b;  weight (out_features, in_features), bias (out_features,),
    initialised like PyTorch (U(±1/√in_features))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = _empty(out_features, in_features, dtype=dtype)
        self.bias = _empty(out_features, dtype=dtype) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        init.pytorch_default_(self.weight, self.bias)

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise OpError(f"Linear({self.in_features}, {self.out_features}): input has {x.shape[-1]} features "
                          f"in its last axis (shape {tuple(x.shape)})")
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class _Activation(Module):
    fn = None

    def forward(self, x):
        return type(self).fn(x)


class ReLU(_Activation):
    """max(x, 0); the gradient at 0 follows ``rg.conventions``."""

    fn = staticmethod(ops.relu)


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

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)


class ELU(Module):
    """x for x > 0, α(eˣ − 1) otherwise."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return ops.elu(x, self.alpha)


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


class Embedding(Module):
    """A lookup table (num_embeddings, embedding_dim), initialised N(0, 1) like PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = _empty(num_embeddings, embedding_dim, dtype=dtype)
        init.normal_(self.weight)

    def forward(self, indices):
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
        if len(x.shape) not in self.expected_dims or x.shape[1] != self.num_features:
            raise OpError(f"{type(self).__name__}({self.num_features}): expected input with "
                          f"{' or '.join(map(str, self.expected_dims))} dims and {self.num_features} channels "
                          f"in axis 1, got shape {tuple(x.shape)}")
        use_batch = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
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


class Conv2d(Module):
    """2-D convolution; weight (out_channels, in_channels, kh, kw) like PyTorch."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 bias: bool = True, dtype=None):
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.dilation = (kh, kw), stride, padding, dilation
        self.weight = _empty(out_channels, in_channels, kh, kw, dtype=dtype)
        self.bias = _empty(out_channels, dtype=dtype) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        init.pytorch_default_(self.weight, self.bias)

    def forward(self, x):
        return ops.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")


class MaxPool2d(Module):
    """Max-pooling; tied maxima follow ``rg.conventions`` (seed page 002)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        super().__init__()
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
