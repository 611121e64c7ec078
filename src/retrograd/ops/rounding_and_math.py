"""More elementwise math, with PyTorch's semantics: rounding (floor, ceil,
round, trunc/fix, sign — zero gradient, as in PyTorch; frac, whose gradient is 1), rsqrt, log2/log10, tan and the
inverse trigonometric functions, sinh/cosh and their inverses asinh/acosh/atanh, atan2, logaddexp; and the
boolean tests isnan/isfinite/isinf, any/all (not differentiable).

Like PyTorch, the floating functions take integer and boolean tensors and
return the default float dtype (NumPy would give float64 whatever the default).
"""

from __future__ import annotations

import math

from ..autograd import namespaces
from ..autograd.backend import xp
from . import device_checks
from ..autograd.op import BinaryOp, OpError, UnaryOp, off_tape
from ..autograd.tensor import Tensor, _wrap, get_default_dtype
from .elementwise import sigmoid_of
from .reductions import _NOT_GIVEN, _norm_axis, _torch_axis


@off_tape
def floating(x, name: str):
    """``x`` itself if floating, else its values in the default float dtype
    (integers carry no gradient, so nothing is lost off the tape)."""
    d = x.data if isinstance(x, Tensor) else xp.asarray(x)
    if d.dtype.kind in "fc":
        return x
    if d.dtype.kind not in "biu":
        raise OpError(f"{name}: expected a numeric tensor, got dtype {d.dtype}")
    return Tensor(d.astype(get_default_dtype()))


def _array(x, name: str):
    d = x.data if isinstance(x, Tensor) else xp.asarray(x)
    if d.dtype.kind not in "biufc":
        raise OpError(f"{name}: expected a numeric tensor, got dtype {d.dtype}")
    return d


# ------------------------------------------------------------ rounding: zero gradient
class _Step(UnaryOp):
    """A piecewise-constant function: x̄ = 0, ẏ = 0 (PyTorch's choice, also at the jumps,
    where no derivative exists)."""
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def _refuse_bool(self, x):
        if x.dtype == bool:  # NumPy would answer (float16 for round); PyTorch refuses
            raise OpError(f"{self.name}: not implemented for boolean tensors")
        self._refuse_complex(x)

    def _refuse_complex(self, x):
        if x.dtype.kind == "c":  # NumPy rounds/signs the parts; PyTorch has no complex kernel
            raise OpError(f"{self.name}: not implemented for complex tensors (got {x.dtype}{list(x.shape)}); "
                          f"apply it to x.real and x.imag separately")

    def vjp(self, ns, g, y, x):
        # where, not g·0: an infinite or NaN ȳ must still give 0, as in PyTorch
        return (ns.where(xp.zeros(g.shape, dtype=bool), g, 0.0),)

    def jvp(self, ns, ts, y, x):
        # ẏ = 0: zeros of the tangent's shape (L + the output's), made as the vjp makes its zeros
        t = ts[0]
        return ns.where(xp.zeros(t.shape, dtype=bool), t, 0.0)


class Floor(_Step):
    """y = ⌊x⌋;  x̄ = 0"""
    name = "floor"
    __slots__ = ()

    def forward(self, x):
        self._refuse_bool(x)
        return xp.floor(x)


def floor(x):
    """The largest integer ≤ x (integer tensors are returned as they are). Zero gradient."""
    return Floor()(x)


class Ceil(_Step):
    """y = ⌈x⌉;  x̄ = 0"""
    name = "ceil"
    __slots__ = ()

    def forward(self, x):
        self._refuse_bool(x)
        return xp.ceil(x)


def ceil(x):
    """The smallest integer ≥ x. Zero gradient."""
    return Ceil()(x)


class Round(_Step):
    """y = x rounded half to even (to ``decimals`` places);  x̄ = 0"""
    name = "round"
    __slots__ = ("decimals",)

    def __init__(self, decimals=0): self.decimals = decimals
    def extra_repr(self): return f"decimals={self.decimals}"

    def forward(self, x):
        self._refuse_bool(x)
        if self.decimals and x.dtype.kind != "f":
            raise OpError(f"round: decimals={self.decimals} needs a floating tensor, got {x.dtype}")
        return xp.round(x, self.decimals)


def round(x, decimals: int = 0):  # noqa: A001 - torch's name
    """Round to the nearest integer, ties to even (PyTorch and NumPy: 0.5 → 0,
    1.5 → 2, 2.5 → 2), or to ``decimals`` decimal places. Zero gradient."""
    if not isinstance(decimals, int):
        raise OpError(f"round: decimals must be an int, got {decimals!r}")
    return Round(decimals)(x)


