"""More of PyTorch's normalisation layers: RMSNorm, InstanceNorm1d/2d/3d, LocalResponseNorm and
BatchNorm3d, with their functional forms (``F.rms_norm``, ``F.instance_norm``,
``F.local_response_norm``).

Each is composed from differentiable ops (mean, sqrt, pad, sums), so the gradient is the
composition's; the running statistics of InstanceNorm are updated off the tape, as BatchNorm's."""

from __future__ import annotations

import math
import warnings

from ..autograd.backend import xp
from ..autograd.mode import no_grad
from ..autograd.tensor import get_default_dtype
from ..ops import cast, mean, pad, reshape, rsqrt, sqrt
from ..ops.shape import _data
from .activation_extra import LayerInputError, _float
from .functional_losses import _float_input, _t
from .module import Module, Parameter, check_device
from .normalization import _BatchNorm


# ---------------------------------------------------------------- RMSNorm
def rms_norm(input, normalized_shape, weight=None, eps: float | None = None):  # noqa: A002 - PyTorch's names
    """PyTorch's ``F.rms_norm``: y = x / √(mean(x²) + ε) · w, the mean over the trailing
    ``normalized_shape`` dims (no centring, unlike layer_norm). ``eps=None`` takes the machine epsilon
    of the input's dtype, as PyTorch. The result has the input's dtype (a weight of another float dtype
    is cast to it)."""
    x = _t(input)
    if isinstance(normalized_shape, int) or not all(isinstance(n, int) for n in normalized_shape):
        raise TypeError(f"rms_norm: normalized_shape must be a tuple or list of ints, got {normalized_shape!r} "
                        f"(nn.RMSNorm takes an int too)")
    shape = tuple(normalized_shape)
    if not shape:
        raise LayerInputError("rms_norm: Expected normalized_shape to be at least 1-dimensional, i.e., containing "
                              "at least one element, but got normalized_shape = []")
    if len(shape) > x.ndim:
        raise ValueError(f"rms_norm: Input tensor must have at least {len(shape)} dimensions, but got {x.ndim} "
                         f"(normalized_shape={list(shape)}, input shape {tuple(x.shape)})")
    if tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise LayerInputError(f"rms_norm: Given normalized_shape={list(shape)}, expected input with shape "
                              f"[*, {', '.join(map(str, shape))}], but got input of size {list(x.shape)}")
    _float_input("rms_norm", "input", x)
    if weight is not None and tuple(_data(weight).shape) != shape:
        raise LayerInputError(f"rms_norm: Expected weight to be of same shape as normalized_shape, but got weight "
                              f"of shape {list(_data(weight).shape)} and normalized_shape = {list(shape)}")
    if eps is None:
        eps = float(xp.finfo(x.dtype).eps)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    y = x * rsqrt(mean(x * x, axis=axes, keepdims=True) + eps)
    if weight is not None:
        w = _t(weight)
        y = y * (w if w.dtype == x.dtype else cast(w, x.dtype))
    return y


class RMSNorm(Module):
    """Root-mean-square normalisation over the trailing ``normalized_shape`` dims (PyTorch's
    ``nn.RMSNorm``): y = x / √(mean(x²) + ε) · weight, ``weight`` learnable (ones) when
    ``elementwise_affine``; ``eps=None`` is the input dtype's machine epsilon."""

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, device=None,
                 dtype=None):
        super().__init__()
        check_device("RMSNorm", device)
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype or get_default_dtype()))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self):
        """The weight back to ones."""
        if self.weight is not None:
            self.weight.data[...] = 1

    def forward(self, x):
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


