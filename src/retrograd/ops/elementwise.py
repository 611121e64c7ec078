"""Elementwise ops: a table of derivatives.

Each class is one primitive: ``forward`` computes the value, ``vjp`` maps the
upstream gradient ``g`` (ȳ) to the gradients of the inputs (x̄, ȳ…). Rules that
are nicer in terms of the output (tanh, sigmoid, exp) use the saved output
``y`` (``save_ans = True``). Binary ops broadcast; the engine sums their input
gradients back to each input's shape, so no rule here does it.

The kinks (relu, leaky_relu, elu, abs, clamp, maximum, minimum) live in
``kinks``: they consult ``retrograd.conventions`` for the gradient at the tie.

Dtypes follow PyTorch: the float functions (exp, log, sqrt, sin, tanh,
sigmoid, erf …, true division, float powers) give integer and boolean inputs
the default float dtype (``rg.get_default_dtype()``; NumPy would give float64,
or float16 for int8), and keep float16 as float16.
"""

from __future__ import annotations

import math
import numbers

from ..autograd import backend
from ..autograd.backend import xp
from ..autograd.op import BinaryOp, OpError, UnaryOp, off_tape
from ..autograd.tensor import Tensor, get_default_dtype
from . import device_checks


def _floating(x):
    """x itself when floating; an integer or boolean x in the default float
    dtype (PyTorch's float functions promote them so)."""
    try:
        if x.dtype.kind in "fc":
            return x
    except AttributeError:  # a Python number: a real one becomes the default float dtype, as rg.tensor(2.0)
        x = xp.asarray(x)
        if x.dtype.kind == "c":
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


def _plus(a, b):
    """The sum of two tangents, either of which may be None (zero)."""
    if a is None:
        return b
    return a if b is None else a + b


# ------------------------------------------------------------ arithmetic
class Add(BinaryOp):
    """z = x + y;  x̄ = z̄,  ȳ = z̄"""
    name, broadcasts = "add", True
    __slots__ = ()
    save_inputs = ()

    def forward(self, x, y): return x + y
    def vjp(self, ns, g, z, x, y): return g, g
    def jvp(self, ns, ts, z, x, y): return _plus(ts[0], ts[1])


def add(x, y, *, alpha=1):
    """x + alpha·y (broadcasting): z = x + α·y;  x̄ = z̄,  ȳ = α·z̄ (PyTorch's ``torch.add``;
    a float ``alpha`` is refused for integer operands, as in PyTorch)."""
    if type(alpha) is int and alpha == 1:  # the operator's path: two cheap tests
        return Add()(x, y)
    return Add()(x, _scaled("add", x, y, alpha))


class Sub(BinaryOp):
    """z = x − y;  x̄ = z̄,  ȳ = −z̄"""
    name, broadcasts = "sub", True
    __slots__ = ()
    save_inputs = ()

    def forward(self, x, y): return x - y
    def vjp(self, ns, g, z, x, y): return g, (-g if self.needs[1] else None)
    def jvp(self, ns, ts, z, x, y): return _plus(ts[0], None if ts[1] is None else -ts[1])


def sub(x, y, *, alpha=1):
    """x − alpha·y (broadcasting): z = x − α·y;  x̄ = z̄,  ȳ = −α·z̄ (PyTorch's ``torch.sub``)."""
    if type(alpha) is int and alpha == 1:
        return Sub()(x, y)
    return Sub()(x, _scaled("sub", x, y, alpha))


def _scaled(name, x, y, alpha):
    """α·y for add/sub's ``alpha``, with PyTorch's checks: a number (not a tensor); not a float
    when both operands are integers; a bool only with boolean operands."""
    if isinstance(alpha, Tensor) or not isinstance(alpha, numbers.Number) or isinstance(alpha, complex):
        raise OpError(f"{name}: alpha must be a real Python number, got {type(alpha).__name__} {alpha!r}")
    alpha = _python_scalar(alpha)
    kinds = {_value_kind(x), _value_kind(y)}
    if kinds <= {"i", "u", "b"} and isinstance(alpha, float):
        raise OpError(f"{name}: for integer operands alpha must not be a float (got alpha={alpha!r}, operands "
                      f"{_describe_value(x)} and {_describe_value(y)}), as in PyTorch")
    if isinstance(alpha, bool) and kinds != {"b"}:
        raise OpError(f"{name}: a boolean alpha is only allowed for boolean operands (got alpha={alpha!r}, "
                      f"operands {_describe_value(x)} and {_describe_value(y)}), as in PyTorch")
    if isinstance(y, Tensor):
        return Mul()(y, alpha)
    return xp.asarray(y) * alpha if hasattr(y, "shape") else y * alpha


