"""PyTorch's special functions, each a primitive with its derivative beside it:

- the gamma family: lgamma (x̄ = ȳ·ψ(x)), digamma and polygamma (x̄ = ȳ·ψ⁽ⁿ⁺¹⁾(x)), mvlgamma (composed);
- the error function's: erfc, erfcx (the scaled e^(x²)·erfc x), erfinv; ndtr (composed), ndtri, log_ndtr;
- the modified Bessel functions i0, i0e, i1, i1e (each the other's derivative);
- logit (PyTorch's ``eps`` clamp and its gradient), sinc, entr, xlogy, xlog1py;
- zeta(x, q), gammainc(a, x), gammaincc(a, x): differentiable in their second argument only, as in
  PyTorch (a backward pass that needs x̄ of zeta or ā raises ``NotImplementedError``, as PyTorch's).

The forward values come from SciPy (``scipy.special``, imported when first needed: ``pip install
scipy``, or ``retrograd[speed]``); the derivatives are written with the namespace ``ns``, so they are
differentiable again under ``create_graph`` (polygamma, i0, i1, i0e, i1e and zeta join both namespaces
for that). Dtypes follow PyTorch: integers and booleans give the default float dtype, float16 stays
float16 (computed in float32), complex tensors are refused, and so is float16 where PyTorch has no
kernel for it (erfcx, ndtri, log_ndtr, zeta).

Where SciPy is more accurate than PyTorch, retrograd keeps SciPy's values: PyTorch's trigamma
(polygamma(1, x), digamma's derivative) is off by up to ~1e-10 relative, and its ndtr(x) loses all
relative precision below x ≈ −5 (0 below −8.3) where 0.5·erfc(−x/√2) keeps it.
"""

from __future__ import annotations

import math

from ..autograd import namespaces
from ..autograd.backend import to_numpy, xp
from ..autograd.op import BinaryOp, UnaryOp
from ..autograd.tensor import Tensor
from . import device_checks
from .composite import unsqueeze
from .elementwise import _floating, _plus, _same_float, mul
from .elementwise_extra import DtypeNotSupported, PointwiseError, describe, float_operands, require_tensor
from .reductions import sum as _sum

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


# ------------------------------------------------------------ SciPy, imported when first needed
def scipy_special(fn: str):
    """The module of special functions for the active backend: ``scipy.special`` (CuPy's
    ``cupyx.scipy.special`` on the cupy backend), imported on first use, with a clear error when
    SciPy is missing (retrograd's core needs NumPy only)."""
    if xp.name == "cupy":  # pragma: no cover - no GPU in CI
        from cupyx.scipy import special
        return special
    try:
        from scipy import special
    except ImportError as e:
        raise ImportError(f"{fn} needs SciPy for its values (scipy.special): pip install scipy, or pip install "
                          f"'retrograd[speed]'") from e
    return special


def special_call(fn: str, scipy_name: str, *args):
    """``scipy.special.<scipy_name>(*args)`` on the active backend's arrays (a host round trip on an
    array module that is neither NumPy nor CuPy)."""
    f = getattr(scipy_special(fn), scipy_name)
    if xp.name in ("numpy", "cupy"):
        return f(*args)
    return xp.asarray(f(*[to_numpy(a) if hasattr(a, "shape") else a for a in args]))


def float_input(fn: str, x, *, half: bool = True):
    """``x`` ready for a special function's forward: integers and booleans in the default float
    dtype; complex refused (PyTorch has no kernel), float16 too where ``half=False``."""
    kind = getattr(x, "dtype", xp.dtype(float)).kind
    if kind == "c":
        raise DtypeNotSupported(f"{fn}: not implemented for complex tensors (got {describe(x)}), as in PyTorch")
    x = _floating(x)
    if x.dtype == xp.float16 and not half:
        raise DtypeNotSupported(f"{fn}: not implemented for float16 (got {describe(x)}), as in PyTorch; compute "
                                f"in float32: x.float()")
    return x


def _unary(fn, scipy_name, x, *args, half=True):
    """A SciPy special function of ``x`` (after ``args``), in x's float dtype."""
    x = float_input(fn, x, half=half)
    return _same_float(xp.asarray(special_call(fn, scipy_name, *args, x)), x)


