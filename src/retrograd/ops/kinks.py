"""The elementwise ops with a kink: relu, leaky_relu, elu, abs, clamp, maximum,
minimum. Each is a max (or min) of branches; where branches tie, the gradient
is the one ``rg.conventions`` declares (read when the op is recorded), so
``relu(x)``, ``clamp(x, min=0)`` and ``maximum(x, 0)`` always agree.

Each jvp is its vjp's transpose, tie included: an elementwise kink's Jacobian
is diagonal, so its jvp scales the tangent by the very slopes the vjp scales
ȳ by (ẏ = ẋ·d), and ``maximum``/``minimum`` push ż = ẋ·dₓ + ẏ·d_y with the
weights the vjp gives each side (so ⟨u, J v⟩ = ⟨Jᵀu, v⟩ holds at ties too). The one exception is
NaN in ``maximum``/``minimum``: the vjp gives both sides ȳ there (PyTorch's backward), the jvp
ż = ẏ (PyTorch's forward AD)."""

from __future__ import annotations

import operator

from ..autograd import conventions
from ..autograd.backend import xp
from ..autograd.op import BinaryOp, OpError, UnaryOp
from ..autograd.tensor import Tensor
from . import device_checks
from .elementwise import _floating, _python_scalar, _refuse, where


# ------------------------------------------------------------ kinks (see conventions)
def _tie(slopes):
    """Tie slope under the policy in force now, i.e. when the op is recorded."""
    return conventions.kink_slope(slopes)


class Relu(UnaryOp):
    """y = max(x, 0);  x̄ = ȳ·[x > 0]  (at x = 0: the policy's relu tie value)"""
    name, save_ans = "relu", True
    __slots__ = ("tie",)
    save_inputs = ()
    elementwise = True

    def __init__(self): self.tie = _tie((1.0, 0.0))

    def forward(self, x):
        _refuse(self.name, x, "bc", "a boolean or complex")
        if self.tie:  # the output cannot tell x = 0 from x < 0: keep where the tie is (one byte each)
            self.save(at_tie=x == 0)
        return xp.maximum(x, 0)

    def vjp(self, ns, g, y, x):
        # y ≠ 0 exactly where x > 0 or x is NaN (a NaN passes its gradient, as in PyTorch):
        # one pass over the output instead of two over the input, and x is not kept (PyTorch
        # keeps the result too)
        passes = y != 0
        if not self.tie:
            return (g * passes,)  # multiplying by a bool mask: one pass, no float mask
        return (g * (passes + self.tie * self.saved["at_tie"]).astype(ns.value(y).dtype),)

    def jvp(self, ns, ts, y, x):
        return self.vjp(ns, ts[0], y, x)[0]  # a diagonal Jacobian: the vjp's slopes, tie included


def relu(x):
    """max(x, 0); the gradient at 0 follows ``rg.conventions``."""
    return Relu()(x)


class LeakyRelu(UnaryOp):
    """y = x (x > 0), αx (x ≤ 0);  x̄ = ȳ·(1 or α)  (tie: branches slopes 1, α)"""
    name = "leaky_relu"
    __slots__ = ("slope", "tie")
    save_inputs = (0,)

    def __init__(self, negative_slope=0.01):
        self.slope = negative_slope
        self.tie = _tie((1.0, negative_slope))

    def extra_repr(self): return f"negative_slope={self.slope}"

    def forward(self, x):
        _refuse(self.name, x, "c", "a complex")
        x = _floating(x)  # integers: the default float dtype (README: activations on integer tensors)
        return xp.where(x > 0, x, x * self.slope)

    def vjp(self, ns, g, y, x):
        xv = ns.value(x)
        a = self.slope
        d = xp.where(xv > 0, 1.0, a).astype(xv.dtype)
        d[xv == 0] = self.tie
        return (g * d,)

    def jvp(self, ns, ts, y, x):
        return self.vjp(ns, ts[0], y, x)[0]  # a diagonal Jacobian: the vjp's slopes, tie included


def leaky_relu(x, negative_slope: float = 0.01):
    """x for x > 0, ``negative_slope``·x otherwise."""
    return LeakyRelu(negative_slope)(x)


