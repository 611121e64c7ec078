"""Elementwise ops: a table of derivatives.

Each class is one primitive: ``forward`` computes the value, ``vjp`` maps the
upstream gradient ``g`` (ȳ) to the gradients of the inputs (x̄, ȳ…). Rules that
are nicer in terms of the output (tanh, sigmoid, exp) use the saved output
``y`` (``save_ans = True``). Binary ops broadcast; the engine sums their input
gradients back to each input's shape, so no rule here does it.

Kinks (relu, leaky_relu, elu, abs, clamp, maximum, minimum) consult
``retrograd.conventions`` for the gradient at the tie, read when the op is
recorded.

Dtypes follow PyTorch: the float functions (exp, log, sqrt, sin, tanh,
sigmoid, erf …, true division, float powers) give integer and boolean inputs
the default float dtype (``rg.get_default_dtype()``; NumPy would give float64,
or float16 for int8), and keep float16 as float16.
"""

from __future__ import annotations

import math
import numbers
import operator

from ..autograd import backend, conventions
from ..autograd.backend import xp
from ..autograd.op import BinaryOp, OpError, UnaryOp
from ..autograd.tensor import Tensor, get_default_dtype


def _floating(x):
    """x itself when floating; an integer or boolean x in the default float
    dtype (PyTorch's float functions promote them so)."""
    try:
        if x.dtype.kind in "fc":
            return x
    except AttributeError:  # a Python number
        x = xp.asarray(x)
        if x.dtype.kind in "fc":
            return x
    return x.astype(get_default_dtype())