def _safe(ns, x, at):
    """x with the points ``at`` (a mask) moved to 1, so that a formula dividing by x stays finite there
    (and its derivative too, under create_graph); ``at`` holds none on most calls."""
    return ns.where(at, 1.0, x) if device_checks.may_hold(at) else x


class _Smooth(UnaryOp):
    """An elementwise function with a derivative f′ (``slope``): x̄ = ȳ·f′,  ẏ = ẋ·f′."""
    __slots__ = ()
    save_inputs = (0,)

    def slope(self, ns, y, x):
        raise NotImplementedError

    def vjp(self, ns, g, y, x):
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (g * self.slope(ns, y, x),)

    def jvp(self, ns, ts, y, x):
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return ts[0] * self.slope(ns, y, x)


# ------------------------------------------------------------ the gamma family
class Lgamma(_Smooth):
    """y = log|Γ(x)|;  x̄ = ȳ·ψ(x)"""
    name = "lgamma"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x):
        y = _unary("lgamma", "gammaln", x)
        return xp.where(y == -math.inf, math.inf, y).astype(y.dtype, copy=False)  # lgamma(−∞) = +∞ (PyTorch)

    def slope(self, ns, y, x): return ns.polygamma(0, x)


def lgamma(input):  # noqa: A002 - torch's names
    """log|Γ(x)|, the log of Γ's absolute value (PyTorch's ``torch.lgamma``, SciPy's ``gammaln``): x̄ = ȳ·ψ(x) (digamma). +∞ at the
    poles 0, −1, −2 …"""
    return Lgamma()(input)


class Polygamma(_Smooth):
    """y = ψ⁽ⁿ⁾(x), the n-th derivative of ψ = Γ′/Γ (n = 0: digamma);  x̄ = ȳ·ψ⁽ⁿ⁺¹⁾(x)"""
    __slots__ = ("n", "name")
    save_inputs = (0,)

    def __init__(self, n): self.n, self.name = n, "digamma" if n == 0 else "polygamma"

    def extra_repr(self): return f"n={self.n}" if self.n else ""

    def forward(self, x): return _polygamma(self.n, x)

    def slope(self, ns, y, x): return ns.polygamma(self.n + 1, x)


def _polygamma(n, x):
    """ψ⁽ⁿ⁾(x) on arrays (the forward, and the namespace's ``polygamma`` for the rules), with PyTorch's
    values at ±∞: NaN for trigamma at −∞ and for n ≥ 2 at +∞ (there PyTorch computes n!·ζ(n + 1, ∞))."""
    if n == 0:
        return _unary("digamma", "psi", x)
    y = _unary("polygamma", "polygamma", x, n)
    return xp.where(x == (-math.inf if n == 1 else math.inf), math.nan, y).astype(y.dtype, copy=False)


def digamma(input):  # noqa: A002
    """ψ(x) = Γ′(x)/Γ(x) (PyTorch's ``torch.digamma``): x̄ = ȳ·ψ′(x). ψ(0) = −∞ (ψ(−0.0) = +∞) and
    NaN at the negative integers, as in PyTorch."""
    return Polygamma(0)(input)


def polygamma(n, input):  # noqa: A002
    """ψ⁽ⁿ⁾(x), the n-th derivative of digamma (PyTorch's ``torch.polygamma(n, input)``):
    x̄ = ȳ·ψ⁽ⁿ⁺¹⁾(x). ``n`` is an int ≥ 0 (polygamma(0, x) is digamma)."""
    if isinstance(n, Tensor) and n.ndim == 0 and n.dtype.kind in "iu":
        n = int(n.item())
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise PointwiseError(f"polygamma(n, x) does not support negative n (got n={n})")
    return Polygamma(n)(input)