def _value_kind(v) -> str:
    """The dtype kind of a tensor, array or Python number (a Python bool is "b", an int "i")."""
    dtype = getattr(v, "dtype", None)
    if dtype is not None:
        return dtype.kind
    return "b" if isinstance(v, bool) else "i" if isinstance(v, int) else "c" if isinstance(v, complex) else "f"


def _describe_value(v) -> str:
    """``float32[2, 3]`` for a tensor or array, the number itself for a Python number."""
    return f"{v.dtype}{list(v.shape)}" if hasattr(v, "dtype") and hasattr(v, "shape") else repr(v)


class Mul(BinaryOp):
    """z = x·y;  x̄ = z̄·y,  ȳ = z̄·x"""
    name, broadcasts = "mul", True
    __slots__ = ()
    save_inputs = {0: (1,), 1: (0,)}

    def forward(self, x, y): return x * y

    def vjp(self, ns, g, z, x, y):
        n = self.needs
        return (g * y if n[0] else None), (g * x if n[1] else None)

    def jvp(self, ns, ts, z, x, y):
        tx, ty = ts
        return _plus(None if tx is None else tx * y, None if ty is None else x * ty)


def mul(x, y):
    """x · y, elementwise (broadcasting)."""
    return Mul()(x, y)


class Div(BinaryOp):
    """z = x / y;  x̄ = z̄ / y,  ȳ = −z̄·x / y²  (true division: integers give the default float dtype)"""
    name, broadcasts = "div", True
    __slots__ = ()
    save_inputs = {0: (1,), 1: (0, 1)}

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

    def jvp(self, ns, ts, z, x, y):
        tx, ty = ts
        return _plus(None if tx is None else tx / y, None if ty is None else -ty * x / (y * y))


def true_divide(x, y):
    """x / y (the ``/`` operator): true division, ``Div``; ``div`` (``ops.division``) adds PyTorch's
    rounding modes."""
    return Div()(x, y)


class Neg(UnaryOp):
    """y = −x;  x̄ = −ȳ"""
    name = "neg"
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x): return -x
    def vjp(self, ns, g, y, x): return (-g,)
    def jvp(self, ns, ts, y, x): return -ts[0]


def neg(x):
    """−x."""
    return Neg()(x)


class PowScalar(UnaryOp):
    """y = xᵖ (p a constant);  x̄ = ȳ·p·xᵖ⁻¹  (x̄ = 0 for p = 0, at x = 0 too, as PyTorch)

    A float p makes an integer x a float (the default dtype), an integer p
    keeps it an integer (PyTorch's ``x ** 2.0`` and ``x ** 2``)."""
    name = "pow"
    __slots__ = ("p",)
    save_inputs = (0,)

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

    def jvp(self, ns, ts, y, x):
        return self.vjp(ns, ts[0], y, x)[0]  # elementwise: the same scaling either way


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
    save_inputs = (0, 1)

    def forward(self, x, y):
        if _kind(x) in "iub" and _kind(y) in "iu" and bool((xp.asarray(y) < 0).any()):
            return _integer_power(x, y)
        with xp.errstate(divide="ignore", invalid="ignore"):  # 0⁻¹ = inf, (−2)^½ = NaN, silently, as PyTorch
            return x ** y

    def vjp(self, ns, g, z, x, y):
        n = self.needs
        xv, yv = ns.value(x), ns.value(y)
        gx = gy = None
        with xp.errstate(divide="ignore", invalid="ignore"):
            if n[0]:
                zero_exponent = yv == 0
                if device_checks.may_hold(zero_exponent):  # exponent 1 there, so y·x⁰ = 0 exactly, with no 0·∞
                    gx = g * y * x ** (ns.where(zero_exponent, 1.0, y) - 1)
                else:
                    gx = g * y * x ** (y - 1)
            if n[1]:
                zero_base = (xv == 0) & (yv >= 0)
                if device_checks.may_hold(zero_base):  # log 1 = 0 there: ȳ = 0 without a 0·(−∞)
                    x = ns.where(zero_base, 1.0, x)
                # a constant base: its log in full precision (NaN for a negative one, as PyTorch's ȳ)
                gy = g * (z * (ns.log(x) if hasattr(x, "shape") else math.log(x) if x > 0 else
                               -math.inf if x == 0 else math.nan))
        return gx, gy

    def jvp(self, ns, ts, z, x, y):
        gx, gy = self.vjp(ns, 1.0, z, x, y)  # elementwise partial derivatives (the edges as in the vjp)
        tx, ty = ts
        return _plus(None if tx is None else tx * gx, None if ty is None else ty * gy)