class Trunc(_Step):
    """y = trunc x (toward zero);  x̄ = 0"""
    name = "trunc"
    __slots__ = ()

    def forward(self, x):
        x = xp.asarray(x)
        self._refuse_bool(x)
        return xp.trunc(x)


def trunc(x):
    """x rounded toward zero (integer tensors are returned as they are): y = trunc x;  x̄ = 0
    (PyTorch's zero gradient, also at the jumps)."""
    return Trunc()(x)


def fix(x):
    """PyTorch's (and NumPy's) other name for ``trunc``: y = trunc x;  x̄ = 0."""
    return Trunc()(x)


class Frac(UnaryOp):
    """y = x − trunc x (the sign of x);  x̄ = ȳ (PyTorch's rule, also at the jumps)"""
    name = "frac"
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x):
        x = xp.asarray(x)
        if x.dtype.kind != "f":  # PyTorch has no integer, boolean or complex frac
            raise OpError(f"frac: expected a floating tensor, got {x.dtype}{list(x.shape)} (PyTorch refuses it "
                          f"too); convert it first, e.g. x.float()")
        with xp.errstate(invalid="ignore"):  # frac(±inf) = NaN, as PyTorch
            return x - xp.trunc(x)

    def vjp(self, ns, g, y, x): return (g,)
    def jvp(self, ns, ts, y, x): return ts[0]


def frac(x):
    """The fractional part, with the sign of x: y = x − trunc x;  x̄ = ȳ."""
    return Frac()(x)


class Sign(_Step):
    """y = sign x ∈ {−1, 0, 1} (0 for NaN, as in PyTorch);  x̄ = 0"""
    name = "sign"
    __slots__ = ()

    def forward(self, x):
        self._refuse_complex(x)
        if x.dtype == bool:
            return x.copy()
        s = xp.sign(x)
        return xp.where(xp.isnan(s), 0, s).astype(x.dtype) if x.dtype.kind == "f" else s


def sign(x):
    """−1, 0 or 1 by the sign of x (NaN gives 0, like PyTorch). Zero gradient
    everywhere, also at 0 (PyTorch's convention; the jump has no derivative)."""
    return Sign()(x)


# ------------------------------------------------------------ powers and logarithms
class Rsqrt(UnaryOp):
    """y = 1/√x;  x̄ = −ȳ·y³/2"""
    name, save_ans = "rsqrt", True
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x): return 1 / xp.sqrt(x)
    def vjp(self, ns, g, y, x): return (g * (-0.5 * (y * y * y)),)
    def jvp(self, ns, ts, y, x): return ts[0] * (-0.5 * (y * y * y))


def rsqrt(x):
    """1/√x."""
    return Rsqrt()(floating(x, "rsqrt"))


class Log2(UnaryOp):
    """y = log₂ x;  x̄ = ȳ / (x·ln 2)"""
    name = "log2"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.log2(x)
    def vjp(self, ns, g, y, x): return (g / (x * math.log(2.0)),)
    def jvp(self, ns, ts, y, x): return ts[0] / (x * math.log(2.0))


def log2(x):
    """Base-2 logarithm."""
    return Log2()(floating(x, "log2"))


class Log10(UnaryOp):
    """y = log₁₀ x;  x̄ = ȳ / (x·ln 10)"""
    name = "log10"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.log10(x)
    def vjp(self, ns, g, y, x): return (g / (x * math.log(10.0)),)
    def jvp(self, ns, ts, y, x): return ts[0] / (x * math.log(10.0))


def log10(x):
    """Base-10 logarithm."""
    return Log10()(floating(x, "log10"))


# ------------------------------------------------------------ trigonometric and hyperbolic
class Tan(UnaryOp):
    """y = tan x;  x̄ = ȳ·(1 + y²)"""
    name, save_ans = "tan", True
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x): return xp.tan(x)
    def vjp(self, ns, g, y, x): return (g * (1 + y * y),)
    def jvp(self, ns, ts, y, x): return ts[0] * (1 + y * y)


def tan(x):
    """tan x."""
    return Tan()(floating(x, "tan"))


class Asin(UnaryOp):
    """y = arcsin x;  x̄ = ȳ / √(1 − x²)"""
    name = "asin"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.arcsin(x)
    def vjp(self, ns, g, y, x): return (g / ns.sqrt(1 - x * x),)
    def jvp(self, ns, ts, y, x): return ts[0] / ns.sqrt(1 - x * x)