def mvlgamma(input, p):  # noqa: A002
    """The multivariate log-gamma function of dimension ``p`` (PyTorch's ``torch.mvlgamma``):
    log Γₚ(x) = p(p−1)/4·log π + Σⱼ₌₀^{p−1} log Γ(x − j/2), composed of ``lgamma`` (so
    x̄ = ȳ·Σⱼ ψ(x − j/2)). +∞ where some x − j/2 is a pole, as in PyTorch 2.13 (no error)."""
    if not isinstance(p, int) or isinstance(p, bool):
        raise TypeError(f"mvlgamma(): argument 'p' (position 2) must be int, not {type(p).__name__}")
    if p < 1:
        raise PointwiseError(f"mvlgamma: p has to be greater than or equal to 1 (got p={p})")
    dtype = getattr(input, "dtype", None)
    if dtype is not None and dtype == bool:
        raise PointwiseError(f"mvlgamma: the input tensor may not be a boolean tensor (got {describe(input)})")
    if dtype is not None and dtype.kind == "c":
        raise DtypeNotSupported(f"mvlgamma: not implemented for complex tensors (got {describe(input)})")
    x = input if dtype is not None and dtype.kind == "f" else Tensor(_floating(getattr(input, "data", input)))
    offsets = xp.asarray([(j - (p - 1)) / 2 for j in range(p)], dtype=x.dtype)  # −(p−1)/2 … 0, PyTorch's order
    return _sum(lgamma(unsqueeze(x, -1) + offsets), -1) + p * (p - 1) / 4 * math.log(math.pi)


# ------------------------------------------------------------ the error function's family
class Erfc(_Smooth):
    """y = erfc x = 1 − erf x (accurate in the upper tail);  x̄ = −ȳ·(2/√π)·e^(−x²)"""
    name = "erfc"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return _unary("erfc", "erfc", x)
    def slope(self, ns, y, x): return (-2 / _SQRT_PI) * ns.exp(-(x * x))


def erfc(input):  # noqa: A002
    """The complementary error function 1 − erf(x), accurate where erf(x) is near 1 (PyTorch's
    ``torch.erfc``): x̄ = −ȳ·(2/√π)·e^(−x²)."""
    return Erfc()(input)


class Erfcx(_Smooth):
    """y = e^(x²)·erfc x (no overflow);  x̄ = ȳ·(2x·y − 2/√π)"""
    name, save_ans = "erfcx", True
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return _unary("erfcx", "erfcx", x, half=False)
    def slope(self, ns, y, x): return 2 * x * y - 2 / _SQRT_PI


def erfcx(input):  # noqa: A002
    """The scaled complementary error function e^(x²)·erfc(x), finite for large x
    (``torch.special.erfcx``): x̄ = ȳ·(2x·y − 2/√π)."""
    return Erfcx()(input)


class Erfinv(_Smooth):
    """y = erf⁻¹(x);  x̄ = ȳ·(√π/2)·e^(y²)"""
    name, save_ans = "erfinv", True
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x): return _unary("erfinv", "erfinv", x)
    def slope(self, ns, y, x): return (_SQRT_PI / 2) * ns.exp(y * y)


def erfinv(input):  # noqa: A002
    """The inverse error function on [−1, 1] (±∞ at ±1, NaN outside; PyTorch's ``torch.erfinv``):
    x̄ = ȳ·(√π/2)·e^(y²)."""
    return Erfinv()(input)


def ndtr(input):  # noqa: A002
    """The standard normal CDF Φ(x) = ½·erfc(−x/√2) (``torch.special.ndtr``), composed of ``erfc``:
    x̄ = ȳ·e^(−x²/2)/√(2π). Accurate in the lower tail, where PyTorch's (1 + erf(x/√2))/2 is 0."""
    return 0.5 * erfc(mul(input, -1 / math.sqrt(2.0)))


class Ndtri(_Smooth):
    """y = Φ⁻¹(p), the standard normal quantile;  p̄ = ȳ·√(2π)·e^(y²/2)"""
    name, save_ans = "ndtri", True
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x): return _unary("ndtri", "ndtri", x, half=False)
    def slope(self, ns, y, x): return _SQRT_2PI * ns.exp(0.5 * (y * y))


def ndtri(input):  # noqa: A002
    """The inverse of ``ndtr``: the x with Φ(x) = p, for p in [0, 1] (±∞ at 1 and 0;
    ``torch.special.ndtri``): p̄ = ȳ·√(2π)·e^(y²/2)."""
    return Ndtri()(input)


class LogNdtr(_Smooth):
    """y = log Φ(x) (accurate in both tails);  x̄ = ȳ·e^(−x²/2 − y)/√(2π)  (= ȳ·φ(x)/Φ(x))"""
    name, save_ans = "log_ndtr", True
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return _unary("log_ndtr", "log_ndtr", x, half=False)
    def slope(self, ns, y, x): return ns.exp(-0.5 * (x * x) - y) / _SQRT_2PI