def _kind(a) -> str:
    return a.dtype.kind if hasattr(a, "dtype") else "i" if isinstance(a, int) else "f"


def _integer_power(x, y):
    """xʸ of integers where some exponent is negative, as PyTorch computes it: 1/xᵏ truncated
    toward zero — 1 for x = 1, ±1 for x = −1 (by the exponent's parity), 0 otherwise (x = 0 too);
    NumPy refuses negative integer powers."""
    negative = xp.asarray(y) < 0
    z = x ** xp.where(negative, 0, y)
    at_negative = xp.where(x == 1, 1, xp.where(x == -1, xp.where(xp.asarray(y) % 2 == 0, 1, -1), 0))
    return xp.where(negative, at_negative, z).astype(z.dtype, copy=False)


# ------------------------------------------------------------ exp, log and friends
class Exp(UnaryOp):
    """y = eˣ;  x̄ = ȳ·y"""
    name, save_ans = "exp", True
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x): return xp.exp(_floating(x))
    def vjp(self, ns, g, y, x): return (g * y,)
    def jvp(self, ns, ts, y, x): return ts[0] * y
    def jvp_factor(self, y, x): return y


def exp(x):
    """eˣ."""
    return Exp()(x)


class Expm1(UnaryOp):
    """y = eˣ − 1 (accurate for small x);  x̄ = ȳ·(y + 1)"""
    name, save_ans = "expm1", True
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x): return xp.expm1(_floating(x))
    def vjp(self, ns, g, y, x): return (g * (y + 1),)
    def jvp(self, ns, ts, y, x): return ts[0] * (y + 1)


def expm1(x):
    """eˣ − 1, accurate for small |x|: y = eˣ − 1;  x̄ = ȳ·(y + 1)."""
    return Expm1()(x)


class Exp2(UnaryOp):
    """y = 2ˣ;  x̄ = ȳ·y·ln 2"""
    name, save_ans = "exp2", True
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x): return xp.exp2(_floating(x))
    def vjp(self, ns, g, y, x): return (g * (y * math.log(2.0)),)
    def jvp(self, ns, ts, y, x): return ts[0] * (y * math.log(2.0))


def exp2(x):
    """2ˣ: y = 2ˣ;  x̄ = ȳ·y·ln 2."""
    return Exp2()(x)


class Reciprocal(UnaryOp):
    """y = 1 / x;  x̄ = −ȳ·y²  (x = 0: y = inf, x̄ = −inf, as PyTorch)"""
    name, save_ans = "reciprocal", True
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x):
        x = _floating(x)
        with xp.errstate(divide="ignore"):
            return xp.asarray(1 / x, dtype=x.dtype)  # 1 / float16 stays float16; a Python number, the default

    def vjp(self, ns, g, y, x): return (-g * (y * y),)
    def jvp(self, ns, ts, y, x): return -ts[0] * (y * y)


def reciprocal(x):
    """1 / x, elementwise (integers and booleans give the default float dtype, as PyTorch):
    y = 1/x;  x̄ = −ȳ·y²."""
    return Reciprocal()(x)


class Log(UnaryOp):
    """y = log x;  x̄ = ȳ / x"""
    name = "log"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.log(_floating(x))
    def vjp(self, ns, g, y, x): return (g / x,)
    def jvp(self, ns, ts, y, x): return ts[0] / x


