"""Activation functions PyTorch users reach for: silu, mish, hardtanh, relu6,
selu, logsigmoid, softsign.

``silu``, ``logsigmoid`` and ``hardtanh`` are primitives (one tape entry, a
closed-form vjp); the rest are compositions of existing primitives, so their
gradients — and their gradients at kinks — are those of the pieces: ``relu6``
is ``hardtanh(x, 0, 6)`` (at a bound the ``rg.conventions`` tie of slopes 1, 0;
the default ``min_norm`` gives 0 there, as PyTorch does), ``selu`` is a scaled
``elu`` (at 0 the tie of slopes 1, α: ``min_norm`` gives ``scale·1`` where
PyTorch gives the left slope ``scale·α`` — the deliberate difference that
``elu`` already has).

Like PyTorch, NaN inputs pass their gradient through the piecewise ones
(hardtanh, relu6, elu, selu), and integer inputs are computed in the default
float dtype (README: activations on integer tensors), except hardtanh/relu6,
which keep an integer dtype as PyTorch does.
"""

from __future__ import annotations

from ..autograd import backend, conventions
from ..autograd.backend import xp
from ..autograd.op import OpError, UnaryOp
from ..autograd.tensor import get_default_dtype
from .kinks import abs as _abs
from .elementwise import sigmoid_of, softplus, tanh
from .kinks import elu


def _float_input(x, name):
    """x as a float array: integers and booleans in the default float dtype (README: activations
    on integer tensors), float16/32/64 unchanged; complex refused (PyTorch has no kernel for these)."""
    if x.dtype.kind == "c":
        raise OpError(f"{name}: complex input is not supported (got {x.dtype}{list(x.shape)}); "
                      f"apply it to the real and imaginary parts separately")
    return x if x.dtype.kind == "f" else x.astype(get_default_dtype())


class Silu(UnaryOp):
    """y = x·σ(x);  x̄ = ȳ·σ(x)·(1 + x·(1 − σ(x))),  ẏ = ẋ·σ(x)·(1 + x·(1 − σ(x)))"""
    name = "silu"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x):
        x = _float_input(x, self.name)
        return x * backend.sigmoid(x).astype(x.dtype, copy=False)  # SciPy gives float16 in float32

    def vjp(self, ns, g, y, x):
        s = ns.sigmoid(x)
        return (g * (s * (1 + x * (1 - s))),)

    def jvp(self, ns, ts, y, x):
        s = ns.sigmoid(x)
        return ts[0] * (s * (1 + x * (1 - s)))


def silu(x):
    """SiLU (swish): x·σ(x). Smooth everywhere."""
    return Silu()(x)


class LogSigmoid(UnaryOp):
    """y = log σ(x) = −log(1 + e⁻ˣ);  x̄ = ȳ·σ(−x),  ẏ = ẋ·σ(−x)  (computed without overflow)"""
    name = "logsigmoid"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return -xp.logaddexp(0, -_float_input(x, self.name))
    def vjp(self, ns, g, y, x): return (g * sigmoid_of(ns, -x),)
    def jvp(self, ns, ts, y, x): return ts[0] * sigmoid_of(ns, -x)


def logsigmoid(x):
    """log σ(x) = −softplus(−x), stable for large |x|."""
    return LogSigmoid()(x)


def mish(x):
    """Mish: x·tanh(softplus(x)). Smooth; a composition, so its gradient is
    tanh(sp) + x·σ(x)·(1 − tanh²(sp)) by the chain rule."""
    return x * tanh(softplus(x))


class Hardtanh(UnaryOp):
    """y = min(max(x, lo), hi);  x̄ = ȳ·[not (x ≤ lo or x ≥ hi)]  (at a bound: tie of slopes 1, 0)

    Not ``clamp``: PyTorch's hardtanh keeps an integer tensor's dtype (the
    bounds truncated to integers), refuses booleans, and passes the gradient
    through a NaN (``clamp`` gives 0 there)."""
    name = "hardtanh"
    __slots__ = ("lo", "hi", "tie")
    save_inputs = (0,)

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi
        self.tie = conventions.kink_slope((1.0, 0.0))

    def extra_repr(self): return f"min_val={self.lo}, max_val={self.hi}"

    def forward(self, x):
        if x.dtype.kind in "bc":
            raise OpError(f"{self.name}: {x.dtype} input is not supported (got {x.dtype}{list(x.shape)}), "
                          f"as in PyTorch; convert it first, e.g. x.float()")
        if x.dtype.kind in "iu":
            return xp.clip(x, int(self.lo), int(self.hi)).astype(x.dtype, copy=False)
        return xp.clip(x, x.dtype.type(self.lo), x.dtype.type(self.hi))

    def vjp(self, ns, g, y, x):
        xv = ns.value(x)
        # PyTorch's rule (x <= lo or x >= hi ? 0 : ȳ): a NaN passes ȳ (its vectorised kernel gives
        # 0 instead for NaNs in full SIMD lanes; the scalar rule is the one it defines)
        d = (~((xv <= self.lo) | (xv >= self.hi))).astype(xv.dtype)
        if self.tie:
            d = d + self.tie * ((xv == self.lo) | (xv == self.hi))
        return (g * d,)

    def jvp(self, ns, ts, y, x):
        return self.vjp(ns, ts[0], y, x)[0]  # a diagonal Jacobian: the vjp's slopes, tie included


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0):
    """Clamp to [min_val, max_val]; the gradient at a bound follows ``rg.conventions``
    (the default gives 0 there, like PyTorch)."""
    if min_val > max_val:
        raise OpError(f"hardtanh: min_val cannot be greater than max_val, got {min_val} > {max_val}")
    return Hardtanh(min_val, max_val)(x)


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