def log_ndtr(input):  # noqa: A002
    """log Φ(x), the log of the standard normal CDF, accurate for very negative x
    (``torch.special.log_ndtr``): x̄ = ȳ·φ(x)/Φ(x), PyTorch's formula."""
    return LogNdtr()(input)


# ------------------------------------------------------------ modified Bessel functions
def _sign(ns, x):
    """sign(x) as a constant (piecewise constant: its own derivative is 0)."""
    return xp.sign(ns.value(x))


def _tiny(ns, x):
    """Where |x| is not above the dtype's epsilon (NaN too): there PyTorch gives i1 and i1e their slope
    at 0, ½, instead of the formula's 0/0."""
    xv = ns.value(x)
    return ~(xp.abs(xv) > xp.finfo(xv.dtype).eps)


class I0(_Smooth):
    """y = I₀(x);  x̄ = ȳ·I₁(x)"""
    name = "i0"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return _unary("i0", "i0", x)
    def slope(self, ns, y, x): return ns.i1(x)


def i0(input):  # noqa: A002
    """The modified Bessel function of the first kind of order 0 (PyTorch's ``torch.i0``):
    x̄ = ȳ·I₁(x)."""
    return I0()(input)


class I0e(_Smooth):
    """y = e^(−|x|)·I₀(x);  x̄ = ȳ·(i1e(x) − sign(x)·y)"""
    name, save_ans = "i0e", True
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return _unary("i0e", "i0e", x)
    def slope(self, ns, y, x): return ns.i1e(x) - _sign(ns, x) * y


def i0e(input):  # noqa: A002
    """The exponentially scaled e^(−|x|)·I₀(x), finite for large |x| (``torch.special.i0e``):
    x̄ = ȳ·(i1e(x) − sign(x)·i0e(x))."""
    return I0e()(input)


class I1(_Smooth):
    """y = I₁(x);  x̄ = ȳ·(I₀(x) − y/x)  (½ at x = 0)"""
    name, save_ans = "i1", True
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return _unary("i1", "i1", x)

    def slope(self, ns, y, x):
        tiny = _tiny(ns, x)
        d = ns.i0(x) - y / _safe(ns, x, tiny)
        return ns.where(tiny, 0.5, d) if device_checks.may_hold(tiny) else d


def i1(input):  # noqa: A002
    """The modified Bessel function of the first kind of order 1 (``torch.special.i1``):
    x̄ = ȳ·(I₀(x) − I₁(x)/x), ½ at 0."""
    return I1()(input)


class I1e(_Smooth):
    """y = e^(−|x|)·I₁(x);  x̄ = ȳ·(i0e(x) − y·(sign(x) + 1/x))  (½ at x = 0)"""
    name, save_ans = "i1e", True
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return _unary("i1e", "i1e", x)

    def slope(self, ns, y, x):
        tiny = _tiny(ns, x)
        d = ns.i0e(x) - y * (_sign(ns, x) + 1 / _safe(ns, x, tiny))
        return ns.where(tiny, 0.5, d) if device_checks.may_hold(tiny) else d


def i1e(input):  # noqa: A002
    """The exponentially scaled e^(−|x|)·I₁(x) (``torch.special.i1e``):
    x̄ = ȳ·(i0e(x) − i1e(x)·(sign(x) + 1/x)), ½ at 0."""
    return I1e()(input)


# ------------------------------------------------------------ logit, sinc, entr
class Logit(_Smooth):
    """y = log(z/(1 − z)), z = x clamped to [eps, 1 − eps];  x̄ = ȳ/(x(1 − x)) inside,
    0 outside [eps, 1 − eps] (NaN outside [0, 1] without eps): PyTorch's rule"""
    name = "logit"
    __slots__ = ("eps",)
    save_inputs = (0,)

    def __init__(self, eps=None): self.eps = eps if eps is not None and eps >= 0 else None
    def extra_repr(self): return "" if self.eps is None else f"eps={self.eps}"

    def forward(self, x):
        x = float_input("logit", x)
        if self.eps is not None:  # PyTorch's clamp: x < lo → lo, else x > hi → hi (with lo > hi: lo or hi)
            lo, hi = self.eps, 1 - self.eps
            x = xp.where(x < lo, xp.asarray(lo, dtype=x.dtype), xp.where(x > hi, xp.asarray(hi, dtype=x.dtype), x))
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.log(x / (1 - x))

    def slope(self, ns, y, x):
        xv = ns.value(x)
        lo, hi = (0.0, 1.0) if self.eps is None else (self.eps, 1 - self.eps)
        outside = (xv < lo) | (xv > hi)  # a NaN is inside: its slope is NaN
        if not device_checks.may_hold(outside):
            return 1 / (x * (1 - x))
        inner = ns.where(outside, 0.5, x)
        return ns.where(outside, math.nan if self.eps is None else 0.0, 1 / (inner * (1 - inner)))


