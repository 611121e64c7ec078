"""Activation modules (PyTorch's names and constructor arguments).

Activations that PyTorch builds with ``inplace=`` take it too; retrograd
always computes them out of place (same output and gradients; the input is
never overwritten)."""

from __future__ import annotations

from .. import ops
from . import functional as F
from .module import Module


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
    """log(1 + e^(βx))/β, and x itself where βx > ``threshold`` (PyTorch's linear branch)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Softmax along ``dim``; without one, PyTorch's deprecated implicit choice (0 for 0-, 1- and
    3-D input, else 1), with its warning."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Log-softmax along ``dim`` (stable; the implicit dim as ``Softmax``'s)."""

    def forward(self, x):
        return F.log_softmax(x, self.dim)
