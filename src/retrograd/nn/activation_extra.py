"""More of PyTorch's activations: CELU, GLU, Hardshrink, Softshrink, Tanhshrink, Hardsigmoid,
Hardswish, Threshold, PReLU, RReLU, Softmin, Softmax2d — each functional form (``F.celu`` …)
next to its module.

Every function is a composition of existing ops (``where``, ``relu``, ``hardtanh``, ``expm1`` …),
so its gradient is the composition's, with no derivative rule of its own. Where a function has a
kink (a corner where two branches meet with different slopes), it is written as the max of its
branches with the op that ``rg.conventions`` governs, so its gradient there follows the policy:

- ``softshrink`` = relu(x − λ) − relu(−x − λ): at ±λ the tie of slopes (1, 0); ``min_norm`` gives 0,
  as PyTorch does;
- ``hardsigmoid`` = hardtanh(x + 3, 0, 6)/6 and ``hardswish`` = x·hardsigmoid(x): at ±3 the ties of
  hardtanh; ``min_norm`` gives PyTorch's 0 and 1 at −3 and 3 (``first`` gives −½ and 1.5 for
  hardswish, the left branch's slopes);
- ``prelu`` at 0: the tie of slopes (1, w) (``min_norm``: w for 0 ≤ w ≤ 1, PyTorch's value);
- ``threshold(x, t, t)`` (a continuous corner) is ``clamp(x, min=t)``.

``hardshrink`` and ``threshold(x, t, v ≠ t)`` jump instead (no kink to share out): their gradient is
that of the branch PyTorch selects (0 at ``|x| = λ``, 0 at x = t). ``celu`` is smooth (slope 1 on both
sides of 0).

Like the other activations, integer and boolean inputs are computed in the default float dtype
(README: activations on integer tensors), except ``threshold``, which keeps an integer dtype as
PyTorch does.
"""

from __future__ import annotations

from .. import random as rg_random
from ..autograd import conventions
from ..autograd.backend import xp
from ..autograd.op import DimError, OpError, off_tape
from ..autograd.replay import tracing
from ..autograd.tensor import Tensor, get_default_dtype
from ..ops import cast, clamp, expm1, hardtanh, isnan, leaky_relu, relu, reshape, sigmoid, tanh, where
from ..ops import device_checks
from ..ops import softmaxes as _softmax
from ..ops.shape import _data
from . import functional as F
from .functional_losses import _t
from .module import Module, Parameter, check_device


class LayerInputError(OpError, RuntimeError):
    """An argument or input PyTorch refuses with ``RuntimeError`` (a zero CELU alpha, an odd GLU
    dimension, a PReLU weight that does not fit the channels, a normalized_shape the input does not
    end in …): a ``RuntimeError``, and an ``OpError`` (hence a ``ValueError``) like every refusal of
    an op here. Shared by the ``*_extra`` layer files."""


def _float(x, who):
    """``x`` as a float Tensor: integers and booleans in the default float dtype, complex refused."""
    x = _t(x)
    kind = x.dtype.kind
    if kind == "c":
        raise OpError(f"{who}: complex input is not supported (got {x.dtype}{list(x.shape)}); apply it to the "
                      f"real and imaginary parts separately")
    return x if kind == "f" else cast(x, get_default_dtype())


def _nan_passes(x, y):
    """``y`` with ``x`` put back where ``x`` is NaN: PyTorch's piecewise kernels test ``x <= c``, so a NaN
    takes the identity branch (value NaN, gradient 1). Skipped when there is no NaN (not while tracing a
    replay, which must not depend on values)."""
    nan = isnan(x)
    if not tracing() and not device_checks.may_hold(nan.data):
        return y
    return where(nan, x, y)