def logit(input, eps=None):  # noqa: A002
    """log(x/(1 − x)), the inverse of sigmoid (PyTorch's ``torch.logit``). With ``eps`` ≥ 0, x is
    first clamped to [eps, 1 − eps] and the gradient is 0 outside that range; without it (or with a
    negative eps) x̄ = ȳ/(x(1 − x)), NaN outside [0, 1], as in PyTorch."""
    if isinstance(eps, Tensor):
        eps = eps.item()
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, (int, float))):
        raise TypeError(f"logit(): argument 'eps' must be a float or None, not {type(eps).__name__}")
    return Logit(None if eps is None else float(eps))(input)


class Sinc(_Smooth):
    """y = sin(πx)/(πx) (1 at 0);  x̄ = ȳ·(πx·cos(πx) − sin(πx))/(πx²)  (0 at x = 0)"""
    name = "sinc"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x):
        x = x if getattr(x, "dtype", None) is not None and x.dtype.kind == "c" else float_input("sinc", x)
        at_zero = x == 0
        px = math.pi * xp.where(at_zero, 1, x).astype(x.dtype, copy=False)
        with xp.errstate(invalid="ignore"):  # sinc(±inf): NaN, as PyTorch
            return xp.where(at_zero, 1, xp.sin(px) / px).astype(x.dtype, copy=False)

    def slope(self, ns, y, x):
        xv = ns.value(x)
        at_zero = xv * xv * math.pi == 0  # PyTorch's test: where πx² underflows to 0, the slope is 0
        x = _safe(ns, x, at_zero)
        px = math.pi * x
        d = (px * ns.cos(px) - ns.sin(px)) / (px * x)  # PyTorch's expression
        return ns.where(at_zero, 0.0, d) if device_checks.may_hold(at_zero) else d


def sinc(input):  # noqa: A002
    """The normalised sinc function sin(πx)/(πx), 1 at 0 (PyTorch's ``torch.sinc``):
    x̄ = ȳ·(πx·cos πx − sin πx)/(πx²), 0 at x = 0."""
    return Sinc()(input)


class Entr(_Smooth):
    """y = −x·log x (x > 0), 0 (x = 0), −∞ (x < 0);  x̄ = −ȳ·(1 + log x)  (+∞ at 0, NaN below)"""
    name = "entr"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x):
        x = float_input("entr", x)
        with xp.errstate(divide="ignore", invalid="ignore"):
            y = xp.where(x > 0, -x * xp.log(xp.where(x > 0, x, 1)), xp.where(x == 0, 0, -math.inf))
        return xp.where(xp.isnan(x), x, y).astype(x.dtype, copy=False)

    def slope(self, ns, y, x): return -(1 + ns.log(x))


def entr(input):  # noqa: A002
    """The elementwise entropy −x·log x, 0 at 0 and −∞ for x < 0 (``torch.special.entr``):
    x̄ = −ȳ·(1 + log x), PyTorch's rule (+∞ at 0)."""
    return Entr()(input)


