"""Normalisation layers: LayerNorm, BatchNorm1d/2d (running statistics as buffers)."""

from __future__ import annotations

import math

from ..autograd.backend import xp
from ..autograd.op import OpError
from ..autograd.tensor import get_default_dtype
from . import functional as F
from .module import Module, Parameter, check_device
from .layers import _same_dtype_as_parameters


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` axes; learnable scale and shift."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        check_device("LayerNorm", device)
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype or get_default_dtype()))
            if bias:
                self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=dtype or get_default_dtype()))
            else:
                self.register_parameter("bias", None)
        else:
            self.weight = self.bias = None

    def forward(self, x):
        _same_dtype_as_parameters(self, x, self.weight)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"



class _BatchNorm(Module):
    expected_dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None):
        super().__init__()
        check_device(type(self).__name__, device)
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
        momentum = self.momentum
        if momentum is None:  # a cumulative moving average: batch k weighs 1/k, as PyTorch's momentum=None
            momentum = 1.0 / int(self.num_batches_tracked.data) if self.training and self.track_running_stats else 0.0
        return F.batch_norm(x, self.running_mean if self.track_running_stats else None,
                            self.running_var if self.track_running_stats else None, self.weight, self.bias,
                            training=use_batch, momentum=momentum, eps=self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs."""
    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs."""
    expected_dims = (4,)


class GroupNorm(Module):
    """Group normalisation (PyTorch's ``nn.GroupNorm``): the ``num_channels`` channels of an ``(N, C, *)``
    input in ``num_groups`` groups, each normalised per sample over its channels and positions, then a
    learnable per-channel scale ``weight`` (ones) and shift ``bias`` (zeros) when ``affine``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__()
        check_device("GroupNorm", device)
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        dt = dtype or get_default_dtype()
        if affine:
            self.weight = Parameter(xp.ones(num_channels, dtype=dt))
            if bias:
                self.bias = Parameter(xp.zeros(num_channels, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        if len(x.shape) < 2 or x.shape[1] != self.num_channels:
            raise OpError(f"{self!r}: expected an (N, {self.num_channels}, *) input, got shape {tuple(x.shape)}")
        _same_dtype_as_parameters(self, x, self.weight)
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