def _refuse(name, x, kinds, what):
    """Refuse an input whose dtype kind is in ``kinds`` (PyTorch has no kernel for it), naming the op."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and dtype.kind in kinds:
        raise OpError(f"{name}: {what} input is not supported (got {dtype}{list(x.shape)}), as in PyTorch; "
                      f"convert it first, e.g. x.float()")


def sigmoid_of(ns, z):
    """``ns.sigmoid(z)`` for a z computed in a vjp: a Tensor under create_graph, else an array or
    the NumPy scalar that arithmetic on 0-d arrays gives, which ``backend.sigmoid`` takes as is."""
    return ns.sigmoid(z) if isinstance(z, Tensor) else backend.sigmoid(z)


def _integral(v) -> bool:
    """Whether v is an integer or boolean array or Python number."""
    dtype = getattr(v, "dtype", None)
    return dtype.kind in "iub" if dtype is not None else isinstance(v, int)


def _python_scalar(v):
    """A NumPy scalar as the Python number it holds (NumPy treats those as
    "weak": they do not promote an array's dtype); anything else unchanged."""
    if type(v) is not backend.ndarray and getattr(v, "shape", None) == () and hasattr(v, "item"):
        return v.item()
    return v


def _same_float(y, x):
    """y in x's floating dtype (SciPy's special functions compute float16 in
    float64; PyTorch keeps float16)."""
    return y if y.dtype is x.dtype else y.astype(x.dtype)


# ------------------------------------------------------------ arithmetic
class Add(BinaryOp):
    """z = x + y;  x̄ = z̄,  ȳ = z̄"""
    name, broadcasts = "add", True
    __slots__ = ()

    def forward(self, x, y): return x + y
    def vjp(self, ns, g, z, x, y): return g, g


def add(x, y):
    """x + y (broadcasting)."""
    return Add()(x, y)


class Sub(BinaryOp):
    """z = x − y;  x̄ = z̄,  ȳ = −z̄"""
    name, broadcasts = "sub", True
    __slots__ = ()

    def forward(self, x, y): return x - y
    def vjp(self, ns, g, z, x, y): return g, (-g if self.needs[1] else None)


def sub(x, y):
    """x − y (broadcasting)."""
    return Sub()(x, y)


class Mul(BinaryOp):
    """z = x·y;  x̄ = z̄·y,  ȳ = z̄·x"""
    name, broadcasts = "mul", True
    __slots__ = ()

    def forward(self, x, y): return x * y

    def vjp(self, ns, g, z, x, y):
        n = self.needs
        return (g * y if n[0] else None), (g * x if n[1] else None)


def mul(x, y):
    """x · y, elementwise (broadcasting)."""
    return Mul()(x, y)


class Div(BinaryOp):
    """z = x / y;  x̄ = z̄ / y,  ȳ = −z̄·x / y²  (true division: integers give the default float dtype)"""
    name, broadcasts = "div", True
    __slots__ = ()

    def forward(self, x, y):
        z = x / y
        if z.dtype.char == "d" and _integral(x) and _integral(y):  # NumPy divides integers in float64
            return z.astype(get_default_dtype())
        return z

    def vjp(self, ns, g, z, x, y):
        n = self.needs
        gx = g / y if n[0] else None
        gy = -g * x / (y * y) if n[1] else None
        return gx, gy


def div(x, y):
    """x / y, elementwise (broadcasting)."""
    return Div()(x, y)


class Neg(UnaryOp):
    """y = −x;  x̄ = −ȳ"""
    name = "neg"
    __slots__ = ()

    def forward(self, x): return -x
    def vjp(self, ns, g, y, x): return (-g,)


def neg(x):
    """−x."""
    return Neg()(x)


class PowScalar(UnaryOp):
    """y = xᵖ (p a constant);  x̄ = ȳ·p·xᵖ⁻¹  (x̄ = 0 for p = 0, at x = 0 too, as PyTorch)

    A float p makes an integer x a float (the default dtype), an integer p
    keeps it an integer (PyTorch's ``x ** 2.0`` and ``x ** 2``)."""
    name = "pow"
    __slots__ = ("p",)

    def __init__(self, p): self.p = p
    def extra_repr(self): return f"p={self.p}"

    def forward(self, x):
        p = self.p
        if type(p) is float:
            x = _floating(x)
        elif x.dtype.kind == "b":  # PyTorch: bool ** int is int64 (NumPy would keep bool for x·x)
            x = x.astype(xp.int64)
        return x * x if p == 2 else x ** p

    def vjp(self, ns, g, y, x):
        p = self.p
        if p == 2:
            return (g * (2 * x),)
        if p == 0:  # xᵖ is constant 1: p·xᵖ⁻¹ would be 0·∞ = NaN at x = 0
            return (ns.where(xp.zeros(ns.value(g).shape, dtype=bool), g, 0.0),)
        return (g * (p * x ** (p - 1)),)


def square(x):
    """x²."""
    return PowScalar(2)(x)


def pow(x, p):  # noqa: A001 - mirrors numpy/torch
    """xᵖ. A constant exponent records the cheaper one-input rule; a NumPy
    scalar exponent counts as a Python number (it does not promote x's dtype)."""
    if isinstance(p, numbers.Number):
        return PowScalar(p.item() if hasattr(p, "item") else p)(x)
    return Pow()(x, p)


class Pow(BinaryOp):
    """z = xʸ;  x̄ = z̄·y·xʸ⁻¹,  ȳ = z̄·z·log x

    PyTorch's values at the edges: x̄ = 0 where y = 0 (xʸ is constant there,
    even at x = 0); ȳ = 0 where x = 0 and y ≥ 0, and NaN where x < 0 (log x
    is NaN there, and so is ȳ even where the forward is finite, e.g. (−2)²).
    """
    name, broadcasts, save_ans = "pow", True, True
    __slots__ = ()

    def forward(self, x, y): return x ** y

    def vjp(self, ns, g, z, x, y):
        n = self.needs
        xv, yv = ns.value(x), ns.value(y)
        gx = gy = None
        with xp.errstate(divide="ignore", invalid="ignore"):
            if n[0]:
                zero_exponent = yv == 0
                if xp.any(zero_exponent):  # exponent 1 there, so y·x⁰ = 0 exactly, with no 0·∞
                    gx = g * y * x ** (ns.where(zero_exponent, 1.0, y) - 1)
                else:
                    gx = g * y * x ** (y - 1)
            if n[1]:
                zero_base = (xv == 0) & (yv >= 0)
                if xp.any(zero_base):  # log 1 = 0 there: ȳ = 0 without a 0·(−∞)
                    x = ns.where(zero_base, 1.0, x)
                gy = g * (z * ns.log(x))
        return gx, gy


# ------------------------------------------------------------ exp, log and friends
class Exp(UnaryOp):
    """y = eˣ;  x̄ = ȳ·y"""
    name, save_ans = "exp", True
    __slots__ = ()

    def forward(self, x): return xp.exp(_floating(x))
    def vjp(self, ns, g, y, x): return (g * y,)


def exp(x):
    """eˣ."""
    return Exp()(x)


class Log(UnaryOp):
    """y = log x;  x̄ = ȳ / x"""
    name = "log"
    __slots__ = ()

    def forward(self, x): return xp.log(_floating(x))
    def vjp(self, ns, g, y, x): return (g / x,)


def log(x):
    """Natural logarithm."""
    return Log()(x)


class Log1p(UnaryOp):
    """y = log(1 + x);  x̄ = ȳ / (1 + x)"""
    name = "log1p"
    __slots__ = ()

    def forward(self, x): return xp.log1p(_floating(x))
    def vjp(self, ns, g, y, x): return (g / (1 + x),)


def log1p(x):
    """log(1 + x), accurate for small x."""
    return Log1p()(x)


class Sqrt(UnaryOp):
    """y = √x;  x̄ = ȳ / (2y)"""
    name, save_ans = "sqrt", True
    __slots__ = ()

    def forward(self, x): return xp.sqrt(_floating(x))
    def vjp(self, ns, g, y, x): return (g / (2 * y),)


def sqrt(x):
    """√x."""
    return Sqrt()(x)


class Sin(UnaryOp):
    """y = sin x;  x̄ = ȳ·cos x"""
    name = "sin"
    __slots__ = ()

    def forward(self, x): return xp.sin(_floating(x))
    def vjp(self, ns, g, y, x): return (g * ns.cos(x),)


def sin(x):
    """sin x."""
    return Sin()(x)


class Cos(UnaryOp):
    """y = cos x;  x̄ = −ȳ·sin x"""
    name = "cos"
    __slots__ = ()

    def forward(self, x): return xp.cos(_floating(x))
    def vjp(self, ns, g, y, x): return (-g * ns.sin(x),)


def cos(x):
    """cos x."""
    return Cos()(x)


class Tanh(UnaryOp):
    """y = tanh x;  x̄ = ȳ·(1 − y²)"""
    name, save_ans = "tanh", True
    __slots__ = ()

    def forward(self, x): return xp.tanh(_floating(x))
    def vjp(self, ns, g, y, x): return (g * (1 - y * y),)


def tanh(x):
    """tanh x; its vjp uses the output: ȳ·(1 − y²)."""
    return Tanh()(x)


class Sigmoid(UnaryOp):
    """y = σ(x) = 1 / (1 + e⁻ˣ);  x̄ = ȳ·y·(1 − y)

    ``backend.sigmoid``: no overflow for large |x| and full relative precision
    in the lower tail.
    """
    name, save_ans = "sigmoid", True
    __slots__ = ()

    def forward(self, x):
        x = _floating(x)
        return _same_float(backend.sigmoid(x), x)

    def vjp(self, ns, g, y, x): return (g * (y * (1 - y)),)


def sigmoid(x):
    """σ(x) = 1/(1 + e⁻ˣ), stable for large |x|."""
    return Sigmoid()(x)


class Softplus(UnaryOp):
    """y = log(1 + eᵝˣ)/β;  x̄ = ȳ·σ(βx)  (stable for large |x|)"""
    name = "softplus"
    __slots__ = ("beta",)

    def __init__(self, beta=1.0): self.beta = beta
    def extra_repr(self): return f"beta={self.beta}"

    def forward(self, x):
        if getattr(x, "dtype", xp.dtype(float)).kind not in "fc":  # PyTorch has no integer softplus
            raise OpError(f"softplus: expected a floating tensor, got {x.dtype}; convert it first (x.float())")
        b = self.beta
        return xp.logaddexp(0, x) if b == 1 else xp.logaddexp(0, b * x) / b

    def vjp(self, ns, g, y, x):
        b = self.beta
        return (g * sigmoid_of(ns, x if b == 1 else b * x),)


def softplus(x, beta: float = 1.0):
    """log(1 + e^(βx))/β, computed stably."""
    return Softplus(beta)(x)


class Erf(UnaryOp):
    """y = erf x;  x̄ = ȳ·(2/√π)·e^(−x²)"""
    name = "erf"
    __slots__ = ()

    def forward(self, x):
        _refuse(self.name, x, "c", "a complex")
        x = _floating(x)
        return _same_float(backend.erf(x), x)
    def vjp(self, ns, g, y, x): return (g * (2 / math.sqrt(math.pi)) * ns.exp(-(x * x)),)


def erf(x):
    """The error function."""
    return Erf()(x)


# ------------------------------------------------------------ kinks (see conventions)
def _tie(slopes):
    """Tie slope under the policy in force now, i.e. when the op is recorded."""
    return conventions.kink_slope(slopes)


class Relu(UnaryOp):
    """y = max(x, 0);  x̄ = ȳ·[x > 0]  (at x = 0: the policy's relu tie value)"""
    name = "relu"
    __slots__ = ("tie",)

    def __init__(self): self.tie = _tie((1.0, 0.0))

    def forward(self, x):
        _refuse(self.name, x, "bc", "a boolean or complex")
        return xp.maximum(x, 0)

    def vjp(self, ns, g, y, x):
        xv = ns.value(x)
        passes = ~(xv <= 0)  # not x > 0: a NaN passes its gradient, as in PyTorch
        if not self.tie:
            return (g * passes,)  # multiplying by a bool mask: one pass, no float mask
        return (g * (passes + self.tie * (xv == 0)).astype(xv.dtype),)


def relu(x):
    """max(x, 0); the gradient at 0 follows ``rg.conventions``."""
    return Relu()(x)


class LeakyRelu(UnaryOp):
    """y = x (x > 0), αx (x ≤ 0);  x̄ = ȳ·(1 or α)  (tie: branches slopes 1, α)"""
    name = "leaky_relu"
    __slots__ = ("slope", "tie")

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


def leaky_relu(x, negative_slope: float = 0.01):
    """x for x > 0, ``negative_slope``·x otherwise."""
    return LeakyRelu(negative_slope)(x)


class Elu(UnaryOp):
    """y = x (x > 0), α(eˣ − 1) (x ≤ 0);  x̄ = ȳ·(1 or y + α)  (tie: slopes 1, α)"""
    name, save_ans = "elu", True
    __slots__ = ("alpha", "tie")

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
        if at_kink.any():
            d = ns.where(at_kink, self.tie, d)
        return (g * d,)


def elu(x, alpha: float = 1.0):
    """x for x > 0, α(eˣ − 1) otherwise."""
    return Elu(alpha)(x)


class Abs(UnaryOp):
    """y = |x|;  x̄ = ȳ·sign x  (at 0: the policy's tie of slopes 1, −1)"""
    name = "abs"
    __slots__ = ("tie",)

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


def clamp(x, min=None, max=None):  # noqa: A002 - torch's names
    """Limit x to [min, max]; the gradient at a bound follows ``rg.conventions``."""
    return Clamp(min, max)(x)


class _Extremum(BinaryOp):
    """z = max(x, y) / min(x, y), elementwise.

    x̄ = z̄·[x wins] + z̄·wₓ·[x = y], ȳ likewise: at ties the weights (wₓ, w_y)
    come from the policy applied to the branches that require grad.
    """
    broadcasts = True
    __slots__ = ("w",)
    better = None

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


# ------------------------------------------------------------ selection and casts
class Where(BinaryOp):
    """z = where(c, x, y);  x̄ = where(c, z̄, 0),  ȳ = where(c, 0, z̄)  (c: a constant mask)"""
    name, broadcasts = "where", True
    __slots__ = ()

    # The mask is an array the vjp needs: saved, so it is freed with the inputs.
    def __init__(self, cond): self.save(cond=cond)
    def forward(self, x, y): return xp.where(self.saved["cond"], x, y)

    def vjp(self, ns, g, z, x, y):
        n, c = self.needs, self.saved["cond"]
        gx = ns.where(c, g, 0.0) if n[0] else None
        gy = ns.where(c, 0.0, g) if n[1] else None
        return gx, gy


def where(cond, x, y):
    """x where ``cond`` else y (``cond`` is a constant boolean mask)."""
    c = cond.data if isinstance(cond, Tensor) else xp.asarray(cond)
    if c.dtype != bool:
        raise OpError(f"where: condition must be boolean, got {c.dtype}")
    return Where(c)(x, y)


class Cast(UnaryOp):
    """y = x as dtype;  x̄ = ȳ as x's dtype"""
    name = "cast"
    __slots__ = ("dtype",)

    def __init__(self, dtype): self.dtype = xp.dtype(dtype)
    def extra_repr(self): return f"dtype={self.dtype}"
    def forward(self, x): return x.astype(self.dtype)
    def vjp(self, ns, g, y, x): return (ns.astype(g, x.dtype),)


def cast(x, dtype):
    """x converted to ``dtype`` (differentiable between float types)."""
    return Cast(dtype)(x)