def log(x):
    """Natural logarithm."""
    return Log()(x)


class Log1p(UnaryOp):
    """y = log(1 + x);  x̄ = ȳ / (1 + x)"""
    name = "log1p"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.log1p(_floating(x))
    def vjp(self, ns, g, y, x): return (g / (1 + x),)
    def jvp(self, ns, ts, y, x): return ts[0] / (1 + x)


def log1p(x):
    """log(1 + x), accurate for small x."""
    return Log1p()(x)


class Sqrt(UnaryOp):
    """y = √x;  x̄ = ȳ / (2y)"""
    name, save_ans = "sqrt", True
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x): return xp.sqrt(_floating(x))
    def vjp(self, ns, g, y, x): return (g / (2 * y),)
    def jvp(self, ns, ts, y, x): return ts[0] / (2 * y)


def sqrt(x):
    """√x."""
    return Sqrt()(x)


class Sin(UnaryOp):
    """y = sin x;  x̄ = ȳ·cos x"""
    name = "sin"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.sin(_floating(x))
    def vjp(self, ns, g, y, x): return (g * ns.cos(x),)
    def jvp(self, ns, ts, y, x): return ts[0] * ns.cos(x)


def sin(x):
    """sin x."""
    return Sin()(x)


class Cos(UnaryOp):
    """y = cos x;  x̄ = −ȳ·sin x"""
    name = "cos"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.cos(_floating(x))
    def vjp(self, ns, g, y, x): return (-g * ns.sin(x),)
    def jvp(self, ns, ts, y, x): return -ts[0] * ns.sin(x)


def cos(x):
    """cos x."""
    return Cos()(x)


class Tanh(UnaryOp):
    """y = tanh x;  x̄ = ȳ·(1 − y²)"""
    name, save_ans = "tanh", True
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, x): return xp.tanh(_floating(x))
    def vjp(self, ns, g, y, x): return (g * (1 - y * y),)
    def jvp(self, ns, ts, y, x): return ts[0] * self.jvp_factor(y, x)
    def jvp_factor(self, y, x): return 1 - y * y  # ẏ = ẋ·f: a replay may scale a tangent in place


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
    save_inputs = ()
    elementwise = True

    def forward(self, x):
        if type(x) is not backend.ndarray or x.dtype.kind != "f":  # cheap checks first: sigmoid is on every step
            x = _floating(x)
        y = backend.sigmoid(x)
        return y if y.dtype is x.dtype else _same_float(y, x)

    def vjp(self, ns, g, y, x):
        d = 1 - y   # a fresh array, then in place (Tensors under create_graph rebind): ȳ·y·(1 − y)
        d *= y
        d *= g
        return (d,)

    def jvp(self, ns, ts, y, x): return ts[0] * self.jvp_factor(y, x)
    def jvp_factor(self, y, x): return y * (1 - y)


def sigmoid(x):
    """σ(x) = 1/(1 + e⁻ˣ), stable for large |x|."""
    return Sigmoid()(x)


class Softplus(UnaryOp):
    """y = log(1 + eᵝˣ)/β;  x̄ = ȳ·σ(βx)  (stable for large |x|)"""
    name = "softplus"
    __slots__ = ("beta",)
    save_inputs = (0,)

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

    def jvp(self, ns, ts, y, x): return self.vjp(ns, ts[0], y, x)[0]


def softplus(x, beta: float = 1.0):
    """log(1 + e^(βx))/β, computed stably."""
    return Softplus(beta)(x)


class Erf(UnaryOp):
    """y = erf x;  x̄ = ȳ·(2/√π)·e^(−x²)"""
    name = "erf"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x):
        _refuse(self.name, x, "c", "a complex")
        x = _floating(x)
        return _same_float(backend.erf(x), x)
    def vjp(self, ns, g, y, x): return (g * (2 / math.sqrt(math.pi)) * ns.exp(-(x * x)),)
    def jvp(self, ns, ts, y, x): return ts[0] * ((2 / math.sqrt(math.pi)) * ns.exp(-(x * x)))


def erf(x):
    """The error function."""
    return Erf()(x)