def asin(x):
    """arcsin x (NaN outside [−1, 1], like PyTorch)."""
    return Asin()(floating(x, "asin"))


class Acos(UnaryOp):
    """y = arccos x;  x̄ = −ȳ / √(1 − x²)"""
    name = "acos"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.arccos(x)
    def vjp(self, ns, g, y, x): return (-g / ns.sqrt(1 - x * x),)
    def jvp(self, ns, ts, y, x): return -ts[0] / ns.sqrt(1 - x * x)


def acos(x):
    """arccos x (NaN outside [−1, 1], like PyTorch)."""
    return Acos()(floating(x, "acos"))


class Atan(UnaryOp):
    """y = arctan x;  x̄ = ȳ / (1 + x²)"""
    name = "atan"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.arctan(x)
    def vjp(self, ns, g, y, x): return (g / (1 + x * x),)
    def jvp(self, ns, ts, y, x): return ts[0] / (1 + x * x)


def atan(x):
    """arctan x."""
    return Atan()(floating(x, "atan"))


class Sinh(UnaryOp):
    """y = sinh x;  x̄ = ȳ·cosh x"""
    name = "sinh"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.sinh(x)
    def vjp(self, ns, g, y, x): return (g * ns.cosh(x),)
    def jvp(self, ns, ts, y, x): return ts[0] * ns.cosh(x)


def sinh(x):
    """sinh x."""
    return Sinh()(floating(x, "sinh"))


class Cosh(UnaryOp):
    """y = cosh x;  x̄ = ȳ·sinh x"""
    name = "cosh"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.cosh(x)
    def vjp(self, ns, g, y, x): return (g * ns.sinh(x),)
    def jvp(self, ns, ts, y, x): return ts[0] * ns.sinh(x)


def cosh(x):
    """cosh x."""
    return Cosh()(floating(x, "cosh"))


class Asinh(UnaryOp):
    """y = arsinh x;  x̄ = ȳ / √(x² + 1)"""
    name = "asinh"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.arcsinh(x)
    def vjp(self, ns, g, y, x): return (g / ns.sqrt(x * x + 1),)
    def jvp(self, ns, ts, y, x): return ts[0] / ns.sqrt(x * x + 1)


def asinh(x):
    """The inverse hyperbolic sine, arsinh x = log(x + √(x² + 1)) (PyTorch's ``asinh``, alias ``arcsinh``)."""
    return Asinh()(floating(x, "asinh"))


class Acosh(UnaryOp):
    """y = arcosh x;  x̄ = ȳ / √(x² − 1)  (PyTorch's formula: inf at x = 1, NaN below)"""
    name = "acosh"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.arccosh(x)
    def vjp(self, ns, g, y, x): return (g / ns.sqrt(x * x - 1),)
    def jvp(self, ns, ts, y, x): return ts[0] / ns.sqrt(x * x - 1)


def acosh(x):
    """The inverse hyperbolic cosine, arcosh x = log(x + √(x² − 1)) for x ≥ 1 (NaN below, like PyTorch;
    alias ``arccosh``)."""
    return Acosh()(floating(x, "acosh"))


class Atanh(UnaryOp):
    """y = artanh x;  x̄ = ȳ / (1 − x²)"""
    name = "atanh"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.arctanh(x)
    def vjp(self, ns, g, y, x): return (g / (1 - x * x),)
    def jvp(self, ns, ts, y, x): return ts[0] / (1 - x * x)


def atanh(x):
    """The inverse hyperbolic tangent, artanh x = ½·log((1 + x)/(1 − x)): ±inf at ±1, NaN outside
    [−1, 1] (like PyTorch; alias ``arctanh``)."""
    return Atanh()(floating(x, "atanh"))


# Each is the other's derivative: both namespaces get them, so the vjps above
# are differentiable again under create_graph.
namespaces.extend("sinh", lambda x: xp.sinh(x), sinh)
namespaces.extend("cosh", lambda x: xp.cosh(x), cosh)


class Atan2(BinaryOp):
    """z = atan2(y, x) (the angle of the point (x, y));
    ȳ = z̄·x / (x² + y²),  x̄ = −z̄·y / (x² + y²)  (0 at the origin, as PyTorch 2.13 gives)"""
    name, broadcasts = "atan2", True
    __slots__ = ()
    save_inputs = (0, 1)

    def forward(self, y, x): return xp.arctan2(y, x)

    def vjp(self, ns, g, z, y, x):
        n = self.needs
        inv = _inverse_square_radius(ns, y, x)
        return (g * x * inv if n[0] else None), (-g * y * inv if n[1] else None)

    def jvp(self, ns, ts, z, y, x):
        """ż = (ẏ·x − ẋ·y) / (x² + y²)"""
        ty, tx = ts
        inv = _inverse_square_radius(ns, y, x)
        r = None if ty is None else ty * x * inv
        if tx is not None:
            r = -tx * y * inv if r is None else r - tx * y * inv
        return r