class Elu(UnaryOp):
    """y = x (x > 0), α(eˣ − 1) (x ≤ 0);  x̄ = ȳ·(1 or y + α)  (tie: slopes 1, α)"""
    name, save_ans = "elu", True
    __slots__ = ("alpha", "tie")
    save_inputs = (0,)

    def __init__(self, alpha=1.0):
        self.alpha = alpha
        self.tie = _tie((1.0, alpha))

    def extra_repr(self): return f"alpha={self.alpha}"

    def forward(self, x):
        _refuse(self.name, x, "c", "a complex")
        x = _floating(x)  # integers: the default float dtype (README: activations on integer tensors)
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0)))

    def vjp(self, ns, g, y, x):
        xv = ns.value(x)
        # below 0: d/dx α(eˣ − 1) = y + α; a NaN takes the slope 1, as in PyTorch (x <= 0 is false)
        d = ns.where(xv <= 0, y + self.alpha, 1.0)
        at_kink = xv == 0
        if device_checks.may_hold(at_kink):
            d = ns.where(at_kink, self.tie, d)
        return (g * d,)

    def jvp(self, ns, ts, y, x):
        return self.vjp(ns, ts[0], y, x)[0]  # a diagonal Jacobian: the vjp's slopes, tie included


def elu(x, alpha: float = 1.0):
    """x for x > 0, α(eˣ − 1) otherwise."""
    return Elu(alpha)(x)


class Abs(UnaryOp):
    """y = |x|;  x̄ = ȳ·sign x  (at 0: the policy's tie of slopes 1, −1)"""
    name = "abs"
    __slots__ = ("tie",)
    save_inputs = (0,)

    def __init__(self): self.tie = _tie((1.0, -1.0))

    def forward(self, x):
        _refuse(self.name, x, "b", "a boolean")
        return xp.abs(x)

    def vjp(self, ns, g, y, x):
        xv = ns.value(x)
        d = (xv > 0).astype(xv.dtype) - (xv < 0)  # not sign(x): 0 at a NaN, as PyTorch's sgn
        if self.tie:
            d = d + self.tie * (xv == 0)
        return (g * d,)

    def jvp(self, ns, ts, y, x):
        return self.vjp(ns, ts[0], y, x)[0]  # a diagonal Jacobian: the vjp's slopes, tie included


def abs(x):
    """|x|; the gradient at 0 follows ``rg.conventions``."""
    return Abs()(x)  # noqa: A001 - mirrors numpy.abs


class Clamp(UnaryOp):
    """y = min(max(x, lo), hi);  x̄ = ȳ·[lo < x < hi]  (at a bound: tie of slopes 1, 0)

    The bounds may be arrays (elementwise limits), so they are saved with
    ``save`` like any array the vjp needs, and freed after it.
    """
    name = "clamp"
    __slots__ = ("tie", "float_bound")
    save_inputs = (0,)

    def __init__(self, lo=None, hi=None):
        if lo is None and hi is None:
            raise OpError("clamp: at least one of min and max must be given")
        lo, hi = _python_scalar(lo), _python_scalar(hi)  # a NumPy scalar bound does not promote x (PyTorch)
        self.save(lo=lo, hi=hi)
        self.tie = _tie((1.0, 0.0))
        self.float_bound = type(lo) is float or type(hi) is float

    def extra_repr(self):
        bounds = getattr(self, "saved", None)
        return "bounds released" if bounds is None else f"min={bounds['lo']}, max={bounds['hi']}"

    def forward(self, x):
        _refuse(self.name, x, "c", "a complex")
        if self.float_bound:  # an integer x with a float bound: the default float dtype (PyTorch)
            x = _floating(x)
        return xp.clip(x, self.saved["lo"], self.saved["hi"])

    def vjp(self, ns, g, y, x):
        xv = ns.value(x)
        lo, hi = self.saved["lo"], self.saved["hi"]
        inside = xp.ones(xv.shape, dtype=bool)
        at_bound = xp.zeros(xv.shape, dtype=bool)
        if lo is not None:
            inside &= xv > lo
            at_bound |= xv == lo
        if hi is not None:
            inside &= xv < hi
            at_bound |= xv == hi
        d = inside.astype(xv.dtype)
        if self.tie:
            d += self.tie * at_bound
        return (g * d,)

    def jvp(self, ns, ts, y, x):
        return self.vjp(ns, ts[0], y, x)[0]  # a diagonal Jacobian: the vjp's slopes, tie included


def clamp(x, min=None, max=None):  # noqa: A002 - torch's names
    """Limit x to [min, max]; the gradient at a constant bound (a number or an array) follows
    ``rg.conventions``.

    Tensor bounds (broadcasting, PyTorch's) are ``where(x < min, min, x)`` then the same with
    ``max``: a bound gets the gradient where it wins strictly, x where it lies within (at a
    tie too, as PyTorch's), and min > max gives max."""
    if _tensor_bound(min) or _tensor_bound(max):
        out = x
        if min is not None:
            out = where(_less(out, min), min, out)
        if max is not None:
            out = where(_less(max, out), max, out)
        return out
    return Clamp(min, max)(x)