# ------------------------------------------------------------ x·log y and x·log(1 + y)
class _XLog(BinaryOp):
    """z = x·ℓ(y), 0 where x = 0 (unless y is NaN), for ℓ = log (xlogy) or log1p (xlog1py).

    PyTorch's rules: x̄ = z̄·ℓ(y), computed as the function itself of (z̄, y) (so 0 where z̄ = 0),
    except 0 where x = 0 and y is at or below ℓ's pole;  ȳ = z̄·x·ℓ′(y)."""
    broadcasts = True
    __slots__ = ()
    save_inputs = (0, 1)
    pole = 0.0

    def forward(self, x, y):
        x, y = float_operands(self.name, x, y)
        return self.values(x, y)

    def _dx(self, ns, t, x, y):
        """xℓ(t, y), with 0 where x = 0 and y ≤ the pole (there a zero x has no slope in PyTorch)."""
        fn = getattr(ns, self.name) if isinstance(t, Tensor) or isinstance(y, Tensor) else self.values
        d = fn(t, y)
        off = (ns.value(x) == 0) & (ns.value(y) <= self.pole)
        if device_checks.may_hold(off):
            d = ns.where(off, 0.0, d) if isinstance(d, Tensor) else xp.where(off, 0.0, d).astype(d.dtype, copy=False)
        return d

    def vjp(self, ns, g, z, x, y):
        n = self.needs
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (self._dx(ns, g, x, y) if n[0] else None), (g * x * self.dlog(y) if n[1] else None)

    def jvp(self, ns, ts, z, x, y):
        tx, ty = ts
        with xp.errstate(divide="ignore", invalid="ignore"):
            return _plus(None if tx is None else self._dx(ns, tx, x, y), None if ty is None else ty * x * self.dlog(y))

    @classmethod
    def values(cls, x, y):
        """x·ℓ(y) on arrays, 0 where x = 0 unless y is NaN."""
        with xp.errstate(divide="ignore", invalid="ignore"):
            z = x * cls.log(y)
        return xp.where((x == 0) & ~xp.isnan(y), 0, z).astype(z.dtype, copy=False)


class Xlogy(_XLog):
    """z = x·log y (0 where x = 0, unless y is NaN);  x̄ = z̄·log y (0 where x = 0 and y ≤ 0),  ȳ = z̄·x/y"""
    name = "xlogy"
    __slots__ = ()
    save_inputs = (0, 1)
    log = staticmethod(lambda y: xp.log(y))
    dlog = staticmethod(lambda y: 1 / y)


class Xlog1py(_XLog):
    """z = x·log(1 + y) (0 where x = 0, unless y is NaN);  x̄ = z̄·log(1 + y) (0 where x = 0 and y ≤ −1),
    ȳ = z̄·x/(1 + y)"""
    name = "xlog1py"
    __slots__ = ()
    save_inputs = (0, 1)
    pole = -1.0
    log = staticmethod(lambda y: xp.log1p(y))
    dlog = staticmethod(lambda y: 1 / (1 + y))


def _number_or_tensor_pair(fn, input, other):
    if not any(isinstance(v, Tensor) or hasattr(v, "shape") for v in (input, other)):
        raise TypeError(f"{fn}(): expected a tensor for input or other, got {describe(input)} and {describe(other)}")


def xlogy(input, other):  # noqa: A002
    """x·log(y), 0 where x = 0 (even at y = 0), NaN where y is NaN (PyTorch's ``torch.xlogy``; either
    side may be a number): x̄ = z̄·log y, but 0 where x = 0 and y ≤ 0 (PyTorch's rule);  ȳ = z̄·x/y."""
    _number_or_tensor_pair("xlogy", input, other)
    return Xlogy()(input, other)


def xlog1py(input, other):  # noqa: A002
    """x·log(1 + y), 0 where x = 0 (``torch.special.xlog1py``): x̄ = z̄·log1p(y), but 0 where x = 0 and
    y ≤ −1;  ȳ = z̄·x/(1 + y)."""
    _number_or_tensor_pair("xlog1py", input, other)
    return Xlog1py()(input, other)


# ------------------------------------------------------------ differentiable in the second argument only
class DerivativeNotImplemented(NotImplementedError):
    """A backward (or forward-mode) pass needs a derivative PyTorch does not implement either."""


def _no_derivative(fn, argument):
    return DerivativeNotImplemented(
        f"{fn}: the derivative with respect to {argument} is not implemented (PyTorch has none either); detach "
        f"{argument} (or pass it as a constant) to differentiate with respect to the other argument")


def _zeta(x, q):
    """ζ(x, q) on arrays (the forward, and the namespace's ``zeta`` for q̄), with PyTorch's NaN at q = +∞."""
    return xp.where(q == math.inf, math.nan, special_call("zeta", "zeta", x, q))