# ------------------------------------------------------------ selection and casts
_NO_VALUE = object()  # where(cond) with no x and y: not None, which NumPy would read as a value


@off_tape
def nonzero(x, *, as_tuple=False):
    """The indices of the nonzero (True) entries of ``x``, in row-major order, off the tape (no
    gradient): an int64 tensor of shape (count, ndim) (PyTorch's ``torch.nonzero``), or with
    ``as_tuple=True`` a tuple of ndim int64 tensors of shape (count,), one per axis (a 0-d ``x``
    counts as 1-d there, as in PyTorch), ready to index with: ``x[rg.nonzero(x, as_tuple=True)]``."""
    d = x.data if isinstance(x, Tensor) else xp.asarray(x)
    if d.dtype.kind not in "biufc":
        raise OpError(f"nonzero: expected a numeric or boolean tensor, got {d.dtype}{list(d.shape)}")
    if as_tuple:
        return tuple(Tensor(i.astype(xp.int64)) for i in xp.nonzero(d.reshape(1) if d.ndim == 0 else d))
    return Tensor(xp.argwhere(d).astype(xp.int64))


class Where(BinaryOp):
    """z = where(c, x, y);  x̄ = where(c, z̄, 0),  ȳ = where(c, 0, z̄)  (c: a constant mask)"""
    name, broadcasts = "where", True
    __slots__ = ()
    save_inputs = ()

    # The mask is an array the vjp needs: saved, so it is freed with the inputs.
    def __init__(self, cond): self.save(cond=cond)
    def forward(self, x, y): return xp.where(self.saved["cond"], x, y)

    def vjp(self, ns, g, z, x, y):
        n, c = self.needs, self.saved["cond"]
        gx = ns.where(c, g, 0.0) if n[0] else None
        gy = ns.where(c, 0.0, g) if n[1] else None
        return gx, gy

    def jvp(self, ns, ts, z, x, y):
        c, (tx, ty) = self.saved["cond"], ts
        return ns.where(c, 0.0 if tx is None else tx, 0.0 if ty is None else ty)


def where(cond, x=_NO_VALUE, y=_NO_VALUE):
    """z = x where ``cond`` else y;  x̄ = where(cond, z̄, 0),  ȳ = where(cond, 0, z̄) (``cond`` is a constant
    boolean mask). ``where(cond)`` alone is ``nonzero(cond, as_tuple=True)``: a tuple of int64 index
    tensors, one per axis, of the nonzero entries (PyTorch's)."""
    if x is _NO_VALUE and y is _NO_VALUE:
        return nonzero(cond, as_tuple=True)
    if x is _NO_VALUE or y is _NO_VALUE:
        raise OpError("where: give both x and y (the values where cond is True and where it is False), or "
                      "neither (the indices of cond's nonzero entries)")
    c = cond.data if isinstance(cond, Tensor) else xp.asarray(cond)
    if c.dtype != bool:
        raise OpError(f"where: condition must be boolean, got {c.dtype}")
    if isinstance(x, numbers.Number) and isinstance(y, numbers.Number):
        # two Python numbers: PyTorch's dtype for them — the default float dtype if either is a float, else int64
        kind = get_default_dtype() if any(isinstance(v, float) for v in (x, y)) else \
            xp.bool_ if all(isinstance(v, bool) for v in (x, y)) else xp.int64
        x, y = xp.asarray(x, dtype=kind), xp.asarray(y, dtype=kind)
    return Where(c)(x, y)


class Cast(UnaryOp):
    """y = x as dtype;  x̄ = ȳ as x's dtype"""
    name = "cast"
    __slots__ = ("dtype",)
    save_inputs = ()

    def __init__(self, dtype): self.dtype = xp.dtype(dtype)
    def extra_repr(self): return f"dtype={self.dtype}"
    def forward(self, x): return x.astype(self.dtype)
    def vjp(self, ns, g, y, x): return (ns.astype(g, x.dtype),)
    def jvp(self, ns, ts, y, x): return ns.astype(ts[0], self.dtype) if self.dtype.kind in "fc" else None


def cast(x, dtype):
    """x converted to ``dtype`` (differentiable between float types)."""
    return Cast(dtype)(x)