# ---------------------------------------------------------------- instance normalisation
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,  # noqa: A002
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5):
    """PyTorch's ``F.instance_norm``: each channel of each sample of an ``(N, C, *)`` input normalised over its
    own spatial positions,

    y = (x − μ_{n,c}) / √(σ²_{n,c} + ε) · w_c + b_c   (σ² the biased variance),

    or with the running statistics when ``use_input_stats`` is False. Given running statistics and
    ``use_input_stats``, they move towards the batch's, off the tape: r ← (1 − m)·r + m·mean_n(s_{n,c}),
    with the unbiased per-sample variances (PyTorch's rule)."""
    x = _t(input)
    shape = tuple(x.shape)
    if use_input_stats and math.prod(shape[2:]) == 1:
        raise ValueError(f"instance_norm: Expected more than 1 spatial element when training, got input size "
                         f"{shape}")
    if len(shape) < 2:
        raise LayerInputError(f"instance_norm: expected an (N, C, *) input, got shape {shape}")
    _float_input("instance_norm", "input", x)
    c = shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        if t is not None:
            d = _data(t)
            if d.size != c:
                raise LayerInputError(f"instance_norm: {name} should contain {c} elements (one per channel of the "
                                      f"input of shape {shape}), not {d.size}")
            if d.dtype != x.dtype:
                raise LayerInputError(f"instance_norm: mixed dtype: {name} is {d.dtype}, the input {x.dtype}; "
                                      f"convert the input (x.to({d.dtype})) or the layer")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise LayerInputError("instance_norm: Expected running_mean and running_var to be defined when "
                              "use_input_stats is false")
    if x.size == 0:  # an empty batch: an empty output, the running statistics left as they are
        return x * 1.0
    bshape = (1, c) + (1,) * (len(shape) - 2)
    if use_input_stats:
        axes = tuple(range(2, len(shape)))
        mu = mean(x, axis=axes, keepdims=True)
        centred = x - mu
        v = mean(centred * centred, axis=axes, keepdims=True)
        y = centred / sqrt(v + eps)
        n = math.prod(shape[2:])
        with no_grad():
            for stat, batch in ((running_mean, mu.data.mean(axis=0)),
                                (running_var, v.data.mean(axis=0) * (n / (n - 1)))):
                if stat is not None:
                    r = _data(stat)
                    r *= 1 - momentum
                    r += momentum * batch.reshape(r.shape)
    else:
        y = (x - reshape(running_mean, bshape)) / sqrt(reshape(running_var, bshape) + eps)
    if weight is not None:
        y = y * reshape(weight, bshape)
    if bias is not None:
        y = y + reshape(bias, bshape)
    return y


class _InstanceNorm(Module):
    """Instance normalisation of ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` inputs."""
    spatial_dims = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        check_device(type(self).__name__, device)
        dt = dtype or get_default_dtype()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(xp.ones(num_features, dtype=dt))
            if bias:
                self.bias = Parameter(xp.zeros(num_features, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        for name, value in (("running_mean", xp.zeros(num_features, dtype=dt)),
                            ("running_var", xp.ones(num_features, dtype=dt)),
                            ("num_batches_tracked", xp.zeros((), dtype=xp.int64))):
            self.register_buffer(name, value if track_running_stats else None)

    def forward(self, x):
        nd, unbatched = len(x.shape), self.spatial_dims + 1
        if nd not in (unbatched, unbatched + 1):
            raise ValueError(f"{type(self).__name__}: expected {unbatched}D or {unbatched + 1}D input (got {nd}D "
                             f"input of shape {tuple(x.shape)})")
        feature_dim = nd - unbatched
        if x.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"{type(self).__name__}: expected input's size at dim={feature_dim} to match "
                                 f"num_features ({self.num_features}), but got: {x.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          f"warning by not passing in num_features, which is not used because affine=False",
                          UserWarning, stacklevel=2)
        batch = x if nd == unbatched + 1 else x[None]
        y = instance_norm(batch, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats,
                          0.0 if self.momentum is None else self.momentum, self.eps)
        return y if nd == unbatched + 1 else y[0]

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L) inputs (PyTorch's defaults: no affine parameters, no
    running statistics)."""
    spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) inputs."""
    spatial_dims = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or (C, D, H, W) inputs."""
    spatial_dims = 3


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs."""
    expected_dims = (5,)


# ---------------------------------------------------------------- local response normalisation
def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):  # noqa: A002
    """PyTorch's ``F.local_response_norm`` over the channels (axis 1) of an ``(N, C, *)`` input:

    y_c = x_c / (k + α/n · Σ_{c'} x_{c'}²)^β,

    c' over the n = ``size`` channels c − ⌊n/2⌋ … c + ⌊(n−1)/2⌋ (channels past the ends count as zeros, and
    the sum is always divided by n, as PyTorch's)."""
    x = _float(input, "local_response_norm")
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: Expected 3D or higher dimensionality input (got {x.ndim} "
                         f"dimensions, shape {tuple(x.shape)})")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise LayerInputError(f"local_response_norm: size must be a positive int, got {size!r}")
    if x.size == 0:
        return input
    c = x.shape[1]
    widths = ((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (x.ndim - 2)
    padded = pad(x * x, widths)
    window = padded[:, 0:c]
    for j in range(1, size):
        window = window + padded[:, j:j + c]
    return x / ((window * (alpha / size) + k) ** beta)


class LocalResponseNorm(Module):
    """Local response normalisation across channels (``F.local_response_norm``; AlexNet's)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