class Zeta(BinaryOp):
    """z = ζ(x, q) = Σₖ (k + q)^(−x) (Hurwitz);  q̄ = −z̄·x·ζ(x + 1, q)  (x̄: not implemented, as PyTorch)"""
    name, broadcasts = "zeta", True
    __slots__ = ()
    save_inputs = {0: (1,), 1: (1,)}  # q̄ reads x and q; x̄ is refused

    def forward(self, x, q):
        x, q = float_operands("zeta", x, q, half=False)
        return _zeta(x, q).astype(x.dtype, copy=False)

    def vjp(self, ns, g, z, x, q):
        if self.needs[0]:
            raise _no_derivative("zeta", "x (the first argument)")
        return None, -g * x * ns.zeta(x + 1, q)

    def jvp(self, ns, ts, z, x, q):
        if ts[0] is not None:
            raise _no_derivative("zeta", "x (the first argument)")
        return -ts[1] * x * ns.zeta(x + 1, q)


def zeta(input, other):  # noqa: A002
    """The Hurwitz zeta function ζ(x, q) = Σₖ₌₀^∞ (k + q)^(−x) (``torch.special.zeta``; either side may be
    a number): q̄ = −z̄·x·ζ(x + 1, q). Not differentiable in x, as in PyTorch (a backward pass that needs
    it raises)."""
    _number_or_tensor_pair("zeta", input, other)
    return Zeta()(input, other)


class GammaInc(BinaryOp):
    """z = P(a, x) (or Q = 1 − P, ``upper``), the regularized incomplete gamma function;
    x̄ = ±z̄·x^(a−1)·e^(−x)/Γ(a)  (ā: not implemented, as PyTorch)"""
    broadcasts = True
    __slots__ = ("upper", "name")
    save_inputs = {0: (1,), 1: (1,)}  # x̄ reads a and x; ā is refused

    def __init__(self, upper): self.upper, self.name = upper, "gammaincc" if upper else "gammainc"

    def forward(self, a, x):
        a, x = float_operands(self.name, a, x, integers=False)
        return special_call(self.name, self.name, a, x).astype(a.dtype, copy=False)

    def _slope(self, ns, a, x):
        if self.needs[0]:
            raise _no_derivative(self.name, "a (the first argument)")
        av = ns.value(a)
        lg = special_call(self.name, "gammaln", av)  # a constant: a is not differentiated
        with xp.errstate(divide="ignore", invalid="ignore"):
            d = ns.exp((av - 1) * ns.log(x) - x - lg)  # PyTorch's formula
        return -d if self.upper else d

    def vjp(self, ns, g, z, a, x): return None, g * self._slope(ns, a, x)
    def jvp(self, ns, ts, z, a, x): return ts[1] * self._slope(ns, a, x)


def gammainc(input, other):  # noqa: A002
    """The regularized lower incomplete gamma function P(a, x) = γ(a, x)/Γ(a)
    (``torch.special.gammainc``; both tensors): x̄ = z̄·x^(a−1)e^(−x)/Γ(a); not differentiable in a."""
    require_tensor("gammainc", input, 1, "input")
    require_tensor("gammainc", other, 2, "other")
    return GammaInc(False)(input, other)


def gammaincc(input, other):  # noqa: A002
    """The regularized upper incomplete gamma function Q(a, x) = 1 − P(a, x)
    (``torch.special.gammaincc``): x̄ = −z̄·x^(a−1)e^(−x)/Γ(a); not differentiable in a."""
    require_tensor("gammaincc", input, 1, "input")
    require_tensor("gammaincc", other, 2, "other")
    return GammaInc(True)(input, other)


# ------------------------------------------------------------ both namespaces, for the rules above
def _array_fn(scipy_name):
    return lambda *args: _same_float(xp.asarray(special_call(scipy_name, scipy_name, *args)), _floating(args[-1]))


namespaces.extend("polygamma", _polygamma, polygamma)
namespaces.extend("i0", _array_fn("i0"), i0)
namespaces.extend("i0e", _array_fn("i0e"), i0e)
namespaces.extend("i1", _array_fn("i1"), i1)
namespaces.extend("i1e", _array_fn("i1e"), i1e)
namespaces.extend("zeta", _zeta, zeta)
namespaces.extend("xlogy", Xlogy.values, xlogy)
namespaces.extend("xlog1py", Xlog1py.values, xlog1py)

__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma", "erfc", "erfcx", "erfinv", "ndtr", "ndtri", "log_ndtr",
           "i0", "i0e", "i1", "i1e", "logit", "sinc", "entr", "xlogy", "xlog1py", "zeta", "gammainc", "gammaincc",
           "DerivativeNotImplemented"]
