"""Two of PyTorch's legacy modules, kept for ported code: ``CrossMapLRN2d`` (Lua Torch's cross-channel
local response normalisation) and ``NLLLoss2d`` (a deprecated alias of ``NLLLoss``)."""

from __future__ import annotations

import warnings

from ..autograd.backend import xp
from ..autograd.tensor import Tensor
from ..ops import einsum
from .activation_extra import LayerInputError
from .functional_losses import _t
from .loss import NLLLoss
from .module import Module


def cross_map_window(channels: int, size: int):
    """The channels each output channel's sum of squares covers in PyTorch's ``CrossMapLRN2d``, as a
    (channels, channels) 0/1 matrix W: scale_c = k + α/size · Σ_j W[c, j]·x_j².

    PyTorch builds the sums incrementally (Lua Torch's code): with p = ⌊(size − 1)/2⌋ + 1, channel 0 sums
    channels 0 … p − 1; each next channel c adds channel c + p − 1 (while it exists) and, once c > p,
    drops channel c − p. The drop starts one step late, so channel 0 is never dropped: for c > p the
    window is {0} ∪ [c − p + 1, c + p − 1], not ``F.local_response_norm``'s centred window. This
    replays those steps, so the values are PyTorch's."""
    pre_pad = int((size - 1) / 2 + 1)
    w = xp.zeros((channels, channels))
    if channels:
        w[0, :min(pre_pad, channels)] = 1
    for c in range(1, channels):
        w[c] = w[c - 1]
        if c < channels - pre_pad + 1:
            w[c, c + pre_pad - 1] += 1
        if c > pre_pad:
            w[c, c - pre_pad] -= 1
    return w


class CrossMapLRN2d(Module):
    """PyTorch's ``nn.CrossMapLRN2d``: y = x · (k + α/size · Σ_{j ∈ window(c)} x_j²)^(−β) over the channels of
    an (N, C, H, W) input, the windows those of ``cross_map_window`` (PyTorch's values exactly).

    The gradient is the derivative of those values (the layer is composed of differentiable ops).
    PyTorch's hand-written backward is not — it fails ``torch.autograd.gradcheck`` for most sizes, and
    crashes for size 1 — so gradients differ from PyTorch's where its own are wrong."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        x = _t(x)
        if x.ndim != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {x.ndim}D instead.")
        if x.dtype.kind != "f":
            raise LayerInputError(f"CrossMapLRN2d: expected a floating-point input, got {x.dtype}{list(x.shape)}; "
                                  f"convert it first, e.g. x.to(rg.float32)")
        window = Tensor(cross_map_window(x.shape[1], self.size).astype(x.dtype))
        sums = einsum("cj,njhw->nchw", window, x * x)
        return x * (sums * (self.alpha / self.size) + self.k) ** (-self.beta)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class NLLLoss2d(NLLLoss):
    """Deprecated alias of ``NLLLoss`` (PyTorch's ``nn.NLLLoss2d``, which warns with a FutureWarning when
    built): ``NLLLoss`` already takes (N, C, H, W) inputs with (N, H, W) targets."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and "
                      "see https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.", FutureWarning,
                      stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)