def _tensor_bound(b) -> bool:
    return isinstance(b, Tensor)  # numbers and arrays are the op's own constants (``Clamp``)


def _less(a, b):
    """a < b, a boolean mask for ``where`` (the tensors' comparison: traced, so a replay makes it anew)."""
    if isinstance(a, Tensor):
        return a < b
    if isinstance(b, Tensor):
        return b > a
    return xp.asarray(a) < xp.asarray(b)


class _Extremum(BinaryOp):
    """z = max(x, y) / min(x, y), elementwise.

    x̄ = z̄·[x wins] + z̄·wₓ·[x = y], ȳ likewise: at ties the weights (wₓ, w_y)
    come from the policy applied to the branches that require grad.
    """
    broadcasts = True
    __slots__ = ("w",)
    save_inputs = (0, 1)
    better = None
    nan_gives_y = True  # the jvp's ż = ẏ where x or y is NaN (fmax/fmin, whose NaN loses, say no)

    def __call__(self, x, y):
        nx = isinstance(x, Tensor) and x.requires_grad
        ny = isinstance(y, Tensor) and y.requires_grad
        if nx and ny:
            self.w = conventions.tied_gradient([(1.0, 0.0), (0.0, 1.0)])
        else:  # one side constant: a kink of one variable, like relu
            t = _tie((1.0, 0.0)) if nx else 0.0
            u = _tie((1.0, 0.0)) if ny else 0.0
            # first-policy order: x is the first branch; for a variable y, y is
            # second, so "first" gives it 0.
            if ny and not nx and conventions.get_policy() == "first":
                u = 0.0
            self.w = (t, u)
        return BinaryOp.__call__(self, x, y)

    def vjp(self, ns, g, z, x, y):
        xv, yv = ns.value(x), ns.value(y)
        tie = xv == yv
        # "x does not lose" rather than "x wins": where either side is NaN nothing compares,
        # the output is NaN and both sides get the gradient, as in PyTorch
        x_keeps = ~(self.better(yv, xv) | tie)
        n = self.needs
        gx = gy = None
        if n[0]:
            gx = g * (x_keeps + self.w[0] * tie).astype(xv.dtype)
        if n[1]:
            y_keeps = ~(self.better(xv, yv) | tie)
            gy = g * (y_keeps + self.w[1] * tie).astype(yv.dtype)
        return gx, gy

    def jvp(self, ns, ts, z, x, y):
        # ż = ẋ·dₓ + ẏ·d_y with the vjp's weights (dₓ = [x keeps] + wₓ·[x = y]); the walk has lined the
        # tangents up with the output, and the masks have its shape. Where x or y is NaN the vjp gives
        # both sides the gradient (PyTorch's backward), but PyTorch's forward AD gives ż = ẏ (its
        # formula ẏ + [x beats y]·(ẋ − ẏ) weighs ẋ by 0 there): that is the jvp's (README, "Non-smooth
        # conventions")
        gx, gy = self.vjp(ns, 1.0, z, x, y)
        xv, yv = ns.value(x), ns.value(y)
        unordered = ((xv != xv) | (yv != yv)) if self.nan_gives_y else False
        if device_checks.may_hold(unordered):
            gx = None if gx is None else gx * ~unordered
            gy = None if gy is None else xp.where(unordered, 1, gy).astype(gy.dtype, copy=False)
        tx, ty = ts
        r = None if tx is None else tx * gx
        if ty is not None:
            r = ty * gy if r is None else r + ty * gy
        return r


class Maximum(_Extremum):
    __doc__ = _Extremum.__doc__
    name = "maximum"
    __slots__ = ()
    better = staticmethod(operator.gt)  # not xp.greater: the backend is chosen at call time

    def forward(self, x, y):
        _refuse(self.name, x, "c", "a complex")
        _refuse(self.name, y, "c", "a complex")
        return xp.maximum(x, y)


def maximum(x, y):
    """Elementwise max; the gradient at ties follows ``rg.conventions``."""
    return Maximum()(x, y)


class Minimum(_Extremum):
    __doc__ = _Extremum.__doc__
    name = "minimum"
    __slots__ = ()
    better = staticmethod(operator.lt)

    def forward(self, x, y):
        _refuse(self.name, x, "c", "a complex")
        _refuse(self.name, y, "c", "a complex")
        return xp.minimum(x, y)


def minimum(x, y):
    """Elementwise min; the gradient at ties follows ``rg.conventions``."""
    return Minimum()(x, y)