# ---------------------------------------------------------------- functional forms
def celu(input, alpha: float = 1.0, inplace: bool = False):  # noqa: A002 - PyTorch's names
    """PyTorch's ``F.celu``: x for x > 0, α·(e^(x/α) − 1) otherwise. Smooth at 0 (slope 1 on both sides);
    α may be negative, not 0. ``inplace`` is accepted and computed out of place."""
    if alpha == 0:
        raise LayerInputError("celu: alpha cannot be 0 (CELU divides by it; PyTorch refuses it too)")
    x = _float(input, "celu")
    # masks are comparisons of tensors (a replay computes them again); not x > 0: a NaN takes the
    # identity branch, value and gradient, as in PyTorch
    below = x <= 0
    # the exponential sees only the entries it is used for, so a large x cannot make inf·0 = NaN gradients
    return where(below, expm1(where(below, x, 0.0) * (1.0 / alpha)) * alpha, x)


def glu(input, dim: int = -1):  # noqa: A002
    """PyTorch's ``F.glu``: split ``input`` in halves a, b along ``dim`` and return a·σ(b) (the gated linear
    unit). The size along ``dim`` must be even."""
    x = _float(input, "glu")
    nd = x.ndim
    if nd == 0:
        raise LayerInputError("glu: glu does not support scalars because halving size must be even")
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise OpError(f"glu: dim must be an int, got {dim!r}")
    if not -nd <= dim < nd:
        raise DimError(f"glu: dim {dim} is out of range for an input of shape {tuple(x.shape)} "
                       f"(expected to be in range of [{-nd}, {nd - 1}])")
    axis, n = dim % nd, x.shape[dim % nd]
    if n % 2:
        raise LayerInputError(f"glu: halving dimension must be even, but dimension {axis} is size {n} "
                              f"(input shape {tuple(x.shape)})")
    lead = (slice(None),) * axis
    return x[lead + (slice(0, n // 2),)] * sigmoid(x[lead + (slice(n // 2, n),)])


def hardshrink(input, lambd: float = 0.5):  # noqa: A002
    """PyTorch's ``F.hardshrink``: x where ``|x| > λ``, else 0. A jump at ±λ, not a kink: the gradient is 1
    outside [−λ, λ] and 0 inside it, ends included (PyTorch's)."""
    x = _float(input, "hardshrink")
    lam = x.dtype.type(lambd)
    inside = (x >= -lam) & (x <= lam)  # a NaN is outside: it passes, value and gradient
    return where(inside, 0.0, x)


def softshrink(input, lambd: float = 0.5):  # noqa: A002
    """PyTorch's ``F.softshrink``: x − λ above λ, x + λ below −λ, 0 between (λ ≥ 0). Written as
    relu(x − λ) − relu(−x − λ), so the gradient at the corners ±λ follows ``rg.conventions`` (tie of
    slopes 1, 0: ``min_norm`` gives 0, as PyTorch)."""
    if not lambd >= 0:
        raise LayerInputError(f"softshrink: lambda must be in range [0, inf), but found {lambd} "
                              f"(PyTorch refuses it too)")
    x = _float(input, "softshrink")
    return _nan_passes(x, relu(x - lambd) - relu(-x - lambd))


def tanhshrink(input):  # noqa: A002
    """PyTorch's ``F.tanhshrink``: x − tanh(x)."""
    x = _float(input, "tanhshrink")
    return x - tanh(x)


def hardsigmoid(input, inplace: bool = False):  # noqa: A002
    """PyTorch's ``F.hardsigmoid``: min(max(x + 3, 0), 6)/6, i.e. 0 below −3, 1 above 3, linear between.
    The gradient at ±3 follows ``rg.conventions`` (``hardtanh``'s bounds; ``min_norm`` gives PyTorch's 0)."""
    x = _float(input, "hardsigmoid")
    return hardtanh(x + 3.0, 0.0, 6.0) / 6.0


def hardswish(input, inplace: bool = False):  # noqa: A002
    """PyTorch's ``F.hardswish``: x·min(max(x + 3, 0), 6)/6. At x = ±3 the gradient is the product rule
    with ``hardtanh``'s tie (``min_norm``: 0 at −3 and 1 at 3, PyTorch's values)."""
    x = _float(input, "hardswish")
    return x * hardtanh(x + 3.0, 0.0, 6.0) / 6.0


def threshold(input, threshold: float, value: float, inplace: bool = False):  # noqa: A002
    """PyTorch's ``F.threshold``: x where x > ``threshold``, else ``value`` (both compared and filled in the
    input's dtype; an integer input stays integer, as PyTorch). The gradient is 1 above the threshold
    and 0 at or below it; where ``value == threshold`` the function is ``clamp(x, min=threshold)``, whose
    corner follows ``rg.conventions`` (``min_norm`` gives PyTorch's 0)."""
    x = _t(input)
    if x.dtype.kind in "bc":
        raise OpError(f"threshold: {x.dtype} input is not supported (got {x.dtype}{list(x.shape)}), as in "
                      f"PyTorch; convert it first, e.g. x.float()")
    t, v = x.dtype.type(threshold), x.dtype.type(value)
    if t == v:
        return clamp(x, min=t.item())
    return where(x <= t, v, x)  # a NaN is not <= t: it passes, value and gradient


def _prelu_weight(x, weight):
    """PReLU's ``weight`` checked against ``x`` and shaped to broadcast over its channels (axis 1)."""
    w = _t(weight)
    if w.ndim > 1:
        raise LayerInputError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {w.ndim}")
    if w.dtype != x.dtype:
        raise LayerInputError(f"prelu: Type promoting not supported: input is {x.dtype}, weight is {w.dtype}; "
                              f"convert one to the other's dtype")
    if w.size == 1:
        return reshape(w, ())
    if x.ndim == 0:
        raise LayerInputError(f"prelu: Not allow zero-dim input tensor with a weight of {w.size} parameters")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if w.size != channels:
        raise LayerInputError(f"prelu: Mismatch of parameter numbers and input channel size. Found parameter "
                              f"numbers = {w.size} and channel size = {channels} (input shape {tuple(x.shape)})")
    return reshape(w, (1, channels) + (1,) * (x.ndim - 2))


def prelu(input, weight):  # noqa: A002
    """PyTorch's ``F.prelu``: x for x > 0, w·x otherwise, with a learnable slope ``weight`` (one value, or
    one per channel of axis 1). Gradients: x̄ = ȳ·(1 or w), w̄ = Σ ȳ·x over x ≤ 0. At x = 0 the slope is
    the ``rg.conventions`` tie of (1, w): ``min_norm`` gives w when 0 ≤ w ≤ 1 (PyTorch gives w)."""
    x = _t(input)
    if x.dtype.kind != "f":
        raise LayerInputError(f"prelu: input must be floating-point like its weight, got {x.dtype}"
                              f"{list(x.shape)}; convert it first, e.g. x.float()")
    w = _prelu_weight(x, weight)
    y = where(x > 0, x, w * x)  # a NaN takes w·x, as PyTorch's
    policy = conventions.get_policy()
    wd = _data(w)
    # where gives the slope w at 0: that is the policy's tie for min_norm and 0 ≤ w ≤ 1 (the usual case);
    # otherwise add x·(tie − w) at the zeros of x: the value is unchanged, the slope there becomes the tie
    if tracing() or (policy != "min_norm" or not bool(((wd >= 0) & (wd <= 1)).all())) \
            and device_checks.may_hold(_data(x) == 0):
        y = y + x * _prelu_tie_offset(x, w, policy)
    return y


@off_tape
def _prelu_tie_offset(x, w, policy):
    """(tie − w) where x = 0, else 0, the tie the policy's slope for the branches (1, w) (one per
    channel): a constant of the tape, computed again by a replay."""
    wd = w.data
    tie = xp.asarray([conventions.tied_gradient([(1.0,), (float(v),)], policy)[0] for v in wd.reshape(-1)],
                     dtype=wd.dtype).reshape(wd.shape)
    return Tensor(xp.where(x.data == 0, tie - wd, xp.zeros((), dtype=wd.dtype)))


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,  # noqa: A002
          inplace: bool = False):
    """PyTorch's ``F.rrelu`` (randomized leaky ReLU): in training, each entry x ≤ 0 is multiplied by its own
    slope drawn from U(lower, upper) (``rg.random``'s generator) and the gradient is that slope; in
    evaluation, ``leaky_relu`` with the fixed slope (lower + upper)/2."""
    if lower > upper:
        raise LayerInputError(f"rrelu: Lower bound should be less than or equal to the upper bound, got "
                              f"lower={lower}, upper={upper}")
    x = _float(input, "rrelu")
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    return x * _rrelu_slopes(x, lower, upper)


@off_tape
def _rrelu_slopes(x, lower, upper):
    """1 where x > 0 (or NaN), a slope drawn from U(lower, upper) elsewhere: a constant of the tape
    (drawn anew by a replay), so the gradient of x·slopes is the slopes used."""
    d = x.data
    drawn = rg_random.generator().uniform(lower, upper, d.shape)
    return Tensor(xp.where(d <= 0, xp.asarray(drawn), 1.0).astype(d.dtype))


# ---------------------------------------------------------------- modules
class _Activation(Module):
    """A module calling ``fn(x, *args)`` with the arguments named in ``args``."""
    fn = None
    args: tuple = ()

    def forward(self, x):
        return type(self).fn(x, *(getattr(self, a) for a in self.args))


def _inplace_suffix(module):
    return ", inplace=True" if module.inplace else ""


class CELU(_Activation):
    """x for x > 0, α(e^(x/α) − 1) otherwise (``F.celu``)."""
    fn, args = staticmethod(celu), ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def extra_repr(self):
        return f"alpha={self.alpha}" + _inplace_suffix(self)


class GLU(_Activation):
    """a·σ(b), a and b the halves of the input along ``dim`` (``F.glu``)."""
    fn, args = staticmethod(glu), ("dim",)

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def extra_repr(self):
        return f"dim={self.dim}"


class Hardshrink(_Activation):
    """x where ``|x| > λ``, else 0 (``F.hardshrink``)."""
    fn, args = staticmethod(hardshrink), ("lambd",)

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x ∓ λ outside [−λ, λ], 0 inside (``F.softshrink``)."""
    fn = staticmethod(softshrink)


class Tanhshrink(_Activation):
    """x − tanh(x)."""
    fn = staticmethod(tanhshrink)


class Hardsigmoid(_Activation):
    """min(max(x + 3, 0), 6)/6 (``F.hardsigmoid``); ``inplace`` is accepted, computed out of place."""
    fn = staticmethod(hardsigmoid)

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace


class Hardswish(Hardsigmoid):
    """x·min(max(x + 3, 0), 6)/6 (``F.hardswish``)."""
    fn = staticmethod(hardswish)


class Threshold(_Activation):
    """x where x > ``threshold``, else ``value`` (``F.threshold``)."""
    fn, args = staticmethod(threshold), ("threshold", "value")

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + _inplace_suffix(self)


class PReLU(Module):
    """x for x > 0, w·x otherwise, with a learnable ``weight`` of ``num_parameters`` slopes (1, or one per
    channel of axis 1), each initialised to ``init`` (PyTorch's ``nn.PReLU``)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        check_device("PReLU", device)
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, int) or num_parameters < 0:
            raise ValueError(f"PReLU: num_parameters must be a non-negative integer, got {num_parameters!r}")
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(xp.full(num_parameters, init, dtype=dtype or get_default_dtype()))

    def reset_parameters(self):
        """Every slope back to ``init``."""
        self.weight.data[...] = self.init

    def forward(self, x):
        return prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU (``F.rrelu``): random slopes in [lower, upper] for x ≤ 0 in training, the
    fixed slope (lower + upper)/2 in ``eval()`` mode."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, x):
        return rrelu(x, self.lower, self.upper, self.training)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + _inplace_suffix(self)


class Softmin(Module):
    """softmax(−x) along ``dim`` (``F.softmin``); without ``dim``, PyTorch's deprecated implicit choice."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmin(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels (axis −3) at every position of a (C, H, W) or (N, C, H, W) input."""

    def forward(self, x):
        if len(x.shape) not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {len(x.shape)}D instead "
                             f"(shape {tuple(x.shape)})")
        return _softmax.softmax(x, dim=-3)