def _inverse_square_radius(ns, y, x):
    """1 / (x² + y²), and 0 at the origin: atan2's partials there are 0 (not 0/0), as PyTorch's."""
    r2 = x * x + y * y
    origin = ns.value(r2) == 0
    if device_checks.may_hold(origin):
        return ns.where(origin, 0.0, 1.0 / ns.where(origin, 1.0, r2))
    return 1.0 / r2


def atan2(input, other):  # noqa: A002 - torch's names
    """atan2(input, other): the angle of (other, input) in (−π, π] (broadcasting)."""
    return Atan2()(floating(input, "atan2"), floating(other, "atan2"))


class LogAddExp(BinaryOp):
    """z = log(eˣ + eʸ) (without overflow);  x̄ = z̄·σ(x − y),  ȳ = z̄·σ(y − x)"""
    name, broadcasts = "logaddexp", True
    __slots__ = ()
    save_inputs = (0, 1)

    def forward(self, x, y): return xp.logaddexp(x, y)

    def vjp(self, ns, g, z, x, y):
        n = self.needs
        return (g * sigmoid_of(ns, x - y) if n[0] else None), (g * sigmoid_of(ns, y - x) if n[1] else None)

    def jvp(self, ns, ts, z, x, y):
        """ż = ẋ·σ(x − y) + ẏ·σ(y − x)"""
        tx, ty = ts
        r = None if tx is None else tx * sigmoid_of(ns, x - y)
        if ty is not None:
            r = ty * sigmoid_of(ns, y - x) if r is None else r + ty * sigmoid_of(ns, y - x)
        return r


def logaddexp(x, y):
    """log(eˣ + eʸ), stable for large |x|, |y| (broadcasting)."""
    return LogAddExp()(floating(x, "logaddexp"), floating(y, "logaddexp"))


# ------------------------------------------------------------ boolean tests (not on the tape)
@off_tape
def isnan(x):
    """A boolean tensor: True where x is NaN."""
    return _wrap(xp.isnan(_array(x, "isnan")))


@off_tape
def isfinite(x):
    """A boolean tensor: True where x is neither infinite nor NaN."""
    return _wrap(xp.isfinite(_array(x, "isfinite")))


@off_tape
def isinf(x):
    """A boolean tensor: True where x is +∞ or −∞."""
    return _wrap(xp.isinf(_array(x, "isinf")))


def _logical_reduction(x, axis, keepdims, dim, keepdim, name, reduce):
    """any/all in both dialects, as the other reductions (``_torch_axis``): an
    empty ``dim``/``axis`` reduces nothing, as in PyTorch and NumPy. Boolean,
    except uint8 input gives uint8 (PyTorch's rule)."""
    d = _array(x, name)
    if dim is not _NOT_GIVEN or keepdim is not None:
        axis, keepdims = _torch_axis(name, axis, keepdims, dim, keepdim, empty_means_all=None, ndim=d.ndim)
    axes = _norm_axis(axis, d.ndim, name)
    out = xp.asarray(reduce(d.astype(bool), axis=axes, keepdims=bool(keepdims)))
    return _wrap(out.astype(xp.uint8) if d.dtype == xp.uint8 else out)


@off_tape
def any(x, axis=None, keepdims=False, *, dim=_NOT_GIVEN, keepdim=None):  # noqa: A001 - torch's name
    """True if any element (along ``axis``/``dim``: an int, a tuple, or None for
    all) is nonzero. Positional arguments mean the same in PyTorch and NumPy;
    ``axis=``/``keepdims=`` (NumPy) or ``dim=``/``keepdim=`` (PyTorch) by name.
    Not differentiable."""
    return _logical_reduction(x, axis, keepdims, dim, keepdim, "any", xp.any)


@off_tape
def all(x, axis=None, keepdims=False, *, dim=_NOT_GIVEN, keepdim=None):  # noqa: A001 - torch's name
    """True if every element (along ``axis``/``dim``, as in ``any``) is nonzero. Not differentiable."""
    return _logical_reduction(x, axis, keepdims, dim, keepdim, "all", xp.all)
