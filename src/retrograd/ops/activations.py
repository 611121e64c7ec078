"""Activation functions PyTorch users reach for: silu, mish, hardtanh, relu6,
selu, logsigmoid, softsign.

``silu`` and ``logsigmoid`` are primitives (one tape entry, a closed-form vjp);
the rest are compositions of existing primitives, so their gradients — and
their gradients at kinks — are those of the pieces: ``hardtanh`` and ``relu6``
are ``clamp`` (at a bound the ``rg.conventions`` tie of slopes 1, 0; the
default ``min_norm`` gives 0 there, as PyTorch does), ``selu`` is a scaled
``elu`` (at 0 the tie of slopes 1, α: ``min_norm`` gives ``scale·1`` where
PyTorch gives the left slope ``scale·α`` — the deliberate difference that
``elu`` already has).
"""

from __future__ import annotations

from ..autograd import backend
from ..autograd.backend import xp
from ..autograd.op import OpError, UnaryOp
from .elementwise import abs as _abs
from .elementwise import clamp, elu, softplus, tanh


class Silu(UnaryOp):
    """y = x·σ(x);  x̄ = ȳ·σ(x)·(1 + x·(1 − σ(x)))"""
    name = "silu"
    __slots__ = ()

    def forward(self, x): return x * backend.sigmoid(x)

    def vjp(self, ns, g, y, x):
        s = ns.sigmoid(x)
        return (g * (s * (1 + x * (1 - s))),)


def silu(x):
    """SiLU (swish): x·σ(x). Smooth everywhere."""
    return Silu()(x)


class LogSigmoid(UnaryOp):
    """y = log σ(x) = −log(1 + e⁻ˣ);  x̄ = ȳ·σ(−x)  (computed without overflow)"""
    name = "logsigmoid"
    __slots__ = ()

    def forward(self, x): return -xp.logaddexp(0, -x)
    def vjp(self, ns, g, y, x): return (g * ns.sigmoid(-x),)


def logsigmoid(x):
    """log σ(x) = −softplus(−x), stable for large |x|."""
    return LogSigmoid()(x)


def mish(x):
    """Mish: x·tanh(softplus(x)). Smooth; a composition, so its gradient is
    tanh(sp) + x·σ(x)·(1 − tanh²(sp)) by the chain rule."""
    return x * tanh(softplus(x))


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0):
    """Clamp to [min_val, max_val] (``clamp``: the gradient at a bound follows
    ``rg.conventions``; the default gives 0 there, like PyTorch)."""
    if min_val > max_val:
        raise OpError(f"hardtanh: min_val cannot be greater than max_val, got {min_val} > {max_val}")
    return clamp(x, min_val, max_val)


def relu6(x):
    """min(max(x, 0), 6): ``hardtanh(x, 0, 6)``."""
    return hardtanh(x, 0.0, 6.0)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """scale·elu(x, α) with PyTorch's constants (self-normalising networks).
    At 0 the gradient is ``scale`` times the ``elu`` tie of slopes (1, α)."""
    return elu(x, SELU_ALPHA) * SELU_SCALE


def softsign(x):
    """x / (1 + |x|); its derivative 1/(1 + |x|)² is continuous (the kink of
    |x| is multiplied by x = 0)."""
    return x / (1 + _abs(x))
